//! The listener's table of connections still in TLS or the handshake, and who gives
//! way when it is full: never a connection that passed authentication, and among the
//! rest the oldest one from the source address holding the most slots. A stranger
//! flooding the listener from one address then only displaces its own connections,
//! and a flood from many addresses displaces the oldest first, so the partner, which
//! completes TLS in about one round trip, gets through while strangers hold
//! connections open.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::task::{AbortHandle, Id};

/// Connections handled at once while waiting for the partner. Each costs one task,
/// one socket and the TLS state of one handshake (tens of kilobytes), and lives at
/// most the handshake timeout.
pub(crate) const MAX_PENDING_CONNECTIONS: usize = 128;

/// One connection in progress.
struct Slot {
    addr: SocketAddr,
    opened: Instant,
    /// Set by the connection's task once the peer's certificate was accepted.
    authenticated: Arc<AtomicBool>,
    abort: AbortHandle,
}

/// Connections in progress, by task.
#[derive(Default)]
pub(crate) struct Slots {
    slots: HashMap<Id, Slot>,
}

impl Slots {
    /// Whether a new connection needs room made for it.
    pub(crate) fn full(&self) -> bool {
        self.slots.len() >= MAX_PENDING_CONNECTIONS
    }

    /// Records a connection whose task is `abort`; `authenticated` is the flag its
    /// task sets after TLS.
    pub(crate) fn add(
        &mut self,
        addr: SocketAddr,
        authenticated: Arc<AtomicBool>,
        abort: AbortHandle,
    ) {
        self.slots.insert(
            abort.id(),
            Slot {
                addr,
                opened: Instant::now(),
                authenticated,
                abort,
            },
        );
    }

    /// Forgets a connection whose task ended.
    pub(crate) fn remove(&mut self, id: Id) {
        self.slots.remove(&id);
    }

    /// Makes room: aborts the connection that gives way and returns its address, or
    /// `None` when every slot holds an authenticated peer.
    pub(crate) fn evict(&mut self) -> Option<SocketAddr> {
        let mut per_source: HashMap<IpAddr, usize> = HashMap::new();
        for slot in self.slots.values().filter(|s| !s.is_authenticated()) {
            *per_source.entry(slot.addr.ip()).or_default() += 1;
        }
        let busiest = per_source.values().copied().max()?;
        let (&id, _) = self
            .slots
            .iter()
            .filter(|(_, s)| {
                !s.is_authenticated() && per_source.get(&s.addr.ip()) == Some(&busiest)
            })
            .min_by_key(|(_, s)| s.opened)?;
        let slot = self.slots.remove(&id)?;
        slot.abort.abort();
        Some(slot.addr)
    }

    /// Aborts every connection in progress.
    pub(crate) fn abort_all(&mut self) {
        for (_, slot) in self.slots.drain() {
            slot.abort.abort();
        }
    }
}

impl Slot {
    fn is_authenticated(&self) -> bool {
        self.authenticated.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn addr(ip: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::from((ip, port))
    }

    #[tokio::test]
    async fn the_busiest_sources_oldest_unauthenticated_connection_gives_way() {
        let mut set = tokio::task::JoinSet::new();
        let mut slots = Slots::default();
        let mut flags = Vec::new();
        let mut add = |slots: &mut Slots, ip, port, authenticated: bool| {
            let flag = Arc::new(AtomicBool::new(authenticated));
            flags.push(Arc::clone(&flag));
            let abort = set.spawn(std::future::pending::<()>());
            slots.add(addr(ip, port), flag, abort);
            std::thread::sleep(std::time::Duration::from_millis(2));
        };
        add(&mut slots, [10, 0, 0, 9], 1, false); // the partner, mid-TLS, first
        add(&mut slots, [10, 0, 0, 1], 2, false);
        add(&mut slots, [10, 0, 0, 1], 3, false);
        add(&mut slots, [10, 0, 0, 1], 5, false);
        add(&mut slots, [10, 0, 0, 2], 4, true); // authenticated: never evicted
        // The flood's source holds the most: its oldest goes first, then its next,
        // although the partner's connection is older.
        assert_eq!(slots.evict(), Some(addr([10, 0, 0, 1], 2)));
        assert_eq!(slots.evict(), Some(addr([10, 0, 0, 1], 3)));
        // Now one each: the oldest unauthenticated.
        assert_eq!(slots.evict(), Some(addr([10, 0, 0, 9], 1)));
        assert_eq!(slots.evict(), Some(addr([10, 0, 0, 1], 5)));
        // Only an authenticated one is left.
        assert_eq!(slots.evict(), None);
        slots.abort_all();
        assert!(!slots.full());
    }
}
