// Tables: Tiptap's table nodes (table, tableRow, tableHeader, tableCell with
// colspan, rowspan, colwidth), the bar of table commands shown while the
// caret is in a table, and a paste of tab-separated rows (what a spreadsheet
// puts on the clipboard when it offers no HTML) as a table. A table pasted as
// HTML, from a spreadsheet or another editor, is parsed by the nodes themselves.

import { Extension } from '@tiptap/core'
import { TableKit } from '@tiptap/extension-table'
import { Plugin, PluginKey } from '@tiptap/pm/state'

// Beyond this a paste stays text: a table of thousands of cells would be
// slow to draw, and more likely a log file than a sheet.
const MAX_PASTED_CELLS = 2000

export const TABLE_COMMANDS = {
  rowBefore: (c) => c.addRowBefore(),
  rowAfter: (c) => c.addRowAfter(),
  columnBefore: (c) => c.addColumnBefore(),
  columnAfter: (c) => c.addColumnAfter(),
  deleteRow: (c) => c.deleteRow(),
  deleteColumn: (c) => c.deleteColumn(),
  headerRow: (c) => c.toggleHeaderRow(),
  mergeOrSplit: (c) => c.mergeOrSplit(),
  deleteTable: (c) => c.deleteTable(),
}

/** The rows of a tab-separated paste, or null when the text is not a table. */
export function rowsFromTsv(text) {
  const lines = text.replace(/\r\n?/g, '\n').replace(/\n$/, '').split('\n')
  if (lines.length < 1 || !lines.some((line) => line.includes('\t'))) return null
  const rows = lines.map((line) => line.split('\t'))
  const width = Math.max(...rows.map((row) => row.length))
  if (width < 2 || rows.length * width > MAX_PASTED_CELLS) return null
  // A sheet's rows all have its width; ragged text with a stray tab is not a table.
  if (rows.some((row) => row.length !== width)) return null
  return rows
}

function tableFromRows(schema, rows) {
  const { table, tableRow, tableCell, paragraph } = schema.nodes
  const cell = (text) => tableCell.create(null, paragraph.create(null, text ? schema.text(text) : null))
  return table.create(
    null,
    rows.map((row) => tableRow.create(null, row.map((text) => cell(text)))),
  )
}

const TsvPaste = Extension.create({
  name: 'tsvTablePaste',
  addProseMirrorPlugins() {
    return [
      new Plugin({
        key: new PluginKey('tsvTablePaste'),
        props: {
          handlePaste: (view, event) => {
            const data = event.clipboardData
            if (!data || data.types.includes('text/html') || data.files.length) return false
            const rows = rowsFromTsv(data.getData('text/plain'))
            if (!rows) return false
            // Inside a table (or a code block) a paste stays what it is.
            const { $from } = view.state.selection
            for (let depth = $from.depth; depth > 0; depth--) {
              const name = $from.node(depth).type.name
              if (name === 'table' || name === 'codeBlock') return false
            }
            view.dispatch(view.state.tr.replaceSelectionWith(tableFromRows(view.state.schema, rows)).scrollIntoView())
            return true
          },
        },
      }),
    ]
  },
})

export function tableExtensions() {
  return [TableKit.configure({ table: { resizable: true, cellMinWidth: 60 } }), TsvPaste]
}

/** The table bar: shown while an editor's caret is in a table. */
export function bindTableTools({ bar, editor }) {
  const buttons = Array.from(bar.querySelectorAll('button[data-table]'))
  const refresh = () => {
    const inTable = editor.isEditable && editor.isActive('table')
    bar.hidden = !inTable
    if (!inTable) return
    for (const button of buttons) {
      const run = TABLE_COMMANDS[button.dataset.table]
      button.disabled = !run(editor.can().chain()).run()
    }
    bar.querySelector('[data-table=headerRow]')?.setAttribute('aria-pressed', String(headerRowOn(editor)))
  }
  for (const button of buttons) {
    button.addEventListener('mousedown', (event) => event.preventDefault())
    button.addEventListener('click', () => {
      const run = TABLE_COMMANDS[button.dataset.table]
      if (editor.isEditable && run) run(editor.chain().focus()).run()
    })
  }
  editor.on('transaction', refresh)
  refresh()
  return refresh
}

function headerRowOn(editor) {
  const { $from } = editor.state.selection
  for (let depth = $from.depth; depth > 0; depth--) {
    const node = $from.node(depth)
    if (node.type.name === 'table') {
      const first = node.firstChild
      return Boolean(first && first.childCount && first.firstChild.type.name === 'tableHeader')
    }
  }
  return false
}

export const insertTable = (editor) =>
  editor.chain().focus().insertTable({ rows: 3, cols: 3, withHeaderRow: true }).run()
