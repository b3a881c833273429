// Encodes fixed sample messages with y-protocols and lib0, printing hex as JSON,
// so the server's protocol module can be checked against them byte for byte.
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import * as authProtocol from 'y-protocols/auth'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as Y from 'yjs'

const hex = (u8) => Buffer.from(u8).toString('hex')
const out = {}

const varuints = [0, 1, 127, 128, 300, 16384, 2 ** 31, 2 ** 53 - 1]
out.varuints = varuints.map((n) => {
  const e = encoding.createEncoder(); encoding.writeVarUint(e, n); return hex(encoding.toUint8Array(e))
})
const strings = ['', 'hello', 'héllo wörld ✓', '🙂']
out.strings = strings.map((s) => {
  const e = encoding.createEncoder(); encoding.writeVarString(e, s); return hex(encoding.toUint8Array(e))
})

const doc = new Y.Doc()
doc.clientID = 42
doc.getText('text').insert(0, 'hi')
const update = Y.encodeStateAsUpdate(doc)
const sv = Y.encodeStateVector(doc)
out.update = hex(update)
out.stateVector = hex(sv)

let e = encoding.createEncoder(); encoding.writeVarUint(e, 0); syncProtocol.writeSyncStep1(e, doc)
out.step1 = hex(encoding.toUint8Array(e))
e = encoding.createEncoder(); encoding.writeVarUint(e, 0); syncProtocol.writeSyncStep2(e, doc, new Uint8Array([0]))
out.step2 = hex(encoding.toUint8Array(e))
e = encoding.createEncoder(); encoding.writeVarUint(e, 0); syncProtocol.writeUpdate(e, update)
out.syncUpdate = hex(encoding.toUint8Array(e))
e = encoding.createEncoder(); encoding.writeVarUint(e, 2); authProtocol.writePermissionDenied(e, 'read-only access')
out.permissionDenied = hex(encoding.toUint8Array(e))
e = encoding.createEncoder(); encoding.writeVarUint(e, 3)
out.queryAwareness = hex(encoding.toUint8Array(e))

const awareness = new awarenessProtocol.Awareness(doc)
awareness.setLocalState({ user: { name: 'Zoë', color: '#123456' }, cursor: null })
const payload = awarenessProtocol.encodeAwarenessUpdate(awareness, [42])
out.awarenessPayload = hex(payload)
out.awarenessClock = awareness.meta.get(42).clock
e = encoding.createEncoder(); encoding.writeVarUint(e, 1); encoding.writeVarUint8Array(e, payload)
out.awarenessFrame = hex(encoding.toUint8Array(e))
awareness.destroy()

console.log(JSON.stringify(out))
