//! Sign-in with a provider against real databases: the first sign-in makes and
//! links an account keyed by (issuer, subject), later ones find it and map
//! role, agency and team again; claims that map to no role and a disabled
//! account are refused and audited; the made account has no password anyone
//! can use.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use chrono::{DateTime, TimeZone, Utc};
use sightline_access::Role;
use sightline_app::accounts::{self, LoginOutcome, SessionPolicy, Team};
use sightline_app::audit::AuditActor;
use sightline_app::sign_in::{ExternalOutcome, Mapped, external_login, external_username};
use sightline_core::AgencyId;
use sightline_store::Store;

const ISSUER: &str = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn mapped(role: Role, agency: &str, team: Option<&str>) -> Mapped {
    Mapped {
        role,
        agency: AgencyId::parse(agency).unwrap(),
        team: team.map(|team| Team::parse(team).unwrap()),
    }
}

fn signed_in(outcome: ExternalOutcome) -> (accounts::Account, String, bool) {
    match outcome {
        ExternalOutcome::SignedIn {
            account,
            secret,
            created,
        } => (account, secret.as_str().to_owned(), created),
        other => panic!("expected a sign-in, got {other:?}"),
    }
}

/// The audit entries as (action, resource, basis, outcome).
fn audit(store: &dyn Store) -> Vec<(String, String, String, String)> {
    store
        .audit()
        .audit_entries(0, 1000)
        .unwrap()
        .into_iter()
        .map(|row| (row.action, row.resource_key, row.basis, row.outcome))
        .collect()
}

fn entry(
    action: &str,
    resource: &str,
    basis: &str,
    outcome: &str,
) -> (String, String, String, String) {
    (
        action.to_owned(),
        resource.to_owned(),
        basis.to_owned(),
        outcome.to_owned(),
    )
}

#[test]
fn an_identity_signs_in_to_one_account_mapped_at_every_sign_in() {
    for database in sightline_testkit::all_databases() {
        let store = sightline_store::open(&database.url).unwrap();
        let store = store.as_ref();
        let practitioner = mapped(Role::Practitioner, "la-social-care", Some("mash"));

        // First sign-in: an account is made and linked, and a session starts.
        let outcome =
            external_login(store, "entra", ISSUER, "oid-1", Some(&practitioner), now()).unwrap();
        let (account, secret, created) = signed_in(outcome);
        assert!(created);
        assert_eq!(
            account.username,
            external_username("entra", ISSUER, "oid-1")
        );
        assert_eq!(account.role, Role::Practitioner);
        assert_eq!(account.team.as_deref(), Some("mash"));
        let session = accounts::session_account(store, &secret, now(), &SessionPolicy::default())
            .unwrap()
            .expect("a live session");
        assert_eq!(session.account, account);

        // Second sign-in with another app role: the same account, remapped.
        let lead = mapped(Role::SafeguardingLead, "la-social-care", None);
        let (again, _, created) =
            signed_in(external_login(store, "entra", ISSUER, "oid-1", Some(&lead), now()).unwrap());
        assert!(!created);
        assert_eq!(again.id, account.id);
        assert_eq!(again.role, Role::SafeguardingLead);
        assert_eq!(again.team, None);
        let row = store.accounts().user_by_id(account.id).unwrap().unwrap();
        assert_eq!((row.role.as_str(), row.team), ("safeguarding_lead", None));

        // The same subject at another issuer is another person.
        let (other, _, created) = signed_in(
            external_login(
                store,
                "entra",
                "https://other.example",
                "oid-1",
                Some(&practitioner),
                now(),
            )
            .unwrap(),
        );
        assert!(created);
        assert_ne!(other.id, account.id);

        // Claims that map to no role: refused, audited against the account.
        let outcome = external_login(store, "entra", ISSUER, "oid-1", None, now()).unwrap();
        assert!(matches!(outcome, ExternalOutcome::NoRole));
        let outcome = external_login(store, "entra", ISSUER, "oid-new", None, now()).unwrap();
        assert!(matches!(outcome, ExternalOutcome::NoRole));
        assert!(
            store
                .accounts()
                .user_by_username(&external_username("entra", ISSUER, "oid-new"))
                .unwrap()
                .is_none(),
            "a refused first sign-in makes no account"
        );

        // A disabled account stays shut whatever the provider says.
        accounts::disable_account(store, account.id, &AuditActor::cli(), now()).unwrap();
        let outcome =
            external_login(store, "entra", ISSUER, "oid-1", Some(&practitioner), now()).unwrap();
        assert!(matches!(outcome, ExternalOutcome::Disabled));

        // The account made has no usable password.
        let password = accounts::login(
            store,
            &other.username,
            "",
            None,
            now(),
            &SessionPolicy::default(),
        )
        .unwrap();
        assert!(matches!(password, LoginOutcome::Refused { .. }));

        let user = |id: i64| format!("user:{id}");
        assert_eq!(
            audit(store),
            vec![
                entry("create_user", &user(account.id), "oidc:entra", "ok"),
                entry("login", &user(account.id), "oidc:entra", "ok"),
                entry("map_role", &user(account.id), "oidc:entra", "ok"),
                entry("login", &user(account.id), "oidc:entra", "ok"),
                entry("create_user", &user(other.id), "oidc:entra", "ok"),
                entry("login", &user(other.id), "oidc:entra", "ok"),
                entry("login_failed", &user(account.id), "oidc:entra", "no_role"),
                entry("login_failed", "user:unknown", "oidc:entra", "no_role"),
                entry("disable_user", &user(account.id), "role:operator", "ok"),
                entry("login_failed", &user(account.id), "oidc:entra", "disabled"),
            ],
            "{:?}",
            database.backend
        );
        assert!(sightline_app::audit::verify_audit(store).unwrap().is_ok());
    }
}

#[test]
fn a_first_sign_in_cut_short_before_linking_ends_on_the_same_account() {
    for database in sightline_testkit::all_databases() {
        let store = sightline_store::open(&database.url).unwrap();
        let store = store.as_ref();
        let practitioner = mapped(Role::Practitioner, "police", None);
        let (first, _, _) = signed_in(
            external_login(store, "cis2", ISSUER, "sub-9", Some(&practitioner), now()).unwrap(),
        );
        // An identity links once: linking it again changes nothing.
        assert!(
            !store
                .accounts()
                .link_external_identity(ISSUER, "sub-9", first.id, 0)
                .unwrap()
        );
        let (second, _, created) = signed_in(
            external_login(store, "cis2", ISSUER, "sub-9", Some(&practitioner), now()).unwrap(),
        );
        assert!(!created);
        assert_eq!(first.id, second.id);
    }
}
