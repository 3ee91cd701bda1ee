//! Test support shared by Sightline's test suites: a fresh database per test on
//! each backend.
//!
//! PostgreSQL comes from, in order:
//! 1. `SIGHTLINE_TEST_PG_URL` (a server you run, such as the one `scripts/test`
//!    starts; each test gets a fresh database `sightline_test_<...>` that is
//!    dropped afterwards), else
//! 2. a throwaway cluster started once per test binary with `initdb` and `pg_ctl`
//!    from PATH (or Debian's `/usr/lib/postgresql/*/bin`), in a temporary
//!    directory, listening only on a Unix socket there (as root, the cluster runs as
//!    user `postgres` via `runuser`); a watchdog process stops it and removes the
//!    directory when the test binary exits, else
//! 3. nothing: the PostgreSQL tests are SKIPPED with a loud message on stderr, or
//!    fail when `CI=true`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Once, OnceLock};
use tempfile::TempDir;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database. Dropping it removes the database.
pub struct TestDatabase {
    pub backend: TestBackend,
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

/// A new SQLite database URL in a fresh temporary directory (the file is created
/// by whoever opens it first).
pub fn sqlite_database() -> TestDatabase {
    let directory = tempfile::tempdir().expect("temporary directory");
    let url = format!(
        "sqlite://{}",
        directory.path().join("sightline.db").display()
    );
    TestDatabase {
        backend: TestBackend::Sqlite,
        url,
        _cleanup: Cleanup::Directory(directory),
    }
}

/// A new empty PostgreSQL database, or `None` when PostgreSQL is not available
/// here (after saying so loudly; with `CI=true` this panics instead).
pub fn postgres_database() -> Option<TestDatabase> {
    let (admin_url, url, name) = pg_empty_database()?;
    Some(TestDatabase {
        backend: TestBackend::Postgres,
        url,
        _cleanup: Cleanup::PgDatabase { admin_url, name },
    })
}

/// A fresh database on every backend available here: SQLite always, PostgreSQL
/// when it can run (mandatory with `CI=true`).
pub fn all_databases() -> Vec<TestDatabase> {
    let mut databases = vec![sqlite_database()];
    databases.extend(postgres_database());
    databases
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
                     !!! Set SIGHTLINE_TEST_PG_URL or install PostgreSQL (initdb) to run them.\n{banner}\n"
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
pub fn pg_server() -> &'static Result<String, String> {
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
    let on_path = std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file());
    // Debian installs the server binaries outside PATH.
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| {
                entry
                    .ok()
                    .map(|entry| entry.path().join("bin").join(program))
            })
            .filter(|candidate| candidate.is_file())
            .collect();
        versions.sort();
        versions.pop()
    })
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
        .ok_or("SIGHTLINE_TEST_PG_URL is not set and initdb is not installed")?;
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

pub mod interchange_fixtures;

#[cfg(feature = "server")]
pub mod server;
