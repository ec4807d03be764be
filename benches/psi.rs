//! Criterion benches for blindmatch-psi: the primitives the protocol is made of
//! (hash-to-group, variable-base scalar multiplication, compression single and
//! batched, decompression) and the whole protocol, both parties in one process.
//!
//! `cargo bench --bench psi`; per-element figures: divide by the throughput shown.
//! The curve backend is chosen at build time (see docs/benchmarks.md).

use std::hint::black_box;

use blindmatch_psi::curve25519_dalek::Scalar;
use blindmatch_psi::curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use blindmatch_psi::hash::IdentifierHasher;
use blindmatch_psi::{Message, Mode, Party, PreparedSet, PsiError, Reveal, Role, SessionConfig};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sha2::{Digest, Sha512};

const CONTEXT: [u8; 32] = [0x5a; 32];

/// Deterministic pseudo-random points and a scalar, without an RNG dependency.
fn points(n: usize) -> Vec<RistrettoPoint> {
    (0..n as u64)
        .map(|i| {
            let wide: [u8; 64] = Sha512::digest(i.to_le_bytes()).into();
            RistrettoPoint::from_uniform_bytes(&wide)
        })
        .collect()
}

fn scalar() -> Scalar {
    let wide: [u8; 64] = Sha512::digest(b"bench scalar").into();
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn primitives(c: &mut Criterion) {
    let mut g = c.benchmark_group("psi/primitives");
    g.throughput(Throughput::Elements(1));
    let pts = points(1024);
    let k = scalar();
    // A normalised element, as a session hashes it (docs/protocol.md).
    let phone = b"+8613800138000";

    // The DST-dependent part is set up once per identifier type and session.
    let hasher = IdentifierHasher::new("phone", &CONTEXT).expect("a valid identifier type");
    g.bench_function("hash_to_group", |b| {
        b.iter(|| hasher.hash(black_box(phone)))
    });
    g.bench_function("scalar_mul", |b| {
        let p = pts[7];
        b.iter(|| black_box(k) * black_box(p))
    });
    g.bench_function("compress", |b| {
        let p = pts[9];
        b.iter(|| black_box(p).compress())
    });
    let encoded: Vec<CompressedRistretto> = pts.iter().map(RistrettoPoint::compress).collect();
    g.bench_function("decompress", |b| {
        let e = encoded[3];
        b.iter(|| black_box(e).decompress())
    });
    g.finish();

    let mut g = c.benchmark_group("psi/primitives");
    for n in [64usize, 1024] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(
            BenchmarkId::new("double_and_compress_batch", n),
            &n,
            |b, &n| b.iter(|| RistrettoPoint::double_and_compress_batch(black_box(&pts[..n]))),
        );
    }
    g.finish();
}

fn set(n: u64, offset: u64) -> PreparedSet {
    let mut s = PreparedSet::new();
    for i in 0..n {
        let v = format!("86{:011}", i + offset);
        s.push("phone", v.as_bytes(), i)
            .expect("bench items are valid");
    }
    s
}

/// Runs a session to the end with both parties in this thread.
fn run(mode: Mode, a: PreparedSet, b: PreparedSet) -> Result<(), PsiError> {
    let cfg = |role, local: &PreparedSet, peer: &PreparedSet| SessionConfig {
        role,
        mode,
        reveal: Reveal::Both,
        batch_size: blindmatch_psi::DEFAULT_BATCH_SIZE,
        context: CONTEXT,
        local_count: local.declared_size(),
        peer_count: peer.declared_size(),
        groups: Vec::new(),
        peer_params: Vec::new(),
    };
    let (ca, cb) = (cfg(Role::Initiator, &a, &b), cfg(Role::Responder, &b, &a));
    let mut pa = Party::new(ca, a)?;
    let mut pb = Party::new(cb, b)?;
    loop {
        let ma: Option<Message> = pa.poll_transmit();
        let mb = pb.poll_transmit();
        if ma.is_none() && mb.is_none() {
            break;
        }
        if let Some(m) = ma {
            pb.handle(m)?;
        }
        if let Some(m) = mb {
            pa.handle(m)?;
        }
    }
    black_box(pa.finish()?);
    black_box(pb.finish()?);
    Ok(())
}

fn protocol(c: &mut Criterion) {
    let mut g = c.benchmark_group("psi/protocol");
    g.sample_size(10);
    for log_n in [12u32, 14, 16] {
        let n = 1u64 << log_n;
        // Both sides' items: the work scales with 2n.
        g.throughput(Throughput::Elements(2 * n));
        for mode in [Mode::Intersection, Mode::Cardinality] {
            let name = format!("{mode:?}").to_lowercase();
            g.bench_with_input(BenchmarkId::new(name, format!("2^{log_n}")), &n, |b, &n| {
                // The sets are built outside the timing; an error must fail the bench,
                // not be timed as a fast no-op.
                b.iter_batched(
                    || (set(n, 0), set(n, n / 2)),
                    |(a, b)| run(mode, a, b).expect("the session completes"),
                    BatchSize::LargeInput,
                )
            });
        }
    }
    g.finish();
}

criterion_group!(benches, primitives, protocol);
criterion_main!(benches);
