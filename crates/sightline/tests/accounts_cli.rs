//! `sightline user create`, `user create-demo` and `audit verify`, run as the real
//! binary; tampering with the audit table is detected with exit status 1.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn sightline(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn users_are_created_without_printing_secrets_and_tampering_is_detected() {
    for db in sightline_testkit::all_databases() {
        let url = db.url.as_str();
        let created = sightline(
            &[
                "user",
                "create",
                "--role",
                "team_manager",
                "--agency",
                "police",
                "--team",
                "north",
                "--username",
                "synthetic.manager",
                "--password-stdin",
                "--db",
                url,
            ],
            "synthetic password 1\n",
        );
        assert!(created.status.success(), "{}", text(&created.stderr));
        let printed = text(&created.stdout) + &text(&created.stderr);
        assert!(
            printed.contains("synthetic.manager") && !printed.contains("synthetic password 1"),
            "{printed}"
        );
        let weak = sightline(
            &[
                "user",
                "create",
                "--role",
                "practitioner",
                "--agency",
                "police",
                "--username",
                "synthetic.weak",
                "--db",
                url,
            ],
            "short\n",
        );
        assert!(!weak.status.success());
        let bad_role = sightline(
            &[
                "user",
                "create",
                "--role",
                "boss",
                "--agency",
                "police",
                "--username",
                "synthetic.boss",
                "--db",
                url,
            ],
            "synthetic password 1\n",
        );
        assert!(!bad_role.status.success());
        assert!(text(&bad_role.stderr).contains("unknown role"));

        let demo = sightline(&["user", "create-demo", "--db", url], "");
        assert!(demo.status.success(), "{}", text(&demo.stderr));
        let demo = text(&demo.stdout);
        for role in [
            "practitioner",
            "team_manager",
            "safeguarding_lead",
            "privacy_officer",
            "administrator",
        ] {
            assert!(demo.contains(role), "{demo}");
        }

        let verified = sightline(&["audit", "verify", "--db", url], "");
        assert!(verified.status.success(), "{}", text(&verified.stdout));
        assert!(
            text(&verified.stdout).contains("audit chain intact: 6 entries"),
            "{}",
            text(&verified.stdout)
        );

        // An operator with database access bypasses the trigger and edits a row.
        tamper(url);
        let broken = sightline(&["audit", "verify", "--db", url], "");
        assert_eq!(broken.status.code(), Some(1));
        assert_eq!(
            text(&broken.stdout).trim(),
            "audit chain broken at entry 3: the stored hash does not match the entry's content"
        );
    }
}

/// Finding 10 (in part) and 11: a token is revoked from the command line at
/// once, and creating and revoking tokens are audited.
#[test]
fn tokens_are_revoked_from_the_command_line_and_audited() {
    for db in sightline_testkit::all_databases() {
        let url = db.url.as_str();
        let created = sightline(&["token", "create", "--agency", "police", "--db", url], "");
        assert!(created.status.success(), "{}", text(&created.stderr));
        let secret = text(&created.stdout).trim().to_owned();
        let store = sightline_store::open(url).unwrap();
        assert!(
            sightline_app::token_agency(store.as_ref(), &secret)
                .unwrap()
                .is_some()
        );
        let id = store.accounts().list_tokens(1).unwrap()[0].id.to_string();
        let revoked = sightline(&["token", "revoke", "--id", &id, "--db", url], "");
        assert!(revoked.status.success(), "{}", text(&revoked.stderr));
        assert!(
            sightline_app::token_agency(store.as_ref(), &secret)
                .unwrap()
                .is_none(),
            "a revoked token authenticates nothing"
        );
        let again = sightline(&["token", "revoke", "--id", &id, "--db", url], "");
        assert_eq!(again.status.code(), Some(1), "{}", text(&again.stderr));
        let audited: Vec<(String, String, String)> =
            sightline_app::audit::recent_entries(store.as_ref(), None, 100)
                .unwrap()
                .into_iter()
                .rev()
                .map(|entry| (entry.action, entry.resource_key, entry.outcome))
                .collect();
        let token = format!("token:{id}");
        assert_eq!(
            audited,
            [
                (
                    "create_token".to_owned(),
                    "agency:police".to_owned(),
                    "ok".to_owned()
                ),
                ("revoke_token".to_owned(), token.clone(), "ok".to_owned()),
                ("revoke_token".to_owned(), token, "not_found".to_owned()),
            ]
        );
    }
}

/// Finding 10: `user disable` stops an account signing in at once and
/// `user enable` lets it in again, each audited; each refuses what is already
/// so (exit status 1).
#[test]
fn users_are_disabled_and_enabled_from_the_command_line_and_audited() {
    for db in sightline_testkit::all_databases() {
        let url = db.url.as_str();
        let created = sightline(
            &[
                "user",
                "create",
                "--role",
                "practitioner",
                "--agency",
                "police",
                "--username",
                "synthetic.leaver",
                "--db",
                url,
            ],
            "synthetic password 1\n",
        );
        assert!(created.status.success(), "{}", text(&created.stderr));
        let store = sightline_store::open(url).unwrap();
        let policy = sightline_app::accounts::SessionPolicy::default();
        let signs_in = || {
            matches!(
                sightline_app::accounts::login(
                    store.as_ref(),
                    "synthetic.leaver",
                    "synthetic password 1",
                    None,
                    chrono::Utc::now(),
                    &policy,
                )
                .unwrap(),
                sightline_app::accounts::LoginOutcome::SignedIn { .. }
            )
        };
        assert!(signs_in());
        let user = |command: &str| {
            sightline(
                &[
                    "user",
                    command,
                    "--username",
                    "synthetic.leaver",
                    "--db",
                    url,
                ],
                "",
            )
        };
        let disabled = user("disable");
        assert!(disabled.status.success(), "{}", text(&disabled.stderr));
        assert!(!signs_in(), "a disabled user cannot sign in");
        assert_eq!(user("disable").status.code(), Some(1));
        let enabled = user("enable");
        assert!(enabled.status.success(), "{}", text(&enabled.stderr));
        assert!(signs_in());
        assert_eq!(user("enable").status.code(), Some(1));
        let missing = sightline(
            &["user", "disable", "--username", "nobody.here", "--db", url],
            "",
        );
        assert_eq!(missing.status.code(), Some(1));
        let audited: Vec<(String, String)> =
            sightline_app::audit::recent_entries(store.as_ref(), None, 100)
                .unwrap()
                .into_iter()
                .rev()
                .filter(|entry| {
                    entry.action.ends_with("able_user") || entry.action == "activate_user"
                })
                .map(|entry| (entry.action, entry.outcome))
                .collect();
        let row = |action: &str, outcome: &str| (action.to_owned(), outcome.to_owned());
        assert_eq!(
            audited,
            [
                row("disable_user", "ok"),
                row("disable_user", "not_found"),
                row("activate_user", "ok"),
                row("activate_user", "not_found"),
            ]
        );
    }
}

/// Finding 5 at the command line: `link decide --match` of two records the
/// review queue does not offer, or with a reason that is not a sentence, is
/// refused (exit status not 0), stores nothing and is audited as refused.
#[test]
fn link_decide_refuses_a_merge_the_queue_does_not_offer() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/sample.jsonl");
    for db in sightline_testkit::all_databases() {
        let url = db.url.as_str();
        let ingested = sightline(&["ingest", "--db", url, sample], "");
        assert!(ingested.status.success(), "{}", text(&ingested.stderr));
        // Leo's police record and Jason's emergency department record: the
        // linkage never scored them as possibly one person.
        let (left, right) = (
            "north-general-ed/ED-77813/nok",
            "north-met-police/DA-2007-0412/c",
        );
        for reason in ["Same person: confirmed by phone with both agencies", "same"] {
            let decided = sightline(
                &[
                    "link",
                    "decide",
                    "--db",
                    url,
                    "--left",
                    left,
                    "--right",
                    right,
                    "--match",
                    "--reason",
                    reason,
                    "--actor",
                    "synthetic.operator",
                ],
                "",
            );
            assert!(!decided.status.success(), "{reason}");
            assert!(
                text(&decided.stderr).contains("decision refused"),
                "{}",
                text(&decided.stderr)
            );
        }
        let store = sightline_store::open(url).unwrap();
        assert!(store.linkage().decisions(0, 10).unwrap().is_empty());
        let refused: Vec<(String, String, String)> =
            sightline_app::audit::recent_entries(store.as_ref(), None, 100)
                .unwrap()
                .into_iter()
                .rev()
                .filter(|entry| entry.action == "decide_linkage")
                .map(|entry| (entry.resource_key, entry.basis, entry.outcome))
                .collect();
        let pair = format!("linkage:{left}|{right}");
        assert_eq!(
            refused,
            [
                (
                    pair.clone(),
                    "not_offered_for_review".to_owned(),
                    "refused".to_owned()
                ),
                (pair, "reason_too_short".to_owned(), "refused".to_owned()),
            ]
        );
    }
}

fn tamper(url: &str) {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let connection = rusqlite::Connection::open(path).unwrap();
        connection
            .execute_batch("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET resource_key = 'user:99' WHERE seq = 3;")
            .unwrap();
    } else {
        let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
        client
            .batch_execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete; UPDATE audit_log SET resource_key = 'user:99' WHERE seq = 3;")
            .unwrap();
    }
}

/// Each kind of tampering with the rows (behind the triggers' back) on each
/// backend, and the entry `audit verify` names.
#[test]
fn every_kind_of_tampering_is_detected_on_both_backends() {
    let cases: [(&str, &[&str], i64); 5] = [
        (
            "update",
            &["UPDATE audit_log SET outcome = 'deny' WHERE seq = 3"],
            3,
        ),
        ("delete", &["DELETE FROM audit_log WHERE seq = 3"], 4),
        ("delete newest", &["DELETE FROM audit_log WHERE seq = 5"], 5),
        (
            "insert",
            &[
                "INSERT INTO audit_log SELECT 6, at_us, actor_user_id, actor_username, actor_role, actor_agency, \
               action, resource_key, basis, outcome, prev_hash, entry_hash FROM audit_log WHERE seq = 2",
            ],
            6,
        ),
        (
            "reorder",
            &[
                "UPDATE audit_log SET seq = 100 WHERE seq = 2",
                "UPDATE audit_log SET seq = 2 WHERE seq = 3",
                "UPDATE audit_log SET seq = 3 WHERE seq = 100",
            ],
            2,
        ),
    ];
    for (name, statements, broken_seq) in cases {
        for db in sightline_testkit::all_databases() {
            let url = db.url.as_str();
            let demo = sightline(&["user", "create-demo", "--db", url], "");
            assert!(demo.status.success(), "{}", text(&demo.stderr));
            assert!(
                sightline(&["audit", "verify", "--db", url], "")
                    .status
                    .success()
            );
            run_unguarded(url, statements);
            let broken = sightline(&["audit", "verify", "--db", url], "");
            assert_eq!(broken.status.code(), Some(1), "{name} on {url}");
            let message = text(&broken.stdout);
            assert!(
                message.starts_with(&format!("audit chain broken at entry {broken_seq}:")),
                "{name} on {url}: {message}"
            );
        }
    }
}

/// Runs statements with the audit table's triggers out of the way.
fn run_unguarded(url: &str, statements: &[&str]) {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let connection = rusqlite::Connection::open(path).unwrap();
        connection
            .execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
            .unwrap();
        for statement in statements {
            connection.execute_batch(statement).unwrap();
        }
    } else {
        let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
        client
            .batch_execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
            .unwrap();
        for statement in statements {
            client.batch_execute(statement).unwrap();
        }
    }
}
