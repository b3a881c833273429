// The comments sidebar: open threads in document order, resolved ones behind
// a toggle, the composer for a new thread, replies, edit and delete of one's
// own comments, resolve and reopen. Every name and comment is other people's
// input: text nodes only. Cards are rebuilt only when their thread changed,
// and a reply being typed survives a rebuild.

import { apiFetch, readJson } from '../api.js'
import { el } from '../dom.js'
import { bindMentions, safeColor } from './mentions.js'

const MENTION = /(@[\w.+-]+)/g

function initials(name) {
  const parts = String(name || '?').trim().split(/\s+/)
  return (parts[0][0] + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase()
}

function when(iso) {
  const date = new Date(iso)
  const seconds = (Date.now() - date.getTime()) / 1000
  if (seconds < 60) return 'just now'
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`
  const sameDay = new Date().toDateString() === date.toDateString()
  return sameDay
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleDateString([], { month: 'short', day: 'numeric' })
}

function bodyNodes(text) {
  return String(text)
    .split(MENTION)
    .map((part, i) => (i % 2 ? el('span', { class: 'mention', text: part }) : document.createTextNode(part)))
}

export class Sidebar {
  constructor({ root, me, urls, store, onActivate, onComposeDone, canComment }) {
    this.root = root
    this.me = me
    this.urls = urls
    this.store = store
    this.onActivate = onActivate
    this.onComposeDone = onComposeDone
    this.canComment = canComment
    this.people = []
    this.drafts = new Map() // thread id -> reply being typed
    this.editing = new Map() // comment id -> text being edited
    this.notices = new Map() // thread id -> message about the last post
    this.cards = new Map() // thread id -> { key, node }
    this.showResolved = false
    this.composing = null

    this.count = root.querySelector('.comments-count')
    this.list = root.querySelector('.comments-list')
    this.resolvedList = root.querySelector('.comments-resolved')
    this.toggle = root.querySelector('.comments-resolved-toggle')
    this.empty = root.querySelector('.comments-empty')
    this.composer = root.querySelector('.comments-composer')
    this.error = root.querySelector('.comments-error')
    this.toggle.addEventListener('click', () => {
      this.showResolved = !this.showResolved
      this.render()
    })
  }

  setCanComment(value) {
    if (this.canComment === value) return
    this.canComment = value
    if (!value) this.cancelCompose()
    this.cards.clear()
    this.render()
  }

  showError(message) {
    this.error.textContent = message || ''
    this.error.hidden = !message
  }

  async request(method, url, body) {
    this.showError('')
    let response
    try {
      response = await apiFetch(url, { method, body })
    } catch {
      this.showError('The server cannot be reached; try again in a moment.')
      return null
    }
    const data = await readJson(response)
    if (!response.ok) {
      this.showError((data && data.error) || `The server refused (${response.status}).`)
      return null
    }
    return data || {}
  }

  // -- composing a new thread ---------------------------------------------------

  compose({ anchor, quote }) {
    this.composing = { anchor, quote }
    const textarea = el('textarea', {
      class: 'comment-input',
      rows: 3,
      maxlength: 5000,
      placeholder: 'Add a comment… (@ to mention)',
      'aria-label': 'New comment',
    })
    const submit = async () => {
      const body = textarea.value.trim()
      if (!body) return textarea.focus()
      const data = await this.request('POST', this.urls.threads, {
        anchor_from: anchor.from,
        anchor_to: anchor.to,
        quote,
        body,
      })
      if (!data) return
      this.cancelCompose()
      this.afterPost(data)
      if (data.thread) this.onActivate(data.thread.id, 'none')
    }
    textarea.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) submit()
      if (event.key === 'Escape') this.cancelCompose()
    })
    this.composer.replaceChildren(
      el('blockquote', { class: 'thread-quote', text: quote }),
      textarea,
      el(
        'div',
        { class: 'comment-actions' },
        el('button', { type: 'button', class: 'btn btn-ghost btn-sm', text: 'Cancel', onclick: () => this.cancelCompose() }),
        el('button', { type: 'button', class: 'btn btn-primary btn-sm comment-submit', text: 'Comment', onclick: submit }),
      ),
    )
    bindMentions(textarea, () => this.people)
    this.composer.hidden = false
    this.root.classList.add('is-composing')
    this.composer.scrollIntoView({ block: 'nearest' })
    textarea.focus()
  }

  cancelCompose() {
    if (!this.composing) return
    this.composing = null
    this.composer.hidden = true
    this.composer.replaceChildren()
    this.root.classList.remove('is-composing')
    this.onComposeDone()
  }

  /** After a post: the thread as the server has it, and what became of its mentions. */
  afterPost(data) {
    if (data.thread) this.store.upsert(data.thread)
    const unreached = data.unreached || []
    if (data.thread && unreached.length) {
      this.notices.set(data.thread.id, { names: unreached, canShare: Boolean(data.can_share) })
    }
    this.cards.delete(data.thread && data.thread.id)
    this.render()
  }

  // -- rendering ------------------------------------------------------------------

  render() {
    const open = this.store.inDocumentOrder()
    const resolved = this.store.resolved()
    this.count.textContent = open.length ? String(open.length) : ''
    this.empty.hidden = open.length > 0 || this.composing !== null
    this.toggle.hidden = resolved.length === 0
    this.toggle.textContent = this.showResolved
      ? `Hide resolved (${resolved.length})`
      : `Show resolved (${resolved.length})`
    this.toggle.setAttribute('aria-expanded', String(this.showResolved))
    this.resolvedList.hidden = !this.showResolved
    const focused = document.activeElement
    const refocus = focused && focused.dataset && focused.dataset.focusKey
    const caret = refocus ? [focused.selectionStart, focused.selectionEnd] : null
    this.place(this.list, open)
    this.place(this.resolvedList, this.showResolved ? resolved : [])
    if (refocus && document.activeElement !== focused) {
      const again = this.root.querySelector(`[data-focus-key="${CSS.escape(refocus)}"]`)
      if (again) {
        again.focus()
        again.setSelectionRange(caret[0], caret[1])
      }
    }
  }

  place(container, threads) {
    const nodes = threads.map((thread) => this.card(thread))
    // Reorder in place: nodes that stay keep their scroll and focus.
    nodes.forEach((node, i) => {
      if (container.children[i] !== node) container.insertBefore(node, container.children[i] || null)
    })
    while (container.children.length > nodes.length) container.lastElementChild.remove()
  }

  card(thread) {
    const active = this.store.activeId === thread.id
    const detached = !thread.resolved && this.store.rangeOf(thread.id) === null && this.store.measured(thread.id)
    const key = JSON.stringify([
      thread,
      active,
      detached,
      this.canComment,
      [...this.editing.entries()].filter(([id]) => thread.comments.some((c) => c.id === id)),
      this.notices.get(thread.id) || null,
    ])
    const known = this.cards.get(thread.id)
    if (known && known.key === key) return known.node
    const node = this.buildCard(thread, { active, detached })
    this.cards.set(thread.id, { key, node })
    return node
  }

  buildCard(thread, { active, detached }) {
    const classes = ['thread']
    if (active) classes.push('is-active')
    if (detached) classes.push('is-detached')
    if (thread.resolved) classes.push('is-resolved')
    const node = el('li', {
      class: classes.join(' '),
      'data-thread': String(thread.id),
      id: `thread-card-${thread.id}`,
      tabindex: '0',
      'aria-label': `Comment thread on “${thread.quote || 'deleted text'}”`,
      onclick: (event) => {
        if (event.target.closest('button, textarea, a')) return
        this.onActivate(thread.id, 'editor')
      },
      onkeydown: (event) => {
        if (event.key === 'Enter' && event.target === node) this.onActivate(thread.id, 'editor')
      },
    })
    const quote = el('blockquote', { class: 'thread-quote', text: thread.quote || '' })
    node.append(quote)
    if (detached) {
      node.append(el('p', { class: 'thread-detached', text: 'The commented text was deleted.' }))
    }
    if (thread.resolved && thread.resolved_by) {
      node.append(el('p', { class: 'thread-state', text: `Resolved by ${thread.resolved_by.name}` }))
    }
    for (const comment of thread.comments) node.append(this.commentNode(thread, comment))
    const notice = this.notices.get(thread.id)
    if (notice) node.append(this.noticeNode(thread, notice))
    if (this.canComment) {
      const actions = el('div', { class: 'thread-actions' })
      actions.append(
        el('button', {
          type: 'button',
          class: 'btn btn-ghost btn-sm thread-resolve',
          text: thread.resolved ? 'Reopen' : 'Resolve',
          onclick: () => this.resolve(thread, !thread.resolved),
        }),
      )
      node.append(actions)
      if (active && !thread.resolved) node.append(this.replyForm(thread))
    }
    return node
  }

  commentNode(thread, comment) {
    const author = comment.author || { name: 'Deleted user', color: '#8c959f', id: null }
    const mine = author.id === this.me.id && this.canComment
    const head = el(
      'div',
      { class: 'comment-head' },
      el('span', { class: 'comment-avatar', style: `background:${safeColor(author.color)}`, text: initials(author.name), 'aria-hidden': 'true' }),
      el('span', { class: 'comment-author', text: author.name }),
      el('time', { class: 'comment-time', datetime: comment.created_at, text: when(comment.created_at) + (comment.edited_at ? ' · edited' : '') }),
    )
    const wrap = el('div', { class: 'comment', 'data-comment': String(comment.id) }, head)
    if (this.editing.has(comment.id)) {
      const textarea = el('textarea', {
        class: 'comment-input',
        rows: 3,
        maxlength: 5000,
        'aria-label': 'Edit comment',
        'data-focus-key': `edit-${comment.id}`,
      })
      textarea.value = this.editing.get(comment.id)
      textarea.addEventListener('input', () => this.editing.set(comment.id, textarea.value))
      bindMentions(textarea, () => this.people)
      wrap.append(
        textarea,
        el(
          'div',
          { class: 'comment-actions' },
          el('button', { type: 'button', class: 'btn btn-ghost btn-sm', text: 'Cancel', onclick: () => { this.editing.delete(comment.id); this.render() } }),
          el('button', { type: 'button', class: 'btn btn-primary btn-sm', text: 'Save', onclick: () => this.saveEdit(thread, comment, textarea.value) }),
        ),
      )
      queueMicrotask(() => textarea.focus())
      return wrap
    }
    wrap.append(el('p', { class: 'comment-body' }, ...bodyNodes(comment.body)))
    if (mine) {
      head.append(
        el(
          'span',
          { class: 'comment-tools' },
          el('button', { type: 'button', class: 'link-button', text: 'Edit', onclick: () => { this.editing.set(comment.id, comment.body); this.render() } }),
          el('button', { type: 'button', class: 'link-button', text: 'Delete', onclick: () => this.remove(thread, comment) }),
        ),
      )
    }
    return wrap
  }

  noticeNode(thread, notice) {
    const names = notice.names.map((n) => `@${n}`).join(', ')
    const box = el('div', { class: 'thread-notice', role: 'status' })
    if (!notice.canShare) {
      box.append(el('p', { text: `${names} cannot see this document, so they were not notified.` }))
      return box
    }
    box.append(el('p', { text: `${names} cannot see this document yet.` }))
    for (const name of notice.names) {
      box.append(
        el('button', {
          type: 'button',
          class: 'btn btn-sm btn-ghost',
          text: `Share with @${name} as commenter`,
          onclick: async () => {
            const data = await this.request('POST', this.urls.access, { user: name, role: 'commenter' })
            if (!data) return
            const left = notice.names.filter((n) => n !== name)
            if (left.length) this.notices.set(thread.id, { ...notice, names: left })
            else this.notices.delete(thread.id)
            this.reloadPeople()
            this.render()
          },
        }),
      )
    }
    return box
  }

  replyForm(thread) {
    const textarea = el('textarea', {
      class: 'comment-input',
      rows: 2,
      maxlength: 5000,
      placeholder: 'Reply… (@ to mention)',
      'aria-label': 'Reply',
      'data-focus-key': `reply-${thread.id}`,
    })
    textarea.value = this.drafts.get(thread.id) || ''
    textarea.addEventListener('input', () => this.drafts.set(thread.id, textarea.value))
    const send = async () => {
      const body = textarea.value.trim()
      if (!body) return textarea.focus()
      const data = await this.request('POST', this.urls.replies(thread.id), { body })
      if (!data) return
      this.drafts.delete(thread.id)
      this.afterPost(data)
    }
    textarea.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) send()
    })
    bindMentions(textarea, () => this.people)
    return el(
      'div',
      { class: 'thread-reply' },
      textarea,
      el(
        'div',
        { class: 'comment-actions' },
        el('button', { type: 'button', class: 'btn btn-primary btn-sm comment-reply', text: 'Reply', onclick: send }),
      ),
    )
  }

  // -- actions ----------------------------------------------------------------------

  async resolve(thread, resolved) {
    const data = await this.request('POST', this.urls.resolve(thread.id), { resolved })
    if (data && data.thread) {
      this.store.upsert(data.thread)
      this.render()
    }
  }

  async saveEdit(thread, comment, text) {
    const data = await this.request('PATCH', this.urls.comment(thread.id, comment.id), { body: text })
    if (!data) return
    this.editing.delete(comment.id)
    this.afterPost(data)
  }

  async remove(thread, comment) {
    if (!window.confirm('Delete this comment?')) return
    const data = await this.request('DELETE', this.urls.comment(thread.id, comment.id))
    if (!data) return
    if (data.thread) this.store.upsert(data.thread)
    else this.store.remove(thread.id)
    this.render()
  }

  async reloadPeople() {
    const data = await this.request('GET', this.urls.threads)
    if (data && data.people) this.people = data.people
  }
}
