//! Display names for the codes of the interchange vocabularies ([`crate::vocab`]):
//! record kinds, person roles, relationship types, sexes, finding codes, the
//! attributes of outcomes and findings, and their enumerated values.
//!
//! One table, read by the web pages, the CLI and exports, so a code reads the
//! same everywhere a person reads it. Labels are in sentence case ("Emergency
//! department attendance"); [`in_sentence`] lowers the first letter for use
//! inside a sentence, leaving initialisms ("GP consultation") alone.
//!
//! Every code has a label: the matches below are exhaustive (a new code does not
//! compile without one), and a test walks every attribute and enumerated value of
//! every kind and finding.

use crate::record::AttributeValue;
use crate::vocab::{FindingCode, Kind, RelationshipType, Role, Sex};

impl Kind {
    /// A record of this kind inside a sentence, with its article: "an
    /// emergency department attendance", "a GP consultation".
    pub fn noun_phrase(self) -> String {
        with_article(&in_sentence(self.label()))
    }

    /// What a person calls a record of this kind (a count noun, so it also
    /// reads in a sentence: [`Kind::noun_phrase`]).
    pub fn label(self) -> &'static str {
        match self {
            Kind::PersonRegistered => "Registration",
            Kind::AddressRecorded => "Address record",
            Kind::RelationshipRecorded => "Relationship record",
            Kind::HealthEdAttendance => "Emergency department attendance",
            Kind::HealthAdmission => "Hospital admission",
            Kind::HealthGpConsultation => "GP consultation",
            Kind::HealthHealthVisitorContact => "Health visitor contact",
            Kind::HealthCpMedical => "Child protection medical",
            Kind::HealthAppointmentMissed => "Missed health appointment",
            Kind::HealthPregnancy => "Pregnancy",
            Kind::HealthBirth => "Birth",
            Kind::PoliceDomesticIncident => "Domestic abuse incident",
            Kind::PoliceCallOut => "Police call-out",
            Kind::PoliceArrest => "Arrest",
            Kind::JusticeConviction => "Conviction",
            Kind::JusticeRelease => "Release from custody",
            Kind::EducationConcern => "School concern",
            Kind::EducationAbsence => "School absence",
            Kind::SocialCareReferral => "Referral to children's social care",
            Kind::SocialCareAssessment => "Assessment",
            Kind::SocialCareStrategyDiscussion => "Strategy discussion",
            Kind::SocialCareSection47 => "Section 47 enquiry",
            Kind::SocialCareConference => "Child protection conference",
            Kind::SocialCarePlan => "Plan",
            Kind::SocialCareVisit => "Social work visit",
            Kind::SocialCarePlacement => "Placement",
            Kind::SocialCareLegalPlanning => "Legal planning meeting",
            Kind::SocialCareCaseClosed => "Case closure",
            Kind::HousingOccupancy => "Housing occupancy record",
            Kind::ProbationContact => "Probation contact",
            Kind::OtherNote => "Note",
            // Interchange v1.1.
            Kind::PoliceMissingPerson => "Missing person report",
            Kind::EducationExclusion => "School exclusion",
            Kind::HousingApplication => "Housing application",
            Kind::HealthMentalHealthContact => "Mental health contact",
            Kind::HealthSexualHealthContact => "Sexual health contact",
            Kind::SocialCareReturnInterview => "Return home interview",
        }
    }
}

impl Role {
    /// A person's part in a record.
    pub fn label(self) -> &'static str {
        match self {
            Role::Subject => "Subject",
            Role::Parent => "Parent",
            Role::Carer => "Carer",
            Role::Partner => "Partner",
            Role::HouseholdMember => "Household member",
            Role::Visitor => "Visitor",
            Role::AllegedPerpetrator => "Alleged perpetrator",
            Role::Referrer => "Referrer",
            Role::Professional => "Professional",
            Role::Other => "Other",
            Role::Relative => "Relative",
            Role::Sibling => "Brother or sister",
        }
    }
}

impl RelationshipType {
    /// The relationship from its first person to its second: "Parent of".
    pub fn label(self) -> &'static str {
        match self {
            RelationshipType::ParentOf => "Parent of",
            RelationshipType::StepParentOf => "Step-parent of",
            RelationshipType::CarerOf => "Carer of",
            RelationshipType::PartnerOf => "Partner of",
            RelationshipType::SiblingOf => "Sibling of",
            RelationshipType::LivesWith => "Lives with",
            RelationshipType::Visits => "Visits",
            RelationshipType::Other => "Other relationship to",
            RelationshipType::GrandparentOf => "Grandparent of",
            RelationshipType::RelativeOf => "Relative of",
        }
    }
}

impl Sex {
    /// Recorded sex.
    pub fn label(self) -> &'static str {
        match self {
            Sex::Male => "Male",
            Sex::Female => "Female",
            Sex::Unknown => "Not known",
        }
    }
}

impl FindingCode {
    /// What a person calls the observation.
    pub fn label(self) -> &'static str {
        match self {
            FindingCode::Injury => "Injury",
            FindingCode::NotIndependentlyMobile => "Not independently mobile",
            FindingCode::FalteringGrowth => "Faltering growth",
            FindingCode::FoodSeeking => "Food seeking",
            FindingCode::PoorHygiene => "Poor hygiene",
            FindingCode::Disclosure => "Disclosure",
            FindingCode::DomesticAbuse => "Domestic abuse",
            FindingCode::ParentSubstanceMisuse => "Parental substance misuse",
            FindingCode::ParentMentalHealth => "Parental mental health difficulties",
            FindingCode::NonEngagement => "Not engaging with services",
            FindingCode::ChildNotSeen => "Child not seen",
            FindingCode::UnknownAdultPresent => "Unknown adult present",
            FindingCode::Offence => "Offence",
            FindingCode::Allegation => "Allegation",
            // Interchange v1.1.
            FindingCode::MissingEpisode => "Missing episode",
            FindingCode::ExploitationIndicator => "Sign of exploitation",
            FindingCode::SexuallyTransmittedInfection => "Sexually transmitted infection",
            FindingCode::SexualisedBehaviour => "Sexualised behaviour",
            FindingCode::SelfHarm => "Self-harm",
            FindingCode::FabricatedIllnessIndicator => "Sign of fabricated or induced illness",
        }
    }
}

/// The name of an attribute of an outcome or a finding ("explanation" reads
/// "Explanation given"); `None` for a name no schema uses.
pub fn attribute_label(name: &str) -> Option<&'static str> {
    Some(match name {
        "type" => "Type",
        "site" => "Where on the body",
        "count" => "How many",
        "explanation" => "Explanation given",
        "risk" => "Risk level",
        "category" => "Category",
        "by" => "Made by",
        "admitted" => "Admitted",
        "child_seen" => "Child seen",
        "seen_alone" => "Child seen alone",
        "conclusion" => "Conclusion",
        "expected_date" => "Expected date of birth",
        "offence_category" => "Offence",
        "victim_was_child" => "Victim was a child",
        "referrer_agency" => "Referred by",
        "referrer_type" => "Referrer",
        "decision" => "Decision",
        "status" => "Status",
        "outcome" => "Outcome",
        "section47" => "Section 47 enquiry",
        "substantiated" => "Concerns substantiated",
        "plan" => "Plan",
        "placement_type" => "Placement",
        "threshold_met" => "Threshold for proceedings met",
        "proceedings_started" => "Proceedings started",
        // Interchange v1.1.
        "missing_from" => "Missing from",
        "found" => "Found",
        "found_far_from_home" => "Found far from home",
        "reason" => "Reason",
        "completed" => "Completed",
        "from" => "Missing from",
        "hours" => "Hours missing",
        "pattern" => "Pattern",
        "delayed_presentation" => "Delay in seeking help",
        _ => return None,
    })
}

/// The display name of an enumerated value of `attribute` ("nfa" reads "No
/// further action"); `None` for a value no schema lists.
pub fn value_label(attribute: &str, value: &str) -> Option<&'static str> {
    // Values whose meaning depends on the attribute.
    let specific = match (attribute, value) {
        ("plan", "start") => Some("Start a plan"),
        ("plan", "continue") => Some("Continue the plan"),
        ("plan", "end") => Some("End the plan"),
        ("status", "start") => Some("Started"),
        ("status", "end") => Some("Ended"),
        ("by", "family") | ("referrer_type", "family") => Some("Family member"),
        ("by", "public") | ("referrer_type", "public") => Some("Member of the public"),
        ("by", "professional") | ("referrer_type", "professional") => Some("Professional"),
        ("by", "anonymous") | ("referrer_type", "anonymous") => Some("Anonymous"),
        ("by", "child") | ("referrer_type", "child") => Some("The child"),
        ("placement_type", "parent") => Some("With a parent"),
        ("placement_type", "relative") => Some("With a relative"),
        ("placement_type", "family_friend") => Some("With a family friend"),
        ("type", "initial") => Some("Initial"),
        ("type", "review") => Some("Review"),
        ("site", "hand") => Some("Hand"),
        ("site", "head") => Some("Head"),
        ("pattern", "hand") => Some("Hand-shaped"),
        ("pattern", "bite") | ("type", "bite") => Some("Bite"),
        _ => None,
    };
    specific.or_else(|| {
        Some(match value {
            // Injuries.
            "bruise" => "Bruise",
            "burn" => "Burn",
            "fracture" => "Fracture",
            "head_injury" => "Head injury",
            "laceration" => "Cut",
            "petechiae" => "Petechiae (pinpoint bleeding)",
            "face" => "Face",
            "ear" => "Ear",
            "neck" => "Neck",
            "torso" => "Chest or abdomen",
            "back" => "Back",
            "buttocks" => "Buttocks",
            "arm" => "Arm",
            "leg" => "Leg",
            "genitals" => "Genitals",
            "mouth" => "Mouth",
            "multiple" => "More than one",
            "consistent" => "Consistent with the injury",
            "inconsistent" => "Inconsistent with the injury",
            "none" => "None given",
            "unknown" => "Not known",
            // Domestic abuse risk.
            "standard" => "Standard",
            "medium" => "Medium",
            "high" => "High",
            // Offences.
            "violence" => "Violence",
            "sexual_offence" => "Sexual offence",
            "sexual_offence_against_child" => "Sexual offence against a child",
            "cruelty_to_child" => "Cruelty to a child",
            "drugs" => "Drugs",
            // Abuse categories (allegations, plans).
            "physical_abuse" => "Physical abuse",
            "sexual_abuse" => "Sexual abuse",
            "neglect" => "Neglect",
            "emotional_abuse" => "Emotional abuse",
            "domestic_abuse" => "Domestic abuse",
            "exploitation" => "Exploitation",
            // Medicals.
            "non_accidental_likely" => "Non-accidental injury likely",
            "inconclusive" => "Inconclusive",
            "accidental_likely" => "Accidental injury likely",
            // Referrals.
            "nfa" => "No further action",
            "assessment" => "Assessment",
            "strategy_discussion" => "Strategy discussion",
            "early_help" => "Early help",
            // Assessments, enquiries.
            "started" => "Started",
            "completed" => "Completed",
            // Plans.
            "child_in_need" => "Child in need",
            "child_protection" => "Child protection",
            "looked_after" => "Looked after",
            // Placements.
            "foster_care" => "Foster care",
            "residential" => "Residential care",
            "other" => "Other",
            // Interchange v1.1: missing episodes.
            "home" => "Home",
            "care" => "Care",
            "school" => "School",
            // Exclusions.
            "suspension" => "Suspension",
            "permanent" => "Permanent exclusion",
            // Housing applications.
            "overcrowding" => "Overcrowding",
            "risk_of_harm" => "Risk of harm",
            "eviction" => "Eviction",
            // Absence.
            "persistent_absence" => "Persistent absence",
            "child_missing_education" => "Child missing education",
            "elective_home_education" => "Elective home education",
            "part_time_timetable" => "Part-time timetable",
            // Exploitation indicators.
            "older_associates" => "Older associates",
            "found_far_from_home" => "Found far from home",
            "unexplained_money" => "Unexplained money",
            "unexplained_gifts_or_phones" => "Unexplained gifts or phones",
            "drugs_or_weapons" => "Drugs or weapons",
            "gang_association" => "Gang association",
            "online_contact_with_adult" => "Online contact with an adult",
            "sexual_activity_with_adult" => "Sexual activity with an adult",
            "transported_by_adults" => "Transported by adults",
            "criminal" => "Criminal",
            "sexual" => "Sexual",
            // Injury patterns and sites.
            "grip" => "Grip marks",
            "ligature" => "Ligature marks",
            "implement" => "Implement marks",
            "cluster" => "Cluster",
            "glove_or_stocking" => "Glove or stocking distribution",
            "cigarette" => "Cigarette burn",
            "soles" => "Soles of the feet",
            "anus" => "Anus",
            // Fabricated or induced illness indicators.
            "symptoms_seen_only_by_carer" => "Symptoms seen only by the carer",
            "repeated_presentations_no_cause" => "Repeated presentations with no cause found",
            "many_professionals" => "Many professionals consulted",
            "unnecessary_treatment_sought" => "Unnecessary treatment sought",
            "unexplained_test_results" => "Unexplained test results",
            "history_inconsistent" => "Inconsistent history",
            _ => return None,
        })
    })
}

/// An attribute's value in words: "Yes", "No", an enumerated value's label,
/// text as written, a number, a date.
pub fn value_words(attribute: &str, value: &AttributeValue) -> String {
    match value {
        AttributeValue::Bool(true) => "Yes".to_owned(),
        AttributeValue::Bool(false) => "No".to_owned(),
        AttributeValue::Enum(code) => {
            value_label(attribute, code).map_or_else(|| humanise(code), str::to_owned)
        }
        AttributeValue::Text(text) => text.clone(),
        AttributeValue::Int(number) => number.to_string(),
        AttributeValue::Date(date) => crate::dates::partial_date(*date),
    }
}

/// A code Sightline has no label for, made readable: `child_in_need` reads
/// "Child in need". For codes from outside the vocabularies (an agency's own
/// outcome text); every vocabulary code has a proper label.
pub fn humanise(code: &str) -> String {
    let spaced: String = code
        .chars()
        .map(|c| if c == '_' || c == '.' { ' ' } else { c })
        .collect();
    let mut chars = spaced.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A label for use inside a sentence: the first letter lowered unless the
/// first word is an initialism ("Emergency department attendance" reads
/// "emergency department attendance"; "GP consultation" stays).
pub fn in_sentence(label: &str) -> String {
    let mut chars = label.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => {
            first.to_lowercase().chain(label.chars().skip(1)).collect()
        }
        _ => label.to_owned(),
    }
}

/// A linkage field (a detail two records are compared on) by its display name:
/// `given_names` reads "Given names".
pub fn linkage_field_label(field: &str) -> String {
    match field {
        "nhs_number" => "NHS number".to_owned(),
        "dob" => "Date of birth".to_owned(),
        "postcode" => "Postcode".to_owned(),
        "prior" => "Before comparing".to_owned(),
        other => humanise(other),
    }
}

/// "a" or "an" before `phrase`, by its first letter ("an emergency", "a GP").
pub fn with_article(phrase: &str) -> String {
    let article = match phrase.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'A' | 'E' | 'I' | 'O') => "an",
        _ => "a",
    };
    format!("{article} {phrase}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{AttributeType, finding_attributes, outcome_attributes};

    fn check_label(code: &str, label: &str) {
        assert!(!label.is_empty(), "{code} has an empty label");
        assert!(
            !label.contains('_') && label != code,
            "{code}'s label {label:?} reads as a code"
        );
        assert!(
            label.chars().next().is_some_and(char::is_uppercase),
            "{code}'s label {label:?} is not in sentence case"
        );
    }

    fn check_attributes(owner: &str, specs: &[crate::vocab::AttributeSpec]) {
        for spec in specs {
            let label = attribute_label(spec.name)
                .unwrap_or_else(|| panic!("{owner}: attribute {} has no label", spec.name));
            check_label(spec.name, label);
            if let AttributeType::Enum(values) = spec.ty {
                for value in values {
                    let label = value_label(spec.name, value).unwrap_or_else(|| {
                        panic!("{owner}: {} value {value} has no label", spec.name)
                    });
                    check_label(value, label);
                }
            }
        }
    }

    #[test]
    fn every_code_of_every_vocabulary_has_a_label() {
        for kind in Kind::ALL {
            check_label(kind.as_str(), kind.label());
            check_attributes(kind.as_str(), outcome_attributes(*kind));
        }
        for code in FindingCode::ALL {
            check_label(code.as_str(), code.label());
            check_attributes(code.as_str(), finding_attributes(*code));
        }
        for role in Role::ALL {
            check_label(role.as_str(), role.label());
        }
        for relationship in RelationshipType::ALL {
            check_label(relationship.as_str(), relationship.label());
        }
        for sex in Sex::ALL {
            check_label(sex.as_str(), sex.label());
        }
    }

    #[test]
    fn labels_are_distinct_within_a_vocabulary() {
        let kinds: std::collections::HashSet<_> = Kind::ALL.iter().map(|k| k.label()).collect();
        assert_eq!(kinds.len(), Kind::ALL.len());
        let codes: std::collections::HashSet<_> =
            FindingCode::ALL.iter().map(|c| c.label()).collect();
        assert_eq!(codes.len(), FindingCode::ALL.len());
    }

    #[test]
    fn values_in_words() {
        assert_eq!(Kind::PoliceCallOut.label(), "Police call-out");
        assert_eq!(
            Kind::HealthEdAttendance.label(),
            "Emergency department attendance"
        );
        assert_eq!(value_label("decision", "nfa"), Some("No further action"));
        assert_eq!(value_label("plan", "start"), Some("Start a plan"));
        assert_eq!(value_label("plan", "child_in_need"), Some("Child in need"));
        assert_eq!(value_label("status", "start"), Some("Started"));
        assert_eq!(value_label("type", "no_such_value"), None);
        assert_eq!(value_words("admitted", &AttributeValue::Bool(true)), "Yes");
        assert_eq!(
            value_words("plan", &AttributeValue::Enum("looked_after")),
            "Looked after"
        );
        assert_eq!(
            Kind::HealthEdAttendance.noun_phrase(),
            "an emergency department attendance"
        );
        assert_eq!(
            Kind::HealthGpConsultation.noun_phrase(),
            "a GP consultation"
        );
        assert_eq!(humanise("some_new_code"), "Some new code");
        assert_eq!(
            in_sentence("Emergency department attendance"),
            "emergency department attendance"
        );
        assert_eq!(in_sentence("GP consultation"), "GP consultation");
    }
}
