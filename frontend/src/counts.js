// Word and character counts of the document, and of the selection when
// there is one, in a small box at the foot of the page.

const WORDS = typeof Intl !== 'undefined' && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: 'word' }) : null

/** Words as a reader counts them: Intl.Segmenter's word-like segments (CJK included). */
export function countWords(text) {
  if (!WORDS) return text.split(/\s+/).filter(Boolean).length
  let count = 0
  for (const segment of WORDS.segment(text)) if (segment.isWordLike) count++
  return count
}

/** Characters, spaces included, line breaks between blocks not; an emoji is one. */
export function countCharacters(text) {
  let count = 0
  for (const char of text) if (char !== '\n') count++
  return count
}

// Blocks and leaf nodes (images, rules, breaks) separate words without counting.
const textOf = (doc, from, to) => doc.textBetween(from, to, '\n', '\n')

/** {words, characters} of the document, and of the selection (null when it is empty). */
export function countsOf(state) {
  const { doc, selection } = state
  const all = textOf(doc, 0, doc.content.size)
  const result = { words: countWords(all), characters: countCharacters(all), selection: null }
  if (!selection.empty) {
    const picked = selection.ranges.map((r) => textOf(doc, r.$from.pos, r.$to.pos)).join('\n')
    const characters = countCharacters(picked)
    // A selected image or rule holds no text: the document's counts stay.
    if (characters) result.selection = { words: countWords(picked), characters }
  }
  return result
}

const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`

export function bindCounts({ box, editor }) {
  let timer = null
  const show = () => {
    timer = null
    const { words, characters, selection } = countsOf(editor.state)
    box.dataset.words = String(words)
    box.dataset.characters = String(characters)
    if (selection) {
      box.dataset.selectionWords = String(selection.words)
      box.dataset.selectionCharacters = String(selection.characters)
      box.textContent =
        `${selection.words.toLocaleString()} of ${plural(words, 'word')} · ` +
        `${selection.characters.toLocaleString()} of ${plural(characters, 'character')}`
    } else {
      delete box.dataset.selectionWords
      delete box.dataset.selectionCharacters
      box.textContent = `${plural(words, 'word')} · ${plural(characters, 'character')}`
    }
  }
  // Counting a long document on every keystroke would slow typing down.
  const later = () => {
    if (timer === null) timer = setTimeout(show, 250)
  }
  editor.on('update', later)
  editor.on('selectionUpdate', later)
  box.hidden = false
  show()
}
