//! Forward-only schema migrations, one SQL file per version per backend, embedded
//! in the binary and tracked in a `schema_migrations` table.

use crate::Backend;

/// One embedded migration.
#[derive(Debug)]
pub(crate) struct Migration {
    /// Strictly increasing, starting at 1.
    pub(crate) version: i64,
    /// The file name without extension, e.g. `0001_init`.
    pub(crate) name: &'static str,
    /// The SQL to run, inside one transaction.
    pub(crate) sql: &'static str,
}

/// The SQLite migrations, in order.
pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_alerts",
        sql: include_str!("../migrations/sqlite/0002_alerts.sql"),
    },
    Migration {
        version: 3,
        name: "0003_linkage",
        sql: include_str!("../migrations/sqlite/0003_linkage.sql"),
    },
    Migration {
        version: 4,
        name: "0004_accounts_audit",
        sql: include_str!("../migrations/sqlite/0004_accounts_audit.sql"),
    },
    Migration {
        version: 5,
        name: "0005_record_indexes",
        sql: include_str!("../migrations/sqlite/0005_record_indexes.sql"),
    },
    Migration {
        version: 6,
        name: "0006_audit_resource_index",
        sql: include_str!("../migrations/sqlite/0006_audit_resource_index.sql"),
    },
    Migration {
        version: 7,
        name: "0007_alert_work",
        sql: include_str!("../migrations/sqlite/0007_alert_work.sql"),
    },
    Migration {
        version: 20,
        name: "0020_access",
        sql: include_str!("../migrations/sqlite/0020_access.sql"),
    },
    Migration {
        version: 21,
        name: "0021_alert_evidence_record",
        sql: include_str!("../migrations/sqlite/0021_alert_evidence_record.sql"),
    },
    Migration {
        version: 30,
        name: "0030_append_only",
        sql: include_str!("../migrations/sqlite/0030_append_only.sql"),
    },
    Migration {
        version: 40,
        name: "0040_audit_filters",
        sql: include_str!("../migrations/sqlite/0040_audit_filters.sql"),
    },
    Migration {
        version: 50,
        name: "0050_restrictions_holds",
        sql: include_str!("../migrations/sqlite/0050_restrictions_holds.sql"),
    },
    Migration {
        version: 60,
        name: "0060_cpis_notices",
        sql: include_str!("../migrations/sqlite/0060_cpis_notices.sql"),
    },
    Migration {
        version: 80,
        name: "0080_sar_unredactions",
        sql: include_str!("../migrations/sqlite/0080_sar_unredactions.sql"),
    },
    Migration {
        version: 85,
        name: "0085_retention_batches",
        sql: include_str!("../migrations/sqlite/0085_retention_batches.sql"),
    },
    Migration {
        version: 90,
        name: "0090_external_identities",
        sql: include_str!("../migrations/sqlite/0090_external_identities.sql"),
    },
    Migration {
        version: 95,
        name: "0095_login_throttle_audited",
        sql: include_str!("../migrations/sqlite/0095_login_throttle_audited.sql"),
    },
    Migration {
        version: 100,
        name: "0100_data_keys",
        sql: include_str!("../migrations/sqlite/0100_data_keys.sql"),
    },
];

/// The PostgreSQL migrations, in order.
pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_alerts",
        sql: include_str!("../migrations/postgres/0002_alerts.sql"),
    },
    Migration {
        version: 3,
        name: "0003_linkage",
        sql: include_str!("../migrations/postgres/0003_linkage.sql"),
    },
    Migration {
        version: 4,
        name: "0004_accounts_audit",
        sql: include_str!("../migrations/postgres/0004_accounts_audit.sql"),
    },
    Migration {
        version: 5,
        name: "0005_record_indexes",
        sql: include_str!("../migrations/postgres/0005_record_indexes.sql"),
    },
    Migration {
        version: 6,
        name: "0006_audit_resource_index",
        sql: include_str!("../migrations/postgres/0006_audit_resource_index.sql"),
    },
    Migration {
        version: 7,
        name: "0007_alert_work",
        sql: include_str!("../migrations/postgres/0007_alert_work.sql"),
    },
    Migration {
        version: 20,
        name: "0020_access",
        sql: include_str!("../migrations/postgres/0020_access.sql"),
    },
    Migration {
        version: 21,
        name: "0021_alert_evidence_record",
        sql: include_str!("../migrations/postgres/0021_alert_evidence_record.sql"),
    },
    Migration {
        version: 30,
        name: "0030_append_only",
        sql: include_str!("../migrations/postgres/0030_append_only.sql"),
    },
    Migration {
        version: 40,
        name: "0040_audit_filters",
        sql: include_str!("../migrations/postgres/0040_audit_filters.sql"),
    },
    Migration {
        version: 50,
        name: "0050_restrictions_holds",
        sql: include_str!("../migrations/postgres/0050_restrictions_holds.sql"),
    },
    Migration {
        version: 60,
        name: "0060_cpis_notices",
        sql: include_str!("../migrations/postgres/0060_cpis_notices.sql"),
    },
    Migration {
        version: 80,
        name: "0080_sar_unredactions",
        sql: include_str!("../migrations/postgres/0080_sar_unredactions.sql"),
    },
    Migration {
        version: 85,
        name: "0085_retention_batches",
        sql: include_str!("../migrations/postgres/0085_retention_batches.sql"),
    },
    Migration {
        version: 90,
        name: "0090_external_identities",
        sql: include_str!("../migrations/postgres/0090_external_identities.sql"),
    },
    Migration {
        version: 95,
        name: "0095_login_throttle_audited",
        sql: include_str!("../migrations/postgres/0095_login_throttle_audited.sql"),
    },
    Migration {
        version: 100,
        name: "0100_data_keys",
        sql: include_str!("../migrations/postgres/0100_data_keys.sql"),
    },
];

/// The table that records which migrations were applied. Same SQL on both backends.
pub(crate) const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version       BIGINT PRIMARY KEY,
    name          TEXT   NOT NULL,
    applied_at_us BIGINT NOT NULL
)";

/// A migration that was applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Its version number.
    pub version: i64,
    /// Its file name without extension.
    pub name: String,
}

/// What [`crate::migrate`] (or [`crate::open`]) did to the schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationReport {
    /// Which backend.
    pub backend: Backend,
    /// Migrations applied by this call, in order; empty when the schema was current.
    pub applied: Vec<AppliedMigration>,
    /// The schema version after this call.
    pub schema_version: i64,
}

/// Which of `known` still need applying, given the versions already recorded in the
/// database, in version order. Refuses a database that records a version this
/// build does not know (it was migrated by a newer Sightline, or by a build with a
/// different history) or that lacks the first migration. Versions need not be
/// contiguous: numbers are reserved per feature while features are built side by
/// side, so a reserved number may land after higher ones were applied, and is then
/// applied to existing databases too (such migrations must not depend on the
/// migrations numbered after them).
pub(crate) fn pending<'a>(
    applied_versions: &[i64],
    known: &'a [Migration],
) -> Result<Vec<&'a Migration>, String> {
    let newest_known = known.last().map_or(0, |migration| migration.version);
    for version in applied_versions {
        if *version > newest_known {
            return Err(format!(
                "database schema version {version} is newer than this build knows ({newest_known})"
            ));
        }
        if !known.iter().any(|migration| migration.version == *version) {
            return Err(format!(
                "database schema history has version {version}, which this build does not know"
            ));
        }
    }
    if let (Some(first_applied), Some(first_known)) = (applied_versions.first(), known.first())
        && *first_applied != first_known.version
    {
        return Err(format!(
            "database schema history starts at version {first_applied}, not {}",
            first_known.version
        ));
    }
    Ok(known
        .iter()
        .filter(|migration| !applied_versions.contains(&migration.version))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(migrations: &[&Migration]) -> Vec<i64> {
        migrations
            .iter()
            .map(|migration| migration.version)
            .collect()
    }

    const KNOWN: &[Migration] = &[
        Migration {
            version: 1,
            name: "0001_a",
            sql: "",
        },
        Migration {
            version: 2,
            name: "0002_b",
            sql: "",
        },
    ];

    #[test]
    fn pending_migrations() {
        assert_eq!(pending(&[], KNOWN).map(|p| versions(&p)), Ok(vec![1, 2]));
        assert_eq!(pending(&[1], KNOWN).map(|p| versions(&p)), Ok(vec![2]));
        assert_eq!(pending(&[1, 2], KNOWN).map(|p| versions(&p)), Ok(vec![]));
        assert!(pending(&[1, 2, 3], KNOWN).is_err());
        assert!(pending(&[2], KNOWN).is_err());
        assert!(pending(&[1, 3], KNOWN).is_err(), "3 is not known");
    }

    #[test]
    fn a_reserved_number_landing_late_is_applied_to_existing_databases() {
        const GAPPED: &[Migration] = &[
            Migration {
                version: 1,
                name: "0001_a",
                sql: "",
            },
            Migration {
                version: 2,
                name: "0002_late",
                sql: "",
            },
            Migration {
                version: 4,
                name: "0004_b",
                sql: "",
            },
            Migration {
                version: 5,
                name: "0005_c",
                sql: "",
            },
        ];
        assert_eq!(
            pending(&[1, 4, 5], GAPPED).map(|p| versions(&p)),
            Ok(vec![2])
        );
        assert_eq!(
            pending(&[1, 4], GAPPED).map(|p| versions(&p)),
            Ok(vec![2, 5])
        );
        assert_eq!(
            pending(&[1, 2, 4, 5], GAPPED).map(|p| versions(&p)),
            Ok(vec![])
        );
        assert!(pending(&[1, 3], GAPPED).is_err());
    }

    #[test]
    fn backends_have_the_same_migrations_in_order() {
        let names = |list: &[Migration]| -> Vec<(i64, &str)> {
            list.iter()
                .map(|migration| (migration.version, migration.name))
                .collect()
        };
        assert_eq!(names(SQLITE), names(POSTGRES));
        for (idx, migration) in SQLITE.iter().enumerate() {
            let previous = idx.checked_sub(1).map_or(0, |prev| SQLITE[prev].version);
            assert!(migration.version > previous, "versions increase");
            assert!(
                migration
                    .name
                    .starts_with(&format!("{:04}_", migration.version))
            );
        }
    }
}
