// Load generator for the collaborative editor: many y-websocket clients in one Node process.
//
//   node bench-load.mjs <config.json | inline JSON>
//
// Prints JSON lines on stdout: {"event":"phase","phase":...} as the run goes (so a runner can
// sample the server's CPU at the edges of the measured window), then one {"event":"result",...}.
// Progress goes to stderr. bench/run.py drives it; it can also be run by hand against any server.
//
// Config (JSON):
//   mode           "edit" (default) | "awareness" | "open" | "herd" | "ingest"
//   server         "project" (default) or "y-websocket": the stock y-websocket provider;
//                  "hocuspocus": the stock @hocuspocus/provider (Hocuspocus's own framing)
//   url            server base, e.g. "ws://127.0.0.1:8000" (provider url = url + "/ws/documents")
//   urls           several server bases: client i of each document uses urls[i % urls.length]
//   origin         Origin header (default: each client's url with ws->http; servers compare it
//                  with their own address in full, port included)
//   connectPending connect clients one after another, at most this many not yet synced at a
//                  time (default: all at once)
//   waitForGo      edit mode: after every client synced, wait for a line on stdin before the
//                  load starts (a runner starting several generators starts their load together)
//   samples        edit mode: also report every latency sample (a runner merges generators)
//   caretPerEdit   edit mode: every edit also moves the client's caret (one awareness update)
//   edits          ingest mode: single-character updates the one writer types (50000)
//   seedChars      herd mode: characters a first client types (and stays) before the herd (0)
//   documents      [{documentId, cookies: ["sessionid=..", ...]}]; client i uses cookies[i % len]
//   clients        N clients per document (edit, awareness)
//   full           "full" clients per document (default 1): stock providers that apply everything
//                  and observe markers; the rest are "thin" (see below)
//   rate           R edits/s per client (edit mode)
//   awarenessRate  A caret moves/s per client (awareness mode; also allowed in edit mode)
//   seconds        S seconds of load
//   quietMs        after the load, stop waiting once nothing new arrived for this long (3000)
//   maxWaitMs      ...or after this long at most (15000)
//   syncTimeoutMs  every client must be synced within this long (30000)
//   thinAwareness  "apply" (default: stock behaviour, which re-broadcasts what it applies) or
//                  "count" (thin clients count awareness frames and drop them)
//   opens          open mode: how many cold opens of documents[0] (5)
//   gapMs          open mode: pause between opens, so the server's room can close (500)
//   expectLength   open mode: the text length every open must see (optional)
//   warmup         open mode: {documentId, cookies} opened once, unmeasured, before the opens
//   dump           path: write every full client's text there as JSON (optional)
//
// Every result carries the generator's own CPU seconds and event-loop delay over the load
// (loadgen), so a saturated generator shows up instead of passing for a slow server.
//
// Thin clients are real WebsocketProviders whose sync handler answers step 1, applies the
// initial step 2, and afterwards drops incoming updates unapplied: they edit and send real Yjs
// updates from their own Y.Doc, but one Node process need not integrate every client's edits,
// so what is measured is the server. Each edit inserts a unique marker "\u0001<gid>.<n>\u0002"
// at the start or end of the client's text; full clients record the first time they see each
// marker (same process, same clock as the sender), so latency = seen - sent.
import * as Y from 'yjs'
import { WebsocketProvider, messageSync, messageAwareness } from 'y-websocket'
import { HocuspocusProvider } from '@hocuspocus/provider'
import * as syncProtocol from 'y-protocols/sync'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import WebSocket from 'ws'
import { performance, monitorEventLoopDelay } from 'node:perf_hooks'
import readline from 'node:readline'
import { createHash } from 'node:crypto'
import fs from 'node:fs'

const arg = process.argv[2]
if (!arg) {
  console.error('usage: node bench-load.mjs <config.json | JSON>')
  process.exit(2)
}
const cfg = JSON.parse(arg.trim().startsWith('{') ? arg : fs.readFileSync(arg, 'utf8'))
const mode = cfg.mode || 'edit'
const kind = cfg.server || 'project'
const urls = (cfg.urls || [cfg.url]).map((u) => u.replace(/\/+$/, ''))
const bases = urls.map((u) => u + '/ws/documents')
const base = bases[0]
const originOf = (wsUrl) => cfg.origin || new URL(wsUrl.replace(/^ws/, 'http')).origin
const S = cfg.seconds ?? 10
const R = cfg.rate ?? 0
const A = cfg.awarenessRate ?? 0
const N = cfg.clients ?? 1
const FULL = Math.min(cfg.full ?? 1, N)
const quietMs = cfg.quietMs ?? 3000
const maxWaitMs = cfg.maxWaitMs ?? 15000
const syncTimeoutMs = cfg.syncTimeoutMs ?? 30000
const thinAwareness = cfg.thinAwareness || 'apply'
const caretPerEdit = !!cfg.caretPerEdit

// Every provider adds a process 'exit' listener; a hundred of them are expected here.
process.setMaxListeners(0)

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const log = (...a) => console.error('[bench-load]', ...a)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const now = () => performance.now()
const sha256 = (s) => createHash('sha256').update(s, 'utf8').digest('hex')

const wsClasses = new Map()
const wsClass = (cookie) => {
  let cls = wsClasses.get(cookie)
  if (!cls) {
    cls = class CookieWebSocket extends WebSocket {
      constructor (url, protocols) {
        super(url, protocols, { headers: { Cookie: cookie || '' }, origin: originOf(url) })
      }
    }
    wsClasses.set(cookie, cls)
  }
  return cls
}

const percentile = (sorted, p) => {
  if (sorted.length === 0) return null
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}
const summarize = (samples) => {
  const s = Float64Array.from(samples).sort()
  const r = (x) => (x === null ? null : Math.round(x * 100) / 100)
  let sum = 0
  for (const x of s) sum += x
  return {
    count: s.length,
    mean: s.length ? r(sum / s.length) : null,
    p50: r(percentile(s, 50)),
    p95: r(percentile(s, 95)),
    p99: r(percentile(s, 99)),
    max: s.length ? r(s[s.length - 1]) : null
  }
}

// -- shared bookkeeping ------------------------------------------------------

const errors = {
  closeCodes: {}, // code -> count (null code = closed locally, e.g. the 30 s watchdog)
  connectionErrors: 0,
  connectionErrorKinds: {}, // message -> count
  disconnects: 0, // status "disconnected" after a client had synced
  permissionDenied: 0,
  neverSynced: 0,
  skippedTicks: 0 // edits/moves the scheduler could not run on time (Node overloaded)
}
const sendTimes = new Map() // "gid.n" -> performance.now() at insert
const latencies = [] // ms, one per (observer, marker from another client)
const byGid = [] // every client, by its gid
const crossingLatencies = [] // several servers: the samples whose sender used another server
const buckets = [] // per second of send time since the load started: latencies
let loadStart = 0
const awLatencies = [] // ms, caret move -> seen at a full client
const MARKER = /\u0001(\d+)\.(\d+)\u0002/g

// A Yjs sync message (after any Hocuspocus document name): is it an update or a step 2?
const syncKind = (decoder) => {
  if (decoding.readVarUint(decoder) !== messageSync) return null
  return decoding.readVarUint(decoder)
}

class BenchClient {
  constructor ({ gid, doc, index, documentId, cookie, full }) {
    this.gid = gid
    byGid[gid] = this
    this.docIndex = doc
    this.index = index
    this.full = full
    this.documentId = documentId
    this.cookie = cookie
    this.base = bases[index % bases.length]
    this.ydoc = new Y.Doc()
    this.text = this.ydoc.getText('text')
    this.sent = 0
    this.sentOffline = 0
    this.seen = new Set() // markers from other clients, first sighting only
    this.dropped = 0 // thin: updates received and not applied
    this.droppedBytes = 0
    this.awFrames = 0
    this.awEntries = 0
    this.awSent = 0
    this.moves = 0
    this.awLast = new Map() // clientID -> last cursor seq seen
    this.connected = false
    this.everSynced = false
    this.syncedAt = null
    this.openedAt = null // the first time the socket was open
    this.initialApplied = false
    this.closes = []
    this.awareness = new awarenessProtocol.Awareness(this.ydoc)
    this.provider = null

    if (full) {
      // The markers a transaction integrated, read from the update Yjs encodes for it (the
      // providers listen for it anyway): the cost of the update, not of the document.
      // `event.delta` of a text observer walks the whole text on every event; with b's 4,000
      // markers that made the generator, not the server, the bottleneck.
      this.ydoc.on('update', (update) => {
        const t = now()
        for (const struct of Y.decodeUpdate(update).structs) {
          const str = struct.content?.str
          if (typeof str !== 'string') continue
          for (const m of str.matchAll(MARKER)) {
            if (+m[1] === this.gid) continue
            const key = m[1] + '.' + m[2]
            if (this.seen.has(key)) continue
            this.seen.add(key)
            const sent = sendTimes.get(key)
            if (sent !== undefined && measuring) {
              latencies.push(t - sent)
              if (bases.length > 1 && byGid[+m[1]]?.base !== this.base) crossingLatencies.push(t - sent)
              const b = Math.max(0, Math.floor((sent - loadStart) / 1000))
              ;(buckets[b] ||= []).push(t - sent)
            }
            lastArrival = t
          }
        }
      })
      this.awareness.on('change', ({ added, updated }, origin) => {
        if (origin === 'local') return
        const t = now()
        const states = this.awareness.getStates()
        for (const id of added.concat(updated)) {
          const c = states.get(id)?.cursor
          if (!c || typeof c.t !== 'number') continue
          if ((this.awLast.get(id) ?? -1) >= c.seq) continue
          this.awLast.set(id, c.seq)
          if (measuring) awLatencies.push(t - c.t)
        }
      })
    }
    this.awareness.on('update', () => {
      if (this.connected) this.awSent++
    })
    // Like any editor app: announce ourselves (the server stamps the real identity on it).
    this.awareness.setLocalStateField('user', { name: `bench ${gid}` })
  }

  _onSynced () {
    if (this.everSynced) return
    this.everSynced = true
    this.syncedAt = now()
  }

  _onStatus (status) {
    this.connected = status === 'connected'
    if (this.connected && this.openedAt === null) this.openedAt = now()
    if (status === 'disconnected' && this.everSynced && !stopping) errors.disconnects++
  }

  _onClose (code) {
    this.closes.push(code)
    if (!stopping) errors.closeCodes[code] = (errors.closeCodes[code] || 0) + 1
  }

  connect () {
    if (kind === 'hocuspocus') this._connectHocuspocus()
    else this._connectStock()
  }

  // The stock y-websocket provider (the project and the y-websocket server).
  _connectStock () {
    const provider = new WebsocketProvider(this.base, this.documentId, this.ydoc, {
      WebSocketPolyfill: wsClass(this.cookie),
      awareness: this.awareness,
      disableBc: true,
      connect: false
    })
    this.provider = provider
    if (!this.full) this._thinSync()
    this._countAwareness()
    provider.on('sync', (synced) => synced && this._onSynced())
    provider.on('status', ({ status }) => this._onStatus(status))
    provider.on('connection-close', (ev) => this._onClose(ev ? ev.code : null))
    provider.on('connection-error', (event) => {
      if (stopping) return
      errors.connectionErrors++
      const why = String(event?.message || event?.error?.code || event?.type || 'error')
      errors.connectionErrorKinds[why] = (errors.connectionErrorKinds[why] || 0) + 1
    })
    const authHandler = provider.messageHandlers[2]
    provider.messageHandlers[2] = (...a) => {
      errors.permissionDenied++
      authHandler(...a)
    }
    provider.connect()
  }

  // The stock Hocuspocus provider: its framing puts the document name before every message.
  _connectHocuspocus () {
    const provider = new HocuspocusProvider({
      url: this.base + '/' + this.documentId,
      name: this.documentId,
      document: this.ydoc,
      awareness: this.awareness,
      WebSocketPolyfill: wsClass(this.cookie)
    })
    this.provider = provider
    const stock = provider.onMessage.bind(provider)
    provider.onMessage = (event) => {
      const data = new Uint8Array(event.data)
      const decoder = decoding.createDecoder(data)
      decoding.readVarString(decoder)
      const type = decoding.peekVarUint(decoder)
      if (type === messageAwareness) {
        this.awFrames++
      } else if (!this.full && type === messageSync) {
        const sync = syncKind(decoder)
        const late = sync === syncProtocol.messageYjsUpdate ||
          (sync === syncProtocol.messageYjsSyncStep2 && this.initialApplied)
        if (late) {
          this.dropped++
          this.droppedBytes += data.length
          return
        }
        if (sync === syncProtocol.messageYjsSyncStep2) this.initialApplied = true
      }
      stock(event)
    }
    provider.on('synced', ({ state }) => state && this._onSynced())
    provider.on('status', ({ status }) => this._onStatus(status))
    provider.on('close', ({ event }) => this._onClose(event ? event.code : null))
    provider.on('authenticationFailed', () => errors.permissionDenied++)
  }

  // Answer step 1, apply the first step 2, then drop every update unapplied.
  _thinSync () {
    this.provider.messageHandlers[messageSync] = (encoder, decoder, provider, emitSynced) => {
      encoding.writeVarUint(encoder, messageSync)
      const type = decoding.readVarUint(decoder)
      if (type === syncProtocol.messageYjsSyncStep1) {
        syncProtocol.readSyncStep1(decoder, encoder, provider.doc)
        return
      }
      const update = decoding.readVarUint8Array(decoder)
      if (type === syncProtocol.messageYjsSyncStep2 && !this.initialApplied) {
        Y.applyUpdate(provider.doc, update, provider)
        this.initialApplied = true
      } else {
        this.dropped++
        this.droppedBytes += update.length
      }
      if (type === syncProtocol.messageYjsSyncStep2 && emitSynced && !provider.synced) {
        provider.synced = true
      }
    }
  }

  _countAwareness () {
    const thinDrop = !this.full && thinAwareness === 'count'
    this.provider.messageHandlers[messageAwareness] = (_encoder, decoder, provider) => {
      const update = decoding.readVarUint8Array(decoder)
      this.awFrames++
      this.awEntries += decoding.readVarUint(decoding.createDecoder(update))
      if (!thinDrop) awarenessProtocol.applyAwarenessUpdate(provider.awareness, update, provider)
    }
  }

  edit () {
    const n = this.sent++
    const key = this.gid + '.' + n
    if (!this.connected) this.sentOffline++
    sendTimes.set(key, now())
    const at = Math.random() < 0.5 ? 0 : this.text.length
    this.text.insert(at, '\u0001' + key + '\u0002')
    if (caretPerEdit) this.move()
  }

  move () {
    const pos = Math.floor(Math.random() * 1000)
    this.awareness.setLocalStateField('cursor', {
      anchor: pos,
      head: pos + (Math.random() < 0.2 ? 5 : 0),
      seq: this.moves++,
      t: now()
    })
  }

  destroy () {
    if (this.provider) this.provider.destroy()
    this.awareness.destroy()
    this.ydoc.destroy()
  }
}

let measuring = false
let stopping = false
let lastArrival = 0

// The generator's own CPU and event-loop delay over a window: a generator that is itself
// behind delays every sample it takes, and this says so.
const startMeter = () => {
  const cpu0 = process.cpuUsage()
  const t0 = now()
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  return () => {
    delay.disable()
    const cpu = process.cpuUsage(cpu0)
    const wall = (now() - t0) / 1000
    const ms = (ns) => Math.round(ns / 1e4) / 100
    return {
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      cores: (cpu.user + cpu.system) / 1e6 / Math.max(wall, 1e-9),
      loopDelayMs: {
        p50: ms(delay.percentile(50)),
        p99: ms(delay.percentile(99)),
        max: ms(delay.max)
      }
    }
  }
}

// A runner starting several generators releases them together: one line on stdin.
const waitForGo = () => new Promise((resolve) => {
  const lines = readline.createInterface({ input: process.stdin })
  lines.once('line', () => {
    lines.close()
    resolve()
  })
})

// Every client does `perSecond` actions on its own phase-shifted schedule; a tick that falls
// more than one period behind is skipped (and counted) rather than bursted.
const runSchedule = async (clients, perSecond, seconds, act) => {
  if (!(perSecond > 0)) {
    await sleep(seconds * 1000)
    return
  }
  const period = 1000 / perSecond
  const start = now()
  const end = start + seconds * 1000
  const next = clients.map(() => start + Math.random() * period)
  while (true) {
    const t = now()
    if (t >= end) break
    let soonest = end
    for (let i = 0; i < clients.length; i++) {
      if (next[i] <= t) {
        act(clients[i])
        next[i] += period
        if (next[i] < t - period) {
          errors.skippedTicks += Math.floor((t - next[i]) / period)
          next[i] = t + period
        }
      }
      if (next[i] < soonest) soonest = next[i]
    }
    await sleep(Math.max(0, Math.min(soonest, end) - now()))
  }
}

const connectAll = async (clients) => {
  const t0 = now()
  const pending = cfg.connectPending || clients.length
  const started = []
  for (const c of clients) {
    while (started.filter((o) => !o.everSynced).length >= pending && now() - t0 < syncTimeoutMs) {
      await sleep(5)
    }
    c.connect()
    started.push(c)
  }
  while (clients.some((c) => !c.everSynced) && now() - t0 < syncTimeoutMs) await sleep(20)
  errors.neverSynced = clients.filter((c) => !c.everSynced).length
  return now() - t0
}

const makeClients = () => {
  const clients = []
  const byDoc = []
  cfg.documents.forEach((d, doc) => {
    const list = []
    for (let index = 0; index < N; index++) {
      const c = new BenchClient({
        gid: clients.length,
        doc,
        index,
        documentId: d.documentId,
        cookie: d.cookies[index % d.cookies.length],
        full: index < FULL
      })
      clients.push(c)
      list.push(c)
    }
    byDoc.push(list)
  })
  return { clients, byDoc }
}

const shutdown = async (clients) => {
  stopping = true
  for (const c of clients) c.destroy()
  await sleep(100)
}

// -- edit mode ----------------------------------------------------------------

const runEdit = async () => {
  const { clients, byDoc } = makeClients()
  log(`${clients.length} clients on ${byDoc.length} document(s), ${FULL} full per document`)
  const setupMs = await connectAll(clients)
  emit({ event: 'phase', phase: 'connected', setupMs })
  log(`connected and synced in ${setupMs.toFixed(0)} ms; editing for ${S} s`)
  if (cfg.waitForGo) await waitForGo()
  measuring = true
  loadStart = now()
  emit({ event: 'phase', phase: 'load-start', epochMs: Date.now() })
  const meter = startMeter()
  const t0 = now()
  await Promise.all([
    runSchedule(clients, R, S, (c) => c.edit()),
    A > 0 ? runSchedule(clients, A, S, (c) => c.move()) : null
  ])
  const loadSeconds = (now() - t0) / 1000
  const loadgen = meter()
  emit({ event: 'phase', phase: 'load-end', loadSeconds, epochMs: Date.now() })

  // Quiescence: every observer has every other client's markers, or nothing new for quietMs.
  const expectedFor = (c) => byDoc[c.docIndex].reduce((n, o) => n + (o === c ? 0 : o.sent), 0)
  const observers = clients.filter((c) => c.full)
  const tq = now()
  lastArrival = Math.max(lastArrival, tq)
  while (now() - tq < maxWaitMs) {
    if (observers.every((c) => c.seen.size >= expectedFor(c))) break
    if (now() - lastArrival > quietMs) break
    await sleep(25)
  }
  await sleep(200) // let the last frames to the server land too
  const quiesceMs = now() - tq
  measuring = false

  const perDoc = byDoc.map((list, i) => {
    const full = list.filter((c) => c.full)
    const texts = full.map((c) => c.text.toString())
    return {
      documentId: cfg.documents[i].documentId,
      sent: list.reduce((n, c) => n + c.sent, 0),
      seen: full.map((c) => c.seen.size),
      expected: full.map(expectedFor),
      converged: texts.every((t) => t === texts[0]),
      textSha256: texts.length ? sha256(texts[0]) : null,
      textLength: texts.length ? texts[0].length : null,
      fullSha256: texts.map(sha256)
    }
  })
  if (cfg.dump) {
    fs.writeFileSync(
      cfg.dump,
      JSON.stringify(byDoc.map((list) => list.filter((c) => c.full).map((c) => c.text.toString())))
    )
  }
  const seen = observers.reduce((n, c) => n + c.seen.size, 0)
  const expected = observers.reduce((n, c) => n + expectedFor(c), 0)
  const sent = clients.reduce((n, c) => n + c.sent, 0)
  const thin = clients.filter((c) => !c.full)
  const result = {
    event: 'result',
    mode,
    documents: byDoc.length,
    clientsPerDocument: N,
    fullPerDocument: FULL,
    rate: R,
    seconds: S,
    setupMs: Math.round(setupMs),
    loadSeconds,
    quiesceMs: Math.round(quiesceMs),
    sent,
    sentPerSecond: sent / loadSeconds,
    sentOffline: clients.reduce((n, c) => n + c.sentOffline, 0),
    latencyMs: summarize(latencies),
    ...(bases.length > 1 ? { crossingLatencyMs: summarize(crossingLatencies) } : {}),
    // Latency by the second (of send time) since the load started: spikes line up with
    // server events such as compactions.
    latencyBySecond: Array.from(buckets, (b, i) => ({ second: i, ...summarize(b || []) })),
    delivered: { seen, expected, fraction: expected ? seen / expected : null },
    converged: perDoc.every((d) => d.converged),
    thinDroppedUpdates: thin.reduce((n, c) => n + c.dropped, 0),
    thinDroppedBytes: thin.reduce((n, c) => n + c.droppedBytes, 0),
    loadgen,
    errors,
    perDoc
  }
  if (cfg.samples) result.samples = latencies.map((x) => Math.round(x * 100) / 100)
  if (cfg.samples && bases.length > 1) {
    result.crossingSamples = crossingLatencies.map((x) => Math.round(x * 100) / 100)
  }
  if (A > 0 || caretPerEdit) {
    result.awarenessLatencyMs = summarize(awLatencies)
    if (cfg.samples) result.awarenessSamples = awLatencies.map((x) => Math.round(x * 100) / 100)
  }
  await shutdown(clients)
  return result
}

// -- awareness mode -----------------------------------------------------------

const runAwareness = async () => {
  const { clients, byDoc } = makeClients()
  log(`${clients.length} clients on ${byDoc.length} document(s) moving carets ${A}/s for ${S} s`)
  const setupMs = await connectAll(clients)
  emit({ event: 'phase', phase: 'connected', setupMs })
  await sleep(1000) // let the join burst of awareness settle
  const count = () => ({
    frames: clients.reduce((n, c) => n + c.awFrames, 0),
    entries: clients.reduce((n, c) => n + c.awEntries, 0),
    sent: clients.reduce((n, c) => n + c.awSent, 0),
    moves: clients.reduce((n, c) => n + c.moves, 0)
  })
  const before = count()
  const perClientBefore = clients.map((c) => c.awFrames)
  measuring = true
  emit({ event: 'phase', phase: 'load-start', epochMs: Date.now() })
  const meter = startMeter()
  const t0 = now()
  await runSchedule(clients, A, S, (c) => c.move())
  const loadSeconds = (now() - t0) / 1000
  const loadgen = meter()
  const after = count()
  const perClient = clients.map((c, i) => (c.awFrames - perClientBefore[i]) / loadSeconds).sort((a, b) => a - b)
  emit({ event: 'phase', phase: 'load-end', loadSeconds, epochMs: Date.now() })
  await sleep(500)
  measuring = false
  // Delivery of caret moves at the full clients: the newest seq seen per other client.
  const observers = clients.filter((c) => c.full)
  let seenMoves = 0
  let expectedMoves = 0
  for (const o of observers) {
    for (const c of byDoc[o.docIndex]) {
      if (c === o) continue
      expectedMoves += 1
      if ((o.awLast.get(c.ydoc.clientID) ?? -1) === c.moves - 1) seenMoves += 1
    }
  }
  const frames = after.frames - before.frames
  const result = {
    event: 'result',
    mode,
    documents: byDoc.length,
    clientsPerDocument: N,
    fullPerDocument: FULL,
    thinAwareness,
    awarenessRate: A,
    seconds: S,
    setupMs: Math.round(setupMs),
    loadSeconds,
    moves: after.moves - before.moves,
    movesPerSecond: (after.moves - before.moves) / loadSeconds,
    framesReceived: frames,
    framesReceivedPerSecond: frames / loadSeconds,
    framesPerClientPerSecond: frames / loadSeconds / clients.length,
    framesPerClientPerSecondMinMax: [perClient[0], perClient[perClient.length - 1]],
    entriesReceivedPerSecond: (after.entries - before.entries) / loadSeconds,
    framesSentPerSecond: (after.sent - before.sent) / loadSeconds,
    caretLatencyMs: summarize(awLatencies),
    finalCaretSeen: { seen: seenMoves, expected: expectedMoves },
    loadgen,
    errors
  }
  await shutdown(clients)
  return result
}

// -- open mode ----------------------------------------------------------------

const openOnce = async (d) => {
  const ydoc = new Y.Doc()
  const times = { start: now(), open: null, step2: null, synced: null, step2Bytes: null }
  const provider = new WebsocketProvider(base, d.documentId, ydoc, {
    WebSocketPolyfill: wsClass(d.cookies[0]),
    disableBc: true,
    connect: false
  })
  const stock = provider.messageHandlers[messageSync]
  provider.messageHandlers[messageSync] = (encoder, decoder, ...rest) => {
    if (decoding.peekVarUint(decoding.clone(decoder)) === syncProtocol.messageYjsSyncStep2 && times.step2 === null) {
      times.step2 = now()
      times.step2Bytes = decoder.arr.length
    }
    stock(encoder, decoder, ...rest)
  }
  const closes = []
  let done = false
  provider.on('status', ({ status }) => {
    if (status === 'connected' && times.open === null) times.open = now()
  })
  provider.on('connection-close', (ev) => {
    if (!done) closes.push(ev ? ev.code : null)
  })
  const synced = new Promise((resolve) => provider.on('sync', (s) => s && resolve(true)))
  provider.connect()
  const ok = await Promise.race([synced, sleep(syncTimeoutMs).then(() => false)])
  times.synced = now()
  const length = ydoc.getText('text').length
  done = true
  provider.destroy()
  ydoc.destroy()
  if (!ok) return { ok, closes }
  return {
    ok,
    closes,
    length,
    // What the brief calls cold open: WebSocket open -> stock provider's 'sync' event.
    openToSyncMs: times.synced - times.open,
    // The same, split: until step 2 arrived (server work + transfer), then the client's apply.
    openToStep2Ms: times.step2 - times.open,
    clientApplyMs: times.synced - times.step2,
    connectMs: times.open - times.start,
    step2Bytes: times.step2Bytes
  }
}

const runOpen = async () => {
  if (cfg.warmup) {
    // One open of another document first, so the first measured open does not also pay for
    // the server process's first database connection and first room.
    const w = await openOnce(cfg.warmup)
    log(`warm-up open: ${w.ok ? w.openToSyncMs.toFixed(1) + ' ms' : 'no sync'}`)
    await sleep(cfg.gapMs ?? 500)
  }
  const opens = []
  emit({ event: 'phase', phase: 'load-start', epochMs: Date.now() })
  const meter = startMeter()
  for (let i = 0; i < (cfg.opens ?? 5); i++) {
    const r = await openOnce(cfg.documents[0])
    if (cfg.expectLength != null && r.ok && r.length !== cfg.expectLength) {
      r.error = `expected text length ${cfg.expectLength}, got ${r.length}`
    }
    log(`open ${i + 1}: ${r.ok ? r.openToSyncMs.toFixed(1) + ' ms' : 'no sync'}`)
    opens.push(r)
    await sleep(cfg.gapMs ?? 500)
  }
  const loadgen = meter()
  emit({ event: 'phase', phase: 'load-end', epochMs: Date.now() })
  const ok = opens.filter((o) => o.ok)
  const med = (k) => summarize(ok.map((o) => o[k])).p50
  return {
    event: 'result',
    mode,
    opens,
    medianOpenToSyncMs: med('openToSyncMs'),
    medianOpenToStep2Ms: med('openToStep2Ms'),
    medianClientApplyMs: med('clientApplyMs'),
    failures: opens.length - ok.length,
    loadgen
  }
}

// -- herd mode ----------------------------------------------------------------

// `clients` full clients open documents[0] at the same instant (after one seed client typed
// `seedChars` characters and stayed, so the in-memory servers keep the document): the time
// until every one of them is synced and holds the seed text.
const runHerd = async () => {
  const d = cfg.documents[0]
  const seedChars = cfg.seedChars ?? 0
  const seed = new BenchClient({
    gid: 0, doc: 0, index: 0, documentId: d.documentId, cookie: d.cookies[0], full: true
  })
  await connectAll([seed])
  // In updates of 50 characters, 100 a second: under the project's per-connection rate limit.
  for (let i = 0; i < seedChars; i += 50) {
    seed.text.insert(seed.text.length, 'abcdefghij'.repeat(5).slice(0, Math.min(50, seedChars - i)))
    await sleep(10)
  }
  await sleep(cfg.settleMs ?? 1500) // the seed's updates reach (and, for the project, are stored by) the server
  const herd = []
  for (let i = 1; i <= N; i++) {
    herd.push(new BenchClient({
      gid: i, doc: 0, index: i, documentId: d.documentId, cookie: d.cookies[i % d.cookies.length], full: true
    }))
  }
  emit({ event: 'phase', phase: 'load-start', epochMs: Date.now() })
  const meter = startMeter()
  const t0 = now()
  for (const c of herd) c.connect()
  const holds = (c) => c.everSynced && c.text.length >= seedChars
  while (herd.some((c) => !holds(c)) && now() - t0 < syncTimeoutMs) await sleep(2)
  const allMs = now() - t0
  const loadgen = meter()
  emit({ event: 'phase', phase: 'load-end', loadSeconds: allMs / 1000, epochMs: Date.now() })
  const synced = herd.filter(holds)
  const result = {
    event: 'result',
    mode,
    clients: N,
    seedChars,
    allSyncedMs: synced.length === N ? Math.round(allMs * 10) / 10 : null,
    syncedMs: summarize(synced.map((c) => c.syncedAt - t0)),
    // Where the time went: the socket open (handshake), then the sync; carets each received.
    openedMs: summarize(herd.filter((c) => c.openedAt !== null).map((c) => c.openedAt - t0)),
    awarenessFrames: herd.reduce((n, c) => n + c.awFrames, 0),
    awarenessEntries: herd.reduce((n, c) => n + c.awEntries, 0),
    synced: synced.length,
    converged: synced.every((c) => c.text.toString() === seed.text.toString()),
    loadgen,
    errors
  }
  await shutdown([seed, ...herd])
  return result
}

// -- ingest mode --------------------------------------------------------------

// One client types `edits` single-character updates as fast as it can; a fresh client opens
// the document as the last one is typed and waits until it holds all of them.
const runIngest = async () => {
  const d = cfg.documents[0]
  const edits = cfg.edits ?? 50000
  const writer = new BenchClient({
    gid: 0, doc: 0, index: 0, documentId: d.documentId, cookie: d.cookies[0], full: false
  })
  await connectAll([writer])
  emit({ event: 'phase', phase: 'load-start', epochMs: Date.now() })
  const meter = startMeter()
  const t0 = now()
  for (let i = 0; i < edits; i++) {
    writer.text.insert(writer.text.length, 'abcdefghij'[i % 10])
    if (i % 1000 === 999) await sleep(0) // let the socket write
  }
  const typedMs = now() - t0
  const reader = new BenchClient({
    gid: 1, doc: 0, index: 1, documentId: d.documentId, cookie: d.cookies[1 % d.cookies.length], full: true
  })
  reader.connect()
  const limit = cfg.maxWaitMs ?? 120000
  while (!(reader.everSynced && reader.text.length >= edits) && now() - t0 < limit) await sleep(5)
  const holdsMs = now() - t0
  const loadgen = meter()
  emit({ event: 'phase', phase: 'load-end', loadSeconds: holdsMs / 1000, epochMs: Date.now() })
  const held = reader.text.length
  const result = {
    event: 'result',
    mode,
    edits,
    typedMs: Math.round(typedMs),
    holdsAllMs: held >= edits ? Math.round(holdsMs) : null,
    readerLength: held,
    updatesPerSecond: held >= edits ? edits / (holdsMs / 1000) : null,
    converged: reader.text.toString() === writer.text.toString(),
    perDoc: [{ documentId: d.documentId, textLength: held, textSha256: sha256(reader.text.toString()) }],
    loadgen,
    errors
  }
  await shutdown([writer, reader])
  return result
}

const main = async () => {
  const run = { edit: runEdit, awareness: runAwareness, open: runOpen, herd: runHerd, ingest: runIngest }[mode]
  if (!run) throw new Error(`unknown mode ${mode}`)
  const result = await run()
  // Exit once the result is written: a pipe takes 64 KiB at once, and an exit right after a
  // longer line (every latency sample, for a runner merging generators) cut it there.
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0))
}

main().catch((err) => {
  console.error(err)
  emit({ event: 'result', mode, fatal: String(err && err.stack ? err.stack : err) })
  process.exit(1)
})
