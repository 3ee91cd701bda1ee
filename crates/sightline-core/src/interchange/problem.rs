//! What is wrong with a batch: every problem, each with its position, field path
//! and plain words.

use serde::Serialize;
use std::fmt;

/// Where in a batch a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// A line of a JSON Lines batch (1-based), or of a JSON array with a syntax error.
    Line(u64),
    /// An element of a JSON array batch (0-based).
    Index(u64),
    /// A row of a CSV batch; the header is row 1.
    Row(u64),
    /// The batch as a whole (for example, an empty batch).
    Batch,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Line(line) => write!(f, "line {line}"),
            Position::Index(index) => write!(f, "index {index}"),
            Position::Row(row) => write!(f, "row {row}"),
            Position::Batch => f.write_str("batch"),
        }
    }
}

/// One problem with a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub position: Position,
    /// The field path, such as `persons[1].dob`, or a CSV column; empty for the
    /// record (or batch) as a whole.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.position, self.message)
        } else {
            write!(f, "{}: {}: {}", self.position, self.path, self.message)
        }
    }
}

/// Why a batch was rejected: the problems found (at most `problems_max` of them)
/// and how many there were in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct BatchRejected {
    pub problems: Vec<Problem>,
    pub n_problems: u64,
    pub n_records_invalid: u64,
}

impl fmt::Display for BatchRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "batch rejected: {} problem(s) in {} record(s); nothing was stored",
            self.n_problems, self.n_records_invalid
        )?;
        for problem in &self.problems {
            writeln!(f, "{problem}")?;
        }
        let n_shown = self.problems.len() as u64;
        if self.n_problems > n_shown {
            writeln!(f, "... and {} more", self.n_problems - n_shown)?;
        }
        Ok(())
    }
}

/// Collects problems up to a limit, counting the rest.
#[derive(Debug)]
pub struct ProblemSink {
    problems: Vec<Problem>,
    n_problems: u64,
    n_records_invalid: u64,
    problems_max: usize,
}

impl ProblemSink {
    pub fn new(problems_max: usize) -> Self {
        ProblemSink {
            problems: Vec::new(),
            n_problems: 0,
            n_records_invalid: 0,
            problems_max,
        }
    }

    /// Adds the problems of one record (or batch-level problems).
    pub fn add_record_problems(&mut self, problems: Vec<Problem>) {
        if problems.is_empty() {
            return;
        }
        self.n_records_invalid += 1;
        self.n_problems += problems.len() as u64;
        let room = self.problems_max.saturating_sub(self.problems.len());
        self.problems.extend(problems.into_iter().take(room));
    }

    /// Adds a problem with the batch as a whole (not counted as an invalid record).
    pub fn add_batch_problem(&mut self, message: String) {
        self.n_problems += 1;
        if self.problems.len() < self.problems_max {
            self.problems.push(Problem {
                position: Position::Batch,
                path: String::new(),
                message,
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.n_problems == 0
    }

    /// `Ok(())` when no problem was found, else the rejection.
    pub fn finish(self) -> Result<(), BatchRejected> {
        if self.n_problems == 0 {
            return Ok(());
        }
        Err(BatchRejected {
            problems: self.problems,
            n_problems: self.n_problems,
            n_records_invalid: self.n_records_invalid,
        })
    }
}
