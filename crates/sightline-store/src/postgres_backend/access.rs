//! [`AccessStore`] on PostgreSQL: the shared access logic over the alerts' connection.

use super::PgStore;
use crate::StoreError;
use crate::access::{
    self, AccessStore, CitingAlert, NewNotice, NoticeFilter, NoticeRow, RelationshipRow,
};
use crate::accounts::AuditRow;
use crate::audit_query::{self, AuditQuery, GrantGiven};

impl AccessStore for PgStore {
    fn alerts_citing(
        &self,
        agency: &str,
        record_id: &str,
        limit: u32,
    ) -> Result<Vec<CitingAlert>, StoreError> {
        self.alert_read(|conn| access::alerts_citing_in(conn, agency, record_id, limit))
    }

    fn relationships(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<RelationshipRow>, StoreError> {
        self.alert_read(|conn| access::relationships_in(conn, after_seq, limit))
    }

    fn append_notice(&self, notice: &NewNotice) -> Result<NoticeRow, StoreError> {
        self.alert_write(|conn| access::append_notice_in(conn, notice))
    }

    fn append_notice_once_since(
        &self,
        notice: &NewNotice,
        since_us: i64,
    ) -> Result<Option<NoticeRow>, StoreError> {
        self.alert_write(|conn| access::append_notice_once_since_in(conn, notice, since_us))
    }

    fn notices(&self, filter: &NoticeFilter) -> Result<Vec<NoticeRow>, StoreError> {
        self.alert_read(|conn| access::notices_in(conn, filter))
    }

    fn count_notices(&self, to_agency: Option<&str>, since_us: i64) -> Result<u64, StoreError> {
        self.alert_read(|conn| access::count_notices_in(conn, to_agency, since_us))
    }

    fn count_notices_told(
        &self,
        to_user_id: i64,
        to_team: Option<&str>,
        since_us: i64,
    ) -> Result<u64, StoreError> {
        self.alert_read(|conn| access::count_notices_told_in(conn, to_user_id, to_team, since_us))
    }

    fn audit_search(&self, query: &AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        self.alert_read(|conn| audit_query::audit_search_in(conn, query))
    }

    fn grant_reasons(&self, grant_ids: &[i64]) -> Result<Vec<(i64, String)>, StoreError> {
        self.alert_read(|conn| audit_query::grant_reasons_in(conn, grant_ids))
    }

    fn grants_since(
        &self,
        since_us: i64,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<GrantGiven>, StoreError> {
        self.alert_read(|conn| audit_query::grants_since_in(conn, since_us, after_id, limit))
    }

    fn append_restriction(
        &self,
        event: &crate::NewRestriction,
    ) -> Result<crate::RestrictionRow, StoreError> {
        self.alert_write(|conn| crate::controls::append_restriction_in(conn, event))
    }

    fn restrictions_in_force(
        &self,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<crate::RestrictionRow>, StoreError> {
        self.alert_read(|conn| crate::controls::restrictions_in_force_in(conn, after, limit))
    }

    fn restriction_events(
        &self,
        record: Option<(&str, &str)>,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::RestrictionRow>, StoreError> {
        self.alert_read(|conn| {
            crate::controls::restriction_events_in(conn, record, before_seq, limit)
        })
    }

    fn append_hold(&self, event: &crate::NewHold) -> Result<crate::HoldRow, StoreError> {
        self.alert_write(|conn| crate::controls::append_hold_in(conn, event))
    }

    fn append_restriction_audited(
        &self,
        event: &crate::NewRestriction,
        audit: &mut dyn FnMut(i64, i64, [u8; 32]) -> AuditRow,
    ) -> Result<crate::RestrictionRow, StoreError> {
        self.alert_write(|conn| {
            let row = crate::controls::append_restriction_in(conn, event)?;
            crate::accounts::append_audit_in(conn, &mut |seq, prev| audit(row.seq, seq, prev))?;
            Ok(row)
        })
    }

    fn append_hold_audited(
        &self,
        event: &crate::NewHold,
        audit: &mut dyn FnMut(i64, i64, [u8; 32]) -> AuditRow,
    ) -> Result<crate::HoldRow, StoreError> {
        self.alert_write(|conn| {
            let row = crate::controls::append_hold_in(conn, event)?;
            crate::accounts::append_audit_in(conn, &mut |seq, prev| audit(row.seq, seq, prev))?;
            Ok(row)
        })
    }

    fn holds_in_force(
        &self,
        person_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<crate::HoldRow>, StoreError> {
        self.alert_read(|conn| crate::controls::holds_in_force_in(conn, person_id, limit))
    }

    fn hold_events(
        &self,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::HoldRow>, StoreError> {
        self.alert_read(|conn| crate::controls::hold_events_in(conn, before_seq, limit))
    }

    fn append_unredaction(
        &self,
        event: &crate::NewUnredaction,
    ) -> Result<crate::UnredactionRow, StoreError> {
        self.alert_write(|conn| crate::controls::append_unredaction_in(conn, event))
    }

    fn append_retention_batch(
        &self,
        batch: &crate::NewRetentionBatch,
    ) -> Result<crate::RetentionBatchRow, StoreError> {
        self.alert_write(|conn| crate::retention::append_batch_in(conn, batch))
    }

    fn retention_batches(
        &self,
        as_of: Option<&str>,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::RetentionBatchRow>, StoreError> {
        self.alert_read(|conn| crate::retention::batches_in(conn, as_of, before_id, limit))
    }

    fn retention_batch_records(
        &self,
        batch_id: i64,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<crate::RetentionBatchRecord>, StoreError> {
        self.alert_read(|conn| crate::retention::batch_records_in(conn, batch_id, after, limit))
    }

    fn append_retention_decision(
        &self,
        event: &crate::NewRetentionDecision,
    ) -> Result<crate::RetentionDecisionRow, StoreError> {
        self.alert_write(|conn| crate::retention::append_decision_in(conn, event))
    }

    fn retention_decisions(
        &self,
        batch_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::RetentionDecisionRow>, StoreError> {
        self.alert_read(|conn| crate::retention::decisions_in(conn, batch_id, limit))
    }

    fn unredactions(
        &self,
        person_id: &str,
        limit: u32,
    ) -> Result<Vec<crate::UnredactionRow>, StoreError> {
        self.alert_read(|conn| crate::controls::unredactions_in(conn, person_id, limit))
    }
}
