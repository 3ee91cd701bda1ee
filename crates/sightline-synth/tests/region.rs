#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Generates small regions and checks them against the interchange spec, Sightline's
//! own parser, the ground truth and the configured rates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{TimeZone, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sightline_core::interchange::{Format, Limits, parse_batch};
use sightline_synth::{
    SynthConfig, SynthSummary, generate, generate_with_threads, nhs_number_valid,
    postcode_shape_valid,
};

const KINDS: &[&str] = &[
    "person.registered",
    "address.recorded",
    "relationship.recorded",
    "health.ed_attendance",
    "health.admission",
    "health.gp_consultation",
    "health.health_visitor_contact",
    "health.cp_medical",
    "health.appointment_missed",
    "health.pregnancy",
    "health.birth",
    "police.domestic_incident",
    "police.call_out",
    "police.arrest",
    "justice.conviction",
    "justice.release",
    "education.concern",
    "education.absence",
    "social_care.referral",
    "social_care.assessment",
    "social_care.strategy_discussion",
    "social_care.section47",
    "social_care.conference",
    "social_care.plan",
    "social_care.visit",
    "social_care.placement",
    "social_care.legal_planning",
    "social_care.case_closed",
    "housing.occupancy",
    "probation.contact",
    "other.note",
];
const FINDINGS: &[&str] = &[
    "injury",
    "not_independently_mobile",
    "faltering_growth",
    "food_seeking",
    "poor_hygiene",
    "disclosure",
    "domestic_abuse",
    "parent_substance_misuse",
    "parent_mental_health",
    "non_engagement",
    "child_not_seen",
    "unknown_adult_present",
    "offence",
    "allegation",
];
const ROLES: &[&str] = &[
    "subject",
    "parent",
    "carer",
    "partner",
    "household_member",
    "visitor",
    "alleged_perpetrator",
    "referrer",
    "professional",
    "other",
];
const RELATIONSHIPS: &[&str] = &[
    "parent_of",
    "step_parent_of",
    "carer_of",
    "partner_of",
    "sibling_of",
    "lives_with",
    "visits",
    "other",
];

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sightline-synth-test-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn config(children: u64, seed: u64, overrides: &str) -> SynthConfig {
    let mut config = SynthConfig::from_toml_overrides(overrides).unwrap();
    config.children = children;
    config.seed = seed;
    config
}

/// One region shared by the checks that only read it.
fn shared_region() -> &'static (PathBuf, SynthSummary) {
    static REGION: OnceLock<(PathBuf, SynthSummary)> = OnceLock::new();
    REGION.get_or_init(|| {
        let dir = scratch_dir("shared");
        let summary = generate(&config(1_500, 7, ""), &dir).unwrap();
        (dir, summary)
    })
}

fn jsonl_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "jsonl")
        })
        .collect();
    files.sort();
    files
}

fn records(dir: &Path) -> Vec<Value> {
    jsonl_files(dir)
        .iter()
        .flat_map(|path| {
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .map(|line| serde_json::from_str::<Value>(line).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn hash_dir(dir: &Path) -> String {
    let mut hasher = Sha256::new();
    let mut paths: Vec<PathBuf> = jsonl_files(dir);
    let mut truth: Vec<PathBuf> = std::fs::read_dir(dir.join("truth"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    truth.sort();
    paths.extend(truth);
    for path in paths {
        hasher.update(path.file_name().unwrap().to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&path).unwrap());
    }
    format!("{:x}", hasher.finalize())
}

#[test]
fn every_file_passes_sightlines_own_validation() {
    let (dir, summary) = shared_region();
    let received_at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut n_records = 0;
    for path in jsonl_files(dir) {
        let bytes = std::fs::read(&path).unwrap();
        match parse_batch(&bytes, Format::JsonLines, received_at, &Limits::default()) {
            Ok(parsed) => n_records += parsed.len() as u64,
            Err(rejected) => panic!("{} rejected: {rejected:?}", path.display()),
        }
    }
    assert_eq!(n_records, summary.records);
    assert!(summary.files.len() >= 20, "{:?}", summary.files);
}

#[test]
fn the_organisation_names_every_agency_with_its_type() {
    use sightline_core::org::{AgencyType, Organisation};
    let (dir, summary) = shared_region();
    let text = std::fs::read_to_string(dir.join(sightline_synth::ORGANISATION_FILE)).unwrap();
    let organisation = Organisation::parse(&text).unwrap_or_else(|problems| {
        panic!("{problems:?}");
    });
    assert!(summary.records_by_agency.len() >= 20);
    for (agency, kinds) in &summary.records_by_agency {
        let profile = organisation
            .agency(agency)
            .unwrap_or_else(|| panic!("{agency} is not named"));
        assert!(!profile.name.contains('-'), "{agency}: {}", profile.name);
        assert_eq!(profile.local_authority, sightline_synth::LOCAL_AUTHORITY_ID);
        // The type the file gives is the one its records suggest (a hospital
        // sends health records, the police court convictions too).
        let suggested = AgencyType::from_kinds(kinds.keys().map(String::as_str));
        assert_eq!(profile.agency_type, suggested, "{agency}");
    }
    let names: BTreeSet<&str> = organisation
        .agencies()
        .map(|agency| agency.name.as_str())
        .collect();
    assert_eq!(
        names.len(),
        organisation.agencies().count(),
        "display names are unique"
    );
    assert_eq!(
        organisation.default_local_authority().duty_team.as_route(),
        "team:social-care/duty"
    );
    assert!(organisation.health_safeguarding_lead().is_some());
    assert!(organisation.police_safeguarding().is_some());
    // The same file for the same configuration, with or without generating.
    assert_eq!(
        sightline_synth::organisation_toml(&config(1_500, 7, "")).unwrap(),
        text
    );
}

#[test]
fn records_have_the_spec_shape() {
    let (dir, summary) = shared_region();
    let reference_end = format!("{}T23:59:59Z", summary.reference_date);
    let mut n_nhs = 0;
    let mut n_postcodes = 0;
    for record in records(dir) {
        let agency = record["source"]["agency"].as_str().unwrap();
        assert!(
            agency.len() >= 2
                && agency
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        );
        let kind = record["kind"].as_str().unwrap();
        assert!(KINDS.contains(&kind), "{kind}");
        let occurred = record["occurred_at"].as_str().unwrap();
        let recorded = record["recorded_at"].as_str().unwrap();
        assert!(
            recorded <= reference_end.as_str(),
            "{recorded} after the reference date"
        );
        assert!(
            recorded >= occurred || occurred.len() < 20,
            "{recorded} before {occurred}"
        );
        assert!(
            recorded[..10] >= occurred[..occurred.len().min(10)],
            "{recorded} before {occurred}"
        );
        let persons = record["persons"].as_array().unwrap();
        assert!(!persons.is_empty());
        let refs: BTreeSet<&str> = persons
            .iter()
            .map(|person| person["ref"].as_str().unwrap())
            .collect();
        assert_eq!(refs.len(), persons.len());
        for person in persons {
            assert!(ROLES.contains(&person["role"].as_str().unwrap()));
            assert!(
                person.get("nhs_number").is_some()
                    || person.get("source_person_id").is_some()
                    || person.get("given_names").is_some()
                    || person.get("family_name").is_some()
            );
            if let Some(nhs) = person.get("nhs_number") {
                assert!(nhs_number_valid(nhs.as_str().unwrap()), "{nhs}");
                n_nhs += 1;
            }
            if let Some(address) = person.get("address") {
                assert!(
                    postcode_shape_valid(address["postcode"].as_str().unwrap()),
                    "{address}"
                );
                n_postcodes += 1;
            }
        }
        for finding in record
            .get("findings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            assert!(
                FINDINGS.contains(&finding["code"].as_str().unwrap()),
                "{finding}"
            );
            for subject in finding
                .get("subjects")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                assert!(refs.contains(subject.as_str().unwrap()));
            }
        }
        for relationship in record
            .get("relationships")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            assert!(RELATIONSHIPS.contains(&relationship["type"].as_str().unwrap()));
            assert!(refs.contains(relationship["from"].as_str().unwrap()));
            assert!(refs.contains(relationship["to"].as_str().unwrap()));
        }
    }
    assert!(n_nhs > 1_000 && n_postcodes > 1_000);
}

#[test]
fn ground_truth_covers_every_mention() {
    let (dir, summary) = shared_region();
    let mentions = std::fs::read_to_string(dir.join("truth/mentions.csv")).unwrap();
    let truth: BTreeMap<(String, String, String), String> = mentions
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (
                (
                    fields[0].to_owned(),
                    fields[1].to_owned(),
                    fields[2].to_owned(),
                ),
                fields[3].to_owned(),
            )
        })
        .collect();
    let persons = std::fs::read_to_string(dir.join("truth/persons.csv")).unwrap();
    let known: BTreeSet<&str> = persons
        .lines()
        .skip(1)
        .map(|line| line.split(',').next().unwrap())
        .collect();
    let mut n_mentions = 0;
    for record in records(dir) {
        let agency = record["source"]["agency"].as_str().unwrap().to_owned();
        let record_id = record["source"]["record_id"].as_str().unwrap().to_owned();
        for person in record["persons"].as_array().unwrap() {
            let key = (
                agency.clone(),
                record_id.clone(),
                person["ref"].as_str().unwrap().to_owned(),
            );
            let true_id = truth
                .get(&key)
                .unwrap_or_else(|| panic!("no truth for {key:?}"));
            assert!(known.contains(true_id.as_str()));
            n_mentions += 1;
        }
    }
    assert_eq!(n_mentions, truth.len());
    assert_eq!(n_mentions as u64, summary.mentions);
    // One agency's person id always means one true person.
    let mut ids: BTreeMap<(String, String), String> = BTreeMap::new();
    for record in records(dir) {
        let agency = record["source"]["agency"].as_str().unwrap().to_owned();
        let record_id = record["source"]["record_id"].as_str().unwrap().to_owned();
        for person in record["persons"].as_array().unwrap() {
            let Some(person_id) = person.get("source_person_id").and_then(Value::as_str) else {
                continue;
            };
            let true_id = truth[&(
                agency.clone(),
                record_id.clone(),
                person["ref"].as_str().unwrap().to_owned(),
            )]
                .clone();
            let previous = ids
                .entry((agency.clone(), person_id.to_owned()))
                .or_insert_with(|| true_id.clone());
            assert_eq!(*previous, true_id);
        }
    }
    // Trajectories name a child and a first alerting record that exists.
    let trajectories = std::fs::read_to_string(dir.join("truth/trajectories.csv")).unwrap();
    let record_ids: BTreeSet<(String, String)> = truth
        .keys()
        .map(|(agency, record_id, _)| (agency.clone(), record_id.clone()))
        .collect();
    for line in trajectories.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        assert!(known.contains(fields[1]), "{line}");
        assert!(
            record_ids.contains(&(fields[4].to_owned(), fields[5].to_owned())),
            "{line}"
        );
    }
    let households = std::fs::read_to_string(dir.join("truth/households.csv")).unwrap();
    for line in households.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        assert!(known.contains(fields[1]));
        assert!(fields[4].is_empty() || fields[3] <= fields[4], "{line}");
    }
}

#[test]
fn same_seed_same_bytes_different_seed_different_region() {
    let first = scratch_dir("seed-a");
    let second = scratch_dir("seed-b");
    let third = scratch_dir("seed-c");
    generate_with_threads(&config(150, 11, ""), &first, 1).unwrap();
    generate_with_threads(&config(150, 11, ""), &second, 2).unwrap();
    generate(&config(150, 12, ""), &third).unwrap();
    assert_eq!(hash_dir(&first), hash_dir(&second));
    assert_ne!(hash_dir(&first), hash_dir(&third));
    let names = |dir: &Path| std::fs::read_to_string(dir.join("truth/persons.csv")).unwrap();
    assert_ne!(names(&first), names(&third));
    for dir in [first, second, third] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn within(measured: f64, expected: f64, tolerance: f64, what: &str) {
    let low = expected * (1.0 - tolerance);
    let high = expected * (1.0 + tolerance);
    assert!(
        measured >= low && measured <= high,
        "{what}: measured {measured:.4}, expected {expected:.4} +/- {:.0}%",
        tolerance * 100.0
    );
}

#[test]
fn everyday_rates_match_the_config() {
    let dir = scratch_dir("rates");
    let overrides = "[trajectories]\nshare_of_households = 0.0\n[rates]\nadult_gp_consultations_per_year = 0.0\npostnatal_mental_health_share = 0.0\n";
    let config = config(1_500, 5, overrides);
    let summary = generate(&config, &dir).unwrap();
    let bands: Vec<f64> = sightline_synth::AGE_BANDS
        .iter()
        .map(|band| summary.child_years_by_age_band[*band])
        .collect();
    let rates = &config.rates;
    let tolerance = config.tolerances.records_per_child_year;
    let expected = |per_band: [f64; 4]| {
        bands
            .iter()
            .zip(per_band)
            .map(|(years, rate)| years * rate)
            .sum::<f64>()
    };
    let gp_rates: Vec<f64> = rates
        .gp_consultations_per_child_year
        .iter()
        .zip(rates.gp_injuries_per_child_year)
        .map(|(a, b)| a + b)
        .collect();
    let gp_expected = bands
        .iter()
        .zip(&gp_rates)
        .map(|(years, rate)| years * rate)
        .sum::<f64>();
    within(
        summary.records_by_kind["health.gp_consultation"] as f64,
        gp_expected,
        tolerance,
        "GP consultations",
    );
    within(
        summary.records_by_kind["health.ed_attendance"] as f64,
        expected(rates.ed_attendances_per_child_year),
        tolerance,
        "ED attendances",
    );
    let child_years = summary.child_years();
    let referrals = summary.records_by_kind["social_care.referral"] as f64 / child_years;
    // Ordinary referrals plus police notifications of domestic incidents.
    assert!(
        referrals >= rates.social_care_referrals_per_child_year * (1.0 - tolerance),
        "referrals per child-year {referrals}"
    );
    assert!(
        referrals <= rates.social_care_referrals_per_child_year * 1.6,
        "referrals per child-year {referrals}"
    );
    let per_child_year = summary.records as f64 / child_years;
    assert!(
        (2.5..8.0).contains(&per_child_year),
        "records per child-year {per_child_year}"
    );
    assert_eq!(summary.n_trajectories(), 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn trajectory_share_and_noise_rates_match_the_config() {
    let (_, summary) = shared_region();
    let config = SynthConfig::defaults().unwrap();
    let share = summary.n_trajectories() as f64 / summary.households as f64;
    within(
        share,
        config.trajectories.share_of_households,
        config.tolerances.trajectory_share,
        "trajectory share",
    );
    assert!(
        summary
            .trajectories
            .values()
            .filter(|count| **count > 0)
            .count()
            >= 4,
        "{:?}",
        summary.trajectories
    );
    let tolerance = config.tolerances.noise;
    let mut checked = 0;
    for (name, profile) in config.noise.profiles() {
        let noise = &summary.noise[name];
        // A persistent error belongs to a person, so its share of mentions clusters by
        // person; only the per-record profiles have enough independent draws here.
        if profile.persistent || noise.mentions < 250 {
            continue;
        }
        checked += 1;
        let rate = |kind: &str| noise.applied[kind] as f64 / noise.mentions as f64;
        for (kind, configured) in [("typo", profile.typo), ("dob_missing", profile.dob_missing)] {
            if configured >= 0.01 {
                within(rate(kind), configured, tolerance, &format!("{name} {kind}"));
            }
        }
        if noise.nhs_eligible > 0 && profile.nhs_missing > 0.01 && profile.nhs_missing < 1.0 {
            let measured = noise.applied["nhs_missing"] as f64 / noise.nhs_eligible as f64;
            within(
                measured,
                profile.nhs_missing,
                tolerance,
                &format!("{name} nhs_missing"),
            );
        }
    }
    assert!(
        checked >= 2,
        "the police and emergency department profiles are checked"
    );
}

#[test]
fn trajectories_are_seen_by_several_agencies() {
    let (dir, _) = shared_region();
    let mentions = std::fs::read_to_string(dir.join("truth/mentions.csv")).unwrap();
    let trajectories = std::fs::read_to_string(dir.join("truth/trajectories.csv")).unwrap();
    let children: BTreeSet<&str> = trajectories
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(1).unwrap())
        .collect();
    let mut agencies: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for line in mentions.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        if children.contains(fields[3]) {
            let agency_type = fields[0].split('-').next().unwrap();
            agencies.entry(fields[3]).or_default().insert(agency_type);
        }
    }
    for child in children {
        let seen_by = agencies.get(child).map_or(0, BTreeSet::len);
        assert!(seen_by >= 3, "{child} seen by {seen_by} agency types");
    }
}
