// Requests to this site's JSON API: the session cookie goes along, and
// anything other than a GET carries Django's CSRF token.

/** The CSRF token: the csrftoken cookie, else a {% csrf_token %} field in the page. */
export function csrfToken(doc = document) {
  const match = doc.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/)
  if (match) return decodeURIComponent(match[1])
  const field = doc.querySelector('input[name=csrfmiddlewaretoken]')
  return field ? field.value : ''
}

/** fetch() for a JSON endpoint; like fetch, it rejects only when the server cannot be reached. */
export function apiFetch(url, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' }
  if (method !== 'GET') headers['X-CSRFToken'] = csrfToken()
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  return fetch(url, {
    method,
    credentials: 'same-origin',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

/** The response's JSON body, or null for anything else (a proxy's error page, a CSRF failure). */
export async function readJson(response) {
  try {
    return await response.json()
  } catch {
    return null
  }
}
