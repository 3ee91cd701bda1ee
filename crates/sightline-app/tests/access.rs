//! Accounts, sessions, lock-out, break glass and the audit chain, on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use sightline_access::{Action, Decision, Resource, Role};
use sightline_app::accounts::{
    self, Account, AccountError, BreakGlassOutcome, BreakGlassTarget, LoginOutcome, NewAccount,
    Password, SessionPolicy, Team, Username,
};
use sightline_app::audit::{self, AuditActor};
use sightline_core::AgencyId;
use sightline_store::{NoticeFilter, Store};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn stores() -> Vec<(sightline_testkit::TestDatabase, Box<dyn Store>)> {
    sightline_testkit::all_databases()
        .into_iter()
        .map(|db| {
            let store = sightline_store::open(&db.url).unwrap();
            (db, store)
        })
        .collect()
}

fn create(store: &dyn Store, username: &str, role: Role, agency: &str) -> Account {
    accounts::create_account(
        store,
        &NewAccount {
            username: Username::parse(username).unwrap(),
            password: Password::parse("synthetic password 1").unwrap(),
            role,
            agency: AgencyId::parse(agency).unwrap(),
            team: Some(Team::parse("north").unwrap()),
        },
        &AuditActor::cli(),
        t0(),
    )
    .unwrap()
}

fn signed_in(outcome: LoginOutcome) -> accounts::SessionSecret {
    match outcome {
        LoginOutcome::SignedIn { secret, .. } => secret,
        LoginOutcome::Refused { .. } => panic!("refused"),
    }
}

#[test]
fn login_session_timeouts_and_logout() {
    for (_db, store) in stores() {
        let store = store.as_ref();
        let policy = SessionPolicy::default();
        let account = create(store, "synthetic.worker", Role::Practitioner, "police");
        assert!(matches!(
            accounts::create_account(
                store,
                &NewAccount {
                    username: Username::parse("synthetic.worker").unwrap(),
                    password: Password::parse("another password 2").unwrap(),
                    role: Role::Administrator,
                    agency: AgencyId::parse("police").unwrap(),
                    team: None,
                },
                &AuditActor::cli(),
                t0(),
            ),
            Err(AccountError::UsernameTaken)
        ));
        let secret = signed_in(
            accounts::login(
                store,
                "synthetic.worker",
                "synthetic password 1",
                None,
                t0(),
                &policy,
            )
            .unwrap(),
        );
        let live = accounts::session_account(
            store,
            secret.as_str(),
            t0() + Duration::minutes(29),
            &policy,
        )
        .unwrap()
        .unwrap();
        assert_eq!(live.account, account);
        assert_eq!(live.csrf_token, secret.csrf_token());
        // Idle for 30 minutes: gone.
        assert!(
            accounts::session_account(
                store,
                secret.as_str(),
                t0() + Duration::minutes(60),
                &policy
            )
            .unwrap()
            .is_none()
        );
        // Busy but older than 12 hours: gone.
        let busy = signed_in(
            accounts::login(
                store,
                "synthetic.worker",
                "synthetic password 1",
                None,
                t0(),
                &policy,
            )
            .unwrap(),
        );
        let mut now = t0();
        for _ in 0..((12 * 60) / 20) {
            now += Duration::minutes(20);
            let live = accounts::session_account(store, busy.as_str(), now, &policy).unwrap();
            assert_eq!(live.is_some(), now < t0() + Duration::hours(12), "{now}");
        }
        // Logout ends it at once.
        let third = signed_in(
            accounts::login(
                store,
                "synthetic.worker",
                "synthetic password 1",
                None,
                t0(),
                &policy,
            )
            .unwrap(),
        );
        accounts::logout(store, third.as_str(), t0() + Duration::minutes(1)).unwrap();
        assert!(
            accounts::session_account(store, third.as_str(), t0() + Duration::minutes(2), &policy)
                .unwrap()
                .is_none()
        );
        assert!(
            accounts::session_account(store, "not-a-session", t0(), &policy)
                .unwrap()
                .is_none()
        );
        assert!(audit::verify_audit(store).unwrap().is_ok());
    }
}

/// A client that keeps asking while a key must wait cannot flood the audit
/// log: refusals are audited once per key and delay window (the account's
/// and the source's apart), and again in the next window.
#[test]
fn throttled_refusals_are_audited_once_per_key_and_window() {
    for (_db, store) in stores() {
        let store = store.as_ref();
        let policy = SessionPolicy::default();
        create(store, "synthetic.known", Role::Practitioner, "police");
        let source: std::net::IpAddr = "192.0.2.7".parse().unwrap();
        let at = |ms: i64| t0() + Duration::milliseconds(ms);
        let attempt = |password: &str, when| {
            accounts::login(
                store,
                "synthetic.known",
                password,
                Some(source),
                when,
                &policy,
            )
            .unwrap()
        };
        let throttled = || -> Vec<String> {
            audit::recent_entries(store, None, 1_000)
                .unwrap()
                .into_iter()
                .rev()
                .filter(|entry| entry.action == "login_throttled")
                .map(|entry| entry.basis)
                .collect()
        };
        // Five free failures, the sixth starts a delay of a second.
        for n in 0..6 {
            assert!(matches!(
                attempt("wrong password!!", at(n)),
                LoginOutcome::Refused { .. }
            ));
        }
        // 200 requests in the window, the right password among them: all
        // refused, one audit entry.
        for n in 0..200 {
            let outcome = attempt("synthetic password 1", at(10 + n));
            assert!(
                matches!(
                    outcome,
                    LoginOutcome::Refused {
                        locked_until: Some(_)
                    }
                ),
                "{outcome:?}"
            );
        }
        assert_eq!(throttled(), ["throttle:account"]);
        // The next window (a failure after the delay, which doubles it) is
        // audited once again.
        assert!(matches!(
            attempt("wrong password!!", at(1_100)),
            LoginOutcome::Refused {
                locked_until: Some(_)
            }
        ));
        for n in 0..50 {
            assert!(matches!(
                attempt("synthetic password 1", at(1_200 + n)),
                LoginOutcome::Refused { .. }
            ));
        }
        assert_eq!(throttled(), ["throttle:account", "throttle:account"]);
        // A source that must wait is its own key: one more entry for its window.
        let source_policy = SessionPolicy {
            source_throttle: sightline_store::ThrottlePolicy {
                free_failures: 1,
                ..policy.source_throttle
            },
            ..policy
        };
        for n in 0..3 {
            let _ = accounts::login(
                store,
                &format!("synthetic.other{n}"),
                "wrong password!!",
                Some("198.51.100.9".parse().unwrap()),
                at(5_000 + n),
                &source_policy,
            )
            .unwrap();
        }
        for n in 0..20 {
            let outcome = accounts::login(
                store,
                "synthetic.known",
                "synthetic password 1",
                Some("198.51.100.9".parse().unwrap()),
                at(5_010 + n),
                &source_policy,
            )
            .unwrap();
            assert!(
                matches!(outcome, LoginOutcome::Refused { .. }),
                "{outcome:?}"
            );
        }
        assert_eq!(
            throttled(),
            ["throttle:account", "throttle:account", "throttle:source"]
        );
        assert!(audit::verify_audit(store).unwrap().is_ok());
    }
}

#[test]
fn back_off_answers_the_same_for_unknown_usernames() {
    for (_db, store) in stores() {
        let store = store.as_ref();
        let policy = SessionPolicy::default();
        create(store, "synthetic.known", Role::Practitioner, "police");
        for username in ["synthetic.known", "synthetic.unknown"] {
            for attempt in 1..=6 {
                let outcome =
                    accounts::login(store, username, "wrong password!!", None, t0(), &policy)
                        .unwrap();
                let LoginOutcome::Refused { locked_until } = outcome else {
                    panic!("signed in")
                };
                // Five free failures, then a delay of a second (not a lock).
                let expected = (attempt == 6).then(|| t0() + Duration::seconds(1));
                assert_eq!(locked_until, expected, "{username} {attempt}");
            }
            // Delayed: even the right password is refused, until the delay passes.
            let outcome = accounts::login(
                store,
                username,
                "synthetic password 1",
                None,
                t0() + Duration::milliseconds(500),
                &policy,
            )
            .unwrap();
            assert!(
                matches!(outcome, LoginOutcome::Refused { locked_until: Some(until) } if until == t0() + Duration::seconds(1)),
                "{username}: {outcome:?}"
            );
        }
        // The delay is a second, not the old fixed 15 minutes.
        let outcome = accounts::login(
            store,
            "synthetic.known",
            "synthetic password 1",
            None,
            t0() + Duration::seconds(1),
            &policy,
        )
        .unwrap();
        assert!(matches!(outcome, LoginOutcome::SignedIn { .. }));
        // Every failure that checked a password is audited (findings 9, 11):
        // the known account by its id, the unknown name not as typed.
        let known = store
            .accounts()
            .user_by_username("synthetic.known")
            .unwrap()
            .unwrap();
        let failed: Vec<(String, String, String)> = audit::recent_entries(store, None, 100)
            .unwrap()
            .into_iter()
            .rev()
            .filter(|entry| entry.action == "login_failed")
            .map(|entry| (entry.actor_username, entry.resource_key, entry.outcome))
            .collect();
        let expected = |username: &str, resource: &str| -> Vec<(String, String, String)> {
            (1..=6)
                .map(|attempt| {
                    (
                        username.to_owned(),
                        resource.to_owned(),
                        if attempt == 6 { "locked" } else { "refused" }.to_owned(),
                    )
                })
                .collect()
        };
        let known_resource = format!("user:{}", known.id);
        assert_eq!(
            failed,
            [
                expected("synthetic.known", &known_resource),
                expected("unknown", "user:unknown")
            ]
            .concat()
        );
        // The refusals while delayed are audited too, without the name typed.
        let throttled: Vec<(String, String)> = audit::recent_entries(store, None, 100)
            .unwrap()
            .into_iter()
            .rev()
            .filter(|entry| entry.action == "login_throttled")
            .map(|entry| (entry.resource_key, entry.basis))
            .collect();
        assert_eq!(
            throttled,
            [
                (known_resource.clone(), "throttle:account".to_owned()),
                ("user:unknown".to_owned(), "throttle:account".to_owned())
            ]
        );
        assert!(
            audit::recent_entries(store, None, 100)
                .unwrap()
                .iter()
                .all(|entry| !format!("{entry:?}").contains("synthetic.unknown"))
        );
        assert!(audit::verify_audit(store).unwrap().is_ok());
    }
}

/// Issue #15, finding 10: a casework account an administrator creates cannot
/// sign in until a team manager or safeguarding lead of its agency (not the
/// administrator, not another agency's lead, not itself) activates it; a
/// disabled account cannot sign in either.
#[test]
fn casework_accounts_an_administrator_creates_wait_for_their_agency() {
    for (_db, store) in stores() {
        let store = store.as_ref();
        let policy = SessionPolicy::default();
        let admin = create(store, "synthetic.admin", Role::Administrator, "it");
        let manager = create(store, "synthetic.manager", Role::TeamManager, "police");
        let practitioner = create(store, "synthetic.colleague", Role::Practitioner, "police");
        let other_lead = create(store, "synthetic.other", Role::SafeguardingLead, "health");
        let by_admin = AuditActor::of(&admin);
        let new = |username: &str, role: Role| NewAccount {
            username: Username::parse(username).unwrap(),
            password: Password::parse("synthetic password 2").unwrap(),
            role,
            agency: AgencyId::parse("police").unwrap(),
            team: None,
        };
        let worker = accounts::create_account(
            store,
            &new("synthetic.new", Role::Practitioner),
            &by_admin,
            t0(),
        )
        .unwrap();
        let officer = accounts::create_account(
            store,
            &new("synthetic.officer", Role::PrivacyOfficer),
            &by_admin,
            t0(),
        )
        .unwrap();
        let sign_in = |username: &str| {
            matches!(
                accounts::login(store, username, "synthetic password 2", None, t0(), &policy)
                    .unwrap(),
                LoginOutcome::SignedIn { .. }
            )
        };
        assert!(!sign_in("synthetic.new"), "inactive until activated");
        assert!(
            sign_in("synthetic.officer"),
            "no case content: active at once"
        );
        let activate = |by: &Account| {
            accounts::activate_account(store, worker.id, accounts::Activator::User(by), t0())
                .unwrap()
        };
        for refused in [&admin, &practitioner, &other_lead, &worker] {
            assert_eq!(
                activate(refused),
                accounts::Activation::NotAllowed,
                "{refused:?}"
            );
        }
        assert!(!sign_in("synthetic.new"));
        assert_eq!(activate(&manager), accounts::Activation::Activated);
        assert_eq!(
            activate(&manager),
            accounts::Activation::NotFound,
            "already active"
        );
        assert!(sign_in("synthetic.new"));

        assert!(accounts::disable_account(store, worker.id, &by_admin, t0()).unwrap());
        assert!(!accounts::disable_account(store, worker.id, &by_admin, t0()).unwrap());
        assert!(!sign_in("synthetic.new"), "disabled");
        assert_eq!(
            accounts::activate_account(
                store,
                officer.id,
                accounts::Activator::User(&manager),
                t0()
            )
            .unwrap(),
            accounts::Activation::NotFound,
            "active"
        );
        let outcomes: Vec<(String, String, String)> = audit::recent_entries(store, None, 100)
            .unwrap()
            .into_iter()
            .rev()
            .filter(|entry| {
                matches!(
                    entry.action.as_str(),
                    "create_user" | "activate_user" | "disable_user"
                ) && entry.actor_username != "cli"
            })
            .map(|entry| (entry.actor_username, entry.action, entry.outcome))
            .collect();
        let row = |who: &str, action: &str, outcome: &str| {
            (who.to_owned(), action.to_owned(), outcome.to_owned())
        };
        assert_eq!(
            outcomes,
            [
                row("synthetic.admin", "create_user", "inactive"),
                row("synthetic.admin", "create_user", "ok"),
                row("synthetic.admin", "activate_user", "deny"),
                row("synthetic.colleague", "activate_user", "deny"),
                row("synthetic.other", "activate_user", "deny"),
                row("synthetic.new", "activate_user", "deny"),
                row("synthetic.manager", "activate_user", "ok"),
                row("synthetic.manager", "activate_user", "not_found"),
                row("synthetic.admin", "disable_user", "ok"),
                row("synthetic.admin", "disable_user", "not_found"),
                row("synthetic.manager", "activate_user", "not_found"),
            ]
        );
        assert!(audit::verify_audit(store).unwrap().is_ok());
    }
}

#[test]
fn break_glass_is_granted_recorded_and_audited() {
    for (_db, store) in stores() {
        let store = store.as_ref();
        let policy = SessionPolicy::default();
        let worker = create(store, "synthetic.worker", Role::Practitioner, "police");
        let admin = create(store, "synthetic.admin", Role::Administrator, "police");
        let record = Resource::Record {
            agency: AgencyId::parse("health").unwrap(),
            record_id: "HV-1".into(),
        };
        let view = |now| {
            let context = accounts::access_context(store, &worker, now).unwrap();
            audit::authorize_and_record(store, &worker, Action::ViewRecord, &record, &context, now)
                .unwrap()
        };
        let target = BreakGlassTarget {
            resource: record.clone(),
            exists: true,
            tell_agency: Some("health".to_owned()),
            restriction: None,
        };
        assert_eq!(view(t0()), Decision::Minimal);
        assert_eq!(
            accounts::break_glass(store, &worker, &target, "short", t0(), &policy).unwrap(),
            BreakGlassOutcome::BadReason("give the reason in a sentence of at least 20 characters")
        );
        assert_eq!(
            accounts::break_glass(
                store,
                &admin,
                &target,
                "I would like to see it please",
                t0(),
                &policy
            )
            .unwrap(),
            BreakGlassOutcome::Denied
        );
        let BreakGlassOutcome::Granted {
            grant_id,
            expires_at,
        } = accounts::break_glass(
            store,
            &worker,
            &target,
            "Synthetic: child seen at the emergency department",
            t0(),
            &policy,
        )
        .unwrap()
        else {
            panic!("not granted")
        };
        assert_eq!(expires_at, t0() + Duration::hours(4));
        assert!(matches!(
            view(t0() + Duration::hours(1)),
            Decision::Full { .. }
        ));
        assert_eq!(view(t0() + Duration::hours(4)), Decision::Minimal);
        let grants = store.accounts().list_grants(10).unwrap();
        assert_eq!(
            (grants[0].id, grants[0].username.as_str()),
            (grant_id, "synthetic.worker")
        );
        let entries = audit::recent_entries(store, None, 100).unwrap();
        let actions: Vec<(&str, &str)> = entries
            .iter()
            .rev()
            .filter(|entry| entry.actor_username == "synthetic.worker")
            .map(|entry| (entry.action.as_str(), entry.outcome.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("view_record", "minimal"),
                ("break_glass", "granted"),
                ("view_record", "full"),
                ("view_record", "minimal"),
            ]
        );
        assert!(
            entries
                .iter()
                .any(|entry| entry.basis.starts_with(&format!("break_glass:{grant_id}")))
        );
        let summary = audit::verify_audit(store).unwrap().unwrap();
        assert_eq!(summary.n_entries as usize, entries.len());
        // The record's agency and the privacy officer are told at once.
        let notices = store
            .access()
            .notices(&NoticeFilter {
                limit: 10,
                ..NoticeFilter::default()
            })
            .unwrap();
        assert_eq!(notices.len(), 1);
        let notice = &notices[0].notice;
        assert_eq!(
            (
                notice.kind.as_str(),
                notice.resource_key.as_str(),
                notice.to_agency.as_deref(),
                notice.about_username.as_deref(),
                notice.subject.clone(),
                notice.detail.as_str(),
            ),
            (
                "break_glass",
                "record:health/HV-1",
                Some("health"),
                Some("synthetic.worker"),
                format!("break_glass:{grant_id}"),
                "Synthetic: child seen at the emergency department",
            )
        );
    }
}

/// Finding 8: one user took 81 grants. A user has at most the policy's grants
/// in any 24 hours; the refusal is audited and grants nothing.
#[test]
fn break_glass_is_limited_per_user_per_day() {
    for (_db, store) in stores() {
        let store = store.as_ref();
        let policy = SessionPolicy {
            break_glass_per_day: 2,
            ..SessionPolicy::default()
        };
        let worker = create(store, "synthetic.worker", Role::Practitioner, "police");
        let colleague = create(store, "synthetic.colleague", Role::Practitioner, "police");
        let ask = |account: &Account, n: i64, at: DateTime<Utc>| {
            let target = BreakGlassTarget {
                resource: Resource::Child(format!("p-{n:016x}")),
                exists: true,
                tell_agency: None,
                restriction: None,
            };
            accounts::break_glass(
                store,
                account,
                &target,
                "Synthetic: the child was brought to the emergency department",
                at,
                &policy,
            )
            .unwrap()
        };
        assert!(matches!(
            ask(&worker, 1, t0()),
            BreakGlassOutcome::Granted { .. }
        ));
        assert!(matches!(
            ask(&worker, 2, t0() + Duration::hours(1)),
            BreakGlassOutcome::Granted { .. }
        ));
        assert_eq!(
            ask(&worker, 3, t0() + Duration::hours(2)),
            BreakGlassOutcome::LimitReached
        );
        assert!(matches!(
            ask(&colleague, 3, t0() + Duration::hours(2)),
            BreakGlassOutcome::Granted { .. }
        ));
        // A day after the first, one more.
        assert!(matches!(
            ask(&worker, 4, t0() + Duration::hours(24)),
            BreakGlassOutcome::Granted { .. }
        ));
        assert_eq!(
            ask(&worker, 5, t0() + Duration::hours(24)),
            BreakGlassOutcome::LimitReached
        );
        let refused: Vec<String> = audit::recent_entries(store, None, 100)
            .unwrap()
            .into_iter()
            .filter(|entry| entry.actor_username == "synthetic.worker" && entry.outcome == "limit")
            .map(|entry| entry.resource_key)
            .collect();
        assert_eq!(
            refused,
            [format!("child:p-{:016x}", 5), format!("child:p-{:016x}", 3)]
        );
        assert_eq!(store.accounts().list_grants(10).unwrap().len(), 4);
        assert!(audit::verify_audit(store).unwrap().is_ok());
    }
}

#[test]
fn demo_accounts_cover_every_role_and_can_sign_in() {
    for (_db, store) in stores() {
        let store = store.as_ref();
        let demo = accounts::create_demo_accounts(store, &AgencyId::parse("police").unwrap(), t0())
            .unwrap();
        assert_eq!(
            demo.iter().map(|account| account.role).collect::<Vec<_>>(),
            Role::ALL
        );
        for account in &demo {
            let outcome = accounts::login(
                store,
                &account.username,
                &account.password,
                None,
                t0(),
                &SessionPolicy::default(),
            )
            .unwrap();
            assert!(
                matches!(outcome, LoginOutcome::SignedIn { .. }),
                "{}",
                account.username
            );
        }
    }
}

/// Issue #18 item 4: a legal hold is in force from its placing to its
/// release; `is_on_hold` is what retention and erasure ask; each event is
/// audited with who and why, and kept.
#[test]
fn a_legal_hold_holds_until_released_and_is_audited() {
    use sightline_app::controls::{self, By, ControlError, HoldTarget};
    for (_db, store) in stores() {
        let store = store.as_ref();
        let child = "p-00000000000000c1";
        let other = "p-00000000000000c2";
        assert!(!controls::is_on_hold(store, child).unwrap());
        assert!(matches!(
            controls::place_hold(
                store,
                By::Operator,
                HoldTarget::Child,
                child,
                "review",
                t0()
            ),
            Err(ControlError::BadReason(_))
        ));
        assert!(matches!(
            controls::release_hold(
                store,
                By::Operator,
                child,
                "Released once the review has been published.",
                t0()
            ),
            Err(ControlError::NotInForce(_))
        ));
        let placed = controls::place_hold(
            store,
            By::Operator,
            HoldTarget::Child,
            child,
            "Held for the child safeguarding practice review of 2026.",
            t0(),
        )
        .unwrap();
        assert!(controls::is_on_hold(store, child).unwrap());
        assert!(!controls::is_on_hold(store, other).unwrap());
        assert_eq!(controls::holds_in_force(store).unwrap().len(), 1);
        let released = controls::release_hold(
            store,
            By::Operator,
            child,
            "Released once the review has been published.",
            t0() + Duration::days(30),
        )
        .unwrap();
        assert!(!controls::is_on_hold(store, child).unwrap());
        assert!(controls::holds_in_force(store).unwrap().is_empty());
        assert_eq!(store.access().hold_events(None, 10).unwrap().len(), 2);
        let entries = audit::recent_entries(store, None, 50).unwrap();
        for (action, seq) in [
            ("legal_hold_placed", placed.seq),
            ("legal_hold_released", released.seq),
        ] {
            assert!(
                entries.iter().any(|row| row.action == action
                    && row.actor_username == "cli"
                    && row.resource_key == format!("child:{child}")
                    && row.basis == format!("hold:{seq}")),
                "{action}"
            );
        }
        assert!(matches!(audit::verify_audit(store), Ok(Ok(_))));
    }
}

/// Restricting needs a manager or lead of the record's agency and a record
/// that exists; a refusal is audited like any decision.
#[test]
fn only_the_records_agency_managers_and_leads_restrict_it() {
    use sightline_app::controls::{self, By, ControlError, RestrictionRequest};
    for (_db, store) in stores() {
        let store = store.as_ref();
        let request = RestrictionRequest {
            agency: AgencyId::parse("police").unwrap(),
            record_id: "CAD-1".to_owned(),
            roles: vec![Role::SafeguardingLead],
            own_agency_only: true,
            reason: "Sharing this would put the child at greater risk.".to_owned(),
        };
        let worker = create(store, "synthetic.worker", Role::Practitioner, "police");
        let lead = create(store, "synthetic.lead", Role::SafeguardingLead, "police");
        let other_lead = create(store, "synthetic.hv.lead", Role::SafeguardingLead, "health");
        for refused in [&worker, &other_lead] {
            assert!(matches!(
                controls::restrict_record(store, By::Account(refused), &request, t0()),
                Err(ControlError::Forbidden)
            ));
        }
        // Allowed, but there is no such record.
        assert!(matches!(
            controls::restrict_record(store, By::Account(&lead), &request, t0()),
            Err(ControlError::NotFound(_))
        ));
        assert!(matches!(
            controls::parse_roles(["safeguarding_lead", "administrator"]),
            Err(ControlError::BadRoles)
        ));
        assert!(matches!(
            controls::parse_roles([""]),
            Err(ControlError::BadRoles)
        ));
        let entries = audit::recent_entries(store, None, 50).unwrap();
        assert!(entries.iter().any(|row| row.action == "restrict_record"
            && row.actor_username == "synthetic.worker"
            && row.outcome == "deny"));
        assert!(controls::restrictions_in_force(store).unwrap().is_empty());
    }
}

#[test]
fn only_the_privacy_officer_places_and_releases_legal_holds() {
    use sightline_app::controls::{self, By, ControlError, HoldTarget};
    const REASON: &str = "Held for the child safeguarding practice review.";
    for (_db, store) in stores() {
        let store = store.as_ref();
        let person = "p-0123456789abcdef";
        let lead = create(store, "synthetic.lead", Role::SafeguardingLead, "police");
        let admin = create(store, "synthetic.admin", Role::Administrator, "police");
        let officer = create(store, "synthetic.dpo", Role::PrivacyOfficer, "police");
        for refused in [&lead, &admin] {
            assert!(matches!(
                controls::place_hold(
                    store,
                    By::Account(refused),
                    HoldTarget::Child,
                    person,
                    REASON,
                    t0()
                ),
                Err(ControlError::HoldForbidden)
            ));
        }
        assert!(!controls::is_on_hold(store, person).unwrap());
        controls::place_hold(
            store,
            By::Account(&officer),
            HoldTarget::Child,
            person,
            REASON,
            t0(),
        )
        .unwrap();
        assert!(matches!(
            controls::release_hold(store, By::Account(&lead), person, REASON, t0()),
            Err(ControlError::HoldForbidden)
        ));
        assert!(controls::is_on_hold(store, person).unwrap());
        controls::release_hold(store, By::Account(&officer), person, REASON, t0()).unwrap();
        assert!(!controls::is_on_hold(store, person).unwrap());
        let entries = audit::recent_entries(store, None, 50).unwrap();
        assert!(entries.iter().any(|row| row.action == "manage_legal_holds"
            && row.actor_username == "synthetic.lead"
            && row.outcome == "deny"));
    }
}
