//! Each default rule with pictures that must raise it and pictures that must not.

use crate::support::{Picture, at, day, default_pack, fired};
use sightline_rules::calendar::add_working_days;
use sightline_rules::{Route, Severity, Subject};

/// What a case expects of one rule.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Expect {
    /// Fires at least once.
    Fires,
    /// Fires, the first time with this severity.
    FiresSeverity(Severity),
    /// Fires, the first time at this logical time (`YYYY-MM-DDTHH:MM`).
    FiresAt(&'static str),
    /// Does not fire.
    Silent,
}

pub(crate) fn check(rule_id: &str, picture: &Picture, now: &str, expect: Expect) {
    assert!(default_pack().rule(rule_id).is_some(), "no rule {rule_id}");
    let firings = picture.evaluate(now);
    let matching = fired(&firings, rule_id);
    let described = || format!("{rule_id}: firings {:#?}", matching);
    match expect {
        Expect::Fires => assert!(!matching.is_empty(), "{}", described()),
        Expect::FiresSeverity(severity) => {
            assert!(!matching.is_empty(), "{}", described());
            assert_eq!(matching[0].severity, severity, "{}", described());
        }
        Expect::FiresAt(when) => {
            assert!(!matching.is_empty(), "{}", described());
            assert_eq!(matching[0].raised_at, at(when), "{}", described());
        }
        Expect::Silent => assert!(matching.is_empty(), "{}", described()),
    }
    for firing in &firings {
        assert_eq!(firing.pack_version, default_pack().version);
        assert!(!firing.evidence.is_empty(), "{firing:?}");
        assert!(!firing.citation.is_empty());
        assert!(!firing.explanation.contains('{'), "{}", firing.explanation);
    }
}

pub(crate) fn bruise(picture: &mut Picture, agency: &str, date: &str, explanation: &'static str) {
    picture
        .event(agency, "health.gp_consultation", date)
        .finding(
            "injury",
            &[
                ("type", "bruise"),
                ("site", "face"),
                ("explanation", explanation),
            ],
        )
        .add();
}

pub(crate) fn cp_plan_start(picture: &mut Picture, date: &str) {
    picture
        .event("haringey-cs", "social_care.plan", date)
        .outcome(&[("plan", "child_protection"), ("status", "start")])
        .add();
}

#[test]
fn accidental_injury_in_a_walking_three_year_old_raises_nothing() {
    let mut picture = Picture::child("2004-02-10");
    picture
        .event("north-ed", "health.ed_attendance", "2007-03-01")
        .finding(
            "injury",
            &[
                ("type", "laceration"),
                ("site", "leg"),
                ("explanation", "consistent"),
            ],
        )
        .add();
    let firings = picture.evaluate("2008-01-01");
    assert!(firings.is_empty(), "{firings:#?}");
}

#[test]
fn injury_not_mobile() {
    let mut young = Picture::child("2006-11-01");
    bruise(&mut young, "st-annes-gp", "2007-03-01", "unknown");
    check(
        "injury_not_mobile",
        &young,
        "2007-04-01",
        Expect::FiresAt("2007-03-01T10:00"),
    );
    let firings = young.evaluate("2007-04-01");
    let firing = fired(&firings, "injury_not_mobile")[0];
    assert_eq!(
        firing.explanation,
        "A bruise to the face recorded by ⟦agency:st-annes-gp⟧ on 1 March 2007 in a child aged 4 months \
         who is under 6 months old, so presumed not independently mobile."
    );
    let agency_name = |reference: sightline_rules::Reference<'_>| match reference {
        sightline_rules::Reference::Agency("st-annes-gp") => Some("St Anne's Surgery".to_owned()),
        _ => None,
    };
    assert_eq!(
        sightline_rules::resolve_explanation(&firing.explanation, &agency_name),
        "A bruise to the face recorded by St Anne's Surgery on 1 March 2007 in a child aged 4 months \
         who is under 6 months old, so presumed not independently mobile."
    );
    assert_eq!(firing.route, Route::DutyTeam);
    assert_eq!(firing.severity, Severity::High);

    // Recorded as not mobile at 8 months, by another agency a month earlier.
    let mut recorded = Picture::child("2006-07-01");
    recorded
        .event("north-hv", "health.health_visitor_contact", "2007-02-01")
        .finding("not_independently_mobile", &[])
        .add();
    bruise(&mut recorded, "st-annes-gp", "2007-03-01", "none");
    check(
        "injury_not_mobile",
        &recorded,
        "2007-04-01",
        Expect::FiresSeverity(Severity::Critical),
    );
    let firings = recorded.evaluate("2007-04-01");
    assert!(
        fired(&firings, "injury_not_mobile")[0]
            .explanation
            .ends_with("who is recorded as not independently mobile.")
    );

    // Recorded as not mobile a week after the bruise: fires when that arrives.
    let mut later = Picture::child("2006-06-01");
    bruise(&mut later, "st-annes-gp", "2007-03-01", "consistent");
    later
        .event("north-hv", "health.health_visitor_contact", "2007-03-08")
        .finding("not_independently_mobile", &[])
        .add();
    check(
        "injury_not_mobile",
        &later,
        "2007-04-01",
        Expect::FiresAt("2007-03-08T10:00"),
    );

    // Nine months old, mobility not recorded: not this rule.
    let mut older = Picture::child("2006-06-01");
    bruise(&mut older, "st-annes-gp", "2007-03-01", "consistent");
    check("injury_not_mobile", &older, "2007-04-01", Expect::Silent);

    // An unknown date of birth satisfies no age test.
    let mut unknown = Picture::with_dob(None);
    bruise(&mut unknown, "st-annes-gp", "2007-03-01", "consistent");
    check("injury_not_mobile", &unknown, "2007-04-01", Expect::Silent);
}

#[test]
fn injury_unexplained() {
    // NICE CG89 applies to every child under 18: high at three and at fifteen.
    let mut three = Picture::child("2004-01-01");
    bruise(&mut three, "st-annes-gp", "2007-03-01", "none");
    check(
        "injury_unexplained",
        &three,
        "2007-04-01",
        Expect::FiresSeverity(Severity::High),
    );
    let mut fifteen = Picture::child("1992-01-01");
    bruise(&mut fifteen, "st-annes-gp", "2007-03-01", "inconsistent");
    check(
        "injury_unexplained",
        &fifteen,
        "2007-04-01",
        Expect::FiresSeverity(Severity::High),
    );

    let mut one = Picture::child("2006-01-01");
    bruise(&mut one, "st-annes-gp", "2007-03-01", "inconsistent");
    check(
        "injury_unexplained",
        &one,
        "2007-04-01",
        Expect::FiresSeverity(Severity::High),
    );
    // A fracture with no explanation under 2: critical.
    let mut fracture = Picture::child("2006-01-01");
    fracture
        .event("north-ed", "health.ed_attendance", "2007-03-01")
        .finding("injury", &[("type", "fracture"), ("explanation", "none")])
        .add();
    check(
        "injury_unexplained",
        &fracture,
        "2007-04-01",
        Expect::FiresSeverity(Severity::Critical),
    );

    let mut consistent = Picture::child("2006-01-01");
    bruise(&mut consistent, "st-annes-gp", "2007-03-01", "consistent");
    check(
        "injury_unexplained",
        &consistent,
        "2007-04-01",
        Expect::Silent,
    );
    let mut unknown = Picture::child("2006-01-01");
    bruise(&mut unknown, "st-annes-gp", "2007-03-01", "unknown");
    check("injury_unexplained", &unknown, "2007-04-01", Expect::Silent);
}

#[test]
fn head_injury_or_fracture_under_2() {
    let mut infant = Picture::child("2005-10-01");
    infant
        .event("north-ed", "health.ed_attendance", "2007-03-01")
        .finding("injury", &[("type", "fracture"), ("site", "arm")])
        .add();
    check(
        "head_injury_or_fracture_under_2",
        &infant,
        "2007-04-01",
        Expect::FiresSeverity(Severity::High),
    );

    // A clear accidental mechanism (a consistent explanation) in a walking toddler.
    let mut accidental = Picture::child("2005-10-01");
    accidental
        .event("north-ed", "health.ed_attendance", "2007-03-01")
        .finding(
            "injury",
            &[
                ("type", "head_injury"),
                ("site", "head"),
                ("explanation", "consistent"),
            ],
        )
        .add();
    check(
        "head_injury_or_fracture_under_2",
        &accidental,
        "2007-04-01",
        Expect::Silent,
    );

    let mut unknown = Picture::child("2005-10-01");
    unknown
        .event("north-ed", "health.ed_attendance", "2007-03-01")
        .finding(
            "injury",
            &[("type", "fracture"), ("explanation", "unknown")],
        )
        .add();
    check(
        "head_injury_or_fracture_under_2",
        &unknown,
        "2007-04-01",
        Expect::FiresSeverity(Severity::High),
    );

    let mut unexplained = Picture::child("2006-10-01");
    unexplained
        .event("north-ed", "health.ed_attendance", "2007-03-01")
        .finding(
            "injury",
            &[("type", "head_injury"), ("explanation", "none")],
        )
        .add();
    check(
        "head_injury_or_fracture_under_2",
        &unexplained,
        "2007-04-01",
        Expect::FiresSeverity(Severity::Critical),
    );

    let mut three = Picture::child("2004-01-01");
    three
        .event("north-ed", "health.ed_attendance", "2007-03-01")
        .finding(
            "injury",
            &[("type", "fracture"), ("explanation", "consistent")],
        )
        .add();
    check(
        "head_injury_or_fracture_under_2",
        &three,
        "2007-04-01",
        Expect::Silent,
    );

    let mut bruise_only = Picture::child("2005-10-01");
    bruise(&mut bruise_only, "st-annes-gp", "2007-03-01", "consistent");
    check(
        "head_injury_or_fracture_under_2",
        &bruise_only,
        "2007-04-01",
        Expect::Silent,
    );
}

#[test]
fn second_injury_under_5() {
    let mut two = Picture::child("2004-01-01");
    bruise(&mut two, "st-annes-gp", "2007-01-10", "consistent");
    bruise(&mut two, "north-ed", "2007-03-10", "consistent");
    check(
        "second_injury_under_5",
        &two,
        "2007-04-01",
        Expect::FiresAt("2007-03-10T10:00"),
    );

    // The earlier injury recorded late still completes the pattern, when it arrives.
    let mut late = Picture::child("2004-01-01");
    bruise(&mut late, "north-ed", "2007-03-10", "consistent");
    late.event("st-annes-gp", "health.gp_consultation", "2007-01-10")
        .finding("injury", &[("type", "bruise")])
        .recorded("2007-03-20T09:00")
        .add();
    check(
        "second_injury_under_5",
        &late,
        "2007-04-01",
        Expect::FiresAt("2007-03-20T09:00"),
    );
    // Evaluated as of before the late record arrived, nothing.
    check("second_injury_under_5", &late, "2007-03-19", Expect::Silent);

    let mut apart = Picture::child("2004-01-01");
    bruise(&mut apart, "st-annes-gp", "2007-01-01", "consistent");
    bruise(&mut apart, "north-ed", "2007-05-01", "consistent");
    check(
        "second_injury_under_5",
        &apart,
        "2007-06-01",
        Expect::Silent,
    );

    let mut six = Picture::child("2001-01-01");
    bruise(&mut six, "st-annes-gp", "2007-01-10", "consistent");
    bruise(&mut six, "north-ed", "2007-02-10", "consistent");
    check("second_injury_under_5", &six, "2007-04-01", Expect::Silent);

    // A corrected version of the same record is not a second injury.
    let mut corrected = Picture::child("2004-01-01");
    corrected
        .event("st-annes-gp", "health.gp_consultation", "2007-01-10")
        .finding("injury", &[("type", "bruise")])
        .record_id("c-1", 1)
        .add();
    corrected
        .event("st-annes-gp", "health.gp_consultation", "2007-01-10")
        .finding("injury", &[("type", "bruise"), ("site", "arm")])
        .record_id("c-1", 2)
        .recorded("2007-01-12T09:00")
        .add();
    check(
        "second_injury_under_5",
        &corrected,
        "2007-04-01",
        Expect::Silent,
    );
}

#[test]
fn injury_on_cp_plan() {
    let mut on_plan = Picture::child("2001-01-01");
    cp_plan_start(&mut on_plan, "2007-01-05");
    bruise(&mut on_plan, "st-annes-gp", "2007-03-01", "consistent");
    check("injury_on_cp_plan", &on_plan, "2007-04-01", Expect::Fires);
    let firings = on_plan.evaluate("2007-04-01");
    assert_eq!(
        fired(&firings, "injury_on_cp_plan")[0].evidence.len(),
        2,
        "the plan record is evidence"
    );

    let mut ended = Picture::child("2001-01-01");
    cp_plan_start(&mut ended, "2006-01-05");
    ended
        .event("haringey-cs", "social_care.plan", "2006-09-01")
        .outcome(&[("plan", "child_protection"), ("status", "end")])
        .add();
    bruise(&mut ended, "st-annes-gp", "2007-03-01", "consistent");
    check("injury_on_cp_plan", &ended, "2007-04-01", Expect::Silent);

    let mut before = Picture::child("2001-01-01");
    bruise(&mut before, "st-annes-gp", "2007-01-01", "consistent");
    cp_plan_start(&mut before, "2007-01-05");
    check("injury_on_cp_plan", &before, "2007-04-01", Expect::Silent);

    // The plan record arrives after the injury but is dated before it: the pattern
    // completes when the plan record arrives.
    let mut late_plan = Picture::child("2001-01-01");
    bruise(&mut late_plan, "st-annes-gp", "2007-03-01", "consistent");
    late_plan
        .event("haringey-cs", "social_care.plan", "2007-01-05")
        .outcome(&[("plan", "child_protection"), ("status", "start")])
        .recorded("2007-03-10T09:00")
        .add();
    check(
        "injury_on_cp_plan",
        &late_plan,
        "2007-04-01",
        Expect::FiresAt("2007-03-10T09:00"),
    );
    check(
        "injury_on_cp_plan",
        &late_plan,
        "2007-03-09",
        Expect::Silent,
    );

    // A conference starting a plan counts as well as a plan record.
    let mut conference = Picture::child("2001-01-01");
    conference
        .event("haringey-cs", "social_care.conference", "2007-01-05")
        .outcome(&[("type", "initial"), ("plan", "start")])
        .add();
    bruise(&mut conference, "st-annes-gp", "2007-03-01", "consistent");
    check(
        "injury_on_cp_plan",
        &conference,
        "2007-04-01",
        Expect::Fires,
    );
}

#[test]
fn cp_medical_non_accidental() {
    let mut likely = Picture::child("2006-03-01");
    likely
        .event("north-paeds", "health.cp_medical", "2007-06-01")
        .outcome(&[("conclusion", "non_accidental_likely")])
        .add();
    check(
        "cp_medical_non_accidental",
        &likely,
        "2007-07-01",
        Expect::FiresSeverity(Severity::Critical),
    );

    let mut accidental = Picture::child("2006-03-01");
    accidental
        .event("north-paeds", "health.cp_medical", "2007-06-01")
        .outcome(&[("conclusion", "accidental_likely")])
        .add();
    check(
        "cp_medical_non_accidental",
        &accidental,
        "2007-07-01",
        Expect::Silent,
    );
}

fn allegation(
    picture: &mut Picture,
    agency: &str,
    date: &str,
    category: &'static str,
    by: &'static str,
) {
    picture
        .event(agency, "social_care.referral", date)
        .finding("allegation", &[("category", category), ("by", by)])
        .add();
}

#[test]
fn allegation_under_5() {
    let mut three = Picture::child("2004-01-01");
    allegation(
        &mut three,
        "haringey-cs",
        "2007-03-01",
        "physical_abuse",
        "family",
    );
    check("allegation_under_5", &three, "2007-04-01", Expect::Fires);

    let mut neglect = Picture::child("2004-01-01");
    allegation(
        &mut neglect,
        "haringey-cs",
        "2007-03-01",
        "neglect",
        "family",
    );
    check("allegation_under_5", &neglect, "2007-04-01", Expect::Silent);

    let mut seven = Picture::child("2000-01-01");
    allegation(
        &mut seven,
        "haringey-cs",
        "2007-03-01",
        "sexual_abuse",
        "child",
    );
    check("allegation_under_5", &seven, "2007-04-01", Expect::Silent);
}

#[test]
fn second_allegation_other_source() {
    let mut two_sources = Picture::child("2000-01-01");
    allegation(
        &mut two_sources,
        "haringey-cs",
        "2007-01-01",
        "neglect",
        "family",
    );
    allegation(
        &mut two_sources,
        "north-met-police",
        "2007-03-01",
        "physical_abuse",
        "public",
    );
    check(
        "second_allegation_other_source",
        &two_sources,
        "2007-04-01",
        Expect::Fires,
    );

    let mut same_source = Picture::child("2000-01-01");
    allegation(
        &mut same_source,
        "haringey-cs",
        "2007-01-01",
        "neglect",
        "family",
    );
    allegation(
        &mut same_source,
        "haringey-cs",
        "2007-03-01",
        "neglect",
        "family",
    );
    check(
        "second_allegation_other_source",
        &same_source,
        "2007-04-01",
        Expect::Silent,
    );

    let mut far_apart = Picture::child("2000-01-01");
    allegation(
        &mut far_apart,
        "haringey-cs",
        "2007-01-01",
        "neglect",
        "family",
    );
    allegation(
        &mut far_apart,
        "north-met-police",
        "2007-09-01",
        "neglect",
        "public",
    );
    check(
        "second_allegation_other_source",
        &far_apart,
        "2007-10-01",
        Expect::Silent,
    );
}

#[test]
fn unassessed_adult() {
    // The child is on a plan; a GP form names a partner social care never recorded.
    let mut hidden = Picture::child("2006-03-01");
    cp_plan_start(&mut hidden, "2007-01-05");
    hidden
        .event("st-annes-gp", "health.gp_consultation", "2007-02-01")
        .person("adult-7", "other")
        .add();
    check(
        "unassessed_adult",
        &hidden,
        "2007-03-01",
        Expect::FiresAt("2007-02-01T10:00"),
    );
    let firings = hidden.evaluate("2007-03-01");
    let firing = fired(&firings, "unassessed_adult")[0];
    assert_eq!(firing.person_id.as_deref(), Some("adult-7"));
    assert_eq!(firing.severity, Severity::High);
    assert!(
        firing.explanation.contains("named on a form"),
        "{}",
        firing.explanation
    );

    // The same adult with a violent conviction recorded by the police.
    hidden
        .event("north-met-police", "justice.conviction", "2007-02-10")
        .household_only()
        .person("adult-7", "subject")
        .outcome(&[
            ("offence_category", "violence"),
            ("victim_was_child", "false"),
        ])
        .add();
    let firings = hidden.evaluate("2007-03-01");
    let critical: Vec<_> = fired(&firings, "unassessed_adult")
        .into_iter()
        .filter(|firing| firing.severity == Severity::Critical)
        .collect();
    assert!(
        critical.is_empty(),
        "the link came first, so the firing was at high: {firings:#?}"
    );

    // Known offence before the link: critical.
    let mut offender = Picture::child("2006-03-01");
    cp_plan_start(&mut offender, "2007-01-05");
    offender
        .event("north-met-police", "police.arrest", "2006-10-01")
        .household_only()
        .person("adult-8", "subject")
        .finding_about("offence", "adult-8", &[("category", "cruelty_to_child")])
        .add();
    offender
        .event("north-housing", "housing.occupancy", "2007-02-01")
        .person("adult-8", "household_member")
        .add();
    check(
        "unassessed_adult",
        &offender,
        "2007-03-01",
        Expect::FiresSeverity(Severity::Critical),
    );

    // Social care records the partner: not unassessed.
    let mut known = Picture::child("2006-03-01");
    cp_plan_start(&mut known, "2007-01-05");
    known
        .event("haringey-cs", "social_care.visit", "2007-01-20")
        .person("adult-7", "partner")
        .add();
    known
        .event("st-annes-gp", "health.gp_consultation", "2007-02-01")
        .person("adult-7", "other")
        .add();
    check("unassessed_adult", &known, "2007-03-01", Expect::Silent);

    // The adult was linked first; the plan starting later completes the pattern.
    let mut plan_later = Picture::child("2006-03-01");
    plan_later
        .event("st-annes-gp", "health.gp_consultation", "2006-12-01")
        .person("adult-7", "visitor")
        .add();
    cp_plan_start(&mut plan_later, "2007-01-05");
    check(
        "unassessed_adult",
        &plan_later,
        "2007-03-01",
        Expect::FiresAt("2007-01-05T10:00"),
    );

    // A parent living with the child is the parent, not an unassessed adult.
    let mut parent = Picture::child("2006-03-01");
    cp_plan_start(&mut parent, "2007-01-05");
    parent
        .event("st-annes-gp", "health.gp_consultation", "2007-01-20")
        .person("father-1", "parent")
        .add();
    parent
        .event("north-housing", "housing.occupancy", "2007-02-01")
        .person("father-1", "household_member")
        .add();
    check("unassessed_adult", &parent, "2007-03-01", Expect::Silent);

    // No plan, no child in need: not this rule.
    let mut no_plan = Picture::child("2006-03-01");
    no_plan
        .event("st-annes-gp", "health.gp_consultation", "2007-02-01")
        .person("adult-7", "other")
        .add();
    check("unassessed_adult", &no_plan, "2007-03-01", Expect::Silent);
}

#[test]
fn unknown_adult_seen() {
    let mut in_need = Picture::child("2003-03-01");
    in_need
        .event("haringey-cs", "social_care.plan", "2007-01-05")
        .outcome(&[("plan", "child_in_need"), ("status", "start")])
        .add();
    in_need
        .event("north-hv", "health.health_visitor_contact", "2007-02-01")
        .finding("unknown_adult_present", &[])
        .add();
    check("unknown_adult_seen", &in_need, "2007-03-01", Expect::Fires);

    let mut no_plan = Picture::child("2003-03-01");
    no_plan
        .event("north-hv", "health.health_visitor_contact", "2007-02-01")
        .finding("unknown_adult_present", &[])
        .add();
    check("unknown_adult_seen", &no_plan, "2007-03-01", Expect::Silent);
}

fn release(
    picture: &mut Picture,
    person: &str,
    date: &str,
    victim_was_child: &'static str,
    category: &'static str,
) {
    picture
        .event("hmpps-north", "justice.release", date)
        .household_only()
        .person(person, "subject")
        .outcome(&[
            ("offence_category", category),
            ("victim_was_child", victim_was_child),
        ])
        .add();
}

#[test]
fn child_offender_released() {
    let mut linked = Picture::child("2003-03-01");
    linked
        .event("north-housing", "housing.occupancy", "2007-01-10")
        .person("adult-9", "household_member")
        .add();
    release(&mut linked, "adult-9", "2007-02-01", "true", "violence");
    check(
        "child_offender_released",
        &linked,
        "2007-03-01",
        Expect::FiresAt("2007-02-01T10:00"),
    );

    let mut adult_victim = Picture::child("2003-03-01");
    adult_victim
        .event("north-housing", "housing.occupancy", "2007-01-10")
        .person("adult-9", "household_member")
        .add();
    release(&mut adult_victim, "adult-9", "2007-02-01", "false", "drugs");
    check(
        "child_offender_released",
        &adult_victim,
        "2007-03-01",
        Expect::Silent,
    );

    // Released, but not linked to the child.
    let mut unlinked = Picture::child("2003-03-01");
    release(&mut unlinked, "adult-9", "2007-02-01", "true", "violence");
    check(
        "child_offender_released",
        &unlinked,
        "2007-03-01",
        Expect::Silent,
    );
}

#[test]
fn offender_against_child_linked() {
    // Convicted of an offence against a child, later recorded living with the child.
    let mut lives_with = Picture::child("2013-03-01");
    lives_with
        .event("north-met-police", "justice.conviction", "2005-05-01")
        .household_only()
        .person("adult-9", "subject")
        .outcome(&[
            ("offence_category", "sexual_offence_against_child"),
            ("victim_was_child", "true"),
        ])
        .add();
    lives_with
        .event("north-housing", "housing.occupancy", "2007-02-01")
        .person("adult-9", "household_member")
        .add();
    check(
        "offender_against_child_linked",
        &lives_with,
        "2007-03-01",
        Expect::FiresAt("2007-02-01T10:00"),
    );
    check(
        "offender_against_child_linked",
        &lives_with,
        "2007-03-01",
        Expect::FiresSeverity(Severity::Critical),
    );

    // A violent offence against an adult: not this rule.
    let mut adult_victim = Picture::child("2013-03-01");
    adult_victim
        .event("north-met-police", "justice.conviction", "2005-05-01")
        .household_only()
        .person("adult-9", "subject")
        .outcome(&[
            ("offence_category", "violence"),
            ("victim_was_child", "false"),
        ])
        .add();
    adult_victim
        .event("north-housing", "housing.occupancy", "2007-02-01")
        .person("adult-9", "household_member")
        .add();
    check(
        "offender_against_child_linked",
        &adult_victim,
        "2007-03-01",
        Expect::Silent,
    );

    // An offence against a child, but no link to this child.
    let mut unlinked = Picture::child("2013-03-01");
    release(&mut unlinked, "adult-9", "2007-02-01", "true", "violence");
    check(
        "offender_against_child_linked",
        &unlinked,
        "2007-03-01",
        Expect::Silent,
    );
}

fn domestic_incident(picture: &mut Picture, date: &str) {
    picture
        .event("north-met-police", "police.domestic_incident", date)
        .household_only()
        .person("parent-1", "parent")
        .finding_about("domestic_abuse", "parent-1", &[("risk", "medium")])
        .add();
}

#[test]
fn domestic_abuse_under_5() {
    let mut two = Picture::child("2005-03-01");
    domestic_incident(&mut two, "2007-04-12");
    check(
        "domestic_abuse_under_5",
        &two,
        "2007-05-01",
        Expect::FiresSeverity(Severity::Medium),
    );

    let mut seven = Picture::child("2000-03-01");
    domestic_incident(&mut seven, "2007-04-12");
    check(
        "domestic_abuse_under_5",
        &seven,
        "2007-05-01",
        Expect::Silent,
    );
}

#[test]
fn domestic_abuse_three_in_12_months() {
    let mut three = Picture::child("2000-03-01");
    for date in ["2007-01-12", "2007-05-01", "2007-11-30"] {
        domestic_incident(&mut three, date);
    }
    check(
        "domestic_abuse_three_in_12_months",
        &three,
        "2008-01-01",
        Expect::FiresAt("2007-11-30T10:00"),
    );

    let mut spread = Picture::child("2000-03-01");
    for date in ["2007-01-12", "2007-08-01", "2008-03-01"] {
        domestic_incident(&mut spread, date);
    }
    check(
        "domestic_abuse_three_in_12_months",
        &spread,
        "2008-04-01",
        Expect::Silent,
    );
}

fn visit(picture: &mut Picture, date: &str, seen: &'static str, alone: &'static str) {
    picture
        .event("haringey-cs", "social_care.visit", date)
        .outcome(&[("child_seen", seen), ("seen_alone", alone)])
        .add();
}

#[test]
fn cp_child_not_seen() {
    // Plan from Monday 2007-03-05; ten working days is Monday 2007-03-19.
    let mut unseen = Picture::child("2006-03-01");
    cp_plan_start(&mut unseen, "2007-03-05");
    check(
        "cp_child_not_seen",
        &unseen,
        "2007-03-30",
        Expect::FiresAt("2007-03-20T00:00"),
    );
    check(
        "cp_child_not_seen",
        &unseen,
        "2007-03-19T23:59",
        Expect::Silent,
    );

    // A visit that did not see the child does not stop the clock.
    let mut not_seen_visit = Picture::child("2006-03-01");
    cp_plan_start(&mut not_seen_visit, "2007-03-05");
    visit(&mut not_seen_visit, "2007-03-12", "false", "false");
    check(
        "cp_child_not_seen",
        &not_seen_visit,
        "2007-03-30",
        Expect::FiresAt("2007-03-20T00:00"),
    );

    // Seen every week: silent.
    let mut seen = Picture::child("2006-03-01");
    cp_plan_start(&mut seen, "2007-03-05");
    for date in ["2007-03-09", "2007-03-16", "2007-03-23", "2007-03-30"] {
        visit(&mut seen, date, "true", "true");
    }
    check("cp_child_not_seen", &seen, "2007-04-05", Expect::Silent);

    // Seen, then not: the next deadline runs from the visit, over Easter 2007.
    let mut lapsed = Picture::child("2006-03-01");
    cp_plan_start(&mut lapsed, "2007-03-05");
    visit(&mut lapsed, "2007-03-15", "true", "false");
    visit(&mut lapsed, "2007-03-29", "true", "false");
    let deadline = add_working_days(day("2007-03-29"), 10);
    assert_eq!(deadline, day("2007-04-16"));
    check(
        "cp_child_not_seen",
        &lapsed,
        "2007-05-01",
        Expect::FiresAt("2007-04-17T00:00"),
    );
}

#[test]
fn cp_child_not_seen_alone() {
    let mut never_alone = Picture::child("2003-03-01");
    cp_plan_start(&mut never_alone, "2007-03-05");
    for date in ["2007-03-09", "2007-03-16"] {
        visit(&mut never_alone, date, "true", "false");
    }
    check(
        "cp_child_not_seen_alone",
        &never_alone,
        "2007-03-30",
        Expect::FiresAt("2007-03-20T00:00"),
    );
    check(
        "cp_child_not_seen",
        &never_alone,
        "2007-03-30",
        Expect::Silent,
    );

    let mut alone = Picture::child("2003-03-01");
    cp_plan_start(&mut alone, "2007-03-05");
    for date in ["2007-03-09", "2007-03-16", "2007-03-23"] {
        visit(&mut alone, date, "true", "true");
    }
    check(
        "cp_child_not_seen_alone",
        &alone,
        "2007-03-30",
        Expect::Silent,
    );
}

#[test]
fn not_seen_or_non_engagement_twice() {
    let mut twice = Picture::child("2003-03-01");
    twice
        .event("north-hv", "health.health_visitor_contact", "2007-03-01")
        .finding("child_not_seen", &[])
        .add();
    twice
        .event("haringey-cs", "social_care.visit", "2007-03-20")
        .household_only()
        .person("parent-1", "parent")
        .finding_about("non_engagement", "parent-1", &[])
        .add();
    check(
        "not_seen_or_non_engagement_twice",
        &twice,
        "2007-04-01",
        Expect::FiresSeverity(Severity::Medium),
    );

    let mut apart = Picture::child("2003-03-01");
    apart
        .event("north-hv", "health.health_visitor_contact", "2007-03-01")
        .finding("child_not_seen", &[])
        .add();
    apart
        .event("north-hv", "health.health_visitor_contact", "2007-04-15")
        .finding("child_not_seen", &[])
        .add();
    check(
        "not_seen_or_non_engagement_twice",
        &apart,
        "2007-05-01",
        Expect::Silent,
    );
}

fn missed(picture: &mut Picture, date: &str) {
    picture
        .event("st-annes-gp", "health.appointment_missed", date)
        .add();
}

#[test]
fn missed_health_appointments() {
    let mut infant = Picture::child("2006-06-01");
    missed(&mut infant, "2007-01-10");
    missed(&mut infant, "2007-04-10");
    check(
        "missed_health_appointments",
        &infant,
        "2007-05-01",
        Expect::FiresSeverity(Severity::Medium),
    );

    let mut older = Picture::child("2003-06-01");
    missed(&mut older, "2007-01-10");
    missed(&mut older, "2007-04-10");
    check(
        "missed_health_appointments",
        &older,
        "2007-05-01",
        Expect::Silent,
    );

    let mut on_plan = Picture::child("2003-06-01");
    cp_plan_start(&mut on_plan, "2006-12-01");
    missed(&mut on_plan, "2007-01-10");
    missed(&mut on_plan, "2007-04-10");
    check(
        "missed_health_appointments",
        &on_plan,
        "2007-05-01",
        Expect::FiresSeverity(Severity::High),
    );

    let mut once = Picture::child("2006-06-01");
    missed(&mut once, "2007-01-10");
    missed(&mut once, "2007-09-10");
    check(
        "missed_health_appointments",
        &once,
        "2007-10-01",
        Expect::Silent,
    );
}

#[test]
fn faltering_growth_again() {
    let mut two_agencies = Picture::child("2003-06-01");
    two_agencies
        .event("north-hv", "health.health_visitor_contact", "2007-01-10")
        .finding("faltering_growth", &[])
        .add();
    two_agencies
        .event("park-primary", "education.concern", "2007-05-10")
        .finding("food_seeking", &[])
        .add();
    check(
        "faltering_growth_again",
        &two_agencies,
        "2007-06-01",
        Expect::FiresAt("2007-05-10T10:00"),
    );

    let mut one_agency = Picture::child("2003-06-01");
    one_agency
        .event("north-hv", "health.health_visitor_contact", "2007-01-10")
        .finding("faltering_growth", &[])
        .add();
    one_agency
        .event("north-hv", "health.health_visitor_contact", "2007-05-10")
        .finding("faltering_growth", &[])
        .add();
    check(
        "faltering_growth_again",
        &one_agency,
        "2007-06-01",
        Expect::Silent,
    );
}

#[test]
fn neglect_signs_together() {
    // Not brought to an appointment, then faltering growth seen at the GP.
    let mut not_brought = Picture::child("2016-06-01");
    missed(&mut not_brought, "2022-08-01");
    not_brought
        .event("st-annes-gp", "health.gp_consultation", "2022-09-18")
        .finding("faltering_growth", &[])
        .add();
    check(
        "neglect_signs_together",
        &not_brought,
        "2022-10-01",
        Expect::FiresAt("2022-09-18T10:00"),
    );

    // Poor hygiene at school after food-seeking at the nursery.
    let mut two_signs = Picture::child("2016-06-01");
    two_signs
        .event("park-nursery", "education.concern", "2022-03-01")
        .finding("food_seeking", &[])
        .add();
    two_signs
        .event("park-primary", "education.concern", "2022-07-01")
        .finding("poor_hygiene", &[])
        .add();
    check(
        "neglect_signs_together",
        &two_signs,
        "2022-08-01",
        Expect::FiresSeverity(Severity::High),
    );

    // One sign alone, or a missed appointment long before it: nothing.
    let mut alone = Picture::child("2016-06-01");
    missed(&mut alone, "2021-01-10");
    alone
        .event("st-annes-gp", "health.gp_consultation", "2022-09-18")
        .finding("faltering_growth", &[])
        .add();
    check(
        "neglect_signs_together",
        &alone,
        "2022-10-01",
        Expect::Silent,
    );

    // Missed appointments alone are another rule's business.
    let mut missed_only = Picture::child("2016-06-01");
    missed(&mut missed_only, "2022-08-01");
    missed(&mut missed_only, "2022-09-01");
    check(
        "neglect_signs_together",
        &missed_only,
        "2022-10-01",
        Expect::Silent,
    );
}

#[test]
fn concerns_three_agencies() {
    let mut three = Picture::child("2001-06-01");
    three
        .event("park-primary", "education.concern", "2007-02-01")
        .finding("poor_hygiene", &[])
        .add();
    domestic_incident(&mut three, "2007-02-20");
    bruise(&mut three, "st-annes-gp", "2007-03-15", "consistent");
    check(
        "concerns_three_agencies",
        &three,
        "2007-04-01",
        Expect::Fires,
    );
    let firings = three.evaluate("2007-04-01");
    let explanation = sightline_rules::resolve_explanation(
        &fired(&firings, "concerns_three_agencies")[0].explanation,
        &|_| None,
    );
    assert!(explanation.starts_with("Concerns about the child from north-met-police, park-primary and st-annes-gp within 60 days"), "{explanation}");

    let mut spread = Picture::child("2001-06-01");
    spread
        .event("park-primary", "education.concern", "2007-01-01")
        .finding("poor_hygiene", &[])
        .add();
    domestic_incident(&mut spread, "2007-02-10");
    bruise(&mut spread, "st-annes-gp", "2007-03-15", "consistent");
    check(
        "concerns_three_agencies",
        &spread,
        "2007-04-01",
        Expect::Silent,
    );

    let mut two = Picture::child("2001-06-01");
    two.event("park-primary", "education.concern", "2007-02-01")
        .finding("poor_hygiene", &[])
        .add();
    two.event("park-primary", "education.concern", "2007-02-10")
        .finding("food_seeking", &[])
        .add();
    bruise(&mut two, "st-annes-gp", "2007-03-15", "consistent");
    check(
        "concerns_three_agencies",
        &two,
        "2007-04-01",
        Expect::Silent,
    );
}

fn referral(picture: &mut Picture, date: &str, decision: &'static str) {
    let builder = picture.event("haringey-cs", "social_care.referral", date);
    if decision.is_empty() {
        builder.add();
    } else {
        builder.outcome(&[("decision", decision)]).add();
    }
}

#[test]
fn repeat_referrals_closed_nfa() {
    let mut third = Picture::child("2001-06-01");
    referral(&mut third, "2007-01-05", "nfa");
    referral(&mut third, "2007-04-05", "nfa");
    referral(&mut third, "2007-09-05", "assessment");
    check(
        "repeat_referrals_closed_nfa",
        &third,
        "2007-10-01",
        Expect::FiresAt("2007-09-05T10:00"),
    );

    let mut one_nfa = Picture::child("2001-06-01");
    referral(&mut one_nfa, "2007-01-05", "nfa");
    referral(&mut one_nfa, "2007-09-05", "assessment");
    check(
        "repeat_referrals_closed_nfa",
        &one_nfa,
        "2007-10-01",
        Expect::Silent,
    );

    let mut old = Picture::child("2001-06-01");
    referral(&mut old, "2005-01-05", "nfa");
    referral(&mut old, "2005-04-05", "nfa");
    referral(&mut old, "2007-09-05", "assessment");
    check(
        "repeat_referrals_closed_nfa",
        &old,
        "2007-10-01",
        Expect::Silent,
    );
}

#[test]
fn pregnancy_after_child_harm() {
    let mut previous_plan = Picture::child("2003-06-01");
    previous_plan
        .event("haringey-cs", "social_care.visit", "2004-01-01")
        .person("mother-1", "parent")
        .add();
    cp_plan_start(&mut previous_plan, "2004-02-01");
    previous_plan
        .event("north-midwifery", "health.pregnancy", "2007-05-01")
        .household_only()
        .person("mother-1", "subject")
        .add();
    check(
        "pregnancy_after_child_harm",
        &previous_plan,
        "2007-06-01",
        Expect::Fires,
    );

    let mut never = Picture::child("2003-06-01");
    never
        .event("north-hv", "health.health_visitor_contact", "2004-01-01")
        .person("mother-1", "parent")
        .add();
    never
        .event("north-midwifery", "health.pregnancy", "2007-05-01")
        .household_only()
        .person("mother-1", "subject")
        .add();
    check(
        "pregnancy_after_child_harm",
        &never,
        "2007-06-01",
        Expect::Silent,
    );

    // Removed: placed in foster care.
    let mut removed = Picture::child("2003-06-01");
    removed
        .event("haringey-cs", "social_care.placement", "2005-01-01")
        .outcome(&[("status", "start"), ("placement_type", "foster_care")])
        .person("mother-1", "parent")
        .relationship("parent_of", Subject::Child)
        .add();
    removed
        .event("north-midwifery", "health.pregnancy", "2007-05-01")
        .household_only()
        .person("mother-1", "subject")
        .add();
    check(
        "pregnancy_after_child_harm",
        &removed,
        "2007-06-01",
        Expect::Fires,
    );
}

#[test]
fn referral_decision_overdue() {
    // Thursday 2007-04-05; Good Friday and Easter Monday follow: due Tuesday 04-10.
    let mut undecided = Picture::child("2001-06-01");
    referral(&mut undecided, "2007-04-05", "");
    check(
        "referral_decision_overdue",
        &undecided,
        "2007-04-20",
        Expect::FiresAt("2007-04-11T00:00"),
    );
    check(
        "referral_decision_overdue",
        &undecided,
        "2007-04-10T23:00",
        Expect::Silent,
    );

    let mut decided = Picture::child("2001-06-01");
    decided
        .event("haringey-cs", "social_care.referral", "2007-04-05")
        .record_id("ref-1", 1)
        .add();
    decided
        .event("haringey-cs", "social_care.referral", "2007-04-05")
        .record_id("ref-1", 2)
        .outcome(&[("decision", "early_help")])
        .recorded("2007-04-10T16:00")
        .add();
    check(
        "referral_decision_overdue",
        &decided,
        "2007-04-20",
        Expect::Silent,
    );

    // Another referral's decision does not decide this one.
    let mut other = Picture::child("2001-06-01");
    other
        .event("haringey-cs", "social_care.referral", "2007-04-05")
        .record_id("ref-1", 1)
        .add();
    other
        .event("haringey-cs", "social_care.referral", "2007-04-06")
        .record_id("ref-2", 1)
        .outcome(&[("decision", "nfa")])
        .add();
    check(
        "referral_decision_overdue",
        &other,
        "2007-04-20",
        Expect::FiresAt("2007-04-11T00:00"),
    );
}

#[test]
fn assessment_overdue() {
    let deadline = add_working_days(day("2007-01-08"), 45);
    let overdue_at = format!("{}T00:00", deadline.succ_opt().unwrap().format("%Y-%m-%d"));
    let mut late = Picture::child("2001-06-01");
    referral(&mut late, "2007-01-08", "assessment");
    check(
        "assessment_overdue",
        &late,
        "2007-06-01",
        Expect::FiresAt(Box::leak(overdue_at.into_boxed_str())),
    );

    let mut done = Picture::child("2001-06-01");
    referral(&mut done, "2007-01-08", "assessment");
    done.event("haringey-cs", "social_care.assessment", "2007-02-20")
        .outcome(&[("status", "completed")])
        .add();
    check("assessment_overdue", &done, "2007-06-01", Expect::Silent);
}

#[test]
fn initial_conference_overdue() {
    // Strategy discussion Tuesday 2007-05-01: 15 working days skip the May bank
    // holidays of 05-07 and 05-28, so the conference is due by Wednesday 05-23.
    assert_eq!(add_working_days(day("2007-05-01"), 15), day("2007-05-23"));
    let mut late = Picture::child("2001-06-01");
    late.event(
        "haringey-cs",
        "social_care.strategy_discussion",
        "2007-05-01",
    )
    .outcome(&[("section47", "true")])
    .add();
    check(
        "initial_conference_overdue",
        &late,
        "2007-07-01",
        Expect::FiresAt("2007-05-24T00:00"),
    );

    let mut held = Picture::child("2001-06-01");
    held.event(
        "haringey-cs",
        "social_care.strategy_discussion",
        "2007-05-01",
    )
    .outcome(&[("section47", "true")])
    .add();
    held.event("haringey-cs", "social_care.conference", "2007-05-15")
        .outcome(&[("type", "initial"), ("plan", "start")])
        .add();
    check(
        "initial_conference_overdue",
        &held,
        "2007-07-01",
        Expect::Silent,
    );

    let mut unsubstantiated = Picture::child("2001-06-01");
    unsubstantiated
        .event(
            "haringey-cs",
            "social_care.strategy_discussion",
            "2007-05-01",
        )
        .outcome(&[("section47", "true")])
        .add();
    unsubstantiated
        .event("haringey-cs", "social_care.section47", "2007-05-10")
        .outcome(&[("status", "completed"), ("substantiated", "false")])
        .add();
    check(
        "initial_conference_overdue",
        &unsubstantiated,
        "2007-07-01",
        Expect::Silent,
    );

    // A later strategy discussion restarts the clock.
    let mut restarted = Picture::child("2001-06-01");
    restarted
        .event(
            "haringey-cs",
            "social_care.strategy_discussion",
            "2007-05-01",
        )
        .outcome(&[("section47", "true")])
        .add();
    restarted
        .event(
            "haringey-cs",
            "social_care.strategy_discussion",
            "2007-05-20",
        )
        .outcome(&[("section47", "true")])
        .add();
    restarted
        .event("haringey-cs", "social_care.conference", "2007-06-05")
        .outcome(&[("type", "initial"), ("plan", "start")])
        .add();
    check(
        "initial_conference_overdue",
        &restarted,
        "2007-07-01",
        Expect::Silent,
    );
}

#[test]
fn review_conference_overdue() {
    let mut no_review = Picture::child("2001-06-01");
    no_review
        .event("haringey-cs", "social_care.conference", "2007-01-10")
        .outcome(&[("type", "initial"), ("plan", "start")])
        .add();
    check(
        "review_conference_overdue",
        &no_review,
        "2007-06-01",
        Expect::FiresAt("2007-04-11T00:00"),
    );

    let mut reviewed = Picture::child("2001-06-01");
    reviewed
        .event("haringey-cs", "social_care.conference", "2007-01-10")
        .outcome(&[("type", "initial"), ("plan", "start")])
        .add();
    reviewed
        .event("haringey-cs", "social_care.conference", "2007-04-01")
        .outcome(&[("type", "review"), ("plan", "continue")])
        .add();
    check(
        "review_conference_overdue",
        &reviewed,
        "2007-09-30",
        Expect::Silent,
    );
    // Six months after the review without another: overdue.
    check(
        "review_conference_overdue",
        &reviewed,
        "2007-10-05",
        Expect::FiresAt("2007-10-02T00:00"),
    );

    let mut ended = Picture::child("2001-06-01");
    ended
        .event("haringey-cs", "social_care.conference", "2007-01-10")
        .outcome(&[("type", "initial"), ("plan", "start")])
        .add();
    ended
        .event("haringey-cs", "social_care.conference", "2007-04-01")
        .outcome(&[("type", "review"), ("plan", "end")])
        .add();
    check(
        "review_conference_overdue",
        &ended,
        "2008-06-01",
        Expect::Silent,
    );
}

#[test]
fn every_default_rule_is_tested() {
    let source = [include_str!("default_pack.rs"), include_str!("cg89.rs")].concat();
    for rule in &default_pack().rules {
        let named = format!("\"{}\"", rule.id);
        assert!(
            source.contains(&named),
            "rule {} has no table case",
            rule.id
        );
    }
}

#[test]
fn routes_to_the_allocated_worker_when_known() {
    let mut picture = Picture::child("2006-11-01");
    picture.picture.child.allocated_worker = Some("worker-12".to_owned());
    bruise(&mut picture, "st-annes-gp", "2007-03-01", "unknown");
    let firings = picture.evaluate("2007-04-01");
    assert_eq!(
        fired(&firings, "injury_not_mobile")[0].route,
        Route::AllocatedWorker("worker-12".to_owned())
    );
}

#[test]
fn repeat_firings_share_a_dedup_key() {
    let mut picture = Picture::child("2004-01-01");
    bruise(&mut picture, "st-annes-gp", "2007-01-10", "consistent");
    bruise(&mut picture, "north-ed", "2007-02-10", "consistent");
    bruise(&mut picture, "north-hv", "2007-03-10", "consistent");
    let firings = picture.evaluate("2007-04-01");
    let second = fired(&firings, "second_injury_under_5");
    assert_eq!(second.len(), 2, "{second:#?}");
    assert!(second[0].dedup_key().matches(&second[1].dedup_key()));
    assert!(second[1].evidence.len() > second[0].evidence.len());
}
