// The page renders its config with Django's json_script; this reads and checks it.
// Keys added since the first version fall back to the values the page used
// before the server sent them, so an older page still works.

// The close codes this page acts on; the server sends all of its CloseCode
// names, and those win.
const DEFAULT_CLOSE_CODES = {
  ACCESS_CHANGED: 4100,
  BAD_FRAME: 4400,
  NOT_AUTHENTICATED: 4401,
  FORBIDDEN: 4403,
  NOT_FOUND: 4404,
  TOO_LARGE: 4413,
  UNSUPPORTED_DATA: 4415,
  INVALID_UPDATE: 4422,
  SERVER_ERROR: 4500,
  ROOM_FULL: 4509,
  RATE_LIMITED: 4529,
}
const DEFAULT_TITLE_MAX_LENGTH = 200

export function readConfig(doc = document) {
  const node = doc.getElementById('editor-config')
  if (!node) throw new Error('editor-config script tag is missing')
  const raw = JSON.parse(node.textContent || '{}')
  for (const key of ['documentId', 'user', 'wsPath']) {
    if (raw[key] == null) throw new Error(`editor-config lacks "${key}"`)
  }
  const closeCodes = { ...DEFAULT_CLOSE_CODES, ...integersIn(raw.closeCodes) }
  return {
    documentId: String(raw.documentId),
    title: typeof raw.title === 'string' ? raw.title : '',
    user: { id: raw.user.id, name: String(raw.user.name), color: String(raw.user.color) },
    role: raw.role || 'viewer',
    canEdit: Boolean(raw.canEdit),
    wsPath: String(raw.wsPath),
    loginUrl: typeof raw.loginUrl === 'string' ? raw.loginUrl : '/accounts/login/',
    apiUrl: typeof raw.apiUrl === 'string' ? raw.apiUrl : null,
    closeCodes,
    // The refusals after which reconnecting cannot help.
    finalCloseCodes: Array.isArray(raw.finalCloseCodes)
      ? raw.finalCloseCodes.filter(Number.isInteger)
      : Object.values(closeCodes).filter((code) => code >= 4400 && code < 4500),
    // The server's size limits, for messages ("limit 2 MB"); null when not sent.
    maxFrameBytes: positiveInteger(raw.maxFrameBytes),
    maxDocumentBytes: positiveInteger(raw.maxDocumentBytes),
    titleMaxLength:
      Number.isInteger(raw.titleMaxLength) && raw.titleMaxLength > 0
        ? raw.titleMaxLength
        : DEFAULT_TITLE_MAX_LENGTH,
    // Where this document's images are uploaded (the server's images API).
    imagesUrl:
      typeof raw.imagesUrl === 'string'
        ? raw.imagesUrl
        : `/api/documents/${encodeURIComponent(String(raw.documentId))}/images/`,
    // The comments' JSON API (documents/comments/); null on pages without comments.
    commentsUrl: typeof raw.commentsUrl === 'string' ? raw.commentsUrl : null,
    // window.__editor and friends, for the browser tests and benchmarks only.
    testHooks: raw.testHooks === true,
  }
}

function positiveInteger(value) {
  return Number.isInteger(value) && value > 0 ? value : null
}

/** The name -> code entries of an object whose codes are integers. */
function integersIn(value) {
  if (!value || typeof value !== 'object') return {}
  return Object.fromEntries(Object.entries(value).filter(([, code]) => Number.isInteger(code)))
}

export function websocketBase(loc = window.location) {
  return (loc.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + loc.host
}
