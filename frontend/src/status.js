// Connection and save status that the user can trust.
//
// y-websocket has no acknowledgement for updates, so "saved" is established
// with a probe: after local edits the client sends a sync step 1 on the open
// socket. The server handles a connection's frames in order, so its step 2
// answer means every update sent before the probe has been received (and, by
// the server's rule "persist before relay", stored). Until then the edits are
// pending; a pending flag survives reloads in localStorage, because offline
// edits live on in IndexedDB and are only sent after the next sync.

import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as authProtocol from 'y-protocols/auth'
import * as syncProtocol from 'y-protocols/sync'

import { apiFetch } from './api.js'

const MESSAGE_SYNC = 0
const MESSAGE_AUTH = 2
const PROBE_DELAY_MS = 300

/** The provider's shouldReconnect: not after a close code the server calls final. */
export function reconnectUnless(finalCloseCodes) {
  const final = new Set(finalCloseCodes)
  return (event) => !(event && final.has(event.code))
}

export class ConnectionStatus {
  /** closeCodes (name -> code) and finalCloseCodes are the page config's. */
  constructor({
    provider,
    ydoc,
    ignoreOrigins = [],
    storageKey,
    apiUrl = null,
    closeCodes,
    finalCloseCodes,
  }) {
    this.provider = provider
    this.ydoc = ydoc
    this.ignoreOrigins = new Set([provider, ...ignoreOrigins])
    this.storageKey = storageKey
    this.apiUrl = apiUrl
    this.finalCodes = new Set(finalCloseCodes)
    // What a refusal means for the page; the HTTP API refuses with the
    // status the close code is named after.
    this.reasons = new Map([
      [closeCodes.NOT_AUTHENTICATED, 'signed-out'],
      [closeCodes.FORBIDDEN, 'forbidden'],
      [closeCodes.NOT_FOUND, 'not-found'],
    ])
    this.httpRefusals = {
      401: closeCodes.NOT_AUTHENTICATED,
      403: closeCodes.FORBIDDEN,
      404: closeCodes.NOT_FOUND,
    }
    this.listeners = new Set()
    this.denied = null // 'signed-out' | 'forbidden' | 'not-found'
    this.everSynced = false
    this.hadFailure = false
    this.localSeq = readFlag(storageKey) ? 1 : 0
    this.ackedSeq = 0
    this.probes = [] // local sequence covered by each probe in flight, oldest first
    this.probeTimer = null
    this.serverStep1Seen = false
    this.syncedThisAttempt = false
    this.lastHttpCheck = 0
    this._last = null

    this.refusal = null // the reason the server gave with a permission-denied message
    this._wrapSyncHandler()
    this._takeAuthMessages()
    ydoc.on('update', (_update, origin) => this._onDocUpdate(origin))
    provider.on('status', ({ status }) => this._onStatus(status))
    provider.on('sync', (synced) => this._onSync(synced))
    provider.on('connection-close', (event) => this._onClose(event))
  }

  get pending() {
    return this.localSeq > this.ackedSeq
  }

  /** The current state: {status, label, pending, reason}. */
  get state() {
    const pending = this.pending
    if (this.denied) {
      return { status: 'denied', label: DENIED_LABELS[this.denied], pending, reason: this.denied }
    }
    const p = this.provider
    if (p.wsconnected && p.synced) {
      return { status: 'connected', label: pending ? 'Saving…' : 'Connected', pending, reason: null }
    }
    if (!this.everSynced && !this.hadFailure) {
      return { status: 'connecting', label: 'Connecting…', pending, reason: null }
    }
    return {
      status: 'offline',
      label: pending ? 'Offline – unsynced changes' : 'Offline – reconnecting…',
      pending,
      reason: null,
    }
  }

  subscribe(listener) {
    this.listeners.add(listener)
    listener(this.state)
    return () => this.listeners.delete(listener)
  }

  /** Stop for good: the server said reconnecting cannot help. */
  deny(reason) {
    if (this.denied) return
    this.denied = reason
    this.provider.shouldConnect = false
    this.provider.disconnect()
    this._emit(true)
  }

  _emit(force = false) {
    const state = this.state
    const key = `${state.status}|${state.label}|${state.pending}`
    if (!force && key === this._last) return
    this._last = key
    for (const listener of this.listeners) listener(state)
  }

  _onDocUpdate(origin) {
    if (this.ignoreOrigins.has(origin)) return
    if (!this.pending) writeFlag(this.storageKey, true)
    this.localSeq += 1
    this._scheduleProbe()
    this._emit()
  }

  _onStatus(status) {
    if (status === 'connected') {
      this.serverStep1Seen = false
      this.probes = []
    }
    this._emit()
  }

  _onSync(synced) {
    if (synced) {
      this.everSynced = true
      this.syncedThisAttempt = true
      this._scheduleProbe(0)
    }
    this._emit()
  }

  _onClose(event) {
    this.probes = []
    this.serverStep1Seen = false
    const code = event ? event.code : null
    if (code != null && this.finalCodes.has(code)) {
      // A final code this page has no words for reads as "no access".
      this.deny(this.reasons.get(code) || 'forbidden')
      return
    }
    this.hadFailure = true
    // A refused handshake reaches the browser as 1006 without the server's
    // code, and a socket can die for other reasons before it syncs. Ask the
    // HTTP API (throttled) whether access is the problem; any answer other
    // than 401/403/404 leaves the provider retrying.
    if (!this.syncedThisAttempt) this._checkAccessOverHttp()
    this.syncedThisAttempt = false
    this._emit()
  }

  async _checkAccessOverHttp() {
    const now = Date.now()
    if (!this.apiUrl || now - this.lastHttpCheck < 10000 || !navigator.onLine) return
    this.lastHttpCheck = now
    try {
      const response = await apiFetch(this.apiUrl)
      const code = this.httpRefusals[response.status]
      if (code) this.deny(this.reasons.get(code))
    } catch {
      // The server is unreachable: that is "offline", which the status already says.
    }
  }

  _scheduleProbe(delay = PROBE_DELAY_MS) {
    if (!this.pending || this.probeTimer !== null) return
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null
      this._sendProbe()
    }, delay)
  }

  _sendProbe() {
    const p = this.provider
    const ws = p.ws
    // Until the server's step 1 has been answered, our own step 2 (the edits
    // it lacks) may not have been sent yet; a probe now would ack too early.
    if (!this.pending || !p.wsconnected || !p.synced || !this.serverStep1Seen) return
    if (!ws || ws.readyState !== WebSocket.OPEN) return
    if (this.probes.length && this.probes[this.probes.length - 1] === this.localSeq) return
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_SYNC)
    syncProtocol.writeSyncStep1(encoder, this.ydoc)
    ws.send(encoding.toUint8Array(encoder))
    this.probes.push(this.localSeq)
  }

  _onProbeAnswered() {
    const seq = this.probes.shift()
    if (seq === undefined) return
    this.ackedSeq = Math.max(this.ackedSeq, seq)
    if (!this.pending) writeFlag(this.storageKey, false)
    else this._scheduleProbe()
    this._emit()
  }

  _takeAuthMessages() {
    // The server explains a refusal before closing; the close code that
    // follows decides what to do, so keep the reason instead of the
    // provider's console warning.
    this.provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder) => {
      authProtocol.readAuthMessage(decoder, this.ydoc, (_doc, reason) => {
        this.refusal = reason
      })
    }
  }

  _wrapSyncHandler() {
    const handlers = this.provider.messageHandlers
    const original = handlers[MESSAGE_SYNC]
    handlers[MESSAGE_SYNC] = (encoder, decoder, provider, fromSocket, messageType) => {
      // Peek at the sync message type without consuming it.
      const pos = decoder.pos
      const syncType = decoding.readVarUint(decoder)
      decoder.pos = pos
      // Probes sent while this very message is handled (from the 'sync'
      // event) are not answered by it.
      const probesBefore = this.probes.length
      original(encoder, decoder, provider, fromSocket, messageType)
      if (!fromSocket) return // BroadcastChannel peers cannot acknowledge anything
      if (syncType === syncProtocol.messageYjsSyncStep1) {
        // Our answer (step 2) is in `encoder`, sent right after this returns.
        this.serverStep1Seen = true
        setTimeout(() => this._scheduleProbe(0), 0)
      } else if (syncType === syncProtocol.messageYjsSyncStep2 && probesBefore > 0) {
        this._onProbeAnswered()
      }
    }
  }
}

const DENIED_LABELS = {
  'signed-out': 'Signed out',
  forbidden: 'No access',
  'not-found': 'Document not found',
}

function readFlag(key) {
  try {
    return window.localStorage.getItem(key) === '1'
  } catch {
    return false
  }
}

function writeFlag(key, on) {
  try {
    if (on) window.localStorage.setItem(key, '1')
    else window.localStorage.removeItem(key)
  } catch {
    // Storage can be unavailable (private mode, quota); the in-memory state still holds.
  }
}
