//! The in-memory alert store: the same contract as DynamoDB (conditional writes on the version,
//! incidents written with their target atomically) for the demo and the simulation.

use crate::sinks::alert::record::{IncidentRecord, TargetRecord};
use crate::sinks::alert::silence::Silence;
use crate::sinks::alert::store::{changed_incidents, SaveError, Store, StoreError};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Default)]
struct Tables {
    targets: BTreeMap<(String, String), TargetRecord>,
    /// (canary, target, incident start in ms) → incident.
    incidents: BTreeMap<(String, String, i64), IncidentRecord>,
    silences: BTreeMap<(String, String), Silence>,
}

/// Alert state in this process's memory; lost when it exits.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave a half-written record (every write is one
        // insert), so a poisoned lock's data is still consistent.
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    async fn load(&self, canary: &str, target: &str) -> Result<Option<TargetRecord>, StoreError> {
        Ok(self
            .tables()
            .targets
            .get(&(canary.to_string(), target.to_string()))
            .cloned())
    }

    async fn save(
        &self,
        canary: &str,
        target: &str,
        record: &TargetRecord,
        previous: &TargetRecord,
    ) -> Result<(), SaveError> {
        let mut t = self.tables();
        let key = (canary.to_string(), target.to_string());
        let stored = t.targets.get(&key).map_or(0, |r| r.version);
        if stored != previous.version {
            return Err(SaveError::Conflict);
        }
        for incident in changed_incidents(record, previous) {
            let k = (
                key.0.clone(),
                key.1.clone(),
                incident.started.timestamp_millis(),
            );
            let value = IncidentRecord {
                target: target.to_string(),
                incident: incident.clone(),
            };
            t.incidents.insert(k, value);
        }
        t.targets.insert(key, record.clone());
        Ok(())
    }

    async fn silences(&self, canary: &str) -> Result<Vec<Silence>, StoreError> {
        Ok(self
            .tables()
            .silences
            .iter()
            .filter(|((c, _), _)| c == canary)
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn add_silence(&self, canary: &str, silence: &Silence) -> Result<(), StoreError> {
        let mut t = self.tables();
        let key = (canary.to_string(), silence.id.clone());
        if t.silences.contains_key(&key) {
            return Err(StoreError::DuplicateSilence(silence.id.clone()));
        }
        t.silences.insert(key, silence.clone());
        Ok(())
    }

    async fn remove_silence(&self, canary: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .tables()
            .silences
            .remove(&(canary.to_string(), id.to_string()))
            .is_some())
    }

    async fn incidents(&self, canary: &str) -> Result<Vec<IncidentRecord>, StoreError> {
        Ok(self
            .tables()
            .incidents
            .iter()
            .filter(|((c, _, _), _)| c == canary)
            .map(|(_, i)| i.clone())
            .collect())
    }
}
