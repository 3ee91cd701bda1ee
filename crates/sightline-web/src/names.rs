//! Agencies and alert routes by the names the organisation gives them, for
//! templates: `{{ agency|agency_name }}` reads "Northgate Children's Social
//! Care" for `northgate-csc`, `{{ alert.routed_to|route_name }}` reads "Duty
//! team, Northgate Children's Social Care" for `team:northgate-csc/duty`.
//! Machine forms stay in the API and CSV.

use sightline_core::labels::humanise;
use sightline_core::org::{Organisation, Recipient};

/// An agency's display name; an agency the organisation does not name is shown
/// by its id (its fallback profile's name).
pub(crate) fn agency_name(organisation: &Organisation, agency_id: &str) -> String {
    organisation
        .agency(agency_id)
        .map_or_else(|| agency_id.to_owned(), |profile| profile.name.clone())
}

/// "Safeguarding leads", for a route to a role.
fn role_words(role: &str) -> String {
    match sightline_access::Role::parse(role) {
        Ok(role) => format!("{}s", role.label()),
        Err(_) => humanise(role),
    }
}

/// A team of an agency by name: the organisation's name for it, or the
/// escalation levels and unnamed teams in words.
fn team_words(organisation: &Organisation, agency: &str, team: &str) -> String {
    let named = organisation
        .agency(agency)
        .and_then(|profile| profile.team(team))
        .map(|team| team.name.clone());
    named.unwrap_or_else(|| match team {
        "manager" => "Team managers".to_owned(),
        "head_of_service" | "head-of-service" => "Head of service".to_owned(),
        team => format!("{} team", humanise(team)),
    })
}

/// Whom an alert is routed to, in words: "Duty team, Northgate Children's
/// Social Care", "Safeguarding leads, North ICB", a user's name.
pub(crate) fn route_name(organisation: &Organisation, routed_to: &str) -> String {
    if let Ok(recipient) = Recipient::parse(routed_to) {
        return match recipient {
            Recipient::Team { agency, team } => format!(
                "{}, {}",
                team_words(organisation, agency.as_str(), &team),
                agency_name(organisation, agency.as_str())
            ),
            Recipient::Role { agency, role } => format!(
                "{}, {}",
                role_words(&role),
                agency_name(organisation, agency.as_str())
            ),
        };
    }
    // Escalations and older stored routes: `team:AGENCY/LEVEL`, `team:TEAM`,
    // `role:ROLE`, `user:NAME`.
    if let Some(rest) = routed_to.strip_prefix("team:") {
        return match rest.split_once('/') {
            Some((agency, team)) => format!(
                "{}, {}",
                team_words(organisation, agency, team),
                agency_name(organisation, agency)
            ),
            None => format!("{} team", humanise(rest)),
        };
    }
    if let Some(role) = routed_to.strip_prefix("role:") {
        return match role.split_once('/') {
            Some((agency, role)) => format!(
                "{}, {}",
                role_words(role),
                agency_name(organisation, agency)
            ),
            None => role_words(role),
        };
    }
    if let Some(user) = routed_to.strip_prefix("user:") {
        return user.to_owned();
    }
    humanise(routed_to)
}

/// Registers the `agency_name` and `route_name` filters over `organisation`.
pub(crate) fn add_filters(
    environment: &mut minijinja::Environment<'static>,
    organisation: std::sync::Arc<Organisation>,
) {
    let for_agencies = organisation.clone();
    environment.add_filter("agency_name", move |agency: String| {
        agency_name(&for_agencies, &agency)
    });
    environment.add_filter("kind_label", |kind: String| {
        sightline_core::Kind::parse(&kind)
            .map_or_else(|| humanise(&kind), |kind| kind.label().to_owned())
    });
    environment.add_filter("occurred", |text: String| {
        sightline_core::dates::occurred_text(&text)
    });
    environment.add_filter("partial_date", |text: String| {
        sightline_core::PartialDate::parse(&text).map_or(text, sightline_core::dates::partial_date)
    });
    environment.add_filter("person_role", |role: String| {
        sightline_core::Role::parse(&role)
            .map_or_else(|| humanise(&role), |role| role.label().to_owned())
    });
    environment.add_filter("linkage_field", |field: String| {
        sightline_core::labels::linkage_field_label(&field)
    });
    let for_teams = organisation.clone();
    environment.add_filter("team_name", move |team: String, agency: String| {
        team_words(&for_teams, &agency, &team)
    });
    environment.add_filter("route_name", move |routed_to: String| {
        route_name(&organisation, &routed_to)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_read_as_teams_and_agencies() {
        let organisation = Organisation::unconfigured();
        assert_eq!(route_name(&organisation, "user:jo.bloggs"), "jo.bloggs");
        assert_eq!(route_name(&organisation, "team:duty"), "Duty team");
        assert_eq!(
            route_name(&organisation, "role:gp-2/safeguarding_lead"),
            "Safeguarding leads, gp-2"
        );
        assert_eq!(
            route_name(&organisation, "team:police/manager"),
            "Team managers, Police"
        );
        assert_eq!(
            route_name(&organisation, "team:police/head_of_service"),
            "Head of service, Police"
        );
    }

    #[test]
    fn named_agencies_and_teams() {
        let organisation = Organisation::unconfigured();
        assert_eq!(
            agency_name(&organisation, "social-care"),
            "Children's social care"
        );
        assert_eq!(
            route_name(&organisation, "team:social-care/duty"),
            "Duty team, Children's social care"
        );
        assert_eq!(
            route_name(&organisation, "team:social-care/head-of-service"),
            "Head of service, Children's social care"
        );
    }
}
