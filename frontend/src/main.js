// The collaborative editor: Tiptap bound to a Y.Doc, synced with the server
// over the stock y-websocket provider and kept offline in IndexedDB.

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
import { bindShare } from './share.js'
import { ConnectionStatus, shouldReconnect } from './status.js'
import { bindTitle } from './title.js'
import { bindToolbar } from './toolbar.js'

const ACCESS_CHANGED = 4100

const NOTICES = {
  'signed-out': {
    text: 'You have been signed out. Sign in again to keep editing.',
    link: 'Sign in',
  },
  forbidden: { text: 'You no longer have access to this document.', link: 'Back to documents' },
  'not-found': {
    text: 'This document has been deleted, or you no longer have access to it.',
    link: 'Back to documents',
  },
}

function start() {
  const config = readConfig()
  const $ = (id) => document.getElementById(id)
  const ydoc = new Y.Doc()
  const persistence = new IndexeddbPersistence(`doc-${config.documentId}`, ydoc)
  const provider = new WebsocketProvider(
    websocketBase() + config.wsPath,
    config.documentId,
    ydoc,
    { shouldReconnect },
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
  })
  const statusNode = $('connection-status')
  status.subscribe((state) => {
    document.body.dataset.status = state.status
    document.body.dataset.unsynced = String(state.pending)
    statusNode.dataset.status = state.status
    statusNode.classList.toggle('is-pending', state.pending)
    statusNode.querySelector('.status-label').textContent = state.label
    statusNode.title = state.pending
      ? 'Some of your changes have not reached the server yet; they are kept in this browser.'
      : ''
    if (state.status === 'denied') onDenied(state.reason)
  })

  function onDenied(reason) {
    if (editor.isEditable) editor.setEditable(false)
    refreshToolbar()
    $('doc-title').readOnly = true
    const notice = NOTICES[reason]
    const box = $('editor-notice')
    const link = document.createElement('a')
    link.textContent = notice.link
    link.href =
      reason === 'signed-out'
        ? `${config.loginUrl}?next=${encodeURIComponent(location.pathname)}`
        : '/'
    box.replaceChildren(document.createTextNode(notice.text + ' '), link)
    box.hidden = false
    // Revoked or deleted: do not keep a copy of the content in this browser.
    if (reason !== 'signed-out') persistence.clearData()
  }

  // The server closes with 4100 when our role changed; the provider reconnects
  // under the new role, and the page follows it.
  provider.on('connection-close', (event) => {
    if (event && event.code === ACCESS_CHANGED) refreshRole()
  })

  async function refreshRole() {
    if (!config.apiUrl) return
    try {
      const response = await fetch(config.apiUrl, {
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
      })
      if (!response.ok) return // a refusal arrives as a close code on the next connect
      const data = await response.json()
      applyRole(data.role, Boolean(data.can_edit))
    } catch {
      // Offline: the next connection will tell.
    }
  }

  function applyRole(role, canEdit) {
    if (status.denied) return
    config.role = role
    config.canEdit = canEdit
    document.body.dataset.role = role
    document.body.classList.toggle('is-readonly', !canEdit)
    if (editor.isEditable !== canEdit) editor.setEditable(canEdit)
    $('doc-title').readOnly = !canEdit
    $('readonly-banner').hidden = canEdit
    const badge = $('role-badge')
    badge.className = `role role--${role}`
    badge.textContent = role.charAt(0).toUpperCase() + role.slice(1)
    refreshToolbar()
  }

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
  window.__editor = editor
  window.__ydoc = ydoc
  window.__provider = provider
  window.__persistence = persistence
  window.__status = status
}

start()
