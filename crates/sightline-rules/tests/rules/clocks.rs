//! `clocks`: where each statutory clock of the default pack stands, from the same
//! sweep that fires the clock rules; a clock stops when its plan, assessment or
//! conference is ended, met or superseded, so only clocks of current episodes
//! are overdue.

use crate::support::{Picture, at, day, default_pack};
use chrono::{DateTime, Utc};
use sightline_rules::{ChildPicture, ClockStatus, clocks, evaluate};
use std::collections::BTreeMap;

/// The statuses of one rule's clocks for `picture` as of `now`, in report order.
fn statuses(picture: &Picture, rule_id: &str, now: &str) -> Vec<ClockStatus> {
    clocks(default_pack(), &picture.picture, at(now))
        .into_iter()
        .filter(|report| report.rule_id == rule_id)
        .map(|report| report.status)
        .collect()
}

fn referral(dob: &str, date: &str) -> Picture {
    let mut picture = Picture::child(dob);
    picture
        .event("haringey-cs", "social_care.referral", date)
        .record_id("ref-1", 1)
        .add();
    picture
}

#[test]
fn a_referral_clock_runs_until_its_deadline_then_is_overdue() {
    // Thursday 2007-04-05; Good Friday and Easter Monday follow: due Tuesday 04-10.
    let picture = referral("2001-06-01", "2007-04-05");
    let running = clocks(default_pack(), &picture.picture, at("2007-04-10T23:00"));
    let report = running
        .iter()
        .find(|report| report.rule_id == "referral_decision_overdue")
        .expect("a referral clock");
    assert_eq!(report.status, ClockStatus::Running);
    assert_eq!(report.since, day("2007-04-05"));
    assert_eq!(report.deadline, day("2007-04-10"));
    assert_eq!(report.started_by.record_id, "ref-1");
    assert_eq!(
        statuses(&picture, "referral_decision_overdue", "2007-04-20"),
        vec![ClockStatus::Overdue {
            since: at("2007-04-11T00:00")
        }]
    );
}

#[test]
fn overdue_clocks_are_exactly_the_fired_clock_rules() {
    let picture = referral("2001-06-01", "2007-04-05");
    let now = at("2007-09-01T00:00");
    let fired: Vec<_> = evaluate(default_pack(), &picture.picture, now)
        .into_iter()
        .filter(|firing| firing.rule_id == "referral_decision_overdue")
        .map(|firing| firing.raised_at)
        .collect();
    let overdue: Vec<_> = clocks(default_pack(), &picture.picture, now)
        .into_iter()
        .filter_map(|report| match report.status {
            ClockStatus::Overdue { since } if report.rule_id == "referral_decision_overdue" => {
                Some(since)
            }
            _ => None,
        })
        .collect();
    assert_eq!(fired, overdue);
}

#[test]
fn a_decision_in_time_meets_the_clock_and_a_late_one_meets_it_late() {
    let mut in_time = referral("2001-06-01", "2007-04-05");
    in_time
        .event("haringey-cs", "social_care.referral", "2007-04-05")
        .record_id("ref-1", 2)
        .outcome(&[("decision", "early_help")])
        .recorded("2007-04-10T16:00")
        .add();
    assert!(matches!(
        statuses(&in_time, "referral_decision_overdue", "2007-04-20").as_slice(),
        [ClockStatus::Met { on, .. }] if *on == day("2007-04-05")
    ));

    let mut late = referral("2001-06-01", "2007-04-05");
    late.event("haringey-cs", "social_care.assessment", "2007-04-16")
        .add();
    assert!(matches!(
        statuses(&late, "referral_decision_overdue", "2007-04-20").as_slice(),
        [ClockStatus::MetLate { on, .. }] if *on == day("2007-04-16")
    ));
}

#[test]
fn a_cancelled_clock_is_stopped_and_a_plan_has_a_running_review_clock() {
    let mut closed = Picture::child("2001-06-01");
    closed
        .event("haringey-cs", "social_care.referral", "2007-01-08")
        .outcome(&[("decision", "assessment")])
        .add();
    closed
        .event("haringey-cs", "social_care.case_closed", "2007-02-01")
        .add();
    assert!(matches!(
        statuses(&closed, "assessment_overdue", "2007-06-01").as_slice(),
        [ClockStatus::Stopped { on, .. }] if *on == day("2007-02-01")
    ));

    let mut on_plan = Picture::child("2001-06-01");
    on_plan
        .event("haringey-cs", "social_care.conference", "2007-03-01")
        .outcome(&[("type", "initial"), ("plan", "start")])
        .add();
    let reports: Vec<_> = clocks(default_pack(), &on_plan.picture, at("2007-04-01"))
        .into_iter()
        .filter(|report| report.rule_id == "review_conference_overdue")
        .collect();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert_eq!(reports[0].status, ClockStatus::Running);
    assert_eq!(reports[0].deadline, day("2007-06-01"));
}

// ---------------------------------------------------------------------------
// Clocks stop when their episode ends: only a clock of a current episode is
// overdue, and each firing is one period that went overdue.

/// Checks the invariant between the firings and the reports of the clock rules
/// as of `now`: every firing is exactly one report's `overdue_since`; a report
/// is `Overdue` only with its own `overdue_since`; a repeating clock started
/// by one record is overdue at most once.
fn check_overdue_matches_firings(picture: &ChildPicture, now: DateTime<Utc>) {
    let pack = default_pack();
    let is_clock = |rule_id: &str| {
        pack.rule(rule_id)
            .is_some_and(|rule| matches!(rule.body, sightline_rules::Body::Clock { .. }))
    };
    let mut fired: Vec<(String, DateTime<Utc>)> = evaluate(pack, picture, now)
        .into_iter()
        .filter(|firing| is_clock(&firing.rule_id))
        .map(|firing| (firing.rule_id, firing.raised_at))
        .collect();
    let reports = clocks(pack, picture, now);
    let mut went_overdue: Vec<(String, DateTime<Utc>)> = reports
        .iter()
        .filter_map(|report| {
            report
                .overdue_since
                .map(|since| (report.rule_id.clone(), since))
        })
        .collect();
    fired.sort();
    went_overdue.sort();
    assert_eq!(fired, went_overdue, "{reports:#?}");
    let mut overdue_per_start: BTreeMap<(String, String, i64), usize> = BTreeMap::new();
    for report in &reports {
        if let ClockStatus::Overdue { since } = report.status {
            assert_eq!(report.overdue_since, Some(since), "{report:#?}");
            *overdue_per_start
                .entry((
                    report.rule_id.clone(),
                    report.started_by.record_id.clone(),
                    report.started_by.version,
                ))
                .or_default() += 1;
        }
    }
    for ((rule_id, record_id, _), n) in overdue_per_start {
        let repeats = pack.rule(&rule_id).is_some_and(|rule| {
            matches!(
                rule.body,
                sightline_rules::Body::Clock {
                    repeat: Some(_),
                    ..
                }
            )
        });
        assert!(
            !repeats || n == 1,
            "{rule_id} started by {record_id}: {n} overdue"
        );
    }
}

/// The reports of one rule as (status, overdue since).
fn reports_of(
    picture: &Picture,
    rule_id: &str,
    now: &str,
) -> Vec<(ClockStatus, Option<DateTime<Utc>>)> {
    check_overdue_matches_firings(&picture.picture, at(now));
    clocks(default_pack(), &picture.picture, at(now))
        .into_iter()
        .filter(|report| report.rule_id == rule_id)
        .map(|report| (report.status, report.overdue_since))
        .collect()
}

fn overdue_count(picture: &Picture, now: &str) -> usize {
    clocks(default_pack(), &picture.picture, at(now))
        .into_iter()
        .filter(|report| matches!(report.status, ClockStatus::Overdue { .. }))
        .count()
}

fn on_plan_unvisited(start: &str) -> Picture {
    let mut picture = Picture::child("2003-06-01");
    picture
        .event("haringey-cs", "social_care.conference", start)
        .outcome(&[("type", "initial"), ("plan", "start")])
        .add();
    picture
        .event("haringey-cs", "social_care.plan", start)
        .outcome(&[("plan", "child_protection"), ("status", "start")])
        .add();
    picture
}

#[test]
fn a_plan_that_ended_leaves_no_clock_overdue() {
    // On a plan from 8 January 2007, never visited, no review conference.
    let mut picture = on_plan_unvisited("2007-01-08");
    // While the plan runs, each repeating clock is overdue once, for its
    // latest missed deadline; the periods it missed before are superseded.
    let visits = reports_of(&picture, "cp_child_not_seen", "2007-05-20");
    let overdue: Vec<_> = visits
        .iter()
        .filter(|(status, _)| matches!(status, ClockStatus::Overdue { .. }))
        .collect();
    assert_eq!(overdue.len(), 1, "{visits:#?}");
    let superseded = visits
        .iter()
        .filter(|(status, _)| matches!(status, ClockStatus::Superseded { .. }))
        .count();
    assert!(superseded >= 5, "{visits:#?}");
    assert!(
        visits
            .iter()
            .filter(|(status, _)| matches!(status, ClockStatus::Superseded { .. }))
            .all(|(_, since)| since.is_some()),
        "a superseded period went overdue: {visits:#?}"
    );
    assert_eq!(
        reports_of(&picture, "review_conference_overdue", "2007-05-20")
            .iter()
            .filter(|(status, _)| matches!(status, ClockStatus::Overdue { .. }))
            .count(),
        1
    );

    // The plan ends on 1 June 2007: nothing of it is overdue two years on.
    picture
        .event("haringey-cs", "social_care.plan", "2007-06-01")
        .outcome(&[("plan", "child_protection"), ("status", "end")])
        .add();
    for rule_id in [
        "cp_child_not_seen",
        "cp_child_not_seen_alone",
        "review_conference_overdue",
    ] {
        let reports = reports_of(&picture, rule_id, "2009-06-01");
        assert!(
            reports.iter().all(|(status, _)| !matches!(
                status,
                ClockStatus::Overdue { .. } | ClockStatus::Running
            )),
            "{rule_id}: {reports:#?}"
        );
        // The last missed period and the period running at the end are stopped
        // by the plan's end.
        let stopped: Vec<_> = reports
            .iter()
            .filter_map(|(status, since)| match status {
                ClockStatus::Stopped { on, .. } => Some((*on, since.is_some())),
                _ => None,
            })
            .collect();
        assert!(
            stopped.contains(&(day("2007-06-01"), true)),
            "{rule_id}: {reports:#?}"
        );
    }
    assert_eq!(overdue_count(&picture, "2009-06-01"), 0);
}

#[test]
fn a_closed_case_stops_the_referral_and_assessment_clocks() {
    let mut picture = Picture::child("2001-06-01");
    picture
        .event("haringey-cs", "social_care.referral", "2007-01-08")
        .record_id("ref-1", 1)
        .add();
    picture
        .event("haringey-cs", "social_care.referral", "2007-01-15")
        .record_id("ref-2", 1)
        .outcome(&[("decision", "assessment")])
        .add();
    // Before closure: the undecided referral is overdue (another referral's
    // decision does not decide it), and so is the assessment after 45
    // working days.
    assert!(matches!(
        reports_of(&picture, "referral_decision_overdue", "2007-04-30").as_slice(),
        [(ClockStatus::Overdue { .. }, Some(_))]
    ));
    assert!(matches!(
        reports_of(&picture, "assessment_overdue", "2007-04-30").as_slice(),
        [(ClockStatus::Overdue { .. }, Some(_))]
    ));

    picture
        .event("haringey-cs", "social_care.case_closed", "2007-05-02")
        .add();
    for rule_id in ["referral_decision_overdue", "assessment_overdue"] {
        assert!(
            matches!(
                reports_of(&picture, rule_id, "2009-01-01").as_slice(),
                [(ClockStatus::Stopped { on, .. }, Some(_))] if *on == day("2007-05-02")
            ),
            "{rule_id}: the late clock stops with the case"
        );
    }
    assert_eq!(overdue_count(&picture, "2009-01-01"), 0);

    // An undecided referral on its own, then the case closed.
    let mut undecided = Picture::child("2001-06-01");
    undecided
        .event("haringey-cs", "social_care.referral", "2007-01-08")
        .add();
    undecided
        .event("haringey-cs", "social_care.case_closed", "2007-02-01")
        .add();
    assert!(matches!(
        reports_of(&undecided, "referral_decision_overdue", "2008-01-01").as_slice(),
        [(ClockStatus::Stopped { on, .. }, Some(_))] if *on == day("2007-02-01")
    ));
}

#[test]
fn a_closed_case_stops_an_overdue_initial_conference_clock() {
    // A section 47 enquiry from a strategy discussion on 8 January 2007; no
    // initial conference, so overdue from the end of 29 January.
    let mut picture = Picture::child("2001-06-01");
    picture
        .event(
            "haringey-cs",
            "social_care.strategy_discussion",
            "2007-01-08",
        )
        .outcome(&[("section47", "true")])
        .add();
    assert!(matches!(
        reports_of(&picture, "initial_conference_overdue", "2007-03-01").as_slice(),
        [(ClockStatus::Overdue { .. }, Some(_))]
    ));
    assert_eq!(overdue_count(&picture, "2007-03-01"), 1);
    // The case is closed: the clock stops that day and is overdue no more,
    // however long after.
    picture
        .event("haringey-cs", "social_care.case_closed", "2007-03-05")
        .add();
    assert!(matches!(
        reports_of(&picture, "initial_conference_overdue", "2009-01-01").as_slice(),
        [(ClockStatus::Stopped { on, .. }, Some(_))] if *on == day("2007-03-05")
    ));
    assert_eq!(overdue_count(&picture, "2009-01-01"), 0);
}

#[test]
fn a_completed_assessment_meets_its_clock_late() {
    let mut picture = Picture::child("2001-06-01");
    picture
        .event("haringey-cs", "social_care.referral", "2007-01-08")
        .outcome(&[("decision", "assessment")])
        .add();
    picture
        .event("haringey-cs", "social_care.assessment", "2007-04-20")
        .outcome(&[("status", "completed")])
        .add();
    assert!(matches!(
        reports_of(&picture, "assessment_overdue", "2008-01-01").as_slice(),
        [(ClockStatus::MetLate { on, .. }, Some(_))] if *on == day("2007-04-20")
    ));
    assert_eq!(overdue_count(&picture, "2008-01-01"), 0);
}

#[test]
fn a_conference_held_meets_its_clock_and_the_next_period_runs() {
    // Initial conference held late.
    let mut initial = Picture::child("2001-06-01");
    initial
        .event(
            "haringey-cs",
            "social_care.strategy_discussion",
            "2007-01-08",
        )
        .outcome(&[("section47", "true")])
        .add();
    initial
        .event("haringey-cs", "social_care.conference", "2007-03-01")
        .outcome(&[("type", "initial"), ("plan", "no_plan")])
        .add();
    assert!(matches!(
        reports_of(&initial, "initial_conference_overdue", "2008-01-01").as_slice(),
        [(ClockStatus::MetLate { on, .. }, Some(_))] if *on == day("2007-03-01")
    ));

    // A review conference three weeks late: the missed period is met late and
    // the next six months run from the conference.
    let mut review = on_plan_unvisited("2007-01-08");
    review
        .event("haringey-cs", "social_care.conference", "2007-04-30")
        .outcome(&[("type", "review"), ("plan", "continue")])
        .add();
    let reports = reports_of(&review, "review_conference_overdue", "2007-06-01");
    assert!(
        matches!(
            reports.as_slice(),
            [
                (ClockStatus::MetLate { on, .. }, Some(_)),
                (ClockStatus::Met { .. }, None),
                (ClockStatus::Running, None),
            ] if *on == day("2007-04-30")
        ),
        "{reports:#?}"
    );
}

/// One social care record of a generated history.
fn social_care_event(picture: &mut Picture, kind_seed: u8, day_offset: u16, flag: bool) {
    let date = (day("2006-01-02") + chrono::Duration::days(i64::from(day_offset)))
        .format("%Y-%m-%d")
        .to_string();
    let date = date.as_str();
    let builder = match kind_seed % 9 {
        0 => picture.event("haringey-cs", "social_care.referral", date),
        1 => picture
            .event("haringey-cs", "social_care.referral", date)
            .outcome(&[("decision", if flag { "assessment" } else { "nfa" })]),
        2 => picture
            .event("haringey-cs", "social_care.assessment", date)
            .outcome(&[("status", if flag { "completed" } else { "started" })]),
        3 => picture
            .event("haringey-cs", "social_care.strategy_discussion", date)
            .outcome(&[("section47", if flag { "true" } else { "false" })]),
        4 => picture
            .event("haringey-cs", "social_care.conference", date)
            .outcome(&[
                ("type", if flag { "initial" } else { "review" }),
                ("plan", if flag { "start" } else { "continue" }),
            ]),
        5 => picture
            .event("haringey-cs", "social_care.plan", date)
            .outcome(&[
                ("plan", "child_protection"),
                ("status", if flag { "start" } else { "end" }),
            ]),
        6 => picture
            .event("haringey-cs", "social_care.visit", date)
            .outcome(&[
                ("child_seen", if flag { "true" } else { "false" }),
                ("seen_alone", if flag { "true" } else { "false" }),
            ]),
        7 => picture.event("haringey-cs", "social_care.case_closed", date),
        _ => picture
            .event("haringey-cs", "social_care.section47", date)
            .outcome(&[
                ("status", "completed"),
                ("substantiated", if flag { "true" } else { "false" }),
            ]),
    };
    builder.add();
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Over arbitrary social care histories, at any moment: every firing of a
    /// clock rule is exactly one period that went overdue, only a period with
    /// its own firing is overdue, and a repeating clock is overdue at most once.
    #[test]
    fn a_clock_is_overdue_only_when_its_rule_fired(
        events in proptest::collection::vec((0u8..9, 0u16..700, proptest::bool::ANY), 0..40),
        now_offset in 0i64..1_200,
    ) {
        let mut picture = Picture::child("2003-06-01");
        let mut events = events;
        events.sort_by_key(|(_, day_offset, _)| *day_offset);
        for (kind_seed, day_offset, flag) in events {
            social_care_event(&mut picture, kind_seed, day_offset, flag);
        }
        let now = at("2006-01-02") + chrono::Duration::days(now_offset);
        check_overdue_matches_firings(&picture.picture, now);
    }
}
