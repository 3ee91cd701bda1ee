//! Records as the simulation produces them, before an agency's recording habits and
//! ids are applied.

use crate::date::{Day, MINUTES_PER_DAY};

/// When something happened, at the precision the agency knows it.
#[derive(Debug, Clone, Copy)]
pub enum When {
    /// Minutes since the epoch.
    At(i64),
    Date(Day),
    Month(Day),
}

impl When {
    /// A time of day on `day`, `minute_of_day` from midnight.
    pub fn at(day: Day, minute_of_day: i64) -> When {
        When::At(day.start_minute() + minute_of_day.clamp(0, MINUTES_PER_DAY - 1))
    }

    /// The earliest minute it may denote.
    pub fn start_minute(self) -> i64 {
        match self {
            When::At(minute) => minute,
            When::Date(day) => day.start_minute(),
            When::Month(day) => {
                let (year, month, _) = day.ymd();
                Day::from_ymd(year, month, 1).start_minute()
            }
        }
    }

    pub fn day(self) -> Day {
        Day(self.start_minute().div_euclid(MINUTES_PER_DAY) as i32)
    }
}

/// A value in an outcome or a finding.
#[derive(Debug, Clone)]
pub enum Value {
    Bool(bool),
    Text(&'static str),
    Owned(String),
    Int(u32),
}

/// How fully an agency records a person in this record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Demographics as the agency holds them.
    Full,
    /// Only a first name (an adult seen at a visit, introduced by name).
    GivenNameOnly,
    /// A full name but no date of birth or address (someone named on a form).
    NameOnly,
    /// A newborn not yet named: family name and an alias "Baby <family>".
    Newborn,
}

/// One person in a draft record: a household member and the role they play.
#[derive(Debug, Clone, Copy)]
pub struct DraftPerson {
    pub member: u8,
    pub role: &'static str,
    pub style: Style,
}

/// A coded finding; `subjects` index the draft's persons (empty: the default).
#[derive(Debug, Clone)]
pub struct Finding {
    pub code: &'static str,
    pub attributes: Vec<(&'static str, Value)>,
    pub subjects: Vec<usize>,
}

impl Finding {
    pub fn new(code: &'static str) -> Finding {
        Finding {
            code,
            attributes: Vec::new(),
            subjects: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: Value) -> Finding {
        self.attributes.push((name, value));
        self
    }

    pub fn about(mut self, person: usize) -> Finding {
        self.subjects.push(person);
        self
    }

    /// An injury finding.
    pub fn injury(
        kind: &'static str,
        site: &'static str,
        count: u32,
        explanation: &'static str,
    ) -> Finding {
        Finding::new("injury")
            .with("type", Value::Text(kind))
            .with("site", Value::Text(site))
            .with("count", Value::Int(count))
            .with("explanation", Value::Text(explanation))
    }
}

/// A record before rendering.
#[derive(Debug, Clone)]
pub struct Draft {
    pub agency: usize,
    pub kind: &'static str,
    pub when: When,
    /// Minutes from the event to its recording.
    pub delay_minutes: i64,
    pub persons: Vec<DraftPerson>,
    pub findings: Vec<Finding>,
    /// `(from, to, type)`, indices into `persons`.
    pub relationships: Vec<(usize, usize, &'static str)>,
    pub narrative: Option<String>,
    pub outcome: Vec<(&'static str, Value)>,
    /// Carries an alerting feature of the household's harm trajectory.
    pub alerting: bool,
}

impl Draft {
    pub fn new(agency: usize, kind: &'static str, when: When, delay_minutes: i64) -> Draft {
        Draft {
            agency,
            kind,
            when,
            delay_minutes: delay_minutes.max(0),
            persons: Vec::new(),
            findings: Vec::new(),
            relationships: Vec::new(),
            narrative: None,
            outcome: Vec::new(),
            alerting: false,
        }
    }

    /// Adds a person and returns its index.
    pub fn person(&mut self, member: u8, role: &'static str) -> usize {
        self.person_styled(member, role, Style::Full)
    }

    pub fn person_styled(&mut self, member: u8, role: &'static str, style: Style) -> usize {
        if let Some(existing) = self
            .persons
            .iter()
            .position(|person| person.member == member)
        {
            return existing;
        }
        self.persons.push(DraftPerson {
            member,
            role,
            style,
        });
        self.persons.len() - 1
    }

    pub fn narrative(mut self, text: impl Into<String>) -> Draft {
        self.narrative = Some(text.into());
        self
    }

    pub fn outcome(mut self, name: &'static str, value: Value) -> Draft {
        self.outcome.push((name, value));
        self
    }

    pub fn finding(mut self, finding: Finding) -> Draft {
        self.findings.push(finding);
        self
    }

    pub fn alerting(mut self) -> Draft {
        self.alerting = true;
        self
    }
}
