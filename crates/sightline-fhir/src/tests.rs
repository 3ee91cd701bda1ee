use super::*;
use sightline_core::interchange::Limits;

fn agency() -> AgencyId {
    AgencyId::parse("exmere-ed").expect("agency id")
}

fn received_at() -> DateTime<Utc> {
    "2026-12-07T10:00:00Z".parse().expect("instant")
}

fn map_with(input: &[u8], service: Option<HealthService>) -> Result<Mapped, Vec<FhirProblem>> {
    let agency = agency();
    let limits = Limits::default();
    map_bundle(
        input,
        &Context {
            agency: &agency,
            service,
            received_at: received_at(),
            limits: &limits,
        },
    )
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../tests/fixtures/fhir/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// The problems as `path: message` lines, sorted.
fn problem_lines(problems: &[FhirProblem]) -> Vec<String> {
    let mut lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn an_ed_bundle_maps_to_the_interchange_record_written_by_hand() {
    let mapped = map_with(&fixture("ed-infant-injury.fhir.json"), None).expect("maps");
    assert_eq!(mapped.bundle_type, BundleType::Transaction);
    assert_eq!(mapped.records.len(), 1, "one encounter, one record");
    let record = &mapped.records[0].record;
    let by_hand = interchange::parse_batch(
        &fixture("ed-infant-injury.jsonl"),
        interchange::Format::JsonLines,
        received_at(),
        &Limits::default(),
    )
    .expect("the hand-written record is valid");
    let expected = &by_hand[0].record;
    assert_eq!(record.kind, expected.kind);
    assert_eq!(record.occurred_at, expected.occurred_at);
    assert_eq!(record.recorded_at, expected.recorded_at);
    assert_eq!(record.source.record_id.as_str(), "Encounter/ED-26-10442");
    assert_eq!(record.findings, expected.findings);
    assert_eq!(record.relationships.len(), 1);
    assert_eq!(record.narrative, expected.narrative);
    assert_eq!(record.persons.len(), 2);
    for (mapped_person, expected_person) in record.persons.iter().zip(&expected.persons) {
        assert_eq!(mapped_person.role, expected_person.role);
        assert_eq!(mapped_person.nhs_number, expected_person.nhs_number);
        assert_eq!(mapped_person.given_names, expected_person.given_names);
        assert_eq!(mapped_person.family_name, expected_person.family_name);
        assert_eq!(mapped_person.dob, expected_person.dob);
        assert_eq!(mapped_person.sex, expected_person.sex);
        assert_eq!(mapped_person.address, expected_person.address);
    }
    assert_eq!(
        mapped.entries,
        vec![
            EntryOutcome::PartOf(vec![0]),
            EntryOutcome::PartOf(vec![0]),
            EntryOutcome::Record(0),
            EntryOutcome::PartOf(vec![0]),
            EntryOutcome::NotStored(mapped_reason(&mapped, 4)),
            EntryOutcome::NotStored(mapped_reason(&mapped, 5)),
            EntryOutcome::NotStored(mapped_reason(&mapped, 6)),
        ]
    );
    assert!(mapped_reason(&mapped, 4).starts_with("no coding Sightline maps"));
    assert!(mapped_reason(&mapped, 5).starts_with("read as context only"));
}

fn mapped_reason(mapped: &Mapped, entry: usize) -> String {
    match &mapped.entries[entry] {
        EntryOutcome::NotStored(reason) => reason.clone(),
        other => panic!("entry {entry}: {other:?}"),
    }
}

#[test]
fn a_malformed_bundle_names_every_problem_at_its_fhir_path() {
    let problems = map_with(&fixture("malformed.fhir.json"), None).expect_err("rejected");
    assert_eq!(
        problem_lines(&problems),
        vec![
            "Bundle.entry[0].resource.birthDate: \"2025-02-30\" is not a date (day 30 of month 2)",
            "Bundle.entry[0].resource.identifier[0].value: \"9994012704\" fails the check digit",
            "Bundle.entry[1].resource.subject.reference: \"Patient/not-in-this-bundle\" is not a resource of this bundle: send the Patient in the same bundle",
            "Bundle.entry[3].resource.modifierExtension: a modifier extension changes what its element means, and Sightline knows none: it cannot map this resource safely",
            "Bundle.entry[4].request.method: \"DELETE\" is not accepted: Sightline's log is append-only, so an entry creates (POST) or updates (PUT, with a higher meta.versionId) a record",
            "Bundle.entry[4].resource.birthDate: invalid type: integer `20250101`, expected a string",
        ]
    );
    assert!(problems.iter().all(|problem| problem.entry.is_some()));
}

#[test]
fn bundle_level_problems() {
    let check = |input: &str, expected: &str| {
        let problems = map_with(input.as_bytes(), None).expect_err(input);
        assert_eq!(
            problem_lines(&problems),
            vec![expected.to_owned()],
            "{input}"
        );
    };
    check(
        "not json",
        "Bundle: is not valid JSON: expected ident at line 1 column 2",
    );
    check(
        r#"{"resourceType": "Patient"}"#,
        "Bundle.resourceType: \"Patient\" is not a Bundle: send a Bundle of type transaction, batch or collection",
    );
    check(
        r#"{"resourceType": "Bundle", "type": "document"}"#,
        "Bundle.type: \"document\" is not one Sightline accepts (one of \"transaction\", \"batch\", \"collection\")",
    );
    check(
        r#"{"resourceType": "Bundle", "type": "batch", "entry": [{"resource": {"resourceType": "Patient", "id": "p", "meta": {"lastUpdated": "2026-01-01T00:00:00Z"}, "name": [{"family": "Kay"}]}}]}"#,
        "Bundle.entry[0].request: an entry of a batch bundle needs request.method POST or PUT",
    );
    check(
        r#"{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", "id": "p", "name": [{"family": "Kay"}]}}]}"#,
        "Bundle.entry[0].resource.meta.lastUpdated: is required for a Patient no Encounter, Condition, Observation, Appointment or Flag of the bundle is about (it is recorded as demographics registered, on that date; Bundle.timestamp serves too)",
    );
}

#[test]
fn an_empty_bundle_maps_to_no_records() {
    let mapped = map_with(br#"{"resourceType": "Bundle", "type": "collection"}"#, None)
        .expect("an empty bundle is valid");
    assert!(mapped.records.is_empty());
}

#[test]
fn an_ambulatory_encounter_is_read_by_the_agencys_service() {
    let bundle = br#"{"resourceType": "Bundle", "type": "collection", "entry": [
      {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "p1", "name": [{"family": "Kay", "given": ["Ava"]}], "birthDate": "2024-01-05"}},
      {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Encounter", "id": "e1", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "urn:uuid:1"}, "period": {"start": "2026-05-01T09:00:00Z"}}}]}"#;
    let as_gp = map_with(bundle, Some(HealthService::Gp)).expect("a GP's");
    assert_eq!(
        as_gp.records[0].record.kind.as_str(),
        "health.gp_consultation"
    );
    let as_hv = map_with(bundle, Some(HealthService::HealthVisiting)).expect("a health visitor's");
    assert_eq!(
        as_hv.records[0].record.kind.as_str(),
        "health.health_visitor_contact"
    );
    let problems = map_with(bundle, Some(HealthService::Hospital)).expect_err("unknown");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "Bundle.entry[1].resource.type");
    assert!(
        problems[0]
            .message
            .contains("this agency's, \"hospital\", does not say")
    );
}

#[test]
fn the_gp_family_bundle_maps_each_resource() {
    let mapped = map_with(&fixture("gp-family.fhir.json"), Some(HealthService::Gp)).expect("maps");
    let kinds: Vec<(&str, &str)> = mapped
        .records
        .iter()
        .map(|parsed| {
            (
                parsed.record.source.record_id.as_str(),
                parsed.record.kind.as_str(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("Encounter/GP-26-3301", "health.gp_consultation"),
            ("Appointment/APT-26-0918", "health.appointment_missed"),
            ("Flag/CPP-26-114/start", "social_care.plan"),
            ("Condition/GP-26-3310", "other.note"),
        ]
    );
    let consultation = &mapped.records[0].record;
    let roles: Vec<&str> = consultation
        .persons
        .iter()
        .map(|person| person.role.as_str())
        .collect();
    assert_eq!(roles, vec!["subject", "parent", "relative"]);
    // The grandmother's NHS number, still to be traced, is not used to link.
    assert!(consultation.persons[2].nhs_number.is_none());
    // The mother's substance misuse is about her (Observation.focus).
    let finding = &consultation.findings[0];
    assert_eq!(finding.code.as_str(), "parent_substance_misuse");
    assert_eq!(finding.subjects, vec![1]);
    let plan = &mapped.records[2].record;
    assert_eq!(plan.outcome.text("plan"), Some("child_protection"));
    assert_eq!(plan.outcome.text("status"), Some("start"));
}

#[test]
fn a_higher_version_id_is_a_higher_version() {
    let bundle = |version: &str| {
        format!(
            r#"{{"resourceType": "Bundle", "type": "collection", "entry": [
          {{"fullUrl": "urn:uuid:1", "resource": {{"resourceType": "Patient", "id": "p1", "meta": {{"versionId": "{version}", "lastUpdated": "2026-01-01T00:00:00Z"}}, "name": [{{"family": "Kay"}}]}}}}]}}"#
        )
    };
    let mapped = map_with(bundle("3").as_bytes(), None).expect("maps");
    assert_eq!(mapped.records[0].record.source.version, 3);
    let problems = map_with(bundle("W/3").as_bytes(), None).expect_err("not a number");
    assert_eq!(problems[0].path, "Bundle.entry[0].resource.meta.versionId");
}

proptest::proptest! {
    #[test]
    fn no_input_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
        let _ = map_with(&bytes, None);
    }

    #[test]
    fn no_bundle_shaped_input_panics(
        entries in proptest::collection::vec(
            (
                proptest::sample::select(vec!["Patient", "Encounter", "Condition", "Observation", "Flag", "RelatedPerson", "Appointment", "Basic"]),
                proptest::option::of("[a-z0-9:/-]{0,12}"),
                proptest::option::of("[0-9T:-]{0,20}"),
            ),
            0..6,
        )
    ) {
        let entries: Vec<Value> = entries
            .iter()
            .enumerate()
            .map(|(idx, (resource_type, reference, date))| json!({
                "fullUrl": format!("urn:uuid:{idx}"),
                "resource": {
                    "resourceType": resource_type,
                    "id": format!("r{idx}"),
                    "status": "active",
                    "subject": {"reference": reference},
                    "patient": {"reference": reference},
                    "encounter": {"reference": reference},
                    "period": {"start": date},
                    "birthDate": date,
                    "class": {"code": "EMER"},
                    "code": {"coding": [{"system": SIGHTLINE_FINDING, "code": "injury"}]},
                }
            }))
            .collect();
        let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
        let _ = map_with(bundle.to_string().as_bytes(), None);
    }
}

/// Any JSON value, with keys drawn mostly from the FHIR elements the mapper
/// reads, so that the trees reach deep into its code.
fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    const WORDS: &[&str] = &[
        "resourceType",
        "Bundle",
        "type",
        "transaction",
        "batch",
        "collection",
        "entry",
        "fullUrl",
        "resource",
        "id",
        "meta",
        "versionId",
        "lastUpdated",
        "Patient",
        "RelatedPerson",
        "Encounter",
        "Appointment",
        "Condition",
        "Observation",
        "Flag",
        "identifier",
        "system",
        "value",
        "extension",
        "url",
        "valueCodeableConcept",
        "coding",
        "code",
        "display",
        "text",
        "name",
        "given",
        "family",
        "birthDate",
        "gender",
        "address",
        "line",
        "postalCode",
        "patient",
        "subject",
        "reference",
        "relationship",
        "status",
        "class",
        "period",
        "start",
        "end",
        "encounter",
        "bodySite",
        "category",
        "onsetDateTime",
        "recordedDate",
        "effectiveDateTime",
        "valueQuantity",
        "unit",
        "participant",
        "actor",
        "serviceType",
        "note",
        NHS_NUMBER_SYSTEM,
        SIGHTLINE_FINDING,
        SIGHTLINE_KIND,
        SIGHTLINE_PLAN,
        "9994012703",
        "EMER",
        "AMB",
        "IMP",
        "HH",
        "noshow",
        "finished",
        "active",
        "inactive",
        "2026-04-12",
        "2026-04-12T19:40:00+01:00",
        "urn:uuid:1",
        "Patient/1",
        "MTH",
        "injury",
        "bruise",
        "face",
        "",
    ];
    let word = || proptest::sample::select(WORDS).prop_map(str::to_owned);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        word().prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 96, 6, move |inner| {
        let key = prop_oneof![4 => word(), 1 => any::<String>()];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((key, inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer into `value` (its own root included).
fn pointers(value: &Value, at: String, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                pointers(child, format!("{at}/{key}"), into);
            }
        }
        Value::Array(items) => {
            for (idx, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{idx}"), into);
            }
        }
        _ => {}
    }
    into.push(at);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// The mapper never panics on arbitrary JSON, whole or as a bundle's entries.
    #[test]
    fn no_json_panics(value in arbitrary_json(), entries in proptest::collection::vec(arbitrary_json(), 0..4)) {
        let _ = map_with(value.to_string().as_bytes(), None);
        let entries: Vec<Value> = entries.into_iter().map(|resource| json!({"resource": resource})).collect();
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
        let _ = map_with(bundle.to_string().as_bytes(), Some(HealthService::Gp));
    }

    /// Nor on a realistic bundle with any one element replaced by arbitrary
    /// JSON; what it returns is records or problems at FHIR paths.
    #[test]
    fn no_mutated_fixture_panics(
        fixture_name in proptest::sample::select(vec!["ed-infant-injury.fhir.json", "gp-family.fhir.json", "malformed.fhir.json"]),
        pick in proptest::num::usize::ANY,
        replacement in arbitrary_json(),
    ) {
        let mut bundle: Value = serde_json::from_slice(&fixture(fixture_name)).expect("fixture is JSON");
        let mut all = Vec::new();
        pointers(&bundle, String::new(), &mut all);
        let pointer = &all[pick % all.len()];
        if pointer.is_empty() {
            bundle = replacement;
        } else if let Some(slot) = bundle.pointer_mut(pointer) {
            *slot = replacement;
        }
        if let Err(problems) = map_with(bundle.to_string().as_bytes(), Some(HealthService::Gp)) {
            proptest::prop_assert!(!problems.is_empty());
            for problem in &problems {
                proptest::prop_assert!(problem.path.starts_with("Bundle"), "{}", problem);
            }
        }
    }
}
