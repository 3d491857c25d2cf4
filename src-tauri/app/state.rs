//! What the window's commands share: the store (one connection behind a mutex; SQLite calls
//! are short and never held across an `.await`) and where the data lives.
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use crate::store::Store;

pub struct AppState {
    store: Mutex<Store>,
    pub data_dir: PathBuf,
}

impl AppState {
    pub fn new(store: Store, data_dir: PathBuf) -> Self {
        AppState {
            store: Mutex::new(store),
            data_dir,
        }
    }

    /// The store; a panic in another command does not make it unusable.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
