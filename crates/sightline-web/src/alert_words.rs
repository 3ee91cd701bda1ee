//! How alerts, their due times, routings, history and follow-ups read on My
//! work and the alert page. Every display text of those pages is made here, in
//! one place, from the shared vocabulary (`sightline_core::dates`,
//! `Severity::label`, the decision kinds' labels) and the organisation's display
//! names of agencies and teams.

use sightline_app::from_micros;
use sightline_core::dates;
use sightline_core::org::Organisation;

/// "Critical", "High", "Medium", "Low".
pub(crate) fn severity_label(severity: &str) -> &'static str {
    sightline_rules::Severity::parse(severity)
        .map_or("Unknown severity", |severity| severity.label())
}

/// "7 December 2026", in England.
pub(crate) fn date_words(micros: i64) -> String {
    dates::date_of(from_micros(micros))
}

/// "7 December 2026 at 10:57", in England.
pub(crate) fn time_words(micros: i64) -> String {
    dates::date_time(from_micros(micros))
}

/// `text` with its first letter in capitals.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// When a decision is due, in words: "Overdue by 3 hours", "Due in 2 days".
pub(crate) fn due_words(due_at_us: i64, now_us: i64) -> String {
    sentence(&dates::due_in_words(
        from_micros(due_at_us),
        from_micros(now_us),
    ))
}

/// When a follow-up is due (a day), in words: "Overdue by 2 days", "Due today",
/// "Due tomorrow", "Due 14 December 2026".
pub(crate) fn follow_up_due_words(due: chrono::NaiveDate, today: chrono::NaiveDate) -> String {
    let days = (due - today).num_days();
    match days {
        0 => "Due today".to_owned(),
        1 => "Due tomorrow".to_owned(),
        n if n < 0 => format!("Overdue by {}", dates::count_of(-n, "day", "days")),
        _ => format!("Due {}", dates::date(due)),
    }
}

/// Whom an alert is routed to, in words (`crate::names::route_name`): "Duty
/// and assessment team, Riverside Children's Social Care", "Safeguarding
/// leads, Riverside ICB", or a username.
pub(crate) fn route_words(organisation: &Organisation, routed_to: &str) -> String {
    crate::names::route_name(organisation, routed_to)
}

/// Whose an alert is: the worker it is assigned to, else its routing.
pub(crate) fn whose_words(
    organisation: &Organisation,
    assigned_to: Option<&str>,
    routed_to: &str,
) -> String {
    match assigned_to {
        Some(user) => user.to_owned(),
        None => route_words(organisation, routed_to),
    }
}

/// One kind of event of an alert's history, in words.
pub(crate) fn event_words(kind: &str, by_person: bool) -> &'static str {
    match (kind, by_person) {
        ("raised", _) => "Raised",
        ("evidence_added", _) => "Evidence added",
        ("severity_raised", _) => "Severity raised",
        ("reopened", true) => "Reopened",
        ("reopened", false) => "Reopened by new evidence",
        ("decided", _) => "Decided",
        ("escalated", _) => "Escalated",
        ("rerouted", _) => "Routed elsewhere",
        ("assigned", _) => "Assigned",
        ("unassigned", _) => "Given back to the team",
        ("follow_up_done", _) => "Follow-up done",
        _ => "Changed",
    }
}

/// A decision word in words ("strategy_discussion" -> "Strategy discussion").
pub(crate) fn decision_words(decision: &str) -> String {
    sightline_app::decisions::DecisionKind::parse(decision).map_or_else(
        || decision.replace('_', " "),
        |kind| kind.label().to_owned(),
    )
}

/// What a follow-up asks, in words ("Visit the child").
pub(crate) fn follow_up_words(decision: &str) -> String {
    sightline_app::decisions::DecisionKind::parse(decision)
        .and_then(sightline_app::decisions::DecisionKind::follow_up_words)
        .map_or_else(|| decision_words(decision), str::to_owned)
}

/// "4 years old", "1 year old", "under 1 year old".
pub(crate) fn age_words(years: Option<u32>) -> Option<String> {
    years.map(|years| match years {
        0 => "under 1 year old".to_owned(),
        1 => "1 year old".to_owned(),
        n => format!("{n} years old"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_US: i64 = 3_600_000_000;
    const DAY_US: i64 = 24 * HOUR_US;

    #[test]
    fn due_times_read_as_words() {
        let now = 100 * DAY_US;
        assert_eq!(due_words(now - 3 * HOUR_US, now), "Overdue by 3 hours");
        assert_eq!(due_words(now - 5 * DAY_US, now), "Overdue by 5 days");
        assert_eq!(due_words(now - 1, now), "Overdue by 1 minute");
        assert_eq!(due_words(now + 3 * DAY_US, now), "Due in 3 days");
        let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        assert_eq!(follow_up_due_words(today, today), "Due today");
        assert_eq!(
            follow_up_due_words(today.pred_opt().unwrap(), today),
            "Overdue by 1 day"
        );
        assert_eq!(
            follow_up_due_words(chrono::NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(), today),
            "Due 20 March 2026"
        );
        assert_eq!(severity_label("critical"), "Critical");
    }

    #[test]
    fn routes_read_as_teams_and_roles_of_the_organisation() {
        let organisation = Organisation::parse(
            r#"name = "Synthetic partnership"
[safeguarding_leads]
health = "role:icb/safeguarding_lead"
police = "team:police/public-protection"
[[local_authority]]
id = "riverside"
name = "Riverside Council"
duty_team = "team:social-care/duty"
head_of_service = "team:social-care/head-of-service"
[[agency]]
id = "social-care"
name = "Riverside Children's Social Care"
type = "social_care"
teams = [{ id = "duty", name = "Duty and assessment team" }, { id = "head-of-service", name = "Head of service" }]
[[agency]]
id = "police"
name = "Riverside Police"
type = "police"
teams = [{ id = "public-protection", name = "Public protection unit" }]
[[agency]]
id = "icb"
name = "Riverside ICB"
type = "health"
service = "safeguarding"
"#,
        )
        .expect("a valid organisation");
        assert_eq!(
            route_words(&organisation, "team:social-care/duty"),
            "Duty and assessment team, Riverside Children's Social Care"
        );
        assert_eq!(
            route_words(&organisation, "role:icb/safeguarding_lead"),
            "Safeguarding leads, Riverside ICB"
        );
        assert_eq!(
            route_words(&organisation, "team:social-care/manager"),
            "Team managers, Riverside Children's Social Care"
        );
        let unconfigured = Organisation::unconfigured();
        assert_eq!(route_words(&unconfigured, "team:duty"), "Duty team");
        assert_eq!(route_words(&unconfigured, "user:sw.one"), "sw.one");
        assert_eq!(
            whose_words(&unconfigured, Some("sw.two"), "team:x/duty"),
            "sw.two"
        );
        assert_eq!(decision_words("strategy_discussion"), "Strategy discussion");
        assert_eq!(follow_up_words("visit"), "Visit the child");
        assert_eq!(age_words(Some(0)).unwrap(), "under 1 year old");
    }
}
