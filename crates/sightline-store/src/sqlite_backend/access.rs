//! [`AccessStore`] on SQLite: the shared access logic over the alerts' connection.

use super::SqliteStore;
use crate::StoreError;
use crate::access::{
    self, AccessStore, CitingAlert, NewNotice, NoticeFilter, NoticeRow, RelationshipRow,
};

impl AccessStore for SqliteStore {
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

    fn notices(&self, filter: &NoticeFilter) -> Result<Vec<NoticeRow>, StoreError> {
        self.alert_read(|conn| access::notices_in(conn, filter))
    }
}
