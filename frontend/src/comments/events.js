// The page's JSON events socket (/ws/events/): comment threads of the
// documents it subscribes to, and the user's notifications. Apart from the
// Yjs socket. It reconnects with backoff and says so (`onOpen` runs on every
// connect, so the page reloads what it may have missed).

import { websocketBase } from '../config.js'

const FINAL = new Set([4401, 4403, 4404])

export class EventsSocket {
  constructor(path = '/ws/events/') {
    this.url = websocketBase() + path
    this.documents = new Set()
    this.handlers = new Map()
    this.openHandlers = []
    this.delay = 500
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
      this.delay = 500
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
      setTimeout(() => this.connect(), this.delay)
      this.delay = Math.min(this.delay * 2, 15000)
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
