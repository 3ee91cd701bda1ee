//! `sightline synth`: write a synthetic region.

use anyhow::Context;
use sightline_synth::SynthConfig;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct SynthArgs {
    /// How many children to generate.
    #[arg(long)]
    children: u64,
    /// The seed: the same seed and config give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Years simulated, ending at the config's reference date.
    #[arg(long)]
    years: Option<u32>,
    /// A TOML file overriding the shipped defaults (rates, noise, agencies).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output directory: one JSON Lines file per agency, and truth/.
    #[arg(long)]
    out: PathBuf,
}

/// Generates a region of `children` with the default rates into `dir`: its
/// summary and the paths of its interchange files (one per agency).
pub fn generate_region(
    children: u64,
    seed: u64,
    dir: &std::path::Path,
) -> anyhow::Result<(sightline_synth::SynthSummary, Vec<PathBuf>)> {
    let summary = sightline_synth::generate(&config(children, seed, None, None)?, dir)?;
    let files = summary.files.iter().map(|file| dir.join(file)).collect();
    Ok((summary, files))
}

pub fn config(
    children: u64,
    seed: u64,
    years: Option<u32>,
    overrides: Option<&PathBuf>,
) -> anyhow::Result<SynthConfig> {
    let mut config = match overrides {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            SynthConfig::from_toml_overrides(&text)?
        }
        None => SynthConfig::defaults()?,
    };
    config.children = children;
    config.seed = seed;
    if let Some(years) = years {
        config.years = years;
    }
    Ok(config)
}

pub fn run(args: SynthArgs) -> anyhow::Result<ExitCode> {
    let config = config(args.children, args.seed, args.years, args.config.as_ref())?;
    let started = Instant::now();
    let summary = sightline_synth::generate(&config, &args.out)?;
    outln!(
        "wrote {} records about {} persons ({} children, {} households, {} harm trajectories) to {} in {:.1} s",
        summary.records,
        summary.persons,
        summary.children,
        summary.households,
        summary.n_trajectories(),
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
