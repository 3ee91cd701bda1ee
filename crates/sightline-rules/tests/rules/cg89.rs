//! The rules that carry NICE CG89 at every age, Working Together 2023's
//! threshold, exploitation and the child not seen: for each, pictures that must
//! raise it and pictures that must not (`docs/rules-coverage.md` maps CG89's
//! recommendations to these rules).

use crate::default_pack::{Expect, bruise, check, cp_plan_start};
use crate::support::{Picture, fired};
use sightline_rules::{Severity, Subject};

/// One injury finding recorded by a GP on `date`.
fn injury(picture: &mut Picture, date: &str, pairs: &[(&'static str, &'static str)]) {
    picture
        .event("st-annes-gp", "health.gp_consultation", date)
        .finding("injury", pairs)
        .add();
}

#[test]
fn injury_pattern_or_site() {
    // A grip-mark bruise at 12, explained as play: the shape alone (CG89 1.1.1).
    let mut grip = Picture::child("1995-01-01");
    injury(
        &mut grip,
        "2007-03-01",
        &[
            ("type", "bruise"),
            ("site", "arm"),
            ("pattern", "grip"),
            ("explanation", "consistent"),
        ],
    );
    check(
        "injury_pattern_or_site",
        &grip,
        "2007-04-01",
        Expect::FiresSeverity(Severity::High),
    );
    // A cigarette burn at 18 months: critical.
    let mut cigarette = Picture::child("2005-09-01");
    injury(
        &mut cigarette,
        "2007-03-01",
        &[("type", "burn"), ("pattern", "cigarette")],
    );
    check(
        "injury_pattern_or_site",
        &cigarette,
        "2007-04-01",
        Expect::FiresSeverity(Severity::Critical),
    );
    // Bruises to the ear at 9 with no explanation recorded as known.
    let mut ear = Picture::child("1998-01-01");
    injury(
        &mut ear,
        "2007-03-01",
        &[
            ("type", "bruise"),
            ("site", "ear"),
            ("explanation", "unknown"),
        ],
    );
    check("injury_pattern_or_site", &ear, "2007-04-01", Expect::Fires);
    // A burn to the soles, whatever the account.
    let mut soles = Picture::child("2003-01-01");
    injury(
        &mut soles,
        "2007-03-01",
        &[
            ("type", "burn"),
            ("site", "soles"),
            ("explanation", "consistent"),
        ],
    );
    check(
        "injury_pattern_or_site",
        &soles,
        "2007-04-01",
        Expect::Fires,
    );

    // Must not: a bruise to the ear with a consistent explanation; a bruised
    // shin; a pattern recorded as "other".
    let mut explained = Picture::child("1998-01-01");
    injury(
        &mut explained,
        "2007-03-01",
        &[
            ("type", "bruise"),
            ("site", "ear"),
            ("explanation", "consistent"),
        ],
    );
    check(
        "injury_pattern_or_site",
        &explained,
        "2007-04-01",
        Expect::Silent,
    );
    let mut shin = Picture::child("1998-01-01");
    injury(
        &mut shin,
        "2007-03-01",
        &[("type", "bruise"), ("site", "leg"), ("pattern", "other")],
    );
    check(
        "injury_pattern_or_site",
        &shin,
        "2007-04-01",
        Expect::Silent,
    );
}

#[test]
fn injury_multiple_unexplained() {
    let mut many = Picture::child("2000-01-01");
    injury(
        &mut many,
        "2007-03-01",
        &[
            ("type", "bruise"),
            ("site", "multiple"),
            ("count", "7"),
            ("explanation", "unknown"),
        ],
    );
    check(
        "injury_multiple_unexplained",
        &many,
        "2007-04-01",
        Expect::FiresSeverity(Severity::High),
    );
    let mut three = Picture::child("2000-01-01");
    injury(
        &mut three,
        "2007-03-01",
        &[("type", "bruise"), ("count", "3"), ("explanation", "none")],
    );
    check(
        "injury_multiple_unexplained",
        &three,
        "2007-04-01",
        Expect::Fires,
    );

    // Must not: several bruises with a consistent account; two bruises.
    let mut explained = Picture::child("2000-01-01");
    injury(
        &mut explained,
        "2007-03-01",
        &[
            ("type", "bruise"),
            ("site", "multiple"),
            ("count", "4"),
            ("explanation", "consistent"),
        ],
    );
    check(
        "injury_multiple_unexplained",
        &explained,
        "2007-04-01",
        Expect::Silent,
    );
    let mut two = Picture::child("2000-01-01");
    injury(
        &mut two,
        "2007-03-01",
        &[
            ("type", "bruise"),
            ("count", "2"),
            ("explanation", "unknown"),
        ],
    );
    check(
        "injury_multiple_unexplained",
        &two,
        "2007-04-01",
        Expect::Silent,
    );
}

#[test]
fn injury_delayed_presentation() {
    let mut late = Picture::child("2002-01-01");
    injury(
        &mut late,
        "2007-03-01",
        &[
            ("type", "fracture"),
            ("site", "arm"),
            ("explanation", "consistent"),
            ("delayed_presentation", "true"),
        ],
    );
    check(
        "injury_delayed_presentation",
        &late,
        "2007-04-01",
        Expect::FiresSeverity(Severity::High),
    );
    let mut infant = Picture::child("2006-12-01");
    injury(
        &mut infant,
        "2007-03-01",
        &[("type", "fracture"), ("delayed_presentation", "true")],
    );
    check(
        "injury_delayed_presentation",
        &infant,
        "2007-04-01",
        Expect::FiresSeverity(Severity::Critical),
    );
    let mut prompt = Picture::child("2002-01-01");
    injury(
        &mut prompt,
        "2007-03-01",
        &[("type", "fracture"), ("delayed_presentation", "false")],
    );
    check(
        "injury_delayed_presentation",
        &prompt,
        "2007-04-01",
        Expect::Silent,
    );
}

fn allegation(
    picture: &mut Picture,
    agency: &str,
    date: &str,
    pairs: &[(&'static str, &'static str)],
) {
    picture
        .event(agency, "social_care.referral", date)
        .finding("allegation", pairs)
        .add();
}

#[test]
fn allegation_any_age() {
    // A relative alleges physical abuse of a 9-year-old (the first miss).
    let mut relative = Picture::child("1998-01-01");
    allegation(
        &mut relative,
        "haringey-cs",
        "2007-03-01",
        &[("category", "physical_abuse"), ("by", "family")],
    );
    check(
        "allegation_any_age",
        &relative,
        "2007-04-01",
        Expect::FiresSeverity(Severity::High),
    );
    // An anonymous allegation with an injury in the same record, at 14.
    let mut corroborated = Picture::child("1993-01-01");
    corroborated
        .event("north-police", "police.call_out", "2007-03-01")
        .finding(
            "allegation",
            &[("category", "sexual_abuse"), ("by", "anonymous")],
        )
        .finding("injury", &[("type", "bruise"), ("site", "neck")])
        .add();
    check(
        "allegation_any_age",
        &corroborated,
        "2007-04-01",
        Expect::Fires,
    );
    // Exploitation alleged by a professional.
    let mut exploited = Picture::child("1993-01-01");
    allegation(
        &mut exploited,
        "haringey-cs",
        "2007-03-01",
        &[("category", "exploitation"), ("by", "professional")],
    );
    check(
        "allegation_any_age",
        &exploited,
        "2007-04-01",
        Expect::Fires,
    );

    // Must not: an anonymous allegation alone; an allegation of neglect.
    let mut anonymous = Picture::child("1998-01-01");
    allegation(
        &mut anonymous,
        "haringey-cs",
        "2007-03-01",
        &[("category", "physical_abuse"), ("by", "anonymous")],
    );
    check(
        "allegation_any_age",
        &anonymous,
        "2007-04-01",
        Expect::Silent,
    );
    let mut neglect = Picture::child("1998-01-01");
    allegation(
        &mut neglect,
        "haringey-cs",
        "2007-03-01",
        &[("category", "neglect"), ("by", "family")],
    );
    check("allegation_any_age", &neglect, "2007-04-01", Expect::Silent);
}

#[test]
fn disclosure_by_child() {
    let mut told = Picture::child("1996-01-01");
    told.event("kingsway-primary", "education.concern", "2007-03-01")
        .finding("disclosure", &[("category", "physical_abuse")])
        .add();
    check(
        "disclosure_by_child",
        &told,
        "2007-04-01",
        Expect::FiresAt("2007-03-01T10:00"),
    );
    // A disclosure recorded about a brother, not this child: silent.
    let mut sibling = Picture::child("1996-01-01");
    sibling
        .event("kingsway-primary", "education.concern", "2007-03-01")
        .finding_about("disclosure", "brother-1", &[])
        .add();
    check(
        "disclosure_by_child",
        &sibling,
        "2007-04-01",
        Expect::Silent,
    );
}

#[test]
fn family_reports_repeated() {
    let mut twice = Picture::child("2000-01-01");
    allegation(
        &mut twice,
        "haringey-cs",
        "2007-03-01",
        &[("category", "emotional_abuse"), ("by", "family")],
    );
    twice
        .event("north-police", "police.call_out", "2007-04-15")
        .finding(
            "allegation",
            &[("category", "emotional_abuse"), ("by", "public")],
        )
        .add();
    check(
        "family_reports_repeated",
        &twice,
        "2007-05-01",
        Expect::FiresAt("2007-04-15T10:00"),
    );
    // A referral whose referrer is family counts without a coded allegation.
    let mut referrer = Picture::child("2000-01-01");
    referrer
        .event("haringey-cs", "social_care.referral", "2007-03-01")
        .outcome(&[("referrer_type", "family")])
        .add();
    referrer
        .event("haringey-cs", "social_care.referral", "2007-03-20")
        .outcome(&[("referrer_type", "family")])
        .add();
    check(
        "family_reports_repeated",
        &referrer,
        "2007-05-01",
        Expect::Fires,
    );
    // Must not: two reports five months apart; professionals' referrals.
    let mut apart = Picture::child("2000-01-01");
    allegation(
        &mut apart,
        "haringey-cs",
        "2007-01-01",
        &[("category", "neglect"), ("by", "family")],
    );
    allegation(
        &mut apart,
        "haringey-cs",
        "2007-06-01",
        &[("category", "neglect"), ("by", "family")],
    );
    check(
        "family_reports_repeated",
        &apart,
        "2007-07-01",
        Expect::Silent,
    );
    let mut professional = Picture::child("2000-01-01");
    for date in ["2007-03-01", "2007-03-10"] {
        professional
            .event("haringey-cs", "social_care.referral", date)
            .outcome(&[("referrer_type", "professional")])
            .add();
    }
    check(
        "family_reports_repeated",
        &professional,
        "2007-05-01",
        Expect::Silent,
    );
}

#[test]
fn alleged_perpetrator_unknown() {
    // Police record a relative's allegation that a named adult hit a 9-year-old;
    // no social care record names him. The child is on no plan.
    let mut named = Picture::child("1998-01-01");
    named
        .event("north-police", "police.call_out", "2007-03-01")
        .finding(
            "allegation",
            &[("category", "physical_abuse"), ("by", "family")],
        )
        .person("adult-3", "alleged_perpetrator")
        .add();
    check(
        "alleged_perpetrator_unknown",
        &named,
        "2007-04-01",
        Expect::FiresAt("2007-03-01T10:00"),
    );
    let firings = named.evaluate("2007-04-01");
    assert_eq!(
        fired(&firings, "alleged_perpetrator_unknown")[0]
            .person_id
            .as_deref(),
        Some("adult-3")
    );

    // Must not: the perpetrator of domestic abuse against the mother (no harm
    // to the child recorded); a man social care already records.
    let mut domestic = Picture::child("1998-01-01");
    domestic
        .event("north-police", "police.domestic_incident", "2007-03-01")
        .person("mother-1", "parent")
        .person("adult-3", "alleged_perpetrator")
        .finding_about("domestic_abuse", "mother-1", &[("risk", "medium")])
        .add();
    check(
        "alleged_perpetrator_unknown",
        &domestic,
        "2007-04-01",
        Expect::Silent,
    );
    let mut known = Picture::child("1998-01-01");
    known
        .event("haringey-cs", "social_care.assessment", "2007-01-10")
        .person("adult-3", "partner")
        .add();
    known
        .event("north-police", "police.call_out", "2007-03-01")
        .finding(
            "allegation",
            &[("category", "physical_abuse"), ("by", "family")],
        )
        .person("adult-3", "alleged_perpetrator")
        .add();
    check(
        "alleged_perpetrator_unknown",
        &known,
        "2007-04-01",
        Expect::Silent,
    );
}

#[test]
fn sexually_transmitted_infection_under_16() {
    let mut twelve = Picture::child("1995-01-01");
    twelve
        .event(
            "north-sexual-health",
            "health.sexual_health_contact",
            "2007-03-01",
        )
        .finding("sexually_transmitted_infection", &[])
        .add();
    check(
        "sexually_transmitted_infection_under_16",
        &twelve,
        "2007-04-01",
        Expect::FiresSeverity(Severity::Critical),
    );
    let mut fourteen = Picture::child("1993-01-01");
    fourteen
        .event(
            "north-sexual-health",
            "health.sexual_health_contact",
            "2007-03-01",
        )
        .finding("sexually_transmitted_infection", &[])
        .add();
    check(
        "sexually_transmitted_infection_under_16",
        &fourteen,
        "2007-04-01",
        Expect::FiresSeverity(Severity::High),
    );
    let mut seventeen = Picture::child("1990-01-01");
    seventeen
        .event(
            "north-sexual-health",
            "health.sexual_health_contact",
            "2007-03-01",
        )
        .finding("sexually_transmitted_infection", &[])
        .add();
    check(
        "sexually_transmitted_infection_under_16",
        &seventeen,
        "2007-04-01",
        Expect::Silent,
    );
}

#[test]
fn pregnancy_under_16() {
    let mut fifteen = Picture::child("1992-01-01");
    fifteen
        .event("north-maternity", "health.pregnancy", "2007-03-01")
        .add();
    check(
        "pregnancy_under_16",
        &fifteen,
        "2007-04-01",
        Expect::FiresSeverity(Severity::High),
    );
    let mut twelve = Picture::child("1995-01-01");
    twelve
        .event("north-maternity", "health.pregnancy", "2007-03-01")
        .add();
    check(
        "pregnancy_under_16",
        &twelve,
        "2007-04-01",
        Expect::FiresSeverity(Severity::Critical),
    );
    // Must not: an unborn child, the subject of its mother's pregnancy record;
    // a 17-year-old.
    let mut unborn = Picture::child("2007-09-01");
    unborn
        .event("north-maternity", "health.pregnancy", "2007-03-01")
        .add();
    check("pregnancy_under_16", &unborn, "2007-04-01", Expect::Silent);
    let mut seventeen = Picture::child("1990-01-01");
    seventeen
        .event("north-maternity", "health.pregnancy", "2007-03-01")
        .add();
    check(
        "pregnancy_under_16",
        &seventeen,
        "2007-04-01",
        Expect::Silent,
    );
}

#[test]
fn sexualised_behaviour_young_child() {
    let mut seven = Picture::child("2000-01-01");
    seven
        .event("kingsway-primary", "education.concern", "2007-03-01")
        .finding("sexualised_behaviour", &[])
        .add();
    check(
        "sexualised_behaviour_young_child",
        &seven,
        "2007-04-01",
        Expect::FiresSeverity(Severity::Medium),
    );
    let mut on_plan = Picture::child("2000-01-01");
    cp_plan_start(&mut on_plan, "2007-01-01");
    on_plan
        .event("kingsway-primary", "education.concern", "2007-03-01")
        .finding("sexualised_behaviour", &[])
        .add();
    check(
        "sexualised_behaviour_young_child",
        &on_plan,
        "2007-04-01",
        Expect::FiresSeverity(Severity::High),
    );
    let mut fourteen = Picture::child("1993-01-01");
    fourteen
        .event("kingsway-primary", "education.concern", "2007-03-01")
        .finding("sexualised_behaviour", &[])
        .add();
    check(
        "sexualised_behaviour_young_child",
        &fourteen,
        "2007-04-01",
        Expect::Silent,
    );
}

#[test]
fn fabricated_illness_signs() {
    let mut two = Picture::child("2000-01-01");
    two.event("north-hospital", "health.admission", "2007-03-01")
        .finding(
            "fabricated_illness_indicator",
            &[("type", "symptoms_seen_only_by_carer")],
        )
        .add();
    two.event("st-annes-gp", "health.gp_consultation", "2007-09-01")
        .finding(
            "fabricated_illness_indicator",
            &[("type", "many_professionals")],
        )
        .add();
    check(
        "fabricated_illness_signs",
        &two,
        "2007-10-01",
        Expect::FiresAt("2007-09-01T10:00"),
    );
    let mut one = Picture::child("2000-01-01");
    one.event("north-hospital", "health.admission", "2007-03-01")
        .finding(
            "fabricated_illness_indicator",
            &[("type", "repeated_presentations_no_cause")],
        )
        .add();
    check(
        "fabricated_illness_signs",
        &one,
        "2007-10-01",
        Expect::Silent,
    );
}

#[test]
fn exploitation_indicator() {
    let mut drugs = Picture::child("1993-01-01");
    drugs
        .event("north-police", "police.call_out", "2007-03-01")
        .finding(
            "exploitation_indicator",
            &[("type", "drugs_or_weapons"), ("category", "unknown")],
        )
        .add();
    check(
        "exploitation_indicator",
        &drugs,
        "2007-04-01",
        Expect::FiresSeverity(Severity::High),
    );
    let mut gifts = Picture::child("1993-01-01");
    gifts
        .event("kingsway-academy", "education.concern", "2007-03-01")
        .finding(
            "exploitation_indicator",
            &[
                ("type", "unexplained_gifts_or_phones"),
                ("category", "unknown"),
            ],
        )
        .add();
    check(
        "exploitation_indicator",
        &gifts,
        "2007-04-01",
        Expect::FiresSeverity(Severity::Medium),
    );
    let mut far = Picture::child("1993-01-01");
    far.event("north-police", "police.missing_person", "2007-03-01")
        .outcome(&[("found", "true"), ("found_far_from_home", "true")])
        .add();
    check(
        "exploitation_indicator",
        &far,
        "2007-04-01",
        Expect::FiresSeverity(Severity::High),
    );
    let mut home = Picture::child("1993-01-01");
    home.event("north-police", "police.missing_person", "2007-03-01")
        .outcome(&[("found", "true"), ("found_far_from_home", "false")])
        .add();
    check(
        "exploitation_indicator",
        &home,
        "2007-04-01",
        Expect::Silent,
    );
}

fn missing(picture: &mut Picture, date: &str, from: &'static str) {
    picture
        .event("north-police", "police.missing_person", date)
        .finding("missing_episode", &[("from", from), ("hours", "20")])
        .outcome(&[("missing_from", from), ("found", "true")])
        .add();
}

#[test]
fn exploitation_signs_repeated() {
    let mut twice = Picture::child("1993-01-01");
    missing(&mut twice, "2007-01-10", "home");
    missing(&mut twice, "2007-04-10", "home");
    check(
        "exploitation_signs_repeated",
        &twice,
        "2007-05-01",
        Expect::FiresAt("2007-04-10T10:00"),
    );
    // One episode recorded by the police and again in the referral it led to
    // is one episode: only police records of missing episodes count.
    let mut once = Picture::child("1993-01-01");
    missing(&mut once, "2007-01-10", "home");
    once.event("haringey-cs", "social_care.referral", "2007-01-12")
        .finding("missing_episode", &[("from", "home")])
        .add();
    check(
        "exploitation_signs_repeated",
        &once,
        "2007-05-01",
        Expect::Silent,
    );
    let mut apart = Picture::child("1993-01-01");
    missing(&mut apart, "2006-01-10", "home");
    missing(&mut apart, "2007-04-10", "home");
    check(
        "exploitation_signs_repeated",
        &apart,
        "2007-05-01",
        Expect::Silent,
    );
}

#[test]
fn missing_from_care() {
    let mut care = Picture::child("1993-01-01");
    missing(&mut care, "2007-03-01", "care");
    check(
        "missing_from_care",
        &care,
        "2007-04-01",
        Expect::FiresSeverity(Severity::High),
    );
    let mut home = Picture::child("1993-01-01");
    missing(&mut home, "2007-03-01", "home");
    check("missing_from_care", &home, "2007-04-01", Expect::Silent);
}

#[test]
fn violence_after_exploitation_signs() {
    let mut stabbed = Picture::child("1993-01-01");
    stabbed
        .event("north-police", "police.call_out", "2007-01-10")
        .finding(
            "exploitation_indicator",
            &[("type", "older_associates"), ("category", "unknown")],
        )
        .add();
    stabbed
        .event("north-ed", "health.ed_attendance", "2007-06-01")
        .finding(
            "injury",
            &[
                ("type", "laceration"),
                ("site", "torso"),
                ("explanation", "unknown"),
            ],
        )
        .add();
    check(
        "violence_after_exploitation_signs",
        &stabbed,
        "2007-07-01",
        Expect::FiresAt("2007-06-01T10:00"),
    );
    let mut no_signs = Picture::child("1993-01-01");
    no_signs
        .event("north-ed", "health.ed_attendance", "2007-06-01")
        .finding("injury", &[("type", "laceration"), ("site", "torso")])
        .add();
    check(
        "violence_after_exploitation_signs",
        &no_signs,
        "2007-07-01",
        Expect::Silent,
    );
}

#[test]
fn rehousing_for_risk_of_harm() {
    let mut family = Picture::child("2002-01-01");
    family
        .event("north-police", "police.call_out", "2007-01-10")
        .finding(
            "exploitation_indicator",
            &[("type", "gang_association"), ("category", "criminal")],
        )
        .add();
    family
        .event("north-housing", "housing.application", "2007-03-01")
        .household_only()
        .person("mother-1", "subject")
        .outcome(&[("reason", "risk_of_harm")])
        .add();
    check(
        "rehousing_for_risk_of_harm",
        &family,
        "2007-04-01",
        Expect::FiresAt("2007-03-01T10:00"),
    );
    let mut overcrowded = Picture::child("2002-01-01");
    overcrowded
        .event("north-police", "police.call_out", "2007-01-10")
        .finding(
            "exploitation_indicator",
            &[("type", "gang_association"), ("category", "criminal")],
        )
        .add();
    overcrowded
        .event("north-housing", "housing.application", "2007-03-01")
        .household_only()
        .person("mother-1", "subject")
        .outcome(&[("reason", "overcrowding")])
        .add();
    check(
        "rehousing_for_risk_of_harm",
        &overcrowded,
        "2007-04-01",
        Expect::Silent,
    );
}

#[test]
fn child_not_seen_with_open_concerns() {
    let mut unseen = Picture::child("1999-01-01");
    allegation(
        &mut unseen,
        "haringey-cs",
        "2007-03-01",
        &[("category", "physical_abuse"), ("by", "anonymous")],
    );
    unseen
        .event("haringey-cs", "social_care.visit", "2007-03-10")
        .finding("child_not_seen", &[])
        .outcome(&[("child_seen", "false")])
        .add();
    check(
        "child_not_seen_with_open_concerns",
        &unseen,
        "2007-04-01",
        Expect::FiresAt("2007-03-10T10:00"),
    );
    // Not seen, with no concern open: silent (cp_child_not_seen and
    // not_seen_or_non_engagement_twice cover the rest).
    let mut quiet = Picture::child("1999-01-01");
    quiet
        .event("north-hv", "health.health_visitor_contact", "2007-03-10")
        .outcome(&[("child_seen", "false")])
        .add();
    check(
        "child_not_seen_with_open_concerns",
        &quiet,
        "2007-04-01",
        Expect::Silent,
    );
    // A referral, whatever its decision, is not on its own an open concern.
    let mut closed = Picture::child("1999-01-01");
    closed
        .event("haringey-cs", "social_care.referral", "2007-03-01")
        .outcome(&[("decision", "assessment")])
        .add();
    closed
        .event("north-hv", "health.health_visitor_contact", "2007-03-10")
        .outcome(&[("child_seen", "false")])
        .add();
    check(
        "child_not_seen_with_open_concerns",
        &closed,
        "2007-04-01",
        Expect::Silent,
    );
}

#[test]
fn withdrawn_from_school_with_concerns() {
    let mut withdrawn = Picture::child("2012-01-01");
    bruise(
        &mut withdrawn,
        "kingsway-primary",
        "2023-03-10",
        "inconsistent",
    );
    withdrawn
        .event("kingsway-primary", "education.absence", "2023-04-13")
        .outcome(&[("reason", "elective_home_education")])
        .add();
    check(
        "withdrawn_from_school_with_concerns",
        &withdrawn,
        "2023-05-01",
        Expect::FiresAt("2023-04-13T10:00"),
    );
    // Home education with no concern before it; persistent absence after one.
    let mut chosen = Picture::child("2012-01-01");
    chosen
        .event("kingsway-primary", "education.absence", "2023-04-13")
        .outcome(&[("reason", "elective_home_education")])
        .add();
    check(
        "withdrawn_from_school_with_concerns",
        &chosen,
        "2023-05-01",
        Expect::Silent,
    );
    let mut absent = Picture::child("2012-01-01");
    bruise(
        &mut absent,
        "kingsway-primary",
        "2023-03-10",
        "inconsistent",
    );
    absent
        .event("kingsway-primary", "education.absence", "2023-04-13")
        .outcome(&[("reason", "persistent_absence")])
        .add();
    check(
        "withdrawn_from_school_with_concerns",
        &absent,
        "2023-05-01",
        Expect::Silent,
    );
}

#[test]
fn concerns_in_two_authorities() {
    let mut moved = Picture::child("2004-01-01");
    moved
        .event("kingsmere-csc", "social_care.referral", "2007-01-10")
        .outcome(&[("decision", "nfa")])
        .add();
    moved
        .event("baymouth-csc", "social_care.referral", "2008-03-10")
        .outcome(&[("decision", "nfa")])
        .add();
    check(
        "concerns_in_two_authorities",
        &moved,
        "2008-04-01",
        Expect::FiresAt("2008-03-10T10:00"),
    );
    let mut one_authority = Picture::child("2004-01-01");
    for date in ["2007-01-10", "2008-03-10"] {
        one_authority
            .event("kingsmere-csc", "social_care.referral", date)
            .add();
    }
    check(
        "concerns_in_two_authorities",
        &one_authority,
        "2008-04-01",
        Expect::Silent,
    );
}

#[test]
fn parental_risks_young_child() {
    let mut baby = Picture::child("2007-01-01");
    baby.event("north-police", "police.domestic_incident", "2007-03-01")
        .household_only()
        .person("mother-1", "subject")
        .finding_about("domestic_abuse", "mother-1", &[("risk", "medium")])
        .add();
    baby.event("north-drug-service", "other.note", "2007-05-01")
        .household_only()
        .person("mother-1", "subject")
        .finding_about("parent_substance_misuse", "mother-1", &[])
        .add();
    baby.event("north-police", "police.domestic_incident", "2007-08-01")
        .household_only()
        .person("mother-1", "subject")
        .finding_about("domestic_abuse", "mother-1", &[("risk", "standard")])
        .add();
    check(
        "parental_risks_young_child",
        &baby,
        "2007-09-01",
        Expect::FiresAt("2007-08-01T10:00"),
    );
    // The same three records about a 9-year-old: not this rule.
    let mut older = Picture::child("1998-01-01");
    for (agency, kind, date, code) in [
        (
            "north-police",
            "police.domestic_incident",
            "2007-03-01",
            "domestic_abuse",
        ),
        (
            "north-drug-service",
            "other.note",
            "2007-05-01",
            "parent_substance_misuse",
        ),
        (
            "north-police",
            "police.domestic_incident",
            "2007-08-01",
            "domestic_abuse",
        ),
    ] {
        older
            .event(agency, kind, date)
            .household_only()
            .person("mother-1", "subject")
            .finding_about(code, "mother-1", &[])
            .add();
    }
    check(
        "parental_risks_young_child",
        &older,
        "2007-09-01",
        Expect::Silent,
    );
    // Three records from one agency only.
    let mut one_agency = Picture::child("2007-01-01");
    for date in ["2007-03-01", "2007-05-01", "2007-08-01"] {
        one_agency
            .event("north-police", "police.domestic_incident", date)
            .household_only()
            .person("mother-1", "subject")
            .add();
    }
    check(
        "parental_risks_young_child",
        &one_agency,
        "2007-09-01",
        Expect::Silent,
    );
}

#[test]
fn relationships_of_v1_1_connect_relatives_and_alleged_perpetrators() {
    // A grandparent recorded by relationship, then released after an offence
    // against a child: connected as a relative.
    let mut grandparent = Picture::child("2003-03-01");
    grandparent
        .event("north-housing", "relationship.recorded", "2007-01-10")
        .person("adult-9", "other")
        .relationship("grandparent_of", Subject::Child)
        .add();
    grandparent
        .event("hmpps-north", "justice.release", "2007-02-01")
        .household_only()
        .person("adult-9", "subject")
        .outcome(&[
            ("offence_category", "violence"),
            ("victim_was_child", "true"),
        ])
        .add();
    check(
        "child_offender_released",
        &grandparent,
        "2007-03-01",
        Expect::FiresAt("2007-02-01T10:00"),
    );
}

#[test]
fn allegation_of_sexual_abuse_from_any_source() {
    let mut anonymous = Picture::child("1996-01-01");
    allegation(
        &mut anonymous,
        "haringey-cs",
        "2007-03-01",
        &[("category", "sexual_abuse"), ("by", "anonymous")],
    );
    check(
        "allegation_any_age",
        &anonymous,
        "2007-04-01",
        Expect::Fires,
    );
}

#[test]
fn injuries_repeated_any_age() {
    // Two injuries the carer did not explain, then a third, explained: the third
    // is put with the first two.
    let mut three = Picture::child("2006-01-01");
    bruise(&mut three, "kingsway-primary", "2013-02-12", "inconsistent");
    bruise(&mut three, "kingsway-primary", "2013-06-17", "unknown");
    bruise(&mut three, "north-ed", "2013-11-04", "consistent");
    check(
        "injuries_repeated_any_age",
        &three,
        "2013-12-01",
        Expect::FiresAt("2013-11-04T10:00"),
    );
    // Three injuries each with a consistent explanation (an active child); or
    // the earlier two more than 12 months before.
    let mut active = Picture::child("2006-01-01");
    for date in ["2013-02-12", "2013-06-17", "2013-11-04"] {
        bruise(&mut active, "north-ed", date, "consistent");
    }
    check(
        "injuries_repeated_any_age",
        &active,
        "2013-12-01",
        Expect::Silent,
    );
    let mut spread = Picture::child("2006-01-01");
    bruise(
        &mut spread,
        "kingsway-primary",
        "2011-02-12",
        "inconsistent",
    );
    bruise(&mut spread, "kingsway-primary", "2012-06-17", "unknown");
    bruise(&mut spread, "north-ed", "2013-11-04", "consistent");
    check(
        "injuries_repeated_any_age",
        &spread,
        "2013-12-01",
        Expect::Silent,
    );
}

#[test]
fn injury_after_child_protection() {
    let mut formerly = Picture::child("1994-01-01");
    cp_plan_start(&mut formerly, "1997-04-23");
    formerly
        .event("haringey-cs", "social_care.plan", "1998-08-19")
        .outcome(&[("plan", "child_protection"), ("status", "end")])
        .add();
    bruise(&mut formerly, "st-annes-gp", "2000-02-07", "consistent");
    check(
        "injury_after_child_protection",
        &formerly,
        "2000-03-01",
        Expect::FiresAt("2000-02-07T10:00"),
    );
    // Never on a plan; or on a plan now (injury_on_cp_plan speaks then).
    let mut never = Picture::child("1994-01-01");
    bruise(&mut never, "st-annes-gp", "2000-02-07", "consistent");
    check(
        "injury_after_child_protection",
        &never,
        "2000-03-01",
        Expect::Silent,
    );
    let mut on_plan = Picture::child("1994-01-01");
    cp_plan_start(&mut on_plan, "1999-04-23");
    bruise(&mut on_plan, "st-annes-gp", "2000-02-07", "consistent");
    check(
        "injury_after_child_protection",
        &on_plan,
        "2000-03-01",
        Expect::Silent,
    );
}

#[test]
fn child_not_seen_on_plan() {
    let mut in_need = Picture::child("2015-01-01");
    in_need
        .event("haringey-cs", "social_care.plan", "2021-06-04")
        .outcome(&[("plan", "child_in_need"), ("status", "start")])
        .add();
    in_need
        .event("haringey-cs", "social_care.visit", "2021-07-30")
        .finding("child_not_seen", &[])
        .outcome(&[("child_seen", "false")])
        .add();
    check(
        "child_not_seen_on_plan",
        &in_need,
        "2021-08-01",
        Expect::FiresAt("2021-07-30T10:00"),
    );
    let mut no_plan = Picture::child("2015-01-01");
    no_plan
        .event("haringey-cs", "social_care.visit", "2021-07-30")
        .outcome(&[("child_seen", "false")])
        .add();
    check(
        "child_not_seen_on_plan",
        &no_plan,
        "2021-08-01",
        Expect::Silent,
    );
    let mut seen = Picture::child("2015-01-01");
    cp_plan_start(&mut seen, "2021-06-04");
    seen.event("haringey-cs", "social_care.visit", "2021-07-30")
        .outcome(&[("child_seen", "true")])
        .add();
    check(
        "child_not_seen_on_plan",
        &seen,
        "2021-08-01",
        Expect::Silent,
    );
}

#[test]
fn self_harm_repeated() {
    let mut twice = Picture::child("2001-01-01");
    twice
        .event("north-ed", "health.ed_attendance", "2015-09-13")
        .finding("self_harm", &[])
        .add();
    twice
        .event("north-camhs", "health.mental_health_contact", "2015-12-27")
        .finding("self_harm", &[])
        .add();
    check(
        "self_harm_repeated",
        &twice,
        "2016-01-01",
        Expect::FiresAt("2015-12-27T10:00"),
    );
    let mut once = Picture::child("2001-01-01");
    once.event("north-ed", "health.ed_attendance", "2015-09-13")
        .finding("self_harm", &[])
        .add();
    check("self_harm_repeated", &once, "2016-01-01", Expect::Silent);
}

#[test]
fn baby_after_harm_to_another_child() {
    // The father's earlier baby had unexplained fractures; now a referral about
    // an unborn child of his.
    let mut unborn = Picture::child("2018-04-19");
    unborn
        .event("haringey-cs", "other.note", "2015-06-12")
        .household_only()
        .person("father-1", "parent")
        .person("half-sibling-1", "subject")
        .finding_about(
            "injury",
            "half-sibling-1",
            &[("type", "fracture"), ("explanation", "none")],
        )
        .add();
    unborn
        .event("haringey-cs", "social_care.referral", "2017-11-08")
        .person("father-1", "parent")
        .add();
    check(
        "baby_after_harm_to_another_child",
        &unborn,
        "2017-12-01",
        Expect::FiresAt("2017-11-08T10:00"),
    );
    // The same referral with no harmed child before it; or about a 6-year-old.
    let mut no_harm = Picture::child("2018-04-19");
    no_harm
        .event("haringey-cs", "social_care.referral", "2017-11-08")
        .person("father-1", "parent")
        .add();
    check(
        "baby_after_harm_to_another_child",
        &no_harm,
        "2017-12-01",
        Expect::Silent,
    );
    let mut older = Picture::child("2011-04-19");
    older
        .event("haringey-cs", "other.note", "2015-06-12")
        .household_only()
        .person("father-1", "parent")
        .finding_about(
            "injury",
            "half-sibling-1",
            &[("type", "fracture"), ("explanation", "none")],
        )
        .add();
    older
        .event("haringey-cs", "social_care.referral", "2017-11-08")
        .person("father-1", "parent")
        .add();
    check(
        "baby_after_harm_to_another_child",
        &older,
        "2017-12-01",
        Expect::Silent,
    );
}

#[test]
fn concern_after_child_protection() {
    let mut crisis = Picture::child("2016-01-08");
    cp_plan_start(&mut crisis, "2016-03-17");
    crisis
        .event("haringey-cs", "social_care.plan", "2017-03-09")
        .outcome(&[("plan", "child_protection"), ("status", "end")])
        .add();
    crisis
        .event(
            "north-crisis-team",
            "health.mental_health_contact",
            "2019-11-07",
        )
        .household_only()
        .person("mother-1", "subject")
        .finding_about("parent_mental_health", "mother-1", &[])
        .add();
    check(
        "concern_after_child_protection",
        &crisis,
        "2019-12-01",
        Expect::FiresAt("2019-11-07T10:00"),
    );
    // The same contact about a child never on a plan: silent.
    let mut never = Picture::child("2016-01-08");
    never
        .event(
            "north-crisis-team",
            "health.mental_health_contact",
            "2019-11-07",
        )
        .household_only()
        .person("mother-1", "subject")
        .finding_about("parent_mental_health", "mother-1", &[])
        .add();
    check(
        "concern_after_child_protection",
        &never,
        "2019-12-01",
        Expect::Silent,
    );
}

#[test]
fn domestic_abuse_around_an_infant_is_high() {
    let mut newborn = Picture::child("2020-07-04");
    newborn
        .event(
            "north-midwifery",
            "health.health_visitor_contact",
            "2020-07-08",
        )
        .person("mother-1", "parent")
        .finding_about("domestic_abuse", "mother-1", &[("risk", "medium")])
        .add();
    check(
        "domestic_abuse_under_5",
        &newborn,
        "2020-08-01",
        Expect::FiresSeverity(Severity::High),
    );
    let mut three = Picture::child("2017-07-04");
    three
        .event(
            "north-midwifery",
            "health.health_visitor_contact",
            "2020-07-08",
        )
        .person("mother-1", "parent")
        .finding_about("domestic_abuse", "mother-1", &[("risk", "medium")])
        .add();
    check(
        "domestic_abuse_under_5",
        &three,
        "2020-08-01",
        Expect::FiresSeverity(Severity::Medium),
    );
}

#[test]
fn offender_not_engaging() {
    // A carer convicted of a sexual offence against a child refuses a risk
    // assessment.
    let mut refused = Picture::child("1998-01-01");
    refused
        .event("coety-police", "justice.conviction", "1996-04-28")
        .household_only()
        .person("adult-5", "subject")
        .outcome(&[
            ("offence_category", "sexual_offence_against_child"),
            ("victim_was_child", "true"),
        ])
        .add();
    refused
        .event("coety-cs", "other.note", "2005-05-17")
        .person("adult-5", "carer")
        .add();
    refused
        .event("north-nspcc", "other.note", "2009-10-13")
        .person("adult-5", "subject")
        .finding_about("non_engagement", "adult-5", &[])
        .add();
    check(
        "offender_not_engaging",
        &refused,
        "2009-11-01",
        Expect::FiresAt("2009-10-13T10:00"),
    );
    // The same refusal by an adult with no such offence.
    let mut no_offence = Picture::child("1998-01-01");
    no_offence
        .event("coety-cs", "other.note", "2005-05-17")
        .person("adult-5", "carer")
        .add();
    no_offence
        .event("north-nspcc", "other.note", "2009-10-13")
        .person("adult-5", "subject")
        .finding_about("non_engagement", "adult-5", &[])
        .add();
    check(
        "offender_not_engaging",
        &no_offence,
        "2009-11-01",
        Expect::Silent,
    );
}

#[test]
fn a_person_rule_about_two_people_is_one_alert() {
    // Two adults named beside a plan, weeks apart: two firings, one dedup key
    // (one rule, one child), so one alert that gains the second's evidence.
    let mut two = Picture::child("2006-03-01");
    cp_plan_start(&mut two, "2007-01-05");
    two.event("st-annes-gp", "health.gp_consultation", "2007-02-01")
        .person("adult-7", "other")
        .add();
    two.event("north-hv", "health.health_visitor_contact", "2007-05-01")
        .person("adult-8", "visitor")
        .add();
    let firings = two.evaluate("2007-06-01");
    let unassessed = fired(&firings, "unassessed_adult");
    assert_eq!(unassessed.len(), 2, "{unassessed:#?}");
    assert_ne!(unassessed[0].person_id, unassessed[1].person_id);
    assert!(
        unassessed[0]
            .dedup_key()
            .matches(&unassessed[1].dedup_key())
    );
}

#[test]
fn serious_injury_to_a_sibling() {
    // A brother's rib fractures with no explanation, recorded about him alone:
    // high on his 13-month-old sister, critical (she is under 2).
    let mut sister = Picture::child("2020-04-09");
    sister
        .event("north-radiology", "other.note", "2021-05-19")
        .household_only()
        .person("brother-1", "subject")
        .relationship("sibling_of", Subject::Child)
        .finding_about(
            "injury",
            "brother-1",
            &[("type", "fracture"), ("explanation", "none")],
        )
        .add();
    check(
        "serious_injury_to_a_sibling",
        &sister,
        "2021-06-01",
        Expect::FiresSeverity(Severity::Critical),
    );
    // A child protection medical concluding non-accidental injury to a brother,
    // for a 9-year-old: high.
    let mut older = Picture::child("2012-01-01");
    older
        .event("north-paeds", "health.cp_medical", "2021-05-19")
        .household_only()
        .person("brother-1", "subject")
        .relationship("sibling_of", Subject::Child)
        .outcome(&[("conclusion", "non_accidental_likely")])
        .add();
    check(
        "serious_injury_to_a_sibling",
        &older,
        "2021-06-01",
        Expect::FiresSeverity(Severity::High),
    );
    // The same fracture explained consistently, a bruise without explanation,
    // or an injured adult of the household: silent.
    for (person, link, pairs) in [
        (
            "brother-1",
            "sibling_of",
            [("type", "fracture"), ("explanation", "consistent")],
        ),
        (
            "brother-1",
            "sibling_of",
            [("type", "bruise"), ("explanation", "none")],
        ),
        (
            "mother-1",
            "parent_of",
            [("type", "fracture"), ("explanation", "none")],
        ),
    ] {
        let mut picture = Picture::child("2020-04-09");
        picture
            .event("north-radiology", "other.note", "2021-05-19")
            .household_only()
            .person(person, "subject")
            .relationship(link, Subject::Child)
            .finding_about("injury", person, &pairs)
            .add();
        check(
            "serious_injury_to_a_sibling",
            &picture,
            "2021-06-01",
            Expect::Silent,
        );
    }
}

#[test]
fn placement_with_family_after_violent_offending() {
    // The father was arrested for violence in 2002; in 2003 the child is
    // placed with a relative near him.
    let placed = |offence: &'static str, placement: &'static str, offence_date: &str| {
        let mut picture = Picture::child("1996-04-22");
        picture
            .event("metro-police", "police.call_out", offence_date)
            .household_only()
            .person("father-1", "subject")
            .relationship("parent_of", Subject::Child)
            .finding_about("offence", "father-1", &[("category", offence)])
            .add();
        picture
            .event("brindley-cs", "social_care.placement", "2003-08-04")
            .person("kin-1", "carer")
            .outcome(&[("status", "start"), ("placement_type", placement)])
            .add();
        picture
    };
    check(
        "placement_with_family_after_violent_offending",
        &placed("violence", "relative", "2002-06-11"),
        "2003-09-01",
        Expect::FiresAt("2003-08-04T10:00"),
    );
    // Foster care is not a placement with family; a drugs offence alone is
    // not violent; a violent offence four years before is outside the window.
    for (offence, placement, date) in [
        ("violence", "foster_care", "2002-06-11"),
        ("drugs", "relative", "2002-06-11"),
        ("violence", "relative", "1999-06-11"),
    ] {
        check(
            "placement_with_family_after_violent_offending",
            &placed(offence, placement, date),
            "2003-09-01",
            Expect::Silent,
        );
    }
}
