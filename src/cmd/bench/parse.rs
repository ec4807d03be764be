//! The bench's argument parsers: set sizes, fractions, line rates and latencies.

use std::time::Duration;

/// Slowest emulated link.
const MIN_BANDWIDTH: f64 = 1e3;
/// Longest emulated one-way latency.
const MAX_LATENCY: Duration = Duration::from_secs(10);

/// Parses a set size: `10000`, `10_000`, `1e4`, `2.5e5` or `2^20`.
pub(super) fn parse_size(arg: &str) -> Result<u64, String> {
    let s = arg.trim().replace('_', "");
    let value = if let Some((base, exp)) = s.split_once('^') {
        base.parse::<u64>()
            .ok()
            .zip(exp.parse::<u32>().ok())
            .and_then(|(b, e)| b.checked_pow(e))
    } else if let Some((mantissa, exp)) = s.split_once(['e', 'E']) {
        mantissa
            .parse::<f64>()
            .ok()
            .zip(exp.parse::<i32>().ok())
            .map(|(m, e)| m * 10f64.powi(e))
            .filter(|v| v.is_finite() && *v >= 0.0 && v.fract() == 0.0 && *v <= 9e15)
            .map(|v| v as u64)
    } else {
        s.parse::<u64>().ok()
    };
    match value {
        Some(0) => Err(format!("'{arg}': a set needs at least one item")),
        Some(v) => Ok(v),
        None => Err(format!(
            "'{arg}' is not a set size; use e.g. 10000, 1e4 or 2^20"
        )),
    }
}

/// Parses a fraction within 0..=1.
pub(super) fn parse_fraction(arg: &str) -> Result<f64, String> {
    match arg.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("'{arg}' is not a fraction between 0 and 1")),
    }
}

/// Splits `12.5ms` into `(12.5, "ms")`.
fn number_and_unit(s: &str) -> Option<(f64, &str)> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: f64 = number.parse().ok()?;
    n.is_finite().then_some((n, unit.trim()))
}

/// Parses a line rate in bits per second: `100mbit`, `1gbit`, `500kbit`, `64000bit`
/// (also `mbps`-style and a `/s` suffix). SI prefixes: 1 mbit = 10^6 bits.
pub(super) fn parse_bandwidth(arg: &str) -> Result<f64, String> {
    let lower = arg.trim().to_ascii_lowercase();
    let s = lower.strip_suffix("/s").unwrap_or(&lower);
    let err = || format!("'{arg}' is not a line rate; use e.g. 100mbit, 1gbit or 500kbit");
    let (n, unit) = number_and_unit(s).ok_or_else(err)?;
    let scale = match unit {
        "bit" | "bps" => 1.0,
        "kbit" | "kbps" => 1e3,
        "mbit" | "mbps" => 1e6,
        "gbit" | "gbps" => 1e9,
        _ => return Err(err()),
    };
    let rate = n * scale;
    if rate < MIN_BANDWIDTH {
        return Err(format!("'{arg}': the slowest emulated link is 1kbit"));
    }
    Ok(rate)
}

/// Parses a one-way latency: `10ms`, `250us` (or `µs`), `0.5s`, or `0`.
pub(super) fn parse_latency(arg: &str) -> Result<Duration, String> {
    let s = arg.trim();
    let err = || format!("'{arg}' is not a latency; use e.g. 10ms, 250us or 0.5s");
    let (n, unit) = number_and_unit(s).ok_or_else(err)?;
    let secs = match unit {
        "" if n == 0.0 => 0.0,
        "s" => n,
        "ms" => n / 1e3,
        "us" | "µs" => n / 1e6,
        _ => return Err(err()),
    };
    let d = Duration::try_from_secs_f64(secs).map_err(|_| err())?;
    if d > MAX_LATENCY {
        return Err(format!("'{arg}': the longest emulated latency is 10s"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sizes_in_every_form() {
        assert_eq!(parse_size("10000"), Ok(10_000));
        assert_eq!(parse_size("10_000"), Ok(10_000));
        assert_eq!(parse_size("1e4"), Ok(10_000));
        assert_eq!(parse_size("2.5E5"), Ok(250_000));
        assert_eq!(parse_size("2^20"), Ok(1 << 20));
        for bad in ["0", "1.5", "1e-1", "2^", "x", "-3", "2^99", "1e40"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates_and_latencies() {
        assert_eq!(parse_bandwidth("100mbit"), Ok(1e8));
        assert_eq!(parse_bandwidth("1Gbit/s"), Ok(1e9));
        assert_eq!(parse_bandwidth("2.5mbps"), Ok(2.5e6));
        assert_eq!(parse_bandwidth("500kbit"), Ok(5e5));
        for bad in ["100", "100mb", "fast", "10bit", "mbit"] {
            assert!(parse_bandwidth(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_latency("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_latency("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_latency("0.5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_latency("0"), Ok(Duration::ZERO));
        for bad in ["10", "ten ms", "11s", "-1ms"] {
            assert!(parse_latency(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_fraction("0.5"), Ok(0.5));
        assert!(parse_fraction("1.5").is_err());
    }
}
