// The Gateway's HTTP API (docs/protocol.md) with the bearer token. Errors are RFC 7807 problem details: they surface as
// ApiError with the server's `detail`. Optional features (presence, Web Push) answer null when the server has none.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** `POST /api/dev/token` — only served when the server has `Auth:DevTokens` on (local runs and tests). */
export async function devToken(user) {
  const response = await fetch('/api/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  if (response.status === 404) throw new ApiError(404, 'This server does not hand out dev tokens (Auth:DevTokens is off).');
  if (!response.ok) throw await problem(response);
  return (await response.json()).token;
}

export class ChatApi {
  #token;
  #presence = true;

  /** @param {() => string} token the current bearer token */
  constructor(token) {
    this.#token = token;
  }

  /** A page of a conversation's history, ascending by cseq: the newest `limit` below `before` (absent: the newest). */
  async history(conv, { before, after, limit = 50 } = {}) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before !== undefined && before !== null) query.set('before', String(before));
    if (after !== undefined && after !== null) query.set('after', String(after));
    const page = await this.#json('GET', `/api/conversations/${encodeURIComponent(conv)}/messages?${query}`);
    for (const item of page.items) item.id = String(item.id);
    return page.items;
  }

  /**
   * `GET /api/conversations/{conv}/messages/{id}` — one message in its current state, with `edits`: [{body, ex?, ts}]
   * every version oldest first (empty once recalled).
   */
  async message(conv, id) {
    const message = await this.#json('GET', `/api/conversations/${encodeURIComponent(conv)}/messages/${encodeURIComponent(id)}`);
    message.id = String(message.id);
    return message;
  }

  /** `GET /api/conversations/{conv}/pins` — the pinned messages in their current state, most recently pinned first. */
  async pins(conv) {
    const page = await this.#json('GET', `/api/conversations/${encodeURIComponent(conv)}/pins`);
    for (const item of page.items) item.id = String(item.id);
    return page.items;
  }

  /** `GET /api/conversations` — {items: [{conv, ope, with?, gid?, name?, last, unread, mentions, read, ts, muted?}], next?}, most recent first. */
  async conversations({ limit = 50, before } = {}) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before !== undefined && before !== null) query.set('before', String(before));
    const page = await this.#json('GET', `/api/conversations?${query}`);
    for (const item of page.items) item.last.id = String(item.last.id);
    return page;
  }

  /** `PUT /api/conversations/{conv}/settings` — mutes (no push notifications) or unmutes the conversation for this user. */
  setMuted(conv, muted) {
    return this.#json('PUT', `/api/conversations/${encodeURIComponent(conv)}/settings`, { muted });
  }

  /** `GET /api/blocks` — [{user, since}] this user blocks. */
  async blocks() {
    return (await this.#json('GET', '/api/blocks')).items;
  }

  /** `POST /api/blocks` — the user's one-to-one messages, typing, receipts and presence stop reaching this user. */
  block(user) {
    return this.#json('POST', '/api/blocks', { user });
  }

  /** `DELETE /api/blocks/{user}`. */
  unblock(user) {
    return this.#json('DELETE', `/api/blocks/${encodeURIComponent(user)}`);
  }

  /** `GET /api/conversations/{conv}/receipts` — [{user, delivered, read}] of the other members. */
  async receipts(conv) {
    return (await this.#json('GET', `/api/conversations/${encodeURIComponent(conv)}/receipts`)).items;
  }

  async createGroup(name, members) {
    return (await this.#json('POST', '/api/groups', { name, members })).gid;
  }

  group(gid) {
    return this.#json('GET', `/api/groups/${encodeURIComponent(gid)}`);
  }

  addMembers(gid, users) {
    return this.#json('POST', `/api/groups/${encodeURIComponent(gid)}/members`, { users });
  }

  removeMember(gid, user) {
    return this.#json('DELETE', `/api/groups/${encodeURIComponent(gid)}/members/${encodeURIComponent(user)}`);
  }

  /**
   * `GET /api/presence?users=…` → [{user, online, devices (a count), lastSeen}] for the users who share a conversation with
   * the caller (others are left out), or null when the server has no presence API
   * (then it is not asked again) or cannot answer now.
   */
  async presence(users) {
    if (!this.#presence || users.length === 0) return null;
    try {
      const response = await this.#fetch('GET', `/api/presence?users=${users.map(encodeURIComponent).join(',')}`);
      if (response.status === 404 || response.status === 405) {
        this.#presence = false;
        return null;
      }
      if (!response.ok) return null;
      const list = await response.json();
      return Array.isArray(list) ? list : null;
    } catch {
      return null;
    }
  }

  /** `GET /api/push/vapid` → {publicKey}, or null when the server sends no Web Push. */
  async vapid() {
    try {
      const response = await this.#fetch('GET', '/api/push/vapid');
      if (!response.ok) return null;
      const body = await response.json();
      return typeof body?.publicKey === 'string' && body.publicKey ? body : null;
    } catch {
      return null;
    }
  }

  /** Registers this device's Web Push endpoint: the browser's PushSubscription JSON plus the device name. */
  savePushSubscription(device, subscription) {
    const { endpoint, keys } = subscription;
    return this.#json('POST', '/api/push/subscriptions', { device, kind: 'webpush', endpoint, keys });
  }

  /** The server takes the subscription to remove from the query string. */
  deletePushSubscription(device, endpoint) {
    const query = new URLSearchParams({ device, endpoint });
    return this.#json('DELETE', `/api/push/subscriptions?${query}`);
  }

  #fetch(method, url, body) {
    const headers = { authorization: `Bearer ${this.#token()}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  async #json(method, url, body) {
    const response = await this.#fetch(method, url, body);
    if (!response.ok) throw await problem(response);
    if (response.status === 204) return null;
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }
}

async function problem(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    message = body.detail || body.title || message;
  } catch {
    // not a problem document
  }
  return new ApiError(response.status, message);
}
