// Message operations (docs/protocol.md §13): what edit, recall, reaction and pin entries make of a message.
//
// Every operation is an entry of the conversation's timeline (type −10 … −13) aimed at a `target` message. A held
// message keeps a base — its content as first received, or a server view of it (history, pins, the conversation
// list), which already holds every entry up to when it was asked for — and the entries received for it. Its shown
// state is the base with those entries applied in cseq order, so the order they arrive in does not matter, and an
// entry seen twice is kept once. Each entry carries its `arrival` (a counter the store keeps): a view asked for at
// mark m already holds the entries that arrived by then, so only later ones are applied on top of it.

export const Op = Object.freeze({ Edited: -10, Recalled: -11, Reaction: -12, Pinned: -13 });

/** True for the timeline entries of operations (as opposed to messages and membership events). */
export function isOperation(type) {
  return type <= Op.Edited && type >= Op.Pinned;
}

/** The id of the message an operation entry is aimed at, or null. */
export function targetOf(entry) {
  const target = entry?.body?.target;
  return typeof target === 'string' && target ? target : null;
}

/** A message's state as a server view shows it (absent fields: not edited, not recalled, no reactions, not pinned). */
export function baseFromView(msg, asOf) {
  return {
    body: msg.body ?? {},
    ex: msg.ex ?? undefined,
    edited: Number.isSafeInteger(msg.edited) ? msg.edited : undefined,
    recalled: msg.recalled === true,
    reactions: copyReactions(msg.reactions),
    pinned: msg.pinned === true,
    asOf,
  };
}

/**
 * Records entry `entry` (arrived as number `arrival`) on message `record` and recomputes its state. Returns false when
 * the entry was held already.
 */
export function recordOperation(record, entry, arrival) {
  record.ops ??= [];
  if (record.ops.some(op => op.cseq === entry.cseq)) return false;
  record.base ??= baseFromView(record, -1);
  record.ops.push({ cseq: entry.cseq, type: entry.type, from: entry.from, ts: entry.ts, body: entry.body, arrival });
  record.ops.sort((a, b) => a.cseq - b.cseq);
  recompute(record);
  return true;
}

/** Takes a server view of the message as its base (asked for at `mark`) and recomputes its state. */
export function seedFromView(record, view, mark) {
  record.base = baseFromView(view, mark);
  recompute(record);
}

/** The base with every entry that arrived after it applied in cseq order; a recall erases the content held. */
export function recompute(record) {
  const base = record.base;
  if (!base) return;
  let { body, ex, edited, recalled, pinned } = base;
  const reactions = copyReactions(base.reactions);
  for (const op of record.ops ?? []) {
    if (op.arrival <= base.asOf) continue; // the view already holds it
    const b = op.body ?? {};
    switch (op.type) {
      case Op.Edited:
        // An edit sequenced after the recall changes nothing.
        if (recalled) break;
        body = b.body && typeof b.body === 'object' ? b.body : {};
        ex = b.ex && typeof b.ex === 'object' ? b.ex : undefined;
        edited = op.ts;
        break;
      case Op.Recalled:
        recalled = true;
        body = {};
        ex = undefined;
        edited = undefined;
        break;
      case Op.Reaction:
        if (typeof b.emoji === 'string') react(reactions, b.emoji, op.from, b.on === true);
        break;
      case Op.Pinned:
        pinned = b.on === true;
        break;
      default:
        break;
    }
  }
  if (recalled) {
    // What the server erased from its store is not kept here either.
    base.body = {};
    delete base.ex;
    for (const op of record.ops ?? []) {
      if (op.type === Op.Edited && op.body && ('body' in op.body || 'ex' in op.body)) op.body = { event: 'edited', target: op.body.target };
    }
  }
  record.body = body;
  if (ex !== undefined) record.ex = ex; else delete record.ex;
  setOrDelete(record, 'edited', edited);
  setOrDelete(record, 'recalled', recalled || undefined);
  setOrDelete(record, 'pinned', pinned || undefined);
  setOrDelete(record, 'reactions', Object.keys(reactions).length > 0 ? reactions : undefined);
}

// Reactions are absolute: adding one that is there, or removing one that is not, changes nothing; a user who adds one
// again after removing it goes to the end.
function react(reactions, emoji, user, on) {
  const users = reactions[emoji] ?? [];
  if (on) {
    if (!users.includes(user)) users.push(user);
    reactions[emoji] = users;
    return;
  }
  const at = users.indexOf(user);
  if (at >= 0) users.splice(at, 1);
  if (users.length === 0) delete reactions[emoji];
}

function copyReactions(reactions) {
  const copy = {};
  for (const [emoji, users] of Object.entries(reactions ?? {})) {
    if (Array.isArray(users) && users.length > 0) copy[emoji] = users.filter(u => typeof u === 'string');
  }
  return copy;
}

function setOrDelete(record, name, value) {
  if (value === undefined) delete record[name]; else record[name] = value;
}

/**
 * The mentions a message's text makes, for `send`: every `@name` that names a member, or `["@all"]` when the text
 * says `@all` and the sender may use it. Null when there are none.
 */
export function mentionsIn(text, members, { mayMentionAll }) {
  const named = new Set();
  let all = false;
  for (const match of text.matchAll(/(^|[^A-Za-z0-9_.-])@([A-Za-z0-9_.-]{1,64})/g)) {
    const name = match[2].replace(/\.+$/, '');
    if (name === 'all' && mayMentionAll) all = true;
    else if (members.includes(name)) named.add(name);
  }
  if (all) return ['@all'];
  return named.size > 0 ? [...named].slice(0, 50) : null;
}
