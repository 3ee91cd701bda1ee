//! `/api/v1/records`: intake and reading back of the record log.

use crate::AppState;
use crate::auth::AgencyAuth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::params;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use sightline_app::{IngestSummary, from_micros};
use sightline_core::AgencyId;
use sightline_core::interchange::{self, Format, Limits, ParsedRecord};
use sightline_store::{RecordFilter, StoredRecord};
use utoipa::{IntoParams, ToSchema};

/// The counts of a stored batch. Nothing about alerts: whether a record raised
/// one would tell the sender what other agencies hold about the child (issue
/// #15, finding 4); alerts reach the people they are routed to.
#[derive(Serialize, ToSchema)]
pub struct IngestResponse {
    /// Records in the batch.
    pub records: u64,
    /// Records appended to the log.
    pub stored: u64,
    /// Records already stored with the same (agency, record_id, version): no-ops.
    pub duplicate: u64,
    /// Of the duplicates, those whose content differs from the stored copy (the
    /// stored copy is kept; send a higher version to correct a record).
    pub duplicate_with_different_content: u64,
    /// Of the stored, those that superseded a lower version.
    pub superseded: u64,
}

impl From<IngestSummary> for IngestResponse {
    fn from(summary: IngestSummary) -> Self {
        IngestResponse {
            records: summary.records,
            stored: summary.stored,
            duplicate: summary.duplicate,
            duplicate_with_different_content: summary.duplicate_with_different_content,
            superseded: summary.superseded,
        }
    }
}

/// The `Retry-After` of a batch refused because too many are in progress.
const INTAKE_RETRY_AFTER_SECONDS: u32 = 1;

/// The framing of a request body, from its Content-Type.
fn body_format(headers: &HeaderMap) -> Result<Format, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("application/json");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "application/json" => Ok(Format::Json),
        "application/x-ndjson"
        | "application/jsonl"
        | "application/jsonlines"
        | "application/x-jsonlines" => Ok(Format::JsonLines),
        "text/csv" => Ok(Format::Csv),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json (an array, one record or JSON Lines), application/x-ndjson or text/csv",
        )),
    }
}

/// Submit a batch of interchange v1 records.
///
/// The batch is validated whole before anything is stored: if any record is
/// invalid, nothing is stored and the answer lists every problem. Records are
/// durable when this returns 200.
#[utoipa::path(
    post,
    path = "/api/v1/records",
    tag = "records",
    request_body(
        description = "A JSON array of records, JSON Lines (one record per line), or a CSV batch. Optional: the specification sets no lower bound on a batch, and no body is an empty batch (200, nothing stored)",
        content(
            (serde_json::Value = "application/json"),
            (String = "application/x-ndjson"),
            (String = "text/csv"),
        ),
    ),
    responses(
        (status = 200, description = "Stored", body = IngestResponse),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "A record's source.agency is not the token's agency", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Unsupported Content-Type", body = ErrorBody),
        (status = 422, description = "Invalid batch; nothing stored", body = ErrorBody),
        (status = 429, description = "The agency (or the server) already has as many batches in progress as it may; nothing was read. Retry after the `Retry-After` seconds.", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
    ),
    security(("bearer" = [])),
)]
pub async fn submit_records(
    State(state): State<AppState>,
    AgencyAuth(agency, _): AgencyAuth,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IngestResponse>, ApiError> {
    let format = body_format(&headers)?;
    let (summary, ()) = intake::<(), ApiError>(&state, agency, body, move |input| {
        let records =
            interchange::parse_batch(input.bytes, format, input.received_at, input.limits)
                .map_err(ApiError::rejected)?;
        Ok((records, ()))
    })
    .await?;
    Ok(Json(summary.into()))
}

/// What an intake endpoint's parser is given: the body, read within the limit.
pub(crate) struct IntakeInput<'a> {
    pub bytes: &'a [u8],
    pub received_at: DateTime<Utc>,
    pub limits: &'a Limits,
}

/// The one intake path of every endpoint that takes records from an agency
/// (`/api/v1/records`, `/fhir/R4`): the agency's place in the intake gate
/// (429 before the body is read), the body limit (413), the endpoint's
/// `parse` (off the async runtime), the check that every record is the
/// token's agency's (403), and the store and engine in one transaction.
/// `parse` returns the records and anything the endpoint wants back; its
/// error type answers in the endpoint's own format.
pub(crate) async fn intake<T, E>(
    state: &AppState,
    agency: AgencyId,
    body: Body,
    parse: impl FnOnce(&IntakeInput) -> Result<(Vec<ParsedRecord>, T), E> + Send + 'static,
) -> Result<(IngestSummary, T), E>
where
    T: Send + 'static,
    E: From<ApiError> + Send + 'static,
{
    // Before the body is read: a refused batch costs nothing.
    let _permit = state
        .intake
        .try_enter(agency.as_str())
        .inspect_err(|_| crate::metrics::intake_batch(agency.as_str(), "busy"))
        .map_err(|busy| match busy {
            crate::intake_gate::Busy::Agency(max) => ApiError::too_many_requests(
                format!("agency \"{agency}\" already has {max} batch(es) in progress; send one at a time, or retry shortly"),
                INTAKE_RETRY_AFTER_SECONDS,
            ),
            crate::intake_gate::Busy::Server(max) => ApiError::too_many_requests(
                format!("the server already has {max} batches in progress; retry shortly"),
                INTAKE_RETRY_AFTER_SECONDS,
            ),
        })?;
    let body_bytes_max = state.config.body_bytes_max;
    let bytes = http_body_util::Limited::new(body, body_bytes_max)
        .collect()
        .await
        .map_err(|_| {
            crate::metrics::intake_batch(agency.as_str(), "too_large");
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "the request body is over the limit of {body_bytes_max} bytes; split the batch"
                ),
            )
        })?
        .to_bytes();
    let received_at = Utc::now();
    let limits = state.config.limits.clone();
    let store = state.store.clone();
    let engine = state.engine.clone();
    tokio::task::spawn_blocking(move || {
        let input = IntakeInput {
            bytes: &bytes,
            received_at,
            limits: &limits,
        };
        let (records, extra) = parse(&input)
            .inspect_err(|_| crate::metrics::intake_batch(agency.as_str(), "rejected"))?;
        let foreign: Vec<String> = records
            .iter()
            .filter(|parsed| parsed.record.source.agency != agency)
            .take(10)
            .map(|parsed| format!("{}: source.agency is \"{}\"", parsed.position, parsed.record.source.agency))
            .collect();
        if !foreign.is_empty() {
            crate::metrics::intake_batch(agency.as_str(), "forbidden");
            return Err(ApiError::forbidden(format!(
                "this token may only submit records of agency \"{agency}\"; nothing was stored ({})",
                foreign.join("; ")
            ))
            .into());
        }
        let started = std::time::Instant::now();
        let summary = sightline_app::ingest_from_agency(store.as_ref(), &engine, records, received_at)
            .inspect_err(|_| crate::metrics::intake_batch(agency.as_str(), "failed"))
            .map_err(ApiError::from)?;
        crate::metrics::intake_linkage(started.elapsed().as_secs_f64());
        crate::metrics::intake_batch(agency.as_str(), "accepted");
        crate::metrics::intake_records(agency.as_str(), summary.stored, summary.duplicate);
        sightline_app::routing::warn_routed_to_nobody(summary.alerts_routed_to_nobody);
        tracing::info!(
            agency = %agency,
            records = summary.records,
            stored = summary.stored,
            duplicate = summary.duplicate,
            superseded = summary.superseded,
            alerts_raised = summary.alerts.raised,
            alerts_updated = summary.alerts.updated,
            "batch stored"
        );
        Ok((summary, extra))
    })
    .await
    .map_err(ApiError::from)?
}

/// One stored version of a record.
#[derive(Serialize, ToSchema)]
pub struct RecordVersion {
    /// Position in the log (the paging cursor orders by it).
    pub seq: i64,
    pub agency: String,
    pub record_id: String,
    pub version: i64,
    pub kind: String,
    /// When it happened, as sent (date-time, date or month).
    pub occurred_at: String,
    /// When the agency recorded it.
    pub recorded_at: DateTime<Utc>,
    /// When Sightline received it.
    pub received_at: DateTime<Utc>,
    /// The record as received.
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
}

impl From<StoredRecord> for RecordVersion {
    fn from(stored: StoredRecord) -> Self {
        let record = serde_json::from_str(&stored.body).unwrap_or(serde_json::Value::Null);
        RecordVersion {
            seq: stored.seq,
            agency: stored.agency,
            record_id: stored.record_id,
            version: stored.version,
            kind: stored.kind,
            occurred_at: stored.occurred_at,
            recorded_at: from_micros(stored.recorded_at_us),
            received_at: from_micros(stored.received_at_us),
            record,
        }
    }
}

/// Every version of one record.
#[derive(Serialize, ToSchema)]
pub struct RecordHistory {
    pub agency: String,
    pub record_id: String,
    /// The highest version, which is the current one.
    pub current_version: i64,
    /// All versions, ascending; earlier versions are kept, never overwritten.
    pub versions: Vec<RecordVersion>,
    /// How long the retention schedule keeps the record (its newest
    /// version); absent if the engine does not hold it.
    pub retention: Option<sightline_app::retention::RetentionShown>,
}

/// Records what an agency's token read (issue #15, finding 11): `action` on
/// `resource`, by `token:ID` of its agency, with `outcome`.
async fn record_token_read(
    state: &AppState,
    token: &sightline_app::LiveToken,
    action: &'static str,
    resource: String,
    outcome: &'static str,
) -> Result<(), ApiError> {
    let store = state.store.clone();
    let actor = token.audit_actor();
    tokio::task::spawn_blocking(move || {
        sightline_app::audit::record(
            store.as_ref(),
            &actor,
            action,
            &resource,
            "token",
            outcome,
            Utc::now(),
        )
    })
    .await??;
    Ok(())
}

/// Every stored version of one record of the token's agency. Audited
/// (`view_record_history` on the record, by `token:ID`), refusals too.
#[utoipa::path(
    get,
    path = "/api/v1/records/{agency}/{record_id}",
    tag = "records",
    params(
        ("agency" = String, Path, pattern = "^[a-z0-9-]{2,64}$"),
        ("record_id" = String, Path, min_length = 1, max_length = 128),
    ),
    responses(
        (status = 200, body = RecordHistory),
        (status = 400, description = "A path parameter that is not UTF-8 once percent-decoded", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Another agency's record", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn record_history(
    State(state): State<AppState>,
    AgencyAuth(token_agency, token): AgencyAuth,
    ApiPath((agency, record_id)): ApiPath<(String, String)>,
) -> Result<Json<RecordHistory>, ApiError> {
    // The key as the audit log names records; cut, as the path may be anything.
    let resource: String = format!("record:{agency}/{record_id}")
        .chars()
        .take(AUDITED_KEY_CHARS_MAX)
        .collect();
    if token_agency.as_str() != agency {
        record_token_read(&state, &token, "view_record_history", resource, "deny").await?;
        return Err(ApiError::forbidden(format!(
            "this token may only read records of agency \"{token_agency}\""
        )));
    }
    let store = state.store.clone();
    let (agency_for_query, record_id_for_query) = (agency.clone(), record_id.clone());
    let versions = tokio::task::spawn_blocking(move || {
        store.record_versions(&agency_for_query, &record_id_for_query)
    })
    .await??;
    let current_version = versions.iter().map(|version| version.version).max();
    let outcome = if current_version.is_some() {
        "ok"
    } else {
        "not_found"
    };
    record_token_read(&state, &token, "view_record_history", resource, outcome).await?;
    let current_version = current_version
        .ok_or_else(|| ApiError::not_found("no record with that agency and record_id"))?;
    let retention = state
        .engine
        .read(|engine| {
            sightline_app::retention::retention_shown(
                engine.linked(),
                engine.facts(),
                engine.organisation(),
                &state.config.web.retention_schedule,
                &agency,
                &record_id,
                Utc::now().date_naive(),
            )
        })
        .ok()
        .flatten();
    Ok(Json(RecordHistory {
        retention,
        agency,
        record_id,
        current_version,
        versions: versions.into_iter().map(RecordVersion::from).collect(),
    }))
}

/// The most characters of a resource key a token's read records (the path
/// may name anything).
const AUDITED_KEY_CHARS_MAX: usize = 600;

/// The largest page of `GET /api/v1/records`.
pub const LIST_LIMIT_MAX: u32 = 1_000;
const LIST_LIMIT_DEFAULT: u32 = 100;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Agency; defaults to the token's own (the only one it may read).
    #[param(pattern = "^[a-z0-9-]{2,64}$")]
    agency: Option<String>,
    /// Only this kind, e.g. `health.ed_attendance`.
    #[param(schema_with = crate::params::kind_schema)]
    kind: Option<String>,
    /// Only records received at or after this RFC 3339 instant.
    #[param(format = DateTime)]
    since: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]{0,18}$")]
    cursor: Option<String>,
    /// Page size, 1 to 1,000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// A page of records.
#[derive(Serialize, ToSchema)]
pub struct RecordPage {
    pub records: Vec<RecordVersion>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Records of the token's agency in log order, a page at a time. Audited
/// (`list_agency_records` on the agency, by `token:ID`, once per page),
/// refusals too.
#[utoipa::path(
    get,
    path = "/api/v1/records",
    tag = "records",
    params(ListQuery),
    responses(
        (status = 200, body = RecordPage),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list_records(
    State(state): State<AppState>,
    AgencyAuth(token_agency, token): AgencyAuth,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<RecordPage>, ApiError> {
    if let Some(agency) = &query.agency {
        params::require(
            params::is_agency(agency),
            "agency must be an agency id (2 to 64 of a-z, 0-9 and -)",
        )?;
    }
    let agency = query.agency.unwrap_or_else(|| token_agency.to_string());
    let resource: String = format!("agency:{agency}")
        .chars()
        .take(AUDITED_KEY_CHARS_MAX)
        .collect();
    if agency != token_agency.as_str() {
        record_token_read(&state, &token, "list_agency_records", resource, "deny").await?;
        return Err(ApiError::forbidden(format!(
            "this token may only read records of agency \"{token_agency}\""
        )));
    }
    let limit = query.limit.unwrap_or(LIST_LIMIT_DEFAULT);
    if !(1..=LIST_LIMIT_MAX).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be from 1 to {LIST_LIMIT_MAX}"
        )));
    }
    let after_seq = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(cursor) => Some(
            cursor
                .parse::<i64>()
                .ok()
                .filter(|_| params::is_record_cursor(cursor))
                .ok_or_else(|| ApiError::bad_request("cursor is not one this API gave"))?,
        ),
    };
    let received_since_us = match query.since.as_deref() {
        None => None,
        Some(since) => Some(
            DateTime::parse_from_rfc3339(since)
                .map_err(|_| ApiError::bad_request("since must be an RFC 3339 date-time"))?
                .timestamp_micros(),
        ),
    };
    if let Some(kind) = &query.kind
        && sightline_core::Kind::parse(kind).is_none()
    {
        return Err(ApiError::bad_request(format!(
            "\"{kind}\" is not a known kind"
        )));
    }
    let filter = RecordFilter {
        agency: Some(agency),
        kind: query.kind,
        received_since_us,
        after_seq,
        limit,
    };
    let store = state.store.clone();
    let records = tokio::task::spawn_blocking(move || store.list_records(&filter)).await??;
    record_token_read(&state, &token, "list_agency_records", resource, "ok").await?;
    let next_cursor = (records.len() == limit as usize)
        .then(|| records.last().map(|record| record.seq.to_string()))
        .flatten();
    Ok(Json(RecordPage {
        records: records.into_iter().map(RecordVersion::from).collect(),
        next_cursor,
    }))
}
