-- Late payments: an order whose invoice expired is looked up again, with back-off, for a while after its expiry
-- (IPaymentBackend.LateSettlementWindow), because BTCPay still records a payment that arrives late ("Expired" with
-- additional status "PaidLate") and only a webhook, which may be lost, says so. Times are Unix milliseconds (UTC).

ALTER TABLE orders ADD COLUMN late_lookups INTEGER NOT NULL DEFAULT 0; -- look-ups made since the order expired
ALTER TABLE orders ADD COLUMN next_lookup_at INTEGER;                  -- the next one; NULL: a minute after expires_at

CREATE INDEX orders_expired ON orders(backend, expires_at) WHERE status = 'expired';
