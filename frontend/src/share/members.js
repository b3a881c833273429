// People with access: the owner first, then each member with a role picker
// and a Remove button; and the form that invites someone by username or e-mail.

import { avatarColor, initials } from '../avatars.js'
import { el } from '../dom.js'
import { roleSelect } from './roles.js'

export function createMembers({ owner, accessUrl, run, showError }) {
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

  function render(data) {
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
    list.replaceChildren(...people)
  }

  return { inviteForm, list, render, focus: () => who.focus() }
}

// The colour is the server's (the owner's from the page config, a member's
// from the access API), so it matches that person's caret and avatar.
function avatar(name, color) {
  const node = el('span', { class: 'avatar avatar--sm', 'aria-hidden': 'true', text: initials(name) })
  node.style.backgroundColor = avatarColor(color, '#8c959f')
  return node
}
