-- Session tokens are kept only as their SHA-256 (hex), so a copy of the database is not a set
-- of live sessions. Sessions written before this migration hold the token in clear: they are
-- dropped, and their holders log in again (ZStack's clients do so on ID.1001).
DELETE FROM session;
ALTER TABLE session RENAME COLUMN uuid TO token_sha256;
-- identity.session.maxConcurrent counts an account's live sessions at every login.
CREATE INDEX session_account ON session(account_uuid, expired_date);
