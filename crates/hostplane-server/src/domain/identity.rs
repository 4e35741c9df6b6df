//! Identity: the admin account, logging in, sessions.
//!
//! ZStack clients send the lower-case hex SHA-512 of the password. ZStack stores that digest
//! as it is, so a leaked database is a leaked password; hostplane stores only an argon2 hash
//! of the digest (salted, slow), and compares with argon2's verifier. The admin's first
//! password comes from the operator ([`ensure_admin`]).
//!
//! A session lives `identity.session.timeout` seconds from login. Every API that needs one
//! calls [`check_session`], which fails with ID.1001 for a missing, unknown or expired session.
//! A session found valid is remembered for [`SESSION_CACHE_TTL`] (its expiry is still checked
//! on every call), so a busy client does not cost a database read per request; a logout
//! forgets it at once. With several management nodes (PostgreSQL) nothing is remembered: every
//! call reads the session, so a logout through any node is refused on every other at once.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha512};

use super::api::operation;
use super::global_config::keys;
use super::{new_uuid, App, Inventory, Output};
use crate::error::{Code, Error, Result};
use crate::store::accounts::AccountRow;
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
        .map_err(|e| Error::internal(format!("password hashing failed: {e}")))
}

fn verify_digest(digest: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(digest.as_bytes(), &h)
            .is_ok()
    })
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
    };
    Ok(store.account_insert_if_missing(&row, now_ms()).await?)
}

fn session_inventory(s: &SessionRow) -> Inventory {
    let mut json = serde_json::Map::new();
    json.insert("uuid".into(), s.uuid.clone().into());
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
    if p.account_type.as_deref().is_some_and(|t| t != "account") {
        return Err(wrong());
    }
    let account = app
        .store
        .account_by_name(&p.account_name)
        .await?
        .ok_or_else(wrong)?;
    let digest = p.password;
    let hash = account.password_hash.clone();
    // argon2 is deliberately slow: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || verify_digest(&digest, &hash))
        .await
        .map_err(|e| Error::internal(format!("password check failed: {e}")))?;
    if !ok {
        return Err(wrong());
    }
    let now = now_ms();
    let timeout_ms = app.configs.get(keys::IDENTITY_SESSION_TIMEOUT).as_millis() as i64;
    let s = SessionRow {
        uuid: new_uuid(),
        account_uuid: account.uuid.clone(),
        user_uuid: account.uuid,
        user_type: "AccountVO".into(),
        create_date: now,
        expired_date: now.saturating_add(timeout_ms),
    };
    app.store.session_insert(&s).await?;
    Ok(Output::Inventory(session_inventory(&s)))
}

/// ZStack: APILogOutMsg, DELETE /v1/accounts/sessions/{sessionUuid} — always succeeds.
pub async fn log_out(app: &Arc<App>, p: LogOut) -> Result<Output> {
    if let Some(s) = p.session_uuid.as_deref() {
        app.store.session_delete(s).await?;
        app.sessions.forget(s);
    }
    Ok(Output::Empty)
}

/// How long a session found valid is trusted without reading the store again.
pub const SESSION_CACHE_TTL: Duration = Duration::from_secs(5);
/// At most this many remembered sessions (the cache starts over when full).
const SESSION_CACHE_MAX: usize = 10_000;

/// Sessions found valid, by session uuid, with when they were read. Owned by [`App`]: two
/// servers in one process never share it.
#[derive(Default)]
pub struct SessionCache {
    found: Mutex<HashMap<String, (SessionRow, Instant)>>,
}

impl SessionCache {
    fn get(&self, uuid: &str) -> Option<SessionRow> {
        let cache = self.found.lock().expect("session cache");
        cache
            .get(uuid)
            .filter(|(_, at)| at.elapsed() < SESSION_CACHE_TTL)
            .map(|(s, _)| s.clone())
    }

    fn remember(&self, s: &SessionRow) {
        let mut cache = self.found.lock().expect("session cache");
        if cache.len() >= SESSION_CACHE_MAX {
            cache.clear();
        }
        cache.insert(s.uuid.clone(), (s.clone(), Instant::now()));
    }

    fn forget(&self, uuid: &str) {
        self.found.lock().expect("session cache").remove(uuid);
    }
}

/// ZStack: APIValidateSessionMsg, GET /v1/accounts/sessions/{sessionUuid}/valid
pub async fn validate_session(app: &Arc<App>, p: ValidateSession) -> Result<Output> {
    Ok(Output::Valid(
        check_session(app, Some(&p.session_uuid)).await.is_ok(),
    ))
}

/// The session must exist and not have expired (ID.1001 otherwise).
pub async fn check_session(app: &App, session: Option<&str>) -> Result<SessionRow> {
    let Some(uuid) = session.map(str::trim).filter(|s| !s.is_empty()) else {
        return Err(Error::new(Code::InvalidSession, "session uuid is null"));
    };
    let now = now_ms();
    let cache = app.plane.is_solo(); // a logout on another node must be seen at once
    if let Some(s) = cache.then(|| app.sessions.get(uuid)).flatten() {
        if s.expired_date > now {
            return Ok(s);
        }
    }
    match app.store.session_get(uuid).await? {
        Some(s) if s.expired_date > now => {
            if cache {
                app.sessions.remember(&s);
            }
            Ok(s)
        }
        _ => {
            app.sessions.forget(uuid);
            Err(Error::new(Code::InvalidSession, "Session expired"))
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
        assert!(verify_digest(&sha512_hex("pw"), &h));
        assert!(!verify_digest(&sha512_hex("pw2"), &h));
    }
}
