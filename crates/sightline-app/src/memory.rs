//! Where the engine's memory goes: [`crate::Engine::memory_report`] counts the
//! bytes each structure holds, estimated from container capacities
//! ([`sightline_linkage::memory`]), so a resident-memory figure is explained
//! part by part rather than guessed. `sightline bench ingest` prints the report
//! with the process's resident memory, and `sightline serve` logs its total
//! when the engine has loaded.

use sightline_core::{AttributeValue, Attributes, Record};
use sightline_linkage::memory::{MemoryPart, option_string_bytes, string_bytes, vec_bytes};
use std::fmt;

/// The engine's memory by part.
#[derive(Debug, Clone, Default)]
pub struct MemoryReport {
    pub parts: Vec<MemoryPart>,
}

impl MemoryReport {
    /// The sum of the parts' bytes.
    pub fn total_bytes(&self) -> u64 {
        self.parts.iter().map(|part| part.bytes).sum()
    }

    /// The sum of the bytes of the parts whose name starts with `prefix`.
    pub fn bytes_under(&self, prefix: &str) -> u64 {
        self.parts
            .iter()
            .filter(|part| part.name.starts_with(prefix))
            .map(|part| part.bytes)
            .sum()
    }

    pub(crate) fn push(&mut self, name: impl Into<String>, bytes: usize, items: usize) {
        self.parts.push(MemoryPart::new(name, bytes, items));
    }

    pub(crate) fn extend(&mut self, parts: Vec<MemoryPart>) {
        self.parts.extend(parts);
    }
}

/// A Markdown table: part, MB, items, bytes per item, share of the total.
impl fmt::Display for MemoryReport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total_bytes().max(1);
        writeln!(formatter, "| part | MB | items | bytes/item | share |")?;
        writeln!(formatter, "|---|---|---|---|---|")?;
        for part in &self.parts {
            let per_item = if part.items == 0 {
                "".to_owned()
            } else {
                format!("{:.0}", part.bytes as f64 / part.items as f64)
            };
            writeln!(
                formatter,
                "| {} | {:.1} | {} | {} | {:.1}% |",
                part.name,
                part.bytes as f64 / 1e6,
                part.items,
                per_item,
                part.bytes as f64 * 100.0 / total as f64
            )?;
        }
        writeln!(
            formatter,
            "| **total (estimated)** | {:.1} | | | 100% |",
            self.total_bytes() as f64 / 1e6
        )
    }
}

/// Heap bytes one parsed record holds, by part.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RecordBytes {
    /// The persons: their inline size and their strings (names, refs,
    /// aliases, addresses).
    pub persons: usize,
    /// Findings, outcome and relationships.
    pub coded: usize,
    /// The narrative.
    pub narrative: usize,
    /// Source (agency, system, record id).
    pub source: usize,
}

fn attributes_bytes(attributes: &Attributes) -> usize {
    vec_bytes(&attributes.0)
        + attributes
            .0
            .iter()
            .map(|(_, value)| match value {
                AttributeValue::Text(text) => string_bytes(text),
                AttributeValue::Bool(_)
                | AttributeValue::Enum(_)
                | AttributeValue::Int(_)
                | AttributeValue::Date(_) => 0,
            })
            .sum::<usize>()
}

pub(crate) fn record_bytes(record: &Record) -> RecordBytes {
    let persons = vec_bytes(&record.persons)
        + record
            .persons
            .iter()
            .map(|person| {
                string_bytes(&person.person_ref)
                    + option_string_bytes(&person.source_person_id)
                    + option_string_bytes(&person.given_names)
                    + option_string_bytes(&person.family_name)
                    + vec_bytes(&person.aliases)
                    + person.aliases.iter().map(string_bytes).sum::<usize>()
                    + person.address.as_ref().map_or(0, |address| {
                        vec_bytes(&address.lines)
                            + address.lines.iter().map(string_bytes).sum::<usize>()
                            + address
                                .postcode
                                .as_ref()
                                .map_or(0, |postcode| postcode.as_str().len())
                    })
            })
            .sum::<usize>();
    let coded = vec_bytes(&record.findings)
        + record
            .findings
            .iter()
            .map(|finding| vec_bytes(&finding.subjects) + attributes_bytes(&finding.attributes))
            .sum::<usize>()
        + vec_bytes(&record.relationships)
        + attributes_bytes(&record.outcome);
    let source = record.source.agency.as_str().len()
        + option_string_bytes(&record.source.system)
        + record.source.record_id.as_str().len();
    RecordBytes {
        persons,
        coded,
        narrative: option_string_bytes(&record.narrative),
        source,
    }
}
