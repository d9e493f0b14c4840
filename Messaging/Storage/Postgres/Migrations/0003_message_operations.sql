-- Message operations (docs/protocol.md §13): a message's reply and mentions as sent, and each message's state after
-- its operations (edits, recall, reactions, pin) as the views show it; the pins listed by the cseq of their pin.
ALTER TABLE messages ADD COLUMN reply bigint, ADD COLUMN mentions text;

CREATE TABLE message_states (
    conv text NOT NULL, id bigint NOT NULL, state text NOT NULL, pinned_cseq bigint,
    PRIMARY KEY (conv, id));
CREATE INDEX ix_message_states_pins ON message_states (conv, pinned_cseq) WHERE pinned_cseq IS NOT NULL;
