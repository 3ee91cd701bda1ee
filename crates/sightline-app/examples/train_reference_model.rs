//! Trains the UK persons linkage model on a database holding a synthetic region
//! and prints it as TOML. Used to refresh the reference model shipped for small
//! logs (`crates/sightline-app/models/uk-persons-reference.toml`):
//!
//! ```sh
//! cargo run --release -- synth --children 5000 --seed 7 --out /tmp/region
//! cargo run --release -- ingest --db sqlite:///tmp/region.db /tmp/region/*.jsonl
//! cargo run --release -p sightline-app --example train_reference_model -- sqlite:///tmp/region.db \
//!     > crates/sightline-app/models/uk-persons-reference.toml
//! ```

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: train_reference_model DATABASE_URL")?;
    let store = sightline_store::open(&url)?;
    let records = sightline_app::picture::load_current_records(store.as_ref(), None)?;
    let linked = sightline_app::picture::link_records_trained(records)?;
    print!("{}", linked.index.model().to_toml()?);
    Ok(())
}
