// The page: sign-in, conversation list, chat view, composer. It renders what it is given and reports what the
// user does through handlers; it holds no chat state of its own. Text always goes in through textContent.

import { describeEvent } from './store.js';

const $ = id => document.getElementById(id);

/**
 * @typedef {object} Handlers
 * @property {(user: string) => Promise<void>} signIn
 * @property {() => void} signOut
 * @property {(user: string) => void} openChat
 * @property {(name: string, members: string[]) => Promise<void>} createGroup
 * @property {(conv: string) => void} open
 * @property {(text: string) => void} send
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
      // Enter sends; Shift+Enter starts a new line; an IME composition is never interrupted.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.#submit();
      }
    });
    $('composer-text').addEventListener('input', () => this.#h.typing());
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
    $('message-list').addEventListener('click', event => {
      const button = event.target.closest('button.retry');
      if (button) this.#h.retry(Number(button.closest('li').dataset.req));
    });
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

  /** The open conversation: header, members, and its messages reconciled by key (the log announces only what is new). */
  renderConversation(info, messages, { me, hasEarlier, presence, typing = [], blocked = new Set() }) {
    const box = $('messages');
    if (this.#renderedConv !== info?.conv) {
      this.#items.clear();
      $('message-list').replaceChildren();
      this.#renderedConv = info?.conv ?? null;
      this.#stickToBottom = true;
    }
    $('composer-text').disabled = !info;
    $('composer-send').disabled = !info;
    if (!info) {
      $('conversation-title').textContent = 'No conversation open';
      $('conversation-subtitle').textContent = 'Pick a conversation, or start one with a user id.';
      $('members').hidden = true;
      $('mute-toggle').hidden = true;
      $('block-toggle').hidden = true;
      $('load-earlier').hidden = true;
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
    $('load-earlier').hidden = !hasEarlier;

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
      fillMessage(li, message, info, me);
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
    this.#stickToBottom = true;
    this.#h.send(text);
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

function fillMessage(li, message, info, me) {
  li.dataset.conv = message.conv;
  if (message.id) li.dataset.id = message.id; else delete li.dataset.id;
  if (message.req) li.dataset.req = String(message.req); else delete li.dataset.req;
  if (Number.isSafeInteger(message.cseq)) li.dataset.cseq = String(message.cseq);
  li.dataset.from = message.from;

  if (message.type < 0) {
    li.className = 'system';
    li.setAttribute('role', 'note');
    li.textContent = describeEvent(message);
    return;
  }

  const mine = message.from === me;
  li.className = `message ${mine ? 'mine' : 'theirs'}`;
  const status = !mine ? null
    : message.status === 'sent' ? 'sent'
      : message.status === 'failed' || message.late ? 'failed' : 'pending';
  if (status) li.dataset.status = status; else delete li.dataset.status;
  const receipt = status === 'sent' ? receiptOf(message, info) : null;
  if (receipt) li.dataset.receipt = receipt.state; else delete li.dataset.receipt;

  const bubble = document.createElement('div');
  bubble.className = 'bubble';
  const meta = document.createElement('div');
  meta.className = 'meta';
  if (!mine && info.ope === 1) meta.append(span('from', message.from));
  const time = document.createElement('time');
  if (message.ts) {
    time.dateTime = new Date(message.ts).toISOString();
    time.textContent = formatTime(message.ts);
  }
  meta.append(time);
  const text = document.createElement('p');
  text.className = 'text';
  text.textContent = typeof message.body?.text === 'string' ? message.body.text : `[message of type ${message.type}]`;
  if (status) meta.append(statusLine(status, message, receipt));
  bubble.append(text, meta);
  li.replaceChildren(bubble);
}

/**
 * How far the other members got with one of my sent messages, from their receipts: seen (read through its cseq),
 * delivered (a device of theirs has it), or null. In a group, by how many.
 */
function receiptOf(message, info) {
  if (!Number.isSafeInteger(message.cseq) || !info.receipts) return null;
  const others = info.ope === 0 ? [info.receipts[info.peer]].filter(Boolean) : Object.values(info.receipts);
  const seen = others.filter(r => r.read >= message.cseq).length;
  if (seen > 0) return { state: 'seen', count: seen };
  const delivered = others.filter(r => r.delivered >= message.cseq).length;
  return delivered > 0 ? { state: 'delivered', count: delivered } : null;
}

function statusLine(status, message, receipt) {
  const line = document.createElement('span');
  line.className = 'status';
  if (status === 'sent') {
    if (receipt?.state === 'seen') line.textContent = message.ope === 1 ? `✓✓ Seen by ${receipt.count}` : '✓✓ Seen';
    else if (receipt?.state === 'delivered') line.textContent = '✓✓ Delivered';
    else line.textContent = '✓ Sent';
    return line;
  }
  if (status === 'pending') {
    line.textContent = 'Sending…';
    return line;
  }
  const reason = message.status === 'failed'
    ? `Not sent${message.error?.message && message.error.code !== 'timeout' ? `: ${message.error.message}` : ''}`
    : 'Not sent yet — retrying';
  const retry = document.createElement('button');
  retry.type = 'button';
  retry.className = 'retry';
  retry.textContent = 'Retry';
  retry.setAttribute('aria-label', `Retry sending “${message.body?.text ?? ''}”`);
  line.append(span('reason', `⚠ ${reason} `), retry);
  return line;
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

function span(className, text) {
  const element = document.createElement('span');
  element.className = className;
  element.textContent = text;
  return element;
}

function formatTime(ts) {
  const date = new Date(typeof ts === 'number' ? ts : Date.parse(ts));
  if (Number.isNaN(date.getTime())) return '';
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
