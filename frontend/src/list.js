// The document list, kept current while it is open: new shares, titles,
// roles and who is online, read from the documents' JSON API (the same view,
// sort, page and search as the page) whenever the page comes back into view,
// and every so often while it is in view. The rows are drawn like
// documents/list.html draws them; a search's highlighted passages are drawn
// from text segments, never from HTML.

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

/** Changing the sort reloads the list at once (the form also has a submit button without script). */
function bindAutosubmit() {
  for (const select of document.querySelectorAll('select[data-autosubmit]')) {
    select.addEventListener('change', () => select.form.requestSubmit())
  }
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
  const here = list.dataset.here || '/'
  list.replaceChildren(...documents.map((doc) => row(doc, maxLength, here)))
  list.hidden = documents.length === 0
  empty.hidden = documents.length > 0
}

function marked(parts) {
  return parts.map((part) => (part.match ? el('mark', { text: part.text }) : part.text))
}

function row(doc, maxLength, here) {
  const owner = doc.role === 'owner' ? 'Owned by you' : `Shared by ${doc.owner.name}`
  const title = doc.title_parts ? marked(doc.title_parts) : [doc.title]
  const snippet =
    doc.snippet && doc.snippet.length ? el('span', { class: 'doc-snippet' }, ...marked(doc.snippet)) : null
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
        el('span', { class: 'doc-title' }, ...title),
        el(
          'span',
          { class: 'doc-meta' },
          `${owner} · edited `,
          el('time', { datetime: doc.updated_at, text: doc.edited }),
        ),
        snippet,
      ),
    ),
    el('span', { class: `role role--${doc.role}`, text: doc.role_label }),
    online(doc.online),
    el(
      'span',
      { class: 'doc-actions' },
      starForm(doc, here),
      copyForm(doc),
      renameForm(doc, maxLength),
      moveForm(doc, here),
      deleteLink(doc),
    ),
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

function starForm(doc, here) {
  const label = doc.starred ? 'Unstar' : 'Star'
  return el(
    'form',
    { method: 'post', action: doc.star_url, class: 'star-form' },
    el('input', { type: 'hidden', name: 'csrfmiddlewaretoken', value: csrfToken() }),
    el('input', { type: 'hidden', name: 'next', value: here }),
    el('input', { type: 'hidden', name: 'starred', value: doc.starred ? '0' : '1' }),
    el('button', {
      type: 'submit',
      class: 'btn btn-ghost btn-sm star',
      'aria-pressed': doc.starred ? 'true' : 'false',
      title: label,
      'aria-label': `${label} “${doc.title}”`,
      text: doc.starred ? '★' : '☆',
    }),
  )
}

function copyForm(doc) {
  if (!doc.duplicate_url) return null
  return el(
    'form',
    { method: 'post', action: doc.duplicate_url, class: 'copy-form' },
    el('input', { type: 'hidden', name: 'csrfmiddlewaretoken', value: csrfToken() }),
    el('button', {
      type: 'submit',
      class: 'btn btn-ghost btn-sm',
      'aria-label': `Make a copy of “${doc.title}”`,
      title: 'Make a copy',
      text: 'Copy',
    }),
  )
}

function folders() {
  const node = document.getElementById('folders-data')
  try {
    const parsed = node ? JSON.parse(node.textContent) : []
    return Array.isArray(parsed) ? parsed : []
  } catch {
    return []
  }
}

function moveForm(doc, here) {
  const choices = folders()
  if (!doc.move_url || choices.length === 0) return null
  const options = [{ id: '', name: 'No folder' }, ...choices].map((folder) =>
    el('option', {
      value: String(folder.id),
      text: folder.name,
      selected: String(folder.id) === String(doc.folder_id ?? ''),
    }),
  )
  return el(
    'details',
    { class: 'popover' },
    el('summary', { class: 'btn btn-ghost btn-sm', text: 'Move' }),
    el(
      'form',
      { method: 'post', action: doc.move_url, class: 'popover-body' },
      el('input', { type: 'hidden', name: 'csrfmiddlewaretoken', value: csrfToken() }),
      el('input', { type: 'hidden', name: 'next', value: here }),
      el('label', { class: 'field' }, el('span', { text: 'Folder' }), el('select', { name: 'folder' }, ...options)),
      el('button', { type: 'submit', class: 'btn btn-primary btn-sm', text: 'Move' }),
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
bindAutosubmit()
