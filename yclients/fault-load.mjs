// Load for the fault suite (bench/faults.py): stock y-websocket clients, every one a full
// replica, typing markers and moving carets while the runner breaks the services under them.
//
//   node fault-load.mjs <config.json | inline JSON>
//
// Unlike bench-load.mjs this one runs until told to stop (a line {"op":"stop"} on stdin), keeps
// every client on the stock reconnect behaviour across outages, and records raw timings instead
// of summaries: the runner knows when it broke what, so it does the arithmetic.
//
// Config (JSON):
//   servers       [{url, origin}]: client i of a document talks to servers[i % servers.length]
//   documents     [{documentId, cookies: [...]}]; client i uses cookies[i % cookies.length]
//   clients       clients per document
//   rate          edits/s per client (one marker "\u0001<gid>.<n>\u0002" per edit)
//   awarenessRate caret moves/s per client
//   maxSeconds    stop typing after this long even without a stop command (safety net)
//   syncTimeoutMs every client must be synced within this long (30000)
//   maxWaitMs     after stop: wait at most this long for every replica to converge (30000)
//   dump          path: the raw record of every client is written there as JSON
//
// stdout: {"event":"ready","epochMs"} once every client is synced and typing starts,
// {"event":"stopped","epochMs"} when typing stops, then one {"event":"result",...}.
import * as Y from 'yjs'
import { WebsocketProvider, messageSync } from 'y-websocket'
import WebSocket from 'ws'
import { performance } from 'node:perf_hooks'
import readline from 'node:readline'
import fs from 'node:fs'

const arg = process.argv[2]
if (!arg) {
  console.error('usage: node fault-load.mjs <config.json | JSON>')
  process.exit(2)
}
const cfg = JSON.parse(arg.trim().startsWith('{') ? arg : fs.readFileSync(arg, 'utf8'))
const N = cfg.clients ?? 4
const R = cfg.rate ?? 5
const A = cfg.awarenessRate ?? 2
const maxSeconds = cfg.maxSeconds ?? 600
const syncTimeoutMs = cfg.syncTimeoutMs ?? 30000
const maxWaitMs = cfg.maxWaitMs ?? 30000

process.setMaxListeners(0) // every provider adds an 'exit' listener

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const log = (...a) => console.error('[fault-load]', ...a)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
// Epoch milliseconds with sub-millisecond resolution: the runner compares them with time.time().
const epoch = () => performance.timeOrigin + performance.now()
const MARKER = /\u0001(\d+)\.(\d+)\u0002/g

const wsClasses = new Map()
const wsClass = (cookie, origin) => {
  const key = cookie + ' ' + origin
  let cls = wsClasses.get(key)
  if (!cls) {
    cls = class CookieWebSocket extends WebSocket {
      constructor (url, protocols) {
        super(url, protocols, { headers: { Cookie: cookie || '' }, origin })
      }
    }
    wsClasses.set(key, cls)
  }
  return cls
}

let stopping = false
const byClientId = new Map() // Yjs client id -> FaultClient
// A frame the server relays that Yjs cannot apply throws inside the provider's message handler,
// which would end the whole process: count it (the runner reports it) and carry on.
let clientExceptions = 0
process.on('uncaughtException', (err) => {
  clientExceptions++
  if (clientExceptions <= 5) log('exception in a client:', err && err.stack ? err.stack : err)
})
// An update Yjs cannot apply is caught inside y-protocols, which only logs it: count it, per
// client (the client whose sync handler is running when the log line comes).
let handling = null
let updateErrors = 0
const consoleError = console.error
console.error = (...a) => {
  if (typeof a[0] === 'string' && a[0].startsWith('Caught error while handling a Yjs update')) {
    updateErrors++
    if (handling) handling.updateErrors++
    if (updateErrors > 3) return
  }
  consoleError(...a)
}
const countUpdateErrors = (owner, provider) => {
  const stock = provider.messageHandlers[messageSync]
  provider.messageHandlers[messageSync] = (...a) => {
    handling = owner
    try {
      return stock(...a)
    } finally {
      handling = null
    }
  }
}

class FaultClient {
  constructor ({ gid, doc, index, documentId, cookie, server }) {
    this.gid = gid
    this.doc = doc
    this.index = index
    this.server = server
    this.ydoc = new Y.Doc()
    this.text = this.ydoc.getText('text')
    this.sentAt = [] // epoch ms of marker n
    this.sentOffline = 0
    this.seen = [] // [senderGid, n, epochMs]: first sighting of another client's marker
    this.seenKeys = new Set()
    this.carets = [] // [epochMs, peerGid, moveEpochMs]: a peer's caret move arriving
    this.removals = [] // [epochMs, peerGid, ownerConnected]: a peer's state removed here
    this.closes = [] // [epochMs, code]
    this.errors = 0
    this.everSynced = false
    this.moves = 0
    const { url, origin } = cfg.servers[server]
    const provider = new WebsocketProvider(url.replace(/\/+$/, '') + '/ws/documents', documentId, this.ydoc, {
      WebSocketPolyfill: wsClass(cookie, origin),
      disableBc: true,
      connect: false
    })
    this.provider = provider
    byClientId.set(this.ydoc.clientID, this)
    this.updateErrors = 0
    countUpdateErrors(this, provider)
    provider.on('sync', (synced) => {
      if (synced) this.everSynced = true
    })
    provider.on('connection-close', (ev) => {
      if (!stopping) this.closes.push([epoch(), ev ? ev.code : null])
    })
    provider.on('connection-error', () => {
      if (!stopping) this.errors++
    })
    this.text.observe((event) => {
      const t = epoch()
      for (const op of event.delta) {
        if (typeof op.insert !== 'string') continue
        for (const m of op.insert.matchAll(MARKER)) {
          if (+m[1] === this.gid) continue
          const key = m[1] + '.' + m[2]
          if (this.seenKeys.has(key)) continue
          this.seenKeys.add(key)
          this.seen.push([+m[1], +m[2], t])
        }
      }
    })
    provider.awareness.on('change', ({ added, updated, removed }, origin) => {
      if (origin === 'local') return
      const t = epoch()
      const states = provider.awareness.getStates()
      for (const id of added.concat(updated)) {
        const c = states.get(id)?.cursor
        if (c && typeof c.gid === 'number' && c.gid !== this.gid) this.carets.push([t, c.gid, c.t])
      }
      // A removal while the caret's owner is still connected is a false expiry (or a ghost
      // taken away by mistake): every client lives in this process, so ask the owner itself.
      // The client's own socket dropping removes everyone (y-websocket does it locally): skip.
      if (!provider.wsconnected) return
      for (const id of removed) {
        const owner = byClientId.get(id)
        if (owner && owner !== this) this.removals.push([t, owner.gid, owner.provider.wsconnected && owner.provider.synced])
      }
    })
    provider.awareness.setLocalStateField('user', { name: `fault ${gid}` })
  }

  edit () {
    const n = this.sentAt.length
    if (!this.provider.wsconnected) this.sentOffline++
    this.sentAt.push(epoch())
    const at = Math.random() < 0.5 ? 0 : this.text.length
    this.text.insert(at, '\u0001' + this.gid + '.' + n + '\u0002')
  }

  move () {
    const pos = Math.floor(Math.random() * 1000)
    this.provider.awareness.setLocalStateField('cursor', {
      anchor: pos,
      head: pos,
      seq: this.moves++,
      t: epoch(),
      gid: this.gid
    })
  }

  record () {
    return {
      gid: this.gid,
      doc: this.doc,
      index: this.index,
      server: this.server,
      clientId: this.ydoc.clientID,
      sentAt: this.sentAt,
      sentOffline: this.sentOffline,
      seen: this.seen,
      carets: this.carets,
      removals: this.removals,
      closes: this.closes,
      connectionErrors: this.errors,
      updateErrors: this.updateErrors,
      connected: this.provider.wsconnected,
      shouldConnect: this.provider.shouldConnect,
      text: this.text.toString()
    }
  }
}

// Each client acts `perSecond` times a second on its own phase-shifted schedule until `done()`;
// a tick more than a period late is skipped (and counted) rather than bursted.
let skippedTicks = 0
const runSchedule = async (clients, perSecond, done, act) => {
  if (!(perSecond > 0)) return
  const period = 1000 / perSecond
  const start = performance.now()
  const next = clients.map(() => start + Math.random() * period)
  while (!done()) {
    const t = performance.now()
    let soonest = Infinity
    for (let i = 0; i < clients.length; i++) {
      if (next[i] <= t) {
        act(clients[i])
        next[i] += period
        if (next[i] < t - period) {
          skippedTicks += Math.floor((t - next[i]) / period)
          next[i] = t + period
        }
      }
      soonest = Math.min(soonest, next[i])
    }
    await sleep(Math.max(0, Math.min(soonest - performance.now(), 50)))
  }
}

// What a newcomer gets: a fresh stock client loads the document from the server it is given.
const openFresh = async (d, doc) => {
  const ydoc = new Y.Doc()
  const { url, origin } = cfg.servers[doc % cfg.servers.length]
  const provider = new WebsocketProvider(url.replace(/\/+$/, '') + '/ws/documents', d.documentId, ydoc, {
    WebSocketPolyfill: wsClass(d.cookies[0], origin),
    disableBc: true,
    connect: false
  })
  const owner = { updateErrors: 0 }
  countUpdateErrors(owner, provider)
  const synced = new Promise((resolve) => provider.on('sync', (s) => s && resolve(true)))
  provider.connect()
  const ok = await Promise.race([synced, sleep(syncTimeoutMs).then(() => false)])
  const text = ydoc.getText('text').toString()
  provider.destroy()
  ydoc.destroy()
  return { doc, synced: ok, text, updateErrors: owner.updateErrors }
}

const main = async () => {
  const clients = []
  const byDoc = cfg.documents.map((d, doc) => {
    const list = []
    for (let index = 0; index < N; index++) {
      const c = new FaultClient({
        gid: clients.length,
        doc,
        index,
        documentId: d.documentId,
        cookie: d.cookies[index % d.cookies.length],
        server: index % cfg.servers.length
      })
      clients.push(c)
      list.push(c)
    }
    return list
  })
  const t0 = performance.now()
  for (const c of clients) c.provider.connect()
  while (clients.some((c) => !c.everSynced) && performance.now() - t0 < syncTimeoutMs) await sleep(20)
  const neverSynced = clients.filter((c) => !c.everSynced).length
  if (neverSynced) throw new Error(`${neverSynced} clients never synced`)
  log(`${clients.length} clients on ${byDoc.length} documents synced in ${(performance.now() - t0).toFixed(0)} ms`)

  let stop = false
  const rl = readline.createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    if (JSON.parse(line).op === 'stop') stop = true
  })
  rl.on('close', () => { stop = true })
  const typingStart = performance.now()
  const done = () => stop || performance.now() - typingStart > maxSeconds * 1000
  emit({ event: 'ready', epochMs: epoch() })
  await Promise.all([
    runSchedule(clients, R, done, (c) => c.edit()),
    runSchedule(clients, A, done, (c) => c.move())
  ])
  const stoppedAt = epoch()
  emit({ event: 'stopped', epochMs: stoppedAt })

  // Converged: in every document each replica holds every marker typed there and all texts
  // are equal. Replicas a server closed for good never get there; give up after maxWaitMs.
  const docConverged = (list) => {
    const texts = list.map((c) => c.text.toString())
    if (!texts.every((t) => t === texts[0])) return false
    const typed = list.reduce((n, c) => n + c.sentAt.length, 0)
    return list.every((c) => c.seen.length === typed - c.sentAt.length)
  }
  const convergedAt = byDoc.map(() => null)
  while (epoch() - stoppedAt < maxWaitMs) {
    byDoc.forEach((list, i) => {
      if (convergedAt[i] === null && docConverged(list)) convergedAt[i] = epoch()
    })
    if (convergedAt.every((t) => t !== null)) break
    await sleep(25)
  }
  stopping = true
  const records = clients.map((c) => c.record())
  const fresh = await Promise.all(cfg.documents.map((d, doc) => openFresh(d, doc)))
  if (cfg.dump) fs.writeFileSync(cfg.dump, JSON.stringify({ stoppedAt, convergedAt, clients: records, fresh }))
  for (const c of clients) {
    c.provider.destroy()
    c.ydoc.destroy()
  }
  emit({
    event: 'result',
    typed: records.reduce((n, r) => n + r.sentAt.length, 0),
    convergedDocuments: convergedAt.filter((t) => t !== null).length,
    skippedTicks,
    clientExceptions,
    updateErrors
  })
  process.exit(0)
}

main().catch((err) => {
  console.error(err)
  emit({ event: 'result', fatal: String(err && err.stack ? err.stack : err) })
  process.exit(1)
})
