//! Answers to asynchronous calls refused before any work was done.
//!
//! An async call without a valid session must cost nothing: no job row, no task, no webhook.
//! Yet ZStack's clients expect ZStack's answer (REST: 202 and a location whose poll answers
//! 503 ID.1001; RPC: `Processing`, then the error on the result poll). So the face checks the
//! session first and, when it fails, records the error here, in a small in-memory table that
//! the job views ([`super::jobs::view`]) read after the job table. The table is bounded in
//! entries ([`CAPACITY`], the oldest go first) and in time ([`TTL`]); a forgotten entry polls
//! as an expired job. The table is a ring of [`CAPACITY`] fixed-size slots (the job uuid
//! inline, the API by reference, the error as one of the two fixed ID.1001 texts) and an index
//! sized once, so a full table is under 2 MB and stays there. Nothing here touches the store
//! or spawns anything.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::api::ApiSpec;
use super::identity::{NO_SESSION, SESSION_EXPIRED};
use crate::error::{Code, Error};
use crate::time::now_ms;

/// Refused calls remembered at most.
pub const CAPACITY: usize = 8192;
/// How long a refused call's answer can be polled.
pub const TTL: Duration = Duration::from_secs(600);

/// A job uuid: 32 characters (ZStack's form, and what `X-Job-UUID` must be).
type Key = [u8; 32];

fn key(uuid: &str) -> Option<Key> {
    uuid.as_bytes().try_into().ok()
}

struct Slot {
    key: Key,
    api: &'static ApiSpec,
    created_ms: i64,
    /// The ID.1001 details: no session at all, or an unknown or expired one.
    no_session: bool,
}

/// A refused call as a poller sees it.
pub struct RefusedCall {
    pub api: &'static str,
    pub created_ms: i64,
    pub error: Error,
}

#[derive(Default)]
struct Table {
    ring: Vec<Option<Slot>>,
    /// The next slot to write.
    next: usize,
    /// Where each remembered uuid's latest slot is.
    index: HashMap<Key, u32>,
}

/// The table; owned by [`super::jobs::Jobs`].
#[derive(Default)]
pub struct Refused {
    table: Mutex<Table>,
}

impl Refused {
    /// Remember the session error of a refused call under its job uuid (32 characters;
    /// another is not remembered).
    pub fn add(&self, uuid: &str, api: &'static ApiSpec, created_ms: i64, error: &Error) {
        let Some(k) = key(uuid) else {
            return;
        };
        let mut t = self.table.lock().expect("refused calls");
        if t.ring.is_empty() {
            // Full size at once, the index at twice the entries so that its deletions never
            // make it grow.
            t.ring.resize_with(CAPACITY, || None);
            t.index.reserve(2 * CAPACITY);
        }
        let at = t.next;
        t.next = (at + 1) % CAPACITY;
        if let Some(old) = t.ring[at].take() {
            if t.index.get(&old.key) == Some(&(at as u32)) {
                t.index.remove(&old.key);
            }
        }
        t.ring[at] = Some(Slot {
            key: k,
            api,
            created_ms,
            no_session: error.details == NO_SESSION,
        });
        t.index.insert(k, at as u32);
    }

    /// The refused call with this job uuid, while it is remembered.
    pub fn get(&self, uuid: &str) -> Option<RefusedCall> {
        let k = key(uuid)?;
        let t = self.table.lock().expect("refused calls");
        let slot = t.ring.get(*t.index.get(&k)? as usize)?.as_ref()?;
        if now_ms().saturating_sub(slot.created_ms) >= TTL.as_millis() as i64 {
            return None;
        }
        Some(RefusedCall {
            api: slot.api.name,
            created_ms: slot.created_ms,
            error: Error::new(
                Code::InvalidSession,
                if slot.no_session {
                    NO_SESSION
                } else {
                    SESSION_EXPIRED
                },
            ),
        })
    }

    /// How many refused calls are remembered.
    pub fn len(&self) -> usize {
        self.table.lock().expect("refused calls").index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_oldest_first() {
        let zone = super::super::api::by_name("CreateZone").unwrap();
        let r = Refused::default();
        let e = Error::new(Code::InvalidSession, SESSION_EXPIRED);
        let now = now_ms();
        for i in 0..CAPACITY + 100 {
            r.add(&format!("{i:032x}"), zone, now, &e);
        }
        assert_eq!(r.len(), CAPACITY);
        assert!(r.get(&format!("{:032x}", 0)).is_none());
        let last = r.get(&format!("{:032x}", CAPACITY + 99)).unwrap();
        assert_eq!(last.error, e);
        assert_eq!(last.api, "CreateZone");
        // The same uuid refused again is one entry, the latest.
        let again = format!("{:032x}", CAPACITY + 99);
        for n in 1..=3 * CAPACITY as i64 {
            r.add(&again, zone, now + n, &e);
        }
        assert_eq!(r.len(), 1);
        assert_eq!(r.get(&again).unwrap().created_ms, now + 3 * CAPACITY as i64);
        // The details are the session error's own; old entries expire.
        let none = Error::new(Code::InvalidSession, NO_SESSION);
        r.add(&format!("{:032x}", 1), zone, now, &none);
        assert_eq!(r.get(&format!("{:032x}", 1)).unwrap().error, none);
        r.add(
            &format!("{:032x}", 2),
            zone,
            now - TTL.as_millis() as i64,
            &none,
        );
        assert!(r.get(&format!("{:032x}", 2)).is_none());
        assert!(r.get("short").is_none());
    }
}
