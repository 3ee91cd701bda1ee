//! Checkpoints of the audit log (C2SP `tlog-checkpoint`): the log's origin, its
//! size and the RFC 6962 root of its first `size` entries ([`crate::merkle`]),
//! as the text of a signed note ([`crate::note`]).
//!
//! ```text
//! audit.example.org/sightline
//! 20852
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — audit.example.org/sightline Az3grlgtzPIC...
//! ```
//!
//! Written outside the database with a key the database does not hold, a
//! checkpoint lets `audit verify --checkpoints` find any rewrite of the entries
//! it covers, even one that recomputed every hash and the head.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::note::{NoteError, NoteSigner, NoteVerifier};

/// A log's state at one size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Which log: the signing key's name.
    pub origin: String,
    /// How many entries (leaves) the tree has.
    pub size: u64,
    /// The RFC 6962 root of the first `size` entries.
    pub root_hash: [u8; 32],
}

/// What is wrong with a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    #[error("the checkpoint is of log {found:?}, not {expected:?}")]
    WrongOrigin { expected: String, found: String },
}

impl Checkpoint {
    /// The note text: origin, size and root, one a line.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root_hash)
        )
    }

    /// Reads a note text. Extension lines after the root are allowed and
    /// ignored, as the format says.
    pub fn parse_text(text: &str) -> Result<Checkpoint, CheckpointError> {
        let mut lines = text.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(CheckpointError::Malformed("the origin line is empty"));
        }
        let size_line = lines
            .next()
            .ok_or(CheckpointError::Malformed("no size line"))?;
        let canonical = size_line == "0"
            || (!size_line.starts_with('0')
                && !size_line.is_empty()
                && size_line.bytes().all(|byte| byte.is_ascii_digit()));
        if !canonical {
            return Err(CheckpointError::Malformed(
                "the size is not a decimal without leading zeroes",
            ));
        }
        let size = size_line
            .parse::<u64>()
            .map_err(|_| CheckpointError::Malformed("the size is too large"))?;
        let root_line = lines
            .next()
            .ok_or(CheckpointError::Malformed("no root hash line"))?;
        let root_hash: [u8; 32] = BASE64
            .decode(root_line)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(CheckpointError::Malformed(
                "the root hash is not 32 bytes of base64",
            ))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root_hash,
        })
    }

    /// The signed note of this checkpoint.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, CheckpointError> {
        if self.origin != signer.name() {
            return Err(CheckpointError::WrongOrigin {
                expected: signer.name().to_owned(),
                found: self.origin.clone(),
            });
        }
        Ok(signer.sign(&self.to_text())?)
    }

    /// Opens a signed checkpoint: the signature by `verifier` must verify and
    /// the origin must be the key's name.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<Checkpoint, CheckpointError> {
        let text = verifier.open(note)?;
        let checkpoint = Checkpoint::parse_text(text)?;
        if checkpoint.origin != verifier.name() {
            return Err(CheckpointError::WrongOrigin {
                expected: verifier.name().to_owned(),
                found: checkpoint.origin,
            });
        }
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn signer() -> NoteSigner {
        NoteSigner::from_seed("audit.example.org/sightline", [3; 32]).unwrap()
    }

    #[test]
    fn signs_and_opens() {
        let checkpoint = Checkpoint {
            origin: "audit.example.org/sightline".into(),
            size: 20852,
            root_hash: [5; 32],
        };
        let note = checkpoint.sign(&signer()).unwrap();
        assert!(note.starts_with(
            "audit.example.org/sightline\n20852\nBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=\n\n\u{2014} audit.example.org/sightline "
        ));
        assert_eq!(
            Checkpoint::open(&note, &signer().verifier()).unwrap(),
            checkpoint
        );
        // A size changed after signing.
        let forged = note.replace("\n20852\n", "\n20853\n");
        assert!(matches!(
            Checkpoint::open(&forged, &signer().verifier()),
            Err(CheckpointError::Note(NoteError::BadSignature(_)))
        ));
        let other_origin = Checkpoint {
            origin: "elsewhere".into(),
            ..checkpoint
        };
        assert!(other_origin.sign(&signer()).is_err());
    }

    #[test]
    fn malformed_texts() {
        for text in [
            "",
            "origin\n",
            "origin\n012\nBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=\n",
            "origin\n-1\nBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=\n",
            "origin\n1\nnot base64\n",
            "origin\n99999999999999999999999\nBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=\n",
        ] {
            assert!(Checkpoint::parse_text(text).is_err(), "{text:?}");
        }
        assert_eq!(
            Checkpoint::parse_text("o\n0\nBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=\next\n")
                .unwrap()
                .size,
            0
        );
    }

    proptest! {
        #[test]
        fn round_trips(size in any::<u64>(), root in any::<[u8; 32]>()) {
            let checkpoint = Checkpoint { origin: "o.example/x".into(), size, root_hash: root };
            prop_assert_eq!(Checkpoint::parse_text(&checkpoint.to_text()).unwrap(), checkpoint);
        }

        #[test]
        fn no_text_panics(text in "\\PC{0,120}") {
            let _ = Checkpoint::parse_text(&text);
            let _ = Checkpoint::open(&text, &signer().verifier());
        }
    }
}
