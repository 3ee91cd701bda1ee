use super::*;
use proptest::prelude::*;

const EXAMPLE: &str = r#"# A small organisation.
name = "Riverside safeguarding partnership"

[safeguarding_leads]
health = "role:icb-safeguarding/safeguarding_lead"
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
teams = [
  { id = "duty", name = "Duty and assessment" },
  { id = "head-of-service", name = "Head of service" },
]

[[agency]]
id = "police"
name = "Riverside Police"
type = "police"
teams = [{ id = "public-protection", name = "Public protection unit" }]

[[agency]]
id = "icb-safeguarding"
name = "Riverside ICB safeguarding team"
type = "health"
service = "safeguarding"

[[agency]]
id = "gp-1"
name = "Northgate Medical Practice"
type = "health"
service = "gp"
"#;

fn agency(id: &str) -> AgencyId {
    AgencyId::parse(id).expect("agency id")
}

#[test]
fn the_example_parses_into_profiles_and_recipients() {
    let organisation = Organisation::parse(EXAMPLE).expect("valid");
    assert_eq!(organisation.name(), "Riverside safeguarding partnership");
    assert_eq!(organisation.agencies().count(), 4);
    let gp = organisation.agency("gp-1").expect("gp-1");
    assert_eq!(gp.name, "Northgate Medical Practice");
    assert_eq!(gp.agency_type, AgencyType::Health);
    assert_eq!(gp.service, Some(HealthService::Gp));
    assert_eq!(gp.local_authority, "riverside", "the only one, by default");
    assert!(gp.named);
    let riverside = organisation.default_local_authority();
    assert_eq!(riverside.id, "riverside");
    assert_eq!(riverside.duty_team.as_route(), "team:social-care/duty");
    assert_eq!(
        riverside.head_of_service.as_route(),
        "team:social-care/head-of-service"
    );
    assert_eq!(
        organisation
            .health_safeguarding_lead()
            .map(Recipient::as_route),
        Some("role:icb-safeguarding/safeguarding_lead".to_owned())
    );
    assert_eq!(
        organisation.police_safeguarding().map(Recipient::as_route),
        Some("team:police/public-protection".to_owned())
    );
    assert_eq!(organisation.local_authority_of("nobody").id, "riverside");
    assert_eq!(organisation.named_recipients().len(), 4);
}

#[test]
fn the_unconfigured_organisation_has_a_duty_team_and_both_leads() {
    let organisation = Organisation::unconfigured();
    assert_eq!(
        organisation.default_local_authority().duty_team.as_route(),
        "team:social-care/duty"
    );
    assert_eq!(
        organisation
            .health_safeguarding_lead()
            .map(Recipient::as_route),
        Some("role:health-safeguarding/safeguarding_lead".to_owned())
    );
    assert_eq!(
        organisation.police_safeguarding().map(Recipient::as_route),
        Some("team:police/public-protection".to_owned())
    );
}

#[test]
fn an_agency_the_file_does_not_name_gets_a_fallback_profile() {
    let organisation = Organisation::parse(EXAMPLE).expect("valid");
    let profile = organisation.profile(
        &agency("ed-elsewhere"),
        [
            "health.ed_attendance",
            "health.ed_attendance",
            "health.admission",
        ],
    );
    assert_eq!(profile.name, "ed-elsewhere");
    assert_eq!(profile.agency_type, AgencyType::Health);
    assert_eq!(profile.service, Some(HealthService::UnscheduledCare));
    assert_eq!(profile.local_authority, "riverside");
    assert!(!profile.named);
    let named = organisation.profile(&agency("police"), ["health.birth"]);
    assert_eq!(named.agency_type, AgencyType::Police, "the file wins");
    assert_eq!(
        AgencyType::from_kinds([
            "justice.conviction",
            "police.arrest",
            "police.call_out",
            "education.concern"
        ]),
        AgencyType::Police
    );
    assert_eq!(AgencyType::from_kinds(["other.note"]), AgencyType::Other);
    assert_eq!(
        AgencyType::from_kinds(["justice.release", "justice.release", "probation.contact"]),
        AgencyType::Probation
    );
    assert_eq!(AgencyType::from_kinds([]), AgencyType::Other);
}

#[test]
fn recipients_parse_and_reach_accounts() {
    let team = Recipient::parse("team:social-care/duty").expect("team");
    assert!(team.reaches("social-care", Some("duty"), "practitioner"));
    assert!(team.reaches("social-care", Some("duty"), "team_manager"));
    assert!(!team.reaches("school-1", Some("duty"), "practitioner"));
    assert!(!team.reaches("social-care", None, "practitioner"));
    let role = Recipient::parse("role:icb-safeguarding/safeguarding_lead").expect("role");
    assert!(role.reaches("icb-safeguarding", None, "safeguarding_lead"));
    assert!(!role.reaches("icb-safeguarding", None, "practitioner"));
    assert_eq!(role.to_string(), "role:icb-safeguarding/safeguarding_lead");
    for (text, expected) in [
        (
            "team:duty",
            "\"team:duty\" names no agency (write team:AGENCY/TEAM)",
        ),
        (
            "role:health_safeguarding_lead",
            "\"role:health_safeguarding_lead\" names no agency (write role:AGENCY/ROLE)",
        ),
        (
            "user:someone",
            "\"user:someone\" is not a recipient (write team:AGENCY/TEAM or role:AGENCY/ROLE)",
        ),
        (
            "role:police/safeguarding-lead",
            "\"role:police/safeguarding-lead\": \"safeguarding-lead\" is not a role that receives alerts (one of \"practitioner\", \"team_manager\", \"safeguarding_lead\") (did you mean \"safeguarding_lead\"?)",
        ),
        (
            "role:police/administrator",
            "\"role:police/administrator\": \"administrator\" is not a role that receives alerts (one of \"practitioner\", \"team_manager\", \"safeguarding_lead\")",
        ),
        (
            "team:police/Public",
            "\"team:police/Public\": \"Public\" is not a team id (1 to 64 characters of a-z, 0-9 and -)",
        ),
    ] {
        assert_eq!(Recipient::parse(text).unwrap_err(), expected, "{text}");
    }
    assert_eq!(
        routes_reaching("social-care", Some("duty"), "team_manager"),
        vec!["team:social-care/duty", "role:social-care/team_manager"]
    );
    assert_eq!(
        routes_reaching("social-care", None, "privacy_officer"),
        Vec::<String>::new()
    );
}

/// Parses `text` and returns its problems as displayed.
fn problems(text: &str) -> Vec<String> {
    match Organisation::parse(text) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

/// The example with `from` replaced by `to` (which must occur once).
fn variant(from: &str, to: &str) -> String {
    assert_eq!(EXAMPLE.matches(from).count(), 1, "{from}");
    EXAMPLE.replace(from, to)
}

#[test]
fn problems_name_the_line_and_the_key_in_plain_words() {
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            variant("type = \"police\"", "type = \"polce\""),
            vec![
                "line 26: agency.type: \"polce\" is not an agency type (one of \"social_care\", \"police\", \"health\", \"school\", \"probation\", \"housing\", \"other\") (did you mean \"police\"?)",
                // The lead names an agency that failed, so it is unknown too.
                "line 6: safeguarding_leads.police: \"team:police/public-protection\": agency \"police\" is not named in the organisation",
            ],
        ),
        (
            variant("service = \"gp\"", "service = \"gpp\""),
            vec![
                "line 39: agency.service: \"gpp\" is not a health service (one of \"gp\", \"unscheduled_care\", \"hospital\", \"health_visiting\", \"school_nursing\", \"midwifery\", \"mental_health\", \"sexual_health\", \"safeguarding\", \"other\") (did you mean \"gp\"?)",
            ],
        ),
        (
            variant("service = \"gp\"\n", ""),
            vec![
                "line 38: agency.service: is missing: a health agency says its service (one of \"gp\", \"unscheduled_care\", \"hospital\", \"health_visiting\", \"school_nursing\", \"midwifery\", \"mental_health\", \"sexual_health\", \"safeguarding\", \"other\")",
            ],
        ),
        (
            variant(
                "type = \"police\"\n",
                "type = \"police\"\nservice = \"gp\"\n",
            ),
            vec![
                "line 27: agency.service: only a health agency has a service (this one is police)",
            ],
        ),
        (
            variant(
                "duty_team = \"team:social-care/duty\"",
                "duty_team = \"team:social-care/dutty\"",
            ),
            vec![
                "line 11: local_authority.duty_team: \"team:social-care/dutty\": agency \"social-care\" has no team \"dutty\" (its teams: \"duty\", \"head-of-service\") (did you mean \"duty\"?)",
            ],
        ),
        (
            variant(
                "duty_team = \"team:social-care/duty\"",
                "duty_team = \"team:duty\"",
            ),
            vec![
                "line 11: local_authority.duty_team: \"team:duty\" names no agency (write team:AGENCY/TEAM)",
            ],
        ),
        (
            variant(
                "duty_team = \"team:social-care/duty\"",
                "duty_team = \"team:police/public-protection\"",
            ),
            vec![
                "line 11: local_authority.duty_team: \"police\" is not a social care agency (the duty team is children's social care's)",
            ],
        ),
        (
            variant(
                "duty_team = \"team:social-care/duty\"",
                "duty_team = \"role:social-care/team_manager\"",
            ),
            vec![
                "line 11: local_authority.duty_team: a duty team is a team (team:AGENCY/TEAM), not a role",
            ],
        ),
        (
            variant(
                "health = \"role:icb-safeguarding/safeguarding_lead\"",
                "health = \"role:icb-safegarding/safeguarding_lead\"",
            ),
            vec![
                "line 5: safeguarding_leads.health: \"role:icb-safegarding/safeguarding_lead\": agency \"icb-safegarding\" is not named in the organisation (did you mean \"icb-safeguarding\"?)",
            ],
        ),
        (
            variant(
                "health = \"role:icb-safeguarding/safeguarding_lead\"",
                "health = \"team:police/public-protection\"",
            ),
            vec!["line 5: safeguarding_leads.health: \"police\" is not a health agency"],
        ),
        (
            variant(
                "name = \"Northgate Medical Practice\"",
                "nmae = \"Northgate Medical Practice\"",
            ),
            vec![
                "line 37: \"nmae\" is not a known key (expected one of \"id\", \"name\", \"type\", \"service\", \"local_authority\", \"access_notice\", \"teams\") (did you mean \"name\"?)",
            ],
        ),
        (
            variant("name = \"Northgate Medical Practice\"", "name = 3"),
            vec!["line 37: name: integer `3`; expected a string"],
        ),
        (
            variant("id = \"gp-1\"\n", ""),
            vec!["line 35: agency: \"id\" is missing"],
        ),
        (
            variant("id = \"gp-1\"", "id = \"police\""),
            vec!["line 36: agency.id: \"police\" is named twice"],
        ),
        (
            variant("id = \"gp-1\"", "id = \"GP 1\""),
            vec![
                "line 36: agency.id: \"GP 1\" is not an agency id (2-64 characters of a-z, 0-9 and -)",
            ],
        ),
        (
            variant("{ id = \"duty\",", "{ id = \"Duty team\","),
            vec![
                "line 19: agency.teams.id: \"Duty team\" is not a team id (1 to 64 characters of a-z, 0-9 and -)",
                "line 11: local_authority.duty_team: \"team:social-care/duty\": agency \"social-care\" has no team \"duty\" (its teams: \"head-of-service\")",
            ],
        ),
        (
            variant("name = \"Riverside Police\"", "name = \"  \""),
            vec!["line 25: agency.name: must not be empty"],
        ),
        (
            variant("[[local_authority]]", "[[local_authorty]]"),
            vec![
                "line 8: \"local_authorty\" is not a known key (expected one of \"name\", \"default_local_authority\", \"safeguarding_leads\", \"local_authority\", \"agency\") (did you mean \"local_authority\"?)",
            ],
        ),
        (
            variant(
                "name = \"Riverside safeguarding partnership\"\n",
                "name = \"Riverside safeguarding partnership\"\ndefault_local_authority = \"riversde\"\n",
            ),
            vec![
                "line 3: default_local_authority: \"riversde\" is not a local authority of this file (did you mean \"riverside\"?)",
            ],
        ),
        (
            "name = \"x\"\n[[agency]]\nid = \"police\"\nname = \"Police\"\ntype = \"police\"\n"
                .to_owned(),
            vec![
                "local_authority: no local authority is named (at least one [[local_authority]] with its duty team and head of service)",
            ],
        ),
        (
            "name = \"x\"\n[[agency\n".to_owned(),
            vec!["line 2: agency: unclosed array table; expected `]]`"],
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(problems(&text), expected, "{text}");
    }
}

#[test]
fn several_local_authorities_each_name_their_agencies() {
    let two = EXAMPLE.replace(
        "[[agency]]\nid = \"social-care\"",
        "[[local_authority]]\nid = \"eastfield\"\nname = \"Eastfield Council\"\nduty_team = \"team:social-care/duty\"\nhead_of_service = \"team:social-care/head-of-service\"\n\n[[agency]]\nid = \"social-care\"",
    );
    let missing = "agency.local_authority: is missing: with more than one local authority, each agency says which is its own";
    assert_eq!(
        problems(&two),
        vec![
            format!("line 21: {missing}"),
            format!("line 30: {missing}"),
            format!("line 36: {missing}"),
            format!("line 42: {missing}"),
            "default_local_authority: is missing: with more than one local authority, say which one takes children no record places".to_owned(),
        ]
    );
    let fixed = two
        .replace(
            "name = \"Riverside safeguarding partnership\"",
            "name = \"Two councils\"\ndefault_local_authority = \"riverside\"",
        )
        .replace(
            "type = \"social_care\"",
            "type = \"social_care\"\nlocal_authority = \"riverside\"",
        )
        .replace(
            "type = \"police\"",
            "type = \"police\"\nlocal_authority = \"riverside\"",
        )
        .replace(
            "service = \"safeguarding\"",
            "service = \"safeguarding\"\nlocal_authority = \"riverside\"",
        )
        .replace(
            "service = \"gp\"",
            "service = \"gp\"\nlocal_authority = \"eastfield\"",
        );
    let organisation = Organisation::parse(&fixed).expect("valid");
    assert_eq!(organisation.local_authority_of("gp-1").id, "eastfield");
    assert_eq!(organisation.local_authority_of("police").id, "riverside");
    assert_eq!(
        organisation.default_local_authority().name,
        "Riverside Council"
    );
    assert_eq!(organisation.local_authorities().count(), 2);
}

#[test]
fn a_file_too_large_is_refused_before_parsing() {
    let text = "#".repeat(ORGANISATION_BYTES_MAX + 1);
    assert_eq!(
        problems(&text),
        vec![format!(
            "the file is {} bytes long (at most {ORGANISATION_BYTES_MAX})",
            ORGANISATION_BYTES_MAX + 1
        )]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_parses_or_gives_problems_without_panicking(text in ".{0,400}") {
        let _ = Organisation::parse(&text);
    }

    #[test]
    fn any_edit_of_the_example_parses_or_gives_placed_problems(
        at in 0usize..EXAMPLE.len(),
        cut in 0usize..12,
        insert in "[a-z_\\-\\[\\]=\"{}, \\n:/]{0,8}",
    ) {
        let at = (0..=at).rev().find(|index| EXAMPLE.is_char_boundary(*index)).unwrap_or(0);
        let end = (at + cut).min(EXAMPLE.len());
        let end = (end..=EXAMPLE.len()).find(|index| EXAMPLE.is_char_boundary(*index)).unwrap_or(EXAMPLE.len());
        let text = format!("{}{}{}", &EXAMPLE[..at], insert, &EXAMPLE[end..]);
        if let Err(problems) = Organisation::parse(&text) {
            prop_assert!(!problems.is_empty());
            for problem in problems {
                prop_assert!(!problem.message.is_empty());
                if let Some(line) = problem.line {
                    prop_assert!(line >= 1 && line <= text.lines().count() + 1);
                }
            }
        }
    }

    #[test]
    fn recipients_round_trip(agency in "[a-z][a-z0-9-]{1,20}", team in "[a-z0-9-]{1,20}") {
        let text = format!("team:{agency}/{team}");
        let recipient = Recipient::parse(&text).expect("valid");
        prop_assert_eq!(recipient.as_route(), text);
    }
}

#[test]
fn the_operators_guide_example_is_valid() {
    let guide = include_str!("../../../../docs/operators.md");
    let section = guide
        .split("## The organisation")
        .nth(1)
        .expect("the section");
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block");
    let organisation =
        Organisation::parse(example).unwrap_or_else(|problems| panic!("{problems:?}"));
    assert_eq!(organisation.agencies().count(), 4);
    assert_eq!(
        organisation
            .agency("northgate-gp")
            .map(|gp| gp.access_notice),
        Some(AccessNotice::Silent)
    );
}

#[test]
fn a_local_authority_may_carry_its_dfe_code_of_three_digits() {
    let with_code = EXAMPLE.replace(
        "name = \"Riverside Council\"",
        "name = \"Riverside Council\"\ndfe_code = \"201\"",
    );
    let organisation = Organisation::parse(&with_code).expect("valid");
    assert_eq!(
        organisation.default_local_authority().dfe_code.as_deref(),
        Some("201")
    );
    assert_eq!(
        Organisation::parse(EXAMPLE)
            .expect("valid")
            .default_local_authority()
            .dfe_code,
        None
    );
    let bad = EXAMPLE.replace(
        "name = \"Riverside Council\"",
        "name = \"Riverside Council\"\ndfe_code = \"20A\"",
    );
    let found = problems(&bad);
    assert!(
        found
            .iter()
            .any(|problem| problem.contains("local_authority.dfe_code")
                && problem.contains("three digits")),
        "{found:?}"
    );
}

#[test]
fn access_notice_defaults_to_notify_and_silent_is_for_planned_care() {
    let organisation = Organisation::parse(EXAMPLE).expect("valid");
    for profile in organisation.agencies() {
        assert_eq!(
            profile.access_notice,
            AccessNotice::Notify,
            "{}",
            profile.id
        );
    }
    let silent_gp = variant(
        "service = \"gp\"\n",
        "service = \"gp\"\naccess_notice = \"silent\"\n",
    );
    let organisation = Organisation::parse(&silent_gp).expect("a silent GP practice is valid");
    assert_eq!(
        organisation.agency("gp-1").map(|gp| gp.access_notice),
        Some(AccessNotice::Silent)
    );
    let silent_police = variant(
        "type = \"police\"\n",
        "type = \"police\"\naccess_notice = \"silent\"\n",
    );
    assert!(Organisation::parse(&silent_police).is_ok());
    let silent_ed = variant(
        "service = \"gp\"\n",
        "service = \"unscheduled_care\"\naccess_notice = \"silent\"\n",
    );
    assert_eq!(
        problems(&silent_ed),
        vec![
            "line 40: agency.access_notice: \"silent\" is for planned care (a GP practice, say): social care, unscheduled care and hospital agencies cannot be silent"
        ]
    );
    let silent_social_care = variant(
        "type = \"social_care\"\n",
        "type = \"social_care\"\naccess_notice = \"silent\"\n",
    );
    assert_eq!(problems(&silent_social_care).len(), 1);
    let misspelt = variant(
        "service = \"gp\"\n",
        "service = \"gp\"\naccess_notice = \"silnt\"\n",
    );
    assert_eq!(
        problems(&misspelt),
        vec![
            "line 40: agency.access_notice: \"silnt\" is not an access notice setting (one of \"notify\", \"silent\") (did you mean \"silent\"?)"
        ]
    );
    // An agency the file does not name is told about like any other.
    let unnamed = organisation.profile(&agency("walk-in"), ["health.ed_attendance"]);
    assert_eq!(unnamed.access_notice, AccessNotice::Notify);
}
