// The collaborative editor: Tiptap bound to a Y.Doc, synced with the server
// over the stock y-websocket provider and kept offline in IndexedDB. This
// module wires the parts together; each concern lives in its own module.

import './editor.css'

import { Editor } from '@tiptap/core'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import { Placeholder } from '@tiptap/extensions'
import StarterKit from '@tiptap/starter-kit'
import { IndexeddbPersistence } from 'y-indexeddb'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

import { bindAvatars } from './avatars.js'
import { readConfig, websocketBase } from './config.js'
import { bindIndicator } from './indicator.js'
import { showNotice } from './notice.js'
import { bindRole } from './role.js'
import { bindShare } from './share/index.js'
import { ConnectionStatus, reconnectUnless } from './status.js'
import { bindTitle } from './title.js'
import { bindToolbar } from './toolbar.js'

const $ = (id) => document.getElementById(id)

function start() {
  const config = readConfig()
  const ydoc = new Y.Doc()
  const persistence = new IndexeddbPersistence(`doc-${config.documentId}`, ydoc)
  const provider = new WebsocketProvider(
    websocketBase() + config.wsPath,
    config.documentId,
    ydoc,
    { shouldReconnect: reconnectUnless(config.finalCloseCodes) },
  )
  const self = { id: config.user.id, name: config.user.name, color: config.user.color }

  const mount = $('editor')
  mount.replaceChildren()
  const editor = new Editor({
    element: mount,
    editable: config.canEdit,
    extensions: [
      StarterKit.configure({ undoRedo: false, link: { openOnClick: !config.canEdit } }),
      Collaboration.configure({ document: ydoc }),
      CollaborationCaret.configure({ provider, user: self }),
      Placeholder.configure({ placeholder: config.canEdit ? 'Start writing…' : '' }),
    ],
    editorProps: {
      attributes: {
        class: 'doc-body',
        'aria-label': 'Document body',
        'aria-multiline': 'true',
        role: 'textbox',
      },
    },
  })
  const refreshToolbar = bindToolbar({ toolbar: $('toolbar'), editor })

  $('doc-title').readOnly = !config.canEdit
  bindTitle({
    input: $('doc-title'),
    ydoc,
    fallback: config.title,
    maxLength: config.titleMaxLength,
    onTitle: (title) => {
      document.title = `${title} · Editor`
    },
    onSubmit: () => editor.commands.focus(),
  })

  bindAvatars({ container: $('avatars'), awareness: provider.awareness, self })

  // Owner only: the template renders the button for the owner alone.
  if (config.role === 'owner' && $('share-button')) {
    bindShare({ button: $('share-button'), owner: self })
  }

  const status = new ConnectionStatus({
    provider,
    ydoc,
    ignoreOrigins: [persistence],
    storageKey: `collab:unsynced:${config.documentId}`,
    apiUrl: config.apiUrl,
    closeCodes: config.closeCodes,
    finalCloseCodes: config.finalCloseCodes,
  })
  bindIndicator({ node: $('connection-status'), status })

  const role = bindRole({
    apiUrl: config.apiUrl,
    editor,
    refreshToolbar,
    titleInput: $('doc-title'),
    banner: $('readonly-banner'),
    badge: $('role-badge'),
  })
  // The server closes with ACCESS_CHANGED when our role changed; the provider
  // reconnects under the new role, and the page follows it.
  provider.on('connection-close', (event) => {
    if (event && event.code === config.closeCodes.ACCESS_CHANGED) role.refresh()
  })

  status.subscribe((state) => {
    if (state.status !== 'denied') return
    role.lock()
    showNotice({ box: $('editor-notice'), reason: state.reason, loginUrl: config.loginUrl })
    // Revoked or deleted: do not keep a copy of the content in this browser.
    if (state.reason !== 'signed-out') persistence.clearData()
  })

  // A dead network can leave a socket open for a long time; trust the browser's view.
  window.addEventListener('offline', () => {
    if (!status.denied) provider.disconnect()
  })
  window.addEventListener('online', () => {
    if (!status.denied) provider.connect()
  })
  // Tell the others at once that we are gone, rather than leaving a caret behind.
  window.addEventListener('pagehide', () => provider.awareness.setLocalState(null))
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) window.location.reload()
  })

  document.body.classList.add('editor-ready')
  // For the browser tests and benchmarks; a normal page exposes nothing.
  if (config.testHooks) {
    Object.assign(window, {
      __editor: editor,
      __ydoc: ydoc,
      __provider: provider,
      __persistence: persistence,
      __status: status,
    })
  }
}

start()
