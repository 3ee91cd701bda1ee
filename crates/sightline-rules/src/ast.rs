//! A parsed, checked rule pack. Built only by [`crate::check`]: once a `Pack`
//! exists every kind, finding code, attribute name and value in it is in the
//! interchange vocabulary, and every limit holds.

use crate::calendar::Span;
use crate::model::{AgencyType, Connection};
use sightline_core::{FindingCode, Kind, Role};
use std::fmt;

/// How urgent a firing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const NAMES: &'static [&'static str] = &["low", "medium", "high", "critical"];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which events a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Events in which the child appears or a finding names the child.
    Child,
    /// Every event in the picture, including those about household members only.
    Household,
}

/// Whom a firing is routed to, in order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteTarget {
    AllocatedWorker,
    AllocatedTeam,
    DutyTeam,
    HealthSafeguardingLead,
    PoliceSafeguarding,
    TeamManager,
}

impl RouteTarget {
    pub const NAMES: &'static [&'static str] = &[
        "allocated_worker",
        "allocated_team",
        "duty_team",
        "health_safeguarding_lead",
        "police_safeguarding",
        "team_manager",
    ];

    pub fn parse(text: &str) -> Option<RouteTarget> {
        match text {
            "allocated_worker" => Some(RouteTarget::AllocatedWorker),
            "allocated_team" => Some(RouteTarget::AllocatedTeam),
            "duty_team" => Some(RouteTarget::DutyTeam),
            "health_safeguarding_lead" => Some(RouteTarget::HealthSafeguardingLead),
            "police_safeguarding" => Some(RouteTarget::PoliceSafeguarding),
            "team_manager" => Some(RouteTarget::TeamManager),
            _ => None,
        }
    }
}

/// A social care status of the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PlanState {
    ChildProtection,
    ChildInNeed,
    LookedAfter,
}

impl PlanState {
    pub const NAMES: &'static [&'static str] =
        &["child_protection", "child_in_need", "looked_after"];

    pub fn parse(text: &str) -> Option<PlanState> {
        match text {
            "child_protection" => Some(PlanState::ChildProtection),
            "child_in_need" => Some(PlanState::ChildInNeed),
            "looked_after" => Some(PlanState::LookedAfter),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PlanState::ChildProtection => "child_protection",
            PlanState::ChildInNeed => "child_in_need",
            PlanState::LookedAfter => "looked_after",
        }
    }

    /// Plain words: "on a child protection plan".
    pub fn describe(self) -> &'static str {
        match self {
            PlanState::ChildProtection => "on a child protection plan",
            PlanState::ChildInNeed => "a child in need",
            PlanState::LookedAfter => "looked after",
        }
    }
}

/// Something that was ever true of the child (`child.ever`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    Plan(PlanState),
    /// Placed away from the parents by a safeguarding decision.
    Removed,
}

impl History {
    pub const NAMES: &'static [&'static str] = &[
        "child_protection",
        "child_in_need",
        "looked_after",
        "removed",
    ];

    pub fn parse(text: &str) -> Option<History> {
        if text == "removed" {
            return Some(History::Removed);
        }
        PlanState::parse(text).map(History::Plan)
    }
}

/// Whom a `has` condition's finding must be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum About {
    Child,
    Anyone,
    Others,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Ne,
    In,
    NotIn,
    Lt,
    Le,
    Gt,
    Ge,
    Exists,
}

/// A literal value in a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    /// An enumerated value or free text.
    Word(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(value) => write!(f, "{value}"),
            Value::Int(value) => write!(f, "{value}"),
            Value::Word(value) => f.write_str(value),
        }
    }
}

/// `name op value(s)` on a finding's or an outcome's attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeCondition {
    pub name: &'static str,
    pub comparison: Comparison,
    pub values: Vec<Value>,
}

/// One test.
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    KindIn(Vec<Kind>),
    AgencyTypeIn(Vec<AgencyType>),
    /// A finding with this code about whom, whose attributes all satisfy the conditions.
    Has {
        code: FindingCode,
        about: About,
        conditions: Vec<AttributeCondition>,
    },
    Outcome(AttributeCondition),
    ChildAge {
        comparison: Comparison,
        span: Span,
    },
    ChildNotMobile,
    ChildPresent,
    ChildRoleIn(Vec<Role>),
    ChildPlanIn(Vec<PlanState>),
    ChildEverIn(Vec<History>),
    /// Within a clock: the event is a version of the record that started the clock.
    SameRecord,
    /// A subject of the event (not the child) is connected to the child so.
    SubjectLinkIn(Vec<Connection>),
    /// A subject of the event (not the child) has a recorded offence against a
    /// child (an offence so categorised, or with a child as the victim).
    SubjectOffenceAgainstChild,
    PersonLinkIn(Vec<Connection>),
    PersonKnownToSocialCare,
    PersonOffenceIn(Vec<&'static str>),
    PersonOffenceAgainstChild,
    PersonReleasedWithin(Span),
    PersonAdult,
}

/// A boolean expression over atoms.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Atom(Atom),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl Expr {
    /// Whether any atom satisfies `test`.
    pub fn mentions(&self, test: &dyn Fn(&Atom) -> bool) -> bool {
        match self {
            Expr::Atom(atom) => test(atom),
            Expr::Not(inner) => inner.mentions(test),
            Expr::And(parts) | Expr::Or(parts) => parts.iter().any(|part| part.mentions(test)),
        }
    }
}

/// What distinct values a count must span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistinctKey {
    Agency,
    AgencyType,
    /// The referring agency when recorded, else the recording agency; with the
    /// allegation's `by` when there is one.
    Source,
}

/// `count at least N within SPAN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountClause {
    pub n_min: u32,
    pub within: Span,
}

/// `from at least K agencies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DistinctClause {
    pub n_min: u32,
    pub key: DistinctKey,
}

/// `earlier at least N within SPAN where EXPR`.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlierClause {
    pub n_min: u32,
    pub within: Span,
    pub matcher: Expr,
}

/// How a clock starts.
#[derive(Debug, Clone, PartialEq)]
pub enum ClockStart {
    /// Each matching event starts (or, unless `each`, restarts) the clock.
    Event { matcher: Expr, each: bool },
    /// The clock runs while the child is in this state.
    During(PlanState),
}

/// The shape of a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Fires when an arriving event completes the pattern.
    Event {
        matcher: Expr,
        count: Option<CountClause>,
        distinct: Option<DistinctClause>,
        earlier: Option<EarlierClause>,
    },
    /// Fires when a person around the child comes to satisfy the expression.
    Person { matcher: Expr },
    /// Fires when a deadline passes unmet.
    Clock {
        start: ClockStart,
        due: Span,
        met: Expr,
        repeat: Option<Span>,
        reset: Option<Expr>,
        cancel: Option<Expr>,
    },
}

/// `raise SEVERITY when EXPR`.
#[derive(Debug, Clone, PartialEq)]
pub struct Raise {
    pub severity: Severity,
    pub when: Expr,
}

/// One piece of an explanation template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Placeholder(Placeholder),
}

/// A value an explanation can name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placeholder {
    Agency,
    Date,
    What,
    Injury,
    Explanation,
    ChildAge,
    Mobility,
    Plan,
    Count,
    Window,
    Agencies,
    Evidence,
    Allegation,
    Outcome(&'static str),
    Person,
    Links,
    Offences,
    Released,
    Deadline,
    Due,
    Since,
    Last,
}

impl Placeholder {
    /// Every placeholder name, for "did you mean".
    pub const NAMES: &'static [&'static str] = &[
        "agency",
        "date",
        "what",
        "injury",
        "explanation",
        "child.age",
        "mobility",
        "plan",
        "count",
        "window",
        "agencies",
        "evidence",
        "allegation",
        "person",
        "links",
        "offences",
        "released",
        "deadline",
        "due",
        "since",
        "last",
    ];
}

/// One rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    /// The line of `rule ID` in the pack file.
    pub line: usize,
    pub title: String,
    pub severity: Severity,
    pub raises: Vec<Raise>,
    pub scope: Scope,
    pub body: Body,
    /// How far past the evidence a firing's window reaches, for deduplication.
    pub group: Span,
    pub explain: Vec<Piece>,
    pub cite: String,
    pub route: Vec<RouteTarget>,
}

/// A checked rule pack.
#[derive(Debug, Clone, PartialEq)]
pub struct Pack {
    pub name: String,
    pub version: String,
    pub rules: Vec<Rule>,
    /// Lint warnings found by [`crate::check`]; they do not stop the pack loading.
    pub warnings: Vec<crate::RuleError>,
}

impl Pack {
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.id == id)
    }
}
