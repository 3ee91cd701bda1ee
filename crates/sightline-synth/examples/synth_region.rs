//! Generates a region and reports how long it took (a timing aid, not a test).
//!
//! `cargo run --release -p sightline-synth --example synth_region -- CHILDREN OUT_DIR [SEED]`

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let children: u64 = arguments
        .next()
        .unwrap_or_else(|| "100000".to_owned())
        .parse()?;
    let out_dir = arguments
        .next()
        .unwrap_or_else(|| "/tmp/sightline-synth".to_owned());
    let seed: u64 = arguments.next().unwrap_or_else(|| "1".to_owned()).parse()?;
    let mut config = sightline_synth::SynthConfig::defaults()?;
    config.children = children;
    config.seed = seed;
    let started = Instant::now();
    let summary = sightline_synth::generate(&config, std::path::Path::new(&out_dir))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} children, {} households, {} records, {} mentions, {} trajectories in {seconds:.1} s",
        summary.children,
        summary.households,
        summary.records,
        summary.mentions,
        summary.n_trajectories()
    );
    Ok(())
}
