//! Signed notes (C2SP `signed-note`, as `golang.org/x/mod/sumdb/note` writes
//! them) with Ed25519 keys: the envelope of the audit log's checkpoints.
//!
//! A note is a text ending in a newline, a blank line, then signature lines
//! `— <key name> <base64(key id || signature)>`. The key id is the first four
//! bytes of SHA-256(key name || 0x0A || 0x01 || public key). Keys are written
//! as the Go tooling writes them: a signer `PRIVATE+KEY+<name>+<id hex>+<base64(0x01
//! || seed)>`, a verifier `<name>+<id hex>+<base64(0x01 || public key)>`.
//!
//! Pure: signing is deterministic (RFC 8032) and a new key's seed is a
//! parameter, so the caller brings the randomness.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The signature type byte of Ed25519 in a key id and key encoding.
const ED25519: u8 = 0x01;

/// The largest note read (a checkpoint is a few hundred bytes).
pub const NOTE_BYTES_MAX: usize = 64 * 1024;

/// The most signature lines read from one note (the specification asks for at
/// least 16).
pub const SIGNATURES_MAX: usize = 100;

/// What is wrong with a key or a note.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    #[error("key name {0:?} is not allowed (it must be non-empty, without spaces or '+')")]
    BadKeyName(String),
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    #[error("the note is not signed by {0}")]
    NotSigned(String),
    #[error("the signature by {0} does not verify")]
    BadSignature(String),
}

fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::BadKeyName(name.to_owned()));
    }
    Ok(())
}

/// The key id of an Ed25519 key named `name`.
pub fn key_id(name: &str, public_key: &VerifyingKey) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', ED25519]);
    hasher.update(public_key.as_bytes());
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// A named Ed25519 signing key.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    id: u32,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the seed.
        write!(formatter, "NoteSigner({}+{:08x})", self.name, self.id)
    }
}

impl NoteSigner {
    /// A signer from a 32-byte seed (from a secure random source).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, &key.verifying_key());
        Ok(NoteSigner {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// Reads `PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>`.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::MalformedKey("a signing key starts PRIVATE+KEY+"))?;
        let (name, id, key) = split_key(rest)?;
        let seed: [u8; 32] = key
            .try_into()
            .map_err(|_| NoteError::MalformedKey("an Ed25519 seed is 32 bytes"))?;
        let signer = NoteSigner::from_seed(name, seed)?;
        if signer.id != id {
            return Err(NoteError::MalformedKey("the key id does not match the key"));
        }
        Ok(signer)
    }

    /// The signing key as written to a key file.
    pub fn to_key_string(&self) -> String {
        let mut encoded = vec![ED25519];
        encoded.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            BASE64.encode(encoded)
        )
    }

    /// The key's name (a checkpoint's origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// Signs `text` (which must end in a newline and hold no control
    /// characters but newlines) into a note with one signature.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let signature = self.key.sign(text.as_bytes());
        let mut blob = self.id.to_be_bytes().to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{text}\n\u{2014} {} {}\n",
            self.name,
            BASE64.encode(blob)
        ))
    }
}

/// A named Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Reads `<name>+<id>+<base64(0x01 || public key)>`.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let (name, id, key) = split_key(text.trim())?;
        check_key_name(name)?;
        let bytes: [u8; 32] = key
            .try_into()
            .map_err(|_| NoteError::MalformedKey("an Ed25519 public key is 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| NoteError::MalformedKey("not an Ed25519 public key"))?;
        if key_id(name, &key) != id {
            return Err(NoteError::MalformedKey("the key id does not match the key"));
        }
        Ok(NoteVerifier {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The verifier key as written to a file or a configuration.
    pub fn to_key_string(&self) -> String {
        let mut encoded = vec![ED25519];
        encoded.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, BASE64.encode(encoded))
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks `note` and returns its text: it must carry a signature by this
    /// key that verifies. Signatures by other keys are ignored, as the
    /// specification asks.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        if note.len() > NOTE_BYTES_MAX {
            return Err(NoteError::Malformed("the note is too long"));
        }
        if note.chars().any(|c| c < ' ' && c != '\n') {
            return Err(NoteError::Malformed(
                "control characters other than newline",
            ));
        }
        let split = note
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let text = &note[..=split];
        let signatures = &note[split + 2..];
        if !signatures.ends_with('\n') {
            return Err(NoteError::Malformed(
                "the signatures do not end in a newline",
            ));
        }
        let mut verified = false;
        for (count, line) in signatures.lines().enumerate() {
            if count >= SIGNATURES_MAX {
                return Err(NoteError::Malformed("too many signatures"));
            }
            let rest = line.strip_prefix("\u{2014} ").ok_or(NoteError::Malformed(
                "a signature line starts with an em dash",
            ))?;
            let (name, blob) = rest.split_once(' ').ok_or(NoteError::Malformed(
                "a signature line is `— name signature`",
            ))?;
            check_key_name(name)?;
            let blob = BASE64
                .decode(blob)
                .map_err(|_| NoteError::Malformed("a signature is not base64"))?;
            if blob.len() < 4 {
                return Err(NoteError::Malformed(
                    "a signature is shorter than its key id",
                ));
            }
            let id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
            if name != self.name || id != self.id {
                continue;
            }
            let signature = Signature::from_slice(&blob[4..])
                .map_err(|_| NoteError::BadSignature(self.name.clone()))?;
            self.key
                .verify_strict(text.as_bytes(), &signature)
                .map_err(|_| NoteError::BadSignature(self.name.clone()))?;
            verified = true;
        }
        if verified {
            Ok(text)
        } else {
            Err(NoteError::NotSigned(self.name.clone()))
        }
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("the text does not end in a newline"));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed(
            "control characters other than newline",
        ));
    }
    Ok(())
}

/// Splits `<name>+<id hex>+<base64>` and checks the type byte.
fn split_key(text: &str) -> Result<(&str, u32, Vec<u8>), NoteError> {
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::MalformedKey("a key is <name>+<id>+<key>"));
    };
    if id.len() != 8 {
        return Err(NoteError::MalformedKey("a key id is 8 hex digits"));
    }
    let id = u32::from_str_radix(id, 16)
        .map_err(|_| NoteError::MalformedKey("a key id is 8 hex digits"))?;
    let key = BASE64
        .decode(key)
        .map_err(|_| NoteError::MalformedKey("the key is not base64"))?;
    match key.split_first() {
        Some((&ED25519, rest)) => Ok((name, id, rest.to_vec())),
        _ => Err(NoteError::MalformedKey("only Ed25519 keys (type 0x01)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // The example key and note of golang.org/x/mod/sumdb/note, the reference
    // implementation of the format.
    const GO_SIGNER: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VERIFIER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                           then you don't know what your problem is.\n";
    const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
        then you don't know what your problem is.\n\
        \n\
        \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn matches_the_reference_implementation_byte_for_byte() {
        let signer = NoteSigner::parse(GO_SIGNER).unwrap();
        assert_eq!(signer.to_key_string(), GO_SIGNER);
        assert_eq!(signer.verifier().to_key_string(), GO_VERIFIER);
        assert_eq!(signer.sign(GO_TEXT).unwrap(), GO_NOTE);
        let verifier = NoteVerifier::parse(GO_VERIFIER).unwrap();
        assert_eq!(verifier.open(GO_NOTE).unwrap(), GO_TEXT);
    }

    #[test]
    fn a_changed_note_or_another_key_is_refused() {
        let verifier = NoteVerifier::parse(GO_VERIFIER).unwrap();
        let changed = GO_NOTE.replace("cryptography", "cryptograph!");
        assert_eq!(
            verifier.open(&changed),
            Err(NoteError::BadSignature("PeterNeumann".into()))
        );
        let other = NoteSigner::from_seed("PeterNeumann", [7; 32]).unwrap();
        // Same name, another key id: ignored, so the note is not signed by us.
        assert_eq!(
            verifier.open(&other.sign(GO_TEXT).unwrap()),
            Err(NoteError::NotSigned("PeterNeumann".into()))
        );
        assert!(NoteSigner::from_seed("two words", [1; 32]).is_err());
        assert!(NoteSigner::from_seed("a+b", [1; 32]).is_err());
        assert!(verifier.open("no blank line\n").is_err());
        assert!(verifier.open("text\n\n\u{2014} PeterNeumann\n").is_err());
    }

    #[test]
    fn keys_round_trip() {
        let signer = NoteSigner::from_seed("audit.example/sightline", [42; 32]).unwrap();
        let again = NoteSigner::parse(&signer.to_key_string()).unwrap();
        assert_eq!(again.to_key_string(), signer.to_key_string());
        let verifier = NoteVerifier::parse(&signer.verifier().to_key_string()).unwrap();
        assert_eq!(verifier, signer.verifier());
        assert!(!format!("{signer:?}").contains(&signer.to_key_string()[30..]));
        // A key id that does not match its key.
        let tampered = signer.to_key_string().replace(
            &format!("{:08x}", signer.id),
            &format!("{:08x}", signer.id ^ 1),
        );
        assert!(NoteSigner::parse(&tampered).is_err());
    }

    proptest! {
        #[test]
        fn no_text_panics_the_reader(text in "\\PC{0,200}", raw in proptest::collection::vec(any::<u8>(), 0..200)) {
            let verifier = NoteVerifier::parse(GO_VERIFIER).unwrap();
            let _ = verifier.open(&text);
            let _ = verifier.open(&String::from_utf8_lossy(&raw));
            let _ = NoteVerifier::parse(&text);
            let _ = NoteSigner::parse(&text);
        }

        #[test]
        fn signed_text_opens(lines in proptest::collection::vec("[ -~]{1,40}", 1..6)) {
            let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
            let signer = NoteSigner::from_seed("example.org/log", [9; 32]).unwrap();
            let note = signer.sign(&text).unwrap();
            prop_assert_eq!(signer.verifier().open(&note).unwrap(), text.as_str());
        }
    }
}
