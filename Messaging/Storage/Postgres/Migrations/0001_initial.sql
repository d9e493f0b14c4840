-- The chat store, groups and push subscriptions (docs/data-model.md, "PostgreSQL").
-- Unique keys mirror the other adapters' (design §5): every stage's write is idempotent under them.
-- Ids and sequence numbers are bigint; message bodies are text, so JSON reads back byte for byte.

-- Stage 0: send dedup by (from, device, req); purged by ts.
CREATE TABLE sends (
    sender text NOT NULL, device text NOT NULL, req bigint NOT NULL,
    id bigint NOT NULL, conv text NOT NULL, ts bigint NOT NULL,
    PRIMARY KEY (sender, device, req));
CREATE INDEX ix_sends_ts ON sends (ts);

-- Stage 1: conversation timelines.
CREATE TABLE messages (
    id bigint PRIMARY KEY, conv text NOT NULL, cseq bigint NOT NULL, ope integer NOT NULL,
    sender text NOT NULL, recipient text NOT NULL, type integer NOT NULL, body text NOT NULL, ex text, ts bigint NOT NULL,
    CONSTRAINT ux_messages_conv_cseq UNIQUE (conv, cseq));

-- The highest cseq of each conversation, moved in the transaction that stores its messages: the row lock
-- serializes two writers of one conversation (a partition briefly owned twice during a rebalance).
CREATE TABLE conversation_heads (conv text PRIMARY KEY, head bigint NOT NULL);

-- Stage 2: inboxes.
CREATE TABLE inbox (
    user_id text NOT NULL, seq bigint NOT NULL, msg_id bigint NOT NULL, conv text NOT NULL, cseq bigint NOT NULL,
    PRIMARY KEY (user_id, seq),
    CONSTRAINT ux_inbox_user_msg UNIQUE (user_id, msg_id));

-- The highest inbox seq of each user, moved like conversation_heads.
CREATE TABLE inbox_heads (user_id text PRIMARY KEY, head bigint NOT NULL);

-- Device cursors: the inbox seq each device acknowledged.
CREATE TABLE cursors (
    user_id text NOT NULL, device text NOT NULL, seq bigint NOT NULL,
    PRIMARY KEY (user_id, device));

-- The conversation index (stage 2): one row per (user, conversation), listed by activity (unique per user).
CREATE TABLE conversations (
    user_id text NOT NULL, conv text NOT NULL, last_cseq bigint NOT NULL, activity bigint NOT NULL, others bigint NOT NULL,
    PRIMARY KEY (user_id, conv));
CREATE INDEX ix_conversations_user_activity ON conversations (user_id, activity);

CREATE TABLE read_positions (
    user_id text NOT NULL, conv text NOT NULL, cseq bigint NOT NULL, others_at bigint NOT NULL,
    PRIMARY KEY (user_id, conv));

CREATE TABLE delivered_positions (
    user_id text NOT NULL, conv text NOT NULL, cseq bigint NOT NULL,
    PRIMARY KEY (user_id, conv));

-- Groups: the group, its current members, every membership period, users, large-group cursors.
CREATE TABLE group_info (
    gid text PRIMARY KEY, name text NOT NULL, owner text NOT NULL, created bigint NOT NULL,
    fanout integer NOT NULL DEFAULT 0, fanout_since bigint NOT NULL DEFAULT 1);

CREATE TABLE group_members (
    gid text NOT NULL, user_id text NOT NULL, role text NOT NULL, joined bigint NOT NULL,
    PRIMARY KEY (gid, user_id));
CREATE INDEX ix_group_members_user ON group_members (user_id);

CREATE TABLE group_memberships (
    gid text NOT NULL, user_id text NOT NULL, joined bigint NOT NULL, left_at bigint,
    PRIMARY KEY (gid, user_id, joined));

CREATE TABLE user_info (user_id text PRIMARY KEY, name text NOT NULL);

CREATE TABLE group_cursors (
    user_id text NOT NULL, device text NOT NULL, gid text NOT NULL, cseq bigint NOT NULL,
    PRIMARY KEY (user_id, device, gid));

-- Push subscriptions: one per (user, device), with the last attempt and the failures in a row.
CREATE TABLE push_subscriptions (
    user_id text NOT NULL, device text NOT NULL, kind text NOT NULL, endpoint text NOT NULL,
    p256dh text, auth text, created bigint NOT NULL,
    last_attempt bigint, last_outcome integer, last_status integer, failures integer NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, device));
