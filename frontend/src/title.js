// The title lives in the Yjs doc (meta.title), so every editor sees renames
// live; the server mirrors it into Document.title.

export const TITLE_ORIGIN = { name: 'title-input' }

// maxLength is the server's (config.titleMaxLength): what Document.title can hold.
export function bindTitle({ input, ydoc, fallback, maxLength, onTitle, onSubmit }) {
  const meta = ydoc.getMap('meta')
  input.maxLength = maxLength

  const current = () => {
    const value = meta.get('title')
    return typeof value === 'string' ? value : fallback
  }

  const render = () => {
    const value = current()
    if (input.value !== value) {
      const focused = document.activeElement === input
      const { selectionStart, selectionEnd } = input
      input.value = value
      if (focused) {
        input.setSelectionRange(
          Math.min(selectionStart ?? value.length, value.length),
          Math.min(selectionEnd ?? value.length, value.length),
        )
      }
    }
    onTitle(value.trim() || 'Untitled document')
  }

  const write = (value) => {
    // readOnly follows the role, which can change while the page is open.
    if (input.readOnly || meta.get('title') === value) return
    ydoc.transact(() => meta.set('title', value.slice(0, maxLength)), TITLE_ORIGIN)
  }

  input.addEventListener('input', () => write(input.value))
  input.addEventListener('blur', () => {
    if (!input.readOnly && !input.value.trim()) {
      input.value = 'Untitled document'
      write(input.value)
    }
  })
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === 'Escape') {
      event.preventDefault()
      onSubmit()
    }
  })

  meta.observe(render)
  render()
}
