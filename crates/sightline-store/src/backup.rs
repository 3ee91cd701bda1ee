//! Online backups (`sightline backup`): a consistent copy of a database that
//! is in use. SQLite through its online backup API (the copy is a database
//! file like the original, taken page by page while the server keeps
//! writing; restore by putting it where the server's URL points).
//! PostgreSQL through `pg_dump` in its custom format (restore with
//! `pg_restore` into an empty database); `docs/operators.md`, "Backup and
//! restore", has the drill. [`restore`] (`sightline restore`) puts a backup
//! into a new database: never over one that exists or holds tables.

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

/// `program` (a PostgreSQL client tool) connected by the URL's settings
/// passed in the environment (`PGHOST`...), never on its command line, where
/// any user of the machine could read a password.
fn pg_command(program: &str, config: &postgres::Config) -> Command {
    let mut command = Command::new(program);
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
    command
}

/// `pg_dump --format=custom` ([`pg_command`]).
fn postgres(config: &postgres::Config, destination: &Path) -> Result<BackupReport, StoreError> {
    let mut command = pg_command("pg_dump", config);
    command
        .arg("--format=custom")
        .arg("--no-owner")
        .arg("--file")
        .arg(destination);
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

/// What a restore wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// `sqlite` or `postgres`.
    pub format: &'static str,
    /// The records in the restored database.
    pub records: u64,
}

/// Restores a backup written by [`backup`] into a new database at `url`:
/// for SQLite a file that must not exist (the backup is checked as a database
/// and copied with SQLite's backup API), for PostgreSQL an existing database
/// that holds no table yet (`pg_restore` of the archive). Then opens it (so
/// the migrations of this version apply to an older backup) and counts its
/// records. The audit chain is the caller's to verify.
pub fn restore(source: &Path, url: &str) -> Result<RestoreReport, StoreError> {
    if !source.is_file() {
        return Err(StoreError::Backup {
            reason: format!("{} is not a backup file", source.display()),
        });
    }
    let format = match url::parse(url)? {
        DatabaseUrl::Sqlite(SqliteLocation::File(path)) => {
            restore_sqlite(source, &path)?;
            "sqlite"
        }
        DatabaseUrl::Sqlite(SqliteLocation::Memory) => {
            return Err(StoreError::Backup {
                reason: "restore into a database file, not into memory".to_owned(),
            });
        }
        DatabaseUrl::Postgres(config) => {
            restore_postgres(source, &config)?;
            "postgres"
        }
    };
    let records = crate::open(url)?.count_records()?;
    Ok(RestoreReport { format, records })
}

fn restore_sqlite(source: &Path, destination: &Path) -> Result<(), StoreError> {
    if destination.exists() {
        return Err(StoreError::Backup {
            reason: format!(
                "{} already exists: a restore goes into a new database, never over one",
                destination.display()
            ),
        });
    }
    let backup = rusqlite::Connection::open_with_flags(
        source,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let not_a_backup = |why: String| StoreError::Backup {
        reason: format!("{} is not a Sightline backup: {why}", source.display()),
    };
    let integrity: String = backup
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(|error| not_a_backup(error.to_string()))?;
    if integrity != "ok" {
        return Err(not_a_backup(format!(
            "SQLite's integrity check says {integrity}"
        )));
    }
    let migrations: i64 = backup
        .query_row("SELECT count(*) FROM schema_migrations", [], |row| {
            row.get(0)
        })
        .map_err(|_| not_a_backup("it has no schema_migrations table".to_owned()))?;
    if migrations == 0 {
        return Err(not_a_backup(
            "no migration was ever applied to it".to_owned(),
        ));
    }
    let mut copy = rusqlite::Connection::open(destination)?;
    let copied = rusqlite::backup::Backup::new(&backup, &mut copy)
        .and_then(|step| step.run_to_completion(SQLITE_PAGES_PER_STEP, SQLITE_PAUSE, None));
    if let Err(error) = copied {
        drop(copy);
        let _ = std::fs::remove_file(destination);
        return Err(error.into());
    }
    Ok(())
}

fn restore_postgres(source: &Path, config: &postgres::Config) -> Result<(), StoreError> {
    let database = config
        .get_dbname()
        .ok_or_else(|| StoreError::Backup {
            reason: "the PostgreSQL URL names no database to restore into".to_owned(),
        })?
        .to_owned();
    // Never over a database in use: the target holds no table yet.
    let mut client = config.connect(postgres::NoTls)?;
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables \
             WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
            &[],
        )?
        .try_get(0)?;
    drop(client);
    if tables > 0 {
        return Err(StoreError::Backup {
            reason: format!(
                "database {database} already holds {tables} table(s): restore into a new, empty database (createdb)"
            ),
        });
    }
    let output = pg_command("pg_restore", config)
        .arg("--no-owner")
        .arg("--exit-on-error")
        .arg("--dbname")
        .arg(&database)
        .arg(source)
        .output()
        .map_err(|error| StoreError::Backup {
            reason: format!(
                "could not run pg_restore (install PostgreSQL's client tools): {error}"
            ),
        })?;
    if !output.status.success() {
        return Err(StoreError::Backup {
            reason: format!(
                "pg_restore failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    Ok(())
}
