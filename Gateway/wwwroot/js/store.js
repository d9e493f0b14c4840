// The local state of one (user, device), kept in localStorage so a reload resumes where it stopped:
// - the inbox cursor and large-group cursors, saved in the same write as the messages they cover;
// - the req high-water mark, saved before a req reaches the wire, so no reload ever reuses one;
// - sends and operations without an ack (retransmitted with their req after a reload), conversations, recent messages;
// - what operations (edit, recall, reactions, pins: message-state.js) made of the messages held.
// Messages are keyed by their id (a decimal string: 64-bit ids exceed JavaScript's 2^53), so the inbox, history
// pages and a send's own ack all meet in one record and nothing is shown twice.

import { isOperation, recordOperation, seedFromView, targetOf } from './message-state.js';

const Prefix = 'aspirechat.v1';
const KeptPerConversation = 200;

/** This browser's device name, made once: the server keeps the cursor and dedupes reqs per (user, device). */
export function deviceName() {
  const key = `${Prefix}.device`;
  let device = localStorage.getItem(key);
  if (!device) {
    const bytes = crypto.getRandomValues(new Uint8Array(4));
    device = `web-${[...bytes].map(b => b.toString(16).padStart(2, '0')).join('')}`;
    localStorage.setItem(key, device);
  }
  return device;
}

/** The signed-in user and its token, or null. */
export function savedSession() {
  try {
    const session = JSON.parse(localStorage.getItem(`${Prefix}.session`) ?? 'null');
    return session?.user && session?.token ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  if (session) localStorage.setItem(`${Prefix}.session`, JSON.stringify(session));
  else localStorage.removeItem(`${Prefix}.session`);
}

/** The conversation id of a send (docs/protocol.md §2): `s:{a}:{b}` with a < b (ordinal), or `g:{gid}`. */
export function conversationOf(me, ope, to) {
  if (ope === 1) return `g:${to}`;
  return me < to ? `s:${me}:${to}` : `s:${to}:${me}`;
}

/** Kind and other party of a conversation id, seen from `me`. */
export function parseConversation(conv, me) {
  if (conv.startsWith('g:')) return { ope: 1, peer: conv.slice(2) };
  const [, a, b] = conv.split(':');
  return { ope: 0, peer: a === me ? b : a };
}

export class ChatStore extends EventTarget {
  #key;
  #reqKey;
  #reqHigh = 0;
  #conversations = new Map();
  #messages = new Map();
  #byId = new Map();
  #byReq = new Map();
  #pendingOps = new Map(); // req → {req, frame, queuedAt}: operations without an ack
  #quotes = new Map();     // id → a server view of a replied-to message not held in its conversation
  #arrivals = 0;           // counts operation entries as they arrive (see message-state.js)
  #saveQueued = false;
  #changed = new Set();

  /** Highest contiguous inbox seq this device holds (null: none yet) and each large group's cseq. */
  cursor = null;
  groups = {};

  constructor(user, device) {
    super();
    this.user = user;
    this.device = device;
    this.#key = `${Prefix}.${user}.${device}`;
    this.#reqKey = `${this.#key}.req`;
    this.#load();
  }

  // ------------------------------------------------------------------ reqs

  /** A fresh req, persisted before it is returned. */
  allocateReq() {
    // Without a stored mark the clock keeps devices apart: unix ms × 1000 outruns any real send rate and
    // stays below 2^53 for centuries.
    const req = Math.max(this.#reqHigh + 1, this.#reqHigh === 0 ? Date.now() * 1000 : 0);
    if (!Number.isSafeInteger(req)) throw new RangeError('req space exhausted for this device');
    localStorage.setItem(this.#reqKey, String(req));
    this.#reqHigh = req;
    return req;
  }

  // ------------------------------------------------------------------ reading

  /** Conversations, the most recent first. */
  conversations() {
    return [...this.#conversations.values()].sort((a, b) => (b.lastTs ?? 0) - (a.lastTs ?? 0) || a.conv.localeCompare(b.conv));
  }

  conversation(conv) {
    return this.#conversations.get(conv);
  }

  /** A conversation's messages in the order every member sees (cseq); sends not yet sequenced after them, by req. */
  messages(conv) {
    const list = this.#messages.get(conv) ?? [];
    return list.filter(m => m.hiddenBy === undefined).sort(compareMessages);
  }

  /** The lowest cseq held for a conversation (where history scroll-back continues), or null. */
  oldestCseq(conv) {
    let oldest = null;
    for (const m of this.#messages.get(conv) ?? []) {
      if (Number.isSafeInteger(m.cseq) && (oldest === null || m.cseq < oldest)) oldest = m.cseq;
    }
    return oldest;
  }

  /** Sends still waiting for their ack, in req order: the outbox to hand to a new connection after a reload. */
  pendingSends() {
    return [...this.#byReq.values()].filter(m => m.status === 'pending').sort((a, b) => a.req - b.req);
  }

  byReq(req) {
    return this.#byReq.get(req);
  }

  /** A held message by id. */
  message(id) {
    return this.#byId.get(String(id));
  }

  /** The message a reply quotes: held, or a view fetched for the quote; undefined when neither. */
  quote(id) {
    return this.#byId.get(String(id)) ?? this.#quotes.get(String(id));
  }

  /** A conversation's pinned messages, most recently pinned first, each in its current state. */
  pins(conv) {
    return (this.#conversations.get(conv)?.pins ?? []).map(p => this.#byId.get(p.id) ?? p);
  }

  /** Operations still waiting for their ack, in req order: retransmitted under their reqs after a reload. */
  pendingOps() {
    return [...this.#pendingOps.values()].sort((a, b) => a.req - b.req);
  }

  /** A point in the arrival of operation entries: a server view asked for after it holds every entry before it. */
  mark() {
    return this.#arrivals;
  }

  // ------------------------------------------------------------------ writing

  /** Opens (or creates) a conversation entry; `patch` sets title, members … */
  ensureConversation(conv, patch = {}) {
    let info = this.#conversations.get(conv);
    if (!info) {
      const { ope, peer } = parseConversation(conv, this.user);
      info = { conv, ope, peer, title: ope === 1 ? `Group ${peer}` : peer, unread: 0, lastTs: 0, preview: '' };
      this.#conversations.set(conv, info);
    }
    Object.assign(info, patch);
    this.#touch(conv);
    return info;
  }

  /** A message this device is sending now, shown as pending until its ack arrives. */
  addLocal({ req, ope, to, type, body, reply, mentions }) {
    const conv = conversationOf(this.user, ope, to);
    const record = {
      req, conv, ope, from: this.user, to, type, body, ts: Date.now(), queuedAt: Date.now(), status: 'pending', late: false,
    };
    if (reply) record.reply = reply;
    if (mentions) record.mentions = mentions;
    this.#insert(record);
    this.#byReq.set(req, record);
    this.#noteLast(record);
    return record;
  }

  /** An edit, recall, reaction or pin this device is sending now (`frame` without `req`), kept until its ack. */
  addPendingOp({ req, frame }) {
    const op = { req, frame, queuedAt: Date.now() };
    this.#pendingOps.set(req, op);
    this.#queueSave();
    return op;
  }

  /**
   * A status from the connection for an operation: settled (sent or failed) ones are dropped. Returns the operation
   * (with `error` when it failed), or null when `req` is not an operation's.
   */
  applyOpStatus({ req, status, error }) {
    const op = this.#pendingOps.get(req);
    if (!op) return null;
    if (status === 'sent' || status === 'failed') {
      this.#pendingOps.delete(req);
      this.#queueSave();
    }
    return status === 'failed' ? { ...op, error: error ?? { code: 'failed', message: 'not sent' } } : op;
  }

  /** Applies a status from the connection: late (no ack yet), sent (with its ack), failed (with the error). */
  applySendStatus({ req, status, late, ack, error }) {
    const record = this.#byReq.get(req);
    if (!record) return;
    if (status === 'sent' && ack) {
      const copy = this.#byId.get(ack.id);
      // A copy held back for this send turned out to be another message (sent by another device of ours).
      if (record.copyId !== undefined && record.copyId !== ack.id) {
        const other = this.#byId.get(record.copyId);
        if (other) delete other.hiddenBy;
      }
      delete record.copyId;
      if (copy && copy !== record) {
        // The message's own inbox copy arrived before the ack: keep that one, drop the local placeholder.
        this.#remove(record);
        copy.req = req;
        copy.status = 'sent';
        delete copy.hiddenBy;
        this.#byReq.set(req, copy);
      } else {
        record.id = ack.id;
        record.ts = ack.ts ?? record.ts;
        record.status = 'sent';
        record.late = false;
        delete record.error;
        this.#byId.set(ack.id, record);
      }
    } else if (status === 'failed') {
      record.status = 'failed';
      record.error = error ?? { code: 'failed', message: 'not sent' };
    } else if (status === 'pending') {
      record.status = 'pending';
      record.late = Boolean(late);
      if (!late) delete record.error;
    }
    this.#touch(record.conv);
  }

  /** Marks a failed send pending again before it is retried with its original req. */
  retrying(req) {
    const record = this.#byReq.get(req);
    if (!record) return null;
    record.status = 'pending';
    record.late = false;
    record.queuedAt = Date.now();
    delete record.error;
    this.#touch(record.conv);
    return record;
  }

  /**
   * Surfaced messages and the cursors that now cover them, in one save. `isRead(conv)` says whether the user is
   * looking at that conversation (then nothing counts as unread).
   */
  applyIncoming(items, { cursor, groups }, isRead) {
    for (const msg of items) {
      if (isOperation(msg.type)) {
        this.#applyOperation(msg, ++this.#arrivals);
        continue;
      }
      if (this.#upsert(msg) && msg.from !== this.user && msg.type >= 0 && !isRead(msg.conv)) {
        const info = this.#conversations.get(msg.conv);
        info.unread++;
        if (this.#mentionsMe(msg)) info.mentions = (info.mentions ?? 0) + 1;
      }
    }
    if (cursor !== undefined && cursor !== null) this.cursor = cursor;
    if (groups) this.groups = { ...this.groups, ...groups };
    this.#queueSave();
  }

  /**
   * Messages read from history (or a new device's recent inbox): known ones are merged, none counts as unread. With
   * `mark` (taken before the server was asked) they are server views: each message in its current state, which becomes
   * its base; operation entries among them are already in the views of their targets.
   */
  addHistory(items, { mark } = {}) {
    const view = Number.isSafeInteger(mark);
    let added = 0;
    for (const msg of items) {
      if (isOperation(msg.type)) this.#applyOperation(msg, view ? mark : ++this.#arrivals);
      else if (this.#upsert(msg, view ? mark : undefined)) added++;
    }
    return added;
  }

  /** A view of a replied-to message from `GET /api/conversations/{conv}/messages/{id}`: a held one takes it as its base. */
  addQuote(view, mark) {
    const held = this.#byId.get(String(view.id));
    if (held) {
      seedFromView(held, view, mark);
      this.#touch(held.conv);
    } else {
      this.#quotes.set(String(view.id), { ...view, id: String(view.id) });
      this.#touch(view.conv);
    }
  }

  /** `GET /api/conversations/{conv}/pins` (asked for at `mark`): the pinned messages, most recently pinned first. */
  setPins(conv, views, mark) {
    const info = this.ensureConversation(conv);
    for (const view of views) {
      const held = this.#byId.get(String(view.id));
      if (held) seedFromView(held, view, mark);
    }
    info.pins = views.map(v => ({ ...v, id: String(v.id) }));
    this.#touch(conv);
  }

  /**
   * The user is looking at `conv`: nothing in it is unread. Returns the cseq to tell the server (the newest held,
   * when it is past the read position the server knows), or null when there is nothing new to mark.
   */
  markRead(conv) {
    const info = this.#conversations.get(conv);
    if (!info) return null;
    if (info.unread || info.mentions) {
      info.unread = 0;
      info.mentions = 0;
      this.#touch(conv);
    }
    const newest = this.newestCseq(conv);
    if (newest === null || newest <= (info.readCseq ?? 0)) return null;
    info.readCseq = newest;
    this.#touch(conv);
    return newest;
  }

  /** The highest cseq held for a conversation, or null. */
  newestCseq(conv) {
    let newest = null;
    for (const m of this.#messages.get(conv) ?? []) {
      if (Number.isSafeInteger(m.cseq) && (newest === null || m.cseq > newest)) newest = m.cseq;
    }
    return newest;
  }

  /** This user read `conv` through `cseq` on another device: what is held up to there is no longer unread. */
  applyRemoteRead(conv, cseq) {
    const info = this.#conversations.get(conv);
    if (!info || cseq <= (info.readCseq ?? 0)) return;
    info.readCseq = cseq;
    const unread = (this.#messages.get(conv) ?? [])
      .filter(m => Number.isSafeInteger(m.cseq) && m.cseq > cseq && m.from !== this.user && m.type >= 0);
    info.unread = unread.length;
    info.mentions = unread.filter(m => this.#mentionsMe(m)).length;
    this.#touch(conv);
  }

  /**
   * A page of `GET /api/conversations`: the server's index is the truth for each listed conversation's unread count,
   * read position, title and last message.
   */
  applyConversationList(items, mark) {
    for (const item of items) {
      this.addHistory([item.last], { mark });
      const last = this.#byId.get(String(item.last.id)) ?? item.last;
      const patch = {
        unread: item.unread, mentions: item.mentions ?? 0, readCseq: item.read, lastTs: item.ts, preview: preview(last), muted: item.muted === true,
      };
      if (item.ope === 1 && item.name) Object.assign(patch, { title: item.name, titled: true });
      this.ensureConversation(item.conv, patch);
    }
  }

  /** Another member's delivered and read cseq in `conv` (a `receipt` frame, or the receipts API); never moves back. */
  applyReceipt({ conv, user, delivered, read }) {
    const info = this.#conversations.get(conv);
    if (!info || user === this.user) return;
    const receipts = (info.receipts ??= {});
    const known = receipts[user] ?? { delivered: 0, read: 0 };
    receipts[user] = {
      delivered: Math.max(known.delivered, Number.isSafeInteger(delivered) ? delivered : 0),
      read: Math.max(known.read, Number.isSafeInteger(read) ? read : 0),
    };
    this.#touch(conv);
  }

  /** Name and members from `GET /api/groups/{gid}`. */
  setGroupInfo(gid, group) {
    this.ensureConversation(`g:${gid}`, { title: group.name, titled: true, owner: group.owner, members: group.members });
  }

  // ------------------------------------------------------------------ internals

  /** Adds or merges a message; `mark` when it is a server view asked for then (its state becomes the base). */
  #upsert(msg, mark) {
    const id = String(msg.id);
    const known = this.#byId.get(id);
    if (known) {
      if (!Number.isSafeInteger(known.cseq) && Number.isSafeInteger(msg.cseq)) known.cseq = msg.cseq;
      if (Number.isSafeInteger(msg.seq)) known.seq = msg.seq;
      if (mark !== undefined && msg.type >= 0) {
        seedFromView(known, msg, mark);
        this.#notePreview(known);
      }
      this.#touch(known.conv);
      return false;
    }
    const record = {
      id, conv: msg.conv, cseq: msg.cseq, ope: msg.ope, from: msg.from, to: msg.to, type: msg.type,
      body: msg.body ?? {}, ts: msg.ts,
    };
    if (Number.isSafeInteger(msg.seq)) record.seq = msg.seq;
    if (msg.ex !== undefined && msg.ex !== null) record.ex = msg.ex;
    if (typeof msg.reply === 'string') record.reply = msg.reply;
    if (Array.isArray(msg.mentions)) record.mentions = msg.mentions;
    if (mark !== undefined && msg.type >= 0) seedFromView(record, msg, mark);
    // Our own message from the inbox: sent by this device or another device of ours.
    if (msg.from === this.user && msg.type >= 0) {
      record.status = 'sent';
      // It can beat its ack (or the ack was lost): then it is most likely the oldest identical send still waiting,
      // and showing both would show the message twice. It stays out of sight until that send's ack says which id it got.
      const waiting = this.#waitingSendLike(record);
      if (waiting) {
        waiting.copyId = id;
        record.hiddenBy = waiting.req;
      }
    }
    this.#insert(record);
    this.#byId.set(id, record);
    if (msg.type === -1 && msg.body?.name) {
      const info = this.#conversations.get(msg.conv);
      if (!info.titled) Object.assign(info, { title: msg.body.name, titled: true });
    }
    this.#noteLast(record);
    return true;
  }

  /**
   * An edit, recall, reaction or pin entry: applied to its target when it is held (a target not held is shown from a
   * server view, which holds the entry already). Keeps the conversation's pins and preview in step.
   */
  #applyOperation(entry, arrival) {
    const target = this.#byId.get(targetOf(entry) ?? '');
    if (!target || target.type < 0 || target.conv !== entry.conv) return;
    const wasPinned = target.pinned === true;
    if (!recordOperation(target, entry, arrival)) return;
    const info = this.#conversations.get(target.conv);
    if (info && wasPinned !== (target.pinned === true)) {
      const pins = (info.pins ?? []).filter(p => p.id !== target.id);
      if (target.pinned) pins.unshift({ id: target.id, conv: target.conv, from: target.from, type: target.type, body: target.body, ts: target.ts });
      info.pins = pins;
    }
    this.#notePreview(target);
    this.#touch(target.conv);
  }

  /** The conversation list shows its last message as it is now (edited, recalled). */
  #notePreview(record) {
    const info = this.#conversations.get(record.conv);
    if (info && info.lastId === record.id) info.preview = preview(record);
  }

  #mentionsMe(msg) {
    return Array.isArray(msg.mentions) && (msg.mentions.includes(this.user) || msg.mentions.includes('@all'));
  }

  #waitingSendLike(copy) {
    const body = JSON.stringify(copy.body);
    let oldest = null;
    for (const m of this.#messages.get(copy.conv) ?? []) {
      if (m.id || m.copyId !== undefined || !Number.isSafeInteger(m.req) || m.type !== copy.type) continue;
      if (m.status !== 'pending' && m.status !== 'failed') continue;
      if (JSON.stringify(m.body) === body && (!oldest || m.req < oldest.req)) oldest = m;
    }
    return oldest;
  }

  #insert(record) {
    this.ensureConversation(record.conv);
    let list = this.#messages.get(record.conv);
    if (!list) this.#messages.set(record.conv, list = []);
    list.push(record);
    this.#touch(record.conv);
  }

  #remove(record) {
    const list = this.#messages.get(record.conv) ?? [];
    const at = list.indexOf(record);
    if (at >= 0) list.splice(at, 1);
    this.#touch(record.conv);
  }

  #noteLast(record) {
    const info = this.#conversations.get(record.conv);
    // Within a conversation cseq is the order (several messages can share a millisecond); a send not yet sequenced goes by time.
    const newer = Number.isSafeInteger(record.cseq) && Number.isSafeInteger(info.lastCseq)
      ? record.cseq > info.lastCseq
      : (record.ts ?? 0) >= (info.lastTs ?? 0);
    if (!newer) return;
    info.lastTs = Math.max(record.ts ?? Date.now(), info.lastTs ?? 0);
    info.preview = preview(record);
    if (record.id) info.lastId = record.id;
    if (Number.isSafeInteger(record.cseq)) info.lastCseq = record.cseq;
  }

  #touch(conv) {
    this.#changed.add(conv);
    this.#queueSave();
  }

  // Every change within one task (one received frame, one user action) is one write, then one 'change' event.
  #queueSave() {
    if (this.#saveQueued) return;
    this.#saveQueued = true;
    queueMicrotask(() => {
      this.#saveQueued = false;
      this.#save();
      const changed = this.#changed;
      this.#changed = new Set();
      this.dispatchEvent(new CustomEvent('change', { detail: { conversations: changed } }));
    });
  }

  #save(keep = KeptPerConversation) {
    const messages = {};
    for (const [conv, list] of this.#messages) {
      const sorted = [...list].sort(compareMessages);
      // Unsent ones are always kept: they must be retransmitted or retried after a reload.
      const unsent = sorted.filter(m => m.status === 'pending' || m.status === 'failed');
      const rest = sorted.filter(m => !unsent.includes(m)).slice(-keep);
      messages[conv] = [...rest, ...unsent];
    }
    const state = {
      cursor: this.cursor, groups: this.groups, conversations: [...this.#conversations.values()], messages,
      pendingOps: [...this.#pendingOps.values()], arrivals: this.#arrivals,
    };
    try {
      localStorage.setItem(this.#key, JSON.stringify(state));
    } catch (e) {
      if (keep > 20) this.#save(Math.floor(keep / 4));
      else console.warn('AspireChat: local state not saved', e);
    }
  }

  #load() {
    const high = Number(localStorage.getItem(this.#reqKey));
    this.#reqHigh = Number.isSafeInteger(high) && high > 0 ? high : 0;
    let state = null;
    try {
      state = JSON.parse(localStorage.getItem(this.#key) ?? 'null');
    } catch {
      state = null;
    }
    if (!state) return;
    this.cursor = Number.isSafeInteger(state.cursor) ? state.cursor : null;
    this.groups = state.groups ?? {};
    this.#arrivals = Number.isSafeInteger(state.arrivals) ? state.arrivals : 0;
    for (const op of state.pendingOps ?? []) {
      if (!Number.isSafeInteger(op?.req)) continue;
      this.#pendingOps.set(op.req, op);
      if (op.req > this.#reqHigh) this.#reqHigh = op.req;
    }
    for (const info of state.conversations ?? []) this.#conversations.set(info.conv, info);
    for (const [conv, list] of Object.entries(state.messages ?? {})) {
      this.#messages.set(conv, list);
      for (const record of list) {
        if (record.id) this.#byId.set(record.id, record);
        if (Number.isSafeInteger(record.req)) {
          this.#byReq.set(record.req, record);
          if (record.req > this.#reqHigh) this.#reqHigh = record.req;
        }
      }
    }
  }
}

function compareMessages(a, b) {
  const sa = Number.isSafeInteger(a.cseq), sb = Number.isSafeInteger(b.cseq);
  if (sa && sb) return a.cseq - b.cseq;
  if (sa !== sb) return sa ? -1 : 1;
  return (a.req ?? 0) - (b.req ?? 0) || (a.ts ?? 0) - (b.ts ?? 0);
}

/** A one-line summary of a message for the conversation list. */
export function preview(message) {
  if (message.type < 0) return describeEvent(message);
  if (message.recalled) return 'message recalled';
  if (typeof message.body?.text === 'string') return message.body.text;
  return `[message of type ${message.type}]`;
}

/** The system line of a membership event (type < 0). */
export function describeEvent(message) {
  const body = message.body ?? {};
  const list = users => (Array.isArray(users) && users.length ? users.join(', ') : 'nobody else');
  switch (body.event) {
    case 'created': {
      const others = (body.members ?? []).filter(u => u !== body.owner);
      return `${body.owner ?? message.from} created the group “${body.name ?? ''}” with ${list(others)}`;
    }
    case 'added':
      return `${body.by ?? message.from} added ${list(body.users)}`;
    case 'removed':
      return body.by === body.user ? `${body.user} left the group` : `${body.by ?? message.from} removed ${body.user}`;
    default:
      return `membership changed (${message.type})`;
  }
}
