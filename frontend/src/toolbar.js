// Toolbar buttons are rendered by the template (so the page shell looks right
// before this module loads); each has data-action naming an entry below, or
// one of the `actions` the caller adds: {command(editor), active?, can?,
// always?}. An `always` action (find, outline, shortcuts) works for viewers
// too; the others need an editable document.

const ACTIONS = {
  bold: { run: (c) => c.toggleBold(), active: (e) => e.isActive('bold') },
  italic: { run: (c) => c.toggleItalic(), active: (e) => e.isActive('italic') },
  strike: { run: (c) => c.toggleStrike(), active: (e) => e.isActive('strike') },
  underline: { run: (c) => c.toggleUnderline(), active: (e) => e.isActive('underline') },
  code: { run: (c) => c.toggleCode(), active: (e) => e.isActive('code') },
  highlight: { run: (c) => c.toggleHighlight(), active: (e) => e.isActive('highlight') },
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
  taskList: { run: (c) => c.toggleTaskList(), active: (e) => e.isActive('taskList') },
  horizontalRule: { run: (c) => c.setHorizontalRule() },
  undo: { run: (c) => c.undo(), can: (e) => e.can().undo() },
  redo: { run: (c) => c.redo(), can: (e) => e.can().redo() },
}

export function bindToolbar({ toolbar, editor, actions = {} }) {
  const all = { ...ACTIONS, ...actions }
  const buttons = Array.from(toolbar.querySelectorAll('button[data-action]')).filter(
    (button) => all[button.dataset.action],
  )

  const refresh = () => {
    const editable = editor.isEditable
    toolbar.classList.toggle('is-disabled', !editable)
    for (const button of buttons) {
      const action = all[button.dataset.action]
      const isActive = action.active ? action.active(editor) : false
      button.classList.toggle('is-active', isActive)
      if (action.active) button.setAttribute('aria-pressed', String(isActive))
      button.disabled =
        (!editable && !action.always) || (action.can ? !action.can(editor) : false)
    }
  }

  for (const button of buttons) {
    // Keep the editor's selection: a click must not move focus to the button.
    button.addEventListener('mousedown', (event) => event.preventDefault())
    button.addEventListener('click', () => {
      const action = all[button.dataset.action]
      if (!editor.isEditable && !action.always) return
      if (action.command) action.command(editor)
      else action.run(editor.chain().focus()).run()
    })
  }

  editor.on('transaction', refresh)
  editor.on('focus', refresh)
  editor.on('blur', refresh)
  refresh()
  return refresh
}
