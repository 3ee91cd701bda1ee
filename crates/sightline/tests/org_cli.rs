//! `sightline org check`, run as the real binary: problems with line and key
//! (exit 1), a summary of a valid file, and with `--db` the agencies in the log
//! the file does not name.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::process::{Command, Output};

fn sightline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(args)
        .env_remove("SIGHTLINE_ORG")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const ORGANISATION: &str = r#"name = "Haringate partnership"

[safeguarding_leads]
police = "team:north-met-police/public-protection"

[[local_authority]]
id = "haringate"
name = "Haringate Council"
duty_team = "team:haringate-csc/duty"
head_of_service = "team:haringate-csc/head-of-service"

[[agency]]
id = "haringate-csc"
name = "Haringate Children's Services"
type = "social_care"
teams = [
  { id = "duty", name = "Duty team" },
  { id = "head-of-service", name = "Head of service" },
]

[[agency]]
id = "north-met-police"
name = "North Metropolitan Police"
type = "police"
teams = [{ id = "public-protection", name = "Public protection unit" }]
"#;

#[test]
fn org_check_reports_problems_a_summary_and_unnamed_agencies() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("organisation.toml");
    std::fs::write(&good, ORGANISATION).unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        ORGANISATION
            .replace("type = \"police\"", "type = \"polce\"")
            .replace("team:haringate-csc/duty", "team:haringate-csc/dutty"),
    )
    .unwrap();
    let bad_name = bad.display().to_string();

    let checked = sightline(&["org", "check", &bad_name]);
    assert_eq!(checked.status.code(), Some(1), "{}", text(&checked.stderr));
    let stdout = text(&checked.stdout);
    for expected in [
        format!(
            "{bad_name}:9: local_authority.duty_team: \"team:haringate-csc/dutty\": agency \"haringate-csc\" has no team \"dutty\" (its teams: \"duty\", \"head-of-service\") (did you mean \"duty\"?)"
        ),
        format!(
            "{bad_name}:24: agency.type: \"polce\" is not an agency type (one of \"social_care\", \"police\", \"health\", \"school\", \"probation\", \"housing\", \"other\") (did you mean \"police\"?)"
        ),
        format!("{bad_name}: 3 problem(s)"),
    ] {
        assert!(stdout.contains(&expected), "{expected}\nin\n{stdout}");
    }

    let good_name = good.display().to_string();
    let checked = sightline(&["org", "check", &good_name]);
    assert!(checked.status.success(), "{}", text(&checked.stdout));
    let stdout = text(&checked.stdout);
    assert!(
        stdout.contains("\"Haringate partnership\": 2 agencies, 1 local authority"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Haringate Council (haringate), the default: duty team team:haringate-csc/duty, head of service team:haringate-csc/head-of-service"),
        "{stdout}"
    );
    assert!(
        stdout.contains("no health safeguarding lead (a rule pack routing to one is refused)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{good_name}: valid, 0 warning(s)")),
        "{stdout}"
    );

    // With the log of examples/sample.jsonl: its GP and emergency department are
    // not named, and get fallback profiles.
    let db = format!("sqlite://{}", dir.path().join("log.db").display());
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/sample.jsonl");
    let ingested = sightline(&["ingest", sample, "--db", &db]);
    assert!(ingested.status.success(), "{}", text(&ingested.stderr));
    let checked = sightline(&["org", "check", &good_name, "--db", &db]);
    assert!(checked.status.success(), "{}", text(&checked.stdout));
    let stdout = text(&checked.stdout);
    for expected in [
        format!(
            "warning: agency \"north-general-ed\" has records in the log but is not named in {good_name}: it is shown by its id, as health (the type its records suggest), in Haringate Council"
        ),
        format!(
            "warning: agency \"st-annes-gp\" has records in the log but is not named in {good_name}: it is shown by its id, as health (the type its records suggest), in Haringate Council"
        ),
        format!("{good_name}: valid, 2 warning(s)"),
    ] {
        assert!(stdout.contains(&expected), "{expected}\nin\n{stdout}");
    }
}
