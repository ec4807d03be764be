//! Chinese mainland numbers: the allocated mobile ranges, and the rules for mobiles
//! and landlines once the country code 86 is given or assumed.

use super::write_e164;
use crate::Rejection;

/// The identity of the Chinese mobile range table, mixed into the profile digest so
/// that partners with different tables notice.
pub const CN_MOBILE_TABLE: &str = "cn-mobile-2025-01";

/// Allocated 3-digit prefixes of 11-digit Chinese mainland mobile numbers (sorted).
///
/// Compiled from MIIT (工业和信息化部) number-range allocations; see
/// `docs/normalization.md` for which ranges are left out (13-digit IoT ranges,
/// unallocated ranges) and why.
pub const CN_MOBILE_PREFIXES: &[u16] = &[
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, //
    145, 147, 149, //
    150, 151, 152, 153, 155, 156, 157, 158, 159, //
    162, 165, 166, 167, //
    170, 171, 172, 173, 174, 175, 176, 177, 178, //
    180, 181, 182, 183, 184, 185, 186, 187, 188, 189, //
    190, 191, 192, 193, 195, 196, 197, 198, 199,
];

/// [`CN_MOBILE_PREFIXES`] as a bit set over 100..228 (bit `prefix - 100`).
const CN_MOBILE_BITS: u128 = {
    let mut bits = 0u128;
    let mut i = 0;
    while i < CN_MOBILE_PREFIXES.len() {
        bits |= 1 << (CN_MOBILE_PREFIXES[i] - 100);
        i += 1;
    }
    bits
};

/// A Chinese national significant number (trunk `0` tolerated): mobile or landline.
pub(super) fn cn_significant(nsn: &[u8], out: &mut String) -> Result<(), Rejection> {
    let nsn = nsn.strip_prefix(&[0]).unwrap_or(nsn);
    match nsn {
        [] => Err(Rejection::TooShort),
        [1, 0, ..] => cn_landline(nsn, out),
        [1, ..] => cn_mobile(nsn, out),
        _ => cn_landline(nsn, out),
    }
}

pub(super) fn cn_mobile(d: &[u8], out: &mut String) -> Result<(), Rejection> {
    match d.len() {
        0..=10 => return Err(Rejection::TooShort),
        11 => {}
        _ => return Err(Rejection::TooLong),
    }
    let prefix = d
        .iter()
        .take(3)
        .fold(0u16, |acc, &x| acc * 10 + u16::from(x));
    let allocated = prefix
        .checked_sub(100)
        .and_then(|bit| CN_MOBILE_BITS.checked_shr(u32::from(bit)))
        .is_some_and(|bits| bits & 1 == 1);
    if !allocated {
        return Err(Rejection::InvalidMobilePrefix);
    }
    write_e164(86, d, out);
    Ok(())
}

fn cn_landline(nsn: &[u8], out: &mut String) -> Result<(), Rejection> {
    let (area_len, subscriber_lens) = match nsn {
        [1, 0, ..] | [2, ..] => (2, 8..=8),
        [3..=9, ..] => (3, 7..=8),
        _ => return Err(Rejection::InvalidCnNumber),
    };
    let subscriber = nsn.get(area_len..).unwrap_or(&[]);
    let ok =
        subscriber_lens.contains(&subscriber.len()) && matches!(subscriber.first(), Some(2..=9));
    if !ok {
        return Err(Rejection::InvalidCnNumber);
    }
    write_e164(86, nsn, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_set_holds_exactly_the_table() {
        for prefix in 100..=199u16 {
            let d = [
                (prefix / 100) as u8,
                (prefix / 10 % 10) as u8,
                (prefix % 10) as u8,
                1,
                2,
                3,
                4,
                5,
                6,
                7,
                8,
            ];
            let mut out = String::new();
            assert_eq!(
                cn_mobile(&d, &mut out).is_ok(),
                CN_MOBILE_PREFIXES.binary_search(&prefix).is_ok(),
                "{prefix}"
            );
        }
    }

    #[test]
    fn table_is_sorted() {
        assert!(CN_MOBILE_PREFIXES.windows(2).all(|w| w[0] < w[1]));
    }
}
