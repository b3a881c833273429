// Which link targets the editor may write, read the way a browser reads them.
//
// This is the browser's copy of the server's allow-list,
// documents/export/links.py safe_href, rule for rule: the scheme is judged
// after the WHATWG URL parser's own clean-up (C0 controls and spaces trimmed,
// tabs and newlines removed anywhere), so "java\tscript:" is a javascript:
// URL. Allowed: http, https, mailto, tel, and URLs without a scheme (paths,
// queries, fragments). Refused: every other scheme, anything that reads as one
// once every Unicode control and space is gone, and scheme-relative URLs
// ("//host", "\\host"). documents/tests/unit/test_safe_href_mirror.py runs
// both on the same cases, so the two cannot drift apart unnoticed.

export const SAFE_SCHEMES = new Set(['http', 'https', 'mailto', 'tel'])

const C0_OR_SPACE_AT_ENDS = /^[\u0000-\u0020]+|[\u0000-\u0020]+$/g
const TAB_OR_NEWLINE = /[\t\n\r]/g
const SCHEME = /^([A-Za-z][A-Za-z0-9+.\-]*):/
const SCHEME_RELATIVE = /^[/\\]{2}/
// Unicode categories C* (controls, format, surrogates, private use,
// unassigned) and Z* (spaces, line and paragraph separators), as Python's
// unicodedata.category(char)[0] in "CZ".
const CONTROL_OR_SPACE = /[\p{C}\p{Z}]/gu

/** The href as a browser would read it, or null when it is not a safe link target. */
export function safeHref(raw) {
  if (typeof raw !== 'string') return null
  const href = raw.replace(C0_OR_SPACE_AT_ENDS, '').replace(TAB_OR_NEWLINE, '')
  if (!href) return null
  if (!schemeAllowed(href) || SCHEME_RELATIVE.test(href)) return null
  const squeezed = href.replace(CONTROL_OR_SPACE, '')
  if (!schemeAllowed(squeezed) || SCHEME_RELATIVE.test(squeezed)) return null
  return href
}

function schemeAllowed(href) {
  const match = SCHEME.exec(href)
  return match === null || SAFE_SCHEMES.has(match[1].toLowerCase())
}

/**
 * What a person typed into the link box, as an href: "example.com" becomes
 * "https://example.com", an address becomes mailto:; null if not safe.
 */
export function hrefFromInput(typed) {
  const text = String(typed ?? '').trim()
  if (!text) return null
  if (!SCHEME.test(text) && !/^[/?#.]/.test(text)) {
    if (/^[^\s@/]+@[^\s@/]+\.[^\s@/]+$/.test(text)) return safeHref(`mailto:${text}`)
    if (/^[^\s/]+\.[^\s/]+/.test(text)) return safeHref(`https://${text}`)
  }
  return safeHref(text)
}
