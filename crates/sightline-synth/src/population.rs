//! Builds one household and its life over the period: who lives there when, where,
//! births, pregnancies, moves, partners joining and leaving, lodgers.

use crate::config::SynthConfig;
use crate::date::Day;
use crate::ids::nhs_number;
use crate::model::{
    Archetype, Household, MEMBERS_MAX, Person, Pregnancy, Region, Residence, Role, Sex, Stay,
    TrajectoryPlan,
};
use crate::names::Names;
use crate::{Rng, chance, poisson_days, uniform_day, uniform_int, weighted_index};

/// The simulated period: `start` to `end`, both included.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub start: Day,
    pub end: Day,
}

impl Period {
    pub fn days(self) -> i32 {
        self.end.0 - self.start.0
    }

    /// The first day after the period.
    pub fn after(self) -> Day {
        self.end.plus(1)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Couple,
    LoneMother,
    LoneFather,
    Multigenerational,
}

struct Builder<'a> {
    index: u64,
    names: &'a Names,
    region_key: u64,
    persons: Vec<Person>,
    stays: Vec<Stay>,
}

impl Builder<'_> {
    /// Adds a person; `None` when the household is full.
    fn person(
        &mut self,
        sex: Sex,
        dob: Day,
        family: &str,
        is_child: bool,
        rng: &mut Rng,
    ) -> Option<u8> {
        let member = self.persons.len() as u64;
        if member >= MEMBERS_MAX {
            return None;
        }
        let list = match (sex, is_child, dob.ymd().0 >= 2005) {
            (Sex::Female, true, true) => &self.names.female_child,
            (Sex::Male, true, true) => &self.names.male_child,
            (Sex::Female, _, _) => &self.names.female_adult,
            (Sex::Male, _, _) => &self.names.male_adult,
        };
        let given = list.draw(rng);
        let middle = chance(rng, 0.6)
            .then(|| list.draw(rng))
            .filter(|middle| *middle != given);
        let key = self.index * MEMBERS_MAX + member;
        self.persons.push(Person {
            member: member as u8,
            key,
            given,
            middle,
            family: family.to_owned(),
            sex,
            dob,
            is_child,
            nhs: nhs_number(key, self.region_key),
            mobile_from: dob.plus(uniform_int(rng, 180, 300)),
        });
        Some(member as u8)
    }

    fn stay(&mut self, member: u8, role: Role, from: Day, to: Day) {
        if from < to {
            self.stays.push(Stay {
                member,
                role,
                from,
                to,
            });
        }
    }
}

fn random_sex(rng: &mut Rng) -> Sex {
    if chance(rng, 0.51) {
        Sex::Male
    } else {
        Sex::Female
    }
}

/// The age window (in days) of the child a trajectory centres on.
fn target_age_days(archetype: Archetype) -> (i32, i32) {
    match archetype {
        Archetype::Neglect => (400, 3_300),
        Archetype::DomesticAbuse => (60, 1_500),
        Archetype::DisguisedCompliance => (120, 3_600),
        Archetype::UndeclaredOffender => (300, 3_300),
        Archetype::InfantPhysicalAbuse | Archetype::PregnancyAfterRemoval => (0, 0),
    }
}

/// Days the trajectory needs before the end of the period, and the least period.
fn trajectory_room_days(archetype: Archetype) -> i32 {
    match archetype {
        Archetype::InfantPhysicalAbuse => 420,
        Archetype::Neglect | Archetype::DomesticAbuse | Archetype::DisguisedCompliance => 500,
        Archetype::UndeclaredOffender => 900,
        Archetype::PregnancyAfterRemoval => 1_000,
    }
}

/// Picks a harm archetype for a household, or none.
fn draw_archetype(config: &SynthConfig, period: Period, rng: &mut Rng) -> Option<Archetype> {
    let trajectories = &config.trajectories;
    if !chance(rng, trajectories.share_of_households) {
        return None;
    }
    let weights = [
        trajectories.infant_physical_abuse,
        trajectories.neglect,
        trajectories.domestic_abuse,
        trajectories.undeclared_offender,
        trajectories.disguised_compliance,
        trajectories.pregnancy_after_removal,
    ];
    let archetype = *Archetype::ALL.get(weighted_index(rng, &weights)?)?;
    (period.days() >= trajectory_room_days(archetype) + 60).then_some(archetype)
}

/// Builds household number `index` from its own random stream.
pub fn build_household(
    index: u64,
    config: &SynthConfig,
    names: &Names,
    region: &Region,
    period: Period,
    rng: &mut Rng,
) -> Household {
    let population = &config.population;
    let start = period.start;
    let end = period.end;
    let after = period.after();
    let archetype = draw_archetype(config, period, rng);
    let arrive = if archetype.is_none() && chance(rng, population.arrivals_share) {
        uniform_day(rng, start.plus(30), end.plus(-120))
    } else {
        start
    };
    let shape = match archetype {
        Some(Archetype::InfantPhysicalAbuse | Archetype::DomesticAbuse) => Shape::Couple,
        Some(Archetype::UndeclaredOffender | Archetype::PregnancyAfterRemoval) => Shape::LoneMother,
        _ => {
            let weights = [
                population.couple_weight,
                population.lone_mother_weight,
                population.lone_father_weight,
                population.multigenerational_weight,
            ];
            [
                Shape::Couple,
                Shape::LoneMother,
                Shape::LoneFather,
                Shape::Multigenerational,
            ]
            .get(weighted_index(rng, &weights).unwrap_or(0))
            .copied()
            .unwrap_or(Shape::Couple)
        }
    };
    let mut builder = Builder {
        index,
        names,
        region_key: region.region_key,
        persons: Vec::new(),
        stays: Vec::new(),
    };
    let family = names.surnames.draw(rng).to_owned();

    // Adults.
    let mother_age_years = match archetype {
        Some(Archetype::PregnancyAfterRemoval) => uniform_int(rng, 19, 27),
        Some(_) => uniform_int(rng, 24, 38),
        None => uniform_int(rng, 20, 46),
    };
    let mother_dob = arrive
        .plus_years(-mother_age_years)
        .plus(-uniform_int(rng, 0, 364));
    let mut mother = None;
    let mut father = None;
    if shape != Shape::LoneFather {
        let mother_family =
            if shape == Shape::Couple && chance(rng, population.mother_different_surname_share) {
                names.surnames.draw(rng).to_owned()
            } else {
                family.clone()
            };
        mother = builder.person(Sex::Female, mother_dob, &mother_family, false, rng);
    }
    if matches!(shape, Shape::Couple | Shape::LoneFather)
        || (shape == Shape::Multigenerational && chance(rng, 0.5))
    {
        let father_dob = mother_dob
            .plus_years(-uniform_int(rng, -2, 6))
            .plus(-uniform_int(rng, 0, 364));
        father = builder.person(Sex::Male, father_dob, &family, false, rng);
    }
    let parent_dob = mother
        .or(father)
        .and_then(|member| builder.persons.get(usize::from(member)))
        .map_or(mother_dob, |person| person.dob);

    // Children already born when the household enters the period.
    let child_family = |rng: &mut Rng, father_family: &str| -> String {
        if chance(rng, population.hyphenated_child_surname_share) {
            let other = names.surnames.draw(rng);
            if other != father_family && !father_family.contains('-') && !other.contains('-') {
                return format!("{father_family}-{other}");
            }
        }
        father_family.to_owned()
    };
    let n_at_start = weighted_index(rng, &population.children_at_start_weights).unwrap_or(1);
    let earliest_dob = parent_dob
        .plus_years(18)
        .max(arrive.plus_years(-17).plus(-300));
    let mut dobs: Vec<Day> = Vec::new();
    if archetype != Some(Archetype::PregnancyAfterRemoval) {
        for _ in 0..n_at_start {
            dobs.push(uniform_day(rng, earliest_dob, arrive.plus(-30)));
        }
    }
    dobs.sort();
    dobs.dedup_by(|later, earlier| later.0 - earlier.0 < 330);

    // Births in the period (mothers only).
    let mut plan: Option<TrajectoryPlan> = None;
    if mother.is_some() && shape != Shape::LoneFather {
        let mut day = arrive.max(dobs.last().map_or(arrive, |last| last.plus(450)));
        loop {
            let age = mother_dob.age_years_on(day);
            let rate = if age < 35 {
                population.births_per_woman_year_under_35
            } else {
                population.births_per_woman_year_35_and_over
            };
            let Some(wait) = poisson_days(rng, rate) else {
                break;
            };
            day = day.plus(wait);
            if day > end || mother_dob.age_years_on(day) > 45 || dobs.len() >= 8 {
                break;
            }
            dobs.push(day);
            if chance(rng, population.twins_share) {
                dobs.push(day);
            }
            day = day.plus(450);
        }
    }
    let period_days = period.days();
    let mut removal = None;
    match archetype {
        Some(Archetype::InfantPhysicalAbuse) => {
            let window = (
                start.plus(period_days / 5),
                end.plus(-trajectory_room_days(Archetype::InfantPhysicalAbuse)),
            );
            let birth = dobs
                .iter()
                .copied()
                .rfind(|dob| *dob >= window.0 && *dob <= window.1);
            let birth = birth.unwrap_or_else(|| uniform_day(rng, window.0, window.1));
            dobs.retain(|dob| (dob.0 - birth.0).abs() >= 330);
            dobs.push(birth);
            dobs.sort();
            plan = Some(TrajectoryPlan {
                archetype: Archetype::InfantPhysicalAbuse,
                child: 0,
                start: birth.plus(uniform_int(rng, 35, 110)),
                adult: father,
                earlier_child: None,
                removal: None,
            });
        }
        Some(Archetype::PregnancyAfterRemoval) => {
            let earlier_dob = uniform_day(rng, start.plus(-200), start.plus(period_days / 6));
            let removed_on = earlier_dob.max(start).plus(uniform_int(rng, 90, 300));
            let known_latest = end.plus(-240);
            let known = removed_on
                .plus(uniform_int(rng, 150, 420))
                .min(known_latest);
            let birth = known.plus(uniform_int(rng, 185, 215));
            dobs = vec![earlier_dob, birth];
            removal = Some(removed_on);
            plan = Some(TrajectoryPlan {
                archetype: Archetype::PregnancyAfterRemoval,
                child: 0,
                start: known,
                adult: None,
                earlier_child: None,
                removal: Some(removed_on),
            });
        }
        Some(archetype) => {
            let (age_min, age_max) = target_age_days(archetype);
            let latest = end.plus(-trajectory_room_days(archetype));
            let begin = uniform_day(rng, start.plus(60).max(arrive), latest);
            let suitable = dobs
                .iter()
                .any(|dob| (age_min..=age_max).contains(&(begin.0 - dob.0)));
            if !suitable {
                let dob = begin
                    .plus(-uniform_int(rng, age_min, age_max))
                    .max(parent_dob.plus_years(18));
                dobs.push(dob);
                dobs.sort();
            }
            plan = Some(TrajectoryPlan {
                archetype,
                child: 0,
                start: begin,
                adult: None,
                earlier_child: None,
                removal: None,
            });
        }
        None => {}
    }
    if dobs.is_empty() {
        // Every household in the region has a child; one born soon is the least.
        dobs.push(uniform_day(rng, arrive, end));
    }

    let father_family = father
        .and_then(|member| builder.persons.get(usize::from(member)))
        .map_or(family.clone(), |person| person.family.clone());
    let lone_family = if shape == Shape::LoneMother && chance(rng, 0.3) {
        names.surnames.draw(rng).to_owned()
    } else {
        family.clone()
    };
    let children_family = if shape == Shape::LoneMother {
        lone_family
    } else {
        child_family(rng, &father_family)
    };
    let mut children = Vec::new();
    for dob in &dobs {
        let Some(member) = builder.person(random_sex(rng), *dob, &children_family, true, rng)
        else {
            break;
        };
        children.push(member);
    }

    // Stays of the adults and children; partner changes.
    let mut partner_leaves: Option<Day> = None;
    let has_abuser = matches!(
        archetype,
        Some(Archetype::InfantPhysicalAbuse | Archetype::DomesticAbuse)
    );
    if let Some(member) = father {
        let leaves = if has_abuser || shape != Shape::Couple {
            None
        } else {
            poisson_days(rng, population.partner_leaves_per_couple_year)
                .map(|wait| arrive.plus(wait))
                .filter(|day| *day <= end)
        };
        partner_leaves = leaves;
        builder.stay(member, Role::Parent, arrive, leaves.unwrap_or(after));
    }
    if let Some(member) = mother {
        builder.stay(member, Role::Parent, arrive, after);
    }
    for (&member, dob) in children.iter().zip(&dobs) {
        let to = match (archetype, removal) {
            (Some(Archetype::PregnancyAfterRemoval), Some(removed_on))
                if *dob < removed_on && member == children[0] =>
            {
                removed_on
            }
            _ => after,
        };
        builder.stay(member, Role::Child, arrive.max(*dob), to);
    }
    if shape == Shape::Multigenerational {
        let grandparent_dob = parent_dob
            .plus_years(-uniform_int(rng, 20, 30))
            .plus(-uniform_int(rng, 0, 364));
        let grandparent_family = if chance(rng, 0.5) {
            family.clone()
        } else {
            names.surnames.draw(rng).to_owned()
        };
        if let Some(member) = builder.person(
            random_sex(rng),
            grandparent_dob,
            &grandparent_family,
            false,
            rng,
        ) {
            builder.stay(member, Role::Grandparent, arrive, after);
        }
    }
    if chance(rng, population.lodger_share) {
        let lodger_dob = arrive
            .plus_years(-uniform_int(rng, 19, 60))
            .plus(-uniform_int(rng, 0, 364));
        let lodger_family = names.surnames.draw(rng).to_owned();
        if let Some(member) =
            builder.person(random_sex(rng), lodger_dob, &lodger_family, false, rng)
        {
            let from = uniform_day(rng, arrive, end.plus(-60));
            builder.stay(
                member,
                Role::Lodger,
                from,
                from.plus(uniform_int(rng, 90, 700)).min(after),
            );
        }
    }
    // A lone parent (from the start, or after a partner left) may find a new partner.
    let lone_from = match (shape, partner_leaves) {
        (Shape::LoneMother, _) if archetype.is_none() => Some(arrive),
        (_, Some(left)) => Some(left),
        _ => None,
    };
    if let (Some(lone_from), Some(parent)) = (lone_from, mother) {
        if let Some(wait) = poisson_days(rng, population.new_partner_per_lone_parent_year) {
            let joins = lone_from.plus(wait.max(60));
            if joins <= end {
                let partner_dob = mother_dob
                    .plus_years(-uniform_int(rng, -3, 9))
                    .plus(-uniform_int(rng, 0, 364));
                let partner_family = names.surnames.draw(rng).to_owned();
                if let Some(member) =
                    builder.person(Sex::Male, partner_dob, &partner_family, false, rng)
                {
                    let role = if chance(rng, population.undeclared_partner_share) {
                        Role::UndeclaredPartner
                    } else {
                        Role::Partner
                    };
                    let leaves = poisson_days(rng, 0.2)
                        .map(|wait| joins.plus(wait.max(90)))
                        .unwrap_or(after)
                        .min(after);
                    builder.stay(member, role, joins, leaves);
                }
            }
        }
        let _ = parent;
    }

    // The adult of an undeclared-offender trajectory: convicted, released, then moves
    // in without telling anyone.
    if let Some(plan) = plan.as_mut() {
        plan.child = children
            .iter()
            .copied()
            .find(|member| {
                builder
                    .persons
                    .get(usize::from(*member))
                    .is_some_and(|person| match plan.archetype {
                        Archetype::InfantPhysicalAbuse => {
                            (plan.start.0 - person.dob.0) >= 35
                                && (plan.start.0 - person.dob.0) <= 110
                        }
                        Archetype::PregnancyAfterRemoval => person.dob > plan.start,
                        archetype => {
                            let (age_min, age_max) = target_age_days(archetype);
                            (age_min..=age_max).contains(&(plan.start.0 - person.dob.0))
                        }
                    })
            })
            .unwrap_or_else(|| children.last().copied().unwrap_or(0));
        match plan.archetype {
            Archetype::PregnancyAfterRemoval => {
                plan.earlier_child = children.first().copied();
            }
            Archetype::DomesticAbuse => plan.adult = father,
            Archetype::UndeclaredOffender => {
                let offender_dob = mother_dob
                    .plus_years(-uniform_int(rng, 0, 12))
                    .plus(-uniform_int(rng, 0, 364));
                let offender_family = names.surnames.draw(rng).to_owned();
                if let Some(member) =
                    builder.person(Sex::Male, offender_dob, &offender_family, false, rng)
                {
                    builder.stay(member, Role::UndeclaredPartner, plan.start, after);
                    plan.adult = Some(member);
                }
            }
            _ => {}
        }
    }

    // Where the household lives; moves within and out of the region.
    let mut residences = Vec::new();
    let neighbourhoods = region.neighbourhoods.len().max(1);
    let mut neighbourhood = uniform_int(rng, 0, neighbourhoods as i32 - 1) as usize;
    residences.push(Residence {
        from: arrive,
        neighbourhood,
        address: region.address(neighbourhood, rng),
    });
    let mut leave = after;
    let mut day = arrive;
    while let Some(wait) = poisson_days(rng, population.moves_per_household_year) {
        day = day.plus(wait.max(30));
        if day > end {
            break;
        }
        if archetype.is_none() && chance(rng, population.moves_out_of_region_share) {
            leave = day;
            break;
        }
        if chance(rng, 0.4) {
            neighbourhood = uniform_int(rng, 0, neighbourhoods as i32 - 1) as usize;
        }
        residences.push(Residence {
            from: day,
            neighbourhood,
            address: region.address(neighbourhood, rng),
        });
    }

    // Pregnancies known to the GP.
    let mut pregnancies = Vec::new();
    if let Some(mother_member) = mother {
        for (&member, dob) in children.iter().zip(&dobs) {
            let known = dob.plus(-uniform_int(rng, 190, 215));
            let twin = pregnancies
                .iter()
                .any(|pregnancy: &Pregnancy| pregnancy.expected.0.abs_diff(dob.0) < 40);
            if known >= arrive && known >= start && !twin {
                let expected = dob.plus(uniform_int(rng, -12, 12));
                pregnancies.push(Pregnancy {
                    mother: mother_member,
                    known,
                    expected,
                    child: Some(member),
                });
            }
        }
        if archetype.is_none()
            && mother_dob.age_years_on(arrive) < 40
            && chance(rng, population.pregnancy_without_birth_share)
        {
            let known = uniform_day(rng, arrive, end.plus(-30));
            pregnancies.push(Pregnancy {
                mother: mother_member,
                known,
                expected: known.plus(200),
                child: None,
            });
        }
    }
    let offenders = builder
        .persons
        .iter()
        .filter(|person| {
            !person.is_child && Some(person.member) != plan.as_ref().and_then(|plan| plan.adult)
        })
        .filter(|_| chance(rng, config.rates.adult_offender_share))
        .map(|person| person.member)
        .collect();
    Household {
        index,
        persons: builder.persons,
        stays: builder.stays,
        residences,
        arrive,
        leave,
        social_housing: chance(rng, config.region.social_housing_share),
        pregnancies,
        offenders,
        trajectory: plan,
    }
}
