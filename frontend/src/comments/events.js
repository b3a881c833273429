// The page's JSON events socket (/ws/events/): comment threads of the
// documents it subscribes to, and the user's notifications. Apart from the
// Yjs socket. It reconnects with backoff and says so (`onOpen` runs on every
// connect, so the page reloads what it may have missed).
//
// The backoff starts over only after a socket that stayed open a while: a
// server that accepts and at once closes (4510, too many of this user's
// sockets; 4529, too many frames) would otherwise be retried every half
// second by each tab. The jitter keeps tabs refused together from coming
// back together.

import { websocketBase } from '../config.js'

const FINAL = new Set([4401, 4403, 4404])
const FIRST_DELAY = 500
const MAX_DELAY = 30000
// A socket open this long was a real connection: the next retry starts from FIRST_DELAY.
const HEALTHY_MS = 10000

export class EventsSocket {
  constructor(path = '/ws/events/') {
    this.url = websocketBase() + path
    this.documents = new Set()
    this.handlers = new Map()
    this.openHandlers = []
    this.delay = FIRST_DELAY
    this.openedAt = 0
    this.stopped = false
    this.connect()
  }

  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, [])
    this.handlers.get(type).push(handler)
    return this
  }

  onOpen(handler) {
    this.openHandlers.push(handler)
    return this
  }

  subscribe(documentId) {
    this.documents.add(documentId)
    this.send({ subscribe: documentId })
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message))
  }

  connect() {
    const ws = new WebSocket(this.url)
    this.ws = ws
    ws.addEventListener('open', () => {
      this.openedAt = Date.now()
      for (const id of this.documents) this.send({ subscribe: id })
      for (const handler of this.openHandlers) handler()
    })
    ws.addEventListener('message', (event) => {
      let message
      try {
        message = JSON.parse(event.data)
      } catch {
        return
      }
      for (const handler of this.handlers.get(message.type) || []) handler(message)
    })
    ws.addEventListener('close', (event) => {
      if (this.stopped || FINAL.has(event.code)) return
      if (this.openedAt && Date.now() - this.openedAt >= HEALTHY_MS) this.delay = FIRST_DELAY
      this.openedAt = 0
      const wait = this.delay / 2 + Math.random() * (this.delay / 2)
      setTimeout(() => this.connect(), wait)
      this.delay = Math.min(this.delay * 2, MAX_DELAY)
    })
  }

  close() {
    this.stopped = true
    if (this.ws) this.ws.close()
  }
}

let shared = null

/** One events socket per page. */
export function eventsSocket() {
  if (!shared) shared = new EventsSocket()
  return shared
}
