// The connection indicator in the header, and the same state on <body>
// (data-status, data-unsynced, data-status-reason) for the page's CSS and the
// browser tests.

export function bindIndicator({ node, status }) {
  const label = node.querySelector('.status-label')
  status.subscribe((state) => {
    document.body.dataset.status = state.status
    document.body.dataset.unsynced = String(state.pending)
    document.body.dataset.statusReason = state.reason || ''
    node.dataset.status = state.status
    node.classList.toggle('is-pending', state.pending)
    label.textContent = state.label
    node.title = explain(state)
  })
}

function explain(state) {
  if (state.status === 'reconnecting') {
    return `The server asked this page to wait (${state.reason}); it reconnects by itself.` +
      (state.pending ? ' Your changes are kept in this browser until then.' : '')
  }
  if (state.status === 'halted') {
    return 'The server refused what this page sent; your unsaved changes are kept in this browser.'
  }
  if (state.reason === 'read-only') {
    return 'You can only view this document: your last changes were not saved.'
  }
  return state.pending
    ? 'Some of your changes have not reached the server yet; they are kept in this browser.'
    : ''
}
