//! `blindmatch bench` end to end: the real binary on small generated sets. The JSON
//! output parses and carries every field; its byte counts are the protocol's bytes;
//! the emulated link slows a run by what its bandwidth and latency imply (behaviour
//! with a tolerance, not a speed target); the plot is written atomically; bad
//! arguments are refused with a hint.

use std::time::Duration;

use serde_json::Value;

use crate::util::{run, run_in};

const STATS: [&str; 3] = ["median", "min", "max"];
const RUN_FIELDS: [&str; 32] = [
    "record",
    "mode",
    "protocol",
    "label_bytes",
    "reveal",
    "transport",
    "initiator_size",
    "responder_size",
    "rules",
    "rule_labels",
    "initiator_items",
    "responder_items",
    "elements",
    "overlap",
    "matched",
    "threads",
    "batch_size",
    "comparison_len",
    "repeats",
    "bandwidth_bits_per_s",
    "latency_s",
    "cpu_time_scope",
    "peak_rss_scope",
    "round_trip_definition",
    "session_bytes_i2r",
    "session_bytes_r2i",
    "per_identifier",
    "vs_single_rule",
    "vs_intersection",
    "vs_other_protocol",
    "floor",
    "phases",
];
const PHASES: [&str; 5] = ["prepare", "connect", "handshake", "exchange", "total"];
const PHASE_FIELDS: [&str; 19] = [
    "wall_s",
    "wall_vs_floor",
    "cpu_s",
    "cpu_vs_floor",
    "core_us_per_element",
    "core_us_per_element_vs_floor",
    "cpu_us_per_element",
    "cpu_us_per_element_vs_floor",
    "bytes_i2r",
    "bytes_r2i",
    "bytes_per_element",
    "bytes_vs_floor",
    "frame_bytes_i2r",
    "frame_bytes_r2i",
    "flights",
    "round_trips",
    "peak_rss_bytes",
    "peak_rss_delta_bytes",
    "peak_rss_delta_vs_floor",
];
const FLOOR_FIELDS: [&str; 8] = [
    "ops",
    "wall_s",
    "cpu_s",
    "core_us_per_element",
    "cpu_us_per_element",
    "payload_bytes_i2r",
    "payload_bytes_r2i",
    "state_bytes",
];

/// Runs `blindmatch bench ARGS --json` and parses every stdout line.
fn bench_json(args: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec!["bench", "--json", "--threads", "2"];
    all.extend_from_slice(args);
    let out = run_in(dir.path(), &all, None, Duration::from_secs(120));
    out.ok();
    out.stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn median(v: &Value, path: &[&str]) -> f64 {
    let mut at = v;
    for key in path {
        at = &at[*key];
    }
    at["median"]
        .as_f64()
        .unwrap_or_else(|| panic!("no median at {path:?} in {v}"))
}

fn phase(v: &Value, name: &str, field: &str) -> f64 {
    median(v, &["phases", name, field])
}

fn assert_stats(v: &Value, what: &str) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not a statistics object: {v}"));
    for s in STATS {
        assert!(obj[s].is_number(), "{what}.{s} missing in {v}");
    }
    let (lo, mid, hi) = (
        obj["min"].as_f64().unwrap(),
        obj["median"].as_f64().unwrap(),
        obj["max"].as_f64().unwrap(),
    );
    assert!(lo <= mid && mid <= hi, "{what}: {v}");
}

#[test]
fn json_lines_parse_and_carry_every_field() {
    let lines = bench_json(&[
        "--sizes",
        "300,2^9",
        "--mode",
        "intersection,cardinality",
        "--repeat",
        "2",
        "--batch-size",
        "128",
    ]);
    assert_eq!(lines.len(), 4, "one line per mode and size");
    for v in &lines {
        for field in RUN_FIELDS {
            assert!(v.get(field).is_some(), "{field} missing in {v}");
        }
        assert_eq!(v["record"], "blindmatch-bench/v1");
        assert_eq!(v["repeats"], 2);
        assert_eq!(v["transport"], "memory");
        let n = v["initiator_size"].as_u64().unwrap();
        assert_eq!(v["matched"].as_u64().unwrap(), n / 2, "overlap 0.5 found");
        for field in FLOOR_FIELDS {
            assert!(v["floor"].get(field).is_some(), "floor.{field} missing");
        }
        assert_eq!(v["floor"]["ops"]["scalar_mul"].as_u64().unwrap(), 4 * n);
        for p in PHASES {
            for field in PHASE_FIELDS {
                assert_stats(&v["phases"][p][field], &format!("{p}.{field}"));
            }
        }
        // The byte figures are the session driver's own, and in plaintext the bytes on
        // the transport are the frames.
        assert_eq!(
            phase(v, "total", "frame_bytes_i2r"),
            median(v, &["session_bytes_i2r"])
        );
        assert_eq!(
            phase(v, "total", "frame_bytes_r2i"),
            median(v, &["session_bytes_r2i"])
        );
        assert_eq!(
            phase(v, "total", "bytes_i2r"),
            phase(v, "total", "frame_bytes_i2r")
        );
        // The exchange is the protocol's bytes exactly: batches of 128 points with a
        // 9-byte header, comparison values (10-byte header per batch) for the
        // responder, who learns first (both learn, equal sizes), and one small Done.
        let batches = n.div_ceil(128) as f64;
        let width = v["comparison_len"].as_f64().unwrap();
        let points = batches * 9.0 + 32.0 * n as f64;
        let reblinded = batches * 10.0 + width * n as f64;
        let exchange = phase(v, "exchange", "frame_bytes_i2r");
        assert!(
            exchange > points + reblinded && exchange < points + reblinded + 64.0,
            "exchange bytes {exchange} against {points} + {reblinded}"
        );
        // The other way: the responder's points and its result for the initiator,
        // per batch a bitmap of the matched positions and nothing per match (10-byte
        // header), or one count (cardinality).
        let result = if v["mode"] == "cardinality" {
            10.0 + 4.0
        } else {
            let bitmaps: f64 = (0..n.div_ceil(128))
                .map(|b| (n - b * 128).min(128).div_ceil(8) as f64)
                .sum();
            batches * 10.0 + bitmaps
        };
        let exchange = phase(v, "exchange", "frame_bytes_r2i");
        assert!(
            exchange > points + result && exchange < points + result + 64.0,
            "exchange bytes {exchange} against {points} + {result}"
        );
        // Round trips: nothing in connect, hello+accept, blinded+reblinded+the
        // first learner's result+done.
        assert_eq!(phase(v, "connect", "flights"), 0.0);
        assert_eq!(phase(v, "handshake", "flights"), 2.0);
        assert_eq!(phase(v, "exchange", "flights"), 4.0);
        assert_eq!(phase(v, "total", "round_trips"), 3.0);
        assert!(phase(v, "total", "wall_s") > 0.0);
        assert!(phase(v, "exchange", "wall_vs_floor") > 0.0);
        assert!(phase(v, "total", "bytes_vs_floor") >= 1.0);
        assert!(phase(v, "total", "peak_rss_bytes") > 0.0);
    }
}

#[test]
fn tls_runs_count_the_tls_handshake_and_records() {
    let lines = bench_json(&["--sizes", "200", "--transport", "tls", "--repeat", "1"]);
    let v = &lines[0];
    assert_eq!(v["transport"], "tls");
    assert_eq!(
        phase(v, "connect", "flights"),
        3.0,
        "TLS 1.3 with client auth"
    );
    assert!(phase(v, "connect", "bytes_i2r") > 0.0 && phase(v, "connect", "bytes_r2i") > 0.0);
    assert_eq!(phase(v, "connect", "frame_bytes_i2r"), 0.0);
    assert!(phase(v, "exchange", "bytes_i2r") > phase(v, "exchange", "frame_bytes_i2r"));
    assert_eq!(
        phase(v, "total", "frame_bytes_i2r"),
        median(v, &["session_bytes_i2r"])
    );
    assert_eq!(phase(v, "total", "round_trips"), 4.5);
}

/// Bytes over a 1 Mbit/s link take at least bytes × 8 / 10^6 seconds (less the one-MTU
/// token bucket), and not much more than the unshaped run plus that.
#[test]
fn bandwidth_slows_a_run_by_what_the_bytes_need() {
    let args = ["--sizes", "2000", "--repeat", "1"];
    let base = &bench_json(&args)[0];
    let shaped = &bench_json(&[&args[..], &["--bandwidth", "1mbit"]].concat())[0];
    assert_eq!(shaped["bandwidth_bits_per_s"].as_f64(), Some(1e6));
    let rate = 1e6 / 8.0;
    let i2r = phase(shaped, "exchange", "bytes_i2r");
    let r2i = phase(shaped, "exchange", "bytes_r2i");
    let need = (i2r.max(r2i) - 1500.0) / rate;
    let took = phase(shaped, "exchange", "wall_s");
    assert!(need > 0.5, "enough bytes to measure: {need}");
    assert!(
        took >= need,
        "{took} s < {need} s for {i2r}/{r2i} bytes at 1 Mbit/s"
    );
    let ceiling = phase(base, "total", "wall_s") + (i2r + r2i) / rate + 1.5;
    assert!(
        phase(shaped, "total", "wall_s") <= ceiling,
        "{} s > {ceiling} s",
        phase(shaped, "total", "wall_s")
    );
}

/// Each sequential one-way flight waits for the added latency at least once.
#[test]
fn latency_adds_at_least_one_latency_per_flight() {
    let args = ["--sizes", "200", "--repeat", "1"];
    let base = &bench_json(&args)[0];
    let delayed = &bench_json(&[&args[..], &["--latency", "60ms"]].concat())[0];
    assert_eq!(delayed["latency_s"].as_f64(), Some(0.06));
    let flights = phase(delayed, "total", "flights");
    assert_eq!(flights, 6.0);
    assert_eq!(phase(delayed, "total", "round_trips"), 3.0);
    let took = phase(delayed, "total", "wall_s");
    assert!(took >= flights * 0.06, "{took} s < {flights} × 60 ms");
    assert!(phase(delayed, "handshake", "wall_s") >= 2.0 * 0.06);
    assert!(phase(delayed, "exchange", "wall_s") >= 4.0 * 0.06);
    let ceiling = phase(base, "total", "wall_s") + flights * 0.06 + 1.0;
    assert!(took <= ceiling, "{took} s > {ceiling} s");
}

#[test]
fn table_on_stdout_and_plot_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "bench",
        "--sizes",
        "100,200",
        "--repeat",
        "1",
        "--threads",
        "2",
        "--plot",
        "time.svg",
    ];
    let out = run(dir.path(), &args);
    out.ok();
    for needle in [
        "prepare",
        "exchange",
        "total",
        "floor",
        "×floor",
        "intersection",
    ] {
        assert!(
            out.stdout.contains(needle),
            "table lacks {needle}: {}",
            out.stdout
        );
    }
    let svg = std::fs::read_to_string(dir.path().join("time.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("primitive floor"));
    crate::util::assert_files(dir.path(), &["time.svg"]);

    // An existing plot is kept unless --force.
    run(dir.path(), &args)
        .code(2)
        .stderr_has("already exists")
        .stderr_has("hint:");
    let mut forced = args.to_vec();
    forced.push("--force");
    run(dir.path(), &forced).ok();
    crate::util::assert_files(dir.path(), &["time.svg"]);
}

#[test]
fn bad_arguments_are_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (&["bench", "--sizes", "0"][..], "at least one item"),
        (&["bench", "--sizes", "ten"][..], "not a set size"),
        (&["bench", "--overlap", "1.5"][..], "between 0 and 1"),
        (
            &["bench", "--bandwidth", "10furlongs"][..],
            "not a line rate",
        ),
        (&["bench", "--latency", "10"][..], "not a latency"),
        (
            &[
                "bench",
                "--mode",
                "intersection,labelled",
                "--reveal",
                "both",
            ][..],
            "exactly one learner",
        ),
        (
            &["bench", "--mode", "labelled", "--label-bytes", "0"][..],
            "--label-bytes must be within",
        ),
        (&["bench", "--mode", "labeled"][..], "invalid value"),
        (&["bench", "--rules", "0"][..], "not a rule count"),
        (&["bench", "--rules", "1,9"][..], "not a rule count"),
    ] {
        run(dir.path(), args).code(2).stderr_has(needle);
    }
    run(
        dir.path(),
        &["bench", "--sizes", "10,20", "--peer-sizes", "1,2,3"],
    )
    .code(2)
    .stderr_has("--peer-sizes has 3 entries")
    .stderr_has("hint:");
    run(dir.path(), &["bench", "--sizes", "2^29"])
        .code(2)
        .stderr_has("2^28");
    crate::util::assert_files(dir.path(), &[]);
}

/// `--rules 1,3`: the three-rule session is one session holding three times the
/// items (one subset per rule), its cost is reported per identifier, and it is set
/// beside three times the single-rule run measured in the same benchmark. Structure
/// and counts only: how fast it is, is for the benchmark to measure.
#[test]
fn several_rules_are_one_session_of_three_times_the_items() {
    let lines = bench_json(&[
        "--sizes",
        "200",
        "--peer-sizes",
        "150",
        "--rules",
        "3,1",
        "--repeat",
        "2",
        "--batch-size",
        "64",
    ]);
    assert_eq!(lines.len(), 2, "one line per rule count");
    let (one, three) = (&lines[0], &lines[1]);
    assert_eq!(one["rules"], 1, "the single-rule run goes first");
    assert_eq!(one["rule_labels"], serde_json::json!(["phone"]));
    assert!(one["vs_single_rule"].is_null());
    assert_eq!(three["rules"], 3);
    assert_eq!(
        three["rule_labels"],
        serde_json::json!(["phone", "email", "name+company"])
    );
    for (v, r) in [(one, 1), (three, 3)] {
        assert_eq!(v["initiator_size"], 200);
        assert_eq!(v["responder_size"], 150);
        assert_eq!(v["initiator_items"].as_u64().unwrap(), r * 200);
        assert_eq!(v["responder_items"].as_u64().unwrap(), r * 150);
        assert_eq!(v["elements"].as_u64().unwrap(), r * 350);
        assert_eq!(v["matched"].as_u64().unwrap(), r * 75, "overlap per rule");
        let ops = &v["floor"]["ops"];
        assert_eq!(ops["hash_to_group"].as_u64().unwrap(), r * 350);
        assert_eq!(ops["scalar_mul"].as_u64().unwrap(), 2 * r * 350);
        let per = &v["per_identifier"];
        assert_eq!(per["identifiers"].as_u64().unwrap(), r * 350);
        for field in ["wall_us", "core_us", "cpu_us", "bytes"] {
            assert_stats(&per[field], &format!("per_identifier.{field}"));
        }
        // Per identifier: the total over all items of all rules.
        let total_bytes = phase(v, "total", "bytes_i2r") + phase(v, "total", "bytes_r2i");
        let per_bytes = median(v, &["per_identifier", "bytes"]);
        assert!((per_bytes * (r * 350) as f64 - total_bytes).abs() < 1.0);
        // Every rule's points cross once each way: 32 bytes per item at least.
        assert!(phase(v, "exchange", "frame_bytes_i2r") >= (r * 200 * 32) as f64);
        assert!(phase(v, "exchange", "frame_bytes_r2i") >= (r * 150 * 32) as f64);
    }
    let c = &three["vs_single_rule"];
    assert_eq!(c["rules"], 3);
    let single = median(one, &["phases", "total", "wall_s"]);
    assert_eq!(c["single_rule_wall_s"].as_f64().unwrap(), single);
    assert!((c["sequential_wall_s"].as_f64().unwrap() - 3.0 * single).abs() < 1e-9);
    for field in [
        "wall_ratio",
        "cpu_ratio",
        "bytes_ratio",
        "exchange_wall_ratio",
    ] {
        assert!(c[field].as_f64().unwrap() > 0.0, "{field} in {c}");
    }
    // Three times the points: the bytes of one session are those of three, give or
    // take the handshake and framing.
    let bytes = c["bytes_ratio"].as_f64().unwrap();
    assert!((0.9..1.1).contains(&bytes), "{bytes}");

    // The table says the same in words; without 1 in the list it says how to compare.
    let dir = tempfile::tempdir().unwrap();
    let args = ["bench", "--sizes", "100", "--rules", "1,2", "--repeat", "1"];
    let out = run(dir.path(), &args);
    out.ok();
    assert!(
        out.stdout.contains("× 2 rules (phone, email)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("per identifier (400 = 2 rules"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("2 rules in one session vs 2 single-rule sessions"),
        "{}",
        out.stdout
    );
    let out = run(
        dir.path(),
        &["bench", "--sizes", "100", "--rules", "2", "--repeat", "1"],
    );
    out.ok();
    assert!(out.stdout.contains("add 1 to --rules"), "{}", out.stdout);
}

/// `--mode intersection,labelled`: the labelled run releases one `--label-bytes`
/// value per giver item to the one learner (the initiator by default, both modes then
/// measured with that one learner), its floor counts the labelled operations, its
/// bytes are the learner's points both ways plus one fixed-size entry per giver item,
/// and it is set beside the intersection run of the same sizes. Structure and counts
/// only, no timing.
#[test]
fn labelled_runs_are_compared_with_intersection() {
    let lines = bench_json(&[
        "--sizes",
        "200",
        "--peer-sizes",
        "150",
        "--mode",
        "labelled,intersection",
        "--label-bytes",
        "40",
        "--repeat",
        "2",
        "--batch-size",
        "64",
    ]);
    assert_eq!(lines.len(), 2, "one line per mode");
    let (inter, lab) = (&lines[0], &lines[1]);
    assert_eq!(inter["mode"], "intersection", "intersection goes first");
    assert_eq!(lab["mode"], "labelled");
    for v in [inter, lab] {
        assert_eq!(v["reveal"], "initiator", "one learner for both modes");
        assert_eq!(v["matched"].as_u64().unwrap(), 75);
        for field in RUN_FIELDS {
            assert!(v.get(field).is_some(), "{field} missing in {v}");
        }
        assert_stats(
            &v["phases"]["total"]["bytes_per_element"],
            "bytes_per_element",
        );
    }
    assert!(inter["label_bytes"].is_null() && inter["vs_intersection"].is_null());
    assert_eq!(lab["label_bytes"], 40);
    let ops = &lab["floor"]["ops"];
    // Learner 200 items (blind, evaluate, unblind), giver 150 (one each).
    assert_eq!(ops["scalar_mul"].as_u64().unwrap(), 3 * 200 + 150);
    assert_eq!(ops["decompress"].as_u64().unwrap(), 2 * 200);
    assert_eq!(ops["hkdf"].as_u64().unwrap(), 350);
    assert_eq!(ops["aead_seal"].as_u64().unwrap(), 150);
    assert_eq!(ops["aead_open"].as_u64().unwrap(), 75);
    assert_eq!(inter["floor"]["ops"]["hkdf"].as_u64().unwrap(), 0);
    // Entry: tag, 2-byte count, 16-byte handle, 2-byte length, 40 bytes, AEAD tag.
    let entry = lab["comparison_len"].as_u64().unwrap() + 2 + 16 + 2 + 40 + 16;
    assert_eq!(
        lab["floor"]["payload_bytes_r2i"].as_u64().unwrap(),
        32 * 200 + 150 * entry
    );
    assert_eq!(
        lab["floor"]["payload_bytes_i2r"].as_u64().unwrap(),
        32 * 200
    );
    let r2i = phase(lab, "exchange", "frame_bytes_r2i");
    assert!(r2i > (32 * 200 + 150 * entry) as f64 && r2i < (32 * 200 + 150 * entry + 400) as f64);
    assert_eq!(
        phase(lab, "exchange", "flights"),
        3.0,
        "entries add no flight"
    );
    let c = &lab["vs_intersection"];
    assert_eq!(c["against"], "intersection");
    assert_eq!(
        c["intersection_wall_s"].as_f64().unwrap(),
        median(inter, &["phases", "total", "wall_s"])
    );
    for field in [
        "wall_ratio",
        "cpu_ratio",
        "bytes_ratio",
        "exchange_wall_ratio",
    ] {
        assert!(c[field].as_f64().unwrap() > 0.0, "{field} in {c}");
    }
    let bytes = |v: &Value| phase(v, "total", "bytes_i2r") + phase(v, "total", "bytes_r2i");
    let ratio = c["bytes_ratio"].as_f64().unwrap();
    assert!((ratio - bytes(lab) / bytes(inter)).abs() < 1e-9);
    assert!(ratio > 1.0, "the entries cost bytes: {ratio}");

    // The table says it in words; with the responder learning, labelled alone, it
    // says how to compare.
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "bench",
        "--sizes",
        "100",
        "--mode",
        "intersection,labelled",
        "--repeat",
        "1",
    ];
    let out = run(dir.path(), &args);
    out.ok();
    for needle in [
        "labelled · 100 × 100 items",
        "one 32-byte value per matched row",
        "labelled vs intersection of the same sizes in this run",
        "ChaCha20-Poly1305 seals",
    ] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    let args = [
        "bench",
        "--sizes",
        "100",
        "--mode",
        "labelled",
        "--reveal",
        "responder",
        "--repeat",
        "1",
    ];
    let out = run(dir.path(), &args);
    out.ok();
    assert!(
        out.stdout.contains("the responder learns"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("add intersection to --mode"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_two_protocols_run_side_by_side() {
    let lines = bench_json(&[
        "--sizes",
        "600",
        "--protocol",
        "vole,ecdh",
        "--mode",
        "intersection,cardinality",
        "--repeat",
        "1",
    ]);
    // ECDH first in both modes.
    let runs: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["protocol"].as_str().unwrap(), l["mode"].as_str().unwrap()))
        .collect();
    assert_eq!(
        runs,
        [
            ("ecdh-ristretto255", "intersection"),
            ("vole-rr22-silent", "intersection"),
            ("ecdh-ristretto255", "cardinality"),
            ("vole-rr22-silent", "cardinality"),
        ]
    );
    // Cardinality: the same count, compared with the ECDH run of that mode.
    let (ecdh_card, vole_card) = (&lines[2], &lines[3]);
    assert_eq!(vole_card["matched"], ecdh_card["matched"]);
    assert_eq!(vole_card["matched"], 300);
    assert_eq!(
        vole_card["vs_other_protocol"]["against"],
        "ecdh-ristretto255"
    );
    for (dir, floor) in [
        ("frame_bytes_i2r", "payload_bytes_i2r"),
        ("frame_bytes_r2i", "payload_bytes_r2i"),
    ] {
        assert!(
            phase(vole_card, "exchange", dir) >= vole_card["floor"][floor].as_f64().unwrap(),
            "{dir}"
        );
    }
    // Start … masked, table, the shuffle's four, masks, counts and done.
    assert_eq!(phase(vole_card, "exchange", "flights"), 13.0);
    let (ecdh, vole) = (&lines[0], &lines[1]);
    assert_eq!(vole["matched"], ecdh["matched"]);
    assert_eq!(vole["matched"], 300);
    assert!(ecdh["vs_other_protocol"].is_null());
    let c = &vole["vs_other_protocol"];
    assert_eq!(c["against"], "ecdh-ristretto255");
    assert!(c["speedup"].as_f64().unwrap() > 0.0);
    let work = &vole["floor"]["ops"]["vole"];
    assert_eq!(work["base_ots"], 128);
    assert_eq!(work["item_hashes"], 1200);
    assert!(ecdh["floor"]["ops"].get("vole").is_none());
    // The frame bytes are at least the payload the protocol must send.
    for (dir, floor) in [
        ("frame_bytes_i2r", "payload_bytes_i2r"),
        ("frame_bytes_r2i", "payload_bytes_r2i"),
    ] {
        assert!(
            phase(vole, "exchange", dir) >= vole["floor"][floor].as_f64().unwrap(),
            "{dir}"
        );
    }
    // Start, choices, columns, trees, masked, outputs, matched and done: eight
    // one-way flights.
    assert_eq!(phase(vole, "exchange", "flights"), 8.0);
}

#[test]
fn vole_alone_does_not_run_labelled_mode() {
    let dir = tempfile::tempdir().unwrap();
    run(
        dir.path(),
        &[
            "bench",
            "--sizes",
            "100",
            "--protocol",
            "vole",
            "--mode",
            "labelled",
        ],
    )
    .code(2)
    .stderr_has("does not run labelled mode");
}
