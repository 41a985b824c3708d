-- PostgreSQL's copy of ../0007_file_messages.sql: the outbox also sends files (kind 'file'). PostgreSQL changes the
-- CHECK in place, where SQLite rebuilds the table.

ALTER TABLE outgoing_messages DROP CONSTRAINT outgoing_messages_kind_check;
ALTER TABLE outgoing_messages ADD CONSTRAINT outgoing_messages_kind_check CHECK (kind IN ('message', 'qr', 'file'));
