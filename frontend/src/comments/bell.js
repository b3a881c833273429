// The notifications bell in the header: the unread count, a list of the
// newest notifications (each links to its thread), mark as read. Live over
// the events socket while the page is open.

import { apiFetch, readJson } from '../api.js'
import { el } from '../dom.js'
import { eventsSocket } from './events.js'

const WHAT = { mention: 'mentioned you', reply: 'replied' }

export function bindBell(root) {
  if (!root) return
  const button = root.querySelector('.bell-button')
  const count = root.querySelector('.bell-count')
  const panel = root.querySelector('.bell-panel')
  const list = root.querySelector('.bell-list')
  const readAll = root.querySelector('.bell-read-all')
  const listUrl = root.dataset.listUrl
  const readUrl = root.dataset.readUrl
  let items = []
  let unread = 0

  function render() {
    count.textContent = unread > 99 ? '99+' : String(unread)
    count.hidden = unread === 0
    button.setAttribute('aria-label', unread ? `Notifications, ${unread} unread` : 'Notifications')
    readAll.disabled = unread === 0
    if (!items.length) {
      list.replaceChildren(el('li', { class: 'bell-empty', text: 'No notifications yet.' }))
      return
    }
    list.replaceChildren(
      ...items.map((n) =>
        el(
          'li',
          { class: n.read ? 'bell-item' : 'bell-item is-unread' },
          el(
            'a',
            {
              class: 'bell-link',
              href: safePath(n.url),
              onclick: () => markRead([n.id]),
            },
            el(
              'span',
              { class: 'bell-line' },
              el('strong', { text: n.actor ? n.actor.name : 'Someone' }),
              ` ${WHAT[n.kind] || 'commented'} in `,
              el('em', { text: n.document.title }),
            ),
            el('span', { class: 'bell-excerpt', text: n.excerpt }),
          ),
        ),
      ),
    )
  }

  async function load() {
    try {
      const response = await apiFetch(listUrl)
      const data = response.ok ? await readJson(response) : null
      if (!data) return
      items = data.notifications || []
      unread = data.unread || 0
      render()
    } catch {
      // Offline: the socket's next connect loads again.
    }
  }

  async function markRead(ids) {
    try {
      const response = await apiFetch(readUrl, { method: 'POST', body: ids ? { ids } : {} })
      const data = response.ok ? await readJson(response) : null
      if (!data) return
      unread = data.unread
      for (const n of items) if (!ids || ids.includes(n.id)) n.read = true
      render()
    } catch {
      // Stays unread; nothing lost.
    }
  }

  button.addEventListener('click', () => {
    panel.hidden = !panel.hidden
    button.setAttribute('aria-expanded', String(!panel.hidden))
  })
  document.addEventListener('click', (event) => {
    if (!panel.hidden && !root.contains(event.target)) {
      panel.hidden = true
      button.setAttribute('aria-expanded', 'false')
    }
  })
  readAll.addEventListener('click', () => markRead(null))

  eventsSocket()
    .on('notification', (message) => {
      const n = message.notification
      if (!n || items.some((i) => i.id === n.id)) return
      items = [n, ...items].slice(0, 50)
      unread += n.read ? 0 : 1
      render()
      root.classList.remove('is-ringing')
      void root.offsetWidth
      root.classList.add('is-ringing')
    })
    .on('notifications-read', load)
    .onOpen(load)
  render()
}

/** Only a path on this site: the server builds it, but it is not trusted. */
function safePath(url) {
  return typeof url === 'string' && /^\/[^/\\]/.test(url) ? url : '#'
}
