-- PostgreSQL's copy of ../0008_crypto_store.sql: the end-to-end encryption state, each value sealed under the crypto
-- key (Storage/CryptoItems.cs). Keys compare in byte order ("C"), as CryptoItems.ListAsync's prefix scan needs.

CREATE TABLE crypto_items (
    kind    TEXT COLLATE "C" NOT NULL,
    key     TEXT COLLATE "C" NOT NULL,
    value   BYTEA NOT NULL,
    PRIMARY KEY (kind, key)
);
