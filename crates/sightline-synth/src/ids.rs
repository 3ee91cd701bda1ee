//! Identifiers: NHS numbers, postcodes, and opaque agency ids derived without any
//! lookup table so that memory does not grow with the region.

/// The 64-bit finaliser of MurmurHash3: a bijection on `u64`, so distinct inputs give
/// distinct outputs.
pub fn mix64(mut value: u64) -> u64 {
    value ^= value >> 33;
    value = value.wrapping_mul(0xff51_afd7_ed55_8ccd);
    value ^= value >> 33;
    value = value.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    value ^= value >> 33;
    value
}

/// A uniform draw in [0, 1) from a key: deterministic noise without an RNG.
pub fn unit_from_key(key: u64) -> f64 {
    (mix64(key ^ 0x9e37_79b9_7f4a_7c15) >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether ten digits (spaces allowed) form a valid NHS number, by the same rule
/// Sightline's intake applies.
pub fn nhs_number_valid(text: &str) -> bool {
    sightline_core::NhsNumber::parse(text).is_ok()
}

/// Person keys below this bound get distinct NHS numbers.
pub const NHS_KEY_SPACE: u64 = 60_000_000;
const NHS_MULTIPLIER: u64 = 48_271_007;

/// A valid NHS number (ten digits, no spaces), unique for each `person_index` below [`NHS_KEY_SPACE`]: an
/// affine permutation picks an eight-digit stem from 40,000,000 to 99,999,999, and the
/// ninth digit is chosen so that the check digit exists (at most one of the ten ninth
/// digits makes it 10, so one always works).
pub fn nhs_number(person_index: u64, region_key: u64) -> String {
    let stem = 40_000_000
        + (person_index.wrapping_mul(NHS_MULTIPLIER) + region_key % NHS_KEY_SPACE) % NHS_KEY_SPACE;
    let first_ninth = (mix64(person_index ^ region_key) % 10) as u8;
    let mut digits = [0u8; 9];
    let mut remaining = stem;
    for slot in digits[..8].iter_mut().rev() {
        *slot = (remaining % 10) as u8;
        remaining /= 10;
    }
    for offset in 0..10u8 {
        digits[8] = (first_ninth + offset) % 10;
        if let Some(check) = sightline_core::NhsNumber::check_digit(&digits) {
            return digits
                .iter()
                .chain(std::iter::once(&check))
                .map(|digit| char::from(b'0' + digit))
                .collect();
        }
    }
    // Unreachable by the argument above; a fixed valid number keeps the output valid.
    "9434765919".to_owned()
}

/// An NHS number written `943 476 5919`, as many systems display it.
pub fn nhs_spaced(digits: &str) -> String {
    if digits.len() != 10 {
        return digits.to_owned();
    }
    format!("{} {} {}", &digits[..3], &digits[3..6], &digits[6..])
}

/// Letters allowed in the inward code of a UK postcode.
pub const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

/// Whether `text` has the shape of a UK postcode: outward `A9`, `A99`, `AA9`, `AA99`,
/// `A9A` or `AA9A`, a space, inward `9AA`.
pub fn postcode_shape_valid(text: &str) -> bool {
    let Some((outward, inward)) = text.split_once(' ') else {
        return false;
    };
    let inward = inward.as_bytes();
    let inward_ok = inward.len() == 3
        && inward[0].is_ascii_digit()
        && INWARD_LETTERS.contains(&inward[1])
        && INWARD_LETTERS.contains(&inward[2]);
    let shape: String = outward
        .bytes()
        .map(|byte| {
            if byte.is_ascii_uppercase() {
                'A'
            } else if byte.is_ascii_digit() {
                '9'
            } else {
                '?'
            }
        })
        .collect();
    inward_ok
        && matches!(
            shape.as_str(),
            "A9" | "A99" | "AA9" | "AA99" | "A9A" | "AA9A"
        )
}

/// Base-36 text of a number, upper case, at least `width` characters.
pub fn base36(mut value: u64, width: usize) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut reversed = Vec::with_capacity(14);
    while value > 0 || reversed.len() < width {
        reversed.push(DIGITS[(value % 36) as usize]);
        value /= 36;
    }
    reversed
        .iter()
        .rev()
        .map(|byte| char::from(*byte))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_numbers_pass_the_check_and_are_unique() {
        assert!(nhs_number_valid("943 476 5919"));
        assert!(!nhs_number_valid("943 476 5918"));
        assert!(!nhs_number_valid("94347659"));
        let mut seen = std::collections::BTreeSet::new();
        for index in 0..20_000u64 {
            let number = nhs_number(index * 7, 12_345);
            assert!(nhs_number_valid(&number), "{number}");
            assert!(seen.insert(number));
        }
        assert!(nhs_number_valid(&nhs_number(NHS_KEY_SPACE - 1, u64::MAX)));
    }

    #[test]
    fn postcode_shapes() {
        for good in ["N17 6AA", "LS12 4AB", "W1A 1AA", "EC1A 1BB", "M1 1AE"] {
            assert!(postcode_shape_valid(good), "{good}");
        }
        for bad in ["N176AA", "LS12 4AC", "12 4AB", "LS12 AAB", "LSS12 4AB"] {
            assert!(!postcode_shape_valid(bad), "{bad}");
        }
    }

    #[test]
    fn mixing_is_spread() {
        assert_ne!(mix64(1), mix64(2));
        assert_eq!(base36(0, 4), "0000");
        assert_eq!(base36(35, 1), "Z");
        let draws: f64 = (0..10_000).map(unit_from_key).sum::<f64>() / 10_000.0;
        assert!((draws - 0.5).abs() < 0.02);
    }
}
