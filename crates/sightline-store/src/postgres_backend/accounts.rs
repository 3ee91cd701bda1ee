//! [`AccountStore`] and [`AuditStore`] on PostgreSQL. Audit appends run in one
//! transaction holding their own advisory lock, so `seq` stays gapless.

use postgres::Row;
use postgres::types::ToSql;

use super::PgStore;
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

/// Advisory lock key held while appending to the audit log (ASCII "SIGHTLAU").
pub(crate) const AUDIT_LOCK_KEY: i64 = 0x5349_4748_544C_4155;

fn read_user(row: &Row) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        password_hash: row.try_get(2)?,
        role: row.try_get(3)?,
        agency: row.try_get(4)?,
        team: row.try_get(5)?,
        created_at_us: row.try_get(6)?,
        disabled_at_us: row.try_get(7)?,
    })
}

fn read_throttle(row: &Row) -> Result<ThrottleRow, StoreError> {
    Ok(ThrottleRow {
        n_failures: row.try_get(0)?,
        last_failure_us: row.try_get(1)?,
        locked_until_us: row.try_get(2)?,
    })
}

fn read_grant(row: &Row) -> Result<GrantRow, StoreError> {
    Ok(GrantRow {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        username: row.try_get(2)?,
        resource_key: row.try_get(3)?,
        reason: row.try_get(4)?,
        granted_at_us: row.try_get(5)?,
        expires_at_us: row.try_get(6)?,
    })
}

fn read_audit(row: &Row) -> Result<AuditRow, StoreError> {
    let prev_hash: Vec<u8> = row.try_get(10)?;
    let entry_hash: Vec<u8> = row.try_get(11)?;
    Ok(AuditRow {
        seq: row.try_get(0)?,
        at_us: row.try_get(1)?,
        actor_user_id: row.try_get(2)?,
        actor_username: row.try_get(3)?,
        actor_role: row.try_get(4)?,
        actor_agency: row.try_get(5)?,
        action: row.try_get(6)?,
        resource_key: row.try_get(7)?,
        basis: row.try_get(8)?,
        outcome: row.try_get(9)?,
        prev_hash: hash32(&prev_hash, "audit prev_hash is not 32 bytes")?,
        entry_hash: hash32(&entry_hash, "audit entry_hash is not 32 bytes")?,
    })
}

impl PgStore {
    pub(super) fn rows(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let mut pooled = self.pool.get()?;
        let result = pooled.connection_mut()?.query(sql, params);
        if result.is_err() {
            pooled.broken = pooled
                .connection
                .as_ref()
                .is_none_or(|connection| connection.client.is_closed());
        }
        result
    }

    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let mut pooled = self.pool.get()?;
        let connection = pooled.connection_mut()?;
        let statement = connection.prepare_cached(sql)?;
        Ok(connection.client.execute(&statement, params)?)
    }
}

impl AccountStore for PgStore {
    fn create_user(&self, user: &NewUser) -> Result<Option<i64>, StoreError> {
        let rows = self.rows(
            INSERT_USER,
            &[
                &user.username,
                &user.password_hash,
                &user.role,
                &user.agency,
                &user.team,
                &user.created_at_us,
                &user.disabled_at_us,
            ],
        )?;
        rows.first()
            .map(|row| row.try_get(0).map_err(StoreError::from))
            .transpose()
    }

    fn user_by_external_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<UserRow>, StoreError> {
        self.rows(SELECT_USER_BY_IDENTITY, &[&issuer, &subject])?
            .first()
            .map(read_user)
            .transpose()
    }

    fn link_external_identity(
        &self,
        issuer: &str,
        subject: &str,
        user_id: i64,
        at_us: i64,
    ) -> Result<bool, StoreError> {
        Ok(self.execute(INSERT_IDENTITY, &[&issuer, &subject, &user_id, &at_us])? == 1)
    }

    fn has_external_identity(&self, user_id: i64) -> Result<bool, StoreError> {
        Ok(!self.rows(SELECT_IDENTITY_OF_USER, &[&user_id])?.is_empty())
    }

    fn set_user_role(
        &self,
        user_id: i64,
        role: &str,
        agency: &str,
        team: Option<&str>,
    ) -> Result<bool, StoreError> {
        Ok(self.execute(SET_USER_ROLE, &[&user_id, &role, &agency, &team])? == 1)
    }

    fn disable_user(&self, user_id: i64, at_us: i64) -> Result<bool, StoreError> {
        Ok(self.execute(DISABLE_USER, &[&user_id, &at_us])? == 1)
    }

    fn enable_user(&self, user_id: i64) -> Result<bool, StoreError> {
        Ok(self.execute(ENABLE_USER, &[&user_id])? == 1)
    }

    fn user_by_username(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        self.rows(&sql, &[&username])?
            .first()
            .map(read_user)
            .transpose()
    }

    fn user_by_id(&self, user_id: i64) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        self.rows(&sql, &[&user_id])?
            .first()
            .map(read_user)
            .transpose()
    }

    fn list_users(&self, limit: u32) -> Result<Vec<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username LIMIT $1");
        let limit = clamp(limit, ACCOUNT_LIST_LIMIT_MAX);
        self.rows(&sql, &[&limit])?.iter().map(read_user).collect()
    }

    fn create_session(
        &self,
        id_hash: &[u8; 32],
        user_id: i64,
        now_us: i64,
    ) -> Result<(), StoreError> {
        self.execute(INSERT_SESSION, &[&id_hash.as_slice(), &user_id, &now_us])?;
        Ok(())
    }

    fn session(&self, id_hash: &[u8; 32]) -> Result<Option<SessionRow>, StoreError> {
        self.rows(SELECT_SESSION, &[&id_hash.as_slice()])?
            .first()
            .map(|row| {
                Ok(SessionRow {
                    user_id: row.try_get(0)?,
                    created_at_us: row.try_get(1)?,
                    last_seen_us: row.try_get(2)?,
                    ended_at_us: row.try_get(3)?,
                })
            })
            .transpose()
    }

    fn touch_session(&self, id_hash: &[u8; 32], now_us: i64) -> Result<(), StoreError> {
        self.execute(TOUCH_SESSION, &[&id_hash.as_slice(), &now_us])?;
        Ok(())
    }

    fn end_session(&self, id_hash: &[u8; 32], now_us: i64) -> Result<bool, StoreError> {
        Ok(self.execute(END_SESSION, &[&id_hash.as_slice(), &now_us])? == 1)
    }

    fn login_throttle(&self, username: &str) -> Result<Option<ThrottleRow>, StoreError> {
        self.rows(SELECT_THROTTLE, &[&username])?
            .first()
            .map(read_throttle)
            .transpose()
    }

    fn record_login_failure(
        &self,
        username: &str,
        now_us: i64,
        policy: &ThrottlePolicy,
    ) -> Result<ThrottleRow, StoreError> {
        let window_start_us = now_us.saturating_sub(policy.window_us);
        let counted = self
            .rows(COUNT_FAILURE, &[&username, &now_us, &window_start_us])?
            .first()
            .map(read_throttle)
            .transpose()?
            .ok_or(StoreError::Corrupt("login failure was not counted"))?;
        let delay_us = policy.delay_us(counted.n_failures);
        if delay_us <= 0 {
            return Ok(counted);
        }
        let locked_until_us = now_us.saturating_add(delay_us);
        self.rows(DELAY_KEY, &[&username, &locked_until_us])?
            .first()
            .map(read_throttle)
            .transpose()?
            .ok_or(StoreError::Corrupt("login throttle row vanished"))
    }

    fn clear_login_failures(&self, username: &str) -> Result<(), StoreError> {
        self.execute(CLEAR_THROTTLE, &[&username])?;
        Ok(())
    }

    fn claim_refusal_audit(&self, username: &str, now_us: i64) -> Result<bool, StoreError> {
        Ok(self.execute(CLAIM_REFUSAL_AUDIT, &[&username, &now_us])? == 1)
    }

    fn create_grant(&self, grant: &NewGrant) -> Result<i64, StoreError> {
        let rows = self.rows(
            INSERT_GRANT,
            &[
                &grant.user_id,
                &grant.resource_key,
                &grant.reason,
                &grant.granted_at_us,
                &grant.expires_at_us,
            ],
        )?;
        let row = rows
            .first()
            .ok_or(StoreError::Corrupt("grant insert returned no id"))?;
        Ok(row.try_get(0)?)
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
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM break_glass_grants g JOIN users u ON u.id = g.user_id \
             WHERE g.user_id = $1 AND g.expires_at_us > $2 ORDER BY g.id"
        );
        self.rows(&sql, &[&user_id, &now_us])?
            .iter()
            .map(read_grant)
            .collect()
    }

    fn list_grants(&self, limit: u32) -> Result<Vec<GrantRow>, StoreError> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM break_glass_grants g JOIN users u ON u.id = g.user_id \
             ORDER BY g.id DESC LIMIT $1"
        );
        let limit = clamp(limit, ACCOUNT_LIST_LIMIT_MAX);
        self.rows(&sql, &[&limit])?.iter().map(read_grant).collect()
    }

    fn list_tokens(&self, limit: u32) -> Result<Vec<TokenRow>, StoreError> {
        let limit = clamp(limit, ACCOUNT_LIST_LIMIT_MAX);
        self.rows(SELECT_TOKENS, &[&limit])?
            .iter()
            .map(|row| {
                Ok(TokenRow {
                    id: row.try_get(0)?,
                    agency: row.try_get(1)?,
                    created_at_us: row.try_get(2)?,
                    revoked_at_us: row.try_get(3)?,
                })
            })
            .collect()
    }
    fn recent_records(&self, agency: &str, limit: u32) -> Result<Vec<RecordSummary>, StoreError> {
        let limit = clamp(limit, ACCOUNT_LIST_LIMIT_MAX);
        self.rows(RECENT_RECORDS, &[&agency, &limit])?
            .iter()
            .map(|row| {
                Ok(RecordSummary {
                    seq: row.try_get(0)?,
                    agency: row.try_get(1)?,
                    record_id: row.try_get(2)?,
                    version: row.try_get(3)?,
                    kind: row.try_get(4)?,
                    occurred_at: row.try_get(5)?,
                    received_at_us: row.try_get(6)?,
                })
            })
            .collect()
    }
}

impl AuditStore for PgStore {
    fn append_audit(
        &self,
        build: &mut dyn FnMut(i64, [u8; 32]) -> AuditRow,
    ) -> Result<AuditRow, StoreError> {
        self.alert_write(|conn| crate::accounts::append_audit_in(conn, build))
    }

    fn audit_entries(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        let sql =
            format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
        let limit = clamp(limit, AUDIT_READ_LIMIT_MAX);
        self.rows(&sql, &[&after_seq, &limit])?
            .iter()
            .map(read_audit)
            .collect()
    }

    fn audit_recent(
        &self,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2"
        );
        let before_seq = before_seq.unwrap_or(i64::MAX);
        let limit = clamp(limit, AUDIT_READ_LIMIT_MAX);
        self.rows(&sql, &[&before_seq, &limit])?
            .iter()
            .map(read_audit)
            .collect()
    }

    fn audit_about(
        &self,
        resource_keys: &[String],
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE resource_key = ANY($1) \
             ORDER BY seq DESC LIMIT $2"
        );
        let limit_rows = clamp(limit, AUDIT_READ_LIMIT_MAX);
        let mut found = Vec::new();
        for keys in resource_keys.chunks(AUDIT_KEYS_PER_QUERY) {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            for row in self.rows(&sql, &[&keys, &limit_rows])? {
                found.push(read_audit(&row)?);
            }
        }
        Ok(newest_first(found, limit))
    }

    fn audit_head(&self) -> Result<Option<(i64, [u8; 32])>, StoreError> {
        self.rows(SELECT_HEAD, &[])?
            .first()
            .map(|row| {
                let seq: i64 = row.try_get(0)?;
                let hash: Vec<u8> = row.try_get(1)?;
                Ok((seq, hash32(&hash, "audit head is not 32 bytes")?))
            })
            .transpose()
    }
}
