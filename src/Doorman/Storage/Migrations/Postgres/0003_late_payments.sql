-- PostgreSQL's copy of ../0003_late_payments.sql: late payments are looked up again, with back-off, after expiry.

ALTER TABLE orders ADD COLUMN late_lookups BIGINT NOT NULL DEFAULT 0; -- look-ups made since the order expired
ALTER TABLE orders ADD COLUMN next_lookup_at BIGINT;                  -- the next one; NULL: a minute after expires_at

CREATE INDEX orders_expired ON orders(backend, expires_at) WHERE status = 'expired';
