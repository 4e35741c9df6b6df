//! Marking hosts Disconnected: the write every failure path ends in (a ping round that failed,
//! a reconnect that failed, a start-up pass that found the SSH port closed, a connect cut off
//! by a stop or whose last write failed).
//!
//! Disconnected means: the status, the `ConnectedTime::` tag goes, and a change from another
//! settled status is a host event. Nothing happens to a host that is gone or Disconnected
//! already (the status is written only where it differs).
//!
//! Hosts that change together — a rack that lost power, a start-up with every host down — are
//! written together: one transaction of three statements for a whole group
//! ([`crate::store::Store::hosts_change_status_together`]) instead of three statements per host,
//! each a round trip to the store's worker (the cost BENCHMARKS.md j measured). No timer holds
//! anyone back: a caller that finds no group being written writes at once, with everything
//! queued so far; callers that queue meanwhile are written by the next group ("group commit").
//! A group holds at most 500 hosts, and only one group is written at a time, so marking hosts
//! Disconnected takes one store connection however many fail at once.
//!
//! Every caller still waits for its own host's write and hears whether it changed. A caller
//! that goes away (its task ended) while its group is written loses nothing but the answer; the
//! callers of a group whose writer went away hear that the write failed, as from a store error.

use std::collections::HashSet;
use std::sync::Mutex;

use tokio::sync::oneshot;

use super::events::{self, Change, Event, Kind};
use super::DISCONNECTED;
use crate::domain::App;
use crate::store::host_events::HostEventRow;
use crate::time::now_ms;

/// At most this many hosts in one group write (three statements, up to 9 parameters a host).
const MAX_GROUP: usize = 500;

/// Why a host is marked Disconnected, for its event.
#[derive(Debug, Clone, Copy)]
pub struct Why<'a> {
    /// The status it had settled in before (a connect sets Connecting while it runs): the
    /// event's `from`.
    pub was: &'a str,
    /// See [`super::connect::Mode::cause`].
    pub cause: Option<&'a str>,
    /// The failure's stable reason.
    pub reason: Option<&'a str>,
}

/// What became of one host's mark.
#[derive(Debug)]
enum Outcome {
    /// It was gone or Disconnected already.
    Unchanged,
    /// It is Disconnected now; its event, when it had one.
    Changed(Option<Box<HostEventRow>>),
    /// The group's write failed (the store's error), or its writer went away.
    Failed(String),
}

/// A host waiting for its group.
struct Pending {
    uuid: String,
    event: Option<Event>,
    done: oneshot::Sender<Outcome>,
}

/// The hosts waiting to be marked, and the right to write a group. Owned by `Hosts`.
#[derive(Default)]
pub(crate) struct Disconnects {
    queue: Mutex<Vec<Pending>>,
    writer: tokio::sync::Mutex<()>,
}

/// Mark `uuid` Disconnected (see the module doc); returns once it is written.
pub async fn mark_disconnected(app: &App, uuid: &str, why: Why<'_>) {
    let event = (why.was != DISCONNECTED).then(|| {
        let c = Change::new(Kind::StatusChanged, Some(why.was), Some(DISCONNECTED))
            .cause(why.cause)
            .reason(why.reason);
        Event::of(app, uuid, c)
    });
    match app.hosts.disconnects.mark(app, uuid, event).await {
        Outcome::Changed(row) => {
            tracing::warn!(host.uuid = %uuid, old_status = %why.was, "host is Disconnected");
            if let Some(row) = row {
                events::published(app, &row);
            }
        }
        Outcome::Unchanged => {}
        Outcome::Failed(e) => {
            tracing::error!(host.uuid = %uuid, error = %e, "could not record Disconnected")
        }
    }
}

impl Disconnects {
    async fn mark(&self, app: &App, uuid: &str, event: Option<Event>) -> Outcome {
        let (done, mut outcome) = oneshot::channel();
        self.queue.lock().expect("disconnects").push(Pending {
            uuid: uuid.to_string(),
            event,
            done,
        });
        let _writing = self.writer.lock().await;
        loop {
            // Written by a group before this one (or its writer went away: then it failed).
            match outcome.try_recv() {
                Ok(o) => return o,
                Err(oneshot::error::TryRecvError::Closed) => {
                    return Outcome::Failed("the write of its group was cut off".into())
                }
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let group: Vec<Pending> = {
                let mut queue = self.queue.lock().expect("disconnects");
                let n = queue.len().min(MAX_GROUP);
                queue.drain(..n).collect()
            };
            if group.is_empty() {
                // Not queued, not answered: cannot be (only the writer takes from the queue).
                return Outcome::Failed("lost from its group".into());
            }
            write(app, group).await;
        }
    }
}

/// Write one group and tell each of its callers what became of its host.
async fn write(app: &App, group: Vec<Pending>) {
    let uuids: Vec<&str> = group.iter().map(|p| p.uuid.as_str()).collect();
    let new_events: Vec<_> = group
        .iter()
        .filter_map(|p| p.event.as_ref().map(Event::as_new))
        .collect();
    let written = app
        .store
        .hosts_change_status_together(
            &uuids,
            DISCONNECTED,
            "ConnectedTime::",
            &new_events,
            now_ms(),
        )
        .await;
    drop(new_events);
    match written {
        Ok(mut w) => {
            let mut answered = HashSet::new();
            for p in group {
                // A host named twice in a group changes once: the first caller hears it.
                let outcome = if w.changed.contains(&p.uuid) && answered.insert(p.uuid.clone()) {
                    let row = w.events.remove(&p.uuid);
                    if let Some(r) = &row {
                        events::counted(app, &r.kind, r.from.as_deref(), r.to.as_deref());
                    }
                    Outcome::Changed(row.map(Box::new))
                } else {
                    Outcome::Unchanged
                };
                let _ = p.done.send(outcome);
            }
        }
        Err(e) => {
            let e = e.to_string();
            for p in group {
                let _ = p.done.send(Outcome::Failed(e.clone()));
            }
        }
    }
}
