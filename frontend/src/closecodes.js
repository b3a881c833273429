// What a close code means for the page. The server sends its CloseCode names
// and numbers (config.closeCodes) and which of them are final; the page acts
// on names, so renumbering on the server needs no change here.

// Standard WebSocket code: Daphne (Autobahn) refuses a frame over its own
// size limit with it before the application sees the frame.
const MESSAGE_TOO_BIG = 1009

// Reasons shown while the page retries by itself ("Reconnecting… (reason)").
const TRANSIENT = {
  RATE_LIMITED: 'too many changes at once',
  ROOM_FULL: 'too many people in this document',
  TOO_MANY_CONNECTIONS: 'too many of your tabs are open',
  SERVER_ERROR: 'the server could not save right now',
  OUT_OF_SYNC: 'catching up with the server',
}

// Permanent refusals of what this page sent; reconnecting would send it again.
const REJECTED = new Set(['BAD_FRAME', 'INVALID_UPDATE', 'UNSUPPORTED_DATA'])

const DENIED = {
  NOT_AUTHENTICATED: 'signed-out',
  FORBIDDEN: 'forbidden',
  NOT_FOUND: 'not-found',
}

/**
 * Classify a close event's code.
 *
 * Returns {kind, ...}: 'network' (not the server's decision: the provider's
 * own retry), 'access-changed', 'denied' {reason}, 'too-large', 'rejected'
 * (this page sent something unacceptable), 'transient' {reason} (retry with
 * backoff), or 'final' (permanent, and this page has no words for it).
 */
export function classifyClose(code, closeCodes, finalCloseCodes) {
  if (code == null) return { kind: 'network' }
  const name = Object.keys(closeCodes).find((key) => closeCodes[key] === code)
  if (name === 'ACCESS_CHANGED') return { kind: 'access-changed' }
  if (name in DENIED) return { kind: 'denied', reason: DENIED[name] }
  if (name === 'TOO_LARGE' || code === MESSAGE_TOO_BIG) return { kind: 'too-large' }
  if (REJECTED.has(name)) return { kind: 'rejected' }
  if (name in TRANSIENT) return { kind: 'transient', reason: TRANSIENT[name] }
  if (finalCloseCodes.has(code)) return { kind: 'final' }
  // The "try again later" range of the convention the stock provider follows.
  if (code >= 4500 && code < 4600) return { kind: 'transient', reason: 'the server is busy' }
  return { kind: 'network' }
}

/** "2 MB", "64 KB": a byte limit as people read it. */
export function formatBytes(bytes) {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MB`
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`
  return `${bytes} bytes`
}
