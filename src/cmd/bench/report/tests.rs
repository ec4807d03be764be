//! The statistics, the floor ratios and the table, on made-up samples.

#![allow(clippy::unwrap_used)]
use std::time::Duration;

use super::*;
use crate::cmd::bench::floor::FloorSample;
use crate::cmd::bench::harness::TransportKind;

#[test]
fn stats_are_median_min_max() {
    let s = Stats::of([3.0, 1.0, 2.0].map(Some)).unwrap();
    assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
    let s = Stats::of([4.0, 1.0, 2.0, 10.0].map(Some)).unwrap();
    assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 10.0));
    assert_eq!(Stats::of([Some(1.0), None]), None);
    assert_eq!(Stats::of(Vec::<Option<f64>>::new()), None);
}

fn spec() -> RunSpec {
    RunSpec {
        mode: Mode::Intersection,
        reveal: Reveal::Initiator,
        initiator_size: 1000,
        responder_size: 500,
        shared: 250,
        rules: 1,
        transport: TransportKind::Memory,
        link: LinkSpec::UNSHAPED,
        batch_size: 4096,
        label_bytes: 32,
        protocol: PsiProtocol::Ecdh,
    }
}

fn sample(scale: u32) -> RepeatSample {
    let phase = |ms: u64, wire: [u64; 2], flights| PhaseSample {
        wall: Duration::from_millis(ms) * scale,
        cpu: Some(Duration::from_millis(2 * ms) * scale),
        wire,
        frames: wire,
        rss_start: Some(100 << 20),
        rss_peak: Some((100 << 20) + 48_000 * u64::from(scale)),
        flights,
    };
    RepeatSample {
        floor: FloorSample {
            wall: Duration::from_millis(100) * scale,
            cpu: Some(Duration::from_millis(200) * scale),
            ops: FloorOps::for_sizes(1000, 500),
        },
        phases: [
            phase(10, [0, 0], 0),
            phase(1, [0, 0], 0),
            phase(1, [300, 300], 2),
            phase(100, [33_000, 26_000], 3),
        ],
        session_bytes: [33_300, 26_300],
        comparison_len: 8,
        matched: 250,
    }
}

#[test]
fn figures_are_set_beside_the_floor() {
    let spec = spec();
    let setting = Setting {
        spec: &spec,
        threads: 2,
        overlap: 0.5,
        peak_per_phase: true,
    };
    let r = summarise(&setting, &[sample(1), sample(3), sample(2)]);
    let ex = &r.phases.exchange;
    // Exchange 100 ms × scale against a floor of 100 ms × scale: ratio 1 each time.
    assert_eq!(ex.wall_vs_floor.unwrap().median, 1.0);
    assert_eq!(ex.wall_s.unwrap().min, 0.1);
    assert_eq!(ex.wall_s.unwrap().max, 0.3);
    // 200 ms × 2 threads / 1500 elements = 266.67 core-µs at the median (scale 2).
    let core = ex.core_us_per_element.unwrap().median;
    assert!((core - 266.666).abs() < 0.01, "{core}");
    assert_eq!(ex.round_trips.unwrap().median, 1.5);
    // Payload: 32·1000 one way; 32·500 + 8·1000 the other (only the initiator learns).
    assert_eq!(r.floor.payload_bytes_i2r, 32_000);
    assert_eq!(r.floor.payload_bytes_r2i, 24_000);
    assert!((ex.bytes_vs_floor.unwrap().median - 59_000.0 / 56_000.0).abs() < 1e-9);
    assert_eq!(ex.bytes_per_element.unwrap().median, 59.0);
    let total = &r.phases.total;
    assert_eq!(total.flights.unwrap().median, 5.0);
    assert_eq!(total.wall_s.unwrap().median, 0.224);
    assert_eq!(r.floor.state_bytes, 48_000);
    assert_eq!(total.peak_rss_delta_vs_floor.unwrap().median, 2.0);
    let table = table(&r);
    for needle in ["exchange", "floor", "×floor", "intersection"] {
        assert!(table.contains(needle), "{table}");
    }
}

#[test]
fn labels() {
    assert_eq!(size_label(1 << 20), "2^20");
    assert_eq!(size_label(10_000), "10000");
    assert_eq!(fixed(0.012345), "0.0123");
    assert_eq!(fixed(123.456), "123");
    assert_eq!(si(1e8), "100 M");
    assert_eq!(
        link_label(&LinkSpec {
            bandwidth_bits_per_s: Some(1e8),
            latency: Duration::from_millis(10)
        }),
        "link 100 Mbit/s, 10.0 ms one-way"
    );
}

#[test]
fn the_payload_floor_follows_who_learns_first() {
    let one = spec();
    // Only the initiator learns: 32-byte points both ways, 8 bytes per initiator item
    // back.
    assert_eq!(payload(&one, 8), [32_000, 16_000 + 8_000]);
    // Both learn: the responder (500 items, fewer) gets the values back and sends the
    // initiator per batch a bitmap of its matched positions (1000 items: 125 bytes),
    // nothing per match.
    let both = RunSpec {
        reveal: Reveal::Both,
        ..spec()
    };
    assert_eq!(payload(&both, 8), [32_000 + 8 * 500, 16_000 + 125]);
    // The same at any overlap.
    for shared in [0, 500] {
        let other = RunSpec { shared, ..both };
        assert_eq!(payload(&other, 8), payload(&both, 8));
    }
    // Batches of 64: 15 full batches (8 bytes each) and one of 40 items (5 bytes).
    let batches = RunSpec {
        batch_size: 64,
        ..both
    };
    assert_eq!(payload(&batches, 8)[1], 16_000 + 15 * 8 + 5);
    // Cardinality: a 4-byte count per rule; with the initiator the smaller side, it
    // is the one that compares and sends them.
    let card = RunSpec {
        mode: Mode::Cardinality,
        initiator_size: 400,
        rules: 2,
        ..both
    };
    assert_eq!(
        payload(&card, 9),
        [2 * 32 * 400 + 8, 2 * 32 * 500 + 2 * 400 * 9]
    );
}
