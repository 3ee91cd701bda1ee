//! Scale smoke run on generated UK-style persons (no real people):
//! `cargo run -p sightline-linkage --release --example scale_smoke -- 1000000`.
//! Prints phase times, link counts, pair F1 against the generator's truth and peak memory.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashSet;
use sightline_linkage::eval::{false_merge_rate, pair_metrics, pairs_within_groups};
use sightline_linkage::{LinkKind, LinkScope, LinkageIndex, MentionInput, Settings};

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ren", "tor", "ash", "bel", "cor", "dun", "el", "fay", "gar", "hol", "ith",
    "jen", "kel", "lin", "mor", "nor", "ost", "pen", "quin", "ros", "sel", "tam", "ul", "ven",
    "wil", "yor", "zan",
];

fn word(rng: &mut ChaCha8Rng, parts: usize) -> String {
    (0..parts)
        .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
        .collect()
}

fn typo(rng: &mut ChaCha8Rng, text: &str) -> String {
    let mut bytes: Vec<u8> = text.bytes().collect();
    if bytes.len() > 2 {
        let at = rng.random_range(1..bytes.len());
        bytes[at] = b'a' + rng.random_range(0..26u8);
    }
    String::from_utf8(bytes).unwrap_or_default()
}

fn main() {
    let n_records: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let n_persons = n_records * 2 / 3;
    let given_pool: Vec<String> = (0..3000).map(|_| word(&mut rng, 2)).collect();
    let family_pool: Vec<String> = (0..20000).map(|_| word(&mut rng, 3)).collect();
    let started = Instant::now();
    let mut persons = Vec::with_capacity(n_persons);
    for idx in 0..n_persons {
        let given = given_pool[rng.random_range(0..given_pool.len())].clone();
        let family = family_pool[rng.random_range(0..family_pool.len())].clone();
        let dob = format!(
            "{}-{:02}-{:02}",
            rng.random_range(1940..2024),
            rng.random_range(1..13),
            rng.random_range(1..29)
        );
        let postcode = format!(
            "N{} {}{}{}",
            rng.random_range(1..30),
            rng.random_range(1..10),
            (b'A' + rng.random_range(0..26u8)) as char,
            (b'A' + rng.random_range(0..26u8)) as char
        );
        let nhs = (idx % 2 == 0).then(|| format!("9{:09}", idx));
        persons.push((given, family, dob, postcode, nhs));
    }
    let mut mentions = Vec::with_capacity(n_records);
    let mut truth = Vec::with_capacity(n_records);
    for idx in 0..n_records {
        let who = if idx < n_persons {
            idx
        } else {
            rng.random_range(0..n_persons)
        };
        let (given, family, dob, postcode, nhs) = &persons[who];
        let given = if rng.random_bool(0.1) {
            typo(&mut rng, given)
        } else {
            given.clone()
        };
        let family = if rng.random_bool(0.1) {
            typo(&mut rng, family)
        } else {
            family.clone()
        };
        let mut mention = MentionInput::new(format!("r{idx}"))
            .with("given_names", given)
            .with("family_name", family)
            .with(
                "dob",
                if rng.random_bool(0.05) {
                    dob[..4].to_string()
                } else {
                    dob.clone()
                },
            );
        if rng.random_bool(0.8) {
            mention = mention.with("postcode", postcode.clone());
        }
        if let Some(nhs) = nhs
            && rng.random_bool(0.5)
        {
            mention = mention.with("nhs_number", nhs.clone());
        }
        mentions.push(mention);
        truth.push(who as u32);
    }
    drop(persons);
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS"))
                .map(str::to_string)
        })
        .unwrap_or_default();
    eprintln!(
        "generated {n_records} mentions in {:.2}s; input held: {rss}",
        started.elapsed().as_secs_f64()
    );
    let settings = Settings::uk_persons().unwrap_or_else(|err| panic!("{err}"));
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (index, report) =
        LinkageIndex::train_and_link(settings, LinkScope::Dedupe, &mentions, &[], &mut rng)
            .unwrap_or_else(|err| panic!("{err}"));
    let seconds = started.elapsed().as_secs_f64();
    let predicted: FxHashSet<(u32, u32)> = index
        .links()
        .iter()
        .filter(|l| l.kind != LinkKind::Review)
        .map(|l| (l.left, l.right))
        .collect();
    let actual = pairs_within_groups(&truth, index.store(), LinkScope::Dedupe);
    let pairs = pair_metrics(&predicted, &actual);
    let clusters = pair_metrics(
        &pairs_within_groups(index.persons(), index.store(), LinkScope::Dedupe),
        &actual,
    );
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(str::to_string)
        })
        .unwrap_or_default();
    println!(
        "records {n_records} train+link {seconds:.2}s candidates {} pairs P {:.4} R {:.4} F1 {:.4} clusters F1 {:.4} false-merge {:.4} {peak}",
        index.candidate_pairs(),
        pairs.precision,
        pairs.recall,
        pairs.f1,
        clusters.f1,
        false_merge_rate(index.persons(), &truth)
    );
    eprintln!("{report:?}");
    eprintln!("{:?}", index.blocking_stats());
}
