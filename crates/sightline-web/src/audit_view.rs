//! Audit entries as the privacy officer reads them (the access log and "who
//! viewed this child"): the actor's role and agency by name, the action, basis
//! and outcome in words (`sightline_access::words`), the time in England, and
//! what was looked at as words ("Police call-out from Riverside Police") with
//! the record's reference at its agency as a labelled value. The stored names
//! stay in the log (they are hashed into its chain) and `sightline audit`.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sightline_access::words::{audit_action_label, audit_basis_label, audit_outcome_label};
use sightline_core::Kind;
use sightline_core::labels::humanise;
use sightline_core::org::Organisation;
use sightline_store::AuditRow;

use crate::names::agency_name;
use crate::pages::{encode_path, time};

/// One audit entry in words.
#[derive(Debug, Serialize)]
pub(crate) struct AuditEntryView {
    seq: i64,
    when: String,
    username: String,
    /// The access log filtered to this user.
    user_href: String,
    /// "Practitioner"; "Operator" for the command line.
    role: String,
    /// The actor's agency by name; empty for the command line.
    agency: String,
    action: String,
    /// What was looked at or changed.
    resource: ResourceView,
    basis: String,
    /// The reason given for the break-glass grant the entry was read under.
    break_glass_reason: Option<String>,
    outcome: String,
}

impl AuditEntryView {
    /// The entry with the reason of the break-glass grant it was read under.
    pub(crate) fn with_reason(mut self, reason: Option<String>) -> Self {
        self.break_glass_reason = reason;
        self
    }
}

/// What the entries name, beyond the organisation: the kinds of the records a
/// page knows (by audit key) and the usernames of accounts (by id).
#[derive(Default)]
pub(crate) struct Known<'a> {
    pub(crate) record_kinds: Option<&'a BTreeMap<String, Option<Kind>>>,
    pub(crate) usernames: Option<&'a HashMap<i64, String>>,
}

/// The role in words: [`sightline_access::Role::label`], or the stored name
/// humanised ("Operator").
fn role_words(stored: &str) -> String {
    sightline_access::Role::parse(stored)
        .map_or_else(|_| humanise(stored), |role| role.label().to_owned())
}

/// What an entry or a break-glass grant is about, in words.
#[derive(Debug, Serialize)]
pub(crate) struct ResourceView {
    /// In words; empty for the service itself.
    pub(crate) what: String,
    /// A record's id at its agency (to ask the agency about it).
    pub(crate) reference: Option<String>,
    /// The "who viewed this child" page, for a child.
    pub(crate) child_href: Option<String>,
}

/// An audit resource key (`child:ID`, `record:AGENCY/ID`, `agency:ID`,
/// `user:ID`, `linkage:LEFT|RIGHT`, `service`) in words.
pub(crate) fn resource_words(
    organisation: &Organisation,
    known: &Known<'_>,
    key: &str,
) -> ResourceView {
    let words = |what: String| ResourceView {
        what,
        reference: None,
        child_href: None,
    };
    if key == "service" {
        return words(String::new());
    }
    if let Some(person_id) = key.strip_prefix("child:") {
        return ResourceView {
            what: "A child".to_owned(),
            reference: None,
            child_href: Some(format!("/privacy/children/{}", encode_path(person_id))),
        };
    }
    if let Some(record) = key.strip_prefix("record:") {
        let (agency, record_id) = record.split_once('/').unwrap_or(("", record));
        let kind = known
            .record_kinds
            .and_then(|kinds| kinds.get(key).copied().flatten());
        let what = match (kind, agency.is_empty()) {
            (Some(kind), false) => format!(
                "{} from {}",
                kind.label(),
                agency_name(organisation, agency)
            ),
            (Some(kind), true) => kind.label().to_owned(),
            (None, false) => format!("A record from {}", agency_name(organisation, agency)),
            (None, true) => "A record".to_owned(),
        };
        return ResourceView {
            what,
            reference: Some(record_id.to_owned()),
            child_href: None,
        };
    }
    if let Some(agency) = key.strip_prefix("agency:") {
        return words(agency_name(organisation, agency));
    }
    if let Some(user) = key.strip_prefix("user:") {
        let username = user
            .parse::<i64>()
            .ok()
            .and_then(|id| known.usernames.and_then(|names| names.get(&id)));
        return words(match username {
            Some(username) => format!("The account of {username}"),
            None => "A user account".to_owned(),
        });
    }
    if let Some(token_id) = key.strip_prefix("token:") {
        return words(format!("Agency token {token_id}"));
    }
    if key.starts_with("linkage:") {
        return words("Whether two records are one person".to_owned());
    }
    words(humanise(key))
}

/// One stored entry as the privacy officer reads it.
pub(crate) fn entry_view(
    organisation: &Organisation,
    known: &Known<'_>,
    row: AuditRow,
) -> AuditEntryView {
    AuditEntryView {
        seq: row.seq,
        when: time(row.at_us),
        user_href: format!(
            "/privacy/access-log?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("user", &row.actor_username)
                .finish()
        ),
        username: row.actor_username,
        role: role_words(&row.actor_role),
        agency: if row.actor_agency.is_empty() {
            String::new()
        } else {
            agency_name(organisation, &row.actor_agency)
        },
        action: audit_action_label(&row.action),
        resource: resource_words(organisation, known, &row.resource_key),
        basis: audit_basis_label(&row.basis),
        break_glass_reason: None,
        outcome: audit_outcome_label(&row.outcome),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        role: &str,
        agency: &str,
        action: &str,
        key: &str,
        basis: &str,
        outcome: &str,
    ) -> AuditRow {
        AuditRow {
            seq: 7,
            at_us: 1_765_000_000_000_000,
            actor_user_id: Some(1),
            actor_username: "synthetic.user".to_owned(),
            actor_role: role.to_owned(),
            actor_agency: agency.to_owned(),
            action: action.to_owned(),
            resource_key: key.to_owned(),
            basis: basis.to_owned(),
            outcome: outcome.to_owned(),
            prev_hash: [0; 32],
            entry_hash: [0; 32],
        }
    }

    #[test]
    fn entries_read_as_words() {
        let organisation = Organisation::unconfigured();
        let kinds = BTreeMap::from([(
            "record:social-care/SC-1".to_owned(),
            Some(Kind::SocialCareReferral),
        )]);
        let known = Known {
            record_kinds: Some(&kinds),
            usernames: None,
        };
        let view = entry_view(
            &organisation,
            &known,
            row(
                "practitioner",
                "social-care",
                "view_record",
                "record:social-care/SC-1",
                "own_agency",
                "full",
            ),
        );
        assert_eq!(view.role, "Practitioner");
        assert_eq!(view.agency, "Children's social care");
        assert_eq!(view.action, "opened a record");
        assert_eq!(
            view.resource.what,
            "Referral to children's social care from Children's social care"
        );
        assert_eq!(view.resource.reference.as_deref(), Some("SC-1"));
        assert_eq!(view.basis, "their agency sent the record");
        assert_eq!(view.outcome, "Allowed");
        assert!(!view.when.contains('-'), "{}", view.when);

        let view = entry_view(
            &organisation,
            &Known::default(),
            row(
                "privacy_officer",
                "",
                "view_child",
                "child:p-0123456789",
                "break_glass:3: At the door",
                "minimal",
            ),
        );
        assert_eq!(view.role, "Privacy officer");
        assert_eq!(view.agency, "");
        assert_eq!(view.resource.what, "A child");
        assert_eq!(
            view.resource.child_href.as_deref(),
            Some("/privacy/children/p-0123456789")
        );
        assert_eq!(view.basis, "break glass: At the door");
        assert_eq!(view.outcome, "Minimal view only");

        let usernames = HashMap::from([(3, "jo.bloggs".to_owned())]);
        let known = Known {
            record_kinds: None,
            usernames: Some(&usernames),
        };
        let what = |key: &str| resource_words(&organisation, &known, key).what;
        assert_eq!(what("user:3"), "The account of jo.bloggs");
        assert_eq!(what("user:4"), "A user account");
        assert_eq!(what("agency:social-care"), "Children's social care");
        assert_eq!(what("record:police/PC-9"), "A record from Police");
        assert_eq!(what("service"), "");
        assert_eq!(role_words("operator"), "Operator");
    }
}
