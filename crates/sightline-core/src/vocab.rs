//! The closed vocabularies of the interchange format (`spec/interchange.md`,
//! version 1.1: v1 and its compatible additions, marked "v1.1" here): kinds,
//! roles, relationship types, finding codes, and the typed attributes each kind's
//! `outcome` and each finding may carry. Everything here is data, so the parser, the rule checker and the
//! API documentation read one source of truth.

/// Defines a closed vocabulary as an enum with its wire spelling.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in the order the specification lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every wire spelling, in the order the specification lists them.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the exact wire spelling.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// What a record is about (the `kind` field).
    Kind {
        PersonRegistered => "person.registered",
        AddressRecorded => "address.recorded",
        RelationshipRecorded => "relationship.recorded",
        HealthEdAttendance => "health.ed_attendance",
        HealthAdmission => "health.admission",
        HealthGpConsultation => "health.gp_consultation",
        HealthHealthVisitorContact => "health.health_visitor_contact",
        HealthCpMedical => "health.cp_medical",
        HealthAppointmentMissed => "health.appointment_missed",
        HealthPregnancy => "health.pregnancy",
        HealthBirth => "health.birth",
        PoliceDomesticIncident => "police.domestic_incident",
        PoliceCallOut => "police.call_out",
        PoliceArrest => "police.arrest",
        JusticeConviction => "justice.conviction",
        JusticeRelease => "justice.release",
        EducationConcern => "education.concern",
        EducationAbsence => "education.absence",
        SocialCareReferral => "social_care.referral",
        SocialCareAssessment => "social_care.assessment",
        SocialCareStrategyDiscussion => "social_care.strategy_discussion",
        SocialCareSection47 => "social_care.section47",
        SocialCareConference => "social_care.conference",
        SocialCarePlan => "social_care.plan",
        SocialCareVisit => "social_care.visit",
        SocialCarePlacement => "social_care.placement",
        SocialCareLegalPlanning => "social_care.legal_planning",
        SocialCareCaseClosed => "social_care.case_closed",
        HousingOccupancy => "housing.occupancy",
        ProbationContact => "probation.contact",
        OtherNote => "other.note",
        // Interchange v1.1.
        PoliceMissingPerson => "police.missing_person",
        EducationExclusion => "education.exclusion",
        HousingApplication => "housing.application",
        HealthMentalHealthContact => "health.mental_health_contact",
        HealthSexualHealthContact => "health.sexual_health_contact",
        SocialCareReturnInterview => "social_care.return_interview",
    }
}

vocabulary! {
    /// A person's part in one record.
    Role {
        Subject => "subject",
        Parent => "parent",
        Carer => "carer",
        Partner => "partner",
        HouseholdMember => "household_member",
        Visitor => "visitor",
        AllegedPerpetrator => "alleged_perpetrator",
        Referrer => "referrer",
        Professional => "professional",
        Other => "other",
        // Interchange v1.1.
        Relative => "relative",
        Sibling => "sibling",
    }
}

vocabulary! {
    /// A directed relationship between two persons of one record.
    RelationshipType {
        ParentOf => "parent_of",
        StepParentOf => "step_parent_of",
        CarerOf => "carer_of",
        PartnerOf => "partner_of",
        SiblingOf => "sibling_of",
        LivesWith => "lives_with",
        Visits => "visits",
        Other => "other",
        // Interchange v1.1.
        GrandparentOf => "grandparent_of",
        RelativeOf => "relative_of",
    }
}

vocabulary! {
    /// Recorded sex.
    Sex {
        Male => "male",
        Female => "female",
        Unknown => "unknown",
    }
}

vocabulary! {
    /// A coded observation.
    FindingCode {
        Injury => "injury",
        NotIndependentlyMobile => "not_independently_mobile",
        FalteringGrowth => "faltering_growth",
        FoodSeeking => "food_seeking",
        PoorHygiene => "poor_hygiene",
        Disclosure => "disclosure",
        DomesticAbuse => "domestic_abuse",
        ParentSubstanceMisuse => "parent_substance_misuse",
        ParentMentalHealth => "parent_mental_health",
        NonEngagement => "non_engagement",
        ChildNotSeen => "child_not_seen",
        UnknownAdultPresent => "unknown_adult_present",
        Offence => "offence",
        Allegation => "allegation",
        // Interchange v1.1.
        MissingEpisode => "missing_episode",
        ExploitationIndicator => "exploitation_indicator",
        SexuallyTransmittedInfection => "sexually_transmitted_infection",
        SexualisedBehaviour => "sexualised_behaviour",
        SelfHarm => "self_harm",
        FabricatedIllnessIndicator => "fabricated_illness_indicator",
    }
}

/// The type of one attribute of an outcome or a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeType {
    /// `true` or `false`.
    Bool,
    /// One of a closed list of strings.
    Enum(&'static [&'static str]),
    /// Free text of at most this many characters.
    Text { chars_max: usize },
    /// A whole number within bounds.
    Int { min: i64, max: i64 },
    /// `YYYY-MM-DD`, `YYYY-MM` or `YYYY`.
    PartialDate,
}

impl AttributeType {
    /// Plain words for the expected value, for error messages and documentation.
    pub fn describe(self) -> String {
        match self {
            AttributeType::Bool => "true or false".to_owned(),
            AttributeType::Enum(values) => format!("one of {}", quoted_list(values)),
            AttributeType::Text { chars_max } => format!("text of at most {chars_max} characters"),
            AttributeType::Int { min, max } => format!("a whole number from {min} to {max}"),
            AttributeType::PartialDate => "a date YYYY-MM-DD, YYYY-MM or YYYY".to_owned(),
        }
    }
}

/// `"a", "b", "c"`: a list of values as the error messages show them.
pub fn quoted_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|value| format!("\"{value}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One named attribute and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeSpec {
    pub name: &'static str,
    pub ty: AttributeType,
}

/// An attribute spec as a constant expression (so tables of them are `'static`).
macro_rules! attr {
    ($name:expr, $ty:expr $(,)?) => {
        AttributeSpec {
            name: $name,
            ty: $ty,
        }
    };
}

/// Offence categories (the `offence` finding; also recognised in outcomes).
pub const OFFENCE_CATEGORIES: &[&str] = &[
    "violence",
    "sexual_offence",
    "sexual_offence_against_child",
    "cruelty_to_child",
    "drugs",
    "other",
];
const INJURY_TYPES: &[&str] = &[
    "bruise",
    "burn",
    "fracture",
    "head_injury",
    "bite",
    "laceration",
    "petechiae",
    "other",
];
const INJURY_SITES: &[&str] = &[
    "face", "ear", "neck", "head", "torso", "back", "buttocks", "arm", "hand", "leg", "genitals",
    "mouth", "multiple", "other", // v1.1:
    "soles", "anus",
];
/// v1.1: the shape of an injury, which NICE CG89 names as suggesting abuse.
const INJURY_PATTERNS: &[&str] = &[
    "grip",
    "hand",
    "ligature",
    "implement",
    "bite",
    "cluster",
    "glove_or_stocking",
    "cigarette",
    "other",
];
/// Where a child went missing from (v1.1: `police.missing_person`, `missing_episode`).
const MISSING_FROM: &[&str] = &["home", "care", "school", "other"];
/// v1.1: the indicators of exploitation (Working Together 2023, chapter 3; the
/// Home Office's criminal exploitation guidance).
pub const EXPLOITATION_INDICATORS: &[&str] = &[
    "older_associates",
    "found_far_from_home",
    "unexplained_money",
    "unexplained_gifts_or_phones",
    "drugs_or_weapons",
    "gang_association",
    "online_contact_with_adult",
    "sexual_activity_with_adult",
    "transported_by_adults",
];
/// v1.1: the signs of fabricated or induced illness (RCPCH 2021; NICE CG89 1.2.8).
pub const FABRICATED_ILLNESS_INDICATORS: &[&str] = &[
    "symptoms_seen_only_by_carer",
    "repeated_presentations_no_cause",
    "many_professionals",
    "unnecessary_treatment_sought",
    "unexplained_test_results",
    "history_inconsistent",
];
const EXPLANATIONS: &[&str] = &["consistent", "inconsistent", "none", "unknown"];
const STARTED_COMPLETED: &[&str] = &["started", "completed"];
const START_END: &[&str] = &["start", "end"];
const SHORT_TEXT: AttributeType = AttributeType::Text { chars_max: 200 };
const LONG_TEXT: AttributeType = AttributeType::Text { chars_max: 2_000 };

/// The attributes a finding with this code may carry besides `code` and `subjects`.
pub fn finding_attributes(code: FindingCode) -> &'static [AttributeSpec] {
    use AttributeType::{Bool, Enum, Int};
    match code {
        FindingCode::Injury => &[
            attr!("type", Enum(INJURY_TYPES)),
            attr!("site", Enum(INJURY_SITES)),
            attr!("count", Int { min: 1, max: 1_000 }),
            attr!("explanation", Enum(EXPLANATIONS)),
            // v1.1:
            attr!("pattern", Enum(INJURY_PATTERNS)),
            attr!("delayed_presentation", Bool),
        ],
        FindingCode::DomesticAbuse => &[attr!("risk", Enum(&["standard", "medium", "high"]))],
        FindingCode::Offence => &[attr!("category", Enum(OFFENCE_CATEGORIES))],
        FindingCode::Allegation => &[
            attr!(
                "category",
                Enum(&[
                    "physical_abuse",
                    "sexual_abuse",
                    "neglect",
                    "emotional_abuse",
                    // v1.1:
                    "exploitation",
                ]),
            ),
            attr!(
                "by",
                Enum(&["child", "family", "public", "professional", "anonymous"]),
            ),
        ],
        FindingCode::Disclosure => &[attr!(
            "category",
            Enum(&[
                "physical_abuse",
                "sexual_abuse",
                "neglect",
                "emotional_abuse",
                "domestic_abuse",
                "exploitation",
            ]),
        )],
        FindingCode::MissingEpisode => &[
            attr!("from", Enum(MISSING_FROM)),
            attr!(
                "hours",
                Int {
                    min: 0,
                    max: 10_000
                }
            ),
        ],
        FindingCode::ExploitationIndicator => &[
            attr!("type", Enum(EXPLOITATION_INDICATORS)),
            attr!("category", Enum(&["criminal", "sexual", "unknown"])),
        ],
        FindingCode::FabricatedIllnessIndicator => {
            &[attr!("type", Enum(FABRICATED_ILLNESS_INDICATORS))]
        }
        FindingCode::NotIndependentlyMobile
        | FindingCode::FalteringGrowth
        | FindingCode::FoodSeeking
        | FindingCode::PoorHygiene
        | FindingCode::SexuallyTransmittedInfection
        | FindingCode::SexualisedBehaviour
        | FindingCode::SelfHarm
        | FindingCode::ParentSubstanceMisuse
        | FindingCode::ParentMentalHealth
        | FindingCode::NonEngagement
        | FindingCode::ChildNotSeen
        | FindingCode::UnknownAdultPresent => &[],
    }
}

/// The fields the `outcome` object of a record of this kind may carry.
pub fn outcome_attributes(kind: Kind) -> &'static [AttributeSpec] {
    use AttributeType::{Bool, Enum, PartialDate};
    match kind {
        Kind::HealthEdAttendance => &[attr!("admitted", Bool)],
        Kind::HealthHealthVisitorContact => &[attr!("child_seen", Bool)],
        Kind::HealthCpMedical => &[attr!(
            "conclusion",
            Enum(&["non_accidental_likely", "inconclusive", "accidental_likely"]),
        )],
        Kind::HealthPregnancy => &[attr!("expected_date", PartialDate)],
        Kind::PoliceArrest => &[attr!("offence_category", SHORT_TEXT)],
        Kind::JusticeConviction | Kind::JusticeRelease => &[
            attr!("offence_category", SHORT_TEXT),
            attr!("victim_was_child", Bool),
        ],
        Kind::SocialCareReferral => &[
            attr!("referrer_agency", SHORT_TEXT),
            attr!(
                "decision",
                Enum(&["nfa", "assessment", "strategy_discussion", "early_help"]),
            ),
            // v1.1:
            attr!(
                "referrer_type",
                Enum(&["family", "public", "professional", "anonymous", "child"]),
            ),
        ],
        // v1.1:
        Kind::EducationAbsence => &[attr!(
            "reason",
            Enum(&[
                "persistent_absence",
                "child_missing_education",
                "elective_home_education",
                "part_time_timetable",
            ]),
        )],
        Kind::PoliceMissingPerson => &[
            attr!("missing_from", Enum(MISSING_FROM)),
            attr!("found", Bool),
            attr!("found_far_from_home", Bool),
        ],
        Kind::EducationExclusion => &[attr!("type", Enum(&["suspension", "permanent"]))],
        Kind::HousingApplication => &[attr!(
            "reason",
            Enum(&[
                "overcrowding",
                "domestic_abuse",
                "risk_of_harm",
                "eviction",
                "other",
            ]),
        )],
        Kind::SocialCareReturnInterview => &[attr!("completed", Bool)],
        Kind::SocialCareAssessment => &[
            attr!("status", Enum(STARTED_COMPLETED)),
            attr!("outcome", LONG_TEXT),
        ],
        Kind::SocialCareStrategyDiscussion => &[attr!("section47", Bool)],
        Kind::SocialCareSection47 => &[
            attr!("status", Enum(STARTED_COMPLETED)),
            attr!("substantiated", Bool),
        ],
        Kind::SocialCareConference => &[
            attr!("type", Enum(&["initial", "review"])),
            attr!("plan", Enum(&["start", "continue", "end"])),
        ],
        Kind::SocialCarePlan => &[
            attr!(
                "plan",
                Enum(&["child_in_need", "child_protection", "looked_after"]),
            ),
            attr!("status", Enum(START_END)),
            attr!(
                "category",
                Enum(&[
                    "neglect",
                    "physical_abuse",
                    "sexual_abuse",
                    "emotional_abuse",
                    "multiple",
                ]),
            ),
        ],
        Kind::SocialCareVisit => &[attr!("child_seen", Bool), attr!("seen_alone", Bool)],
        Kind::SocialCarePlacement => &[
            attr!("status", Enum(START_END)),
            attr!(
                "placement_type",
                Enum(&[
                    "parent",
                    "relative",
                    "family_friend",
                    "foster_care",
                    "residential",
                ]),
            ),
        ],
        Kind::SocialCareLegalPlanning => &[
            attr!("threshold_met", Bool),
            attr!("proceedings_started", Bool),
        ],
        Kind::PersonRegistered
        | Kind::AddressRecorded
        | Kind::RelationshipRecorded
        | Kind::HealthAdmission
        | Kind::HealthGpConsultation
        | Kind::HealthAppointmentMissed
        | Kind::HealthBirth
        | Kind::PoliceDomesticIncident
        | Kind::PoliceCallOut
        | Kind::EducationConcern
        | Kind::SocialCareCaseClosed
        | Kind::HealthMentalHealthContact
        | Kind::HealthSexualHealthContact
        | Kind::HousingOccupancy
        | Kind::ProbationContact
        | Kind::OtherNote => &[],
    }
}

/// The closest candidate to a near-miss spelling, if one is close enough to suggest.
///
/// A candidate that alone shares the most words (split on `.` and `_`) wins, so
/// `health.ed_visit` suggests `health.ed_attendance`. Otherwise the most similar
/// spelling (Jaro-Winkler, with Damerau-Levenshtein catching one or two typos in
/// short words) when it is close; an ambiguous input suggests nothing rather than
/// a guess (`likely` names two conclusions of opposite meaning).
pub fn did_you_mean<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let input_lower = input.to_lowercase();
    let words = |text: &str| -> Vec<String> {
        text.split(['.', '_', '-', ' '])
            .filter(|word| word.len() >= 2)
            .map(str::to_owned)
            .collect()
    };
    let input_words = words(&input_lower);
    let n_shared_of = |candidate: &str| {
        let candidate_words = words(candidate);
        input_words
            .iter()
            .filter(|word| candidate_words.contains(word))
            .count()
    };
    let n_shared: Vec<usize> = candidates
        .iter()
        .map(|candidate| n_shared_of(candidate))
        .collect();
    let n_shared_max = n_shared.iter().copied().max().unwrap_or(0);
    let mut with_max = candidates
        .iter()
        .zip(&n_shared)
        .filter(|(_, n)| **n == n_shared_max);
    if let (Some((only, _)), None) = (with_max.next(), with_max.next())
        && n_shared_max > 0
    {
        return Some(only);
    }
    let mut best: Option<(&'a str, f64)> = None;
    for &candidate in candidates {
        let similarity = strsim::jaro_winkler(&input_lower, candidate);
        let edits = strsim::damerau_levenshtein(&input_lower, candidate);
        // Jaro-Winkler alone rates a word inside a longer one as close
        // (`mother_of` and `other`): it must also agree on the first letter, or
        // a misspelling would be steered to a different meaning.
        let same_start = input_lower.chars().next() == candidate.chars().next();
        let close = (similarity >= 0.84 && same_start) || edits <= 2.max(candidate.len() / 4);
        if close && best.is_none_or(|(_, best_similarity)| similarity > best_similarity) {
            best = Some((candidate, similarity));
        }
    }
    best.map(|(candidate, _)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vocabulary_round_trips() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(*kind));
        }
        for code in FindingCode::ALL {
            assert_eq!(FindingCode::parse(code.as_str()), Some(*code));
        }
        assert_eq!(Kind::ALL.len(), 37);
        assert_eq!(FindingCode::ALL.len(), 20);
    }

    fn check_suggestion(input: &str, candidates: &[&str], expected: Option<&str>) {
        assert_eq!(did_you_mean(input, candidates), expected, "input {input:?}");
    }

    #[test]
    fn suggestions_for_near_misses() {
        check_suggestion("health.ed_visit", Kind::NAMES, Some("health.ed_attendance"));
        check_suggestion(
            "police.domestic",
            Kind::NAMES,
            Some("police.domestic_incident"),
        );
        check_suggestion("injurry", FindingCode::NAMES, Some("injury"));
        check_suggestion("dbo", &["dob", "sex", "ref"], Some("dob"));
        check_suggestion(
            "occured_at",
            &["occurred_at", "recorded_at"],
            Some("occurred_at"),
        );
        check_suggestion("zzzzzz", FindingCode::NAMES, None);
        check_suggestion("mother_of", RelationshipType::NAMES, None);
        check_suggestion("othr", RelationshipType::NAMES, Some("other"));
        check_suggestion("parentof", RelationshipType::NAMES, Some("parent_of"));
        check_suggestion("banana", Kind::NAMES, None);
        check_suggestion("nhs", &["nhs_number", "dob"], Some("nhs_number"));
        check_suggestion(
            "likely",
            &["non_accidental_likely", "inconclusive", "accidental_likely"],
            None,
        );
    }
}
