//! sightline-synth: a synthetic region of people, households and multi-agency records
//! in interchange v1, with the ground truth that linkage and rules are measured
//! against. No real person's data is used: names come from frequency-weighted lists,
//! addresses and NHS numbers are made up (NHS numbers are valid by check digit only).
//!
//! The entry point is [`generate`]. Output is deterministic for a seed and config
//! (same bytes, whatever the number of threads), and memory stays flat as the region
//! grows: households are generated one at a time, each from its own random stream,
//! and appended to buffered per-agency files.

mod config;
mod date;
mod draft;
mod ids;
mod model;
mod names;
mod organisation;
mod population;
mod render;
mod sim;
mod trajectory;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::{Rng as _, SeedableRng};
use serde::{Deserialize, Serialize};

pub use config::{
    CHILDREN_MAX, DEFAULT_TOML, NoiseConfig, NoiseProfile, PopulationConfig, RatesConfig,
    RegionConfig, SynthConfig, Tolerances, TrajectoryConfig, YEARS_MAX,
};
pub use ids::{nhs_number_valid, postcode_shape_valid};
pub use organisation::{
    DFE_CODE, DUTY_TEAM, HEAD_OF_SERVICE_TEAM, HEALTH_SAFEGUARDING_AGENCY, LOCAL_AUTHORITY_ID,
    POLICE_PUBLIC_PROTECTION_TEAM,
};

/// The file [`generate`] writes the region's organisation to, in its output
/// directory.
pub const ORGANISATION_FILE: &str = "organisation.toml";

use model::{AgencyType, Archetype, Region};
use names::Names;
use population::{Period, build_household};
use render::{Counters, HouseholdOutput, NOISE_KINDS, RenderContext, render_household};
use sim::Sim;

/// The random generator used everywhere: ChaCha8, seeded, one stream per household.
pub(crate) type Rng = rand_chacha::ChaCha8Rng;

/// Households generated per batch handed to the worker threads.
const HOUSEHOLDS_PER_BATCH: u64 = 512;
/// Bytes buffered per output file.
const WRITER_BUFFER_BYTES: usize = 128 * 1024;

/// What can go wrong generating a region.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("invalid synth config: {0}")]
    Config(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("a generator thread failed")]
    Worker,
}

/// Counts of one agency type's recording errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseSummary {
    /// Mentions with full demographics (the denominator of the rates).
    pub mentions: u64,
    /// Mentions where an NHS number could have been sent (health and social care).
    pub nhs_eligible: u64,
    /// How often each kind of error was applied.
    pub applied: BTreeMap<String, u64>,
}

/// What [`generate`] wrote, also saved as `truth/summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthSummary {
    pub seed: u64,
    pub children_requested: u64,
    /// Children generated: at least the number requested (the last household is kept whole).
    pub children: u64,
    pub households: u64,
    pub persons: u64,
    pub records: u64,
    pub mentions: u64,
    pub period_start: String,
    pub reference_date: String,
    pub years: u32,
    /// Agency id to kind to number of records.
    pub records_by_agency: BTreeMap<String, BTreeMap<String, u64>>,
    pub records_by_kind: BTreeMap<String, u64>,
    /// Agency type (`gp`, `ed`, ...) to number of records.
    pub records_by_agency_type: BTreeMap<String, u64>,
    /// Child-years lived in the region by age band (`under_1`, `1_to_4`, `5_to_11`, `12_to_17`).
    pub child_years_by_age_band: BTreeMap<String, f64>,
    /// Archetype to number of trajectories.
    pub trajectories: BTreeMap<String, u64>,
    /// Agency type to its recording errors.
    pub noise: BTreeMap<String, NoiseSummary>,
    /// Agency data files written, relative to the output directory.
    pub files: Vec<String>,
}

impl SynthSummary {
    pub fn child_years(&self) -> f64 {
        self.child_years_by_age_band.values().sum()
    }

    pub fn n_trajectories(&self) -> u64 {
        self.trajectories.values().sum()
    }
}

/// Age band names, in the order of the config's four-value arrays.
pub const AGE_BANDS: [&str; 4] = ["under_1", "1_to_4", "5_to_11", "12_to_17"];

pub(crate) fn chance(rng: &mut Rng, probability: f64) -> bool {
    probability > 0.0 && rng.random::<f64>() < probability
}

/// A whole number from `low` to `high` inclusive (`low` when the range is empty).
pub(crate) fn uniform_int(rng: &mut Rng, low: i32, high: i32) -> i32 {
    if high <= low {
        low
    } else {
        rng.random_range(low..=high)
    }
}

/// A day from `from` to `to` inclusive (`from` when the range is empty).
pub(crate) fn uniform_day(rng: &mut Rng, from: date::Day, to: date::Day) -> date::Day {
    date::Day(uniform_int(rng, from.0, to.0))
}

/// A Poisson count with mean `mean` (Knuth's method; means here are small).
pub(crate) fn poisson(rng: &mut Rng, mean: f64) -> u32 {
    if mean <= 0.0 || !mean.is_finite() {
        return 0;
    }
    if mean > 30.0 {
        // A normal approximation keeps the loop short for large means.
        let normal: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
        return (mean + normal * mean.sqrt()).round().max(0.0) as u32;
    }
    let limit = (-mean).exp();
    let mut product = rng.random::<f64>();
    let mut count = 0;
    while product > limit {
        count += 1;
        product *= rng.random::<f64>();
    }
    count
}

/// Days until the next event of a process with `rate_per_year`, or `None` if it
/// never happens.
pub(crate) fn poisson_days(rng: &mut Rng, rate_per_year: f64) -> Option<i32> {
    if rate_per_year <= 0.0 || !rate_per_year.is_finite() {
        return None;
    }
    let uniform: f64 = rng.random::<f64>();
    let years = -(1.0 - uniform).ln() / rate_per_year;
    Some((years * 365.25).min(1.0e6) as i32 + 1)
}

/// An index drawn with the given weights, or `None` when they add up to nothing.
pub(crate) fn weighted_index(rng: &mut Rng, weights: &[f64]) -> Option<usize> {
    let total: f64 = weights
        .iter()
        .filter(|weight| weight.is_finite() && **weight > 0.0)
        .sum();
    if total <= 0.0 {
        return None;
    }
    let mut target = rng.random::<f64>() * total;
    for (index, weight) in weights.iter().enumerate() {
        if !weight.is_finite() || *weight <= 0.0 {
            continue;
        }
        if target < *weight {
            return Some(index);
        }
        target -= weight;
    }
    weights.iter().rposition(|weight| *weight > 0.0)
}

pub(crate) fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        return None;
    }
    items.get(rng.random_range(0..items.len()))
}

struct Output {
    agencies: Vec<(String, BufWriter<File>)>,
    mentions: BufWriter<File>,
    households: BufWriter<File>,
    persons: BufWriter<File>,
    trajectories: BufWriter<File>,
}

fn create(path: &Path) -> Result<BufWriter<File>, SynthError> {
    let file = File::create(path).map_err(|source| io_error(path, source))?;
    Ok(BufWriter::with_capacity(WRITER_BUFFER_BYTES, file))
}

fn io_error(path: &Path, source: std::io::Error) -> SynthError {
    SynthError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn write_all(writer: &mut BufWriter<File>, bytes: &[u8], name: &str) -> Result<(), SynthError> {
    writer.write_all(bytes).map_err(|source| SynthError::Io {
        path: name.to_owned(),
        source,
    })
}

/// The organisation file (the format of `sightline_core::org`) of the region
/// `config` describes: every agency its records come from, with invented display
/// names, its local authority and the safeguarding leads.
pub fn organisation_toml(config: &SynthConfig) -> Result<String, SynthError> {
    config.check()?;
    let names = Names::load();
    let region = region_of(config, &names);
    Ok(organisation::organisation_toml(config, &region))
}

fn region_of(config: &SynthConfig, names: &Names) -> Region {
    let mut region_rng = Rng::seed_from_u64(config.seed);
    region_rng.set_stream(u64::MAX);
    Region::build(config, names, &mut region_rng)
}

/// Generates the region described by `config` into `out_dir`: one JSON Lines file per
/// agency (`<agency id>.jsonl`), its organisation ([`ORGANISATION_FILE`]) and the
/// ground truth in `out_dir/truth/`
/// (`persons.csv`, `households.csv`, `mentions.csv`, `trajectories.csv`,
/// `summary.json`). Existing files of the same names are replaced.
pub fn generate(config: &SynthConfig, out_dir: &Path) -> Result<SynthSummary, SynthError> {
    generate_with_threads(config, out_dir, 0)
}

/// [`generate`] with a chosen number of worker threads (0: as many as the machine
/// has). The output does not depend on it.
pub fn generate_with_threads(
    config: &SynthConfig,
    out_dir: &Path,
    threads: usize,
) -> Result<SynthSummary, SynthError> {
    config.check()?;
    let reference = config.reference_day()?;
    let period = Period {
        start: reference.plus_years(-(config.years as i32)).plus(1),
        end: reference,
    };
    let names = Names::load();
    let region = region_of(config, &names);
    std::fs::create_dir_all(out_dir).map_err(|source| io_error(out_dir, source))?;
    let organisation_path = out_dir.join(ORGANISATION_FILE);
    std::fs::write(
        &organisation_path,
        organisation::organisation_toml(config, &region),
    )
    .map_err(|source| io_error(&organisation_path, source))?;
    let context = RenderContext {
        config,
        region: &region,
        names: &names,
        period,
    };

    let truth_dir = out_dir.join("truth");
    std::fs::create_dir_all(&truth_dir).map_err(|source| io_error(&truth_dir, source))?;
    let mut agencies = Vec::new();
    for agency in &region.agencies {
        let name = format!("{}.jsonl", agency.id);
        agencies.push((name.clone(), create(&out_dir.join(&name))?));
    }
    let mut output = Output {
        agencies,
        mentions: create(&truth_dir.join("mentions.csv"))?,
        households: create(&truth_dir.join("households.csv"))?,
        persons: create(&truth_dir.join("persons.csv"))?,
        trajectories: create(&truth_dir.join("trajectories.csv"))?,
    };
    write_all(
        &mut output.mentions,
        b"agency,record_id,ref,true_person_id\n",
        "mentions.csv",
    )?;
    write_all(
        &mut output.households,
        b"household_id,person_id,role,from,to\n",
        "households.csv",
    )?;
    write_all(
        &mut output.persons,
        b"true_person_id,dob,sex,is_child,given_names,family_name,nhs_number,household_id\n",
        "persons.csv",
    )?;
    write_all(
        &mut output.trajectories,
        b"trajectory_id,true_person_id,archetype,start,first_alert_agency,first_alert_record_id,first_alert_occurred_at,household_id\n",
        "trajectories.csv",
    )?;

    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        threads
    }
    .clamp(1, 64);
    let mut totals = Counters {
        records: vec![Default::default(); region.agencies.len()],
        ..Counters::default()
    };
    let mut next_household = 0u64;
    'batches: loop {
        let batch = render_batch(&context, next_household, HOUSEHOLDS_PER_BATCH, threads)?;
        next_household += HOUSEHOLDS_PER_BATCH;
        for household_output in batch {
            if totals.children >= config.children {
                break 'batches;
            }
            write_household(&mut output, &household_output)?;
            totals.add(&household_output.counters);
        }
        if totals.children >= config.children {
            break;
        }
    }
    for (name, writer) in &mut output.agencies {
        writer.flush().map_err(|source| SynthError::Io {
            path: name.clone(),
            source,
        })?;
    }
    for (writer, name) in [
        (&mut output.mentions, "mentions.csv"),
        (&mut output.households, "households.csv"),
        (&mut output.persons, "persons.csv"),
        (&mut output.trajectories, "trajectories.csv"),
    ] {
        writer.flush().map_err(|source| SynthError::Io {
            path: name.to_owned(),
            source,
        })?;
    }
    let summary = summarise(config, &region, period, &totals, &output);
    let json = serde_json::to_string_pretty(&summary)
        .map_err(|error| SynthError::Config(error.to_string()))?;
    let summary_path = truth_dir.join("summary.json");
    std::fs::write(&summary_path, json + "\n").map_err(|source| io_error(&summary_path, source))?;
    Ok(summary)
}

/// Generates and renders households `first .. first + count` on `threads` threads, in order.
fn render_batch(
    context: &RenderContext<'_>,
    first: u64,
    count: u64,
    threads: usize,
) -> Result<Vec<HouseholdOutput>, SynthError> {
    let per_thread = count.div_ceil(threads as u64);
    let results: Vec<Result<Vec<HouseholdOutput>, SynthError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|thread_index| {
                let from = first + thread_index * per_thread;
                let to = (from + per_thread).min(first + count);
                scope.spawn(move || {
                    (from..to)
                        .map(|index| one_household(context, index))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().map_err(|_| SynthError::Worker))
            .collect()
    });
    let mut all = Vec::with_capacity(count as usize);
    for result in results {
        all.extend(result?);
    }
    Ok(all)
}

/// One household: its life, its trajectory, its records and truth, from its own stream.
fn one_household(context: &RenderContext<'_>, index: u64) -> HouseholdOutput {
    let mut rng = Rng::seed_from_u64(context.config.seed);
    rng.set_stream(index);
    let household = build_household(
        index,
        context.config,
        context.names,
        context.region,
        context.period,
        &mut rng,
    );
    let mut sim = Sim::new(context.config, context.region, context.period, &household);
    sim.ordinary_life(&mut rng);
    trajectory::add_trajectory(&mut sim, &mut rng);
    let exposure = sim.exposure;
    let drafts = std::mem::take(&mut sim.drafts);
    render_household(context, &household, drafts, exposure)
}

fn write_household(output: &mut Output, household: &HouseholdOutput) -> Result<(), SynthError> {
    for ((name, writer), bytes) in output.agencies.iter_mut().zip(&household.agency_lines) {
        if !bytes.is_empty() {
            write_all(writer, bytes, name)?;
        }
    }
    write_all(
        &mut output.mentions,
        household.mentions.as_bytes(),
        "mentions.csv",
    )?;
    write_all(
        &mut output.households,
        household.households.as_bytes(),
        "households.csv",
    )?;
    write_all(
        &mut output.persons,
        household.persons.as_bytes(),
        "persons.csv",
    )?;
    write_all(
        &mut output.trajectories,
        household.trajectories.as_bytes(),
        "trajectories.csv",
    )
}

fn summarise(
    config: &SynthConfig,
    region: &Region,
    period: Period,
    totals: &Counters,
    output: &Output,
) -> SynthSummary {
    let mut records_by_agency = BTreeMap::new();
    let mut records_by_kind = BTreeMap::new();
    let mut records_by_agency_type = BTreeMap::new();
    let mut records = 0;
    for (agency, counts) in region.agencies.iter().zip(&totals.records) {
        let mut by_kind = BTreeMap::new();
        for (kind, count) in counts {
            by_kind.insert((*kind).to_owned(), *count);
            *records_by_kind.entry((*kind).to_owned()).or_insert(0) += count;
            *records_by_agency_type
                .entry(agency.agency_type.config_name().to_owned())
                .or_insert(0) += count;
            records += count;
        }
        records_by_agency.insert(agency.id.clone(), by_kind);
    }
    let mut noise = BTreeMap::new();
    for agency_type in AgencyType::ALL {
        let index = agency_type.index();
        let applied = NOISE_KINDS
            .iter()
            .zip(totals.noise[index])
            .map(|(kind, count)| ((*kind).to_owned(), count))
            .collect();
        noise.insert(
            agency_type.config_name().to_owned(),
            NoiseSummary {
                mentions: totals.full_mentions[index],
                nhs_eligible: totals.nhs_eligible[index],
                applied,
            },
        );
    }
    SynthSummary {
        seed: config.seed,
        children_requested: config.children,
        children: totals.children,
        households: totals.households,
        persons: totals.persons,
        records,
        mentions: totals.mentions,
        period_start: period.start.format(),
        reference_date: period.end.format(),
        years: config.years,
        records_by_agency,
        records_by_kind,
        records_by_agency_type,
        child_years_by_age_band: AGE_BANDS
            .iter()
            .zip(totals.exposure)
            .map(|(band, years)| ((*band).to_owned(), (years * 1000.0).round() / 1000.0))
            .collect(),
        trajectories: Archetype::ALL
            .iter()
            .zip(totals.trajectories)
            .map(|(archetype, count)| (archetype.as_str().to_owned(), count))
            .collect(),
        noise,
        files: output
            .agencies
            .iter()
            .map(|(name, _)| name.clone())
            .collect(),
    }
}
