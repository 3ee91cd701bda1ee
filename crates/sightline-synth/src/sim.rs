//! Ordinary life: the records agencies make about a household whatever else happens.

use crate::config::SynthConfig;
use crate::date::Day;
use crate::draft::{Draft, Finding, Style, Value, When};
use crate::model::{Household, Region, Role, Sex};
use crate::population::Period;
use crate::{Rng, chance, pick, poisson, uniform_day, uniform_int, weighted_index};

/// The most drafts one household may produce; more are dropped (a limit on everything).
pub const DRAFTS_PER_HOUSEHOLD_MAX: usize = 20_000;

/// Agencies serving one residence.
#[derive(Debug, Clone, Copy, Default)]
pub struct Services {
    pub gp: usize,
    pub hospital: usize,
    pub primary: usize,
    pub secondary: usize,
    pub nursery: usize,
}

/// Which school type a child attends in a school year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchoolType {
    Nursery,
    Primary,
    Secondary,
}

/// How a social care episode goes.
#[derive(Debug, Clone)]
pub struct Episode {
    pub referrer: String,
    /// Decision on the referral: `nfa`, `early_help`, `assessment`, `strategy_discussion`.
    pub decision: &'static str,
    pub concern: String,
    pub findings: Vec<Finding>,
    /// For a section 47 enquiry: whether it is substantiated.
    pub substantiated: bool,
    /// Whether an assessment leads to a child in need plan.
    pub child_in_need: bool,
    pub category: &'static str,
    /// Chance that a visit sees the child.
    pub seen_share: f64,
    pub plan_days: i32,
    /// A placement on the plan's start: `relative`, `foster_care`, ...
    pub placement: Option<&'static str>,
}

/// The drafts of one household and what the simulation needs to make them.
pub struct Sim<'a> {
    pub config: &'a SynthConfig,
    pub region: &'a Region,
    pub period: Period,
    pub household: &'a Household,
    pub drafts: Vec<Draft>,
    /// Child-years of exposure by age band (under 1, 1-4, 5-11, 12-17).
    pub exposure: [f64; 4],
    services: Vec<Services>,
}

/// Age band of a child: under 1, 1-4, 5-11, 12-17.
pub fn age_band(age_years: i32) -> usize {
    match age_years {
        ..=0 => 0,
        1..=4 => 1,
        5..=11 => 2,
        _ => 3,
    }
}

pub fn office_minute(rng: &mut Rng) -> i64 {
    i64::from(uniform_int(rng, 8 * 60 + 30, 17 * 60))
}

pub fn any_minute(rng: &mut Rng) -> i64 {
    i64::from(uniform_int(rng, 0, 1_439))
}

pub fn evening_minute(rng: &mut Rng) -> i64 {
    i64::from(uniform_int(rng, 17 * 60, 23 * 60 + 50))
}

const GP_ILLNESS: [&[&str]; 4] = [
    &[
        "Baby feeding poorly; weight checked; reassurance",
        "Nappy rash; barrier cream advised",
        "Cough and coryza; viral; safety-netting advice",
        "Oral thrush; treated",
        "Immunisations given",
        "Colic; advice to parent",
        "Reflux; feeding advice",
    ],
    &[
        "Fever for two days; viral illness; safety-netting advice",
        "Ear infection; antibiotics",
        "Eczema flare; emollients",
        "Chickenpox; supportive care",
        "Constipation; advice and laxative",
        "Conjunctivitis; drops",
        "Wheeze with cold; inhaler trial",
        "Hand, foot and mouth disease",
    ],
    &[
        "Tonsillitis; antibiotics",
        "Asthma review",
        "Abdominal pain; settled; advice",
        "Headaches; eye test advised",
        "Impetigo; cream",
        "Cough for three weeks; examined; reassured",
        "Bedwetting; advice",
    ],
    &[
        "Acne; topical treatment",
        "Sports injury to ankle; sprain advice",
        "Low mood; self-help advice and review",
        "Asthma review",
        "Sore throat; viral",
        "Contraception advice",
        "Headaches; reviewed",
    ],
];
const ED_ILLNESS: &[&str] = &[
    "High fever; observed; discharged with advice",
    "Vomiting and diarrhoea; oral fluids challenge passed",
    "Breathing difficulty; wheeze treated",
    "Abdominal pain; observed; discharged",
    "Rash; not meningococcal; discharged",
    "Allergic reaction; antihistamine",
    "Febrile convulsion; observed",
];

/// Accidental injuries by age band: type, site, mechanism given (consistent).
const ACCIDENTS: [&[(&str, &str, &str)]; 4] = [
    &[
        (
            "head_injury",
            "head",
            "Rolled off the bed onto carpet; alert and feeding",
        ),
        (
            "bruise",
            "face",
            "Pulled to stand and fell against the coffee table",
        ),
        ("laceration", "mouth", "Fell while cruising; cut lip"),
    ],
    &[
        (
            "laceration",
            "face",
            "Fell against the table edge; forehead cut glued",
        ),
        (
            "head_injury",
            "head",
            "Fell from the sofa; alert, no loss of consciousness",
        ),
        (
            "burn",
            "hand",
            "Touched the hot oven door; superficial burn",
        ),
        ("bruise", "leg", "Fell at the park; bruised shin"),
        (
            "fracture",
            "arm",
            "Fell from the climbing frame; forearm fracture",
        ),
        ("other", "other", "Bead in the nose; removed"),
    ],
    &[
        ("fracture", "arm", "Fell off the trampoline; wrist fracture"),
        ("laceration", "leg", "Cut knee on glass at the park"),
        (
            "head_injury",
            "head",
            "Clash of heads playing football; alert",
        ),
        ("other", "hand", "Finger caught in a door"),
        ("bruise", "leg", "Fell off a bike; bruised thigh"),
    ],
    &[
        ("other", "leg", "Twisted ankle playing football; sprain"),
        (
            "fracture",
            "hand",
            "Punched a wall in frustration; boxer's fracture",
        ),
        ("laceration", "hand", "Cut hand on a knife while cooking"),
        (
            "head_injury",
            "head",
            "Fell from a skateboard; no helmet; alert",
        ),
        ("other", "arm", "Fell at rugby; shoulder sprain"),
    ],
];
const SCHOOL_CONCERNS: &[&str] = &[
    "Friendship difficulties; parent informed",
    "Upset in class; talked with the pastoral lead",
    "Late on several mornings; parent contacted",
    "Behaviour incident at lunchtime; parent informed",
    "Child says they are worried about a grandparent's illness",
];
const REFERRAL_CONCERNS: &[&str] = &[
    "Concern about home conditions raised",
    "Parent asking for help with the child's behaviour",
    "Child reported arguments at home",
    "Concern about the child's attendance and wellbeing",
    "Parent struggling with own health; asking for support",
    "Anonymous caller worried about the children being left alone",
];

impl<'a> Sim<'a> {
    pub fn new(
        config: &'a SynthConfig,
        region: &'a Region,
        period: Period,
        household: &'a Household,
    ) -> Sim<'a> {
        let services = household
            .residences
            .iter()
            .map(|residence| {
                region
                    .neighbourhoods
                    .get(residence.neighbourhood)
                    .map_or_else(Services::default, |place| Services {
                        gp: place.gp,
                        hospital: place.hospital,
                        primary: place.primary,
                        secondary: place.secondary,
                        nursery: place.nursery,
                    })
            })
            .collect();
        Sim {
            config,
            region,
            period,
            household,
            drafts: Vec::new(),
            exposure: [0.0; 4],
            services,
        }
    }

    pub fn services(&self, day: Day) -> Services {
        self.services
            .get(self.household.residence_index(day))
            .copied()
            .unwrap_or_default()
    }

    pub fn agency_id(&self, agency: usize) -> String {
        self.region
            .agency(agency)
            .map_or_else(String::new, |agency| agency.id.clone())
    }

    /// Keeps a draft if it is not after the period's end and the household is not full.
    pub fn push(&mut self, draft: Draft) {
        if draft.when.day() > self.period.end || self.drafts.len() >= DRAFTS_PER_HOUSEHOLD_MAX {
            return;
        }
        self.drafts.push(draft);
    }

    /// The adult who brings the child: a parent present, else any declared adult.
    pub fn carer(&self, day: Day) -> Option<(u8, &'static str)> {
        if let Some(parent) = self.household.main_carer(day) {
            return Some((parent, "parent"));
        }
        self.household
            .declared_adults(day)
            .first()
            .map(|member| (*member, "carer"))
    }

    /// A draft about a child, with the adult who brought them.
    pub fn child_draft(
        &self,
        agency: usize,
        kind: &'static str,
        when: When,
        delay: i64,
        child: u8,
    ) -> Draft {
        let mut draft = Draft::new(agency, kind, when, delay);
        draft.person(child, "subject");
        if let Some((adult, role)) = self.carer(when.day()) {
            let adult_index = draft.person(adult, role);
            if role == "parent" {
                draft.relationships.push((adult_index, 0, "parent_of"));
            } else {
                draft.relationships.push((adult_index, 0, "carer_of"));
            }
        }
        draft
    }

    /// All ordinary records of the household.
    pub fn ordinary_life(&mut self, rng: &mut Rng) {
        let household = self.household;
        for person in &household.persons {
            if person.is_child {
                self.child_life(person.member, rng);
            }
        }
        self.household_events(rng);
        for person in &household.persons {
            if !person.is_child {
                self.adult_life(person.member, rng);
            }
        }
    }

    fn child_life(&mut self, child: u8, rng: &mut Rng) {
        let household = self.household;
        let Some(person) = household.person(child) else {
            return;
        };
        let rates = &self.config.rates;
        let begin = household.arrive.max(person.dob).max(self.period.start);
        let end = household
            .leave
            .min(self.period.after())
            .min(person.dob.plus_years(18));
        let mut window_start = begin;
        while window_start < end {
            let (year, month, _) = window_start.ymd();
            let next_month = if month == 12 {
                Day::from_ymd(year + 1, 1, 1)
            } else {
                Day::from_ymd(year, month + 1, 1)
            };
            let window_end = next_month.min(end);
            let years = f64::from(window_end.0 - window_start.0) / 365.25;
            let age = person.age_years(window_start);
            let band = age_band(age);
            if household.present(child, window_start) {
                if let Some(slot) = self.exposure.get_mut(band) {
                    *slot += years;
                }
                let last = window_end.plus(-1);
                let events = |rate: f64, rng: &mut Rng| -> Vec<Day> {
                    (0..poisson(rng, rate * years))
                        .map(|_| uniform_day(rng, window_start, last))
                        .filter(|day| household.present(child, *day))
                        .collect()
                };
                for day in events(
                    rates
                        .gp_consultations_per_child_year
                        .get(band)
                        .copied()
                        .unwrap_or(0.0),
                    rng,
                ) {
                    self.gp_consultation(child, day, band, rng);
                }
                for day in events(
                    rates
                        .gp_injuries_per_child_year
                        .get(band)
                        .copied()
                        .unwrap_or(0.0),
                    rng,
                ) {
                    self.gp_injury(child, day, band, rng);
                }
                for day in events(
                    rates
                        .ed_attendances_per_child_year
                        .get(band)
                        .copied()
                        .unwrap_or(0.0),
                    rng,
                ) {
                    self.ed_attendance(child, day, band, rng);
                }
                for day in events(rates.gp_appointment_missed_per_child_year, rng) {
                    let gp = self.services(day).gp;
                    let draft = self
                        .child_draft(
                            gp,
                            "health.appointment_missed",
                            When::at(day, office_minute(rng)),
                            i64::from(uniform_int(rng, 30, 600)),
                            child,
                        )
                        .narrative("Not brought to booked appointment; letter sent to parent");
                    self.push(draft);
                }
                for day in events(rates.social_care_referrals_per_child_year, rng) {
                    let episode = self.ordinary_episode(day, rng);
                    self.social_care_episode(child, day, &episode, rng);
                }
                if (4..=15).contains(&age) {
                    for day in events(rates.school_concerns_per_pupil_year, rng) {
                        if let Some(school) = self.school_for(child, day) {
                            let text = pick(rng, SCHOOL_CONCERNS)
                                .copied()
                                .unwrap_or("Concern noted");
                            let draft = self
                                .child_draft(
                                    school,
                                    "education.concern",
                                    When::at(day, office_minute(rng)),
                                    i64::from(uniform_int(rng, 10, 2_000)),
                                    child,
                                )
                                .narrative(text);
                            self.push(draft);
                        }
                    }
                }
            }
            window_start = window_end;
        }
        if person.dob >= household.arrive
            && person.dob >= self.period.start
            && person.dob < household.leave
        {
            self.birth(child, rng);
        }
        self.health_visiting(child, rng);
        self.school_years(child, rng);
    }

    fn gp_consultation(&mut self, child: u8, day: Day, band: usize, rng: &mut Rng) {
        let gp = self.services(day).gp;
        let list = GP_ILLNESS.get(band).copied().unwrap_or(&[]);
        let text = pick(rng, list).copied().unwrap_or("Seen and examined");
        let draft = self
            .child_draft(
                gp,
                "health.gp_consultation",
                When::at(day, office_minute(rng)),
                i64::from(uniform_int(rng, 5, 240)),
                child,
            )
            .narrative(text);
        self.push(draft);
    }

    /// An accident as its own record, `consistent` with the child's development.
    fn accident(
        &self,
        child: u8,
        day: Day,
        band: usize,
        rng: &mut Rng,
    ) -> Option<(Finding, &'static str)> {
        let person = self.household.person(child)?;
        if day < person.mobile_from {
            // Children who do not yet move about rarely injure themselves.
            return None;
        }
        let list = ACCIDENTS.get(band).copied().unwrap_or(&[]);
        let (kind, site, mechanism) = pick(rng, list).copied()?;
        Some((Finding::injury(kind, site, 1, "consistent"), mechanism))
    }

    fn gp_injury(&mut self, child: u8, day: Day, band: usize, rng: &mut Rng) {
        let Some((finding, mechanism)) = self.accident(child, day, band, rng) else {
            return;
        };
        let gp = self.services(day).gp;
        let draft = self
            .child_draft(
                gp,
                "health.gp_consultation",
                When::at(day, office_minute(rng)),
                i64::from(uniform_int(rng, 5, 240)),
                child,
            )
            .finding(finding)
            .narrative(format!("{mechanism}; examined; advice given"));
        self.push(draft);
    }

    fn ed_attendance(&mut self, child: u8, day: Day, band: usize, rng: &mut Rng) {
        let local = self.services(day).hospital;
        let hospital = if chance(rng, 0.12) {
            pick(rng, &self.region.hospitals).copied().unwrap_or(local)
        } else {
            local
        };
        let injury_share = self
            .config
            .rates
            .ed_injury_share
            .get(band)
            .copied()
            .unwrap_or(0.0);
        let injury = if chance(rng, injury_share) {
            self.accident(child, day, band, rng)
        } else {
            None
        };
        let admitted = chance(rng, self.config.rates.ed_admitted_share);
        let minute = any_minute(rng);
        let mut draft = self
            .child_draft(
                hospital,
                "health.ed_attendance",
                When::at(day, minute),
                i64::from(uniform_int(rng, 20, 360)),
                child,
            )
            .outcome("admitted", Value::Bool(admitted));
        draft = match injury {
            Some((finding, mechanism)) => draft
                .finding(finding)
                .narrative(format!("{mechanism}; treated and discharged")),
            None => draft.narrative(
                pick(rng, ED_ILLNESS)
                    .copied()
                    .unwrap_or("Seen and discharged"),
            ),
        };
        self.push(draft);
        if admitted {
            let admission = self
                .child_draft(
                    hospital,
                    "health.admission",
                    When::at(day, (minute + 180).min(1_439)),
                    i64::from(uniform_int(rng, 30, 600)),
                    child,
                )
                .narrative("Admitted to the children's ward for observation");
            self.push(admission);
        }
    }

    fn birth(&mut self, child: u8, rng: &mut Rng) {
        let household = self.household;
        let Some(person) = household.person(child) else {
            return;
        };
        let day = person.dob;
        let services = self.services(day);
        let mut draft = Draft::new(
            services.hospital,
            "health.birth",
            When::at(day, any_minute(rng)),
            i64::from(uniform_int(rng, 30, 1_440)),
        );
        let named = chance(rng, 0.6);
        draft.person_styled(
            child,
            "subject",
            if named { Style::Full } else { Style::Newborn },
        );
        if let Some(mother) = household.main_carer(day) {
            let mother_index = draft.person(mother, "parent");
            draft.relationships.push((mother_index, 0, "parent_of"));
        }
        draft.narrative = Some(format!("Live birth, {} g", uniform_int(rng, 2_600, 4_300)));
        self.push(draft);
        // Registration with the family's GP a few weeks later.
        let registered = day.plus(uniform_int(rng, 10, 42));
        if household.present(child, registered) {
            let gp = self.services(registered).gp;
            let draft = self
                .child_draft(
                    gp,
                    "person.registered",
                    When::Date(registered),
                    i64::from(uniform_int(rng, 60, 4_000)),
                    child,
                )
                .narrative("New patient registration: newborn");
            self.push(draft);
        }
    }

    /// The health visiting schedule: new birth visit (10-14 days), 6-8 weeks, 1 year
    /// (9-12 months), 2-2.5 years.
    fn health_visiting(&mut self, child: u8, rng: &mut Rng) {
        let household = self.household;
        let Some(person) = household.person(child) else {
            return;
        };
        let hv = self.region.health_visiting;
        let contacts = [
            (
                10,
                14,
                "New birth visit; feeding well; safe sleep discussed",
            ),
            (
                42,
                56,
                "6-8 week review; growth on centile; development as expected",
            ),
            (
                270,
                365,
                "1 year review; development as expected; immunisations up to date",
            ),
            (730, 912, "2-2.5 year review; speech and play as expected"),
        ];
        let missed_share = self.config.rates.health_visitor_appointment_missed_share;
        for (from_days, to_days, text) in contacts {
            let day = person.dob.plus(uniform_int(rng, from_days, to_days));
            if day < self.period.start || !household.present(child, day) {
                continue;
            }
            let when = When::at(day, office_minute(rng));
            let delay = i64::from(uniform_int(rng, 30, 4_000));
            if chance(rng, missed_share) {
                let draft = self
                    .child_draft(hv, "health.appointment_missed", when, delay, child)
                    .narrative("Family not at home for the booked review; new appointment offered");
                self.push(draft);
                let again = day.plus(uniform_int(rng, 7, 21));
                if household.present(child, again) {
                    let draft = self
                        .child_draft(
                            hv,
                            "health.health_visitor_contact",
                            When::at(again, office_minute(rng)),
                            delay,
                            child,
                        )
                        .outcome("child_seen", Value::Bool(true))
                        .narrative(text);
                    self.push(draft);
                }
                continue;
            }
            let draft = self
                .child_draft(hv, "health.health_visitor_contact", when, delay, child)
                .outcome("child_seen", Value::Bool(true))
                .narrative(text);
            self.push(draft);
        }
    }

    /// The school type a child is in on `day` by English school years (age on
    /// 1 September): nursery at 3, reception to year 6 from 4, secondary 11 to 15.
    pub fn school_type(&self, child: u8, day: Day) -> Option<SchoolType> {
        let person = self.household.person(child)?;
        let (year, month, _) = day.ymd();
        let school_year = if month >= 9 { year } else { year - 1 };
        let age = person.dob.age_years_on(Day::from_ymd(school_year, 9, 1));
        match age {
            3 => Some(SchoolType::Nursery),
            4..=10 => Some(SchoolType::Primary),
            11..=15 => Some(SchoolType::Secondary),
            _ => None,
        }
    }

    /// The school a child attends on `day`, if any (nursery only for those who go).
    pub fn school_for(&self, child: u8, day: Day) -> Option<usize> {
        let services = self.services(day);
        match self.school_type(child, day)? {
            SchoolType::Nursery => {
                let key = self.household.person(child).map_or(0, |person| person.key);
                crate::names::keyed_chance(
                    key ^ 0x6e75_7273,
                    self.config.rates.nursery_attendance_share,
                )
                .then_some(services.nursery)
            }
            SchoolType::Primary => Some(services.primary),
            SchoolType::Secondary => Some(services.secondary),
        }
    }

    fn school_years(&mut self, child: u8, rng: &mut Rng) {
        let household = self.household;
        let Some(person) = household.person(child) else {
            return;
        };
        let mut current: Option<usize> = None;
        let (first_year, _, _) = self.period.start.ymd();
        let (last_year, _, _) = self.period.end.ymd();
        for school_year in (first_year - 1)..=last_year {
            let term_start = Day::from_ymd(school_year, 9, 1);
            let term_end = Day::from_ymd(school_year + 1, 7, 20);
            let from = term_start.max(household.arrive).max(self.period.start);
            let to = term_end.min(household.leave).min(self.period.after());
            if from >= to {
                continue;
            }
            let Some(first_day) = (0..(to.0 - from.0))
                .map(|offset| from.plus(offset))
                .find(|day| household.present(child, *day))
            else {
                continue;
            };
            let Some(school) = self.school_for(child, first_day) else {
                current = None;
                continue;
            };
            if current != Some(school) && (first_day > self.period.start || first_day == term_start)
            {
                let mut draft = self
                    .child_draft(
                        school,
                        "person.registered",
                        When::Date(first_day),
                        i64::from(uniform_int(rng, 60, 8_000)),
                        child,
                    )
                    .narrative("Admitted to roll");
                if let Some(other) = household
                    .declared_adults(first_day)
                    .into_iter()
                    .find(|adult| Some(*adult) != household.main_carer(first_day))
                {
                    draft.person(other, "parent");
                }
                self.push(draft);
            }
            current = Some(school);
            let age = person.dob.age_years_on(term_start);
            if (5..=15).contains(&age) && chance(rng, self.config.rates.persistent_absence_share) {
                let day = uniform_day(
                    rng,
                    Day::from_ymd(school_year, 11, 1),
                    Day::from_ymd(school_year + 1, 6, 30),
                );
                if household.present(child, day) && day >= self.period.start {
                    let percent = uniform_int(rng, 10, 30);
                    let draft = self
                        .child_draft(
                            school,
                            "education.absence",
                            When::Date(day),
                            i64::from(uniform_int(rng, 60, 4_000)),
                            child,
                        )
                        .narrative(format!(
                            "Persistent absence: attendance {}% this term",
                            100 - percent
                        ));
                    self.push(draft);
                }
            }
        }
    }

    /// Moves, arrivals, police call-outs and domestic incidents, housing.
    fn household_events(&mut self, rng: &mut Rng) {
        let household = self.household;
        let rates = &self.config.rates;
        // New arrivals register with a GP.
        if household.arrive > self.period.start {
            let gp = self.services(household.arrive).gp;
            let day = household.arrive.plus(uniform_int(rng, 3, 40));
            for member in self.declared_members(day) {
                let mut draft = Draft::new(
                    gp,
                    "person.registered",
                    When::Date(day),
                    i64::from(uniform_int(rng, 60, 4_000)),
                );
                draft.person(member, "subject");
                draft.narrative = Some("New patient registration: moved into the area".to_owned());
                self.push(draft);
            }
        }
        // Moves within the region.
        for (index, residence) in household.residences.iter().enumerate().skip(1) {
            let day = residence.from;
            let before = household
                .residences
                .get(index - 1)
                .map_or(residence.neighbourhood, |previous| previous.neighbourhood);
            let gp_before = self.services(day.plus(-1)).gp;
            let gp_after = self.services(day).gp;
            let _ = before;
            for member in self.declared_members(day) {
                let late = uniform_int(rng, 0, 120);
                let (kind, text) = if gp_before == gp_after {
                    ("address.recorded", "Change of address")
                } else {
                    (
                        "person.registered",
                        "New patient registration: moved within the area",
                    )
                };
                let mut draft = Draft::new(
                    gp_after,
                    kind,
                    When::Date(day.plus(late)),
                    i64::from(uniform_int(rng, 60, 4_000)),
                );
                draft.person(member, "subject");
                draft.narrative = Some(text.to_owned());
                self.push(draft);
            }
            if household.social_housing {
                self.occupancy(day, "Tenancy start at a new address", rng);
            }
        }
        if household.social_housing {
            self.occupancy(household.arrive, "Tenancy occupants recorded", rng);
            for stay in &household.stays {
                if stay.role == Role::UndeclaredPartner || stay.from <= household.arrive {
                    continue;
                }
                let text = match stay.role {
                    Role::Child => "New occupant: birth",
                    Role::Lodger => "Lodger added to the tenancy",
                    _ => "New occupant added to the tenancy",
                };
                self.occupancy(stay.from, text, rng);
            }
        }
        // Police: other call-outs and domestic incidents.
        let begin = household.arrive.max(self.period.start);
        let end = household.leave.min(self.period.after());
        let years = f64::from(end.0 - begin.0) / 365.25;
        for _ in 0..poisson(rng, rates.police_call_outs_per_household_year * years) {
            let day = uniform_day(rng, begin, end.plus(-1));
            self.police_call_out(day, rng);
        }
        for _ in 0..poisson(
            rng,
            rates.police_domestic_incidents_per_household_year * years,
        ) {
            let day = uniform_day(rng, begin, end.plus(-1));
            let adults = household.declared_adults(day);
            let (Some(victim), Some(other)) = (adults.first().copied(), adults.get(1).copied())
            else {
                continue;
            };
            let risk = if chance(rng, 0.8) {
                "standard"
            } else {
                "medium"
            };
            let draft = self.domestic_incident(
                day,
                victim,
                other,
                risk,
                "Verbal argument between partners; no injuries; advice given",
                rng,
            );
            self.push(draft);
            if chance(rng, 0.5)
                && let Some(child) = household.children_present(day).first().copied()
            {
                let police_id = self.agency_id(self.region.police);
                let episode = Episode {
                    referrer: police_id,
                    decision: if chance(rng, 0.6) {
                        "nfa"
                    } else {
                        "early_help"
                    },
                    concern:
                        "Police notification: domestic incident with children in the household"
                            .to_owned(),
                    ..self.ordinary_episode(day, rng)
                };
                self.social_care_episode(child, day.plus(uniform_int(rng, 1, 5)), &episode, rng);
            }
        }
    }

    /// Declared members present on `day`.
    pub fn declared_members(&self, day: Day) -> Vec<u8> {
        self.household
            .persons
            .iter()
            .filter(|person| self.household.declared_present(person.member, day))
            .map(|person| person.member)
            .collect()
    }

    fn occupancy(&mut self, day: Day, text: &str, rng: &mut Rng) {
        let housing = self.region.housing;
        let members = self.declared_members(day);
        let Some(first) = members.first().copied() else {
            return;
        };
        // Housing often knows only the month an occupant joined.
        let when = if chance(rng, 0.3) {
            When::Month(day)
        } else {
            When::Date(day)
        };
        let mut draft = Draft::new(
            housing,
            "housing.occupancy",
            when,
            i64::from(uniform_int(rng, 600, 20_000)),
        );
        let lead = self.household.main_carer(day).unwrap_or(first);
        draft.person(lead, "subject");
        for member in members {
            let index = draft.person(member, "household_member");
            if index != 0 {
                draft.relationships.push((index, 0, "lives_with"));
            }
        }
        draft.narrative = Some(text.to_owned());
        self.push(draft);
    }

    fn police_call_out(&mut self, day: Day, rng: &mut Rng) {
        let household = self.household;
        let adults = household.declared_adults(day);
        let Some(adult) = pick(rng, &adults).copied() else {
            return;
        };
        let children = household.children_present(day);
        let teenager = children.iter().copied().find(|child| {
            household
                .person(*child)
                .is_some_and(|person| person.age_years(day) >= 13)
        });
        let mut draft = Draft::new(
            self.region.police,
            "police.call_out",
            When::at(day, evening_minute(rng)),
            i64::from(uniform_int(rng, 30, 1_440)),
        );
        match teenager {
            Some(child) if chance(rng, 0.4) => {
                draft.person(child, "subject");
                draft.person(adult, "parent");
                draft.narrative =
                    Some("Reported missing by parent; returned home the same night".to_owned());
            }
            _ => {
                draft.person(adult, "subject");
                let texts = [
                    "Noise complaint from neighbour; words of advice",
                    "Report of a suspicious vehicle; no offences",
                    "Neighbour dispute over parking; resolved",
                    "Concern for welfare call; occupant safe and well",
                ];
                draft.narrative = pick(rng, &texts).map(|text| (*text).to_owned());
            }
        }
        self.push(draft);
    }

    /// A domestic incident with the children present recorded as in the example of the
    /// interchange spec: the child as subject, the parents named.
    pub fn domestic_incident(
        &self,
        day: Day,
        victim: u8,
        perpetrator: u8,
        risk: &'static str,
        text: &str,
        rng: &mut Rng,
    ) -> Draft {
        let household = self.household;
        let mut draft = Draft::new(
            self.region.police,
            "police.domestic_incident",
            When::at(day, evening_minute(rng)),
            i64::from(uniform_int(rng, 30, 1_440)),
        );
        let children = household.children_present(day);
        for child in &children {
            draft.person(*child, "subject");
        }
        let victim_index = draft.person(victim, "parent");
        let perpetrator_role = if household
            .person(perpetrator)
            .is_some_and(|person| person.is_child)
        {
            "household_member"
        } else {
            "alleged_perpetrator"
        };
        let perpetrator_index = draft.person(perpetrator, perpetrator_role);
        if children.is_empty()
            && let Some(first) = draft.persons.get_mut(victim_index)
        {
            first.role = "subject";
        }
        draft
            .relationships
            .push((perpetrator_index, victim_index, "partner_of"));
        for child_index in 0..children.len() {
            draft
                .relationships
                .push((victim_index, child_index, "parent_of"));
        }
        draft.findings.push(
            Finding::new("domestic_abuse")
                .with("risk", Value::Text(risk))
                .about(victim_index),
        );
        draft.narrative = Some(text.to_owned());
        draft
    }

    fn adult_life(&mut self, adult: u8, rng: &mut Rng) {
        let household = self.household;
        let Some(person) = household.person(adult) else {
            return;
        };
        let begin = household.arrive.max(self.period.start);
        let end = household.leave.min(self.period.after());
        let years = f64::from(end.0 - begin.0) / 365.25;
        for _ in 0..poisson(
            rng,
            self.config.rates.adult_gp_consultations_per_year * years,
        ) {
            let day = uniform_day(rng, begin, end.plus(-1));
            if !household.declared_present(adult, day) {
                continue;
            }
            let texts = [
                "Back pain; advice and analgesia",
                "Chest infection; antibiotics",
                "Medication review",
                "Blood pressure check",
                "Skin rash; cream",
            ];
            let gp = self.services(day).gp;
            let mut draft = Draft::new(
                gp,
                "health.gp_consultation",
                When::at(day, office_minute(rng)),
                i64::from(uniform_int(rng, 5, 240)),
            );
            draft.person(adult, "subject");
            draft.narrative = pick(rng, &texts).map(|text| (*text).to_owned());
            self.push(draft);
        }
        for pregnancy in household
            .pregnancies
            .iter()
            .filter(|pregnancy| pregnancy.mother == adult)
        {
            if !household.present(adult, pregnancy.known) || pregnancy.known < self.period.start {
                continue;
            }
            let gp = self.services(pregnancy.known).gp;
            let mut draft = Draft::new(
                gp,
                "health.pregnancy",
                When::Date(pregnancy.known),
                i64::from(uniform_int(rng, 60, 2_000)),
            )
            .outcome("expected_date", Value::Owned(pregnancy.expected.format()));
            draft.person(adult, "subject");
            draft.narrative = Some("Pregnancy confirmed; booked with midwifery".to_owned());
            self.push(draft);
            if let Some(child) = pregnancy.child {
                let born = household
                    .person(child)
                    .map_or(pregnancy.expected, |baby| baby.dob);
                if chance(rng, self.config.rates.postnatal_mental_health_share) {
                    let day = born.plus(uniform_int(rng, 40, 120));
                    if household.present(adult, day) {
                        let gp = self.services(day).gp;
                        let mut draft = Draft::new(
                            gp,
                            "health.gp_consultation",
                            When::at(day, office_minute(rng)),
                            i64::from(uniform_int(rng, 5, 240)),
                        )
                        .finding(Finding::new("parent_mental_health"));
                        draft.person(adult, "subject");
                        draft.narrative = Some("Low mood since the birth; postnatal depression; talking therapy referral".to_owned());
                        self.push(draft);
                    }
                }
            }
        }
        if household.offenders.contains(&adult) {
            let day = uniform_day(rng, begin, end.plus(-1));
            if household.declared_present(adult, day) {
                self.ordinary_offence(adult, day, person.sex, rng);
            }
        }
    }

    fn ordinary_offence(&mut self, adult: u8, day: Day, sex: Sex, rng: &mut Rng) {
        let category = pick(rng, &["violence", "drugs", "other"])
            .copied()
            .unwrap_or("other");
        let _ = sex;
        let mut arrest = Draft::new(
            self.region.police,
            "police.arrest",
            When::at(day, any_minute(rng)),
            i64::from(uniform_int(rng, 30, 600)),
        )
        .outcome("offence_category", Value::Text(category))
        .finding(Finding::new("offence").with("category", Value::Text(category)));
        arrest.person(adult, "subject");
        arrest.narrative = Some("Arrested and interviewed; charged".to_owned());
        self.push(arrest);
        let convicted = day.plus(uniform_int(rng, 40, 160));
        let mut conviction = Draft::new(
            self.region.police,
            "justice.conviction",
            When::Date(convicted),
            i64::from(uniform_int(rng, 600, 10_000)),
        )
        .outcome("offence_category", Value::Text(category))
        .outcome("victim_was_child", Value::Bool(false))
        .finding(Finding::new("offence").with("category", Value::Text(category)));
        conviction.person(adult, "subject");
        conviction.narrative = Some(
            "Convicted at the magistrates' court; community order with supervision".to_owned(),
        );
        self.push(conviction);
        let mut contact_day = convicted.plus(uniform_int(rng, 7, 20));
        for _ in 0..12 {
            if contact_day > self.period.end || !self.household.present(adult, contact_day) {
                break;
            }
            let mut contact = Draft::new(
                self.region.probation,
                "probation.contact",
                When::at(contact_day, office_minute(rng)),
                i64::from(uniform_int(rng, 10, 1_440)),
            );
            contact.person(adult, "subject");
            contact.narrative = Some(if chance(rng, 0.9) {
                "Supervision appointment attended".to_owned()
            } else {
                "Did not attend supervision; warning letter".to_owned()
            });
            self.push(contact);
            contact_day = contact_day.plus(uniform_int(rng, 25, 35));
        }
    }

    /// An ordinary referral: who made it and what was decided (DfE shares of sources).
    pub fn ordinary_episode(&self, day: Day, rng: &mut Rng) -> Episode {
        let services = self.services(day);
        let sources = [0.28, 0.21, 0.14, 0.07, 0.3];
        let referrer = match weighted_index(rng, &sources).unwrap_or(4) {
            0 => self.agency_id(self.region.police),
            1 => self.agency_id(services.primary),
            2 => self.agency_id(if chance(rng, 0.5) {
                services.gp
            } else {
                services.hospital
            }),
            3 => "individual".to_owned(),
            _ => pick(rng, &["anonymous", "local authority services", "other"])
                .map_or_else(|| "other".to_owned(), |text| (*text).to_owned()),
        };
        let weights = self.config.rates.referral_decision_weights;
        let decision = ["nfa", "early_help", "assessment", "strategy_discussion"]
            .get(weighted_index(rng, &weights).unwrap_or(0))
            .copied()
            .unwrap_or("nfa");
        Episode {
            referrer,
            decision,
            concern: pick(rng, REFERRAL_CONCERNS)
                .map_or_else(String::new, |text| (*text).to_owned()),
            findings: Vec::new(),
            substantiated: chance(rng, self.config.rates.section47_substantiated_share),
            child_in_need: chance(rng, self.config.rates.assessment_to_child_in_need_share),
            category: pick(
                rng,
                &["neglect", "emotional_abuse", "physical_abuse", "multiple"],
            )
            .copied()
            .unwrap_or("neglect"),
            seen_share: 0.93,
            plan_days: uniform_int(rng, 150, 400),
            placement: None,
        }
    }

    /// A social care episode from referral to closure, following Working Together
    /// 2023's timescales. Returns the day the plan started, if one did.
    pub fn social_care_episode(
        &mut self,
        child: u8,
        day: Day,
        episode: &Episode,
        rng: &mut Rng,
    ) -> Option<Day> {
        let sc = self.region.social_care;
        let mut referral = self
            .child_draft(
                sc,
                "social_care.referral",
                When::at(day, office_minute(rng)),
                i64::from(uniform_int(rng, 10, 900)),
                child,
            )
            .outcome("referrer_agency", Value::Owned(episode.referrer.clone()))
            .outcome("decision", Value::Text(episode.decision))
            .narrative(episode.concern.clone());
        referral.findings.extend(episode.findings.iter().cloned());
        self.push(referral);
        match episode.decision {
            "assessment" => {
                let started = day.plus_working_days(uniform_int(rng, 1, 5) as u32);
                let started_draft = self
                    .child_draft(
                        sc,
                        "social_care.assessment",
                        When::Date(started),
                        i64::from(uniform_int(rng, 30, 1_440)),
                        child,
                    )
                    .outcome("status", Value::Text("started"));
                self.push(started_draft);
                let completed = day.plus_working_days(uniform_int(rng, 20, 45) as u32);
                let result = if episode.child_in_need {
                    "Child in need plan"
                } else {
                    "No further action; universal services"
                };
                let completed_draft = self
                    .child_draft(
                        sc,
                        "social_care.assessment",
                        When::Date(completed),
                        i64::from(uniform_int(rng, 30, 2_880)),
                        child,
                    )
                    .outcome("status", Value::Text("completed"))
                    .outcome("outcome", Value::Text(result));
                self.push(completed_draft);
                if episode.child_in_need {
                    self.plan(child, completed, "child_in_need", episode, 20, rng);
                    return Some(completed);
                }
                self.close(child, completed.plus(uniform_int(rng, 1, 10)), rng);
                None
            }
            "strategy_discussion" => {
                let held = day.plus_working_days(uniform_int(rng, 0, 2) as u32);
                let strategy = self
                    .child_draft(
                        sc,
                        "social_care.strategy_discussion",
                        When::at(held, office_minute(rng)),
                        i64::from(uniform_int(rng, 30, 1_440)),
                        child,
                    )
                    .outcome("section47", Value::Bool(true));
                self.push(strategy);
                let s47_start = self
                    .child_draft(
                        sc,
                        "social_care.section47",
                        When::Date(held),
                        i64::from(uniform_int(rng, 60, 1_440)),
                        child,
                    )
                    .outcome("status", Value::Text("started"));
                self.push(s47_start);
                let completed = held.plus_working_days(uniform_int(rng, 8, 15) as u32);
                let s47_end = self
                    .child_draft(
                        sc,
                        "social_care.section47",
                        When::Date(completed),
                        i64::from(uniform_int(rng, 60, 2_880)),
                        child,
                    )
                    .outcome("status", Value::Text("completed"))
                    .outcome("substantiated", Value::Bool(episode.substantiated));
                self.push(s47_end);
                if !episode.substantiated {
                    self.close(child, completed.plus(uniform_int(rng, 1, 10)), rng);
                    return None;
                }
                let conference = held.plus_working_days(uniform_int(rng, 10, 15) as u32);
                let initial = self
                    .child_draft(
                        sc,
                        "social_care.conference",
                        When::at(conference, office_minute(rng)),
                        i64::from(uniform_int(rng, 60, 2_880)),
                        child,
                    )
                    .outcome("type", Value::Text("initial"))
                    .outcome("plan", Value::Text("start"));
                self.push(initial);
                self.plan(child, conference, "child_protection", episode, 10, rng);
                Some(conference)
            }
            _ => None,
        }
    }

    /// A plan from `start`: visits every `visit_working_days`, review conferences for a
    /// protection plan, the end of the plan and closure.
    fn plan(
        &mut self,
        child: u8,
        start: Day,
        plan: &'static str,
        episode: &Episode,
        visit_working_days: u32,
        rng: &mut Rng,
    ) {
        let sc = self.region.social_care;
        let household = self.household;
        let plan_start = self
            .child_draft(
                sc,
                "social_care.plan",
                When::Date(start),
                i64::from(uniform_int(rng, 60, 2_880)),
                child,
            )
            .outcome("plan", Value::Text(plan))
            .outcome("status", Value::Text("start"))
            .outcome("category", Value::Text(episode.category));
        self.push(plan_start);
        if let Some(placement) = episode.placement {
            let draft = self
                .child_draft(
                    sc,
                    "social_care.placement",
                    When::Date(start),
                    i64::from(uniform_int(rng, 60, 2_880)),
                    child,
                )
                .outcome("status", Value::Text("start"))
                .outcome("placement_type", Value::Text(placement));
            self.push(draft);
        }
        let planned_end = start.plus(episode.plan_days);
        let end = planned_end.min(household.stay_end(child));
        let mut visit =
            start.plus_working_days(uniform_int(rng, 3, visit_working_days as i32) as u32);
        let older = household
            .person(child)
            .is_some_and(|person| person.age_years(start) >= 4);
        while visit < end && visit <= self.period.end && household.present(child, visit) {
            let seen = chance(rng, episode.seen_share);
            let alone = seen && older && chance(rng, 0.8);
            let mut draft = self
                .child_draft(
                    sc,
                    "social_care.visit",
                    When::at(visit, office_minute(rng)),
                    i64::from(uniform_int(rng, 60, 4_000)),
                    child,
                )
                .outcome("child_seen", Value::Bool(seen))
                .outcome("seen_alone", Value::Bool(alone));
            if seen {
                draft.narrative = Some(if alone {
                    "Home visit; child seen alone in their bedroom".to_owned()
                } else {
                    "Home visit; child seen with parent".to_owned()
                });
            } else {
                draft.narrative = Some("Home visit; child at school".to_owned());
            }
            self.push(draft);
            visit = visit.plus_working_days(
                uniform_int(
                    rng,
                    visit_working_days as i32 - 3,
                    visit_working_days as i32 + 2,
                )
                .max(1) as u32,
            );
        }
        let ends_here = planned_end == end && end <= self.period.end;
        if plan == "child_protection" {
            let mut review = start.plus(uniform_int(rng, 80, 92));
            while review < end && review <= self.period.end {
                let draft = self
                    .child_draft(
                        sc,
                        "social_care.conference",
                        When::at(review, office_minute(rng)),
                        i64::from(uniform_int(rng, 60, 2_880)),
                        child,
                    )
                    .outcome("type", Value::Text("review"))
                    .outcome("plan", Value::Text("continue"));
                self.push(draft);
                review = review.plus(uniform_int(rng, 170, 182));
            }
            if ends_here {
                let draft = self
                    .child_draft(
                        sc,
                        "social_care.conference",
                        When::at(end, office_minute(rng)),
                        i64::from(uniform_int(rng, 60, 2_880)),
                        child,
                    )
                    .outcome("type", Value::Text("review"))
                    .outcome("plan", Value::Text("end"));
                self.push(draft);
            }
        }
        if ends_here && household.present(child, end) {
            let draft = self
                .child_draft(
                    sc,
                    "social_care.plan",
                    When::Date(end),
                    i64::from(uniform_int(rng, 60, 2_880)),
                    child,
                )
                .outcome("plan", Value::Text(plan))
                .outcome("status", Value::Text("end"))
                .outcome("category", Value::Text(episode.category));
            self.push(draft);
            self.close(child, end.plus(uniform_int(rng, 1, 20)), rng);
        }
    }

    fn close(&mut self, child: u8, day: Day, rng: &mut Rng) {
        let draft = self
            .child_draft(
                self.region.social_care,
                "social_care.case_closed",
                When::Date(day),
                i64::from(uniform_int(rng, 60, 4_000)),
                child,
            )
            .narrative("Case closed");
        self.push(draft);
    }
}
