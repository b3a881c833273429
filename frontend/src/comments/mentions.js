// @mention autocomplete in a comment box: the document's people (owner and
// members), filtered by what follows the @ before the caret. Names are other
// people's input: text nodes only.

import { el } from '../dom.js'

const TRIGGER = /(?:^|[^\w@])@([\w.+-]{0,50})$/

export function bindMentions(textarea, people) {
  const list = el('ul', { class: 'mention-list', role: 'listbox', hidden: true })
  textarea.after(list)
  let matches = []
  let index = 0
  let start = -1

  function close() {
    list.hidden = true
    matches = []
  }

  function render() {
    list.replaceChildren(
      ...matches.map((person, i) =>
        el(
          'li',
          {
            class: i === index ? 'mention-option is-active' : 'mention-option',
            role: 'option',
            'aria-selected': i === index ? 'true' : 'false',
            onmousedown: (event) => {
              event.preventDefault()
              choose(i)
            },
          },
          el('span', { class: 'mention-dot', style: `background:${safeColor(person.color)}` }),
          el('span', { class: 'mention-name', text: person.name }),
          el('span', { class: 'mention-username', text: `@${person.username}` }),
        ),
      ),
    )
    list.hidden = matches.length === 0
  }

  function update() {
    const before = textarea.value.slice(0, textarea.selectionStart)
    const found = before.match(TRIGGER)
    if (!found) return close()
    const query = found[1].toLowerCase()
    start = textarea.selectionStart - found[1].length - 1
    matches = people()
      .filter(
        (p) => p.username.toLowerCase().startsWith(query) || p.name.toLowerCase().startsWith(query),
      )
      .slice(0, 6)
    index = 0
    render()
  }

  function choose(i) {
    const person = matches[i]
    if (!person) return
    const value = textarea.value
    const end = textarea.selectionStart
    const inserted = `@${person.username} `
    textarea.value = value.slice(0, start) + inserted + value.slice(end)
    const caret = start + inserted.length
    textarea.setSelectionRange(caret, caret)
    close()
    textarea.dispatchEvent(new Event('input'))
  }

  textarea.addEventListener('input', update)
  textarea.addEventListener('blur', () => setTimeout(close, 100))
  textarea.addEventListener('keydown', (event) => {
    if (list.hidden) return
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault()
      const step = event.key === 'ArrowDown' ? 1 : -1
      index = (index + step + matches.length) % matches.length
      render()
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      event.preventDefault()
      event.stopPropagation()
      choose(index)
    } else if (event.key === 'Escape') {
      event.stopPropagation()
      close()
    }
  })
}

/** A colour the server made (hsl or hex); anything else falls back to grey. */
export function safeColor(value) {
  return /^(#[0-9a-f]{3,8}|hsl\([\d.\s,%]+\))$/i.test(String(value)) ? value : '#8c959f'
}
