//! Prints FEBRL linkage quality and time:
//! `cargo run -p sightline-linkage --release --example febrl_eval [DATA_DIR]`.

use std::time::Instant;

use sightline_linkage::{FebrlDataset, evaluate_febrl};

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/febrl").to_string()
    });
    println!(
        "| dataset | ssn | precision | recall | F1 | cluster F1 | false-merge rate | blocking recall | candidates | review | seconds |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let only = std::env::var("FEBRL_ONLY").ok();
    for dataset in [
        FebrlDataset::Febrl1,
        FebrlDataset::Febrl3,
        FebrlDataset::Febrl4,
    ] {
        if only.as_deref().is_some_and(|name| name != dataset.name()) {
            continue;
        }
        let mut texts = Vec::new();
        for file in dataset.files() {
            match std::fs::read_to_string(format!("{dir}/{file}")) {
                Ok(text) => texts.push(text),
                Err(err) => {
                    eprintln!("cannot read {dir}/{file}: {err}");
                    return;
                }
            }
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        for use_ssn in [false, true] {
            let started = Instant::now();
            let report = match evaluate_febrl(dataset, use_ssn, &refs) {
                Ok(report) => report,
                Err(err) => {
                    eprintln!("{}: {err}", dataset.name());
                    continue;
                }
            };
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "| {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {} | {} | {:.3} |",
                report.dataset,
                if use_ssn { "yes" } else { "no" },
                report.pairs.precision,
                report.pairs.recall,
                report.pairs.f1,
                report.clusters.f1,
                report.false_merge_rate,
                report.blocking_recall,
                report.candidate_pairs,
                report.review_pairs,
                seconds
            );
            if std::env::var_os("FEBRL_VERBOSE").is_some() {
                eprintln!("{:#?}", report.training);
                eprintln!("{:?}", report.blocking);
            }
        }
    }
}
