-- Consent (docs/protocol.md, blocks and mutes): who blocked whom since when, and which conversations a user muted;
-- and the index behind the limit on groups created per hour.
CREATE TABLE blocks (
    blocker text NOT NULL, blocked text NOT NULL, since bigint NOT NULL,
    PRIMARY KEY (blocker, blocked));
-- "Who among these blocked this user" (a send, a group add, typing and receipts) reads by the blocked user.
CREATE INDEX ix_blocks_blocked ON blocks (blocked);

CREATE TABLE mutes (
    user_id text NOT NULL, conv text NOT NULL,
    PRIMARY KEY (user_id, conv));
-- "Who among these muted this conversation" (push) reads by conversation.
CREATE INDEX ix_mutes_conv ON mutes (conv);

-- Groups:MaxCreatedPerHour counts the groups an owner created since a time.
CREATE INDEX ix_group_info_owner_created ON group_info (owner, created);
