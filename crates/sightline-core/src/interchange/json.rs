//! A JSON tree that borrows its strings from the input text, for validation.
//!
//! Validating a record needs a tree (every problem is reported, in field order),
//! but `serde_json::Value` copies every key and string into its own allocation.
//! [`Json`] borrows them from the record's text (only strings with escapes are
//! copied), which roughly halves the cost of validating a record.
//!
//! Invariant: validating a [`Json`] tree reports exactly what validating the
//! `serde_json::Value` of the same text would: the parser and its errors are
//! serde_json's, a repeated key keeps its last value, and an object's keys are
//! listed sorted and distinct (as `serde_json::Map` lists them). Intake refuses
//! a record that repeats a key before validating it ([`Json::repeated_keys`]);
//! a body read back from the log (accepted before that) keeps the last.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::fmt;

/// A JSON value whose strings borrow from the text it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// A JSON object: its members in the order written, repeats included.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Object<'a> {
    members: Vec<(Cow<'a, str>, Json<'a>)>,
}

impl<'a> Json<'a> {
    /// Parses JSON text; the errors are serde_json's.
    pub(crate) fn parse(text: &'a str) -> Result<Json<'a>, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The tree of an already parsed `serde_json::Value`, borrowing its strings.
    pub(crate) fn from_value(value: &'a Value) -> Json<'a> {
        match value {
            Value::Null => Json::Null,
            Value::Bool(flag) => Json::Bool(*flag),
            Value::Number(number) => Json::Number(number.clone()),
            Value::String(text) => Json::String(Cow::Borrowed(text)),
            Value::Array(items) => Json::Array(items.iter().map(Json::from_value).collect()),
            Value::Object(map) => Json::Object(Object {
                members: map
                    .iter()
                    .map(|(key, value)| (Cow::Borrowed(key.as_str()), Json::from_value(value)))
                    .collect(),
            }),
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    pub(crate) fn as_object(&self) -> Option<&Object<'a>> {
        match self {
            Json::Object(object) => Some(object),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(number) => number.as_i64(),
            _ => None,
        }
    }

    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(number) => number.as_u64(),
            _ => None,
        }
    }
}

/// A member name repeated within one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepeatedKey {
    /// Where: the field path of the repeated member (`source.agency`), or of
    /// its object when the name is not a plain field name.
    pub(crate) path: String,
    /// The repeated name.
    pub(crate) key: String,
}

impl Json<'_> {
    /// Every member name that appears more than once in one object, anywhere
    /// in the tree, in document order (each once per object). JSON allows
    /// repeats, but readers disagree on which value counts (serde_json keeps
    /// the last, others the first), so a record must not have any.
    pub(crate) fn repeated_keys(&self) -> Vec<RepeatedKey> {
        let mut found = Vec::new();
        self.collect_repeated_keys(&mut String::new(), &mut found);
        found
    }

    fn collect_repeated_keys(&self, path: &mut String, found: &mut Vec<RepeatedKey>) {
        let length = path.len();
        match self {
            Json::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    path.push_str(&format!("[{index}]"));
                    item.collect_repeated_keys(path, found);
                    path.truncate(length);
                }
            }
            Json::Object(object) => {
                for (index, (key, value)) in object.members.iter().enumerate() {
                    let plain = !key.is_empty()
                        && key
                            .bytes()
                            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
                    if plain {
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(key);
                    }
                    let earlier = &object.members[..index];
                    let first_repeat =
                        earlier.iter().filter(|(other, _)| other == key).count() == 1;
                    if first_repeat {
                        found.push(RepeatedKey {
                            path: path.clone(),
                            key: key.to_string(),
                        });
                    }
                    value.collect_repeated_keys(path, found);
                    path.truncate(length);
                }
            }
            _ => {}
        }
    }
}

impl<'a> Object<'a> {
    /// The value of `name`; the last one when the key is repeated.
    pub(crate) fn get(&self, name: &str) -> Option<&Json<'a>> {
        self.members
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The distinct keys not in `known`, sorted.
    pub(crate) fn unknown_keys(&self, known: &[&str]) -> Vec<&str> {
        let mut unknown: Vec<&str> = self
            .members
            .iter()
            .map(|(key, _)| key.as_ref())
            .filter(|key| !known.contains(key))
            .collect();
        if unknown.len() > 1 {
            unknown.sort_unstable();
            unknown.dedup();
        }
        unknown
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Json<'de>, E> {
        // As serde_json::Value: a float JSON cannot hold becomes null.
        Ok(Number::from_f64(value).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(value)))
    }

    fn visit_none<E: de::Error>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'de>, D::Error> {
        Json::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(Key(key)) = map.next_key()? {
            members.push((key, map.next_value()?));
        }
        Ok(Json::Object(Object { members }))
    }
}

/// An object key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree parsed from text equals the tree of serde_json's Value of the same
    /// text, once repeats are resolved and keys sorted as a Map holds them.
    fn canonical<'a>(json: &Json<'a>) -> Json<'a> {
        match json {
            Json::Array(items) => Json::Array(items.iter().map(canonical).collect()),
            Json::Object(object) => {
                let mut keys: Vec<&Cow<'a, str>> =
                    object.members.iter().map(|(key, _)| key).collect();
                keys.sort();
                keys.dedup();
                Json::Object(Object {
                    members: keys
                        .into_iter()
                        .map(|key| {
                            let value = object.get(key).map(canonical).unwrap_or(Json::Null);
                            (key.clone(), value)
                        })
                        .collect(),
                })
            }
            other => other.clone(),
        }
    }

    #[test]
    fn parses_as_serde_json_value_does() {
        for text in [
            r#"{"b": 1, "a": [true, null, -2, 3.5, 1e300, "x\"y"], "b": {"z": "\u00e9", "y": []}}"#,
            r#"[18446744073709551615, -9223372036854775808, 0.1, "\ud83d\ude00"]"#,
            r#""plain""#,
            "null",
        ] {
            let value: Value = serde_json::from_str(text).expect("valid JSON");
            let parsed = Json::parse(text).expect("valid JSON");
            assert_eq!(canonical(&parsed), Json::from_value(&value), "{text}");
        }
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let parsed = Json::parse(r#"{"plain": "text", "esc\u0061ped": "a\nb"}"#).expect("JSON");
        let Json::Object(object) = parsed else {
            panic!("an object");
        };
        assert!(matches!(object.members[0].0, Cow::Borrowed("plain")));
        assert!(matches!(
            object.members[0].1,
            Json::String(Cow::Borrowed("text"))
        ));
        assert!(matches!(object.members[1].0, Cow::Owned(ref key) if key == "escaped"));
        assert!(
            matches!(object.members[1].1, Json::String(Cow::Owned(ref text)) if text == "a\nb")
        );
    }

    #[test]
    fn syntax_errors_are_serde_json_errors() {
        for text in [
            "{",
            r#"{"a" 1}"#,
            "[1,]",
            "01",
            "1e999",
            r#"{"a": tru}"#,
            "[] x",
        ] {
            let value_error = serde_json::from_str::<Value>(text)
                .expect_err("invalid")
                .to_string();
            let json_error = Json::parse(text).expect_err("invalid").to_string();
            assert_eq!(json_error, value_error, "{text}");
        }
    }

    #[test]
    fn repeated_keys_are_found_with_their_paths() {
        let parsed = Json::parse(
            r#"{"source": {"agency": "police", "record_id": "R", "agency": "social-care", "agency": "x"},
                "persons": [{"ref": "c"}, {"ref": "a", "ref": "b", "a b": 1, "a b": 2}], "kind": 1}"#,
        )
        .expect("JSON");
        assert_eq!(
            parsed.repeated_keys(),
            vec![
                RepeatedKey {
                    path: "source.agency".into(),
                    key: "agency".into()
                },
                RepeatedKey {
                    path: "persons[1].ref".into(),
                    key: "ref".into()
                },
                RepeatedKey {
                    path: "persons[1]".into(),
                    key: "a b".into()
                },
            ]
        );
        assert!(
            Json::parse(r#"{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}"#)
                .expect("JSON")
                .repeated_keys()
                .is_empty()
        );
    }

    #[test]
    fn unknown_keys_are_sorted_and_distinct() {
        let parsed = Json::parse(r#"{"z": 1, "a": 2, "known": 3, "z": 4}"#).expect("JSON");
        let object = parsed.as_object().expect("object");
        assert_eq!(object.unknown_keys(&["known"]), vec!["a", "z"]);
        assert_eq!(object.get("z"), Some(&Json::Number(4.into())));
    }
}
