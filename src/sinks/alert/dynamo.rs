//! The DynamoDB alert store: one partition per canary holding an item per target (its record as
//! JSON under a version), per incident and per silence. Strongly consistent reads; target writes
//! are conditional on the version, and carry their changed incident items in one transaction.

use crate::sinks::alert::record::{Incident, IncidentRecord, TargetRecord};
use crate::sinks::alert::silence::{Scope, Silence};
use crate::sinks::alert::store::{changed_incidents, SaveError, Store, StoreError};
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::collections::HashMap;

/// The partition key attribute: the canary's name.
pub const PK: &str = "pk";
/// The sort key attribute: `target#NAME`, `incident#TARGET#START_MS` or `silence#ID`.
pub const SK: &str = "sk";
/// The TTL attribute (epoch seconds) on closed incidents and silences.
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// The environment variable naming the table.
pub const TABLE_VAR: &str = "CANARY_STATE_TABLE";

const TARGET_PREFIX: &str = "target#";
const INCIDENT_PREFIX: &str = "incident#";
const SILENCE_PREFIX: &str = "silence#";

type Item = HashMap<String, AttributeValue>;

/// Alert state in a DynamoDB table (see `template.yaml`'s `StateTable`).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    retention: Duration,
}

impl DynamoStore {
    /// A store over `table`; closed incidents expire `retention` after they end.
    pub fn new(client: Client, table: impl Into<String>, retention: Duration) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
            retention,
        }
    }

    /// Every item of the canary whose sort key starts with `prefix`, consistently read.
    async fn query(&self, canary: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(canary))
                .expression_attribute_values(":prefix", s(prefix))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(items),
            }
        }
    }

    /// Writes the target item (under its condition) and its changed incident items in one
    /// transaction; a failed condition or a concurrent transaction on the item is a conflict.
    async fn transact(
        &self,
        item: Item,
        condition: Condition,
        incidents: Vec<Item>,
    ) -> Result<(), SaveError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(Some(condition.names))
            .set_expression_attribute_values(condition.values)
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut writes = vec![TransactWriteItem::builder().put(put).build()];
        for incident in incidents {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(incident))
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            writes.push(TransactWriteItem::builder().put(put).build());
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if raced(&e) => Err(SaveError::Conflict),
            Err(e) => Err(unavailable(e).into()),
        }
    }

    fn target_item(
        &self,
        canary: &str,
        target: &str,
        record: &TargetRecord,
    ) -> Result<Item, StoreError> {
        let body = serde_json::to_string(record)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode the record: {e}")))?;
        let mut item = key(canary, &format!("{TARGET_PREFIX}{target}"));
        item.insert("target".into(), s(target));
        item.insert("version".into(), n(record.version));
        item.insert("record".into(), s(&body));
        if let Some(at) = record.state.last_checked {
            item.insert("checked_ms".into(), n(at.timestamp_millis()));
        }
        Ok(item)
    }

    fn incident_item(&self, canary: &str, target: &str, i: &Incident) -> Item {
        let mut item = key(canary, &incident_sort_key(target, i.started));
        item.insert("target".into(), s(target));
        item.insert("started".into(), s(&i.started.to_rfc3339()));
        item.insert("opened".into(), s(&i.opened.to_rfc3339()));
        item.insert("announced".into(), AttributeValue::Bool(i.announced));
        item.insert("notices_sent".into(), n(i.notices_sent));
        if let Some(end) = i.ended {
            item.insert("ended".into(), s(&end.to_rfc3339()));
            item.insert(TTL_ATTRIBUTE.into(), n((end + self.retention).timestamp()));
        }
        item
    }
}

/// Whether a transaction failed because another run got there first: a failed condition, or
/// another transaction on the item in flight. Either way, re-read.
fn raced<R>(e: &SdkError<TransactWriteItemsError, R>) -> bool {
    let Some(TransactWriteItemsError::TransactionCanceledException(c)) = e.as_service_error()
    else {
        return false;
    };
    c.cancellation_reasons().iter().any(|r| {
        matches!(
            r.code(),
            Some("ConditionalCheckFailed" | "TransactionConflict")
        )
    })
}

/// The sort key of an incident: zero-padded start so incidents list in time order.
fn incident_sort_key(target: &str, started: DateTime<Utc>) -> String {
    format!(
        "{INCIDENT_PREFIX}{target}#{:015}",
        started.timestamp_millis()
    )
}

fn key(canary: &str, sort: &str) -> Item {
    HashMap::from([(PK.to_string(), s(canary)), (SK.to_string(), s(sort))])
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn unavailable<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(StoreError::Corrupt(format!(
            "item has no string attribute {name}"
        ))),
    }
}

fn get_n(item: &Item, name: &str) -> Result<u64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("{name} is not a whole number: {v}"))),
        _ => Err(StoreError::Corrupt(format!(
            "item has no number attribute {name}"
        ))),
    }
}

fn get_time(item: &Item, name: &str) -> Result<DateTime<Utc>, StoreError> {
    let v = get_s(item, name)?;
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("{name} is not a time ({v}): {e}")))
}

fn opt_time(item: &Item, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    item.contains_key(name)
        .then(|| get_time(item, name))
        .transpose()
}

fn silence_from(item: &Item) -> Result<Silence, StoreError> {
    Ok(Silence {
        id: get_s(item, "id")?.to_string(),
        scope: Scope::from_stored(get_s(item, "scope")?),
        start: get_time(item, "start")?,
        end: get_time(item, "end")?,
        reason: get_s(item, "reason")?.to_string(),
        created_by: get_s(item, "created_by")?.to_string(),
    })
}

fn incident_from(item: &Item) -> Result<IncidentRecord, StoreError> {
    Ok(IncidentRecord {
        target: get_s(item, "target")?.to_string(),
        incident: Incident {
            started: get_time(item, "started")?,
            opened: get_time(item, "opened")?,
            ended: opt_time(item, "ended")?,
            announced: matches!(item.get("announced"), Some(AttributeValue::Bool(true))),
            fail_queued: false,
            last_notified: None,
            notices_sent: u32::try_from(get_n(item, "notices_sent")?).unwrap_or(u32::MAX),
        },
    })
}

/// A condition expression with its attribute names and values (DynamoDB refuses unused ones).
struct Condition {
    expression: String,
    names: HashMap<String, String>,
    values: Option<Item>,
}

/// The condition every target write carries: the version read is still the stored one, and a
/// write that applies a run applies a newer run than the stored one.
fn target_condition(record: &TargetRecord, previous: &TargetRecord) -> Condition {
    let mut names = HashMap::new();
    let mut values = Item::new();
    let mut expression = if previous.version == 0 {
        names.insert("#pk".to_string(), PK.to_string());
        "attribute_not_exists(#pk)".to_string()
    } else {
        names.insert("#version".to_string(), "version".to_string());
        values.insert(":version".into(), n(previous.version));
        "#version = :version".to_string()
    };
    if let Some(at) = record.state.last_checked {
        if record.state.last_checked != previous.state.last_checked {
            names.insert("#checked".to_string(), "checked_ms".to_string());
            values.insert(":checked".into(), n(at.timestamp_millis()));
            expression.push_str(" AND (attribute_not_exists(#checked) OR #checked < :checked)");
        }
    }
    Condition {
        expression,
        names,
        values: (!values.is_empty()).then_some(values),
    }
}

impl Store for DynamoStore {
    async fn load(&self, canary: &str, target: &str) -> Result<Option<TargetRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(canary, &format!("{TARGET_PREFIX}{target}"))))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let mut record: TargetRecord = serde_json::from_str(get_s(item, "record")?)
            .map_err(|e| StoreError::Corrupt(format!("target {target}: {e}")))?;
        // The attribute the conditions test is the authority on the version.
        record.version = get_n(item, "version")?;
        Ok(Some(record))
    }

    async fn save(
        &self,
        canary: &str,
        target: &str,
        record: &TargetRecord,
        previous: &TargetRecord,
    ) -> Result<(), SaveError> {
        let item = self.target_item(canary, target, record)?;
        let condition = target_condition(record, previous);
        let incidents: Vec<Item> = changed_incidents(record, previous)
            .map(|i| self.incident_item(canary, target, i))
            .collect();
        if incidents.is_empty() {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(condition.expression)
                .set_expression_attribute_names(Some(condition.names))
                .set_expression_attribute_values(condition.values)
                .send()
                .await;
            return match result {
                Ok(_) => Ok(()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    Err(SaveError::Conflict)
                }
                Err(e) => Err(unavailable(e).into()),
            };
        }
        self.transact(item, condition, incidents).await
    }

    async fn silences(&self, canary: &str) -> Result<Vec<Silence>, StoreError> {
        self.query(canary, SILENCE_PREFIX)
            .await?
            .iter()
            .map(silence_from)
            .collect()
    }

    async fn add_silence(&self, canary: &str, silence: &Silence) -> Result<(), StoreError> {
        let mut item = key(canary, &format!("{SILENCE_PREFIX}{}", silence.id));
        item.insert("id".into(), s(&silence.id));
        item.insert("scope".into(), s(silence.scope.as_stored()));
        item.insert("start".into(), s(&silence.start.to_rfc3339()));
        item.insert("end".into(), s(&silence.end.to_rfc3339()));
        item.insert("reason".into(), s(&silence.reason));
        item.insert("created_by".into(), s(&silence.created_by));
        item.insert(
            TTL_ATTRIBUTE.into(),
            n((silence.end + self.retention).timestamp()),
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::DuplicateSilence(silence.id.clone()))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn remove_silence(&self, canary: &str, id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(canary, &format!("{SILENCE_PREFIX}{id}"))))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.attributes().is_some_and(|a| !a.is_empty()))
    }

    async fn incidents(&self, canary: &str) -> Result<Vec<IncidentRecord>, StoreError> {
        self.query(canary, INCIDENT_PREFIX)
            .await?
            .iter()
            .map(incident_from)
            .collect()
    }
}

/// The epoch-seconds TTL of an item, for tests and tools.
pub fn expires_at(item: &Item) -> Option<DateTime<Utc>> {
    let secs = get_n(item, TTL_ATTRIBUTE).ok()?;
    Utc.timestamp_opt(i64::try_from(secs).ok()?, 0).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_write_requires_no_item_and_later_writes_the_version_read() {
        let mut previous = TargetRecord::default();
        let mut record = TargetRecord {
            version: 1,
            ..TargetRecord::default()
        };
        record.state.last_checked = Some(Utc.with_ymd_and_hms(2026, 1, 8, 12, 0, 0).unwrap());
        let c = target_condition(&record, &previous);
        assert_eq!(
            c.expression,
            "attribute_not_exists(#pk) AND (attribute_not_exists(#checked) OR #checked < :checked)"
        );
        assert_eq!(c.names.len(), 2, "every name used, no other");
        assert!(c
            .values
            .is_some_and(|v| v.len() == 1 && v.contains_key(":checked")));
        previous = record.clone();
        record.version = 2;
        let c = target_condition(&record, &previous);
        assert_eq!(
            c.expression, "#version = :version",
            "a delivery write applies no run"
        );
        assert_eq!(c.names.len(), 1);
        assert_eq!(
            c.values.and_then(|v| v.get(":version").cloned()),
            Some(n(1))
        );
    }

    #[test]
    fn incident_sort_keys_list_in_time_order() {
        let a = incident_sort_key("t", Utc.with_ymd_and_hms(2001, 9, 9, 1, 46, 39).unwrap());
        let b = incident_sort_key("t", Utc.with_ymd_and_hms(2001, 9, 9, 1, 46, 41).unwrap());
        assert!(a < b, "{a} < {b} across a change in digit count");
    }
}
