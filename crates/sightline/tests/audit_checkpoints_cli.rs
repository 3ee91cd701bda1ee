//! `sightline audit keygen`, `serve --audit-checkpoints` and `audit verify
//! --checkpoints`, run as the real binary on each backend: the server signs a
//! checkpoint at start and one more at shutdown, and a truncation of the log
//! with its head moved back, which the chain alone cannot see, is found.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn sightline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(args)
        .env("SIGHTLINE_LOG", "warn")
        .env_remove("SIGHTLINE_AUDIT_KEY")
        .env_remove("SIGHTLINE_AUDIT_CHECKPOINTS")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn size_of_latest(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("checkpoint")).ok()?;
    text.lines().nth(1).map(str::to_owned)
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn create_user(url: &str, username: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args([
            "user",
            "create",
            "--role",
            "practitioner",
            "--agency",
            "police",
            "--username",
            username,
            "--password-stdin",
            "--db",
            url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"synthetic password 1\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn the_server_signs_checkpoints_and_verify_finds_a_truncation() {
    for db in sightline_testkit::all_databases() {
        let url = db.url.as_str();
        let work = tempfile::tempdir().unwrap();
        let key = work.path().join("audit.key");
        let dir = work.path().join("checkpoints");
        let key_text = key.to_str().unwrap();
        let generated = sightline(&[
            "audit",
            "keygen",
            "--out",
            key_text,
            "--name",
            "audit.test.invalid/sightline",
        ]);
        assert!(generated.status.success(), "{}", text(&generated.stderr));
        let verifier = text(&generated.stdout);
        assert!(
            verifier.starts_with("audit.test.invalid/sightline+"),
            "{verifier}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // Never overwrites a key.
        assert!(
            !sightline(&["audit", "keygen", "--out", key_text, "--name", "x"])
                .status
                .success()
        );
        let demo = sightline(&["user", "create-demo", "--db", url]);
        assert!(demo.status.success(), "{}", text(&demo.stderr));

        let mut server = Command::new(env!("CARGO_BIN_EXE_sightline"))
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--db",
                url,
                "--audit-checkpoints",
                dir.to_str().unwrap(),
                "--audit-key",
                key_text,
                "--org",
                concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../examples/organisation.toml"
                ),
            ])
            .env("SIGHTLINE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = server.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        loop {
            let line = lines.next().expect("server exited").unwrap();
            if line.contains("serving on") {
                break;
            }
        }
        let logged = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
        // The first checkpoint is signed at start: the entries of create-demo.
        wait_for("first checkpoint", || size_of_latest(&dir).is_some());
        let first: u64 = size_of_latest(&dir).unwrap().parse().unwrap();
        assert!(first >= 5, "{first}");
        // Another process writes to the log while the server runs; the
        // checkpoint at shutdown covers it.
        create_user(url, "synthetic.later");
        let terminated = Command::new("kill")
            .args(["-TERM", &server.id().to_string()])
            .status()
            .unwrap();
        assert!(terminated.success());
        let status = server.wait().unwrap();
        let logged = logged.join().unwrap();
        assert!(status.success(), "{status}: {logged:?}");
        let last = first + 1;
        assert_eq!(size_of_latest(&dir), Some(last.to_string()));

        let public = format!("{key_text}.pub");
        let verified = sightline(&[
            "audit",
            "verify",
            "--db",
            url,
            "--checkpoints",
            dir.to_str().unwrap(),
            "--key",
            &public,
        ]);
        assert!(verified.status.success(), "{}", text(&verified.stdout));
        assert!(
            text(&verified.stdout).starts_with(&format!(
                "audit chain intact: {last} entries, agreeing with"
            )),
            "{}",
            text(&verified.stdout)
        );

        // The newest entry removed and the head moved back to the one before.
        truncate_newest(url, last);
        let chain_only = sightline(&["audit", "verify", "--db", url]);
        assert!(chain_only.status.success(), "the chain alone is fooled");
        let checked = sightline(&[
            "audit",
            "verify",
            "--db",
            url,
            "--checkpoints",
            dir.to_str().unwrap(),
            "--key",
            key_text,
        ]);
        assert_eq!(checked.status.code(), Some(1));
        assert!(
            text(&checked.stdout)
                .starts_with(&format!("audit log truncated: it has {first} entries but")),
            "{}",
            text(&checked.stdout)
        );
    }
}

fn truncate_newest(url: &str, newest: u64) {
    let before = newest - 1;
    let statements = format!(
        "DELETE FROM audit_log WHERE seq = {newest}; \
         UPDATE audit_head SET seq = {before}, entry_hash = (SELECT entry_hash FROM audit_log WHERE seq = {before});"
    );
    if let Some(path) = url.strip_prefix("sqlite://") {
        let connection = rusqlite::Connection::open(path).unwrap();
        connection
            .execute_batch(&format!(
                "DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_head_forward_only; {statements}"
            ))
            .unwrap();
    } else {
        let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!(
                "ALTER TABLE audit_log DISABLE TRIGGER USER; ALTER TABLE audit_head DISABLE TRIGGER USER; {statements}"
            ))
            .unwrap();
    }
}
