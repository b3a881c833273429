// Calls to the sharing API, with any failure turned into a sentence the
// dialog can show.

import { apiFetch, readJson } from '../api.js'

/** A failure whose message is meant for the user. */
export class ShareError extends Error {}

export async function shareRequest(method, url, body) {
  let response
  try {
    response = await apiFetch(url, { method, body })
  } catch {
    throw new ShareError('The server cannot be reached. Check your connection and try again.')
  }
  // Not JSON (a proxy's error page, a CSRF failure page): the status explains.
  const data = await readJson(response)
  if (!response.ok) {
    if (data && typeof data.error === 'string') throw new ShareError(data.error)
    if (response.status === 401) throw new ShareError('You have been signed out. Sign in again.')
    if (response.status === 403) throw new ShareError('You are not allowed to do that.')
    throw new ShareError(`The server could not do that (error ${response.status}).`)
  }
  return data
}
