// A thread's range as two Yjs relative positions, so it follows every edit
// made around and inside it without anyone writing to the document (a
// commenter cannot). The start sticks to the first commented character and
// the end to the last, so text typed right before or right after the range
// stays outside it, and text typed inside it is covered.

import { absolutePositionToRelativePosition, relativePositionToAbsolutePosition, ySyncPluginKey } from '@tiptap/y-tiptap'
import * as Y from 'yjs'

function binding(editor) {
  const state = ySyncPluginKey.getState(editor.state)
  if (!state || !state.binding) return null
  return { ydoc: state.doc, type: state.type, mapping: state.binding.mapping }
}

function toBase64(bytes) {
  let text = ''
  for (const b of bytes) text += String.fromCharCode(b)
  return btoa(text)
}

function fromBase64(text) {
  const raw = atob(text)
  const bytes = new Uint8Array(raw.length)
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i)
  return bytes
}

/** Relative position of `pos`, attached to the character after it (assoc 0) or before it (-1). */
function relative(b, pos, assoc) {
  const rel = absolutePositionToRelativePosition(pos, b.type, b.mapping)
  if (assoc === -1) return rel
  const abs = Y.createAbsolutePositionFromRelativePosition(rel, b.ydoc)
  if (!abs) return rel
  return Y.createRelativePositionFromTypeIndex(abs.type, abs.index, 0)
}

/** The anchor of the range from..to, as the API stores it (base64 of encoded positions). */
export function anchorFor(editor, from, to) {
  const b = binding(editor)
  if (!b) return null
  return {
    from: toBase64(Y.encodeRelativePosition(relative(b, from, 0))),
    to: toBase64(Y.encodeRelativePosition(relative(b, to, -1))),
  }
}

/**
 * The ProseMirror position of an encoded relative position, or null.
 *
 * Resolved to a Yjs (type, index) first and handed to y-tiptap as a position
 * attached to the character before: y-tiptap takes an item-attached position
 * that lands at the very start of the document for a drag-and-drop artefact
 * and answers null, which would detach every thread on a document's first word.
 */
function position(b, encoded) {
  const abs = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(fromBase64(encoded)), b.ydoc)
  if (!abs) return null
  const before = Y.createRelativePositionFromTypeIndex(abs.type, abs.index, -1)
  return relativePositionToAbsolutePosition(b.ydoc, b.type, before, b.mapping)
}

/** The thread's range in `doc`, or null when its text is gone (detached). */
export function rangeOf(editor, anchor, doc = editor.state.doc) {
  const b = binding(editor)
  if (!b || !anchor) return null
  try {
    const from = position(b, anchor.from)
    const to = position(b, anchor.to)
    if (from == null || to == null || from >= to) return null
    if (from < 0 || to > doc.content.size) return null
    return { from, to }
  } catch {
    return null // an anchor this page cannot read: shown as detached
  }
}
