//! The DfE children's social care API payload
//! (`POST /children_social_care_data/{la_code}/children`, schema `CSC` of the
//! DfE's `openapi.json`): one JSON object per child, at most
//! [`CHILDREN_PER_CALL`] to a file, each file the body of one call.
//! Fields Sightline cannot fill are left out (the schema makes them
//! optional) and counted in the report.

use super::{Casework, ChildCase, Gaps, export_date};
use serde_json::{Map, Value, json};
use sightline_core::Sex;
use std::collections::BTreeMap;
use std::path::Path;

/// The most children the API takes in one call (`maxItems` of `CSC`).
pub const CHILDREN_PER_CALL: usize = 100;

fn date(date: chrono::NaiveDate) -> Value {
    Value::String(date.format("%Y-%m-%d").to_string())
}

/// The payload of one child, and the fields left out.
pub fn child_payload(child: &ChildCase, gaps: &mut Gaps) -> Value {
    let mut details = Map::new();
    let mut put =
        |details: &mut Map<String, Value>, field: &str, value: Option<Value>, reason: &str| {
            match value {
                Some(value) => {
                    details.insert(field.to_owned(), value);
                }
                None => gaps.add(&format!("child_details.{field}"), reason),
            }
        };
    put(
        &mut details,
        "first_name",
        child.given_names.clone().map(Value::String),
        "no agency recorded the child's given names",
    );
    put(
        &mut details,
        "surname",
        child.family_name.clone().map(Value::String),
        "no agency recorded the child's family name",
    );
    match (child.dob, child.expected_dob) {
        (Some(dob), _) => put(
            &mut details,
            "date_of_birth",
            export_date(dob).map(date),
            "only the year of birth is known",
        ),
        (None, Some(expected)) => put(
            &mut details,
            "expected_date_of_birth",
            export_date(expected).map(date),
            "only the year of the expected birth is known",
        ),
        (None, None) => put(
            &mut details,
            "date_of_birth",
            None,
            "no agency recorded a date of birth",
        ),
    }
    put(
        &mut details,
        "sex",
        child.sex.map(|sex| {
            Value::String(
                match sex {
                    Sex::Male => "M",
                    Sex::Female => "F",
                    _ => "U",
                }
                .to_owned(),
            )
        }),
        "no agency recorded the child's sex",
    );
    put(
        &mut details,
        "postcode",
        child
            .postcode
            .clone()
            .filter(|code| code.len() <= 8)
            .map(Value::String),
        "no agency recorded the child's address with a postcode",
    );
    for (field, reason) in [
        (
            "unique_pupil_number",
            "interchange records carry no unique pupil number",
        ),
        ("ethnicity", "interchange records carry no ethnicity"),
        (
            "disabilities",
            "interchange records carry no disability codes",
        ),
        (
            "uasc_flag",
            "interchange records do not say whether a child is an unaccompanied asylum seeker",
        ),
    ] {
        gaps.add(&format!("child_details.{field}"), reason);
    }

    let mut episodes = Vec::new();
    for episode in &child.episodes {
        let mut object = Map::new();
        object.insert("social_care_episode_id".into(), json!(episode.id));
        object.insert("referral_date".into(), date(episode.referral_date));
        match episode
            .referral
            .as_ref()
            .and_then(|referral| referral.source.as_ref())
        {
            Some(source) => {
                object.insert("referral_source".into(), json!(source.code));
            }
            None => gaps.add(
                "social_care_episodes.referral_source",
                "the referral says neither who referred nor their agency type (or the episode has no referral record)",
            ),
        }
        object.insert(
            "referral_no_further_action_flag".into(),
            Value::Bool(episode.nfa),
        );
        if let (Some(closed), Some(reason)) = (episode.close_date, episode.close_reason) {
            object.insert("closure_date".into(), date(closed));
            object.insert("closure_reason".into(), json!(reason));
        }
        gaps.add(
            "social_care_episodes.care_worker_details",
            "interchange records name no worker",
        );
        let assessments: Vec<Value> = episode
            .assessments
            .iter()
            .map(|assessment| {
                let mut item = Map::new();
                item.insert(
                    "child_and_family_assessment_id".into(),
                    json!(assessment.id),
                );
                if let Some(start) = assessment.start {
                    item.insert("start_date".into(), date(start));
                }
                if let Some(authorised) = assessment.authorised {
                    item.insert("authorisation_date".into(), date(authorised));
                }
                gaps.add(
                    "child_and_family_assessments.factors",
                    "interchange records carry no assessment factor codes",
                );
                Value::Object(item)
            })
            .collect();
        object.insert(
            "child_and_family_assessments".into(),
            Value::Array(assessments),
        );
        let cin_plans: Vec<Value> = episode
            .cin_plans
            .iter()
            .map(|plan| {
                let mut item = Map::new();
                item.insert("child_in_need_plan_id".into(), json!(plan.id));
                item.insert("start_date".into(), date(plan.start));
                if let Some(end) = plan.end {
                    item.insert("end_date".into(), date(end));
                }
                Value::Object(item)
            })
            .collect();
        object.insert("child_in_need_plans".into(), Value::Array(cin_plans));
        let s47s: Vec<Value> = episode
            .s47s
            .iter()
            .map(|s47| {
                let mut item = Map::new();
                item.insert("section_47_assessment_id".into(), json!(s47.id));
                item.insert("start_date".into(), date(s47.start));
                if let Some(icpc) = s47.icpc_date {
                    item.insert("icpc_required_flag".into(), Value::Bool(true));
                    item.insert("icpc_date".into(), date(icpc));
                } else if s47.end.is_some() {
                    item.insert("icpc_required_flag".into(), Value::Bool(false));
                }
                if let Some(end) = s47.end {
                    item.insert("end_date".into(), date(end));
                }
                Value::Object(item)
            })
            .collect();
        object.insert("section_47_assessments".into(), Value::Array(s47s));
        let cp_plans: Vec<Value> = episode
            .cp_plans
            .iter()
            .map(|plan| {
                let mut item = Map::new();
                item.insert("child_protection_plan_id".into(), json!(plan.id));
                item.insert("start_date".into(), date(plan.start));
                if let Some(end) = plan.end {
                    item.insert("end_date".into(), date(end));
                }
                Value::Object(item)
            })
            .collect();
        object.insert("child_protection_plans".into(), Value::Array(cp_plans));
        let placements: Vec<Value> = episode
            .looked_after
            .iter()
            .map(|period| {
                let mut item = Map::new();
                item.insert("child_looked_after_placement_id".into(), json!(period.id));
                item.insert("start_date".into(), date(period.start));
                item.insert("start_reason".into(), json!("S"));
                if let Some(end) = period.end {
                    item.insert("end_date".into(), date(end));
                }
                gaps.add(
                    "child_looked_after_placements.placement_type",
                    "Sightline's placement types are coarser than the SSDA903 placement codes",
                );
                Value::Object(item)
            })
            .collect();
        object.insert(
            "child_looked_after_placements".into(),
            Value::Array(placements),
        );
        episodes.push(Value::Object(object));
    }
    json!({
        "la_child_id": child.child_id,
        // Sightline is the supplier: its person id.
        "mis_child_id": child.person_id,
        "child_details": Value::Object(details),
        "social_care_episodes": episodes,
    })
}

/// Every child's payload, in calls of at most [`CHILDREN_PER_CALL`].
pub fn payloads(casework: &Casework, gaps: &mut Gaps) -> Vec<Vec<Value>> {
    let children: Vec<Value> = casework
        .children
        .iter()
        .map(|child| child_payload(child, gaps))
        .collect();
    children
        .chunks(CHILDREN_PER_CALL)
        .map(<[Value]>::to_vec)
        .collect()
}

/// Writes `children-NNN.json` (one call's body each) into `dir`.
pub fn write(casework: &Casework, dir: &Path) -> std::io::Result<(BTreeMap<String, usize>, Gaps)> {
    let mut gaps = Gaps::default();
    let mut written = BTreeMap::new();
    for (index, call) in payloads(casework, &mut gaps).iter().enumerate() {
        let name = format!("children-{:03}.json", index + 1);
        let text = serde_json::to_string_pretty(call).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(&name), text)?;
        written.insert(name, call.len());
    }
    Ok((written, gaps))
}
