//! The outbox, pure: queuing a transition's notices into a target's record (with coalescing),
//! claiming the next notice under a lease, and recording a delivery or a definite rejection.

use crate::sinks::alert::record::{NoticeDetail, NoticeKind, OutboxNotice, TargetRecord};
use crate::sinks::alert::transition::Transition;
use chrono::{DateTime, Duration, Utc};

/// Notices kept per target; past this the oldest REMINDER or WARN goes (an outage of the topic
/// lasting days must not grow the item towards DynamoDB's 400 KB limit).
pub const MAX_OUTBOX: usize = 8;

/// A notice claimed for publishing by this run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    /// The notice, as stored after the claim.
    pub notice: OutboxNotice,
    /// An earlier attempt may have reached SNS: the message says it may repeat one.
    pub maybe_repeat: bool,
}

/// The record after applying `t`: the new state, its notices queued behind any still waiting,
/// and the version incremented.
pub fn apply(record: &TargetRecord, t: Transition, detail: &NoticeDetail) -> TargetRecord {
    let mut next = TargetRecord {
        version: record.version + 1,
        state: t.state,
        outbox: record.outbox.clone(),
    };
    let created = next.state.last_checked.unwrap_or_default();
    for kind in t.notices {
        let incident = match kind {
            NoticeKind::Resolved => next.state.last_closed.as_ref().map(|i| i.started),
            NoticeKind::Warn => None,
            _ => next.state.incident.as_ref().map(|i| i.started),
        };
        queue(&mut next.outbox, kind, created, incident, detail);
    }
    next
}

/// Queues one notice, coalescing: a REMINDER waits if anything about its incident is still
/// queued; a WARN waits if a WARN is queued; a RESOLVED drops its incident's queued REMINDERs
/// and every queued WARN (news no one heard that is no longer true). FAIL and FLAPPING are never
/// dropped: the RESOLVED behind them must not arrive without them.
pub fn queue(
    outbox: &mut Vec<OutboxNotice>,
    kind: NoticeKind,
    created: DateTime<Utc>,
    incident: Option<DateTime<Utc>>,
    detail: &NoticeDetail,
) {
    let unsent = |n: &OutboxNotice| n.attempts == 0;
    match kind {
        NoticeKind::Reminder if outbox.iter().any(|n| n.incident == incident) => return,
        NoticeKind::Warn if outbox.iter().any(|n| n.kind == NoticeKind::Warn) => return,
        NoticeKind::Resolved => outbox.retain(|n| {
            !(unsent(n)
                && (n.kind == NoticeKind::Warn
                    || (n.kind == NoticeKind::Reminder && n.incident == incident)))
        }),
        _ => {}
    }
    outbox.push(OutboxNotice {
        id: notice_id(created, kind),
        kind,
        created,
        incident,
        detail: detail.clone(),
        attempts: 0,
        lease_until: None,
        maybe_sent: false,
    });
    while outbox.len() > MAX_OUTBOX {
        let Some(i) = outbox
            .iter()
            .position(|n| matches!(n.kind, NoticeKind::Reminder | NoticeKind::Warn))
        else {
            break;
        };
        outbox.remove(i);
    }
}

/// A notice's id: unique within its target, since one run per check time is applied.
pub fn notice_id(created: DateTime<Utc>, kind: NoticeKind) -> String {
    format!("{}-{}", created.timestamp_millis(), kind.as_str())
}

/// Claims the oldest notice for this run until `now + lease`, unless another run's lease on it
/// is still running (notices go out in order, so nothing behind it is claimed either). A notice
/// whose previous lease was never released may have reached SNS: it is marked `maybe_sent`.
pub fn claim_next(
    record: &mut TargetRecord,
    now: DateTime<Utc>,
    lease: Duration,
) -> Option<Claimed> {
    let first = record.outbox.first_mut()?;
    if first.lease_until.is_some_and(|until| until > now) {
        return None;
    }
    if first.attempts > 0 && first.lease_until.is_some() {
        first.maybe_sent = true;
    }
    first.attempts = first.attempts.saturating_add(1);
    first.lease_until = Some(now + lease);
    Some(Claimed {
        notice: first.clone(),
        maybe_repeat: first.maybe_sent,
    })
}

/// Records that SNS accepted notice `id`: it leaves the outbox and its incident counts it.
/// `false` when it is no longer there (another run recorded it first).
pub fn delivered(record: &mut TargetRecord, id: &str) -> bool {
    let Some(i) = record.outbox.iter().position(|n| n.id == id) else {
        return false;
    };
    let notice = record.outbox.remove(i);
    let state = &mut record.state;
    for incident in [state.incident.as_mut(), state.last_closed.as_mut()]
        .into_iter()
        .flatten()
    {
        if Some(incident.started) == notice.incident {
            incident.notices_sent = incident.notices_sent.saturating_add(1);
        }
    }
    true
}

/// Records that SNS definitely refused notice `id`: the lease is released so the next run
/// tries again, and this attempt cannot have reached anyone. `false` when it is gone.
pub fn rejected(record: &mut TargetRecord, id: &str) -> bool {
    match record.outbox.iter_mut().find(|n| n.id == id) {
        Some(n) => {
            n.lease_until = None;
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::Status;
    use crate::sinks::alert::record::Incident;
    use chrono::TimeZone;

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 8, 12, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn detail() -> NoticeDetail {
        NoticeDetail {
            status: Status::Fail,
            reason: None,
            components: vec![],
            more: 0,
        }
    }

    fn queued(kinds: &[(NoticeKind, i64)]) -> Vec<OutboxNotice> {
        let mut out = Vec::new();
        for (k, m) in kinds {
            let incident = (*k != NoticeKind::Warn).then(|| at(0));
            queue(&mut out, *k, at(*m), incident, &detail());
        }
        out
    }

    fn kinds(outbox: &[OutboxNotice]) -> Vec<NoticeKind> {
        outbox.iter().map(|n| n.kind).collect()
    }

    #[test]
    fn resolved_drops_queued_reminders_and_warnings_but_keeps_the_fail() {
        use NoticeKind::*;
        let out = queued(&[(Fail, 0), (Reminder, 60), (Warn, 61), (Resolved, 65)]);
        assert_eq!(
            kinds(&out),
            vec![Fail, Resolved],
            "the reminder waits behind its FAIL"
        );
        let mut out = queued(&[(Warn, 1)]);
        queue(&mut out, Reminder, at(60), Some(at(0)), &detail());
        queue(&mut out, Resolved, at(65), Some(at(0)), &detail());
        assert_eq!(kinds(&out), vec![Resolved]);
    }

    #[test]
    fn claims_in_order_and_respects_a_running_lease() {
        let mut r = TargetRecord {
            outbox: queued(&[(NoticeKind::Fail, 0), (NoticeKind::Resolved, 5)]),
            ..TargetRecord::default()
        };
        let lease = Duration::seconds(45);
        let c = claim_next(&mut r, at(5), lease).unwrap();
        assert_eq!((c.notice.kind, c.maybe_repeat), (NoticeKind::Fail, false));
        assert_eq!(
            claim_next(&mut r, at(5), lease),
            None,
            "leased by the first claim"
        );
        // The first run vanished without recording anything: the next claim may repeat it.
        let again = claim_next(&mut r, at(6), lease).unwrap();
        assert!(again.maybe_repeat);
        assert_eq!(again.notice.attempts, 2);
    }

    #[test]
    fn a_definite_rejection_does_not_mark_the_retry_as_a_possible_repeat() {
        let mut r = TargetRecord {
            outbox: queued(&[(NoticeKind::Fail, 0)]),
            ..TargetRecord::default()
        };
        let id = claim_next(&mut r, at(0), Duration::seconds(45))
            .unwrap()
            .notice
            .id;
        assert!(rejected(&mut r, &id));
        let retry = claim_next(&mut r, at(0), Duration::seconds(45)).unwrap();
        assert!(!retry.maybe_repeat);
    }

    #[test]
    fn delivery_removes_the_notice_and_counts_it_on_its_incident() {
        let mut r = TargetRecord {
            outbox: queued(&[(NoticeKind::Fail, 0)]),
            ..TargetRecord::default()
        };
        r.state.incident = Some(Incident::open(at(0), at(0)));
        let id = r.outbox[0].id.clone();
        assert!(delivered(&mut r, &id));
        assert!(
            !delivered(&mut r, &id),
            "a second record of the same delivery changes nothing"
        );
        assert!(r.outbox.is_empty());
        assert_eq!(r.state.incident.unwrap().notices_sent, 1);
    }

    #[test]
    fn a_long_outage_keeps_the_outbox_bounded_and_the_pages_that_matter() {
        let mut out = Vec::new();
        queue(&mut out, NoticeKind::Fail, at(0), Some(at(0)), &detail());
        for i in 0..50 {
            // Distinct incidents so no reminder coalesces: the cap must hold on its own.
            queue(
                &mut out,
                NoticeKind::Reminder,
                at(60 * (i + 1)),
                Some(at(i + 1)),
                &detail(),
            );
        }
        assert_eq!(out.len(), MAX_OUTBOX);
        assert_eq!(out[0].kind, NoticeKind::Fail);
    }
}
