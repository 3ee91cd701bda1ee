//! `clocks`: where each statutory clock of the default pack stands, from the same
//! sweep that fires the clock rules.

use crate::support::{Picture, at, day, default_pack};
use sightline_rules::{ClockStatus, clocks, evaluate};

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
