// People with access: the owner first, then each member with a role picker
// and a Remove button, then the shares waiting for an address to be confirmed
// (with Cancel); and the form that invites someone by username or e-mail.
// Names and addresses are other people's input: text nodes only.

import { avatarColor, initials } from '../avatars.js'
import { el } from '../dom.js'
import { roleSelect } from './roles.js'

const ROLE_LABELS = { editor: 'Editor', commenter: 'Commenter', viewer: 'Viewer' }

export function createMembers({ owner, accessUrl, pendingUrl, run, showError }) {
  const list = el('ul', { class: 'share-list share-members', 'aria-label': 'People with access' })
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
  // What became of the last share, when it did not give anyone access yet.
  const notice = el('p', { class: 'share-notice', role: 'status', hidden: true })

  function showNotice(message) {
    notice.textContent = message || ''
    notice.hidden = !message
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
      // The server keeps an address nobody has confirmed as a pending share
      // (lower-cased); the share reaches whoever confirms it.
      const waiting = (data.pending || []).find((p) => p.email === name.toLowerCase())
      if (waiting) {
        showNotice(
          `Nobody has confirmed ${waiting.email} yet: whoever confirms this address ` +
            'gets the document. Until then the share waits below.',
        )
      }
      who.value = ''
      who.focus()
    }
  }

  function render(data) {
    // Any new answer replaces what the notice said about the one before.
    showNotice('')
    const people = [
      el(
        'li',
        { class: 'share-item share-item--owner' },
        avatar(owner.name, owner.color),
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
          avatar(member.name, member.color),
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
    for (const share of data.pending || []) people.push(pendingRow(share))
    list.replaceChildren(...people)
  }

  function pendingRow(share) {
    const role = ROLE_LABELS[share.role] ? share.role : 'viewer'
    return el(
      'li',
      { class: 'share-item share-item--pending', 'data-email': share.email },
      el('span', { class: 'avatar avatar--sm avatar--pending', 'aria-hidden': 'true', text: '@' }),
      el(
        'span',
        { class: 'share-who' },
        el('span', { class: 'share-name', text: share.email }),
        el('span', { class: 'share-detail', text: 'Waiting for this address to be confirmed' }),
      ),
      el('span', { class: `role role--${role}`, text: ROLE_LABELS[role] }),
      el('button', {
        type: 'button',
        class: 'btn btn-ghost btn-sm btn-danger-text',
        text: 'Cancel',
        'aria-label': `Cancel the share with ${share.email}`,
        onclick: () => run('DELETE', pendingUrl, { email: share.email }),
      }),
    )
  }

  return { inviteForm, notice, list, render, focus: () => who.focus() }
}

// The colour is the server's (the owner's from the page config, a member's
// from the access API), so it matches that person's caret and avatar.
function avatar(name, color) {
  const node = el('span', { class: 'avatar avatar--sm', 'aria-hidden': 'true', text: initials(name) })
  node.style.backgroundColor = avatarColor(color, '#8c959f')
  return node
}
