// The page renders its config with Django's json_script; this reads and checks it.

export function readConfig(doc = document) {
  const node = doc.getElementById('editor-config')
  if (!node) throw new Error('editor-config script tag is missing')
  const raw = JSON.parse(node.textContent || '{}')
  for (const key of ['documentId', 'user', 'wsPath']) {
    if (raw[key] == null) throw new Error(`editor-config lacks "${key}"`)
  }
  return {
    documentId: String(raw.documentId),
    title: typeof raw.title === 'string' ? raw.title : '',
    user: { id: raw.user.id, name: String(raw.user.name), color: String(raw.user.color) },
    role: raw.role || 'viewer',
    canEdit: Boolean(raw.canEdit),
    wsPath: String(raw.wsPath),
    loginUrl: typeof raw.loginUrl === 'string' ? raw.loginUrl : '/accounts/login/',
    apiUrl: typeof raw.apiUrl === 'string' ? raw.apiUrl : null,
  }
}

export function websocketBase(loc = window.location) {
  return (loc.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + loc.host
}
