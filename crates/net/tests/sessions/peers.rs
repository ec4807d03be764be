//! Misbehaving peers: disconnects, kills, bad points, extra items, silence, strangers and busy peers.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_disconnecting_mid_session_is_an_error_not_a_hang() {
    tokio::time::timeout(TEST_LIMIT, async {
        let (addr, serve) = serve_plain(prepared(&rows(0..300, &[])), quick_options()).await;
        let mut tcp = scripted_peer(&addr, 300).await;
        // One valid-looking batch, then gone.
        let batch = blinded(0, vec![[0u8; 32]; 64]);
        let _ = tcp.write_all(&batch.encode().unwrap()[..100]).await;
        drop(tcp);
        let err = serve.await.unwrap().unwrap_err();
        assert!(matches!(err, NetError::PeerDisconnected { .. }), "{err}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_connector_killed_mid_session_is_an_error() {
    tokio::time::timeout(TEST_LIMIT, async {
        let (events, options) = recorder();
        let (addr, serve) = serve_plain(prepared(&rows(0..3000, &[])), options).await;
        let p = params(Mode::Intersection, Reveal::Both);
        let dial = tokio::spawn(async move {
            connect(
                &addr,
                &Transport::InsecurePlaintextForTesting,
                &p,
                ecdh(prepared(&rows(0..3000, &[]))),
                &quick_options(),
                WAIT,
            )
            .await
        });
        // Kill the connector once the exchange is under way.
        for _ in 0..400 {
            let started = events.lock().unwrap().iter().any(|e| {
                matches!(
                    e,
                    Event::Progress {
                        stage: Stage::Received,
                        ..
                    }
                )
            });
            if started {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        dial.abort();
        let err = serve.await.unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                NetError::PeerDisconnected { .. } | NetError::Stream { .. }
            ),
            "{err}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_points_are_a_typed_error_and_the_peer_hears_why() {
    tokio::time::timeout(TEST_LIMIT, async {
        let (addr, serve) = serve_plain(prepared(&rows(0..100, &[])), quick_options()).await;
        let mut tcp = scripted_peer(&addr, 100).await;
        // 0xFF… is not a canonical ristretto255 encoding.
        let batch = blinded(0, vec![[0xFF; 32]; 64]);
        tcp.write_all(&batch.encode().unwrap()).await.unwrap();
        let err = serve.await.unwrap().unwrap_err();
        assert!(matches!(err, NetError::Psi { .. }), "{err}");
        // The listener told us, with a reason, before closing.
        let mut abort = None;
        for _ in 0..100 {
            let frame = read_one_frame(&mut tcp).await;
            if let Frame::Control(Control::Abort { code, reason }) =
                decode_frame(&frame).unwrap().unwrap().0
            {
                abort = Some((code, reason));
                break;
            }
        }
        let (code, reason) = abort.unwrap();
        assert_eq!(code, AbortCode::PsiFailure);
        assert!(!reason.is_empty());
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_items_than_declared_are_refused() {
    tokio::time::timeout(TEST_LIMIT, async {
        let (addr, serve) = serve_plain(prepared(&rows(0..100, &[])), quick_options()).await;
        // Declares 10 items, then sends a batch of 64.
        let mut tcp = scripted_peer(&addr, 10).await;
        let batch = blinded(0, vec![[0u8; 32]; 64]);
        tcp.write_all(&batch.encode().unwrap()).await.unwrap();
        let err = serve.await.unwrap().unwrap_err();
        // The protocol refuses the batch: it holds more than the 10 declared items.
        assert!(
            matches!(
                err,
                NetError::Psi {
                    source: PsiError::WrongBatchLength { .. }
                }
            ),
            "{err}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_peer_times_out() {
    tokio::time::timeout(TEST_LIMIT, async {
        let options = SessionOptions {
            io_timeout: Duration::from_millis(500),
            handshake_timeout: Duration::from_secs(2),
            ..SessionOptions::default()
        };
        // A server that accepts and never says anything.
        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap().to_string();
        let keep = tokio::spawn(async move {
            let (s, _) = silent.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(s);
        });
        let err = connect(
            &addr,
            &Transport::InsecurePlaintextForTesting,
            &params(Mode::Intersection, Reveal::Both),
            ecdh(prepared(&rows(0..10, &[]))),
            &options,
            WAIT,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, NetError::Timeout { .. }), "{err}");
        keep.abort();

        // A partner that completes the handshake and then goes silent.
        let (addr, serve) = serve_plain(prepared(&rows(0..100, &[])), options).await;
        let tcp = scripted_peer(&addr, 100).await;
        let err = serve.await.unwrap().unwrap_err();
        assert!(matches!(err, NetError::Timeout { .. }), "{err}");
        drop(tcp);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_survives_strangers_and_completes_with_the_partner() {
    tokio::time::timeout(TEST_LIMIT, async {
        for tls in [false, true] {
            let (lt, ct) = if tls {
                let (a, b, _, _) = tls_pair();
                (a, b)
            } else {
                (
                    Transport::InsecurePlaintextForTesting,
                    Transport::InsecurePlaintextForTesting,
                )
            };
            let (events, mut options) = recorder();
            options.handshake_timeout = Duration::from_secs(1);
            let listener = Listener::bind("127.0.0.1:0", lt).await.unwrap();
            let addr = listener.local_addr().to_string();
            let p = params(Mode::Intersection, Reveal::Both);
            let pl = p.clone();
            let serve = tokio::spawn(async move {
                listener
                    .run_session(&pl, ecdh(prepared(&rows(0..200, &[]))), &options, WAIT)
                    .await
            });
            // Garbage (an HTTP request: its first bytes read as a huge length).
            let mut g = TcpStream::connect(&addr).await.unwrap();
            g.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            // A frame header announcing more than the limit.
            let mut big = TcpStream::connect(&addr).await.unwrap();
            big.write_all(&(5u32 << 20).to_be_bytes()).await.unwrap();
            // A well-formed frame that is not a hello (bad magic).
            let mut nomagic = TcpStream::connect(&addr).await.unwrap();
            nomagic
                .write_all(&[
                    0, 0, 0, 11, 0x01, b'n', b'o', b't', b' ', b'm', b'a', b'g', b'i', b'c', 0,
                ])
                .await
                .unwrap();
            // A stranger that connects and stalls.
            let stall = TcpStream::connect(&addr).await.unwrap();
            // Wait until the listener has dropped all four (the staller after the
            // 1 s handshake timeout), so the partner provably comes after them.
            let count = || {
                events
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|e| matches!(e, Event::ConnectionRefused { .. }))
                    .count()
            };
            for _ in 0..100 {
                if count() >= 4 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // The real partner.
            let report = connect(
                &addr,
                &ct,
                &p,
                ecdh(prepared(&rows(100..300, &[]))),
                &quick_options(),
                WAIT,
            )
            .await
            .unwrap();
            assert_eq!(report.matched_count, Some(100));
            let served = serve.await.unwrap().unwrap();
            assert_eq!(served.transcript_hash, report.transcript_hash);
            drop((g, big, nomagic, stall));
            assert_eq!(count(), 4, "tls={tls}");
        }
    })
    .await
    .unwrap();
}

/// The reader's error is the cause of a failed exchange; the PSI thread's complaint
/// about its closed input ("protocol not complete") is only a consequence and must
/// never be what the caller sees, however the threads are scheduled. Many sessions at
/// once on two workers make the unlucky interleaving likely.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cause_is_reported_not_the_psi_threads_consequence() {
    tokio::time::timeout(TEST_LIMIT, async {
        let options = SessionOptions {
            io_timeout: Duration::from_millis(100),
            handshake_timeout: Duration::from_secs(5),
            ..SessionOptions::default()
        };
        for round in 0..8 {
            let mut runs = Vec::new();
            for i in 0..12 {
                let options = options.clone();
                runs.push(tokio::spawn(async move {
                    let (addr, serve) = serve_plain(prepared(&rows(0..100, &[])), options).await;
                    let tcp = scripted_peer(&addr, 100).await;
                    if i % 2 == 0 {
                        // Silent after the handshake: a read timeout.
                        let err = serve.await.unwrap().unwrap_err();
                        drop(tcp);
                        (i, err)
                    } else {
                        // Gone after the handshake: a disconnect.
                        drop(tcp);
                        (i, serve.await.unwrap().unwrap_err())
                    }
                }));
            }
            for run in runs {
                let (i, err) = run.await.unwrap();
                if i % 2 == 0 {
                    assert!(
                        matches!(err, NetError::Timeout { .. }),
                        "round {round}: {err}"
                    );
                } else {
                    assert!(
                        matches!(
                            err,
                            NetError::PeerDisconnected { .. } | NetError::Stream { .. }
                        ),
                        "round {round}: {err}"
                    );
                }
            }
        }
    })
    .await
    .unwrap();
}

/// Unbalanced sets: the side with the small set has sent everything long before the
/// other has hashed its large set, so it legitimately receives nothing for a while
/// (in cardinality mode the learner waits for the whole shuffled answer, in
/// intersection mode the non-learner waits for the peer's `Done`). That wait is not
/// a silent peer as long as the peer keeps reading what we write: it must not time
/// out, in any mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_peer_is_not_a_silent_peer() {
    tokio::time::timeout(TEST_LIMIT, async {
        // Shorter than the big side's work on its 60,000 items (about 2 s a session
        // on two cores), long enough that a loaded machine does not delay our
        // reads of its frames past it.
        let options = SessionOptions {
            io_timeout: Duration::from_secs(1),
            handshake_timeout: Duration::from_secs(5),
            ..SessionOptions::default()
        };
        let big = rows(0..60_000, &[]);
        let small = rows(0..5, &[]);
        for (mode, reveal) in [
            (Mode::Intersection, Reveal::Initiator),
            (Mode::Cardinality, Reveal::Initiator),
            (Mode::Intersection, Reveal::Responder),
            (Mode::Cardinality, Reveal::Responder),
        ] {
            let listener = Listener::bind("127.0.0.1:0", Transport::InsecurePlaintextForTesting)
                .await
                .unwrap();
            let addr = listener.local_addr().to_string();
            let (lp, lo, lset) = (params(mode, reveal), options.clone(), prepared(&big));
            let serve =
                tokio::spawn(async move { listener.run_session(&lp, ecdh(lset), &lo, WAIT).await });
            let c = connect(
                &addr,
                &Transport::InsecurePlaintextForTesting,
                &params(mode, reveal),
                ecdh(prepared(&small)),
                &options,
                WAIT,
            )
            .await;
            let l = serve.await.unwrap();
            let (l, c) = match (l, c) {
                (Ok(l), Ok(c)) => (l, c),
                (l, c) => panic!("{mode:?}/{reveal:?}: listener {l:?}, connector {c:?}"),
            };
            check_agreement(&l, &c);
        }
    })
    .await
    .unwrap();
}
