//! Locking shared state: a panic in one thread must not make the state unusable for the rest.
use std::sync::{Mutex, MutexGuard};

/// Locks `m`, recovering the guard if another thread panicked while holding it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
