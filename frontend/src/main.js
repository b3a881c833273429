// The collaborative editor: Tiptap bound to a Y.Doc, synced with the server
// over the stock y-websocket provider and kept offline in IndexedDB. This
// module wires the parts together; each concern lives in its own module.

import './editor.css'

import { Editor } from '@tiptap/core'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import Highlight from '@tiptap/extension-highlight'
import { TaskItem, TaskList } from '@tiptap/extension-list'
import { Placeholder } from '@tiptap/extensions'
import StarterKit from '@tiptap/starter-kit'
import { yUndoPluginKey } from '@tiptap/y-tiptap'
import { IndexeddbPersistence } from 'y-indexeddb'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

import { bindAvatars } from './avatars.js'
import { bindBell, bindComments } from './comments/index.js'
import { readConfig, websocketBase } from './config.js'
import { bindIndicator } from './indicator.js'
import { formatBytes } from './closecodes.js'
import { bindCounts } from './counts.js'
import { bindFind, FindExtension } from './find.js'
import { imageExtensions } from './images.js'
import { frameLimited } from './framelimit.js'
import { bindLinkBubble, linkExtension } from './links.js'
import { bindTableTools, insertTable, tableExtensions } from './tables.js'
import { showMessage, showNotice } from './notice.js'
import { revertChanges } from './revert.js'
import { bindOutline } from './outline.js'
import { bindRole } from './role.js'
import { bindShare } from './share/index.js'
import { bindShortcuts } from './shortcuts.js'
import { ConnectionStatus } from './status.js'
import { bindTitle } from './title.js'
import { bindToolbar } from './toolbar.js'

const $ = (id) => document.getElementById(id)

function start() {
  const config = readConfig()
  const ydoc = new Y.Doc()
  const persistence = new IndexeddbPersistence(`doc-${config.documentId}`, ydoc)
  let frameTooLarge = () => {}
  // When to reconnect is ConnectionStatus's decision (it sets shouldReconnect).
  const provider = new WebsocketProvider(websocketBase() + config.wsPath, config.documentId, ydoc, {
    WebSocketPolyfill: frameLimited(config.maxFrameBytes, (ws) => frameTooLarge(ws)),
  })
  const self = { id: config.user.id, name: config.user.name, color: config.user.color }

  const mount = $('editor')
  mount.replaceChildren()
  let links = null
  const notice = $('editor-notice')
  const images = imageExtensions({
    documentId: config.documentId,
    uploadUrl: config.imagesUrl,
    onError: (text) => showMessage({ box: notice, kind: 'image-refused', text, dismissable: true }),
  })
  const editor = new Editor({
    element: mount,
    editable: config.canEdit,
    extensions: [
      // Links are links.js's (the server's allow-list, and the bubble).
      StarterKit.configure({ undoRedo: false, link: false }),
      linkExtension({ onShortcut: () => links?.edit() }),
      Highlight,
      TaskList,
      TaskItem.configure({ nested: true }),
      ...tableExtensions(),
      FindExtension,
      ...images.extensions,
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
  links = bindLinkBubble({ editor })
  bindTableTools({ bar: $('table-tools'), editor })
  // The editor's undo history (Collaboration's UndoManager), which a revert edits too.
  const history = () => yUndoPluginKey.getState(editor.state)?.undoManager ?? null
  let refreshToolbar = () => {}
  const find = bindFind({ editor, history, onToggle: () => refreshToolbar() })
  const outline = bindOutline({ editor, onToggle: () => refreshToolbar() })
  const shortcuts = bindShortcuts({ onFind: () => find.open(), onReplace: () => find.open({ replace: true }) })
  bindCounts({ box: $('doc-counts'), editor })
  refreshToolbar = bindToolbar({
    toolbar: $('toolbar'),
    editor,
    actions: {
      link: { command: () => links.edit(), active: (e) => e.isActive('link') },
      table: { command: insertTable, can: (e) => e.can().insertTable() },
      image: { command: () => images.pick() },
      find: { command: () => (find.isOpen() ? find.hide() : find.open()), active: () => find.isOpen(), always: true },
      outline: { command: () => outline.toggle(), active: () => outline.isOpen(), always: true },
      shortcuts: { command: () => shortcuts.open(), always: true },
    },
  })

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

  const role = bindRole({
    apiUrl: config.apiUrl,
    editor,
    refreshToolbar,
    titleInput: $('doc-title'),
    banner: $('readonly-banner'),
    badge: $('role-badge'),
  })

  const status = new ConnectionStatus({
    provider,
    ydoc,
    ignoreOrigins: [persistence],
    storageKey: `collab:unsynced:${config.documentId}`,
    apiUrl: config.apiUrl,
    closeCodes: config.closeCodes,
    finalCloseCodes: config.finalCloseCodes,
    maxFrameBytes: config.maxFrameBytes,
    onTooLarge: (change, event) => {
      // Only what the server lacks is taken back; everything else syncs.
      if (!revertChanges(ydoc, [change], history())) return false
      showMessage({ box: notice, ...tooLarge(event, config), tone: 'warning', dismissable: true })
      return true
    },
    onWritesRefused: (changes) => {
      role.viewOnly()
      // Discarded rather than kept as "unsaved": a Google Docs user made a
      // viewer mid-sentence finds the document as it was saved, and is told
      // the last changes were not. Kept, they would show only on this page
      // and then appear for everyone whenever edit access came back, maybe
      // days later and in a document that has moved on.
      const discarded = revertChanges(ydoc, changes, history())
      showMessage({
        box: notice,
        kind: 'read-only',
        tone: 'warning',
        dismissable: true,
        text: discarded
          ? 'You are now a viewer: your last changes were not saved, and have been removed.'
          : 'You are now a viewer: your last changes were not saved. They are kept in this ' +
            'browser and will be saved if you can edit again.',
      })
      return discarded
    },
  })
  frameTooLarge = (ws) => status.frameTooLarge(ws)
  bindIndicator({ node: $('connection-status'), status })

  // The server closes with ACCESS_CHANGED when our role changed; the provider
  // reconnects under the new role, and the page follows it.
  provider.on('connection-close', (event) => {
    if (event && event.code === config.closeCodes.ACCESS_CHANGED) role.refresh()
  })

  status.subscribe((state) => {
    if (state.status === 'denied') {
      role.lock()
      showNotice({ box: notice, reason: state.reason, loginUrl: config.loginUrl })
      // Revoked or deleted: do not keep a copy of the content in this browser.
      if (state.reason !== 'signed-out') persistence.clearData()
    } else if (state.status === 'halted') {
      // Unsaved edits stay in IndexedDB: a reload sends them again.
      role.lock()
      showMessage({ box: notice, ...halted(state.reason, status.lastClose, config, persistence) })
    }
  })

  // A dead network can leave a socket open for a long time; trust the browser's view.
  window.addEventListener('offline', () => {
    if (!status.stopped) provider.disconnect()
  })
  window.addEventListener('online', () => {
    if (!status.stopped) provider.connect()
  })
  // Tell the others at once that we are gone, rather than leaving a caret behind.
  window.addEventListener('pagehide', () => provider.awareness.setLocalState(null))
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) window.location.reload()
  })

  // Panels sit under the toolbar, whose height changes (the table bar, wrapping).
  const toolbar = $('toolbar')
  new ResizeObserver(() => {
    const bottom = Math.round(toolbar.getBoundingClientRect().height + toolbar.offsetTop)
    document.documentElement.style.setProperty('--chrome-bottom', `${bottom}px`)
  }).observe(toolbar)
  bindComments({
    editor,
    config,
    root: $('comments'),
    addButtons: [...document.querySelectorAll('.comments-add, .comment-fab')],
  })
  bindBell($('notifications'))

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

/** The message for a change refused as too large, and taken back. */
function tooLarge(event, config) {
  // This page holds back frames over the frame limit itself (event is null
  // then), so the server's TOO_LARGE is about the document's size.
  if (event && config.maxFrameBytes) {
    const limit = config.maxDocumentBytes ? ` (${formatBytes(config.maxDocumentBytes)})` : ''
    return {
      kind: 'document-too-large',
      text:
        `This document has reached its size limit${limit}: your last change could not be ` +
        'saved. It was undone; your earlier text is safe.',
    }
  }
  const limit = config.maxFrameBytes ? ` (limit ${formatBytes(config.maxFrameBytes)})` : ''
  return {
    kind: 'too-large',
    text: `That paste is too large to save${limit}. It was undone; your earlier text is safe.`,
  }
}

/** The message for a refusal retrying cannot cure. */
function halted(reason, lastClose, config, persistence) {
  const reload = { label: 'Reload', onClick: () => window.location.reload() }
  if (reason === 'too-large') {
    const limit = config.maxFrameBytes ? ` (limit ${formatBytes(config.maxFrameBytes)})` : ''
    return {
      kind: 'halted-too-large',
      text:
        `Your unsaved changes are too large to save at once${limit}. ` +
        'Copy anything you need from the page, then discard them and reload.',
      actions: [
        {
          label: 'Discard and reload',
          onClick: () => persistence.clearData().then(() => window.location.reload()),
        },
      ],
    }
  }
  if (reason === 'rejected') {
    return {
      kind: 'halted-rejected',
      text:
        'This editor sent something the server could not accept; reload the page. ' +
        'Your unsaved changes are kept in this browser.',
      actions: [reload],
    }
  }
  const why = lastClose && lastClose.reason ? ` (${lastClose.reason})` : ''
  return {
    kind: 'halted',
    text: `The server stopped this editor${why}. Reload the page; your unsaved changes are kept in this browser.`,
    actions: [reload],
  }
}

start()
