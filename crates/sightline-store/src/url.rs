//! Parsing database URLs into a backend and its settings.

use std::path::PathBuf;
use std::str::FromStr;

use crate::StoreError;

/// Where a SQLite database lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SqliteLocation {
    /// A file, created on first use.
    File(PathBuf),
    /// A private throwaway database (`sqlite::memory:`).
    Memory,
}

/// A parsed database URL.
#[derive(Debug)]
pub(crate) enum DatabaseUrl {
    Sqlite(SqliteLocation),
    Postgres(Box<postgres::Config>),
}

/// Parses `sqlite://...`, `sqlite::memory:`, `postgres://...` or `postgresql://...`.
pub(crate) fn parse(url: &str) -> Result<DatabaseUrl, StoreError> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let config = postgres::Config::from_str(url).map_err(|_| StoreError::InvalidUrl {
            reason: "not a valid postgres:// URL".to_owned(),
        })?;
        return Ok(DatabaseUrl::Postgres(Box::new(config)));
    }
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Err(StoreError::InvalidUrl {
            reason: "expected a URL starting with sqlite://, postgres:// or postgresql://"
                .to_owned(),
        });
    };
    if rest == ":memory:" || rest == "//:memory:" {
        return Ok(DatabaseUrl::Sqlite(SqliteLocation::Memory));
    }
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.is_empty() {
        return Err(StoreError::InvalidUrl {
            reason: "sqlite URL has no path (use sqlite://path/to.db)".to_owned(),
        });
    }
    if path.contains('?') {
        return Err(StoreError::InvalidUrl {
            reason: "sqlite URL parameters are not supported".to_owned(),
        });
    }
    Ok(DatabaseUrl::Sqlite(SqliteLocation::File(PathBuf::from(
        path,
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_sqlite(url: &str, expected: Option<SqliteLocation>) {
        let parsed = parse(url);
        match (parsed, expected) {
            (Ok(DatabaseUrl::Sqlite(location)), Some(expected)) => assert_eq!(location, expected),
            (Err(StoreError::InvalidUrl { .. }), None) => {}
            (other, expected) => panic!("{url}: got {other:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn sqlite_urls() {
        let file = |path: &str| Some(SqliteLocation::File(PathBuf::from(path)));
        check_sqlite("sqlite://data/sightline.db", file("data/sightline.db"));
        check_sqlite(
            "sqlite:///var/lib/sightline.db",
            file("/var/lib/sightline.db"),
        );
        check_sqlite("sqlite:relative.db", file("relative.db"));
        check_sqlite("sqlite::memory:", Some(SqliteLocation::Memory));
        check_sqlite("sqlite://:memory:", Some(SqliteLocation::Memory));
        check_sqlite("sqlite://", None);
        check_sqlite("sqlite://x.db?mode=rwc", None);
        check_sqlite("mysql://localhost/db", None);
        check_sqlite("", None);
    }

    #[test]
    fn postgres_urls() {
        assert!(matches!(
            parse("postgres://postgres@127.0.0.1:54329/postgres"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            parse("postgresql:///db?host=/tmp/socket-dir&port=5432&user=postgres"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            parse("postgres://user:secret@host:notaport/db"),
            Err(StoreError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn invalid_url_errors_do_not_repeat_the_password() {
        let error = parse("postgres://user:hunter2@host:notaport/db")
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(!error.contains("hunter2"), "{error}");
    }
}
