-- BTCPay webhook deliveries already accepted, by BTCPay's delivery id: a replayed delivery is ignored.
-- Rows older than 30 days are pruned as new ones arrive. Times are Unix milliseconds (UTC).

CREATE TABLE webhook_deliveries (
    delivery_id     TEXT PRIMARY KEY,
    received_at     INTEGER NOT NULL
);

CREATE INDEX webhook_deliveries_received_at ON webhook_deliveries (received_at);
