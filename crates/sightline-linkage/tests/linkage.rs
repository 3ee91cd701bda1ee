//! Integration tests: comparison tables, hard identity constraints, EM on a
//! fixture, incremental = batch, and FEBRL quality floors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sightline_linkage::eval::{self, FebrlDataset};
use sightline_linkage::{
    Kin, LinkKind, LinkScope, LinkageIndex, MentionContext, MentionInput, Model, NotCounted,
    RecordStore, Settings, Verdict,
};

const GIVEN: &[&str] = &[
    "peter", "tracy", "william", "margaret", "james", "sarah", "mohammed", "olivia", "jack",
    "amelia", "harry", "isla", "george", "ava", "noah", "emily", "leo", "grace", "oscar", "freya",
];
const FAMILY: &[&str] = &[
    "smith", "jones", "taylor", "brown", "williams", "wilson", "johnson", "davies", "patel",
    "wright", "khan", "evans", "thomas", "roberts", "walker", "green", "hall", "wood", "clarke",
    "hughes",
];

/// A valid NHS number from a 9-digit stem (None when the check digit would be 10).
fn nhs_from_stem(stem: u32) -> Option<String> {
    let digits: Vec<u32> = format!("{stem:09}")
        .chars()
        .map(|c| c.to_digit(10).unwrap())
        .collect();
    let weighted: u32 = digits
        .iter()
        .enumerate()
        .map(|(idx, d)| d * (10 - idx as u32))
        .sum();
    let check = (11 - weighted % 11) % 11;
    (check != 10).then(|| format!("{stem:09}{check}"))
}

fn valid_nhs(seed: u32) -> String {
    (0..)
        .find_map(|offset| nhs_from_stem(400_000_000 + seed * 7 + offset))
        .unwrap()
}

#[derive(Clone, Debug)]
struct Person {
    given: &'static str,
    family: &'static str,
    dob: String,
    postcode: String,
    nhs: Option<String>,
}

fn person(rng: &mut ChaCha8Rng, idx: u32) -> Person {
    Person {
        given: GIVEN[rng.random_range(0..GIVEN.len())],
        family: FAMILY[rng.random_range(0..FAMILY.len())],
        dob: format!(
            "{}-{:02}-{:02}",
            rng.random_range(1975..2020),
            rng.random_range(1..13),
            rng.random_range(1..29)
        ),
        postcode: format!(
            "N{} {}A{}",
            rng.random_range(1..20),
            rng.random_range(1..9),
            ["A", "B", "D"][idx as usize % 3]
        ),
        nhs: idx.is_multiple_of(2).then(|| valid_nhs(idx)),
    }
}

/// A mention of `person` with light corruption.
fn mention_of(
    rng: &mut ChaCha8Rng,
    key: String,
    p: &Person,
    agency: &str,
    spid: Option<String>,
) -> MentionInput {
    let mut given = p.given.to_string();
    if rng.random_bool(0.15) {
        given = match given.as_str() {
            "william" => "bill".into(),
            "margaret" => "peggy".into(),
            "james" => "jim".into(),
            other => format!("{}{}", other, "e"),
        };
    }
    let mut m = MentionInput::new(key)
        .with("agency", agency)
        .with("given_names", given)
        .with("family_name", p.family)
        .with(
            "dob",
            if rng.random_bool(0.1) {
                p.dob[..4].to_string()
            } else {
                p.dob.clone()
            },
        )
        .with(
            "postcode",
            if rng.random_bool(0.2) {
                String::new()
            } else {
                p.postcode.clone()
            },
        );
    if let Some(nhs) = &p.nhs
        && rng.random_bool(0.7)
    {
        m = m.with("nhs_number", nhs.clone());
    }
    if let Some(spid) = spid {
        m = m.with("source_person_id", spid);
    }
    m
}

/// Mentions of `n_persons` people across three agencies, with truth labels.
/// Each (agency, person) has one fixed source id, so the data never contradicts itself.
fn uk_fixture(seed: u64, n_persons: u32, n_mentions: usize) -> (Vec<MentionInput>, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let persons: Vec<Person> = (0..n_persons).map(|idx| person(&mut rng, idx)).collect();
    let agencies = ["gp-north", "police-met", "school-7"];
    let mut mentions = Vec::new();
    let mut truth = Vec::new();
    for idx in 0..n_mentions {
        let who = rng.random_range(0..n_persons);
        let agency = agencies[rng.random_range(0..agencies.len())];
        let spid = rng.random_bool(0.6).then(|| format!("{agency}-{who}"));
        let p = &persons[who as usize];
        mentions.push(mention_of(&mut rng, format!("m{idx}"), p, agency, spid));
        truth.push(who);
    }
    (mentions, truth)
}

fn trained_uk_model(seed: u64) -> (Settings, Model) {
    let settings = Settings::uk_persons().unwrap();
    let (mentions, _) = uk_fixture(seed, 300, 700);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (model, _) = eval::train_on(&settings, &mentions, LinkScope::Dedupe, &mut rng);
    (settings, model)
}

fn check_level(
    settings: &Settings,
    comparison: &str,
    left: &[(&str, &str)],
    right: &[(&str, &str)],
    expected: &str,
) {
    let mut store = RecordStore::new(settings);
    let make = |key: &str, values: &[(&str, &str)]| {
        values
            .iter()
            .fold(MentionInput::new(key), |m, (column, value)| {
                m.with(column, *value)
            })
    };
    let a = store.push(settings, &make("a", left));
    let b = store.push(settings, &make("b", right));
    let comparison = settings
        .comparisons
        .iter()
        .find(|c| c.name == comparison)
        .unwrap();
    let level = store.comparison_level(comparison, a, b);
    let label = match level {
        15 => "missing".to_string(),
        level if usize::from(level) == comparison.levels.len() => "else".to_string(),
        level => comparison.levels[usize::from(level)].label.clone(),
    };
    assert_eq!(label, expected, "{} {left:?} vs {right:?}", comparison.name);
}

#[test]
fn uk_comparison_table() {
    let s = Settings::uk_persons().unwrap();
    let given = |a: &'static str, b: &'static str, expected: &str| {
        check_level(
            &s,
            "given_names",
            &[("given_names", a)],
            &[("given_names", b)],
            expected,
        );
    };
    given("Peter", "PETER", "exact after normalisation");
    given("Zoë", "zoe", "exact after normalisation");
    given("Bill", "William", "nickname");
    given("Peggy", "margaret", "nickname");
    given("Anna Louise", "Louise", "shares a name part");
    given("Mary Ann", "Molly", "nickname");
    given("Jonathon", "Jonathan", "Jaro-Winkler >= 0.92");
    given("Peter", "Tracy", "else");
    given("Peter", "", "missing");
    check_level(
        &s,
        "given_names",
        &[("given_names", "Smith"), ("family_name", "Peter")],
        &[("given_names", "Peter"), ("family_name", "Smith")],
        "swapped with family_name",
    );
    let family = |a: &'static str, b: &'static str, expected: &str| {
        check_level(
            &s,
            "family_name",
            &[("family_name", a)],
            &[("family_name", b)],
            expected,
        );
    };
    family("Smith-Jones", "Jones", "shares a name part");
    family("Smith Jones", "smith-jones", "exact after normalisation");
    family("O'Brien", "OBRIEN", "exact after normalisation");
    family("Johnstone", "Johnston", "Jaro-Winkler >= 0.92");
    family("Smyth", "Smith", "sounds alike");
    let dob = |a: &'static str, b: &'static str, expected: &str| {
        check_level(&s, "dob", &[("dob", a)], &[("dob", b)], expected);
    };
    dob("2006-03-01", "2006-03-01", "same date");
    dob("2006-03-01", "2006-01-03", "day and month transposed");
    dob("2006", "2006-03-01", "agrees as far as known");
    dob("2006-03", "2006-03-01", "agrees as far as known");
    dob("2006-03-01", "2006-03-11", "Damerau-Levenshtein <= 1");
    dob("2006-03-01", "2006-03-25", "same year and month");
    dob("2006-03-01", "2006-07-25", "same year");
    dob("2006-03-01", "1981-09-20", "else");
    let postcode = |a: &'static str, b: &'static str, expected: &str| {
        check_level(
            &s,
            "postcode",
            &[("postcode", a)],
            &[("postcode", b)],
            expected,
        );
    };
    postcode("n176aa", "N17 6AA", "exact after normalisation");
    postcode("N17 6AA", "N17 6BD", "same postcode sector");
    postcode("N17 6AA", "N17 9ZZ", "same postcode district");
    postcode("N17 6AA", "E1 6AN", "else");
    check_level(
        &s,
        "sex",
        &[("sex", "female")],
        &[("sex", "F")],
        "exact after normalisation",
    );
    check_level(&s, "sex", &[("sex", "unknown")], &[("sex", "F")], "missing");
    check_level(
        &s,
        "address",
        &[("address", "12 Example Rd, London")],
        &[("address", "12 example road london")],
        "token overlap >= 0.6",
    );
}

#[test]
fn explanation_adds_up_and_strong_identifier_rules_apply() {
    let (settings, model) = trained_uk_model(7);
    let nhs = valid_nhs(1);
    let other_nhs = valid_nhs(2);
    let mentions = vec![
        MentionInput::new("a")
            .with("given_names", "Peter")
            .with("family_name", "Smith")
            .with("dob", "2006-03-01")
            .with("nhs_number", nhs.clone()),
        MentionInput::new("b")
            .with("given_names", "Pete")
            .with("family_name", "Smyth")
            .with("nhs_number", nhs),
        MentionInput::new("c")
            .with("given_names", "Peter")
            .with("family_name", "Smith")
            .with("dob", "2006-03-01")
            .with("nhs_number", other_nhs),
    ];
    let index = LinkageIndex::batch(settings, model, LinkScope::Dedupe, &mentions, &[]).unwrap();
    let persons = index.persons();
    assert_eq!(persons[0], persons[1], "same NHS number links");
    assert_ne!(persons[0], persons[2], "different NHS numbers never link");
    let explanation = index.explain(0, 2).unwrap();
    let total: f64 =
        explanation.prior_weight + explanation.fields.iter().map(|f| f.weight).sum::<f64>();
    assert!((total - explanation.match_weight).abs() < 1e-9);
    assert_eq!(
        explanation.hard_rule,
        Some(sightline_linkage::HardRule::DifferentStrongIdentifiers)
    );
    let given = explanation
        .fields
        .iter()
        .find(|f| f.field == "given_names")
        .unwrap();
    assert_eq!(given.level, "exact after normalisation");
    assert!(given.weight > 0.0);
}

#[test]
fn source_ids_of_one_agency_stay_apart_unless_a_person_says_so() {
    let (settings, model) = trained_uk_model(8);
    let twin = |key: &str, spid: &str| {
        MentionInput::new(key)
            .with("agency", "gp-north")
            .with("source_person_id", spid)
            .with("given_names", "Amelia")
            .with("family_name", "Hughes")
            .with("dob", "2015-06-02")
            .with("postcode", "N1 2AB")
    };
    let third = MentionInput::new("c")
        .with("agency", "police-met")
        .with("given_names", "Amelia")
        .with("family_name", "Hughes")
        .with("dob", "2015-06-02");
    let mentions = vec![twin("a", "P1"), twin("b", "P2"), third, twin("d", "P1")];
    let mut index = LinkageIndex::batch(
        settings.clone(),
        model.clone(),
        LinkScope::Dedupe,
        &mentions,
        &[],
    )
    .unwrap();
    assert_ne!(index.person(0), index.person(1));
    assert_eq!(
        index.person(0),
        index.person(3),
        "same agency and id is one person"
    );
    assert!(
        index
            .review_queue()
            .iter()
            .any(|l| (l.left, l.right) == (0, 1))
    );
    index.decide("a", "b", Verdict::Match).unwrap();
    assert_eq!(
        index.person(0),
        index.person(1),
        "a person's decision overrides the agency rule"
    );
    let decided = vec![("a".to_string(), "b".to_string(), Verdict::Match)];
    let batch =
        LinkageIndex::batch(settings, model, LinkScope::Dedupe, &mentions, &decided).unwrap();
    assert_eq!(batch.persons(), index.persons());
}

#[test]
fn human_non_match_splits() {
    let (settings, model) = trained_uk_model(9);
    let same = |key: &str| {
        MentionInput::new(key)
            .with("given_names", "Oscar")
            .with("family_name", "Walker")
            .with("dob", "2012-01-05")
            .with("postcode", "N4 3AB")
    };
    let mut index = LinkageIndex::new(settings, model, LinkScope::Dedupe);
    index.add(&same("a")).unwrap();
    let outcome = index.add(&same("b")).unwrap();
    assert_eq!(outcome.person, 0);
    assert!(outcome.links.iter().any(|l| l.kind == LinkKind::Auto));
    index.decide("a", "b", Verdict::NonMatch).unwrap();
    assert_ne!(index.person(0), index.person(1));
    let outcome = index.add(&same("c")).unwrap();
    assert!(
        index.person(outcome.record) == index.person(0)
            || index.person(outcome.record) == index.person(1)
    );
    assert_ne!(
        index.person(0),
        index.person(1),
        "a third mention does not glue a rejected pair"
    );
}

#[test]
fn em_recovers_m_on_a_fixture() {
    let settings = Settings::uk_persons().unwrap();
    let (mentions, _) = uk_fixture(11, 400, 1200);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (model, report) = eval::train_on(&settings, &mentions, LinkScope::Dedupe, &mut rng);
    assert!(
        report.em_sessions.iter().all(|s| s.3),
        "every EM session converges: {:?}",
        report.em_sessions
    );
    assert!(
        report.untrained_comparisons.is_empty(),
        "{:?}",
        report.untrained_comparisons
    );
    let family = model
        .comparisons
        .iter()
        .find(|c| c.name == "family_name")
        .unwrap();
    // The fixture never corrupts family names: m(exact) should be near 1.
    assert!(family.m[0] > 0.9, "family m {:?}", family.m);
    let dob = model.comparisons.iter().find(|c| c.name == "dob").unwrap();
    // Years-only dates are 10% on each side: exact dates agree in about 80% of matches.
    assert!(dob.m[0] > 0.65 && dob.m[0] < 0.95, "dob m {:?}", dob.m);
    assert!(dob.u[0] < 0.01, "dob u {:?}", dob.u);
    assert!(report.prior_probability > 0.0 && report.prior_probability < 0.05);
}

fn links_signature(index: &LinkageIndex) -> Vec<(u32, u32, LinkKind, u64)> {
    let mut links: Vec<(u32, u32, LinkKind, u64)> = index
        .links()
        .iter()
        .map(|l| (l.left, l.right, l.kind, l.match_weight.to_bits()))
        .collect();
    links.sort_by_key(|l| (l.0, l.1));
    links
}

fn mentions_of(seed: u64, n_persons: u32, n_mentions: usize) -> Vec<MentionInput> {
    uk_fixture(seed, n_persons, n_mentions).0
}

/// The smallest record connected to each record by automatic and identity
/// links (not review links).
fn linked_components(index: &LinkageIndex) -> Vec<u32> {
    let mut root: Vec<u32> = (0..index.store().len() as u32).collect();
    fn find(root: &mut [u32], mut record: u32) -> u32 {
        while root[record as usize] != record {
            record = root[record as usize];
        }
        record
    }
    for link in index.links().iter().filter(|l| l.kind != LinkKind::Review) {
        let (a, b) = (find(&mut root, link.left), find(&mut root, link.right));
        root[a.max(b) as usize] = a.min(b);
    }
    (0..root.len() as u32)
        .map(|record| find(&mut root, record))
        .collect()
}

fn strong_constraints_hold(
    index: &LinkageIndex,
    mentions: &[MentionInput],
) -> Result<(), TestCaseError> {
    let value = |m: &MentionInput, column: &str| {
        m.values
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v.clone())
    };
    for (i, a) in mentions.iter().enumerate() {
        for (j, b) in mentions.iter().enumerate().skip(i + 1) {
            let same_person = index.person(i as u32) == index.person(j as u32);
            let (nhs_a, nhs_b) = (value(a, "nhs_number"), value(b, "nhs_number"));
            if let (Some(x), Some(y)) = (&nhs_a, &nhs_b) {
                prop_assert_eq!(same_person, x == y, "NHS rule broken for {} {}", i, j);
            }
            if let (Some(x), Some(y)) = (value(a, "source_person_id"), value(b, "source_person_id"))
                && value(a, "agency") == value(b, "agency")
            {
                prop_assert_eq!(same_person, x == y, "source id rule broken for {} {}", i, j);
            }
        }
    }
    // No person holds two NHS numbers or two ids of one agency (checked transitively).
    let mut by_person: std::collections::HashMap<u32, Vec<usize>> =
        std::collections::HashMap::new();
    for idx in 0..mentions.len() {
        by_person
            .entry(index.person(idx as u32))
            .or_default()
            .push(idx);
    }
    for members in by_person.values() {
        let mut nhs: Vec<String> = members
            .iter()
            .filter_map(|m| value(&mentions[*m], "nhs_number"))
            .collect();
        nhs.sort();
        nhs.dedup();
        prop_assert!(nhs.len() <= 1, "a person holds NHS numbers {:?}", nhs);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn incremental_equals_batch(seed in 0u64..10_000, n_persons in 3u32..40, n_mentions in 2usize..80) {
        let (settings, model) = trained_uk_model(1);
        let (mentions, _) = uk_fixture(seed, n_persons, n_mentions);
        let batch = LinkageIndex::batch(settings.clone(), model.clone(), LinkScope::Dedupe, &mentions, &[]).unwrap();
        let mut incremental = LinkageIndex::new(settings, model, LinkScope::Dedupe);
        let mut before: Vec<u32> = Vec::new();
        for mention in &mentions {
            let outcome = incremental.add(mention).unwrap();
            // The index reports exactly the new record and those whose person changed.
            let mut expected: Vec<u32> = incremental.persons().iter().enumerate()
                .filter(|(record, person)| before.get(*record) != Some(*person))
                .map(|(record, _)| record as u32)
                .collect();
            expected.sort_unstable();
            prop_assert!(expected.contains(&outcome.record));
            prop_assert_eq!(incremental.take_moved(), expected);
            before = incremental.persons().to_vec();
        }
        prop_assert_eq!(batch.persons(), incremental.persons());
        prop_assert_eq!(links_signature(&batch), links_signature(&incremental));
        prop_assert_eq!(batch.conflicts(), incremental.conflicts());
    }

    /// With links capped per mention, a batch and the same mentions added
    /// one by one still keep the same links and persons, and the kept
    /// automatic and identity links connect the same records as all of them.
    #[test]
    fn capped_links_incremental_equals_batch(seed in 0u64..10_000, n_persons in 3u32..20, n_mentions in 20usize..80) {
        let (mut settings, model) = trained_uk_model(1);
        let mentions = mentions_of(seed, n_persons, n_mentions);
        let every = LinkageIndex::batch(settings.clone(), model.clone(), LinkScope::Dedupe, &mentions, &[]).unwrap();
        settings.limits.links_per_mention_max = Some(2);
        let batch = LinkageIndex::batch(settings.clone(), model.clone(), LinkScope::Dedupe, &mentions, &[]).unwrap();
        let mut incremental = LinkageIndex::new(settings, model, LinkScope::Dedupe);
        for mention in &mentions {
            incremental.add(mention).unwrap();
        }
        prop_assert_eq!(batch.persons(), incremental.persons());
        prop_assert_eq!(links_signature(&batch), links_signature(&incremental));
        prop_assert_eq!(batch.conflicts(), incremental.conflicts());
        prop_assert!(batch.links().len() <= every.links().len());
        prop_assert_eq!(linked_components(&batch), linked_components(&every));
    }

    #[test]
    fn strong_identifier_constraints(seed in 0u64..10_000, n_persons in 2u32..12, n_mentions in 2usize..40) {
        // Few people and few names: the model wants to link look-alikes; the rules must hold anyway.
        let (settings, model) = trained_uk_model(2);
        let (mentions, _) = uk_fixture(seed, n_persons, n_mentions);
        let index = LinkageIndex::batch(settings, model, LinkScope::Dedupe, &mentions, &[]).unwrap();
        strong_constraints_hold(&index, &mentions)?;
    }
}

fn febrl_texts(dataset: FebrlDataset) -> Option<Vec<String>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/febrl");
    let mut texts = Vec::new();
    for file in dataset.files() {
        match std::fs::read_to_string(format!("{dir}/{file}")) {
            Ok(text) => texts.push(text),
            Err(err) => {
                eprintln!("skipping FEBRL quality test: cannot read {dir}/{file}: {err}");
                return None;
            }
        }
    }
    Some(texts)
}

fn check_febrl(dataset: FebrlDataset, use_ssn: bool, pair_f1_min: f64, cluster_f1_min: f64) {
    let Some(texts) = febrl_texts(dataset) else {
        return;
    };
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let report = eval::evaluate_febrl(dataset, use_ssn, &refs).unwrap();
    eprintln!(
        "{} ssn={use_ssn}: precision {:.4} recall {:.4} F1 {:.4} cluster F1 {:.4} false-merge {:.4} blocking recall {:.4}",
        report.dataset,
        report.pairs.precision,
        report.pairs.recall,
        report.pairs.f1,
        report.clusters.f1,
        report.false_merge_rate,
        report.blocking_recall
    );
    assert!(
        report.pairs.f1 >= pair_f1_min,
        "{} pair F1 {}",
        report.dataset,
        report.pairs.f1
    );
    assert!(
        report.clusters.f1 >= cluster_f1_min,
        "{} cluster F1 {}",
        report.dataset,
        report.clusters.f1
    );
    assert!(
        report.pairs.precision >= 0.999,
        "{} precision {}",
        report.dataset,
        report.pairs.precision
    );
    assert!(
        report.false_merge_rate <= 0.002,
        "{} false merges {}",
        report.dataset,
        report.false_merge_rate
    );
}

#[test]
fn febrl1_quality() {
    check_febrl(FebrlDataset::Febrl1, false, 0.998, 0.998);
    check_febrl(FebrlDataset::Febrl1, true, 0.998, 0.998);
}

#[test]
fn febrl3_quality() {
    check_febrl(FebrlDataset::Febrl3, false, 0.996, 0.999);
    check_febrl(FebrlDataset::Febrl3, true, 0.999, 0.999);
}

#[test]
fn febrl4_quality() {
    check_febrl(FebrlDataset::Febrl4, false, 0.999, 0.999);
    check_febrl(FebrlDataset::Febrl4, true, 0.999, 0.999);
}

#[test]
fn model_round_trips_through_toml() {
    let (settings, model) = trained_uk_model(12);
    let text = model.to_toml().unwrap();
    let back = Model::from_toml(&text, &settings).unwrap();
    assert_eq!(back, model);
    let wrong = Settings::febrl(false).unwrap();
    assert!(Model::from_toml(&text, &wrong).is_err());
}

#[test]
fn search_finds_the_person_without_adding_the_query() {
    let (settings, model) = trained_uk_model(13);
    let (mentions, truth) = uk_fixture(14, 50, 120);
    let mut index =
        LinkageIndex::batch(settings, model, LinkScope::Dedupe, &mentions, &[]).unwrap();
    let target = &mentions[5];
    let value = |column: &str| {
        target
            .values
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let query = MentionInput::new("query")
        .with("given_names", value("given_names"))
        .with("family_name", value("family_name"))
        .with("dob", value("dob"));
    let n_before = index.store().len();
    let hits = index.search(&query, 0.5, 10);
    assert_eq!(index.store().len(), n_before);
    assert!(!hits.is_empty());
    assert!(
        hits.windows(2)
            .all(|w| w[0].match_weight >= w[1].match_weight)
    );
    assert!(
        hits.iter().any(|h| truth[h.record as usize] == truth[5]),
        "{hits:?}"
    );
}

#[test]
fn uk_person_mention_maps_columns() {
    let lines = vec!["12 Example Road".to_string(), "London".to_string()];
    let person = sightline_linkage::UkPersonMention {
        agency: "north-met-police",
        record_id: "DA-2007-0412",
        person_ref: "c",
        given_names: Some("Peter"),
        family_name: Some("Smith"),
        dob: Some("2006-03-01"),
        address_lines: &lines,
        postcode: Some("N17 6AA"),
        ..Default::default()
    };
    let mention = person.to_mention();
    assert_eq!(mention.key, "north-met-police/DA-2007-0412/c");
    assert!(
        mention
            .values
            .contains(&("address".to_string(), "12 Example Road London".to_string()))
    );
    assert!(
        mention
            .values
            .contains(&("agency".to_string(), "north-met-police".to_string()))
    );
}

#[test]
fn train_and_link_equals_incremental_with_its_frozen_model() {
    let (mentions, _) = uk_fixture(21, 150, 400);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let settings = Settings::uk_persons().unwrap();
    let (batch, _) = LinkageIndex::train_and_link(
        settings.clone(),
        LinkScope::Dedupe,
        &mentions,
        &[],
        &mut rng,
    )
    .unwrap();
    let mut incremental = LinkageIndex::new(settings, batch.model().clone(), LinkScope::Dedupe);
    for mention in &mentions {
        incremental.add(mention).unwrap();
    }
    assert_eq!(batch.persons(), incremental.persons());
    assert_eq!(links_signature(&batch), links_signature(&incremental));
}

const CHAIN_SETTINGS: &str = r#"
name = "chain-test"
[limits]
block_records_max = 100
em_pairs_max = 1000
u_random_pairs = 1000
em_iterations_max = 10
cluster_pair_scores_max = 100
[thresholds]
link_probability = 0.95
review_probability = 0.5
merge_probability = 0.9
[[column]]
name = "all"
kind = "category"
[[column]]
name = "g"
kind = "category"
[[column]]
name = "h"
kind = "category"
[[column]]
name = "k"
kind = "category"
[[comparison]]
name = "g"
column = "g"
levels = [{ kind = "exact_normalised" }]
[[comparison]]
name = "h"
column = "h"
levels = [{ kind = "exact_normalised" }]
[[comparison]]
name = "k"
column = "k"
levels = [{ kind = "exact_normalised" }]
[[blocking]]
name = "all"
keys = [{ column = "all", key = "exact" }]
[training]
em_sessions = ["all"]
"#;

#[test]
fn a_weak_link_does_not_chain_two_clusters() {
    let settings = Settings::from_toml(CHAIN_SETTINGS).unwrap();
    let comparison = |name: &str, agree: f64| sightline_linkage::model::ComparisonModel {
        name: name.to_string(),
        labels: vec!["exact after normalisation".into(), "else".into()],
        m: vec![0.9, 0.1],
        u: vec![0.01, 0.99],
        log2_bayes_factor: vec![agree, -2.0],
        tf_levels: vec![false, false],
        tf: None,
    };
    let model = Model {
        prior_log2_odds: 0.0,
        comparisons: vec![
            comparison("g", 10.0),
            comparison("h", 10.0),
            comparison("k", 12.0),
        ],
    };
    let record = |key: &str, g: &str, h: &str, k: &str| {
        MentionInput::new(key)
            .with("all", "x")
            .with("g", g)
            .with("h", h)
            .with("k", k)
    };
    // A-B share g (weight 6), C-D share g and h (18), B-C share only k (8); A-C, A-D and B-D share nothing.
    let mentions = vec![
        record("a", "1", "a", "p"),
        record("b", "1", "b", "q"),
        record("c", "2", "c", "q"),
        record("d", "2", "c", "r"),
    ];
    let index = LinkageIndex::batch(settings, model, LinkScope::Dedupe, &mentions, &[]).unwrap();
    assert!(
        index
            .links()
            .iter()
            .any(|l| (l.left, l.right) == (1, 2) && l.kind == LinkKind::Auto)
    );
    let persons = index.persons();
    assert_eq!(persons[0], persons[1]);
    assert_eq!(persons[2], persons[3]);
    assert_ne!(
        persons[1], persons[2],
        "the B-C link alone must not merge {{A,B}} with {{C,D}}"
    );
}

/// The frozen 1M-record model (tests/fixtures/uk_model_1m.toml) with the built-in settings.
fn frozen_uk_model() -> (Settings, Model) {
    let settings = Settings::uk_persons().unwrap();
    let model = Model::from_toml(include_str!("fixtures/uk_model_1m.toml"), &settings).unwrap();
    (settings, model)
}

fn household_member(key: &str, given: &str, dob: &str, sex: &str) -> MentionInput {
    MentionInput::new(key)
        .with("given_names", given)
        .with("family_name", "Hartley")
        .with("dob", dob)
        .with("sex", sex)
        .with("postcode", "AB1 2CD")
        .with("address", "12 Acorn Road Ashcombe")
}

/// Household look-alikes share surname, address and postcode; whether two
/// mentions are one person is decided by given name, date of birth and sex.
#[test]
fn household_look_alikes_table() {
    let (settings, model) = frozen_uk_model();
    let moved = household_member("b", "James", "1980-05-12", "male")
        .with("postcode", "LS9 7QT")
        .with("address", "3 Canal Close Kirkmoor");
    let cases: Vec<(&str, MentionInput, MentionInput, bool)> = vec![
        (
            "twins, different given names, same sex and date of birth",
            household_member("a", "Oliver", "2015-04-03", "male"),
            household_member("b", "Harry", "2015-04-03", "male"),
            false,
        ),
        (
            "twins, different given names and sex",
            household_member("a", "Oliver", "2015-04-03", "male"),
            household_member("b", "Isla", "2015-04-03", "female"),
            false,
        ),
        (
            "parent and child sharing a given name, different birth years",
            household_member("a", "James", "1980-05-12", "male"),
            household_member("b", "James", "2008-09-30", "male"),
            false,
        ),
        (
            "parent and child sharing a given name, the child's date as a year only",
            household_member("a", "James", "1980-05-12", "male"),
            household_member("b", "James", "2008", "male"),
            false,
        ),
        (
            "siblings sharing surname and address",
            household_member("a", "Amelia", "2010-01-02", "female"),
            household_member("b", "Isla", "2012-07-08", "female"),
            false,
        ),
        (
            "one person: nickname and day and month transposed",
            household_member("a", "James", "1980-05-12", "male"),
            household_member("b", "Jim", "1980-12-05", "male"),
            true,
        ),
        (
            "one person: date of birth mistyped by a day",
            household_member("a", "James", "1980-05-12", "male"),
            household_member("b", "James", "1980-05-13", "male"),
            true,
        ),
        (
            "one person who moved",
            household_member("a", "James", "1980-05-12", "male"),
            moved,
            true,
        ),
        (
            "one person: date of birth missing on one record (household evidence counts in full)",
            household_member("a", "Rebecca", "1980-05-12", "female"),
            household_member("b", "Rebecca", "", "female"),
            true,
        ),
        (
            "siblings, date of birth missing on one record",
            household_member("a", "Amelia", "2010-01-02", "female"),
            household_member("b", "Isla", "", "female"),
            false,
        ),
    ];
    for (case, left, right, same) in cases {
        let index = LinkageIndex::batch(
            settings.clone(),
            model.clone(),
            LinkScope::Dedupe,
            &[left, right],
            &[],
        )
        .unwrap();
        let explanation = index.explain(0, 1).unwrap();
        assert_eq!(
            index.persons()[0] == index.persons()[1],
            same,
            "{case}: {explanation:#?}"
        );
        let total: f64 =
            explanation.prior_weight + explanation.fields.iter().map(|f| f.weight).sum::<f64>();
        assert!((total - explanation.match_weight).abs() < 1e-9, "{case}");
    }
}

/// Shared surname, address and postcode count once: the explanation shows the
/// strongest at most at the group's cap and the others at zero, with the reason.
#[test]
fn household_evidence_counts_once_in_the_explanation() {
    let (settings, model) = frozen_uk_model();
    let cap = settings.evidence_groups[0].weight_max;
    let index = LinkageIndex::batch(
        settings,
        model,
        LinkScope::Dedupe,
        &[
            household_member("a", "Oliver", "2015-04-03", "male"),
            household_member("b", "Harry", "2015-04-03", "male"),
        ],
        &[],
    )
    .unwrap();
    let explanation = index.explain(0, 1).unwrap();
    let household: Vec<_> = explanation
        .fields
        .iter()
        .filter(|f| ["family_name", "postcode", "address"].contains(&f.field.as_str()))
        .collect();
    let counted: f64 = household.iter().map(|f| f.weight).sum();
    assert!(counted > 0.0 && counted <= cap + 1e-9, "{household:#?}");
    assert_eq!(household.iter().filter(|f| f.weight == 0.0).count(), 2);
    assert!(
        household
            .iter()
            .filter(|f| f.weight == 0.0)
            .all(|f| f.level.contains("counted once as household evidence")),
        "{household:#?}"
    );
}

/// With the date of birth missing, every household agreement counts, up to
/// the `when_unknown` cap, and the explanation says so.
#[test]
fn household_evidence_counts_in_full_when_the_date_of_birth_is_missing() {
    let (settings, model) = frozen_uk_model();
    let group = settings.evidence_groups[0].clone();
    let cap = group.when_unknown.as_ref().unwrap().weight_max;
    assert!(cap > group.weight_max);
    let index = LinkageIndex::batch(
        settings,
        model,
        LinkScope::Dedupe,
        &[
            household_member("a", "Rebecca", "1980-05-12", "female"),
            household_member("b", "Rebecca", "", "female"),
        ],
        &[],
    )
    .unwrap();
    let explanation = index.explain(0, 1).unwrap();
    let household: Vec<_> = explanation
        .fields
        .iter()
        .filter(|f| ["family_name", "postcode", "address"].contains(&f.field.as_str()))
        .collect();
    let counted: f64 = household.iter().map(|f| f.weight).sum();
    assert!(
        counted > group.weight_max && counted <= cap + 1e-9,
        "{household:#?}"
    );
    assert!(
        household.iter().all(|f| !f.level.contains("counted once")),
        "{household:#?}"
    );
    let total: f64 =
        explanation.prior_weight + explanation.fields.iter().map(|f| f.weight).sum::<f64>();
    assert!((total - explanation.match_weight).abs() < 1e-9);
    let scored = index.links().first().map(|l| l.match_weight);
    assert!(
        scored.is_some_and(|w| (w - explanation.match_weight).abs() < 1e-9),
        "{scored:?} {explanation:#?}"
    );
}

/// Twins share surname, address, postcode and date of birth; with given names
/// that disagree entirely, the household counts at most the `when_apart` cap,
/// and the explanation says why.
#[test]
fn household_evidence_is_capped_when_the_given_names_disagree() {
    let (settings, model) = frozen_uk_model();
    let group = settings.evidence_groups[0].clone();
    let apart = group.when_apart.as_ref().unwrap().weight_max;
    assert!(apart < group.weight_max);
    let explain = |left: MentionInput, right: MentionInput| {
        LinkageIndex::batch(
            settings.clone(),
            model.clone(),
            LinkScope::Dedupe,
            &[left, right],
            &[],
        )
        .unwrap()
        .explain(0, 1)
        .unwrap()
    };
    let household_weight = |explanation: &sightline_linkage::model::Explanation| -> f64 {
        explanation
            .fields
            .iter()
            .filter(|f| ["family_name", "postcode", "address"].contains(&f.field.as_str()))
            .map(|f| f.weight)
            .sum()
    };
    let twins = explain(
        household_member("a", "Oliver", "2015-04-03", "male"),
        household_member("b", "Harry", "2015-04-03", "male"),
    );
    assert!(
        (household_weight(&twins) - apart).abs() < 1e-9,
        "{twins:#?}"
    );
    assert!(
        twins.fields.iter().any(|f| f
            .level
            .contains("capped as household evidence (given_names disagree)")),
        "{twins:#?}"
    );
    let total: f64 = twins.prior_weight + twins.fields.iter().map(|f| f.weight).sum::<f64>();
    assert!((total - twins.match_weight).abs() < 1e-9);
    // A nickname is not a disagreement: the household counts to its usual cap.
    let one_person = explain(
        household_member("a", "James", "1980-05-12", "male"),
        household_member("b", "Jim", "1980-05-12", "male"),
    );
    assert!(household_weight(&one_person) > apart, "{one_person:#?}");
    // Missing given names are unknown, not apart.
    let unnamed = explain(
        household_member("a", "James", "1980-05-12", "male"),
        household_member("b", "", "1980-05-12", "male"),
    );
    assert!(household_weight(&unnamed) > apart, "{unnamed:#?}");
}

#[test]
fn evidence_group_settings_are_checked() {
    let base = sightline_linkage::settings::UK_PERSONS_TOML;
    let unknown = base.replace(
        "comparisons = [\"family_name\", \"postcode\", \"address\"]",
        "comparisons = [\"family_name\", \"postcod\"]",
    );
    assert!(Settings::from_toml(&unknown).is_err());
    let negative = base.replace("weight_max = 11.0", "weight_max = -1.0");
    assert!(Settings::from_toml(&negative).is_err());
    let without: String = base
        .split("[[evidence_group]]")
        .next()
        .map(|head| {
            format!(
                "{head}[training]{}",
                base.split("[training]").nth(1).unwrap()
            )
        })
        // Relational evidence names the group it overlaps: gone with it.
        .map(|text| text.replace("overlaps = \"household\"\n", ""))
        .unwrap();
    let when_unknown = "when_unknown = { comparison = \"dob\", weight_max = 12.0 }";
    assert!(base.contains(when_unknown));
    for bad in [
        "when_unknown = { comparison = \"dobb\", weight_max = 12.0 }",
        "when_unknown = { comparison = \"postcode\", weight_max = 12.0 }",
        "when_unknown = { comparison = \"dob\", weight_max = -2.0 }",
        "when_unknown = { comparison = \"dob\", weight_max = 12.0, levels = [{ kind = \"postcode_sector\" }] }",
    ] {
        assert!(
            Settings::from_toml(&base.replace(when_unknown, bad)).is_err(),
            "{bad}"
        );
    }
    let partial = Settings::from_toml(&base.replace(
        when_unknown,
        "when_unknown = { comparison = \"dob\", weight_max = 12.0, levels = [{ kind = \"date_partial_agree\" }] }",
    ))
    .unwrap();
    let unknown = partial.evidence_groups[0].when_unknown.as_ref().unwrap();
    assert_eq!(
        unknown.levels,
        vec![sightline_linkage::store::NULL_LEVEL, 2]
    );
    let when_apart = "when_apart = { comparison = \"given_names\", weight_max = 4.0 }";
    assert!(base.contains(when_apart));
    for bad in [
        "when_apart = { comparison = \"given_name\", weight_max = 4.0 }",
        "when_apart = { comparison = \"address\", weight_max = 4.0 }",
        "when_apart = { comparison = \"given_names\", weight_max = -4.0 }",
        "when_apart = { comparison = \"given_names\", weight_max = 4.0, levels = [{ kind = \"date_exact\" }] }",
        "when_apart = { comparison = \"given_names\", weight_max = 4.0, colour = 1 }",
    ] {
        assert!(
            Settings::from_toml(&base.replace(when_apart, bad)).is_err(),
            "{bad}"
        );
    }
    let given_levels = partial
        .comparisons
        .iter()
        .find(|c| c.name == "given_names")
        .unwrap()
        .levels
        .len() as u8;
    let apart = partial.evidence_groups[0].when_apart.as_ref().unwrap();
    assert_eq!(apart.levels, vec![given_levels], "the else level");
    let plain = Settings::from_toml(&without).unwrap();
    assert!(plain.evidence_groups.is_empty());
    assert!(plain.comparisons.iter().all(|c| c.evidence_group.is_none()));
}

// Relational evidence: the people named beside a mention in its record.

/// A person in a record: key, values, and relations to the record's other
/// persons by position.
fn in_record(
    group: u64,
    key: &str,
    given: Option<&str>,
    family: &str,
    dob: Option<&str>,
    address: Option<(&str, &str)>,
    relations: Vec<(u16, Kin)>,
) -> MentionInput {
    let mut mention = MentionInput::new(key)
        .with("family_name", family)
        .with_context(MentionContext {
            group,
            beside: true,
            relations,
        });
    if let Some(given) = given {
        mention = mention.with("given_names", given);
    }
    if let Some(dob) = dob {
        mention = mention.with("dob", dob);
    }
    if let Some((lines, postcode)) = address {
        mention = mention.with("address", lines).with("postcode", postcode);
    }
    mention
}

const HOME: (&str, &str) = ("Flat 4 27 Carlow Row Eastbrook", "E7 9QX");

/// Two agencies' records about a child and the mother, then a police log
/// naming the child by first name and the mother's surname only, beside the
/// mother (no date of birth, the address on the mother).
fn child_and_mother_records(police_child: &str, mother_kin: Kin) -> Vec<MentionInput> {
    let full = |group: u64, agency: &str| {
        vec![
            in_record(
                group,
                &format!("{agency}/child"),
                Some("Tyrese"),
                "Lindsay",
                Some("2003-01-11"),
                Some(HOME),
                vec![],
            ),
            in_record(
                group,
                &format!("{agency}/mother"),
                Some("Marcia"),
                "Campbell",
                Some("1981-06-02"),
                Some(HOME),
                vec![(0, Kin::ParentOf)],
            ),
        ]
    };
    let mut mentions = full(0, "gp");
    mentions.extend(full(1, "csc"));
    mentions.push(in_record(
        2,
        "police/child",
        Some(police_child),
        "Campbell",
        None,
        None,
        vec![],
    ));
    mentions.push(in_record(
        2,
        "police/mother",
        Some("Marcia"),
        "Campbell",
        None,
        Some(HOME),
        vec![(0, mother_kin)],
    ));
    mentions
}

fn linked_both_ways(mentions: &[MentionInput]) -> LinkageIndex {
    let (settings, model) = frozen_uk_model();
    let batch = LinkageIndex::batch(
        settings.clone(),
        model.clone(),
        LinkScope::Dedupe,
        mentions,
        &[],
    )
    .unwrap();
    let mut incremental = LinkageIndex::new(settings, model, LinkScope::Dedupe);
    let mut group: Vec<MentionInput> = Vec::new();
    for mention in mentions {
        if group.first().is_some_and(|first| {
            first.context != mention.context
                && first.context.as_ref().map(|c| c.group)
                    != mention.context.as_ref().map(|c| c.group)
        }) {
            incremental.add_group(&group).unwrap();
            group.clear();
        }
        group.push(mention.clone());
    }
    incremental.add_group(&group).unwrap();
    assert_eq!(batch.persons(), incremental.persons());
    assert_eq!(links_signature(&batch), links_signature(&incremental));
    batch
}

#[test]
fn a_child_named_by_name_alone_beside_its_mother_is_linked() {
    let index = linked_both_ways(&child_and_mother_records("Tyrese", Kin::ParentOf));
    let (gp_child, police_child, csc_child) = (0, 4, 2);
    assert_eq!(index.person(police_child), index.person(gp_child));
    let explanation = index.explain(csc_child, police_child).unwrap();
    let relational = explanation.relational.clone().unwrap();
    assert_eq!(
        relational.shared_people,
        vec![(3, 5)],
        "the mothers of both records"
    );
    assert!(
        relational.shared_address.is_some(),
        "the police log has the address on the mother"
    );
    let cap = index
        .settings()
        .relational
        .as_ref()
        .unwrap()
        .weight_max(explanation.prior_weight);
    assert!(
        relational.weight > 0.0 && relational.weight <= cap,
        "{relational:?}"
    );
    assert!(
        explanation.prior_weight + relational.weight < 0.0,
        "never enough alone"
    );
    let row = explanation
        .fields
        .iter()
        .find(|f| f.field == "people named beside")
        .unwrap();
    assert_eq!(row.weight, relational.weight);
    let sum: f64 =
        explanation.prior_weight + explanation.fields.iter().map(|f| f.weight).sum::<f64>();
    assert!(
        (sum - explanation.match_weight).abs() < 1e-9,
        "the waterfall adds up"
    );
    assert!(explanation.match_probability >= 0.95, "{explanation:?}");
}

#[test]
fn without_the_mother_beside_it_the_name_alone_does_not_link() {
    let mut mentions = child_and_mother_records("Tyrese", Kin::ParentOf);
    mentions.pop();
    let index = linked_both_ways(&mentions);
    assert_ne!(index.person(4), index.person(0));
}

#[test]
fn people_beside_never_link_names_that_disagree() {
    // A sister named by name alone beside the same mother is another child.
    let index = linked_both_ways(&child_and_mother_records("Shanice", Kin::ParentOf));
    assert_ne!(index.person(4), index.person(0));
    let relational = index.explain(2, 4).unwrap().relational.unwrap();
    assert_eq!(relational.not_counted, Some(NotCounted::NamesDisagree));
    assert_eq!(relational.weight, 0.0);
    assert!(relational.weight_found > 0.0);
}

#[test]
fn people_beside_count_only_when_their_relationships_agree() {
    // The mother of the child in two records is recorded as the police
    // mention's partner: a man of the child's name, not the child.
    let index = linked_both_ways(&child_and_mother_records("Tyrese", Kin::PartnerOf));
    let relational = index.explain(2, 4).unwrap().relational.unwrap();
    assert!(relational.shared_people.is_empty(), "{relational:?}");
}

#[test]
fn people_beside_never_link_dates_of_birth_that_conflict() {
    let mut mentions = child_and_mother_records("Tyrese", Kin::ParentOf);
    mentions[4] = mentions[4].clone().with("dob", "2009-07-30");
    let index = linked_both_ways(&mentions);
    assert_ne!(index.person(4), index.person(0));
    let relational = index.explain(2, 4).unwrap().relational.unwrap();
    assert_eq!(relational.not_counted, Some(NotCounted::DatesConflict));
}

#[test]
fn people_beside_add_nothing_the_household_already_says() {
    // Two sisters, Freya Nancy (born 2016) and Freya (no date of birth on
    // social care's record), each named beside their mother at one address.
    // The mother beside both says they are of one family, as their surname
    // and address already do: counted once, the older sister stays apart.
    let family = |group: u64, agency: &str, child: &str, dob: Option<&str>| {
        vec![
            in_record(
                group,
                &format!("{agency}/child"),
                Some(child),
                "Simpson",
                dob,
                Some(HOME),
                vec![],
            ),
            in_record(
                group,
                &format!("{agency}/mother"),
                Some("Alison"),
                "Simpson",
                Some("1991-10-03"),
                Some(HOME),
                vec![(0, Kin::ParentOf)],
            ),
        ]
    };
    let mut mentions = family(0, "gp", "Freya Nancy", Some("2016-02-02"));
    mentions.extend(family(1, "school", "Freya Nancy", Some("2016-02-02")));
    mentions.extend(family(2, "csc", "Freya", None));
    let index = linked_both_ways(&mentions);
    assert_eq!(index.person(0), index.person(2));
    assert_ne!(index.person(4), index.person(0), "the older sister");
    let explanation = index.explain(2, 4).unwrap();
    let relational = explanation.relational.clone().unwrap();
    assert_eq!(relational.shared_people, vec![(3, 5)], "the mother");
    assert!(relational.already_counted > 0.0, "{relational:?}");
    assert_eq!(
        relational.weight,
        relational.weight_found - relational.already_counted
    );
    assert!(
        relational.label().contains("household evidence"),
        "{}",
        relational.label()
    );
}

#[test]
fn relational_evidence_is_capped() {
    let (settings, model) = frozen_uk_model();
    let cap = settings
        .relational
        .as_ref()
        .unwrap()
        .weight_max(model.prior_log2_odds);
    // Three people beside both: at most the cap.
    let record = |group: u64, prefix: &str, child: (Option<&str>, &str, Option<&str>)| {
        vec![
            in_record(
                group,
                &format!("{prefix}/c"),
                child.0,
                child.1,
                child.2,
                None,
                vec![],
            ),
            in_record(
                group,
                &format!("{prefix}/m"),
                Some("Marcia"),
                "Campbell",
                Some("1981-06-02"),
                Some(HOME),
                vec![(0, Kin::ParentOf)],
            ),
            in_record(
                group,
                &format!("{prefix}/g"),
                Some("Winston"),
                "Campbell",
                Some("1950-02-14"),
                Some(("12 Tennyson Walk", "E7 0DT")),
                vec![(0, Kin::GrandparentOf)],
            ),
            in_record(
                group,
                &format!("{prefix}/a"),
                Some("Paulette"),
                "Campbell",
                Some("1984-09-09"),
                Some(("31 Ruskin Terrace", "SE15 4NH")),
                vec![(0, Kin::Other)],
            ),
        ]
    };
    let mut mentions = record(0, "csc", (Some("Tyrese"), "Lindsay", Some("2003-01-11")));
    mentions.extend(record(1, "police", (Some("Tyrese"), "Campbell", None)));
    let index = LinkageIndex::batch(settings, model, LinkScope::Dedupe, &mentions, &[]).unwrap();
    let relational = index.explain(0, 4).unwrap().relational.unwrap();
    assert_eq!(relational.shared_people.len(), 3);
    assert_eq!(relational.weight, cap);
}

#[test]
fn relational_settings_are_checked() {
    let base = sightline_linkage::settings::UK_PERSONS_TOML;
    for (from, to) in [
        (
            "further_person_weight = 2.0",
            "further_person_weight = -1.0",
        ),
        ("group_mentions_max = 16", "group_mentions_max = 100"),
        ("candidates_max = 64", "candidates_max = 0"),
        ("overlaps = \"household\"", "overlaps = \"househol\""),
        (
            "comparison = \"given_names\", levels = [{ kind = \"exact_normalised\" }",
            "comparison = \"given_name\", levels = [{ kind = \"exact_normalised\" }",
        ),
        (
            "dates = { comparison = \"dob\", levels = [{ kind = \"date_exact\" }",
            "dates = { comparison = \"dob\", levels = [{ kind = \"date_year\" }, { kind = \"exact\" }",
        ),
    ] {
        assert!(base.contains(from), "{from}");
        let text = base.replace(from, to);
        assert!(
            matches!(
                Settings::from_toml(&text),
                Err(sightline_linkage::LinkageError::Settings(_))
            ),
            "{to}"
        );
    }
}

#[test]
fn a_group_is_added_whole() {
    let (settings, model) = frozen_uk_model();
    let mut index = LinkageIndex::new(settings, model, LinkScope::Dedupe);
    let mentions = child_and_mother_records("Tyrese", Kin::ParentOf);
    index.add(&mentions[0]).unwrap();
    // The mother of the same record, added after it: refused (the group was complete).
    assert!(index.add(&mentions[1]).is_err());
    // Mentions of two groups in one call: refused.
    assert!(index.add_group(&mentions[2..5]).is_err());
}

/// Families of a child and its mother (and sometimes a grandparent), each
/// record naming the child beside one or two of them, some by name alone;
/// names and dates from few values so look-alikes abound.
fn family_records(seed: u64, n_families: usize, n_records: usize) -> Vec<MentionInput> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let children = ["Tyrese", "Shanice", "Leo", "Amelia", "Jack"];
    let adults = ["Marcia", "Winston", "Tracy", "Paul"];
    let families = ["Campbell", "Lindsay", "Smith"];
    let mut mentions = Vec::new();
    for group in 0..n_records as u64 {
        let family = rng.random_range(0..n_families);
        let surname = families[family % families.len()];
        let child_given = children[family % children.len()];
        let name_only = rng.random_bool(0.4);
        let mut record = vec![in_record(
            group,
            &format!("r{group}/c"),
            rng.random_bool(0.9).then_some(child_given),
            if rng.random_bool(0.3) {
                "Other"
            } else {
                surname
            },
            (!name_only).then(|| ["2003-01-11", "2005-03-02", "2010-07-30"][family % 3]),
            (!name_only && rng.random_bool(0.7)).then_some(HOME),
            vec![],
        )];
        let n_beside = rng.random_range(0..3);
        for (position, adult) in adults
            .iter()
            .cycle()
            .skip(family)
            .take(n_beside)
            .enumerate()
        {
            let kin = [
                Kin::ParentOf,
                Kin::GrandparentOf,
                Kin::PartnerOf,
                Kin::Other,
            ][rng.random_range(0..4)];
            let mut beside = in_record(
                group,
                &format!("r{group}/a{position}"),
                Some(adult),
                surname,
                rng.random_bool(0.5).then_some("1981-06-02"),
                rng.random_bool(0.6).then_some(HOME),
                if rng.random_bool(0.8) {
                    vec![(0, kin)]
                } else {
                    vec![]
                },
            );
            if let Some(context) = beside.context.as_mut() {
                context.beside = rng.random_bool(0.9);
            }
            record.push(beside);
        }
        mentions.extend(record);
    }
    mentions
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// With people beside each mention, record by record (groups) gives the
    /// links and persons of a batch, and of a batch trained on the same
    /// mentions with its frozen model.
    #[test]
    fn relational_incremental_equals_batch(seed in 0u64..10_000, n_families in 1usize..6, n_records in 1usize..40) {
        let (settings, model) = frozen_uk_model();
        let mentions = family_records(seed, n_families, n_records);
        let batch = LinkageIndex::batch(settings.clone(), model.clone(), LinkScope::Dedupe, &mentions, &[]).unwrap();
        let mut incremental = LinkageIndex::new(settings.clone(), model, LinkScope::Dedupe);
        let mut at = 0;
        while at < mentions.len() {
            let group = mentions[at].context.as_ref().map(|c| c.group);
            let len = mentions[at..].iter().take_while(|m| m.context.as_ref().map(|c| c.group) == group).count();
            let outcomes = incremental.add_group(&mentions[at..at + len]).unwrap();
            prop_assert_eq!(outcomes.len(), len);
            at += len;
        }
        prop_assert_eq!(batch.persons(), incremental.persons());
        prop_assert_eq!(links_signature(&batch), links_signature(&incremental));
        prop_assert_eq!(batch.conflicts(), incremental.conflicts());

        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (trained, _) = LinkageIndex::train_and_link(settings.clone(), LinkScope::Dedupe, &mentions, &[], &mut rng).unwrap();
        let again = LinkageIndex::batch(settings, trained.model().clone(), LinkScope::Dedupe, &mentions, &[]).unwrap();
        prop_assert_eq!(trained.persons(), again.persons());
        prop_assert_eq!(links_signature(&trained), links_signature(&again));
    }
}
