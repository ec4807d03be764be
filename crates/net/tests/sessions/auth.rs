//! Peer authentication: a wrong pinned fingerprint and CA-file authentication.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_pinned_fingerprint_is_refused_naming_both() {
    tokio::time::timeout(TEST_LIMIT, async {
        // The listener pins `partner`; three connectors try their luck.
        let (lt, _, fl, _) = tls_pair();
        let Transport::Tls(listener_settings) = &lt else {
            unreachable!()
        };
        let partner = Arc::new(Identity::generate("partner").unwrap());
        let real_connector = Transport::Tls(TlsSettings {
            identity: Arc::clone(&partner),
            peer: PeerAuth::Fingerprint(fl),
        });
        let listener = Listener::bind(
            "127.0.0.1:0",
            Transport::Tls(TlsSettings {
                identity: Arc::clone(&listener_settings.identity),
                peer: PeerAuth::Fingerprint(partner.fingerprint()),
            }),
        )
        .await
        .unwrap();
        let addr2 = listener.local_addr().to_string();
        let wrong = Fingerprint::of_der(b"not the listener");
        let (events, options) = recorder();
        let p = params(Mode::Intersection, Reveal::Both);
        let pl = p.clone();
        let serve = tokio::spawn(async move {
            listener
                .run_session(&pl, ecdh(prepared(&rows(0..50, &[]))), &options, WAIT)
                .await
        });

        // 1. A connector pinning a wrong fingerprint refuses the listener itself.
        let pinned_wrong = Transport::Tls(TlsSettings {
            identity: Arc::clone(&partner),
            peer: PeerAuth::Fingerprint(wrong),
        });
        let err = connect(
            &addr2,
            &pinned_wrong,
            &p,
            ecdh(prepared(&rows(0..50, &[]))),
            &quick_options(),
            WAIT,
        )
        .await
        .unwrap_err();
        match &err {
            NetError::PeerFingerprintMismatch {
                expected,
                presented,
            } => {
                assert_eq!(*expected, wrong);
                assert_eq!(*presented, fl);
            }
            other => panic!("unexpected {other}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains(&wrong.to_string()) && msg.contains(&fl.to_string()),
            "{msg}"
        );

        // 2. A connector whose certificate the listener does not pin is refused by the
        //    listener, which names both fingerprints and keeps waiting.
        let unknown = Arc::new(Identity::generate("eve").unwrap());
        let eve = Transport::Tls(TlsSettings {
            identity: Arc::clone(&unknown),
            peer: PeerAuth::Fingerprint(fl),
        });
        let err = connect(
            &addr2,
            &eve,
            &p,
            ecdh(prepared(&rows(0..50, &[]))),
            &quick_options(),
            WAIT,
        )
        .await
        .unwrap_err();
        match &err {
            NetError::PeerRefusedTls { ours, .. } => assert_eq!(*ours, unknown.fingerprint()),
            other => panic!("unexpected {other}"),
        }

        // 3. The real partner still gets through.
        let report = connect(
            &addr2,
            &real_connector,
            &p,
            ecdh(prepared(&rows(25..60, &[]))),
            &quick_options(),
            WAIT,
        )
        .await
        .unwrap();
        assert_eq!(report.matched_count, Some(25));
        let served = serve.await.unwrap().unwrap();
        assert_eq!(served.transcript_hash, report.transcript_hash);
        assert_eq!(served.peer_fingerprint, Some(partner.fingerprint()));

        let ev = events.lock().unwrap();
        let refusals: Vec<&String> = ev
            .iter()
            .filter_map(|e| match e {
                Event::ConnectionRefused { reason, .. } => Some(reason),
                _ => None,
            })
            .collect();
        assert!(
            refusals
                .iter()
                .any(|r| r.contains(&unknown.fingerprint().to_string())
                    && r.contains(&partner.fingerprint().to_string())),
            "{refusals:?}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_file_authentication_works_and_refuses_outsiders() {
    tokio::time::timeout(TEST_LIMIT, async {
        use rcgen::{
            BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
            KeyUsagePurpose,
        };
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let ca_path = dir.path().join("ca.crt");
        std::fs::write(&ca_path, ca_cert.pem()).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let issue = |name: &str| {
            let key = KeyPair::generate().unwrap();
            let mut p = CertificateParams::new(vec![name.to_owned()]).unwrap();
            p.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
            let cert = p.signed_by(&key, &issuer).unwrap();
            let (k, c) = (
                dir.path().join(format!("{name}.key")),
                dir.path().join(format!("{name}.crt")),
            );
            std::fs::write(&k, key.serialize_pem()).unwrap();
            std::fs::write(&c, cert.pem()).unwrap();
            Arc::new(Identity::load_files(&k, &c).unwrap())
        };
        let bank = issue("bank.example");
        let insurer = issue("insurer.example");
        let eve = issue("eve.example");
        // A listener checking against a CA must name its partner.
        let unnamed = Listener::bind(
            "127.0.0.1:0",
            Transport::Tls(TlsSettings {
                identity: Arc::clone(&bank),
                peer: PeerAuth::ca_file(&ca_path, None).unwrap(),
            }),
        )
        .await
        .unwrap();
        let err = unnamed
            .run_session(
                &params(Mode::Cardinality, Reveal::Both),
                ecdh(prepared(&rows(0..40, &[]))),
                &quick_options(),
                Duration::from_millis(200),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, NetError::InvalidConfig { .. }), "{err}");
        let listener = Listener::bind(
            "127.0.0.1:0",
            Transport::Tls(TlsSettings {
                identity: Arc::clone(&bank),
                peer: PeerAuth::ca_file(&ca_path, Some("insurer.example".into())).unwrap(),
            }),
        )
        .await
        .unwrap();
        let addr = listener.local_addr().to_string();
        let p = params(Mode::Cardinality, Reveal::Both);
        let pl = p.clone();
        let serve = tokio::spawn(async move {
            listener
                .run_session(
                    &pl,
                    ecdh(prepared(&rows(0..40, &[]))),
                    &quick_options(),
                    WAIT,
                )
                .await
        });
        // A self-signed outsider is refused by the listener; it keeps waiting.
        let outsider = Transport::Tls(TlsSettings {
            identity: Arc::new(Identity::generate("outsider").unwrap()),
            peer: PeerAuth::ca_file(&ca_path, Some("bank.example".into())).unwrap(),
        });
        assert!(
            connect(
                &addr,
                &outsider,
                &p,
                ecdh(prepared(&rows(0..40, &[]))),
                &quick_options(),
                WAIT
            )
            .await
            .is_err()
        );
        // Another holder of a certificate from the same CA is not the partner: the
        // listener refuses it by name and keeps waiting.
        let other_member = Transport::Tls(TlsSettings {
            identity: Arc::clone(&eve),
            peer: PeerAuth::ca_file(&ca_path, Some("bank.example".into())).unwrap(),
        });
        assert!(
            connect(
                &addr,
                &other_member,
                &p,
                ecdh(prepared(&rows(0..40, &[]))),
                &quick_options(),
                WAIT
            )
            .await
            .is_err()
        );
        // The wrong expected name is refused by the connector.
        let wrong_name = Transport::Tls(TlsSettings {
            identity: Arc::clone(&insurer),
            peer: PeerAuth::ca_file(&ca_path, Some("other.example".into())).unwrap(),
        });
        let err = connect(
            &addr,
            &wrong_name,
            &p,
            ecdh(prepared(&rows(0..40, &[]))),
            &quick_options(),
            WAIT,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, NetError::PeerCertificateUntrusted { .. }),
            "{err}"
        );
        // The CA-issued partner gets through.
        let good = Transport::Tls(TlsSettings {
            identity: Arc::clone(&insurer),
            peer: PeerAuth::ca_file(&ca_path, Some("bank.example".into())).unwrap(),
        });
        let report = connect(
            &addr,
            &good,
            &p,
            ecdh(prepared(&rows(30..60, &[]))),
            &quick_options(),
            WAIT,
        )
        .await
        .unwrap();
        assert_eq!(report.matched_count, Some(10));
        assert_eq!(report.peer_fingerprint, Some(bank.fingerprint()));
        assert_eq!(
            serve.await.unwrap().unwrap().transcript_hash,
            report.transcript_hash
        );
    })
    .await
    .unwrap();
}
