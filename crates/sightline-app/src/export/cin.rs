//! The Children in Need census XML (`CIN_schema_2024.xsd`): a `Message`
//! with the collection header and one `Child` per child with an episode open
//! in the period, each with `CINdetails` per episode. Elements are written in
//! the schema's order; optional elements Sightline cannot fill are left out
//! and counted in the report; required ones it cannot know take the code the
//! census gives for that (`NOBT` ethnicity not yet obtained, gender `0` not
//! recorded, referral source `10` unknown).

use super::{Casework, ChildCase, Gaps, export_date};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sightline_core::Sex;
use std::fmt::Write;

/// The file the export writes.
pub const FILE_NAME: &str = "cin-census.xml";

/// What the header says.
#[derive(Debug, Clone)]
pub struct Header {
    /// The DfE's three-digit code of the local authority.
    pub lea: String,
    pub release: String,
    pub generated_at: DateTime<Utc>,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

struct Xml {
    text: String,
    depth: usize,
}

impl Xml {
    fn open(&mut self, name: &str) {
        let _ = writeln!(self.text, "{}<{name}>", "  ".repeat(self.depth));
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        let _ = writeln!(self.text, "{}</{name}>", "  ".repeat(self.depth));
    }

    fn leaf(&mut self, name: &str, value: &str) {
        let _ = writeln!(
            self.text,
            "{}<{name}>{}</{name}>",
            "  ".repeat(self.depth),
            escape(value)
        );
    }

    fn date(&mut self, name: &str, value: NaiveDate) {
        self.leaf(name, &value.format("%Y-%m-%d").to_string());
    }
}

fn category_code(category: &str) -> Option<&'static str> {
    Some(match category {
        "neglect" => "NEG",
        "physical_abuse" => "PHY",
        "sexual_abuse" => "SAB",
        "emotional_abuse" => "EMO",
        "multiple" => "MUL",
        _ => return None,
    })
}

fn child(xml: &mut Xml, child: &ChildCase, gaps: &mut Gaps) {
    xml.open("Child");
    xml.open("ChildIdentifiers");
    xml.leaf("LAchildID", &child.child_id);
    gaps.add(
        "ChildIdentifiers.UPN",
        "interchange records carry no unique pupil number",
    );
    match (child.dob, child.expected_dob) {
        (Some(dob), _) => match export_date(dob) {
            Some(day) => xml.date("PersonBirthDate", day),
            None => gaps.add(
                "ChildIdentifiers.PersonBirthDate",
                "only the year of birth is known",
            ),
        },
        (None, Some(expected)) => match export_date(expected) {
            Some(day) => xml.date("ExpectedPersonBirthDate", day),
            None => gaps.add(
                "ChildIdentifiers.ExpectedPersonBirthDate",
                "only the year of the expected birth is known",
            ),
        },
        (None, None) => gaps.add(
            "ChildIdentifiers.PersonBirthDate",
            "no agency recorded a date of birth",
        ),
    }
    let gender = match child.sex {
        Some(Sex::Male) => "1",
        Some(Sex::Female) => "2",
        _ => {
            gaps.add(
                "ChildIdentifiers.GenderCurrent",
                "sex not recorded or unknown: written as 0 (not recorded)",
            );
            "0"
        }
    };
    xml.leaf("GenderCurrent", gender);
    xml.close("ChildIdentifiers");
    xml.open("ChildCharacteristics");
    xml.leaf("Ethnicity", "NOBT");
    gaps.add(
        "ChildCharacteristics.Ethnicity",
        "interchange records carry no ethnicity: written as NOBT (information not yet obtained)",
    );
    gaps.add(
        "ChildCharacteristics.Disabilities",
        "interchange records carry no disability codes",
    );
    xml.close("ChildCharacteristics");
    for episode in &child.episodes {
        xml.open("CINdetails");
        xml.date("CINreferralDate", episode.referral_date);
        let source = episode
            .referral
            .as_ref()
            .and_then(|referral| referral.source.as_ref())
            .map_or_else(
                || {
                    gaps.add(
                        "CINdetails.ReferralSource",
                        "the referral says neither who referred nor their agency type: written as 10 (unknown)",
                    );
                    "10"
                },
                |source| source.code,
            );
        xml.leaf("ReferralSource", source);
        gaps.add(
            "CINdetails.PrimaryNeedCode",
            "Sightline records no category of need (N0-N9); none is guessed",
        );
        if let (Some(closed), Some(reason)) = (episode.close_date, episode.close_reason) {
            xml.date("CINclosureDate", closed);
            xml.leaf("ReasonForClosure", reason);
        }
        if let Some(first) = episode.icpcs.iter().map(|icpc| icpc.date).min() {
            xml.date("DateOfInitialCPC", first);
        }
        for assessment in &episode.assessments {
            let Some(start) = assessment.start else {
                gaps.add(
                    "Assessments",
                    "an assessment recorded completed with no record of its start: left out (its start date is required)",
                );
                continue;
            };
            xml.open("Assessments");
            xml.date("AssessmentActualStartDate", start);
            if let Some(authorised) = assessment.authorised {
                xml.date("AssessmentAuthorisationDate", authorised);
            }
            gaps.add(
                "Assessments.FactorsIdentifiedAtAssessment",
                "interchange records carry no assessment factor codes",
            );
            xml.close("Assessments");
        }
        for plan in &episode.cin_plans {
            xml.open("CINPlanDates");
            xml.date("CINPlanStartDate", plan.start);
            if let Some(end) = plan.end {
                xml.date("CINPlanEndDate", end);
            }
            xml.close("CINPlanDates");
        }
        for s47 in &episode.s47s {
            xml.open("Section47");
            xml.date("S47ActualStartDate", s47.start);
            xml.date("InitialCPCtarget", s47.icpc_target);
            if let Some(icpc) = s47.icpc_date {
                xml.date("DateOfInitialCPC", icpc);
            }
            // Not required: the enquiry ended with no conference.
            let not_required = s47.icpc_date.is_none() && s47.end.is_some();
            xml.leaf(
                "ICPCnotRequired",
                if not_required { "true" } else { "false" },
            );
            xml.close("Section47");
        }
        xml.leaf("ReferralNFA", if episode.nfa { "true" } else { "false" });
        for plan in &episode.cp_plans {
            let categories = (
                plan.initial_category.as_deref().and_then(category_code),
                plan.latest_category.as_deref().and_then(category_code),
            );
            let (Some(initial), Some(latest)) = categories else {
                gaps.add(
                    "ChildProtectionPlans",
                    "a plan whose record gives no category of abuse: left out (the category is required)",
                );
                continue;
            };
            // The schema types NumberOfPreviousCPP as xs:positiveInteger: a
            // first plan (no previous plan) cannot be written truthfully.
            let Some(previous) = std::num::NonZeroUsize::new(plan.previous_plans) else {
                gaps.add(
                    "ChildProtectionPlans",
                    "a child's first plan: left out (CIN_schema_2024.xsd types NumberOfPreviousCPP as a positive integer, so 0 previous plans cannot be written)",
                );
                continue;
            };
            xml.open("ChildProtectionPlans");
            xml.date("CPPstartDate", plan.start);
            if let Some(end) = plan.end {
                xml.date("CPPendDate", end);
            }
            xml.leaf("InitialCategoryOfAbuse", initial);
            xml.leaf("LatestCategoryOfAbuse", latest);
            xml.leaf("NumberOfPreviousCPP", &previous.to_string());
            if !plan.reviews.is_empty() {
                xml.open("Reviews");
                for review in &plan.reviews {
                    xml.date("CPPreviewDate", *review);
                }
                xml.close("Reviews");
            }
            xml.close("ChildProtectionPlans");
        }
        xml.close("CINdetails");
    }
    xml.close("Child");
}

/// The census file for `casework` (which must hold a child: the schema
/// needs one), and the fields left out.
pub fn document(casework: &Casework, header: &Header, gaps: &mut Gaps) -> String {
    let mut xml = Xml {
        text: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        depth: 0,
    };
    xml.open("Message");
    xml.open("Header");
    xml.open("CollectionDetails");
    xml.leaf("Collection", "CIN");
    xml.leaf("Year", &format!("{:04}", casework.to.year()));
    xml.date("ReferenceDate", casework.to);
    xml.close("CollectionDetails");
    xml.open("Source");
    xml.leaf("SourceLevel", "L");
    xml.leaf("LEA", &header.lea);
    xml.leaf("SoftwareCode", "Sightline");
    xml.leaf("Release", &header.release);
    xml.leaf("SerialNo", "001");
    xml.leaf(
        "DateTime",
        &header.generated_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
    );
    xml.close("Source");
    xml.close("Header");
    xml.open("Children");
    for case in &casework.children {
        child(&mut xml, case, gaps);
    }
    xml.close("Children");
    xml.close("Message");
    xml.text
}
