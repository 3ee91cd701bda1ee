//! Templates (embedded, auto-escaped) and the one HTML error page.

use crate::WebState;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use sightline_access::Role;
use sightline_app::accounts::LiveSession;

/// Every template, embedded in the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    (
        "signed_in.html",
        include_str!("../templates/signed_in.html"),
    ),
    ("my_work.html", include_str!("../templates/my_work.html")),
    ("record.html", include_str!("../templates/record.html")),
    ("users.html", include_str!("../templates/users.html")),
    ("tokens.html", include_str!("../templates/tokens.html")),
    (
        "agency_accounts.html",
        include_str!("../templates/agency_accounts.html"),
    ),
    (
        "access_log.html",
        include_str!("../templates/access_log.html"),
    ),
    ("error.html", include_str!("../templates/error.html")),
    ("child.html", include_str!("../templates/child.html")),
    (
        "possible_records.html",
        include_str!("../templates/possible_records.html"),
    ),
    (
        "child_minimal.html",
        include_str!("../templates/child_minimal.html"),
    ),
    (
        "chronology.html",
        include_str!("../templates/chronology.html"),
    ),
    ("search.html", include_str!("../templates/search.html")),
    ("notices.html", include_str!("../templates/notices.html")),
    (
        "restrictions.html",
        include_str!("../templates/restrictions.html"),
    ),
    ("holds.html", include_str!("../templates/holds.html")),
    ("sar_find.html", include_str!("../templates/sar_find.html")),
    (
        "retention.html",
        include_str!("../templates/retention.html"),
    ),
    (
        "retention_batch.html",
        include_str!("../templates/retention_batch.html"),
    ),
    (
        "sar_person.html",
        include_str!("../templates/sar_person.html"),
    ),
    ("alert.html", include_str!("../templates/alert.html")),
    (
        "child_viewers.html",
        include_str!("../templates/child_viewers.html"),
    ),
    ("review.html", include_str!("../templates/review.html")),
    (
        "review_decisions.html",
        include_str!("../templates/review_decisions.html"),
    ),
];

/// The template environment. Names ending in `.html` are auto-escaped.
/// `organisation` names agencies and routes (`agency_name`, `route_name`).
pub fn environment(
    organisation: std::sync::Arc<sightline_core::org::Organisation>,
) -> minijinja::Environment<'static> {
    let mut environment = minijinja::Environment::new();
    environment.set_loader(|name| {
        Ok(TEMPLATES
            .iter()
            .find(|(template, _)| *template == name)
            .map(|(_, source)| (*source).to_owned()))
    });
    environment.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // One path segment, percent-encoded (record ids may hold `/`, spaces, `#`).
    environment.add_filter("path_segment", |segment: String| {
        crate::pages::encode_path(&segment)
    });
    crate::names::add_filters(&mut environment, organisation);
    environment
}

/// The signed-in user as every page's header shows them.
#[derive(Serialize)]
pub struct UserView {
    pub username: String,
    pub role: &'static str,
    pub role_label: &'static str,
    pub agency: String,
    pub team: Option<String>,
    pub csrf_token: String,
    pub is_administrator: bool,
    pub is_privacy_officer: bool,
    pub casework: bool,
    /// Told of new access (the Notices page): the privacy officer, team
    /// managers and safeguarding leads.
    pub receives_notices: bool,
    pub reviews_linkage: bool,
    /// Sees their agency's accounts and tokens, and activates its casework
    /// accounts: team managers and safeguarding leads.
    pub manages_agency_accounts: bool,
}

impl UserView {
    pub fn of(session: &LiveSession) -> Self {
        let account = &session.account;
        UserView {
            username: account.username.clone(),
            role: account.role.as_str(),
            role_label: account.role.label(),
            agency: account.agency.to_string(),
            team: account.team.clone(),
            csrf_token: session.csrf_token.clone(),
            is_administrator: account.role == Role::Administrator,
            is_privacy_officer: account.role == Role::PrivacyOfficer,
            casework: account.role.does_casework(),
            // Practitioners are told only of CP-IS reads of their children:
            // My work links to those when there are any.
            receives_notices: sightline_app::privacy::notice_scope(account)
                .is_some_and(|scope| scope.is_agency_wide()),
            // The nav link follows the one authorisation function (no grants apply).
            reviews_linkage: sightline_access::authorize(
                &account.actor(),
                sightline_access::Action::ReviewLinkage,
                &sightline_access::Resource::Service,
                &sightline_access::AccessContext::default(),
                0,
            )
            .is_full(),
            manages_agency_accounts: sightline_access::authorize(
                &account.actor(),
                sightline_access::Action::ManageAgencyAccounts,
                &sightline_access::Resource::Service,
                &sightline_access::AccessContext::default(),
                0,
            )
            .is_full(),
        }
    }
}

/// Renders a template with `context` (which must hold what it uses) at `status`.
pub fn page(
    state: &WebState,
    status: StatusCode,
    name: &str,
    context: minijinja::Value,
) -> Response {
    let rendered = state
        .templates
        .get_template(name)
        .and_then(|template| template.render(context));
    match rendered {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(template = name, error = %error, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><html lang=\"en-GB\"><head><title>Sorry, there is a problem with the service</title></head><body><main><h1>Sorry, there is a problem with the service</h1></main></body></html>"),
            )
                .into_response()
        }
    }
}

/// One error, as the error page shows it. Messages are plain and stable.
pub struct ErrorPage {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: &'static str,
}

impl ErrorPage {
    pub fn not_found() -> Self {
        ErrorPage {
            status: StatusCode::NOT_FOUND,
            title: "Page not found",
            message: "If you typed the web address, check it is correct. If you pasted it, check you copied the entire address.",
        }
    }

    pub fn forbidden() -> Self {
        ErrorPage {
            status: StatusCode::FORBIDDEN,
            title: "You cannot use this page",
            message: "Your role does not give access to this page. This attempt has been recorded. Ask your administrator if you need access.",
        }
    }

    pub fn csrf() -> Self {
        ErrorPage {
            status: StatusCode::FORBIDDEN,
            title: "The form could not be sent",
            message: "The form was out of date or did not come from Sightline, so nothing was changed. Go back, reload the page and try again.",
        }
    }

    pub fn too_large() -> Self {
        ErrorPage {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            title: "The form was too large",
            message: "Nothing was changed. Shorten what you entered and try again.",
        }
    }

    pub fn internal() -> Self {
        ErrorPage {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Sorry, there is a problem with the service",
            message: "Nothing was changed by this request. Try again later.",
        }
    }
}

/// The error page, with the header of the signed-in user when there is one.
pub fn error_page(state: &WebState, session: Option<&LiveSession>, error: ErrorPage) -> Response {
    page(
        state,
        error.status,
        "error.html",
        minijinja::context! {
            user => session.map(UserView::of),
            page_title => error.title,
            message => error.message,
            status => error.status.as_u16(),
            nav => "",
        },
    )
}
