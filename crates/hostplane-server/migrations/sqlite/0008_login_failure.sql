-- Wrong passwords per (account name, source address), shared by every management node on one
-- database: an attacker who reaches several nodes gets no more tries than through one, and a
-- restart does not wipe a count. Times are epoch milliseconds of the database's clock. Rows end
-- when their window and lock have passed (the job sweeper), or at a successful login.
CREATE TABLE login_failure (
    account_name TEXT NOT NULL,
    address TEXT NOT NULL,
    failures BIGINT NOT NULL,
    since BIGINT NOT NULL,
    locked_until BIGINT,
    PRIMARY KEY (account_name, address)
);
CREATE INDEX login_failure_since ON login_failure(since);
