-- Invites that failed because the bot lacked power wait as 'awaiting_power' until the bot's power in the room may have
-- changed (an m.room.power_levels event in a sync); then they are queued again. reported_at: when the room's owners and
-- the member were told the action failed, so a retry that fails again for the same reason tells no one twice, and one
-- that succeeds tells the member it went through. power_changed_at: when the room's power levels last changed while the
-- invite was pending, so an attempt that failed just before the change is tried again rather than left waiting.
-- Times are Unix milliseconds (UTC).
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt, as
-- https://www.sqlite.org/lang_altertable.html#otheralter describes (no other table refers to it).

CREATE TABLE membership_actions_new (
    id              INTEGER PRIMARY KEY,
    room_id         TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    action          TEXT NOT NULL CHECK (action IN ('invite', 'kick')),
    reason          TEXT,
    cause           TEXT NOT NULL,               -- 'order:<id>', 'sweep', ...
    status          TEXT NOT NULL CHECK (status IN ('pending', 'done', 'skipped', 'failed', 'awaiting_power')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    reported_at     INTEGER,                     -- when the failure was reported to the room and the member
    power_changed_at INTEGER                     -- when the room's power levels last changed while this was open
);

INSERT INTO membership_actions_new (id, room_id, user_id, action, reason, cause, status, attempts, next_attempt_at, last_error, created_at, updated_at)
SELECT id, room_id, user_id, action, reason, cause, status, attempts, next_attempt_at, last_error, created_at, updated_at FROM membership_actions;

DROP TABLE membership_actions;
ALTER TABLE membership_actions_new RENAME TO membership_actions;

CREATE INDEX membership_actions_due ON membership_actions(next_attempt_at) WHERE status = 'pending';
CREATE INDEX membership_actions_awaiting_power ON membership_actions(room_id) WHERE status = 'awaiting_power';
