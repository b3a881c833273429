// Links: the link mark (Tiptap's, named "link"), held to the same allow-list
// as the server's exports (safehref.js), and the small bubble under a link to
// open, edit or remove it. Ctrl/Cmd+K and the toolbar's button open the
// bubble's form; typing or pasting a URL links it (Tiptap's autolink).

import { getMarkRange, mergeAttributes } from '@tiptap/core'
import Link from '@tiptap/extension-link'

import { el } from './dom.js'
import { hrefFromInput, safeHref } from './safehref.js'

const REFUSED =
  'Only web addresses (http, https), e-mail (mailto:) and phone (tel:) links can be added.'

/**
 * The link mark. Every href passes safeHref on the way in (typed, pasted,
 * autolinked) and again when it is drawn: another client may have written
 * anything into the shared document, and an unsafe one is drawn without href.
 */
export function linkExtension({ onShortcut }) {
  return Link.extend({
    renderHTML({ HTMLAttributes }) {
      const href = safeHref(HTMLAttributes.href)
      return ['a', mergeAttributes(this.options.HTMLAttributes, { ...HTMLAttributes, href }), 0]
    },
    addKeyboardShortcuts() {
      return {
        'Mod-k': () => {
          onShortcut()
          return true
        },
      }
    },
  }).configure({
    openOnClick: false,
    autolink: true,
    linkOnPaste: true,
    defaultProtocol: 'https',
    isAllowedUri: (url) => safeHref(url) !== null,
    // What people mean as links when they type them: a full web address, an
    // e-mail address, or one starting www. (made https://); not "file.txt".
    shouldAutoLink: (url) =>
      safeHref(url) !== null && /^(https?:\/\/|mailto:|www\.|[^\s@/:]+@[^\s@/]+\.[a-z]{2,}$)/i.test(url),
  })
}

/** The href of the link at the selection, or null. */
function currentHref(editor) {
  return editor.isActive('link') ? editor.getAttributes('link').href ?? '' : null
}

/** The bubble under the link at the caret: the address, and Edit / Remove for editors. */
export function bindLinkBubble({ editor }) {
  const open = el('a', {
    class: 'link-bubble-href',
    target: '_blank',
    rel: 'noopener noreferrer nofollow',
  })
  const editButton = el('button', { type: 'button', class: 'btn btn-sm', text: 'Edit' })
  const removeButton = el('button', { type: 'button', class: 'btn btn-sm', text: 'Remove' })
  const view = el('div', { class: 'link-bubble-view' }, open, editButton, removeButton)

  const input = el('input', {
    type: 'text',
    class: 'link-bubble-input',
    placeholder: 'Paste or type a link',
    'aria-label': 'Link address',
    autocomplete: 'off',
    spellcheck: 'false',
  })
  const apply = el('button', { type: 'submit', class: 'btn btn-primary btn-sm', text: 'Apply' })
  const error = el('p', { class: 'link-bubble-error', role: 'alert', hidden: true })
  const form = el('form', { class: 'link-bubble-form' }, el('div', { class: 'link-bubble-row' }, input, apply), error)

  const bubble = el('div', { id: 'link-bubble', class: 'link-bubble', role: 'dialog', 'aria-label': 'Link', hidden: true }, view, form)
  document.body.append(bubble)

  let editing = false

  function place() {
    const { from } = editor.state.selection
    const range = getMarkRange(editor.state.doc.resolve(from), editor.schema.marks.link)
    const at = editor.view.coordsAtPos(range ? range.from : from)
    const below = editor.view.coordsAtPos(range ? range.to : from)
    const width = bubble.offsetWidth
    const left = Math.max(8, Math.min(at.left, window.innerWidth - width - 8))
    bubble.style.left = `${left + window.scrollX}px`
    bubble.style.top = `${Math.max(at.bottom, below.bottom) + 6 + window.scrollY}px`
  }

  function hide() {
    editing = false
    bubble.hidden = true
  }

  function showView(href) {
    editing = false
    const safe = safeHref(href)
    open.textContent = href || '(no address)'
    if (safe) open.setAttribute('href', safe)
    else open.removeAttribute('href')
    open.title = safe ? `Open ${safe}` : 'This link cannot be opened'
    editButton.hidden = removeButton.hidden = !editor.isEditable
    view.hidden = false
    form.hidden = true
    bubble.hidden = false
    place()
  }

  /** The form, for the link at the selection or a new one. */
  function edit() {
    if (!editor.isEditable) return
    editing = true
    const href = currentHref(editor)
    if (href !== null) editor.commands.extendMarkRange('link')
    input.value = href ?? ''
    error.hidden = true
    view.hidden = true
    form.hidden = false
    bubble.hidden = false
    place()
    input.focus()
    input.select()
  }

  function refresh() {
    if (editing) return
    const href = currentHref(editor)
    const focused = editor.isFocused || bubble.contains(document.activeElement)
    if (href === null || !focused || !editor.state.selection.empty) hide()
    else showView(href)
  }

  function remove() {
    editor.chain().focus().extendMarkRange('link').unsetLink().run()
    hide()
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const typed = input.value.trim()
    if (!typed) {
      remove()
      return
    }
    const href = hrefFromInput(typed)
    if (href === null) {
      error.textContent = REFUSED
      error.hidden = false
      input.focus()
      return
    }
    const chain = editor.chain().focus()
    if (editor.state.selection.empty && !editor.isActive('link')) {
      chain.insertContent({ type: 'text', text: typed, marks: [{ type: 'link', attrs: { href } }] })
    } else {
      chain.extendMarkRange('link').setLink({ href })
    }
    chain.run()
    editing = false
    refresh()
  })
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault()
      hide()
      editor.commands.focus()
    }
  })
  for (const button of [editButton, removeButton]) {
    button.addEventListener('mousedown', (event) => event.preventDefault())
  }
  editButton.addEventListener('click', edit)
  removeButton.addEventListener('click', remove)
  // Following the link leaves the caret where it was.
  open.addEventListener('mousedown', (event) => event.preventDefault())

  // Ctrl/Cmd+click opens a link straight away, as in other editors.
  editor.view.dom.addEventListener('click', (event) => {
    if (!(event.metaKey || event.ctrlKey) || !editor.isEditable) return
    const anchor = event.target instanceof Element ? event.target.closest('a[href]') : null
    if (anchor && editor.view.dom.contains(anchor)) {
      event.preventDefault()
      window.open(anchor.href, '_blank', 'noopener,noreferrer')
    }
  })
  document.addEventListener('mousedown', (event) => {
    if (!bubble.hidden && !bubble.contains(event.target) && !editor.view.dom.contains(event.target)) hide()
  })
  window.addEventListener('resize', () => !bubble.hidden && place())

  editor.on('selectionUpdate', refresh)
  editor.on('transaction', () => !bubble.hidden && !editing && refresh())
  editor.on('focus', refresh)
  editor.on('blur', () => {
    // Focus moving into the bubble (its form) keeps it open.
    requestAnimationFrame(() => {
      if (!bubble.contains(document.activeElement) && !editor.isFocused) hide()
    })
  })

  return { edit, hide }
}
