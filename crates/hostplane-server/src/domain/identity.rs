//! Identity: the admin account, logging in, sessions, and changing an account (UpdateAccount:
//! its password, name, description).
//!
//! ZStack clients send the lower-case hex SHA-512 of the password. ZStack stores that digest
//! as it is, so a leaked database is a leaked password; hostplane stores only an argon2 hash
//! of the digest (salted, slow), and compares with argon2's verifier. The admin's first
//! password comes from the operator ([`ensure_admin`]); UpdateAccount changes it later, and
//! takes the new digest the same way (hashed with argon2 before it is stored, never logged).
//!
//! A session lives `identity.session.timeout` seconds from login. Every API that needs one
//! calls [`check_session`], which fails with ID.1001 for a missing, unknown or expired session.
//! A session found valid is remembered for [`SESSION_CACHE_TTL`] (its expiry is still checked
//! on every call), so a busy client does not cost a database read per request; a logout
//! forgets it at once. With several management nodes (PostgreSQL) nothing is remembered: every
//! call reads the session, so a logout through any node is refused on every other at once.
//!
//! The token a client holds is never stored: the store and the cache know only its SHA-256
//! ([`token_hash`]); the token itself is handed out once, in the login reply.
//!
//! Logging in is bounded ([`Logins`]):
//! - argon2 (about 19 MiB and tens of milliseconds a check) runs on a few threads of its own,
//!   one per core, behind a short queue; a login that finds the queue full fails at once
//!   (SYS.1006) instead of piling up memory;
//! - after `identity.login.maxFailures` wrong passwords for one account from one source
//!   address within `identity.login.failureWindow`, that address is refused for that account
//!   for `identity.login.lockSeconds` (ID.1000 naming the address and the end of the lock),
//!   without running argon2. Other addresses are not affected, so nobody can lock the admin
//!   out from elsewhere; a successful login clears the count. The counts live in the database
//!   (`login_failure`, in its clock), so every management node on it counts the same tries
//!   and a restart forgets none; each node also keeps its own, which still locks when the
//!   database could not count (its table full with 100,000 pairs, or a write failing);
//! - an account holds at most `identity.session.maxConcurrent` live sessions (ID.1006).
//!
//! The source address is the TCP peer the HTTP face saw ([`crate::domain::Caller::source`]);
//! behind a proxy it is the proxy's. Nothing here logs a password, a digest or a token.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha512};

use super::api::{operation, Operation};
use super::global_config::keys;
use super::{new_uuid, App, Inventory, Output};
use crate::error::{Code, Error, Result};
use crate::store::accounts::{AccountRow, AccountUpdate};
use crate::store::login_failures::FailureRule;
use crate::store::sessions::SessionRow;
use crate::store::Store;
use crate::time::{format_date, now_ms};

/// ZStack's admin account uuid.
pub const ADMIN_UUID: &str = "36c27e8ff05c4780bf6d2fa65700f22e";
pub const ADMIN_NAME: &str = "admin";
/// ZStack's default admin password, used when the operator gives none.
pub const DEFAULT_ADMIN_PASSWORD: &str = "password";
pub const SESSION_CLASS: &str = "org.zstack.header.identity.SessionInventory";

/// Lower-case hex SHA-512, what clients send as `password`.
pub fn sha512_hex(s: &str) -> String {
    hex::encode(Sha512::digest(s.as_bytes()))
}

fn hash_digest(digest: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(digest.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal_logged("password hashing", e))
}

/// What the store keeps of a session token: its SHA-256, lower-case hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Check `digest` against an argon2 PHC string, with `blocks` as argon2's working memory. A
/// verifier thread keeps its `blocks` from one check to the next: argon2's own verifier
/// allocates its ~19 MiB anew each time, and the allocator keeps many such freed blocks
/// (RSS grew by ~200 MiB over a dozen checks), while one buffer per thread stays one buffer.
fn verify_with_memory(digest: &str, hash: &str, blocks: &mut Vec<argon2::Block>) -> bool {
    let Ok(h) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (h.salt, h.hash) else {
        return false;
    };
    let Ok(params) = argon2::Params::try_from(&h) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(h.algorithm) else {
        return false;
    };
    let version = match h.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    if blocks.len() < params.block_count() {
        blocks.resize(params.block_count(), argon2::Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    if argon
        .hash_password_into_with_memory(digest.as_bytes(), salt, &mut out, blocks.as_mut_slice())
        .is_err()
    {
        return false;
    }
    // Output's equality is constant-time.
    argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// Create the admin account on first start. Returns true when it was created; `password`
/// is the plain password (None: ZStack's default).
pub async fn ensure_admin(store: &Store, password: Option<&str>) -> anyhow::Result<bool> {
    if store.account_by_name(ADMIN_NAME).await?.is_some() {
        return Ok(false);
    }
    let plain = password.unwrap_or(DEFAULT_ADMIN_PASSWORD);
    let row = AccountRow {
        uuid: ADMIN_UUID.into(),
        name: ADMIN_NAME.into(),
        account_type: "SystemAdmin".into(),
        password_hash: hash_digest(&sha512_hex(plain)).map_err(|e| anyhow::anyhow!("{e}"))?,
        description: None,
        create_date: 0,
        last_op_date: 0,
    };
    Ok(store.account_insert_if_missing(&row, now_ms()).await?)
}

/// Whether the admin account still has ZStack's default password (checked at start-up, to
/// remind the operator).
pub async fn admin_has_default_password(store: &Store) -> anyhow::Result<bool> {
    let Some(admin) = store.account_by_name(ADMIN_NAME).await? else {
        return Ok(false);
    };
    let digest = sha512_hex(DEFAULT_ADMIN_PASSWORD);
    Ok(tokio::task::spawn_blocking(move || {
        verify_with_memory(&digest, &admin.password_hash, &mut Vec::new())
    })
    .await?)
}

fn session_inventory(token: &str, s: &SessionRow) -> Inventory {
    let mut json = serde_json::Map::new();
    json.insert("uuid".into(), token.into());
    json.insert("accountUuid".into(), s.account_uuid.clone().into());
    json.insert("userUuid".into(), s.user_uuid.clone().into());
    json.insert("userType".into(), s.user_type.clone().into());
    json.insert("expiredDate".into(), format_date(s.expired_date).into());
    json.insert("createDate".into(), format_date(s.create_date).into());
    Inventory {
        class: SESSION_CLASS.into(),
        json,
    }
}

/// APILogInByAccountMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogInByAccount {
    pub account_name: String,
    /// The SHA-512 hex digest of the password.
    pub password: String,
    pub account_type: Option<String>,
    pub captcha_uuid: Option<String>,
    pub verify_code: Option<String>,
    pub client_info: Option<Map<String, Value>>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

/// APILogOutMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogOut {
    pub session_uuid: Option<String>,
    pub client_info: Option<Map<String, Value>>,
}

/// APIValidateSessionMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidateSession {
    pub session_uuid: String,
}

operation!(
    LogInByAccount => log_in_by_account,
    LogOut => log_out,
    ValidateSession => validate_session,
);

/// ZStack: APILogInByAccountMsg, PUT /v1/accounts/login
pub async fn log_in_by_account(app: &Arc<App>, p: LogInByAccount) -> Result<Output> {
    let wrong = || Error::new(Code::AuthenticationError, "wrong account name or password");
    let source = current_source();
    let key = (p.account_name.clone(), source);
    let limits = LoginLimits::of(app);
    app.logins.check_lock(&key, now_ms(), limits)?;
    check_shared_lock(app, &key).await?;
    if p.account_type.as_deref().is_some_and(|t| t != "account") {
        return Err(wrong());
    }
    let Some(account) = app.store.account_by_name(&p.account_name).await? else {
        count_failure(app, &key, limits).await;
        return Err(wrong());
    };
    let verdict = app
        .logins
        .verify(p.password, account.password_hash.clone(), Some(key.clone()))
        .await?;
    match verdict {
        Verdict::Match => {}
        Verdict::Mismatch => {
            count_failure(app, &key, limits).await;
            return Err(wrong());
        }
        Verdict::Locked => {
            app.logins.check_lock(&key, now_ms(), limits)?;
            return Err(wrong());
        }
    }
    app.logins.succeeded(&key);
    app.store
        .login_failure_clear(&key.0, &key.1.to_string())
        .await?;
    let now = now_ms();
    let max = app.configs.get(keys::IDENTITY_SESSION_MAX_CONCURRENT);
    if app.store.session_count_active(&account.uuid, now).await? >= max {
        return Err(Error::new(
            Code::MaxConcurrentSessionExceeded,
            format!(
                "Login sessions hit limit of max allowed concurrent login sessions ({max}, identity.session.maxConcurrent); log out of one, or wait until one expires"
            ),
        ));
    }
    let timeout_ms = app.configs.get(keys::IDENTITY_SESSION_TIMEOUT).as_millis() as i64;
    let token = new_uuid();
    let s = SessionRow {
        token_sha256: token_hash(&token),
        account_uuid: account.uuid.clone(),
        user_uuid: account.uuid,
        user_type: "AccountVO".into(),
        create_date: now,
        expired_date: now.saturating_add(timeout_ms),
    };
    app.store.session_insert(&s).await?;
    Ok(Output::Inventory(session_inventory(&token, &s)))
}

/// The lock the database holds for this (account, address): counted by every management node
/// on it, so an attacker who reaches several nodes gets no more tries than through one. A lock
/// found there is remembered here too, so queued password checks of the pair are skipped.
async fn check_shared_lock(app: &App, key: &LoginKey) -> Result<()> {
    let Some(row) = app
        .store
        .login_failure_lock(&key.0, &key.1.to_string())
        .await?
    else {
        return Ok(());
    };
    let until = row.locked_until.unwrap_or_default();
    app.logins.remember_lock(key, row.failures, until);
    Err(locked_error(key, until, row.failures))
}

/// Count a wrong password here and in the database. The database's count is the one that
/// locks across nodes; this node's own count still locks when the database could not count
/// (its table full of other pairs, or a write failing).
async fn count_failure(app: &App, key: &LoginKey, limits: LoginLimits) {
    app.logins.failed(key, now_ms(), limits);
    let rule = FailureRule {
        max_failures: limits.max_failures,
        window_ms: limits.window_ms,
        lock_ms: limits.lock_ms,
        max_rows: MAX_TRACKED as i64,
    };
    match app
        .store
        .login_failure_count(&key.0, &key.1.to_string(), rule)
        .await
    {
        Ok(Some(row)) => {
            if let Some(until) = row.locked_until {
                app.logins.remember_lock(key, row.failures, until);
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not count a wrong password in the store"),
    }
}

/// ID.1000 for an address locked out of an account until `until` after `failures` tries.
fn locked_error(key: &LoginKey, until: i64, failures: i64) -> Error {
    Error::new(
        Code::AuthenticationError,
        format!(
            "the account[{}] is locked for the address {} until {} after {} wrong passwords; try again then",
            key.0,
            key.1,
            format_date(until),
            failures
        ),
    )
    .with_opaque("lockedUntil", until)
    .with_opaque("address", key.1.to_string())
}

pub const ACCOUNT_CLASS: &str = "org.zstack.header.identity.AccountInventory";

fn account_inventory(a: &AccountRow) -> Inventory {
    let mut json = serde_json::Map::new();
    json.insert("uuid".into(), a.uuid.clone().into());
    json.insert("name".into(), a.name.clone().into());
    if let Some(d) = &a.description {
        json.insert("description".into(), d.clone().into());
    }
    json.insert("type".into(), a.account_type.clone().into());
    json.insert("createDate".into(), format_date(a.create_date).into());
    json.insert("lastOpDate".into(), format_date(a.last_op_date).into());
    Inventory {
        class: ACCOUNT_CLASS.into(),
        json,
    }
}

/// APIUpdateAccountMsg's parameters (passwords are SHA-512 hex digests).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateAccount {
    pub uuid: String,
    pub password: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub old_password: Option<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

/// UpdateAccount needs to know who calls: a normal account may change only itself.
impl Operation for UpdateAccount {
    async fn run(self, app: Arc<App>, session: Option<SessionRow>) -> Result<Output> {
        let session =
            session.ok_or_else(|| Error::new(Code::InvalidSession, "session uuid is null"))?;
        update_account(&app, &session, self).await
    }
}

/// ZStack: APIUpdateAccountMsg, PUT /v1/accounts/{uuid} {"updateAccount": {...}} (async).
///
/// A new password takes effect at once; the account's sessions stay valid (ZStack ends none
/// either). `oldPassword`, when given, must be the current password's digest. The admin's name
/// cannot change; an account that is not a SystemAdmin may change only itself.
pub async fn update_account(app: &App, session: &SessionRow, p: UpdateAccount) -> Result<Output> {
    let uuid = p.uuid.as_str();
    let Some(account) = app.store.account_by_uuid(uuid).await? else {
        return Err(Error::not_found(format!(
            "invalid field[uuid], resource[uuid:{uuid}, type:AccountVO] not found"
        )));
    };
    let me = app
        .store
        .account_by_uuid(&session.account_uuid)
        .await?
        .ok_or_else(|| Error::new(Code::InvalidSession, "the session's account is gone"))?;
    if me.account_type != "SystemAdmin" && me.uuid != account.uuid {
        return Err(Error::operation(format!(
            "account[uuid: {}, name: {}] is a normal account, it cannot reset the password of another account[uuid: {uuid}]",
            me.uuid, me.name
        )));
    }
    if p.name.is_some() && account.uuid == ADMIN_UUID {
        return Err(Error::operation(
            "the name of admin account cannot be updated",
        ));
    }
    if let Some(old) = p.old_password.as_deref() {
        // On the bounded verifier threads, like a login.
        let ok = app
            .logins
            .verify(old.to_string(), account.password_hash.clone(), None)
            .await?
            == Verdict::Match;
        if !ok {
            return Err(Error::invalid_argument(format!(
                "the old password of account[uuid:{uuid}, name:{}] is not correct",
                account.name
            )));
        }
    }
    let password_hash = match p.password.as_deref() {
        Some("") => return Err(Error::invalid_argument("the new password cannot be empty")),
        Some(pw) => {
            let pw = pw.to_string();
            Some(
                tokio::task::spawn_blocking(move || hash_digest(&pw))
                    .await
                    .map_err(|e| Error::internal(format!("password hashing failed: {e}")))??,
            )
        }
        None => None,
    };
    let update = AccountUpdate {
        name: p.name.clone(),
        description: p.description.clone(),
        password_hash,
    };
    if let Err(e) = app.store.account_update(uuid, &update, now_ms()).await {
        return Err(if crate::store::is_unique_violation(&e) {
            Error::invalid_argument(format!(
                "unable to update the account: an account called {} exists already",
                update.name.unwrap_or_default()
            ))
        } else {
            e.into()
        });
    }
    if update.password_hash.is_some() {
        tracing::info!(account.uuid = %uuid, "account password changed");
    }
    let account = app
        .store
        .account_by_uuid(uuid)
        .await?
        .ok_or_else(|| Error::internal("account vanished"))?;
    Ok(Output::Inventory(account_inventory(&account)))
}

/// ZStack: APILogOutMsg, DELETE /v1/accounts/sessions/{sessionUuid} — always succeeds.
pub async fn log_out(app: &Arc<App>, p: LogOut) -> Result<Output> {
    if let Some(s) = p.session_uuid.as_deref() {
        let hash = token_hash(s.trim());
        app.store.session_delete(&hash).await?;
        app.sessions.forget(&hash);
    }
    Ok(Output::Empty)
}

tokio::task_local! {
    /// The source address of the call being run (set by [`crate::domain::call`]).
    static SOURCE: Option<IpAddr>;
}

/// Run `f` as a call from `source` (the TCP peer of the request).
pub async fn with_source<F: Future>(source: Option<IpAddr>, f: F) -> F::Output {
    SOURCE.scope(source, f).await
}

/// The current call's source address; unspecified when the call did not come over TCP.
fn current_source() -> IpAddr {
    SOURCE
        .try_with(|s| *s)
        .ok()
        .flatten()
        .map(crate::netrules::canonical)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// An account name and the address a login came from.
type LoginKey = (String, IpAddr);

/// The lockout rule in force (from the `identity.login.*` configs), times in ms.
#[derive(Debug, Clone, Copy)]
struct LoginLimits {
    max_failures: i64,
    window_ms: i64,
    lock_ms: i64,
}

impl LoginLimits {
    fn of(app: &App) -> LoginLimits {
        LoginLimits {
            max_failures: app.configs.get(keys::IDENTITY_LOGIN_MAX_FAILURES),
            window_ms: app
                .configs
                .get(keys::IDENTITY_LOGIN_FAILURE_WINDOW)
                .as_millis() as i64,
            lock_ms: app
                .configs
                .get(keys::IDENTITY_LOGIN_LOCK_SECONDS)
                .as_millis() as i64,
        }
    }
}

/// Wrong passwords of one account from one address.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: i64,
    /// When the first failure of the current window happened (epoch ms).
    since: i64,
    /// Refused until then (epoch ms).
    locked_until: Option<i64>,
}

/// At most this many (account, address) pairs are tracked; past it, pairs that are neither
/// locked nor recent are forgotten first.
const MAX_TRACKED: usize = 100_000;
/// Password checks that may wait for a verifier thread, per thread.
const QUEUE_PER_THREAD: usize = 16;

/// One password check for a verifier thread.
struct Check {
    digest: String,
    hash: String,
    /// Skip the check when this (account, address) got locked out while it waited.
    key: Option<LoginKey>,
    reply: tokio::sync::oneshot::Sender<Verdict>,
}

/// What a verifier thread found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Match,
    Mismatch,
    /// Not checked: the address was locked out of the account while the check waited.
    Locked,
}

type FailureTable = Arc<Mutex<HashMap<LoginKey, Failures>>>;

fn is_locked(failures: &FailureTable, key: &LoginKey, now: i64) -> bool {
    failures
        .lock()
        .expect("login failures")
        .get(key)
        .and_then(|f| f.locked_until)
        .is_some_and(|until| until > now)
}

/// Login bounds: the argon2 verifiers and the failure counts. Owned by [`App`].
pub struct Logins {
    queue: mpsc::SyncSender<Check>,
    /// Held so the queue stays open even with no thread (it ends with the `Logins`).
    _checks: Arc<Mutex<mpsc::Receiver<Check>>>,
    threads: usize,
    failures: FailureTable,
}

impl Default for Logins {
    fn default() -> Self {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, 8);
        Logins::new(threads, threads * QUEUE_PER_THREAD)
    }
}

impl Logins {
    /// `threads` argon2 verifiers behind a queue of `queue` checks. The threads end when the
    /// `Logins` is dropped.
    pub fn new(threads: usize, queue: usize) -> Logins {
        let (tx, rx) = mpsc::sync_channel::<Check>(queue);
        let rx = Arc::new(Mutex::new(rx));
        let failures: FailureTable = Default::default();
        for i in 0..threads {
            let rx = rx.clone();
            let failures = failures.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("hostplane-argon2-{i}"))
                .spawn(move || {
                    let mut blocks = Vec::new();
                    loop {
                        let next = rx.lock().map(|r| r.recv());
                        let Ok(Ok(c)) = next else { return };
                        let verdict = if c
                            .key
                            .as_ref()
                            .is_some_and(|k| is_locked(&failures, k, now_ms()))
                        {
                            Verdict::Locked
                        } else if verify_with_memory(&c.digest, &c.hash, &mut blocks) {
                            Verdict::Match
                        } else {
                            Verdict::Mismatch
                        };
                        let _ = c.reply.send(verdict);
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password verifier thread");
            }
        }
        Logins {
            queue: tx,
            _checks: rx,
            threads,
            failures,
        }
    }

    /// How many password checks may run at once.
    pub fn verifiers(&self) -> usize {
        self.threads
    }

    /// Check a password digest against its argon2 hash on a verifier thread; fails at once
    /// when the queue is full. With a `key`, the check is skipped if that (account, address)
    /// got locked out while it waited.
    async fn verify(&self, digest: String, hash: String, key: Option<LoginKey>) -> Result<Verdict> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        match self.queue.try_send(Check {
            digest,
            hash,
            key,
            reply,
        }) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(_)) => {
                return Err(Error::operation(
                    "too many log-ins are being checked at the moment; try again in a second",
                ))
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                return Err(Error::internal_logged(
                    "a password check",
                    "no password verifier thread is running",
                ))
            }
        }
        answer
            .await
            .map_err(|e| Error::internal_logged("a password check", e))
    }

    /// ID.1000 when this address is locked out of this account.
    fn check_lock(&self, key: &LoginKey, now: i64, limits: LoginLimits) -> Result<()> {
        let mut failures = self.failures.lock().expect("login failures");
        let Some(f) = failures.get(key).copied() else {
            return Ok(());
        };
        match f.locked_until {
            Some(until) if until > now => Err(locked_error(key, until, f.count)),
            Some(_) => {
                failures.remove(key);
                Ok(())
            }
            None => {
                if now - f.since > limits.window_ms {
                    failures.remove(key);
                }
                Ok(())
            }
        }
    }

    /// Count a wrong password; lock the address out of the account at the limit.
    fn failed(&self, key: &LoginKey, now: i64, limits: LoginLimits) {
        let LoginLimits {
            max_failures,
            window_ms,
            lock_ms,
        } = limits;
        let mut failures = self.failures.lock().expect("login failures");
        if failures.len() >= MAX_TRACKED && !failures.contains_key(key) {
            failures.retain(|_, f| {
                f.locked_until.is_some_and(|u| u > now) || now - f.since <= window_ms
            });
            if failures.len() >= MAX_TRACKED {
                failures.retain(|_, f| f.locked_until.is_some_and(|u| u > now));
            }
        }
        let f = failures.entry(key.clone()).or_insert(Failures {
            count: 0,
            since: now,
            locked_until: None,
        });
        if now - f.since > window_ms {
            *f = Failures {
                count: 0,
                since: now,
                locked_until: None,
            };
        }
        f.count += 1;
        if f.count >= max_failures && f.locked_until.is_none() {
            f.locked_until = Some(now.saturating_add(lock_ms));
            tracing::warn!(
                account = %key.0,
                address = %key.1,
                failures = f.count,
                lock_seconds = lock_ms / 1000,
                "too many wrong passwords: this address is locked out of this account"
            );
        }
    }

    /// A lock counted elsewhere (the database, by every node): refuse the pair here too until
    /// it ends. Not past [`MAX_TRACKED`] pairs: the database refuses the pair anyway, this only
    /// spares queued password checks.
    fn remember_lock(&self, key: &LoginKey, failures: i64, until: i64) {
        let mut table = self.failures.lock().expect("login failures");
        if table.len() >= MAX_TRACKED && !table.contains_key(key) {
            return;
        }
        let f = table.entry(key.clone()).or_insert(Failures {
            count: failures,
            since: now_ms(),
            locked_until: None,
        });
        let newly = f.locked_until.is_none_or(|u| u <= now_ms());
        f.count = f.count.max(failures);
        f.locked_until = Some(f.locked_until.unwrap_or(until).max(until));
        if newly {
            tracing::warn!(
                account = %key.0,
                address = %key.1,
                failures = f.count,
                "too many wrong passwords: this address is locked out of this account"
            );
        }
    }

    fn succeeded(&self, key: &LoginKey) {
        self.failures.lock().expect("login failures").remove(key);
    }
}

/// How long a session found valid is trusted without reading the store again.
pub const SESSION_CACHE_TTL: Duration = Duration::from_secs(5);
/// At most this many remembered sessions (the cache starts over when full).
const SESSION_CACHE_MAX: usize = 10_000;

/// Sessions found valid, by token hash, with when they were read. Owned by [`App`]: two
/// servers in one process never share it.
#[derive(Default)]
pub struct SessionCache {
    found: Mutex<HashMap<String, (SessionRow, Instant)>>,
}

impl SessionCache {
    fn get(&self, hash: &str) -> Option<SessionRow> {
        let cache = self.found.lock().expect("session cache");
        cache
            .get(hash)
            .filter(|(_, at)| at.elapsed() < SESSION_CACHE_TTL)
            .map(|(s, _)| s.clone())
    }

    fn remember(&self, s: &SessionRow) {
        let mut cache = self.found.lock().expect("session cache");
        if cache.len() >= SESSION_CACHE_MAX {
            cache.clear();
        }
        cache.insert(s.token_sha256.clone(), (s.clone(), Instant::now()));
    }

    fn forget(&self, hash: &str) {
        self.found.lock().expect("session cache").remove(hash);
    }
}

/// ZStack: APIValidateSessionMsg, GET /v1/accounts/sessions/{sessionUuid}/valid
pub async fn validate_session(app: &Arc<App>, p: ValidateSession) -> Result<Output> {
    Ok(Output::Valid(
        check_session(app, Some(&p.session_uuid)).await.is_ok(),
    ))
}

/// ID.1001's details for a call without a session id.
pub const NO_SESSION: &str = "session uuid is null";
/// ID.1001's details for an unknown or expired session id.
pub const SESSION_EXPIRED: &str = "Session expired";

/// The session must exist and not have expired (ID.1001 otherwise).
pub async fn check_session(app: &App, session: Option<&str>) -> Result<SessionRow> {
    let Some(token) = session.map(str::trim).filter(|s| !s.is_empty()) else {
        return Err(Error::new(Code::InvalidSession, NO_SESSION));
    };
    let hash = token_hash(token);
    let now = now_ms();
    let cache = app.plane.is_solo(); // a logout on another node must be seen at once
    let cached = cache.then(|| app.sessions.get(&hash)).flatten();
    if let Some(s) = cached.filter(|s| s.expired_date > now) {
        return Ok(s);
    }
    match app.store.session_get(&hash).await? {
        Some(s) if s.expired_date > now => {
            if cache {
                app.sessions.remember(&s);
            }
            Ok(s)
        }
        _ => {
            app.sessions.forget(&hash);
            Err(Error::new(Code::InvalidSession, SESSION_EXPIRED))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_and_hash() {
        assert_eq!(
            sha512_hex("password"),
            "b109f3bbbc244eb82441917ed06d618b9008dd09b3befd1b5e07394c706a8bb980b1d7785e5976ec049b46df5f1326af5a2ea6d103fd07c95385ffab0cacbc86"
        );
        let h = hash_digest(&sha512_hex("pw")).unwrap();
        assert!(h.starts_with("$argon2"));
        assert!(verify_with_memory(&sha512_hex("pw"), &h, &mut Vec::new()));
        assert!(!verify_with_memory(&sha512_hex("pw2"), &h, &mut Vec::new()));
        // Other parameters, read from the hash string; garbage is a mismatch, not a panic.
        let small = argon2::Params::new(1024, 1, 1, None).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        let other = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, small)
            .hash_password(b"d", &salt)
            .unwrap()
            .to_string();
        let mut blocks = Vec::new();
        assert!(verify_with_memory("d", &other, &mut blocks));
        assert!(verify_with_memory(&sha512_hex("pw"), &h, &mut blocks));
        assert!(!verify_with_memory("e", &other, &mut blocks));
        assert!(!verify_with_memory("d", "$argon2id$garbage", &mut blocks));
        assert!(!verify_with_memory("d", "", &mut blocks));
        assert_eq!(token_hash("abc").len(), 64);
        assert_ne!(token_hash("abc"), "abc");
    }

    #[test]
    fn failures_lock_one_address_within_the_window() {
        let logins = Logins::new(0, 1);
        let limits = LoginLimits {
            max_failures: 3,
            window_ms: 1_000,
            lock_ms: 5_000,
        };
        let here = ("admin".to_string(), "10.0.0.1".parse().unwrap());
        let there = ("admin".to_string(), "10.0.0.2".parse().unwrap());
        // Two failures, then the window passes: the count starts again.
        logins.failed(&here, 0, limits);
        logins.failed(&here, 500, limits);
        assert!(logins.check_lock(&here, 2_000, limits).is_ok());
        for t in [2_000, 2_100, 2_200] {
            logins.failed(&here, t, limits);
        }
        let e = logins.check_lock(&here, 2_300, limits).unwrap_err();
        assert_eq!(e.code, Code::AuthenticationError);
        assert!(e.details.contains("10.0.0.1") && e.details.contains("locked"));
        assert_eq!(e.opaque.unwrap()["lockedUntil"], 7_200);
        assert!(
            logins.check_lock(&there, 2_300, limits).is_ok(),
            "another address"
        );
        assert!(
            logins.check_lock(&here, 7_201, limits).is_ok(),
            "the lock ends"
        );
        // A success clears the count.
        logins.failed(&there, 0, limits);
        logins.failed(&there, 1, limits);
        logins.succeeded(&there);
        logins.failed(&there, 2, limits);
        logins.failed(&there, 3, limits);
        assert!(logins.check_lock(&there, 4, limits).is_ok());
    }

    #[tokio::test]
    async fn a_full_verifier_queue_fails_fast() {
        // No verifier thread takes checks off a queue of one: the second check is refused.
        let logins = Logins::new(0, 1);
        let h = hash_digest(&sha512_hex("pw")).unwrap();
        let first = tokio::time::timeout(
            Duration::from_millis(50),
            logins.verify(sha512_hex("pw"), h.clone(), None),
        )
        .await;
        assert!(first.is_err(), "the first check waits in the queue");
        let second = logins.verify(sha512_hex("pw"), h, None).await.unwrap_err();
        assert_eq!(second.code, Code::OperationError);
        let two = Logins::new(2, 4);
        let h = hash_digest(&sha512_hex("pw")).unwrap();
        let v = |d: &str, key| two.verify(sha512_hex(d), h.clone(), key);
        assert_eq!(v("pw", None).await.unwrap(), Verdict::Match);
        assert_eq!(v("no", None).await.unwrap(), Verdict::Mismatch);
        // A check whose (account, address) got locked while it waited is skipped.
        let key: LoginKey = ("admin".into(), "10.0.0.9".parse().unwrap());
        let limits = LoginLimits {
            max_failures: 1,
            window_ms: 60_000,
            lock_ms: 60_000,
        };
        two.failed(&key, now_ms(), limits);
        assert_eq!(v("pw", Some(key)).await.unwrap(), Verdict::Locked);
    }
}
