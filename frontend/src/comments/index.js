// Comments in the editor: the threads of this document (from the JSON API,
// then live over the events socket), their highlights in the text, the
// sidebar, and the button that comments on the selection.

import './comments.css'

import { ySyncPluginKey } from '@tiptap/y-tiptap'

import { apiFetch, readJson } from '../api.js'
import { anchorFor } from './anchors.js'
import { bindBell } from './bell.js'
import { eventsSocket } from './events.js'
import { highlightPlugin, refreshHighlights, scheduleHighlights } from './highlight.js'
import { Sidebar } from './sidebar.js'

const COMMENT_ROLES = new Set(['owner', 'editor', 'commenter'])
const PENDING = 'pending'

/** The threads and their current ranges (null: detached). */
class ThreadStore {
  constructor() {
    this.threads = new Map()
    this.ranges = new Map()
    this.activeId = null
    this.pending = null // the anchor of the thread being written
    this.onPositions = () => {}
    this.lastOrder = ''
  }

  upsert(thread) {
    this.threads.set(thread.id, thread)
  }

  remove(id) {
    this.threads.delete(id)
    this.ranges.delete(id)
    if (this.activeId === id) this.activeId = null
  }

  replaceAll(threads) {
    this.threads = new Map(threads.map((t) => [t.id, t]))
  }

  /** Threads whose text is highlighted: the open ones, and the one being written. */
  open() {
    const open = [...this.threads.values()].filter((t) => !t.resolved)
    if (this.pending) open.push({ id: PENDING, anchor: this.pending })
    return open
  }

  setRange(id, range) {
    this.ranges.set(id, range)
  }

  rangeOf(id) {
    return this.ranges.get(id) ?? null
  }

  measured(id) {
    return this.ranges.has(id)
  }

  /** Open threads in document order; detached ones (their text is gone) last. */
  inDocumentOrder() {
    const open = [...this.threads.values()].filter((t) => !t.resolved)
    const at = (t) => {
      const range = this.rangeOf(t.id)
      return range ? range.from : Number.MAX_SAFE_INTEGER
    }
    return open.sort((a, b) => at(a) - at(b) || a.id - b.id)
  }

  resolved() {
    return [...this.threads.values()]
      .filter((t) => t.resolved)
      .sort((a, b) => String(b.resolved_at).localeCompare(String(a.resolved_at)))
  }

  /** Called after highlights were recomputed: the sidebar follows order and detachment. */
  positionsChanged() {
    const order = this.inDocumentOrder()
      .map((t) => `${t.id}:${this.rangeOf(t.id) ? 1 : 0}`)
      .join(',')
    if (order === this.lastOrder) return
    this.lastOrder = order
    this.onPositions()
  }
}

export function bindComments({ editor, config, root, addButtons }) {
  if (!root || !config.commentsUrl) return null
  const store = new ThreadStore()
  const base = config.commentsUrl
  const urls = {
    threads: base,
    replies: (id) => `${base}${id}/replies/`,
    resolve: (id) => `${base}${id}/resolve/`,
    comment: (thread, comment) => `${base}${thread}/${comment}/`,
    access: `/api/documents/${config.documentId}/access/`,
  }
  let canComment = COMMENT_ROLES.has(config.role)

  function activate(id, scroll) {
    if (id === PENDING) return
    store.activeId = id
    refreshHighlights(editor)
    sidebar.render()
    if (scroll === 'editor') {
      const mark = editor.view.dom.querySelector(`.comment-mark[data-thread="${id}"]`)
      if (mark) mark.scrollIntoView({ block: 'center', behavior: 'smooth' })
    } else if (scroll === 'sidebar') {
      const card = root.querySelector(`[data-thread="${id}"]`)
      if (card) card.scrollIntoView({ block: 'nearest', behavior: 'smooth' })
    }
  }

  const sidebar = new Sidebar({
    root,
    me: config.user,
    urls,
    store,
    canComment,
    onActivate: activate,
    onComposeDone: () => {
      store.pending = null
      refreshHighlights(editor)
    },
  })
  store.onPositions = () => sidebar.render()
  editor.registerPlugin(highlightPlugin(editor, store, (id) => activate(id, 'sidebar')))
  // Every Yjs transaction, local or remote, moves text the anchors point into.
  const sync = ySyncPluginKey.getState(editor.state)
  // (Only transactions that changed something: the sync plugin opens an empty
  // one for every editor transaction, ours included.)
  if (sync && sync.doc) {
    sync.doc.on('afterTransaction', (tr) => {
      if (tr.changed.size > 0) scheduleHighlights(editor)
    })
  }

  function selectionAllowsComment() {
    const { from, to, empty } = editor.state.selection
    return canComment && !empty && editor.state.doc.textBetween(from, to, ' ').trim() !== ''
  }

  function updateButtons() {
    const ok = selectionAllowsComment()
    for (const button of addButtons) {
      button.disabled = !ok
      button.hidden = !canComment
    }
    root.classList.toggle('can-comment', canComment)
  }

  function startComment() {
    if (!selectionAllowsComment()) return
    const { from, to } = editor.state.selection
    const anchor = anchorFor(editor, from, to)
    if (!anchor) return
    const quote = editor.state.doc.textBetween(from, to, ' ').slice(0, 500)
    store.pending = anchor
    refreshHighlights(editor)
    sidebar.compose({ anchor, quote })
  }

  for (const button of addButtons) {
    // mousedown: keep the editor's selection while the button is pressed.
    button.addEventListener('mousedown', (event) => event.preventDefault())
    button.addEventListener('click', startComment)
  }
  editor.on('selectionUpdate', updateButtons)
  editor.on('transaction', updateButtons)
  editor.view.dom.addEventListener('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && event.altKey && event.key.toLowerCase() === 'm') {
      event.preventDefault()
      startComment()
    }
  })

  function setRole(role) {
    canComment = COMMENT_ROLES.has(role)
    sidebar.setCanComment(canComment)
    updateButtons()
  }

  let firstLoad = true
  async function load() {
    let response
    try {
      response = await apiFetch(base)
    } catch {
      return
    }
    if (!response.ok) return
    const data = await readJson(response)
    if (!data) return
    store.replaceAll(data.threads || [])
    sidebar.people = data.people || []
    if (data.role) setRole(data.role)
    refreshHighlights(editor)
    sidebar.render()
    if (firstLoad) {
      firstLoad = false
      openFromHash()
    }
  }

  /** #thread-<id> (a notification's link): show that thread and its text. */
  function openFromHash() {
    const wanted = window.location.hash.match(/^#thread-(\d+)$/)
    const id = wanted && Number(wanted[1])
    const thread = id && store.threads.get(id)
    if (!thread) return
    if (thread.resolved) sidebar.showResolved = true
    // After the highlights are drawn.
    setTimeout(() => {
      activate(id, 'editor')
      const card = root.querySelector(`[data-thread="${id}"]`)
      if (card) card.scrollIntoView({ block: 'nearest' })
    }, 50)
  }
  window.addEventListener('hashchange', openFromHash)

  const events = eventsSocket()
  events
    .on('thread', (message) => {
      if (message.document && message.document !== config.documentId) return
      if (message.thread) store.upsert(message.thread)
      else store.remove(message.id)
      sidebar.cards.delete(message.id)
      refreshHighlights(editor)
      sidebar.render()
    })
    .on('access', (message) => {
      if (message.document !== config.documentId) return
      if (message.role === null) {
        setRole('viewer')
        store.replaceAll([])
        refreshHighlights(editor)
        sidebar.render()
        sidebar.showError('You no longer have access to this document.')
      } else {
        setRole(message.role)
      }
    })
    .onOpen(load) // the first load, and catching up after a reconnect
  events.subscribe(config.documentId)
  updateButtons()
  if (config.testHooks) window.__comments = { store, sidebar, events }
  return { store, sidebar }
}

export { bindBell }
