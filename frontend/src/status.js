// Connection and save status that the user can trust.
//
// y-websocket has no acknowledgement for updates, so "saved" is established
// with a probe: after local edits the client sends a sync step 1 on the open
// socket. The server handles a connection's frames in order, so its step 2
// answer means every update sent before the probe has been received (and, by
// the server's rule "persist before relay", stored), unless the server said
// "permission denied" in between: then they were refused (a viewer's writes).
// Until then the edits are pending; a pending flag survives reloads in
// localStorage, because offline edits live on in IndexedDB and are only sent
// after the next sync.
//
// This is also where the page decides what a close code means (closecodes.js):
// retry by itself, with backoff, after a transient refusal; take back a
// change that was too large and carry on; stop, and say so, when retrying
// would only send the same refused bytes again.

import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as authProtocol from 'y-protocols/auth'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'

import { apiFetch } from './api.js'
import { classifyClose } from './closecodes.js'
import { unsavedPart } from './revert.js'

const MESSAGE_SYNC = 0
const MESSAGE_AUTH = 2
const PROBE_DELAY_MS = 300
// After a transient refusal: 1 s, 2 s, 4 s ... up to 30 s, with jitter so that
// many editors refused together do not come back together.
const RETRY_BASE_MS = 1000
const RETRY_MAX_MS = 30000

export class ConnectionStatus {
  /**
   * closeCodes (name -> code) and finalCloseCodes are the page config's.
   *
   * onTooLarge(change, event) may take back the local change the server
   * refused as too large (or this page held back: event is null then) and
   * return true; the page then syncs everything else.
   * onWritesRefused(changes) may discard the local changes the server refused
   * (a viewer's) and return true; otherwise they stay marked as not saved.
   * Either is given only what the server does not have.
   */
  constructor({
    provider,
    ydoc,
    ignoreOrigins = [],
    storageKey,
    apiUrl = null,
    closeCodes,
    finalCloseCodes,
    maxFrameBytes = null,
    onTooLarge = () => false,
    onWritesRefused = () => false,
  }) {
    this.provider = provider
    this.ydoc = ydoc
    this.ignoreOrigins = new Set([provider, ...ignoreOrigins])
    this.storageKey = storageKey
    this.apiUrl = apiUrl
    this.closeCodes = closeCodes
    this.finalCodes = new Set(finalCloseCodes)
    this.maxFrameBytes = maxFrameBytes
    this.onTooLarge = onTooLarge
    this.onWritesRefused = onWritesRefused
    // The HTTP API refuses with the status the close code is named after.
    this.httpRefusals = { 401: 'signed-out', 403: 'forbidden', 404: 'not-found' }
    this.listeners = new Set()
    this.denied = null // 'signed-out' | 'forbidden' | 'deleted' | 'not-found'
    this.halted = null // 'rejected' | 'too-large' | 'final': stopped, reloading may help
    this.everSynced = false
    this.hadFailure = false
    this.localSeq = readFlag(storageKey) ? 1 : 0
    this.ackedSeq = 0
    // The local changes not acknowledged yet, oldest first: what a refusal
    // can take back ({seq, size, from, to, deletions}).
    this.changes = []
    this.probes = [] // local sequence covered by each probe in flight, oldest first
    this.probeTimer = null
    this.serverStep1Seen = false
    this.syncedThisAttempt = false
    this.lastHttpCheck = 0
    this._last = null

    this.refusal = null // the reason the server gave with its last permission-denied message
    this.refusedSinceAnswer = false // a permission-denied since the last probe answer
    this.unsaved = null // 'read-only': refused writes kept in this browser
    this.revertedSinceAck = false
    this.serverClock = 0 // the server's clock for this client, from its step 1
    this.tooLargeClose = null // a TOO_LARGE close whose change is taken back on the next step 1
    this.retryReason = null // a transient refusal this page is retrying after
    this.retryTimer = null
    this.transientFailures = 0
    this.lastClose = null // {code, reason} of the server's last close
    this._reconnect = true // the verdict on the close being handled
    this._quiet = false

    this._wrapSyncHandler()
    this._takeAuthMessages()
    ydoc.on('update', (update, origin, _doc, transaction) =>
      this._onDocUpdate(update, origin, transaction),
    )
    provider.on('status', ({ status }) => this._onStatus(status))
    provider.on('sync', (synced) => this._onSync(synced))
    provider.on('connection-close', (event) => this._onClose(event))
    // Called by the provider right after 'connection-close' for a close the
    // server sent; a transient refusal is retried by this class, with backoff.
    provider.shouldReconnect = () => this._reconnect
  }

  get pending() {
    return this.localSeq > this.ackedSeq
  }

  /** Whether the page has stopped connecting for good (until a reload). */
  get stopped() {
    return Boolean(this.denied || this.halted)
  }

  /** The current state: {status, label, pending, reason}. */
  get state() {
    const pending = this.pending
    if (this.denied) {
      return { status: 'denied', label: DENIED_LABELS[this.denied], pending, reason: this.denied }
    }
    if (this.halted) {
      return { status: 'halted', label: 'Not saving – reload the page', pending, reason: this.halted }
    }
    const p = this.provider
    if (p.wsconnected && p.synced) {
      if (pending && this.unsaved) {
        return { status: 'connected', label: 'Not saved – view only', pending, reason: this.unsaved }
      }
      return { status: 'connected', label: pending ? 'Saving…' : 'Connected', pending, reason: null }
    }
    if (this.retryReason) {
      const label = `Reconnecting… (${this.retryReason})`
      return { status: 'reconnecting', label, pending, reason: this.retryReason }
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
    this._cancelRetry()
    this.provider.shouldConnect = false
    this.provider.disconnect()
    this._emit(true)
  }

  /** Stop: retrying would send the same refused bytes again. Unsaved edits stay in IndexedDB. */
  halt(reason) {
    if (this.stopped) return
    this.halted = reason
    this._cancelRetry()
    this.provider.shouldConnect = false
    this._emit(true)
  }

  _emit(force = false) {
    const state = this.state
    const key = `${state.status}|${state.label}|${state.pending}`
    if (!force && key === this._last) return
    this._last = key
    for (const listener of this.listeners) listener(state)
  }

  _onDocUpdate(update, origin, transaction) {
    if (this.ignoreOrigins.has(origin) || this._quiet) return
    if (!this.pending) writeFlag(this.storageKey, true)
    this.localSeq += 1
    const client = this.ydoc.clientID
    this.changes.push({
      seq: this.localSeq,
      size: update.byteLength,
      from: transaction ? transaction.beforeState.get(client) || 0 : 0,
      to: transaction ? transaction.afterState.get(client) || 0 : 0,
      deletions: transaction ? transaction.deleteSet : null,
    })
    this._scheduleProbe()
    this._emit()
  }

  _onStatus(status) {
    if (status === 'connected') {
      this.serverStep1Seen = false
      this.refusedSinceAnswer = false
      this.probes = []
      this._cancelRetry()
    }
    this._emit()
  }

  _onSync(synced) {
    if (synced) {
      this.everSynced = true
      this.syncedThisAttempt = true
      this.retryReason = null
      if (!this.pending) this._settled()
      this._scheduleProbe(0)
    }
    this._emit()
  }

  _onClose(event) {
    this.probes = []
    this.serverStep1Seen = false
    this.refusedSinceAnswer = false
    this._reconnect = true
    if (this.stopped) {
      this._reconnect = false
      return
    }
    const code = event ? event.code : null
    if (event) this.lastClose = { code, reason: event.reason }
    const verdict = classifyClose(code, this.closeCodes, this.finalCodes)
    if (verdict.kind === 'denied') {
      this._reconnect = false
      this.deny(deniedReason(verdict.reason, this.syncedThisAttempt))
      return
    }
    if (verdict.kind === 'too-large') {
      // Which change was refused shows when the server says what it has, in
      // its step 1 on the next connection: anything it stored stays.
      this._reconnect = !this.revertedSinceAck && this.changes.length > 0
      if (this._reconnect) this.tooLargeClose = event
      else this.halt('too-large')
    } else if (verdict.kind === 'rejected' || verdict.kind === 'final') {
      this._reconnect = false
      this.halt(verdict.kind)
    } else if (verdict.kind === 'transient') {
      this._reconnect = false
      this._retryLater(verdict.reason)
    }
    this.hadFailure = true
    // A refused handshake reaches the browser as 1006 without the server's
    // code, and a socket can die for other reasons before it syncs. Ask the
    // HTTP API (throttled) whether access is the problem; any answer other
    // than 401/403/404 leaves the provider retrying.
    if (!this.syncedThisAttempt && verdict.kind === 'network') this._checkAccessOverHttp()
    this.syncedThisAttempt = false
    this._emit()
  }

  /**
   * The page held back a frame over the server's limit on socket `ws` (see
   * framelimit.js). Take back the change behind it and start a new
   * connection, whose sync sends everything else; the server saw nothing.
   */
  frameTooLarge(ws) {
    // Not from inside the provider's send: it may be in the middle of a message.
    setTimeout(() => {
      if (this.provider.ws !== ws || this.stopped) return
      this.provider.disconnect()
      // Only a change too large on its own: a frame of several is not one culprit.
      const overhead = 8 // the message type and length around an update
      const limit = this.maxFrameBytes || 0
      const culprits = this.changes.filter((change) => change.size + overhead > limit)
      if (this._takeBack(culprits, null)) this.provider.connect()
      else this.halt('too-large')
    }, 0)
  }

  /** Take back the biggest of `candidates`, once between two saves. */
  _takeBack(candidates, event) {
    if (this.revertedSinceAck || !candidates.length) return false
    const culprit = candidates.reduce((big, change) => (change.size > big.size ? change : big))
    if (!this._unsent(() => this.onTooLarge(culprit, event))) return false
    this.revertedSinceAck = true
    this.changes = this.changes.filter((change) => change.seq !== culprit.seq)
    return true
  }

  /**
   * Run `fn` without the provider sending the local updates it makes on the
   * socket: a revert made while the server lacks what it reverts rides in the
   * next sync step 2 instead (the stock provider sends only while wsconnected).
   */
  _unsent(fn) {
    const provider = this.provider
    const connected = provider.wsconnected
    provider.wsconnected = false
    try {
      return fn()
    } finally {
      provider.wsconnected = connected
    }
  }

  _retryLater(reason) {
    this._cancelRetry()
    this.retryReason = reason
    const backoff = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** this.transientFailures)
    this.transientFailures += 1
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null
        if (!this.stopped) this.provider.connect()
      },
      backoff * (0.8 + 0.4 * Math.random()),
    )
  }

  _cancelRetry() {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    this.retryTimer = null
  }

  /** Everything local is on the server: the refusals before are behind us. */
  _settled() {
    this.revertedSinceAck = false
    this.transientFailures = 0
    this.retryReason = null
    this.unsaved = null
  }

  async _checkAccessOverHttp() {
    const now = Date.now()
    if (!this.apiUrl || now - this.lastHttpCheck < 10000 || !navigator.onLine) return
    this.lastHttpCheck = now
    try {
      const response = await apiFetch(this.apiUrl)
      const reason = this.httpRefusals[response.status]
      if (reason) this.deny(reason)
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

  _onProbeAnswered(update) {
    const seq = this.probes.shift()
    if (seq === undefined) return
    if (this.refusedSinceAnswer) {
      // Answered, but the server refused what came before the probe.
      this.refusedSinceAnswer = false
      this._writesRefused(update)
      return
    }
    this.ackedSeq = Math.max(this.ackedSeq, seq)
    this.changes = this.changes.filter((change) => change.seq > seq)
    if (!this.pending) {
      writeFlag(this.storageKey, false)
      this._settled()
    } else {
      this._scheduleProbe()
    }
    this._emit()
  }

  /** `update` is the server's answer to the probe: its delete set is the server's. */
  _writesRefused(update) {
    const unsaved = unsavedPart(this.changes, this.serverClock, Y.decodeUpdate(update).ds)
    // After a reload, pending edits from IndexedDB have no record here.
    const unknown = this.changes.length === 0
    let discarded = !unknown && unsaved.length === 0
    if (unsaved.length) {
      // The page's revert is a local change of its own, but nothing to save:
      // what it takes back never reached the server.
      this._quiet = true
      try {
        discarded = this._unsent(() => this.onWritesRefused(unsaved))
      } finally {
        this._quiet = false
      }
    }
    if (discarded) {
      this.changes = []
      this.ackedSeq = this.localSeq
      this.unsaved = null
      writeFlag(this.storageKey, false)
    } else {
      this.unsaved = 'read-only'
    }
    this._emit()
  }

  _takeAuthMessages() {
    // The server explains a refusal before closing, or refuses a viewer's
    // write without closing. The close code that follows decides what a
    // close means; a refused write keeps the next probe from counting as
    // saved. Either way, no console warning from the provider.
    this.provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder) => {
      authProtocol.readAuthMessage(decoder, this.ydoc, (_doc, reason) => {
        this.refusal = reason
        this.refusedSinceAnswer = true
      })
    }
  }

  _wrapSyncHandler() {
    const handlers = this.provider.messageHandlers
    const original = handlers[MESSAGE_SYNC]
    handlers[MESSAGE_SYNC] = (encoder, decoder, provider, fromSocket, messageType) => {
      // Peek at the sync message without consuming it.
      const peek = decoding.clone(decoder)
      const syncType = decoding.readVarUint(peek)
      const payload = decoding.readVarUint8Array(peek)
      if (fromSocket && syncType === syncProtocol.messageYjsSyncStep1) {
        this.serverClock = Y.decodeStateVector(payload).get(this.ydoc.clientID) || 0
        if (this.tooLargeClose !== null && !this._takeBackRefused()) return
      }
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
        this._onProbeAnswered(payload)
      }
    }
  }

  /**
   * After a TOO_LARGE close, before answering the server's step 1: take back
   * the biggest change it lacks, so the step 2 leaves it out. False (and the
   * page stops) when there is none to take back.
   */
  _takeBackRefused() {
    const event = this.tooLargeClose
    this.tooLargeClose = null
    const lacking = unsavedPart(this.changes, this.serverClock).filter((c) => c.to > c.from)
    if (this._takeBack(lacking, event)) return true
    this.halt('too-large')
    setTimeout(() => this.provider.disconnect(), 0)
    return false
  }
}

const DENIED_LABELS = {
  'signed-out': 'Signed out',
  forbidden: 'No access',
  deleted: 'Deleted',
  'not-found': 'Document not found',
}

/**
 * NOT_FOUND on a socket that had synced can only be the document's deletion
 * (the server ends open sockets with FORBIDDEN when access is removed). At a
 * handshake it also answers someone who lost access while disconnected: the
 * server does not say which, as it does not to strangers.
 */
function deniedReason(reason, synced) {
  return reason === 'not-found' && synced ? 'deleted' : reason
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
