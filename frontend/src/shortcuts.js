// The keyboard-shortcut sheet (Ctrl+/ or the toolbar's "?"), and the
// page-wide keys of the writing tools: find, replace, the sheet itself.

import { el } from './dom.js'

const MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent)
const MOD = MAC ? '⌘' : 'Ctrl'
const ALT = MAC ? '⌥' : 'Alt'

// What Tiptap's extensions bind (StarterKit, Underline, Highlight, the list
// and table kits) and what this page adds (links, find, the sheet).
const SECTIONS = [
  ['Text', [
    ['Bold', `${MOD}+B`], ['Italic', `${MOD}+I`], ['Underline', `${MOD}+U`],
    ['Strikethrough', `${MOD}+Shift+S`], ['Inline code', `${MOD}+E`],
    ['Highlight', `${MOD}+Shift+H`], ['Link', `${MOD}+K`],
  ]],
  ['Paragraphs', [
    ['Heading 1, 2, 3', `${MOD}+${ALT}+1, 2, 3`], ['Normal text', `${MOD}+${ALT}+0`],
    ['Bulleted list', `${MOD}+Shift+8`], ['Numbered list', `${MOD}+Shift+7`],
    ['Task list', `${MOD}+Shift+9`], ['Quote', `${MOD}+Shift+B`], ['Code block', `${MOD}+${ALT}+C`],
    ['Indent, outdent a list item', 'Tab, Shift+Tab'], ['Line break', 'Shift+Enter'],
  ]],
  ['Tables', [['Next cell, previous cell', 'Tab, Shift+Tab']]],
  ['Document', [
    ['Undo', `${MOD}+Z`], ['Redo', `${MOD}+Shift+Z`], ['Find', `${MOD}+F`],
    // Ctrl, not ⌘, on a Mac too: ⌘+Shift+H is Highlight there as everywhere.
    ['Find and replace', 'Ctrl+H'], ['This list', `${MOD}+/`],
  ]],
]

export function bindShortcuts({ onFind, onReplace }) {
  const close = el('button', { type: 'button', class: 'share-close', 'aria-label': 'Close', text: '×' })
  const dialog = el(
    'dialog',
    { id: 'shortcuts-dialog', class: 'share-dialog shortcuts-dialog', 'aria-labelledby': 'shortcuts-title' },
    el('div', { class: 'share-head' }, el('h2', { id: 'shortcuts-title', text: 'Keyboard shortcuts' }), close),
    el(
      'div',
      { class: 'shortcuts-grid' },
      ...SECTIONS.map(([title, rows]) =>
        el(
          'section',
          {},
          el('h3', { class: 'share-section', text: title }),
          el('dl', { class: 'shortcuts-list' }, ...rows.flatMap(([what, keys]) => [el('dt', { text: what }), el('dd', {}, el('kbd', { text: keys }))])),
        ),
      ),
    ),
  )
  document.body.append(dialog)
  close.addEventListener('click', () => dialog.close())
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) dialog.close() // a click on the backdrop
  })

  const open = () => {
    if (!dialog.open) dialog.showModal()
  }

  document.addEventListener('keydown', (event) => {
    const key = event.key.toLowerCase()
    if (event.ctrlKey && !event.metaKey && !event.altKey && !event.shiftKey && key === 'h') {
      event.preventDefault()
      onReplace()
      return
    }
    const mod = MAC ? event.metaKey : event.ctrlKey
    if (!mod || event.altKey) return
    if (key === '/' || event.code === 'Slash') {
      event.preventDefault()
      dialog.open ? dialog.close() : open()
    } else if (key === 'f' && !event.shiftKey) {
      event.preventDefault()
      onFind()
    }
  })
  return { open }
}
