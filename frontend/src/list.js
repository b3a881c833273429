// The document list, kept current while it is open: new shares, titles,
// roles and who is online, read from the documents' JSON API whenever the
// page comes back into view, and every so often while it is in view. The rows
// are drawn like documents/list.html draws them.

import { apiFetch, csrfToken, readJson } from './api.js'
import { avatarColor, initials } from './avatars.js'
import { el } from './dom.js'

const REFRESH_MS = 15000
const MAX_ONLINE = 5

export function bindList({ list, empty }) {
  const apiUrl = list.dataset.apiUrl
  // What the rows were last drawn from (first by the server, in the page's
  // documents-data); an unchanged answer redraws nothing.
  let shown = initialSignature()
  let inFlight = false

  async function refresh() {
    if (inFlight || document.hidden || busy(list)) return
    inFlight = true
    try {
      const response = await apiFetch(apiUrl)
      // Signed out meanwhile: the next navigation shows the login page.
      if (!response.ok) return
      const data = await readJson(response)
      if (!data || !Array.isArray(data.documents)) return
      const signature = JSON.stringify(data.documents)
      // The user may have started renaming while the request was out.
      if (signature === shown || busy(list)) return
      shown = signature
      draw(list, empty, data.documents)
    } catch {
      // Offline: the rows stay as they are until the next try.
    } finally {
      inFlight = false
    }
  }

  document.addEventListener('visibilitychange', refresh)
  window.addEventListener('focus', refresh)
  // Back to the page from the browser's history: it shows how it was then.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) refresh()
  })
  window.setInterval(refresh, REFRESH_MS)
  return refresh
}

function initialSignature() {
  const node = document.getElementById('documents-data')
  try {
    return node ? JSON.stringify(JSON.parse(node.textContent)) : null
  } catch {
    return null
  }
}

/** Whether the user is in the middle of something in the list (an open rename, a focused control). */
function busy(list) {
  return Boolean(list.querySelector('details[open]') || list.contains(document.activeElement))
}

function draw(list, empty, documents) {
  const maxLength = titleMaxLength()
  list.replaceChildren(...documents.map((doc) => row(doc, maxLength)))
  list.hidden = documents.length === 0
  empty.hidden = documents.length > 0
}

function row(doc, maxLength) {
  const owner = doc.role === 'owner' ? 'Owned by you' : `Shared by ${doc.owner.name}`
  return el(
    'li',
    { class: 'doc-row', 'data-document-id': doc.id },
    el(
      'a',
      { class: 'doc-link', href: doc.url },
      el('span', { class: 'doc-icon', 'aria-hidden': 'true' }),
      el(
        'span',
        { class: 'doc-text' },
        el('span', { class: 'doc-title', text: doc.title }),
        el(
          'span',
          { class: 'doc-meta' },
          `${owner} · edited `,
          el('time', { datetime: doc.updated_at, text: doc.edited }),
        ),
      ),
    ),
    el('span', { class: `role role--${doc.role}`, text: doc.role_label }),
    online(doc.online),
    el('span', { class: 'doc-actions' }, renameForm(doc, maxLength), deleteLink(doc)),
  )
}

function online(people) {
  const avatars = people.slice(0, MAX_ONLINE).map((person) => {
    const avatar = el('span', {
      class: 'avatar avatar--sm',
      title: `${person.name} is here`,
      'data-user-id': String(person.id),
      text: initials(person.name),
    })
    avatar.style.backgroundColor = avatarColor(person.color, '#777')
    return avatar
  })
  if (people.length > MAX_ONLINE) {
    avatars.push(
      el('span', { class: 'avatar avatar--sm avatar--more', text: `+${people.length - MAX_ONLINE}` }),
    )
  }
  return el('span', { class: 'online', 'aria-label': `${people.length} online` }, ...avatars)
}

function renameForm(doc, maxLength) {
  if (!doc.rename_url) return null
  return el(
    'details',
    { class: 'popover' },
    el('summary', { class: 'btn btn-ghost btn-sm', text: 'Rename' }),
    el(
      'form',
      { method: 'post', action: doc.rename_url, class: 'popover-body' },
      el('input', { type: 'hidden', name: 'csrfmiddlewaretoken', value: csrfToken() }),
      el(
        'label',
        { class: 'field' },
        el('span', { text: 'New title' }),
        el('input', {
          type: 'text',
          name: 'title',
          value: doc.title,
          maxlength: String(maxLength),
          required: true,
        }),
      ),
      el('button', { type: 'submit', class: 'btn btn-primary btn-sm', text: 'Save' }),
    ),
  )
}

function deleteLink(doc) {
  if (!doc.delete_url) return null
  return el('a', { class: 'btn btn-ghost btn-sm btn-danger-text', href: doc.delete_url, text: 'Delete' })
}

function titleMaxLength() {
  const input = document.querySelector('.new-doc input[name=title]')
  return input && input.maxLength > 0 ? input.maxLength : 200
}

const list = document.getElementById('documents')
if (list) bindList({ list, empty: document.getElementById('documents-empty') })
