//! A reason to stop: set once, seen by every clone, awaited by whoever must give up.
//!
//! Used to cut a host connect short (DeleteHost, ChangeHostState maintain, the node stopping)
//! and to stop jobs at the end of a graceful shutdown. It only signals: the waiting code decides
//! how to unwind, so nothing is dropped halfway through a write it did not expect to lose.

use std::sync::Arc;

use tokio::sync::watch;

/// A cancellation with a reason (the first reason given wins).
#[derive(Clone, Debug)]
pub struct Cancel(Arc<watch::Sender<Option<String>>>);

impl Default for Cancel {
    fn default() -> Self {
        Cancel(Arc::new(watch::channel(None).0))
    }
}

impl Cancel {
    /// Cancel, with why (a no-op when already cancelled).
    pub fn cancel(&self, why: impl Into<String>) {
        let why = why.into();
        self.0.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(why);
                true
            } else {
                false
            }
        });
    }

    /// Why it was cancelled, if it was.
    pub fn reason(&self) -> Option<String> {
        self.0.borrow().clone()
    }

    /// Wait until cancelled; returns the reason.
    pub async fn cancelled(&self) -> String {
        let mut rx = self.0.subscribe();
        if rx.wait_for(Option::is_some).await.is_err() {
            // The sender lives in `self`: it cannot be gone while we wait.
            std::future::pending::<()>().await;
        }
        self.reason().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_reason_wins_and_wakes_waiters() {
        let c = Cancel::default();
        let waiter = tokio::spawn({
            let c = c.clone();
            async move { c.cancelled().await }
        });
        assert_eq!(c.reason(), None);
        c.cancel("deleted");
        c.cancel("stopping");
        assert_eq!(waiter.await.unwrap(), "deleted");
        assert_eq!(c.cancelled().await, "deleted");
    }
}
