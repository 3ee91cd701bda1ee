//! `sightline org check`, run as the real binary: problems with line and key
//! (exit 1), a summary of a valid file, and with `--db` the agencies in the log
//! the file does not name and the recipients no active account reaches.

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
        // Nobody has an account yet: the duty team, the police lead and the
        // head of service are named as unheld.
        "warning: nobody with an active account receives the duty team of Haringate Council (team:haringate-csc/duty): its alerts go to the head of service at once; create an account that does (sightline user create)".to_owned(),
        "warning: nobody with an active account receives the head of service of Haringate Council (team:haringate-csc/head-of-service): alerts nobody else can receive go to the local authority's duty team".to_owned(),
        "warning: nobody with an active account receives the police safeguarding lead (team:north-met-police/public-protection): its alerts go to the head of service at once".to_owned(),
        format!("{good_name}: valid, 5 warning(s)"),
    ] {
        assert!(stdout.contains(&expected), "{expected}\nin\n{stdout}");
    }
}

#[test]
fn rules_check_and_serve_refuse_routes_nobody_can_receive() {
    let dir = tempfile::tempdir().unwrap();
    // No health safeguarding lead: the default pack's routes to one are refused.
    let without_lead = dir.path().join("organisation.toml");
    std::fs::write(&without_lead, ORGANISATION).unwrap();
    let without_lead = without_lead.display().to_string();
    let pack = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sightline-rules/rules/default.rules"
    );
    let checked = sightline(&["rules", "check", pack, "--org", &without_lead]);
    assert_eq!(checked.status.code(), Some(1), "{}", text(&checked.stdout));
    let stdout = text(&checked.stdout);
    assert!(
        stdout.contains(
            ": route health_safeguarding_lead: the organisation names no health safeguarding lead"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("route problem(s): nobody in"), "{stdout}");

    // With the example organisation every route is received.
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/organisation.toml"
    );
    let checked = sightline(&["rules", "check", pack, "--org", example]);
    assert!(checked.status.success(), "{}", text(&checked.stdout));
    // With a database whose accounts receive none of them: warnings, not
    // refusal (the alerts go to the head of service, or the duty team).
    let accounts_db = format!("sqlite://{}", dir.path().join("accounts.db").display());
    let checked = sightline(&[
        "rules",
        "check",
        pack,
        "--org",
        example,
        "--db",
        &accounts_db,
    ]);
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    let stdout = text(&checked.stdout);
    for expected in [
        ": warning: nobody with an active account receives the duty team of Haringate Council (team:haringate-csc/duty)",
        ": warning: nobody with an active account receives the health safeguarding lead (role:haringate-icb/safeguarding_lead)",
        ": warning: nobody with an active account receives the head of service of Haringate Council (team:haringate-csc/head-of-service)",
    ] {
        assert!(stdout.contains(expected), "{expected}\nin\n{stdout}");
    }
    let without_org = sightline(&["rules", "check", pack, "--db", &accounts_db]);
    assert!(!without_org.status.success());
    assert!(
        text(&without_org.stderr).contains("--db needs --org"),
        "{}",
        text(&without_org.stderr)
    );

    // The server refuses to start without an organisation, and with one that
    // leaves a route unreceivable.
    let db = format!("sqlite://{}", dir.path().join("serve.db").display());
    let refused = sightline(&["serve", "--db", &db, "--addr", "127.0.0.1:0"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("no organisation: give the file of agencies"),
        "{}",
        text(&refused.stderr)
    );
    let refused = sightline(&[
        "serve",
        "--db",
        &db,
        "--addr",
        "127.0.0.1:0",
        "--org",
        &without_lead,
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("the rule pack routes alerts nobody in the organisation can receive")
            && stderr.contains("health_safeguarding_lead"),
        "{stderr}"
    );

    // With a valid organisation and no accounts, it starts and warns that
    // nobody receives the duty team, the leads or the head of service.
    let mut server = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args([
            "serve",
            "--db",
            &db,
            "--addr",
            "127.0.0.1:0",
            "--org",
            example,
        ])
        .env_remove("SIGHTLINE_ORG")
        .env("SIGHTLINE_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(server.stderr.take().unwrap()));
    let mut printed = Vec::new();
    loop {
        let line = lines.next().expect("server exited").unwrap();
        if line.contains("serving on") {
            break;
        }
        printed.push(line);
    }
    server.kill().unwrap();
    server.wait().unwrap();
    for expected in [
        "nobody with an active account receives the duty team of Haringate Council (team:haringate-csc/duty)",
        "nobody with an active account receives the health safeguarding lead (role:haringate-icb/safeguarding_lead)",
        "nobody with an active account receives the head of service of Haringate Council (team:haringate-csc/head-of-service)",
    ] {
        assert!(
            printed.iter().any(|line| line.contains(expected)),
            "{expected} in {printed:#?}"
        );
    }
}

#[test]
fn user_create_checks_agency_and_team_against_the_organisation() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("users.db").display());
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/organisation.toml"
    );
    let create = |agency: &str, team: &str, username: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sightline"))
            .args([
                "user",
                "create",
                "--role",
                "practitioner",
                "--agency",
                agency,
                "--team",
                team,
                "--username",
                username,
                "--db",
                &db,
                "--org",
                example,
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"a long synthetic password\n")
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let created = create("haringate-csc", "duty", "duty.worker");
    assert!(created.status.success(), "{}", text(&created.stderr));
    let refused = create("haringate-cs", "duty", "other.worker");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("--agency: \"haringate-cs\" is not an agency of the organisation \"Haringate safeguarding partnership (example)\" (did you mean \"haringate-csc\"?)"),
        "{}",
        text(&refused.stderr)
    );
    let refused = create("haringate-csc", "dutty", "other.worker");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("--team: Haringate Children's Services (haringate-csc) has no team \"dutty\" (its teams: duty, head-of-service) (did you mean \"duty\"?)"),
        "{}",
        text(&refused.stderr)
    );
}
