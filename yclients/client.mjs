// One stock y-websocket client, driven by JSON lines on stdin, reporting on stdout.
//
//   node client.mjs <ws base url> <document id> <session cookie> <origin>
//
// Commands: {"op":"insert","text":"..","index":N?}  {"op":"delete","index":N,"length":N}
//           {"op":"get"}  {"op":"awareness","state":{..}}  {"op":"peers"}  {"op":"exit"}
//           {"op":"disconnect"}  {"op":"connect"}  (the provider's own, goodbye included)
//           {"op":"drop"}  (the socket dies with no goodbye and no reconnect until "connect")
// Events:   {"event":"status"|"synced"|"close"|"text"|"peers"|"awareness", ...}
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import readline from 'node:readline'

const [base, documentId, cookie, origin] = process.argv.slice(2)

class CookieWebSocket extends WebSocket {
  constructor (url, protocols) {
    super(url, protocols, { headers: { Cookie: cookie || '' }, origin })
  }
}

const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n')
const doc = new Y.Doc()
const text = doc.getText('text')
const provider = new WebsocketProvider(base + '/ws/documents', documentId, doc, {
  WebSocketPolyfill: CookieWebSocket,
  disableBc: true
})

// Like any editor app: announce ourselves (this bumps the awareness clock past
// 0, which peers would ignore). The server replaces `user` with our real identity.
provider.awareness.setLocalStateField('user', { name: 'node client' })

provider.on('status', ({ status }) => emit({ event: 'status', status }))
provider.on('sync', (synced) => { if (synced) emit({ event: 'synced', text: text.toString() }) })
provider.on('connection-close', (ev) => emit({ event: 'close', code: ev ? ev.code : null }))
provider.awareness.on('change', () => {
  const peers = []
  provider.awareness.getStates().forEach((state, clientId) => {
    if (clientId !== doc.clientID) peers.push({ clientId, state })
  })
  emit({ event: 'awareness', peers })
})
text.observe(() => emit({ event: 'text', text: text.toString() }))

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => {
  const cmd = JSON.parse(line)
  switch (cmd.op) {
    case 'insert':
      text.insert(cmd.index ?? text.length, cmd.text)
      break
    case 'delete':
      text.delete(cmd.index, cmd.length)
      break
    case 'get':
      emit({ event: 'text', text: text.toString() })
      break
    case 'awareness':
      provider.awareness.setLocalState(cmd.state)
      break
    case 'peers': {
      const peers = []
      provider.awareness.getStates().forEach((state, clientId) => {
        if (clientId !== doc.clientID) peers.push({ clientId, state })
      })
      emit({ event: 'peers', peers, clientId: doc.clientID })
      break
    }
    case 'disconnect':
      provider.disconnect()
      break
    case 'drop':
      // As when the network goes: no close frame, no awareness goodbye.
      provider.shouldConnect = false
      if (provider.ws) provider.ws.terminate()
      break
    case 'connect':
      provider.connect()
      break
    case 'exit':
      provider.destroy()
      setTimeout(() => process.exit(0), 50)
      break
  }
})
rl.on('close', () => { provider.destroy(); setTimeout(() => process.exit(0), 50) })
emit({ event: 'ready', clientId: doc.clientID })
