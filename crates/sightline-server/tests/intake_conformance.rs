//! The interchange conformance fixtures (`tests/fixtures/interchange/`) through
//! `POST /api/v1/records` on every backend: a valid file is 200 with its record
//! count, an invalid one 422 with exactly the problems the parser's conformance
//! test expects (position, field path, words) and nothing stored. Plus
//! supersession and idempotency of the versions fixture, and arbitrary bodies
//! that never panic the server and never store on error.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sightline_core::AgencyId;
use sightline_core::interchange::{Format, Limits, parse_batch};
use sightline_testkit::TestDatabase;
use sightline_testkit::interchange_fixtures::{self, Fixture, without_receipt_time};
use sightline_testkit::server::{TestServer, sync};
use std::collections::BTreeMap;

/// The agencies the valid fixtures come from.
const AGENCIES: &[&str] = &[
    "north-met-police",
    "haringey-csc",
    "st-annes-gp",
    "hv-north",
    "kingsway-primary",
];

struct TestApp {
    server: TestServer,
    client: reqwest::Client,
    tokens: BTreeMap<String, String>,
}

impl TestApp {
    async fn spawn(db: TestDatabase) -> TestApp {
        let mut tokens = BTreeMap::new();
        let server = TestServer::start_with(db, |store| {
            for agency in AGENCIES {
                let id = AgencyId::parse(agency).expect("agency");
                let token = sightline_app::create_token(store, &id, chrono::Utc::now())
                    .expect("token")
                    .secret;
                tokens.insert((*agency).to_owned(), token);
            }
        })
        .await;
        TestApp {
            server,
            client: reqwest::Client::new(),
            tokens,
        }
    }

    async fn post(&self, agency: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.server.url("/api/v1/records"))
            .bearer_auth(&self.tokens[agency])
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    fn count(&self) -> u64 {
        let store = self.server.store.clone();
        sync(move || store.count_records().expect("count"))
    }
}

fn media_type(fixture: &Fixture) -> &'static str {
    match Format::from_file_name(&fixture.name).expect("a known extension") {
        Format::Json | Format::JsonArray => "application/json",
        Format::JsonLines => "application/x-ndjson",
        Format::Csv => "text/csv; charset=utf-8",
    }
}

/// The one agency a valid fixture's records come from.
fn agency_of(fixture: &Fixture) -> String {
    let format = Format::from_file_name(&fixture.name).expect("a known extension");
    let records = parse_batch(
        &fixture.bytes,
        format,
        chrono::Utc::now(),
        &Limits::default(),
    )
    .expect("a valid fixture");
    let agencies: Vec<String> = records
        .iter()
        .map(|parsed| parsed.record.source.agency.as_str().to_owned())
        .collect();
    let first = agencies
        .first()
        .cloned()
        .unwrap_or_else(|| AGENCIES[0].to_owned());
    assert!(
        agencies.iter().all(|agency| *agency == first),
        "{}: a valid fixture comes from one agency",
        fixture.name
    );
    first
}

/// A 422 answer's problems as the parser prints them.
fn problem_lines(answer: &Value) -> Vec<String> {
    let Some(problems) = answer["error"]["problems"].as_array() else {
        return vec![format!("not a list of problems: {answer}")];
    };
    problems
        .iter()
        .map(|problem| {
            let position = match &problem["position"] {
                Value::Object(map) => {
                    let (name, number) = map.iter().next().expect("a position");
                    format!("{name} {number}")
                }
                other => other.as_str().expect("batch").to_owned(),
            };
            let path = problem["path"].as_str().expect("path");
            let message = problem["message"].as_str().expect("message");
            let line = if path.is_empty() {
                format!("{position}: {message}")
            } else {
                format!("{position}: {path}: {message}")
            };
            without_receipt_time(&line)
        })
        .collect()
}

async fn every_fixture_gets_its_answer_over_http(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let mut failures = Vec::new();
    for fixture in interchange_fixtures::all() {
        let before = app.count();
        if fixture.is_valid() {
            let agency = agency_of(&fixture);
            let (status, answer) = app
                .post(&agency, media_type(&fixture), fixture.bytes.clone())
                .await;
            let actual = format!("{status} records {}", answer["records"]);
            let expected = format!(
                "200 OK records {}",
                fixture.expected[0].trim_start_matches("ok ")
            );
            if actual != expected {
                failures.push(format!(
                    "{}: {expected} != {actual}: {answer}",
                    fixture.name
                ));
            }
        } else {
            let (status, answer) = app
                .post(AGENCIES[0], media_type(&fixture), fixture.bytes.clone())
                .await;
            let actual = problem_lines(&answer);
            if status != StatusCode::UNPROCESSABLE_ENTITY
                || actual != fixture.expected
                || answer["error"]["n_problems"] != json!(fixture.expected.len())
            {
                failures.push(format!(
                    "{}: {status}\n  expected:\n    {}\n  actual:\n    {}",
                    fixture.name,
                    fixture.expected.join("\n    "),
                    actual.join("\n    ")
                ));
            }
            assert_eq!(app.count(), before, "{}: nothing stored", fixture.name);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

async fn versions_supersede_and_resending_is_a_no_op(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let versions = interchange_fixtures::all()
        .into_iter()
        .find(|fixture| fixture.name == "versions.jsonl")
        .expect("the versions fixture");
    let (status, counts) = app
        .post(
            "north-met-police",
            "application/x-ndjson",
            versions.bytes.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    // v1, v2, v1 again, v3 of DA-V and DA-W without a version (1).
    assert_eq!(
        (
            &counts["records"],
            &counts["stored"],
            &counts["duplicate"],
            &counts["superseded"]
        ),
        (&json!(5), &json!(4), &json!(1), &json!(2)),
        "{counts}"
    );
    assert_eq!(app.count(), 4);
    let response = app
        .client
        .get(app.server.url("/api/v1/records/north-met-police/DA-V"))
        .bearer_auth(&app.tokens["north-met-police"])
        .send()
        .await
        .expect("request");
    let history: Value = response.json().await.expect("json");
    assert_eq!(history["current_version"], 3);
    let numbers: Vec<i64> = history["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|version| version["version"].as_i64().expect("a number"))
        .collect();
    assert_eq!(numbers, [1, 2, 3], "every version kept in history");
    // The same file again stores nothing.
    let (status, counts) = app
        .post("north-met-police", "application/x-ndjson", versions.bytes)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&counts["stored"], &counts["duplicate"]),
        (&json!(0), &json!(5))
    );
    assert_eq!(app.count(), 4);
    // A lower version arriving after a higher one is kept as history and does
    // not become current.
    let late = |version: u32| {
        json!({"source": {"agency": "north-met-police", "record_id": "DA-LATE", "version": version},
               "kind": "police.call_out", "occurred_at": "2007-04-12",
               "persons": [{"ref": "c", "role": "subject", "given_names": "Leo"}]})
        .to_string()
        .into_bytes()
    };
    for version in [5, 4] {
        let (status, counts) = app
            .post("north-met-police", "application/x-ndjson", late(version))
            .await;
        assert_eq!((status, &counts["stored"]), (StatusCode::OK, &json!(1)));
    }
    let history: Value = app
        .client
        .get(app.server.url("/api/v1/records/north-met-police/DA-LATE"))
        .bearer_auth(&app.tokens["north-met-police"])
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(history["current_version"], 5, "{history}");
    assert_eq!(history["versions"].as_array().expect("versions").len(), 2);
}

/// A body the server must survive: arbitrary bytes, arbitrary JSON, or a valid
/// record with one byte changed.
fn arbitrary_body() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|number| json!(number)),
        "\\PC{0,12}".prop_map(Value::String),
        proptest::sample::select(vec![
            "north-met-police",
            "police.call_out",
            "subject",
            "2007-06-01",
            "c"
        ])
        .prop_map(|text| Value::String(text.to_owned())),
    ];
    let keys = proptest::sample::select(vec![
        "source",
        "agency",
        "record_id",
        "kind",
        "occurred_at",
        "persons",
        "ref",
        "role",
        "given_names",
        "findings",
        "code",
        "x",
    ]);
    let json_value = leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys.clone(), inner, 0..5).prop_map(|map| {
                Value::Object(map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    });
    let valid = r#"{"source": {"agency": "north-met-police", "record_id": "PROP-1"}, "kind": "police.call_out", "occurred_at": "2007-06-01", "persons": [{"ref": "c", "role": "subject", "given_names": "Leo"}]}"#;
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        json_value.prop_map(|value| value.to_string().into_bytes()),
        (0..valid.len(), any::<u8>()).prop_map(move |(at, byte)| {
            let mut bytes = valid.as_bytes().to_vec();
            bytes[at] = byte;
            bytes
        }),
    ]
}

async fn arbitrary_bodies_never_break_the_server_or_store_on_error(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(96));
    let strategy = (
        arbitrary_body(),
        proptest::sample::select(vec!["application/json", "application/x-ndjson", "text/csv"]),
    );
    for _ in 0..96 {
        let (body, content_type) = strategy.new_tree(&mut runner).expect("a case").current();
        let before = app.count();
        let (status, answer) = app
            .post("north-met-police", content_type, body.clone())
            .await;
        let shown = String::from_utf8_lossy(&body);
        match status {
            StatusCode::OK => {
                let stored = answer["stored"].as_u64().expect("stored");
                assert_eq!(app.count(), before + stored, "{shown}");
            }
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::FORBIDDEN => {
                assert!(answer["error"]["code"].is_string(), "{shown}: {answer}");
                assert_eq!(app.count(), before, "{shown}: nothing stored on error");
            }
            other => panic!("{content_type} {shown}: unexpected {other} {answer}"),
        }
    }
    // The server still answers after all that.
    let health = app
        .client
        .get(app.server.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
}

sightline_testkit::on_every_backend!(
    every_fixture_gets_its_answer_over_http,
    versions_supersede_and_resending_is_a_no_op,
    arbitrary_bodies_never_break_the_server_or_store_on_error,
);
