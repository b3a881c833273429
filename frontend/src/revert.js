// Take back local changes the server refused, in this browser only.
//
// A change is described by what ConnectionStatus records of its transaction:
// the range of this client's clock it inserted ({from, to}) and what it
// deleted (a Y.DeleteSet). Reverting is a selective undo (the changes need
// not be the newest), done by a throwaway UndoManager over the whole doc. The
// reverted content is then garbage-collected, so the next sync step 2 carries
// only its tombstones: a paste the server refused as too large does not ride
// along again and get refused again.

import * as Y from 'yjs'

/** Revert `changes`; `editorHistory` is the editor's UndoManager, if any. */
export function revertChanges(ydoc, changes, editorHistory = null) {
  if (!changes.length) return false
  const insertions = Y.createDeleteSet()
  const ranges = changes
    .filter((change) => change.to > change.from)
    .map((change) => ({ clock: change.from, len: change.to - change.from }))
  if (ranges.length) insertions.clients.set(ydoc.clientID, ranges)
  const merged = Y.mergeDeleteSets([insertions]) // sorted, adjacent ranges joined
  const deletions = Y.mergeDeleteSets(changes.map((change) => change.deletions))

  const undo = new Y.UndoManager(ydoc, { captureTimeout: 0 })
  // popStackItem reads only these three fields of a stack item.
  undo.undoStack.push({ insertions: merged, deletions, meta: new Map() })
  const reverted = undo.undo() !== null
  undo.clear() // lets go of the reverted items, which it kept for a redo
  undo.destroy()
  Y.tryGc(merged, ydoc.store, ydoc.gcFilter)

  // The editor's own history must not bring back what was reverted, nor
  // restore a second time what the revert already restored.
  if (editorHistory) {
    const touches = (item) => overlaps(item.insertions, merged, ydoc.clientID)
    editorHistory.undoStack = editorHistory.undoStack.filter((item) => !touches(item))
    editorHistory.redoStack = editorHistory.redoStack.filter((item) => !touches(item))
  }
  return reverted
}

function overlaps(a, b, client) {
  const left = a.clients.get(client) || []
  const right = b.clients.get(client) || []
  return left.some((x) => right.some((y) => x.clock < y.clock + y.len && y.clock < x.clock + x.len))
}

/**
 * The part of `changes` the server does not have, given its clock for this
 * client (from its sync step 1) and its delete set (from a step 2 it sent):
 * what may be taken back without undoing anything it stored.
 */
export function unsavedPart(changes, serverClock, serverDeletes = Y.createDeleteSet()) {
  return changes
    .map((change) => ({
      ...change,
      from: Math.max(change.from, serverClock),
      to: Math.max(change.to, serverClock),
      deletions: change.deletions ? subtract(change.deletions, serverDeletes) : Y.createDeleteSet(),
    }))
    .filter((change) => change.to > change.from || change.deletions.clients.size > 0)
}

/** a - b, for delete sets (sorted ranges per client). */
function subtract(a, b) {
  const out = Y.createDeleteSet()
  a.clients.forEach((ranges, client) => {
    const cuts = b.clients.get(client) || []
    const kept = []
    for (const range of ranges) {
      let pieces = [{ clock: range.clock, len: range.len }]
      for (const cut of cuts) {
        const cutEnd = cut.clock + cut.len
        pieces = pieces.flatMap((piece) => {
          const end = piece.clock + piece.len
          if (cutEnd <= piece.clock || cut.clock >= end) return [piece]
          const left = cut.clock > piece.clock ? [{ clock: piece.clock, len: cut.clock - piece.clock }] : []
          const right = cutEnd < end ? [{ clock: cutEnd, len: end - cutEnd }] : []
          return [...left, ...right]
        })
      }
      kept.push(...pieces)
    }
    if (kept.length) out.clients.set(client, kept)
  })
  return out
}
