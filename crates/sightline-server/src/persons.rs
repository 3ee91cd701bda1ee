//! `/api/v1/persons` and `/api/v1/linkage/review`: persons across agencies, fuzzy
//! search, and clerical review of the linkage. Staff only (the web session), every
//! call authorised by `sightline_access::authorize` and recorded in the audit log
//! before it answers.

use crate::AppState;
use crate::auth::StaffAuth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::params;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sightline_access::{AccessContext, Action, Decision, Resource, View};
use sightline_app::accounts::Account;
use sightline_app::persons::{
    DecisionRefusal, DecisionView, PersonDetail, PersonSummary, PersonsError, ReviewPair,
    SearchQuery, SearchResult, person_detail, person_summary, review_queue,
};
use sightline_store::{DecisionVerdict, NewLinkageDecision, Store};
use utoipa::{IntoParams, ToSchema};

/// The intake engine for a persons request, up to date with the log and the
/// decisions stored by other processes (its write lock: `search` takes `&mut`).
fn engine_of<'a>(
    engine: &'a sightline_app::SharedEngine,
    store: &dyn Store,
) -> Result<std::sync::RwLockWriteGuard<'a, sightline_app::Engine>, ApiError> {
    engine
        .write(store, chrono::Utc::now())
        .map_err(engine_error)
}

fn engine_error(error: sightline_app::EngineError) -> ApiError {
    match error {
        sightline_app::EngineError::Persons(error) => persons_error(error),
        other => {
            tracing::error!(error = %other, "persons request failed");
            ApiError::internal()
        }
    }
}

fn persons_error(error: PersonsError) -> ApiError {
    match error {
        PersonsError::BadRequest(message) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
        }
        PersonsError::UnknownMention(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_mention",
            "a mention key is not in the log (keys are agency/record_id/ref)",
        ),
        PersonsError::Store(sightline_store::StoreError::InvalidDecision { reason }) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_decision", reason)
        }
        PersonsError::Refused(refusal) => refusal_error(refusal),
        other => {
            tracing::error!(error = %other, "persons request failed");
            ApiError::internal()
        }
    }
}

/// The answer to a refused linkage decision: `not_offered_for_review` for a
/// "same person" decision about a pair the review queue does not offer,
/// `invalid_decision` for a reason that is not a sentence.
fn refusal_error(refusal: DecisionRefusal) -> ApiError {
    let code = match refusal {
        DecisionRefusal::NotOffered => "not_offered_for_review",
        DecisionRefusal::EmptyReason
        | DecisionRefusal::ReasonTooShort
        | DecisionRefusal::ReasonTooLong => "invalid_decision",
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, refusal.to_string())
}

/// Authorises and audits; `Deny` is a 403 (after it was recorded).
fn allow(
    store: &dyn Store,
    account: &Account,
    action: Action,
    view: Option<View>,
    resource: &Resource,
    context: &AccessContext,
) -> Result<Decision, ApiError> {
    let decision = sightline_app::audit::authorize_view_and_record(
        store,
        account,
        action,
        view,
        resource,
        context,
        chrono::Utc::now(),
    )?;
    if decision == Decision::Deny {
        return Err(ApiError::forbidden("your role may not do this"));
    }
    Ok(decision)
}

/// Runs `work` off the async runtime once `account` may do `action` on the
/// service as a whole (authorised and audited first); `work` gets the store, the
/// engine, the account and the decision.
async fn on_service<R: Send + 'static>(
    state: &AppState,
    account: Account,
    action: Action,
    work: impl FnOnce(
        &dyn Store,
        &sightline_app::SharedEngine,
        &Account,
        Decision,
    ) -> Result<R, ApiError>
    + Send
    + 'static,
) -> Result<R, ApiError> {
    let store = state.store.clone();
    let engine = state.engine.clone();
    tokio::task::spawn_blocking(move || {
        let decision = allow(
            store.as_ref(),
            &account,
            action,
            None,
            &Resource::Service,
            &AccessContext::default(),
        )?;
        work(store.as_ref(), &engine, &account, decision)
    })
    .await?
}

/// A person as the caller may see them.
#[derive(Serialize, ToSchema)]
pub struct PersonResponse {
    /// `full` (the detail is given) or `minimal` (identity and whom to contact
    /// only; break glass in the web UI for more).
    pub view: String,
    pub summary: PersonSummary,
    pub detail: Option<PersonDetail>,
}

/// One person: identity, every source mention and the evidence for each link.
///
/// A full view needs a relationship with the person (your agency recorded
/// them) or a live break-glass grant; otherwise the minimal view.
#[utoipa::path(
    get,
    path = "/api/v1/persons/{id}",
    tag = "persons",
    params(("id" = String, Path, pattern = "^p-[0-9a-f]{16}$", description = "Sightline's person id (p-...)")),
    responses(
        (status = 200, description = "The person", body = PersonResponse),
        (status = 400, description = "A path parameter that is not UTF-8 once percent-decoded", body = ErrorBody),
        (status = 401, description = "No live staff session", body = ErrorBody),
        (status = 403, description = "Your role may not see persons", body = ErrorBody),
        (status = 404, description = "No such person", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn get_person(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(person_id): ApiPath<String>,
) -> Result<Json<PersonResponse>, ApiError> {
    let account = auth.account();
    let store = state.store.clone();
    let engine = state.engine.clone();
    let response = tokio::task::spawn_blocking(move || {
        let guard = engine_of(&engine, store.as_ref())?;
        let linked = guard.linked();
        let mut context =
            sightline_app::accounts::access_context(store.as_ref(), &account, chrono::Utc::now())
                .map_err(|_| ApiError::internal())?;
        context.relationships = sightline_app::need_to_know::child_relationships(
            store.as_ref(),
            &guard,
            &person_id,
            chrono::Utc::now(),
        )?;
        let decision = allow(
            store.as_ref(),
            &account,
            Action::ViewChild,
            Some(View::Person),
            &Resource::Child(person_id.clone()),
            &context,
        )?;
        let summary = person_summary(linked, &person_id)
            .ok_or_else(|| ApiError::not_found("no such person"))?;
        let detail = if decision.is_full() {
            // CP-IS: a child on a plan read in full by another agency tells
            // the child's allocated worker or duty team.
            sightline_app::cpis::after_full_read(
                store.as_ref(),
                &guard,
                &account,
                &person_id,
                View::Person,
                chrono::Utc::now(),
            )?;
            let withheld = sightline_app::controls::withheld_from(store.as_ref(), &account)?;
            person_detail(store.as_ref(), linked, &person_id)
                .map_err(persons_error)?
                .map(|detail| detail.without(&withheld))
        } else {
            None
        };
        Ok::<_, ApiError>(PersonResponse {
            view: decision.outcome().to_owned(),
            summary,
            detail,
        })
    })
    .await??;
    Ok(Json(response))
}

/// A person search by a name, a date of birth or both (neither: nothing is
/// searched, nothing found).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Given names then family name, as typed (spelling and order may vary):
    /// at most 200 characters, none of them a control character.
    #[param(max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub name: Option<String>,
    /// `YYYY-MM-DD`, `YYYY-MM` or `YYYY`.
    #[param(schema_with = crate::params::dob_schema)]
    pub dob: Option<String>,
    /// At most this many persons (1 to 50; default 20).
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<usize>,
}

/// The persons found, best first.
#[derive(Serialize, ToSchema)]
pub struct SearchResponse {
    pub persons: Vec<SearchResult>,
}

/// Fuzzy search by name and date of birth, through the linkage's own blocking
/// and model. Hits are minimal views (NHS number: last three digits). Each hit
/// is audited (`view_search_hit` on the person, with the access the reader has
/// to them), as the web's Find a child does.
#[utoipa::path(
    get,
    path = "/api/v1/persons",
    tag = "persons",
    params(SearchParams),
    responses(
        (status = 200, description = "Persons, best first (none when neither a name nor a date of birth is given)", body = SearchResponse),
        (status = 400, description = "A parameter the document forbids (a name too long or with control characters, a date of birth that is not one, a limit out of range)", body = ErrorBody),
        (status = 401, description = "No live staff session", body = ErrorBody),
        (status = 403, description = "Your role may not search persons", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn search(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiQuery(search_params): ApiQuery<SearchParams>,
) -> Result<Json<SearchResponse>, ApiError> {
    if let Some(name) = &search_params.name {
        params::require(
            name.chars().count() <= sightline_app::persons::SEARCH_NAME_CHARS_MAX
                && params::has_no_control(name),
            "name must be at most 200 characters, none of them a control character",
        )?;
    }
    if let Some(dob) = &search_params.dob {
        params::require(
            params::is_dob(dob),
            "dob must be YYYY-MM-DD, YYYY-MM or YYYY",
        )?;
    }
    let limit = search_params.limit.unwrap_or(20);
    params::require(
        (1..=sightline_app::persons::SEARCH_HITS_MAX).contains(&limit),
        "limit must be from 1 to 50",
    )?;
    let persons = on_service(
        &state,
        auth.account(),
        Action::SearchPersons,
        move |store, engine, account, _| {
            // Nothing to search for: nothing found (the role's access to
            // search was still checked and recorded).
            let blank =
                |text: &Option<String>| text.as_deref().is_none_or(|text| text.trim().is_empty());
            if blank(&search_params.name) && blank(&search_params.dob) {
                return Ok(Vec::new());
            }
            let query = SearchQuery {
                name: search_params.name,
                dob: search_params.dob,
            };
            let mut guard = engine_of(engine, store)?;
            let hits = guard.search_persons(&query, limit).map_err(persons_error)?;
            // Each hit names a person with their date of birth and agencies:
            // recorded (issue #15, finding 11), so "who viewed this child"
            // shows who found them.
            let now = chrono::Utc::now();
            let mut context = sightline_app::accounts::access_context(store, account, now)
                .map_err(|_| ApiError::internal())?;
            for hit in &hits {
                context.relationships = sightline_app::need_to_know::child_relationships(
                    store,
                    &guard,
                    &hit.person.id,
                    now,
                )?;
                sightline_app::audit::authorize_view_and_record(
                    store,
                    account,
                    Action::ViewChild,
                    Some(View::Search),
                    &Resource::Child(hit.person.id.clone()),
                    &context,
                    now,
                )?;
            }
            Ok(hits)
        },
    )
    .await?;
    Ok(Json(SearchResponse { persons }))
}

/// How many review pairs to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewParams {
    /// At most this many pairs (1 to 1,000; default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// The review queue.
#[derive(Serialize, ToSchema)]
pub struct ReviewResponse {
    /// Pairs waiting, most likely matches first.
    pub pairs: Vec<ReviewPair>,
    /// How many pairs wait in all.
    pub total: usize,
}

/// Pairs of mentions scored between the review and link thresholds with no
/// decision yet: both mentions and the waterfall. Safeguarding leads and team
/// managers. Every record shown is audited (`view_review_queue` on the record).
#[utoipa::path(
    get,
    path = "/api/v1/linkage/review",
    tag = "persons",
    params(ReviewParams),
    responses(
        (status = 200, description = "The queue", body = ReviewResponse),
        (status = 400, description = "A limit out of range", body = ErrorBody),
        (status = 401, description = "No live staff session", body = ErrorBody),
        (status = 403, description = "Not a safeguarding lead or team manager", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn review(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiQuery(review_params): ApiQuery<ReviewParams>,
) -> Result<Json<ReviewResponse>, ApiError> {
    let limit = review_params.limit.unwrap_or(50);
    params::require(
        (1..=sightline_app::persons::REVIEW_PAIRS_MAX).contains(&limit),
        "limit must be from 1 to 1,000",
    )?;
    let response = on_service(
        &state,
        auth.account(),
        Action::ReviewLinkage,
        move |store, engine, account, _| {
            let guard = engine_of(engine, store)?;
            let linked = guard.linked();
            let mut pairs = review_queue(linked, limit);
            // A pair with a record restricted away from the reviewer is not shown.
            let withheld = sightline_app::controls::withheld_from(store, account)?;
            pairs.retain(|pair| {
                !withheld.contains(&pair.left.agency, &pair.left.record_id)
                    && !withheld.contains(&pair.right.agency, &pair.right.record_id)
            });
            sightline_app::audit::record_review_pairs_shown(
                store,
                &sightline_app::audit::AuditActor::of(account),
                &pairs,
                chrono::Utc::now(),
            )?;
            Ok(ReviewResponse {
                pairs,
                total: linked.index.review_queue().len(),
            })
        },
    )
    .await?;
    Ok(Json(response))
}

/// The most characters of a mention key a refusal records (a key the log
/// holds is at most 512 bytes; a refused request may name anything).
const AUDITED_KEY_CHARS_MAX: usize = 512;

/// Records a refused linkage decision: `decide_linkage` on the pair as named
/// (canonical order, each key cut to [`AUDITED_KEY_CHARS_MAX`]), outcome
/// `refused`, why as the basis.
fn record_refusal(
    store: &dyn Store,
    account: &Account,
    left: &str,
    right: &str,
    why: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    let (left, right) = if left <= right {
        (left, right)
    } else {
        (right, left)
    };
    let clip = |key: &str| -> String { key.chars().take(AUDITED_KEY_CHARS_MAX).collect() };
    sightline_app::audit::record(
        store,
        &sightline_app::audit::AuditActor::of(account),
        "decide_linkage",
        &format!("linkage:{}|{}", clip(left), clip(right)),
        why,
        "refused",
        now,
    )?;
    Ok(())
}

/// A decision about two mentions.
#[derive(Deserialize, ToSchema)]
pub struct DecisionRequest {
    /// One mention key, `agency/record_id/ref`.
    pub left: String,
    /// The other mention key.
    pub right: String,
    /// `match` (merge), `non_match` (split) or `withdrawn` (undo the standing
    /// decision about the pair).
    #[schema(schema_with = crate::params::verdict_schema)]
    pub verdict: String,
    /// Why, in your words, in a sentence: 20 to 2,000 characters (recorded;
    /// leading and trailing white space not counted).
    #[schema(min_length = 20, max_length = 2000, pattern = "\\S[\\s\\S]{18,}\\S")]
    pub reason: String,
}

/// The stored decision and the persons of both mentions after it.
#[derive(Serialize, ToSchema)]
pub struct DecisionResponse {
    pub decision: DecisionView,
    pub left_person: String,
    pub right_person: String,
}

/// Record a match / non-match decision (or withdraw one). It is stored in the
/// append-only decision log, audited, applied at once and respected by every
/// later link and rebuild. Send the session's CSRF token in `X-CSRF-Token`.
///
/// The reason must be a sentence (20 to 2,000 characters). A `match` is only
/// for a pair the review queue offers (or one decided before, to turn the
/// decision round): any other pair is refused with `not_offered_for_review`.
/// Every refusal is audited (`decide_linkage`, outcome `refused`).
#[utoipa::path(
    post,
    path = "/api/v1/linkage/review",
    tag = "persons",
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "Stored and applied", body = DecisionResponse),
        (status = 400, description = "A body that is not JSON", body = ErrorBody),
        (status = 401, description = "No live staff session", body = ErrorBody),
        (status = 403, description = "Not a safeguarding lead or team manager, or no CSRF token", body = ErrorBody),
        (status = 422, description = "Unknown mention (`unknown_mention`), unusable verdict or reason (`invalid_decision`), or a match for a pair the review queue does not offer (`not_offered_for_review`); nothing stored, the refusal audited", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "No Content-Type: application/json", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn record_decision(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiJson(request): ApiJson<DecisionRequest>,
) -> Result<Json<DecisionResponse>, ApiError> {
    let account = auth.account();
    let response = on_service(
        &state,
        account,
        Action::ReviewLinkage,
        move |store, engine, account, decided| {
            let now = chrono::Utc::now();
            let refused = |why: &str, error: ApiError| -> Result<DecisionResponse, ApiError> {
                record_refusal(store, account, &request.left, &request.right, why, now)?;
                Err(error)
            };
            let Some(verdict) = DecisionVerdict::parse(&request.verdict) else {
                return refused(
                    "verdict_unknown",
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_decision",
                        "verdict must be match, non_match or withdrawn",
                    ),
                );
            };
            let mut guard = engine_of(engine, store)?;
            let decision = NewLinkageDecision {
                left_key: request.left.clone(),
                right_key: request.right.clone(),
                verdict,
                actor: account.username.clone(),
                reason: request.reason.trim().to_owned(),
                at_us: sightline_app::to_micros(now),
            };
            let (row, _) = match guard.decide(store, &decision, now) {
                Ok(decided) => decided,
                Err(sightline_app::EngineError::Persons(PersonsError::Refused(refusal))) => {
                    return refused(refusal.code(), refusal_error(refusal));
                }
                Err(sightline_app::EngineError::Persons(PersonsError::UnknownMention(key))) => {
                    return refused(
                        "unknown_mention",
                        persons_error(PersonsError::UnknownMention(key)),
                    );
                }
                Err(error) => return Err(engine_error(error)),
            };
            let basis = match &decided {
                Decision::Full { basis } => basis.to_string(),
                _ => String::new(),
            };
            sightline_app::audit::record(
                store,
                &sightline_app::audit::AuditActor::of(account),
                "decide_linkage",
                &format!("linkage:{}|{}", row.left_key, row.right_key),
                &basis,
                row.verdict.as_str(),
                now,
            )?;
            let linked = guard.linked();
            let person = |key: &str| {
                linked
                    .index
                    .record_of(key)
                    .and_then(|record| linked.person_of_mention.get(record as usize))
                    .cloned()
                    .unwrap_or_default()
            };
            Ok::<_, ApiError>(DecisionResponse {
                left_person: person(&row.left_key),
                right_person: person(&row.right_key),
                decision: DecisionView::from(&row),
            })
        },
    )
    .await?;
    Ok(Json(response))
}
