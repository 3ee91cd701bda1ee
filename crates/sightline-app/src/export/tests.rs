//! The episode reader on hand-written records: what opens, joins and closes
//! an episode, which episodes a period takes, and the gaps it reports.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use super::*;
use crate::picture::{LoadedRecord, link_records, person_facts};
use chrono::TimeZone;
use serde_json::json;
use sightline_core::interchange::{Limits, Position, parse_json_record};

const ORG: &str = r#"name = "Test"
default_local_authority = "riverside"

[[local_authority]]
id = "riverside"
name = "Riverside Council"
dfe_code = "201"
duty_team = "team:social-care/duty"
head_of_service = "team:social-care/duty"

[[local_authority]]
id = "eastfield"
name = "Eastfield Council"
duty_team = "team:east-care/duty"
head_of_service = "team:east-care/duty"

[[agency]]
id = "social-care"
name = "Riverside Children's Social Care"
type = "social_care"
local_authority = "riverside"
teams = [{ id = "duty", name = "Duty" }]

[[agency]]
id = "east-care"
name = "Eastfield Children's Social Care"
type = "social_care"
local_authority = "eastfield"
teams = [{ id = "duty", name = "Duty" }]

[[agency]]
id = "police"
name = "Riverside Police"
type = "police"
local_authority = "riverside"

[[agency]]
id = "gp"
name = "A surgery"
type = "health"
service = "gp"
local_authority = "riverside"
"#;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// A record about the child Amy Test (NHS number from the GP only).
fn record(
    agency: &str,
    id: &str,
    kind: &str,
    on: &str,
    outcome: serde_json::Value,
) -> serde_json::Value {
    let mut child = json!({"ref": "c", "role": "subject", "given_names": "Amy", "family_name": "Test",
        "dob": "2019-05", "sex": "female", "source_person_id": "LA123"});
    if agency == "gp" {
        child["nhs_number"] = json!("9434765919");
        child["source_person_id"] = json!("GP9");
    }
    let mut value = json!({"source": {"agency": agency, "record_id": id}, "kind": kind,
        "occurred_at": on, "persons": [child]});
    if !outcome.as_object().unwrap().is_empty() {
        value["outcome"] = outcome;
    }
    value
}

fn casework_of(records: &[serde_json::Value], from: &str, to: &str) -> Casework {
    casework_withholding(records, from, to, &Withheld::none())
}

fn casework_withholding(
    records: &[serde_json::Value],
    from: &str,
    to: &str,
    restricted: &Withheld,
) -> Casework {
    let received = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let loaded: Vec<LoadedRecord> = records
        .iter()
        .enumerate()
        .map(|(index, value)| {
            let parsed = parse_json_record(
                value.to_string().as_bytes(),
                Position::Line(index as u64 + 1),
                received,
                &Limits::default(),
            )
            .unwrap_or_else(|problems| panic!("{value}: {problems:?}"));
            LoadedRecord {
                seq: index as i64 + 1,
                record: parsed.record,
                received_at: received,
            }
        })
        .collect();
    let linked = link_records(loaded).unwrap();
    let facts = person_facts(&linked);
    let organisation = Organisation::parse(ORG).unwrap();
    let la = find_local_authority(&organisation, "201").unwrap().clone();
    casework(
        &linked,
        &facts,
        &organisation,
        &la,
        day(from),
        day(to),
        restricted,
    )
    .unwrap()
}

fn empty() -> serde_json::Value {
    json!({})
}

#[test]
fn a_protection_episode_is_read_from_referral_to_closure() {
    let records = vec![
        record("gp", "G1", "health.gp_consultation", "2024-03-01", empty()),
        record(
            "social-care",
            "R1",
            "social_care.referral",
            "2024-04-02",
            json!({"decision": "strategy_discussion", "referrer_agency": "police"}),
        ),
        record(
            "social-care",
            "SD1",
            "social_care.strategy_discussion",
            "2024-04-03",
            json!({"section47": true}),
        ),
        record(
            "social-care",
            "S1",
            "social_care.section47",
            "2024-04-03",
            json!({"status": "started"}),
        ),
        record(
            "social-care",
            "S2",
            "social_care.section47",
            "2024-04-12",
            json!({"status": "completed", "substantiated": true}),
        ),
        record(
            "social-care",
            "C1",
            "social_care.conference",
            "2024-04-22",
            json!({"type": "initial", "plan": "start"}),
        ),
        record(
            "social-care",
            "P1",
            "social_care.plan",
            "2024-04-22",
            json!({"plan": "child_protection", "status": "start", "category": "neglect"}),
        ),
        record(
            "social-care",
            "V1",
            "social_care.visit",
            "2024-05-01",
            json!({"child_seen": true, "seen_alone": false}),
        ),
        record(
            "social-care",
            "C2",
            "social_care.conference",
            "2024-07-20",
            json!({"type": "review", "plan": "continue"}),
        ),
        record(
            "social-care",
            "P2",
            "social_care.plan",
            "2024-10-01",
            json!({"plan": "child_protection", "status": "end", "category": "multiple"}),
        ),
        record(
            "social-care",
            "X1",
            "social_care.case_closed",
            "2024-10-10",
            empty(),
        ),
        // Another authority's record and a record after the period: not read.
        record(
            "east-care",
            "E1",
            "social_care.referral",
            "2024-05-01",
            json!({"decision": "assessment"}),
        ),
        record(
            "social-care",
            "R2",
            "social_care.referral",
            "2025-05-01",
            json!({"decision": "nfa"}),
        ),
    ];
    let work = casework_of(&records, "2024-04-01", "2025-03-31");
    assert_eq!(work.children.len(), 1);
    let child = &work.children[0];
    // The council's own person id (the GP's is not the council's).
    assert_eq!(child.child_id, "LA123");
    assert!(child.council_id);
    // The NHS number only the GP recorded, from the linked picture.
    assert_eq!(
        child.nhs_number,
        Some(("9434765919".to_owned(), day("2024-03-01")))
    );
    assert_eq!(
        child.la_person_ids,
        vec![("LA123".to_owned(), day("2024-04-02"))]
    );
    assert_eq!(child.contacts.len(), 1);
    assert_eq!(child.episodes.len(), 1);
    let episode = &child.episodes[0];
    assert_eq!(episode.referral_date, day("2024-04-02"));
    assert_eq!(
        episode
            .referral
            .as_ref()
            .unwrap()
            .source
            .as_ref()
            .unwrap()
            .code,
        "6"
    );
    assert_eq!(
        (episode.close_date, episode.close_reason),
        (Some(day("2024-10-10")), Some("RC7"))
    );
    let s47 = &episode.s47s[0];
    assert_eq!(
        (s47.start, s47.end, s47.substantiated),
        (day("2024-04-03"), Some(day("2024-04-12")), Some(true))
    );
    // 15 working days after Wednesday 3 April 2024.
    assert_eq!(s47.icpc_target, day("2024-04-24"));
    assert_eq!(s47.icpc_date, Some(day("2024-04-22")));
    let icpc = &episode.icpcs[0];
    let plan = &episode.cp_plans[0];
    assert_eq!(icpc.cp_plan_id.as_deref(), Some(plan.id.as_str()));
    assert_eq!(plan.icpc_id.as_deref(), Some(icpc.id.as_str()));
    assert_eq!(
        (plan.start, plan.end),
        (day("2024-04-22"), Some(day("2024-10-01")))
    );
    assert_eq!(plan.initial_category.as_deref(), Some("neglect"));
    assert_eq!(plan.latest_category.as_deref(), Some("multiple"));
    assert_eq!(plan.reviews, vec![day("2024-07-20")]);
    assert_eq!(plan.visits.len(), 1);
    assert_eq!(plan.previous_plans, 0);
    assert!(work.gaps.is_empty(), "{:?}", work.gaps.list());
    // The stable ids are the same in a second reading.
    let again = casework_of(&records, "2024-04-01", "2025-03-31");
    assert_eq!(again.children[0].episodes[0].id, episode.id);

    // The SSD rows say the same, and count what they cannot fill.
    let tables = ssd::rows(&work);
    assert_eq!(tables["ssd_cp_plans"].len(), 1);
    let person = &tables["ssd_person"][0];
    assert_eq!(
        person.values["pers_dob"], "2019-05-15",
        "a month alone: its 15th"
    );
    assert_eq!(person.values["pers_common_child_id"], "9434765919");
    assert_eq!(person.values["pers_person_id"], "LA123");
    assert_eq!(person.values["pers_legacy_id"], child_id(&child.person_id));
    assert!(
        person
            .empty
            .iter()
            .any(|(field, _)| *field == "pers_ethnicity")
    );
    let icpc_row = &tables["ssd_initial_cp_conference"][0];
    assert_eq!(icpc_row.values["icpc_icpc_target_date"], "2024-04-24");
    assert_eq!(
        tables["ssd_cin_episodes"][0].values["cine_referral_outcome_json"],
        r#"{"SINGLE_ASSESSMENT_FLAG":"N","NFA_FLAG":"N","STRATEGY_DISCUSSION_FLAG":"Y","CLA_REQUEST_FLAG":"","NON_AGENCY_ADOPTION_FLAG":"","PRIVATE_FOSTERING_FLAG":"","CP_TRANSFER_IN_FLAG":"","CP_CONFERENCE_FLAG":"Y","CARE_LEAVER_FLAG":"","OTHER_OUTCOMES_EXIST_FLAG":"N"}"#,
        "every key, in the model's order"
    );
    for (name, rows) in &tables {
        let table = ssd::TABLES
            .iter()
            .find(|table| table.name == *name)
            .unwrap();
        for row in rows {
            for field in row
                .values
                .keys()
                .chain(row.empty.iter().map(|(field, _)| field))
            {
                assert!(table.fields.contains(field), "{name}.{field}");
            }
        }
    }

    // The census leaves the first plan out (the schema cannot say 0
    // previous plans) and says why.
    let mut gaps = Gaps::default();
    let header = cin::Header {
        lea: "201".to_owned(),
        release: "test".to_owned(),
        generated_at: Utc.with_ymd_and_hms(2025, 4, 1, 9, 0, 0).unwrap(),
    };
    let xml = cin::document(&work, &header, &mut gaps);
    assert!(xml.contains("<ReferralSource>6</ReferralSource>"));
    assert!(xml.contains("<InitialCPCtarget>2024-04-24</InitialCPCtarget>"));
    assert!(xml.contains("<ICPCnotRequired>false</ICPCnotRequired>"));
    assert!(!xml.contains("<ChildProtectionPlans>"));
    assert_eq!(gaps.count("ChildProtectionPlans"), 1);
}

#[test]
fn referrals_open_join_and_close_episodes_and_the_period_selects_them() {
    let records = vec![
        // Closed before the period: not taken.
        record(
            "social-care",
            "R0",
            "social_care.referral",
            "2023-01-05",
            json!({"decision": "assessment", "referrer_type": "family"}),
        ),
        record(
            "social-care",
            "A0",
            "social_care.assessment",
            "2023-01-06",
            json!({"status": "started"}),
        ),
        record(
            "social-care",
            "A1",
            "social_care.assessment",
            "2023-02-20",
            json!({"status": "completed", "outcome": "No further action"}),
        ),
        record(
            "social-care",
            "X0",
            "social_care.case_closed",
            "2023-02-25",
            empty(),
        ),
        // Open across the period's start: taken; a second referral joins it.
        record(
            "social-care",
            "R1",
            "social_care.referral",
            "2024-03-01",
            json!({"decision": "assessment"}),
        ),
        record(
            "social-care",
            "R2",
            "social_care.referral",
            "2024-04-10",
            json!({"decision": "assessment", "referrer_type": "anonymous"}),
        ),
        record(
            "social-care",
            "A2",
            "social_care.assessment",
            "2024-04-20",
            json!({"status": "completed"}),
        ),
        // An NFA referral: its own episode, closed that day.
        record(
            "social-care",
            "X1",
            "social_care.case_closed",
            "2024-05-01",
            empty(),
        ),
        record(
            "social-care",
            "R3",
            "social_care.referral",
            "2024-06-01",
            json!({"decision": "nfa"}),
        ),
        // A plan with no referral opens an episode, counted.
        record(
            "social-care",
            "L1",
            "social_care.plan",
            "2024-08-01",
            json!({"plan": "looked_after", "status": "start"}),
        ),
        record(
            "social-care",
            "M1",
            "social_care.legal_planning",
            "2024-08-02",
            empty(),
        ),
    ];
    let work = casework_of(&records, "2024-04-01", "2025-03-31");
    let child = &work.children[0];
    let dates: Vec<NaiveDate> = child
        .episodes
        .iter()
        .map(|episode| episode.referral_date)
        .collect();
    assert_eq!(
        dates,
        vec![day("2024-03-01"), day("2024-06-01"), day("2024-08-01")]
    );
    let joined = &child.episodes[0];
    assert_eq!(
        joined
            .referral
            .as_ref()
            .unwrap()
            .source
            .as_ref()
            .map(|source| source.code),
        None
    );
    assert_eq!(
        (joined.close_date, joined.close_reason),
        (Some(day("2024-05-01")), Some("RC8"))
    );
    // Completed with no record of its start: kept, start unknown.
    assert_eq!(joined.assessments.len(), 1);
    assert_eq!(joined.assessments[0].start, None);
    let nfa = &child.episodes[1];
    assert!(nfa.nfa);
    assert_eq!(
        (nfa.close_date, nfa.close_reason),
        (Some(day("2024-06-01")), Some("RC8"))
    );
    let implicit = &child.episodes[2];
    assert!(implicit.referral.is_none());
    assert_eq!(implicit.looked_after.len(), 1);
    assert_eq!(work.gaps.count("episode.referral"), 1);
    assert_eq!(
        work.records_not_exported.get("social_care.legal_planning"),
        Some(&1)
    );
    // Contacts: the referrals dated in the period (the anonymous one is 9).
    let codes: Vec<Option<&str>> = child
        .contacts
        .iter()
        .map(|contact| contact.source.as_ref().map(|source| source.code))
        .collect();
    assert_eq!(codes, vec![Some("9"), None]);

    // The census: the assessment with no start is left out, the source of
    // an unknown referrer is 10, and every empty field is counted.
    let mut gaps = Gaps::default();
    let header = cin::Header {
        lea: "201".to_owned(),
        release: "test".to_owned(),
        generated_at: Utc.with_ymd_and_hms(2025, 4, 1, 9, 0, 0).unwrap(),
    };
    let xml = cin::document(&work, &header, &mut gaps);
    assert!(!xml.contains("<Assessments>"));
    assert_eq!(gaps.count("Assessments"), 1);
    assert_eq!(
        gaps.count("CINdetails.ReferralSource"),
        3,
        "two unknown referrers and no referral"
    );
    assert_eq!(gaps.count("CINdetails.PrimaryNeedCode"), 3);
    assert!(xml.contains("<ReasonForClosure>RC8</ReasonForClosure>"));

    // A period the episodes miss: no child; the DfE formats refuse it.
    let none = casework_of(&records, "2022-01-01", "2022-12-31");
    assert!(none.children.is_empty());
    assert!(matches!(
        check(ExportKind::CinCensus, &none),
        Err(ExportError::NoChildren)
    ));
    assert!(check(ExportKind::Ssd, &none).is_ok());
}

#[test]
fn records_of_one_day_are_taken_in_the_order_of_the_work_not_the_clock() {
    // A day-only enquiry (midnight) the day of a referral at 09:11; a
    // conference at 10:00 the day the plan (day only) starts; a review
    // conference at 11:00 the day the plan ends.
    let records = vec![
        record(
            "social-care",
            "S1",
            "social_care.section47",
            "2024-04-03",
            json!({"status": "started"}),
        ),
        record(
            "social-care",
            "R1",
            "social_care.referral",
            "2024-04-03T09:11:00Z",
            json!({"decision": "strategy_discussion", "referrer_type": "family"}),
        ),
        record(
            "social-care",
            "P1",
            "social_care.plan",
            "2024-04-20",
            json!({"plan": "child_protection", "status": "start", "category": "neglect"}),
        ),
        record(
            "social-care",
            "C1",
            "social_care.conference",
            "2024-04-20T10:00:00Z",
            json!({"type": "initial", "plan": "start"}),
        ),
        record(
            "social-care",
            "P2",
            "social_care.plan",
            "2024-09-01",
            json!({"plan": "child_protection", "status": "end"}),
        ),
        record(
            "social-care",
            "C2",
            "social_care.conference",
            "2024-09-01T11:00:00Z",
            json!({"type": "review", "plan": "end"}),
        ),
    ];
    let work = casework_of(&records, "2024-04-01", "2025-03-31");
    assert!(work.gaps.is_empty(), "{:?}", work.gaps.list());
    let episode = &work.children[0].episodes[0];
    assert!(episode.referral.is_some());
    assert_eq!(episode.s47s.len(), 1);
    assert_eq!(
        episode.icpcs[0].cp_plan_id.as_deref(),
        Some(episode.cp_plans[0].id.as_str())
    );
    assert_eq!(episode.cp_plans[0].reviews, vec![day("2024-09-01")]);
    assert_eq!(episode.cp_plans[0].end, Some(day("2024-09-01")));
}

#[test]
fn an_adult_subject_is_not_exported_as_a_child() {
    let mut adult = record(
        "social-care",
        "R9",
        "social_care.referral",
        "2024-06-01",
        json!({"decision": "assessment"}),
    );
    adult["persons"][0]["dob"] = json!("2001-12-31");
    adult["persons"][0]["given_names"] = json!("Leah");
    adult["persons"][0]["source_person_id"] = json!("LA999");
    let child = record(
        "social-care",
        "R1",
        "social_care.referral",
        "2024-06-02",
        json!({"decision": "assessment"}),
    );
    let work = casework_of(&[adult, child], "2024-04-01", "2025-03-31");
    assert_eq!(work.children.len(), 1);
    assert_eq!(work.children[0].given_names.as_deref(), Some("Amy"));
    assert_eq!(work.gaps.count("episode.subject"), 1);
}

#[test]
fn a_council_id_two_children_share_or_that_does_not_fit_gives_way_to_sightlines() {
    let amy = record(
        "social-care",
        "R1",
        "social_care.referral",
        "2024-06-01",
        json!({"decision": "assessment"}),
    );
    // Linkage joins two mentions with one council id; a reviewer can split
    // them: two children with one council id then, neither gets it.
    let work = casework_of(std::slice::from_ref(&amy), "2024-04-01", "2025-03-31");
    let mut first = work.children[0].clone();
    first.child_id = child_id(&first.person_id);
    first.council_id = false;
    let mut second = first.clone();
    second.person_id = "p-0123456789abcdef".to_owned();
    second.child_id = child_id(&second.person_id);
    let mut children = vec![first, second];
    let mut gaps = Gaps::default();
    choose_child_ids(&mut children, &mut gaps);
    for child in &children {
        assert!(!child.council_id);
        assert_eq!(child.child_id, child_id(&child.person_id));
    }
    assert_eq!(gaps.count("child.id"), 2);
    // An id with a hyphen does not fit the DfE's formats.
    let mut odd = amy;
    odd["persons"][0]["source_person_id"] = json!("LA-123");
    let work = casework_of(&[odd], "2024-04-01", "2025-03-31");
    assert!(!work.children[0].council_id);
    assert!(work.children[0].child_id.starts_with('p'));
    assert_eq!(work.gaps.count("child.id"), 1);
}

#[test]
fn the_local_authority_is_found_by_id_or_dfe_code_and_the_period_must_be_ordered() {
    let organisation = Organisation::parse(ORG).unwrap();
    assert_eq!(
        find_local_authority(&organisation, "201").unwrap().id,
        "riverside"
    );
    assert_eq!(
        find_local_authority(&organisation, "eastfield").unwrap().id,
        "eastfield"
    );
    assert!(find_local_authority(&organisation, "999").is_err());
    let east = find_local_authority(&organisation, "eastfield")
        .unwrap()
        .clone();
    let work = Casework {
        local_authority: east,
        from: day("2024-01-01"),
        to: day("2024-12-31"),
        children: Vec::new(),
        records_read: 0,
        records_not_exported: BTreeMap::new(),
        records_withheld: BTreeMap::new(),
        gaps: Gaps::default(),
    };
    assert!(matches!(
        check(ExportKind::DfeApi, &work),
        Err(ExportError::NoDfeCode(..))
    ));
    let linked = link_records(Vec::new()).unwrap();
    let la = find_local_authority(&organisation, "201").unwrap();
    assert!(matches!(
        casework(
            &linked,
            &BTreeMap::new(),
            &organisation,
            la,
            day("2024-02-01"),
            day("2024-01-01"),
            &Withheld::none(),
        ),
        Err(ExportError::Period { .. })
    ));
}

#[test]
fn the_api_payload_goes_in_calls_of_at_most_one_hundred_children() {
    let amy = record(
        "social-care",
        "R1",
        "social_care.referral",
        "2024-06-01",
        json!({"decision": "assessment"}),
    );
    let mut work = casework_of(&[amy], "2024-04-01", "2025-03-31");
    let one = work.children[0].clone();
    work.children = (0..205)
        .map(|index| {
            let mut child = one.clone();
            child.child_id = format!("C{index}");
            child
        })
        .collect();
    let mut gaps = Gaps::default();
    let calls = dfe::payloads(&work, &mut gaps);
    let sizes: Vec<usize> = calls.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![100, 100, 5]);
    assert_eq!(calls[2][4]["la_child_id"], "C204");
    assert_eq!(gaps.count("child_details.ethnicity"), 205);
}

#[test]
fn a_restricted_record_is_not_read_and_is_counted() {
    let records = [
        record("gp", "G1", "health.gp_consultation", "2024-03-01", empty()),
        record(
            "social-care",
            "R1",
            "social_care.referral",
            "2024-04-02",
            json!({"decision": "assessment"}),
        ),
        record(
            "social-care",
            "A1",
            "social_care.assessment",
            "2024-04-05",
            json!({"status": "started"}),
        ),
    ];
    let open = casework_of(&records, "2024-04-01", "2025-03-31");
    assert_eq!(open.children[0].episodes[0].assessments.len(), 1);
    assert!(open.children[0].nhs_number.is_some());
    assert!(open.records_withheld.is_empty());

    // The GP's record (the only one with the NHS number) and the assessment
    // restricted: neither is read, both are counted.
    let restricted = Withheld::of_records([
        ("gp".to_owned(), "G1".to_owned()),
        ("social-care".to_owned(), "A1".to_owned()),
    ]);
    let work = casework_withholding(&records, "2024-04-01", "2025-03-31", &restricted);
    let child = &work.children[0];
    assert_eq!(child.nhs_number, None, "the NHS number came only from G1");
    assert!(child.episodes[0].assessments.is_empty());
    assert_eq!(work.records_read, 1);
    assert_eq!(
        work.records_withheld,
        BTreeMap::from([(RESTRICTED_REASON.to_owned(), 2)])
    );
}
