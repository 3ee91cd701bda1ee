//! The generator's parameters: defaults shipped in `defaults.toml`, overridable from a
//! TOML file with the same layout (unknown keys are errors).

use serde::Deserialize;

use crate::SynthError;
use crate::date::Day;

/// The defaults, as shipped. `docs/synthetic-region.md` explains each value.
pub const DEFAULT_TOML: &str = include_str!("../defaults.toml");

/// The most children one region may hold. Person keys, record ids and NHS numbers are
/// built from household and member indices, and stay unique below this bound.
pub const CHILDREN_MAX: u64 = 2_000_000;
/// The longest simulated period, in years.
pub const YEARS_MAX: u32 = 30;

/// Everything that shapes a synthetic region.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthConfig {
    /// How many children (anyone under 18 at some time in the period) to generate.
    pub children: u64,
    /// The seed: the same seed and parameters give the same bytes.
    pub seed: u64,
    /// The last day of the simulated period (`YYYY-MM-DD`); no record is dated later.
    pub reference_date: String,
    /// Length of the simulated period in years, ending at `reference_date`.
    pub years: u32,
    pub region: RegionConfig,
    pub population: PopulationConfig,
    pub rates: RatesConfig,
    pub trajectories: TrajectoryConfig,
    pub noise: NoiseConfig,
    pub tolerances: Tolerances,
}

/// The agencies of the region and its layout.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    pub gp_practices: u32,
    /// Hospital names, each becoming an agency `ed-<name>`.
    pub hospitals: Vec<String>,
    pub primary_schools: u32,
    pub secondary_schools: u32,
    pub nurseries: u32,
    pub neighbourhoods: u32,
    pub social_housing_share: f64,
}

/// Household composition and change over time.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationConfig {
    pub couple_weight: f64,
    pub lone_mother_weight: f64,
    pub lone_father_weight: f64,
    pub multigenerational_weight: f64,
    pub lodger_share: f64,
    pub children_at_start_weights: Vec<f64>,
    pub births_per_woman_year_under_35: f64,
    pub births_per_woman_year_35_and_over: f64,
    pub twins_share: f64,
    pub pregnancy_without_birth_share: f64,
    pub moves_per_household_year: f64,
    pub moves_out_of_region_share: f64,
    pub arrivals_share: f64,
    pub partner_leaves_per_couple_year: f64,
    pub new_partner_per_lone_parent_year: f64,
    pub undeclared_partner_share: f64,
    pub hyphenated_child_surname_share: f64,
    pub mother_different_surname_share: f64,
}

/// Everyday rates of agency contact. Arrays of four are by age band: under 1, 1-4,
/// 5-11, 12-17.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatesConfig {
    pub gp_consultations_per_child_year: [f64; 4],
    pub ed_attendances_per_child_year: [f64; 4],
    pub ed_injury_share: [f64; 4],
    pub ed_admitted_share: f64,
    pub gp_injuries_per_child_year: [f64; 4],
    pub health_visitor_appointment_missed_share: f64,
    pub gp_appointment_missed_per_child_year: f64,
    pub school_concerns_per_pupil_year: f64,
    pub persistent_absence_share: f64,
    pub nursery_attendance_share: f64,
    pub police_call_outs_per_household_year: f64,
    pub police_domestic_incidents_per_household_year: f64,
    pub social_care_referrals_per_child_year: f64,
    /// Weights for nfa, early_help, assessment, strategy_discussion.
    pub referral_decision_weights: [f64; 4],
    pub assessment_to_child_in_need_share: f64,
    pub section47_substantiated_share: f64,
    pub adult_offender_share: f64,
    pub postnatal_mental_health_share: f64,
    pub adult_gp_consultations_per_year: f64,
}

/// Harm trajectories: how many, and of which archetype.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrajectoryConfig {
    pub share_of_households: f64,
    pub infant_physical_abuse: f64,
    pub neglect: f64,
    pub domestic_abuse: f64,
    pub undeclared_offender: f64,
    pub disguised_compliance: f64,
    pub pregnancy_after_removal: f64,
    pub missed_referral_share: f64,
}

/// How each type of agency records people.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseConfig {
    pub gp: NoiseProfile,
    pub ed: NoiseProfile,
    pub health_visiting: NoiseProfile,
    pub school: NoiseProfile,
    pub police: NoiseProfile,
    pub social_care: NoiseProfile,
    pub probation: NoiseProfile,
    pub housing: NoiseProfile,
}

/// One agency type's recording errors, each a share of person mentions.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseProfile {
    /// Errors belong to the agency's record of the person rather than to each record.
    pub persistent: bool,
    pub typo: f64,
    pub nickname: f64,
    pub dob_missing: f64,
    pub dob_partial: f64,
    pub dob_transposed: f64,
    pub stale_address: f64,
    pub address_missing: f64,
    pub nhs_missing: f64,
    pub name_swapped: f64,
}

/// How far measured rates may stray from configured ones in the rate tests.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerances {
    pub records_per_child_year: f64,
    pub trajectory_share: f64,
    pub noise: f64,
}

impl SynthConfig {
    /// The shipped defaults.
    pub fn defaults() -> Result<Self, SynthError> {
        Self::from_toml_overrides("")
    }

    /// The shipped defaults with the keys present in `overrides` (TOML) replaced.
    pub fn from_toml_overrides(overrides: &str) -> Result<Self, SynthError> {
        let mut base: toml::Table = toml::from_str(DEFAULT_TOML)
            .map_err(|error| SynthError::Config(format!("shipped defaults: {error}")))?;
        let overlay: toml::Table =
            toml::from_str(overrides).map_err(|error| SynthError::Config(error.to_string()))?;
        merge_tables(&mut base, overlay);
        let config: SynthConfig = toml::Value::Table(base)
            .try_into()
            .map_err(|error: toml::de::Error| SynthError::Config(error.to_string()))?;
        config.check()?;
        Ok(config)
    }

    /// The shipped defaults overridden by a TOML file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, SynthError> {
        let text = std::fs::read_to_string(path).map_err(|source| SynthError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_overrides(&text)
    }

    /// The last simulated day.
    pub fn reference_day(&self) -> Result<Day, SynthError> {
        Day::parse(&self.reference_date).ok_or_else(|| {
            SynthError::Config(format!(
                "reference_date: \"{}\" is not a date YYYY-MM-DD",
                self.reference_date
            ))
        })
    }

    /// Checks the values that the generator relies on.
    pub fn check(&self) -> Result<(), SynthError> {
        let fail = |message: String| Err(SynthError::Config(message));
        self.reference_day()?;
        if self.children == 0 || self.children > CHILDREN_MAX {
            return fail(format!("children: must be from 1 to {CHILDREN_MAX}"));
        }
        if self.years == 0 || self.years > YEARS_MAX {
            return fail(format!("years: must be from 1 to {YEARS_MAX}"));
        }
        let region = &self.region;
        let counts = [
            ("region.gp_practices", region.gp_practices),
            ("region.primary_schools", region.primary_schools),
            ("region.secondary_schools", region.secondary_schools),
            ("region.nurseries", region.nurseries),
            ("region.neighbourhoods", region.neighbourhoods),
        ];
        for (name, count) in counts {
            if count == 0 || count > 500 {
                return fail(format!("{name}: must be from 1 to 500"));
            }
        }
        if region.hospitals.is_empty() || region.hospitals.len() > 50 {
            return fail("region.hospitals: must name from 1 to 50 hospitals".to_owned());
        }
        for hospital in &region.hospitals {
            let id = format!("ed-{hospital}");
            let valid = id.len() <= 64
                && id
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
            if !valid {
                return fail(format!(
                    "region.hospitals: \"{hospital}\" must be lowercase letters, digits and hyphens"
                ));
            }
        }
        if self.population.children_at_start_weights.is_empty() {
            return fail("population.children_at_start_weights: must not be empty".to_owned());
        }
        let all_rates = self.all_rates();
        for (name, value) in all_rates {
            if !value.is_finite() || value < 0.0 {
                return fail(format!("{name}: must be a number of at least 0"));
            }
        }
        let shares = [
            (
                "trajectories.share_of_households",
                self.trajectories.share_of_households,
            ),
            (
                "population.undeclared_partner_share",
                self.population.undeclared_partner_share,
            ),
            (
                "rates.persistent_absence_share",
                self.rates.persistent_absence_share,
            ),
        ];
        for (name, value) in shares {
            if value > 1.0 {
                return fail(format!("{name}: must be at most 1"));
            }
        }
        Ok(())
    }

    fn all_rates(&self) -> Vec<(String, f64)> {
        let population = &self.population;
        let rates = &self.rates;
        let trajectories = &self.trajectories;
        let mut all = vec![
            (
                "region.social_housing_share".to_owned(),
                self.region.social_housing_share,
            ),
            (
                "population.couple_weight".to_owned(),
                population.couple_weight,
            ),
            (
                "population.lone_mother_weight".to_owned(),
                population.lone_mother_weight,
            ),
            (
                "population.lone_father_weight".to_owned(),
                population.lone_father_weight,
            ),
            (
                "population.multigenerational_weight".to_owned(),
                population.multigenerational_weight,
            ),
            (
                "population.lodger_share".to_owned(),
                population.lodger_share,
            ),
            (
                "population.births_per_woman_year_under_35".to_owned(),
                population.births_per_woman_year_under_35,
            ),
            (
                "population.births_per_woman_year_35_and_over".to_owned(),
                population.births_per_woman_year_35_and_over,
            ),
            ("population.twins_share".to_owned(), population.twins_share),
            (
                "population.pregnancy_without_birth_share".to_owned(),
                population.pregnancy_without_birth_share,
            ),
            (
                "population.moves_per_household_year".to_owned(),
                population.moves_per_household_year,
            ),
            (
                "population.moves_out_of_region_share".to_owned(),
                population.moves_out_of_region_share,
            ),
            (
                "population.arrivals_share".to_owned(),
                population.arrivals_share,
            ),
            (
                "population.partner_leaves_per_couple_year".to_owned(),
                population.partner_leaves_per_couple_year,
            ),
            (
                "population.new_partner_per_lone_parent_year".to_owned(),
                population.new_partner_per_lone_parent_year,
            ),
            (
                "population.undeclared_partner_share".to_owned(),
                population.undeclared_partner_share,
            ),
            (
                "population.hyphenated_child_surname_share".to_owned(),
                population.hyphenated_child_surname_share,
            ),
            (
                "population.mother_different_surname_share".to_owned(),
                population.mother_different_surname_share,
            ),
            (
                "rates.ed_admitted_share".to_owned(),
                rates.ed_admitted_share,
            ),
            (
                "rates.health_visitor_appointment_missed_share".to_owned(),
                rates.health_visitor_appointment_missed_share,
            ),
            (
                "rates.gp_appointment_missed_per_child_year".to_owned(),
                rates.gp_appointment_missed_per_child_year,
            ),
            (
                "rates.school_concerns_per_pupil_year".to_owned(),
                rates.school_concerns_per_pupil_year,
            ),
            (
                "rates.persistent_absence_share".to_owned(),
                rates.persistent_absence_share,
            ),
            (
                "rates.nursery_attendance_share".to_owned(),
                rates.nursery_attendance_share,
            ),
            (
                "rates.police_call_outs_per_household_year".to_owned(),
                rates.police_call_outs_per_household_year,
            ),
            (
                "rates.police_domestic_incidents_per_household_year".to_owned(),
                rates.police_domestic_incidents_per_household_year,
            ),
            (
                "rates.social_care_referrals_per_child_year".to_owned(),
                rates.social_care_referrals_per_child_year,
            ),
            (
                "rates.assessment_to_child_in_need_share".to_owned(),
                rates.assessment_to_child_in_need_share,
            ),
            (
                "rates.section47_substantiated_share".to_owned(),
                rates.section47_substantiated_share,
            ),
            (
                "rates.adult_offender_share".to_owned(),
                rates.adult_offender_share,
            ),
            (
                "rates.postnatal_mental_health_share".to_owned(),
                rates.postnatal_mental_health_share,
            ),
            (
                "rates.adult_gp_consultations_per_year".to_owned(),
                rates.adult_gp_consultations_per_year,
            ),
            (
                "trajectories.share_of_households".to_owned(),
                trajectories.share_of_households,
            ),
            (
                "trajectories.infant_physical_abuse".to_owned(),
                trajectories.infant_physical_abuse,
            ),
            ("trajectories.neglect".to_owned(), trajectories.neglect),
            (
                "trajectories.domestic_abuse".to_owned(),
                trajectories.domestic_abuse,
            ),
            (
                "trajectories.undeclared_offender".to_owned(),
                trajectories.undeclared_offender,
            ),
            (
                "trajectories.disguised_compliance".to_owned(),
                trajectories.disguised_compliance,
            ),
            (
                "trajectories.pregnancy_after_removal".to_owned(),
                trajectories.pregnancy_after_removal,
            ),
            (
                "trajectories.missed_referral_share".to_owned(),
                trajectories.missed_referral_share,
            ),
        ];
        for (index, weight) in population.children_at_start_weights.iter().enumerate() {
            all.push((
                format!("population.children_at_start_weights[{index}]"),
                *weight,
            ));
        }
        let banded = [
            (
                "rates.gp_consultations_per_child_year",
                rates.gp_consultations_per_child_year,
            ),
            (
                "rates.ed_attendances_per_child_year",
                rates.ed_attendances_per_child_year,
            ),
            ("rates.ed_injury_share", rates.ed_injury_share),
            (
                "rates.gp_injuries_per_child_year",
                rates.gp_injuries_per_child_year,
            ),
            (
                "rates.referral_decision_weights",
                rates.referral_decision_weights,
            ),
        ];
        for (name, values) in banded {
            for (index, value) in values.iter().enumerate() {
                all.push((format!("{name}[{index}]"), *value));
            }
        }
        for (name, profile) in self.noise.profiles() {
            let values = [
                ("typo", profile.typo),
                ("nickname", profile.nickname),
                ("dob_missing", profile.dob_missing),
                ("dob_partial", profile.dob_partial),
                ("dob_transposed", profile.dob_transposed),
                ("stale_address", profile.stale_address),
                ("address_missing", profile.address_missing),
                ("nhs_missing", profile.nhs_missing),
                ("name_swapped", profile.name_swapped),
            ];
            for (field, value) in values {
                all.push((format!("noise.{name}.{field}"), value));
            }
        }
        all
    }
}

impl NoiseConfig {
    /// Each agency type's profile with its name in the config file.
    pub fn profiles(&self) -> [(&'static str, &NoiseProfile); 8] {
        [
            ("gp", &self.gp),
            ("ed", &self.ed),
            ("health_visiting", &self.health_visiting),
            ("school", &self.school),
            ("police", &self.police),
            ("social_care", &self.social_care),
            ("probation", &self.probation),
            ("housing", &self.housing),
        ]
    }
}

/// Replaces the keys of `base` present in `overlay`, descending into tables so that an
/// override file need only name the keys it changes.
fn merge_tables(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base_table)), toml::Value::Table(overlay_table)) => {
                merge_tables(base_table, overlay_table);
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_defaults_parse_and_check() {
        let config = SynthConfig::defaults().unwrap();
        assert_eq!(config.reference_date, "2025-12-31");
        assert_eq!(config.years, 5);
        assert_eq!(config.noise.profiles().len(), 8);
    }

    #[test]
    fn overrides_replace_only_named_keys() {
        let config =
            SynthConfig::from_toml_overrides("children = 50\n[noise.police]\ntypo = 0.5\n")
                .unwrap();
        assert_eq!(config.children, 50);
        assert_eq!(config.noise.police.typo, 0.5);
        assert_eq!(config.noise.police.dob_missing, 0.08);
    }

    #[test]
    fn unknown_and_invalid_keys_are_errors() {
        assert!(SynthConfig::from_toml_overrides("childern = 5").is_err());
        assert!(SynthConfig::from_toml_overrides("[noise.police]\ntypoo = 0.5").is_err());
        assert!(SynthConfig::from_toml_overrides("children = 0").is_err());
        assert!(SynthConfig::from_toml_overrides("reference_date = \"2025-13-01\"").is_err());
        assert!(SynthConfig::from_toml_overrides("[rates]\nadult_offender_share = -1.0").is_err());
        assert!(SynthConfig::from_toml_overrides("[region]\nhospitals = [\"St Mary\"]").is_err());
    }
}
