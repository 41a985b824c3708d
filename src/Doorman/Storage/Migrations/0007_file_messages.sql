-- The outbox also sends files (m.file): kind 'file', whose content is {"fileName","mimeType","body","data"} with the
-- bytes in base64, uploaded when sending. SQLite cannot change a CHECK constraint in place, so the table is rebuilt, as
-- https://www.sqlite.org/lang_altertable.html#otheralter describes (no other table refers to it). Its indexes are
-- made again as 0001_initial.sql and 0005_inbox.sql left them. Times are Unix milliseconds (UTC).

CREATE TABLE outgoing_messages_new (
    id              INTEGER PRIMARY KEY,
    room_id         TEXT,                        -- NULL until the DM with user_id exists
    user_id         TEXT,                        -- for DMs: the peer; the DM is found or made when sending
    txn_id          TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('message', 'qr', 'file')),
    content         TEXT NOT NULL,               -- 'message': m.room.message content; 'qr': {"data","body"} to render;
                                                 -- 'file': {"fileName","mimeType","body","data"} to upload
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    event_id        TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK (room_id IS NOT NULL OR user_id IS NOT NULL)
);

INSERT INTO outgoing_messages_new (id, room_id, user_id, txn_id, kind, content, status, attempts, next_attempt_at, last_error, event_id, created_at, updated_at)
SELECT id, room_id, user_id, txn_id, kind, content, status, attempts, next_attempt_at, last_error, event_id, created_at, updated_at FROM outgoing_messages;

DROP TABLE outgoing_messages;
ALTER TABLE outgoing_messages_new RENAME TO outgoing_messages;

CREATE INDEX outgoing_messages_due ON outgoing_messages(next_attempt_at) WHERE status = 'pending';
CREATE INDEX outgoing_messages_finished ON outgoing_messages(updated_at) WHERE status <> 'pending';
