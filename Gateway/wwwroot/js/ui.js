// The page: sign-in, conversation list, chat view, composer. It renders what it is given and reports what the
// user does through handlers; it holds no chat state of its own beyond what the composer is doing (replying to or
// editing a message, completing a mention) and which emoji picker is open. Text always goes in through textContent.

import { fillMessage, formatTime, span, summary } from './message-view.js';

const $ = id => document.getElementById(id);

/**
 * @typedef {object} Handlers
 * @property {(user: string) => Promise<void>} signIn
 * @property {() => void} signOut
 * @property {(user: string) => void} openChat
 * @property {(name: string, members: string[]) => Promise<void>} createGroup
 * @property {(conv: string) => void} open
 * @property {(text: string, options: {reply?: string}) => void} send a new message, a reply when `reply` names one
 * @property {(id: string, text: string) => void} edit replaces the text of one of this user's messages
 * @property {(id: string) => void} recall
 * @property {(id: string, emoji: string, on: boolean) => void} react adds or removes this user's reaction
 * @property {(id: string, on: boolean) => void} pin pins or unpins a message
 * @property {(id: string) => Promise<Array<{body: object, ts: number}>>} versions every version of a message, oldest first
 * @property {(req: number) => void} retry
 * @property {() => Promise<void>} loadEarlier
 * @property {(user: string) => Promise<void>} addMember
 * @property {() => void} reconnect
 * @property {() => void} typing
 * @property {() => Promise<void>} toggleMute mutes or unmutes the open conversation
 * @property {() => Promise<void>} toggleBlock blocks or unblocks the open one-to-one conversation's peer
 */

export class ChatView {
  #h;
  #items = new Map(); // message key → <li>
  #renderedConv = null;
  #stickToBottom = true;
  #composing = null;   // {kind: 'reply'|'edit', id}: what the composer's text becomes
  #pickerFor = null;   // the id of the message whose emoji picker is open
  #lastRender = null;  // the arguments of the last renderConversation, to render again after a local change
  #mentions = { candidates: [], shown: [], index: 0 };

  /** @param {Handlers} handlers */
  constructor(handlers) {
    this.#h = handlers;
    $('sign-in-form').addEventListener('submit', async event => {
      event.preventDefault();
      const user = $('sign-in-user').value.trim();
      if (!user) return;
      $('sign-in-error').textContent = '';
      try {
        await this.#h.signIn(user);
      } catch (e) {
        $('sign-in-error').textContent = e.message;
      }
    });
    $('sign-out').addEventListener('click', () => this.#h.signOut());
    $('new-chat-form').addEventListener('submit', event => {
      event.preventDefault();
      const input = $('new-chat-user');
      const user = input.value.trim();
      if (!input.checkValidity() || !user) return;
      input.value = '';
      this.#h.openChat(user);
    });
    $('new-group-form').addEventListener('submit', async event => {
      event.preventDefault();
      const name = $('new-group-name').value.trim();
      const members = $('new-group-members').value.split(/[\s,]+/).filter(Boolean);
      $('new-group-error').textContent = '';
      try {
        await this.#h.createGroup(name, members);
        $('new-group-form').reset();
        $('new-group').open = false;
      } catch (e) {
        $('new-group-error').textContent = e.message;
      }
    });
    $('add-member-form').addEventListener('submit', async event => {
      event.preventDefault();
      const user = $('add-member-user').value.trim();
      $('add-member-error').textContent = '';
      try {
        await this.#h.addMember(user);
        $('add-member-user').value = '';
      } catch (e) {
        $('add-member-error').textContent = e.message;
      }
    });
    $('composer').addEventListener('submit', event => {
      event.preventDefault();
      this.#submit();
    });
    $('composer-text').addEventListener('keydown', event => {
      if (this.#mentionKey(event)) return;
      // Enter sends; Shift+Enter starts a new line; an IME composition is never interrupted.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.#submit();
      } else if (event.key === 'Escape' && this.#composing) {
        event.preventDefault();
        this.#setComposing(null);
      }
    });
    $('composer-text').addEventListener('input', () => {
      this.#h.typing();
      this.#suggestMentions();
    });
    $('composer-text').addEventListener('blur', () => setTimeout(() => this.#hideMentions(), 150));
    $('mention-list').addEventListener('mousedown', event => event.preventDefault()); // keep the composer's focus
    $('mention-list').addEventListener('click', event => {
      const option = event.target.closest('[data-mention]');
      if (option) this.#completeMention(option.dataset.mention);
    });
    $('composer-context-cancel').addEventListener('click', () => this.#setComposing(null));
    $('pin-list').addEventListener('click', event => {
      const item = event.target.closest('[data-target]');
      if (item) this.#reveal(item.dataset.target);
    });
    $('load-earlier').addEventListener('click', () => this.#loadEarlier());
    $('messages').addEventListener('scroll', () => {
      const box = $('messages');
      this.#stickToBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
      if (box.scrollTop < 24 && !$('load-earlier').hidden && !$('load-earlier').disabled) this.#loadEarlier();
    });
    $('conversations').addEventListener('click', event => {
      const button = event.target.closest('button[data-conv]');
      if (button) this.#h.open(button.dataset.conv);
    });
    $('message-list').addEventListener('click', event => this.#onMessageClick(event));
    $('connection-retry').addEventListener('click', () => this.#h.reconnect());
    $('mute-toggle').addEventListener('click', () => this.#h.toggleMute());
    $('block-toggle').addEventListener('click', () => this.#h.toggleBlock());
  }

  showSignIn(message = '') {
    $('chat').hidden = true;
    $('me').hidden = true;
    $('sign-in').hidden = false;
    $('sign-in-error').textContent = message;
    this.setConnection({ state: 'signed-out' });
    $('sign-in-user').focus();
  }

  showChat(user, device) {
    $('sign-in').hidden = true;
    $('chat').hidden = false;
    $('me').hidden = false;
    $('me-name').textContent = user;
    $('me-device').textContent = device;
    this.#items.clear();
    $('message-list').replaceChildren();
    this.#renderedConv = null;
  }

  /** The connection pill: what the socket is doing, in words. */
  setConnection({ state, retryInMs }) {
    const pill = $('connection');
    const retry = $('connection-retry');
    const texts = {
      'signed-out': '',
      idle: 'Starting…',
      connecting: 'Connecting…',
      online: 'Connected',
      reconnecting: retryInMs !== undefined ? `Offline — reconnecting in ${Math.max(1, Math.round(retryInMs / 1000))} s` : 'Reconnecting…',
      replaced: 'Opened in another tab of this browser',
      unauthorized: 'Sign-in refused',
      stopped: 'Disconnected',
    };
    pill.dataset.state = state;
    $('connection-text').textContent = texts[state] ?? state;
    retry.hidden = !(state === 'reconnecting' || state === 'replaced');
    retry.textContent = state === 'replaced' ? 'Use here' : 'Retry now';
  }

  setProblem(text) {
    $('problem').textContent = text ?? '';
    $('problem').hidden = !text;
  }

  /** @param {Array} list conversations, most recent first */
  renderConversations(list, activeConv, presence, blocked = new Set()) {
    const ul = $('conversations');
    const items = list.map(info => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'conv';
      button.dataset.conv = info.conv;
      if (info.conv === activeConv) button.setAttribute('aria-current', 'true');

      const dot = presenceDot(info.ope === 0 ? presence.get(info.peer) : undefined);
      const title = span('title', info.title);
      const kind = span('kind', info.ope === 1 ? 'group' : '');
      const preview = span('preview', info.preview ?? '');
      button.append(dot ?? span('presence none', ''), title, kind, preview);
      if (info.ope === 0 && blocked.has(info.peer)) button.append(span('blocked', 'blocked'));
      if (info.muted) {
        const icon = span('muted', '');
        icon.append(mutedBell());
        icon.setAttribute('role', 'img');
        icon.setAttribute('aria-label', 'muted');
        icon.title = 'Muted: no notifications';
        button.append(icon);
      }
      if (info.mentions > 0) {
        const mention = span('mention-badge', '@');
        mention.dataset.count = String(info.mentions);
        mention.setAttribute('aria-label', `${info.mentions} ${info.mentions === 1 ? 'mention' : 'mentions'}`);
        mention.title = `You were mentioned ${info.mentions === 1 ? 'once' : `${info.mentions} times`}`;
        button.append(mention);
      }
      if (info.unread > 0) {
        const badge = span('unread', String(info.unread));
        badge.setAttribute('aria-label', `${info.unread} unread`);
        button.append(badge);
      }
      li.append(button);
      return li;
    });
    ul.replaceChildren(...items);
    $('no-conversations').hidden = list.length > 0;
  }

  /**
   * The open conversation: header, members, pinned messages, and its messages reconciled by key (the log announces
   * only what is new). `moderator`: this user owns or administers the group; `quote(id)` the message a reply quotes;
   * `pins` the pinned messages, most recently pinned first; `mentionable` the user ids the composer completes after "@".
   */
  renderConversation(info, messages, options) {
    this.#lastRender = [info, messages, options];
    const { me, hasEarlier, presence, typing = [], blocked = new Set(), moderator = false, quote = () => undefined, pins = [], mentionable = [] } = options;
    const box = $('messages');
    if (this.#renderedConv !== info?.conv) {
      this.#items.clear();
      $('message-list').replaceChildren();
      this.#renderedConv = info?.conv ?? null;
      this.#stickToBottom = true;
      this.#pickerFor = null;
      this.#setComposing(null);
    }
    this.#mentions.candidates = mentionable;
    $('composer-text').disabled = !info;
    $('composer-send').disabled = !info;
    if (!info) {
      $('conversation-title').textContent = 'No conversation open';
      $('conversation-subtitle').textContent = 'Pick a conversation, or start one with a user id.';
      $('members').hidden = true;
      $('mute-toggle').hidden = true;
      $('block-toggle').hidden = true;
      $('load-earlier').hidden = true;
      $('pins').hidden = true;
      $('typing').textContent = '';
      return;
    }
    $('typing').textContent = typing.length === 0 ? ''
      : typing.length === 1 ? `${typing[0]} is typing…` : `${typing.join(', ')} are typing…`;

    $('conversation-title').textContent = info.title;
    const isBlocked = info.ope === 0 && blocked.has(info.peer);
    $('conversation-subtitle').replaceChildren(...(isBlocked ? [span('blocked', 'Blocked: you get nothing from them')] : this.#subtitle(info, presence)));
    this.#renderActions(info, isBlocked);
    this.#renderMembers(info, me);
    this.#renderPins(pins);
    $('load-earlier').hidden = !hasEarlier;
    const context = { info, me, moderator, quote, pickerFor: this.#pickerFor, now: Date.now() };

    const list = $('message-list');
    const keep = new Set();
    const fromBottom = box.scrollHeight - box.scrollTop;
    const firstBefore = list.firstElementChild;
    let previous = null;
    for (const message of messages) {
      const key = message.req ? `r${message.req}` : `i${message.id}`;
      keep.add(key);
      let li = this.#items.get(key);
      if (!li) {
        li = document.createElement('li');
        this.#items.set(key, li);
      }
      fillMessage(li, message, context);
      const expected = previous ? previous.nextElementSibling : list.firstElementChild;
      if (expected !== li) list.insertBefore(li, expected);
      previous = li;
    }
    for (const [key, li] of this.#items) {
      if (!keep.has(key)) {
        li.remove();
        this.#items.delete(key);
      }
    }
    // The message the composer replies to or edits may be gone (recalled): the composer says so.
    if (this.#composing) this.#showComposing(messages.find(m => m.id === this.#composing.id));
    // New at the bottom: follow it if the reader was there. Earlier pages on top: keep the reader's place.
    if (this.#stickToBottom) box.scrollTop = box.scrollHeight;
    else if (firstBefore && list.firstElementChild !== firstBefore) box.scrollTop = box.scrollHeight - fromBottom;
  }

  /** Mute for any conversation; block only for a one-to-one peer other than oneself. */
  #renderActions(info, isBlocked) {
    const mute = $('mute-toggle');
    mute.hidden = false;
    mute.textContent = info.muted ? 'Unmute' : 'Mute';
    mute.setAttribute('aria-pressed', String(Boolean(info.muted)));
    const block = $('block-toggle');
    block.hidden = info.ope !== 0 || info.peer === undefined;
    block.textContent = isBlocked ? 'Unblock' : 'Block';
    block.setAttribute('aria-pressed', String(isBlocked));
  }

  focusComposer() {
    $('composer-text').focus();
  }

  #subtitle(info, presence) {
    if (info.ope === 1) {
      const count = info.members?.length;
      return [document.createTextNode(count ? `Group · ${count} members` : 'Group')];
    }
    const seen = presence.get(info.peer);
    if (!seen) return [document.createTextNode('Direct message')];
    const dot = presenceDot(seen);
    const text = seen.online
      ? 'online'
      : seen.lastSeen ? `offline · last seen ${formatTime(seen.lastSeen)}` : 'offline';
    return [dot, document.createTextNode(` ${text}`)];
  }

  #renderMembers(info, me) {
    const aside = $('members');
    aside.hidden = info.ope !== 1;
    if (info.ope !== 1) return;
    const members = info.members ?? [];
    $('member-list').replaceChildren(...members.map(m => {
      const li = document.createElement('li');
      li.textContent = m.user;
      if (m.role && m.role !== 'member') li.append(span('role', ` (${m.role})`));
      if (m.user === me) li.append(span('role', ' — you'));
      return li;
    }));
    const mine = members.find(m => m.user === me);
    $('add-member-form').hidden = !(mine && (mine.role === 'owner' || mine.role === 'admin'));
  }

  #submit() {
    const input = $('composer-text');
    const text = input.value.trim();
    if (!text || input.disabled) return;
    input.value = '';
    this.#hideMentions();
    const composing = this.#composing;
    this.#setComposing(null);
    if (composing?.kind === 'edit') {
      this.#h.edit(composing.id, text);
      return;
    }
    this.#stickToBottom = true;
    this.#h.send(text, { reply: composing?.kind === 'reply' ? composing.id : undefined });
  }

  /** Pinned messages above the conversation, most recently pinned first; each one leads to its message. */
  #renderPins(pins) {
    $('pins').hidden = pins.length === 0;
    $('pin-list').replaceChildren(...pins.map(message => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'pin-item';
      button.dataset.target = message.id;
      button.append(span('pin-from', message.from), span('pin-text', summary(message)));
      li.append(button);
      return li;
    }));
  }

  #onMessageClick(event) {
    const li = event.target.closest('li');
    if (!li) return;
    const id = li.dataset.id;
    const retry = event.target.closest('button.retry');
    if (retry) {
      this.#h.retry(Number(li.dataset.req));
      return;
    }
    const quote = event.target.closest('button.quote');
    if (quote) {
      this.#reveal(quote.dataset.target);
      return;
    }
    if (!id) return;
    const reaction = event.target.closest('button.reaction, button[data-pick]');
    if (reaction) {
      const emoji = reaction.dataset.emoji ?? reaction.dataset.pick;
      this.#h.react(id, emoji, reaction.getAttribute('aria-pressed') !== 'true');
      if (reaction.dataset.pick) this.#togglePicker(null);
      return;
    }
    if (event.target.closest('button.edited')) {
      this.#showVersions(id);
      return;
    }
    const action = event.target.closest('button[data-action]')?.dataset.action;
    const message = this.#lastRender?.[1].find(m => m.id === id);
    switch (action) {
      case 'reply':
        this.#setComposing({ kind: 'reply', id }, message);
        break;
      case 'edit':
        this.#setComposing({ kind: 'edit', id }, message);
        $('composer-text').value = typeof message?.body?.text === 'string' ? message.body.text : '';
        break;
      case 'recall':
        this.#h.recall(id);
        break;
      case 'pin':
      case 'unpin':
        this.#h.pin(id, action === 'pin');
        break;
      case 'react':
        this.#togglePicker(this.#pickerFor === id ? null : id);
        break;
      default:
        break;
    }
  }

  #togglePicker(id) {
    this.#pickerFor = id;
    if (this.#lastRender) this.renderConversation(...this.#lastRender);
    if (id) this.#items.get(`i${id}`)?.querySelector('.emoji-picker button')?.focus();
  }

  /** Scrolls to a message of the open conversation and flashes it; false when it is not on the page. */
  #reveal(id) {
    const li = [...this.#items.values()].find(item => item.dataset.id === id);
    if (!li) return false;
    li.scrollIntoView({ block: 'center', behavior: 'smooth' });
    li.classList.remove('flash');
    void li.offsetWidth; // restart the animation
    li.classList.add('flash');
    return true;
  }

  /** The composer replies to or edits message `composing.id`, or (null) writes a new message. */
  #setComposing(composing, message) {
    const wasEditing = this.#composing?.kind === 'edit';
    this.#composing = composing;
    if (wasEditing && composing?.kind !== 'edit') $('composer-text').value = '';
    this.#showComposing(message);
    if (composing) $('composer-text').focus();
  }

  #showComposing(message) {
    const composing = this.#composing;
    $('composer-context').hidden = !composing;
    $('composer').dataset.mode = composing?.kind ?? 'new';
    $('composer-send').textContent = composing?.kind === 'edit' ? 'Save' : 'Send';
    if (!composing) return;
    const label = composing.kind === 'edit' ? 'Editing your message' : `Replying to ${message?.from ?? 'a message'}`;
    $('composer-context-text').replaceChildren(span('composer-context-label', label), span('composer-context-quote', summary(message)));
  }

  async #showVersions(id) {
    const dialog = $('versions');
    $('version-list').replaceChildren(span('hint', 'Loading…'));
    if (!dialog.open) dialog.showModal();
    let versions;
    try {
      versions = await this.#h.versions(id);
    } catch (e) {
      $('version-list').replaceChildren(span('error', `The versions could not be loaded: ${e.message}`));
      return;
    }
    $('version-list').replaceChildren(...versions.map((version, index) => {
      const li = document.createElement('li');
      const time = document.createElement('time');
      time.dateTime = new Date(version.ts).toISOString();
      time.textContent = `${index === 0 ? 'Original' : `Edit ${index}`} · ${formatTime(version.ts)}`;
      const text = document.createElement('p');
      text.className = 'version-text';
      text.textContent = typeof version.body?.text === 'string' ? version.body.text : '[no text]';
      li.append(time, text);
      return li;
    }));
    if (versions.length === 0) $('version-list').replaceChildren(span('hint', 'No versions are kept of a recalled message.'));
  }

  // ------------------------------------------------------------------ mention completion

  /** After "@" and a few letters at the caret, the members whose ids start with them are offered. */
  #suggestMentions() {
    const input = $('composer-text');
    const before = input.value.slice(0, input.selectionStart ?? input.value.length);
    const match = /(^|[^A-Za-z0-9_.-])@([A-Za-z0-9_.-]{0,64})$/.exec(before);
    if (!match) {
      this.#hideMentions();
      return;
    }
    const prefix = match[2].toLowerCase();
    const shown = this.#mentions.candidates.filter(user => user.toLowerCase().startsWith(prefix)).slice(0, 8);
    if (shown.length === 0) {
      this.#hideMentions();
      return;
    }
    this.#mentions.shown = shown;
    this.#mentions.index = 0;
    this.#renderMentions();
  }

  #renderMentions() {
    const { shown, index } = this.#mentions;
    const list = $('mention-list');
    list.hidden = false;
    list.replaceChildren(...shown.map((user, i) => {
      const li = document.createElement('li');
      li.id = `mention-option-${i}`;
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', String(i === index));
      li.dataset.mention = user;
      li.textContent = user === 'all' ? '@all — everyone in the conversation' : `@${user}`;
      return li;
    }));
    $('composer-text').setAttribute('aria-activedescendant', `mention-option-${index}`);
  }

  #hideMentions() {
    this.#mentions.shown = [];
    $('mention-list').hidden = true;
    $('composer-text').removeAttribute('aria-activedescendant');
  }

  /** Arrow keys move through the offered members, Enter or Tab takes one, Escape closes the list. */
  #mentionKey(event) {
    const { shown } = this.#mentions;
    if (shown.length === 0 || event.isComposing) return false;
    switch (event.key) {
      case 'ArrowDown':
      case 'ArrowUp':
        this.#mentions.index = (this.#mentions.index + (event.key === 'ArrowDown' ? 1 : shown.length - 1)) % shown.length;
        this.#renderMentions();
        break;
      case 'Enter':
      case 'Tab':
        this.#completeMention(shown[this.#mentions.index]);
        break;
      case 'Escape':
        this.#hideMentions();
        break;
      default:
        return false;
    }
    event.preventDefault();
    return true;
  }

  #completeMention(user) {
    const input = $('composer-text');
    const caret = input.selectionStart ?? input.value.length;
    const before = input.value.slice(0, caret).replace(/@([A-Za-z0-9_.-]{0,64})$/, `@${user} `);
    input.value = before + input.value.slice(caret);
    input.setSelectionRange(before.length, before.length);
    this.#hideMentions();
    input.focus();
  }

  async #loadEarlier() {
    const button = $('load-earlier');
    button.disabled = true;
    try {
      await this.#h.loadEarlier();
    } finally {
      button.disabled = false;
    }
  }
}

function presenceDot(seen) {
  if (!seen) return null;
  const dot = span(`presence ${seen.online ? 'online' : 'offline'}`, '');
  dot.setAttribute('role', 'img');
  dot.setAttribute('aria-label', seen.online ? 'online' : 'offline');
  dot.title = seen.online ? 'online' : 'offline';
  return dot;
}

/** A bell struck through, drawn inline: an emoji would depend on the fonts installed. */
function mutedBell() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('width', '14');
  svg.setAttribute('height', '14');
  svg.setAttribute('aria-hidden', 'true');
  const bell = document.createElementNS(ns, 'path');
  bell.setAttribute('d', 'M8 1.5a4 4 0 0 0-4 4v2.6L2.6 10.5h10.8L12 8.1V5.5a4 4 0 0 0-4-4zM6.4 12a1.6 1.6 0 0 0 3.2 0z');
  bell.setAttribute('fill', 'currentColor');
  const slash = document.createElementNS(ns, 'line');
  for (const [name, value] of [['x1', '2'], ['y1', '2'], ['x2', '14'], ['y2', '14'], ['stroke', 'currentColor'], ['stroke-width', '1.8']])
    slash.setAttribute(name, value);
  svg.append(bell, slash);
  return svg;
}
