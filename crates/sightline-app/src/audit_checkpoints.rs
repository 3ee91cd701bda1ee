//! Signed checkpoints of the audit log, kept outside the database.
//!
//! The audit chain in the database proves nothing to someone who can rewrite
//! the database: they can drop the triggers, delete entries, recompute every
//! hash and the head, and restore the triggers. So the server signs, at least
//! every minute and at shutdown, a checkpoint (C2SP tlog-checkpoint: the log's
//! size and the RFC 6962 root of its entries, `sightline_access::checkpoint`)
//! with an Ed25519 key read from a file (never from the database), and writes
//! it to a directory the database does not hold. [`verify_with_checkpoints`]
//! then finds any change, removal, insertion or truncation of the entries a
//! checkpoint covers.
//!
//! The directory holds `checkpoint` (the newest, replaced atomically) and
//! `log/<size>` (every checkpoint written, never overwritten). Any one of them
//! is enough to check the entries it covers.
//!
//! - Invariant: a checkpoint is only signed over a log whose chain verified from
//!   entry 1 and that agrees with every checkpoint already in the directory; a
//!   checkpointer that finds a disagreement stops signing (and says so in every
//!   log line after) rather than bless a rewritten log.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sightline_access::audit::{ChainBreak, ChainSummary, ChainVerifier, SealedEntry};
use sightline_access::checkpoint::{Checkpoint, CheckpointError};
use sightline_access::merkle::Frontier;
use sightline_access::note::{NoteError, NoteSigner, NoteVerifier};
use sightline_store::{Store, StoreError};

/// The newest checkpoint's file name in the directory.
const LATEST: &str = "checkpoint";
/// The sub-directory of every checkpoint written, one file per size.
const HISTORY: &str = "log";
/// The largest checkpoint file read.
const CHECKPOINT_FILE_BYTES_MAX: u64 = 64 * 1024;
/// The most checkpoint files read by one verification.
pub const CHECKPOINT_FILES_MAX: usize = 1_000_000;

/// Why the audit log does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditFailure {
    /// The chain itself is broken.
    Chain(ChainBreak),
    /// The first `size` entries are not those a signed checkpoint covers.
    Rewritten {
        /// The checkpoint's size.
        size: u64,
        /// Its file.
        file: PathBuf,
    },
    /// The log has fewer entries than a signed checkpoint covers.
    Truncated {
        /// The checkpoint's size.
        size: u64,
        /// How many entries the log has.
        n_entries: u64,
        /// Its file.
        file: PathBuf,
    },
    /// Two signed checkpoints of one size with different roots.
    Inconsistent {
        /// Their size.
        size: u64,
    },
}

impl fmt::Display for AuditFailure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditFailure::Chain(broken) => write!(formatter, "{broken}"),
            AuditFailure::Rewritten { size, file } => write!(
                formatter,
                "audit log rewritten: its first {size} entries are not those signed in {} \
                 (an entry was changed, removed, inserted or moved)",
                file.display()
            ),
            AuditFailure::Truncated {
                size,
                n_entries,
                file,
            } => write!(
                formatter,
                "audit log truncated: it has {n_entries} entries but {} signed {size}",
                file.display()
            ),
            AuditFailure::Inconsistent { size } => write!(
                formatter,
                "two signed checkpoints of size {size} have different roots"
            ),
        }
    }
}

/// A checkpoint file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointFileError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Invalid {
        path: PathBuf,
        source: CheckpointError,
    },
    #[error("{}: no checkpoint files (expected {LATEST} or {HISTORY}/)", path.display())]
    Empty { path: PathBuf },
    #[error("{}: more than {CHECKPOINT_FILES_MAX} checkpoint files", path.display())]
    TooMany { path: PathBuf },
}

/// Why checkpointing or verification could not run.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    File(#[from] CheckpointFileError),
    #[error(transparent)]
    Key(#[from] KeyFileError),
}

/// What a verification against checkpoints found when it passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointedSummary {
    /// The chain.
    pub chain: ChainSummary,
    /// How many checkpoint files were checked.
    pub n_checkpoints: usize,
    /// The largest size signed.
    pub largest_size: u64,
}

/// A walk over the log that checks the chain and, at each size a checkpoint
/// names, the Merkle root.
struct CheckedWalk {
    chain: ChainVerifier,
    frontier: Frontier,
    /// Signed roots by size, with the file that signed each.
    expected: BTreeMap<u64, ([u8; 32], PathBuf)>,
}

impl CheckedWalk {
    fn new(checkpoints: Vec<(PathBuf, Checkpoint)>) -> Result<CheckedWalk, AuditFailure> {
        let mut expected: BTreeMap<u64, ([u8; 32], PathBuf)> = BTreeMap::new();
        for (path, checkpoint) in checkpoints {
            match expected.get(&checkpoint.size) {
                Some((root, _)) if *root != checkpoint.root_hash => {
                    return Err(AuditFailure::Inconsistent {
                        size: checkpoint.size,
                    });
                }
                Some(_) => {}
                None => {
                    expected.insert(checkpoint.size, (checkpoint.root_hash, path));
                }
            }
        }
        let walk = CheckedWalk {
            chain: ChainVerifier::new(),
            frontier: Frontier::new(),
            expected,
        };
        walk.check_root()?;
        Ok(walk)
    }

    /// Compares the root at the current size with a checkpoint of that size.
    fn check_root(&self) -> Result<(), AuditFailure> {
        match self.expected.get(&self.frontier.size()) {
            Some((root, file)) if *root != self.frontier.root() => Err(AuditFailure::Rewritten {
                size: self.frontier.size(),
                file: file.clone(),
            }),
            _ => Ok(()),
        }
    }

    fn push(&mut self, sealed: &SealedEntry) -> Result<(), AuditFailure> {
        self.chain.push(sealed).map_err(AuditFailure::Chain)?;
        self.frontier
            .push(&sightline_access::audit::canonical_bytes(&sealed.entry));
        self.check_root()
    }

    /// The first checkpoint beyond the end of the log, if any.
    fn truncation(&self) -> Option<AuditFailure> {
        let n_entries = self.frontier.size();
        self.expected
            .range(n_entries + 1..)
            .next()
            .map(|(size, (_, file))| AuditFailure::Truncated {
                size: *size,
                n_entries,
                file: file.clone(),
            })
    }
}

/// Reads and opens every checkpoint in `dir` (`checkpoint` and `log/*`). A file
/// whose signature does not verify with `verifier` is an error: someone wrote
/// into the directory who does not hold the key.
pub fn read_checkpoints(
    dir: &Path,
    verifier: &NoteVerifier,
) -> Result<Vec<(PathBuf, Checkpoint)>, CheckpointFileError> {
    let mut paths = Vec::new();
    let latest = dir.join(LATEST);
    if latest.exists() {
        paths.push(latest);
    }
    let history = dir.join(HISTORY);
    if history.exists() {
        let entries = std::fs::read_dir(&history).map_err(|source| CheckpointFileError::Io {
            path: history.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| CheckpointFileError::Io {
                path: history.clone(),
                source,
            })?;
            let path = entry.path();
            // Temporary files of an interrupted write are not checkpoints.
            if path.extension().is_some_and(|extension| extension == "tmp") {
                continue;
            }
            paths.push(path);
            if paths.len() > CHECKPOINT_FILES_MAX {
                return Err(CheckpointFileError::TooMany {
                    path: dir.to_owned(),
                });
            }
        }
    }
    let mut checkpoints = Vec::with_capacity(paths.len());
    for path in paths {
        let text = read_small(&path, CHECKPOINT_FILE_BYTES_MAX)?;
        let checkpoint =
            Checkpoint::open(&text, verifier).map_err(|source| CheckpointFileError::Invalid {
                path: path.clone(),
                source,
            })?;
        checkpoints.push((path, checkpoint));
    }
    Ok(checkpoints)
}

fn read_small(path: &Path, bytes_max: u64) -> Result<String, CheckpointFileError> {
    use std::io::Read as _;
    let io = |source| CheckpointFileError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut text = String::new();
    file.take(bytes_max + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > bytes_max {
        return Err(io(std::io::Error::other("the file is too large")));
    }
    Ok(text)
}

/// Checks the whole chain (as [`crate::audit::verify_audit`]) and, at every
/// size a checkpoint in `dir` signed, that the first entries have the signed
/// Merkle root; and that the log is not shorter than any checkpoint.
/// `Ok(Err(..))` says what is wrong.
pub fn verify_with_checkpoints(
    store: &dyn Store,
    dir: &Path,
    verifier: &NoteVerifier,
) -> Result<Result<CheckpointedSummary, AuditFailure>, CheckpointerError> {
    let checkpoints = read_checkpoints(dir, verifier)?;
    if checkpoints.is_empty() {
        return Err(CheckpointFileError::Empty {
            path: dir.to_owned(),
        }
        .into());
    }
    let n_checkpoints = checkpoints.len();
    let largest_size = checkpoints
        .iter()
        .map(|(_, checkpoint)| checkpoint.size)
        .max()
        .unwrap_or(0);
    let mut walk = match CheckedWalk::new(checkpoints) {
        Ok(walk) => walk,
        Err(failure) => return Ok(Err(failure)),
    };
    let recorded_head = match crate::audit::walk_audit(store, 0, &mut |sealed| walk.push(sealed))? {
        Ok(head) => head,
        Err(failure) => return Ok(Err(failure)),
    };
    if let Some(truncated) = walk.truncation() {
        return Ok(Err(truncated));
    }
    Ok(walk
        .chain
        .finish(recorded_head)
        .map(|chain| CheckpointedSummary {
            chain,
            n_checkpoints,
            largest_size,
        })
        .map_err(AuditFailure::Chain))
}

/// Writes signed checkpoints of one store's audit log into one directory.
#[derive(Debug)]
pub struct Checkpointer {
    signer: NoteSigner,
    dir: PathBuf,
    walk: Option<CheckedWalk>,
    /// The size of the newest checkpoint written by this process.
    written_size: Option<u64>,
    /// Set when the log disagreed with its chain or a checkpoint: nothing more
    /// is signed.
    refused: Option<AuditFailure>,
}

impl fmt::Debug for CheckedWalk {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "CheckedWalk(size {})", self.frontier.size())
    }
}

/// What one [`Checkpointer::checkpoint`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointOutcome {
    /// A checkpoint of this size was written.
    Written { size: u64 },
    /// The log has not grown since the last checkpoint written.
    Unchanged { size: u64 },
    /// The log does not verify: nothing was signed.
    Refused(AuditFailure),
}

impl Checkpointer {
    /// A checkpointer writing into `dir` (created if missing).
    pub fn new(signer: NoteSigner, dir: &Path) -> Result<Checkpointer, CheckpointFileError> {
        std::fs::create_dir_all(dir.join(HISTORY)).map_err(|source| CheckpointFileError::Io {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Checkpointer {
            signer,
            dir: dir.to_owned(),
            walk: None,
            written_size: None,
            refused: None,
        })
    }

    /// Reads the entries appended since the last call (the whole log at the
    /// first), checks them, and signs and writes a checkpoint when the log grew
    /// (or none was written yet by this process).
    pub fn checkpoint(
        &mut self,
        store: &dyn Store,
    ) -> Result<CheckpointOutcome, CheckpointerError> {
        if let Some(failure) = &self.refused {
            return Ok(CheckpointOutcome::Refused(failure.clone()));
        }
        if self.walk.is_none() {
            let existing = read_checkpoints(&self.dir, &self.signer.verifier())?;
            match CheckedWalk::new(existing) {
                Ok(walk) => self.walk = Some(walk),
                Err(failure) => return Ok(self.refuse(failure)),
            }
        }
        let Some(walk) = self.walk.as_mut() else {
            return Ok(CheckpointOutcome::Unchanged { size: 0 });
        };
        let after_seq = i64::try_from(walk.frontier.size()).unwrap_or(i64::MAX);
        let walked = crate::audit::walk_audit(store, after_seq, &mut |sealed| walk.push(sealed))?;
        let failure = match walked {
            Err(failure) => Some(failure),
            Ok(_) => walk.truncation(),
        };
        if let Some(failure) = failure {
            return Ok(self.refuse(failure));
        }
        let size = walk.frontier.size();
        if self.written_size == Some(size) {
            return Ok(CheckpointOutcome::Unchanged { size });
        }
        let checkpoint = Checkpoint {
            origin: self.signer.name().to_owned(),
            size,
            root_hash: walk.frontier.root(),
        };
        let note =
            checkpoint
                .sign(&self.signer)
                .map_err(|source| CheckpointFileError::Invalid {
                    path: self.dir.clone(),
                    source,
                })?;
        write_checkpoint(&self.dir, size, &note)?;
        walk.expected
            .insert(size, (checkpoint.root_hash, self.dir.join(LATEST)));
        self.written_size = Some(size);
        Ok(CheckpointOutcome::Written { size })
    }

    fn refuse(&mut self, failure: AuditFailure) -> CheckpointOutcome {
        self.refused = Some(failure.clone());
        CheckpointOutcome::Refused(failure)
    }
}

/// Writes `note` as `log/<size>` (unless present: a checkpoint of one size is
/// the same bytes, Ed25519 being deterministic) and then as `checkpoint`, each
/// through a synced temporary file renamed into place.
fn write_checkpoint(dir: &Path, size: u64, note: &str) -> Result<(), CheckpointFileError> {
    let history = dir.join(HISTORY).join(size.to_string());
    if !history.exists() {
        write_atomically(&history, note)?;
    }
    write_atomically(&dir.join(LATEST), note)
}

fn write_atomically(path: &Path, text: &str) -> Result<(), CheckpointFileError> {
    let io = |source| CheckpointFileError::Io {
        path: path.to_owned(),
        source,
    };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let mut file = std::fs::File::create(&temporary).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(io)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)
            .and_then(|directory| directory.sync_all())
            .map_err(io)?;
    }
    Ok(())
}

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Invalid { path: PathBuf, source: NoteError },
    #[error(
        "{}: the signing key is readable by others (mode {mode:o}); chmod 600 it",
        path.display()
    )]
    Exposed { path: PathBuf, mode: u32 },
}

/// A new signing key named `name` (the checkpoints' origin, e.g.
/// `audit.example.org/sightline`), from the operating system's random source.
pub fn generate_key(name: &str) -> Result<NoteSigner, NoteError> {
    use rand::RngCore as _;
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    NoteSigner::from_seed(name, seed)
}

/// Writes a new signing key to `path` (which must not exist), readable by its
/// owner only, and its verifier key to `path.pub`.
pub fn write_key_file(path: &Path, signer: &NoteSigner) -> Result<PathBuf, KeyFileError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| KeyFileError::Io { path, source }
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    writeln!(file, "{}", signer.to_key_string()).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    let mut public = path.as_os_str().to_owned();
    public.push(".pub");
    let public = PathBuf::from(public);
    std::fs::write(&public, format!("{}\n", signer.verifier().to_key_string()))
        .map_err(io(&public))?;
    Ok(public)
}

/// Reads a signing key file; refuses one that others can read.
pub fn read_signing_key(path: &Path) -> Result<NoteSigner, KeyFileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let metadata = std::fs::metadata(path).map_err(|source| KeyFileError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Exposed {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    })?;
    NoteSigner::parse(&text).map_err(|source| KeyFileError::Invalid {
        path: path.to_owned(),
        source,
    })
}

/// A verifier key from `text`: a verifier key itself, or the contents of a
/// verifier key file or of a signing key file (whose verifier is derived).
pub fn parse_verifier(text: &str) -> Result<NoteVerifier, NoteError> {
    let text = text.trim();
    if text.starts_with("PRIVATE+KEY+") {
        return NoteSigner::parse(text).map(|signer| signer.verifier());
    }
    NoteVerifier::parse(text)
}
