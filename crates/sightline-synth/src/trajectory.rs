//! Harm trajectories: the archetypes of `safeguarding-facts.md`, each seen by several
//! agencies at different times. Records carrying the archetype's alerting feature are
//! marked so the ground truth can name the first one.

use crate::date::Day;
use crate::draft::{Draft, Finding, Style, Value, When};
use crate::model::{Archetype, TrajectoryPlan};
use crate::sim::{Episode, Sim, any_minute, evening_minute, office_minute};
use crate::{Rng, chance, pick, uniform_int};

/// Adds the records of the household's trajectory, if it has one.
pub fn add_trajectory(sim: &mut Sim<'_>, rng: &mut Rng) {
    let Some(plan) = sim.household.trajectory.clone() else {
        return;
    };
    match plan.archetype {
        Archetype::InfantPhysicalAbuse => infant_physical_abuse(sim, &plan, rng),
        Archetype::Neglect => neglect(sim, &plan, rng),
        Archetype::DomesticAbuse => domestic_abuse(sim, &plan, rng),
        Archetype::UndeclaredOffender => undeclared_offender(sim, &plan, rng),
        Archetype::DisguisedCompliance => disguised_compliance(sim, &plan, rng),
        Archetype::PregnancyAfterRemoval => pregnancy_after_removal(sim, &plan, rng),
    }
}

fn delay(rng: &mut Rng, low: i32, high: i32) -> i64 {
    i64::from(uniform_int(rng, low, high))
}

fn serious_episode(
    sim: &Sim<'_>,
    day: Day,
    referrer: String,
    concern: &str,
    category: &'static str,
    rng: &mut Rng,
) -> Episode {
    Episode {
        referrer,
        decision: "strategy_discussion",
        concern: concern.to_owned(),
        findings: Vec::new(),
        substantiated: true,
        child_in_need: true,
        category,
        seen_share: 0.9,
        plan_days: uniform_int(rng, 200, 420),
        placement: None,
    }
    .with_day(sim, day)
}

trait WithDay {
    fn with_day(self, sim: &Sim<'_>, day: Day) -> Self;
}

impl WithDay for Episode {
    /// Keeps the plan within the period.
    fn with_day(mut self, sim: &Sim<'_>, day: Day) -> Self {
        let room = sim.period.end.0 - day.0;
        self.plan_days = self.plan_days.min(room.max(30) + 30);
        self
    }
}

/// Escalating physical abuse of an infant: bruising before independent mobility seen
/// by one professional, a later injury with an inconsistent explanation at a hospital,
/// then (or after a missed chance) child protection.
fn infant_physical_abuse(sim: &mut Sim<'_>, plan: &TrajectoryPlan, rng: &mut Rng) {
    let child = plan.child;
    let household = sim.household;
    let first = plan.start;
    let services = sim.services(first);
    let site = pick(rng, &["face", "ear", "torso", "arm"])
        .copied()
        .unwrap_or("face");
    let explanation = if chance(rng, 0.5) { "none" } else { "unknown" };
    let seen_by_health_visitor = chance(rng, 0.5);
    let (agency, kind) = if seen_by_health_visitor {
        (sim.region.health_visiting, "health.health_visitor_contact")
    } else {
        (services.gp, "health.gp_consultation")
    };
    let mut draft = sim
        .child_draft(
            agency,
            kind,
            When::at(first, office_minute(rng)),
            delay(rng, 30, 1_440),
            child,
        )
        .finding(Finding::injury(
            "bruise",
            site,
            uniform_int(rng, 1, 2) as u32,
            explanation,
        ))
        .finding(Finding::new("not_independently_mobile"))
        .narrative(
            "Small bruise noted; parent unsure how it happened; baby not yet rolling or crawling",
        )
        .alerting();
    if seen_by_health_visitor {
        draft = draft.outcome("child_seen", Value::Bool(true));
    }
    sim.push(draft);

    let unsettled = first.plus(uniform_int(rng, 7, 35));
    let draft = sim
        .child_draft(
            sim.services(unsettled).gp,
            "health.gp_consultation",
            When::at(unsettled, office_minute(rng)),
            delay(rng, 5, 240),
            child,
        )
        .narrative("Baby crying a lot and not settling; reflux advice");
    sim.push(draft);

    let mut injury_day = unsettled.plus(uniform_int(rng, 5, 30));
    let mut round = 0;
    loop {
        round += 1;
        let local = sim.services(injury_day).hospital;
        let hospital = if chance(rng, 0.5) {
            pick(rng, &sim.region.hospitals).copied().unwrap_or(local)
        } else {
            local
        };
        let (kind, site, count, text) = match uniform_int(rng, 0, 2) {
            0 => (
                "fracture",
                "arm",
                1,
                "Arm not moving; father says baby rolled off the sofa; X-ray shows a fracture",
            ),
            1 => (
                "head_injury",
                "head",
                1,
                "Swelling to the head; account of a fall from a changing mat changed between staff",
            ),
            _ => (
                "bruise",
                "multiple",
                uniform_int(rng, 3, 6) as u32,
                "Several bruises to the torso and arms; parents say baby bruises easily",
            ),
        };
        let admitted = kind != "bruise" || chance(rng, 0.3);
        let mut draft = sim
            .child_draft(
                hospital,
                "health.ed_attendance",
                When::at(injury_day, any_minute(rng)),
                delay(rng, 20, 360),
                child,
            )
            .finding(Finding::injury(kind, site, count, "inconsistent"))
            .finding(Finding::new("not_independently_mobile"))
            .outcome("admitted", Value::Bool(admitted))
            .narrative(text)
            .alerting();
        if let Some(adult) = plan.adult
            && household.present(adult, injury_day)
        {
            let index = draft.person(adult, "parent");
            draft.relationships.push((index, 0, "parent_of"));
        }
        sim.push(draft);
        let missed = round == 1 && chance(rng, sim.config.trajectories.missed_referral_share);
        if missed && injury_day.plus(120) < sim.period.end {
            injury_day = injury_day.plus(uniform_int(rng, 20, 60));
            continue;
        }
        let hospital_id = sim.agency_id(hospital);
        let mut episode = serious_episode(
            sim,
            injury_day,
            hospital_id,
            "Injury to a non-mobile baby with an inconsistent explanation",
            "physical_abuse",
            rng,
        );
        episode.placement = chance(rng, 0.4).then_some("relative");
        let referral_day = injury_day.plus(uniform_int(rng, 0, 1));
        let medical_day = referral_day.plus(uniform_int(rng, 0, 2));
        let conclusion = if chance(rng, 0.7) {
            "non_accidental_likely"
        } else {
            "inconclusive"
        };
        let medical = sim
            .child_draft(
                hospital,
                "health.cp_medical",
                When::at(medical_day, office_minute(rng)),
                delay(rng, 60, 1_440),
                child,
            )
            .outcome("conclusion", Value::Text(conclusion))
            .narrative("Child protection medical; skeletal survey");
        sim.push(medical);
        if let Some(adult) = plan.adult
            && conclusion == "non_accidental_likely"
            && chance(rng, 0.5)
        {
            let mut arrest = Draft::new(
                sim.region.police,
                "police.arrest",
                When::at(medical_day.plus(1), any_minute(rng)),
                delay(rng, 30, 600),
            )
            .outcome("offence_category", Value::Text("cruelty_to_child"))
            .finding(Finding::new("offence").with("category", Value::Text("cruelty_to_child")));
            arrest.person(adult, "subject");
            arrest.narrative = Some(
                "Arrested on suspicion of causing injury to a child; released under investigation"
                    .to_owned(),
            );
            sim.push(arrest);
        }
        sim.social_care_episode(child, referral_day, &episode, rng);
        break;
    }
}

/// Neglect: missed appointments, faltering growth, a hungry and unkempt child at
/// school or nursery, a child in need plan that does not change things.
fn neglect(sim: &mut Sim<'_>, plan: &TrajectoryPlan, rng: &mut Rng) {
    let child = plan.child;
    let household = sim.household;
    let Some(person) = household.person(child) else {
        return;
    };
    let start = plan.start;
    for offset in [0, uniform_int(rng, 20, 70), uniform_int(rng, 80, 150)] {
        let day = start.plus(offset);
        let agency = if person.age_years(day) < 3 && chance(rng, 0.5) {
            sim.region.health_visiting
        } else {
            sim.services(day).gp
        };
        let draft = sim
            .child_draft(
                agency,
                "health.appointment_missed",
                When::at(day, office_minute(rng)),
                delay(rng, 30, 600),
                child,
            )
            .narrative("Not brought to appointment; no reply to calls");
        sim.push(draft);
    }
    let growth_day = start.plus(uniform_int(rng, 30, 120));
    let draft = sim
        .child_draft(sim.services(growth_day).gp, "health.gp_consultation", When::at(growth_day, office_minute(rng)), delay(rng, 5, 240), child)
        .finding(Finding::new("faltering_growth"))
        .finding(Finding::new("poor_hygiene"))
        .narrative("Weight has dropped two centile lines; child grubby; nappy rash; parent vague about diet")
        .alerting();
    sim.push(draft);
    if chance(rng, 0.4) {
        let draft = sim
            .child_draft(
                sim.services(growth_day).gp,
                "health.gp_consultation",
                When::at(
                    growth_day.plus(uniform_int(rng, 10, 60)),
                    office_minute(rng),
                ),
                delay(rng, 5, 240),
                child,
            )
            .finding(Finding::new("parent_substance_misuse"))
            .narrative("Parent smelled of alcohol at the appointment; disclosed heavy drinking");
        sim.push(draft);
    }
    let school_day = start.plus(uniform_int(rng, 45, 160));
    if let Some(school) = sim.school_for(child, school_day) {
        for repeat in 0..uniform_int(rng, 2, 3) {
            let day = school_day.plus(repeat * uniform_int(rng, 10, 30));
            let draft = sim
                .child_draft(school, "education.concern", When::at(day, office_minute(rng)), delay(rng, 10, 2_000), child)
                .finding(Finding::new("food_seeking"))
                .finding(Finding::new("poor_hygiene"))
                .narrative("Child arrived hungry again, taking food from other children's lunch boxes; same clothes all week")
                .alerting();
            sim.push(draft);
        }
        let absence_day = school_day.plus(uniform_int(rng, 30, 80));
        let draft = sim
            .child_draft(
                school,
                "education.absence",
                When::Date(absence_day),
                delay(rng, 60, 4_000),
                child,
            )
            .narrative("Persistent absence: attendance 78% this term");
        sim.push(draft);
    } else {
        let day = school_day;
        let draft = sim
            .child_draft(
                sim.region.health_visiting,
                "health.health_visitor_contact",
                When::at(day, office_minute(rng)),
                delay(rng, 30, 4_000),
                child,
            )
            .finding(Finding::new("poor_hygiene"))
            .outcome("child_seen", Value::Bool(true))
            .narrative("Home conditions poor; little food in the house; child in a soiled nappy")
            .alerting();
        sim.push(draft);
    }
    let referral_day = school_day.plus(uniform_int(rng, 20, 60));
    let referrer = sim.school_for(child, referral_day).map_or_else(
        || sim.agency_id(sim.region.health_visiting),
        |school| sim.agency_id(school),
    );
    let missed = chance(rng, sim.config.trajectories.missed_referral_share);
    let mut episode = sim.ordinary_episode(referral_day, rng);
    episode.referrer = referrer;
    episode.concern = "Child hungry and unkempt; missed health appointments".to_owned();
    episode.decision = if missed { "early_help" } else { "assessment" };
    episode.child_in_need = true;
    episode.category = "neglect";
    episode.seen_share = 0.85;
    let episode = episode.with_day(sim, referral_day);
    sim.social_care_episode(child, referral_day, &episode, rng);
    if missed {
        let again = referral_day.plus(uniform_int(rng, 60, 150));
        let episode = serious_episode(
            sim,
            again,
            sim.agency_id(sim.services(again).gp),
            "Further concerns of neglect; weight loss",
            "neglect",
            rng,
        );
        sim.social_care_episode(child, again, &episode, rng);
    }
}

/// Domestic abuse: repeated police call-outs with young children in the home, a
/// mother's injuries seen at hospital, her mental health at the GP, a notification
/// closed, then escalation.
fn domestic_abuse(sim: &mut Sim<'_>, plan: &TrajectoryPlan, rng: &mut Rng) {
    let household = sim.household;
    let child = plan.child;
    let Some(victim) = household.main_carer(plan.start) else {
        return;
    };
    let Some(perpetrator) = plan.adult.filter(|adult| *adult != victim) else {
        return;
    };
    let mut day = plan.start;
    let risks = ["standard", "medium", "medium", "high"];
    let texts = [
        "Shouting reported by a neighbour; partners arguing; children asleep upstairs",
        "Victim reports being pushed; refused to support a prosecution",
        "Caller heard a child screaming; victim with a red mark to the face",
        "Victim strangled; perpetrator left before police arrived; children present",
    ];
    let n_incidents = uniform_int(rng, 3, 4) as usize;
    for (index, (risk, text)) in risks.iter().zip(texts).take(n_incidents).enumerate() {
        let draft = sim
            .domestic_incident(day, victim, perpetrator, risk, text, rng)
            .alerting();
        sim.push(draft);
        match index {
            0 => {
                let episode = Episode {
                    decision: "nfa",
                    concern:
                        "Police notification: domestic incident with a young child in the household"
                            .to_owned(),
                    referrer: sim.agency_id(sim.region.police),
                    ..sim.ordinary_episode(day, rng)
                };
                sim.social_care_episode(child, day.plus(uniform_int(rng, 1, 4)), &episode, rng);
                let gp_day = day.plus(uniform_int(rng, 10, 50));
                let mut draft = Draft::new(
                    sim.services(gp_day).gp,
                    "health.gp_consultation",
                    When::at(gp_day, office_minute(rng)),
                    delay(rng, 5, 240),
                )
                .finding(Finding::new("parent_mental_health"))
                .narrative("Anxiety and poor sleep; says things are difficult at home");
                draft.person(victim, "subject");
                sim.push(draft);
            }
            1 => {
                let ed_day = day.plus(uniform_int(rng, 3, 30));
                let mut draft = Draft::new(sim.services(ed_day).hospital, "health.ed_attendance", When::at(ed_day, evening_minute(rng)), delay(rng, 20, 360))
                    .finding(Finding::injury("bruise", "face", 2, "inconsistent"))
                    .outcome("admitted", Value::Bool(false))
                    .narrative("Adult attends with facial bruising; says she walked into a door; partner waiting outside");
                draft.person(victim, "subject");
                sim.push(draft);
                let episode = Episode {
                    decision: "early_help",
                    concern: "Second domestic incident notification".to_owned(),
                    referrer: sim.agency_id(sim.region.police),
                    ..sim.ordinary_episode(day, rng)
                };
                sim.social_care_episode(child, day.plus(uniform_int(rng, 1, 4)), &episode, rng);
            }
            _ => {}
        }
        day = day.plus(uniform_int(rng, 30, 110));
    }
    let last = day;
    let mut arrest = Draft::new(
        sim.region.police,
        "police.arrest",
        When::at(last, any_minute(rng)),
        delay(rng, 30, 600),
    )
    .outcome("offence_category", Value::Text("violence"))
    .finding(Finding::new("offence").with("category", Value::Text("violence")));
    arrest.person(perpetrator, "subject");
    arrest.narrative = Some("Arrested for assault on partner".to_owned());
    sim.push(arrest);
    if let Some(school) = sim.school_for(child, last.plus(7)) {
        let draft = sim
            .child_draft(
                school,
                "education.concern",
                When::at(last.plus(7), office_minute(rng)),
                delay(rng, 10, 2_000),
                child,
            )
            .finding(Finding::new("disclosure"))
            .narrative("Child told staff that daddy hurt mummy and they hid under the bed");
        sim.push(draft);
    }
    let episode = serious_episode(
        sim,
        last,
        sim.agency_id(sim.region.police),
        "Third domestic incident in a year; high risk; young child present",
        "emotional_abuse",
        rng,
    );
    sim.social_care_episode(child, last.plus(1), &episode, rng);
}

/// An adult convicted of an offence against a child is released and moves in with a
/// mother and her children without telling any agency. He surfaces as a partner named
/// on a health form, an unknown adult at a visit, an address given to probation.
fn undeclared_offender(sim: &mut Sim<'_>, plan: &TrajectoryPlan, rng: &mut Rng) {
    let household = sim.household;
    let child = plan.child;
    let Some(offender) = plan.adult else { return };
    let Some(mother) = household.main_carer(plan.start) else {
        return;
    };
    let joined = plan.start;
    let category = if chance(rng, 0.6) {
        "sexual_offence_against_child"
    } else {
        "cruelty_to_child"
    };
    let released = joined.plus(-uniform_int(rng, 30, 150));
    let convicted = released.plus(-uniform_int(rng, 200, 700));
    let mut conviction = Draft::new(
        sim.region.police,
        "justice.conviction",
        When::Date(convicted),
        delay(rng, 600, 10_000),
    )
    .outcome("offence_category", Value::Text(category))
    .outcome("victim_was_child", Value::Bool(true))
    .finding(Finding::new("offence").with("category", Value::Text(category)))
    .narrative("Convicted at the crown court; custodial sentence");
    conviction.person(offender, "subject");
    sim.push(conviction);
    let mut release = Draft::new(
        sim.region.probation,
        "justice.release",
        When::Date(released),
        delay(rng, 60, 2_000),
    )
    .outcome("offence_category", Value::Text(category))
    .outcome("victim_was_child", Value::Bool(true))
    .finding(Finding::new("offence").with("category", Value::Text(category)))
    .narrative("Released on licence; conditions include no unsupervised contact with children");
    release.person(offender, "subject");
    sim.push(release);
    let mut contact = released.plus(uniform_int(rng, 1, 7));
    while contact <= sim.period.end && contact < released.plus(365) {
        let living_there = household.present(offender, contact);
        let mut draft = Draft::new(
            sim.region.probation,
            "probation.contact",
            When::at(contact, office_minute(rng)),
            delay(rng, 10, 1_440),
        );
        draft.person(offender, "subject");
        draft.narrative = Some(if living_there {
            "Licence appointment; reports staying at a friend's address; denies any contact with children".to_owned()
        } else {
            "Licence appointment at approved premises; compliant".to_owned()
        });
        if living_there {
            // The address he gives is the household's: the link no one checks.
            draft = draft.alerting();
        }
        sim.push(draft);
        contact = contact.plus(uniform_int(rng, 12, 30));
    }
    // Named as next of kin on the mother's GP form.
    let form = joined.plus(uniform_int(rng, 15, 90));
    let mut draft = Draft::new(
        sim.services(form).gp,
        "relationship.recorded",
        When::Date(form),
        delay(rng, 60, 4_000),
    )
    .narrative("Next of kin updated: partner")
    .alerting();
    let mother_index = draft.person(mother, "subject");
    let partner_index = draft.person_styled(offender, "partner", Style::NameOnly);
    draft
        .relationships
        .push((partner_index, mother_index, "partner_of"));
    sim.push(draft);
    // An unknown man at a visit or at the school gate.
    let seen = joined.plus(uniform_int(rng, 20, 120));
    let young = household
        .person(child)
        .is_some_and(|person| person.age_years(seen) < 4);
    let (agency, kind) = match (young, sim.school_for(child, seen)) {
        (false, Some(school)) => (school, "education.concern"),
        _ => (sim.region.health_visiting, "health.health_visitor_contact"),
    };
    let mut draft = sim
        .child_draft(
            agency,
            kind,
            When::at(seen, office_minute(rng)),
            delay(rng, 30, 2_000),
            child,
        )
        .alerting();
    let visitor = draft.person_styled(offender, "visitor", Style::GivenNameOnly);
    draft
        .findings
        .push(Finding::new("unknown_adult_present").about(visitor));
    if kind == "health.health_visitor_contact" {
        draft = draft.outcome("child_seen", Value::Bool(true)).narrative(
            "A man introduced only by his first name was in the home; mother said he is a friend",
        );
    } else {
        draft = draft.narrative(
            "Child collected by a man who gave only his first name; not on the contact list",
        );
    }
    sim.push(draft);
    // Later harm, seen by another agency.
    let harm = seen.plus(uniform_int(rng, 40, 200));
    let sexual = category == "sexual_offence_against_child";
    if let (true, Some(school)) = (sexual, sim.school_for(child, harm)) {
        let draft = sim
            .child_draft(
                school,
                "education.concern",
                When::at(harm, office_minute(rng)),
                delay(rng, 10, 2_000),
                child,
            )
            .finding(Finding::new("disclosure"))
            .finding(
                Finding::new("allegation")
                    .with("category", Value::Text("sexual_abuse"))
                    .with("by", Value::Text("child")),
            )
            .narrative(
                "Child said mum's friend comes into the bathroom and told them it is a secret",
            );
        sim.push(draft);
        let episode = serious_episode(
            sim,
            harm,
            sim.agency_id(school),
            "Disclosure by the child about an adult in the home",
            "sexual_abuse",
            rng,
        );
        sim.social_care_episode(child, harm.plus(uniform_int(rng, 0, 1)), &episode, rng);
    } else {
        let hospital = sim.services(harm).hospital;
        let mut draft = sim
            .child_draft(
                hospital,
                "health.ed_attendance",
                When::at(harm, any_minute(rng)),
                delay(rng, 20, 360),
                child,
            )
            .finding(Finding::injury(
                "bruise",
                "back",
                uniform_int(rng, 2, 5) as u32,
                "inconsistent",
            ))
            .outcome("admitted", Value::Bool(false))
            .narrative("Bruises to the back; mother's partner says the child fell off a bed");
        let partner_index = draft.person_styled(offender, "carer", Style::NameOnly);
        draft.relationships.push((partner_index, 0, "lives_with"));
        sim.push(draft);
        let episode = serious_episode(
            sim,
            harm,
            sim.agency_id(hospital),
            "Unexplained bruising; an adult in the home not known to services",
            "physical_abuse",
            rng,
        );
        sim.social_care_episode(child, harm.plus(1), &episode, rng);
    }
}

/// Disguised compliance: a family on a protection plan who seem to cooperate while the
/// child is not seen: asleep, at a relative's, visits cancelled.
fn disguised_compliance(sim: &mut Sim<'_>, plan: &TrajectoryPlan, rng: &mut Rng) {
    let household = sim.household;
    let child = plan.child;
    let start = plan.start;
    let sc = sim.region.social_care;
    let referral_day = start.plus(-uniform_int(rng, 25, 40));
    let mut episode = serious_episode(
        sim,
        referral_day,
        sim.agency_id(sim.services(referral_day).gp),
        "Parent's mental health and home conditions; concerns for the child's care",
        "neglect",
        rng,
    );
    // Visits of the plan are scripted below.
    episode.plan_days = 0;
    let referral = sim
        .child_draft(
            sc,
            "social_care.referral",
            When::at(referral_day, office_minute(rng)),
            delay(rng, 10, 900),
            child,
        )
        .outcome("referrer_agency", Value::Owned(episode.referrer.clone()))
        .outcome("decision", Value::Text("strategy_discussion"))
        .narrative(episode.concern.clone());
    sim.push(referral);
    let strategy = sim
        .child_draft(
            sc,
            "social_care.strategy_discussion",
            When::at(referral_day.plus(1), office_minute(rng)),
            delay(rng, 30, 1_440),
            child,
        )
        .outcome("section47", Value::Bool(true));
    sim.push(strategy);
    let s47 = sim
        .child_draft(
            sc,
            "social_care.section47",
            When::Date(referral_day.plus(1)),
            delay(rng, 60, 1_440),
            child,
        )
        .outcome("status", Value::Text("started"));
    sim.push(s47);
    let s47_end = sim
        .child_draft(
            sc,
            "social_care.section47",
            When::Date(referral_day.plus(14)),
            delay(rng, 60, 1_440),
            child,
        )
        .outcome("status", Value::Text("completed"))
        .outcome("substantiated", Value::Bool(true));
    sim.push(s47_end);
    let conference = sim
        .child_draft(
            sc,
            "social_care.conference",
            When::at(start, office_minute(rng)),
            delay(rng, 60, 2_880),
            child,
        )
        .outcome("type", Value::Text("initial"))
        .outcome("plan", Value::Text("start"));
    sim.push(conference);
    let plan_start = sim
        .child_draft(
            sc,
            "social_care.plan",
            When::Date(start),
            delay(rng, 60, 2_880),
            child,
        )
        .outcome("plan", Value::Text("child_protection"))
        .outcome("status", Value::Text("start"))
        .outcome("category", Value::Text("neglect"));
    sim.push(plan_start);
    let excuses = [
        "Home visit; mother said the child was asleep upstairs and should not be woken; home tidy; mother engaging well",
        "Home visit; told the child was staying at grandmother's; mother positive about the plan",
        "Home visit; no answer although a television could be heard; card left",
        "Visit cancelled by mother by text an hour before; says child has a cold",
    ];
    let mut visit = start.plus_working_days(uniform_int(rng, 3, 8) as u32);
    let mut n_visits = 0;
    let until = start.plus(uniform_int(rng, 150, 260));
    while visit < until && visit <= sim.period.end && household.present(child, visit) {
        n_visits += 1;
        let seen = n_visits <= 2 || chance(rng, 0.35);
        let mut draft = sim
            .child_draft(
                sc,
                "social_care.visit",
                When::at(visit, office_minute(rng)),
                delay(rng, 60, 4_000),
                child,
            )
            .outcome("child_seen", Value::Bool(seen))
            .outcome("seen_alone", Value::Bool(false));
        if seen {
            draft = draft.narrative(
                "Home visit; child seen briefly with mother present; mother did the talking",
            );
        } else {
            let excuse = pick(rng, &excuses).copied().unwrap_or("Child not seen");
            draft = draft
                .finding(Finding::new("child_not_seen"))
                .narrative(excuse)
                .alerting();
            if excuse.starts_with("Visit cancelled") || excuse.contains("no answer") {
                draft = draft.finding(Finding::new("non_engagement"));
            }
        }
        sim.push(draft);
        visit = visit.plus_working_days(uniform_int(rng, 8, 12) as u32);
    }
    let review = start.plus(uniform_int(rng, 80, 92));
    let draft = sim
        .child_draft(
            sc,
            "social_care.conference",
            When::at(review, office_minute(rng)),
            delay(rng, 60, 2_880),
            child,
        )
        .outcome("type", Value::Text("review"))
        .outcome("plan", Value::Text("continue"))
        .narrative("Parents report good progress and attend every meeting");
    sim.push(draft);
    let hv_day = start.plus(uniform_int(rng, 30, 90));
    if household
        .person(child)
        .is_some_and(|person| person.age_years(hv_day) < 5)
    {
        let draft = sim
            .child_draft(
                sim.region.health_visiting,
                "health.health_visitor_contact",
                When::at(hv_day, office_minute(rng)),
                delay(rng, 30, 2_000),
                child,
            )
            .outcome("child_seen", Value::Bool(false))
            .finding(Finding::new("child_not_seen"))
            .narrative("Review at home; child said to be at nursery; nursery says not attending")
            .alerting();
        sim.push(draft);
    }
    for offset in [uniform_int(rng, 20, 60), uniform_int(rng, 70, 140)] {
        let day = start.plus(offset);
        let draft = sim
            .child_draft(
                sim.services(day).gp,
                "health.appointment_missed",
                When::at(day, office_minute(rng)),
                delay(rng, 30, 600),
                child,
            )
            .finding(Finding::new("non_engagement"))
            .narrative("Not brought to the follow-up appointment; parent rang to cancel");
        sim.push(draft);
    }
}

/// A pregnancy after earlier children were removed: the earlier child's protection
/// plan, proceedings and foster placement, then a new pregnancy at the GP.
fn pregnancy_after_removal(sim: &mut Sim<'_>, plan: &TrajectoryPlan, rng: &mut Rng) {
    let household = sim.household;
    let sc = sim.region.social_care;
    let (Some(earlier), Some(removed)) = (plan.earlier_child, plan.removal) else {
        return;
    };
    let Some(mother) = household.main_carer(plan.start) else {
        return;
    };
    let referral_day = removed.plus(-uniform_int(rng, 70, 85)).max(
        household
            .person(earlier)
            .map_or(removed, |person| person.dob.plus(2)),
    );
    let hospital = sim.services(referral_day).hospital;
    let mut episode = serious_episode(
        sim,
        referral_day,
        sim.agency_id(hospital),
        "Baby's mother using heroin; baby withdrawing",
        "neglect",
        rng,
    );
    episode
        .findings
        .push(Finding::new("parent_substance_misuse"));
    episode.plan_days = 2_000;
    sim.social_care_episode(earlier, referral_day, &episode, rng);
    let legal = removed.plus(-uniform_int(rng, 10, 30));
    let draft = sim
        .child_draft(
            sc,
            "social_care.legal_planning",
            When::at(legal, office_minute(rng)),
            delay(rng, 60, 2_880),
            earlier,
        )
        .outcome("threshold_met", Value::Bool(true))
        .outcome("proceedings_started", Value::Bool(true))
        .narrative("Legal planning meeting: threshold met; care proceedings to be issued");
    sim.push(draft);
    let placed = sim
        .child_draft(
            sc,
            "social_care.placement",
            When::Date(removed),
            delay(rng, 60, 2_880),
            earlier,
        )
        .outcome("status", Value::Text("start"))
        .outcome("placement_type", Value::Text("foster_care"));
    sim.push(placed);
    let looked_after = sim
        .child_draft(
            sc,
            "social_care.plan",
            When::Date(removed),
            delay(rng, 60, 2_880),
            earlier,
        )
        .outcome("plan", Value::Text("looked_after"))
        .outcome("status", Value::Text("start"))
        .outcome("category", Value::Text("neglect"));
    sim.push(looked_after);
    let cp_end = sim
        .child_draft(
            sc,
            "social_care.plan",
            When::Date(removed),
            delay(rng, 60, 2_880),
            earlier,
        )
        .outcome("plan", Value::Text("child_protection"))
        .outcome("status", Value::Text("end"))
        .outcome("category", Value::Text("neglect"));
    sim.push(cp_end);
    // The new pregnancy (the ordinary GP record is replaced by this one, marked).
    let known = plan.start;
    sim.drafts
        .retain(|draft| !(draft.kind == "health.pregnancy" && draft.when.day() == known));
    let expected = household
        .person(plan.child)
        .map_or(known.plus(200), |baby| {
            baby.dob.plus(uniform_int(rng, -10, 10))
        });
    let mut draft = Draft::new(
        sim.services(known).gp,
        "health.pregnancy",
        When::Date(known),
        delay(rng, 60, 2_000),
    )
    .outcome("expected_date", Value::Owned(expected.format()))
    .narrative("Pregnancy confirmed; booked with midwifery")
    .alerting();
    draft.person(mother, "subject");
    sim.push(draft);
    let prebirth = known.plus(uniform_int(rng, 60, 140));
    let missed = chance(rng, sim.config.trajectories.missed_referral_share);
    let mut draft = Draft::new(
        sc,
        "social_care.referral",
        When::at(prebirth, office_minute(rng)),
        delay(rng, 10, 900),
    )
    .outcome("referrer_agency", Value::Text("health-visiting"))
    .outcome(
        "decision",
        Value::Text(if missed { "nfa" } else { "assessment" }),
    )
    .narrative("Pre-birth referral: mother's earlier child is in care");
    draft.person(mother, "subject");
    sim.push(draft);
    let antenatal = known.plus(uniform_int(rng, 90, 150));
    let mut draft = Draft::new(
        sim.region.health_visiting,
        "health.health_visitor_contact",
        When::at(antenatal, office_minute(rng)),
        delay(rng, 30, 2_000),
    )
    .narrative("Antenatal contact; mother says she is now drug free");
    draft.person(mother, "subject");
    sim.push(draft);
}
