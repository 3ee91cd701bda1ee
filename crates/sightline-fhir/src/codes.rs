//! The code systems, extensions and codes the mapping reads: UK Core's, HL7's,
//! a few SNOMED CT concepts, and Sightline's own (which carry interchange codes
//! unchanged). `docs/integrators.md` ("FHIR R4") prints these tables.

/// The NHS number's identifier system (UK Core).
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// UK Core's extension on the NHS number identifier.
pub const NHS_NUMBER_VERIFICATION_EXTENSION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
/// Its code system (England); `01` is "Number present and verified".
pub const NHS_NUMBER_VERIFICATION_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";
pub const NHS_NUMBER_VERIFIED: &str = "01";

pub const SNOMED: &str = "http://snomed.info/sct";
pub const V3_ROLE_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
pub const CONDITION_VERIFICATION: &str =
    "http://terminology.hl7.org/CodeSystem/condition-ver-status";

/// Sightline's code system of interchange kinds (`health.gp_consultation`), for
/// `Encounter.type` when no other coding says what the encounter was.
pub const SIGHTLINE_KIND: &str = "urn:sightline:interchange:kind";
/// Sightline's code system of interchange finding codes (`injury`,
/// `faltering_growth`, `disclosure`...), for `Condition.code` and
/// `Observation.code`.
pub const SIGHTLINE_FINDING: &str = "urn:sightline:interchange:finding";
/// Sightline's complex extension carrying a finding's attributes (one
/// sub-extension per attribute, its `url` the attribute's name:
/// `explanation`, `pattern`, `count`, `delayed_presentation`...).
pub const SIGHTLINE_FINDING_ATTRIBUTES: &str = "urn:sightline:interchange:finding-attributes";
/// Sightline's code system of plans (`child_protection`, `looked_after`,
/// `child_in_need`), for `Flag.code`.
pub const SIGHTLINE_PLAN: &str = "urn:sightline:interchange:plan";

/// SNOMED CT concepts of `Encounter.type` and the interchange kind each means.
pub const SNOMED_ENCOUNTER_TYPES: &[(&str, &str, &str)] = &[
    (
        "4525004",
        "Emergency department patient visit",
        "health.ed_attendance",
    ),
    ("32485007", "Hospital admission", "health.admission"),
    ("281399006", "Did not attend", "health.appointment_missed"),
];

/// `Encounter.class` (HL7 v3 ActCode) and the kind each means.
pub const ENCOUNTER_CLASSES: &[(&str, &str, &str)] = &[
    ("EMER", "emergency", "health.ed_attendance"),
    ("IMP", "inpatient encounter", "health.admission"),
    ("ACUTE", "inpatient acute", "health.admission"),
    ("NONAC", "inpatient non-acute", "health.admission"),
];

/// The classes whose kind comes from the sending agency's service (ambulatory,
/// home health, virtual, field).
pub const SERVICE_CLASSES: &[&str] = &["AMB", "HH", "VR", "FLD"];

/// SNOMED CT injury concepts (`Condition.code`, `Observation.code`) and the
/// interchange injury `type` each means.
pub const SNOMED_INJURIES: &[(&str, &str, &str)] = &[
    ("125667009", "Contusion", "bruise"),
    ("125666000", "Burn", "burn"),
    ("125605004", "Fracture of bone", "fracture"),
    ("82271004", "Injury of head", "head_injury"),
    ("312608009", "Laceration", "laceration"),
];

/// SNOMED CT body structures (`bodySite`) and the interchange injury `site`.
pub const SNOMED_BODY_SITES: &[(&str, &str, &str)] = &[
    ("89545001", "Face", "face"),
    ("117590005", "Ear", "ear"),
    ("45048000", "Neck", "neck"),
    ("69536005", "Head", "head"),
    ("22943007", "Trunk", "torso"),
    ("77568009", "Back", "back"),
    ("46862004", "Buttock", "buttocks"),
    ("53120007", "Upper limb", "arm"),
    ("85562004", "Hand", "hand"),
    ("61685007", "Lower limb", "leg"),
    ("263767004", "Genital structure", "genitals"),
    ("123851003", "Mouth region", "mouth"),
    ("53505006", "Anal structure", "anus"),
];

/// `RelatedPerson.relationship` (HL7 v3 RoleCode): the person's role in the
/// record and their relationship to the patient (from the related person to
/// the patient; `None`: no relationship is recorded).
pub const ROLE_CODES: &[(&str, &str, Option<&str>)] = &[
    ("MTH", "parent", Some("parent_of")),
    ("FTH", "parent", Some("parent_of")),
    ("PRN", "parent", Some("parent_of")),
    ("NMTH", "parent", Some("parent_of")),
    ("NFTH", "parent", Some("parent_of")),
    ("NPRN", "parent", Some("parent_of")),
    ("ADOPTMTH", "parent", Some("parent_of")),
    ("ADOPTFTH", "parent", Some("parent_of")),
    ("ADOPTP", "parent", Some("parent_of")),
    ("STPMTH", "parent", Some("step_parent_of")),
    ("STPFTH", "parent", Some("step_parent_of")),
    ("STPPRN", "parent", Some("step_parent_of")),
    ("MTHFOST", "carer", Some("carer_of")),
    ("FTHFOST", "carer", Some("carer_of")),
    ("PRNFOST", "carer", Some("carer_of")),
    ("GUARD", "carer", Some("carer_of")),
    ("GRMTH", "relative", Some("grandparent_of")),
    ("GRFTH", "relative", Some("grandparent_of")),
    ("GRPRN", "relative", Some("grandparent_of")),
    ("MGRMTH", "relative", Some("grandparent_of")),
    ("MGRFTH", "relative", Some("grandparent_of")),
    ("PGRMTH", "relative", Some("grandparent_of")),
    ("PGRFTH", "relative", Some("grandparent_of")),
    ("SIB", "sibling", Some("sibling_of")),
    ("BRO", "sibling", Some("sibling_of")),
    ("SIS", "sibling", Some("sibling_of")),
    ("HSIB", "sibling", Some("sibling_of")),
    ("HBRO", "sibling", Some("sibling_of")),
    ("HSIS", "sibling", Some("sibling_of")),
    ("STPSIB", "sibling", Some("sibling_of")),
    ("STPBRO", "sibling", Some("sibling_of")),
    ("STPSIS", "sibling", Some("sibling_of")),
    ("TWIN", "sibling", Some("sibling_of")),
    ("AUNT", "relative", Some("relative_of")),
    ("UNCLE", "relative", Some("relative_of")),
    ("COUSN", "relative", Some("relative_of")),
    ("NIECE", "relative", Some("relative_of")),
    ("NEPHEW", "relative", Some("relative_of")),
    ("EXT", "relative", Some("relative_of")),
    ("FAMMEMB", "relative", Some("relative_of")),
    ("DOMPART", "partner", Some("partner_of")),
    ("SIGOTHR", "partner", Some("partner_of")),
    ("ROOM", "household_member", Some("lives_with")),
    ("FRND", "other", None),
    ("NBOR", "other", None),
];

/// The codes of a closed list, quoted and comma-separated, for a problem.
pub fn quoted_list<'a>(codes: impl IntoIterator<Item = &'a str>) -> String {
    codes
        .into_iter()
        .map(|code| format!("\"{code}\""))
        .collect::<Vec<_>>()
        .join(", ")
}
