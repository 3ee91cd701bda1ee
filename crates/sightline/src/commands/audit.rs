//! `sightline audit verify`.

use crate::DbArg;
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain from the first entry to the recorded head.
    /// Exits 1 and names the first broken entry when any entry was changed,
    /// removed, inserted or moved.
    Verify {
        #[command(flatten)]
        db: DbArg,
    },
}

pub fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { db } => {
            let store = super::open_store(&db)?;
            match sightline_app::audit::verify_audit(store.as_ref())? {
                Ok(summary) => {
                    match summary.head {
                        Some(head) => println!(
                            "audit chain intact: {} entries; head is entry {} with hash {}",
                            summary.n_entries,
                            head.seq,
                            hex_string(&head.entry_hash)
                        ),
                        None => println!("audit chain intact: no entries yet"),
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(broken) => {
                    println!("{broken}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
