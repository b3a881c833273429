// The banner that says why editing stopped for good, with a link onwards.

import { el } from './dom.js'

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

/** reason is ConnectionStatus's: 'signed-out', 'forbidden' or 'not-found'. */
export function showNotice({ box, reason, loginUrl }) {
  const notice = NOTICES[reason]
  const href =
    reason === 'signed-out' ? `${loginUrl}?next=${encodeURIComponent(location.pathname)}` : '/'
  const link = el('a', { href, text: notice.link })
  box.replaceChildren(document.createTextNode(notice.text + ' '), link)
  box.hidden = false
}
