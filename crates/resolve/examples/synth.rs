//! Writes synthetic sources for `blindmatch resolve` (benchmarks, demos):
//! `cargo run --release -p blindmatch-resolve --example synth -- DIR CUSTOMERS`
//! writes DIR/crm.csv, DIR/app.csv and DIR/erp.csv (about 2.2 records per
//! customer). See `docs/benchmarks.md` for the resolve figures.

#[path = "../benches/support/synth.rs"]
mod synth;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| ".".to_owned());
    let customers: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(450_000);
    let (records, _) = synth::write_sources(std::path::Path::new(&dir), customers, 7);
    println!("{records} records for {customers} customers in {dir}/{{crm,app,erp}}.csv");
}
