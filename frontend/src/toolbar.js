// Toolbar buttons are rendered by the template (so the page shell looks right
// before this module loads); each has data-action naming an entry below.

const ACTIONS = {
  bold: { run: (c) => c.toggleBold(), active: (e) => e.isActive('bold') },
  italic: { run: (c) => c.toggleItalic(), active: (e) => e.isActive('italic') },
  strike: { run: (c) => c.toggleStrike(), active: (e) => e.isActive('strike') },
  h1: {
    run: (c) => c.toggleHeading({ level: 1 }),
    active: (e) => e.isActive('heading', { level: 1 }),
  },
  h2: {
    run: (c) => c.toggleHeading({ level: 2 }),
    active: (e) => e.isActive('heading', { level: 2 }),
  },
  h3: {
    run: (c) => c.toggleHeading({ level: 3 }),
    active: (e) => e.isActive('heading', { level: 3 }),
  },
  bulletList: { run: (c) => c.toggleBulletList(), active: (e) => e.isActive('bulletList') },
  orderedList: { run: (c) => c.toggleOrderedList(), active: (e) => e.isActive('orderedList') },
  blockquote: { run: (c) => c.toggleBlockquote(), active: (e) => e.isActive('blockquote') },
  codeBlock: { run: (c) => c.toggleCodeBlock(), active: (e) => e.isActive('codeBlock') },
  undo: { run: (c) => c.undo(), can: (e) => e.can().undo() },
  redo: { run: (c) => c.redo(), can: (e) => e.can().redo() },
}

export function bindToolbar({ toolbar, editor }) {
  const buttons = Array.from(toolbar.querySelectorAll('button[data-action]')).filter(
    (button) => ACTIONS[button.dataset.action],
  )

  const refresh = () => {
    const editable = editor.isEditable
    toolbar.classList.toggle('is-disabled', !editable)
    for (const button of buttons) {
      const action = ACTIONS[button.dataset.action]
      const isActive = action.active ? action.active(editor) : false
      button.classList.toggle('is-active', isActive)
      if (action.active) button.setAttribute('aria-pressed', String(isActive))
      button.disabled = !editable || (action.can ? !action.can(editor) : false)
    }
  }

  for (const button of buttons) {
    // Keep the editor's selection: a click must not move focus to the button.
    button.addEventListener('mousedown', (event) => event.preventDefault())
    button.addEventListener('click', () => {
      if (!editor.isEditable) return
      ACTIONS[button.dataset.action].run(editor.chain().focus()).run()
    })
  }

  editor.on('transaction', refresh)
  editor.on('focus', refresh)
  editor.on('blur', refresh)
  refresh()
  return refresh
}
