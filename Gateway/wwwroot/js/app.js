// Wires the web client together: a session is one signed-in user on this browser's device, with its store (local
// state), its connection (protocol v1) and the HTTP API; the view shows them and reports what the user does.

import { ChatConnection } from './connection.js';
import { ChatStore, conversationOf, deviceName, saveSession, savedSession } from './store.js';
import { Op, mentionsIn, targetOf } from './message-state.js';
import { ApiError, ChatApi, devToken } from './api.js';
import { ChatView } from './ui.js';
import { offerNotifications } from './push.js';

// The server's id rule: letters, digits, _ . - and not the dot segments . and .. (protocol.md §2).
const UserId = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,64}$/;
const PresenceEveryMs = 15000;
const HistoryPage = 50;
const TypingShownMs = 3000;

const device = deviceName();
/** @type {null | {user: string, token: string, store: ChatStore, api: ChatApi, connection: ChatConnection,
 *   active: string|null, presence: Map<string, object>, exhausted: Set<string>, timers: number[],
 *   typing: Map<string, Map<string, number>>}} */
let session = null;

const view = new ChatView({
  async signIn(user) {
    if (!UserId.test(user)) throw new Error('A user id is 1–64 letters, digits, “_”, “.” or “-”.');
    const token = await devToken(user);
    saveSession({ user, token });
    start({ user, token });
  },
  signOut() {
    stop();
    saveSession(null);
    view.showSignIn();
  },
  openChat(user) {
    if (!UserId.test(user)) {
      view.setProblem(`“${user}” is not a user id.`);
      return;
    }
    open(conversationOf(session.user, 0, user));
  },
  async createGroup(name, members) {
    const bad = members.find(m => !UserId.test(m));
    if (bad) throw new Error(`“${bad}” is not a user id.`);
    const gid = await session.api.createGroup(name, members);
    session.store.ensureConversation(`g:${gid}`, { title: name, titled: true, lastTs: Date.now() });
    await refreshGroup(gid);
    open(`g:${gid}`);
  },
  open: conv => open(conv),
  send: (text, options) => send(text, options),
  edit: (id, text) => operate('edit', id, { body: { text } }),
  recall: id => operate('recall', id),
  react: (id, emoji, on) => operate('react', id, { emoji, on }),
  pin: (id, on) => operate('pin', id, { on }),
  async versions(id) {
    const s = session;
    const mark = s.store.mark();
    const message = await s.api.message(s.active, id);
    if (session === s) s.store.addQuote(message, mark);
    return message.edits ?? [];
  },
  retry: req => retry(req),
  loadEarlier: () => loadEarlier(),
  async addMember(user) {
    if (!UserId.test(user)) throw new Error(`“${user}” is not a user id.`);
    const gid = session.active.slice(2);
    await session.api.addMembers(gid, [user]);
    await refreshGroup(gid);
  },
  reconnect: () => session?.connection.reconnectNow(),
  async toggleMute() {
    const s = session;
    const info = s?.active ? s.store.conversation(s.active) : null;
    if (!info) return;
    const muted = !info.muted;
    try {
      await s.api.setMuted(info.conv, muted);
      if (session === s) s.store.ensureConversation(info.conv, { muted });
    } catch (e) {
      // A one-to-one conversation without messages is not known to the server yet.
      flash(e instanceof ApiError && e.status === 404 ? 'Send a first message before muting this conversation.' : `Mute: ${e.message}`);
    }
  },
  async toggleBlock() {
    const s = session;
    const info = s?.active ? s.store.conversation(s.active) : null;
    if (!info || info.ope !== 0) return;
    const blocking = !s.blocked.has(info.peer);
    try {
      if (blocking) await s.api.block(info.peer);
      else await s.api.unblock(info.peer);
      if (session !== s) return;
      if (blocking) s.blocked.add(info.peer);
      else s.blocked.delete(info.peer);
      s.typing.get(info.conv)?.clear();
      render();
    } catch (e) {
      flash(`${blocking ? 'Block' : 'Unblock'}: ${e.message}`);
    }
  },
  typing() {
    // A conversation without messages is not known to the server yet: nobody to tell.
    const s = session;
    if (s?.active && s.store.newestCseq(s.active) !== null) s.connection.typing(s.active);
  },
});

function start({ user, token }) {
  stop();
  const store = new ChatStore(user, device);
  const s = {
    user, token, store, active: null, presence: new Map(), exhausted: new Set(), timers: [], typing: new Map(), blocked: new Set(),
    quoting: new Set(),
    api: new ChatApi(() => s.token),
    connection: new ChatConnection({
      url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
      device,
      cursor: store.cursor,
      groups: store.groups,
      async getToken({ refresh }) {
        // A refused token may only have expired: in local runs a fresh dev token is one call away.
        if (refresh) {
          s.token = await devToken(user);
          saveSession({ user, token: s.token });
        }
        return s.token;
      },
    }),
  };
  session = s;
  view.showChat(user, device);

  store.addEventListener('change', () => { if (session === s) render(); });
  const connection = s.connection;
  connection.addEventListener('state', ({ detail }) => {
    view.setConnection(detail);
    if (detail.state === 'unauthorized') {
      stop();
      saveSession(null);
      view.showSignIn('The server refused this sign-in; sign in again.');
    }
  });
  connection.addEventListener('messages', ({ detail }) => {
    store.applyIncoming(detail.items, detail, conv => conv === s.active && document.visibilityState === 'visible');
    for (const m of detail.items) {
      // A pin of a message this device does not hold: the server's pins view has it.
      if (m.type === Op.Pinned && !store.message(targetOf(m) ?? '')) refreshPins(m.conv);
      // Someone changed a group's membership: its member list is stale.
      if (m.type < 0 && m.conv === s.active) refreshGroup(m.conv.slice(2));
      // A message from someone ends their typing.
      s.typing.get(m.conv)?.delete(m.from);
    }
    readActive();
  });
  connection.addEventListener('welcome', () => {
    refreshConversations();
    refreshBlocks();
  });
  // Read on another device of this user: its badge clears here too.
  connection.addEventListener('read', ({ detail }) => store.applyRemoteRead(detail.conv, detail.cseq));
  connection.addEventListener('receipt', ({ detail }) => store.applyReceipt(detail));
  connection.addEventListener('typing', ({ detail }) => {
    if (detail.user === s.user) return;
    let users = s.typing.get(detail.conv);
    if (!users) s.typing.set(detail.conv, users = new Map());
    users.set(detail.user, Date.now() + TypingShownMs);
    render();
    setTimeout(() => { if (session === s) render(); }, TypingShownMs + 50);
  });
  connection.addEventListener('history', ({ detail }) => store.addHistory(detail.items));
  connection.addEventListener('send', ({ detail }) => {
    const op = store.applyOpStatus(detail);
    if (!op) store.applySendStatus(detail);
    else if (op.error) flash(`${OperationNames[op.frame.t] ?? op.frame.t}: ${op.error.message} (${op.error.code})`);
  });
  connection.addEventListener('problem', ({ detail }) => flash(`${detail.code}: ${detail.message}`));

  // Sends that had no ack when the page was last closed go out again under their own reqs.
  for (const pending of store.pendingSends()) {
    const { req, ope, to, type, body, reply, mentions, queuedAt } = pending;
    connection.send({ req, ope, to, type, body, reply, mentions, queuedAt });
  }
  for (const op of store.pendingOps()) connection.operate(op);
  connection.start();

  s.timers.push(setInterval(refreshPresence, PresenceEveryMs));
  refreshPresence();
  offerNotifications({ api: s.api, device, button: document.getElementById('notifications'), onProblem: flash })
    .catch(() => { document.getElementById('notifications').hidden = true; });

  render();
  const wanted = decodeURIComponent(location.hash.slice(1));
  const first = wanted || store.conversations()[0]?.conv;
  if (first) open(first);
}

function stop() {
  if (!session) return;
  session.connection.stop();
  for (const timer of session.timers) clearInterval(timer);
  session = null;
}

function render() {
  const s = session;
  if (!s) return;
  const conversations = s.store.conversations();
  view.renderConversations(conversations, s.active, s.presence, s.blocked);
  const info = s.active ? s.store.conversation(s.active) : null;
  const oldest = info ? s.store.oldestCseq(info.conv) : null;
  const now = Date.now();
  const typing = [...(s.typing.get(s.active) ?? new Map())].filter(([, until]) => until > now).map(([user]) => user);
  const messages = info ? s.store.messages(info.conv) : [];
  view.renderConversation(info, messages, {
    me: s.user,
    hasEarlier: Boolean(info) && oldest !== null && oldest > 1 && !s.exhausted.has(info.conv),
    presence: s.presence,
    typing,
    blocked: s.blocked,
    moderator: isModerator(info),
    quote: id => s.store.quote(id),
    pins: info ? s.store.pins(info.conv) : [],
    mentionable: mentionable(info),
  });
  if (info) fetchQuotes(info.conv, messages);
  const unread = conversations.reduce((sum, c) => sum + (c.unread || 0), 0);
  document.title = unread > 0 ? `(${unread}) AspireChat` : 'AspireChat';
}

async function open(conv) {
  const s = session;
  if (!s || !/^(s:[A-Za-z0-9_.-]{1,64}:[A-Za-z0-9_.-]{1,64}|g:[A-Za-z0-9_.-]{1,64})$/.test(conv)) return;
  s.active = conv;
  s.store.ensureConversation(conv);
  readActive();
  history.replaceState(null, '', `#${encodeURIComponent(conv)}`);
  render();
  view.focusComposer();
  if (conv.startsWith('g:')) refreshGroup(conv.slice(2));
  refreshPins(conv);
  // The newest page of the conversation's history (roaming): fills in what this device never received, and every
  // message in it as it is now (edits, recalls, reactions, pins).
  try {
    const mark = s.store.mark();
    const items = await s.api.history(conv, { limit: HistoryPage });
    if (session !== s) return;
    s.store.addHistory(items, { mark });
    if (items.length < HistoryPage) s.exhausted.add(conv);
    readActive();
  } catch (e) {
    if (!(e instanceof ApiError)) return; // offline: what this device holds is shown
    if (e.status === 403) s.exhausted.add(conv);
  }
  refreshReceipts(conv);
  refreshPresence();
}

/** The open conversation, while the page is visible, is read through its newest message: on every device of this user. */
function readActive() {
  const s = session;
  if (!s?.active || document.visibilityState !== 'visible') return;
  const cseq = s.store.markRead(s.active);
  if (cseq !== null) s.connection.markRead(s.active, cseq);
}

/** The conversation list and unread badges from the server's index (on every welcome: reads elsewhere, offline gaps). */
async function refreshConversations() {
  const s = session;
  if (!s) return;
  try {
    const mark = s.store.mark();
    const page = await s.api.conversations({ limit: 50 });
    if (session !== s) return;
    s.store.applyConversationList(page.items, mark);
    readActive();
  } catch {
    // offline or refused: the locally kept list stays
  }
}

/** The users this user blocks (shown as such); asked on every welcome, since another device may have changed them. */
async function refreshBlocks() {
  const s = session;
  if (!s) return;
  try {
    const items = await s.api.blocks();
    if (session !== s) return;
    s.blocked = new Set(items.map(b => b.user));
    render();
  } catch {
    // offline, or a server without blocks: none shown
  }
}

/** Where the other members are in a conversation: "Delivered" and "Seen" on this user's messages. */
async function refreshReceipts(conv) {
  const s = session;
  if (!s) return;
  try {
    const items = await s.api.receipts(conv);
    if (session !== s) return;
    for (const item of items) s.store.applyReceipt({ conv, ...item });
  } catch {
    // not a member, no messages yet, or offline
  }
}

/** History scroll-back: the page of messages before the oldest one held. */
async function loadEarlier() {
  const s = session;
  if (!s?.active) return;
  const conv = s.active;
  const before = s.store.oldestCseq(conv);
  if (before === null || before <= 1) return;
  try {
    const mark = s.store.mark();
    const items = await s.api.history(conv, { before, limit: HistoryPage });
    if (session !== s) return;
    if (items.length < HistoryPage) s.exhausted.add(conv);
    s.store.addHistory(items, { mark });
    render();
  } catch (e) {
    flash(`History: ${e.message}`);
  }
}

function send(text, { reply } = {}) {
  const s = session;
  const info = s?.active ? s.store.conversation(s.active) : null;
  if (!info) return;
  const message = { ope: info.ope, to: info.peer, type: 1, body: { text } };
  if (reply) message.reply = reply;
  const mentions = mentionsIn(text, members(info), { mayMentionAll: info.ope === 0 || isModerator(info) });
  if (mentions) message.mentions = mentions;
  const req = s.store.allocateReq(); // persisted before it reaches the wire
  const record = s.store.addLocal({ req, ...message });
  s.connection.send({ req, ...message, queuedAt: record.queuedAt });
}

const OperationNames = Object.freeze({ edit: 'Edit', recall: 'Recall', react: 'Reaction', pin: 'Pin' });

/**
 * An edit, recall, reaction or pin on a message of the open conversation (docs/protocol.md §13.2): a req from the
 * same sequence as sends, kept until its ack. Its effect shows when its timeline entry comes back through the inbox.
 */
function operate(t, target, fields = {}) {
  const s = session;
  if (!s?.active) return;
  const frame = { t, conv: s.active, target, ...fields };
  const req = s.store.allocateReq();
  const op = s.store.addPendingOp({ req, frame });
  s.connection.operate(op);
}

/** The user ids of a conversation's members (a one-to-one conversation: both parties). */
function members(info) {
  if (!info) return [];
  if (info.ope === 0) return [...new Set([session.user, info.peer])];
  return (info.members ?? []).map(m => m.user);
}

/** What "@" completes to in the composer: the other members, and "all" for those who may mention everyone. */
function mentionable(info) {
  if (!info) return [];
  const others = members(info).filter(user => user !== session.user);
  return info.ope === 0 || isModerator(info) ? [...others, 'all'] : others;
}

/** This user owns or administers the open group: may pin, recall others' messages and mention @all. */
function isModerator(info) {
  const me = info?.ope === 1 ? info.members?.find(m => m.user === session.user) : null;
  return me?.role === 'owner' || me?.role === 'admin';
}

/** The pinned messages of a conversation from the server (most recently pinned first); live pins follow from −13 entries. */
async function refreshPins(conv) {
  const s = session;
  if (!s) return;
  try {
    const mark = s.store.mark();
    const items = await s.api.pins(conv);
    if (session === s) s.store.setPins(conv, items, mark);
  } catch {
    // not a member, no messages yet, or offline: the pins known stay
  }
}

/** Replies quote messages this device may not hold (older than its history): each is asked for once. */
function fetchQuotes(conv, messages) {
  const s = session;
  for (const message of messages) {
    const id = message.reply;
    if (!id || s.store.quote(id) || s.quoting.has(id)) continue;
    s.quoting.add(id);
    const mark = s.store.mark();
    s.api.message(conv, id)
      .then(view => { if (session === s) s.store.addQuote(view, mark); })
      .catch(() => { /* recalled before we looked, or not readable: the quote says "not loaded" */ });
  }
}

/** A send that is late retries now; a failed one goes out again under its original req (no second message). */
function retry(req) {
  const s = session;
  const record = s?.store.byReq(req);
  if (!record) return;
  if (record.status === 'pending' && s.connection.retryNow(req)) return;
  if (record.status === 'sent') return;
  s.store.retrying(req);
  const { ope, to, type, body, reply, mentions, queuedAt } = s.store.byReq(req);
  s.connection.send({ req, ope, to, type, body, reply, mentions, queuedAt });
  s.connection.reconnectNow();
}

async function refreshGroup(gid) {
  const s = session;
  if (!s) return;
  try {
    const group = await s.api.group(gid);
    if (session === s) s.store.setGroupInfo(gid, group);
  } catch {
    // not a member (any more), or offline: keep what is known
  }
}

/** Presence dots for one-to-one peers, when the server has a presence API; none otherwise. */
async function refreshPresence() {
  const s = session;
  if (!s) return;
  const peers = s.store.conversations().filter(c => c.ope === 0).map(c => c.peer);
  const list = await s.api.presence([...new Set(peers)].slice(0, 100));
  if (session !== s) return;
  s.presence = new Map((list ?? []).filter(p => p && typeof p.user === 'string').map(p => [p.user, p]));
  render();
}

let flashTimer = 0;
function flash(text) {
  view.setProblem(text);
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => view.setProblem(''), 8000);
}

window.addEventListener('online', () => session?.connection.reconnectNow());
window.addEventListener('hashchange', () => {
  const conv = decodeURIComponent(location.hash.slice(1));
  if (session && conv && conv !== session.active) open(conv);
});
document.addEventListener('visibilitychange', () => readActive());
navigator.serviceWorker?.addEventListener('message', event => {
  if (typeof event.data?.open === 'string') open(event.data.open);
});

const saved = savedSession();
if (saved && UserId.test(saved.user)) start(saved);
else view.showSignIn();
