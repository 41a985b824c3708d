-- The owners' and members' command set (docs/owners.md, docs/members.md): plans, trials, grace, reminders, grants,
-- exemptions, alerts. Times are Unix milliseconds (UTC); durations seconds.

-- Subscriptions learn their plan (renewals default to it, reminders follow its period) and 'trial' as a source.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt, as
-- https://www.sqlite.org/lang_altertable.html#otheralter describes (no other table refers to it).
CREATE TABLE subscriptions_new (
    room_id         TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    expires_at      INTEGER,                     -- NULL: lifetime
    source          TEXT NOT NULL CHECK (source IN ('paid', 'grant', 'trial')),
    plan_name       TEXT,                        -- the plan last paid for; NULL for grants and trials
    period_seconds  INTEGER,                     -- the length of the last term added (reminder leads are at most half of it)
    remind_at       INTEGER,                     -- when to remind; NULL: no reminder for this expiry
    reminded_at     INTEGER,
    reminders_off   INTEGER NOT NULL DEFAULT 0,  -- the member said `reminders off` for this room
    ended_at        INTEGER,                     -- set once the member was told their time ended (rooms with grace)
    expired_at      INTEGER,                     -- set once the sweep has decided removal for this expiry
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
INSERT INTO subscriptions_new (room_id, user_id, expires_at, source, plan_name, period_seconds, remind_at, reminded_at, expired_at, created_at, updated_at)
SELECT s.room_id, s.user_id, s.expires_at, s.source, CASE WHEN s.source = 'paid' THEN 'default' END,
       (SELECT p.period_seconds FROM plans p WHERE p.room_id = s.room_id AND p.is_default = 1),
       CASE WHEN s.expires_at IS NOT NULL THEN s.expires_at - g.remind_seconds * 1000 END,
       s.reminded_at, s.expired_at, s.created_at, s.updated_at
FROM subscriptions s LEFT JOIN gates g ON g.room_id = s.room_id;
DROP TABLE subscriptions;
ALTER TABLE subscriptions_new RENAME TO subscriptions;
CREATE INDEX subscriptions_due ON subscriptions(expires_at) WHERE expired_at IS NULL AND expires_at IS NOT NULL;
CREATE INDEX subscriptions_remind ON subscriptions(remind_at) WHERE reminded_at IS NULL AND remind_at IS NOT NULL;

-- gates.remind_seconds was the default rule's lead, written by `set` (copied into remind_at above). It now holds only what an owner chose with
-- `remind`: NULL follows the default rule (Access/AccessRules.cs, ReminderLead), 0 is `remind off`.
UPDATE gates SET remind_seconds = NULL;
ALTER TABLE gates ADD COLUMN trial_seconds INTEGER CHECK (trial_seconds IS NULL OR trial_seconds > 0); -- NULL: no trial


-- A free trial is taken once per user per room, whatever happens to the subscription after.
CREATE TABLE trials (
    room_id         TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

-- Where an order came from: 'command', 'knock' (an unpaid knock is declined when its invoice expires), 'reminder'.
ALTER TABLE orders ADD COLUMN origin TEXT NOT NULL DEFAULT 'command';

-- What the bot could not do, told to the room's owners once per incident (opened_at) and once when it is over.
-- room_id '' for incidents of the whole bot (the payment backend).
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    room_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    detail          TEXT NOT NULL,
    opened_at       INTEGER NOT NULL,
    resolved_at     INTEGER
);
CREATE UNIQUE INDEX alerts_open ON alerts(room_id, kind) WHERE resolved_at IS NULL;

CREATE INDEX audit_room ON audit(room_id, id);
