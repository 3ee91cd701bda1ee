//! The page handlers. Store work runs on the blocking pool; every read of
//! personal data goes through `authorize_and_record` first.

use crate::WebState;
use crate::guard::{cookie, is_secure, pre_session_cookie_name, session_cookie_name, set_cookie};
use crate::render::{ErrorPage, UserView, error_page, page};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;
use minijinja::context;
use serde::{Deserialize, Serialize};
use sightline_access::{Action, Decision, Resource, Role};
use sightline_app::accounts::{
    self, AccountError, BreakGlassOutcome, LiveSession, LoginOutcome, NewAccount, Password, Team,
    Username,
};
use sightline_app::audit::{self, AuditActor};
use sightline_core::AgencyId;
use sightline_store::Store;
use std::fmt::Display;

const STYLESHEET: &str = include_str!("../static/sightline.css");

/// Runs store work on the blocking pool; any failure becomes the error page.
pub(crate) async fn blocking<T, E>(
    state: &WebState,
    session: Option<&LiveSession>,
    work: impl FnOnce(&dyn Store) -> Result<T, E> + Send + 'static,
) -> Result<T, Response>
where
    T: Send + 'static,
    E: Display + Send + 'static,
{
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || work(store.as_ref())).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => {
            tracing::error!(error = %error, "page failed");
            Err(error_page(state, session, ErrorPage::internal()))
        }
        Err(error) => {
            tracing::error!(error = %error, "page task failed");
            Err(error_page(state, session, ErrorPage::internal()))
        }
    }
}

/// "7 December 2026 at 10:57", on the clock in England.
pub(crate) fn time(micros: i64) -> String {
    sightline_core::dates::date_time(sightline_app::from_micros(micros))
}

fn with_header(mut response: Response, name: header::HeaderName, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(name, value);
    }
    response
}

pub async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
        .into_response()
}

pub async fn not_found(State(state): State<WebState>, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        let body = serde_json::json!({"error": {"code": "not_found", "message": "no such route"}});
        return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
    }
    error_page(&state, None, ErrorPage::not_found())
}

pub async fn home() -> Redirect {
    Redirect::to("/my-work")
}

// ---- login and logout ----

#[derive(Deserialize)]
pub struct LoginQuery {
    signed_out: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
}

fn login_page(
    state: &WebState,
    secure: bool,
    status: StatusCode,
    username: &str,
    error: Option<String>,
    signed_out: bool,
) -> Response {
    let (pre_session, token) = state.login_key.issue(Utc::now());
    let response = page(
        state,
        status,
        "login.html",
        context! {
            user => None::<UserView>,
            page_title => "Sign in",
            nav => "",
            csrf_token => token,
            username => username,
            error => error,
            signed_out => signed_out,
            local_passwords => state.config.sign_in.local_passwords,
            providers => state.config.sign_in.providers.iter().map(|provider| context! {
                name => provider.name.clone(),
                label => provider.label.clone(),
            }).collect::<Vec<_>>(),
        },
    );
    with_header(
        response,
        header::SET_COOKIE,
        &set_cookie(pre_session_cookie_name(secure), &pre_session, secure, false),
    )
}

pub async fn login_form(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let secure = is_secure(&state, &headers);
    login_page(
        &state,
        secure,
        StatusCode::OK,
        "",
        None,
        query.signed_out.is_some(),
    )
}

/// The client's address: the peer's, or, when the peer is a proxy the
/// operator named (`--trusted-proxy`), the last address of its
/// `X-Forwarded-For` (the one that proxy appended; earlier ones are the
/// client's to choose). `None` without a peer address (a router served without
/// connect info).
pub(crate) fn client_address(
    state: &WebState,
    peer: Option<std::net::SocketAddr>,
    headers: &HeaderMap,
) -> Option<std::net::IpAddr> {
    let peer = crate::proxy::canonical(peer?.ip());
    if !crate::proxy::is_trusted(&state.config.trusted_proxies, Some(peer)) {
        return Some(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse::<std::net::IpAddr>().ok());
    Some(forwarded.unwrap_or(peer))
}

/// "1 second", "40 seconds", "3 minutes" (rounded up).
fn wait_text(seconds: i64) -> String {
    match seconds {
        1 => "1 second".to_owned(),
        2..=119 => format!("{seconds} seconds"),
        _ => format!("{} minutes", (seconds + 59) / 60),
    }
}

pub async fn login_submit(
    State(state): State<WebState>,
    peer: Option<Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !state.config.sign_in.local_passwords {
        // Passwords are off: staff sign in with their organisation's
        // provider only.
        tracing::warn!(
            route = "/login",
            "login refused: local passwords are turned off"
        );
        return error_page(
            &state,
            None,
            ErrorPage {
                status: StatusCode::FORBIDDEN,
                title: "Sign in with your organisation",
                message: "Sightline passwords are turned off here. Go to the sign-in page and sign in with your organisation's account.",
            },
        );
    }
    let source = client_address(&state, peer.map(|Extension(info)| info.0), &headers);
    let secure = is_secure(&state, &headers);
    let pre_session = cookie(&headers, pre_session_cookie_name(secure)).unwrap_or_default();
    if !state
        .login_key
        .check(&pre_session, &form.csrf_token, Utc::now())
    {
        tracing::warn!(
            route = "/login",
            "login refused: CSRF token missing or wrong"
        );
        return error_page(&state, None, ErrorPage::csrf());
    }
    let policy = state.config.session;
    let username = form.username.trim().to_owned();
    let password = form.password;
    let now = Utc::now();
    let attempt = username.clone();
    let outcome = match blocking(&state, None, move |store| {
        accounts::login(store, &attempt, &password, source, now, &policy)
    })
    .await
    {
        Ok(outcome) => outcome,
        Err(response) => return response,
    };
    match outcome {
        LoginOutcome::SignedIn { secret, .. } => {
            let response = Redirect::to("/my-work").into_response();
            let response = with_header(
                response,
                header::SET_COOKIE,
                &set_cookie(session_cookie_name(secure), secret.as_str(), secure, false),
            );
            with_header(
                response,
                header::SET_COOKIE,
                &set_cookie(pre_session_cookie_name(secure), "", secure, true),
            )
        }
        LoginOutcome::Refused { locked_until } => {
            let message = match locked_until {
                Some(until) => format!(
                    "There have been too many attempts to sign in. Try again in {}.",
                    wait_text((until - now).num_seconds().max(1))
                ),
                None => "Enter a correct username and password.".to_owned(),
            };
            login_page(
                &state,
                secure,
                StatusCode::UNAUTHORIZED,
                &username,
                Some(message),
                false,
            )
        }
    }
}

pub async fn logout(
    State(state): State<WebState>,
    headers: HeaderMap,
    Extension(session): Extension<LiveSession>,
) -> Response {
    let secure = is_secure(&state, &headers);
    let cookie_value = cookie(&headers, session_cookie_name(secure)).unwrap_or_default();
    let now = Utc::now();
    if let Err(response) = blocking(&state, Some(&session), move |store| {
        accounts::logout(store, &cookie_value, now)
    })
    .await
    {
        return response;
    }
    let response = with_header(
        Redirect::to("/login?signed_out=1").into_response(),
        header::SET_COOKIE,
        &set_cookie(session_cookie_name(secure), "", secure, true),
    );
    // And the browser forgets what it kept of the session's pages (ASVS
    // 14.3.1; browsers honour it over HTTPS).
    with_header(
        response,
        header::HeaderName::from_static("clear-site-data"),
        CLEAR_SITE_DATA,
    )
}

/// What a browser clears at sign-out: cached pages, cookies, storage.
const CLEAR_SITE_DATA: &str = "\"cache\", \"cookies\", \"storage\"";

/// A page's filters as a query string: the fields a person filled in
/// (trimmed), in the given order; empty when none is.
pub(crate) fn filter_query_string(fields: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        if !value.trim().is_empty() {
            serializer.append_pair(name, value.trim());
        }
    }
    serializer.finish()
}

/// Percent-encodes a path segment (record ids may hold `/`, spaces, `#`).
pub(crate) fn encode_path(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

// ---- one record: full or minimal view, and break glass ----

/// Asks for a break-glass grant on `resource` for the session's user (decided,
/// recorded and, when granted, notified by `accounts::break_glass`).
pub(crate) async fn break_glass(
    state: &WebState,
    session: &LiveSession,
    resource: Resource,
    reason: &str,
) -> Result<BreakGlassOutcome, Response> {
    let account = session.account.clone();
    let policy = state.config.session;
    let engine = state.engine.clone();
    let now = Utc::now();
    let reason = reason.to_owned();
    blocking(state, Some(session), move |store| {
        let target = crate::children::with_engine(&engine, |engine| {
            sightline_app::need_to_know::break_glass_target(store, engine, &resource)
                .map_err(|error| error.to_string())
        })?;
        accounts::break_glass(store, &account, &target, &reason, now, &policy)
            .map_err(|error| error.to_string())
    })
    .await
}

/// What a refused break-glass request says on the page.
pub(crate) const BREAK_GLASS_LIMIT_MESSAGE: &str = "You have broken glass as many times as one person may in 24 hours. \
     Ask your safeguarding lead or the privacy officer.";

#[derive(Deserialize)]
pub struct BreakGlassForm {
    #[serde(default)]
    reason: String,
}

pub(crate) fn record_resource(agency: &str, record_id: &str) -> Option<Resource> {
    let agency = AgencyId::parse(agency).ok()?;
    let record_id = sightline_core::RecordId::parse(record_id).ok()?;
    Some(Resource::Record {
        agency,
        record_id: record_id.as_str().to_owned(),
    })
}

#[derive(Serialize)]
struct RecordView {
    kind: String,
    version: i64,
    n_versions: usize,
    occurred_at: String,
    recorded: String,
    received: String,
    /// The record in words; `None` if the stored body no longer parses (then
    /// the page says so instead of showing JSON).
    content: Option<crate::record_view::RecordContent>,
    /// How long the retention schedule keeps it, in words.
    retention: Option<String>,
}

pub async fn record(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path((agency, record_id)): Path<(String, String)>,
) -> Response {
    record_page(state, session, agency, record_id, None, None).await
}

pub(crate) async fn record_page(
    state: WebState,
    session: LiveSession,
    agency: String,
    record_id: String,
    reason_error: Option<(&'static str, String)>,
    restriction_error: Option<String>,
) -> Response {
    let Some(resource) = record_resource(&agency, &record_id) else {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    };
    let may_restrict = crate::controls::may_restrict(&session.account, &resource);
    let account = session.account.clone();
    let now = Utc::now();
    let lookup_agency = agency.clone();
    let lookup_id = record_id.clone();
    let engine = state.engine.clone();
    let policy = state
        .engine
        .read(|engine| engine.config().relationships)
        .unwrap_or_default();
    let loaded = blocking(&state, Some(&session), move |store| {
        let mut context =
            accounts::access_context(store, &account, now).map_err(|error| error.to_string())?;
        // The evidence of an alert routed to the reader is theirs to read.
        context.relationships = sightline_app::need_to_know::record_relationships(
            store,
            &policy,
            &lookup_agency,
            &lookup_id,
            now,
        )
        .map_err(|error| error.to_string())?;
        // A restriction by the record's agency rides in the decision.
        context.restriction =
            sightline_app::controls::restriction_of(store, &lookup_agency, &lookup_id)
                .map_err(|error| error.to_string())?;
        let decision = audit::authorize_and_record(
            store,
            &account,
            Action::ViewRecord,
            &resource,
            &context,
            now,
        )
        .map_err(|error| error.to_string())?;
        let versions = if decision.is_full() {
            // CP-IS: a record about a child on a plan read in full by another
            // agency tells the child's allocated worker or duty team.
            engine
                .read(|engine| {
                    sightline_app::cpis::after_full_record_read(
                        store,
                        engine,
                        &account,
                        &lookup_agency,
                        &lookup_id,
                        now,
                    )
                })
                .map_err(|error| error.to_string())?
                .map_err(|error| error.to_string())?;
            store
                .record_versions(&lookup_agency, &lookup_id)
                .map_err(|error| error.to_string())?
        } else {
            Vec::new()
        };
        // How each erasure a person of the record went by reads on the page.
        let erased_notes: std::collections::BTreeMap<i64, String> = if versions
            .iter()
            .any(|version| version.body.contains(sightline_store::ERASED_PERSON_PREFIX))
        {
            store
                .erasures()
                .map_err(|error| error.to_string())?
                .iter()
                .map(|erasure| (erasure.id, sightline_app::erasure::erased_note(erasure)))
                .collect()
        } else {
            std::collections::BTreeMap::new()
        };
        let restriction = if context.restriction.is_some() {
            sightline_app::controls::latest_restriction(store, &lookup_agency, &lookup_id)
                .map_err(|error| error.to_string())?
        } else {
            None
        };
        Ok::<_, String>((decision, versions, restriction, erased_notes))
    })
    .await;
    let (decision, versions, restriction, erased_notes) = match loaded {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    let restriction_view = restriction
        .as_ref()
        .map(crate::controls::RestrictionView::of);
    let (minimal, record, basis) = match &decision {
        // Restricted away from the reader: a manager or lead of the record's
        // agency outside the named roles may still lift it (the page shows no
        // content), everyone else is refused.
        Decision::Deny if may_restrict && restriction_view.is_some() => {
            (false, None, String::new())
        }
        Decision::Deny => return error_page(&state, Some(&session), ErrorPage::forbidden()),
        Decision::Minimal => (true, None, String::new()),
        Decision::Full { basis } => {
            let Some(latest) = versions.last() else {
                return error_page(&state, Some(&session), ErrorPage::not_found());
            };
            let parsed = sightline_core::interchange::parse_stored(
                &latest.body,
                sightline_app::from_micros(latest.received_at_us),
            )
            .ok();
            let retention = state
                .engine
                .read(|engine| {
                    sightline_app::retention::retention_shown(
                        engine.linked(),
                        engine.facts(),
                        engine.organisation(),
                        &state.config.retention_schedule,
                        &agency,
                        &record_id,
                        Utc::now().date_naive(),
                    )
                })
                .ok()
                .flatten()
                .map(|shown| shown.in_words);
            let view = RecordView {
                retention,
                kind: sightline_core::Kind::parse(&latest.kind).map_or_else(
                    || sightline_core::labels::humanise(&latest.kind),
                    |kind| kind.label().to_owned(),
                ),
                version: latest.version,
                n_versions: versions.len(),
                occurred_at: sightline_core::dates::occurred_text(&latest.occurred_at),
                recorded: time(latest.recorded_at_us),
                received: time(latest.received_at_us),
                content: parsed
                    .as_ref()
                    .map(|record| crate::record_view::record_content_with(record, &erased_notes)),
            };
            (false, Some(view), basis.label_for_reader())
        }
    };
    let status = if reason_error.is_some() || restriction_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let (reason_message, reason) = reason_error.unzip();
    page(
        &state,
        status,
        "record.html",
        context! {
            user => UserView::of(&session),
            page_title => format!("Record {record_id} from {}", state.agency_name(&agency)),
            nav => "",
            agency => agency,
            record_id => record_id,
            action_path => format!("/records/{agency}/{}/break-glass", encode_path(&record_id)),
            minimal => minimal,
            withheld => !minimal && record.is_none() && restriction_view.is_some(),
            record => record,
            basis => basis,
            restriction => restriction_view,
            may_restrict => may_restrict,
            restriction_path => format!("/records/{agency}/{}/restriction", encode_path(&record_id)),
            restriction_roles => crate::controls::ROLE_CHOICES,
            restriction_error => restriction_error,
            break_glass_hours => state.config.session.break_glass_us / 3_600_000_000,
            reason_error => reason_message,
            reason => reason.unwrap_or_default(),
        },
    )
}

pub async fn record_break_glass(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path((agency, record_id)): Path<(String, String)>,
    Form(form): Form<BreakGlassForm>,
) -> Response {
    let Some(resource) = record_resource(&agency, &record_id) else {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    };
    let outcome = match break_glass(&state, &session, resource, &form.reason).await {
        Ok(outcome) => outcome,
        Err(response) => return response,
    };
    let message = match outcome {
        BreakGlassOutcome::Granted { .. } => {
            return Redirect::to(&format!("/records/{agency}/{}", encode_path(&record_id)))
                .into_response();
        }
        BreakGlassOutcome::NotFound => {
            return error_page(&state, Some(&session), ErrorPage::not_found());
        }
        BreakGlassOutcome::Denied => {
            return error_page(&state, Some(&session), ErrorPage::forbidden());
        }
        BreakGlassOutcome::BadReason(message) => message,
        BreakGlassOutcome::LimitReached => BREAK_GLASS_LIMIT_MESSAGE,
    };
    record_page(
        state,
        session,
        agency,
        record_id,
        Some((message, form.reason)),
        None,
    )
    .await
}

// ---- administration: users ----

#[derive(Deserialize)]
pub struct UsersQuery {
    /// `1`, or `inactive` for a casework account waiting for activation.
    created: Option<String>,
    disabled: Option<String>,
}

#[derive(Deserialize, Serialize, Default)]
pub struct UserForm {
    #[serde(default)]
    username: String,
    #[serde(default, skip_serializing)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    agency: String,
    #[serde(default)]
    team: String,
}

/// One problem with a form, for the error summary and the field.
#[derive(Serialize, Clone)]
pub(crate) struct FieldError {
    pub(crate) field: &'static str,
    pub(crate) message: String,
}

/// A date a person typed in a filter ("3 October 2023", "03/10/2023",
/// "2023-10-03"): none when the field is empty, and a problem for the form
/// (naming the field as `name`) when it cannot be read.
pub(crate) fn optional_date(
    text: &str,
    field: &'static str,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<chrono::NaiveDate> {
    match text.trim() {
        "" => None,
        text => match sightline_core::dates::parse_date_input(text) {
            Ok(day) => Some(day),
            Err(error) => {
                errors.push(FieldError {
                    field,
                    message: error.message(name),
                });
                None
            }
        },
    }
}

#[derive(Serialize)]
struct UserRowView {
    id: i64,
    username: String,
    role: &'static str,
    agency: String,
    team: String,
    active: bool,
}

/// How the users page was reached.
#[derive(Serialize, Default, Clone, Copy)]
struct UsersBanner {
    created: bool,
    /// The account created waits for a manager of its agency to activate it.
    created_inactive: bool,
    disabled: bool,
}

#[derive(Serialize)]
struct RoleOption {
    value: &'static str,
    label: &'static str,
}

async fn users_page(
    state: WebState,
    session: LiveSession,
    status: StatusCode,
    form: UserForm,
    errors: Vec<FieldError>,
    banner: UsersBanner,
) -> Response {
    let limit = state.config.page_rows_max;
    let users = match blocking(&state, Some(&session), move |store| {
        store.accounts().list_users(limit)
    })
    .await
    {
        Ok(users) => users,
        Err(response) => return response,
    };
    let users: Vec<UserRowView> = users
        .into_iter()
        .map(|row| UserRowView {
            id: row.id,
            role: Role::parse(&row.role).map_or("Unknown role", Role::label),
            username: row.username,
            agency: row.agency,
            team: row.team.unwrap_or_default(),
            active: row.disabled_at_us.is_none(),
        })
        .collect();
    let roles: Vec<RoleOption> = Role::ALL
        .into_iter()
        .map(|role| RoleOption {
            value: role.as_str(),
            label: role.label(),
        })
        .collect();
    page(
        &state,
        status,
        "users.html",
        context! {
            user => UserView::of(&session),
            page_title => if errors.is_empty() { "Users" } else { "Error: Users" },
            nav => "admin",
            users => users,
            roles => roles,
            form => form,
            errors => errors,
            banner => banner,
            own_id => session.account.id,
        },
    )
}

pub async fn users(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Query(query): Query<UsersQuery>,
) -> Response {
    let form = UserForm {
        agency: session.account.agency.to_string(),
        role: Role::Practitioner.as_str().to_owned(),
        ..UserForm::default()
    };
    let banner = UsersBanner {
        created: query.created.is_some(),
        created_inactive: query.created.as_deref() == Some("inactive"),
        disabled: query.disabled.is_some(),
    };
    users_page(state, session, StatusCode::OK, form, Vec::new(), banner).await
}

fn parse_new_account(form: &UserForm) -> Result<NewAccount, Vec<FieldError>> {
    let mut errors = Vec::new();
    let username = Username::parse(form.username.trim()).map_err(|error| {
        errors.push(FieldError {
            field: "username",
            message: error.to_string(),
        })
    });
    let password = Password::parse(&form.password).map_err(|error| {
        errors.push(FieldError {
            field: "password",
            message: error.to_string(),
        })
    });
    let role = Role::parse(&form.role).map_err(|_| {
        errors.push(FieldError {
            field: "role",
            message: "Select a role".to_owned(),
        })
    });
    let agency = AgencyId::parse(form.agency.trim()).map_err(|_| {
        errors.push(FieldError {
            field: "agency",
            message: "Enter an agency id of 2 to 64 characters of a-z, 0-9 and -".to_owned(),
        })
    });
    let team = match form.team.trim() {
        "" => Ok(None),
        team => Team::parse(team).map(Some).map_err(|error| {
            errors.push(FieldError {
                field: "team",
                message: error.to_string(),
            })
        }),
    };
    match (username, password, role, agency, team) {
        (Ok(username), Ok(password), Ok(role), Ok(agency), Ok(team)) => Ok(NewAccount {
            username,
            password,
            role,
            agency,
            team,
        }),
        _ => Err(errors),
    }
}

pub async fn create_user(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Form(form): Form<UserForm>,
) -> Response {
    let new_account = match parse_new_account(&form) {
        Ok(new_account) => new_account,
        Err(errors) => {
            let banner = UsersBanner::default();
            return users_page(
                state,
                session,
                StatusCode::BAD_REQUEST,
                form,
                errors,
                banner,
            )
            .await;
        }
    };
    let by = AuditActor::of(&session.account);
    let inactive = accounts::created_inactive(&by, new_account.role);
    let now = Utc::now();
    let created = tokio::task::spawn_blocking({
        let store = state.store.clone();
        move || accounts::create_account(store.as_ref(), &new_account, &by, now)
    })
    .await;
    match created {
        Ok(Ok(_)) if inactive => Redirect::to("/admin/users?created=inactive").into_response(),
        Ok(Ok(_)) => Redirect::to("/admin/users?created=1").into_response(),
        Ok(Err(AccountError::UsernameTaken)) => {
            let errors = vec![FieldError {
                field: "username",
                message: "That username is taken: choose another".to_owned(),
            }];
            let banner = UsersBanner::default();
            users_page(
                state,
                session,
                StatusCode::BAD_REQUEST,
                form,
                errors,
                banner,
            )
            .await
        }
        Ok(Err(error)) => {
            tracing::error!(error = %error, "creating a user failed");
            error_page(&state, Some(&session), ErrorPage::internal())
        }
        Err(error) => {
            tracing::error!(error = %error, "creating a user failed");
            error_page(&state, Some(&session), ErrorPage::internal())
        }
    }
}

/// Disables a user at once (issue #15, finding 10): audited, the account's
/// sessions end at their next request.
pub async fn disable_user(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(user_id): Path<String>,
) -> Response {
    let Ok(user_id) = user_id.parse::<i64>() else {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    };
    let by = AuditActor::of(&session.account);
    let disabled = blocking(&state, Some(&session), move |store| {
        accounts::disable_account(store, user_id, &by, Utc::now())
    })
    .await;
    match disabled {
        Ok(true) => Redirect::to("/admin/users?disabled=1").into_response(),
        Ok(false) => error_page(&state, Some(&session), ErrorPage::not_found()),
        Err(response) => response,
    }
}

// ---- administration: agency tokens ----

#[derive(Deserialize, Serialize, Default)]
pub struct TokenForm {
    #[serde(default)]
    agency: String,
}

#[derive(Serialize)]
struct TokenRowView {
    id: i64,
    agency: String,
    created: String,
    revoked: Option<String>,
}

#[derive(Deserialize)]
pub struct TokensQuery {
    revoked: Option<String>,
}

#[derive(Serialize)]
struct NewTokenView {
    agency: String,
    secret: String,
}

async fn tokens_page(
    state: WebState,
    session: LiveSession,
    status: StatusCode,
    form: TokenForm,
    error: Option<&'static str>,
    new_token: Option<NewTokenView>,
    revoked: bool,
) -> Response {
    let limit = state.config.page_rows_max;
    let tokens = match blocking(&state, Some(&session), move |store| {
        store.accounts().list_tokens(limit)
    })
    .await
    {
        Ok(tokens) => tokens,
        Err(response) => return response,
    };
    let tokens: Vec<TokenRowView> = tokens
        .into_iter()
        .map(|token| TokenRowView {
            id: token.id,
            agency: token.agency,
            created: time(token.created_at_us),
            revoked: token.revoked_at_us.map(time),
        })
        .collect();
    page(
        &state,
        status,
        "tokens.html",
        context! {
            user => UserView::of(&session),
            page_title => if error.is_some() { "Error: Agency tokens" } else { "Agency tokens" },
            nav => "tokens",
            tokens => tokens,
            form => form,
            error => error,
            new_token => new_token,
            revoked => revoked,
        },
    )
}

pub async fn tokens(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Query(query): Query<TokensQuery>,
) -> Response {
    tokens_page(
        state,
        session,
        StatusCode::OK,
        TokenForm::default(),
        None,
        None,
        query.revoked.is_some(),
    )
    .await
}

/// Revokes an agency token at once (issue #15, finding 10), audited.
pub async fn revoke_token(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(token_id): Path<String>,
) -> Response {
    let Ok(token_id) = token_id.parse::<i64>() else {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    };
    let by = AuditActor::of(&session.account);
    let revoked = blocking(&state, Some(&session), move |store| {
        sightline_app::tokens::revoke_token(store, token_id, &by, Utc::now())
    })
    .await;
    match revoked {
        Ok(true) => Redirect::to("/admin/tokens?revoked=1").into_response(),
        Ok(false) => error_page(&state, Some(&session), ErrorPage::not_found()),
        Err(response) => response,
    }
}

pub async fn create_token(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Form(form): Form<TokenForm>,
) -> Response {
    let Ok(agency) = AgencyId::parse(form.agency.trim()) else {
        let error = Some("Enter an agency id of 2 to 64 characters of a-z, 0-9 and -");
        return tokens_page(
            state,
            session,
            StatusCode::BAD_REQUEST,
            form,
            error,
            None,
            false,
        )
        .await;
    };
    let by = AuditActor::of(&session.account);
    let now = Utc::now();
    let created = blocking(&state, Some(&session), move |store| {
        sightline_app::tokens::create_token_audited(store, &agency, &by, now)
    })
    .await;
    match created {
        Ok(token) => {
            let new_token = NewTokenView {
                agency: token.agency.to_string(),
                secret: token.secret,
            };
            tokens_page(
                state,
                session,
                StatusCode::OK,
                TokenForm::default(),
                None,
                Some(new_token),
                false,
            )
            .await
        }
        Err(response) => response,
    }
}
