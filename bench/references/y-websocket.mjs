// The y-websocket server as the benchmark's reference: @y/websocket-server's own connection
// handler (setupWSConnection) with no persistence, so documents live in memory only. The room
// is the request path, so the project's /ws/documents/<id> URLs work unchanged.
//
//   node y-websocket.mjs PORT
//
// Prints "listening PORT" on stdout once it accepts connections.
import http from 'node:http'
import { WebSocketServer } from 'ws'
import { setupWSConnection } from '@y/websocket-server/utils'

const port = Number(process.argv[2])
const wss = new WebSocketServer({ noServer: true })
wss.on('connection', setupWSConnection)
const server = http.createServer((_request, response) => {
  response.writeHead(200, { 'Content-Type': 'text/plain' })
  response.end('okay')
})
server.on('upgrade', (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request))
})
process.on('SIGTERM', () => process.exit(0))
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`))
