// Hocuspocus as the benchmark's reference: no extensions, so documents live in memory only.
//
//   node hocuspocus.mjs PORT
//
// Prints "listening PORT" on stdout once it accepts connections.
import { Server } from '@hocuspocus/server'

const port = Number(process.argv[2])
const server = new Server({ port, address: '127.0.0.1', quiet: true })
await server.listen()
console.log(`listening ${port}`)
