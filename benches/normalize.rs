//! Criterion benches for the blindmatch-token normalisers: one group per identifier
//! type, clean inputs (already normal, the common case) and messy inputs (full-width,
//! separators, prefixes, labels) side by side.
//!
//! `cargo bench --bench normalize`; throughput is values per second.

use std::hint::black_box;

use blindmatch_token::{CallingCode, EmailProviderRules, IdType, Profile};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const N: usize = 1024;

/// Deterministic pseudo-random numbers (no RNG dependency, same inputs every run).
fn lcg(seed: u64) -> impl Iterator<Item = u64> {
    let mut x = seed;
    std::iter::repeat_with(move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 16
    })
}

fn mobiles(seed: u64) -> Vec<String> {
    const PREFIXES: [u64; 8] = [130, 135, 138, 150, 166, 177, 186, 199];
    lcg(seed)
        .take(N)
        .map(|r| format!("{}{:08}", PREFIXES[(r % 8) as usize], r % 100_000_000))
        .collect()
}

fn messy_mobiles() -> Vec<String> {
    mobiles(2)
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let (a, b, c) = (&m[..3], &m[3..7], &m[7..]);
            match i % 6 {
                0 => format!("+86 {a} {b} {c}"),
                1 => format!("0086-{a}-{b}-{c}"),
                2 => format!("tel:+86-{a}-{b}-{c}"),
                3 => m
                    .chars()
                    .map(|ch| char::from_u32(ch as u32 + 0xFEE0).unwrap_or(ch))
                    .collect(),
                4 => format!("({a}) {b}.{c}"),
                _ => format!("86 {m}"),
            }
        })
        .collect()
}

fn emails(messy: bool) -> Vec<String> {
    const DOMAINS: [&str; 5] = [
        "example.com",
        "qq.com",
        "163.com",
        "gmail.com",
        "corp.example.cn",
    ];
    lcg(3)
        .take(N)
        .enumerate()
        .map(|(i, r)| {
            let d = DOMAINS[(r % 5) as usize];
            if !messy {
                format!("user.{r:x}@{d}")
            } else if i % 2 == 0 {
                format!("  User.{r:X}@{}  ", d.to_uppercase())
            } else {
                format!("ｕｓｅｒ{r:x}＠{d}")
            }
        })
        .collect()
}

fn uscc_codes(messy: bool) -> Vec<String> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let weights: Vec<u64> = (0..17)
        .scan(1u64, |w, _| {
            let cur = *w;
            *w = *w * 3 % 31;
            Some(cur)
        })
        .collect();
    lcg(4)
        .take(N)
        .map(|r| {
            let mut code: Vec<u8> = b"91".to_vec();
            code.extend(format!("{:06}", r % 1_000_000).bytes());
            let mut x = r;
            for _ in 0..9 {
                code.push(ALPHABET[(x % 31) as usize]);
                x /= 31;
            }
            let sum: u64 = code
                .iter()
                .zip(&weights)
                .map(|(c, w)| ALPHABET.iter().position(|a| a == c).unwrap_or(0) as u64 * w)
                .sum();
            code.push(ALPHABET[((31 - sum % 31) % 31) as usize]);
            let s = String::from_utf8(code).unwrap_or_default();
            if messy {
                format!("{}-{}", &s[..9], &s[9..]).to_lowercase()
            } else {
                s
            }
        })
        .collect()
}

fn id_numbers(messy: bool) -> Vec<String> {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    lcg(5)
        .take(N)
        .map(|r| {
            let first = format!(
                "110105{}{:02}{:02}{:03}",
                1950 + r % 60,
                1 + (r >> 8) % 12,
                1 + (r >> 16) % 28,
                (r >> 24) % 1000
            );
            let sum: u32 = first
                .bytes()
                .zip(W)
                .map(|(d, w)| u32::from(d - b'0') * w)
                .sum();
            let check = b"10X98765432"[(sum % 11) as usize] as char;
            let s = format!("{first}{check}");
            if messy {
                format!("{} {} {}", &s[..6], &s[6..14], &s[14..]).to_lowercase()
            } else {
                s
            }
        })
        .collect()
}

fn names(messy: bool) -> Vec<String> {
    const GIVEN: [&str; 6] = [
        "John Smith",
        "Mary Jones",
        "张伟",
        "王芳",
        "阿卜杜拉·买买提",
        "José Ñúñez",
    ];
    lcg(6)
        .take(N)
        .map(|r| {
            let n = GIVEN[(r % 6) as usize];
            if messy {
                format!(
                    "  {}  ",
                    n.to_uppercase().replace('·', "・").replace(' ', "\u{3000}")
                )
            } else {
                n.to_lowercase()
            }
        })
        .collect()
}

fn bench_type(c: &mut Criterion, profile: &Profile, t: IdType, label: &str, inputs: &[String]) {
    let mut g = c.benchmark_group(format!("normalize/{t}"));
    g.throughput(Throughput::Elements(inputs.len() as u64));
    let mut buf = String::with_capacity(64);
    // Sanity: the bench inputs are accepted, so we time the success path.
    let accepted = inputs
        .iter()
        .filter(|s| profile.normalize(t, s).is_ok())
        .count();
    assert_eq!(
        accepted,
        inputs.len(),
        "{t}/{label}: some bench inputs are rejected"
    );
    g.bench_function(label, |b| {
        b.iter(|| {
            for s in inputs {
                let _ = black_box(profile.normalize_into(t, black_box(s), &mut buf));
            }
        })
    });
    g.finish();
}

fn normalisers(c: &mut Criterion) {
    let std = Profile::standard();
    bench_type(c, &std, IdType::Phone, "clean", &mobiles(1));
    bench_type(c, &std, IdType::Phone, "messy", &messy_mobiles());
    let cn = Profile::standard().with_phone_default_region(Some(CallingCode::CN));
    // Shenzhen numbers: subscriber numbers start with 2-9.
    let landlines: Vec<String> = lcg(7)
        .take(N)
        .map(|r| format!("0755-{}{:07}", 2 + r % 8, (r >> 8) % 10_000_000))
        .collect();
    bench_type(c, &cn, IdType::Phone, "landline", &landlines);
    bench_type(c, &std, IdType::Email, "clean", &emails(false));
    bench_type(c, &std, IdType::Email, "messy", &emails(true));
    let gmail = Profile::standard().with_email_provider_rules(EmailProviderRules::Gmail);
    bench_type(c, &gmail, IdType::Email, "gmail-rules", &emails(false));
    bench_type(c, &std, IdType::Uscc, "clean", &uscc_codes(false));
    bench_type(c, &std, IdType::Uscc, "messy", &uscc_codes(true));
    bench_type(c, &std, IdType::CnId, "clean", &id_numbers(false));
    bench_type(c, &std, IdType::CnId, "messy", &id_numbers(true));
    bench_type(c, &std, IdType::Name, "clean", &names(false));
    bench_type(c, &std, IdType::Name, "messy", &names(true));
    bench_type(c, &std, IdType::Text, "mixed", &names(true));
    bench_type(c, &std, IdType::Raw, "mixed", &names(true));
}

criterion_group!(benches, normalisers);
criterion_main!(benches);
