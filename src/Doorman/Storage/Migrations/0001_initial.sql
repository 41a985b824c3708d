-- Doorman's first schema. Times are Unix milliseconds (UTC) everywhere; money is integer millisatoshis.

CREATE TABLE gates (
    room_id         TEXT PRIMARY KEY,
    room_name       TEXT NOT NULL,               -- how we name the room to members: its alias, else its id
    enabled         INTEGER NOT NULL DEFAULT 1,
    grace_seconds   INTEGER NOT NULL DEFAULT 0,
    remind_seconds  INTEGER,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE plans (
    id              INTEGER PRIMARY KEY,
    room_id         TEXT NOT NULL REFERENCES gates(room_id),
    name            TEXT NOT NULL,
    price_msat      INTEGER NOT NULL CHECK (price_msat > 0),
    period_seconds  INTEGER CHECK (period_seconds IS NULL OR period_seconds > 0), -- NULL: lifetime
    is_default      INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    UNIQUE (room_id, name)
);

CREATE TABLE orders (
    id              TEXT PRIMARY KEY,            -- ULID: sortable by creation
    room_id         TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    plan_name       TEXT NOT NULL,
    amount_msat     INTEGER NOT NULL CHECK (amount_msat > 0),
    period_seconds  INTEGER,                     -- copied from the plan when ordered; NULL: lifetime
    backend         TEXT NOT NULL,
    reference       TEXT NOT NULL,               -- the backend's invoice id (LND: payment hash hex)
    bolt11          TEXT NOT NULL,
    payment_hash    TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'expired', 'underpaid')),
    paid_msat       INTEGER,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,            -- when the invoice stops being payable
    applied_at      INTEGER,
    request_room_id TEXT,                        -- where the member asked (their DM), for replies
    UNIQUE (backend, reference)
);
CREATE INDEX orders_pending ON orders(status, expires_at) WHERE status = 'pending';
CREATE INDEX orders_member ON orders(user_id, room_id);

CREATE TABLE subscriptions (
    room_id         TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    expires_at      INTEGER,                     -- NULL: lifetime
    source          TEXT NOT NULL CHECK (source IN ('paid', 'grant')),
    reminded_at     INTEGER,
    expired_at      INTEGER,                     -- set once the sweep has decided removal for this expiry
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX subscriptions_due ON subscriptions(expires_at) WHERE expired_at IS NULL AND expires_at IS NOT NULL;

CREATE TABLE exemptions (
    room_id         TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

-- Outbox of invites and kicks, written in the same transaction as the decision that causes them.
CREATE TABLE membership_actions (
    id              INTEGER PRIMARY KEY,
    room_id         TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    action          TEXT NOT NULL CHECK (action IN ('invite', 'kick')),
    reason          TEXT,
    cause           TEXT NOT NULL,               -- 'order:<id>', 'sweep', ...
    status          TEXT NOT NULL CHECK (status IN ('pending', 'done', 'skipped', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX membership_actions_due ON membership_actions(next_attempt_at) WHERE status = 'pending';

-- Outbox of chat messages. The transaction id is chosen here, so a resend after a crash is deduplicated
-- by the homeserver (CS API: PUT /send/{eventType}/{txnId} is idempotent per access token).
CREATE TABLE outgoing_messages (
    id              INTEGER PRIMARY KEY,
    room_id         TEXT,                        -- NULL until the DM with user_id exists
    user_id         TEXT,                        -- for DMs: the peer; the DM is found or made when sending
    txn_id          TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('message', 'qr')),
    content         TEXT NOT NULL,               -- 'message': m.room.message content; 'qr': {"data","body"} to render

    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    event_id        TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK (room_id IS NOT NULL OR user_id IS NOT NULL)
);
CREATE INDEX outgoing_messages_due ON outgoing_messages(next_attempt_at) WHERE status = 'pending';

CREATE TABLE handled_events (
    event_id        TEXT PRIMARY KEY,
    room_id         TEXT NOT NULL,
    handled_at      INTEGER NOT NULL
);

CREATE TABLE direct_rooms (
    user_id         TEXT PRIMARY KEY,
    room_id         TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX direct_rooms_room ON direct_rooms(room_id);

CREATE TABLE cursors (
    name            TEXT PRIMARY KEY,
    value           TEXT
);

CREATE TABLE audit (
    id              INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    room_id         TEXT,
    action          TEXT NOT NULL,
    detail          TEXT
);
