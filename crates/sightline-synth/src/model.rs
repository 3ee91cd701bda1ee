//! The region (agencies, neighbourhoods) and the people and households in it.

use rand::Rng as _;

use crate::Rng;
use crate::config::SynthConfig;
use crate::date::Day;
use crate::ids::{INWARD_LETTERS, mix64};
use crate::names::Names;

/// The most members a household may have over the whole period.
pub const MEMBERS_MAX: u64 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Female,
    Male,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
        }
    }
}

/// The types of agency, each with its own habits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AgencyType {
    Gp,
    Ed,
    HealthVisiting,
    School,
    Police,
    SocialCare,
    Probation,
    Housing,
}

impl AgencyType {
    pub const ALL: [AgencyType; 8] = [
        AgencyType::Gp,
        AgencyType::Ed,
        AgencyType::HealthVisiting,
        AgencyType::School,
        AgencyType::Police,
        AgencyType::SocialCare,
        AgencyType::Probation,
        AgencyType::Housing,
    ];

    /// The name of its noise profile in the config file.
    pub fn config_name(self) -> &'static str {
        match self {
            AgencyType::Gp => "gp",
            AgencyType::Ed => "ed",
            AgencyType::HealthVisiting => "health_visiting",
            AgencyType::School => "school",
            AgencyType::Police => "police",
            AgencyType::SocialCare => "social_care",
            AgencyType::Probation => "probation",
            AgencyType::Housing => "housing",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn is_health(self) -> bool {
        matches!(
            self,
            AgencyType::Gp | AgencyType::Ed | AgencyType::HealthVisiting
        )
    }
}

/// One sending agency.
#[derive(Debug, Clone)]
pub struct Agency {
    pub id: String,
    pub agency_type: AgencyType,
    pub system: &'static str,
    /// Prefix of its record ids.
    pub record_prefix: String,
    /// Prefix of its person ids.
    pub person_prefix: String,
    /// Secret-ish key that makes its ids opaque.
    pub key: u64,
}

/// A synthetic address.
#[derive(Debug, Clone)]
pub struct Address {
    pub lines: Vec<String>,
    pub postcode: String,
}

/// A small area served by one GP practice, hospital and set of schools.
#[derive(Debug, Clone)]
pub struct Neighbourhood {
    pub town: &'static str,
    pub outward: String,
    pub streets: Vec<&'static str>,
    pub gp: usize,
    pub hospital: usize,
    pub primary: usize,
    pub secondary: usize,
    pub nursery: usize,
}

/// The agencies and places of the synthetic region.
pub struct Region {
    pub agencies: Vec<Agency>,
    pub neighbourhoods: Vec<Neighbourhood>,
    pub hospitals: Vec<usize>,
    pub health_visiting: usize,
    pub police: usize,
    pub social_care: usize,
    pub probation: usize,
    pub housing: usize,
    pub region_key: u64,
}

const STREET_SUFFIXES: &[&str] = &[
    "Road", "Street", "Close", "Avenue", "Lane", "Drive", "Way", "Grove", "Crescent", "Court",
    "Terrace", "Gardens", "Place", "View", "Walk",
];
const POSTCODE_AREAS: &[&str] = &["LS", "WF", "HX", "HD", "BD", "DN"];

impl Region {
    pub fn build(config: &SynthConfig, names: &Names, rng: &mut Rng) -> Region {
        let region_key = mix64(config.seed ^ 0x5167_6874_6c69_6e65);
        let mut agencies = Vec::new();
        let add = |agencies: &mut Vec<Agency>,
                   id: String,
                   agency_type: AgencyType,
                   system: &'static str,
                   prefix: &str| {
            let key =
                mix64(region_key ^ (agencies.len() as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
            agencies.push(Agency {
                id,
                agency_type,
                system,
                record_prefix: prefix.to_owned(),
                person_prefix: prefix.chars().next().map(String::from).unwrap_or_default(),
                key,
            });
            agencies.len() - 1
        };
        let gp_systems = ["EMIS Web", "SystmOne"];
        let gps: Vec<usize> = (1..=config.region.gp_practices)
            .map(|n| {
                add(
                    &mut agencies,
                    format!("gp-{n}"),
                    AgencyType::Gp,
                    gp_systems[n as usize % 2],
                    &format!("G{n}"),
                )
            })
            .collect();
        let hospitals: Vec<usize> = config
            .region
            .hospitals
            .iter()
            .enumerate()
            .map(|(index, name)| {
                add(
                    &mut agencies,
                    format!("ed-{name}"),
                    AgencyType::Ed,
                    "Cerner Millennium",
                    &format!("E{}", index + 1),
                )
            })
            .collect();
        let health_visiting = add(
            &mut agencies,
            "health-visiting".to_owned(),
            AgencyType::HealthVisiting,
            "SystmOne",
            "HV",
        );
        let primaries: Vec<usize> = (1..=config.region.primary_schools)
            .map(|n| {
                add(
                    &mut agencies,
                    format!("school-{n}"),
                    AgencyType::School,
                    "SIMS",
                    &format!("S{n}"),
                )
            })
            .collect();
        let secondaries: Vec<usize> = (1..=config.region.secondary_schools)
            .map(|n| {
                let number = config.region.primary_schools + n;
                add(
                    &mut agencies,
                    format!("school-{number}"),
                    AgencyType::School,
                    "Arbor",
                    &format!("S{number}"),
                )
            })
            .collect();
        let nurseries: Vec<usize> = (1..=config.region.nurseries)
            .map(|n| {
                add(
                    &mut agencies,
                    format!("nursery-{n}"),
                    AgencyType::School,
                    "Famly",
                    &format!("N{n}"),
                )
            })
            .collect();
        let police = add(
            &mut agencies,
            "police".to_owned(),
            AgencyType::Police,
            "Niche",
            "PN",
        );
        let social_care = add(
            &mut agencies,
            "social-care".to_owned(),
            AgencyType::SocialCare,
            "Liquidlogic LCS",
            "SC",
        );
        let probation = add(
            &mut agencies,
            "probation".to_owned(),
            AgencyType::Probation,
            "nDelius",
            "PR",
        );
        let housing = add(
            &mut agencies,
            "housing".to_owned(),
            AgencyType::Housing,
            "Northgate Housing",
            "HO",
        );

        let mut neighbourhoods = Vec::new();
        for index in 0..config.region.neighbourhoods as usize {
            let area = POSTCODE_AREAS[index % POSTCODE_AREAS.len()];
            let district = 1 + index / POSTCODE_AREAS.len() + rng.random_range(0..3usize) * 10;
            let streets = (0..12).map(|_| names.streets.draw(rng)).collect();
            let town = names
                .towns
                .get(index % names.towns.len().max(1))
                .copied()
                .unwrap_or("Northgate");
            let pick = |list: &[usize], rng: &mut Rng| -> usize {
                let position = (index + rng.random_range(0..2usize)) % list.len().max(1);
                list.get(position).copied().unwrap_or(0)
            };
            neighbourhoods.push(Neighbourhood {
                town,
                outward: format!("{area}{district}"),
                streets,
                gp: pick(&gps, rng),
                hospital: hospitals
                    .get(index % hospitals.len().max(1))
                    .copied()
                    .unwrap_or(0),
                primary: pick(&primaries, rng),
                secondary: pick(&secondaries, rng),
                nursery: pick(&nurseries, rng),
            });
        }
        Region {
            agencies,
            neighbourhoods,
            hospitals,
            health_visiting,
            police,
            social_care,
            probation,
            housing,
            region_key,
        }
    }

    /// A new address in a neighbourhood.
    pub fn address(&self, neighbourhood: usize, rng: &mut Rng) -> Address {
        let Some(place) = self.neighbourhoods.get(neighbourhood) else {
            return Address {
                lines: vec!["1 High Street".to_owned()],
                postcode: "LS1 1AA".to_owned(),
            };
        };
        let street = place
            .streets
            .get(rng.random_range(0..place.streets.len().max(1)))
            .copied()
            .unwrap_or("High");
        let suffix = STREET_SUFFIXES[rng.random_range(0..STREET_SUFFIXES.len())];
        let number = rng.random_range(1..=180u32);
        let mut lines = Vec::with_capacity(3);
        if rng.random::<f64>() < 0.18 {
            lines.push(format!("Flat {}", rng.random_range(1..=24u32)));
        }
        lines.push(format!("{number} {street} {suffix}"));
        lines.push(place.town.to_owned());
        let sector = rng.random_range(1..=9u32);
        let first = INWARD_LETTERS[rng.random_range(0..INWARD_LETTERS.len())];
        let second = INWARD_LETTERS[rng.random_range(0..INWARD_LETTERS.len())];
        let postcode = format!(
            "{} {sector}{}{}",
            place.outward,
            char::from(first),
            char::from(second)
        );
        Address { lines, postcode }
    }

    pub fn agency(&self, index: usize) -> Option<&Agency> {
        self.agencies.get(index)
    }
}

/// A person's place in a household, as the ground truth records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Parent,
    Partner,
    UndeclaredPartner,
    Child,
    Grandparent,
    Lodger,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Parent => "parent",
            Role::Partner => "partner",
            Role::UndeclaredPartner => "undeclared_partner",
            Role::Child => "child",
            Role::Grandparent => "grandparent",
            Role::Lodger => "lodger",
        }
    }
}

/// One true person.
#[derive(Debug, Clone)]
pub struct Person {
    pub member: u8,
    /// Unique across the region: household index times [`MEMBERS_MAX`] plus member.
    pub key: u64,
    pub given: &'static str,
    pub middle: Option<&'static str>,
    pub family: String,
    pub sex: Sex,
    pub dob: Day,
    pub is_child: bool,
    pub nhs: String,
    /// The day the child first crawls, cruises or bottom-shuffles.
    pub mobile_from: Day,
}

impl Person {
    pub fn true_id(&self) -> String {
        format!(
            "P{:07}-{:02}",
            self.key / MEMBERS_MAX,
            self.key % MEMBERS_MAX
        )
    }

    pub fn age_years(&self, on: Day) -> i32 {
        self.dob.age_years_on(on)
    }
}

/// A spell of one person living in a household: from `from` up to, not including, `to`.
#[derive(Debug, Clone, Copy)]
pub struct Stay {
    pub member: u8,
    pub role: Role,
    pub from: Day,
    pub to: Day,
}

/// Where the household lives from a day on.
#[derive(Debug, Clone)]
pub struct Residence {
    pub from: Day,
    pub neighbourhood: usize,
    pub address: Address,
}

/// The harm archetypes of `safeguarding-facts.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Archetype {
    InfantPhysicalAbuse,
    Neglect,
    DomesticAbuse,
    UndeclaredOffender,
    DisguisedCompliance,
    PregnancyAfterRemoval,
}

impl Archetype {
    pub const ALL: [Archetype; 6] = [
        Archetype::InfantPhysicalAbuse,
        Archetype::Neglect,
        Archetype::DomesticAbuse,
        Archetype::UndeclaredOffender,
        Archetype::DisguisedCompliance,
        Archetype::PregnancyAfterRemoval,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Archetype::InfantPhysicalAbuse => "infant_physical_abuse",
            Archetype::Neglect => "neglect",
            Archetype::DomesticAbuse => "domestic_abuse",
            Archetype::UndeclaredOffender => "undeclared_offender",
            Archetype::DisguisedCompliance => "disguised_compliance",
            Archetype::PregnancyAfterRemoval => "pregnancy_after_removal",
        }
    }
}

/// A harm trajectory planned for a household.
#[derive(Debug, Clone)]
pub struct TrajectoryPlan {
    pub archetype: Archetype,
    pub child: u8,
    pub start: Day,
    /// The adult who harms, when there is one.
    pub adult: Option<u8>,
    /// An earlier child, removed (pregnancy after removal).
    pub earlier_child: Option<u8>,
    pub removal: Option<Day>,
}

/// A pregnancy that became known to the GP.
#[derive(Debug, Clone, Copy)]
pub struct Pregnancy {
    pub mother: u8,
    pub known: Day,
    pub expected: Day,
    pub child: Option<u8>,
}

/// One household over the simulated period.
#[derive(Debug, Clone)]
pub struct Household {
    pub index: u64,
    pub persons: Vec<Person>,
    pub stays: Vec<Stay>,
    pub residences: Vec<Residence>,
    /// First day in the region.
    pub arrive: Day,
    /// First day no longer in the region (the day after the period when it stays).
    pub leave: Day,
    pub social_housing: bool,
    pub pregnancies: Vec<Pregnancy>,
    /// Adults with an ordinary (not child-related) offence.
    pub offenders: Vec<u8>,
    pub trajectory: Option<TrajectoryPlan>,
}

impl Household {
    pub fn id(&self) -> String {
        format!("H{:07}", self.index)
    }

    pub fn person(&self, member: u8) -> Option<&Person> {
        self.persons.get(usize::from(member))
    }

    /// Whether `member` lives in the household, in the region, on `day`.
    pub fn present(&self, member: u8, day: Day) -> bool {
        day >= self.arrive
            && day < self.leave
            && self
                .stays
                .iter()
                .any(|stay| stay.member == member && stay.from <= day && day < stay.to)
    }

    /// Whether `member` is present on `day` in a role agencies were told about.
    pub fn declared_present(&self, member: u8, day: Day) -> bool {
        day >= self.arrive
            && day < self.leave
            && self.stays.iter().any(|stay| {
                stay.member == member
                    && stay.from <= day
                    && day < stay.to
                    && stay.role != Role::UndeclaredPartner
            })
    }

    /// The first day `member` no longer lives in the household in the region.
    pub fn stay_end(&self, member: u8) -> Day {
        self.stays
            .iter()
            .filter(|stay| stay.member == member)
            .map(|stay| stay.to)
            .max()
            .unwrap_or(self.arrive)
            .min(self.leave)
    }

    /// The index of the residence in force on `day`.
    pub fn residence_index(&self, day: Day) -> usize {
        self.residences
            .iter()
            .rposition(|residence| residence.from <= day)
            .unwrap_or(0)
    }

    /// The first adult present who is a parent of the children (mother first).
    pub fn main_carer(&self, day: Day) -> Option<u8> {
        let parents: Vec<u8> = self
            .stays
            .iter()
            .filter(|stay| stay.role == Role::Parent && stay.from <= day && day < stay.to)
            .map(|stay| stay.member)
            .collect();
        parents
            .iter()
            .copied()
            .find(|member| {
                self.person(*member)
                    .is_some_and(|person| person.sex == Sex::Female)
            })
            .or_else(|| parents.first().copied())
    }

    /// Declared adults present on `day`.
    pub fn declared_adults(&self, day: Day) -> Vec<u8> {
        self.persons
            .iter()
            .filter(|person| !person.is_child && self.declared_present(person.member, day))
            .map(|person| person.member)
            .collect()
    }

    /// Children (under 18) present on `day`.
    pub fn children_present(&self, day: Day) -> Vec<u8> {
        self.persons
            .iter()
            .filter(|person| person.is_child && person.dob <= day && person.age_years(day) < 18)
            .filter(|person| self.present(person.member, day))
            .map(|person| person.member)
            .collect()
    }
}
