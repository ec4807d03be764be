//! Killed, silent and TLS-mismatched peers, and strangers sending garbage or holding connections.

use super::*;

#[test]
fn killed_peer_leaves_the_other_side_failing_cleanly() {
    // A big connector set in small batches, so the session is far from done when
    // the connector is killed right after its first batch.
    let f = Fixture::new(200, 20_000, 50);
    let a = Party::spawn(&f.a, &f.a_args(&[]), &[], None);
    let addr = a.listening_addr();
    let mut b = Party::spawn(
        &f.b,
        &f.b_args(
            &addr,
            &["--events", "json", "--batch-size", "32", "--threads", "1"],
        ),
        &[],
        None,
    );
    b.wait_line(false, Duration::from_secs(60), |l| {
        l.contains("\"event\":\"progress\"")
    });
    b.child.kill().unwrap();
    let _ = b.finish(DEADLINE);
    let ra = a.finish(DEADLINE);
    assert_eq!(ra.code, Some(1), "{ra:#?}");
    assert!(
        ra.stderr.contains("disconnected") || ra.stderr.contains("connection failed"),
        "{ra:#?}"
    );
    ra.stderr_has("hint: ");
    // Nothing written, not even a temporary file.
    assert_only(&f.a, &["alice.crt", "alice.key", "customers.csv"]);
}

#[test]
fn listener_survives_garbage_and_oversized_frames_from_strangers() {
    // Over TLS: a stranger speaking HTTP, one sending random bytes.
    let f = Fixture::new(150, 130, 40);
    let a = Party::spawn(&f.a, &f.a_args(&[]), &[], None);
    let addr = a.listening_addr();
    for junk in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &[0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2, 3][..],
    ] {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(junk).unwrap();
        let _ = s.shutdown(std::net::Shutdown::Write);
        a.wait_line(true, Duration::from_secs(30), |l| {
            l.contains("connection refused")
        });
    }
    let rb = Party::spawn(&f.b, &f.b_args(&addr, &[]), &[], None).finish(DEADLINE);
    let ra = a.finish(DEADLINE);
    ra.ok();
    rb.ok();
    assert_eq!(
        matched(&f.a, "customer_id")
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        f.side_a.expected
    );

    // Without TLS (the test-only transport), a stranger can reach the frame decoder:
    // an oversized length prefix, then a frame that is not a hello.
    let plain = ["--insecure-plaintext-for-testing"];
    for dir in [&f.a, &f.b] {
        for name in ["matched.csv", "matched.csv.receipt.json"] {
            std::fs::remove_file(dir.join(name)).unwrap();
        }
    }
    let a = Party::spawn(&f.a, &without_tls(f.a_args(&plain)), &[], None);
    let addr = a.listening_addr();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(&[0xff, 0xff, 0xff, 0xf0, 0x01, 0x02]).unwrap();
    a.wait_line(true, Duration::from_secs(30), |l| {
        l.contains("invalid frame")
    });
    let mut s2 = TcpStream::connect(&addr).unwrap();
    s2.write_all(&[0, 0, 0, 5, 0x02, 1, 2, 3, 4]).unwrap();
    a.wait_line(true, Duration::from_secs(30), |l| {
        l.contains("connection refused")
    });
    let rb = Party::spawn(&f.b, &without_tls(f.b_args(&addr, &plain)), &[], None).finish(DEADLINE);
    let ra = a.finish(DEADLINE);
    ra.ok();
    rb.ok();
    assert_eq!(
        matched(&f.b, "client_no")
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        f.side_b.expected
    );
    drop((s, s2));
}

/// Strangers cannot lock out the partner: while 1,000 idle sockets and 100 TLS
/// clients sending one byte a second hold connections to the listener, the partner
/// still completes its session.
#[test]
fn strangers_holding_connections_cannot_lock_out_the_partner() {
    let f = Fixture::new(150, 130, 40);
    let a = Party::spawn(&f.a, &f.a_args(&[]), &[], None);
    let addr = a.listening_addr();
    let mut idle = Vec::new();
    for _ in 0..1000 {
        idle.push(TcpStream::connect(&addr).unwrap());
    }
    // Slow clients: a TLS record header, then one byte a second each, for as long as
    // the session runs (bounded: at most 60 bytes).
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut slow: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).unwrap();
            s
        })
        .collect();
    let stop_slow = Arc::clone(&stop);
    let drip = std::thread::spawn(move || {
        for _ in 0..60 {
            if stop_slow.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            for s in &mut slow {
                let _ = s.write_all(&[0x01]);
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    // The strangers would hold their slots for the whole handshake timeout (30 s);
    // the partner must get in well before that.
    let rb = Party::spawn(
        &f.b,
        &f.b_args(&addr, &["--wait-timeout", "15s"]),
        &[],
        None,
    )
    .finish(DEADLINE);
    let ra = a.finish(DEADLINE);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    drip.join().unwrap();
    drop(idle);
    ra.ok();
    rb.ok();
    assert_eq!(
        matched(&f.a, "customer_id")
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        f.side_a.expected
    );
    // The flood was seen and counted, not logged line by line.
    ra.stderr_has("connection refused");
    assert!(
        ra.stderr
            .lines()
            .filter(|l| l.contains("connection refused"))
            .count()
            <= 25
    );
}

/// A plaintext side meeting a TLS side is told which one the partner speaks.
#[test]
fn tls_and_plaintext_sides_are_told_what_the_partner_speaks() {
    let f = Fixture::new(150, 130, 40);
    let plain = ["--insecure-plaintext-for-testing"];
    // A TLS listener, a plaintext connector.
    let a = Party::spawn(&f.a, &f.a_args(&["--wait-timeout", "5s"]), &[], None);
    let addr = a.listening_addr();
    let rb = Party::spawn(&f.b, &without_tls(f.b_args(&addr, &plain)), &[], None).finish(DEADLINE);
    assert_eq!(rb.code, Some(3), "{rb:#?}");
    rb.stderr_has("the partner speaks TLS")
        .stderr_has("--identity");
    let ra = a.finish(DEADLINE);
    assert_eq!(ra.code, Some(1), "{ra:#?}");
    ra.stderr_has("speaks plaintext");

    // A plaintext listener, a TLS connector.
    let a = Party::spawn(
        &f.a,
        &without_tls(f.a_args(&["--wait-timeout", "5s", plain[0]])),
        &[],
        None,
    );
    let addr = a.listening_addr();
    let rb = Party::spawn(&f.b, &f.b_args(&addr, &[]), &[], None).finish(DEADLINE);
    assert_eq!(rb.code, Some(3), "{rb:#?}");
    rb.stderr_has("the partner speaks plaintext")
        .stderr_has("--insecure-plaintext-for-testing");
    let ra = a.finish(DEADLINE);
    ra.stderr_has("speaks TLS");
    for dir in [&f.a, &f.b] {
        assert!(!dir.join("matched.csv").exists());
    }
}

#[test]
fn silent_peer_times_out() {
    let f = Fixture::new(150, 20_000, 40);

    // A "listener" that accepts and never says a word: the connector gives up.
    let mute = TcpListener::bind("127.0.0.1:0").unwrap();
    let mute_addr = mute.local_addr().unwrap().to_string();
    let started = Instant::now();
    let rb = Party::spawn(
        &f.b,
        &f.b_args(&mute_addr, &["--read-timeout", "2s"]),
        &[],
        None,
    )
    .finish(DEADLINE);
    assert_eq!(rb.code, Some(1), "{rb:#?}");
    rb.stderr_has("timed out").stderr_has("hint: ");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!f.b.join("matched.csv").exists());
    drop(mute);

    // A stranger that connects and stays silent is dropped; with no partner, the
    // listener stops at --wait-timeout.
    let a = Party::spawn(
        &f.a,
        &f.a_args(&["--read-timeout", "1s", "--wait-timeout", "4s"]),
        &[],
        None,
    );
    let addr = a.listening_addr();
    let _silent = TcpStream::connect(&addr).unwrap();
    let ra = a.finish(DEADLINE);
    assert_eq!(ra.code, Some(1), "{ra:#?}");
    ra.stderr_has("timed out")
        .stderr_has("no partner completed the handshake");

    // A partner that goes silent mid-session (stopped): the listener times out.
    let a = Party::spawn(&f.a, &f.a_args(&["--read-timeout", "3s"]), &[], None);
    let addr = a.listening_addr();
    let b = Party::spawn(
        &f.b,
        &f.b_args(
            &addr,
            &["--events", "json", "--batch-size", "32", "--threads", "1"],
        ),
        &[],
        None,
    );
    b.wait_line(false, Duration::from_secs(60), |l| {
        l.contains("\"event\":\"progress\"")
    });
    let stopped = std::process::Command::new("kill")
        .args(["-STOP", &b.pid().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let ra = a.finish(DEADLINE);
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &b.pid().to_string()])
        .status();
    drop(b);
    assert_eq!(ra.code, Some(1), "{ra:#?}");
    ra.stderr_has("timed out").stderr_has("--read-timeout");
    assert_only(&f.a, &["alice.crt", "alice.key", "customers.csv"]);
}
