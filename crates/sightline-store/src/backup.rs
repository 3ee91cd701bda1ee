//! Online backups (`sightline backup`): a consistent copy of a database that
//! is in use. SQLite through its online backup API (the copy is a database
//! file like the original, taken page by page while the server keeps
//! writing; restore by putting it where the server's URL points).
//! PostgreSQL through `pg_dump` in its custom format (restore with
//! `pg_restore` into an empty database); `docs/operators.md`, "Backup and
//! restore", has the drill.

use crate::StoreError;
use crate::url::{self, DatabaseUrl, SqliteLocation};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// `sqlite` (a database file) or `postgres` (a `pg_dump` custom-format archive).
    pub format: &'static str,
    /// The size of what was written.
    pub bytes: u64,
    /// The records in the copy (SQLite: counted in the copy itself).
    pub records: Option<u64>,
}

/// Pages copied per step of SQLite's backup, and the pause between steps, so
/// that the server's writers get the database between steps.
const SQLITE_PAGES_PER_STEP: std::ffi::c_int = 1024;
const SQLITE_PAUSE: Duration = Duration::from_millis(5);

/// Writes a consistent copy of the database at `url` to `destination`, which
/// must not exist.
pub fn backup(url: &str, destination: &Path) -> Result<BackupReport, StoreError> {
    if destination.exists() {
        return Err(StoreError::Backup {
            reason: format!(
                "{} already exists: a backup never overwrites a file",
                destination.display()
            ),
        });
    }
    match url::parse(url)? {
        DatabaseUrl::Sqlite(SqliteLocation::File(path)) => sqlite(&path, destination),
        DatabaseUrl::Sqlite(SqliteLocation::Memory) => Err(StoreError::Backup {
            reason: "an in-memory database has nothing to back up".to_owned(),
        }),
        DatabaseUrl::Postgres(config) => postgres(&config, destination),
    }
}

fn sqlite(source: &Path, destination: &Path) -> Result<BackupReport, StoreError> {
    if !source.exists() {
        return Err(StoreError::Backup {
            reason: format!("{} does not exist", source.display()),
        });
    }
    // Only read: the backup API takes the source's pages under a read lock.
    let source = rusqlite::Connection::open(source)?;
    source.busy_timeout(Duration::from_secs(30))?;
    let mut copy = rusqlite::Connection::open(destination)?;
    {
        let backup = rusqlite::backup::Backup::new(&source, &mut copy)?;
        backup.run_to_completion(SQLITE_PAGES_PER_STEP, SQLITE_PAUSE, None)?;
    }
    // The copy is checked as a database, and counted.
    let integrity: String = copy.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
    if integrity != "ok" {
        return Err(StoreError::Backup {
            reason: format!("the copy fails SQLite's integrity check: {integrity}"),
        });
    }
    let records: i64 = copy.query_row("SELECT count(*) FROM records", [], |row| row.get(0))?;
    drop(copy);
    Ok(BackupReport {
        format: "sqlite",
        bytes: std::fs::metadata(destination)?.len(),
        records: Some(u64::try_from(records).unwrap_or(0)),
    })
}

/// `pg_dump --format=custom`, connected by the URL's settings passed in the
/// environment (`PGHOST`...), never on its command line, where any user of
/// the machine could read a password.
fn postgres(config: &postgres::Config, destination: &Path) -> Result<BackupReport, StoreError> {
    let mut command = Command::new("pg_dump");
    command
        .arg("--format=custom")
        .arg("--no-owner")
        .arg("--file")
        .arg(destination);
    for variable in [
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGPASSWORD",
        "PGDATABASE",
        "PGSERVICE",
    ] {
        command.env_remove(variable);
    }
    if let Some(host) = config.get_hosts().first() {
        match host {
            postgres::config::Host::Tcp(name) => command.env("PGHOST", name),
            postgres::config::Host::Unix(path) => command.env("PGHOST", path),
        };
    }
    if let Some(port) = config.get_ports().first() {
        command.env("PGPORT", port.to_string());
    }
    if let Some(user) = config.get_user() {
        command.env("PGUSER", user);
    }
    if let Some(password) = config.get_password() {
        command.env("PGPASSWORD", String::from_utf8_lossy(password).into_owned());
    }
    if let Some(database) = config.get_dbname() {
        command.env("PGDATABASE", database);
    }
    let output = command.output().map_err(|error| StoreError::Backup {
        reason: format!("could not run pg_dump (install PostgreSQL's client tools): {error}"),
    })?;
    if !output.status.success() {
        let _ = std::fs::remove_file(destination);
        return Err(StoreError::Backup {
            reason: format!(
                "pg_dump failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    Ok(BackupReport {
        format: "postgres",
        bytes: std::fs::metadata(destination)?.len(),
        records: None,
    })
}
