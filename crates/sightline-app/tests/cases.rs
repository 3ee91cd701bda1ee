//! The case-review evaluation (`sightline_app::cases`) on a tiny synthetic case
//! (`tests/cases/t01-tiny`, invented, not from the corpus), on every backend:
//! one checkpoint met (with its alert, rule and lead time), one missed, the
//! burden and the linkage of the child; and every kind of problem in a case's
//! files named by file and line.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use chrono::{TimeZone, Utc};
use sightline_app::EngineConfig;
use sightline_app::cases::{
    CaseFiles, CaseProblem, DAYS_PER_MONTH, HOLD_DAYS, parse_case, replay_case, summarise,
};

const CASE_TOML: &str = include_str!("cases/t01-tiny/case.toml");
const RECORDS: &str = include_str!("cases/t01-tiny/records.jsonl");

fn files<'a>(case_toml: &'a str, records: &'a str) -> CaseFiles<'a> {
    CaseFiles {
        dir_name: "t01-tiny",
        case_toml_name: "t01-tiny/case.toml",
        case_toml,
        records_name: "t01-tiny/records.jsonl",
        records_jsonl: records.as_bytes(),
    }
}

#[test]
fn the_tiny_case_meets_one_checkpoint_and_misses_the_other() {
    let case = parse_case(&files(CASE_TOML, RECORDS)).expect("a valid case");
    assert_eq!(case.checkpoints.len(), 2);
    for database in sightline_testkit::all_databases() {
        let store = sightline_store::open(&database.url).expect("store");
        let pack = sightline_rules::default_pack().expect("pack");
        let report =
            replay_case(&case, store.as_ref(), pack, EngineConfig::default()).expect("replay");
        let backend = database.backend;

        let c1 = &report.checkpoints[0];
        let met = c1
            .met_by
            .as_ref()
            .unwrap_or_else(|| panic!("{backend:?}: c1 met"));
        assert_eq!(met.rule_id, "injury_unexplained", "{backend:?}");
        assert_eq!(met.severity, "high", "{backend:?}: high under 2");
        assert_eq!(met.via, "evidence");
        let recorded = Utc.with_ymd_and_hms(2021, 3, 1, 10, 0, 0).unwrap();
        assert_eq!(
            met.met_at, recorded,
            "{backend:?}: raised as the GP recorded it"
        );
        // From 10:00 on 1 March to the end of 5 March: 4 days 14 hours.
        assert!(
            (met.lead_days - (4.0 + 14.0 / 24.0)).abs() < 1e-9,
            "{}",
            met.lead_days
        );

        // The call-out is not among the alert's evidence, and the alert was high
        // before the call-out was recorded: the second checkpoint is missed.
        let c2 = &report.checkpoints[1];
        assert!(!c2.met, "{backend:?}: {c2:?}");
        assert_eq!(c2.alerts_by_then, ["injury_unexplained (high)"]);
        assert_eq!(c2.child_persons_by_then, 1);

        assert_eq!(report.checkpoints_met, 1);
        assert_eq!(report.alerts, 1);
        assert_eq!(report.high_alerts, 1);
        assert_eq!(report.rules.len(), 1);
        assert_eq!(report.rules[0].alerts_about_child, 1);
        assert_eq!((report.child_mentions, report.child_persons), (2, 1));
        // One high alert held HOLD_DAYS, over the period from the first record
        // to 30 days after the last checkpoint's day.
        let expected_months = HOLD_DAYS as f64 / DAYS_PER_MONTH;
        assert!((report.open_high_alert_months - expected_months).abs() < 1e-9);
        assert_eq!(report.open_high_alerts_peak, 1);
        let period_end = Utc.with_ymd_and_hms(2021, 7, 2, 0, 0, 0).unwrap();
        assert_eq!(
            (report.period_start, report.period_end),
            (recorded, period_end)
        );
        let case_months = (period_end - recorded).num_seconds() as f64 / 86_400.0 / DAYS_PER_MONTH;
        assert!((report.case_months - case_months).abs() < 1e-9);

        let summary = summarise(std::slice::from_ref(&report));
        assert_eq!((summary.checkpoints, summary.checkpoints_met), (2, 1));
        assert!((summary.share_met - 0.5).abs() < 1e-12);
        assert_eq!(summary.met_by_rule["injury_unexplained"], 1);
        assert_eq!(summary.cases_child_split, 0);
        // A replay has no accounts: its one open alert reached nobody, counted
        // once for the summary rather than warned of at every step.
        assert_eq!(report.alerts_routed_to_nobody_peak, 1);
        assert_eq!(
            (
                summary.cases_routed_to_nobody,
                summary.alerts_routed_to_nobody_peak
            ),
            (1, 1)
        );

        // A store that already holds records is refused.
        let pack = sightline_rules::default_pack().expect("pack");
        assert!(replay_case(&case, store.as_ref(), pack, EngineConfig::default()).is_err());
    }
}

fn problems(case_toml: &str, records: &str) -> Vec<String> {
    parse_case(&files(case_toml, records))
        .err()
        .unwrap_or_else(|| panic!("expected problems"))
        .iter()
        .map(CaseProblem::to_string)
        .collect()
}

fn check(case_toml: &str, records: &str, expected: &[&str]) {
    assert_eq!(problems(case_toml, records), expected);
}

#[test]
fn problems_name_the_file_and_line() {
    check(
        &CASE_TOML.replace("by = \"2021-03-05\"", "by = \"2021-02-30\""),
        RECORDS,
        &["t01-tiny/case.toml:26: checkpoint c1: by \"2021-02-30\" is not a date YYYY-MM-DD"],
    );
    check(
        &CASE_TOML.replace("northfield-police/CAD-7", "northfield-police/CAD-8"),
        RECORDS,
        &[
            "t01-tiny/case.toml:34: checkpoint c2: record \"northfield-police/CAD-8\" is not in t01-tiny/records.jsonl",
        ],
    );
    check(
        &CASE_TOML.replace("child = \"child\"", "child = \"kid\""),
        RECORDS,
        &[
            "t01-tiny/case.toml:6: child \"kid\" is not the ref of any person in t01-tiny/records.jsonl",
        ],
    );
    check(
        &CASE_TOML.replace("id = \"t01-tiny\"", "id = \"t02\""),
        RECORDS,
        &["t01-tiny/case.toml:4: id \"t02\" is not the directory's name \"t01-tiny\""],
    );
    check(
        &CASE_TOML.replace("harms = [\"physical_abuse\"]", "harms = [\"bruising\"]"),
        RECORDS,
        &[
            "t01-tiny/case.toml:16: \"bruising\" is not a known harm (known: physical_abuse, neglect, sexual_abuse, emotional_abuse, domestic_abuse, fabricated_illness, criminal_exploitation, sexual_exploitation)",
        ],
    );
    check(
        &CASE_TOML.replace(
            "source = \"Invented\"\n\n",
            "source = \"Invented\"\nsauce = 1\n\n",
        ),
        RECORDS,
        &[
            "t01-tiny/case.toml:30: unknown field `sauce`, expected one of `id`, `by`, `records`, `finding`, `source`, `child`",
        ],
    );
    check(
        &CASE_TOML.replace("id = \"c2\"", "id = \"c1\""),
        RECORDS,
        &["t01-tiny/case.toml:32: checkpoint id \"c1\" is used twice"],
    );
    // records.jsonl: interchange problems and a record without recorded_at.
    let bad = RECORDS
        .replacen("\"dob\": \"2020-01-10\"", "\"dob\": \"2020-13-10\"", 1)
        .replace(", \"recorded_at\": \"2021-05-21T08:00:00Z\"", "");
    check(
        CASE_TOML,
        &bad,
        &["t01-tiny/records.jsonl:1: persons[0].dob: \"2020-13-10\" is not a date (month 13)"],
    );
    check(
        CASE_TOML,
        &RECORDS.replace(", \"recorded_at\": \"2021-05-21T08:00:00Z\"", ""),
        &[
            "t01-tiny/records.jsonl:2: recorded_at: a case's records need recorded_at (the replay takes them in the order they were recorded)",
        ],
    );
}
