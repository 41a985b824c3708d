-- End-to-end encryption state (Doorman.Matrix.Crypto.ICryptoStore): the bot device's Olm account, its Olm and Megolm
-- sessions, the room keys others shared with it, device lists and the cross-signing keys. Each value is sealed with
-- AES-256-GCM under the crypto key (Matrix:CryptoKey, or the key file beside the database), bound to its kind and
-- key, so the file alone reveals no private key (Storage/CryptoItems.cs).

CREATE TABLE crypto_items (
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   BLOB NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
