//! String similarity for normalised (ASCII) values.
//!
//! `strsim` is the reference implementation. Normalised values are ASCII and
//! short, so these functions run an allocation-free byte version for strings up
//! to 64 bytes (the hot path: millions of pairs) and fall back to `strsim`
//! otherwise; tests check both give the same answers.

/// Longest string handled on the stack.
const FAST_LEN_MAX: usize = 64;

/// Jaro-Winkler similarity (prefix scale 0.1, prefix up to 4, boost above 0.7),
/// identical to `strsim::jaro_winkler`.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    if !a.is_ascii() || !b.is_ascii() || ab.len() > FAST_LEN_MAX || bb.len() > FAST_LEN_MAX {
        return strsim::jaro_winkler(a, b);
    }
    let sim = jaro_bytes(ab, bb);
    if sim > 0.7 {
        let prefix = ab
            .iter()
            .zip(bb)
            .take(4)
            .take_while(|(x, y)| x == y)
            .count();
        sim + 0.1 * prefix as f64 * (1.0 - sim)
    } else {
        sim
    }
}

fn jaro_bytes(a: &[u8], b: &[u8]) -> f64 {
    let (a_len, b_len) = (a.len(), b.len());
    if a_len == 0 && b_len == 0 {
        return 1.0;
    }
    if a_len == 0 || b_len == 0 {
        return 0.0;
    }
    let search_range = (a_len.max(b_len) / 2).saturating_sub(1);
    let (mut a_flags, mut b_flags) = (0u64, 0u64);
    let mut matches = 0usize;
    for (i, a_byte) in a.iter().enumerate() {
        let low = i.saturating_sub(search_range);
        let high = b_len.min(i + search_range + 1);
        for j in low..high {
            if b_flags & (1 << j) == 0 && b.get(j) == Some(a_byte) {
                a_flags |= 1 << i;
                b_flags |= 1 << j;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut j = 0usize;
    for (i, a_byte) in a.iter().enumerate() {
        if a_flags & (1 << i) == 0 {
            continue;
        }
        while j < b_len && b_flags & (1 << j) == 0 {
            j += 1;
        }
        if b.get(j) != Some(a_byte) {
            transpositions += 1;
        }
        j += 1;
    }
    let transpositions = transpositions / 2;
    let m = matches as f64;
    (m / a_len as f64 + m / b_len as f64 + (matches - transpositions) as f64 / m) / 3.0
}

/// Damerau-Levenshtein distance in its optimal-string-alignment form,
/// identical to `strsim::osa_distance`.
pub fn osa_distance(a: &str, b: &str) -> usize {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    if !a.is_ascii() || !b.is_ascii() || ab.len() >= FAST_LEN_MAX || bb.len() >= FAST_LEN_MAX {
        return strsim::osa_distance(a, b);
    }
    let b_len = bb.len();
    if ab.is_empty() {
        return b_len;
    }
    if b_len == 0 {
        return ab.len();
    }
    // Three rolling rows of at most 64 + 1 cells; distances fit in a byte here.
    let mut prev_two = [0u8; FAST_LEN_MAX + 1];
    let mut prev = [0u8; FAST_LEN_MAX + 1];
    let mut curr = [0u8; FAST_LEN_MAX + 1];
    for (j, slot) in prev.iter_mut().enumerate().take(b_len + 1) {
        *slot = j as u8;
    }
    for i in 0..ab.len() {
        curr[0] = (i + 1) as u8;
        for j in 0..b_len {
            let cost = u8::from(ab[i] != bb[j]);
            let mut value = (prev[j] + cost).min(prev[j + 1] + 1).min(curr[j] + 1);
            if i > 0 && j > 0 && ab[i] == bb[j - 1] && ab[i - 1] == bb[j] {
                value = value.min(prev_two[j - 1] + 1);
            }
            curr[j + 1] = value;
        }
        std::mem::swap(&mut prev_two, &mut prev);
        std::mem::swap(&mut prev, &mut curr);
    }
    usize::from(prev[b_len])
}

/// The optimal-string-alignment distance of two byte strings when it is 0 or
/// 1 (one substitution, one adjacent transposition, one insertion or
/// deletion), else `None`; linear, no table.
fn osa_at_most_one(a: &[u8], b: &[u8]) -> Option<usize> {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let first = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        if first == short.len() {
            return Some(0);
        }
        let rest = |from: usize| short.get(from..) == long.get(from..);
        if rest(first + 1) {
            return Some(1);
        }
        let swapped =
            short.get(first) == long.get(first + 1) && short.get(first + 1) == long.get(first);
        return (swapped && rest(first + 2)).then_some(1);
    }
    (long.len() == short.len() + 1 && short.get(first..) == long.get(first + 1..)).then_some(1)
}

/// Bit set of the byte classes in a string (letters, digits, space, other),
/// used for a cheap upper bound on Jaro-Winkler.
pub fn char_mask(text: &str) -> u64 {
    text.bytes()
        .fold(0u64, |mask, byte| mask | (1u64 << char_class(byte)))
}

fn char_class(byte: u8) -> u32 {
    match byte {
        b'a'..=b'z' => u32::from(byte - b'a'),
        b'0'..=b'9' => 26 + u32::from(byte - b'0'),
        b' ' => 36,
        _ => 37,
    }
}

/// An upper bound on [`jaro_winkler`] from lengths and character classes:
/// Jaro matches need equal characters, so the matches are at most the
/// characters of each string whose class occurs in the other.
pub fn jaro_winkler_upper_bound(a: &str, a_mask: u64, b: &str, b_mask: u64) -> f64 {
    let (a_len, b_len) = (a.len(), b.len());
    if a_len == 0 || b_len == 0 || !a.is_ascii() || !b.is_ascii() {
        return 1.0;
    }
    let a_in_b = a
        .bytes()
        .filter(|byte| b_mask & (1u64 << char_class(*byte)) != 0)
        .count();
    let b_in_a = b
        .bytes()
        .filter(|byte| a_mask & (1u64 << char_class(*byte)) != 0)
        .count();
    let matches = a_in_b.min(b_in_a) as f64;
    let jaro = (matches / a_len as f64 + matches / b_len as f64 + 1.0) / 3.0;
    if jaro > 0.7 {
        jaro + 0.4 * (1.0 - jaro)
    } else {
        jaro
    }
}

/// True when the optimal-string-alignment distance is at most `max`.
pub fn osa_within(a: &str, b: &str, max: usize) -> bool {
    osa_capped(a, b, max).is_some()
}

/// The optimal-string-alignment distance when it is at most `max`, else
/// `None`; stops early once every cell of two consecutive rows exceeds it.
pub fn osa_capped(a: &str, b: &str, max: usize) -> Option<usize> {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    if ab.len().abs_diff(bb.len()) > max {
        return None;
    }
    if !a.is_ascii()
        || !b.is_ascii()
        || ab.len() >= FAST_LEN_MAX
        || bb.len() >= FAST_LEN_MAX
        || max > 200
    {
        let distance = strsim::osa_distance(a, b);
        return (distance <= max).then_some(distance);
    }
    if max <= 1 {
        return osa_at_most_one(ab, bb).filter(|distance| *distance <= max);
    }
    let b_len = bb.len();
    if ab.is_empty() || b_len == 0 {
        let distance = ab.len().max(b_len);
        return (distance <= max).then_some(distance);
    }
    let limit = max as u8;
    let mut prev_two = [0u8; FAST_LEN_MAX + 1];
    let mut prev = [0u8; FAST_LEN_MAX + 1];
    let mut curr = [0u8; FAST_LEN_MAX + 1];
    for (j, slot) in prev.iter_mut().enumerate().take(b_len + 1) {
        *slot = j as u8;
    }
    let mut prev_min = 0u8;
    for i in 0..ab.len() {
        curr[0] = (i + 1) as u8;
        let mut row_min = curr[0];
        for j in 0..b_len {
            let cost = u8::from(ab[i] != bb[j]);
            let mut value = (prev[j] + cost).min(prev[j + 1] + 1).min(curr[j] + 1);
            if i > 0 && j > 0 && ab[i] == bb[j - 1] && ab[i - 1] == bb[j] {
                value = value.min(prev_two[j - 1] + 1);
            }
            curr[j + 1] = value;
            row_min = row_min.min(value);
        }
        // Later rows are at least min(this row, previous row + 1).
        if row_min > limit && prev_min >= limit {
            return None;
        }
        prev_min = row_min;
        std::mem::swap(&mut prev_two, &mut prev);
        std::mem::swap(&mut prev, &mut curr);
    }
    let distance = prev[b_len];
    (distance <= limit).then_some(usize::from(distance))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn similarity_table() {
        let check = |a: &str, b: &str, jw: f64, osa: usize| {
            assert!(
                (jaro_winkler(a, b) - jw).abs() < 1e-3,
                "jw {a} {b} = {}",
                jaro_winkler(a, b)
            );
            assert_eq!(osa_distance(a, b), osa, "osa {a} {b}");
        };
        check("martha", "marhta", 0.961, 1);
        check("dwayne", "duane", 0.84, 2);
        check("smith", "smith", 1.0, 0);
        check("", "", 1.0, 0);
        check("abc", "", 0.0, 3);
        check("19151111", "19151111", 1.0, 0);
        check("ca", "abc", 0.0, 3);
    }

    proptest! {
        #[test]
        fn fast_paths_equal_strsim(a in "[a-e ]{0,12}", b in "[a-e ]{0,12}") {
            prop_assert!((jaro_winkler(&a, &b) - strsim::jaro_winkler(&a, &b)).abs() < 1e-12);
            prop_assert_eq!(osa_distance(&a, &b), strsim::osa_distance(&a, &b));
            for max in 0..4 {
                prop_assert_eq!(osa_within(&a, &b, max), strsim::osa_distance(&a, &b) <= max);
                let exact = strsim::osa_distance(&a, &b);
                prop_assert_eq!(osa_capped(&a, &b, max), (exact <= max).then_some(exact));
            }
            let bound = jaro_winkler_upper_bound(&a, char_mask(&a), &b, char_mask(&b));
            prop_assert!(bound + 1e-12 >= strsim::jaro_winkler(&a, &b) || a.is_empty() || b.is_empty());
        }

        #[test]
        fn near_strings_capped_equal_strsim(
            a in "[ab0-2]{0,10}",
            edits in proptest::collection::vec((0usize..4, 0usize..12, "[ab0-2]"), 0..3),
        ) {
            // b is a after a few substitutions, transpositions, insertions and
            // deletions, so distances 0, 1 and 2 all occur.
            let mut b: Vec<char> = a.chars().collect();
            for (op, at, ch) in &edits {
                let ch = ch.chars().next().unwrap_or('a');
                let at = (*at).min(b.len());
                match op {
                    0 if at < b.len() => b[at] = ch,
                    1 if at + 1 < b.len() => b.swap(at, at + 1),
                    2 => b.insert(at, ch),
                    _ if at < b.len() => { b.remove(at); }
                    _ => {}
                }
            }
            let b: String = b.into_iter().collect();
            let exact = strsim::osa_distance(&a, &b);
            for max in 0..3 {
                prop_assert_eq!(osa_capped(&a, &b, max), (exact <= max).then_some(exact), "{} {} {}", a, b, max);
            }
        }
    }
}
