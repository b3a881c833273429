"""Which link targets every format may write, read the way a browser reads them.

A browser does not look at an href as written: the WHATWG URL parser first
strips leading and trailing C0 controls and spaces and removes every ASCII tab
and newline, so "java<TAB>script:" and "\\x01javascript:" are javascript: URLs.
The scheme is judged here on the string after that same clean-up, and the
cleaned string is what the renderers write, so what is checked is what runs.

Allowed: http, https, mailto and tel, and URLs without a scheme (paths,
queries, fragments), which resolve against the page and so cannot carry a
scheme of their own. Refused: every other scheme (javascript, vbscript, data,
file, ...), anything that reads as one even with all Unicode controls and
spaces removed (for parsers laxer than the standard), and scheme-relative URLs
("//host", "\\\\host"). Those take the page's scheme: harmless on the site, but
an exported file opened from disk would turn "//host/share" into
file://host/share, which Windows fetches over SMB. Anyone who means another
site can write https:// explicitly.
"""

from __future__ import annotations

import re
import unicodedata

SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

# The URL parser's first steps: C0 controls and space trimmed from both ends,
# ASCII tab and newline removed everywhere.
_C0_OR_SPACE = "".join(chr(code) for code in range(0x21))
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
# Its scheme state: an ASCII letter, then ASCII letters, digits, "+", "-", ".",
# up to a ":". Anything else before the ":" means the URL has no scheme.
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# Browsers read "\" as "/" in http(s) URLs, so "\\host" and "/\host" are "//host".
_SCHEME_RELATIVE = re.compile(r"[/\\]{2}")


def safe_href(raw: object) -> str | None:
    """The href as a browser would read it, or None when it is not a safe link target."""
    if not isinstance(raw, str):
        return None
    href = _TAB_OR_NEWLINE.sub("", raw.strip(_C0_OR_SPACE))
    if not href:
        return None
    if not _scheme_allowed(href) or _SCHEME_RELATIVE.match(href):
        return None
    # Belt and braces for parsers laxer than the standard: with every control,
    # format and space character gone (Unicode C* and Z*, say "java\x01script:"
    # or a leading no-break space), the scheme must still be allowed.
    squeezed = "".join(char for char in href if unicodedata.category(char)[0] not in "CZ")
    if not _scheme_allowed(squeezed) or _SCHEME_RELATIVE.match(squeezed):
        return None
    return href


def _scheme_allowed(href: str) -> bool:
    scheme = _SCHEME.match(href)
    return scheme is None or scheme.group(1).lower() in SAFE_SCHEMES
