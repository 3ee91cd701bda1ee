//! Linkage on the case-review corpus: for each case, links its records (in
//! the order they were recorded) and reports, per person ref (the corpus's
//! ground truth), into how many persons its mentions were split, and every
//! person holding mentions of more than one ref (a false merge).
//!
//! `cargo run -p sightline-app --example case_linkage -- eval/reviews [--verbose]`

use chrono::{TimeZone, Utc};
use sightline_app::picture::{LoadedRecord, link_records};
use sightline_core::interchange::{Format, Limits, parse_batch};
use std::collections::{BTreeMap, BTreeSet};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .first()
        .cloned()
        .unwrap_or_else(|| "eval/reviews".into());
    let verbose = args.iter().any(|a| a == "--verbose");
    let explain = args.iter().any(|a| a == "--explain");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.join("records.jsonl").exists())
        .collect();
    cases.sort();
    let (mut refs_total, mut refs_split, mut extra_persons, mut merged_persons) = (0, 0, 0, 0);
    let (mut children_split, mut child_extra) = (0, 0);
    for case in &cases {
        let bytes = std::fs::read(case.join("records.jsonl"))?;
        let received_at = Utc
            .with_ymd_and_hms(2030, 1, 1, 0, 0, 0)
            .single()
            .ok_or("date")?;
        let parsed = parse_batch(&bytes, Format::JsonLines, received_at, &Limits::default())
            .map_err(|e| format!("{}: {e:?}", case.display()))?;
        let mut records: Vec<_> = parsed.into_iter().map(|p| p.record).collect();
        records.sort_by_key(|record| record.recorded_at);
        let loaded: Vec<LoadedRecord> = records
            .into_iter()
            .enumerate()
            .map(|(seq, record)| LoadedRecord {
                seq: seq as i64,
                record,
                received_at,
            })
            .collect();
        let linked = link_records(loaded)?;
        let mut persons_of_ref: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut refs_of_person: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (person, mentions) in linked.persons() {
            for mention in mentions {
                let person_ref = linked.person_of(mention).person_ref.as_str().to_owned();
                persons_of_ref
                    .entry(person_ref.clone())
                    .or_default()
                    .insert(person.to_owned());
                refs_of_person
                    .entry(person.to_owned())
                    .or_default()
                    .insert(person_ref);
            }
        }
        let name = case.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let case_toml = std::fs::read_to_string(case.join("case.toml"))?;
        let child = case_toml
            .lines()
            .find_map(|line| line.strip_prefix("child = \""))
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("child")
            .to_owned();
        let splits: Vec<String> = persons_of_ref
            .iter()
            .filter(|(_, persons)| persons.len() > 1)
            .map(|(r, persons)| format!("{r}:{}", persons.len()))
            .collect();
        let merges: Vec<String> = refs_of_person
            .values()
            .filter(|refs| refs.len() > 1)
            .map(|refs| refs.iter().cloned().collect::<Vec<_>>().join("+"))
            .collect();
        let child_persons = persons_of_ref.get(&child).map_or(0, BTreeSet::len);
        if child_persons > 1 {
            children_split += 1;
            child_extra += child_persons - 1;
        }
        refs_total += persons_of_ref.len();
        refs_split += splits.len();
        extra_persons += persons_of_ref.values().map(|p| p.len() - 1).sum::<usize>();
        merged_persons += merges.len();
        println!(
            "{name}: child in {child_persons} person(s); split {}; merged {}",
            if splits.is_empty() {
                "-".into()
            } else {
                splits.join(" ")
            },
            if merges.is_empty() {
                "-".into()
            } else {
                merges.join(" ")
            }
        );
        if explain {
            // For each split ref: the strongest pair between its largest person and each other person.
            for (person_ref, persons) in &persons_of_ref {
                if persons.len() < 2 {
                    continue;
                }
                let records_of = |person: &String| -> Vec<u32> {
                    (0..linked.mentions.len())
                        .filter(|m| {
                            &linked.person_of_mention[*m] == person
                                && linked.person_of(linked.mentions[*m]).person_ref.as_str()
                                    == person_ref
                        })
                        .map(|m| m as u32)
                        .collect()
                };
                let mut groups: Vec<Vec<u32>> = persons.iter().map(records_of).collect();
                groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
                let main = &groups[0];
                for other in &groups[1..] {
                    let all_main: Vec<u32> = (0..linked.mentions.len() as u32)
                        .filter(|m| {
                            linked.person_of_mention[*m as usize]
                                == linked.person_of_mention[main[0] as usize]
                        })
                        .collect();
                    let weights: Vec<f64> = all_main
                        .iter()
                        .flat_map(|a| other.iter().map(move |b| (*a, *b)))
                        .filter_map(|(a, b)| linked.index.explain(a, b).map(|e| e.match_weight))
                        .collect();
                    println!(
                        "  {person_ref}: average over the main person's {} mentions: {:.2}",
                        all_main.len(),
                        weights.iter().sum::<f64>() / weights.len().max(1) as f64
                    );
                    let main_set: BTreeSet<u32> = all_main.iter().copied().collect();
                    let other_set: BTreeSet<u32> = other.iter().copied().collect();
                    let kinds: Vec<String> = linked
                        .index
                        .links()
                        .iter()
                        .filter(|l| {
                            (main_set.contains(&l.left) && other_set.contains(&l.right))
                                || (main_set.contains(&l.right) && other_set.contains(&l.left))
                        })
                        .map(|l| format!("{:?}:{:.1}", l.kind, l.match_weight))
                        .collect();
                    for conflict in linked.index.conflicts() {
                        if other_set.contains(&conflict.left) || other_set.contains(&conflict.right)
                        {
                            println!(
                                "  {person_ref}: refused {} ~ {}: {:?}",
                                linked.index.key_of(conflict.left),
                                linked.index.key_of(conflict.right),
                                conflict.rule
                            );
                        }
                    }
                    println!(
                        "  {person_ref}: links to the main person: {}",
                        if kinds.is_empty() {
                            "none".into()
                        } else {
                            kinds.join(" ")
                        }
                    );
                    let mut best = None;
                    for a in main {
                        for b in other {
                            if let Some(e) = linked.index.explain(*a, *b)
                                && best
                                    .as_ref()
                                    .is_none_or(|(_, _, w): &(u32, u32, _)| e.match_weight > *w)
                            {
                                let weight = e.match_weight;
                                best = Some((*a, *b, weight));
                            }
                        }
                    }
                    if let Some((a, b, _)) = best
                        && let Some(e) = linked.index.explain(a, b)
                    {
                        println!(
                            "  {person_ref}: {} ~ {} weight {:.2} prior {:.2}",
                            linked.index.key_of(a),
                            linked.index.key_of(b),
                            e.match_weight,
                            e.prior_weight
                        );
                        for f in &e.fields {
                            println!("      {:<20} {:<60} {:+.2}", f.field, f.level, f.weight);
                        }
                    }
                }
            }
        }
        if verbose {
            for (person, mentions) in linked.persons() {
                let refs = &refs_of_person[person];
                let split = refs.iter().any(|r| persons_of_ref[r].len() > 1);
                if !split && refs.len() < 2 {
                    continue;
                }
                println!("  {person}");
                for mention in mentions {
                    let record = &linked.records[mention.record_idx].record;
                    let p = linked.person_of(mention);
                    println!(
                        "    {:<14} {}/{} {:?} {:?} {:?} {:?}",
                        p.person_ref.as_str(),
                        record.source.agency,
                        record.source.record_id,
                        p.given_names,
                        p.family_name,
                        p.dob.map(|d| d.to_string()),
                        p.address
                            .as_ref()
                            .and_then(|a| a.postcode.as_ref())
                            .map(|p| p.as_str().to_owned())
                    );
                }
            }
        }
    }
    println!(
        "{} cases: children split {children_split} (extra persons {child_extra}); refs {refs_total}, split {refs_split} (extra persons {extra_persons}); persons merging refs {merged_persons}",
        cases.len()
    );
    Ok(())
}
