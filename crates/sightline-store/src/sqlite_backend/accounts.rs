//! [`AccountStore`] and [`AuditStore`] on SQLite. Reads and small writes use the
//! pool; audit appends (and break-glass grants with their notice and audit
//! entry) take the writer connection's `BEGIN IMMEDIATE`, which serialises them
//! against every other writer of the file.

use rusqlite::{OptionalExtension, Row, params};

use super::SqliteStore;
use crate::StoreError;
use crate::accounts::{
    ACCOUNT_LIST_LIMIT_MAX, AUDIT_COLUMNS, AUDIT_READ_LIMIT_MAX, AccountStore, AuditRow,
    AuditStore, CLAIM_REFUSAL_AUDIT, CLEAR_THROTTLE, COUNT_FAILURE, DELAY_KEY, DISABLE_USER,
    ENABLE_USER, END_SESSION, GRANT_COLUMNS, GrantRow, INSERT_GRANT, INSERT_SESSION, INSERT_USER,
    NewGrant, NewUser, SELECT_HEAD, SELECT_SESSION, SELECT_THROTTLE, SELECT_TOKENS, SessionRow,
    TOUCH_SESSION, ThrottlePolicy, ThrottleRow, TokenRow, USER_COLUMNS, UserRow, clamp, hash32,
};
use crate::accounts::{AUDIT_KEYS_PER_QUERY, RECENT_RECORDS, RecordSummary, newest_first};
use crate::accounts::{
    INSERT_IDENTITY, SELECT_IDENTITY_OF_USER, SELECT_USER_BY_IDENTITY, SET_USER_ROLE,
};

/// PostgreSQL placeholders (`$1`) to SQLite's (`?1`).
fn sqlite(sql: &str) -> String {
    sql.replace('$', "?")
}

fn read_user(row: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: row.get(0)?,
        username: row.get(1)?,
        password_hash: row.get(2)?,
        role: row.get(3)?,
        agency: row.get(4)?,
        team: row.get(5)?,
        created_at_us: row.get(6)?,
        disabled_at_us: row.get(7)?,
    })
}

fn read_throttle(row: &Row<'_>) -> rusqlite::Result<ThrottleRow> {
    Ok(ThrottleRow {
        n_failures: row.get(0)?,
        last_failure_us: row.get(1)?,
        locked_until_us: row.get(2)?,
    })
}

fn read_grant(row: &Row<'_>) -> rusqlite::Result<GrantRow> {
    Ok(GrantRow {
        id: row.get(0)?,
        user_id: row.get(1)?,
        username: row.get(2)?,
        resource_key: row.get(3)?,
        reason: row.get(4)?,
        granted_at_us: row.get(5)?,
        expires_at_us: row.get(6)?,
    })
}

type RawAudit = (AuditRow, Vec<u8>, Vec<u8>);

fn read_audit(row: &Row<'_>) -> rusqlite::Result<RawAudit> {
    Ok((
        AuditRow {
            seq: row.get(0)?,
            at_us: row.get(1)?,
            actor_user_id: row.get(2)?,
            actor_username: row.get(3)?,
            actor_role: row.get(4)?,
            actor_agency: row.get(5)?,
            action: row.get(6)?,
            resource_key: row.get(7)?,
            basis: row.get(8)?,
            outcome: row.get(9)?,
            prev_hash: [0; 32],
            entry_hash: [0; 32],
        },
        row.get(10)?,
        row.get(11)?,
    ))
}

fn finish_audit(
    rows: impl Iterator<Item = rusqlite::Result<RawAudit>>,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut out = Vec::new();
    for row in rows {
        let (mut audit, prev_hash, entry_hash) = row?;
        audit.prev_hash = hash32(&prev_hash, "audit prev_hash is not 32 bytes")?;
        audit.entry_hash = hash32(&entry_hash, "audit entry_hash is not 32 bytes")?;
        out.push(audit);
    }
    Ok(out)
}

impl SqliteStore {
    fn query_users(
        &self,
        sql: &str,
        param: rusqlite::types::Value,
    ) -> Result<Vec<UserRow>, StoreError> {
        let pooled = self.pooled()?;
        let connection = pooled.get()?;
        let mut statement = connection.prepare_cached(&sqlite(sql))?;
        let rows = statement.query_map([param], read_user)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl AccountStore for SqliteStore {
    fn create_user(&self, user: &NewUser) -> Result<Option<i64>, StoreError> {
        let pooled = self.pooled()?;
        let id = pooled
            .get()?
            .prepare_cached(&sqlite(INSERT_USER))?
            .query_row(
                params![
                    user.username,
                    user.password_hash,
                    user.role,
                    user.agency,
                    user.team,
                    user.created_at_us,
                    user.disabled_at_us
                ],
                |row| row.get(0),
            )
            .optional()?;
        Ok(id)
    }

    fn disable_user(&self, user_id: i64, at_us: i64) -> Result<bool, StoreError> {
        let pooled = self.pooled()?;
        let changed = pooled
            .get()?
            .prepare_cached(&sqlite(DISABLE_USER))?
            .execute(params![user_id, at_us])?;
        Ok(changed == 1)
    }

    fn enable_user(&self, user_id: i64) -> Result<bool, StoreError> {
        let pooled = self.pooled()?;
        let changed = pooled
            .get()?
            .prepare_cached(&sqlite(ENABLE_USER))?
            .execute(params![user_id])?;
        Ok(changed == 1)
    }

    fn user_by_username(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        Ok(self.query_users(&sql, username.to_owned().into())?.pop())
    }

    fn user_by_id(&self, user_id: i64) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(self.query_users(&sql, user_id.into())?.pop())
    }

    fn list_users(&self, limit: u32) -> Result<Vec<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username LIMIT $1");
        self.query_users(&sql, clamp(limit, ACCOUNT_LIST_LIMIT_MAX).into())
    }

    fn user_by_external_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<UserRow>, StoreError> {
        let pooled = self.pooled()?;
        let user = pooled
            .get()?
            .prepare_cached(&sqlite(SELECT_USER_BY_IDENTITY))?
            .query_row(params![issuer, subject], read_user)
            .optional()?;
        Ok(user)
    }

    fn link_external_identity(
        &self,
        issuer: &str,
        subject: &str,
        user_id: i64,
        at_us: i64,
    ) -> Result<bool, StoreError> {
        let pooled = self.pooled()?;
        let changed = pooled
            .get()?
            .prepare_cached(&sqlite(INSERT_IDENTITY))?
            .execute(params![issuer, subject, user_id, at_us])?;
        Ok(changed == 1)
    }

    fn has_external_identity(&self, user_id: i64) -> Result<bool, StoreError> {
        let pooled = self.pooled()?;
        let found: Option<i64> = pooled
            .get()?
            .prepare_cached(&sqlite(SELECT_IDENTITY_OF_USER))?
            .query_row(params![user_id], |row| row.get(0))
            .optional()?;
        Ok(found.is_some())
    }

    fn set_user_role(
        &self,
        user_id: i64,
        role: &str,
        agency: &str,
        team: Option<&str>,
    ) -> Result<bool, StoreError> {
        let pooled = self.pooled()?;
        let changed = pooled
            .get()?
            .prepare_cached(&sqlite(SET_USER_ROLE))?
            .execute(params![user_id, role, agency, team])?;
        Ok(changed == 1)
    }

    fn create_session(
        &self,
        id_hash: &[u8; 32],
        user_id: i64,
        now_us: i64,
    ) -> Result<(), StoreError> {
        let pooled = self.pooled()?;
        pooled
            .get()?
            .prepare_cached(&sqlite(INSERT_SESSION))?
            .execute(params![id_hash.as_slice(), user_id, now_us])?;
        Ok(())
    }

    fn session(&self, id_hash: &[u8; 32]) -> Result<Option<SessionRow>, StoreError> {
        let pooled = self.pooled()?;
        let session = pooled
            .get()?
            .prepare_cached(&sqlite(SELECT_SESSION))?
            .query_row(params![id_hash.as_slice()], |row| {
                Ok(SessionRow {
                    user_id: row.get(0)?,
                    created_at_us: row.get(1)?,
                    last_seen_us: row.get(2)?,
                    ended_at_us: row.get(3)?,
                })
            })
            .optional()?;
        Ok(session)
    }

    fn touch_session(&self, id_hash: &[u8; 32], now_us: i64) -> Result<(), StoreError> {
        let pooled = self.pooled()?;
        pooled
            .get()?
            .prepare_cached(&sqlite(TOUCH_SESSION))?
            .execute(params![id_hash.as_slice(), now_us])?;
        Ok(())
    }

    fn end_session(&self, id_hash: &[u8; 32], now_us: i64) -> Result<bool, StoreError> {
        let pooled = self.pooled()?;
        let n_changed = pooled
            .get()?
            .prepare_cached(&sqlite(END_SESSION))?
            .execute(params![id_hash.as_slice(), now_us])?;
        Ok(n_changed == 1)
    }

    fn login_throttle(&self, username: &str) -> Result<Option<ThrottleRow>, StoreError> {
        let pooled = self.pooled()?;
        let throttle = pooled
            .get()?
            .prepare_cached(&sqlite(SELECT_THROTTLE))?
            .query_row(params![username], read_throttle)
            .optional()?;
        Ok(throttle)
    }

    fn record_login_failure(
        &self,
        username: &str,
        now_us: i64,
        policy: &ThrottlePolicy,
    ) -> Result<ThrottleRow, StoreError> {
        let pooled = self.pooled()?;
        let connection = pooled.get()?;
        let window_start_us = now_us.saturating_sub(policy.window_us);
        let counted = connection
            .prepare_cached(&sqlite(COUNT_FAILURE))?
            .query_row(params![username, now_us, window_start_us], read_throttle)?;
        let delay_us = policy.delay_us(counted.n_failures);
        if delay_us <= 0 {
            return Ok(counted);
        }
        let locked = connection.prepare_cached(&sqlite(DELAY_KEY))?.query_row(
            params![username, now_us.saturating_add(delay_us)],
            read_throttle,
        )?;
        Ok(locked)
    }

    fn clear_login_failures(&self, username: &str) -> Result<(), StoreError> {
        let pooled = self.pooled()?;
        pooled
            .get()?
            .prepare_cached(&sqlite(CLEAR_THROTTLE))?
            .execute(params![username])?;
        Ok(())
    }

    fn claim_refusal_audit(&self, username: &str, now_us: i64) -> Result<bool, StoreError> {
        let pooled = self.pooled()?;
        let n_changed = pooled
            .get()?
            .prepare_cached(&sqlite(CLAIM_REFUSAL_AUDIT))?
            .execute(params![username, now_us])?;
        Ok(n_changed == 1)
    }

    fn create_grant(&self, grant: &NewGrant) -> Result<i64, StoreError> {
        let pooled = self.pooled()?;
        let id = pooled
            .get()?
            .prepare_cached(&sqlite(INSERT_GRANT))?
            .query_row(
                params![
                    grant.user_id,
                    grant.resource_key,
                    grant.reason,
                    grant.granted_at_us,
                    grant.expires_at_us
                ],
                |row| row.get(0),
            )?;
        Ok(id)
    }

    fn break_glass(
        &self,
        grant: &NewGrant,
        since_us: i64,
        max: i64,
        notice: &dyn Fn(i64) -> crate::NewNotice,
        audit: &mut dyn FnMut(Option<i64>, i64, [u8; 32]) -> AuditRow,
    ) -> Result<Option<i64>, StoreError> {
        self.alert_write(|conn| {
            crate::accounts::break_glass_in(conn, grant, since_us, max, notice, audit)
        })
    }

    fn live_grants(&self, user_id: i64, now_us: i64) -> Result<Vec<GrantRow>, StoreError> {
        let pooled = self.pooled()?;
        let connection = pooled.get()?;
        let mut statement = connection.prepare_cached(&sqlite(&format!(
            "SELECT {GRANT_COLUMNS} FROM break_glass_grants g JOIN users u ON u.id = g.user_id \
             WHERE g.user_id = $1 AND g.expires_at_us > $2 ORDER BY g.id"
        )))?;
        let rows = statement.query_map(params![user_id, now_us], read_grant)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn list_grants(&self, limit: u32) -> Result<Vec<GrantRow>, StoreError> {
        let pooled = self.pooled()?;
        let connection = pooled.get()?;
        let mut statement = connection.prepare_cached(&sqlite(&format!(
            "SELECT {GRANT_COLUMNS} FROM break_glass_grants g JOIN users u ON u.id = g.user_id \
             ORDER BY g.id DESC LIMIT $1"
        )))?;
        let rows =
            statement.query_map(params![clamp(limit, ACCOUNT_LIST_LIMIT_MAX)], read_grant)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn list_tokens(&self, limit: u32) -> Result<Vec<TokenRow>, StoreError> {
        let pooled = self.pooled()?;
        let connection = pooled.get()?;
        let mut statement = connection.prepare_cached(&sqlite(SELECT_TOKENS))?;
        let rows = statement.query_map(params![clamp(limit, ACCOUNT_LIST_LIMIT_MAX)], |row| {
            Ok(TokenRow {
                id: row.get(0)?,
                agency: row.get(1)?,
                created_at_us: row.get(2)?,
                revoked_at_us: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
    fn recent_records(&self, agency: &str, limit: u32) -> Result<Vec<RecordSummary>, StoreError> {
        let pooled = self.pooled()?;
        let connection = pooled.get()?;
        let mut statement = connection.prepare_cached(&sqlite(RECENT_RECORDS))?;
        let rows = statement.query_map(
            params![agency, clamp(limit, ACCOUNT_LIST_LIMIT_MAX)],
            |row| {
                Ok(RecordSummary {
                    seq: row.get(0)?,
                    agency: row.get(1)?,
                    record_id: row.get(2)?,
                    version: row.get(3)?,
                    kind: row.get(4)?,
                    occurred_at: row.get(5)?,
                    received_at_us: row.get(6)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl AuditStore for SqliteStore {
    fn append_audit(
        &self,
        build: &mut dyn FnMut(i64, [u8; 32]) -> AuditRow,
    ) -> Result<AuditRow, StoreError> {
        self.alert_write(|conn| crate::accounts::append_audit_in(conn, build))
    }

    fn audit_entries(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        let pooled = self.pooled()?;
        let connection = pooled.get()?;
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ))?;
        let rows = statement.query_map(
            params![after_seq, clamp(limit, AUDIT_READ_LIMIT_MAX)],
            read_audit,
        )?;
        finish_audit(rows)
    }

    fn audit_recent(
        &self,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let pooled = self.pooled()?;
        let connection = pooled.get()?;
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2"
        ))?;
        let rows = statement.query_map(
            params![
                before_seq.unwrap_or(i64::MAX),
                clamp(limit, AUDIT_READ_LIMIT_MAX)
            ],
            read_audit,
        )?;
        finish_audit(rows)
    }

    fn audit_about(
        &self,
        resource_keys: &[String],
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let pooled = self.pooled()?;
        let connection = pooled.get()?;
        let mut found = Vec::new();
        for keys in resource_keys.chunks(AUDIT_KEYS_PER_QUERY) {
            let placeholders = vec!["?"; keys.len()].join(", ");
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE resource_key IN ({placeholders}) \
                 ORDER BY seq DESC LIMIT {}",
                clamp(limit, AUDIT_READ_LIMIT_MAX)
            ))?;
            let rows = statement.query_map(rusqlite::params_from_iter(keys), read_audit)?;
            found.extend(finish_audit(rows)?);
        }
        Ok(newest_first(found, limit))
    }

    fn audit_head(&self) -> Result<Option<(i64, [u8; 32])>, StoreError> {
        let pooled = self.pooled()?;
        let head: Option<(i64, Vec<u8>)> = pooled
            .get()?
            .prepare_cached(SELECT_HEAD)?
            .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        head.map(|(seq, hash)| Ok((seq, hash32(&hash, "audit head is not 32 bytes")?)))
            .transpose()
    }
}
