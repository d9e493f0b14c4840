// One message of the open conversation on the page: its bubble (the quote it replies to, its text with mentions
// highlighted, "edited", its status), its reactions, and the actions on it (reply, react, edit, recall, pin).
// Text always goes in through textContent.

import { describeEvent } from './store.js';

/** The emoji the picker offers. */
export const PickerEmoji = Object.freeze(['👍', '❤️', '😂', '🎉', '😮', '😢']);

// The server's windows (docs/protocol.md §13.2, Messages:EditWindow and Messages:RecallWindow defaults): past them the
// actions are not offered (the server would refuse them anyway).
const EditWindowMs = 48 * 3600 * 1000;
const RecallWindowMs = 24 * 3600 * 1000;

/**
 * @typedef {object} MessageContext
 * @property {object} info the conversation
 * @property {string} me this user
 * @property {boolean} moderator this user is the group's owner or an admin (may recall any message, pin)
 * @property {(id: string) => object|undefined} quote the message a reply quotes, when known
 * @property {string|null} pickerFor the id of the message whose emoji picker is open
 * @property {number} now Date.now() of this render
 */

/** Fills `li` with `message`. @param {MessageContext} context */
export function fillMessage(li, message, context) {
  const { info, me } = context;
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
  li.className = `message ${mine ? 'mine' : 'theirs'}${message.recalled ? ' recalled' : ''}${mentionsMe(message, me) ? ' mentions-me' : ''}`;
  const status = !mine ? null
    : message.status === 'sent' ? 'sent'
      : message.status === 'failed' || message.late ? 'failed' : 'pending';
  if (status) li.dataset.status = status; else delete li.dataset.status;
  const receipt = status === 'sent' ? receiptOf(message, info) : null;
  if (receipt) li.dataset.receipt = receipt.state; else delete li.dataset.receipt;
  if (message.pinned) li.dataset.pinned = 'true'; else delete li.dataset.pinned;

  const bubble = document.createElement('div');
  bubble.className = 'bubble';
  if (message.reply) bubble.append(quoteOf(message.reply, context));
  const text = document.createElement('p');
  text.className = 'text';
  if (message.recalled) text.textContent = 'message recalled';
  else fillText(text, message, me);
  const meta = document.createElement('div');
  meta.className = 'meta';
  if (!mine && info.ope === 1) meta.append(span('from', message.from));
  const time = document.createElement('time');
  if (message.ts) {
    time.dateTime = new Date(message.ts).toISOString();
    time.textContent = formatTime(message.ts);
  }
  meta.append(time);
  if (message.edited && !message.recalled) {
    const edited = document.createElement('button');
    edited.type = 'button';
    edited.className = 'edited';
    edited.textContent = 'edited';
    edited.title = `Edited ${formatTime(message.edited)} — show the versions`;
    meta.append(edited);
  }
  if (message.pinned) meta.append(span('pinned-mark', 'pinned'));
  if (status) meta.append(statusLine(status, message, receipt));
  bubble.append(text, meta);
  li.replaceChildren(bubble);

  const reactions = reactionsOf(message, me);
  if (reactions) li.append(reactions);
  // Actions need the message's id: a send still waiting for its ack has none yet.
  if (message.id && !message.recalled) {
    li.append(actionsOf(message, context));
    if (context.pickerFor === message.id) li.append(picker(message, me));
  }
}

function mentionsMe(message, me) {
  return !message.recalled && message.from !== me && Array.isArray(message.mentions)
    && (message.mentions.includes(me) || message.mentions.includes('@all'));
}

/** The text, with each `@name` the message mentions in a highlight (`@all` too, when it mentions everyone). */
function fillText(element, message, me) {
  const text = typeof message.body?.text === 'string' ? message.body.text : `[message of type ${message.type}]`;
  const mentioned = new Set(Array.isArray(message.mentions) ? message.mentions : []);
  if (mentioned.size === 0) {
    element.textContent = text;
    return;
  }
  const parts = [];
  let at = 0;
  for (const match of text.matchAll(/(^|[^A-Za-z0-9_.-])@([A-Za-z0-9_.-]{1,64})/g)) {
    const name = match[2].replace(/\.+$/, '');
    const hit = name === 'all' ? mentioned.has('@all') : mentioned.has(name);
    if (!hit) continue;
    const start = match.index + match[1].length;
    if (start > at) parts.push(document.createTextNode(text.slice(at, start)));
    parts.push(span(`mention${name === me || name === 'all' ? ' to-me' : ''}`, `@${name}`));
    at = start + 1 + name.length;
  }
  if (at < text.length) parts.push(document.createTextNode(text.slice(at)));
  element.replaceChildren(...parts);
}

/** The message a reply answers, quoted above it: who said what (or that it is gone, or not loaded). */
function quoteOf(id, { quote }) {
  const target = quote(id);
  const element = document.createElement('button');
  element.type = 'button';
  element.className = 'quote';
  element.dataset.target = id;
  if (!target) {
    element.append(span('quote-text', 'a message not loaded'));
    return element;
  }
  const text = target.recalled ? 'message recalled'
    : typeof target.body?.text === 'string' ? target.body.text : `[message of type ${target.type}]`;
  element.append(span('quote-from', target.from), span('quote-text', text));
  element.setAttribute('aria-label', `In reply to ${target.from}: ${text}`);
  return element;
}

function reactionsOf(message, me) {
  const entries = Object.entries(message.reactions ?? {});
  if (entries.length === 0) return null;
  const box = document.createElement('div');
  box.className = 'reactions';
  for (const [emoji, users] of entries) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'reaction';
    button.dataset.emoji = emoji;
    const mine = users.includes(me);
    button.setAttribute('aria-pressed', String(mine));
    button.title = users.join(', ');
    button.setAttribute('aria-label', `${emoji} ${users.length}: ${users.join(', ')}${mine ? ' (click to remove yours)' : ''}`);
    button.append(span('emoji', emoji), span('count', String(users.length)));
    box.append(button);
  }
  return box;
}

/** What this user may do with the message: reply and react always; edit, recall and pin by the rules of §13.2. */
function actionsOf(message, { info, me, moderator, now }) {
  const mine = message.from === me;
  const age = now - (message.ts ?? now);
  const actions = [['reply', 'Reply'], ['react', 'React']];
  if (mine && age < EditWindowMs) actions.push(['edit', 'Edit']);
  if ((mine && age < RecallWindowMs) || (info.ope === 1 && moderator)) actions.push(['recall', 'Recall']);
  if (info.ope === 0 || moderator) actions.push(message.pinned ? ['unpin', 'Unpin'] : ['pin', 'Pin']);
  const box = document.createElement('div');
  box.className = 'actions';
  for (const [action, label] of actions) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'action';
    button.dataset.action = action;
    button.textContent = label;
    box.append(button);
  }
  return box;
}

function picker(message, me) {
  const box = document.createElement('div');
  box.className = 'emoji-picker';
  box.setAttribute('role', 'group');
  box.setAttribute('aria-label', 'Add a reaction');
  for (const emoji of PickerEmoji) {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.pick = emoji;
    button.textContent = emoji;
    const on = (message.reactions?.[emoji] ?? []).includes(me);
    button.setAttribute('aria-pressed', String(on));
    button.setAttribute('aria-label', `React with ${emoji}`);
    box.append(button);
  }
  return box;
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

/** A one-line summary of a message for the pinned bar and the reply bar. */
export function summary(message) {
  if (!message) return 'a message not loaded';
  if (message.recalled) return 'message recalled';
  return typeof message.body?.text === 'string' ? message.body.text : `[message of type ${message.type}]`;
}

export function span(className, text) {
  const element = document.createElement('span');
  element.className = className;
  element.textContent = text;
  return element;
}

export function formatTime(ts) {
  const date = new Date(typeof ts === 'number' ? ts : Date.parse(ts));
  if (Number.isNaN(date.getTime())) return '';
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
