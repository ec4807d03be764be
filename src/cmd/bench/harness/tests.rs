//! The harness's own checks: its byte counts against an independent count beneath
//! the emulator and the session driver's counters; every phase of a repeat measured.

#![allow(clippy::unwrap_used)]
use super::*;
use crate::cmd::bench::floor::FloorOps;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn spec(transport: TransportKind, link: LinkSpec, mode: Mode) -> RunSpec {
    RunSpec {
        mode,
        reveal: Reveal::Both,
        initiator_size: 120,
        responder_size: 90,
        shared: 50,
        rules: 1,
        transport,
        link,
        batch_size: 32,
        label_bytes: 32,
        protocol: PsiProtocol::Ecdh,
    }
}

/// Counts every byte at the very bottom, beneath the link emulator, independently
/// of both the harness's counters and the session driver's.
struct RawCount<S> {
    inner: S,
    written: Arc<std::sync::atomic::AtomicU64>,
}

impl<S: AsyncRead + Unpin> AsyncRead for RawCount<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for RawCount<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = &mut *self;
        let poll = std::pin::Pin::new(&mut this.inner).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = &poll {
            this.written
                .fetch_add(*n as u64, std::sync::atomic::Ordering::Relaxed);
        }
        poll
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The byte counts the harness reports equal the bytes that really went into the
/// transport (counted beneath the emulator) and the session driver's own counts.
#[test]
fn reported_bytes_equal_bytes_written_to_the_transport() {
    let rt = runtime();
    for link in [
        LinkSpec::UNSHAPED,
        LinkSpec {
            bandwidth_bits_per_s: Some(50e6),
            latency: Duration::from_millis(2),
        },
    ] {
        let (ids_i, ids_r) = (SideIds::initiator(120), SideIds::responder(120, 90, 50));
        let (set_i, set_r) = (ids_i.prepare().unwrap(), ids_r.prepare().unwrap());
        let (reports, raw, link_counts, meters) = rt.block_on(async {
            let (a, b) = tokio::io::duplex(PIPE_CAPACITY);
            let raw = [Arc::default(), Arc::default()];
            let a = RawCount {
                inner: a,
                written: Arc::clone(&raw[0]),
            };
            let b = RawCount {
                inner: b,
                written: Arc::clone(&raw[1]),
            };
            let turns = Arc::new(Turns::default());
            let ([si, sr], gauges, _) = plain(a, b, &link, &turns);
            let mut params = SessionParams::new(
                Mode::Intersection,
                Reveal::Both,
                vec![ID_TYPE.into()],
                PROFILE.into(),
            );
            params.batch_size = 32;
            let options = SessionOptions::default();
            let (p2, o2) = (params.clone(), options.clone());
            let ti = tokio::spawn(async move {
                run_session(
                    si,
                    Role::Initiator,
                    &p2,
                    ecdh(set_i),
                    &o2,
                    ConnectionInfo::default(),
                )
                .await
            });
            let tr = tokio::spawn(async move {
                run_session(
                    sr,
                    Role::Responder,
                    &params,
                    ecdh(set_r),
                    &options,
                    ConnectionInfo::default(),
                )
                .await
            });
            let (ri, rr) = tokio::join!(ti, tr);
            (
                [ri.unwrap().unwrap(), rr.unwrap().unwrap()],
                raw,
                gauges.link.clone(),
                gauges.meter.clone(),
            )
        });
        for d in 0..2 {
            let into_transport = raw[d].load(std::sync::atomic::Ordering::Relaxed);
            assert!(
                into_transport > 90 * 32,
                "a whole set of points went each way"
            );
            assert_eq!(
                link_counts[d].written(),
                into_transport,
                "link wrapper, direction {d}"
            );
            assert_eq!(
                link_counts[1 - d].read(),
                into_transport,
                "delivered, direction {d}"
            );
            assert_eq!(
                meters[d].written(),
                into_transport,
                "frame meter, direction {d}"
            );
            assert_eq!(
                reports[d].traffic.bytes_sent, into_transport,
                "session driver, direction {d}"
            );
        }
    }
}

#[test]
fn a_repeat_measures_every_phase_and_checks_itself() {
    let rt = runtime();
    for (transport, mode) in [
        (TransportKind::Memory, Mode::Intersection),
        (TransportKind::Tcp, Mode::Cardinality),
        (TransportKind::Tls, Mode::Intersection),
    ] {
        let tls = TlsPair::generate().unwrap();
        let s = spec(transport, LinkSpec::UNSHAPED, mode);
        let sample = run_repeat(&s, &rt, Some(&tls)).unwrap();
        assert_eq!(sample.matched, 50);
        let [prepare, connect, handshake, exchange] = sample.phases;
        assert_eq!(prepare.wire, [0, 0]);
        assert_eq!(handshake.flights, 2);
        // Both learn: blinded, reblinded (to the first learner), its result, done.
        assert_eq!(exchange.flights, 4);
        // The points alone: 32 bytes per item each way.
        assert!(exchange.frames[0] > 120 * 32 && exchange.frames[1] > 90 * 32);
        let total: [u64; 2] = [
            sample.phases.iter().map(|p| p.frames[0]).sum(),
            sample.phases.iter().map(|p| p.frames[1]).sum(),
        ];
        assert_eq!(total, sample.session_bytes);
        match transport {
            TransportKind::Tls => {
                assert_eq!(connect.flights, 3, "TLS 1.3 with client certificates");
                assert!(connect.wire[0] > 0 && connect.wire[1] > 0);
                assert!(
                    exchange.wire[0] > exchange.frames[0],
                    "TLS adds record overhead"
                );
            }
            _ => {
                assert_eq!(connect.flights, 0);
                assert_eq!(connect.wire, [0, 0]);
                assert_eq!(exchange.wire, exchange.frames);
            }
        }
    }
}

/// Three rules are one session over three domain-separated subsets: three times the
/// items and matches, the floor for all of them, per-rule counts checked by the
/// harness itself.
#[test]
fn a_three_rule_repeat_holds_three_times_the_items() {
    let rt = runtime();
    for mode in [Mode::Intersection, Mode::Cardinality] {
        let s = RunSpec {
            rules: 3,
            ..spec(TransportKind::Memory, LinkSpec::UNSHAPED, mode)
        };
        let sample = run_repeat(&s, &rt, None).unwrap();
        assert_eq!(sample.matched, 3 * 50);
        assert_eq!(sample.floor.ops, FloorOps::for_sizes(3 * 120, 3 * 90));
        let [.., handshake, exchange] = sample.phases;
        assert_eq!((handshake.flights, exchange.flights), (2, 4));
        assert!(exchange.frames[0] > 3 * 120 * 32 && exchange.frames[1] > 3 * 90 * 32);
    }
}

/// Labelled mode with either side learning: the floor counts the labelled
/// operations, the learner's values are checked by the harness itself, the giver's
/// entries ride in the answered flight.
#[test]
fn a_labelled_repeat_checks_the_released_values() {
    let rt = runtime();
    for (reveal, learner_size, giver_size) in [
        (Reveal::Initiator, 120u64, 90u64),
        (Reveal::Responder, 90, 120),
    ] {
        let s = RunSpec {
            reveal,
            ..spec(TransportKind::Memory, LinkSpec::UNSHAPED, Mode::Labelled)
        };
        let sample = run_repeat(&s, &rt, None).unwrap();
        assert_eq!(sample.matched, 50);
        assert_eq!(
            sample.floor.ops,
            FloorOps::for_labelled(learner_size, giver_size, 50)
        );
        let [.., handshake, exchange] = sample.phases;
        assert_eq!((handshake.flights, exchange.flights), (2, 3));
        let entries =
            giver_size * crate::cmd::bench::labelled::entry_len(sample.comparison_len, 32);
        let (learner_dir, giver_dir) = match reveal {
            Reveal::Responder => (1, 0),
            _ => (0, 1),
        };
        assert!(exchange.frames[learner_dir] > learner_size * 32);
        assert!(exchange.frames[giver_dir] > learner_size * 32 + entries);
    }
}
