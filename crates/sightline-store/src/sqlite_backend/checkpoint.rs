//! WAL checkpoints off the acknowledgement path.
//!
//! SQLite's automatic checkpoint runs inside the committing call once the WAL
//! holds 1,000 pages: after a large batch the `COMMIT` that acknowledges it also
//! copies the whole WAL into the database file and syncs it. Durability needs
//! only the WAL synced at commit (`synchronous=FULL`), so the writer connection
//! turns the automatic checkpoint off and a background thread with its own
//! connection runs a `PASSIVE` checkpoint after commits instead.
//!
//! The WAL stays bounded: SQLite rewinds it to the start at the next write once a
//! checkpoint has copied every frame, and truncates the file to
//! [`WAL_BYTES_MAX`] then (`journal_size_limit`). Should the file still exceed
//! that limit when the writer begins a transaction (the thread fell behind, or
//! another process wrote), the writer first waits for a running checkpoint and
//! runs one itself, before the new batch rather than inside an acknowledgement.
//! At a clean shutdown the thread is stopped and the last connection to close
//! checkpoints and removes the WAL (SQLite does that on close).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::lock;
use crate::StoreError;

/// Above this size the WAL file is checkpointed before the writer's next
/// transaction, and a rewound WAL is truncated to it.
pub(super) const WAL_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// Commits closer together than this share one background checkpoint (each
/// checkpoint syncs the database file).
const CHECKPOINT_INTERVAL_MIN: Duration = Duration::from_millis(100);

/// The background checkpointer of one SQLite store.
pub(super) struct Checkpointer {
    shared: Arc<Shared>,
    wal_path: PathBuf,
    wal_bytes_max: u64,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Held while a checkpoint runs, by the thread or by the writer.
    running: Mutex<()>,
}

#[derive(Default)]
struct State {
    /// A commit happened since the last checkpoint began.
    requested: bool,
    shutdown: bool,
}

impl Checkpointer {
    /// Starts the thread with its own connection (`connection`, opened with the
    /// store's durability settings) for the database at `path`.
    pub(super) fn start(
        path: &Path,
        connection: Connection,
        wal_bytes_max: u64,
    ) -> Result<Self, StoreError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            running: Mutex::new(()),
        });
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("sqlite-checkpoint".to_owned())
                .spawn(move || run(&shared, &connection))?
        };
        let mut wal_path = path.to_path_buf().into_os_string();
        wal_path.push("-wal");
        Ok(Checkpointer {
            shared,
            wal_path: PathBuf::from(wal_path),
            wal_bytes_max,
            thread: Some(thread),
        })
    }

    /// Sets the writer connection up: no automatic checkpoint in its commits, and
    /// a rewound WAL truncated to the limit (every connection truncates to
    /// [`WAL_BYTES_MAX`], whichever rewinds the WAL; tests set a smaller limit
    /// here).
    pub(super) fn configure_writer(&self, writer: &Connection) -> Result<(), StoreError> {
        writer.execute_batch(&format!(
            "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {};",
            self.wal_bytes_max
        ))?;
        Ok(())
    }

    /// Wakes the thread after a commit (returns at once).
    pub(super) fn request(&self) {
        lock(&self.shared.state).requested = true;
        self.shared.wake.notify_one();
    }

    /// Called by the writer before it begins a transaction: when the WAL file
    /// exceeds the limit, waits for a running checkpoint and runs one on
    /// `writer`, so the WAL is rewound at this transaction's first write.
    pub(super) fn bound_wal(&self, writer: &Connection) -> Result<(), StoreError> {
        if self.wal_bytes() <= self.wal_bytes_max {
            return Ok(());
        }
        let _running = lock(&self.shared.running);
        passive_checkpoint(writer)?;
        Ok(())
    }

    /// The lock a checkpoint holds while it runs (tests hold it to keep one
    /// from running).
    #[cfg(test)]
    pub(super) fn running(&self) -> &Mutex<()> {
        &self.shared.running
    }

    /// Size of the WAL file in bytes (0 when there is none).
    pub(super) fn wal_bytes(&self) -> u64 {
        file_bytes(&self.wal_path)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        lock(&self.shared.state).shutdown = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            // A panicked thread has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

/// Size of a file in bytes (0 when there is none).
pub(super) fn file_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |metadata| metadata.len())
}

/// Copies the WAL's committed frames into the database file, without waiting for
/// readers or the writer (`PASSIVE`), and syncs it.
fn passive_checkpoint(connection: &Connection) -> Result<(), rusqlite::Error> {
    // One row: busy flag, frames in the WAL, frames checkpointed.
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

/// The thread: waits for a request, then checkpoints, at most once per
/// [`CHECKPOINT_INTERVAL_MIN`]; exits on shutdown.
fn run(shared: &Shared, connection: &Connection) {
    let mut last_started: Option<Instant> = None;
    loop {
        {
            let mut state = lock(&shared.state);
            loop {
                if state.shutdown {
                    return;
                }
                let due = last_started.map(|started| started + CHECKPOINT_INTERVAL_MIN);
                let now = Instant::now();
                match due {
                    _ if !state.requested => {
                        state = shared
                            .wake
                            .wait(state)
                            .unwrap_or_else(|poisoned| poisoned.into_inner());
                    }
                    Some(due) if due > now => {
                        state = shared
                            .wake
                            .wait_timeout(state, due - now)
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .0;
                    }
                    _ => break,
                }
            }
            state.requested = false;
        }
        last_started = Some(Instant::now());
        let _running = lock(&shared.running);
        // A failed checkpoint (the file busy, a disk error) leaves the frames in
        // the WAL, where they are durable; the next request retries, and the
        // writer checkpoints itself, reporting the error, once the WAL exceeds
        // the limit.
        let _ = passive_checkpoint(connection);
    }
}
