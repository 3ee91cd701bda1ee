use super::*;
use chrono::TimeZone;

fn received_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2007, 8, 1, 12, 0, 0)
        .single()
        .expect("valid instant")
}

/// The problem lines a batch produces, or `["ok N"]` with its record count.
fn outcome_lines(input: &str, format: Format) -> Vec<String> {
    match parse_batch(input.as_bytes(), format, received_at(), &Limits::default()) {
        Ok(records) => vec![format!("ok {}", records.len())],
        Err(rejected) => rejected.problems.iter().map(ToString::to_string).collect(),
    }
}

fn check(input: &str, format: Format, expected: &[&str]) {
    let actual = outcome_lines(input, format);
    assert_eq!(actual, expected, "input:\n{input}");
}

const VALID: &str = r#"{"source": {"agency": "north-met-police", "system": "Niche", "record_id": "DA-2007-0412", "version": 1}, "kind": "police.domestic_incident", "occurred_at": "2007-04-12T22:40:00Z", "recorded_at": "2007-04-13T09:05:00Z", "persons": [{"ref": "c", "role": "subject", "given_names": "Peter", "family_name": "Smith", "dob": "2006-03-01", "sex": "male", "address": {"lines": ["12 Example Road", "London"], "postcode": "N17 6AA"}}, {"ref": "m", "role": "parent", "given_names": "Tracy", "family_name": "Smith", "dob": "1981-09-20", "sex": "female"}], "findings": [{"code": "domestic_abuse", "risk": "medium", "subjects": ["m"]}], "relationships": [{"from": "m", "to": "c", "type": "parent_of"}], "narrative": "Neighbour reported shouting; officers attended; child asleep upstairs."}"#;

/// The specification's example with one field replaced (a JSON pointer) or removed.
fn variant(pointer: &str, value: Option<serde_json::Value>) -> String {
    let mut record: serde_json::Value = serde_json::from_str(VALID).expect("example is JSON");
    let (parent_pointer, key) = pointer.rsplit_once('/').expect("pointer has a slash");
    let parent = record.pointer_mut(parent_pointer).expect("parent exists");
    match (parent, value) {
        (serde_json::Value::Object(map), Some(value)) => {
            map.insert(key.to_owned(), value);
        }
        (serde_json::Value::Object(map), None) => {
            map.remove(key);
        }
        (serde_json::Value::Array(items), Some(value)) => {
            let index: usize = key.parse().expect("index");
            items[index] = value;
        }
        _ => panic!("unsupported pointer {pointer}"),
    }
    record.to_string()
}

#[test]
fn the_specification_example_is_valid() {
    check(VALID, Format::JsonLines, &["ok 1"]);
    let records = parse_batch(
        VALID.as_bytes(),
        Format::JsonLines,
        received_at(),
        &Limits::default(),
    )
    .expect("valid");
    let record = &records[0].record;
    assert_eq!(record.source.agency.as_str(), "north-met-police");
    assert_eq!(
        record.persons[0]
            .address
            .as_ref()
            .and_then(|a| a.postcode.as_ref())
            .map(|p| p.as_str()),
        Some("N17 6AA")
    );
    assert_eq!(record.findings[0].subjects, vec![1]);
    assert_eq!(record.findings[0].attributes.text("risk"), Some("medium"));
    assert_eq!(records[0].body, VALID);
}

#[test]
fn each_rule_of_the_specification() {
    use serde_json::json;
    let cases: Vec<(String, Vec<&str>)> = vec![
        (variant("/persons/0/dob", Some(json!("2006-13-01"))), vec!["line 1: persons[0].dob: \"2006-13-01\" is not a date (month 13)"]),
        (variant("/kind", Some(json!("health.ed_visit"))), vec!["line 1: kind: \"health.ed_visit\" is not a known kind (did you mean \"health.ed_attendance\"?)"]),
        (variant("/persons/1/nhs_number", Some(json!("943 476 5918"))), vec!["line 1: persons[1].nhs_number: \"943 476 5918\" fails the check digit"]),
        (variant("/persons/1/nhs_number", Some(json!("943 476 5919"))), vec!["ok 1"]),
        (variant("/findings/0/code", Some(json!("domestic_abus"))), vec!["line 1: findings[0].code: \"domestic_abus\" is not a known finding code (did you mean \"domestic_abuse\"?)"]),
        (variant("/findings/0/subjects", Some(json!(["x"]))), vec!["line 1: findings[0].subjects[0]: \"x\" is not the ref of any person in this record"]),
        (variant("/relationships/0/to", Some(json!("q"))), vec!["line 1: relationships[0].to: \"q\" is not the ref of any person in this record"]),
        (variant("/occured_at", Some(json!("2007-04-12"))), vec!["line 1: occured_at: unknown field (did you mean \"occurred_at\"?)"]),
        (variant("/kind", None), vec!["line 1: kind: is required"]),
        (variant("/persons", Some(json!([]))), vec!["line 1: persons: must list at least one person"]),
        (variant("/source/agency", Some(json!("North Met"))), vec!["line 1: source.agency: \"North Met\" is not an agency id (2-64 characters of a-z, 0-9 and -)"]),
        (variant("/source/version", Some(json!(0))), vec!["line 1: source.version: must be a positive whole number, found the number 0"]),
        (variant("/source/version", Some(json!(2))), vec!["ok 1"]),
        (variant("/source/version", None), vec!["ok 1"]),
        (variant("/source/version", Some(json!(4_294_967_296_u64))), vec!["ok 1"]),
        (variant("/source/version", Some(json!(i64::MAX))), vec!["ok 1"]),
        (variant("/source/version", Some(json!(i64::MAX.unsigned_abs() + 1))), vec!["line 1: source.version: the number 9223372036854775808 is over the largest version Sightline accepts (9223372036854775807)"]),
        (variant("/source/version", Some(json!(-1))), vec!["line 1: source.version: must be a positive whole number, found the number -1"]),
        (variant("/recorded_at", Some(json!("2007-04-12T20:00:00Z"))), vec!["line 1: recorded_at: recorded_at 2007-04-12T20:00:00+00:00 is before occurred_at 2007-04-12T22:40:00+00:00"]),
        (variant("/recorded_at", None), vec!["ok 1"]),
        (variant("/occurred_at", Some(json!("2007-04"))), vec!["ok 1"]),
        (variant("/occurred_at", Some(json!("2007-04-12"))), vec!["ok 1"]),
        (variant("/occurred_at", Some(json!("2007"))), vec!["line 1: occurred_at: \"2007\" is not a date (YYYY-MM-DD or YYYY-MM)"]),
        (variant("/occurred_at", Some(json!("2007-08-03T00:00:00Z"))), vec!["line 1: occurred_at: \"2007-08-03T00:00:00Z\" is more than 1 day in the future (received 2007-08-01T12:00:00Z)", "line 1: recorded_at: recorded_at 2007-04-13T09:05:00+00:00 is before occurred_at 2007-08-03T00:00:00+00:00"].into_iter().take(1).collect()),
        // "Not more than 1 day in the future" of the receipt (2007-08-01T12:00:00Z).
        (variant("/recorded_at", Some(json!("2007-08-02T12:00:00Z"))), vec!["ok 1"]),
        (variant("/recorded_at", Some(json!("2007-08-02T12:00:01Z"))), vec!["line 1: recorded_at: \"2007-08-02T12:00:01Z\" is more than 1 day in the future (received 2007-08-01T12:00:00Z)"]),
        (variant("/occurred_at", Some(json!("2007-08-02"))), vec!["ok 1"]),
        (variant("/occurred_at", Some(json!("2007-08"))), vec!["ok 1"]),
        (variant("/occurred_at", Some(json!("2007-09"))), vec!["line 1: occurred_at: \"2007-09\" is more than 1 day in the future (received 2007-08-01T12:00:00Z)"]),
        (variant("/recorded_at", Some(json!("2007-08-02T13:00:00+01:00"))), vec!["ok 1"]),
        (variant("/persons/0/role", Some(json!("child"))), vec!["line 1: persons[0].role: \"child\" is not one of \"subject\", \"parent\", \"carer\", \"partner\", \"household_member\", \"visitor\", \"alleged_perpetrator\", \"referrer\", \"professional\", \"other\", \"relative\", \"sibling\""]),
        (variant("/persons/1/ref", Some(json!("c"))), vec![
            "line 1: persons[1].ref: \"c\" is used by an earlier person in this record (refs must be unique)",
            "line 1: findings[0].subjects[0]: \"m\" is not the ref of any person in this record",
            "line 1: relationships[0].from: \"m\" is not the ref of any person in this record",
        ]),
        (variant("/persons/0/address/postcode", Some(json!("n176aa"))), vec!["ok 1"]),
        (variant("/persons/0/address/postcode", Some(json!("4011"))), vec!["line 1: persons[0].address.postcode: \"4011\" is not a UK postcode"]),
        (variant("/persons/1", Some(json!({"ref": "m", "role": "parent", "dob": "1981"}))), vec!["line 1: persons[1]: a person must carry at least one of nhs_number, source_person_id, or a name"]),
        (variant("/persons/1", Some(json!({"ref": "m", "role": "parent", "source_person_id": "P1"}))), vec!["ok 1"]),
        (variant("/findings/0/risk", Some(json!("extreme"))), vec!["line 1: findings[0].risk: \"extreme\" is not one of \"standard\", \"medium\", \"high\""]),
        (variant("/findings/0/site", Some(json!("face"))), vec!["line 1: findings[0].site: unknown field (known fields: \"risk\", \"code\", \"subjects\")"]),
        (variant("/outcome", Some(json!({"admitted": true}))), vec!["line 1: outcome: a police.domestic_incident record has no outcome fields"]),
        (variant("/narrative", Some(json!("x".repeat(20_001)))), vec!["line 1: narrative: is 20001 characters long (at most 20000)"]),
        (variant("/narrative", Some(json!("x".repeat(20_000)))), vec!["ok 1"]),
        (variant("/persons/0/sex", Some(json!(1))), vec!["line 1: persons[0].sex: expected a string, found the number 1"]),
    ];
    for (input, expected) in cases {
        check(&input, Format::JsonLines, &expected);
    }
}

#[test]
fn outcomes_are_typed_by_kind() {
    use serde_json::json;
    let medical = |outcome: serde_json::Value| {
        let with_kind = variant("/kind", Some(json!("health.cp_medical")));
        let mut record: serde_json::Value = serde_json::from_str(&with_kind).expect("json");
        record["outcome"] = outcome;
        record["findings"] = json!([{"code": "injury", "type": "bruise", "site": "face", "count": 3, "explanation": "none"}]);
        record.to_string()
    };
    check(
        &medical(json!({"conclusion": "non_accidental_likely"})),
        Format::JsonLines,
        &["ok 1"],
    );
    check(
        &medical(json!({"conclusion": "likely"})),
        Format::JsonLines,
        &[
            "line 1: outcome.conclusion: \"likely\" is not one of \"non_accidental_likely\", \"inconclusive\", \"accidental_likely\"",
        ],
    );
    check(
        &medical(json!({"conclusoin": "inconclusive"})),
        Format::JsonLines,
        &["line 1: outcome.conclusoin: unknown field (did you mean \"conclusion\"?)"],
    );
    check(
        &medical(json!({"conclusion": true})),
        Format::JsonLines,
        &["line 1: outcome.conclusion: expected a string, found true"],
    );
    let records = parse_batch(
        medical(json!({"conclusion": "inconclusive"})).as_bytes(),
        Format::JsonLines,
        received_at(),
        &Limits::default(),
    )
    .expect("valid");
    let finding = &records[0].record.findings[0];
    assert_eq!(
        finding.subjects,
        vec![0],
        "subjects default to the role-subject persons"
    );
    assert_eq!(finding.attributes.int("count"), Some(3));
}

#[test]
fn the_issue_example_batch_reports_every_problem_by_line() {
    use serde_json::json;
    let lines = [
        VALID.to_owned(),
        variant("/occurred_at", Some(json!("2007-02-30"))),
        String::new(),
        variant("/kind", Some(json!("health.ed_visit"))),
        variant("/persons/0/nhs_number", Some(json!("943 476 5918"))),
        variant("/findings/0/code", Some(json!("brusing"))),
        variant("/relationships/0/from", Some(json!("dad"))),
    ];
    check(
        &lines.join("\n"),
        Format::JsonLines,
        &[
            "line 2: occurred_at: \"2007-02-30\" is not a date (day 30 of month 2)",
            "line 4: kind: \"health.ed_visit\" is not a known kind (did you mean \"health.ed_attendance\"?)",
            "line 5: persons[0].nhs_number: \"943 476 5918\" fails the check digit",
            "line 6: findings[0].code: \"brusing\" is not a known finding code",
            "line 7: relationships[0].from: \"dad\" is not the ref of any person in this record",
        ],
    );
}

#[test]
fn json_framing() {
    check("", Format::JsonLines, &["ok 0"]);
    check("\n\n  \n", Format::JsonLines, &["ok 0"]);
    check(
        &format!(
            "{VALID}\r\n\r\n{}\n",
            variant("/source/record_id", Some(serde_json::json!("B")))
        ),
        Format::JsonLines,
        &["ok 2"],
    );
    check(
        "{not json",
        Format::JsonLines,
        &["line 1: is not valid JSON: key must be a string at line 1 column 2"],
    );
    check(
        "[1, 2]",
        Format::JsonLines,
        &["line 1: a record must be a JSON object, found an array"],
    );
    check(
        &format!("[{VALID},\n {VALID}]"),
        Format::JsonArray,
        &["ok 2"],
    );
    check(
        &format!("[{VALID}, 7]"),
        Format::JsonArray,
        &["index 1: a record must be a JSON object, found the number 7"],
    );
    check(
        &format!("[{VALID},\n {{\"kind\": ]"),
        Format::JsonArray,
        &["line 2: is not valid JSON: expected value at line 2 column 11"],
    );
    check(
        &format!("{{\"a\": {VALID}}}"),
        Format::JsonArray,
        &["line 1: a .json batch must be a JSON array of record objects"],
    );
    check("[]", Format::JsonArray, &["ok 0"]);
    let with_bom = format!("\u{feff}{VALID}");
    check(&with_bom, Format::JsonLines, &["ok 1"]);
    // A JSON document's framing is read from its content.
    check(&format!("  [{VALID}]"), Format::Json, &["ok 1"]);
    check(&format!("{VALID}\n\n{VALID}\n"), Format::Json, &["ok 2"]);
    check(&format!("\u{feff}{VALID}"), Format::Json, &["ok 1"]);
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(VALID).unwrap())
            .unwrap();
    let n_lines = pretty.lines().count();
    check(&format!("\n{pretty}\n"), Format::Json, &["ok 1"]);
    check(
        &format!("\n{pretty}\n"),
        Format::JsonLines,
        &[&format!(
            "line 2: this record spans lines 2 to {}: JSON Lines holds each record on one line \
             (write it on one line, or send it as a .json file or application/json)",
            n_lines + 1
        )],
    );
    let broken = pretty.replacen("\"kind\"", "\"knd\"", 1);
    check(
        &broken,
        Format::Json,
        &[
            "line 1: knd: unknown field (did you mean \"kind\"?)",
            "line 1: kind: is required",
        ],
    );
    let bad_utf8 = [VALID.as_bytes(), b"\n\xff\xfe\n"].concat();
    let rejected = parse_batch(
        &bad_utf8,
        Format::JsonLines,
        received_at(),
        &Limits::default(),
    )
    .expect_err("invalid");
    assert_eq!(
        rejected.problems[0].to_string(),
        "line 2: is not valid UTF-8 (at byte 0)"
    );
}

#[test]
fn limits_are_enforced() {
    let limits = Limits {
        records_max: 2,
        problems_max: 3,
        ..Limits::default()
    };
    let three = [VALID; 3].join("\n");
    let rejected = parse_batch(three.as_bytes(), Format::JsonLines, received_at(), &limits)
        .expect_err("over the limit");
    assert_eq!(
        rejected.problems[0].to_string(),
        "batch: the batch holds 3 records (at most 2)"
    );
    let bad = ["{}"; 5].join("\n");
    let rejected = parse_batch(bad.as_bytes(), Format::JsonLines, received_at(), &limits)
        .expect_err("invalid");
    assert_eq!(rejected.problems.len(), 3, "kept at most problems_max");
    assert!(rejected.n_problems > 3, "but counted them all");
    assert_eq!(rejected.n_records_invalid, 5);
}

#[test]
fn csv_profile() {
    let header = "agency,record_id,version,kind,occurred_at,recorded_at,given_names,family_name,dob,sex,nhs_number,source_person_id,address,postcode,findings,narrative";
    let good = "st-annes-gp,GP-1,1,health.gp_consultation,2007-03-01,2007-03-01T10:00:00Z,Peter,Smith,2006-03-01,male,943 476 5919,P-17,\"12 Example Road, London\",n176aa,\"injury:type=bruise,site=face,explanation=none,count=2;faltering_growth\",Seen with mother.";
    check(&format!("{header}\n{good}\n"), Format::Csv, &["ok 1"]);
    check(&format!("{header}\n"), Format::Csv, &["ok 0"]);
    let records = parse_batch(
        format!("{header}\n{good}\n").as_bytes(),
        Format::Csv,
        received_at(),
        &Limits::default(),
    )
    .expect("valid");
    let record = &records[0].record;
    assert_eq!(
        record.persons[0].address.as_ref().map(|a| a.lines.clone()),
        Some(vec!["12 Example Road, London".to_owned()])
    );
    assert_eq!(record.findings.len(), 2);
    assert_eq!(record.findings[0].attributes.int("count"), Some(2));

    let minimal =
        "kind,agency,occurred_at,record_id,family_name\nhealth.birth,hv-north,2007-03,R1,Smith\n";
    check(minimal, Format::Csv, &["ok 1"]);
    let bad = format!(
        "{header}\n{good}\n{}\n",
        good.replace("2006-03-01", "2006-02-30")
            .replace("health.gp_consultation", "health.gp_consult")
            .replace("type=bruise", "type=brusie")
            .replace("n176aa", "ZZ")
    );
    check(
        &bad,
        Format::Csv,
        &[
            "row 3: kind: \"health.gp_consult\" is not a known kind (did you mean \"health.gp_consultation\"?)",
            "row 3: dob: \"2006-02-30\" is not a date (day 30 of month 2)",
            "row 3: postcode: \"ZZ\" is not a UK postcode",
            "row 3: findings: finding 1 (injury) type: \"brusie\" is not one of \"bruise\", \"burn\", \"fracture\", \"head_injury\", \"bite\", \"laceration\", \"petechiae\", \"other\" (did you mean \"bruise\"?)",
        ],
    );
    check(
        "agency,record_id,kind,occurred_at,nhs\n",
        Format::Csv,
        &["row 1: nhs: unknown column (did you mean \"nhs_number\"?)"],
    );
    check(
        "agency,record_id,occurred_at\n",
        Format::Csv,
        &["row 1: kind: required column is missing"],
    );
    check(
        "agency,record_id,kind,occurred_at,version\nab,R,other.note,2007-01,x\n",
        Format::Csv,
        &["row 2: version: must be a positive whole number, found the string \"x\""],
    );
    // Timestamps as versions are read exactly; over i64::MAX is named as such.
    let timestamps = parse_batch(
        "agency,record_id,kind,occurred_at,version,family_name\n\
         ab,R,other.note,2007-01,20071231235959,Smith\n\
         ab,R,other.note,2007-01,1732700000000,Smith\n\
         ab,R,other.note,2007-01,9223372036854775807,Smith\n"
            .as_bytes(),
        Format::Csv,
        received_at(),
        &Limits::default(),
    )
    .expect("valid");
    assert_eq!(
        timestamps
            .iter()
            .map(|parsed| parsed.record.source.version)
            .collect::<Vec<_>>(),
        [20_071_231_235_959, 1_732_700_000_000, i64::MAX]
    );
    check(
        "agency,record_id,kind,occurred_at,version,family_name\nab,R,other.note,2007-01,9223372036854775808,Smith\n",
        Format::Csv,
        &[
            "row 2: version: the number 9223372036854775808 is over the largest version Sightline accepts (9223372036854775807)",
        ],
    );
    check(
        "agency,record_id,kind,occurred_at\nab,R,other.note,2007-01\n",
        Format::Csv,
        &[
            "row 2: a person must carry at least one of nhs_number, source_person_id, or a name (columns given_names, family_name, nhs_number, source_person_id are all empty)",
        ],
    );
    check(
        "agency,record_id,kind,occurred_at,family_name\nab,R,other.note\n",
        Format::Csv,
        &["row 2: has 3 fields; the header has 5"],
    );
    check(
        "agency,record_id,kind,occurred_at,family_name,findings\nab,R,other.note,2007-01,Smith,injury:type\n",
        Format::Csv,
        &["row 2: findings: \"type\" in finding \"injury\" is not key=value"],
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Intake validates a tree that borrows the text (`json::Json`); the same text
    /// as a `serde_json::Value` must give the same record or the same problems,
    /// byte for byte, and a text neither parses gives the same JSON error.
    fn trees_agree(text: &str) -> Result<(), TestCaseError> {
        // A repeated key is refused before validation (issue #15, finding 13);
        // serde_json's Value would keep the last.
        if let Ok(tree) = json::Json::parse(text) {
            let repeated = tree.repeated_keys();
            if !repeated.is_empty() {
                let problems = parse_json_record(
                    text.as_bytes(),
                    Position::Line(1),
                    received_at(),
                    &Limits::default(),
                )
                .map(|parsed| parsed.record)
                .expect_err("a repeated key is refused");
                let paths: Vec<String> = problems.into_iter().map(|problem| problem.path).collect();
                let expected: Vec<String> =
                    repeated.into_iter().map(|repeat| repeat.path).collect();
                prop_assert_eq!(paths, expected, "{}", text);
                return Ok(());
            }
        }
        let from_text = parse_json_record(
            text.as_bytes(),
            Position::Line(1),
            received_at(),
            &Limits::default(),
        )
        .map(|parsed| parsed.record);
        let from_value = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(value) => {
                validate_record(&value, Position::Line(1), received_at(), &Limits::default())
            }
            Err(error) => Err(vec![Problem {
                position: Position::Line(1),
                path: String::new(),
                message: format!("is not valid JSON: {error}"),
            }]),
        };
        prop_assert_eq!(from_text, from_value, "{}", text);
        Ok(())
    }

    const MEMBER_KEYS: &[&str] = &[
        "kind",
        "persons",
        "source",
        "narrative",
        "findings",
        "outcome",
        "ref",
        "role",
        "dob",
        "lines",
        "code",
        "risk",
        "subjects",
        "from",
        "type",
        "version",
        "zz",
        "kidn",
        "a\\u006Eb",
    ];
    const MEMBER_VALUES: &[&str] = &[
        "1",
        "-1.5",
        "1e3",
        "18446744073709551616",
        "true",
        "null",
        "[]",
        "{}",
        "\"x\"",
        "\"subject\"",
        "\"2006-01-01\"",
        "\"m\"",
        "\"esc\\u0061ped\"",
        "[\"m\", 2]",
        "{\"zz\": 1, \"zz\": 2}",
    ];

    /// Any JSON value, with keys drawn from the record's own field names so the
    /// validator gets past its first checks.
    fn any_json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|number| serde_json::json!(number)),
            any::<f64>().prop_map(|number| serde_json::json!(number)),
            "\\PC{0,16}".prop_map(Value::String),
            proptest::sample::select(MEMBER_VALUES)
                .prop_map(|text| serde_json::from_str(text).unwrap_or(Value::Null)),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec((proptest::sample::select(MEMBER_KEYS), inner), 0..6)
                    .prop_map(|members| Value::Object(
                        members
                            .into_iter()
                            .map(|(key, value)| (key.to_owned(), value))
                            .collect()
                    )),
            ]
        })
    }

    /// Where in the specification's example an arbitrary value is put.
    const POINTERS: &[&str] = &[
        "/source",
        "/source/agency",
        "/source/record_id",
        "/source/version",
        "/kind",
        "/occurred_at",
        "/recorded_at",
        "/persons",
        "/persons/0",
        "/persons/1/ref",
        "/persons/0/dob",
        "/persons/1/nhs_number",
        "/persons/0/aliases",
        "/persons/0/address",
        "/persons/0/address/lines",
        "/persons/0/address/postcode",
        "/findings",
        "/findings/0",
        "/findings/0/subjects",
        "/findings/0/risk",
        "/relationships",
        "/relationships/0",
        "/relationships/0/type",
        "/narrative",
        "/outcome",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Arbitrary JSON as a record, as a JSON Lines batch and inside an array:
        /// never a panic; a rejection names only that record's position, and the
        /// two framings agree on whether it is valid.
        #[test]
        fn arbitrary_json_never_panics(value in any_json()) {
            let line = value.to_string();
            let as_line = parse_batch(line.as_bytes(), Format::JsonLines, received_at(), &Limits::default());
            let as_array = parse_batch(format!("[{line}]").as_bytes(), Format::JsonArray, received_at(), &Limits::default());
            prop_assert_eq!(as_line.is_ok(), as_array.is_ok());
            if let Err(rejected) = as_line {
                prop_assert!(rejected.problems.iter().all(|problem| problem.position == Position::Line(1)));
            }
            if let Err(rejected) = as_array {
                prop_assert!(rejected.problems.iter().all(|problem| problem.position == Position::Index(0)));
            }
        }

        /// An arbitrary value in place of any field of a valid record: never a
        /// panic, and every problem names line 1 and a field path.
        #[test]
        fn arbitrary_json_in_any_field_fails_precisely(pointer in proptest::sample::select(POINTERS), value in any_json()) {
            let input = variant(pointer, Some(value));
            match parse_batch(input.as_bytes(), Format::JsonLines, received_at(), &Limits::default()) {
                Ok(records) => prop_assert_eq!(records.len(), 1),
                Err(rejected) => {
                    for problem in &rejected.problems {
                        prop_assert_eq!(problem.position, Position::Line(1));
                        prop_assert!(!problem.message.is_empty());
                    }
                }
            }
        }

        /// Untrusted input never panics the parser, whatever the framing.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            for format in [Format::JsonLines, Format::JsonArray, Format::Csv] {
                let _ = parse_batch(&bytes, format, received_at(), &Limits::default());
            }
        }

        /// Mutating one character of a valid record either still parses or gives
        /// problems that all name line 1; never a panic, never a partial batch.
        #[test]
        fn mutated_records_fail_precisely(position in 0usize..VALID.len(), replacement in any::<char>().prop_filter("one line", |c| *c != '\n')) {
            let mut mutated: Vec<char> = VALID.chars().collect();
            let index = position % mutated.len();
            mutated[index] = replacement;
            let input: String = mutated.into_iter().collect();
            match parse_batch(input.as_bytes(), Format::JsonLines, received_at(), &Limits::default()) {
                Ok(records) => prop_assert_eq!(records.len(), 1),
                Err(rejected) => {
                    prop_assert!(!rejected.problems.is_empty());
                    for problem in &rejected.problems {
                        prop_assert!(matches!(problem.position, Position::Line(1)), "{}", problem);
                    }
                }
            }
        }

        /// One changed character: both trees validate alike.
        #[test]
        fn one_changed_character_validates_alike(position in 0usize..VALID.len(), replacement in any::<char>()) {
            let mut mutated: Vec<char> = VALID.chars().collect();
            let index = position % mutated.len();
            mutated[index] = replacement;
            let input: String = mutated.into_iter().collect();
            trees_agree(&input)?;
        }

        /// A member added at the start or end of any object (a repeated key, an
        /// unknown one, a wrong type): both trees validate alike.
        #[test]
        fn added_members_validate_alike(
            at in 0usize..64,
            at_end in any::<bool>(),
            key in proptest::sample::select(MEMBER_KEYS),
            value in proptest::sample::select(MEMBER_VALUES),
            second_key in proptest::sample::select(MEMBER_KEYS),
        ) {
            let braces: Vec<usize> = VALID
                .char_indices()
                .filter(|(_, c)| *c == if at_end { '}' } else { '{' })
                .map(|(index, _)| index)
                .collect();
            let brace = braces[at % braces.len()];
            let input = if at_end {
                format!("{}, \"{key}\": {value}, \"{second_key}\": {value}{}", &VALID[..brace], &VALID[brace..])
            } else {
                format!("{}\"{key}\": {value}, \"{second_key}\": {value}, {}", &VALID[..=brace], &VALID[brace + 1..])
            };
            trees_agree(&input)?;
        }

        /// A batch with one bad record among good ones is rejected whole.
        #[test]
        fn one_bad_record_rejects_the_batch(n_good in 1usize..20, bad_at in 0usize..20) {
            let bad_at = bad_at % (n_good + 1);
            let mut lines: Vec<String> = (0..n_good).map(|index| variant("/source/record_id", Some(serde_json::json!(format!("R{index}"))))).collect();
            lines.insert(bad_at, variant("/persons/0/dob", Some(serde_json::json!("2006-00-01"))));
            let rejected = parse_batch(lines.join("\n").as_bytes(), Format::JsonLines, received_at(), &Limits::default());
            let rejected = rejected.expect_err("must reject");
            prop_assert_eq!(rejected.problems.len(), 1);
            prop_assert_eq!(rejected.problems[0].position, Position::Line(bad_at as u64 + 1));
        }
    }
}
