//! The rule language: lines into clauses, clauses into tokens, tokens into a
//! checked [`Pack`]. Every problem is reported with its line and column, and every
//! name is checked against the interchange vocabulary with a "did you mean".

use crate::ast::*;
use crate::calendar::{Span, SpanUnit};
use crate::model::{AgencyType, Connection};
use sightline_core::vocab::{
    AttributeSpec, AttributeType, OFFENCE_CATEGORIES, did_you_mean, finding_attributes,
    outcome_attributes,
};
use sightline_core::{FindingCode, Kind, Role};
use std::fmt;

/// The limits the checker enforces. Units are last in the names.
pub mod limits {
    pub const FILE_BYTES_MAX: usize = 256 * 1024;
    pub const LINE_CHARS_MAX: usize = 1_000;
    pub const RULES_MAX: usize = 300;
    pub const ID_CHARS_MAX: usize = 64;
    pub const EXPRESSION_NODES_MAX: usize = 128;
    pub const EXPRESSION_DEPTH_MAX: usize = 12;
    pub const LIST_ITEMS_MAX: usize = 64;
    pub const COUNT_MAX: u32 = 100;
    pub const TEXT_CHARS_MAX: usize = 1_000;
    pub const RAISES_MAX: usize = 8;
    pub const ERRORS_MAX: usize = 200;
}

/// Error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

/// A problem in a rule file, at a line and column (both 1-based, columns in
/// characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    pub line: usize,
    pub column: usize,
    pub level: Level,
    pub message: String,
}

impl RuleError {
    /// `FILE:LINE:COLUMN: message`, or `FILE:LINE:COLUMN: warning: message`.
    pub fn with_file(&self, file_name: &str) -> String {
        format!("{file_name}:{self}")
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.level {
            Level::Error => write!(f, "{}:{}: {}", self.line, self.column, self.message),
            Level::Warning => write!(
                f,
                "{}:{}: warning: {}",
                self.line, self.column, self.message
            ),
        }
    }
}

/// Where in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    line: usize,
    column: usize,
}

fn error_at(position: Position, message: impl Into<String>) -> RuleError {
    RuleError {
        line: position.line,
        column: position.column,
        level: Level::Error,
        message: message.into(),
    }
}

fn warning_at(position: Position, message: impl Into<String>) -> RuleError {
    RuleError {
        line: position.line,
        column: position.column,
        level: Level::Warning,
        message: message.into(),
    }
}

/// `(did you mean "x"?)` when there is a close candidate.
fn suggestion(input: &str, candidates: &[&str]) -> String {
    match did_you_mean(input, candidates) {
        Some(candidate) => format!(" (did you mean \"{candidate}\"?)"),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------
// Lines into clauses.

/// A run of text on one line.
#[derive(Debug, Clone)]
struct Fragment<'a> {
    position: Position,
    text: &'a str,
}

/// One clause: a keyword and the text after it, including continuation lines.
#[derive(Debug, Clone)]
struct Clause<'a> {
    keyword: &'a str,
    position: Position,
    fragments: Vec<Fragment<'a>>,
}

impl Clause<'_> {
    /// Where the clause's text ends, for "expected more" errors.
    fn end(&self) -> Position {
        match self.fragments.last() {
            Some(fragment) => Position {
                line: fragment.position.line,
                column: fragment.position.column + fragment.text.chars().count(),
            },
            None => Position {
                line: self.position.line,
                column: self.position.column + self.keyword.chars().count(),
            },
        }
    }

    /// The clause's text with lines joined by single spaces.
    fn joined_text(&self) -> String {
        self.fragments
            .iter()
            .map(|fragment| fragment.text.trim())
            .filter(|text| !text.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A rule's lines before they are understood.
#[derive(Debug)]
struct RawRule<'a> {
    id: &'a str,
    position: Position,
    clauses: Vec<Clause<'a>>,
    clause_indent: Option<usize>,
}

const CLAUSE_KEYWORDS: &[&str] = &[
    "title", "severity", "raise", "scope", "match", "person", "count", "from", "earlier", "group",
    "explain", "cite", "route", "start", "during", "due", "met", "repeat", "reset", "cancel",
];

/// Splits `text` at its first run of whitespace: `(word, rest, rest's char offset)`.
fn first_word(text: &str) -> (&str, &str, usize) {
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    let (word, rest) = text.split_at(end);
    let rest_trimmed = rest.trim_start();
    let offset = word.chars().count() + (rest.chars().count() - rest_trimmed.chars().count());
    (word, rest_trimmed, offset)
}

struct Header<'a> {
    name: Option<(&'a str, Position)>,
    version: Option<(&'a str, Position)>,
}

fn split_lines<'a>(text: &'a str, errors: &mut Vec<RuleError>) -> (Header<'a>, Vec<RawRule<'a>>) {
    let mut header = Header {
        name: None,
        version: None,
    };
    let mut rules: Vec<RawRule<'a>> = Vec::new();
    for (line_idx, raw_line) in text.lines().enumerate() {
        let line = line_idx + 1;
        let n_chars = raw_line.chars().count();
        if n_chars > limits::LINE_CHARS_MAX {
            errors.push(error_at(
                Position {
                    line,
                    column: limits::LINE_CHARS_MAX + 1,
                },
                format!(
                    "the line is {n_chars} characters long (at most {})",
                    limits::LINE_CHARS_MAX
                ),
            ));
            continue;
        }
        let trimmed = raw_line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = n_chars - trimmed.chars().count();
        let trimmed = trimmed.trim_end();
        let position = Position {
            line,
            column: indent + 1,
        };
        let (word, rest, rest_offset) = first_word(trimmed);
        let rest_position = Position {
            line,
            column: indent + 1 + rest_offset,
        };
        if indent == 0 {
            match word {
                "pack" | "version" if !rules.is_empty() => errors.push(error_at(
                    position,
                    format!("\"{word}\" must come before the first rule"),
                )),
                "pack" => header.name = Some((rest, rest_position)),
                "version" => header.version = Some((rest, rest_position)),
                "rule" => rules.push(RawRule {
                    id: rest,
                    position: rest_position,
                    clauses: Vec::new(),
                    clause_indent: None,
                }),
                _ => {
                    let hint = if CLAUSE_KEYWORDS.contains(&word) {
                        " (clauses of a rule are indented under `rule ID`)".to_owned()
                    } else {
                        suggestion(word, &["pack", "version", "rule"])
                    };
                    errors.push(error_at(
                        position,
                        format!("expected `pack`, `version` or `rule`, found \"{word}\"{hint}"),
                    ));
                }
            }
            continue;
        }
        let Some(rule) = rules.last_mut() else {
            errors.push(error_at(position, "an indented clause outside any rule"));
            continue;
        };
        let is_continuation = matches!(rule.clause_indent, Some(clause_indent) if indent > clause_indent)
            && !rule.clauses.is_empty();
        if is_continuation {
            if let Some(clause) = rule.clauses.last_mut() {
                clause.fragments.push(Fragment {
                    position,
                    text: trimmed,
                });
            }
            continue;
        }
        rule.clause_indent = Some(indent);
        let mut fragments = Vec::new();
        if !rest.is_empty() {
            fragments.push(Fragment {
                position: rest_position,
                text: rest,
            });
        }
        rule.clauses.push(Clause {
            keyword: word,
            position,
            fragments,
        });
    }
    (header, rules)
}

// ---------------------------------------------------------------------------
// Tokens.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Text(String),
    Int(i64),
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
    Compare(Comparison),
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Word(word) => write!(f, "\"{word}\""),
            Tok::Text(text) => write!(f, "\"{text}\""),
            Tok::Int(value) => write!(f, "{value}"),
            Tok::Open => f.write_str("\"(\""),
            Tok::Close => f.write_str("\")\""),
            Tok::OpenList => f.write_str("\"[\""),
            Tok::CloseList => f.write_str("\"]\""),
            Tok::Comma => f.write_str("\",\""),
            Tok::Compare(comparison) => write!(f, "\"{}\"", comparison_text(*comparison)),
        }
    }
}

fn comparison_text(comparison: Comparison) -> &'static str {
    match comparison {
        Comparison::Eq => "==",
        Comparison::Ne => "!=",
        Comparison::Lt => "<",
        Comparison::Le => "<=",
        Comparison::Gt => ">",
        Comparison::Ge => ">=",
        Comparison::In => "in",
        Comparison::NotIn => "not in",
        Comparison::Exists => "exists",
    }
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    position: Position,
}

fn is_word_char(character: char) -> bool {
    character.is_alphanumeric() || matches!(character, '_' | '.' | '*' | '-' | '/')
}

fn tokenize(clause: &Clause<'_>) -> Result<Vec<Token>, RuleError> {
    let mut tokens = Vec::new();
    for fragment in &clause.fragments {
        let chars: Vec<char> = fragment.text.chars().collect();
        let mut idx = 0;
        while idx < chars.len() {
            let character = chars[idx];
            let position = Position {
                line: fragment.position.line,
                column: fragment.position.column + idx,
            };
            if character.is_whitespace() {
                idx += 1;
                continue;
            }
            if character == '#' {
                break;
            }
            let single = match character {
                '(' => Some(Tok::Open),
                ')' => Some(Tok::Close),
                '[' => Some(Tok::OpenList),
                ']' => Some(Tok::CloseList),
                ',' => Some(Tok::Comma),
                _ => None,
            };
            if let Some(tok) = single {
                tokens.push(Token { tok, position });
                idx += 1;
                continue;
            }
            let next = chars.get(idx + 1).copied();
            let compare = match (character, next) {
                ('=', Some('=')) => Some((Comparison::Eq, 2)),
                ('!', Some('=')) => Some((Comparison::Ne, 2)),
                ('<', Some('=')) => Some((Comparison::Le, 2)),
                ('>', Some('=')) => Some((Comparison::Ge, 2)),
                ('<', _) => Some((Comparison::Lt, 1)),
                ('>', _) => Some((Comparison::Gt, 1)),
                _ => None,
            };
            if let Some((comparison, width)) = compare {
                tokens.push(Token {
                    tok: Tok::Compare(comparison),
                    position,
                });
                idx += width;
                continue;
            }
            if character == '=' {
                return Err(error_at(position, "use \"==\" to compare, not \"=\""));
            }
            if character == '"' {
                let mut text = String::new();
                let mut end = idx + 1;
                let mut closed = false;
                while end < chars.len() {
                    match chars[end] {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' if end + 1 < chars.len() => {
                            text.push(chars[end + 1]);
                            end += 2;
                        }
                        other => {
                            text.push(other);
                            end += 1;
                        }
                    }
                }
                if !closed {
                    return Err(error_at(
                        position,
                        "a quoted text is not closed on this line",
                    ));
                }
                tokens.push(Token {
                    tok: Tok::Text(text),
                    position,
                });
                idx = end + 1;
                continue;
            }
            if is_word_char(character) {
                let mut end = idx;
                while end < chars.len() && is_word_char(chars[end]) {
                    end += 1;
                }
                let word: String = chars[idx..end].iter().collect();
                let tok = if word.bytes().all(|byte| byte.is_ascii_digit()) {
                    match word.parse::<i64>() {
                        Ok(value) => Tok::Int(value),
                        Err(_) => return Err(error_at(position, format!("{word} is too large"))),
                    }
                } else {
                    Tok::Word(word)
                };
                tokens.push(Token { tok, position });
                idx = end;
                continue;
            }
            return Err(error_at(
                position,
                format!("unexpected character '{character}'"),
            ));
        }
    }
    Ok(tokens)
}

// ---------------------------------------------------------------------------
// Token cursor.

/// Where expressions may be used, which decides which atoms are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// A condition on one event.
    Event,
    /// A condition on one event within a clock (`same_record` allowed).
    ClockEvent,
    /// A condition on a person around the child at a moment.
    Person,
}

struct Cursor<'t> {
    tokens: &'t [Token],
    idx: usize,
    end: Position,
    n_nodes: usize,
}

impl<'t> Cursor<'t> {
    fn new(tokens: &'t [Token], end: Position) -> Self {
        Cursor {
            tokens,
            idx: 0,
            end,
            n_nodes: 0,
        }
    }

    fn peek(&self) -> Option<&'t Token> {
        self.tokens.get(self.idx)
    }

    fn position(&self) -> Position {
        self.peek().map_or(self.end, |token| token.position)
    }

    fn next(&mut self) -> Option<&'t Token> {
        let token = self.tokens.get(self.idx);
        if token.is_some() {
            self.idx += 1;
        }
        token
    }

    fn at_end(&self) -> bool {
        self.idx >= self.tokens.len()
    }

    fn peek_word(&self) -> Option<&'t str> {
        match self.peek() {
            Some(Token {
                tok: Tok::Word(word),
                ..
            }) => Some(word.as_str()),
            _ => None,
        }
    }

    fn eat_word(&mut self, expected: &str) -> bool {
        if self.peek_word() == Some(expected) {
            self.idx += 1;
            true
        } else {
            false
        }
    }

    fn expect_word(&mut self, expected: &str) -> Result<(), RuleError> {
        if self.eat_word(expected) {
            return Ok(());
        }
        Err(self.unexpected(&format!("\"{expected}\"")))
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek().map(|token| &token.tok) == Some(tok) {
            self.idx += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), RuleError> {
        if self.eat(tok) {
            return Ok(());
        }
        Err(self.unexpected(&tok.to_string()))
    }

    fn unexpected(&self, expected: &str) -> RuleError {
        match self.peek() {
            Some(token) => error_at(
                token.position,
                format!("expected {expected}, found {}", token.tok),
            ),
            None => error_at(
                self.end,
                format!("expected {expected} at the end of the clause"),
            ),
        }
    }

    fn expect_end(&self) -> Result<(), RuleError> {
        match self.peek() {
            None => Ok(()),
            Some(token) => Err(error_at(
                token.position,
                format!("unexpected {} (expected the end of the clause)", token.tok),
            )),
        }
    }

    fn word(&mut self, what: &str) -> Result<(String, Position), RuleError> {
        match self.next() {
            Some(Token {
                tok: Tok::Word(word),
                position,
            }) => Ok((word.clone(), *position)),
            Some(Token {
                tok: Tok::Text(text),
                position,
            }) => Ok((text.clone(), *position)),
            Some(token) => Err(error_at(
                token.position,
                format!("expected {what}, found {}", token.tok),
            )),
            None => Err(error_at(
                self.end,
                format!("expected {what} at the end of the clause"),
            )),
        }
    }

    fn int(&mut self, what: &str, max: u32) -> Result<u32, RuleError> {
        match self.next() {
            Some(Token {
                tok: Tok::Int(value),
                position,
            }) => {
                let value = u32::try_from(*value).unwrap_or(u32::MAX);
                if value == 0 || value > max {
                    return Err(error_at(
                        *position,
                        format!("{what} must be from 1 to {max}"),
                    ));
                }
                Ok(value)
            }
            Some(token) => Err(error_at(
                token.position,
                format!("expected {what} (a whole number), found {}", token.tok),
            )),
            None => Err(error_at(
                self.end,
                format!("expected {what} at the end of the clause"),
            )),
        }
    }

    /// `N days`, `N working days`, `N weeks`, `N months`, `N years`, at most about
    /// three years (windows, deadlines).
    fn span(&mut self) -> Result<Span, RuleError> {
        self.span_limited(1)
    }

    /// An age: up to 25 years.
    fn age_span(&mut self) -> Result<Span, RuleError> {
        self.span_limited(8)
    }

    /// A span at most `factor` times the unit's window limit.
    fn span_limited(&mut self, factor: u32) -> Result<Span, RuleError> {
        let position = self.position();
        let amount = match self.next() {
            Some(Token {
                tok: Tok::Int(value),
                ..
            }) => u32::try_from(*value).unwrap_or(u32::MAX),
            Some(token) => {
                return Err(error_at(
                    token.position,
                    format!(
                        "expected a length of time such as \"90 days\", found {}",
                        token.tok
                    ),
                ));
            }
            None => {
                return Err(error_at(
                    self.end,
                    "expected a length of time such as \"90 days\"",
                ));
            }
        };
        let unit_position = self.position();
        let (unit_word, _) = self.word("a unit (days, working days, weeks, months, years)")?;
        let unit = match unit_word.as_str() {
            "day" | "days" => SpanUnit::Days,
            "week" | "weeks" => SpanUnit::Weeks,
            "month" | "months" => SpanUnit::Months,
            "year" | "years" => SpanUnit::Years,
            "working" => {
                let (days, days_position) = self.word("\"days\"")?;
                if days != "days" && days != "day" {
                    return Err(error_at(
                        days_position,
                        format!("expected \"days\", found \"{days}\""),
                    ));
                }
                SpanUnit::WorkingDays
            }
            other => {
                let units = ["days", "working", "weeks", "months", "years"];
                return Err(error_at(
                    unit_position,
                    format!(
                        "\"{other}\" is not a unit of time{}",
                        suggestion(other, &units)
                    ),
                ));
            }
        };
        let amount_max = unit.amount_max() * factor;
        if amount > amount_max {
            return Err(error_at(
                position,
                format!(
                    "{} is longer than the limit of {}",
                    Span::new(amount, unit),
                    Span::new(amount_max, unit)
                ),
            ));
        }
        Ok(Span::new(amount, unit))
    }
}

// ---------------------------------------------------------------------------
// Expressions.

fn parse_expression(
    cursor: &mut Cursor<'_>,
    context: Context,
    depth: usize,
) -> Result<Expr, RuleError> {
    if depth > limits::EXPRESSION_DEPTH_MAX {
        return Err(error_at(
            cursor.position(),
            format!(
                "the condition is nested more than {} deep",
                limits::EXPRESSION_DEPTH_MAX
            ),
        ));
    }
    let mut parts = vec![parse_and(cursor, context, depth)?];
    while cursor.eat_word("or") {
        parts.push(parse_and(cursor, context, depth)?);
    }
    Ok(if parts.len() == 1 {
        parts.remove(0)
    } else {
        Expr::Or(parts)
    })
}

fn parse_and(cursor: &mut Cursor<'_>, context: Context, depth: usize) -> Result<Expr, RuleError> {
    let mut parts = vec![parse_unary(cursor, context, depth)?];
    while cursor.eat_word("and") {
        parts.push(parse_unary(cursor, context, depth)?);
    }
    Ok(if parts.len() == 1 {
        parts.remove(0)
    } else {
        Expr::And(parts)
    })
}

fn parse_unary(cursor: &mut Cursor<'_>, context: Context, depth: usize) -> Result<Expr, RuleError> {
    cursor.n_nodes += 1;
    if cursor.n_nodes > limits::EXPRESSION_NODES_MAX {
        return Err(error_at(
            cursor.position(),
            format!(
                "the condition has more than {} parts",
                limits::EXPRESSION_NODES_MAX
            ),
        ));
    }
    if cursor.eat_word("not") {
        return Ok(Expr::Not(Box::new(parse_unary(
            cursor,
            context,
            depth + 1,
        )?)));
    }
    if cursor.eat(&Tok::Open) {
        let inner = parse_expression(cursor, context, depth + 1)?;
        cursor.expect(&Tok::Close)?;
        return Ok(inner);
    }
    parse_atom(cursor, context)
}

const ATOM_NAMES: &[&str] = &[
    "kind",
    "agency_type",
    "has",
    "outcome.",
    "child.age",
    "child.not_mobile",
    "child.present",
    "child.role",
    "child.plan",
    "child.ever",
    "same_record",
    "subject.link",
    "subject.offence_against_child",
    "person.link",
    "person.known_to_social_care",
    "person.offence",
    "person.offence_against_child",
    "person.released",
    "person.adult",
];

fn parse_atom(cursor: &mut Cursor<'_>, context: Context) -> Result<Expr, RuleError> {
    let position = cursor.position();
    let (name, _) = match cursor.peek() {
        Some(Token {
            tok: Tok::Word(_), ..
        }) => cursor.word("a condition")?,
        _ => return Err(cursor.unexpected("a condition")),
    };
    let event_only = |what: &str| -> Result<(), RuleError> {
        if context == Context::Person {
            Err(error_at(
                position,
                format!(
                    "\"{what}\" is a condition on a record; a `person` rule tests people (person.*, child.age, child.plan, child.ever)"
                ),
            ))
        } else {
            Ok(())
        }
    };
    let person_only = |what: &str| -> Result<(), RuleError> {
        if context == Context::Person {
            Ok(())
        } else {
            Err(error_at(
                position,
                format!(
                    "\"{what}\" tests a person around the child and is only allowed in a `person` clause"
                ),
            ))
        }
    };
    match name.as_str() {
        "kind" => {
            event_only("kind")?;
            let (comparison, words) = parse_membership(cursor)?;
            let mut kinds = Vec::new();
            for (word, word_position) in words {
                kinds.extend(parse_kinds(&word, word_position)?);
            }
            Ok(negate_if(comparison, Atom::KindIn(kinds)))
        }
        "agency_type" => {
            event_only("agency_type")?;
            let (comparison, words) = parse_membership(cursor)?;
            let types = parse_words(
                words,
                "an agency type",
                AgencyType::NAMES,
                AgencyType::parse,
            )?;
            Ok(negate_if(comparison, Atom::AgencyTypeIn(types)))
        }
        "has" => {
            event_only("has")?;
            let (code_word, code_position) = cursor.word("a finding code")?;
            let code = parse_finding_code(&code_word, code_position)?;
            let mut conditions = Vec::new();
            if cursor.eat(&Tok::Open) {
                loop {
                    let (attribute, attribute_position) = cursor.word("an attribute name")?;
                    conditions.push(parse_finding_condition(
                        cursor,
                        code,
                        &attribute,
                        attribute_position,
                    )?);
                    if cursor.eat(&Tok::Comma) {
                        continue;
                    }
                    cursor.expect(&Tok::Close)?;
                    break;
                }
            }
            let about = if cursor.eat_word("about") {
                let (whom, whom_position) = cursor.word("child, anyone or others")?;
                match whom.as_str() {
                    "child" => About::Child,
                    "anyone" => About::Anyone,
                    "others" => About::Others,
                    _ => {
                        return Err(error_at(
                            whom_position,
                            format!(
                                "expected child, anyone or others, found \"{whom}\"{}",
                                suggestion(&whom, &["child", "anyone", "others"])
                            ),
                        ));
                    }
                }
            } else {
                About::Child
            };
            Ok(Expr::Atom(Atom::Has {
                code,
                about,
                conditions,
            }))
        }
        "same_record" => {
            if context != Context::ClockEvent {
                return Err(error_at(
                    position,
                    "\"same_record\" is only allowed in the met, reset and cancel clauses of a clock",
                ));
            }
            Ok(Expr::Atom(Atom::SameRecord))
        }
        "child.age" => {
            let comparison = match cursor.next() {
                Some(Token {
                    tok:
                        Tok::Compare(
                            comparison @ (Comparison::Lt
                            | Comparison::Le
                            | Comparison::Gt
                            | Comparison::Ge),
                        ),
                    ..
                }) => *comparison,
                _ => {
                    cursor.idx = cursor.idx.saturating_sub(1);
                    return Err(cursor.unexpected("<, <=, > or >= after child.age"));
                }
            };
            let span_position = cursor.position();
            let span = cursor.age_span()?;
            if span.unit == SpanUnit::WorkingDays {
                return Err(error_at(
                    span_position,
                    "an age is not counted in working days",
                ));
            }
            Ok(Expr::Atom(Atom::ChildAge { comparison, span }))
        }
        "child.not_mobile" => {
            event_only(&name)?;
            Ok(Expr::Atom(Atom::ChildNotMobile))
        }
        "child.present" => {
            event_only(&name)?;
            Ok(Expr::Atom(Atom::ChildPresent))
        }
        "child.role" => {
            event_only(&name)?;
            let (comparison, words) = parse_membership(cursor)?;
            let roles = parse_words(words, "a role", Role::NAMES, Role::parse)?;
            Ok(negate_if(comparison, Atom::ChildRoleIn(roles)))
        }
        "child.plan" => {
            let (comparison, words) = parse_membership(cursor)?;
            let states = parse_words(words, "a plan", PlanState::NAMES, PlanState::parse)?;
            Ok(negate_if(comparison, Atom::ChildPlanIn(states)))
        }
        "child.ever" => {
            let (comparison, words) = parse_membership(cursor)?;
            let histories = parse_words(
                words,
                "something child.ever knows",
                History::NAMES,
                History::parse,
            )?;
            Ok(negate_if(comparison, Atom::ChildEverIn(histories)))
        }
        "subject.link" | "person.link" => {
            if name == "subject.link" {
                event_only(&name)?;
            } else {
                person_only(&name)?;
            }
            let (comparison, words) = parse_membership(cursor)?;
            let connections =
                parse_words(words, "a connection", Connection::NAMES, Connection::parse)?;
            let atom = if name == "subject.link" {
                Atom::SubjectLinkIn(connections)
            } else {
                Atom::PersonLinkIn(connections)
            };
            Ok(negate_if(comparison, atom))
        }
        "subject.offence_against_child" => {
            event_only(&name)?;
            Ok(Expr::Atom(Atom::SubjectOffenceAgainstChild))
        }
        "person.known_to_social_care" => {
            person_only(&name)?;
            Ok(Expr::Atom(Atom::PersonKnownToSocialCare))
        }
        "person.offence_against_child" => {
            person_only(&name)?;
            Ok(Expr::Atom(Atom::PersonOffenceAgainstChild))
        }
        "person.adult" => {
            person_only(&name)?;
            Ok(Expr::Atom(Atom::PersonAdult))
        }
        "person.offence" => {
            person_only(&name)?;
            let (comparison, words) = parse_membership(cursor)?;
            let mut categories = Vec::new();
            for (word, word_position) in words {
                let category = OFFENCE_CATEGORIES
                    .iter()
                    .copied()
                    .find(|category| *category == word)
                    .ok_or_else(|| {
                        error_at(
                            word_position,
                            format!(
                                "\"{word}\" is not an offence category{}",
                                suggestion(&word, OFFENCE_CATEGORIES)
                            ),
                        )
                    })?;
                categories.push(category);
            }
            Ok(negate_if(comparison, Atom::PersonOffenceIn(categories)))
        }
        "person.released" => {
            person_only(&name)?;
            cursor.expect_word("within")?;
            Ok(Expr::Atom(Atom::PersonReleasedWithin(cursor.span()?)))
        }
        _ => {
            if let Some(attribute) = name.strip_prefix("outcome.") {
                event_only(&name)?;
                return parse_outcome_condition(cursor, attribute, position)
                    .map(|condition| Expr::Atom(Atom::Outcome(condition)));
            }
            if let Some((code_word, attribute)) = name.split_once('.')
                && !matches!(code_word, "child" | "person" | "subject")
            {
                event_only(&name)?;
                let code = parse_finding_code(code_word, position)?;
                let attribute_position = Position {
                    line: position.line,
                    column: position.column + code_word.chars().count() + 1,
                };
                let condition =
                    parse_finding_condition(cursor, code, attribute, attribute_position)?;
                return Ok(Expr::Atom(Atom::Has {
                    code,
                    about: About::Child,
                    conditions: vec![condition],
                }));
            }
            Err(error_at(
                position,
                format!(
                    "unknown condition \"{name}\"{}",
                    suggestion(&name, ATOM_NAMES)
                ),
            ))
        }
    }
}

/// `!=` and `not in` are the negation of `==` and `in`.
fn negate_if(comparison: Comparison, atom: Atom) -> Expr {
    match comparison {
        Comparison::Ne | Comparison::NotIn => Expr::Not(Box::new(Expr::Atom(atom))),
        _ => Expr::Atom(atom),
    }
}

/// `== X`, `!= X`, `in [X, Y]`, `not in [X, Y]`: the comparison and the words.
/// Parses each word of a membership list with `parse`, naming `what` a word
/// should be (with a "did you mean" from `names`) at the first that is not.
fn parse_words<T>(
    words: Vec<(String, Position)>,
    what: &str,
    names: &[&str],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, RuleError> {
    words
        .into_iter()
        .map(|(word, word_position)| {
            parse(&word).ok_or_else(|| {
                error_at(
                    word_position,
                    format!("\"{word}\" is not {what}{}", suggestion(&word, names)),
                )
            })
        })
        .collect()
}

fn parse_membership(
    cursor: &mut Cursor<'_>,
) -> Result<(Comparison, Vec<(String, Position)>), RuleError> {
    let comparison = match cursor.peek() {
        Some(Token {
            tok: Tok::Compare(comparison @ (Comparison::Eq | Comparison::Ne)),
            ..
        }) => {
            let comparison = *comparison;
            cursor.idx += 1;
            comparison
        }
        Some(Token {
            tok: Tok::Word(word),
            ..
        }) if word == "in" => {
            cursor.idx += 1;
            Comparison::In
        }
        Some(Token {
            tok: Tok::Word(word),
            ..
        }) if word == "not" => {
            cursor.idx += 1;
            cursor.expect_word("in")?;
            Comparison::NotIn
        }
        _ => return Err(cursor.unexpected("==, !=, in or not in")),
    };
    let words = match comparison {
        Comparison::In | Comparison::NotIn => parse_list(cursor)?
            .into_iter()
            .map(|(value, position)| (value.to_string(), position))
            .collect(),
        _ => vec![cursor.word("a value")?],
    };
    Ok((comparison, words))
}

/// `[a, b, c]`.
fn parse_list(cursor: &mut Cursor<'_>) -> Result<Vec<(Value, Position)>, RuleError> {
    cursor.expect(&Tok::OpenList)?;
    let mut values = Vec::new();
    loop {
        if values.len() >= limits::LIST_ITEMS_MAX {
            return Err(error_at(
                cursor.position(),
                format!("a list has at most {} items", limits::LIST_ITEMS_MAX),
            ));
        }
        values.push(parse_value(cursor)?);
        if cursor.eat(&Tok::Comma) {
            continue;
        }
        cursor.expect(&Tok::CloseList)?;
        return Ok(values);
    }
}

fn parse_value(cursor: &mut Cursor<'_>) -> Result<(Value, Position), RuleError> {
    match cursor.next() {
        Some(Token {
            tok: Tok::Word(word),
            position,
        }) => {
            let value = match word.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::Word(word.clone()),
            };
            Ok((value, *position))
        }
        Some(Token {
            tok: Tok::Text(text),
            position,
        }) => Ok((Value::Word(text.clone()), *position)),
        Some(Token {
            tok: Tok::Int(value),
            position,
        }) => Ok((Value::Int(*value), *position)),
        Some(token) => Err(error_at(
            token.position,
            format!("expected a value, found {}", token.tok),
        )),
        None => Err(error_at(
            cursor.end,
            "expected a value at the end of the clause",
        )),
    }
}

/// A kind name, or `prefix.*` for every kind with that prefix.
fn parse_kinds(word: &str, position: Position) -> Result<Vec<Kind>, RuleError> {
    if let Some(prefix) = word.strip_suffix(".*") {
        let kinds: Vec<Kind> = Kind::ALL
            .iter()
            .copied()
            .filter(|kind| kind.as_str().split('.').next() == Some(prefix))
            .collect();
        if kinds.is_empty() {
            let prefixes = [
                "person",
                "address",
                "relationship",
                "health",
                "police",
                "justice",
                "education",
                "social_care",
                "housing",
                "probation",
                "other",
            ];
            return Err(error_at(
                position,
                format!(
                    "no kind starts with \"{prefix}.\"{}",
                    suggestion(prefix, &prefixes)
                ),
            ));
        }
        return Ok(kinds);
    }
    Kind::parse(word).map(|kind| vec![kind]).ok_or_else(|| {
        error_at(
            position,
            format!("unknown kind \"{word}\"{}", suggestion(word, Kind::NAMES)),
        )
    })
}

fn parse_finding_code(word: &str, position: Position) -> Result<FindingCode, RuleError> {
    FindingCode::parse(word).ok_or_else(|| {
        error_at(
            position,
            format!(
                "unknown finding code \"{word}\"{}",
                suggestion(word, FindingCode::NAMES)
            ),
        )
    })
}

/// The operator and value(s) after an attribute name.
fn parse_comparison_and_values(
    cursor: &mut Cursor<'_>,
) -> Result<(Comparison, Vec<(Value, Position)>), RuleError> {
    match cursor.peek() {
        Some(Token {
            tok: Tok::Compare(comparison),
            ..
        }) => {
            let comparison = *comparison;
            cursor.idx += 1;
            Ok((comparison, vec![parse_value(cursor)?]))
        }
        Some(Token {
            tok: Tok::Word(word),
            ..
        }) if word == "in" => {
            cursor.idx += 1;
            Ok((Comparison::In, parse_list(cursor)?))
        }
        Some(Token {
            tok: Tok::Word(word),
            ..
        }) if word == "not" => {
            cursor.idx += 1;
            cursor.expect_word("in")?;
            Ok((Comparison::NotIn, parse_list(cursor)?))
        }
        Some(Token {
            tok: Tok::Word(word),
            ..
        }) if word == "exists" => {
            cursor.idx += 1;
            Ok((Comparison::Exists, Vec::new()))
        }
        _ => Err(cursor.unexpected("==, !=, <, <=, >, >=, in, not in or exists")),
    }
}

/// Checks a value against one attribute type; `None` when it fits.
fn value_problem(value: &Value, ty: AttributeType, comparison: Comparison) -> Option<String> {
    let ordering = matches!(
        comparison,
        Comparison::Lt | Comparison::Le | Comparison::Gt | Comparison::Ge
    );
    match (ty, value) {
        (AttributeType::Bool, Value::Bool(_)) if !ordering => None,
        (AttributeType::Int { .. }, Value::Int(_)) => None,
        (AttributeType::Enum(values), Value::Word(word)) if !ordering => {
            if values.contains(&word.as_str()) {
                None
            } else {
                match did_you_mean(word, values) {
                    Some(close) => Some(format!(
                        "\"{word}\" is not a recorded value (did you mean \"{close}\"?)"
                    )),
                    None => Some(format!("\"{word}\" is not {}", ty.describe())),
                }
            }
        }
        (AttributeType::Text { .. } | AttributeType::PartialDate, Value::Word(_)) if !ordering => {
            None
        }
        _ if ordering => Some(format!(
            "{} cannot be compared with {}",
            ty.describe(),
            comparison_text(comparison)
        )),
        (_, value) => Some(format!("{value} is not {}", ty.describe())),
    }
}

fn parse_finding_condition(
    cursor: &mut Cursor<'_>,
    code: FindingCode,
    attribute: &str,
    attribute_position: Position,
) -> Result<AttributeCondition, RuleError> {
    let specs = finding_attributes(code);
    let Some(spec) = specs.iter().find(|spec| spec.name == attribute) else {
        let names: Vec<&str> = specs.iter().map(|spec| spec.name).collect();
        let known = if names.is_empty() {
            format!("\"{code}\" findings carry no attributes")
        } else {
            format!(
                "\"{code}\" findings carry {}",
                sightline_core::vocab::quoted_list(&names)
            )
        };
        return Err(error_at(
            attribute_position,
            format!(
                "unknown attribute \"{attribute}\" of finding \"{code}\"{}; {known}",
                suggestion(attribute, &names)
            ),
        ));
    };
    let (comparison, values) = parse_comparison_and_values(cursor)?;
    for (value, value_position) in &values {
        if let Some(problem) = value_problem(value, spec.ty, comparison) {
            return Err(error_at(
                *value_position,
                format!("{code}.{attribute}: {problem}"),
            ));
        }
    }
    Ok(AttributeCondition {
        name: spec.name,
        comparison,
        values: values.into_iter().map(|(value, _)| value).collect(),
    })
}

/// Every outcome attribute of every kind, with the kinds that carry it.
fn outcome_specs(name: &str) -> Vec<(Kind, AttributeSpec)> {
    Kind::ALL
        .iter()
        .flat_map(|kind| {
            outcome_attributes(*kind)
                .iter()
                .map(move |spec| (*kind, *spec))
        })
        .filter(|(_, spec)| spec.name == name)
        .collect()
}

fn all_outcome_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Kind::ALL
        .iter()
        .flat_map(|kind| outcome_attributes(*kind).iter().map(|spec| spec.name))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn parse_outcome_condition(
    cursor: &mut Cursor<'_>,
    attribute: &str,
    position: Position,
) -> Result<AttributeCondition, RuleError> {
    let specs = outcome_specs(attribute);
    let Some((_, first)) = specs.first() else {
        let names = all_outcome_names();
        return Err(error_at(
            Position {
                line: position.line,
                column: position.column + "outcome.".len(),
            },
            format!(
                "no kind records an outcome \"{attribute}\"{}",
                suggestion(attribute, &names)
            ),
        ));
    };
    let (comparison, values) = parse_comparison_and_values(cursor)?;
    for (value, value_position) in &values {
        let fits_some_kind = specs
            .iter()
            .any(|(_, spec)| value_problem(value, spec.ty, comparison).is_none());
        if !fits_some_kind {
            let problem = value_problem(value, first.ty, comparison).unwrap_or_default();
            let hint = match value {
                Value::Word(word) => {
                    let mut allowed: Vec<&str> = specs
                        .iter()
                        .flat_map(|(_, spec)| match spec.ty {
                            AttributeType::Enum(values) => values.to_vec(),
                            _ => Vec::new(),
                        })
                        .collect();
                    allowed.sort_unstable();
                    allowed.dedup();
                    if allowed.is_empty() {
                        String::new()
                    } else {
                        let kinds: Vec<&str> =
                            specs.iter().map(|(kind, _)| kind.as_str()).collect();
                        let guess = suggestion(word, &allowed);
                        if guess.is_empty() {
                            format!(" (on {})", kinds.join(", "))
                        } else {
                            guess
                        }
                    }
                }
                _ => String::new(),
            };
            let message = if hint.is_empty() {
                format!("outcome.{attribute}: {problem}")
            } else {
                format!("outcome.{attribute}: \"{value}\" is not a recorded value{hint}")
            };
            return Err(error_at(*value_position, message));
        }
    }
    Ok(AttributeCondition {
        name: first.name,
        comparison,
        values: values.into_iter().map(|(value, _)| value).collect(),
    })
}

fn parse_whole_expression(clause: &Clause<'_>, context: Context) -> Result<Expr, RuleError> {
    let tokens = tokenize(clause)?;
    let mut cursor = Cursor::new(&tokens, clause.end());
    if cursor.at_end() {
        return Err(error_at(
            clause.end(),
            format!("`{}` needs a condition", clause.keyword),
        ));
    }
    let expr = parse_expression(&mut cursor, context, 0)?;
    cursor.expect_end()?;
    Ok(expr)
}

// ---------------------------------------------------------------------------
// Templates.

fn placeholder_named(name: &str) -> Option<Placeholder> {
    Some(match name {
        "agency" => Placeholder::Agency,
        "date" => Placeholder::Date,
        "what" => Placeholder::What,
        "injury" => Placeholder::Injury,
        "explanation" => Placeholder::Explanation,
        "child.age" => Placeholder::ChildAge,
        "mobility" => Placeholder::Mobility,
        "plan" => Placeholder::Plan,
        "count" => Placeholder::Count,
        "window" => Placeholder::Window,
        "agencies" => Placeholder::Agencies,
        "evidence" => Placeholder::Evidence,
        "allegation" => Placeholder::Allegation,
        "person" => Placeholder::Person,
        "links" => Placeholder::Links,
        "offences" => Placeholder::Offences,
        "released" => Placeholder::Released,
        "deadline" => Placeholder::Deadline,
        "due" => Placeholder::Due,
        "since" => Placeholder::Since,
        "last" => Placeholder::Last,
        _ => {
            let attribute = name.strip_prefix("outcome.")?;
            let name = all_outcome_names()
                .into_iter()
                .find(|known| *known == attribute)?;
            Placeholder::Outcome(name)
        }
    })
}

/// Which placeholders a rule shape can fill.
fn placeholder_allowed(placeholder: &Placeholder, body: BodyShape) -> bool {
    use Placeholder as P;
    match body {
        BodyShape::Event => matches!(
            placeholder,
            P::Agency
                | P::Date
                | P::What
                | P::Injury
                | P::Explanation
                | P::ChildAge
                | P::Mobility
                | P::Plan
                | P::Count
                | P::Window
                | P::Agencies
                | P::Evidence
                | P::Allegation
                | P::Outcome(_)
        ),
        BodyShape::Clock => matches!(
            placeholder,
            P::Agency
                | P::Date
                | P::What
                | P::ChildAge
                | P::Plan
                | P::Deadline
                | P::Due
                | P::Since
                | P::Last
                | P::Evidence
                | P::Outcome(_)
        ),
        BodyShape::Person => matches!(
            placeholder,
            P::Person
                | P::Links
                | P::Offences
                | P::Released
                | P::ChildAge
                | P::Plan
                | P::Agencies
                | P::Evidence
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyShape {
    Event,
    Clock,
    Person,
}

fn parse_template(
    clause: &Clause<'_>,
    shape: BodyShape,
    errors: &mut Vec<RuleError>,
) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = Vec::new();
    let push_text = |pieces: &mut Vec<Piece>, text: &str| {
        if let Some(Piece::Text(last)) = pieces.last_mut() {
            last.push_str(text);
        } else if !text.is_empty() {
            pieces.push(Piece::Text(text.to_owned()));
        }
    };
    for (fragment_idx, fragment) in clause.fragments.iter().enumerate() {
        if fragment_idx > 0 {
            push_text(&mut pieces, " ");
        }
        let text = fragment.text.trim();
        let mut rest = text;
        let mut column = fragment.position.column;
        while let Some(open) = rest.find('{') {
            push_text(&mut pieces, &rest[..open]);
            column += rest[..open].chars().count();
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                errors.push(error_at(
                    Position {
                        line: fragment.position.line,
                        column,
                    },
                    "a \"{\" is not closed with \"}\" on this line",
                ));
                return pieces;
            };
            let name = after[..close].trim();
            let name_position = Position {
                line: fragment.position.line,
                column: column + 1,
            };
            match placeholder_named(name) {
                Some(placeholder) if placeholder_allowed(&placeholder, shape) => {
                    pieces.push(Piece::Placeholder(placeholder))
                }
                Some(_) => errors.push(error_at(
                    name_position,
                    format!("{{{name}}} has no value in this kind of rule"),
                )),
                None => errors.push(error_at(
                    name_position,
                    format!(
                        "unknown placeholder {{{name}}}{}",
                        suggestion(name, Placeholder::NAMES)
                    ),
                )),
            }
            column += after[..close].chars().count() + 2;
            rest = &after[close + 1..];
        }
        push_text(&mut pieces, rest);
    }
    pieces
}

// ---------------------------------------------------------------------------
// Rules.

/// The clauses of one rule, each parsed, before assembly.
#[derive(Default)]
struct Parts {
    title: Option<String>,
    severity: Option<Severity>,
    raises: Vec<Raise>,
    scope: Option<Scope>,
    matcher: Option<Expr>,
    person: Option<Expr>,
    count: Option<CountClause>,
    distinct: Option<(DistinctClause, Position)>,
    earlier: Option<EarlierClause>,
    group: Option<Span>,
    explain: Option<Vec<Piece>>,
    cite: Option<(String, Position)>,
    route: Option<Vec<RouteTarget>>,
    start: Option<ClockStart>,
    due: Option<Span>,
    met: Option<Expr>,
    repeat: Option<Span>,
    reset: Option<Expr>,
    cancel: Option<Expr>,
}

const KNOWN_SOURCES: &[&str] = &[
    "NICE",
    "CG89",
    "Working Together",
    "Haringey",
    "national review",
    "national panel",
    "Care Planning Regulations",
    "Children in Need census",
    "safeguarding-facts.md",
];

fn text_clause(clause: &Clause<'_>, errors: &mut Vec<RuleError>) -> Option<String> {
    let text = clause.joined_text();
    if text.is_empty() {
        errors.push(error_at(
            clause.end(),
            format!("`{}` needs text", clause.keyword),
        ));
        return None;
    }
    let n_chars = text.chars().count();
    if n_chars > limits::TEXT_CHARS_MAX {
        errors.push(error_at(
            clause.position,
            format!(
                "`{}` is {n_chars} characters long (at most {})",
                clause.keyword,
                limits::TEXT_CHARS_MAX
            ),
        ));
        return None;
    }
    Some(text)
}

fn body_shape(raw: &RawRule<'_>) -> BodyShape {
    if raw.clauses.iter().any(|clause| clause.keyword == "due") {
        BodyShape::Clock
    } else if raw.clauses.iter().any(|clause| clause.keyword == "person") {
        BodyShape::Person
    } else {
        BodyShape::Event
    }
}

fn parse_clause(
    clause: &Clause<'_>,
    shape: BodyShape,
    parts: &mut Parts,
    errors: &mut Vec<RuleError>,
) -> Result<(), RuleError> {
    let event_context = if shape == BodyShape::Clock {
        Context::ClockEvent
    } else {
        Context::Event
    };
    let condition_context = if shape == BodyShape::Person {
        Context::Person
    } else {
        event_context
    };
    let tokens = || tokenize(clause);
    match clause.keyword {
        "title" => parts.title = text_clause(clause, errors),
        "cite" => parts.cite = text_clause(clause, errors).map(|text| (text, clause.position)),
        "explain" => {
            if text_clause(clause, errors).is_some() {
                parts.explain = Some(parse_template(clause, shape, errors));
            }
        }
        "severity" => {
            let tokens = tokens()?;
            let mut cursor = Cursor::new(&tokens, clause.end());
            let (word, position) = cursor.word("a severity")?;
            cursor.expect_end()?;
            parts.severity = Some(Severity::parse(&word).ok_or_else(|| {
                error_at(
                    position,
                    format!(
                        "\"{word}\" is not a severity (low, medium, high or critical){}",
                        suggestion(&word, Severity::NAMES)
                    ),
                )
            })?);
        }
        "raise" => {
            let tokens = tokens()?;
            let mut cursor = Cursor::new(&tokens, clause.end());
            let (word, position) = cursor.word("a severity")?;
            let severity = Severity::parse(&word).ok_or_else(|| {
                error_at(
                    position,
                    format!(
                        "\"{word}\" is not a severity{}",
                        suggestion(&word, Severity::NAMES)
                    ),
                )
            })?;
            cursor.expect_word("when")?;
            let when = parse_expression(&mut cursor, condition_context, 0)?;
            cursor.expect_end()?;
            if parts.raises.len() >= limits::RAISES_MAX {
                return Err(error_at(
                    clause.position,
                    format!("a rule has at most {} `raise` clauses", limits::RAISES_MAX),
                ));
            }
            parts.raises.push(Raise { severity, when });
        }
        "scope" => {
            let tokens = tokens()?;
            let mut cursor = Cursor::new(&tokens, clause.end());
            let (word, position) = cursor.word("child or household")?;
            cursor.expect_end()?;
            parts.scope = Some(match word.as_str() {
                "child" => Scope::Child,
                "household" => Scope::Household,
                _ => {
                    return Err(error_at(
                        position,
                        format!(
                            "\"{word}\" is not a scope (child or household){}",
                            suggestion(&word, &["child", "household"])
                        ),
                    ));
                }
            });
        }
        "match" => parts.matcher = Some(parse_whole_expression(clause, Context::Event)?),
        "person" => parts.person = Some(parse_whole_expression(clause, Context::Person)?),
        "count" => {
            let tokens = tokens()?;
            let mut cursor = Cursor::new(&tokens, clause.end());
            cursor.expect_word("at")?;
            cursor.expect_word("least")?;
            let n_min = cursor.int("the count", limits::COUNT_MAX)?;
            cursor.expect_word("within")?;
            let within = cursor.span()?;
            cursor.expect_end()?;
            parts.count = Some(CountClause { n_min, within });
        }
        "from" => {
            let tokens = tokens()?;
            let mut cursor = Cursor::new(&tokens, clause.end());
            cursor.expect_word("at")?;
            cursor.expect_word("least")?;
            let n_min = cursor.int("the number", limits::COUNT_MAX)?;
            let (word, position) = cursor.word("agencies, sources or agency_types")?;
            cursor.expect_end()?;
            let key = match word.as_str() {
                "agencies" | "agency" => DistinctKey::Agency,
                "sources" | "source" => DistinctKey::Source,
                "agency_types" | "agency_type" => DistinctKey::AgencyType,
                _ => {
                    return Err(error_at(
                        position,
                        format!(
                            "expected agencies, sources or agency_types, found \"{word}\"{}",
                            suggestion(&word, &["agencies", "sources", "agency_types"])
                        ),
                    ));
                }
            };
            parts.distinct = Some((DistinctClause { n_min, key }, clause.position));
        }
        "earlier" => {
            let tokens = tokens()?;
            let mut cursor = Cursor::new(&tokens, clause.end());
            cursor.expect_word("at")?;
            cursor.expect_word("least")?;
            let n_min = cursor.int("the count", limits::COUNT_MAX)?;
            cursor.expect_word("within")?;
            let within = cursor.span()?;
            cursor.expect_word("where")?;
            let matcher = parse_expression(&mut cursor, Context::Event, 0)?;
            cursor.expect_end()?;
            parts.earlier = Some(EarlierClause {
                n_min,
                within,
                matcher,
            });
        }
        "group" | "due" | "repeat" => {
            let tokens = tokens()?;
            let mut cursor = Cursor::new(&tokens, clause.end());
            if clause.keyword == "group" {
                cursor.expect_word("within")?;
            }
            let span = cursor.span()?;
            cursor.expect_end()?;
            match clause.keyword {
                "group" => parts.group = Some(span),
                "due" => parts.due = Some(span),
                _ => parts.repeat = Some(span),
            }
        }
        "route" => {
            let tokens = tokens()?;
            let mut cursor = Cursor::new(&tokens, clause.end());
            let mut targets = Vec::new();
            loop {
                let (word, position) = cursor.word("a route")?;
                targets.push(RouteTarget::parse(&word).ok_or_else(|| {
                    error_at(
                        position,
                        format!(
                            "\"{word}\" is not a route{}",
                            suggestion(&word, RouteTarget::NAMES)
                        ),
                    )
                })?);
                if cursor.eat(&Tok::Comma) || cursor.eat_word("then") {
                    continue;
                }
                cursor.expect_end()?;
                break;
            }
            parts.route = Some(targets);
        }
        "start" => {
            let tokens = tokens()?;
            let mut cursor = Cursor::new(&tokens, clause.end());
            let each = cursor.eat_word("each");
            let matcher = parse_expression(&mut cursor, Context::Event, 0)?;
            cursor.expect_end()?;
            parts.start = Some(ClockStart::Event { matcher, each });
        }
        "during" => {
            let tokens = tokens()?;
            let mut cursor = Cursor::new(&tokens, clause.end());
            let (word, position) = cursor.word("a plan")?;
            cursor.expect_end()?;
            let state = PlanState::parse(&word).ok_or_else(|| {
                error_at(
                    position,
                    format!(
                        "\"{word}\" is not a plan{}",
                        suggestion(&word, PlanState::NAMES)
                    ),
                )
            })?;
            parts.start = Some(ClockStart::During(state));
        }
        "met" => parts.met = Some(parse_whole_expression(clause, Context::ClockEvent)?),
        "reset" => parts.reset = Some(parse_whole_expression(clause, Context::ClockEvent)?),
        "cancel" => parts.cancel = Some(parse_whole_expression(clause, Context::ClockEvent)?),
        other => {
            return Err(error_at(
                clause.position,
                format!(
                    "unknown clause \"{other}\"{}",
                    suggestion(other, CLAUSE_KEYWORDS)
                ),
            ));
        }
    }
    Ok(())
}

/// Which clauses belong to which rule shape.
fn clause_allowed(keyword: &str, shape: BodyShape) -> bool {
    match keyword {
        "match" | "count" | "from" | "earlier" => shape == BodyShape::Event,
        "person" => shape == BodyShape::Person,
        "start" | "during" | "due" | "met" | "repeat" | "reset" | "cancel" => {
            shape == BodyShape::Clock
        }
        _ => true,
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= limits::ID_CHARS_MAX
        && id
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
}

fn assemble_rule(
    raw: &RawRule<'_>,
    errors: &mut Vec<RuleError>,
    warnings: &mut Vec<RuleError>,
) -> Option<Rule> {
    let n_errors_before = errors.len();
    if !valid_id(raw.id) {
        errors.push(error_at(
            raw.position,
            format!(
                "\"{}\" is not a rule id (1-{} characters of a-z, 0-9 and _)",
                raw.id,
                limits::ID_CHARS_MAX
            ),
        ));
    }
    let shape = body_shape(raw);
    let mut parts = Parts::default();
    let mut seen: Vec<&str> = Vec::new();
    for clause in &raw.clauses {
        if !CLAUSE_KEYWORDS.contains(&clause.keyword) {
            errors.push(error_at(
                clause.position,
                format!(
                    "unknown clause \"{}\"{}",
                    clause.keyword,
                    suggestion(clause.keyword, CLAUSE_KEYWORDS)
                ),
            ));
            continue;
        }
        if clause.keyword != "raise" && seen.contains(&clause.keyword) {
            errors.push(error_at(
                clause.position,
                format!("`{}` appears twice in rule {}", clause.keyword, raw.id),
            ));
            continue;
        }
        seen.push(clause.keyword);
        if !clause_allowed(clause.keyword, shape) {
            let shape_words = match shape {
                BodyShape::Event => "an event rule (one with `match`)",
                BodyShape::Clock => "a clock rule (one with `due`)",
                BodyShape::Person => "a person rule (one with `person`)",
            };
            errors.push(error_at(
                clause.position,
                format!("`{}` does not belong in {shape_words}", clause.keyword),
            ));
            continue;
        }
        if let Err(error) = parse_clause(clause, shape, &mut parts, errors) {
            errors.push(error);
        }
    }
    let at_rule = raw.position;
    let mut require = |present: bool, what: &str| {
        if !present {
            errors.push(error_at(
                at_rule,
                format!("rule {} has no `{what}`", raw.id),
            ));
        }
    };
    let clause_present = |keyword: &str| raw.clauses.iter().any(|clause| clause.keyword == keyword);
    require(clause_present("title"), "title");
    require(clause_present("severity"), "severity");
    require(clause_present("explain"), "explain");
    require(
        clause_present("cite"),
        "cite (every rule must name the guidance it rests on)",
    );
    match shape {
        BodyShape::Event => require(
            clause_present("match"),
            "match (or `person`, or a clock's `due`)",
        ),
        BodyShape::Clock => {
            require(
                clause_present("start") || clause_present("during"),
                "start or during",
            );
            require(clause_present("met"), "met");
        }
        BodyShape::Person => {}
    }
    if errors.len() > n_errors_before {
        return None;
    }
    let severity = parts.severity?;
    let body = match shape {
        BodyShape::Event => {
            let matcher = parts.matcher?;
            if parts.distinct.is_some() && parts.count.is_none() {
                let position = parts
                    .distinct
                    .as_ref()
                    .map_or(at_rule, |(_, position)| *position);
                errors.push(error_at(
                    position,
                    "`from at least` counts the events of a `count` clause; add one",
                ));
                return None;
            }
            if let Some(count) = parts.count
                && count.n_min == 1
            {
                warnings.push(warning_at(
                    at_rule,
                    format!(
                        "rule {}: `count at least 1` is the same as no count",
                        raw.id
                    ),
                ));
            }
            lint_expression(&matcher, raw, warnings);
            Body::Event {
                matcher,
                count: parts.count,
                distinct: parts.distinct.map(|(clause, _)| clause),
                earlier: parts.earlier,
            }
        }
        BodyShape::Person => {
            let matcher = parts.person?;
            if parts.scope == Some(Scope::Child) {
                warnings.push(warning_at(
                    at_rule,
                    format!(
                        "rule {}: a person rule looks at the household; `scope child` is ignored",
                        raw.id
                    ),
                ));
            }
            parts.scope = Some(Scope::Household);
            Body::Person { matcher }
        }
        BodyShape::Clock => {
            let start = parts.start?;
            if let ClockStart::Event { matcher, .. } = &start {
                lint_expression(matcher, raw, warnings);
            }
            let met = parts.met?;
            lint_expression(&met, raw, warnings);
            Body::Clock {
                start,
                due: parts.due?,
                met,
                repeat: parts.repeat,
                reset: parts.reset,
                cancel: parts.cancel,
            }
        }
    };
    for raise in &parts.raises {
        if raise.severity <= severity {
            warnings.push(warning_at(
                at_rule,
                format!(
                    "rule {}: `raise {}` has no effect on a rule that is already {severity}",
                    raw.id, raise.severity
                ),
            ));
        }
    }
    let (cite, cite_position) = parts.cite?;
    if !KNOWN_SOURCES.iter().any(|source| cite.contains(source)) {
        warnings.push(warning_at(cite_position, format!("rule {}: the citation names none of the sources in safeguarding-facts.md (NICE CG89, Working Together 2023, the Haringey and national reviews)", raw.id)));
    }
    let explain = parts.explain?;
    if let Body::Event {
        count: None,
        earlier: None,
        ..
    } = &body
        && explain.contains(&Piece::Placeholder(Placeholder::Window))
    {
        warnings.push(warning_at(
            at_rule,
            format!(
                "rule {}: {{window}} is empty without a `count` or `earlier` clause",
                raw.id
            ),
        ));
    }
    let route = match parts.route {
        Some(route) => route,
        None => {
            warnings.push(warning_at(
                at_rule,
                format!(
                    "rule {} has no `route`; it goes to the allocated worker, else the duty team",
                    raw.id
                ),
            ));
            vec![RouteTarget::AllocatedWorker, RouteTarget::DutyTeam]
        }
    };
    Some(Rule {
        id: raw.id.to_owned(),
        line: raw.position.line,
        title: parts.title?,
        severity,
        raises: parts.raises,
        scope: parts.scope.unwrap_or(Scope::Child),
        body,
        group: parts.group.unwrap_or(Span::new(30, SpanUnit::Days)),
        explain,
        cite,
        route,
    })
}

// ---------------------------------------------------------------------------
// Lints: conditions that can never hold.

/// The kinds a conjunction allows, if it constrains them.
fn conjunction_kinds(parts: &[Expr]) -> Option<Vec<Kind>> {
    let mut allowed: Option<Vec<Kind>> = None;
    for part in parts {
        let kinds = match part {
            Expr::Atom(Atom::KindIn(kinds)) => kinds.clone(),
            Expr::Or(alternatives) => {
                let mut union = Vec::new();
                for alternative in alternatives {
                    match alternative {
                        Expr::Atom(Atom::KindIn(kinds)) => union.extend(kinds.iter().copied()),
                        Expr::And(inner) => match conjunction_kinds(inner) {
                            Some(kinds) => union.extend(kinds),
                            None => return allowed,
                        },
                        _ => {
                            union.clear();
                            break;
                        }
                    }
                }
                if union.is_empty() {
                    continue;
                }
                union
            }
            _ => continue,
        };
        allowed = Some(match allowed {
            None => kinds,
            Some(previous) => previous
                .into_iter()
                .filter(|kind| kinds.contains(kind))
                .collect(),
        });
    }
    allowed
}

/// Age bounds in a conjunction as approximate days: (greater than, less than).
fn age_days(span: Span) -> i64 {
    let amount = i64::from(span.amount);
    match span.unit {
        SpanUnit::Days => amount,
        SpanUnit::WorkingDays => amount * 7 / 5,
        SpanUnit::Weeks => amount * 7,
        SpanUnit::Months => amount * 30,
        SpanUnit::Years => amount * 365,
    }
}

fn lint_expression(expr: &Expr, raw: &RawRule<'_>, warnings: &mut Vec<RuleError>) {
    let conjunction: Vec<Expr> = match expr {
        Expr::And(parts) => parts.clone(),
        other => vec![other.clone()],
    };
    if let Some(kinds) = conjunction_kinds(&conjunction) {
        if kinds.is_empty() {
            warnings.push(warning_at(
                raw.position,
                format!(
                    "rule {}: no record can match: the kind conditions exclude each other",
                    raw.id
                ),
            ));
        } else {
            for part in &conjunction {
                if let Expr::Atom(Atom::Outcome(condition)) = part {
                    let recorded = kinds.iter().any(|kind| {
                        outcome_attributes(*kind).iter().any(|spec| {
                            spec.name == condition.name
                                && condition.values.iter().all(|value| {
                                    value_problem(value, spec.ty, condition.comparison).is_none()
                                })
                        })
                    });
                    if !recorded {
                        let names: Vec<&str> = kinds.iter().map(|kind| kind.as_str()).collect();
                        warnings.push(warning_at(raw.position, format!("rule {}: outcome.{} is never recorded so on {}; the condition can never hold", raw.id, condition.name, names.join(", "))));
                    }
                }
            }
        }
    }
    let mut older_than: Option<i64> = None;
    let mut younger_than: Option<i64> = None;
    for part in &conjunction {
        if let Expr::Atom(Atom::ChildAge { comparison, span }) = part {
            let days = age_days(*span);
            match comparison {
                Comparison::Lt | Comparison::Le => {
                    younger_than = Some(younger_than.map_or(days, |known| known.min(days)))
                }
                Comparison::Gt | Comparison::Ge => {
                    older_than = Some(older_than.map_or(days, |known| known.max(days)))
                }
                _ => {}
            }
        }
    }
    if let (Some(older), Some(younger)) = (older_than, younger_than)
        && older >= younger
    {
        warnings.push(warning_at(
            raw.position,
            format!(
                "rule {}: the child.age conditions exclude each other; the rule can never fire",
                raw.id
            ),
        ));
    }
}

// ---------------------------------------------------------------------------
// The pack.

/// Parses and checks a rule pack. Errors (with every problem found, in file
/// order) or the pack, whose `warnings` hold the lint findings.
pub fn check(text: &str) -> Result<Pack, Vec<RuleError>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    if text.len() > limits::FILE_BYTES_MAX {
        return Err(vec![error_at(
            Position { line: 1, column: 1 },
            format!(
                "the rule file is {} bytes (at most {})",
                text.len(),
                limits::FILE_BYTES_MAX
            ),
        )]);
    }
    let (header, raw_rules) = split_lines(text, &mut errors);
    let start = Position { line: 1, column: 1 };
    let name = match header.name {
        Some((name, position)) if valid_id(&name.replace('-', "_")) => {
            Some((name.to_owned(), position))
        }
        Some((name, position)) => {
            errors.push(error_at(
                position,
                format!("\"{name}\" is not a pack name (a-z, 0-9, - and _)"),
            ));
            None
        }
        None => {
            errors.push(error_at(start, "the file does not start with `pack NAME`"));
            None
        }
    };
    let version = match header.version {
        Some((version, position))
            if version.is_empty()
                || version.contains(char::is_whitespace)
                || version.len() > 32 =>
        {
            errors.push(error_at(position, format!("\"{version}\" is not a version (one word of at most 32 characters, e.g. 2026.11.1)")));
            None
        }
        Some((version, _)) => Some(version.to_owned()),
        None => {
            errors.push(error_at(start, "the file has no `version` line"));
            None
        }
    };
    if raw_rules.len() > limits::RULES_MAX {
        let position = raw_rules
            .get(limits::RULES_MAX)
            .map_or(start, |raw| raw.position);
        errors.push(error_at(
            position,
            format!("a pack has at most {} rules", limits::RULES_MAX),
        ));
    }
    let mut rules: Vec<Rule> = Vec::new();
    for raw in raw_rules.iter().take(limits::RULES_MAX) {
        if rules.iter().any(|rule| rule.id == raw.id) {
            errors.push(error_at(
                raw.position,
                format!("rule {} is defined twice", raw.id),
            ));
            continue;
        }
        if let Some(rule) = assemble_rule(raw, &mut errors, &mut warnings) {
            rules.push(rule);
        }
    }
    if raw_rules.is_empty() && errors.is_empty() {
        errors.push(error_at(start, "the pack has no rules"));
    }
    if !errors.is_empty() {
        errors.sort_by_key(|error| (error.line, error.column));
        errors.truncate(limits::ERRORS_MAX);
        return Err(errors);
    }
    let (Some((name, _)), Some(version)) = (name, version) else {
        return Err(vec![error_at(start, "the pack has no name or version")]);
    };
    warnings.sort_by_key(|warning| (warning.line, warning.column));
    Ok(Pack {
        name,
        version,
        rules,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "pack test-pack\nversion 1\n";

    /// A rule with the given clauses (each a line, indented by the helper), after
    /// the two header lines: the `rule` line is line 3, the first clause line 4.
    fn pack_with(clauses: &[&str]) -> String {
        let mut text = format!("{HEADER}rule r1\n");
        for clause in clauses {
            text.push_str("  ");
            text.push_str(clause);
            text.push('\n');
        }
        text
    }

    fn complete(matcher: &str) -> String {
        pack_with(&[
            "title T",
            "severity high",
            matcher,
            "explain E",
            "cite NICE CG89",
            "route duty_team",
        ])
    }

    /// The first error, as `LINE:COLUMN: message`.
    fn check_error(text: &str, expected: &str) {
        match check(text) {
            Ok(pack) => panic!("expected an error {expected:?}, got {pack:#?}"),
            Err(errors) => assert!(
                errors.iter().any(|error| error.to_string() == expected),
                "no error {expected:?} in {:#?}",
                errors.iter().map(ToString::to_string).collect::<Vec<_>>()
            ),
        }
    }

    fn check_warning(text: &str, expected_part: &str) {
        let pack = check(text).unwrap_or_else(|errors| panic!("{errors:#?}"));
        assert!(
            pack.warnings
                .iter()
                .any(|warning| warning.to_string().contains(expected_part)),
            "no warning containing {expected_part:?} in {:#?}",
            pack.warnings
        );
    }

    #[test]
    fn names_are_checked_against_the_vocabulary() {
        check_error(
            &complete("match has injurry"),
            "6:13: unknown finding code \"injurry\" (did you mean \"injury\"?)",
        );
        check_error(
            &complete("match injury.type in [brusie, fracture]"),
            "6:25: injury.type: \"brusie\" is not a recorded value (did you mean \"bruise\"?)",
        );
        check_error(
            &complete("match kind == health.ed_visit"),
            "6:17: unknown kind \"health.ed_visit\" (did you mean \"health.ed_attendance\"?)",
        );
        check_error(
            &complete("match has injury(colour == red)"),
            "6:20: unknown attribute \"colour\" of finding \"injury\"; \"injury\" findings carry \"type\", \"site\", \"count\", \"explanation\", \"pattern\", \"delayed_presentation\"",
        );
        check_error(
            &complete("match kind == health.cp_medical and outcome.conclusion == likely"),
            "6:61: outcome.conclusion: \"likely\" is not a recorded value (on health.cp_medical)",
        );
        check_error(
            &complete("match outcome.decison == nfa"),
            "6:17: no kind records an outcome \"decison\" (did you mean \"decision\"?)",
        );
        check_error(
            &complete("match outcome.child_seen == 3"),
            "6:31: outcome.child_seen: 3 is not true or false",
        );
        check_error(
            &complete("match kind in [helth.*]"),
            "6:18: no kind starts with \"helth.\" (did you mean \"health\"?)",
        );
        check_error(
            &complete("match child.plan == child_protecton"),
            "6:23: \"child_protecton\" is not a plan (did you mean \"child_protection\"?)",
        );
        check_error(
            &complete("match agency_type == gp"),
            "6:24: \"gp\" is not an agency type",
        );
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        check_error(
            &complete("match has injury and"),
            "6:23: expected a condition at the end of the clause",
        );
        check_error(
            &complete("match (has injury"),
            "6:20: expected \")\" at the end of the clause",
        );
        check_error(
            &complete("match kind = police.call_out"),
            "6:14: use \"==\" to compare, not \"=\"",
        );
        check_error(
            &complete("match has injury has injury"),
            "6:20: unexpected \"has\" (expected the end of the clause)",
        );
        check_error(
            &complete("match kind == \"police.call_out"),
            "6:17: a quoted text is not closed on this line",
        );
        check_error(
            &complete("match child.age < 6 moons"),
            "6:23: \"moons\" is not a unit of time (did you mean \"months\"?)",
        );
        check_error(
            &complete("match child.age < 6 working days"),
            "6:21: an age is not counted in working days",
        );
        check_error(
            &complete("match person.adult"),
            "6:9: \"person.adult\" tests a person around the child and is only allowed in a `person` clause",
        );
        check_error(
            &complete("match same_record"),
            "6:9: \"same_record\" is only allowed in the met, reset and cancel clauses of a clock",
        );
        check_error(
            &complete("match nonsense"),
            "6:9: unknown condition \"nonsense\"",
        );
        check_error(
            &format!("{HEADER}severity high\n"),
            "3:1: expected `pack`, `version` or `rule`, found \"severity\" (clauses of a rule are indented under `rule ID`)",
        );
        check_error(
            &format!("{HEADER}  title T\n"),
            "3:3: an indented clause outside any rule",
        );
        check_error(
            &format!("{HEADER}rule Bad-Id\n  title T\n"),
            "3:6: \"Bad-Id\" is not a rule id (1-64 characters of a-z, 0-9 and _)",
        );
        check_error(
            "version 1\nrule r1\n",
            "1:1: the file does not start with `pack NAME`",
        );
    }

    #[test]
    fn clauses_are_checked() {
        check_error(
            &pack_with(&[
                "title T",
                "severty high",
                "match has injury",
                "explain E",
                "cite NICE CG89",
            ]),
            "5:3: unknown clause \"severty\" (did you mean \"severity\"?)",
        );
        check_error(
            &pack_with(&["title T", "severity high", "match has injury", "explain E"]),
            "3:6: rule r1 has no `cite (every rule must name the guidance it rests on)`",
        );
        check_error(
            &pack_with(&[
                "title T",
                "severity urgent",
                "match has injury",
                "explain E",
                "cite NICE",
            ]),
            "5:12: \"urgent\" is not a severity (low, medium, high or critical)",
        );
        check_error(
            &pack_with(&[
                "title T",
                "severity high",
                "match has injury",
                "count at least 2 within 5 years",
                "explain E",
                "cite NICE",
            ]),
            "7:27: 5 years is longer than the limit of 3 years",
        );
        check_error(
            &pack_with(&[
                "title T",
                "severity high",
                "match has injury",
                "count at least 0 within 5 days",
                "explain E",
                "cite NICE",
            ]),
            "7:18: the count must be from 1 to 100",
        );
        check_error(
            &pack_with(&[
                "title T",
                "severity high",
                "match has injury",
                "from at least 2 agencies",
                "explain E",
                "cite NICE",
            ]),
            "7:3: `from at least` counts the events of a `count` clause; add one",
        );
        check_error(
            &pack_with(&[
                "title T",
                "severity high",
                "match has injury",
                "explain {injury} by {agnecy}",
                "cite NICE",
            ]),
            "7:24: unknown placeholder {agnecy} (did you mean \"agency\"?)",
        );
        check_error(
            &pack_with(&[
                "title T",
                "severity high",
                "match has injury",
                "explain {deadline}",
                "cite NICE",
            ]),
            "7:12: {deadline} has no value in this kind of rule",
        );
        check_error(
            &pack_with(&[
                "title T",
                "severity high",
                "match has injury",
                "due 3 days",
                "met has injury",
                "during child_protection",
                "explain E",
                "cite NICE",
            ]),
            "6:3: `match` does not belong in a clock rule (one with `due`)",
        );
        check_error(
            &pack_with(&[
                "title T",
                "title U",
                "severity high",
                "match has injury",
                "explain E",
                "cite NICE",
            ]),
            "5:3: `title` appears twice in rule r1",
        );
        check_error(
            &format!("{}rule r1\n  title T\n", complete("match has injury")),
            "10:6: rule r1 is defined twice",
        );
    }

    #[test]
    fn continuation_lines_join_the_clause() {
        let text = pack_with(&[
            "title T",
            "severity high",
            "match has injury",
            "  and child.age < 2 years",
            "explain {injury} recorded",
            "  by {agency}.",
            "cite NICE CG89",
            "route duty_team",
        ]);
        let pack = check(&text).unwrap();
        let rule = &pack.rules[0];
        assert!(
            matches!(&rule.body, Body::Event { matcher: Expr::And(parts), .. } if parts.len() == 2)
        );
        assert_eq!(
            rule.explain,
            vec![
                Piece::Placeholder(Placeholder::Injury),
                Piece::Text(" recorded by ".to_owned()),
                Piece::Placeholder(Placeholder::Agency),
                Piece::Text(".".to_owned()),
            ]
        );
        check_error(
            &pack_with(&[
                "title T",
                "severity high",
                "match has injury",
                "  and has brusie",
                "explain E",
                "cite NICE",
            ]),
            "7:13: unknown finding code \"brusie\"",
        );
    }

    #[test]
    fn limits_are_enforced() {
        let deep = format!("match {}has injury{}", "(".repeat(20), ")".repeat(20));
        check_error(
            &complete(&deep),
            "6:22: the condition is nested more than 12 deep",
        );
        let mut wide = String::from("match has injury");
        for _ in 0..140 {
            wide.push_str("\n    or has injury");
        }
        let error = check(&complete(&wide)).unwrap_err();
        assert!(
            error
                .iter()
                .any(|error| error.message.contains("more than 128 parts")),
            "{error:#?}"
        );
        let long_line = complete(&format!("match has injury {}", "or has injury ".repeat(80)));
        let error = check(&long_line).unwrap_err();
        assert!(
            error
                .iter()
                .any(|error| error.message.contains("characters long")),
            "{error:#?}"
        );
        let mut many = String::from(HEADER);
        for idx in 0..=limits::RULES_MAX {
            many.push_str(&format!("rule r{idx}\n  title T\n  severity low\n  match has injury\n  explain E\n  cite NICE\n  route duty_team\n"));
        }
        let error = check(&many).unwrap_err();
        assert!(
            error
                .iter()
                .any(|error| error.message.contains("at most 300 rules")),
            "{:#?}",
            &error[..1]
        );
        let big = "#".repeat(limits::FILE_BYTES_MAX + 1);
        assert!(check(&big).unwrap_err()[0].message.contains("bytes"));
    }

    #[test]
    fn lints_warn_of_rules_that_can_never_fire() {
        check_warning(
            &complete("match has injury and child.age < 2 years and child.age >= 5 years"),
            "the child.age conditions exclude each other",
        );
        check_warning(
            &complete("match kind == health.cp_medical and outcome.decision == nfa"),
            "outcome.decision is never recorded so on health.cp_medical",
        );
        check_warning(
            &complete("match kind == health.cp_medical and kind == police.call_out"),
            "the kind conditions exclude each other",
        );
        check_warning(
            &pack_with(&[
                "title T",
                "severity high",
                "raise medium when has injury",
                "match has injury",
                "explain E",
                "cite NICE",
                "route duty_team",
            ]),
            "`raise medium` has no effect",
        );
        check_warning(
            &pack_with(&[
                "title T",
                "severity high",
                "match has injury",
                "explain E",
                "cite my own opinion",
                "route duty_team",
            ]),
            "the citation names none of the sources",
        );
        check_warning(
            &pack_with(&[
                "title T",
                "severity high",
                "match has injury",
                "explain E",
                "cite NICE",
            ]),
            "has no `route`",
        );
    }

    #[test]
    fn the_default_pack_is_clean() {
        let pack = crate::default_pack().unwrap_or_else(|errors| panic!("{errors:#?}"));
        assert!(pack.warnings.is_empty(), "{:#?}", pack.warnings);
        assert_eq!(pack.name, "sightline-default");
        assert!(pack.rules.len() >= 25);
    }

    #[test]
    fn errors_render_with_the_file_name() {
        let errors = check(&complete("match has brusie")).unwrap_err();
        assert_eq!(
            errors[0].with_file("rules.slr"),
            "rules.slr:6:13: unknown finding code \"brusie\""
        );
        let pack = check(&pack_with(&[
            "title T",
            "severity high",
            "match has injury",
            "explain E",
            "cite NICE",
        ]))
        .unwrap();
        assert_eq!(
            pack.warnings[0].with_file("p.rules"),
            "p.rules:3:6: warning: rule r1 has no `route`; it goes to the allocated worker, else the duty team"
        );
    }

    #[test]
    fn person_links_include_the_v1_1_connections() {
        for connection in ["relative", "sibling", "alleged_perpetrator"] {
            let text = pack_with(&[
                "title T",
                "severity high",
                &format!("person person.link in [{connection}] and person.adult"),
                "explain E",
                "cite NICE CG89",
                "route duty_team",
            ]);
            let pack = check(&text).unwrap_or_else(|errors| panic!("{errors:#?}"));
            assert_eq!(pack.rules.len(), 1);
        }
        let text = pack_with(&[
            "title T",
            "severity high",
            "person person.link in [alleged_perpetrators]",
            "explain E",
            "cite NICE CG89",
            "route duty_team",
        ]);
        let errors: Vec<String> = check(&text)
            .err()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            errors.iter().any(|error| error
                .contains("\"alleged_perpetrators\" is not a connection")
                && error.contains("did you mean \"alleged_perpetrator\"")),
            "{errors:#?}"
        );
    }

    #[test]
    fn subject_offence_against_child_is_an_event_condition() {
        let event =
            complete("match has non_engagement about others and subject.offence_against_child");
        assert!(check(&event).is_ok(), "{:#?}", check(&event).err());
        let person = complete("person subject.offence_against_child");
        let errors: Vec<String> = check(&person)
            .err()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            errors
                .iter()
                .any(|error| error.contains("subject.offence_against_child")),
            "{errors:#?}"
        );
    }
}
