//! Which process is writing a streaming answer or running an analysis. Each open [`Store`] takes
//! a lease: a lock file `writers/<id>.lock` beside the database, held (an OS file lock) for as
//! long as the store is open. Rows a process is still writing carry its lease id; at start-up a
//! row whose lease is no longer held belonged to a process that died (kill -9, a crash, power
//! loss) and is repaired, while the live work of another window or CLI is left alone.
//!
//! [`Store`]: super::Store
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

pub struct Lease {
    id: String,
    /// The held lock file (`None`: an in-memory store, or a data dir that cannot be written).
    file: Option<(File, PathBuf)>,
}

impl Lease {
    /// Takes a new lease in `dir` (created if needed). If the lock file cannot be made, the
    /// lease still has an id; others will then see this process's rows as abandoned.
    pub fn take(dir: Option<&Path>) -> Lease {
        let id = uuid::Uuid::new_v4().to_string();
        let file = dir.and_then(|dir| {
            crate::files::private_dir(dir).ok()?;
            let path = dir.join(format!("{id}.lock"));
            let file = File::create(&path).ok()?;
            file.try_lock().ok()?;
            Some((file, path))
        });
        Lease { id, file }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the lease `id` is held by a live store (this one or another process's).
    pub fn is_held(dir: Option<&Path>, own: &str, id: &str) -> bool {
        if id == own {
            return true;
        }
        let Some(dir) = dir else { return false };
        if uuid::Uuid::parse_str(id).is_err() {
            return false;
        }
        let path = dir.join(format!("{id}.lock"));
        let Ok(file) = File::options().write(true).open(&path) else {
            return false;
        };
        match file.try_lock() {
            Ok(()) => {
                // Nobody holds it: the process is gone. Its file goes too.
                let _ = std::fs::remove_file(&path);
                false
            }
            Err(TryLockError::WouldBlock) => true,
            // The lock cannot be checked (a file system without locks): assume alive, so live
            // work is never marked as abandoned.
            Err(TryLockError::Error(_)) => true,
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some((file, path)) = self.file.take() {
            let _ = std::fs::remove_file(&path);
            drop(file);
        }
    }
}
