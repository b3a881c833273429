// Find and replace: matches drawn as decorations (never written into the
// shared document), a count, next and previous, a case option, and Replace
// all as a single step of the shared undo history.

import { Extension } from '@tiptap/core'
import { Plugin, PluginKey, TextSelection } from '@tiptap/pm/state'
import { Decoration, DecorationSet } from '@tiptap/pm/view'

import { el } from './dom.js'

export const findKey = new PluginKey('find')
const MAX_MATCHES = 5000
// A stand-in for an inline node that is not text (an image, a break): one
// position wide, like the node, and never part of a match.
const NOT_TEXT = '\ufffc'

// Lower case that keeps every code unit where it was, so offsets in the
// folded text are offsets in the document ("İ" lowers to two units: kept).
const fold = (text) =>
  text
    .split('')
    .map((unit) => {
      const lower = unit.toLowerCase()
      return lower.length === 1 ? lower : unit
    })
    .join('')

/** Every match of query in the document's text blocks: [{from, to}]. */
export function findMatches(doc, query, caseSensitive) {
  const matches = []
  if (!query) return matches
  const needle = caseSensitive ? query : fold(query)
  doc.descendants((node, pos) => {
    if (matches.length >= MAX_MATCHES) return false
    if (!node.isTextblock) return true
    let text = ''
    node.forEach((child) => {
      text += child.isText ? child.text : NOT_TEXT.repeat(child.nodeSize)
    })
    const hay = caseSensitive ? text : fold(text)
    for (let at = hay.indexOf(needle); at !== -1; at = hay.indexOf(needle, at + needle.length)) {
      matches.push({ from: pos + 1 + at, to: pos + 1 + at + needle.length })
      if (matches.length >= MAX_MATCHES) break
    }
    return false
  })
  return matches
}

const EMPTY = { query: '', caseSensitive: false, matches: [], current: -1 }

export const FindExtension = Extension.create({
  name: 'find',
  addProseMirrorPlugins() {
    return [
      new Plugin({
        key: findKey,
        state: {
          init: () => EMPTY,
          apply(tr, value, _old, state) {
            const meta = tr.getMeta(findKey)
            if (!meta && !tr.docChanged) return value
            const next = { ...value, ...(meta || {}) }
            if (meta?.query !== undefined || meta?.caseSensitive !== undefined || tr.docChanged) {
              next.matches = findMatches(state.doc, next.query, next.caseSensitive)
            }
            if (meta?.current === undefined) {
              // Keep the current match the one nearest where it was.
              const anchor = value.matches[value.current]
              const from = anchor ? tr.mapping.map(anchor.from) : state.selection.from
              const index = next.matches.findIndex((m) => m.from >= from)
              next.current = next.matches.length ? (index === -1 ? 0 : index) : -1
            }
            return next
          },
        },
        props: {
          decorations(state) {
            const { matches, current } = findKey.getState(state)
            if (!matches.length) return null
            return DecorationSet.create(
              state.doc,
              matches.map((m, i) =>
                Decoration.inline(m.from, m.to, { class: i === current ? 'find-match is-current' : 'find-match' }),
              ),
            )
          },
        },
      }),
    ]
  },
})

/** The find panel; open() shows it (with the replace row for editors). */
export function bindFind({ editor, history, onToggle = () => {} }) {
  const query = el('input', { type: 'search', class: 'find-input', placeholder: 'Find in document', 'aria-label': 'Find', autocomplete: 'off', spellcheck: 'false' })
  const count = el('span', { class: 'find-count', 'aria-live': 'polite' })
  const prev = el('button', { type: 'button', class: 'tool', title: 'Previous match (Shift+Enter)', 'aria-label': 'Previous match', text: '↑' })
  const next = el('button', { type: 'button', class: 'tool', title: 'Next match (Enter)', 'aria-label': 'Next match', text: '↓' })
  const close = el('button', { type: 'button', class: 'banner-close', title: 'Close (Esc)', 'aria-label': 'Close find', text: '×' })
  const matchCase = el('input', { type: 'checkbox', class: 'find-case' })
  const caseLabel = el('label', { class: 'find-option' }, matchCase, ' Match case')
  const replacement = el('input', { type: 'text', class: 'find-input', placeholder: 'Replace with', 'aria-label': 'Replace with', autocomplete: 'off', spellcheck: 'false' })
  const replaceOne = el('button', { type: 'button', class: 'btn btn-sm', text: 'Replace' })
  const replaceAll = el('button', { type: 'button', class: 'btn btn-sm', text: 'Replace all' })
  const replaceRow = el('div', { class: 'find-row find-replace' }, replacement, replaceOne, replaceAll)
  const panel = el(
    'div',
    { id: 'find-panel', class: 'find-panel', role: 'search', 'aria-label': 'Find and replace', hidden: true },
    el('div', { class: 'find-row' }, query, count, prev, next, close),
    replaceRow,
    el('div', { class: 'find-row find-options' }, caseLabel),
  )
  document.body.append(panel)

  const state = () => findKey.getState(editor.state)
  const set = (meta) => editor.view.dispatch(editor.state.tr.setMeta(findKey, meta).setMeta('addToHistory', false))

  function render() {
    const { matches, current, query: q } = state()
    const many = matches.length >= MAX_MATCHES ? '+' : ''
    count.textContent = !q ? '' : matches.length ? `${current + 1} of ${matches.length}${many}` : 'No results'
    panel.dataset.matches = String(matches.length)
    const editable = editor.isEditable
    replaceRow.hidden = !editable
    replaceOne.disabled = replaceAll.disabled = !editable || !matches.length
    prev.disabled = next.disabled = matches.length === 0
  }

  function select(index) {
    const { matches } = state()
    if (!matches.length) return
    const current = (index + matches.length) % matches.length
    const m = matches[current]
    const tr = editor.state.tr.setMeta(findKey, { current })
    tr.setSelection(TextSelection.create(tr.doc, m.from, m.to)).scrollIntoView()
    editor.view.dispatch(tr)
  }

  /** One step of the shared undo history: nothing typed before or after joins it. */
  function asOneStep(change) {
    const undo = history()
    undo?.stopCapturing()
    change()
    undo?.stopCapturing()
  }

  function replaceMatches(which) {
    if (!editor.isEditable || !which.length) return
    const text = replacement.value
    asOneStep(() => {
      const tr = editor.state.tr
      // From the end, so earlier positions stay valid.
      for (const m of [...which].sort((a, b) => b.from - a.from)) {
        if (text) tr.insertText(text, m.from, m.to)
        else tr.delete(m.from, m.to)
      }
      editor.view.dispatch(tr)
    })
  }

  query.addEventListener('input', () => set({ query: query.value }))
  matchCase.addEventListener('change', () => set({ caseSensitive: matchCase.checked }))
  query.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault()
      select(state().current + (event.shiftKey ? -1 : 1))
    }
  })
  prev.addEventListener('click', () => select(state().current - 1))
  next.addEventListener('click', () => select(state().current + 1))
  replaceOne.addEventListener('click', () => {
    const { matches, current } = state()
    if (matches[current]) replaceMatches([matches[current]])
  })
  replaceAll.addEventListener('click', () => replaceMatches(state().matches))
  replacement.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault()
      replaceOne.click()
    }
  })
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault()
      hide()
    }
  })
  close.addEventListener('click', () => hide())

  function open({ replace = false } = {}) {
    panel.hidden = false
    const { from, to, empty } = editor.state.selection
    const picked = empty ? '' : editor.state.doc.textBetween(from, to, ' ')
    if (picked && !picked.includes('\n') && picked.length <= 200) query.value = picked
    set({ query: query.value, caseSensitive: matchCase.checked })
    render()
    const target = replace && editor.isEditable ? replacement : query
    target.focus()
    target.select()
    onToggle(true)
  }

  function hide() {
    panel.hidden = true
    set({ query: '' })
    onToggle(false)
    editor.commands.focus()
  }

  editor.on('transaction', () => !panel.hidden && render())
  return { open, hide, isOpen: () => !panel.hidden }
}
