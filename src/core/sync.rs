//! Small synchronisation helpers shared by every module.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, recovering from poisoning: a poisoned lock only means another thread panicked
/// while holding it, and every structure guarded this way stays valid between updates.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
