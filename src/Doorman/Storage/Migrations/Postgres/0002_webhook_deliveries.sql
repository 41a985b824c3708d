-- PostgreSQL's copy of ../0002_webhook_deliveries.sql. BTCPay webhook deliveries already accepted, by BTCPay's
-- delivery id: a replayed delivery is ignored. Rows older than 30 days are pruned as new ones arrive.

CREATE TABLE webhook_deliveries (
    delivery_id     TEXT COLLATE "C" PRIMARY KEY,
    received_at     BIGINT NOT NULL
);

CREATE INDEX webhook_deliveries_received_at ON webhook_deliveries (received_at);
