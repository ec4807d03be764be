//! Criterion benches for blindmatch-token tokens: the HMAC per value (one by one and
//! batched), the text form, a whole row of the `tokenize` hot loop (normalise a phone
//! and an e-mail, write two tokens; one by one and as the command does it, in
//! groups), and short codes with the collision registry.
//!
//! `cargo bench --bench tokenize`; throughput is values (or rows) per second.

use std::hint::black_box;

use blindmatch_token::{IdType, Key, Profile, ShortCodeRegistry, ShortCoder, Tokenizer};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sha2::{Digest, Sha256};

const N: usize = 1024;

fn rows() -> Vec<(String, String)> {
    let mut x: u64 = 1;
    (0..N)
        .map(|i| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = x >> 16;
            let phone = if i % 4 == 0 {
                format!("+86 138 {:04} {:04}", r % 10_000, (r >> 20) % 10_000)
            } else {
                format!("13{}{:08}", r % 10, (r >> 8) % 100_000_000)
            };
            let email = format!("customer.{:x}@example.com", r % 10_000_000);
            (phone, email)
        })
        .collect()
}

fn tokens(c: &mut Criterion) {
    let key = Key::from_bytes([7; 32]);
    let tokenizer = Tokenizer::new(&key);
    let profile = Profile::standard();
    let rows = rows();
    let phones: Vec<String> = rows
        .iter()
        .filter_map(|(p, _)| profile.normalize(IdType::Phone, p).ok())
        .collect();
    let emails: Vec<String> = rows
        .iter()
        .filter_map(|(_, e)| profile.normalize(IdType::Email, e).ok())
        .collect();
    assert_eq!((phones.len(), emails.len()), (N, N));

    let mut g = c.benchmark_group("tokenize/setup");
    g.throughput(Throughput::Elements(1));
    g.bench_function("new-tokenizer", |b| {
        b.iter(|| black_box(Tokenizer::new(black_box(&key))))
    });
    // The floor for one token: HMAC-SHA256 of a short message is two compressions.
    g.bench_function("sha256-one-block", |b| {
        b.iter(|| black_box(Sha256::digest(black_box([0x61u8; 55]))))
    });
    g.finish();

    let mut g = c.benchmark_group("tokenize");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("mac/phone", |b| {
        b.iter(|| {
            for v in &phones {
                black_box(tokenizer.mac(IdType::Phone, black_box(v.as_bytes())));
            }
        })
    });
    // As `blindmatch tokenize` computes them: many values at once, so that the
    // SHA-256 compressions of independent values overlap.
    g.bench_function("macs/phone", |b| {
        let mut macs = Vec::with_capacity(N);
        b.iter(|| {
            macs.clear();
            tokenizer.macs(
                phones
                    .iter()
                    .map(|v| (IdType::Phone, black_box(v.as_bytes()))),
                &mut macs,
            );
            black_box(&macs);
        })
    });
    g.bench_function("macs/email", |b| {
        let mut macs = Vec::with_capacity(N);
        b.iter(|| {
            macs.clear();
            tokenizer.macs(
                emails
                    .iter()
                    .map(|v| (IdType::Email, black_box(v.as_bytes()))),
                &mut macs,
            );
            black_box(&macs);
        })
    });
    g.bench_function("text-of-mac", |b| {
        let mut macs = Vec::with_capacity(N);
        tokenizer.macs(
            phones.iter().map(|v| (IdType::Phone, v.as_bytes())),
            &mut macs,
        );
        let mut out = Vec::with_capacity(64 * N);
        b.iter(|| {
            out.clear();
            for mac in &macs {
                tokenizer.write_mac_text(black_box(mac), &mut out);
            }
            black_box(&out);
        })
    });
    g.bench_function("text/phone", |b| {
        let mut out = String::with_capacity(128);
        b.iter(|| {
            for v in &phones {
                out.clear();
                tokenizer.write_token(IdType::Phone, black_box(v.as_bytes()), &mut out);
                black_box(&out);
            }
        })
    });
    g.bench_function("text/email", |b| {
        let mut out = String::with_capacity(128);
        b.iter(|| {
            for v in &emails {
                out.clear();
                tokenizer.write_token(IdType::Email, black_box(v.as_bytes()), &mut out);
                black_box(&out);
            }
        })
    });
    // The per-row work of `blindmatch tokenize --column phone:phone --column email:email`
    // without CSV I/O: the target is well under 1 µs per row.
    g.bench_function("row/phone+email", |b| {
        let mut norm = String::with_capacity(64);
        let mut out = String::with_capacity(160);
        b.iter(|| {
            for (p, e) in &rows {
                out.clear();
                if profile
                    .normalize_into(IdType::Phone, black_box(p), &mut norm)
                    .is_ok()
                {
                    tokenizer.write_token(IdType::Phone, norm.as_bytes(), &mut out);
                }
                out.push(',');
                if profile
                    .normalize_into(IdType::Email, black_box(e), &mut norm)
                    .is_ok()
                {
                    tokenizer.write_token(IdType::Email, norm.as_bytes(), &mut out);
                }
                black_box(&out);
            }
        })
    });
    // The same row work as the command does it: a group of rows normalised into one
    // buffer, their MACs computed together, then the tokens written.
    g.bench_function("rows-grouped/phone+email", |b| {
        let mut values = String::with_capacity(64 * 64);
        let mut cells: Vec<(IdType, std::ops::Range<usize>)> = Vec::with_capacity(128);
        let mut macs = Vec::with_capacity(128);
        let mut out = Vec::with_capacity(160 * 64);
        b.iter(|| {
            for group in rows.chunks(64) {
                values.clear();
                cells.clear();
                for (p, e) in group {
                    for (t, v) in [(IdType::Phone, p), (IdType::Email, e)] {
                        let start = values.len();
                        if profile
                            .normalize_append(t, black_box(v), &mut values)
                            .is_ok()
                        {
                            cells.push((t, start..values.len()));
                        } else {
                            values.truncate(start);
                        }
                    }
                }
                macs.clear();
                tokenizer.macs(
                    cells
                        .iter()
                        .map(|(t, r)| (*t, values.as_bytes().get(r.clone()).unwrap_or_default())),
                    &mut macs,
                );
                out.clear();
                for (i, mac) in macs.iter().enumerate() {
                    tokenizer.write_mac_text(mac, &mut out);
                    out.push(if i % 2 == 0 { b',' } else { b'\n' });
                }
                black_box(&out);
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("short-code");
    g.throughput(Throughput::Elements(N as u64));
    let coder = ShortCoder::new(&key, ShortCoder::DEFAULT_LEN).unwrap_or_else(|e| panic!("{e}"));
    g.bench_function("derive", |b| {
        b.iter(|| {
            for v in &phones {
                black_box(coder.derive(IdType::Phone, black_box(v.as_bytes())));
            }
        })
    });
    g.bench_function("derive+registry", |b| {
        b.iter(|| {
            let mut reg = ShortCodeRegistry::new();
            for (i, v) in phones.iter().enumerate() {
                let d = coder.derive(IdType::Phone, v.as_bytes());
                let _ = black_box(reg.insert(&d, i as u64));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, tokens);
criterion_main!(benches);
