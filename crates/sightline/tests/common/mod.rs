//! What the CLI tests share about a synthetic region's ground truth.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A record: (agency, record id).
pub type RecordKey = (String, String);

/// The region's ground truth (`truth/mentions.csv`): who each mention is.
pub struct RegionTruth {
    /// (agency, record id, person ref) -> the true person id.
    pub person_of: BTreeMap<(String, String, String), String>,
    /// True person id -> the records that mention them.
    pub records_of: BTreeMap<String, BTreeSet<RecordKey>>,
}

/// An adult whom linkage holds exactly as the truth does.
pub struct ExactAdult {
    /// Sightline's person id.
    pub person_id: String,
    /// The true person id.
    pub true_id: String,
    /// The records that mention them.
    pub records: BTreeSet<RecordKey>,
}

impl RegionTruth {
    /// Reads `REGION/truth/mentions.csv`.
    pub fn read(region: &Path) -> RegionTruth {
        let mentions_csv =
            std::fs::read_to_string(region.join("truth/mentions.csv")).expect("truth");
        let mut truth = RegionTruth {
            person_of: BTreeMap::new(),
            records_of: BTreeMap::new(),
        };
        for line in mentions_csv.lines().skip(1).filter(|line| !line.is_empty()) {
            let fields: Vec<&str> = line.split(',').collect();
            let [agency, record_id, person_ref, person_id] = fields[..] else {
                panic!("mentions.csv line {line}");
            };
            truth.person_of.insert(
                (agency.into(), record_id.into(), person_ref.into()),
                person_id.into(),
            );
            truth
                .records_of
                .entry(person_id.into())
                .or_default()
                .insert((agency.into(), record_id.into()));
        }
        truth
    }

    /// The adults of `persons` (the answer of `sightline persons --json`)
    /// whom linkage holds exactly as the truth does: every mention one true
    /// person's, and all of that person's records (a false merge or a split
    /// would be linkage's error, measured by `sightline evaluate`).
    pub fn exact_adults(&self, persons: &Value) -> Vec<ExactAdult> {
        let mut exact = Vec::new();
        for person in persons.as_array().expect("array") {
            if person["is_child"].as_bool() != Some(false) {
                continue;
            }
            let mut true_ids = BTreeSet::new();
            let mut records = BTreeSet::new();
            for mention in person["mentions"].as_array().expect("mentions") {
                let key = (
                    mention["agency"].as_str().unwrap().to_owned(),
                    mention["record_id"].as_str().unwrap().to_owned(),
                    mention["ref"].as_str().unwrap().to_owned(),
                );
                true_ids.insert(self.person_of.get(&key).cloned().unwrap_or_default());
                records.insert((key.0, key.1));
            }
            let [true_id] = <[String; 1]>::try_from(true_ids.into_iter().collect::<Vec<_>>())
                .unwrap_or_default();
            if true_id.is_empty() || self.records_of.get(&true_id) != Some(&records) {
                continue;
            }
            exact.push(ExactAdult {
                person_id: person["id"].as_str().unwrap().to_owned(),
                true_id,
                records,
            });
        }
        exact
    }
}
