-- PostgreSQL's copy of ../0004_invites_awaiting_power.sql: invites that failed for lack of power wait as
-- 'awaiting_power'. PostgreSQL changes the CHECK constraint in place, where SQLite rebuilds the table; the
-- constraint's name is the one PostgreSQL gave the column's CHECK in 0001 (<table>_<column>_check).

ALTER TABLE membership_actions DROP CONSTRAINT membership_actions_status_check;
ALTER TABLE membership_actions ADD CONSTRAINT membership_actions_status_check
    CHECK (status IN ('pending', 'done', 'skipped', 'failed', 'awaiting_power'));
ALTER TABLE membership_actions ADD COLUMN reported_at BIGINT;      -- when the failure was reported to the room and the member
ALTER TABLE membership_actions ADD COLUMN power_changed_at BIGINT; -- when the room's power levels last changed while this was open

CREATE INDEX membership_actions_awaiting_power ON membership_actions(room_id) WHERE status = 'awaiting_power';
