// The commented ranges, decorated in the editor, never stored in it.
//
// The ranges are read from the threads' anchors (Yjs relative positions),
// which only makes sense when the Yjs document and the editor agree. They do
// not while a local transaction is being applied (the sync plugin writes it
// to Yjs afterwards), so between readings the decorations are mapped through
// each transaction, and read again from the anchors just after every Yjs
// transaction (local or remote) and whenever the threads change.

import { Plugin, PluginKey } from '@tiptap/pm/state'
import { Decoration, DecorationSet } from '@tiptap/pm/view'

import { rangeOf } from './anchors.js'

export const highlightKey = new PluginKey('commentHighlights')

function decorate(editor, store, doc) {
  const decorations = []
  for (const thread of store.open()) {
    const range = rangeOf(editor, thread.anchor, doc)
    store.setRange(thread.id, range)
    if (!range) continue
    let css = 'comment-mark'
    if (thread.id === store.activeId) css += ' is-active'
    if (thread.id === 'pending') css += ' is-pending'
    decorations.push(
      Decoration.inline(
        range.from,
        range.to,
        { class: css, 'data-thread': String(thread.id) },
        { inclusiveStart: false, inclusiveEnd: false, threadId: thread.id },
      ),
    )
  }
  queueMicrotask(() => store.positionsChanged())
  return DecorationSet.create(doc, decorations)
}

/**
 * The plugin; `store` holds the threads (`store.open()`, the active id) and
 * `onClick(threadId)` is told when a highlight is clicked.
 */
export function highlightPlugin(editor, store, onClick) {
  return new Plugin({
    key: highlightKey,
    state: {
      init: () => DecorationSet.empty,
      apply(tr, set) {
        if (tr.getMeta(highlightKey)) return decorate(editor, store, tr.doc)
        return tr.docChanged ? set.map(tr.mapping, tr.doc) : set
      },
    },
    props: {
      decorations: (state) => highlightKey.getState(state),
      handleClick(view, pos) {
        // The innermost commented range under the click.
        let best = null
        for (const found of highlightKey.getState(view.state).find(pos, pos)) {
          const id = found.spec.threadId
          const size = found.to - found.from
          if (Number.isInteger(id) && (!best || size < best.size)) best = { id, size }
        }
        if (best) onClick(best.id)
        return false
      },
    },
  })
}

/** Read the ranges from the anchors again, soon (after the current transaction). */
export function scheduleHighlights(editor) {
  if (editor.__commentsScheduled) return
  editor.__commentsScheduled = true
  queueMicrotask(() => {
    editor.__commentsScheduled = false
    if (editor.isDestroyed) return
    editor.view.dispatch(editor.state.tr.setMeta(highlightKey, true).setMeta('addToHistory', false))
  })
}

/** The threads changed (a new one, resolved, the active one): draw them again. */
export const refreshHighlights = scheduleHighlights
