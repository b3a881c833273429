// Everyone in the document, from awareness states, one avatar per user (a
// user with two tabs open is one person).

const MAX_SHOWN = 6

export function initials(name) {
  const parts = String(name || '?').trim().split(/[\s._@-]+/).filter(Boolean)
  if (parts.length === 0) return '?'
  if (parts.length === 1) return parts[0].slice(0, 2).toUpperCase()
  return (parts[0][0] + parts[parts.length - 1][0]).toUpperCase()
}

/** A colour for a background: the given one if it is a plain #rrggbb, else the fallback. */
export function avatarColor(color, fallback) {
  return /^#[0-9a-f]{6}$/i.test(color) ? color : fallback
}

export function usersFromAwareness(awareness, self) {
  const users = new Map()
  for (const [clientId, state] of awareness.getStates()) {
    const user = state && state.user
    if (!user || !user.name) continue
    const key = user.id != null ? `u${user.id}` : `c${clientId}`
    const isSelf = clientId === awareness.clientID || (self.id != null && user.id === self.id)
    if (!users.has(key)) users.set(key, { ...user, self: isSelf })
  }
  return Array.from(users.values()).sort(
    (a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name),
  )
}

export function bindAvatars({ container, awareness, self }) {
  const render = () => {
    const users = usersFromAwareness(awareness, self)
    container.replaceChildren()
    for (const user of users.slice(0, MAX_SHOWN)) {
      const avatar = document.createElement('span')
      avatar.className = 'avatar' + (user.self ? ' avatar--self' : '')
      avatar.style.backgroundColor = avatarColor(user.color, '#777')
      avatar.textContent = initials(user.name)
      avatar.title = user.self ? `${user.name} (you)` : user.name
      avatar.dataset.name = user.name
      if (user.id != null) avatar.dataset.userId = String(user.id)
      container.append(avatar)
    }
    if (users.length > MAX_SHOWN) {
      const more = document.createElement('span')
      more.className = 'avatar avatar--more'
      more.textContent = `+${users.length - MAX_SHOWN}`
      more.title = users.slice(MAX_SHOWN).map((u) => u.name).join(', ')
      container.append(more)
    }
    container.setAttribute(
      'aria-label',
      `${users.length} ${users.length === 1 ? 'person' : 'people'} here: ` +
        users.map((u) => u.name).join(', '),
    )
  }
  awareness.on('change', render)
  render()
  return render
}
