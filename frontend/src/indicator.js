// The connection indicator in the header, and the same state on <body>
// (data-status, data-unsynced) for the page's CSS and the browser tests.

export function bindIndicator({ node, status }) {
  const label = node.querySelector('.status-label')
  status.subscribe((state) => {
    document.body.dataset.status = state.status
    document.body.dataset.unsynced = String(state.pending)
    node.dataset.status = state.status
    node.classList.toggle('is-pending', state.pending)
    label.textContent = state.label
    node.title = state.pending
      ? 'Some of your changes have not reached the server yet; they are kept in this browser.'
      : ''
  })
}
