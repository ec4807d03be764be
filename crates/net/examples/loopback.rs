//! Both parties of a session in one process, over real TCP on 127.0.0.1 (a free port),
//! TLS with pinned fingerprints by default. Prints timings, traffic and bytes per
//! element; used to compare the networked session with the in-process protocol.
//!
//! ```sh
//! cargo run --release -p blindmatch-net --example loopback -- 65536 [plain] [cardinality] [initiator|responder]
//! ```
//!
//! The last word chooses who learns (default: both).

use std::sync::Arc;
use std::time::{Duration, Instant};

use blindmatch_net::{
    Identity, Listener, Mode, NetError, PeerAuth, PreparedSet, Reveal, SessionOptions,
    SessionParams, TlsSettings, Transport, connect,
};
use blindmatch_psi::EcdhSetup;

fn set(range: std::ops::Range<u64>) -> Result<PreparedSet, NetError> {
    PreparedSet::from_items(range.map(|i| ("phone", format!("86138{i:08}"), i)))
        .map_err(NetError::from)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), NetError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(1 << 16);
    let plain = args.iter().any(|a| a == "plain");
    let mode = if args.iter().any(|a| a == "cardinality") {
        Mode::Cardinality
    } else {
        Mode::Intersection
    };
    let (listener_transport, connector_transport) = if plain {
        (
            Transport::InsecurePlaintextForTesting,
            Transport::InsecurePlaintextForTesting,
        )
    } else {
        let a = Arc::new(Identity::generate("listener")?);
        let b = Arc::new(Identity::generate("connector")?);
        let (fa, fb) = (a.fingerprint(), b.fingerprint());
        (
            Transport::Tls(TlsSettings {
                identity: a,
                peer: PeerAuth::Fingerprint(fb),
            }),
            Transport::Tls(TlsSettings {
                identity: b,
                peer: PeerAuth::Fingerprint(fa),
            }),
        )
    };
    let prep = Instant::now();
    let (sa, sb) = (set(0..n)?, set(n / 2..n + n / 2)?);
    eprintln!("prepared two sets of {n} in {:.2?}", prep.elapsed());
    let reveal = if args.iter().any(|a| a == "initiator") {
        Reveal::Initiator
    } else if args.iter().any(|a| a == "responder") {
        Reveal::Responder
    } else {
        Reveal::Both
    };
    let params = SessionParams::new(mode, reveal, vec!["phone".into()], "bench".into());
    let options = SessionOptions::default();
    let listener = Listener::bind("127.0.0.1:0", listener_transport).await?;
    let addr = listener.local_addr().to_string();
    let started = Instant::now();
    let (p2, o2) = (params.clone(), options.clone());
    let serve = tokio::spawn(async move {
        listener
            .run_session(
                &p2,
                Box::new(EcdhSetup::new(sa)),
                &o2,
                Duration::from_secs(60),
            )
            .await
    });
    let c = connect(
        &addr,
        &connector_transport,
        &params,
        Box::new(EcdhSetup::new(sb)),
        &options,
        Duration::from_secs(60),
    )
    .await?;
    let l = serve.await.map_err(|_| NetError::Internal {
        what: "listener task panicked",
    })??;
    let wall = started.elapsed();
    for (name, r) in [("listener", &l), ("connector", &c)] {
        let t = &r.timings;
        println!(
            "{name:9}: matched {:?}; handshake {:.3}s psi {:.3}s (hashing {:.3}s, compare {:.3}s) finish {:.3}s; sent {} B in {} frames, wire {:?} B",
            r.matched_count,
            t.handshake.as_secs_f64(),
            t.psi.as_secs_f64(),
            t.hashing.as_secs_f64(),
            t.compare.as_secs_f64(),
            t.finish.as_secs_f64(),
            r.traffic.bytes_sent,
            r.traffic.frames_sent,
            r.traffic.wire_bytes_sent,
        );
    }
    let app = l.traffic.bytes_sent + l.traffic.bytes_received;
    let wire = l.traffic.wire_bytes_sent.unwrap_or(0) + l.traffic.wire_bytes_received.unwrap_or(0);
    println!(
        "wall {:.3}s for {n} x {n}; {:.1} B/element in frames, {:.1} B/element on the wire; transcripts equal: {}",
        wall.as_secs_f64(),
        app as f64 / n as f64,
        wire as f64 / n as f64,
        l.transcript_hash == c.transcript_hash,
    );
    Ok(())
}
