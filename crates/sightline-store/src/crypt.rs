//! Record bodies encrypted at rest (issue #18 item 3, "crypto-shredding").
//!
//! A body is stored as an envelope: each person of the record's `persons`
//! array is sealed with a data key of its own (a *mention key*), and the rest
//! of the body (source, kind, dates, findings, relationships, narrative) with
//! the record's key. Keys are random 256-bit ChaCha20-Poly1305 keys held in
//! `data_keys`, one row each; erasure deletes the rows (and writes which key
//! ids went, and why, to `erasures` / `erased_keys`), after which the sealed
//! text in the log can never be opened again. The log row itself is never
//! changed.
//!
//! Opening an envelope reassembles the body byte for byte as it was received
//! when every key is there, so `content_hash` (SHA-256 of the body as
//! received) still matches it. A person whose key was erased is put back as
//! `{"ref": .., "role": .., "source_person_id": "erased:ID"}` (a valid
//! interchange person with no identifying value; `ID` is the erasure), so
//! every reader keeps working and a page can say "erased on DATE (reason)".
//! A record whose own key was erased has no body at all
//! ([`crate::StoredRecord::erased`]).
//!
//! - Invariant: every key encrypts exactly one text; the associated data binds
//!   each sealed text to its row (`agency`, `record_id`, `version`) and its
//!   place (rest or person index), so sealed texts cannot be swapped.
//! - Invariant: no key, plaintext or person value in an error.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::StoreError;

/// Bytes of a data key.
pub(crate) const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;
/// Every envelope starts with these bytes; a body that does not is plaintext
/// from before encryption (only until the migration step has run).
pub(crate) const ENVELOPE_PREFIX: &str = "{\"sl_enc\":1,";

/// A new random data key.
pub(crate) fn new_key() -> [u8; KEY_BYTES] {
    let mut key = [0u8; KEY_BYTES];
    rand::rng().fill_bytes(&mut key);
    key
}

/// The stored envelope.
#[derive(Serialize, Deserialize)]
struct Envelope {
    sl_enc: u8,
    /// The record key's id.
    k: i64,
    /// Nonce and ciphertext of the rest of the body, base64.
    c: String,
    /// One entry per person, in order.
    p: Vec<SealedPerson>,
}

#[derive(Serialize, Deserialize)]
struct SealedPerson {
    /// The mention key's id.
    k: i64,
    /// Where in the rest of the body the person's text goes back (byte offset).
    at: usize,
    /// The person's `ref`, kept in clear: a label local to the record.
    r: String,
    /// The person's `role` (a vocabulary code), kept in clear.
    o: Option<String>,
    /// Nonce and ciphertext of the person object's text, base64.
    c: String,
}

/// The key ids one envelope uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeKeys {
    /// The record key.
    pub record_key: i64,
    /// One per person of the body: its `ref` and its mention key.
    pub mentions: Vec<(String, i64)>,
}

/// What a key id resolves to when a body is opened.
#[derive(Clone)]
pub(crate) enum KeyState {
    Live([u8; KEY_BYTES]),
    /// Destroyed by the erasure with this id.
    Erased(i64),
}

#[derive(Deserialize)]
struct PersonsOnly<'a> {
    #[serde(borrow, default)]
    persons: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct RefRole {
    #[serde(rename = "ref", default)]
    person_ref: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

fn associated_data(agency: &str, record_id: &str, version: i64, place: &str) -> String {
    format!("sightline/v1\u{0}{agency}\u{0}{record_id}\u{0}{version}\u{0}{place}")
}

fn seal_text(key: &[u8; KEY_BYTES], plaintext: &[u8], aad: &str) -> Result<String, StoreError> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let mut nonce = [0u8; NONCE_BYTES];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| StoreError::Corrupt("a record body could not be encrypted"))?;
    let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(BASE64.encode(out))
}

fn open_text(key: &[u8; KEY_BYTES], sealed: &str, aad: &str) -> Result<Vec<u8>, StoreError> {
    let bytes = BASE64
        .decode(sealed)
        .map_err(|_| StoreError::Corrupt("a sealed record body is not base64"))?;
    if bytes.len() < NONCE_BYTES {
        return Err(StoreError::Corrupt("a sealed record body is too short"));
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
    ChaCha20Poly1305::new(Key::from_slice(key))
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| StoreError::Corrupt("a record body does not decrypt with its key"))
}

/// The persons' byte ranges in `body`, or none when the body is not a JSON
/// object with a `persons` array (it is then sealed whole).
fn person_spans(body: &str) -> Vec<(usize, usize, Option<String>, Option<String>)> {
    let Ok(parsed) = serde_json::from_str::<PersonsOnly<'_>>(body) else {
        return Vec::new();
    };
    let base = body.as_ptr() as usize;
    let mut spans = Vec::new();
    for raw in parsed.persons.unwrap_or_default() {
        let text = raw.get();
        let start = (text.as_ptr() as usize).wrapping_sub(base);
        let end = start.wrapping_add(text.len());
        if end > body.len() || body.get(start..end) != Some(text) {
            return Vec::new();
        }
        let ref_role = serde_json::from_str::<RefRole>(text).ok();
        let (person_ref, role) = ref_role
            .map(|ref_role| (ref_role.person_ref, ref_role.role))
            .unwrap_or((None, None));
        spans.push((start, end, person_ref, role));
    }
    spans
}

/// Seals `body` for the row `(agency, record_id, version)`. `store_key` keeps
/// a new key in the key table (in the caller's transaction) and returns its id.
pub(crate) fn seal(
    agency: &str,
    record_id: &str,
    version: i64,
    body: &str,
    store_key: &mut dyn FnMut(&[u8; KEY_BYTES]) -> Result<i64, StoreError>,
) -> Result<String, StoreError> {
    let spans = person_spans(body);
    let mut rest = String::with_capacity(body.len());
    let mut persons = Vec::with_capacity(spans.len());
    let mut copied_to = 0;
    for (person_idx, (start, end, person_ref, role)) in spans.into_iter().enumerate() {
        rest.push_str(body.get(copied_to..start).unwrap_or_default());
        copied_to = end;
        let key = new_key();
        let key_id = store_key(&key)?;
        let aad = associated_data(agency, record_id, version, &format!("person:{person_idx}"));
        persons.push(SealedPerson {
            k: key_id,
            at: rest.len(),
            r: person_ref.unwrap_or_default(),
            o: role,
            c: seal_text(
                &key,
                body.get(start..end).unwrap_or_default().as_bytes(),
                &aad,
            )?,
        });
    }
    rest.push_str(body.get(copied_to..).unwrap_or_default());
    let record_key = new_key();
    let record_key_id = store_key(&record_key)?;
    let sealed_rest = seal_text(
        &record_key,
        rest.as_bytes(),
        &associated_data(agency, record_id, version, "rest"),
    )?;
    let envelope = Envelope {
        sl_enc: 1,
        k: record_key_id,
        c: sealed_rest,
        p: persons,
    };
    serde_json::to_string(&envelope)
        .map_err(|_| StoreError::Corrupt("a record envelope could not be written"))
}

fn parse_envelope(stored: &str) -> Result<Option<Envelope>, StoreError> {
    if !stored.starts_with(ENVELOPE_PREFIX) {
        return Ok(None);
    }
    serde_json::from_str(stored)
        .map(Some)
        .map_err(|_| StoreError::Corrupt("a record envelope does not parse"))
}

/// The key ids of a stored body; `None` for a plaintext body.
pub(crate) fn envelope_keys(stored: &str) -> Result<Option<EnvelopeKeys>, StoreError> {
    Ok(parse_envelope(stored)?.map(|envelope| EnvelopeKeys {
        record_key: envelope.k,
        mentions: envelope
            .p
            .into_iter()
            .map(|person| (person.r, person.k))
            .collect(),
    }))
}

/// The body as opened: the text, or the erasure that took the record's key.
pub(crate) enum Opened {
    Body(String),
    RecordErased(i64),
}

/// Opens a stored body with the keys in `keys` (every key id of the envelope
/// must be there, live or erased). A plaintext body is returned as it is.
pub(crate) fn open(
    agency: &str,
    record_id: &str,
    version: i64,
    stored: &str,
    keys: &HashMap<i64, KeyState>,
) -> Result<Opened, StoreError> {
    let Some(envelope) = parse_envelope(stored)? else {
        return Ok(Opened::Body(stored.to_owned()));
    };
    let record_key = match keys.get(&envelope.k) {
        Some(KeyState::Live(key)) => key,
        Some(KeyState::Erased(erasure_id)) => return Ok(Opened::RecordErased(*erasure_id)),
        None => return Err(StoreError::Corrupt("a record body's key is missing")),
    };
    let rest = open_text(
        record_key,
        &envelope.c,
        &associated_data(agency, record_id, version, "rest"),
    )?;
    let rest =
        String::from_utf8(rest).map_err(|_| StoreError::Corrupt("a record body is not UTF-8"))?;
    let mut body = String::with_capacity(rest.len() + envelope.p.len() * 256);
    let mut copied_to = 0;
    for (person_idx, person) in envelope.p.iter().enumerate() {
        let at = person.at.max(copied_to);
        body.push_str(
            rest.get(copied_to..at)
                .ok_or(StoreError::Corrupt("a record envelope's offsets are wrong"))?,
        );
        copied_to = at;
        match keys.get(&person.k) {
            Some(KeyState::Live(key)) => {
                let aad =
                    associated_data(agency, record_id, version, &format!("person:{person_idx}"));
                let text = open_text(key, &person.c, &aad)?;
                body.push_str(
                    std::str::from_utf8(&text)
                        .map_err(|_| StoreError::Corrupt("a record body is not UTF-8"))?,
                );
            }
            Some(KeyState::Erased(erasure_id)) => {
                body.push_str(&erased_person(&person.r, person.o.as_deref(), *erasure_id));
            }
            None => return Err(StoreError::Corrupt("a person's key is missing")),
        }
    }
    body.push_str(
        rest.get(copied_to..)
            .ok_or(StoreError::Corrupt("a record envelope's offsets are wrong"))?,
    );
    Ok(Opened::Body(body))
}

/// Every key id the envelopes of `records` use, ascending, deduplicated.
pub(crate) fn key_ids_of(records: &[crate::StoredRecord]) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::new();
    for record in records {
        if let Some(keys) = envelope_keys(&record.body)? {
            ids.push(keys.record_key);
            ids.extend(keys.mentions.iter().map(|(_, key_id)| *key_id));
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Opens every record's body in place with `keys` (as [`open`]).
pub(crate) fn open_all(
    records: &mut [crate::StoredRecord],
    keys: &HashMap<i64, KeyState>,
) -> Result<(), StoreError> {
    for record in records.iter_mut() {
        match open(
            &record.agency,
            &record.record_id,
            record.version,
            &record.body,
            keys,
        )? {
            Opened::Body(body) => record.body = body,
            Opened::RecordErased(erasure_id) => {
                record.body = String::new();
                record.erased = Some(erasure_id);
            }
        }
    }
    Ok(())
}

/// Reads a key from its stored bytes.
pub(crate) fn key_from_bytes(bytes: &[u8]) -> Result<[u8; KEY_BYTES], StoreError> {
    <[u8; KEY_BYTES]>::try_from(bytes)
        .map_err(|_| StoreError::Corrupt("a data key is not 32 bytes"))
}

/// The prefix of the `source_person_id` an erased person is given back with.
pub const ERASED_PERSON_PREFIX: &str = "erased:";

/// The person an erased mention is read back as: its `ref` and `role`, and a
/// `source_person_id` naming the erasure.
fn erased_person(person_ref: &str, role: Option<&str>, erasure_id: i64) -> String {
    let mut object = serde_json::Map::new();
    object.insert("ref".into(), person_ref.into());
    if let Some(role) = role {
        object.insert("role".into(), role.into());
    }
    object.insert(
        "source_person_id".into(),
        format!("{ERASED_PERSON_PREFIX}{erasure_id}").into(),
    );
    serde_json::Value::Object(object).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"source": {"agency": "a", "record_id": "R1", "version": 1}, "kind": "health.gp_consultation", "persons": [{"ref": "c", "role": "subject", "given_names": "Leo", "dob": "2006-03-01"}, {"ref": "m", "role": "parent", "family_name": "Marsh"}], "narrative": "Bruises"}"#;

    fn sealed() -> (String, HashMap<i64, [u8; KEY_BYTES]>) {
        let mut keys = HashMap::new();
        let mut next = 0;
        let envelope = seal("a", "R1", 1, BODY, &mut |key| {
            next += 1;
            keys.insert(next, *key);
            Ok(next)
        })
        .unwrap();
        (envelope, keys)
    }

    fn live(keys: &HashMap<i64, [u8; KEY_BYTES]>) -> HashMap<i64, KeyState> {
        keys.iter()
            .map(|(id, key)| (*id, KeyState::Live(*key)))
            .collect()
    }

    #[test]
    fn an_envelope_holds_no_value_and_opens_byte_for_byte() {
        let (envelope, keys) = sealed();
        for value in ["Leo", "Marsh", "2006-03-01", "Bruises", "gp_consultation"] {
            assert!(!envelope.contains(value), "{value} in {envelope}");
        }
        assert!(envelope.starts_with(ENVELOPE_PREFIX));
        let Opened::Body(body) = open("a", "R1", 1, &envelope, &live(&keys)).unwrap() else {
            panic!("erased")
        };
        assert_eq!(body, BODY);
        let ids = envelope_keys(&envelope).unwrap().unwrap();
        assert_eq!(ids.mentions, vec![("c".into(), 1), ("m".into(), 2)]);
        assert_eq!(ids.record_key, 3);
    }

    #[test]
    fn an_erased_person_comes_back_without_values() {
        let (envelope, keys) = sealed();
        let mut states = live(&keys);
        states.insert(2, KeyState::Erased(9));
        let Opened::Body(body) = open("a", "R1", 1, &envelope, &states).unwrap() else {
            panic!("erased")
        };
        assert!(!body.contains("Marsh"));
        assert!(body.contains("Leo"));
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            value["persons"][1],
            serde_json::json!({"ref": "m", "role": "parent", "source_person_id": "erased:9"})
        );
        states.insert(3, KeyState::Erased(10));
        assert!(matches!(
            open("a", "R1", 1, &envelope, &states).unwrap(),
            Opened::RecordErased(10)
        ));
    }

    #[test]
    fn a_text_moved_to_another_row_does_not_open() {
        let (envelope, keys) = sealed();
        assert!(open("a", "R2", 1, &envelope, &live(&keys)).is_err());
    }

    #[test]
    fn bodies_that_are_not_records_are_sealed_whole() {
        for body in ["not json", "{\"id\": 1}", "[1,2]", "{\"persons\": 3}", ""] {
            let mut keys = HashMap::new();
            let mut next = 0;
            let envelope = seal("a", "R", 2, body, &mut |key| {
                next += 1;
                keys.insert(next, KeyState::Live(*key));
                Ok(next)
            })
            .unwrap();
            let Opened::Body(opened) = open("a", "R", 2, &envelope, &keys).unwrap() else {
                panic!("erased")
            };
            assert_eq!(opened, body);
        }
    }
}
