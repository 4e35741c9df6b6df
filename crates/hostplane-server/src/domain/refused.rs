//! Answers to asynchronous calls refused before any work was done.
//!
//! An async call without a valid session must cost nothing: no job row, no task, no webhook.
//! Yet ZStack's clients expect ZStack's answer (REST: 202 and a location whose poll answers
//! 503 ID.1001; RPC: `Processing`, then the error on the result poll). So the face checks the
//! session first and, when it fails, records the error here, in a small in-memory table that
//! the job views ([`super::jobs::view`]) read after the job table. The table is bounded in
//! entries ([`CAPACITY`], the oldest go first) and in time ([`TTL`]); a forgotten entry polls
//! as an expired job. An entry is a few dozen bytes with no allocation of its own (the job
//! uuid inline, the error as one of the two fixed ID.1001 texts), so a full table is about
//! 2 MB. Nothing here touches the store or spawns anything.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::identity::{NO_SESSION, SESSION_EXPIRED};
use crate::error::{Code, Error};

/// Refused calls remembered at most.
pub const CAPACITY: usize = 8192;
/// How long a refused call's answer can be polled.
pub const TTL: Duration = Duration::from_secs(600);

/// A job uuid: 32 characters (ZStack's form, and what `X-Job-UUID` must be).
type Key = [u8; 32];

fn key(uuid: &str) -> Option<Key> {
    uuid.as_bytes().try_into().ok()
}

struct Entry {
    api: &'static str,
    created_ms: i64,
    /// The ID.1001 details.
    details: &'static str,
    at: Instant,
}

/// A refused call as a poller sees it.
pub struct RefusedCall {
    pub api: &'static str,
    pub created_ms: i64,
    pub error: Error,
}

#[derive(Default)]
struct Table {
    by_uuid: HashMap<Key, Entry>,
    /// Insertion order, for eviction (a uuid may appear twice if it was refused twice).
    order: VecDeque<(Key, Instant)>,
}

/// The table; owned by [`super::jobs::Jobs`].
#[derive(Default)]
pub struct Refused {
    table: Mutex<Table>,
}

impl Refused {
    /// Remember the session error of a refused call under its job uuid (32 characters;
    /// another is not remembered).
    pub fn add(&self, uuid: &str, api: &'static str, created_ms: i64, error: &Error) {
        let Some(k) = key(uuid) else {
            return;
        };
        let details = if error.details == NO_SESSION {
            NO_SESSION
        } else {
            SESSION_EXPIRED
        };
        let now = Instant::now();
        let mut t = self.table.lock().expect("refused calls");
        if t.by_uuid.capacity() == 0 {
            // Full size at once: growing by doubling would leave freed tables behind.
            t.by_uuid.reserve(CAPACITY);
            t.order.reserve(2 * CAPACITY);
        }
        t.evict(now);
        // Room for a new uuid; and the order list stays bounded when one uuid comes back.
        while (t.by_uuid.len() >= CAPACITY && !t.by_uuid.contains_key(&k))
            || t.order.len() >= 2 * CAPACITY
        {
            let Some((old, at)) = t.order.pop_front() else {
                break;
            };
            t.remove_if_at(&old, at);
        }
        t.order.push_back((k, now));
        t.by_uuid.insert(
            k,
            Entry {
                api,
                created_ms,
                details,
                at: now,
            },
        );
    }

    /// The refused call with this job uuid, while it is remembered.
    pub fn get(&self, uuid: &str) -> Option<RefusedCall> {
        let k = key(uuid)?;
        let t = self.table.lock().expect("refused calls");
        t.by_uuid
            .get(&k)
            .filter(|e| e.at.elapsed() < TTL)
            .map(|e| RefusedCall {
                api: e.api,
                created_ms: e.created_ms,
                error: Error::new(Code::InvalidSession, e.details),
            })
    }

    /// How many refused calls are remembered.
    pub fn len(&self) -> usize {
        self.table.lock().expect("refused calls").by_uuid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Table {
    fn evict(&mut self, now: Instant) {
        while let Some((_, at)) = self.order.front() {
            if now.duration_since(*at) < TTL {
                break;
            }
            let (old, at) = self.order.pop_front().expect("checked");
            self.remove_if_at(&old, at);
        }
    }

    /// Remove `uuid` unless it was refused again after `at`.
    fn remove_if_at(&mut self, uuid: &Key, at: Instant) {
        if self.by_uuid.get(uuid).is_some_and(|e| e.at == at) {
            self.by_uuid.remove(uuid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    #[test]
    fn bounded_and_oldest_first() {
        let r = Refused::default();
        let e = Error::new(Code::InvalidSession, SESSION_EXPIRED);
        for i in 0..CAPACITY + 100 {
            r.add(&format!("{i:032x}"), "CreateZone", 1, &e);
        }
        assert_eq!(r.len(), CAPACITY);
        assert!(r.get(&format!("{:032x}", 0)).is_none());
        let last = r.get(&format!("{:032x}", CAPACITY + 99)).unwrap();
        assert_eq!(last.error.code, Code::InvalidSession);
        assert_eq!(last.api, "CreateZone");
        // The same uuid refused twice is one entry, and survives its first eviction slot.
        let again = format!("{:032x}", CAPACITY + 99);
        r.add(&again, "CreateZone", 2, &e);
        assert_eq!(r.len(), CAPACITY);
        assert_eq!(r.get(&again).unwrap().created_ms, 2);
        for _ in 0..3 * CAPACITY {
            r.add(&again, "CreateZone", 3, &e);
        }
        assert!(r.table.lock().unwrap().order.len() <= 2 * CAPACITY);
        assert_eq!(r.get(&again).unwrap().created_ms, 3);
        // The details are the session error's own.
        let none = Error::new(Code::InvalidSession, NO_SESSION);
        r.add(&format!("{:032x}", 1), "CreateZone", 4, &none);
        assert_eq!(r.get(&format!("{:032x}", 1)).unwrap().error, none);
        assert!(r.get("short").is_none());
    }
}
