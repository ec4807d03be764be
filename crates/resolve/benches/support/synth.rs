//! Synthetic multi-source customer data with known truth, for the bench and the
//! `synth` example: `customers` customers, each in `crm` with a valid phone and
//! e-mail; in `app` (70%) and `erp` (50%) with at least one of the two, written
//! with formatting noise (spaces and dashes in phones, upper case in e-mails),
//! plus empty and invalid cells where the other identifier still links.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// A small deterministic generator (PCG-style LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn phone(c: u64, noisy: bool) -> String {
    let digits = format!("139{:08}", c);
    if noisy {
        format!("+86 {}-{}-{}", &digits[..3], &digits[3..7], &digits[7..])
    } else {
        digits
    }
}

fn email(c: u64, upper: bool) -> String {
    let e = format!("customer.{c}@example.com");
    if upper { e.to_uppercase() } else { e }
}

/// Writes `crm.csv`, `app.csv` and `erp.csv` into `dir`; returns the number of
/// records and, per source in name order (app, crm, erp), the customer of each row.
pub(crate) fn write_sources(dir: &Path, customers: u64, seed: u64) -> (u64, Vec<Vec<u64>>) {
    let mut rng = Lcg(seed);
    let mut crm = String::from("id,mobile,mail,full_name,updated\n");
    let mut app = String::from("tel,email,nick\n");
    let mut erp = String::from("contact_phone,contact_email\n");
    let (mut t_app, mut t_crm, mut t_erp) = (Vec::new(), Vec::new(), Vec::new());
    for c in 0..customers {
        let _ = writeln!(
            crm,
            "C{c},{},{},Customer {c},2024-{:02}-01",
            phone(c, rng.chance(50)),
            email(c, rng.chance(30)),
            1 + c % 12
        );
        t_crm.push(c);
        if rng.chance(70) {
            // Phone, e-mail or both; the missing one empty or invalid.
            let (p, e) = match rng.next() % 4 {
                0 => (phone(c, true), String::new()),
                1 => ("12345".to_owned(), email(c, true)),
                _ => (phone(c, false), email(c, false)),
            };
            let _ = writeln!(app, "{p},{e},cust {c}");
            t_app.push(c);
        }
        if rng.chance(50) {
            let (p, e) = match rng.next() % 3 {
                0 => (String::new(), email(c, false)),
                1 => (phone(c, true), "not-an-address".to_owned()),
                _ => (phone(c, true), email(c, true)),
            };
            let _ = writeln!(erp, "{p},{e}");
            t_erp.push(c);
        }
    }
    for (name, content) in [("crm.csv", crm), ("app.csv", app), ("erp.csv", erp)] {
        fs::write(dir.join(name), content).expect("write a source file");
    }
    let records = (t_app.len() + t_crm.len() + t_erp.len()) as u64;
    (records, vec![t_app, t_crm, t_erp])
}
