// The provider's WebSocket, with the server's frame limit applied before a
// frame leaves the page. Daphne cuts a frame over its limit by dropping the
// connection without a close code (the page sees 1006, like a network
// failure), so only the page can tell "too large" from "offline" — by not
// sending it. After one refused frame the socket sends nothing more: the
// server must not see changes that build on what it never received.

/** A WebSocket class for WebsocketProvider's WebSocketPolyfill option. */
export function frameLimited(limit, onTooLarge) {
  if (!limit) return WebSocket
  return class FrameLimitedWebSocket extends WebSocket {
    send(data) {
      if (this.refusedFrame) return
      const size = typeof data === 'string' ? data.length : data.byteLength
      if (size > limit) {
        this.refusedFrame = true
        onTooLarge(this, size)
        return
      }
      super.send(data)
    }
  }
}
