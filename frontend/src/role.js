// What the user may do follows their role while the page is open: after a
// role change the page asks the document API for the new one, and a refusal
// makes it read-only for good.

import { apiFetch } from './api.js'

// What the read-only banner says for each role that cannot edit the text.
const BANNERS = {
  commenter: 'You are a commenter: select text to comment on it; you cannot edit the text.',
  viewer: 'You are a viewer: you see every change live, but you cannot edit this document.',
}

export function bindRole({ apiUrl, editor, refreshToolbar, titleInput, banner, badge, onRole }) {
  let locked = false

  function apply(role, canEdit) {
    if (locked) return
    document.body.dataset.role = role
    document.body.classList.toggle('is-readonly', !canEdit)
    if (editor.isEditable !== canEdit) editor.setEditable(canEdit)
    titleInput.readOnly = !canEdit
    banner.hidden = canEdit
    if (BANNERS[role]) banner.textContent = BANNERS[role]
    onRole?.(role)
    badge.className = `role role--${role}`
    badge.textContent = role.charAt(0).toUpperCase() + role.slice(1)
    refreshToolbar()
  }

  async function refresh() {
    if (!apiUrl) return
    try {
      const response = await apiFetch(apiUrl)
      if (!response.ok) return // a refusal arrives as a close code on the next connect
      const data = await response.json()
      apply(data.role, Boolean(data.can_edit))
    } catch {
      // Offline: the next connection will tell.
    }
  }

  /** Access is gone: read-only whatever the role was, and later answers change nothing. */
  function lock() {
    locked = true
    if (editor.isEditable) editor.setEditable(false)
    refreshToolbar()
    titleInput.readOnly = true
  }

  /** The server refused a write as read-only: a viewer now, whatever the page thought. */
  function viewOnly() {
    apply('viewer', false)
    refresh()
  }

  return { refresh, lock, viewOnly }
}
