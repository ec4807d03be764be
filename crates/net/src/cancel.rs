//! [`Cancellation`]: how a caller stops a session from outside it (another task,
//! another thread, the thread that receives the process's signals). A cancelled
//! session tells the peer with an `Abort` whose code is
//! [`AbortCode::Cancelled`](crate::AbortCode::Cancelled) and returns
//! [`NetError::Cancelled`](crate::NetError::Cancelled).

use std::fmt;
use std::sync::Arc;

use tokio::sync::watch;

/// A cancellation flag shared by clones: [`Cancellation::cancel`] on any clone, from
/// any thread, and every session holding one (through
/// [`SessionOptions::cancel`](crate::SessionOptions::cancel)) stops. It stays
/// cancelled.
#[derive(Clone)]
pub struct Cancellation {
    flag: Arc<watch::Sender<bool>>,
}

impl Cancellation {
    /// A flag that is not cancelled yet.
    #[must_use]
    pub fn new() -> Self {
        let (flag, _) = watch::channel(false);
        Self {
            flag: Arc::new(flag),
        }
    }

    /// Cancels every session holding this flag (or a clone). Needs no runtime:
    /// callable from a plain thread.
    pub fn cancel(&self) {
        self.flag.send_replace(true);
    }

    /// Whether [`Cancellation::cancel`] was called.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        *self.flag.borrow()
    }

    /// Completes once cancelled (at once if it is already).
    pub async fn cancelled(&self) {
        let mut seen = self.flag.subscribe();
        if seen.wait_for(|cancelled| *cancelled).await.is_err() {
            // Only when the sender is gone, and we hold it: never cancelled then.
            std::future::pending::<()>().await;
        }
    }
}

impl Default for Cancellation {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Cancellation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancellation")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_clone_cancelled_from_another_thread_wakes_the_waiter() {
        let cancel = Cancellation::new();
        assert!(!cancel.is_cancelled());
        let other = cancel.clone();
        let waiter = tokio::spawn(async move { other.cancelled().await });
        let from_thread = cancel.clone();
        std::thread::spawn(move || from_thread.cancel());
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("joined");
        assert!(cancel.is_cancelled());
        // Already cancelled: completes at once.
        tokio::time::timeout(Duration::from_millis(100), cancel.cancelled())
            .await
            .expect("at once");
    }
}
