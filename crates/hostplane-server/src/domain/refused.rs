//! Answers to asynchronous calls refused before any work was done.
//!
//! An async call without a valid session must cost nothing: no job row, no task, no webhook.
//! Yet ZStack's clients expect ZStack's answer (REST: 202 and a location whose poll answers
//! 503 ID.1001; RPC: `Processing`, then the error on the result poll). So the face checks the
//! session first and, when it fails, records the error here, in a small in-memory table that
//! the job views ([`super::jobs::view`]) read after the job table. The table is bounded in
//! entries ([`CAPACITY`], the oldest go first) and in time ([`TTL`]); a forgotten entry polls
//! as an expired job. Nothing here touches the store or spawns anything.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Error;

/// Refused calls remembered at most (a few hundred bytes each).
pub const CAPACITY: usize = 8192;
/// How long a refused call's answer can be polled.
pub const TTL: Duration = Duration::from_secs(600);

struct Entry {
    api: &'static str,
    created_ms: i64,
    error: Error,
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
    by_uuid: HashMap<String, Entry>,
    /// Insertion order, for eviction (a uuid may appear twice if it was refused twice).
    order: VecDeque<(String, Instant)>,
}

/// The table; owned by [`super::jobs::Jobs`].
#[derive(Default)]
pub struct Refused {
    table: Mutex<Table>,
}

impl Refused {
    /// Remember the error of a refused call under its job uuid.
    pub fn add(&self, uuid: String, api: &'static str, created_ms: i64, error: Error) {
        let now = Instant::now();
        let mut t = self.table.lock().expect("refused calls");
        t.evict(now);
        // Room for a new uuid; and the order list stays bounded when one uuid comes back.
        while (t.by_uuid.len() >= CAPACITY && !t.by_uuid.contains_key(&uuid))
            || t.order.len() >= 2 * CAPACITY
        {
            let Some((old, at)) = t.order.pop_front() else {
                break;
            };
            t.remove_if_at(&old, at);
        }
        t.order.push_back((uuid.clone(), now));
        t.by_uuid.insert(
            uuid,
            Entry {
                api,
                created_ms,
                error,
                at: now,
            },
        );
    }

    /// The refused call with this job uuid, while it is remembered.
    pub fn get(&self, uuid: &str) -> Option<RefusedCall> {
        let t = self.table.lock().expect("refused calls");
        t.by_uuid
            .get(uuid)
            .filter(|e| e.at.elapsed() < TTL)
            .map(|e| RefusedCall {
                api: e.api,
                created_ms: e.created_ms,
                error: e.error.clone(),
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
    fn remove_if_at(&mut self, uuid: &str, at: Instant) {
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
        let e = Error::new(Code::InvalidSession, "Session expired");
        for i in 0..CAPACITY + 100 {
            r.add(format!("{i:032x}"), "CreateZone", 1, e.clone());
        }
        assert_eq!(r.len(), CAPACITY);
        assert!(r.get(&format!("{:032x}", 0)).is_none());
        let last = r.get(&format!("{:032x}", CAPACITY + 99)).unwrap();
        assert_eq!(last.error.code, Code::InvalidSession);
        assert_eq!(last.api, "CreateZone");
        // The same uuid refused twice is one entry, and survives its first eviction slot.
        let again = format!("{:032x}", CAPACITY + 99);
        r.add(again.clone(), "CreateZone", 2, e.clone());
        assert_eq!(r.len(), CAPACITY);
        assert_eq!(r.get(&again).unwrap().created_ms, 2);
        for _ in 0..3 * CAPACITY {
            r.add(again.clone(), "CreateZone", 3, e.clone());
        }
        assert!(r.table.lock().unwrap().order.len() <= 2 * CAPACITY);
        assert_eq!(r.get(&again).unwrap().created_ms, 3);
    }
}
