-- The inbox (README "How it works"): what each /sync batch brings that the bot must act on, written in the same
-- transaction as the batch's token, then handled item by item — each its own unit of failure, retried with back-off
-- and then quarantined, in order within a room. Times are Unix milliseconds (UTC).

CREATE TABLE inbox (
    id              INTEGER PRIMARY KEY,
    room_id         TEXT NOT NULL,
    position        REAL NOT NULL,               -- order within the room: the id, or between two ids for events fetched from a gap
    kind            TEXT NOT NULL CHECK (kind IN ('invite', 'event', 'knocks', 'gap')),
    event_id        TEXT,                        -- for 'event': the event, so a batch seen twice adds it once
    payload         TEXT NOT NULL,               -- 'invite', 'event': the event (client format); 'gap': {"from","to"}; 'knocks': {}
    status          TEXT NOT NULL CHECK (status IN ('pending', 'done', 'quarantined')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX inbox_event ON inbox(event_id) WHERE event_id IS NOT NULL;
-- One pending invite, and one pending knock scan, per room: a repeated invite in the next batch adds nothing.
CREATE UNIQUE INDEX inbox_pending_once ON inbox(room_id, kind) WHERE status = 'pending' AND kind IN ('invite', 'knocks');
CREATE INDEX inbox_pending ON inbox(room_id, position) WHERE status = 'pending';
CREATE INDEX inbox_finished ON inbox(updated_at) WHERE status <> 'pending';

-- Every DM the bot has had, by room: a room that came in as a DM never becomes a gated room, even after the bot
-- left it. The user's current DM is the newest one the bot has not left.
CREATE TABLE dm_rooms (
    room_id         TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    left_at         INTEGER                      -- set when the bot stopped using it (left, was removed, a third member came)
);
CREATE INDEX dm_rooms_user ON dm_rooms(user_id, created_at);
INSERT INTO dm_rooms (room_id, user_id, created_at) SELECT room_id, user_id, created_at FROM direct_rooms;
DROP TABLE direct_rooms;

CREATE INDEX outgoing_messages_finished ON outgoing_messages(updated_at) WHERE status <> 'pending';
CREATE INDEX membership_actions_finished ON membership_actions(updated_at) WHERE status <> 'pending';
CREATE INDEX handled_events_handled_at ON handled_events(handled_at);
