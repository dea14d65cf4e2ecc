//! The alert store: the few operations the engine and the CLI need, over DynamoDB in AWS and
//! in memory for the demo and the simulation. Reads are strongly consistent; every target write
//! is conditional on the version read.

use crate::sinks::alert::record::{Incident, IncidentRecord, TargetRecord};
use crate::sinks::alert::silence::Silence;
use std::future::Future;

/// A store operation that did not happen (or whose outcome is unknown).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// The store could not be reached or refused the call (throttling, 5xx, timeout, access).
    #[error("alert state table unavailable: {0}")]
    Unavailable(String),
    /// An item could not be read back (written by an incompatible version, or edited by hand).
    #[error("alert state item unreadable: {0}")]
    Corrupt(String),
    /// A silence with this id already exists.
    #[error("a silence with id {0} already exists")]
    DuplicateSilence(String),
}

/// Why a conditional target write did not apply.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SaveError {
    /// Another run wrote the item since it was read: re-read and decide again.
    #[error("the target's alert state changed since it was read")]
    Conflict,
    /// The write failed (or its outcome is unknown).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where alert state lives. One record per (canary, target); incidents and silences beside it.
pub trait Store: Send + Sync {
    /// The target's record, strongly consistent; `None` when it was never written.
    fn load(
        &self,
        canary: &str,
        target: &str,
    ) -> impl Future<Output = Result<Option<TargetRecord>, StoreError>> + Send;

    /// Writes `record` if the stored version is still `previous.version` (`0`: no item yet),
    /// together with the items of its open and last closed incident where they differ from
    /// `previous`'s, atomically. `record.version` is `previous.version + 1`.
    fn save(
        &self,
        canary: &str,
        target: &str,
        record: &TargetRecord,
        previous: &TargetRecord,
    ) -> impl Future<Output = Result<(), SaveError>> + Send;

    /// Every silence of the canary, expired ones included (until the table's TTL removes them).
    fn silences(
        &self,
        canary: &str,
    ) -> impl Future<Output = Result<Vec<Silence>, StoreError>> + Send;

    /// Adds a silence; refuses an id that exists.
    fn add_silence(
        &self,
        canary: &str,
        silence: &Silence,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes a silence; `false` when there was none with that id.
    fn remove_silence(
        &self,
        canary: &str,
        id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every stored incident of the canary (open and recently closed), any order.
    fn incidents(
        &self,
        canary: &str,
    ) -> impl Future<Output = Result<Vec<IncidentRecord>, StoreError>> + Send;
}

/// The incidents of `record` (open, last closed) whose stored item must be rewritten: those
/// that differ from `previous`'s. Most writes change no incident and touch one item only.
pub fn changed_incidents<'a>(
    record: &'a TargetRecord,
    previous: &'a TargetRecord,
) -> impl Iterator<Item = &'a Incident> {
    let before = [&previous.state.incident, &previous.state.last_closed];
    [&record.state.incident, &record.state.last_closed]
        .into_iter()
        .flatten()
        .filter(move |i| !before.iter().any(|b| b.as_ref() == Some(*i)))
}
