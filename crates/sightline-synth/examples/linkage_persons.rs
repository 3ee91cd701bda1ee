//! Synthetic person records for the linkage benchmark (no real people):
//! `cargo run --release -p sightline-synth --example linkage_persons -- OUT.csv [RECORDS] [SEED]`.
//!
//! About 1.5 records per person, drawn household by household so the hard cases
//! are there: twins (same date of birth, surname, address; different given
//! names), a parent and child sharing a given name (different birth years),
//! siblings sharing surname and address, couples sharing surname and address.
//! Noise per record: typing errors, nicknames, given and family name swapped,
//! day and month transposed, a mistyped day, year-only dates, missing sex,
//! postcode and address, moves (a later record at a new address), and an NHS
//! number on about half of the records. The same seed gives the same file.
//!
//! Columns: `record_id,person_id,given_names,family_name,dob,sex,postcode,address,nhs_number`;
//! `person_id` is the truth and must not be given to a linker.

use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A frequency-ranked list drawn with a Zipf-like curve (as the synth crate does).
struct Weighted {
    names: Vec<String>,
    cumulative: Vec<f64>,
}

impl Weighted {
    fn new(names: Vec<String>) -> Weighted {
        let mut total = 0.0;
        let cumulative = (0..names.len())
            .map(|rank| {
                total += 1.0 / (rank as f64 + 3.0).powf(0.85);
                total
            })
            .collect();
        Weighted { names, cumulative }
    }

    fn from_list(text: &str) -> Weighted {
        Weighted::new(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect(),
        )
    }

    fn draw(&self, rng: &mut ChaCha8Rng) -> &str {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let target = rng.random::<f64>() * total;
        let idx = self.cumulative.partition_point(|v| *v <= target);
        self.names
            .get(idx.min(self.names.len().saturating_sub(1)))
            .map_or("Alex", String::as_str)
    }
}

const ONSETS: &[&str] = &[
    "b", "br", "c", "ch", "cr", "d", "f", "g", "gr", "h", "k", "l", "m", "n", "p", "r", "s", "sh",
    "st", "t", "th", "w", "wh", "y",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "ou", "y"];
const CODAS: &[&str] = &[
    "ck", "ll", "n", "nd", "r", "rd", "rt", "s", "ss", "t", "th", "m", "ley", "ton", "wood", "by",
    "ford", "ham", "well", "shaw",
];

fn invented_name(rng: &mut ChaCha8Rng) -> String {
    let mut name = String::new();
    for _ in 0..rng.random_range(1..3) {
        name.push_str(ONSETS[rng.random_range(0..ONSETS.len())]);
        name.push_str(VOWELS[rng.random_range(0..VOWELS.len())]);
    }
    name.push_str(CODAS[rng.random_range(0..CODAS.len())]);
    let mut chars = name.chars();
    chars.next().map_or(String::new(), |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

struct Pools {
    female: Weighted,
    male: Weighted,
    female_child: Weighted,
    male_child: Weighted,
    surnames: Weighted,
    invented_surnames: Weighted,
    invented_given: Weighted,
    streets: Weighted,
    towns: Vec<String>,
    nicknames: Vec<(String, Vec<String>)>,
}

impl Pools {
    fn new(rng: &mut ChaCha8Rng) -> Pools {
        let nicknames = include_str!("../data/nicknames.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once(' '))
            .map(|(name, shorts)| {
                (
                    name.to_owned(),
                    shorts.split(',').map(|s| s.trim().to_owned()).collect(),
                )
            })
            .collect();
        Pools {
            female: Weighted::from_list(include_str!("../data/given_female_adult.txt")),
            male: Weighted::from_list(include_str!("../data/given_male_adult.txt")),
            female_child: Weighted::from_list(include_str!("../data/given_female_child.txt")),
            male_child: Weighted::from_list(include_str!("../data/given_male_child.txt")),
            surnames: Weighted::from_list(include_str!("../data/surnames.txt")),
            invented_surnames: Weighted::new((0..40_000).map(|_| invented_name(rng)).collect()),
            invented_given: Weighted::new((0..4_000).map(|_| invented_name(rng)).collect()),
            streets: Weighted::from_list(include_str!("../data/streets.txt")),
            towns: include_str!("../data/towns.txt")
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect(),
            nicknames,
        }
    }

    fn surname(&self, rng: &mut ChaCha8Rng) -> String {
        if rng.random_bool(0.4) {
            self.surnames.draw(rng).to_owned()
        } else {
            self.invented_surnames.draw(rng).to_owned()
        }
    }

    fn given(&self, rng: &mut ChaCha8Rng, female: bool, child: bool) -> String {
        if rng.random_bool(0.15) {
            return self.invented_given.draw(rng).to_owned();
        }
        let list = match (female, child) {
            (true, false) => &self.female,
            (true, true) => &self.female_child,
            (false, false) => &self.male,
            (false, true) => &self.male_child,
        };
        list.draw(rng).to_owned()
    }

    fn nickname(&self, rng: &mut ChaCha8Rng, given: &str) -> Option<String> {
        let (_, shorts) = self.nicknames.iter().find(|(name, _)| name == given)?;
        if shorts.is_empty() {
            return None;
        }
        shorts.get(rng.random_range(0..shorts.len())).cloned()
    }
}

#[derive(Clone)]
struct Home {
    address: String,
    postcode: String,
}

struct Person {
    id: u32,
    given: String,
    family: String,
    dob: (i32, u32, u32),
    female: bool,
    nhs: Option<String>,
    home: Home,
}

const SUFFIXES: &[&str] = &["Road", "Street", "Lane", "Close", "Avenue", "Drive", "Way"];
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("Road", "Rd"),
    ("Street", "St"),
    ("Lane", "Ln"),
    ("Avenue", "Ave"),
    ("Drive", "Dr"),
];

struct Generator {
    rng: ChaCha8Rng,
    pools: Pools,
    next_person: u32,
    next_nhs: u64,
}

impl Generator {
    /// A home: one of about 25 homes sharing a postcode unit and its street.
    fn home(&mut self) -> Home {
        let rng = &mut self.rng;
        let town_idx = rng.random_range(0..self.pools.towns.len());
        let district = format!(
            "{}{}",
            [
                "AB", "BC", "CD", "DN", "EX", "FY", "GL", "HU", "LS", "NE", "OX", "PR", "SK"
            ][town_idx % 13],
            rng.random_range(1..40)
        );
        let unit = rng.random_range(0..2_000u32);
        let letters = |n: u32| {
            let a = b'A' + (n % 26) as u8;
            let b = b'A' + ((n / 26) % 26) as u8;
            format!("{}{}", a as char, b as char)
        };
        let postcode = format!("{district} {}{}", unit % 10, letters(unit / 10 + unit * 7));
        let mut street_rng = ChaCha8Rng::seed_from_u64(
            u64::from(unit) ^ (district.bytes().fold(0u64, |h, b| h * 31 + u64::from(b)) << 12),
        );
        let street = format!(
            "{} {}",
            self.pools.streets.draw(&mut street_rng),
            SUFFIXES[street_rng.random_range(0..SUFFIXES.len())]
        );
        let address = format!(
            "{} {street} {}",
            rng.random_range(1..120),
            self.pools.towns[town_idx]
        );
        Home { address, postcode }
    }

    fn nhs(&mut self) -> Option<String> {
        if !self.rng.random_bool(0.6) {
            return None;
        }
        loop {
            self.next_nhs += 7_919;
            let stem = 400_000_000 + self.next_nhs % 599_999_999;
            let digits: Vec<u8> = format!("{stem:09}").bytes().map(|b| b - b'0').collect();
            if let Some(check) = sightline_core::NhsNumber::check_digit(&digits) {
                return Some(format!("{stem:09}{check}"));
            }
        }
    }

    fn dob(&mut self, year: i32) -> (i32, u32, u32) {
        (
            year,
            self.rng.random_range(1..=12),
            self.rng.random_range(1..=28),
        )
    }

    fn person(
        &mut self,
        given: String,
        family: String,
        dob: (i32, u32, u32),
        female: bool,
        home: &Home,
    ) -> Person {
        self.next_person += 1;
        Person {
            id: self.next_person,
            given,
            family,
            dob,
            female,
            nhs: self.nhs(),
            home: home.clone(),
        }
    }

    /// One household's people.
    fn household(&mut self) -> Vec<Person> {
        let home = self.home();
        let family = self.pools.surname(&mut self.rng);
        let mut people = Vec::new();
        let kind = self.rng.random::<f64>();
        let adult_year = self.rng.random_range(1945..2004);
        let first_female = self.rng.random_bool(0.5);
        let given = self.pools.given(&mut self.rng, first_female, false);
        let dob = self.dob(adult_year);
        people.push(self.person(given, family.clone(), dob, first_female, &home));
        if kind < 0.3 {
            return people;
        }
        // A partner, usually sharing the surname.
        let partner_family = if self.rng.random_bool(0.75) {
            family.clone()
        } else {
            self.pools.surname(&mut self.rng)
        };
        let partner_given = self.pools.given(&mut self.rng, !first_female, false);
        let partner_year = (adult_year + self.rng.random_range(-4..5)).min(2004);
        let dob = self.dob(partner_year);
        people.push(self.person(partner_given, partner_family, dob, !first_female, &home));
        if kind < 0.5 || adult_year > 1995 {
            return people;
        }
        let children = self.rng.random_range(1..4);
        let mut year = adult_year + self.rng.random_range(20..32);
        for _ in 0..children {
            if year > 2024 {
                break;
            }
            let female = self.rng.random_bool(0.5);
            // A child named after the parent of the same sex (a junior).
            let junior = self.rng.random_bool(0.06);
            let given = if junior {
                people
                    .iter()
                    .take(2)
                    .find(|p| p.female == female)
                    .map(|p| p.given.clone())
                    .unwrap_or_else(|| self.pools.given(&mut self.rng, female, true))
            } else {
                self.pools.given(&mut self.rng, female, true)
            };
            let dob = self.dob(year);
            people.push(self.person(given, family.clone(), dob, female, &home));
            // Twins: the same date of birth, a different given name.
            if self.rng.random_bool(0.04) {
                let twin_female = if self.rng.random_bool(0.6) {
                    female
                } else {
                    !female
                };
                let mut twin_given = self.pools.given(&mut self.rng, twin_female, true);
                while twin_given == people.last().map_or("", |p| p.given.as_str()) {
                    twin_given = self.pools.given(&mut self.rng, twin_female, true);
                }
                people.push(self.person(twin_given, family.clone(), dob, twin_female, &home));
            }
            year += self.rng.random_range(1..6);
        }
        people
    }

    /// One record of `person`, with noise.
    fn record(&mut self, person: &Person, moved_to: Option<&Home>) -> [String; 7] {
        let rng = &mut self.rng;
        let mut given = person.given.clone();
        let mut family = person.family.clone();
        let roll = rng.random::<f64>();
        if roll < 0.08 {
            if let Some(short) = self.pools.nickname(rng, &given) {
                given = short;
            }
        } else if roll < 0.14 {
            given = typo(rng, &given);
        }
        if rng.random_bool(0.06) {
            family = typo(rng, &family);
        }
        if rng.random_bool(0.01) {
            std::mem::swap(&mut given, &mut family);
        }
        let (y, m, d) = person.dob;
        let roll = rng.random::<f64>();
        let dob = if roll < 0.03 && d <= 12 && d != m {
            format!("{y:04}-{d:02}-{m:02}")
        } else if roll < 0.06 {
            let day = if d < 28 { d + 1 } else { d - 1 };
            format!("{y:04}-{m:02}-{day:02}")
        } else if roll < 0.08 {
            format!("{y:04}")
        } else if roll < 0.09 {
            String::new()
        } else {
            format!("{y:04}-{m:02}-{d:02}")
        };
        let sex = if rng.random_bool(0.03) {
            String::new()
        } else if person.female {
            "female".into()
        } else {
            "male".into()
        };
        let home = moved_to.unwrap_or(&person.home);
        let postcode = if rng.random_bool(0.15) {
            String::new()
        } else if rng.random_bool(0.3) {
            home.postcode.to_lowercase().replace(' ', "")
        } else {
            home.postcode.clone()
        };
        let mut address = if rng.random_bool(0.1) {
            String::new()
        } else {
            home.address.clone()
        };
        if rng.random_bool(0.3) {
            for (long, short) in ABBREVIATIONS {
                address = address.replace(long, short);
            }
        }
        let nhs = match &person.nhs {
            Some(number) if rng.random_bool(0.8) => number.clone(),
            _ => String::new(),
        };
        [given, family, dob, sex, postcode, address, nhs]
    }
}

fn typo(rng: &mut ChaCha8Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    if chars.len() < 3 {
        return text.to_owned();
    }
    let at = rng.random_range(1..chars.len());
    match rng.random_range(0..4) {
        0 => {
            chars.remove(at);
        }
        1 => chars.insert(at, chars[at]),
        2 if at + 1 < chars.len() => chars.swap(at, at + 1),
        _ => chars[at] = char::from(b'a' + rng.random_range(0..26u8)),
    }
    chars.into_iter().collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or("usage: linkage_persons OUT.csv [RECORDS] [SEED]")?;
    let n_records: usize = args.next().map_or(Ok(1_000_000), |n| n.parse())?;
    let seed: u64 = args.next().map_or(Ok(42), |n| n.parse())?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pools = Pools::new(&mut rng);
    let mut generator = Generator {
        rng,
        pools,
        next_person: 0,
        next_nhs: 0,
    };
    let mut file = std::io::BufWriter::new(std::fs::File::create(&out)?);
    writeln!(
        file,
        "record_id,person_id,given_names,family_name,dob,sex,postcode,address,nhs_number"
    )?;
    let mut written = 0usize;
    let mut rows: Vec<(u32, [String; 7])> = Vec::new();
    let mut persons = 0usize;
    let mut record_id = 0usize;
    while written < n_records {
        let household = generator.household();
        for person in &household {
            // 1, 2 or 3 records: 1.5 on average.
            let roll = generator.rng.random::<f64>();
            let count = if roll < 0.6 {
                1
            } else if roll < 0.9 {
                2
            } else {
                3
            };
            persons += 1;
            for idx in 0..count {
                if written >= n_records {
                    break;
                }
                let moved = (idx > 0 && generator.rng.random_bool(0.12)).then(|| generator.home());
                let record = generator.record(person, moved.as_ref());
                rows.push((person.id, record));
                written += 1;
            }
        }
        // Records of one household reach the file in shuffled order, in batches,
        // so a person's records are not always neighbours.
        if rows.len() >= 10_000 || written >= n_records {
            let mut batch = std::mem::take(&mut rows);
            for idx in (1..batch.len()).rev() {
                let other = generator.rng.random_range(0..=idx);
                batch.swap(idx, other);
            }
            for (person, fields) in batch {
                writeln!(file, "{record_id},{person},{}", fields.join(","))?;
                record_id += 1;
            }
        }
    }
    file.flush()?;
    eprintln!("wrote {written} records of {persons} persons to {out}");
    Ok(())
}
