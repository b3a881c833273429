// The outline: the document's headings in a side panel (a sheet on a
// phone), kept up to date as anyone edits; a click goes to the heading.

import { el } from './dom.js'

/** The headings: [{level, text, pos}], empty ones left out. */
export function headingsOf(doc) {
  const headings = []
  doc.descendants((node, pos) => {
    if (node.type.name === 'heading') {
      const text = node.textContent.trim()
      if (text) headings.push({ level: node.attrs.level, text, pos })
      return false
    }
    // Headings sit at the top level or in blocks (quotes, cells); not in text.
    return !node.isTextblock
  })
  return headings
}

export function bindOutline({ editor, onToggle = () => {} }) {
  const list = el('ol', { class: 'outline-list' })
  const empty = el('p', { class: 'outline-empty', text: 'Headings you add to the document appear here.' })
  const close = el('button', { type: 'button', class: 'banner-close', 'aria-label': 'Close outline', title: 'Close', text: '×' })
  const panel = el(
    'aside',
    { id: 'outline-panel', class: 'side-panel outline-panel', 'aria-label': 'Outline', hidden: true },
    el('div', { class: 'side-panel-head' }, el('h2', { text: 'Outline' }), close),
    empty,
    list,
  )
  document.body.append(panel)

  let timer = null
  let shown = ''
  function render() {
    timer = null
    const headings = headingsOf(editor.state.doc)
    const key = JSON.stringify(headings.map((h) => [h.level, h.text]))
    empty.hidden = headings.length > 0
    if (key === shown) {
      // Same headings; positions may have moved.
      list.querySelectorAll('button').forEach((b, i) => (b.dataset.pos = String(headings[i].pos)))
      return
    }
    shown = key
    list.replaceChildren(
      ...headings.map((h) =>
        el(
          'li',
          { class: `outline-item outline-level-${Math.min(Math.max(h.level, 1), 6)}` },
          el('button', { type: 'button', class: 'outline-link', text: h.text, 'data-pos': String(h.pos) }),
        ),
      ),
    )
  }

  list.addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest('button[data-pos]') : null
    if (!button) return
    const pos = Number(button.dataset.pos)
    const dom = editor.view.nodeDOM(pos)
    if (dom instanceof Element) dom.scrollIntoView({ block: 'start', behavior: 'smooth' })
    if (editor.isEditable) editor.chain().focus(null, { scrollIntoView: false }).setTextSelection(pos + 1).run()
    // On a phone the sheet covers the text it points to.
    if (window.matchMedia('(max-width: 760px)').matches) hide()
  })
  close.addEventListener('click', () => hide())
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') hide()
  })

  function show() {
    panel.hidden = false
    document.body.classList.add('has-outline')
    render()
    onToggle(true)
  }
  function hide() {
    panel.hidden = true
    document.body.classList.remove('has-outline')
    onToggle(false)
  }
  const toggle = () => (panel.hidden ? show() : hide())

  editor.on('update', () => {
    if (!panel.hidden && timer === null) timer = setTimeout(render, 200)
  })
  return { show, hide, toggle, isOpen: () => !panel.hidden }
}
