"""Comments on a document's text: threads, replies, mentions and notifications.

Anchors: Yjs relative positions, stored with the thread, not a mark in the
shared document. A commenter may not write to the Yjs document (the socket
drops their updates, as a viewer's), so a comment mark would need the server
to write into the body on their behalf: every comment would become an edit in
the document's log and history, restoring an old version would strip or
resurrect marks, and exports would have to filter them out. A relative
position (y-prosemirror's absolutePositionToRelativePosition) names the Yjs
item a range starts and ends at, so it follows concurrent edits before,
after and inside the range with no write at all; the browser turns it back
into a ProseMirror range (relativePositionToAbsolutePosition) and decorates
it with a plugin. When the whole range is deleted both ends resolve to the
same place: the thread is shown as detached, with the quote it was made on.
Exports resolve the same positions on the server (anchors.py) to mark where
each thread's text ends (footnotes.py).

Restoring an old version is a forward update (storage/server_edits.py) that
deletes the current items and inserts copies of the old ones: anchors on
text that the restore replaced resolve to where the deletion happened, so
such threads show as detached with their quote, and are kept, readable and
resolvable. Anchors on text the restore leaves alone keep covering it.

Live events go over a small JSON WebSocket of their own (/ws/events/,
events.py), never over the Yjs socket: a stock y-websocket client must never
receive a frame it does not understand, and the Yjs consumer's per-update path
stays untouched. Thread changes are sent to the document's channel-layer
group as `comments.changed` (realtime/messages.py); notifications to a group
per user.
"""
