//! How alerts, their due times, routings, history and follow-ups read on My
//! work and the alert page. Every display text of those pages is made here, in
//! one place, so that moving them onto the shared vocabulary changes only this
//! module's function bodies.

use sightline_app::from_micros;

const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR_US;

/// "Critical", "High", "Medium", "Low".
pub(crate) fn severity_label(severity: &str) -> &'static str {
    match severity {
        "critical" => "Critical",
        "high" => "High",
        "medium" => "Medium",
        "low" => "Low",
        _ => "Unknown severity",
    }
}

/// "7 December 2026".
pub(crate) fn date_words(micros: i64) -> String {
    from_micros(micros).format("%-d %B %Y").to_string()
}

/// "7 December 2026" of a calendar day.
pub(crate) fn day_words(day: chrono::NaiveDate) -> String {
    day.format("%-d %B %Y").to_string()
}

/// "7 December 2026 at 10:57".
pub(crate) fn time_words(micros: i64) -> String {
    from_micros(micros).format("%-d %B %Y at %H:%M").to_string()
}

fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// How long, in the largest whole unit that reads naturally: minutes under an
/// hour, hours under two days, else days.
fn span_words(span_us: i64) -> String {
    let span_us = span_us.max(0);
    if span_us < HOUR_US {
        plural((span_us / 60_000_000).max(1), "minute", "minutes")
    } else if span_us < 2 * DAY_US {
        plural(span_us / HOUR_US, "hour", "hours")
    } else {
        plural(span_us / DAY_US, "day", "days")
    }
}

/// When a decision is due, in words: "Overdue by 3 hours", "Due in 2 days",
/// or, a week or more ahead, "Due 14 December 2026".
pub(crate) fn due_words(due_at_us: i64, now_us: i64) -> String {
    if due_at_us < now_us {
        format!("Overdue by {}", span_words(now_us - due_at_us))
    } else if due_at_us - now_us < 7 * DAY_US {
        format!("Due in {}", span_words(due_at_us - now_us))
    } else {
        format!("Due {}", date_words(due_at_us))
    }
}

/// When a follow-up is due (a day), in words: "Overdue by 2 days", "Due today",
/// "Due tomorrow", "Due 14 December 2026".
pub(crate) fn follow_up_due_words(due: chrono::NaiveDate, today: chrono::NaiveDate) -> String {
    let days = (due - today).num_days();
    match days {
        0 => "Due today".to_owned(),
        1 => "Due tomorrow".to_owned(),
        n if n < 0 => format!("Overdue by {}", plural(-n, "day", "days")),
        _ => format!("Due {}", day_words(due)),
    }
}

/// Whom an alert is routed to, in words: "Duty team, social-care",
/// "Managers, social-care", "Safeguarding lead, icb", or a username.
pub(crate) fn route_words(routed_to: &str) -> String {
    let team_words = |team: &str| match team {
        "duty" => "Duty team".to_owned(),
        "manager" => "Team managers".to_owned(),
        "head_of_service" => "Head of service".to_owned(),
        other => format!("Team {}", other.replace(['_', '-'], " ")),
    };
    if let Some(user) = routed_to.strip_prefix("user:") {
        return user.to_owned();
    }
    if let Some(team) = routed_to.strip_prefix("team:") {
        return match team.split_once('/') {
            Some((agency, rest)) => match rest.split_once('/') {
                Some((team, level)) => {
                    format!("{} of {}, {agency}", team_words(level), team_words(team))
                }
                None => format!("{}, {agency}", team_words(rest)),
            },
            None => team_words(team),
        };
    }
    if let Some(role) = routed_to.strip_prefix("role:") {
        let (agency, role) = role
            .split_once('/')
            .map_or((None, role), |(a, r)| (Some(a), r));
        let role = match role {
            "health_safeguarding_lead" | "safeguarding_lead" => "Safeguarding lead".to_owned(),
            "police_safeguarding" => "Police safeguarding".to_owned(),
            other => {
                let words = other.replace('_', " ");
                let mut chars = words.chars();
                chars
                    .next()
                    .map(|first| first.to_uppercase().chain(chars).collect())
                    .unwrap_or_default()
            }
        };
        return match agency {
            Some(agency) => format!("{role}, {agency}"),
            None => role,
        };
    }
    routed_to.to_owned()
}

/// Whose an alert is: the worker it is assigned to, else its routing.
pub(crate) fn whose_words(assigned_to: Option<&str>, routed_to: &str) -> String {
    match assigned_to {
        Some(user) => user.to_owned(),
        None => route_words(routed_to),
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

    #[test]
    fn due_times_read_as_words() {
        let now = 100 * DAY_US;
        assert_eq!(due_words(now - 3 * HOUR_US, now), "Overdue by 3 hours");
        assert_eq!(due_words(now - 5 * DAY_US, now), "Overdue by 5 days");
        assert_eq!(due_words(now - 1, now), "Overdue by 1 minute");
        assert_eq!(due_words(now + HOUR_US, now), "Due in 1 hour");
        assert_eq!(due_words(now + 3 * DAY_US, now), "Due in 3 days");
        assert_eq!(due_words(now + 30 * DAY_US, now), "Due 11 May 1970");
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
    }

    #[test]
    fn routes_read_as_teams_and_roles() {
        assert_eq!(
            route_words("team:social-care/duty"),
            "Duty team, social-care"
        );
        assert_eq!(
            route_words("team:social-care/manager"),
            "Team managers, social-care"
        );
        assert_eq!(route_words("team:duty"), "Duty team");
        assert_eq!(
            route_words("role:icb/safeguarding_lead"),
            "Safeguarding lead, icb"
        );
        assert_eq!(route_words("user:sw.one"), "sw.one");
        assert_eq!(whose_words(Some("sw.two"), "team:x/duty"), "sw.two");
        assert_eq!(decision_words("strategy_discussion"), "Strategy discussion");
        assert_eq!(follow_up_words("visit"), "Visit the child");
        assert_eq!(age_words(Some(0)).unwrap(), "under 1 year old");
    }
}
