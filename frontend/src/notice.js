// The banner above the document that says what happened and what to do:
// why editing stopped for good (with a link onwards), or what the page did
// about a refusal it could recover from (dismissable).

import { el } from './dom.js'

const NOTICES = {
  'signed-out': {
    text: 'You have been signed out. Sign in again to keep editing.',
    link: 'Sign in',
  },
  forbidden: { text: 'You no longer have access to this document.', link: 'Back to documents' },
  deleted: { text: 'This document was deleted by its owner.', link: 'Back to documents' },
  'not-found': {
    text: 'This document has been deleted, or you no longer have access to it.',
    link: 'Back to documents',
  },
}

/** reason is ConnectionStatus's: 'signed-out', 'forbidden', 'deleted' or 'not-found'. */
export function showNotice({ box, reason, loginUrl }) {
  const notice = NOTICES[reason]
  const href =
    reason === 'signed-out' ? `${loginUrl}?next=${encodeURIComponent(location.pathname)}` : '/'
  const link = el('a', { href, text: notice.link })
  show(box, 'error')
  box.replaceChildren(document.createTextNode(notice.text + ' '), link)
  box.dataset.notice = reason
}

/**
 * Any other message. `kind` names it for tests and CSS (data-notice);
 * `tone` is 'error' or 'warning'; each action is {label, onClick}; a
 * dismissable message gets a close button.
 */
export function showMessage({ box, kind, text, tone = 'error', actions = [], dismissable = false }) {
  const buttons = actions.map(({ label, onClick }) =>
    el('button', { type: 'button', class: 'btn btn-sm banner-action', text: label, onclick: onClick }),
  )
  if (dismissable) {
    buttons.push(
      el('button', {
        type: 'button',
        class: 'banner-close',
        'aria-label': 'Dismiss',
        text: '×',
        onclick: () => hideMessage(box),
      }),
    )
  }
  show(box, tone)
  box.replaceChildren(el('span', { class: 'banner-text', text }), ...buttons)
  box.dataset.notice = kind
}

export function hideMessage(box) {
  box.hidden = true
  box.replaceChildren()
  delete box.dataset.notice
}

function show(box, tone) {
  box.classList.toggle('banner--error', tone === 'error')
  box.classList.toggle('banner--warning', tone === 'warning')
  box.hidden = false
}
