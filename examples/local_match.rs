//! Both parties of a PSI session in one process, timed phase by phase.
//!
//! ```text
//! cargo run --release --example local_match -- [SIZE] [--threads N] [--batch N] [--mode intersection|cardinality]
//! ```
//!
//! SIZE is items per side (e.g. `65536` or `2^20`; default 2^16); the sides overlap by
//! 50%. Prints, per phase and in total, core-µs per element (wall time × threads ÷
//! items of both sides), compares the total with the sum of the primitive operations
//! every element needs (measured first, on one thread), and prints the wall time
//! (for the speed-up between thread counts) and, on Linux, the CPU time the run
//! really got: measure on an otherwise idle machine.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use blindmatch_psi::curve25519_dalek::Scalar;
use blindmatch_psi::curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use blindmatch_psi::hash::IdentifierHasher;
use blindmatch_psi::{
    DEFAULT_BATCH_SIZE, Message, Mode, Party, PreparedSet, PsiError, Reveal, Role, SessionConfig,
};
use sha2::{Digest, Sha512};

struct Args {
    size: u64,
    threads: usize,
    batch: u32,
    mode: Mode,
}

fn parse_size(s: &str) -> Option<u64> {
    match s.split_once('^') {
        Some(("2", e)) => e.parse::<u32>().ok().filter(|&e| e < 40).map(|e| 1u64 << e),
        Some(_) => None,
        None => s.parse().ok(),
    }
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        size: 1 << 16,
        threads: rayon::current_num_threads(),
        batch: DEFAULT_BATCH_SIZE,
        mode: Mode::Intersection,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--threads" => {
                args.threads = value("--threads")?
                    .parse()
                    .map_err(|_| "bad --threads".to_owned())?
            }
            "--batch" => {
                args.batch = value("--batch")?
                    .parse()
                    .map_err(|_| "bad --batch".to_owned())?
            }
            "--mode" => {
                args.mode = match value("--mode")?.as_str() {
                    "intersection" => Mode::Intersection,
                    "cardinality" => Mode::Cardinality,
                    other => return Err(format!("unknown mode {other}")),
                }
            }
            size => args.size = parse_size(size).ok_or(format!("bad size {size}"))?,
        }
    }
    Ok(args)
}

/// CPU time used so far by all threads of this process, from
/// `/proc/self/task/*/schedstat` (nanoseconds on CPU); `None` off Linux.
fn cpu_time() -> Option<Duration> {
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(entry.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

/// Wall and CPU time spent in some work. Per-phase figures use wall time × threads:
/// the kernel updates a running thread's CPU time only at scheduler ticks, which is
/// too coarse for one call. The CPU time of the whole run shows whether the threads
/// really had their cores (utilisation near 100% means the figures are clean).
#[derive(Default, Clone, Copy)]
struct Spent {
    wall: Duration,
    cpu: Option<Duration>,
}

impl Spent {
    fn measure<T>(f: impl FnOnce() -> T) -> (T, Spent) {
        let (w0, c0) = (Instant::now(), cpu_time());
        let out = f();
        let wall = w0.elapsed();
        let cpu = c0.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a));
        (out, Spent { wall, cpu })
    }

    fn add(&mut self, other: Spent) {
        self.wall += other.wall;
        self.cpu = self.cpu.zip(other.cpu).map(|(a, b)| a + b);
    }

    fn core(&self, threads: usize) -> Duration {
        self.wall * threads as u32
    }
}

/// Mean time per operation of `f` over `n` runs (single-threaded).
fn per_op(n: u32, mut f: impl FnMut(u32)) -> Duration {
    let start = Instant::now();
    for i in 0..n {
        f(i);
    }
    start.elapsed() / n
}

/// Single-thread cost of each primitive, in µs.
struct Primitives {
    hash_to_group: f64,
    scalar_mul: f64,
    compress_batched: f64,
    decompress: f64,
}

impl Primitives {
    fn measure() -> Result<Primitives, PsiError> {
        const N: u32 = 4096;
        let wide: [u8; 64] = Sha512::digest(b"local_match scalar").into();
        let k = Scalar::from_bytes_mod_order_wide(&wide);
        let values: Vec<String> = (0..N).map(|i| format!("86{i:011}")).collect();
        let context = [1u8; 32];
        let hasher = IdentifierHasher::new("phone", &context)?;
        let mut points = Vec::with_capacity(N as usize);
        let hash_to_group = per_op(N, |i| {
            points.push(hasher.hash(values[i as usize].as_bytes()))
        });
        let mut products = Vec::with_capacity(N as usize);
        let scalar_mul = per_op(N, |i| products.push(k * points[i as usize]));
        let start = Instant::now();
        let encoded: Vec<CompressedRistretto> = products
            .chunks(1024)
            .flat_map(RistrettoPoint::double_and_compress_batch)
            .collect();
        let compress_batched = start.elapsed() / N;
        let decompress = per_op(N, |i| {
            black_box(encoded[i as usize].decompress());
        });
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        Ok(Primitives {
            hash_to_group: us(hash_to_group),
            scalar_mul: us(scalar_mul),
            compress_batched: us(compress_batched),
            decompress: us(decompress),
        })
    }

    /// What each element of each side unavoidably costs: hashed once, multiplied twice
    /// (own blinding, peer's reblinding), compressed twice, decompressed once.
    fn per_element(&self) -> f64 {
        self.hash_to_group + 2.0 * self.scalar_mul + 2.0 * self.compress_batched + self.decompress
    }
}

#[derive(Default)]
struct Phases {
    prepare: Spent,
    start: Spent,
    blind_own: Spent,
    reblind_peer: Spent,
    responses: Spent,
    store_returned: Spent,
    finish: Spent,
}

fn timed<T>(slot: &mut Spent, f: impl FnOnce() -> T) -> T {
    let (out, spent) = Spent::measure(f);
    slot.add(spent);
    out
}

/// Moves one message from `from` to `to`, timing both ends; false if `from` had none.
fn step(from: &mut Party, to: &mut Party, ph: &mut Phases) -> Result<bool, PsiError> {
    let sent_before = from.progress().own_batches_sent;
    let (m, took) = Spent::measure(|| from.poll_transmit());
    let Some(m) = m else { return Ok(false) };
    if from.progress().own_batches_sent > sent_before {
        ph.blind_own.add(took);
    } else {
        ph.responses.add(took);
    }
    match m {
        Message::Blinded { .. } => timed(&mut ph.reblind_peer, || to.handle(m))?,
        Message::Reblinded { .. } | Message::Matches { .. } | Message::Counts { .. } => {
            timed(&mut ph.store_returned, || to.handle(m))?
        }
    }
    Ok(true)
}

fn run(args: &Args) -> Result<(Phases, u64, u64), PsiError> {
    let mut ph = Phases::default();
    let n = args.size;
    // Synthetic identifiers, made before the clock starts: reading and normalising
    // input is not part of the protocol.
    let values_a: Vec<String> = (0..n).map(|i| format!("86{i:011}")).collect();
    let values_b: Vec<String> = (0..n).map(|i| format!("86{:011}", i + n / 2)).collect();
    let (a, b) = timed(&mut ph.prepare, || {
        let a = PreparedSet::from_items(values_a.iter().zip(0..).map(|(v, i)| ("phone", v, i)))?;
        let b = PreparedSet::from_items(values_b.iter().zip(0..).map(|(v, i)| ("phone", v, i)))?;
        Ok::<_, PsiError>((a, b))
    })?;
    drop((values_a, values_b));
    let cfg = |role, local: &PreparedSet, peer: &PreparedSet| SessionConfig {
        role,
        mode: args.mode,
        reveal: Reveal::Both,
        batch_size: args.batch,
        context: [7u8; 32],
        local_count: local.declared_size(),
        peer_count: peer.declared_size(),
        groups: Vec::new(),
        peer_params: Vec::new(),
    };
    let (ca, cb) = (cfg(Role::Initiator, &a, &b), cfg(Role::Responder, &b, &a));
    let (mut pa, mut pb) = timed(&mut ph.start, || {
        Ok::<_, PsiError>((Party::new(ca, a)?, Party::new(cb, b)?))
    })?;

    // One message from each side in turn, as a network would interleave them.
    loop {
        let a_sent = step(&mut pa, &mut pb, &mut ph)?;
        let b_sent = step(&mut pb, &mut pa, &mut ph)?;
        if !a_sent && !b_sent {
            break;
        }
    }
    let (oa, ob) = timed(&mut ph.finish, || {
        Ok::<_, PsiError>((pa.finish()?, pb.finish()?))
    })?;
    Ok((
        ph,
        oa.matched_count().unwrap_or(0),
        ob.matched_count().unwrap_or(0),
    ))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!(
                "usage: local_match [SIZE] [--threads N] [--batch N] [--mode intersection|cardinality]"
            );
            return ExitCode::from(2);
        }
    };
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: thread pool: {e}");
            return ExitCode::FAILURE;
        }
    };
    let prim = match Primitives::measure() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (result, total) = Spent::measure(|| pool.install(|| run(&args)));
    let (ph, ma, mb) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };

    let elements = 2.0 * args.size as f64;
    let core_us = |s: Spent| s.core(args.threads).as_secs_f64() * 1e6 / elements;
    println!(
        "items per side: {} ({} overlap), mode: {:?}, batch: {}, threads: {}",
        args.size,
        args.size - args.size / 2,
        args.mode,
        args.batch,
        args.threads
    );
    println!("matched: initiator {ma}, responder {mb}");
    println!(
        "primitives, 1 thread, µs each: hash_to_group {:.2}, scalar_mul {:.2}, compress (batched) {:.2}, decompress {:.2}",
        prim.hash_to_group, prim.scalar_mul, prim.compress_batched, prim.decompress
    );
    println!(
        "primitive sum per element (h2g + 2 mul + 2 compress + decompress): {:.2} µs",
        prim.per_element()
    );
    println!("phase                          core-µs/element");
    for (name, d) in [
        ("prepare sets (de-duplicate)", ph.prepare),
        ("start parties (secret order)", ph.start),
        ("hash + blind own batches", ph.blind_own),
        ("decompress + reblind peer", ph.reblind_peer),
        // Both learn: the first learner compares while handing out its result.
        ("queued responses, result", ph.responses),
        ("store returned values, result", ph.store_returned),
        ("finish (sort, compare, IDs)", ph.finish),
    ] {
        println!("  {name:<29}{:>10.2}", core_us(d));
    }
    let total_core = core_us(total);
    println!("  {:<29}{:>10.2}", "total", total_core);
    print!("wall time: {:.3} s", total.wall.as_secs_f64());
    if let Some(cpu) = total.cpu {
        print!(
            "; CPU time {:.3} s = {:.0}% of {} thread(s)",
            cpu.as_secs_f64(),
            100.0 * cpu.as_secs_f64() / (total.wall.as_secs_f64() * args.threads as f64),
            args.threads
        );
    }
    println!();
    println!(
        "ratio total / primitive sum: {:.3}",
        total_core / prim.per_element()
    );
    ExitCode::SUCCESS
}
