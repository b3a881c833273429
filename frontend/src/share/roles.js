// The roles an owner can give, and the <select> that picks one.

import { el } from '../dom.js'

const ROLES = [
  ['editor', 'Editor'],
  ['commenter', 'Commenter'],
  ['viewer', 'Viewer'],
]

export function roleSelect(value, label, extra = {}) {
  const select = el('select', { class: 'share-select', 'aria-label': label, ...extra })
  for (const [role, text] of ROLES) {
    select.append(el('option', { value: role, text, selected: role === value }))
  }
  return select
}
