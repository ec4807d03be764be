//! Refusals: listener wait timeout, mismatches, peer-set bounds and policy before our hello.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_wait_timeout_names_the_last_refusal() {
    tokio::time::timeout(TEST_LIMIT, async {
        let (lt, _, fl, _) = tls_pair();
        let listener = Listener::bind("127.0.0.1:0", lt).await.unwrap();
        let addr = listener.local_addr().to_string();
        let p = params(Mode::Intersection, Reveal::Both);
        let pl = p.clone();
        let serve = tokio::spawn(async move {
            listener
                .run_session(
                    &pl,
                    ecdh(prepared(&rows(0..10, &[]))),
                    &quick_options(),
                    Duration::from_secs(3),
                )
                .await
        });
        let eve = Arc::new(Identity::generate("eve").unwrap());
        let t = Transport::Tls(TlsSettings {
            identity: Arc::clone(&eve),
            peer: PeerAuth::Fingerprint(fl),
        });
        let _ = connect(
            &addr,
            &t,
            &p,
            ecdh(prepared(&rows(0..10, &[]))),
            &quick_options(),
            WAIT,
        )
        .await;
        match serve.await.unwrap() {
            Err(NetError::WaitTimeout {
                rejected,
                last_rejection: Some(reason),
                ..
            }) => {
                assert!(rejected >= 1);
                assert!(reason.contains(&eve.fingerprint().to_string()), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
    })
    .await
    .unwrap();
}

async fn refused_both_sides(
    listener_params: SessionParams,
    connector_params: SessionParams,
    tls: bool,
) -> (NetError, NetError) {
    let (lt, ct) = if tls {
        let (a, b, _, _) = tls_pair();
        (a, b)
    } else {
        (
            Transport::InsecurePlaintextForTesting,
            Transport::InsecurePlaintextForTesting,
        )
    };
    let connector_set = prepared_as(&rows(50..150, &[]), &connector_params.id_types[0]);
    let (l, c) = pair(
        lt,
        ct,
        listener_params,
        connector_params,
        prepared(&rows(0..100, &[])),
        connector_set,
        quick_options(),
    )
    .await;
    (l.unwrap_err(), c.unwrap_err())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mismatches_are_refused_on_both_sides() {
    tokio::time::timeout(TEST_LIMIT, async {
        let base = params(Mode::Intersection, Reveal::Both);

        let mut other = base.clone();
        other.mode = Mode::Cardinality;
        let (l, c) = refused_both_sides(base.clone(), other, true).await;
        assert!(matches!(l, NetError::ModeMismatch { .. }), "{l}");
        assert!(matches!(c, NetError::ModeMismatch { .. }), "{c}");
        assert!(l.is_refusal() && c.is_refusal());

        let mut other = base.clone();
        other.id_types = vec!["email".into()];
        let (l, c) = refused_both_sides(base.clone(), other, true).await;
        assert!(matches!(l, NetError::IdTypeMismatch { .. }), "{l}");
        assert!(matches!(c, NetError::IdTypeMismatch { .. }), "{c}");
        assert!(l.to_string().contains("email") && c.to_string().contains("phone"));

        let mut other = base.clone();
        other.profile = "phone-cn/v2".into();
        let (l, c) = refused_both_sides(base.clone(), other, false).await;
        assert!(matches!(l, NetError::ProfileMismatch { .. }), "{l}");
        assert!(matches!(c, NetError::ProfileMismatch { .. }), "{c}");

        let mut other = base.clone();
        other.reveal = Reveal::Initiator;
        let (l, c) = refused_both_sides(base.clone(), other, false).await;
        assert!(matches!(l, NetError::RevealMismatch { .. }), "{l}");
        assert!(matches!(c, NetError::RevealMismatch { .. }), "{c}");

        // Only the listener's policy forbids cardinality: it refuses, and the
        // connector reports the listener's reason.
        let mut strict = params(Mode::Cardinality, Reveal::Both);
        strict.policy.allowed_modes = vec![Mode::Intersection];
        strict.mode = Mode::Intersection;
        let card = params(Mode::Cardinality, Reveal::Both);
        let (l, c) = refused_both_sides(strict, card, false).await;
        assert!(matches!(l, NetError::ModeNotAllowed { .. }), "{l}");
        assert!(
            matches!(
                c,
                NetError::ModeMismatch { .. }
                    | NetError::PeerAborted {
                        code: AbortCode::ModeNotAllowed,
                        ..
                    }
            ),
            "{c}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_below_min_peer_set_is_refused() {
    tokio::time::timeout(TEST_LIMIT, async {
        let mut strict = params(Mode::Intersection, Reveal::Both);
        strict.policy = Policy {
            min_peer_set: 1000,
            ..Policy::default()
        };
        let lenient = params(Mode::Intersection, Reveal::Both);
        let (l, c) = refused_both_sides(strict, lenient, true).await;
        assert!(
            matches!(
                l,
                NetError::PeerSetTooSmall {
                    id_type: None,
                    declared: 100,
                    min: 1000
                }
            ),
            "{l}"
        );
        match &c {
            NetError::PeerAborted {
                code: AbortCode::PeerSetTooSmall,
                reason,
            } => {
                assert!(
                    reason.contains("1000") && reason.contains("100"),
                    "{reason}"
                );
            }
            other => panic!("unexpected {other}"),
        }
        assert!(l.is_refusal() && c.is_refusal());
    })
    .await
    .unwrap();
}

/// A policy refusal by the listener comes before its hello: a partner declaring a set
/// outside our bounds never learns our set size or settings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_refused_by_policy_never_sees_our_hello() {
    tokio::time::timeout(TEST_LIMIT, async {
        for (declared, expected) in [
            (5u64, AbortCode::PeerSetTooSmall),
            (50_000, AbortCode::PeerSetTooLarge),
        ] {
            let listener = Listener::bind("127.0.0.1:0", Transport::InsecurePlaintextForTesting)
                .await
                .unwrap();
            let addr = listener.local_addr().to_string();
            let mut strict = params(Mode::Intersection, Reveal::Both);
            strict.policy = Policy {
                min_peer_set: 100,
                max_peer_set: 10_000,
                ..Policy::default()
            };
            let serve = tokio::spawn(async move {
                listener
                    .run_session(
                        &strict,
                        ecdh(prepared(&rows(0..300, &[]))),
                        &quick_options(),
                        WAIT,
                    )
                    .await
            });
            let mut tcp = TcpStream::connect(&addr).await.unwrap();
            let hello = Hello {
                role: Role::Initiator,
                protocol: ECDH_PROTOCOL_ID.into(),
                protocol_params: ECDH_PARAMS.to_vec(),
                mode: "intersection".into(),
                reveal: Reveal::Both,
                id_types: vec!["phone".into()],
                profile: "phone-cn/v1".into(),
                set_size: declared,
                type_sizes: vec![declared],
                min_peer_set: 0,
                allowed_modes: vec!["intersection".into()],
                batch_size: 64,
                nonce: [1; 32],
                implementation: "scripted".into(),
            };
            tcp.write_all(&Frame::Hello(hello).encode().unwrap())
                .await
                .unwrap();
            // The first and only frame we get is the refusal, not the listener's hello.
            let first = read_one_frame(&mut tcp).await;
            match decode_frame(&first).unwrap().unwrap().0 {
                Frame::Control(Control::Abort { code, .. }) => assert_eq!(code, expected),
                other => panic!("expected an abort, got {}", other.kind_name()),
            }
            let err = serve.await.unwrap().unwrap_err();
            assert!(err.is_refusal(), "{err}");
            assert_eq!(err.abort_code(), expected);
        }
    })
    .await
    .unwrap();
}

/// A peer of protocol version 4 (whose `Matches` named the pairing with indices; its
/// hello is laid out as ours, only the version differs) is refused as a version
/// mismatch, both ways: it gets the Abort, and the listener's error names both
/// versions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_4_peer_is_refused_as_a_version_mismatch() {
    tokio::time::timeout(TEST_LIMIT, async {
        let listener = Listener::bind("127.0.0.1:0", Transport::InsecurePlaintextForTesting)
            .await
            .unwrap();
        let addr = listener.local_addr().to_string();
        let serve = tokio::spawn(async move {
            listener
                .run_session(
                    &params(Mode::Intersection, Reveal::Both),
                    ecdh(prepared(&rows(0..300, &[]))),
                    &quick_options(),
                    WAIT,
                )
                .await
        });
        let mut tcp = TcpStream::connect(&addr).await.unwrap();
        let hello = Hello {
            role: Role::Initiator,
            protocol: ECDH_PROTOCOL_ID.into(),
            protocol_params: ECDH_PARAMS.to_vec(),
            mode: "intersection".into(),
            reveal: Reveal::Both,
            id_types: vec!["phone".into()],
            profile: "phone-cn/v1".into(),
            set_size: 300,
            type_sizes: vec![300],
            min_peer_set: 0,
            allowed_modes: vec!["intersection".into()],
            batch_size: 64,
            nonce: [1; 32],
            implementation: "version 4".into(),
        };
        let mut bytes = Frame::Hello(hello).encode().unwrap();
        // Length prefix (4), kind (1), magic (8), then the version, u16 big-endian.
        assert_eq!(&bytes[13..15], &[0, 5]);
        bytes[14] = 4;
        tcp.write_all(&bytes).await.unwrap();
        let first = read_one_frame(&mut tcp).await;
        match decode_frame(&first).unwrap().unwrap().0 {
            Frame::Control(Control::Abort { code, .. }) => {
                assert_eq!(code, AbortCode::VersionMismatch);
            }
            other => panic!("expected an abort, got {}", other.kind_name()),
        }
        let err = serve.await.unwrap().unwrap_err();
        assert!(
            matches!(err, NetError::VersionMismatch { local: 5, peer: 4 }),
            "{err}"
        );
    })
    .await
    .unwrap();
}
