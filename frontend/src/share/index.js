// The owner's "Share" dialog: who has which role, invitations by username or
// e-mail (and those waiting for an address to be confirmed), and share links.
// Everything goes through the sharing JSON API; every answer is the full
// listing, which the dialog renders again. The server tells open editors about
// role changes itself, so nothing here talks to the Yjs side.

import { createDialog } from './dialog.js'
import { createLinks } from './links.js'
import { createMembers } from './members.js'
import { ShareError, shareRequest } from './request.js'

export function bindShare({ button, owner }) {
  const accessUrl = button.dataset.accessUrl
  const linksUrl = button.dataset.linksUrl
  const pendingUrl = button.dataset.pendingUrl
  if (!accessUrl || !linksUrl || !pendingUrl) return

  // run and showError reach `ui` only once the user acts, after it exists.
  const showError = (message) => ui.showError(message)
  const members = createMembers({ owner, accessUrl, pendingUrl, run, showError })
  const links = createLinks({ linksUrl, run })
  const ui = createDialog({
    inviteForm: members.inviteForm,
    notice: members.notice,
    members: members.list,
    links: links.list,
    linkForm: links.linkForm,
  })

  /** One request at a time; the answer (the full listing) re-renders both lists. */
  async function run(method, url, body) {
    if (ui.busy) return null
    ui.setBusy(true)
    ui.showError('')
    try {
      const data = await shareRequest(method, url, body)
      members.render(data)
      links.render(data)
      return data
    } catch (exc) {
      ui.showError(exc instanceof ShareError ? exc.message : 'Something went wrong. Try again.')
      return null
    } finally {
      ui.setBusy(false)
    }
  }

  button.disabled = false
  button.addEventListener('click', () => {
    ui.showError('')
    ui.open()
    members.focus()
    run('GET', accessUrl)
  })
}
