// Building DOM nodes in code, for the parts of the page the template does not render.

/**
 * A new element: `class` and `text` set className and textContent, `on…`
 * keys add listeners, non-string values for properties the element has
 * (readOnly, selected) are assigned, anything else becomes an attribute.
 * null and false leave a key out.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue
    if (key === 'class') node.className = value
    else if (key === 'text') node.textContent = value
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value)
    else if (key in node && typeof value !== 'string') node[key] = value
    else node.setAttribute(key, value === true ? '' : value)
  }
  node.append(...children.filter((c) => c != null))
  return node
}
