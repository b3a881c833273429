// The dialog around the sharing sections: its layout, closing (the × button
// or a click on the backdrop), the error line, and the busy state that locks
// the controls while a request is in flight.

import { el } from '../dom.js'

export function createDialog({ inviteForm, notice, members, links, linkForm }) {
  const error = el('p', { class: 'share-error', role: 'alert', hidden: true })
  const closeButton = el('button', {
    type: 'button',
    class: 'share-close',
    'aria-label': 'Close',
    title: 'Close',
    text: '×',
    onclick: () => dialog.close(),
  })
  const dialog = el(
    'dialog',
    { id: 'share-dialog', class: 'share-dialog', 'aria-labelledby': 'share-heading' },
    el(
      'div',
      { class: 'share-head' },
      el('h2', { id: 'share-heading', text: 'Share this document' }),
      closeButton,
    ),
    inviteForm,
    notice,
    error,
    el('h3', { class: 'share-section', text: 'People with access' }),
    members,
    el('h3', { class: 'share-section', text: 'Share links' }),
    el('p', {
      class: 'share-hint',
      text: 'Anyone signed in who opens a link gets its role. Revoking a link takes that access back.',
    }),
    links,
    linkForm,
  )
  document.body.append(dialog)

  // A click on the backdrop (outside the dialog's box) closes it.
  dialog.addEventListener('click', (event) => {
    if (event.target !== dialog) return
    const box = dialog.getBoundingClientRect()
    const inside =
      event.clientX >= box.left &&
      event.clientX <= box.right &&
      event.clientY >= box.top &&
      event.clientY <= box.bottom
    if (!inside) dialog.close()
  })

  let busy = false
  return {
    get busy() {
      return busy
    },
    setBusy(on) {
      busy = on
      dialog.classList.toggle('is-busy', on)
      dialog.setAttribute('aria-busy', String(on))
      // Closing, and selecting a link's URL to copy it, stay possible.
      for (const control of dialog.querySelectorAll('button, select, input')) {
        if (control === closeButton || control.classList.contains('share-url')) continue
        control.disabled = on
      }
    },
    showError(message) {
      error.textContent = message || ''
      error.hidden = !message
    },
    open() {
      if (!dialog.open) dialog.showModal()
    },
  }
}
