//! Frequency-weighted name lists (shipped in `data/`), nicknames and typing errors.

use std::collections::BTreeMap;

use rand::Rng as _;

use crate::Rng;
use crate::ids::unit_from_key;

/// A list of names drawn with weights falling with popularity rank (a Zipf-like
/// curve, exponent 0.85): rough, but the shape of real name frequencies.
pub struct WeightedNames {
    names: Vec<&'static str>,
    cumulative: Vec<f64>,
}

impl WeightedNames {
    fn from_list(text: &'static str) -> WeightedNames {
        let names: Vec<&'static str> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect();
        let mut total = 0.0;
        let cumulative = (0..names.len())
            .map(|rank| {
                total += 1.0 / (rank as f64 + 3.0).powf(0.85);
                total
            })
            .collect();
        WeightedNames { names, cumulative }
    }

    /// One name, more popular names more often.
    pub fn draw(&self, rng: &mut Rng) -> &'static str {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let target = rng.random::<f64>() * total;
        let index = self.cumulative.partition_point(|value| *value <= target);
        self.names
            .get(index.min(self.names.len().saturating_sub(1)))
            .copied()
            .unwrap_or("Alex")
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.names.len()
    }

    #[cfg(test)]
    pub fn all(&self) -> &[&'static str] {
        &self.names
    }
}

/// All the name lists of the region.
pub struct Names {
    pub female_adult: WeightedNames,
    pub female_child: WeightedNames,
    pub male_adult: WeightedNames,
    pub male_child: WeightedNames,
    pub surnames: WeightedNames,
    pub streets: WeightedNames,
    pub towns: Vec<&'static str>,
    nicknames: BTreeMap<&'static str, Vec<&'static str>>,
}

impl Names {
    pub fn load() -> Names {
        let mut nicknames = BTreeMap::new();
        for line in include_str!("../data/nicknames.txt").lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some((name, shorts)) = line.split_once(' ') {
                nicknames.insert(name, shorts.split(',').map(str::trim).collect());
            }
        }
        let towns = WeightedNames::from_list(include_str!("../data/towns.txt")).names;
        Names {
            female_adult: WeightedNames::from_list(include_str!("../data/given_female_adult.txt")),
            female_child: WeightedNames::from_list(include_str!("../data/given_female_child.txt")),
            male_adult: WeightedNames::from_list(include_str!("../data/given_male_adult.txt")),
            male_child: WeightedNames::from_list(include_str!("../data/given_male_child.txt")),
            surnames: WeightedNames::from_list(include_str!("../data/surnames.txt")),
            streets: WeightedNames::from_list(include_str!("../data/streets.txt")),
            towns,
            nicknames,
        }
    }

    /// A short form of `given`, chosen by `key`, or `None` when it has none.
    pub fn nickname(&self, given: &str, key: u64) -> Option<&'static str> {
        let shorts = self.nicknames.get(given)?;
        if shorts.is_empty() {
            return None;
        }
        shorts.get((key % shorts.len() as u64) as usize).copied()
    }
}

/// One typing error in `text`, chosen by `key`: a dropped, doubled, swapped or
/// replaced letter. Text of fewer than three characters is left alone.
pub fn typo(text: &str, key: u64) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < 3 {
        return text.to_owned();
    }
    // Keep the first letter: clerks rarely mistype it and it is what people search by.
    let position = 1 + (key % (chars.len() as u64 - 1)) as usize;
    let mut out = chars.clone();
    match (key >> 8) % 4 {
        0 => {
            out.remove(position);
        }
        1 => out.insert(position, chars[position]),
        2 if position + 1 < chars.len() && chars[position] != chars[position + 1] => {
            out.swap(position, position + 1);
        }
        _ => {
            let replacement = if "aeiou".contains(chars[position]) {
                ['e', 'a', 'i', 'o', 'u'][(key >> 16) as usize % 5]
            } else {
                ['n', 'm', 'r', 't', 'l'][(key >> 16) as usize % 5]
            };
            out[position] = if replacement == chars[position] {
                'y'
            } else {
                replacement
            };
        }
    }
    let result: String = out.into_iter().collect();
    if result == text {
        // A swap of equal letters changes nothing; drop a letter instead.
        let mut chars = chars;
        chars.remove(position);
        return chars.into_iter().collect();
    }
    result
}

/// Whether a draw keyed by `key` falls under `rate`.
pub fn keyed_chance(key: u64, rate: f64) -> bool {
    rate > 0.0 && unit_from_key(key) < rate
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn lists_are_loaded_and_weighted() {
        let names = Names::load();
        assert!(names.female_adult.len() >= 100);
        assert!(names.male_child.len() >= 100);
        assert!(names.surnames.len() >= 250);
        assert!(names.towns.len() >= 10);
        let mut rng = Rng::seed_from_u64(3);
        let mut smith = 0;
        let mut last = 0;
        let final_name = names.surnames.all().last().copied().unwrap();
        for _ in 0..20_000 {
            let name = names.surnames.draw(&mut rng);
            if name == "Smith" {
                smith += 1;
            }
            if name == final_name {
                last += 1;
            }
        }
        assert!(smith > 5 * last.max(1), "smith {smith} last {last}");
        assert_eq!(names.nickname("Elizabeth", 0), Some("Liz"));
        assert_eq!(names.nickname("Zz", 0), None);
    }

    #[test]
    fn typos_change_the_text_but_keep_the_first_letter() {
        for key in 0..500u64 {
            let changed = typo("Stephenson", key.wrapping_mul(0x9e37_79b9));
            assert_ne!(changed, "Stephenson");
            assert!(changed.starts_with('S'));
        }
        assert_eq!(typo("Li", 3), "Li");
    }
}
