// The owner's "Share" dialog: who has which role, invitations by username or
// e-mail, and share links. Everything goes through the sharing JSON API
// (documents/sharing_views.py); every answer is the full listing, which the
// dialog renders again. The server tells open editors about role changes
// itself, so nothing here talks to the Yjs side.

import { initials } from './avatars.js'

const PALETTE = [
  '#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#0f9aa8',
  '#d6338a', '#6b8e23', '#9a6324', '#800000', '#1f6f8b', '#5b3cc4',
]
const ROLES = [
  ['editor', 'Editor'],
  ['viewer', 'Viewer'],
]

/** The CSRF token: the csrftoken cookie, else a {% csrf_token %} field in the page. */
export function csrfToken(doc = document) {
  const match = doc.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/)
  if (match) return decodeURIComponent(match[1])
  const field = doc.querySelector('input[name=csrfmiddlewaretoken]')
  return field ? field.value : ''
}

class ApiError extends Error {}

async function call(method, url, body) {
  const headers = { Accept: 'application/json' }
  if (method !== 'GET') headers['X-CSRFToken'] = csrfToken()
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  let response
  try {
    response = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new ApiError('The server cannot be reached. Check your connection and try again.')
  }
  let data = null
  try {
    data = await response.json()
  } catch {
    // Not JSON (a proxy's error page, a CSRF failure page): the status explains.
  }
  if (!response.ok) {
    if (data && typeof data.error === 'string') throw new ApiError(data.error)
    if (response.status === 401) throw new ApiError('You have been signed out. Sign in again.')
    if (response.status === 403) throw new ApiError('You are not allowed to do that.')
    throw new ApiError(`The server could not do that (error ${response.status}).`)
  }
  return data
}

/** The same colour the server gives the user (documents/identity.py), when the page can hash. */
async function userColor(userId) {
  try {
    const bytes = new TextEncoder().encode(`user:${userId}`)
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
    return PALETTE[digest[0] % PALETTE.length]
  } catch {
    return '#8c959f'
  }
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue
    if (key === 'class') node.className = value
    else if (key === 'text') node.textContent = value
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value)
    else if (key in node && typeof value !== 'string') node[key] = value
    else node.setAttribute(key, value === true ? '' : value)
  }
  node.append(...children.filter((c) => c != null))
  return node
}

function roleSelect(value, label, extra = {}) {
  const select = el('select', { class: 'share-select', 'aria-label': label, ...extra })
  for (const [role, text] of ROLES) {
    select.append(el('option', { value: role, text, selected: role === value }))
  }
  return select
}

function avatar(name, userId) {
  const node = el('span', { class: 'avatar avatar--sm', 'aria-hidden': 'true', text: initials(name) })
  node.style.backgroundColor = '#8c959f'
  if (userId != null) userColor(userId).then((color) => (node.style.backgroundColor = color))
  return node
}

export function bindShare({ button, owner }) {
  const accessUrl = button.dataset.accessUrl
  const linksUrl = button.dataset.linksUrl
  if (!accessUrl || !linksUrl) return

  const error = el('p', { class: 'share-error', role: 'alert', hidden: true })
  const members = el('ul', { class: 'share-list share-members', 'aria-label': 'People with access' })
  const links = el('ul', { class: 'share-list share-links', 'aria-label': 'Share links' })
  const who = el('input', {
    type: 'text',
    name: 'user',
    class: 'share-input',
    placeholder: 'Username or e-mail',
    'aria-label': 'Username or e-mail',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
  })
  const inviteRole = roleSelect('editor', 'Role for the person you share with', { name: 'role' })
  const inviteForm = el(
    'form',
    { class: 'share-row share-invite', onsubmit: (event) => invite(event) },
    who,
    inviteRole,
    el('button', { type: 'submit', class: 'btn btn-primary', text: 'Share' }),
  )
  const linkRole = roleSelect('viewer', 'Role for a new link', { name: 'link-role' })
  const linkForm = el(
    'form',
    { class: 'share-row share-link-create', onsubmit: (event) => createLink(event) },
    el('span', { class: 'share-hint', text: 'New link:' }),
    linkRole,
    el('button', { type: 'submit', class: 'btn btn-ghost', text: 'Create link' }),
  )
  const closeButton = el('button', {
    type: 'button',
    class: 'share-close',
    'aria-label': 'Close',
    title: 'Close',
    text: '×',
    onclick: () => dialog.close(),
  })
  const dialog = el(
    'dialog',
    { id: 'share-dialog', class: 'share-dialog', 'aria-labelledby': 'share-heading' },
    el(
      'div',
      { class: 'share-head' },
      el('h2', { id: 'share-heading', text: 'Share this document' }),
      closeButton,
    ),
    inviteForm,
    error,
    el('h3', { class: 'share-section', text: 'People with access' }),
    members,
    el('h3', { class: 'share-section', text: 'Share links' }),
    el('p', {
      class: 'share-hint',
      text: 'Anyone signed in who opens a link gets its role. Revoking a link takes that access back.',
    }),
    links,
    linkForm,
  )
  document.body.append(dialog)

  // A click on the backdrop (outside the dialog's box) closes it.
  dialog.addEventListener('click', (event) => {
    if (event.target !== dialog) return
    const box = dialog.getBoundingClientRect()
    const inside =
      event.clientX >= box.left &&
      event.clientX <= box.right &&
      event.clientY >= box.top &&
      event.clientY <= box.bottom
    if (!inside) dialog.close()
  })

  let busy = false
  const setBusy = (on) => {
    busy = on
    dialog.classList.toggle('is-busy', on)
    dialog.setAttribute('aria-busy', String(on))
    for (const control of dialog.querySelectorAll('button, select, input')) {
      if (control === closeButton || control.classList.contains('share-url')) continue
      control.disabled = on
    }
  }

  const showError = (message) => {
    error.textContent = message || ''
    error.hidden = !message
  }

  async function run(method, url, body) {
    if (busy) return null
    setBusy(true)
    showError('')
    try {
      const data = await call(method, url, body)
      render(data)
      return data
    } catch (exc) {
      showError(exc instanceof ApiError ? exc.message : 'Something went wrong. Try again.')
      return null
    } finally {
      setBusy(false)
    }
  }

  function render(data) {
    const people = [
      el(
        'li',
        { class: 'share-item share-item--owner' },
        avatar(owner.name, owner.id),
        el(
          'span',
          { class: 'share-who' },
          el('span', { class: 'share-name', text: `${owner.name} (you)` }),
        ),
        el('span', { class: 'role role--owner', text: 'Owner' }),
      ),
    ]
    for (const member of data.members || []) {
      const detail = [member.username, member.email].filter(Boolean)
      const unique = detail.filter((d, i) => d !== member.name && detail.indexOf(d) === i)
      if (member.via_link) unique.push('via a link')
      const select = roleSelect(member.role, `Role for ${member.name}`, {
        onchange: async (event) => {
          const data = await run('POST', `${accessUrl}${member.user_id}/`, {
            role: event.target.value,
          })
          if (!data) event.target.value = member.role // refused: show the role they still have
        },
      })
      people.push(
        el(
          'li',
          { class: 'share-item', 'data-user-id': String(member.user_id), 'data-username': member.username },
          avatar(member.name, member.user_id),
          el(
            'span',
            { class: 'share-who' },
            el('span', { class: 'share-name', text: member.name }),
            unique.length ? el('span', { class: 'share-detail', text: unique.join(' · ') }) : null,
          ),
          select,
          el('button', {
            type: 'button',
            class: 'btn btn-ghost btn-sm btn-danger-text',
            text: 'Remove',
            'aria-label': `Remove ${member.name}`,
            onclick: () => run('DELETE', `${accessUrl}${member.user_id}/`),
          }),
        ),
      )
    }
    members.replaceChildren(...people)

    const rows = (data.links || []).map((link) => {
      const url = el('input', {
        type: 'text',
        class: 'share-input share-url',
        value: link.url,
        readOnly: true,
        'aria-label': `${link.role} link`,
        onfocus: (event) => event.target.select(),
      })
      const copy = el('button', {
        type: 'button',
        class: 'btn btn-ghost btn-sm share-copy',
        text: 'Copy',
        onclick: () => copyUrl(url, copy),
      })
      return el(
        'li',
        { class: 'share-item', 'data-token': link.token, 'data-role': link.role },
        el('span', { class: `role role--${link.role}`, text: link.role }),
        url,
        copy,
        el('button', {
          type: 'button',
          class: 'btn btn-ghost btn-sm btn-danger-text',
          text: 'Revoke',
          'aria-label': `Revoke ${link.role} link`,
          onclick: () => run('DELETE', `${linksUrl}${encodeURIComponent(link.token)}/`),
        }),
      )
    })
    if (!rows.length) rows.push(el('li', { class: 'share-empty', text: 'No active links.' }))
    links.replaceChildren(...rows)
  }

  async function copyUrl(input, copy) {
    let copied = false
    try {
      await navigator.clipboard.writeText(input.value)
      copied = true
    } catch {
      // No clipboard API (an insecure origin, a denied permission): select and copy.
      input.focus()
      input.select()
      try {
        copied = document.execCommand('copy')
      } catch {
        copied = false
      }
    }
    copy.textContent = copied ? 'Copied' : 'Press Ctrl+C'
    copy.classList.toggle('is-done', copied)
    setTimeout(() => {
      copy.textContent = 'Copy'
      copy.classList.remove('is-done')
    }, 1500)
  }

  async function invite(event) {
    event.preventDefault()
    const name = who.value.trim()
    if (!name) {
      showError('Type the username or e-mail address of the person to share with.')
      who.focus()
      return
    }
    const data = await run('POST', accessUrl, { user: name, role: inviteRole.value })
    if (data) {
      who.value = ''
      who.focus()
    }
  }

  function createLink(event) {
    event.preventDefault()
    run('POST', linksUrl, { role: linkRole.value })
  }

  button.disabled = false
  button.addEventListener('click', () => {
    showError('')
    if (!dialog.open) dialog.showModal()
    who.focus()
    run('GET', accessUrl)
  })
}
