//! The synthetic region's organisation file (`organisation.toml`, the format of
//! `sightline_core::org`): every agency the region's records come from, with a
//! display name taken from the towns it serves, its type and teams; the local
//! authority (Riverside Council) with its duty team and head of service; and the
//! health and police safeguarding leads. Every name is invented.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::config::SynthConfig;
use crate::model::{AgencyType, Region};

/// The local authority of the synthetic region.
pub const LOCAL_AUTHORITY_ID: &str = "riverside";
/// The synthetic local authority's Department for Education code: 999 is no
/// real authority's.
pub const DFE_CODE: &str = "999";
/// The agency holding the health safeguarding lead (it sends no records).
pub const HEALTH_SAFEGUARDING_AGENCY: &str = "icb-safeguarding";
/// Children's social care's duty team, which receives most alerts.
pub const DUTY_TEAM: &str = "duty";
/// The team of the head of children's social care.
pub const HEAD_OF_SERVICE_TEAM: &str = "head-of-service";
/// The police team that receives the police's safeguarding alerts.
pub const POLICE_PUBLIC_PROTECTION_TEAM: &str = "public-protection";

/// One agency's entry.
struct Entry {
    id: String,
    name: String,
    agency_type: &'static str,
    service: Option<&'static str>,
    teams: &'static [(&'static str, &'static str)],
    comment: Option<&'static str>,
}

/// The organisation file of the region `config` describes, as TOML text.
pub(crate) fn organisation_toml(config: &SynthConfig, region: &Region) -> String {
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut unique = |name: String| -> String {
        let mut candidate = name.clone();
        let mut n = 2;
        while used.contains(&candidate) {
            candidate = format!("{name} ({n})");
            n += 1;
        }
        used.insert(candidate.clone());
        candidate
    };
    // The town a GP practice, school or nursery serves first.
    let town_of = |agency_idx: usize| -> Option<&'static str> {
        region
            .neighbourhoods
            .iter()
            .find(|place| {
                [place.gp, place.primary, place.secondary, place.nursery].contains(&agency_idx)
            })
            .map(|place| place.town)
    };
    let n_primary = config.region.primary_schools as usize;
    let mut entries: Vec<Entry> = Vec::new();
    let mut school_number = 0usize;
    for (agency_idx, agency) in region.agencies.iter().enumerate() {
        let town = town_of(agency_idx).unwrap_or("Riverside");
        let entry = match agency.agency_type {
            AgencyType::Gp => Entry {
                id: agency.id.clone(),
                name: unique(format!("{town} Medical Practice")),
                agency_type: "health",
                service: Some("gp"),
                teams: &[],
                comment: None,
            },
            AgencyType::Ed => {
                let place = title_case(agency.id.trim_start_matches("ed-"));
                let name = if place.starts_with("St ") {
                    format!("{place} Hospital")
                } else {
                    format!("{place} General Hospital")
                };
                Entry {
                    id: agency.id.clone(),
                    name: unique(name),
                    agency_type: "health",
                    service: Some("hospital"),
                    teams: &[],
                    comment: Some(
                        "Emergency department, wards, maternity and child protection medicals.",
                    ),
                }
            }
            AgencyType::HealthVisiting => Entry {
                id: agency.id.clone(),
                name: unique("Riverside Health Visiting Service".to_owned()),
                agency_type: "health",
                service: Some("health_visiting"),
                teams: &[],
                comment: None,
            },
            AgencyType::School => {
                let name = if agency.id.starts_with("nursery-") {
                    format!("{town} Nursery")
                } else {
                    school_number += 1;
                    if school_number <= n_primary {
                        format!("{town} Primary School")
                    } else {
                        format!("{town} Academy")
                    }
                };
                Entry {
                    id: agency.id.clone(),
                    name: unique(name),
                    agency_type: "school",
                    service: None,
                    teams: &[],
                    comment: None,
                }
            }
            AgencyType::Police => Entry {
                id: agency.id.clone(),
                name: unique("Riverside Police".to_owned()),
                agency_type: "police",
                service: None,
                teams: &[
                    (POLICE_PUBLIC_PROTECTION_TEAM, "Public protection unit"),
                    ("neighbourhood", "Neighbourhood policing"),
                ],
                comment: Some("Also sends court convictions."),
            },
            AgencyType::SocialCare => Entry {
                id: agency.id.clone(),
                name: unique("Riverside Children's Social Care".to_owned()),
                agency_type: "social_care",
                service: None,
                teams: &[
                    (DUTY_TEAM, "Duty and assessment team"),
                    ("child-protection", "Child protection team"),
                    ("children-in-care", "Children in care team"),
                    (HEAD_OF_SERVICE_TEAM, "Head of service"),
                ],
                comment: None,
            },
            AgencyType::Probation => Entry {
                id: agency.id.clone(),
                name: unique("Probation Service, Riverside".to_owned()),
                agency_type: "probation",
                service: None,
                teams: &[("offender-management", "Offender management")],
                comment: Some("Also sends releases from custody."),
            },
            AgencyType::Housing => Entry {
                id: agency.id.clone(),
                name: unique("Riverside Homes".to_owned()),
                agency_type: "housing",
                service: None,
                teams: &[("tenancy", "Tenancy services")],
                comment: None,
            },
        };
        entries.push(entry);
    }
    entries.push(Entry {
        id: HEALTH_SAFEGUARDING_AGENCY.to_owned(),
        name: unique("Riverside Integrated Care Board safeguarding team".to_owned()),
        agency_type: "health",
        service: Some("safeguarding"),
        teams: &[],
        comment: Some(
            "The designated safeguarding professionals for health: it sends no records, it receives health alerts.",
        ),
    });

    let mut text = String::new();
    let _ = writeln!(
        text,
        "# The organisation of the synthetic region (every name is invented).\n\
         # Format: docs/operators.md, \"The organisation\". Check with: sightline org check FILE\n\
         name = \"Riverside safeguarding partnership (synthetic)\"\n\
         default_local_authority = \"{LOCAL_AUTHORITY_ID}\"\n\
         \n\
         [safeguarding_leads]\n\
         health = \"role:{HEALTH_SAFEGUARDING_AGENCY}/safeguarding_lead\"\n\
         police = \"team:police/{POLICE_PUBLIC_PROTECTION_TEAM}\"\n\
         \n\
         [[local_authority]]\n\
         id = \"{LOCAL_AUTHORITY_ID}\"\n\
         name = \"Riverside Council\"\n\
         # The DfE's code of a local authority (999: none real; for the exports).\n\
         dfe_code = \"{DFE_CODE}\"\n\
         duty_team = \"team:social-care/{DUTY_TEAM}\"\n\
         head_of_service = \"team:social-care/{HEAD_OF_SERVICE_TEAM}\""
    );
    for entry in &entries {
        text.push('\n');
        if let Some(comment) = entry.comment {
            let _ = writeln!(text, "# {comment}");
        }
        let _ = writeln!(text, "[[agency]]");
        let _ = writeln!(text, "id = \"{}\"", entry.id);
        let _ = writeln!(text, "name = \"{}\"", entry.name);
        let _ = writeln!(text, "type = \"{}\"", entry.agency_type);
        if let Some(service) = entry.service {
            let _ = writeln!(text, "service = \"{service}\"");
        }
        let _ = writeln!(text, "local_authority = \"{LOCAL_AUTHORITY_ID}\"");
        if !entry.teams.is_empty() {
            let _ = writeln!(text, "teams = [");
            for (id, name) in entry.teams {
                let _ = writeln!(text, "  {{ id = \"{id}\", name = \"{name}\" }},");
            }
            let _ = writeln!(text, "]");
        }
    }
    text
}

/// `st-cuthberts` as `St Cuthberts`.
fn title_case(id: &str) -> String {
    id.split('-')
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
