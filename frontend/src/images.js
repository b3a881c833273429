// Images in the document: pasted, dropped or picked files are uploaded to
// this document on the server, and the image node (Tiptap's "image": src,
// alt, width, height) points at what the server answered. While an upload
// runs a placeholder of the image's own shape holds its place (a decoration:
// only this browser sees it); a refusal shows the server's message.
//
// The server's contract: POST /api/documents/<id>/images/ (multipart, field
// "file") -> 201 {"src": "/documents/<id>/images/<image id>/", "width",
// "height"}; a refusal is {"error": "..."} with 400, 403, 404, 413 or 415.
// A pasted <img> that is not an image of this document never keeps its
// link: one on this site is fetched and uploaded here, one elsewhere is left out.

import { Extension, mergeAttributes } from '@tiptap/core'
import Image from '@tiptap/extension-image'
import { Plugin, PluginKey } from '@tiptap/pm/state'
import { Decoration, DecorationSet } from '@tiptap/pm/view'

import { csrfToken, readJson } from './api.js'

const uploadsKey = new PluginKey('imageUploads')
const MAX_SIDE = 20000

const dimension = (value) => {
  const n = Number.parseInt(value, 10)
  return Number.isInteger(n) && n > 0 && n <= MAX_SIDE ? n : null
}

/** The path of an image of this document, or null: only those are drawn. */
export function ownImagePath(src, documentId, base = window.location.href) {
  if (typeof src !== 'string' || !src) return null
  let url
  try {
    url = new URL(src, base)
  } catch {
    return null
  }
  if (url.origin !== new URL(base).origin || url.search || url.hash) return null
  const own = new RegExp(`^/documents/${documentId}/images/[0-9A-Za-z-]+/$`)
  return own.test(url.pathname) ? url.pathname : null
}

function imageNode(documentId) {
  return Image.extend({
    addAttributes() {
      return {
        ...this.parent?.(),
        width: { default: null, parseHTML: (el) => dimension(el.getAttribute('width')) },
        height: { default: null, parseHTML: (el) => dimension(el.getAttribute('height')) },
      }
    },
    renderHTML({ HTMLAttributes }) {
      // Anything else in the shared document (another client may write any
      // src) is drawn as an empty frame, never fetched.
      const src = ownImagePath(HTMLAttributes.src, documentId)
      const attrs = {
        ...HTMLAttributes,
        src,
        width: dimension(HTMLAttributes.width),
        height: dimension(HTMLAttributes.height),
        class: src ? null : 'image-missing',
      }
      return ['img', mergeAttributes(this.options.HTMLAttributes, attrs)]
    },
  }).configure({ inline: false, allowBase64: false })
}

/** Upload one file; {src, width, height}, or an Error with the sentence to show. */
export async function uploadImage(url, file) {
  const body = new FormData()
  body.append('file', file, file.name || 'image')
  let response
  try {
    response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'X-CSRFToken': csrfToken() },
      body,
    })
  } catch {
    throw new Error('The image could not be uploaded: the server cannot be reached.')
  }
  const data = await readJson(response)
  if (response.status === 201 && data && typeof data.src === 'string') return data
  const said = data && typeof data.error === 'string' ? data.error : null
  throw new Error(said || `The image could not be uploaded (error ${response.status}).`)
}

/** The size of an image file before it is uploaded, for a placeholder of its shape. */
async function localSize(file) {
  try {
    const bitmap = await createImageBitmap(file)
    const size = { width: bitmap.width, height: bitmap.height }
    bitmap.close()
    return size
  } catch {
    return null
  }
}

/** A pasted image address as a file: data: URLs decoded here, this site's fetched. */
async function fileFromSrc(src) {
  if (/^data:image\//i.test(src)) {
    const match = /^data:([^;,]+)(;base64)?,(.*)$/is.exec(src)
    if (!match) return null
    const bytes = match[2]
      ? Uint8Array.from(atob(match[3].replace(/\s+/g, '')), (c) => c.charCodeAt(0))
      : new TextEncoder().encode(decodeURIComponent(match[3]))
    return new File([bytes], 'pasted-image', { type: match[1] })
  }
  let url
  try {
    url = new URL(src, window.location.href)
  } catch {
    return null
  }
  // Another site's image cannot be read from here (and the page's policy
  // forbids asking); one on this site is fetched with the user's own access.
  if (url.origin !== window.location.origin) return null
  try {
    const response = await fetch(url, { credentials: 'same-origin' })
    if (!response.ok) return null
    const blob = await response.blob()
    return blob.type.startsWith('image/') ? new File([blob], 'image', { type: blob.type }) : null
  } catch {
    return null
  }
}

const isImageFile = (file) => file && file.type.startsWith('image/')

export function imageExtensions({ documentId, uploadUrl, onError }) {
  let editorRef = null

  const placeholderWidget = (size) => () => {
    const box = document.createElement('div')
    box.className = 'image-upload-placeholder'
    box.setAttribute('role', 'status')
    if (size) {
      box.style.aspectRatio = `${size.width} / ${size.height}`
      box.style.width = `${size.width}px`
    }
    box.append(Object.assign(document.createElement('span'), { textContent: 'Uploading image…' }))
    return box
  }

  const where = (state, id) => {
    const found = uploadsKey.getState(state).find(null, null, (spec) => spec.id === id)
    return found.length ? found[0].from : null
  }

  /** Upload each file, with a placeholder at pos until the server answers. */
  async function insertFiles(view, files, pos) {
    for (const file of files) {
      const id = {}
      const size = await localSize(file)
      if (!view.editable) return
      const at = Math.min(pos, view.state.doc.content.size)
      view.dispatch(view.state.tr.setMeta(uploadsKey, { add: { id, pos: at, size } }))
      let image = null
      try {
        image = await uploadImage(uploadUrl, file)
      } catch (error) {
        onError(error.message)
      }
      const place = where(view.state, id)
      const tr = view.state.tr.setMeta(uploadsKey, { remove: id })
      const src = image ? ownImagePath(image.src, documentId) : null
      if (image && !src) onError('The server answered with an image address this page cannot show.')
      view.dispatch(tr)
      if (src && place !== null && view.editable) {
        editorRef
          .chain()
          .insertContentAt(place, {
            type: 'image',
            attrs: { src, alt: file.name && file.name !== 'image' ? file.name : null, width: dimension(image.width), height: dimension(image.height) },
          })
          .run()
        pos = where(view.state, id) ?? view.state.selection.to
      }
    }
  }

  /** Pasted <img>s that are not this document's: taken out, and uploaded here if they can be read. */
  function takeForeignImages(html, found) {
    const parsed = new DOMParser().parseFromString(html, 'text/html')
    for (const img of parsed.querySelectorAll('img')) {
      const src = img.getAttribute('src') || ''
      const own = ownImagePath(src, documentId)
      if (own) {
        img.setAttribute('src', own)
      } else {
        if (src) found.push(src)
        img.remove()
      }
    }
    return parsed.body.innerHTML
  }

  async function uploadForeign(view, sources, pos) {
    const files = []
    let skipped = 0
    for (const src of sources) {
      const file = await fileFromSrc(src)
      if (file) files.push(file)
      else skipped++
    }
    if (skipped) {
      onError(
        skipped === 1
          ? 'A pasted image from another site was left out: copy the image itself, or save it and insert the file.'
          : `${skipped} pasted images from other sites were left out: copy each image itself, or save them and insert the files.`,
      )
    }
    if (files.length) await insertFiles(view, files, pos)
  }

  const Uploads = Extension.create({
    name: 'imageUploads',
    onCreate() {
      editorRef = this.editor
    },
    addProseMirrorPlugins() {
      return [
        new Plugin({
          key: uploadsKey,
          state: {
            init: () => DecorationSet.empty,
            apply(tr, set) {
              let next = set.map(tr.mapping, tr.doc)
              const meta = tr.getMeta(uploadsKey)
              if (meta?.add) {
                const { id, pos, size } = meta.add
                next = next.add(tr.doc, [Decoration.widget(pos, placeholderWidget(size), { id, side: -1 })])
              } else if (meta?.remove) {
                next = next.remove(next.find(null, null, (spec) => spec.id === meta.remove))
              }
              return next
            },
          },
          props: {
            decorations: (state) => uploadsKey.getState(state),
            transformPastedHTML(html, view) {
              if (!view.editable || !/<img/i.test(html)) return html
              const sources = []
              const cleaned = takeForeignImages(html, sources)
              if (sources.length) {
                // After this paste is in: the images go where it ended.
                setTimeout(() => uploadForeign(view, sources.slice(0, 20), view.state.selection.to))
              }
              return cleaned
            },
            handleDOMEvents: {
              // Before ProseMirror reads the clipboard: a copied image often
              // comes as a file and as HTML pointing at where it was; the
              // file is the image, and the HTML is then left alone.
              paste(view, event) {
                const files = Array.from(event.clipboardData?.files || []).filter(isImageFile)
                if (!view.editable || !files.length) return false
                event.preventDefault()
                insertFiles(view, files, view.state.selection.from)
                return true
              },
            },
            handleDrop(view, event, _slice, moved) {
              const files = Array.from(event.dataTransfer?.files || []).filter(isImageFile)
              if (moved || !view.editable || !files.length) return false
              event.preventDefault()
              const at = view.posAtCoords({ left: event.clientX, top: event.clientY })
              insertFiles(view, files, at ? at.pos : view.state.selection.from)
              return true
            },
          },
        }),
      ]
    },
  })

  /** The toolbar's Image button: a file picker. */
  function pick() {
    const view = editorRef?.view
    if (!view || !view.editable) return
    const input = Object.assign(document.createElement('input'), { type: 'file', accept: 'image/*', multiple: true })
    input.addEventListener('change', () => {
      const files = Array.from(input.files || []).filter(isImageFile)
      if (files.length) insertFiles(view, files, view.state.selection.from)
    })
    input.click()
  }

  return { extensions: [imageNode(documentId), Uploads], pick }
}
