// Share links: a row per active link (its role, the URL with a Copy button,
// Revoke), and the form that creates one.

import { el } from '../dom.js'
import { roleSelect } from './roles.js'

export function createLinks({ linksUrl, run }) {
  const list = el('ul', { class: 'share-list share-links', 'aria-label': 'Share links' })
  const linkRole = roleSelect('viewer', 'Role for a new link', { name: 'link-role' })
  const linkForm = el(
    'form',
    { class: 'share-row share-link-create', onsubmit: (event) => createLink(event) },
    el('span', { class: 'share-hint', text: 'New link:' }),
    linkRole,
    el('button', { type: 'submit', class: 'btn btn-ghost', text: 'Create link' }),
  )

  function createLink(event) {
    event.preventDefault()
    run('POST', linksUrl, { role: linkRole.value })
  }

  function render(data) {
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
    list.replaceChildren(...rows)
  }

  return { list, linkForm, render }
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
