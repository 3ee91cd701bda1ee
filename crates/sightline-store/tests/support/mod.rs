//! Test support: fresh databases for each backend, and synthetic records.
//!
//! PostgreSQL comes from, in order:
//! 1. `SIGHTLINE_TEST_PG_URL` (a server you run; each test gets a fresh database
//!    `sightline_test_<random>` that is dropped afterwards), else
//! 2. a throwaway cluster started once per test binary with `initdb` and `pg_ctl`
//!    from PATH, in a temporary directory, listening only on a Unix socket there
//!    (as root, the cluster runs as user `postgres` via `runuser`); a watchdog
//!    process stops it and removes the directory when the test binary exits, else
//! 3. nothing: the PostgreSQL tests are SKIPPED with a loud message on stderr, or
//!    fail when `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Once, OnceLock};

use sightline_store::{NewRecord, Store};
use tempfile::TempDir;

/// A fresh database and a store opened on it. Dropping it removes the database.
pub struct TestDb {
    pub store: Box<dyn Store>,
    pub url: String,
    _cleanup: Cleanup,
}

#[allow(dead_code)] // Each variant is only read by its Drop.
enum Cleanup {
    Directory(TempDir),
    PgDatabase { admin_url: String, name: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Cleanup::PgDatabase { admin_url, name } = self
            && let Ok(mut client) = postgres::Client::connect(admin_url, postgres::NoTls)
        {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

impl TestDb {
    /// Runs one SQL statement on a separate raw connection, bypassing the store.
    pub fn execute_raw(&self, sql: &str) -> Result<(), String> {
        if let Some(path) = self.url.strip_prefix("sqlite://") {
            let connection = rusqlite::Connection::open(path).map_err(|error| error.to_string())?;
            connection
                .execute_batch(sql)
                .map_err(|error| error.to_string())
        } else {
            let mut client = postgres::Client::connect(&self.url, postgres::NoTls)
                .map_err(|error| error.to_string())?;
            client.batch_execute(sql).map_err(|error| {
                error
                    .as_db_error()
                    .map_or_else(|| error.to_string(), |db| db.message().to_owned())
            })
        }
    }
}

/// A new SQLite database file in a fresh temporary directory.
pub fn sqlite_db() -> TestDb {
    let directory = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", directory.path().join("store.db").display());
    let store = sightline_store::open(&url).expect("open sqlite store");
    TestDb {
        store,
        url,
        _cleanup: Cleanup::Directory(directory),
    }
}

/// A new PostgreSQL database, or `None` when PostgreSQL is not available here
/// (after saying so loudly; with `CI=true` this panics instead).
pub fn pg_db() -> Option<TestDb> {
    let (admin_url, url, name) = pg_empty_database()?;
    let store = sightline_store::open(&url).expect("open postgres store");
    Some(TestDb {
        store,
        url,
        _cleanup: Cleanup::PgDatabase { admin_url, name },
    })
}

/// Creates an empty database and returns (admin URL, its URL, its name).
pub fn pg_empty_database() -> Option<(String, String, String)> {
    let admin_url = match pg_server() {
        Ok(admin_url) => admin_url.clone(),
        Err(reason) => {
            if std::env::var("CI").is_ok_and(|value| value == "true") {
                panic!("PostgreSQL tests cannot run and CI=true: {reason}");
            }
            static WARN: Once = Once::new();
            WARN.call_once(|| {
                // Straight to the stderr handle: the test harness captures eprintln!.
                let banner = "!".repeat(72);
                let message = format!(
                    "\n{banner}\n!!! PostgreSQL tests SKIPPED: {reason}\n\
                     !!! Set SIGHTLINE_TEST_PG_URL or put initdb on PATH to run them.\n{banner}\n"
                );
                let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
            });
            return None;
        }
    };
    let name = unique_name("sightline_test");
    let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls)
        .expect("connect to the PostgreSQL admin database");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create test database");
    let url = with_database(&admin_url, &name);
    Some((admin_url, url, name))
}

/// A name unique to this process and call, safe as an SQL identifier.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Replaces the database name in a `postgres://` URL.
pub fn with_database(url: &str, database: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, format!("?{query}")),
        None => (rest, String::new()),
    };
    let authority = before_query
        .split_once('/')
        .map_or(before_query, |(authority, _)| authority);
    format!("{scheme}://{authority}/{database}{query}")
}

/// The admin URL of the PostgreSQL server the tests use, started on first call.
fn pg_server() -> &'static Result<String, String> {
    static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("SIGHTLINE_TEST_PG_URL")
            && !url.trim().is_empty()
        {
            return Ok(url);
        }
        start_throwaway_cluster()
    })
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Runs a PostgreSQL tool, as user `postgres` when we are root (PostgreSQL refuses
/// to run as root).
fn pg_command(as_postgres: bool, program: &Path) -> Command {
    if as_postgres {
        let mut command = Command::new("runuser");
        command.arg("-u").arg("postgres").arg("--").arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn start_throwaway_cluster() -> Result<String, String> {
    let initdb = find_on_path("initdb")
        .ok_or("SIGHTLINE_TEST_PG_URL is not set and initdb is not on PATH")?;
    let bin_dir = initdb.canonicalize().map_err(|error| error.to_string())?;
    let bin_dir = bin_dir.parent().ok_or("initdb has no directory")?;
    let pg_ctl = bin_dir.join("pg_ctl");
    let as_postgres = command_output("id", &["-u"]).as_deref() == Some("0");

    let directory = std::env::temp_dir().join(unique_name("sightline-store-pg"));
    std::fs::create_dir_all(&directory).map_err(|error| error.to_string())?;
    if as_postgres {
        let uid = command_output("id", &["-u", "postgres"])
            .ok_or("running as root and there is no user postgres")?;
        let gid = command_output("id", &["-g", "postgres"]).ok_or("no group for user postgres")?;
        let uid: u32 = uid.parse().map_err(|_| "bad uid for postgres")?;
        let gid: u32 = gid.parse().map_err(|_| "bad gid for postgres")?;
        std::os::unix::fs::chown(&directory, Some(uid), Some(gid))
            .map_err(|error| error.to_string())?;
    }
    let data = directory.join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| error.to_string())?;

    let status = pg_command(as_postgres, &initdb)
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
            "-D",
        ])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|error| format!("initdb could not run: {error}"))?;
    if !status.success() {
        return Err(format!("initdb failed ({status})"));
    }
    // No TCP at all: the server listens only on a socket in our private directory.
    let options = format!(
        "-c listen_addresses='' -k {} -p {port} -c max_connections=200",
        directory.display()
    );
    let status = pg_command(as_postgres, &pg_ctl)
        .args(["-w", "-t", "60", "-D"])
        .arg(&data)
        .arg("-l")
        .arg(directory.join("server.log"))
        .args(["-o", &options, "start"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|error| format!("pg_ctl could not run: {error}"))?;
    if !status.success() {
        return Err(format!(
            "pg_ctl start failed ({status}); see {}/server.log",
            directory.display()
        ));
    }

    // Stop the cluster and remove its directory once this test binary has exited.
    let stop = format!(
        "{}{} -D '{}' -m immediate stop",
        if as_postgres {
            "runuser -u postgres -- "
        } else {
            ""
        },
        pg_ctl.display(),
        data.display()
    );
    let watchdog = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        dir = directory.display()
    );
    Command::new("sh")
        .args(["-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("could not start the cluster watchdog: {error}"))?;

    Ok(format!(
        "postgresql:///postgres?host={}&port={port}&user=postgres",
        directory.display()
    ))
}

/// A synthetic record. `variant` changes the body and so the content hash.
pub fn record(agency: &str, record_id: &str, version: i64, variant: u8) -> NewRecord {
    let occurred_start_us = 1_176_417_600_000_000 + i64::from(variant) * 86_400_000_000;
    NewRecord {
        agency: agency.to_owned(),
        record_id: record_id.to_owned(),
        version,
        kind: "other.note".to_owned(),
        occurred_at: "2007-04-13".to_owned(),
        occurred_start_us,
        recorded_at_us: occurred_start_us + 3_600_000_000,
        received_at_us: occurred_start_us + 7_200_000_000,
        content_hash: [variant; 32],
        body: format!(
            "{{\"source\":{{\"agency\":\"{agency}\",\"record_id\":\"{record_id}\",\"version\":{version}}},\
             \"kind\":\"other.note\",\"narrative\":\"synthetic test note {variant}\"}}"
        ),
    }
}
