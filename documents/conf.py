"""The app's tunables: defaults here, overridden by `settings.COLLAB`, read lazily."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Largest WebSocket frame accepted; Daphne's own limit is raised to match.
    "MAX_FRAME_BYTES": 2 * 1024 * 1024,
    # Sustained document updates per second per connection (token bucket, burst x2).
    "MAX_UPDATES_PER_SECOND": 200,
    # Sustained awareness messages (caret moves, queries) per second per connection,
    # burst x2. Stock clients echo the states they receive, about 20 a second in a
    # busy document, on top of their own caret moves.
    "MAX_AWARENESS_PER_SECOND": 100,
    # Sustained sync step 1 messages per second per connection, burst x2. Each one
    # makes the server encode what the client lacks; stock clients send one per
    # connect, and the editor's save-status probe at most about three a second.
    "MAX_SYNC_STEP1_PER_SECOND": 5,
    # Open sockets per document, summed over every server process. The last
    # tenth of them is kept for users who may write (owner, editors).
    "MAX_CONNECTIONS_PER_DOCUMENT": 200,
    # Open sockets per user on one document, and per user overall, on one
    # server process (a tab holds one socket).
    "MAX_CONNECTIONS_PER_USER_PER_DOCUMENT": 8,
    "MAX_CONNECTIONS_PER_USER": 32,
    # Encoded size of a document (snapshot plus log) past which updates are refused.
    "MAX_DOCUMENT_BYTES": 64 * 1024 * 1024,
    # The log is folded into a snapshot past either threshold.
    "COMPACT_AFTER_UPDATES": 500,
    "COMPACT_AFTER_BYTES": 1024 * 1024,
    # Snapshots kept as version history: every labelled one, the newest N, and
    # one per hour for older ones.
    "KEEP_RECENT_SNAPSHOTS": 20,
    # Each server process announces itself on every open document this often;
    # peers forget its users after PRESENCE_EXPIRY_SECONDS of silence.
    "HEARTBEAT_SECONDS": 0.5,
    "PRESENCE_EXPIRY_SECONDS": 1.75,
    # An update that arrives ahead of one still missing from the sequence waits
    # this long for it through the channel layer (two processes' commits to one
    # document reach each other in any order) before the gap is read from the
    # database.
    "GAP_WAIT_SECONDS": 0.05,
    # The group commit's statement is prepared once per connection on
    # PostgreSQL (planning it each time was half of its CPU per commit). Turn
    # off behind a pooler that cannot keep prepared statements per client
    # (PgBouncer before 1.21, or without `max_prepared_statements`).
    "PREPARE_COMMITS": True,
    # Awareness changes are gathered for this long and sent as one frame.
    "AWARENESS_FLUSH_SECONDS": 0.05,
    # A room with no local connections is kept warm this long before closing.
    "ROOM_IDLE_SECONDS": 5.0,
    # An update that builds on content the server lacks (a reconnecting
    # editor's new edits, sent before its offline ones) waits this long for it;
    # then its socket is closed with 4422.
    "STASH_SECONDS": 5.0,
    # While the database cannot be reached, a group commit is retried (with
    # backoff) for this long before its sockets are closed to re-send later.
    "COMMIT_RETRY_SECONDS": 10.0,
    # Failed logins (site and admin) allowed per account and per client address
    # in each fixed window; past either, every attempt is refused with 429, the
    # right password too, until the window ends.
    "LOGIN_FAILURES_PER_ACCOUNT": 5,
    "LOGIN_FAILURES_PER_ADDRESS": 20,
    "LOGIN_WINDOW_SECONDS": 900,
    # Accounts created per client address in each fixed window.
    "SIGNUPS_PER_ADDRESS": 5,
    "SIGNUP_WINDOW_SECONDS": 3600,
    # Reverse proxies in front that append to X-Forwarded-For; 0 trusts only
    # REMOTE_ADDR as the client address the limits above count by.
    "THROTTLE_PROXY_HOPS": 0,
    # Named versions kept per document (each one a full copy); past it a new one
    # is refused. Backups made by restores are counted but never refused.
    "MAX_NAMED_VERSIONS": 100,
    # Named versions a user may save per minute, over all documents.
    "NAMED_VERSIONS_PER_MINUTE": 10,
    # Uploaded images: bytes and pixels (width x height) per image, and
    # uploads per user per hour over all documents.
    "MAX_IMAGE_BYTES": 10 * 1024 * 1024,
    "MAX_IMAGE_PIXELS": 40_000_000,
    "IMAGE_UPLOADS_PER_HOUR": 120,
    # Imported files (Markdown, HTML, .docx): bytes per file, nodes (blocks,
    # list items, cells, breaks) per imported document, imports per user per hour.
    "MAX_IMPORT_BYTES": 10 * 1024 * 1024,
    "MAX_IMPORT_NODES": 50_000,
    "IMPORTS_PER_HOUR": 30,
    # Comments (new threads, replies and edits) a user may write per minute.
    "COMMENTS_PER_MINUTE": 30,
    # A thread mails a person at most once per this many seconds; what comes
    # in between goes in its next mail.
    "COMMENT_MAIL_BATCH_SECONDS": 600,
    # Each server process sends the batches that are due this often (a
    # thread, documents/comments/sweeper.py); 0 leaves it to
    # `manage.py send_comment_mail --loop`.
    "COMMENT_MAIL_SWEEP_SECONDS": 60,
    # Comments and notifications sockets (/ws/events/, one per page) one user
    # may hold open on one server process; the next is closed with 4510.
    "MAX_EVENTS_SOCKETS_PER_USER": 20,
    # Days a document stays in its owner's trash before `purge_trash` deletes it for good.
    "TRASH_RETENTION_DAYS": 30,
}


def get(name: str) -> Any:
    """The current value of one tunable."""
    overrides: dict[str, Any] = getattr(settings, "COLLAB", {})
    if name in overrides:
        return overrides[name]
    return DEFAULTS[name]
