//! `/api/v1/notices`: the access notices a person is told (a new relationship
//! of an agency with a child, a break-glass grant, or a CP-IS read of a child
//! on a plan by another agency), newest first in keyset pages. The privacy
//! officer reads every notice; a team manager or safeguarding lead those
//! telling their agency (the child's lead agency); a practitioner the CP-IS
//! notices telling them (the allocated worker) or their team (the duty team);
//! an administrator gets 403. Authenticated by a staff session; every read is
//! audited (`view_notices`).

use crate::AppState;
use crate::auth::StaffAuth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use axum::Json;
use axum::extract::State;
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sightline_app::audit::{self, AuditActor};
use sightline_app::privacy;
use utoipa::{IntoParams, ToSchema};

/// Notices per page unless `limit` says otherwise.
const NOTICE_LIMIT_DEFAULT: u32 = 100;
/// The most notices one page holds.
const NOTICE_LIMIT_MAX: u32 = 1_000;

/// One access notice.
#[derive(Serialize, ToSchema)]
pub struct Notice {
    /// Its position (the paging cursor: pass it as `before`).
    pub seq: i64,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// `new_relationship`, `relationship_held`, `break_glass` or `cpis_access`.
    pub kind: String,
    /// The child (`child:<person id>`) or record (`record:<agency>/<id>`)
    /// access was gained to.
    pub resource: String,
    /// The child's person id, when the notice is about a child.
    pub child_id: Option<String>,
    /// The agency told (the child's lead agency); absent when only the
    /// privacy officer is.
    pub to_agency: Option<String>,
    /// The agency that gained access.
    pub about_agency: String,
    /// For break glass: the user who broke it; for CP-IS: the user who read.
    pub about_username: Option<String>,
    /// For CP-IS: whom the notice tells at the lead agency:
    /// `allocated_worker` or `duty_team`.
    pub told: Option<String>,
    /// For CP-IS told to a duty team: the team (`team:AGENCY/TEAM`).
    pub to_team: Option<String>,
    /// For CP-IS: the view read (`view_child`, `view_chronology`,
    /// `view_person`, ...); otherwise the relationship or grant.
    pub subject: String,
    /// The basis of a relationship (`first_record`, `social_care_episode`,
    /// `nhs_number`, `address`), the reason given for breaking glass, or for
    /// CP-IS `PLAN;ROLE;SETTING` (`child_protection_plan`, `looked_after` or
    /// `unborn_child_protection_plan`; the reader's role; their health service
    /// or agency type).
    pub detail: String,
    /// Why, in words.
    pub why: String,
}

/// A page of notices.
#[derive(Serialize, ToSchema)]
pub struct NoticePage {
    /// Newest first.
    pub notices: Vec<Notice>,
    /// The `before` of the next page, if there may be one.
    pub next_before: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoticeQuery {
    /// Only notices older than this `seq` (the previous page's `next_before`).
    before: Option<i64>,
    /// At most this many, 1 to 1,000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// The access notices the caller is told.
#[utoipa::path(
    get,
    path = "/api/v1/notices",
    tag = "access",
    params(NoticeQuery),
    responses(
        (status = 200, body = NoticePage),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "The caller is told no notices (administrators)", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn list_notices(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiQuery(query): ApiQuery<NoticeQuery>,
) -> Result<Json<NoticePage>, ApiError> {
    let limit = query.limit.unwrap_or(NOTICE_LIMIT_DEFAULT);
    if !(1..=NOTICE_LIMIT_MAX).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be from 1 to {NOTICE_LIMIT_MAX}"
        )));
    }
    let now = Utc::now();
    let account = auth.session.account;
    let page = tokio::task::spawn_blocking(move || {
        let store = state.store.as_ref();
        let by = AuditActor::of(&account);
        let Some(scope) = privacy::notice_scope(&account) else {
            audit::record(store, &by, "view_notices", "service", "", "deny", now)?;
            return Err(ApiError::forbidden(
                "administrators are told of no access notices",
            ));
        };
        audit::record(
            store,
            &by,
            "view_notices",
            "service",
            &format!("role:{}", by.role),
            "ok",
            now,
        )?;
        let rows = privacy::notices(store, &scope, query.before, limit)?;
        let full = rows.len() == usize::try_from(limit).unwrap_or(usize::MAX);
        let next_before = rows.last().map(|row| row.seq).filter(|_| full);
        let notices = rows
            .into_iter()
            .map(|row| {
                let notice = row.notice;
                Notice {
                    seq: row.seq,
                    at: sightline_app::from_micros(notice.at_us)
                        .to_rfc3339_opts(SecondsFormat::Secs, true),
                    why: privacy::notice_why(&notice),
                    child_id: notice
                        .resource_key
                        .strip_prefix("child:")
                        .map(str::to_owned),
                    told: if notice.to_user_id.is_some() {
                        Some("allocated_worker".to_owned())
                    } else {
                        notice.to_team.as_ref().map(|_| "duty_team".to_owned())
                    },
                    to_team: notice.to_team,
                    subject: notice.subject,
                    kind: notice.kind,
                    resource: notice.resource_key,
                    to_agency: notice.to_agency,
                    about_agency: notice.about_agency,
                    about_username: notice.about_username,
                    detail: notice.detail,
                }
            })
            .collect();
        Ok::<_, ApiError>(NoticePage {
            notices,
            next_before,
        })
    })
    .await??;
    Ok(Json(page))
}
