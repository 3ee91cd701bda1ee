//! The Standard Safeguarding Dataset tables Sightline can fill, one CSV per
//! table with the model's field names in the model's order (Data to
//! Insight's `ssd-data-model`, `data/objects/*.yml`; the tests read the yml
//! and compare). Dates are `YYYY-MM-DD`; flags `Y`/`N`; the `*_json` fields
//! hold every key of the model's structure, `Y`/`N` where Sightline knows and
//! `""` where it does not.

use super::{Casework, ChildCase, Gaps, export_date, yes_no};
use serde_json::Value;
use sightline_core::Sex;
use std::collections::BTreeMap;
use std::path::Path;

/// One table of the model: its name and its fields, in the model's order.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub fields: &'static [&'static str],
}

pub const PERSON: Table = Table {
    name: "ssd_person",
    fields: &[
        "pers_person_id",
        "pers_forename",
        "pers_surname",
        "pers_sex",
        "pers_gender",
        "pers_ethnicity",
        "pers_dob",
        "pers_common_child_id",
        "pers_legacy_id",
        "pers_upn_unknown",
        "pers_send_flag",
        "pers_expected_dob",
        "pers_death_date",
        "pers_is_mother",
        "pers_nationality",
    ],
};

pub const LINKED_IDENTIFIERS: Table = Table {
    name: "ssd_linked_identifiers",
    fields: &[
        "link_table_id",
        "link_person_id",
        "link_identifier_type",
        "link_identifier_value",
        "link_valid_from_date",
        "link_valid_to_date",
    ],
};

pub const CONTACTS: Table = Table {
    name: "ssd_contacts",
    fields: &[
        "cont_contact_id",
        "cont_person_id",
        "cont_contact_date",
        "cont_contact_source_code",
        "cont_contact_source_desc",
        "cont_contact_outcome_json",
    ],
};

pub const CIN_EPISODES: Table = Table {
    name: "ssd_cin_episodes",
    fields: &[
        "cine_referral_id",
        "cine_person_id",
        "cine_referral_date",
        "cine_cin_primary_need_code",
        "cine_referral_source_code",
        "cine_referral_source_desc",
        "cine_referral_outcome_json",
        "cine_referral_nfa",
        "cine_close_reason",
        "cine_close_date",
        "cine_referral_team",
        "cine_referral_worker_id",
    ],
};

pub const CIN_ASSESSMENTS: Table = Table {
    name: "ssd_cin_assessments",
    fields: &[
        "cina_assessment_id",
        "cina_person_id",
        "cina_referral_id",
        "cina_assessment_start_date",
        "cina_assessment_child_seen",
        "cina_assessment_auth_date",
        "cina_assessment_outcome_json",
        "cina_assessment_outcome_nfa",
        "cina_assessment_team",
        "cina_assessment_worker_id",
    ],
};

pub const S47_ENQUIRY: Table = Table {
    name: "ssd_s47_enquiry",
    fields: &[
        "s47e_s47_enquiry_id",
        "s47e_referral_id",
        "s47e_person_id",
        "s47e_s47_start_date",
        "s47e_s47_end_date",
        "s47e_s47_nfa",
        "s47e_s47_outcome_json",
        "s47e_s47_completed_by_worker_id",
        "s47e_s47_completed_by_team",
    ],
};

pub const INITIAL_CP_CONFERENCE: Table = Table {
    name: "ssd_initial_cp_conference",
    fields: &[
        "icpc_icpc_id",
        "icpc_icpc_meeting_id",
        "icpc_s47_enquiry_id",
        "icpc_person_id",
        "icpc_cp_plan_id",
        "icpc_referral_id",
        "icpc_icpc_transfer_in",
        "icpc_icpc_target_date",
        "icpc_icpc_date",
        "icpc_icpc_outcome_cp_flag",
        "icpc_icpc_outcome_json",
        "icpc_icpc_team",
        "icpc_icpc_worker_id",
    ],
};

pub const CP_PLANS: Table = Table {
    name: "ssd_cp_plans",
    fields: &[
        "cppl_cp_plan_id",
        "cppl_referral_id",
        "cppl_icpc_id",
        "cppl_person_id",
        "cppl_cp_plan_start_date",
        "cppl_cp_plan_end_date",
        "cppl_cp_plan_initial_category",
        "cppl_cp_plan_ola",
        "cppl_cp_plan_latest_category",
    ],
};

pub const CP_VISITS: Table = Table {
    name: "ssd_cp_visits",
    fields: &[
        "cppv_cp_visit_id",
        "cppv_person_id",
        "cppv_cp_plan_id",
        "cppv_cp_visit_date",
        "cppv_cp_visit_seen",
        "cppv_cp_visit_seen_alone",
        "cppv_cp_visit_bedroom",
    ],
};

pub const CLA_EPISODES: Table = Table {
    name: "ssd_cla_episodes",
    fields: &[
        "clae_cla_episode_id",
        "clae_person_id",
        "clae_cla_episode_start_date",
        "clae_cla_episode_start_reason",
        "clae_cla_primary_need_code",
        "clae_cla_episode_ceased_date",
        "clae_cla_episode_ceased_reason",
        "clae_cla_id",
        "clae_referral_id",
        "clae_cla_placement_id",
        "clae_entered_care_date",
        "clae_cla_last_iro_contact_date",
    ],
};

/// Every table the export writes, in the order written.
pub const TABLES: [Table; 10] = [
    PERSON,
    LINKED_IDENTIFIERS,
    CONTACTS,
    CIN_EPISODES,
    CIN_ASSESSMENTS,
    S47_ENQUIRY,
    INITIAL_CP_CONFERENCE,
    CP_PLANS,
    CP_VISITS,
    CLA_EPISODES,
];

// Why fields are empty (the report's words).
const NO_WORKER: &str = "interchange records name no worker or team";
const NO_NEED_CODE: &str = "Sightline records no category of need (N0-N9); none is guessed";
const NO_CLOSE: &str = "the episode is still open at the end of the period";

/// One row: values by field, and the fields left empty with the reason.
#[derive(Debug, Default, Clone)]
pub struct Row {
    pub values: BTreeMap<&'static str, String>,
    pub empty: Vec<(&'static str, &'static str)>,
}

impl Row {
    fn set(&mut self, field: &'static str, value: impl Into<String>) -> &mut Self {
        self.values.insert(field, value.into());
        self
    }

    /// Sets `value`, or counts the field empty for `reason`.
    fn maybe(
        &mut self,
        field: &'static str,
        value: Option<impl Into<String>>,
        reason: &'static str,
    ) -> &mut Self {
        match value {
            Some(value) => {
                self.values.insert(field, value.into());
            }
            None => self.empty.push((field, reason)),
        }
        self
    }

    /// A field Sightline never fills.
    fn unknown(&mut self, field: &'static str, reason: &'static str) -> &mut Self {
        self.empty.push((field, reason));
        self
    }
}

fn date(date: chrono::NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// A `*_json` field: every key, in the model's order, as a JSON object.
fn flags(keys: &[&str], known: &[(&str, Value)]) -> String {
    let members: Vec<String> = keys
        .iter()
        .map(|key| {
            let value = known
                .iter()
                .find(|(name, _)| name == key)
                .map_or_else(|| Value::String(String::new()), |(_, value)| value.clone());
            format!("{}:{value}", Value::String((*key).to_owned()))
        })
        .collect();
    format!("{{{}}}", members.join(","))
}

fn yn(value: bool) -> Value {
    Value::String(yes_no(value).to_owned())
}

fn category_words(category: &str) -> Option<&'static str> {
    Some(match category {
        "neglect" => "Neglect",
        "physical_abuse" => "Physical abuse",
        "sexual_abuse" => "Sexual abuse",
        "emotional_abuse" => "Emotional abuse",
        "multiple" => "Multiple",
        _ => return None,
    })
}

fn person_rows(child: &ChildCase) -> (Row, Vec<Row>) {
    let mut row = Row::default();
    row.set("pers_person_id", child.child_id.clone())
        .maybe(
            "pers_forename",
            child.given_names.clone(),
            "no agency recorded the child's given names",
        )
        .maybe(
            "pers_surname",
            child.family_name.clone(),
            "no agency recorded the child's family name",
        )
        .maybe(
            "pers_sex",
            child.sex.map(|sex| match sex {
                Sex::Male => "M",
                Sex::Female => "F",
                _ => "U",
            }),
            "no agency recorded the child's sex",
        )
        .unknown(
            "pers_gender",
            "interchange records carry sex only, not gender identity",
        )
        .unknown("pers_ethnicity", "interchange records carry no ethnicity")
        .unknown(
            "pers_upn_unknown",
            "interchange records carry no unique pupil number",
        )
        .unknown(
            "pers_send_flag",
            "interchange records carry no EHC plan data",
        )
        .unknown(
            "pers_death_date",
            "interchange records carry no date of death",
        )
        .unknown(
            "pers_is_mother",
            "not derived (Sightline does not decide parenthood for the return)",
        )
        .unknown(
            "pers_nationality",
            "interchange records carry no nationality",
        );
    match (child.dob, child.expected_dob) {
        (Some(dob), _) => {
            row.maybe(
                "pers_dob",
                export_date(dob).map(date),
                "only the year of birth is known",
            );
        }
        (None, Some(expected)) => {
            row.maybe(
                "pers_expected_dob",
                export_date(expected).map(date),
                "only the year of the expected birth is known",
            );
        }
        (None, None) => {
            row.unknown("pers_dob", "no agency recorded a date of birth");
        }
    }
    row.maybe(
        "pers_common_child_id",
        child.nhs_number.as_ref().map(|(number, _)| number.clone()),
        "no agency recorded the child's NHS number",
    );
    if child.council_id {
        // The council's id is the person id; Sightline's is the secondary.
        row.set("pers_legacy_id", super::child_id(&child.person_id));
    } else {
        row.unknown(
            "pers_legacy_id",
            "the person id is Sightline's: the council's records carry no single usable id for the child (all they carry are in ssd_linked_identifiers)",
        );
    }
    let mut identifiers = Vec::new();
    if let Some((number, from)) = &child.nhs_number {
        let mut link = Row::default();
        link.set("link_table_id", format!("{}NHS", child.child_id))
            .set("link_person_id", child.child_id.clone())
            .set("link_identifier_type", "NHS Number")
            .set("link_identifier_value", number.clone())
            .set("link_valid_from_date", date(*from))
            .unknown(
                "link_valid_to_date",
                "Sightline keeps no end date of an identifier",
            );
        identifiers.push(link);
    }
    for (index, (id, from)) in child.la_person_ids.iter().enumerate() {
        let mut link = Row::default();
        link.set(
            "link_table_id",
            format!("{}CASE{}", child.child_id, index + 1),
        )
        .set("link_person_id", child.child_id.clone())
        .set("link_identifier_type", "Case Number")
        .set("link_identifier_value", id.clone())
        .set("link_valid_from_date", date(*from))
        .unknown(
            "link_valid_to_date",
            "Sightline keeps no end date of an identifier",
        );
        identifiers.push(link);
    }
    (row, identifiers)
}

/// Every row of every table for `casework`, by table name.
pub fn rows(casework: &Casework) -> BTreeMap<&'static str, Vec<Row>> {
    let mut tables: BTreeMap<&'static str, Vec<Row>> = TABLES
        .iter()
        .map(|table| (table.name, Vec::new()))
        .collect();
    let mut push = |table: &Table, row: Row| {
        if let Some(rows) = tables.get_mut(table.name) {
            rows.push(row);
        }
    };
    for child in &casework.children {
        let person_id = child.child_id.clone();
        let (person, identifiers) = person_rows(child);
        push(&PERSON, person);
        for row in identifiers {
            push(&LINKED_IDENTIFIERS, row);
        }
        for contact in &child.contacts {
            let decision = contact.decision.as_deref();
            let mut row = Row::default();
            row.set("cont_contact_id", contact.id.clone())
                .set("cont_person_id", person_id.clone())
                .set("cont_contact_date", date(contact.date))
                .maybe(
                    "cont_contact_source_code",
                    contact.source.as_ref().map(|source| source.code),
                    "the referral says neither who referred nor their agency type",
                )
                .maybe(
                    "cont_contact_source_desc",
                    contact.source.as_ref().map(|source| source.description),
                    "the referral says neither who referred nor their agency type",
                );
            let known: Vec<(&str, Value)> = match decision {
                Some(decision) => vec![
                    (
                        "NEW_REFERRAL_FLAG",
                        yn(matches!(decision, "assessment" | "strategy_discussion")),
                    ),
                    ("CP_ENQUIRY_FLAG", yn(decision == "strategy_discussion")),
                    ("NFA_FLAG", yn(decision == "nfa")),
                    ("OTHER_OUTCOMES_EXIST_FLAG", yn(decision == "early_help")),
                ],
                None => Vec::new(),
            };
            row.set(
                "cont_contact_outcome_json",
                flags(
                    &[
                        "NEW_REFERRAL_FLAG",
                        "EXISTING_REFERRAL_FLAG",
                        "CP_ENQUIRY_FLAG",
                        "NFA_FLAG",
                        "NON_AGENCY_ADOPTION_FLAG",
                        "PRIVATE_FOSTERING_FLAG",
                        "ADVICE_FLAG",
                        "MISSING_FLAG",
                        "OLA_CP_FLAG",
                        "OTHER_OUTCOMES_EXIST_FLAG",
                    ],
                    &known,
                ),
            );
            push(&CONTACTS, row);
        }
        for episode in &child.episodes {
            let mut row = Row::default();
            let source = episode
                .referral
                .as_ref()
                .and_then(|referral| referral.source.as_ref());
            let decision = episode
                .referral
                .as_ref()
                .and_then(|referral| referral.decision.as_deref());
            row.set("cine_referral_id", episode.id.clone())
                .set("cine_person_id", person_id.clone())
                .set("cine_referral_date", date(episode.referral_date))
                .unknown("cine_cin_primary_need_code", NO_NEED_CODE)
                .maybe(
                    "cine_referral_source_code",
                    source.map(|source| source.code),
                    "the referral says neither who referred nor their agency type (or the episode has no referral record)",
                )
                .maybe(
                    "cine_referral_source_desc",
                    source.map(|source| source.description),
                    "the referral says neither who referred nor their agency type (or the episode has no referral record)",
                )
                .set("cine_referral_nfa", yes_no(episode.nfa))
                .maybe("cine_close_reason", episode.close_reason, NO_CLOSE)
                .maybe("cine_close_date", episode.close_date.map(date), NO_CLOSE)
                .unknown("cine_referral_team", NO_WORKER)
                .unknown("cine_referral_worker_id", NO_WORKER);
            let known: Vec<(&str, Value)> = match decision {
                Some(decision) => vec![
                    ("SINGLE_ASSESSMENT_FLAG", yn(decision == "assessment")),
                    ("NFA_FLAG", yn(decision == "nfa")),
                    (
                        "STRATEGY_DISCUSSION_FLAG",
                        yn(decision == "strategy_discussion"),
                    ),
                    ("CP_CONFERENCE_FLAG", yn(!episode.icpcs.is_empty())),
                    ("OTHER_OUTCOMES_EXIST_FLAG", yn(decision == "early_help")),
                ],
                None => Vec::new(),
            };
            row.set(
                "cine_referral_outcome_json",
                flags(
                    &[
                        "SINGLE_ASSESSMENT_FLAG",
                        "NFA_FLAG",
                        "STRATEGY_DISCUSSION_FLAG",
                        "CLA_REQUEST_FLAG",
                        "NON_AGENCY_ADOPTION_FLAG",
                        "PRIVATE_FOSTERING_FLAG",
                        "CP_TRANSFER_IN_FLAG",
                        "CP_CONFERENCE_FLAG",
                        "CARE_LEAVER_FLAG",
                        "OTHER_OUTCOMES_EXIST_FLAG",
                    ],
                    &known,
                ),
            );
            push(&CIN_EPISODES, row);

            for assessment in &episode.assessments {
                let nfa = assessment.authorised.map(|_| {
                    episode.cin_plans.is_empty()
                        && episode.cp_plans.is_empty()
                        && episode.s47s.is_empty()
                });
                let mut row = Row::default();
                row.set("cina_assessment_id", assessment.id.clone())
                    .set("cina_person_id", person_id.clone())
                    .set("cina_referral_id", episode.id.clone())
                    .maybe(
                        "cina_assessment_start_date",
                        assessment.start.map(date),
                        "the assessment was recorded completed with no record of its start",
                    )
                    .unknown(
                        "cina_assessment_child_seen",
                        "an assessment record does not say whether the child was seen",
                    )
                    .maybe(
                        "cina_assessment_auth_date",
                        assessment.authorised.map(date),
                        "the assessment is not completed by the end of the period",
                    )
                    .maybe(
                        "cina_assessment_outcome_nfa",
                        nfa.map(yes_no),
                        "the assessment is not completed by the end of the period",
                    )
                    .unknown("cina_assessment_team", NO_WORKER)
                    .unknown("cina_assessment_worker_id", NO_WORKER);
                let mut known: Vec<(&str, Value)> = Vec::new();
                if let Some(nfa) = nfa {
                    known.push(("NFA_FLAG", yn(nfa)));
                    known.push(("PROV_OF_SERVICES_FLAG", yn(!episode.cin_plans.is_empty())));
                }
                row.set(
                    "cina_assessment_outcome_json",
                    flags(
                        &[
                            "NFA_FLAG",
                            "NFA_S47_END_FLAG",
                            "STRATEGY_DISCUSSION_FLAG",
                            "CLA_REQUEST_FLAG",
                            "PRIVATE_FOSTERING_FLAG",
                            "LEGAL_ACTION_FLAG",
                            "PROV_OF_SERVICES_FLAG",
                            "PROV_OF_SB_CARE_FLAG",
                            "SPECIALIST_ASSESSMENT_FLAG",
                            "REFERRAL_TO_OTHER_AGENCY_FLAG",
                            "OTHER_ACTIONS_FLAG",
                            "OTHER_OUTCOMES_EXIST_FLAG",
                            "TOTAL_NO_OF_OUTCOMES",
                            "COMMENTS",
                        ],
                        &known,
                    ),
                );
                push(&CIN_ASSESSMENTS, row);
            }

            for s47 in &episode.s47s {
                let to_conference = s47.icpc_date.is_some();
                let nfa = s47
                    .end
                    .map(|_| !to_conference && s47.substantiated != Some(true));
                let mut row = Row::default();
                row.set("s47e_s47_enquiry_id", s47.id.clone())
                    .set("s47e_referral_id", episode.id.clone())
                    .set("s47e_person_id", person_id.clone())
                    .set("s47e_s47_start_date", date(s47.start))
                    .maybe(
                        "s47e_s47_end_date",
                        s47.end.map(date),
                        "the enquiry is not completed by the end of the period",
                    )
                    .maybe(
                        "s47e_s47_nfa",
                        nfa.map(yes_no),
                        "the enquiry is not completed by the end of the period",
                    )
                    .unknown("s47e_s47_completed_by_worker_id", NO_WORKER)
                    .unknown("s47e_s47_completed_by_team", NO_WORKER);
                let mut known: Vec<(&str, Value)> = Vec::new();
                if let Some(nfa) = nfa {
                    known.push(("NFA_FLAG", yn(nfa)));
                    known.push(("CP_CONFERENCE_FLAG", yn(to_conference)));
                }
                row.set(
                    "s47e_s47_outcome_json",
                    flags(
                        &[
                            "NFA_FLAG",
                            "LEGAL_ACTION_FLAG",
                            "PROV_OF_SERVICES_FLAG",
                            "PROV_OF_SB_CARE_FLAG",
                            "CP_CONFERENCE_FLAG",
                            "NFA_CONTINUE_SINGLE_FLAG",
                            "MONITOR_FLAG",
                            "OTHER_OUTCOMES_EXIST_FLAG",
                            "TOTAL_NO_OF_OUTCOMES",
                            "OUTCOME_COMMENTS",
                        ],
                        &known,
                    ),
                );
                push(&S47_ENQUIRY, row);
            }

            for icpc in &episode.icpcs {
                let mut row = Row::default();
                row.set("icpc_icpc_id", icpc.id.clone())
                    .unknown(
                        "icpc_icpc_meeting_id",
                        "a conference record is one conference: no separate meeting id",
                    )
                    .maybe(
                        "icpc_s47_enquiry_id",
                        icpc.s47_id.clone(),
                        "no section 47 enquiry was recorded before the conference",
                    )
                    .set("icpc_person_id", person_id.clone())
                    .maybe(
                        "icpc_cp_plan_id",
                        icpc.cp_plan_id.clone(),
                        "no child protection plan followed the conference",
                    )
                    .set("icpc_referral_id", episode.id.clone())
                    .unknown(
                        "icpc_icpc_transfer_in",
                        "a conference record does not say whether it is a transfer in",
                    )
                    .maybe(
                        "icpc_icpc_target_date",
                        icpc.target.map(date),
                        "no section 47 enquiry was recorded before the conference",
                    )
                    .set("icpc_icpc_date", date(icpc.date))
                    .set(
                        "icpc_icpc_outcome_cp_flag",
                        yes_no(icpc.plan_started || icpc.cp_plan_id.is_some()),
                    )
                    .set(
                        "icpc_icpc_outcome_json",
                        flags(
                            &[
                                "NFA_FLAG",
                                "REFERRAL_TO_OTHER_AGENCY_FLAG",
                                "SINGLE_ASSESSMENT_FLAG",
                                "PROV_OF_SERVICES_FLAG",
                                "CP_FLAG",
                                "OTHER_OUTCOMES_EXIST_FLAG",
                                "TOTAL_NO_OF_OUTCOMES",
                                "COMMENTS",
                            ],
                            &[(
                                "CP_FLAG",
                                yn(icpc.plan_started || icpc.cp_plan_id.is_some()),
                            )],
                        ),
                    )
                    .unknown("icpc_icpc_team", NO_WORKER)
                    .unknown("icpc_icpc_worker_id", NO_WORKER);
                push(&INITIAL_CP_CONFERENCE, row);
            }

            for plan in &episode.cp_plans {
                let mut row = Row::default();
                row.set("cppl_cp_plan_id", plan.id.clone())
                    .set("cppl_referral_id", episode.id.clone())
                    .maybe(
                        "cppl_icpc_id",
                        plan.icpc_id.clone(),
                        "no initial conference was recorded before the plan",
                    )
                    .set("cppl_person_id", person_id.clone())
                    .set("cppl_cp_plan_start_date", date(plan.start))
                    .maybe(
                        "cppl_cp_plan_end_date",
                        plan.end.map(date),
                        "the plan is still open at the end of the period",
                    )
                    .maybe(
                        "cppl_cp_plan_initial_category",
                        plan.initial_category.as_deref().and_then(category_words),
                        "the plan's record gives no category of abuse",
                    )
                    .unknown(
                        "cppl_cp_plan_ola",
                        "a plan record does not say whether another authority holds it",
                    )
                    .maybe(
                        "cppl_cp_plan_latest_category",
                        plan.latest_category.as_deref().and_then(category_words),
                        "the plan's record gives no category of abuse",
                    );
                push(&CP_PLANS, row);
                for visit in &plan.visits {
                    let mut row = Row::default();
                    row.set("cppv_cp_visit_id", visit.id.clone())
                        .set("cppv_person_id", person_id.clone())
                        .set("cppv_cp_plan_id", plan.id.clone())
                        .set("cppv_cp_visit_date", date(visit.date))
                        .maybe(
                            "cppv_cp_visit_seen",
                            visit.seen.map(yes_no),
                            "the visit record does not say whether the child was seen",
                        )
                        .maybe(
                            "cppv_cp_visit_seen_alone",
                            visit.seen_alone.map(yes_no),
                            "the visit record does not say whether the child was seen alone",
                        )
                        .unknown(
                            "cppv_cp_visit_bedroom",
                            "a visit record does not say whether the bedroom was seen",
                        );
                    push(&CP_VISITS, row);
                }
            }

            for period in &episode.looked_after {
                let mut row = Row::default();
                row.set("clae_cla_episode_id", period.id.clone())
                    .set("clae_person_id", person_id.clone())
                    .set("clae_cla_episode_start_date", date(period.start))
                    // A looked-after plan starting is a period of care starting.
                    .set("clae_cla_episode_start_reason", "S")
                    .unknown("clae_cla_primary_need_code", NO_NEED_CODE)
                    .maybe(
                        "clae_cla_episode_ceased_date",
                        period.end.map(date),
                        "the child is still looked after at the end of the period",
                    )
                    .unknown(
                        "clae_cla_episode_ceased_reason",
                        "a plan's end does not say why the child ceased to be looked after",
                    )
                    .set("clae_cla_id", period.id.clone())
                    .set("clae_referral_id", episode.id.clone())
                    .unknown(
                        "clae_cla_placement_id",
                        "ssd_cla_placement is not exported (Sightline's placement types are coarser than the SSDA903 codes)",
                    )
                    .set("clae_entered_care_date", date(period.start))
                    .unknown(
                        "clae_cla_last_iro_contact_date",
                        "interchange records carry no IRO contacts",
                    );
                push(&CLA_EPISODES, row);
            }
        }
    }
    tables
}

/// Writes one CSV per table into `dir`; returns rows written by file and
/// the fields left empty.
pub fn write(casework: &Casework, dir: &Path) -> std::io::Result<(BTreeMap<String, usize>, Gaps)> {
    let tables = rows(casework);
    let mut written = BTreeMap::new();
    let mut gaps = Gaps::default();
    for table in TABLES {
        let rows = tables.get(table.name).map_or(&[][..], Vec::as_slice);
        let path = dir.join(format!("{}.csv", table.name));
        let mut writer = csv::Writer::from_path(&path)?;
        writer.write_record(table.fields)?;
        for row in rows {
            let record: Vec<&str> = table
                .fields
                .iter()
                .map(|field| row.values.get(field).map_or("", String::as_str))
                .collect();
            writer.write_record(&record)?;
            for (field, reason) in &row.empty {
                gaps.add(&format!("{}.{field}", table.name), reason);
            }
        }
        writer.flush()?;
        written.insert(format!("{}.csv", table.name), rows.len());
    }
    Ok((written, gaps))
}
