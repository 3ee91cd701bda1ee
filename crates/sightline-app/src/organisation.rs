//! The organisation configuration at the edge: reading the operator's file
//! (`sightline serve --org FILE`, `SIGHTLINE_ORG`) and comparing it with the
//! agencies whose records are in the log (`sightline org check FILE --db`). The
//! format and its validation are `sightline_core::org`.

use sightline_core::AgencyId;
use sightline_core::org::{AgencyProfile, OrgProblem, Organisation};
use sightline_store::{RecordFilter, Store, StoreError};
use std::collections::BTreeMap;
use std::path::Path;

/// Why an organisation file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum OrganisationError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: the organisation has {} problem(s):\n{}", problems.len(), problems.iter().map(|problem| problem.with_file(path)).collect::<Vec<_>>().join("\n"))]
    Invalid {
        path: String,
        problems: Vec<OrgProblem>,
    },
}

/// Reads and validates an organisation file.
pub fn read_organisation(path: &Path) -> Result<Organisation, OrganisationError> {
    let shown = path.display().to_string();
    let text = std::fs::read(path).map_err(|source| OrganisationError::Read {
        path: shown.clone(),
        source,
    })?;
    let text = String::from_utf8(text).map_err(|_| OrganisationError::Invalid {
        path: shown.clone(),
        problems: vec![OrgProblem {
            line: None,
            key: String::new(),
            message: "is not UTF-8 text".to_owned(),
        }],
    })?;
    Organisation::parse(&text).map_err(|problems| OrganisationError::Invalid {
        path: shown,
        problems,
    })
}

/// Every agency with records in the log and the number of its records of each
/// kind (current and superseded versions alike).
pub fn agencies_in_log(
    store: &dyn Store,
) -> Result<BTreeMap<String, BTreeMap<String, u64>>, StoreError> {
    let mut agencies: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut after_seq = None;
    loop {
        let page = store.list_records(&RecordFilter {
            after_seq,
            limit: sightline_store::LIST_RECORDS_LIMIT_MAX,
            ..RecordFilter::default()
        })?;
        for record in &page {
            *agencies
                .entry(record.agency.clone())
                .or_default()
                .entry(record.kind.clone())
                .or_default() += 1;
        }
        match page.last() {
            Some(last) if page.len() == sightline_store::LIST_RECORDS_LIMIT_MAX as usize => {
                after_seq = Some(last.seq);
            }
            _ => break,
        }
    }
    Ok(agencies)
}

/// The agencies with records in the log that the organisation does not name,
/// each with the fallback profile Sightline uses for it (its id as its name,
/// its type from its records' kinds, the default local authority).
pub fn unnamed_agencies(
    organisation: &Organisation,
    store: &dyn Store,
) -> Result<Vec<AgencyProfile>, StoreError> {
    let mut unnamed = Vec::new();
    for (agency, kinds) in agencies_in_log(store)? {
        if organisation.agency(&agency).is_some() {
            continue;
        }
        let Ok(agency_id) = AgencyId::parse(&agency) else {
            continue;
        };
        let kinds: Vec<&str> = kinds
            .iter()
            .flat_map(|(kind, n)| std::iter::repeat_n(kind.as_str(), (*n).min(1_000) as usize))
            .collect();
        unnamed.push(organisation.profile(&agency_id, kinds));
    }
    Ok(unnamed)
}
