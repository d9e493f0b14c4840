// Protocol v1 (docs/protocol.md §3–§9) over one WebSocket at a time — the client half, as the .NET SDK does it:
// sends with a timeout and retransmission under the SAME req; inbox messages surfaced exactly once in seq order,
// with gap-filling `sync` and batched cumulative acks (a send's ack that carries `seq` is this device's copy of its own
// message: the server does not push it back); large-group messages (no seq) deduplicated by (conv, cseq)
// and caught up with `gsync`; heartbeats; reconnection with backoff and `hello {cursor}`; unacknowledged sends
// retransmitted in req order after every welcome.
//
// The connection keeps no storage of its own: it is seeded with the device's cursors and pending sends, and
// reports every change through events (the store persists them).
//
// Events (CustomEvent, data in `detail`):
//   state    {state, code?, reason?, retryInMs?}   connecting | online | reconnecting | replaced | unauthorized | stopped
//   welcome  {user, device, node, head, heartbeat}
//   messages {items, cursor, groups}             surfaced messages, each once; the cursors to persist with them
//   history  {items}                              recent inbox entries of a device seen for the first time
//   send     {req, status, late?, ack?, error?}   of a send or an operation: pending (late: no ack within the timeout) | sent | failed
//   problem  {code, message}                      a server error that answers nothing this client asked for
//   read     {conv, cseq}                         this user read conv through cseq on another device
//   receipt  {conv, user, delivered?, read?}      another member's progress in conv
//   typing   {conv, user}                         another member is typing in conv

export const SendStatus = Object.freeze({ Pending: 'pending', Sent: 'sent', Failed: 'failed' });

const Defaults = Object.freeze({
  sendTimeoutMs: 5000,      // no ack within this → retransmit with the same req (and show "not sent yet")
  maxSendAttempts: 5,       // transmissions of one send before it is failed (the user may retry it)
  requestTimeoutMs: 10000,  // hello → welcome, sync, gsync
  reconnectInitialMs: 500,
  reconnectMaxMs: 10000,
  reconnectJitter: 0.2,
  ackDelayMs: 200,          // cumulative ack at most this long after the first unacknowledged message …
  ackBatch: 100,            // … or at once after this many
  syncPage: 200,
  gsyncPage: 100,
  bootstrapPage: 100,       // recent inbox entries a new device reads to fill its conversation list
});

const RecentPositionsLimit = 4096;
const TypingIntervalMs = 2000; // the server relays one typing per conversation per 2 s of a connection
const ReplacedReason = 'replaced by a newer connection of this device';

export class ChatConnection extends EventTarget {
  #url; #device; #getToken; #o;
  #ws = null;
  #connId = 0;
  #welcome = null;
  #state = 'idle';
  #stopped = true;
  #failures = 0;
  #refusedOnce = false;
  #timers = { reconnect: 0, hello: 0, heartbeat: 0, send: 0, ack: 0 };
  #lastReceived = 0;

  // Inbox (docs/protocol.md §8–§9): cur_max = highest contiguous seq surfaced; messages past a gap wait in #ahead.
  #curMax = null;
  #ahead = new Map();
  #ackedSeq = 0;
  #unacked = 0;
  #ackForced = false;
  #gapFilling = false;

  // Large groups (read diffusion): per-group cursor of contiguous cseqs, and recently seen (conv, cseq).
  #groupCursors = {};
  #groupAhead = new Map();
  #groupAcked = {};
  #recentPositions = new Set();
  #recentOrder = [];
  #gsyncing = new Set();
  #gsyncWaiters = new Map();

  // Replies to sync carry no request id: one sync is in flight at a time, matched by order.
  #syncQueue = [];
  #syncInFlight = null;

  // Sends and operations without an ack, by req.
  #outbox = new Map();

  // When this connection last sent typing, by conversation.
  #typingSent = new Map();

  /**
   * @param {{url: string, device: string, getToken: (opts: {refresh: boolean}) => Promise<string>,
   *          cursor?: number|null, groups?: Record<string, number>, options?: object}} init
   */
  constructor({ url, device, getToken, cursor = null, groups = {}, options = {} }) {
    super();
    this.#url = url;
    this.#device = device;
    this.#getToken = getToken;
    this.#o = { ...Defaults, ...options };
    this.#curMax = Number.isSafeInteger(cursor) && cursor >= 0 ? cursor : null;
    this.#ackedSeq = this.#curMax ?? 0;
    for (const [gid, cseq] of Object.entries(groups ?? {})) {
      if (Number.isSafeInteger(cseq) && cseq >= 0) this.#groupCursors[gid] = this.#groupAcked[gid] = cseq;
    }
  }

  get state() { return this.#state; }
  get welcome() { return this.#welcome; }
  get cursor() { return this.#curMax; }
  get pendingSends() { return this.#outbox.size; }

  start() {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#connect();
  }

  /** Closes the socket (1000) and stops reconnecting; pending sends stay queued for the next start. */
  stop() {
    this.#stopped = true;
    this.#flushAck();
    const ws = this.#ws;
    this.#connId++;
    this.#teardown();
    clearTimeout(this.#timers.send);
    if (ws) {
      try { ws.close(1000, 'client closing'); } catch { /* already closed */ }
    }
    this.#setState('stopped');
  }

  /** Skips the backoff wait (the network came back, or the user asked to retry now). */
  reconnectNow() {
    if (this.#stopped || this.#state === 'replaced' || this.#state === 'unauthorized') {
      if (this.#state === 'replaced' || this.#state === 'unauthorized') {
        this.#stopped = false;
        this.#refusedOnce = false;
        this.#failures = 0;
        this.#connect();
      }
      return;
    }
    if (this.#ws) return;
    clearTimeout(this.#timers.reconnect);
    this.#connect();
  }

  /** The user asked to retry a send still waiting for its ack: transmit it now (same req), or reconnect now. */
  retryNow(req) {
    const entry = this.#outbox.get(req);
    if (!entry) return false;
    if (this.#welcome) {
      entry.attempts = Math.min(entry.attempts, this.#o.maxSendAttempts - 1);
      this.#transmit(entry, Date.now());
      this.#scheduleSends();
    } else {
      this.reconnectNow();
    }
    return true;
  }

  /**
   * Queues a send under its req (fresh from the store for a new message; the original one for a retry, so the
   * server answers the original ack instead of creating a second message). Goes out once a connection is welcomed.
   * @param {{req: number, ope: number, to: string, type: number, body: object, ex?: object, reply?: string,
   *          mentions?: string[], queuedAt?: number}} message
   */
  send(message) {
    const { req, ope, to, type, body, ex, reply, mentions } = message;
    const frame = { t: 'send', req, ope, to, type, body };
    if (ex !== undefined && ex !== null) frame.ex = ex;
    if (reply) frame.reply = reply;
    if (Array.isArray(mentions) && mentions.length > 0) frame.mentions = mentions;
    this.#enqueue(req, frame, message.queuedAt);
  }

  /**
   * Queues an edit, recall, react or pin frame (docs/protocol.md §13.2) under its req — from the same sequence as
   * sends, and retransmitted and acknowledged exactly like one: its ack or refusal arrives as a `send` event.
   * @param {{req: number, frame: {t: string, conv: string, target: string}, queuedAt?: number}} operation
   */
  operate({ req, frame, queuedAt }) {
    this.#enqueue(req, { ...frame, req }, queuedAt);
  }

  #enqueue(req, frame, queuedAt) {
    if (!Number.isSafeInteger(req) || req < 1) throw new RangeError('req must be an integer 1 … 2^53−1');
    if (this.#outbox.has(req)) return;
    const entry = {
      req, send: frame, frame: JSON.stringify(frame), attempts: 0, connId: 0, dueAt: Infinity,
      queuedAt: queuedAt ?? Date.now(), late: false,
    };
    this.#outbox.set(req, entry);
    if (this.#welcome) this.#transmit(entry, Date.now());
    this.#scheduleSends();
  }

  /** Marks `conv` read through `cseq` for this user on every device (never moves back); false when offline. */
  markRead(conv, cseq) {
    if (!this.#welcome || !Number.isSafeInteger(cseq) || cseq < 0) return false;
    return this.#write({ t: 'read', conv, cseq });
  }

  /** Tells the other members this user is typing in `conv`; at most one frame per conversation per 2 s. */
  typing(conv) {
    if (!this.#welcome) return false;
    const now = Date.now();
    if (now - (this.#typingSent.get(conv) ?? 0) < TypingIntervalMs) return false;
    this.#typingSent.set(conv, now);
    return this.#write({ t: 'typing', conv });
  }

  // ------------------------------------------------------------------ socket lifecycle

  #connect() {
    clearTimeout(this.#timers.reconnect);
    const connId = ++this.#connId;
    this.#setState(this.#failures > 0 || this.#state === 'reconnecting' ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(this.#url);
    } catch {
      this.#closed(connId, 1006, '');
      return;
    }
    this.#ws = ws;
    const refresh = this.#refusedOnce;
    ws.onopen = async () => {
      let token;
      try {
        token = await this.#getToken({ refresh });
      } catch {
        if (connId !== this.#connId) return;
        ws.close(4000, 'no token');
        // As if refused: without a token there is nothing to retry (a second failure ends in 'unauthorized').
        this.#closed(connId, 4401, 'no token');
        return;
      }
      if (connId !== this.#connId || ws.readyState !== WebSocket.OPEN) return;
      const hello = { t: 'hello', token, device: this.#device };
      if (this.#curMax !== null) hello.cursor = this.#curMax;
      if (Object.keys(this.#groupCursors).length > 0) hello.groups = { ...this.#groupCursors };
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = event => {
      if (connId !== this.#connId) return;
      this.#lastReceived = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.#dispatch(frame);
    };
    ws.onclose = event => this.#closed(connId, event.code, event.reason);
    ws.onerror = () => { /* a close event follows */ };
    this.#timers.hello = setTimeout(() => {
      if (connId === this.#connId && !this.#welcome) this.#drop(ws, connId);
    }, this.#o.requestTimeoutMs);
  }

  // The path is dead or the handshake hangs: give up on this socket now rather than wait for TCP to notice.
  #drop(ws, connId) {
    try { ws.close(4000, 'no answer'); } catch { /* closing anyway */ }
    this.#closed(connId, 1006, 'no answer');
  }

  #closed(connId, code, reason) {
    if (connId !== this.#connId) return;
    this.#connId++; // late events of this socket are ignored from now on
    const wasWelcomed = this.#welcome !== null;
    this.#teardown();
    if (this.#stopped) return;

    // decision 0004: a newer socket of this device won; reconnecting would only take it back.
    if (code === 1000 && reason === ReplacedReason) {
      this.#setState('replaced', { code, reason });
      return;
    }
    if (code === 4401) {
      if (this.#refusedOnce) {
        this.#setState('unauthorized', { code, reason });
        return;
      }
      this.#refusedOnce = true; // the token may have expired: try once more with a fresh one
    }
    // A connection welcomed and then closed for cause (44xx) keeps its backoff, so a refusing server is not hammered.
    if (wasWelcomed && !(code >= 4400 && code < 4500)) this.#failures = 0;
    const delay = this.#backoff(code === 4429 ? Math.max(this.#failures, 4) : this.#failures);
    this.#failures++;
    this.#setState('reconnecting', { code, reason, retryInMs: delay });
    this.#timers.reconnect = setTimeout(() => this.#connect(), delay);
  }

  #teardown() {
    for (const name of ['hello', 'heartbeat', 'ack', 'reconnect']) {
      clearTimeout(this.#timers[name]);
      clearInterval(this.#timers[name]);
    }
    const ws = this.#ws;
    if (ws) ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    this.#ws = null;
    this.#welcome = null;
    this.#unacked = 0;
    const failure = new Error('disconnected');
    if (this.#syncInFlight) {
      clearTimeout(this.#syncInFlight.timer);
      this.#syncInFlight.reject(failure);
      this.#syncInFlight = null;
    }
    for (const waiting of this.#syncQueue.splice(0)) waiting.reject(failure);
    for (const waiter of this.#gsyncWaiters.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(failure);
    }
    this.#gsyncWaiters.clear();
    this.#scheduleSends();
  }

  #write(frame) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    return true;
  }

  #dispatch(frame) {
    switch (frame?.t) {
      case 'welcome': this.#onWelcome(frame); break;
      case 'msg': this.#deliver([frame], true); break;
      case 'ack': this.#onSendAck(frame); break;
      case 'sync': this.#onSyncReply(frame); break;
      case 'gsync': this.#onGsyncReply(frame); break;
      case 'error': this.#onError(frame); break;
      case 'pong': break;
      case 'read':
      case 'receipt':
      case 'typing':
        this.dispatchEvent(new CustomEvent(frame.t, { detail: frame }));
        break;
      default: break; // frame types of a later protocol version
    }
  }

  #onWelcome(welcome) {
    clearTimeout(this.#timers.hello);
    const connId = this.#connId;
    this.#welcome = welcome;
    this.#refusedOnce = false;
    this.#setState('online');
    this.dispatchEvent(new CustomEvent('welcome', { detail: welcome }));

    // The last ack may have died with the previous socket: say it again on this one.
    if (this.#curMax !== null && this.#curMax >= 1) {
      this.#ackForced = true;
      this.#scheduleAck(true);
    }

    const heartbeatMs = Math.max(1, welcome.heartbeat || 30) * 1000;
    this.#timers.heartbeat = setInterval(() => {
      if (connId !== this.#connId) return;
      // Every ping is answered, so this much silence means the path is dead even if TCP has not noticed.
      if (Date.now() - this.#lastReceived > heartbeatMs * 2 + this.#o.requestTimeoutMs) this.#drop(this.#ws, connId);
      else this.#write({ t: 'ping' });
    }, heartbeatMs);

    // First pass: every unacknowledged send again, in req order, before anything new (docs/protocol.md "order").
    const now = Date.now();
    for (const entry of [...this.#outbox.values()].sort((a, b) => a.req - b.req)) this.#transmit(entry, now);
    this.#scheduleSends();

    if (this.#curMax === null) this.#bootstrap(connId, welcome.head);
    if (this.#ahead.size > 0) this.#fillGap();
    for (const gid of Object.keys(this.#groupCursors)) this.#gsyncLoop(gid);
  }

  // ------------------------------------------------------------------ sends

  #transmit(entry, now) {
    if (entry.attempts >= this.#o.maxSendAttempts) {
      this.#outbox.delete(entry.req);
      this.#emitSend(entry.req, SendStatus.Failed, { error: { code: 'timeout', message: `no ack after ${entry.attempts} attempts` } });
      return;
    }
    if (!this.#write(entry.frame)) return;
    entry.attempts++;
    entry.connId = this.#connId;
    entry.dueAt = now + this.#o.sendTimeoutMs;
  }

  // One timer for every send: marks late ones ("not sent yet", also while offline) and retransmits overdue ones.
  #scheduleSends() {
    clearTimeout(this.#timers.send);
    let next = Infinity;
    for (const entry of this.#outbox.values()) {
      if (!entry.late) next = Math.min(next, entry.queuedAt + this.#o.sendTimeoutMs);
      if (this.#welcome && entry.connId === this.#connId) next = Math.min(next, entry.dueAt);
    }
    if (next === Infinity) return;
    this.#timers.send = setTimeout(() => this.#onSendTimer(), Math.max(0, next - Date.now()));
  }

  #onSendTimer() {
    const now = Date.now();
    for (const entry of [...this.#outbox.values()].sort((a, b) => a.req - b.req)) {
      if (!entry.late && now >= entry.queuedAt + this.#o.sendTimeoutMs) {
        entry.late = true;
        this.#emitSend(entry.req, SendStatus.Pending, { late: true });
      }
      // Overdue on this connection: the same req again — the server deduplicates and answers the original ack.
      if (this.#welcome && entry.connId === this.#connId && entry.dueAt <= now) this.#transmit(entry, now);
    }
    this.#scheduleSends();
  }

  #onSendAck(ack) {
    const entry = this.#outbox.get(ack.req);
    this.#outbox.delete(ack.req);
    if (entry) this.#scheduleSends();
    // Also for a send already given up on: the server has it, so it is sent.
    this.#emitSend(ack.req, SendStatus.Sent, { ack: { req: ack.req, id: String(ack.id), conv: ack.conv, ts: ack.ts } });
    // Embedded mode: the ack carries this device's own inbox entry of the message, which the server does not push back
    // (docs/protocol.md §8.2): it goes through the inbox from here, in seq order, as the pushed msg would have.
    // An operation's entry is written by the server (docs/protocol.md §13.2): it is not rebuilt here; the seq it leaves
    // open is filled by a sync, as for any client that ignores ack.seq.
    if (entry && entry.send.t === 'send' && this.#welcome && Number.isSafeInteger(ack.seq) && Number.isSafeInteger(ack.cseq)) {
      const { ope, to, type, body, ex } = entry.send;
      const own = { t: 'msg', seq: ack.seq, id: String(ack.id), conv: ack.conv, cseq: ack.cseq, ope, from: this.#welcome.user, to, type, body, ts: ack.ts };
      if (ex !== undefined && ex !== null) own.ex = ex;
      if (entry.send.reply) own.reply = entry.send.reply;
      if (entry.send.mentions) own.mentions = entry.send.mentions;
      this.#deliver([own], false);
    }
  }

  #onError(error) {
    if (Number.isSafeInteger(error.req)) {
      const entry = this.#outbox.get(error.req);
      if (!entry) return;
      if (error.code === 'rate_limited' || error.code === 'unavailable') {
        // Not refused, only not now: the same req again later.
        entry.dueAt = Date.now() + this.#backoff(entry.attempts - 1);
        this.#scheduleSends();
        return;
      }
      this.#outbox.delete(error.req);
      this.#scheduleSends();
      this.#emitSend(error.req, SendStatus.Failed, { error: { code: error.code, message: error.message } });
      return;
    }
    // Replies carry no request id; with a sync in flight, an error without req most likely answers it.
    if (this.#syncInFlight) {
      const waiting = this.#syncInFlight;
      this.#syncInFlight = null;
      clearTimeout(waiting.timer);
      waiting.reject(Object.assign(new Error(error.message), { code: error.code }));
      this.#pumpSync();
      return;
    }
    if (this.#gsyncWaiters.size > 0 && (error.code === 'forbidden' || error.code === 'not_found')) {
      for (const waiter of this.#gsyncWaiters.values()) {
        clearTimeout(waiter.timer);
        waiter.reject(Object.assign(new Error(error.message), { code: error.code }));
      }
      this.#gsyncWaiters.clear();
      return;
    }
    this.dispatchEvent(new CustomEvent('problem', { detail: { code: error.code, message: error.message } }));
  }

  #emitSend(req, status, extra = {}) {
    this.dispatchEvent(new CustomEvent('send', { detail: { req, status, ...extra } }));
  }

  // ------------------------------------------------------------------ inbox

  /** Runs received messages through the inbox: surfaces what is in order, schedules the ack, fills gaps. */
  #deliver(items, pushed) {
    const surfaced = [];
    let sequenced = 0;
    let repeated = false;
    let groupsMoved = false;
    for (const msg of items) {
      if (!msg || typeof msg.conv !== 'string') continue;
      msg.id = String(msg.id);
      if (msg.seq === undefined || msg.seq === null) {
        if (this.#acceptGroupMessage(msg, surfaced)) groupsMoved = true;
        continue;
      }
      const outcome = this.#acceptInbox(msg, surfaced);
      if (outcome === 'surfaced') sequenced++;
      // A pushed retransmission of something surfaced means the server missed our ack: say it again.
      if (outcome === 'duplicate' && pushed && msg.seq <= (this.#curMax ?? 0)) repeated = true;
    }
    if (surfaced.length > 0 || groupsMoved) {
      this.dispatchEvent(new CustomEvent('messages', {
        detail: { items: surfaced, cursor: this.#curMax, groups: { ...this.#groupCursors } },
      }));
    }
    if (sequenced > 0 || repeated || groupsMoved) {
      this.#unacked += sequenced;
      this.#ackForced ||= repeated;
      this.#scheduleAck(this.#unacked >= this.#o.ackBatch);
    }
    if (this.#ahead.size > 0) this.#fillGap();
  }

  #acceptInbox(msg, surfaced) {
    const seq = msg.seq;
    if (!Number.isSafeInteger(seq) || seq < 1) return 'duplicate';
    // Without a cursor the server starts after the one it recorded, oldest first: the first seq is the baseline.
    if (this.#curMax === null) this.#curMax = seq - 1;
    if (seq <= this.#curMax || this.#ahead.has(seq)) return 'duplicate';
    if (seq !== this.#curMax + 1) {
      this.#ahead.set(seq, msg);
      return 'buffered';
    }
    surfaced.push(msg);
    this.#curMax = seq;
    while (this.#ahead.has(this.#curMax + 1)) {
      const next = this.#ahead.get(this.#curMax + 1);
      this.#ahead.delete(this.#curMax + 1);
      surfaced.push(next);
      this.#curMax++;
    }
    return 'surfaced';
  }

  // Large-group messages carry no seq: deduplicate by (conv, cseq); the group's cursor is its highest contiguous cseq.
  // Returns true when the group's cursor moved.
  #acceptGroupMessage(msg, surfaced) {
    const gid = msg.conv.startsWith('g:') ? msg.conv.slice(2) : null;
    if (!gid || !Number.isSafeInteger(msg.cseq) || msg.cseq < 1) return false;
    const key = `${msg.conv}#${msg.cseq}`;
    if (this.#recentPositions.has(key)) return false;
    const cursor = this.#groupCursors[gid];
    if (cursor !== undefined && msg.cseq <= cursor) return false;
    this.#recentPositions.add(key);
    this.#recentOrder.push(key);
    if (this.#recentOrder.length > RecentPositionsLimit) this.#recentPositions.delete(this.#recentOrder.shift());
    surfaced.push(msg);

    const firstSight = cursor === undefined;
    let moved = firstSight ? msg.cseq - 1 : cursor;
    const ahead = this.#groupAhead.get(gid) ?? new Set();
    ahead.add(msg.cseq);
    while (ahead.has(moved + 1)) ahead.delete(++moved);
    if (ahead.size > 0) this.#groupAhead.set(gid, ahead); else this.#groupAhead.delete(gid);
    this.#groupCursors[gid] = moved;
    // A gap, or a group seen for the first time on this connection (hello pushed one page; more may follow): gsync.
    if (ahead.size > 0 || firstSight) this.#gsyncLoop(gid);
    return moved !== cursor;
  }

  #scheduleAck(now) {
    if (now) {
      clearTimeout(this.#timers.ack);
      this.#timers.ack = 0;
      queueMicrotask(() => this.#flushAck());
      return;
    }
    if (!this.#timers.ack) this.#timers.ack = setTimeout(() => this.#flushAck(), this.#o.ackDelayMs);
  }

  /** One cumulative ack for the inbox (every seq ≤ cur_max), one per large group whose cursor moved. */
  #flushAck() {
    clearTimeout(this.#timers.ack);
    this.#timers.ack = 0;
    if (!this.#welcome) return;
    const seq = this.#curMax;
    if (seq !== null && seq >= 1 && (seq > this.#ackedSeq || this.#ackForced)) {
      if (this.#write({ t: 'ack', seq })) this.#ackedSeq = seq;
    }
    this.#ackForced = false;
    this.#unacked = 0;
    for (const [gid, cseq] of Object.entries(this.#groupCursors)) {
      if (cseq >= 1 && cseq > (this.#groupAcked[gid] ?? 0) && this.#write({ t: 'ack', group: gid, cseq })) this.#groupAcked[gid] = cseq;
    }
  }

  // A device seen for the first time starts at the server's head; it reads the recent inbox to fill its list.
  async #bootstrap(connId, head) {
    const after = Math.max(0, head - this.#o.bootstrapPage);
    let reply = null;
    try {
      if (head > 0) reply = await this.#sync(after, this.#o.bootstrapPage, { surface: false });
    } catch {
      return; // the next welcome tries again
    }
    if (connId !== this.#connId) return;
    if (reply?.items?.length) this.dispatchEvent(new CustomEvent('history', { detail: { items: reply.items } }));
    // Nothing was pushed before this reply, so the server's cursor for this device is its head.
    if (this.#curMax === null) {
      this.#curMax = head;
      this.dispatchEvent(new CustomEvent('messages', { detail: { items: [], cursor: head, groups: { ...this.#groupCursors } } }));
    }
  }

  /** Asks `sync {after: cur_max}` until the messages behind the gap can be surfaced (docs/protocol.md §9). */
  async #fillGap() {
    if (this.#gapFilling) return;
    this.#gapFilling = true;
    const connId = this.#connId;
    let idle = 0;
    try {
      while (this.#ahead.size > 0 && connId === this.#connId && this.#welcome) {
        const after = this.#curMax;
        await this.#sync(after, this.#o.syncPage);
        // No progress: the missing entry is not readable yet (or its retransmission is on the way). Back off.
        if (this.#curMax === after) await delay(this.#backoff(idle++)); else idle = 0;
      }
    } catch {
      // disconnected: the next welcome looks at the gap again
    } finally {
      this.#gapFilling = false;
    }
  }

  #sync(after, limit, { surface = true } = {}) {
    return new Promise((resolve, reject) => {
      this.#syncQueue.push({ frame: { t: 'sync', after, limit }, surface, resolve, reject, connId: this.#connId });
      this.#pumpSync();
    });
  }

  #pumpSync() {
    while (!this.#syncInFlight && this.#syncQueue.length > 0) {
      const next = this.#syncQueue.shift();
      if (next.connId !== this.#connId || !this.#write(next.frame)) {
        next.reject(new Error('disconnected'));
        continue;
      }
      next.timer = setTimeout(() => {
        if (this.#syncInFlight !== next) return;
        this.#syncInFlight = null;
        next.reject(new Error('sync timed out'));
        this.#pumpSync();
      }, this.#o.requestTimeoutMs);
      this.#syncInFlight = next;
    }
  }

  #onSyncReply(reply) {
    const waiting = this.#syncInFlight;
    this.#syncInFlight = null;
    if (waiting) clearTimeout(waiting.timer);
    const items = Array.isArray(reply.items) ? reply.items : [];
    // A bootstrap page lies below the cursor the server starts this device at: it is history, not news —
    // unless pushes already set the cursor, and then the inbox drops what it holds.
    if (!waiting || waiting.surface || this.#curMax !== null) this.#deliver(items, false);
    waiting?.resolve(reply);
    this.#pumpSync();
  }

  /** Pages a large group forward from its cursor with `gsync` until nothing more is missing. */
  async #gsyncLoop(gid) {
    if (this.#gsyncing.has(gid) || !this.#welcome) return;
    this.#gsyncing.add(gid);
    const connId = this.#connId;
    let idle = 0;
    try {
      while (connId === this.#connId && this.#welcome) {
        const after = this.#groupCursors[gid] ?? 0;
        const reply = await this.#gsync(gid, after);
        if (!reply.more && !this.#groupAhead.has(gid)) break;
        if ((this.#groupCursors[gid] ?? 0) === after) await delay(this.#backoff(idle++)); else idle = 0;
      }
    } catch {
      // disconnected, or no longer a member
    } finally {
      this.#gsyncing.delete(gid);
    }
  }

  #gsync(gid, after) {
    return new Promise((resolve, reject) => {
      if (!this.#write({ t: 'gsync', group: gid, after, limit: this.#o.gsyncPage })) {
        reject(new Error('disconnected'));
        return;
      }
      const timer = setTimeout(() => {
        if (this.#gsyncWaiters.get(gid)?.timer !== timer) return;
        this.#gsyncWaiters.delete(gid);
        reject(new Error('gsync timed out'));
      }, this.#o.requestTimeoutMs);
      this.#gsyncWaiters.set(gid, { resolve, reject, timer });
    });
  }

  #onGsyncReply(reply) {
    this.#deliver(Array.isArray(reply.items) ? reply.items : [], false);
    const waiter = this.#gsyncWaiters.get(reply.group);
    if (!waiter) return;
    this.#gsyncWaiters.delete(reply.group);
    clearTimeout(waiter.timer);
    waiter.resolve(reply);
  }

  // ------------------------------------------------------------------ helpers

  #setState(state, detail = {}) {
    this.#state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, ...detail } }));
  }

  #backoff(attempt) {
    const { reconnectInitialMs: first, reconnectMaxMs: max, reconnectJitter: jitter } = this.#o;
    let ms = Math.min(max, first * 2 ** Math.min(Math.max(attempt, 0), 30));
    ms *= 1 + jitter * (Math.random() * 2 - 1);
    return Math.round(Math.min(Math.max(ms, 0), max));
  }
}

function delay(ms) {
  return new Promise(resolve => setTimeout(resolve, ms));
}
