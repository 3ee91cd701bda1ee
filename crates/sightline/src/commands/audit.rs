//! `sightline audit verify` and `sightline audit keygen`.

use crate::DbArg;
use anyhow::Context;
use clap::Subcommand;
use sightline_app::audit_checkpoints;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain from the first entry to the recorded head.
    /// Exits 1 and names the first broken entry when any entry was changed,
    /// removed, inserted or moved. With --checkpoints, also checks the log
    /// against every signed checkpoint the server wrote there, which finds a
    /// rewrite of the entries they cover even when every hash and the head
    /// were recomputed, and a log cut shorter than one of them.
    Verify {
        #[command(flatten)]
        db: DbArg,
        /// The directory of signed checkpoints (`serve --audit-checkpoints`).
        #[arg(long, env = "SIGHTLINE_AUDIT_CHECKPOINTS")]
        checkpoints: Option<PathBuf>,
        /// The key the checkpoints must be signed by: a verifier key file
        /// (`KEYFILE.pub` from `audit keygen`), the signing key file itself, or
        /// the verifier key text.
        #[arg(long, env = "SIGHTLINE_AUDIT_KEY")]
        key: Option<String>,
    },
    /// Make the Ed25519 key that signs the audit checkpoints: writes KEYFILE
    /// (readable by its owner only; keep it out of the database and of any
    /// repository) and KEYFILE.pub, and prints the verifier key.
    Keygen {
        /// Where to write the signing key (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// The log's name, the checkpoints' origin: a schema-less URL naming
        /// this deployment, e.g. `audit.safeguarding.example.gov.uk/sightline`.
        #[arg(long)]
        name: String,
    },
}

pub fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify {
            db,
            checkpoints: None,
            key: _,
        } => {
            let store = super::open_store(&db)?;
            match sightline_app::audit::verify_audit(store.as_ref())? {
                Ok(summary) => {
                    match summary.head {
                        Some(head) => outln!(
                            "audit chain intact: {} entries; head is entry {} with hash {}",
                            summary.n_entries,
                            head.seq,
                            hex_string(&head.entry_hash)
                        ),
                        None => outln!("audit chain intact: no entries yet"),
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(broken) => {
                    outln!("{broken}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        AuditCommand::Verify {
            db,
            checkpoints: Some(dir),
            key,
        } => {
            let key = key.context(
                "--checkpoints needs --key (or SIGHTLINE_AUDIT_KEY): the key the checkpoints are signed by",
            )?;
            let key_text = if std::path::Path::new(&key).exists() {
                std::fs::read_to_string(&key).with_context(|| format!("could not read {key}"))?
            } else {
                key
            };
            let verifier = audit_checkpoints::parse_verifier(&key_text)
                .context("not a verifier key, a verifier key file or a signing key file")?;
            let store = super::open_store(&db)?;
            match audit_checkpoints::verify_with_checkpoints(store.as_ref(), &dir, &verifier)? {
                Ok(summary) => {
                    outln!(
                        "audit chain intact: {} entries, agreeing with {} signed checkpoint(s) \
                         (the largest covers {} entries)",
                        summary.chain.n_entries,
                        summary.n_checkpoints,
                        summary.largest_size
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(failure) => {
                    outln!("{failure}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        AuditCommand::Keygen { out, name } => {
            let signer = audit_checkpoints::generate_key(&name)?;
            let public = audit_checkpoints::write_key_file(&out, &signer)?;
            eoutln!(
                "signing key written to {} (mode 600); verifier key to {}",
                out.display(),
                public.display()
            );
            outln!("{}", signer.verifier().to_key_string());
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub(crate) fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
