//! Text from records made safe to print on an operator's terminal.
//!
//! A name in a record can hold terminal escape sequences (ESC and the other
//! C0 and C1 controls) that move the cursor, rewrite earlier lines or set the
//! window title, and Unicode bidirectional controls that make a line read
//! differently from what it holds (issue #15, finding 12). [`safe`] writes
//! each such character as a `\uXXXX` escape, the same form JSON uses, so a
//! line of JSON stays valid JSON and a table stays a table. Newlines and tabs
//! are kept: they are the printer's own layout.

use std::borrow::Cow;

/// Whether `character` must not reach a terminal as it is.
pub fn is_unsafe(character: char) -> bool {
    matches!(character,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        // Bidirectional embeddings, overrides and isolates, and the marks.
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{200e}' | '\u{200f}' | '\u{061c}'
        // Line and paragraph separators start a new line on some terminals.
        | '\u{2028}' | '\u{2029}')
}

/// `text` with every unsafe character written as `\uXXXX`; borrowed when
/// there is none.
pub fn safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for character in text.chars() {
        if is_unsafe(character) {
            out.push_str(&format!("\\u{:04x}", u32::from(character)));
        } else {
            out.push(character);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_controls_and_bidi_and_keeps_layout() {
        assert_eq!(
            safe("Leo\u{1b}]0;owned\u{7}\tMarsh\n"),
            "Leo\\u001b]0;owned\\u0007\tMarsh\n"
        );
        assert_eq!(safe("abc\u{202e}fed"), "abc\\u202efed");
        assert_eq!(safe("\u{9b}31m"), "\\u009b31m");
        assert!(matches!(safe("Zoë O'Brien-Łukasz 李"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_stays_json() {
        let value = serde_json::json!({"name": "a\u{202e}b\u{7f}c\u{85}d\u{1b}e"});
        let text = serde_json::to_string(&value).expect("json");
        let printed = safe(&text);
        assert!(!printed.chars().any(is_unsafe));
        let back: serde_json::Value = serde_json::from_str(&printed).expect("still JSON");
        assert_eq!(back, value);
    }

    proptest! {
        #[test]
        fn nothing_unsafe_is_left(text in "\\PC*|[\\x00-\\x{ff}\\x{2000}-\\x{2070}]{0,40}") {
            prop_assert!(!safe(&text).chars().any(is_unsafe));
        }
    }
}
