//! The access model in words: what the audit log's stable names (actions,
//! views, bases, outcomes) mean to the privacy officer reading it.
//!
//! The log keeps the stable names (they are hashed into the chain); pages say
//! these words instead. Every [`Action`], [`View`], [`Basis`] and [`Role`] has
//! words (exhaustive matches), and the other actions Sightline records are in
//! [`OTHER_AUDIT_ACTIONS`].

use crate::authorize::{Action, Basis};
use crate::relationship::RecordBasis;
use crate::view::View;

impl Action {
    /// Every action, for tests and documentation.
    pub const ALL: [Action; 17] = [
        Action::ViewMyWork,
        Action::ListAgencyRecords,
        Action::ViewRecord,
        Action::ViewChild,
        Action::WriteAboutChild,
        Action::DecideAlert,
        Action::BreakGlass,
        Action::ViewAccessLog,
        Action::ManageUsers,
        Action::ManageTokens,
        Action::SearchPersons,
        Action::ReviewLinkage,
        Action::ManageAgencyAccounts,
        Action::RestrictRecord,
        Action::ManageLegalHolds,
        Action::SubjectAccess,
        Action::ApproveRetention,
    ];

    /// What the actor did, as a phrase after their name ("opened My work").
    pub fn label(self) -> &'static str {
        match self {
            Action::ViewMyWork => "opened My work",
            Action::ListAgencyRecords => "listed their agency's records",
            Action::ViewRecord => "opened a record",
            Action::ViewChild => "opened a child's page",
            Action::WriteAboutChild => "wrote about a child",
            Action::DecideAlert => "decided an alert",
            Action::BreakGlass => "broke glass",
            Action::ViewAccessLog => "read the access log",
            Action::ManageUsers => "managed users",
            Action::ManageTokens => "managed agency tokens",
            Action::SearchPersons => "searched for a person",
            Action::ReviewLinkage => "reviewed linkage",
            Action::ManageAgencyAccounts => "managed their agency's accounts",
            Action::RestrictRecord => "was allowed to restrict a record",
            Action::ManageLegalHolds => "was allowed to place or release a legal hold",
            Action::SubjectAccess => "was allowed to answer a subject access request",
            Action::ApproveRetention => "was allowed to decide a retention batch",
        }
    }
}

impl View {
    /// What the actor saw, as a phrase after their name ("read the chronology").
    pub fn label(self) -> &'static str {
        match self {
            View::Child => "opened the child's page",
            View::Chronology => "read the chronology",
            View::Timeline => "read the timeline",
            View::ChronologyCsv => "downloaded the chronology",
            View::Person => "read a person's details",
            View::Search => "found the child in a search",
            View::Alert => "opened an alert",
            View::AlertList => "listed alerts",
            View::Clocks => "read statutory clocks",
            View::Record => "opened a record",
        }
    }
}

impl RecordBasis {
    /// Why an agency's record established its relationship, as a phrase after
    /// "because": "its record carried the child's whole NHS number".
    pub fn label(self) -> &'static str {
        match self {
            RecordBasis::FirstRecord => "its record was the first about the child",
            RecordBasis::SocialCareEpisode => {
                "it sent a children's social care record of an episode (a referral, assessment or plan)"
            }
            RecordBasis::NhsNumber => "its record carried the child's whole NHS number",
            RecordBasis::Address => "its record carried the child's whole address",
        }
    }
}

/// Actions recorded outside [`Action`] and [`View`], with their words.
pub const OTHER_AUDIT_ACTIONS: &[(&str, &str)] = &[
    ("login", "signed in"),
    ("login_failed", "failed to sign in"),
    ("login_throttled", "was made to wait before signing in"),
    ("logout", "signed out"),
    (
        "map_role",
        "had their role, agency or team changed by their sign-in provider's roles",
    ),
    ("create_user", "created a user"),
    ("create_token", "created an agency token"),
    ("revoke_token", "revoked an agency token"),
    ("disable_user", "disabled a user"),
    ("activate_user", "activated a user"),
    ("search_children", "searched for a child"),
    ("view_child_access_log", "read who viewed a child"),
    ("export_access_log_csv", "downloaded the access log"),
    ("view_notices", "read access notices"),
    (
        "linkage_decision",
        "decided whether two records are one person",
    ),
    (
        "decide_linkage",
        "decided whether two records are one person",
    ),
    (
        "view_review_queue",
        "saw the record in the linkage review queue",
    ),
    ("view_record_history", "read every version of a record"),
    ("subject_access", "answered a subject access request"),
    ("record_restricted", "restricted a record to named roles"),
    ("record_unrestricted", "lifted a record's restriction"),
    ("view_restrictions", "read the record restrictions"),
    ("legal_hold_placed", "placed a legal hold"),
    ("legal_hold_released", "released a legal hold"),
    ("view_legal_holds", "read the legal holds"),
    (
        "view_subject_access",
        "opened a person's subject access page",
    ),
    (
        "sar_unredact",
        "un-redacted a third party in a subject access bundle",
    ),
    ("sar_search", "searched for a person to answer a request"),
    ("view_retention", "read the retention batches"),
    ("retention_batch", "listed the records due under retention"),
    ("retention_approved", "approved a retention batch"),
    ("retention_rejected", "rejected a retention batch"),
    ("retention_deferred", "deferred a retention batch"),
];

/// An audit entry's stored action in words; an action Sightline does not
/// know is shown with its underscores as spaces.
pub fn audit_action_label(stored: &str) -> String {
    View::ALL
        .iter()
        .find(|view| view.as_str() == stored)
        .map(|view| view.label())
        .or_else(|| {
            Action::ALL
                .iter()
                .find(|action| action.as_str() == stored)
                .map(|action| action.label())
        })
        .or_else(|| {
            OTHER_AUDIT_ACTIONS
                .iter()
                .find(|(name, _)| *name == stored)
                .map(|(_, words)| *words)
        })
        .map_or_else(|| stored.replace('_', " "), str::to_owned)
}

impl Basis {
    /// Why access was allowed, as a phrase: "their agency sent a record about
    /// the child", "break glass".
    pub fn label(&self) -> String {
        match self {
            Basis::Role(role) => format!("their role ({})", role.label()),
            Basis::OwnAgency => "their agency sent the record".to_owned(),
            Basis::Allocated => "the child is allocated to them".to_owned(),
            Basis::TeamAllocated => "the child is allocated to their team".to_owned(),
            Basis::RoutedAlert { alert_id } => format!("routed alert {alert_id}"),
            Basis::AgencyRecord { .. } => {
                "their agency's record established a relationship with the child".to_owned()
            }
            Basis::BreakGlass { .. } => "break glass".to_owned(),
        }
    }

    /// Why the reader may see this, said to them: "your agency sent a record
    /// about the child", "you broke glass".
    pub fn label_for_reader(&self) -> String {
        match self {
            Basis::Role(role) => format!("of your role ({})", role.label()),
            Basis::OwnAgency => "your agency sent the record".to_owned(),
            Basis::Allocated => "the child is allocated to you".to_owned(),
            Basis::TeamAllocated => "the child is allocated to your team".to_owned(),
            Basis::RoutedAlert { .. } => {
                "an alert about the child is routed to you or your team".to_owned()
            }
            Basis::AgencyRecord { .. } => {
                "your agency's record established a relationship with the child".to_owned()
            }
            Basis::BreakGlass { .. } => "you broke glass".to_owned(),
        }
    }

    /// Reads a basis back from its stored form ([`std::fmt::Display`]).
    pub fn parse(stored: &str) -> Option<Basis> {
        if let Some(role) = stored.strip_prefix("role:") {
            return crate::Role::parse(role).ok().map(Basis::Role);
        }
        if let Some(grant_id) = stored.strip_prefix("break_glass:") {
            return grant_id
                .parse()
                .ok()
                .map(|grant_id| Basis::BreakGlass { grant_id });
        }
        if let Some(alert_id) = stored.strip_prefix("routed_alert:") {
            return Some(Basis::RoutedAlert {
                alert_id: alert_id.to_owned(),
            });
        }
        if let Some(seq) = stored.strip_prefix("relationship:") {
            return seq.parse().ok().map(|seq| Basis::AgencyRecord { seq });
        }
        Some(match stored {
            "own_agency" => Basis::OwnAgency,
            "allocated" => Basis::Allocated,
            "team_allocated" => Basis::TeamAllocated,
            _ => return None,
        })
    }
}

/// An audit entry's stored basis in words. A break-glass grant's entry stores
/// `break_glass:ID: REASON`, which reads "break glass: REASON"; an empty basis
/// (a refusal, a sign-in) reads as nothing; one Sightline does not know is
/// shown with its underscores as spaces.
pub fn audit_basis_label(stored: &str) -> String {
    if stored.is_empty() {
        return String::new();
    }
    if let Some(basis) = Basis::parse(stored) {
        return basis.label();
    }
    if let Some(token_id) = stored.strip_prefix("token:")
        && token_id.parse::<i64>().is_ok()
    {
        // An agency token's creation names the token it made.
        return format!("agency token {token_id}");
    }
    if let Some(reason) = stored.strip_prefix("subject_access: ") {
        // `sightline sar` keeps the request's reason as the basis.
        return format!("subject access request: {reason}");
    }
    if let Some(provider) = stored.strip_prefix("oidc:") {
        // Sign-in with an OpenID Connect provider (`sightline_app::sign_in`).
        return format!("sign-in with the provider {provider}");
    }
    if stored == "throttle:account" {
        return "too many failed sign-ins as this user".to_owned();
    }
    if stored == "throttle:source" {
        return "too many failed sign-ins from this address".to_owned();
    }
    if stored == "holds_alert" {
        // Logs from before alerts named themselves as the basis.
        return "they or their team held an alert about the child".to_owned();
    }
    if stored == "agency_contributed" {
        // Logs from before relationships were checked: sending any record about
        // the child counted.
        return "their agency sent a record about the child".to_owned();
    }
    if let Some(role) = stored.strip_prefix("role:") {
        // A role no account holds: the command line's operator.
        let mut words = role.replace('_', " ");
        if let Some(first) = words.get(..1) {
            words.replace_range(..1, &first.to_uppercase());
        }
        return format!("their role ({words})");
    }
    if let Some(rest) = stored.strip_prefix("break_glass:")
        && let Some((grant_id, reason)) = rest.split_once(": ")
        && grant_id.parse::<i64>().is_ok()
    {
        return format!("break glass: {reason}");
    }
    stored.replace('_', " ")
}

/// An audit entry's stored outcome in words.
pub fn audit_outcome_label(stored: &str) -> String {
    match stored {
        "full" => "Allowed".to_owned(),
        "minimal" => "Minimal view only".to_owned(),
        "deny" => "Refused".to_owned(),
        "ok" => "Done".to_owned(),
        "granted" => "Granted".to_owned(),
        "limit" => "Refused: daily limit reached".to_owned(),
        "refused" => "Refused".to_owned(),
        "locked" => "Refused and locked".to_owned(),
        "not_found" => "Refused: no such child or record".to_owned(),
        "shown" => "Shown".to_owned(),
        "inactive" => "Done: waiting for activation".to_owned(),
        "no_role" => "Refused: no Sightline role in the provider's roles".to_owned(),
        "disabled" => "Refused: the account is disabled".to_owned(),
        "bad_token" => "Refused: the provider's answer did not verify".to_owned(),
        "bad_state" => "Refused: a sign-in expired, used again or from another browser".to_owned(),
        "provider_error" => "Refused by the provider".to_owned(),
        "unreachable" => "Refused: the provider could not be reached".to_owned(),
        "wrong_issuer" => "Refused: the provider is not the one configured".to_owned(),
        other => other.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn readable(words: &str) -> bool {
        !words.is_empty() && !words.contains('_') && !words.contains(':')
    }

    #[test]
    fn every_action_view_and_basis_reads_in_words() {
        for action in Action::ALL {
            assert!(readable(action.label()), "{action:?}");
            // `view_child` and `view_record` are also views, whose words win.
            let words = View::ALL
                .iter()
                .find(|view| view.as_str() == action.as_str())
                .map_or(action.label(), |view| view.label());
            assert_eq!(audit_action_label(action.as_str()), words);
        }
        for view in View::ALL {
            assert!(readable(view.label()), "{view:?}");
            assert_eq!(audit_action_label(view.as_str()), view.label());
        }
        for (name, words) in OTHER_AUDIT_ACTIONS {
            assert!(readable(words));
            assert_eq!(&audit_action_label(name), words);
        }
        let bases = Role::ALL.into_iter().map(Basis::Role).chain([
            Basis::OwnAgency,
            Basis::Allocated,
            Basis::TeamAllocated,
            Basis::RoutedAlert {
                alert_id: "a-0123456789abcdef".to_owned(),
            },
            Basis::AgencyRecord { seq: 12 },
            Basis::BreakGlass { grant_id: 7 },
        ]);
        assert_eq!(
            audit_basis_label("subject_access: Request SAR_1 received by letter."),
            "subject access request: Request SAR_1 received by letter."
        );
        for basis in bases {
            let stored = basis.to_string();
            assert_eq!(Basis::parse(&stored), Some(basis.clone()), "{stored}");
            assert!(readable(&audit_basis_label(&stored)), "{stored}");
            assert!(readable(&basis.label_for_reader()), "{stored}");
        }
    }

    #[test]
    fn stored_names_in_words() {
        assert_eq!(audit_basis_label("break_glass:1"), "break glass");
        assert_eq!(
            audit_basis_label("break_glass:3: Child at the door now"),
            "break glass: Child at the door now"
        );
        assert_eq!(
            audit_basis_label("agency_contributed"),
            "their agency sent a record about the child"
        );
        assert_eq!(audit_basis_label(""), "");
        assert_eq!(audit_basis_label("role:operator"), "their role (Operator)");
        assert_eq!(audit_action_label("view_chronology"), "read the chronology");
        assert_eq!(audit_action_label("something_new"), "something new");
        assert_eq!(audit_outcome_label("deny"), "Refused");
        assert_eq!(
            audit_basis_label("oidc:entra"),
            "sign-in with the provider entra"
        );
        assert_eq!(
            audit_outcome_label("no_role"),
            "Refused: no Sightline role in the provider's roles"
        );
        assert!(audit_action_label("map_role").starts_with("had their role"));
    }
}
