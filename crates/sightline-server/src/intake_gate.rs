//! How many intake requests run at once: per agency and in all (issue #15,
//! finding 15: 48 concurrent 31 MB batches took 1.4 GB). A request over either
//! limit is answered 429 with `Retry-After` before its body is read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The limits (`ServerConfig::intake_concurrent_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntakeLimits {
    /// Batches one agency may have in progress at once.
    pub per_agency_max: usize,
    /// Batches in progress at once, all agencies together.
    pub total_max: usize,
}

impl Default for IntakeLimits {
    fn default() -> Self {
        IntakeLimits {
            per_agency_max: 2,
            total_max: 8,
        }
    }
}

/// Counts the batches in progress.
#[derive(Debug, Default)]
pub struct IntakeGate {
    limits: IntakeLimits,
    state: Mutex<GateState>,
}

#[derive(Debug, Default)]
struct GateState {
    total: usize,
    per_agency: HashMap<String, usize>,
}

/// Which limit refused a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// The agency already has `per_agency_max` batches in progress.
    Agency(usize),
    /// The server already has `total_max` in progress.
    Server(usize),
}

/// A batch in progress; dropping it frees its place.
#[derive(Debug)]
pub struct IntakePermit {
    gate: Arc<IntakeGate>,
    agency: String,
}

impl IntakeGate {
    pub fn new(limits: IntakeLimits) -> Self {
        IntakeGate {
            limits,
            state: Mutex::default(),
        }
    }

    /// A place for one batch of `agency`, or which limit is reached.
    pub fn try_enter(self: &Arc<Self>, agency: &str) -> Result<IntakePermit, Busy> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.total >= self.limits.total_max {
            return Err(Busy::Server(self.limits.total_max));
        }
        let in_progress = state.per_agency.get(agency).copied().unwrap_or(0);
        if in_progress >= self.limits.per_agency_max {
            return Err(Busy::Agency(self.limits.per_agency_max));
        }
        state.total += 1;
        state.per_agency.insert(agency.to_owned(), in_progress + 1);
        Ok(IntakePermit {
            gate: self.clone(),
            agency: agency.to_owned(),
        })
    }
}

impl Drop for IntakePermit {
    fn drop(&mut self) {
        let mut state = self
            .gate
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.total = state.total.saturating_sub(1);
        if let Some(count) = state.per_agency.get_mut(&self.agency) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.per_agency.remove(&self.agency);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_agency_and_in_all_and_frees_on_drop() {
        let gate = Arc::new(IntakeGate::new(IntakeLimits {
            per_agency_max: 2,
            total_max: 3,
        }));
        let first = gate.try_enter("police").expect("first");
        let second = gate.try_enter("police").expect("second");
        assert_eq!(gate.try_enter("police").unwrap_err(), Busy::Agency(2));
        let third = gate.try_enter("health").expect("another agency");
        assert_eq!(gate.try_enter("school").unwrap_err(), Busy::Server(3));
        drop(first);
        let again = gate.try_enter("police").expect("a place was freed");
        drop((second, third, again));
        let state = gate.state.lock().expect("lock");
        assert_eq!(state.total, 0);
        assert!(state.per_agency.is_empty());
    }
}
