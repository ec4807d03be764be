//! Country calling codes: the ITU-T assigned list, the lookup that splits a code off
//! the front of a number, and [`CallingCode`], a profile's default region.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Rejection};

/// ITU-T E.164 assigned country calling codes (sorted). The set is prefix-free, so a
/// number's country code is found by trying 1, 2 and 3 leading digits.
const ASSIGNED_CALLING_CODES: &[u16] = &[
    1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54,
    55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98, 211,
    212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234,
    235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253,
    254, 255, 256, 257, 258, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290, 291, 297, 298,
    299, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374, 375, 376, 377,
    378, 379, 380, 381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 500, 501, 502, 503, 504, 505,
    506, 507, 508, 509, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599, 670, 672, 673, 674, 675,
    676, 677, 678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 800, 808, 850,
    852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888, 960, 961, 962, 963, 964, 965, 966,
    967, 968, 970, 971, 972, 973, 974, 975, 976, 977, 979, 992, 993, 994, 995, 996, 998,
];

/// An ITU-T assigned country calling code, used as a profile's default region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallingCode(u16);

impl CallingCode {
    /// China's calling code, 86.
    pub const CN: CallingCode = CallingCode(86);

    /// Checks that `code` is an assigned country calling code.
    ///
    /// # Errors
    /// [`Error::InvalidCallingCode`] if ITU-T has not assigned it.
    pub fn new(code: u16) -> Result<CallingCode, Error> {
        if is_assigned(code) {
            Ok(CallingCode(code))
        } else {
            Err(Error::InvalidCallingCode {
                given: code.to_string(),
            })
        }
    }

    /// The code as a number, e.g. `86`.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for CallingCode {
    /// Writes the digits without `+`, e.g. `86`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for CallingCode {
    type Err = Error;

    /// Parses `86` or `+86`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.trim().strip_prefix('+').unwrap_or(s.trim());
        let bad = || Error::InvalidCallingCode {
            given: crate::error::clip(s),
        };
        if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let code: u16 = digits.parse().map_err(|_| bad())?;
        if digits.starts_with('0') || !is_assigned(code) {
            return Err(bad());
        }
        Ok(CallingCode(code))
    }
}

/// [`ASSIGNED_CALLING_CODES`] as a bit set over 0..1024, for a lookup without a search.
static ASSIGNED_BITS: [u64; 16] = {
    let mut bits = [0u64; 16];
    let mut i = 0;
    while i < ASSIGNED_CALLING_CODES.len() {
        let code = ASSIGNED_CALLING_CODES[i] as usize;
        bits[code / 64] |= 1 << (code % 64);
        i += 1;
    }
    bits
};

pub(super) fn is_assigned(code: u16) -> bool {
    let code = usize::from(code);
    ASSIGNED_BITS
        .get(code / 64)
        .is_some_and(|word| word >> (code % 64) & 1 == 1)
}

pub(super) fn split_calling_code(d: &[u8]) -> Result<(u16, &[u8]), Rejection> {
    let mut cc: u16 = 0;
    for (i, &digit) in d.iter().take(3).enumerate() {
        cc = cc * 10 + u16::from(digit);
        if is_assigned(cc) {
            let rest = d.get(i + 1..).unwrap_or(&[]);
            return Ok((cc, rest));
        }
    }
    if d.len() < 3 {
        Err(Rejection::TooShort)
    } else {
        Err(Rejection::InvalidCountryCode)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bit_set_holds_exactly_the_table() {
        for code in 0..2000u16 {
            assert_eq!(
                is_assigned(code),
                ASSIGNED_CALLING_CODES.binary_search(&code).is_ok(),
                "{code}"
            );
        }
    }

    #[test]
    fn table_is_sorted_and_prefix_free() {
        assert!(ASSIGNED_CALLING_CODES.windows(2).all(|w| w[0] < w[1]));
        for &a in ASSIGNED_CALLING_CODES {
            for &b in ASSIGNED_CALLING_CODES {
                let (sa, sb) = (a.to_string(), b.to_string());
                assert!(a == b || !sb.starts_with(&sa), "{a} is a prefix of {b}");
            }
        }
    }

    #[test]
    fn calling_code_parsing() {
        assert_eq!("86".parse::<CallingCode>().unwrap(), CallingCode::CN);
        assert_eq!("+86".parse::<CallingCode>().unwrap(), CallingCode::CN);
        assert!("086".parse::<CallingCode>().is_err());
        assert!("28".parse::<CallingCode>().is_err());
        assert!("".parse::<CallingCode>().is_err());
        assert!(CallingCode::new(999).is_err());
        assert_eq!(CallingCode::new(852).unwrap().to_string(), "852");
    }
}
