//! Host credentials encrypted at rest.
//!
//! A host's SSH password or private key is sealed with ChaCha20-Poly1305 (an AEAD) before it
//! reaches the store, under a 32-byte key that lives outside the database: in
//! `HOSTPLANE_SECRET_KEY` (64 hex digits) if set, else in `<data dir>/secret.key` (created
//! with mode 0600 on first start). A copy of the database alone reveals no credential. The
//! host uuid is the associated data, so a sealed credential cannot be moved to another host.
//!
//! Stored form: `v1:<base64(nonce || ciphertext)>`. This module never logs what it seals.

use std::path::Path;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What hostplane logs in to a host with.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub enum Secret {
    Password(String),
    PrivateKey {
        pem: String,
        password: Option<String>,
    },
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Password(_) => f.write_str("Password(<hidden>)"),
            Secret::PrivateKey { .. } => f.write_str("PrivateKey(<hidden>)"),
        }
    }
}

#[derive(Clone)]
pub struct Crypto {
    cipher: ChaCha20Poly1305,
}

impl Crypto {
    /// Load the key from the environment or the data directory, creating it if needed.
    pub fn load(data_dir: &Path, env_key: Option<&str>) -> anyhow::Result<Crypto> {
        let key = match env_key {
            Some(hexkey) => {
                let bytes = hex::decode(hexkey.trim())
                    .map_err(|_| anyhow::anyhow!("HOSTPLANE_SECRET_KEY must be 64 hex digits"))?;
                anyhow::ensure!(
                    bytes.len() == 32,
                    "HOSTPLANE_SECRET_KEY must be 64 hex digits (32 bytes)"
                );
                bytes
            }
            None => {
                std::fs::create_dir_all(data_dir)?;
                let path = data_dir.join("secret.key");
                match std::fs::read_to_string(&path) {
                    Ok(s) => hex::decode(s.trim())
                        .map_err(|_| anyhow::anyhow!("{} is not 64 hex digits", path.display()))?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        let mut k = vec![0u8; 32];
                        rand::thread_rng().fill_bytes(&mut k);
                        write_private(&path, &hex::encode(&k))?;
                        k
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        anyhow::ensure!(key.len() == 32, "the secret key must be 32 bytes");
        Ok(Crypto {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        })
    }

    pub fn seal(&self, host_uuid: &str, secret: &Secret) -> Result<String> {
        let plain = serde_json::to_vec(secret)
            .map_err(|e| Error::internal(format!("sealing failed: {e}")))?;
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: host_uuid.as_bytes(),
                },
            )
            .map_err(|_| Error::internal("sealing a credential failed"))?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(format!(
            "v1:{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    pub fn open(&self, host_uuid: &str, sealed: &str) -> Result<Secret> {
        let bad = || {
            Error::operation(format!(
                "the stored credential of host[uuid:{host_uuid}] cannot be decrypted (was the secret key changed?); \
                 set it again with UpdateKVMHost"
            ))
        };
        let b64 = sealed.strip_prefix("v1:").ok_or_else(bad)?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| bad())?;
        if raw.len() < 12 {
            return Err(bad());
        }
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(&raw[..12]),
                Payload {
                    msg: &raw[12..],
                    aad: host_uuid.as_bytes(),
                },
            )
            .map_err(|_| bad())?;
        serde_json::from_slice(&plain).map_err(|_| bad())
    }
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(content.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let dir = std::env::temp_dir().join(format!("hp-crypto-{}", std::process::id()));
        let c = Crypto::load(&dir, None).unwrap();
        let s = Secret::Password("hunter2".into());
        let sealed = c.seal("h1", &s).unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_eq!(c.open("h1", &sealed).unwrap(), s);
        assert!(c.open("h2", &sealed).is_err(), "bound to its host");
        let again = Crypto::load(&dir, None).unwrap();
        assert_eq!(again.open("h1", &sealed).unwrap(), s, "the key persists");
        assert_eq!(format!("{s:?}"), "Password(<hidden>)");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
