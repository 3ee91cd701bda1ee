//! Normalisation of raw field values: text, names, nicknames, partial dates,
//! postcodes, address tokens and identifiers.
//!
//! Every function here is pure and allocation-light; the engine calls them once
//! per *distinct* raw value (values are interned), never once per pair.

use crate::metaphone::double_metaphone_primary;

/// Lower-case, transliterate accents to ASCII, turn punctuation into spaces
/// (apostrophes vanish, so `O'Brien` becomes `obrien`), collapse runs of spaces.
pub fn normalise_text(raw: &str) -> String {
    let ascii = deunicode::deunicode(raw);
    let mut out = String::with_capacity(ascii.len());
    let mut pending_space = false;
    for ch in ascii.chars() {
        if ch.is_ascii_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(ch.to_ascii_lowercase());
        } else if ch == '\'' || ch == '`' {
            // O'Brien and D`Arcy are one word.
        } else {
            pending_space = true;
        }
    }
    out
}

/// Normalise a name: [`normalise_text`] then drop honorifics such as `mr`, `mrs`.
/// Hyphenated and double-barrelled names become space separated tokens.
pub fn normalise_name(raw: &str) -> String {
    let text = normalise_text(raw);
    let mut out = String::with_capacity(text.len());
    for token in text.split(' ') {
        if token.is_empty() || HONORIFICS.contains(&token) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(token);
    }
    out
}

const HONORIFICS: &[&str] = &["mr", "mrs", "ms", "miss", "mstr", "master", "dr", "rev"];

/// Double Metaphone primary code of a normalised name (all tokens joined),
/// empty when the name has no letters.
pub fn phonetic_key(normalised: &str) -> String {
    let compact: String = normalised
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .collect();
    if compact.is_empty() {
        return String::new();
    }
    double_metaphone_primary(&compact, 6)
}

/// Built-in table of English nicknames and diminutives: `(formal, [nicknames])`.
/// A name's nickname groups are the formal names it is, or is a nickname of.
const NICKNAMES: &[(&str, &[&str])] = &[
    ("abigail", &["abby", "abbie", "gail"]),
    ("albert", &["al", "bert", "bertie"]),
    (
        "alexander",
        &["alex", "alec", "sandy", "xander", "alexandra"],
    ),
    ("alexandra", &["alex", "lexi", "sandra", "sandy", "alexa"]),
    ("alfred", &["alf", "alfie", "fred", "freddie"]),
    ("andrew", &["andy", "drew"]),
    ("anthony", &["tony", "ant", "antony"]),
    ("barbara", &["barb", "babs", "barbie"]),
    ("benjamin", &["ben", "benny", "benji"]),
    (
        "catherine",
        &[
            "cathy",
            "cath",
            "kate",
            "katie",
            "kathryn",
            "katherine",
            "kat",
            "kitty",
            "cate",
        ],
    ),
    ("charles", &["charlie", "chas", "chuck", "chaz"]),
    ("charlotte", &["lottie", "charlie", "lotte"]),
    ("christina", &["chris", "tina", "christine", "kirsty"]),
    ("christopher", &["chris", "kit", "topher"]),
    ("daniel", &["dan", "danny"]),
    ("david", &["dave", "davey", "davy"]),
    ("deborah", &["debbie", "debra", "deb"]),
    ("dorothy", &["dot", "dottie", "dolly"]),
    ("edward", &["ed", "eddie", "ted", "teddy", "ned"]),
    (
        "elizabeth",
        &[
            "liz",
            "lizzie",
            "beth",
            "betty",
            "bet",
            "betsy",
            "eliza",
            "libby",
            "lisa",
            "elisabeth",
            "bess",
            "lily",
        ],
    ),
    ("eleanor", &["ellie", "nell", "nora", "elle"]),
    ("frances", &["fran", "frankie", "fanny"]),
    ("francis", &["frank", "frankie"]),
    ("frederick", &["fred", "freddie", "freddy"]),
    ("gregory", &["greg"]),
    ("harold", &["harry", "hal"]),
    ("henry", &["harry", "hank", "hal"]),
    ("isabella", &["bella", "izzy", "isabel", "isobel", "issy"]),
    ("jacqueline", &["jackie", "jacqui"]),
    ("james", &["jim", "jimmy", "jamie", "jimbo"]),
    ("jennifer", &["jen", "jenny", "jenni"]),
    ("john", &["jack", "johnny", "jon"]),
    ("jonathan", &["jon", "jonny", "johnny", "nathan"]),
    ("joseph", &["joe", "joey", "jo"]),
    ("joshua", &["josh"]),
    (
        "katherine",
        &[
            "kate",
            "katie",
            "kathy",
            "kath",
            "kathryn",
            "catherine",
            "kat",
            "kay",
        ],
    ),
    ("kenneth", &["ken", "kenny"]),
    ("lawrence", &["larry", "laurie", "laurence"]),
    ("leonard", &["len", "lenny", "leo"]),
    (
        "margaret",
        &[
            "maggie", "meg", "peggy", "peg", "marge", "margie", "madge", "maisie", "greta", "rita",
            "daisy",
        ],
    ),
    ("mary", &["molly", "polly", "mae", "mamie"]),
    ("matthew", &["matt", "matty"]),
    ("michael", &["mike", "mick", "micky", "mickey", "mikey"]),
    ("nicholas", &["nick", "nicky", "nico"]),
    ("patricia", &["pat", "patty", "trish", "tricia"]),
    ("patrick", &["pat", "paddy"]),
    ("peter", &["pete"]),
    ("philip", &["phil", "pip", "phillip"]),
    ("rebecca", &["becky", "becca", "bex"]),
    ("richard", &["rick", "ricky", "dick", "rich", "richie"]),
    ("robert", &["rob", "bob", "bobby", "robbie", "bert"]),
    ("ronald", &["ron", "ronnie"]),
    ("samantha", &["sam", "sammy"]),
    ("samuel", &["sam", "sammy"]),
    ("sarah", &["sally", "sadie", "sara"]),
    ("stephen", &["steve", "stevie", "steven"]),
    ("susan", &["sue", "susie", "suzy", "suzanne"]),
    ("theodore", &["theo", "ted", "teddy"]),
    ("thomas", &["tom", "tommy"]),
    ("timothy", &["tim", "timmy"]),
    ("victoria", &["vicky", "vicki", "tori", "vikki"]),
    (
        "william",
        &["bill", "billy", "will", "willie", "liam", "willy"],
    ),
    ("zachary", &["zach", "zack", "zac"]),
    // Further common diminutives, mostly of women's names and of names
    // frequent in England and Wales since the 1990s.
    ("steven", &["steve", "stevie"]),
    ("archibald", &["archie"]),
    ("oliver", &["ollie", "olly"]),
    ("nathan", &["nate", "nat"]),
    ("stephanie", &["steph"]),
    ("natalie", &["nat"]),
    ("natasha", &["tash", "tasha"]),
    ("jessica", &["jess", "jessie"]),
    ("amelia", &["millie", "mia"]),
    ("isabelle", &["izzy", "bella", "issy"]),
    ("olivia", &["liv", "livvy"]),
    ("florence", &["flo", "florrie"]),
    ("matilda", &["tilly", "tilda", "tillie"]),
    ("evelyn", &["evie", "eve"]),
    ("sophia", &["sophie"]),
    ("kimberley", &["kim", "kimberly"]),
    ("danielle", &["dani"]),
    ("nicola", &["nicky", "nikki", "nic"]),
    ("michelle", &["shell", "shelly"]),
    ("joanne", &["jo"]),
    ("joanna", &["jo"]),
    ("alison", &["ali", "allie"]),
    ("amanda", &["mandy"]),
    ("hannah", &["hanna"]),
    ("mohammed", &["mo", "mohammad", "muhammad"]),
    ("muhammad", &["mo", "mohammed", "mohammad"]),
];

/// Nickname groups of one name token: the indices of formal names it equals
/// or is a listed nickname of, sorted. Empty when the token is in no group.
pub fn nickname_groups(token: &str) -> Vec<u16> {
    let mut groups = Vec::new();
    for (group_idx, (formal, nicknames)) in NICKNAMES.iter().enumerate() {
        if *formal == token || nicknames.contains(&token) {
            groups.push(u16::try_from(group_idx).unwrap_or(u16::MAX));
        }
    }
    groups
}

/// True when two sorted group lists share an element.
pub fn sorted_lists_intersect<T: Ord>(left: &[T], right: &[T]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        match left[i].cmp(&right[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// A date that may be known only to the year or the month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartialDate {
    year: u16,
    month: Option<u8>,
    day: Option<u8>,
}

impl PartialDate {
    /// Parse `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYYMMDD`, `YYYYMM` or `DD/MM/YYYY`.
    /// Returns `None` for anything else, including impossible dates (month 13,
    /// 30 February).
    pub fn parse(raw: &str) -> Option<PartialDate> {
        let trimmed = raw.trim();
        let digits_only = trimmed.chars().all(|c| c.is_ascii_digit());
        let parts: Vec<&str> = if digits_only {
            match trimmed.len() {
                4 => vec![trimmed],
                6 => vec![trimmed.get(0..4)?, trimmed.get(4..6)?],
                8 => vec![trimmed.get(0..4)?, trimmed.get(4..6)?, trimmed.get(6..8)?],
                _ => return None,
            }
        } else if trimmed.contains('/') {
            let mut pieces: Vec<&str> = trimmed.split('/').collect();
            if pieces.len() != 3 {
                return None;
            }
            pieces.reverse();
            pieces
        } else {
            trimmed.split('-').collect()
        };
        let year: u16 = parse_digits(parts.first()?, 4)?;
        if !(1800..=2200).contains(&year) {
            return None;
        }
        let month = match parts.get(1) {
            Some(text) => Some(parse_digits::<u8>(text, 2)?),
            None => None,
        };
        let day = match parts.get(2) {
            Some(text) => Some(parse_digits::<u8>(text, 2)?),
            None => None,
        };
        if parts.len() > 3 {
            return None;
        }
        PartialDate::new(year, month, day)
    }

    /// Build a partial date, checking month and day ranges. A day needs a month.
    pub fn new(year: u16, month: Option<u8>, day: Option<u8>) -> Option<PartialDate> {
        if let Some(month) = month {
            if !(1..=12).contains(&month) {
                return None;
            }
            if let Some(day) = day
                && (day == 0 || day > days_in_month(year, month))
            {
                return None;
            }
        } else if day.is_some() {
            return None;
        }
        Some(PartialDate { year, month, day })
    }

    /// The year.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month, 1-12, when known.
    pub fn month(&self) -> Option<u8> {
        self.month
    }

    /// The day of the month, when known.
    pub fn day(&self) -> Option<u8> {
        self.day
    }

    /// True when day and month are both known.
    pub fn is_full(&self) -> bool {
        self.day.is_some()
    }

    /// The same date with day and month swapped, when that is a valid date.
    pub fn transposed(&self) -> Option<PartialDate> {
        let (month, day) = (self.month?, self.day?);
        if month == day {
            return None;
        }
        PartialDate::new(self.year, Some(day), Some(month))
    }
}

fn parse_digits<T: std::str::FromStr>(text: &str, max_len: usize) -> Option<T> {
    if text.is_empty() || text.len() > max_len || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A postcode split into its parts. UK postcodes give area (`N`), district
/// (`N17`), sector (`N17 6`) and unit (`N17 6AA`); any other postcode (such as
/// an Australian 4-digit one) has only its full normalised text, and its
/// district and sector are the full text too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostcodeParts {
    /// Upper case, single space before the inward code for UK postcodes.
    pub full: String,
    /// UK district (outward code), or the full text.
    pub district: String,
    /// UK sector (outward code and the inward digit), or the full text.
    pub sector: String,
    /// True when the value has the shape of a UK postcode.
    pub is_uk: bool,
}

/// Parse a postcode. UK shape is recognised (`n176aa` -> `N17 6AA`); anything
/// else is kept as normalised upper-case alphanumerics.
pub fn parse_postcode(raw: &str) -> Option<PostcodeParts> {
    let compact: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if compact.is_empty() {
        return None;
    }
    if let Some((outward, inward)) = split_uk_postcode(&compact) {
        let sector_digit = inward.get(0..1).unwrap_or_default();
        return Some(PostcodeParts {
            full: format!("{outward} {inward}"),
            district: outward.to_string(),
            sector: format!("{outward} {sector_digit}"),
            is_uk: true,
        });
    }
    Some(PostcodeParts {
        full: compact.clone(),
        district: compact.clone(),
        sector: compact,
        is_uk: false,
    })
}

fn split_uk_postcode(compact: &str) -> Option<(&str, &str)> {
    let len = compact.len();
    if !(5..=7).contains(&len) {
        return None;
    }
    let (outward, inward) = compact.split_at(len - 3);
    let inward_bytes = inward.as_bytes();
    let inward_ok = inward_bytes.first().is_some_and(u8::is_ascii_digit)
        && inward_bytes[1..].iter().all(u8::is_ascii_alphabetic);
    let outward_bytes = outward.as_bytes();
    let outward_ok = outward_bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && outward_bytes.iter().any(u8::is_ascii_digit);
    (inward_ok && outward_ok).then_some((outward, inward))
}

/// Address tokens: normalised words with common street-type abbreviations
/// expanded (`rd` -> `road`), sorted and deduplicated.
pub fn address_tokens(normalised: &str) -> Vec<String> {
    let mut tokens: Vec<String> = normalised
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| expand_abbreviation(t).to_string())
        .collect();
    tokens.sort();
    tokens.dedup();
    tokens
}

fn expand_abbreviation(token: &str) -> &str {
    match token {
        "rd" => "road",
        "st" | "str" => "street",
        "ave" | "av" => "avenue",
        "ln" => "lane",
        "cl" => "close",
        "cres" | "cr" => "crescent",
        "dr" => "drive",
        "ct" => "court",
        "pl" => "place",
        "sq" => "square",
        "tce" | "terr" => "terrace",
        "gdns" => "gardens",
        "pk" => "park",
        "hse" => "house",
        "flt" => "flat",
        "apt" => "apartment",
        other => other,
    }
}

/// Digits only, for identifiers written with spaces or dashes.
pub fn identifier_digits(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_digit).collect()
}

/// True for a 10-digit NHS number whose modulus-11 check digit is right.
pub fn is_valid_nhs_number(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    if bytes.len() != 10 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let weighted: u32 = bytes[..9]
        .iter()
        .enumerate()
        .map(|(idx, b)| u32::from(b - b'0') * (10 - idx as u32))
        .sum();
    let check = 11 - (weighted % 11);
    let check = if check == 11 { 0 } else { check };
    check != 10 && check == u32::from(bytes[9] - b'0')
}

/// Normalise a sex/gender code to `m` or `f`; anything else (`unknown`, `u`,
/// `not known`) is missing.
pub fn normalise_sex(raw: &str) -> Option<&'static str> {
    match normalise_text(raw).as_str() {
        "m" | "male" | "man" | "boy" => Some("m"),
        "f" | "female" | "woman" | "girl" => Some("f"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_text(input: &str, expected: &str) {
        assert_eq!(normalise_name(input), expected, "input {input:?}");
    }

    #[test]
    fn name_normalisation_table() {
        check_text("  Peter   SMITH ", "peter smith");
        check_text("Zoë", "zoe");
        check_text("José-María", "jose maria");
        check_text("O'Brien", "obrien");
        check_text("Smith-Jones", "smith jones");
        check_text("Mr. John Smith", "john smith");
        check_text("Ægir", "aegir");
        check_text("...", "");
    }

    fn check_date(input: &str, expected: Option<(u16, Option<u8>, Option<u8>)>) {
        let parsed = PartialDate::parse(input).map(|d| (d.year(), d.month(), d.day()));
        assert_eq!(parsed, expected, "input {input:?}");
    }

    #[test]
    fn partial_date_table() {
        check_date("2006-03-01", Some((2006, Some(3), Some(1))));
        check_date("2006-03", Some((2006, Some(3), None)));
        check_date("2006", Some((2006, None, None)));
        check_date("19151111", Some((1915, Some(11), Some(11))));
        check_date("01/03/2006", Some((2006, Some(3), Some(1))));
        check_date("2006-13-01", None);
        check_date("2007-02-29", None);
        check_date("2008-02-29", Some((2008, Some(2), Some(29))));
        check_date("19150231", None);
        check_date("", None);
        check_date("abc", None);
    }

    #[test]
    fn transposition() {
        let date = PartialDate::parse("2006-03-01");
        let swapped = date.and_then(|d| d.transposed());
        assert_eq!(swapped, PartialDate::parse("2006-01-03"));
        assert_eq!(
            PartialDate::parse("2006-03-25").and_then(|d| d.transposed()),
            None
        );
    }

    fn check_postcode(input: &str, expected: Option<(&str, &str, &str, bool)>) {
        let parsed = parse_postcode(input);
        let got = parsed.as_ref().map(|p| {
            (
                p.full.as_str(),
                p.district.as_str(),
                p.sector.as_str(),
                p.is_uk,
            )
        });
        assert_eq!(got, expected, "input {input:?}");
    }

    #[test]
    fn postcode_table() {
        check_postcode("n176aa", Some(("N17 6AA", "N17", "N17 6", true)));
        check_postcode("SW1A 1AA", Some(("SW1A 1AA", "SW1A", "SW1A 1", true)));
        check_postcode("M1 1AE", Some(("M1 1AE", "M1", "M1 1", true)));
        check_postcode("4011", Some(("4011", "4011", "4011", false)));
        check_postcode(" ", None);
    }

    #[test]
    fn nickname_table() {
        let check = |left: &str, right: &str, expected: bool| {
            let same = sorted_lists_intersect(&nickname_groups(left), &nickname_groups(right));
            assert_eq!(same, expected, "{left} ~ {right}");
        };
        check("bill", "william", true);
        check("peggy", "margaret", true);
        check("peggy", "maggie", true);
        check("liz", "beth", true);
        check("bill", "robert", false);
        check("zebedee", "zebedee", false);
        check("nicky", "nicola", true);
        check("mo", "muhammad", true);
        check("mohammed", "muhammad", true);
        check("tilly", "matilda", true);
        check("steve", "steven", true);
        check("nicky", "natalie", false);
    }

    #[test]
    fn nhs_number_check_digit() {
        assert!(is_valid_nhs_number("9434765919"));
        assert!(!is_valid_nhs_number("9434765918"));
        assert!(!is_valid_nhs_number("943476591"));
        assert_eq!(identifier_digits("943 476 5919"), "9434765919");
    }

    #[test]
    fn address_and_phonetic() {
        assert_eq!(
            address_tokens("12 example rd london"),
            vec!["12", "example", "london", "road"]
        );
        assert_eq!(phonetic_key("smith"), phonetic_key("smyth"));
        assert_eq!(phonetic_key(""), "");
        assert_eq!(normalise_sex("Female"), Some("f"));
        assert_eq!(normalise_sex("unknown"), None);
    }
}
