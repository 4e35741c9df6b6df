//! Leases: per-host serialisation across management nodes.
//!
//! A [`Lease`] is a row in the `lease` table held by one holder (a random token) of one node.
//! It is taken in one statement when free or expired, renewed by a background task while it
//! is held (every third of its time to live, which is the dead-node limit), and released when
//! the guard drops. If the holder's node dies, its leases expire — or go at once when the
//! others declare it dead — so nobody waits for a dead node longer than that limit.
//!
//! On the one-node store (SQLite) a lease is a no-op: the in-process locks (per-IP add lock,
//! single-flight connects) already serialise everything on the one node.
//!
//! It must never: wait on a lease without a pause between tries (a busy loop on the
//! database), or hold one past its guard.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::store::Store;

/// A held lease; released when dropped.
pub struct Lease {
    held: Option<Held>,
}

struct Held {
    store: Store,
    name: String,
    token: String,
    renew: JoinHandle<()>,
}

impl Lease {
    /// The lease of the one-node store: holds nothing.
    pub(super) fn none() -> Lease {
        Lease { held: None }
    }

    /// Take `name` for `node`, waiting while another holder has it (`wait`), else give up at
    /// once (`Ok(None)`).
    pub(super) async fn acquire(
        store: &Store,
        node: &str,
        name: &str,
        ttl: Duration,
        wait: bool,
    ) -> sqlx::Result<Option<Lease>> {
        let token = crate::ids::new_uuid();
        let ttl_ms = ttl.as_millis() as i64;
        let mut pause = Duration::from_millis(25);
        loop {
            if store.lease_acquire(name, node, &token, ttl_ms).await? {
                break;
            }
            if !wait {
                return Ok(None);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(400));
        }
        let renew = {
            let (store, name, token) = (store.clone(), name.to_string(), token.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(ttl / 3).await;
                    match store.lease_renew(&name, &token, ttl_ms).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::error!(lease = %name, "a lease this node held was taken over (it expired): the work under it may now overlap with another node's");
                            return;
                        }
                        Err(e) => {
                            tracing::warn!(lease = %name, error = %e, "could not renew a lease")
                        }
                    }
                }
            })
        };
        Ok(Some(Lease {
            held: Some(Held {
                store: store.clone(),
                name: name.to_string(),
                token,
                renew,
            }),
        }))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(h) = self.held.take() else { return };
        h.renew.abort();
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return; // the runtime is gone: the lease expires by itself
        };
        rt.spawn(async move {
            if let Err(e) = h.store.lease_release(&h.name, &h.token).await {
                tracing::warn!(lease = %h.name, error = %e, "could not release a lease; it expires by itself");
            }
        });
    }
}
