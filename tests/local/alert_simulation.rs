//! The alert engine simulated by the million: the real policy, outbox, engine and in-memory
//! store, with a store and a notifier that fail, stall, die, duplicate and interleave. Each
//! history ends with a healthy stretch in which the table and SNS work, then every promise the
//! engine makes is checked against what the fake notifier received.
//!
//! `CANARY_SIM_HISTORIES` changes the count (default 1,000,000); `CANARY_SIM_SEED` replays one.

use chrono::{DateTime, Duration, TimeZone, Utc};
use health_canary::check::report::Status;
use health_canary::sinks::alert::engine::{self, Notifier, NotifyError, Outgoing, RunContext};
use health_canary::sinks::alert::memory::MemoryStore;
use health_canary::sinks::alert::record::{IncidentRecord, NoticeDetail, NoticeKind, TargetRecord};
use health_canary::sinks::alert::settings::{Flapping, Settings};
use health_canary::sinks::alert::silence::{is_silenced, Scope, Silence};
use health_canary::sinks::alert::store::{SaveError, Store, StoreError};
use health_canary::sinks::alert::transition::Observation;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

const DEFAULT_HISTORIES: u64 = 1_000_000;
const INTERVAL_MINUTES: i64 = 5;

/// Fault rates of one history (all zero in the healing stretch).
#[derive(Clone, Copy, Default)]
struct Faults {
    /// A store call fails before it reaches the table.
    store_error: f64,
    /// A store write lands but its caller hears an error (timeout after the write).
    store_lost_reply: f64,
    /// SNS refuses a message.
    publish_rejected: f64,
    /// A publish times out without SNS having it.
    publish_lost: f64,
    /// A publish times out after SNS accepted it.
    publish_accepted_then_timeout: f64,
    /// A call yields to the other runs before it happens (interleaving).
    pause: f64,
}

/// One attempt the fake SNS saw.
#[derive(Clone, Debug)]
struct Attempt {
    target: String,
    id: String,
    kind: NoticeKind,
    incident: Option<DateTime<Utc>>,
    created: DateTime<Utc>,
    late: bool,
    maybe_repeat: bool,
    accepted: bool,
    run_checked_at: DateTime<Utc>,
    run_now: DateTime<Utc>,
}

/// Everything the fakes share within one history.
struct World {
    rng: SmallRng,
    faults: Faults,
    attempts: Vec<Attempt>,
    /// (target, check time, failing) of every run applied, in write order.
    applied: Vec<(String, DateTime<Utc>, bool)>,
}

impl World {
    fn roll(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.random_bool(p)
    }
}

/// Pending once, so the executor can switch to another run (or let this one die) here.
struct Pause(bool);

impl Future for Pause {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

fn lock(world: &Mutex<World>) -> std::sync::MutexGuard<'_, World> {
    world.lock().unwrap()
}

async fn maybe_pause(world: &Mutex<World>) {
    let pause = {
        let mut w = lock(world);
        let p = w.faults.pause;
        w.roll(p)
    };
    if pause {
        Pause(false).await;
    }
}

fn injected() -> StoreError {
    StoreError::Unavailable("injected fault".into())
}

/// The in-memory store behind faults; it also logs every run it applies.
struct FaultyStore<'a> {
    inner: &'a MemoryStore,
    world: &'a Mutex<World>,
}

impl FaultyStore<'_> {
    async fn enter(&self) -> Result<(), StoreError> {
        maybe_pause(self.world).await;
        let mut w = lock(self.world);
        let p = w.faults.store_error;
        if w.roll(p) {
            Err(injected())
        } else {
            Ok(())
        }
    }
}

impl Store for FaultyStore<'_> {
    async fn load(&self, canary: &str, target: &str) -> Result<Option<TargetRecord>, StoreError> {
        self.enter().await?;
        self.inner.load(canary, target).await
    }

    async fn save(
        &self,
        canary: &str,
        target: &str,
        record: &TargetRecord,
        previous: &TargetRecord,
    ) -> Result<(), SaveError> {
        self.enter().await?;
        self.inner.save(canary, target, record, previous).await?;
        let mut w = lock(self.world);
        // The write landed on `previous`: a new check time means this run's observation applied.
        if record.state.last_checked != previous.state.last_checked {
            let at = record.state.last_checked.unwrap();
            w.applied
                .push((target.to_string(), at, record.state.failing.unwrap()));
        }
        let p = w.faults.store_lost_reply;
        if w.roll(p) {
            return Err(injected().into());
        }
        Ok(())
    }

    async fn silences(&self, canary: &str) -> Result<Vec<Silence>, StoreError> {
        self.enter().await?;
        self.inner.silences(canary).await
    }

    async fn add_silence(&self, canary: &str, silence: &Silence) -> Result<(), StoreError> {
        self.inner.add_silence(canary, silence).await
    }

    async fn remove_silence(&self, canary: &str, id: &str) -> Result<bool, StoreError> {
        self.inner.remove_silence(canary, id).await
    }

    async fn incidents(&self, canary: &str) -> Result<Vec<IncidentRecord>, StoreError> {
        self.inner.incidents(canary).await
    }
}

/// SNS as one run sees it: records every attempt, fails as the world says.
struct FakeSns<'a> {
    world: &'a Mutex<World>,
    checked_at: DateTime<Utc>,
    now: DateTime<Utc>,
}

impl Notifier for FakeSns<'_> {
    async fn publish(&self, out: &Outgoing<'_>) -> Result<String, NotifyError> {
        maybe_pause(self.world).await;
        let result = {
            let mut w = lock(self.world);
            let f = w.faults;
            let (accepted, result) = if w.roll(f.publish_rejected) {
                (false, Err(NotifyError::Rejected("injected".into())))
            } else if w.roll(f.publish_lost) {
                (false, Err(NotifyError::Unknown("injected".into())))
            } else if w.roll(f.publish_accepted_then_timeout) {
                (true, Err(NotifyError::Unknown("injected".into())))
            } else {
                (true, Ok(format!("m{}", w.attempts.len())))
            };
            w.attempts.push(Attempt {
                target: out.target.to_string(),
                id: out.notice.id.clone(),
                kind: out.notice.kind,
                incident: out.notice.incident,
                created: out.notice.created,
                late: out.late,
                maybe_repeat: out.maybe_repeat,
                accepted,
                run_checked_at: self.checked_at,
                run_now: self.now,
            });
            result
        };
        // A run may die right here: SNS has the message, the table does not know yet.
        maybe_pause(self.world).await;
        result
    }
}

/// The output of a future that never waits (the in-memory store's calls).
fn ready<F: Future>(f: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match std::pin::pin!(f).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the in-memory store never waits"),
    }
}

type RunFuture<'a> = Pin<Box<dyn Future<Output = Vec<engine::TargetOutcome>> + 'a>>;

/// Polls the runs in random order until each finishes or dies (dropped after its poll budget).
fn execute(world: &Mutex<World>, mut runs: Vec<(RunFuture<'_>, u32)>) -> u32 {
    let mut cx = Context::from_waker(Waker::noop());
    let mut deaths = 0;
    while !runs.is_empty() {
        let i = lock(world).rng.random_range(0..runs.len());
        let (run, budget) = &mut runs[i];
        if *budget == 0 {
            // The process dies here: the run's future is dropped wherever it stood.
            drop(runs.swap_remove(i));
            deaths += 1;
            continue;
        }
        *budget -= 1;
        if run.as_mut().poll(&mut cx).is_ready() {
            drop(runs.swap_remove(i));
        }
    }
    deaths
}

/// Counters over all histories, printed at the end.
#[derive(Default, Debug)]
struct Stats {
    histories: u64,
    runs: u64,
    deaths: u64,
    incidents: u64,
    delivered: u64,
    late: u64,
    repeats: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.histories += o.histories;
        self.runs += o.runs;
        self.deaths += o.deaths;
        self.incidents += o.incidents;
        self.delivered += o.delivered;
        self.late += o.late;
        self.repeats += o.repeats;
    }
}

/// A run scheduled within one step of a history.
struct Planned {
    checked_at: DateTime<Utc>,
    now: DateTime<Utc>,
    failing: Vec<bool>,
    dies: bool,
}

fn observation(failing: bool, warning: bool) -> Observation {
    let status = match (failing, warning) {
        (true, _) => Status::Fail,
        (false, true) => Status::Warn,
        (false, false) => Status::Pass,
    };
    Observation {
        failing,
        warning: warning && !failing,
        detail: NoticeDetail {
            status,
            reason: None,
            components: vec![],
            more: 0,
        },
    }
}

fn pick<T: Copy>(rng: &mut SmallRng, from: &[T]) -> T {
    from[rng.random_range(0..from.len())]
}

/// Generates, runs and checks one history; panics with the seed on a broken promise.
fn history(seed: u64) -> Stats {
    let mut rng = SmallRng::seed_from_u64(seed);
    let base = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
    let flapping = rng.random_bool(0.3).then(|| Flapping {
        window: Duration::minutes(pick(&mut rng, &[15, 20, 30])),
        changes: rng.random_range(3..=5),
    });
    let settings = Settings {
        failure_threshold: rng.random_range(1..=3),
        recovery_threshold: rng.random_range(1..=3),
        reminder: pick(&mut rng, &[None, Some(10), Some(30)]).map(Duration::minutes),
        notify_warn: rng.random_bool(0.5),
        flapping,
        ..Settings::default()
    };
    let targets: Vec<String> = if rng.random_bool(0.1) {
        vec!["a".into(), "b".into()]
    } else {
        vec!["a".into()]
    };
    let steps: usize = rng.random_range(4..=12);
    let stick = pick(&mut rng, &[0.3, 0.7, 0.9]);
    let p_fail = pick(&mut rng, &[0.2, 0.5, 0.8]);
    let mut statuses: Vec<Vec<bool>> = Vec::new();
    for i in 0..steps {
        let row = (0..targets.len())
            .map(|t| {
                if i > 0 && rng.random_bool(stick) {
                    statuses[i - 1][t]
                } else {
                    rng.random_bool(p_fail)
                }
            })
            .collect();
        statuses.push(row);
    }
    let warning = rng.random_bool(0.2);
    let step_time = |i: usize| base + Duration::minutes(INTERVAL_MINUTES * i as i64);

    let mut silences = Vec::new();
    if rng.random_bool(0.3) {
        let from = rng.random_range(0..steps);
        let to = rng.random_range(from + 1..=steps);
        let scope = if rng.random_bool(0.5) {
            Scope::All
        } else {
            Scope::Target("a".into())
        };
        silences.push(Silence {
            id: "s1".into(),
            scope,
            start: step_time(from) - Duration::seconds(30),
            end: step_time(to) - Duration::seconds(30),
            reason: "simulated".into(),
            created_by: "sim".into(),
        });
    }
    let level = pick(&mut rng, &[0.0, 1.0, 3.0]);
    let faults = Faults {
        store_error: 0.04 * level,
        store_lost_reply: 0.02 * level,
        publish_rejected: 0.04 * level,
        publish_lost: 0.03 * level,
        publish_accepted_then_timeout: 0.03 * level,
        pause: pick(&mut rng, &[0.0, 0.3]),
    };
    let p = |rng: &mut SmallRng| pick(rng, &[0.0, 0.1, 0.25]);
    let (p_skip, p_dup, p_concurrent, p_late, p_death) = (
        p(&mut rng),
        p(&mut rng),
        p(&mut rng),
        p(&mut rng),
        p(&mut rng),
    );

    let store = MemoryStore::new();
    let world = Mutex::new(World {
        rng,
        faults,
        attempts: Vec::new(),
        applied: Vec::new(),
    });
    let canary = "sim";
    for s in &silences {
        ready(store.add_silence(canary, s)).unwrap();
    }
    let faulty = FaultyStore {
        inner: &store,
        world: &world,
    };
    let mut stats = Stats {
        histories: 1,
        ..Stats::default()
    };

    // The faulty stretch.
    let mut last_checked = base;
    for (i, row) in statuses.iter().enumerate() {
        let mut plan = Vec::new();
        {
            let mut w = lock(&world);
            let jitter = Duration::seconds(w.rng.random_range(-20..=20));
            let checked_at = step_time(i) + jitter;
            let now = checked_at + Duration::seconds(w.rng.random_range(0..=30));
            let run = |w: &mut World, checked_at, now, failing: &Vec<bool>| Planned {
                checked_at,
                now,
                failing: failing.clone(),
                dies: w.roll(p_death),
            };
            if !w.roll(p_skip) {
                plan.push(run(&mut w, checked_at, now, row));
            }
            if w.roll(p_dup) {
                let later = now + Duration::seconds(w.rng.random_range(0..=5));
                plan.push(run(&mut w, checked_at, later, row));
            }
            if w.roll(p_concurrent) {
                let shift = Duration::seconds(w.rng.random_range(1..=20));
                plan.push(run(&mut w, checked_at + shift, now + shift, row));
            }
            if i > 0 && w.roll(p_late) {
                plan.push(run(&mut w, last_checked, now, &statuses[i - 1]));
            }
            last_checked = checked_at;
        }
        let runs = plan
            .iter()
            .map(|r| {
                let budget = if r.dies {
                    lock(&world).rng.random_range(1..=10)
                } else {
                    u32::MAX
                };
                (
                    start_run(&faulty, &world, &settings, canary, &targets, r, warning),
                    budget,
                )
            })
            .collect();
        stats.runs += plan.len() as u64;
        stats.deaths += u64::from(execute(&world, runs));
    }

    // The healing stretch: the table and SNS work, nothing fails, every silence is over, and it
    // lasts long enough to settle any flapping and reach the recovery threshold.
    lock(&world).faults = Faults::default();
    let heal_start = silences
        .iter()
        .map(|s| s.end)
        .chain([step_time(steps)])
        .max()
        .unwrap();
    let settle = settings
        .flapping
        .map_or(0, |f| f.window.num_minutes() / INTERVAL_MINUTES + 1);
    let heal_runs = i64::from(settings.recovery_threshold) + 2 + settle;
    for k in 0..heal_runs {
        let at = heal_start + Duration::minutes(INTERVAL_MINUTES * k);
        let r = Planned {
            checked_at: at,
            now: at,
            failing: vec![false; targets.len()],
            dies: false,
        };
        let run = start_run(&faulty, &world, &settings, canary, &targets, &r, false);
        stats.runs += 1;
        execute(&world, vec![(run, u32::MAX)]);
    }

    let w = world.into_inner().unwrap();
    check(seed, &settings, &targets, &silences, &w, &store, &mut stats);
    stats
}

fn start_run<'a>(
    store: &'a FaultyStore<'a>,
    world: &'a Mutex<World>,
    settings: &'a Settings,
    canary: &'a str,
    targets: &'a [String],
    r: &Planned,
    warning: bool,
) -> RunFuture<'a> {
    let observations: Vec<(String, Observation)> = targets
        .iter()
        .zip(&r.failing)
        .map(|(t, f)| (t.clone(), observation(*f, warning)))
        .collect();
    let (checked_at, now) = (r.checked_at, r.now);
    Box::pin(async move {
        let sns = FakeSns {
            world,
            checked_at,
            now,
        };
        let ctx = RunContext {
            canary,
            checked_at,
            now,
            settings,
            claim_until: None,
        };
        engine::run(store, &sns, &ctx, &observations).await
    })
}

/// An incident as the reference model (thresholds only, no flapping) sees it.
struct RefIncident {
    start: DateTime<Utc>,
    announced: bool,
    closed: bool,
}

/// The reference model: the applied runs of one target through the thresholds, written
/// independently of the policy.
fn reference(
    settings: &Settings,
    target: &str,
    applied: &[(DateTime<Utc>, bool)],
    silences: &[Silence],
) -> Vec<RefIncident> {
    let mut out: Vec<RefIncident> = Vec::new();
    let (mut fails, mut passes, mut streak) = (0, 0, None);
    let mut open = false;
    for (at, failing) in applied {
        if *failing {
            fails += 1;
            passes = 0;
            streak.get_or_insert(*at);
            if !open && fails >= settings.failure_threshold {
                open = true;
                out.push(RefIncident {
                    start: streak.unwrap(),
                    announced: false,
                    closed: false,
                });
            }
            if open && !is_silenced(target, *at, silences, &[]) {
                out.last_mut().unwrap().announced = true;
            }
        } else {
            passes += 1;
            fails = 0;
            streak = None;
            if open && passes >= settings.recovery_threshold {
                open = false;
                out.last_mut().unwrap().closed = true;
            }
        }
    }
    out
}

/// Checks every promise; panics naming the seed and the broken promise.
fn check(
    seed: u64,
    settings: &Settings,
    targets: &[String],
    silences: &[Silence],
    w: &World,
    store: &MemoryStore,
    stats: &mut Stats,
) {
    let fail = |what: &str| -> ! {
        panic!("seed {seed}: {what}\nsettings {settings:?}\nsilences {silences:?}\napplied {:?}\nattempts {:#?}", w.applied, w.attempts)
    };
    let accepted: Vec<&Attempt> = w.attempts.iter().filter(|a| a.accepted).collect();
    stats.delivered += accepted.len() as u64;

    // Nothing reaches SNS while its target is silenced.
    for a in &w.attempts {
        if is_silenced(&a.target, a.run_now, silences, &[]) {
            fail("a notice was published while its target was silenced");
        }
        if a.created != a.run_checked_at && !a.late {
            fail("a notice queued by an earlier run was not marked late");
        }
    }
    stats.late += accepted.iter().filter(|a| a.late).count() as u64;

    // Every delivery after the first of the same notice says it may repeat one.
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    for a in &accepted {
        if !seen.insert((a.target.as_str(), a.id.as_str())) {
            if !a.maybe_repeat {
                fail("a notice was delivered twice without the possible-repeat mark");
            }
            stats.repeats += 1;
        }
    }

    for target in targets {
        let mine: Vec<&&Attempt> = accepted.iter().filter(|a| &a.target == target).collect();
        // Per incident: at most one FAIL and one RESOLVED notice (by id), and no RESOLVED
        // delivered before the FAIL or FLAPPING that opened it.
        let mut ids: BTreeMap<(DateTime<Utc>, NoticeKind), BTreeSet<&str>> = BTreeMap::new();
        let mut opened: BTreeSet<DateTime<Utc>> = BTreeSet::new();
        for a in &mine {
            let Some(incident) = a.incident else { continue };
            ids.entry((incident, a.kind)).or_default().insert(&a.id);
            match a.kind {
                NoticeKind::Fail | NoticeKind::Flapping => {
                    opened.insert(incident);
                }
                NoticeKind::Resolved if !opened.contains(&incident) => {
                    fail("a RESOLVED was delivered before its incident's FAIL")
                }
                _ => {}
            }
        }
        for ((_, kind), set) in &ids {
            if matches!(kind, NoticeKind::Fail | NoticeKind::Resolved) && set.len() > 1 {
                fail("an incident queued two notices of the same kind");
            }
        }
        let delivered = |incident: DateTime<Utc>, kinds: &[NoticeKind]| {
            kinds
                .iter()
                .any(|k| ids.get(&(incident, *k)).is_some_and(|s| !s.is_empty()))
        };

        // The applied runs never go backwards.
        let applied: Vec<(DateTime<Utc>, bool)> = w
            .applied
            .iter()
            .filter(|(t, _, _)| t == target)
            .map(|(_, at, f)| (*at, *f))
            .collect();
        if applied.windows(2).any(|p| p[0].0 >= p[1].0) {
            fail("a run older than the last applied one moved the state");
        }

        // After the healing stretch everything is delivered and every incident closed.
        let record = ready(store.load("sim", target))
            .unwrap()
            .unwrap_or_default();
        if !record.outbox.is_empty() {
            fail("notices were left undelivered after the table and SNS came back");
        }
        if record.state.incident.is_some() {
            fail("an incident stayed open after the target recovered");
        }
        let stored = ready(store.incidents("sim")).unwrap();
        for i in stored.iter().filter(|i| &i.target == target) {
            stats.incidents += 1;
            let inc = &i.incident;
            if inc.announced && !delivered(inc.started, &[NoticeKind::Fail, NoticeKind::Flapping]) {
                fail("an announced incident never had its FAIL delivered");
            }
            if inc.announced
                && inc.ended.is_some()
                && !delivered(inc.started, &[NoticeKind::Resolved])
            {
                fail("a closed incident never had its RESOLVED delivered");
            }
            if !inc.announced && mine.iter().any(|a| a.incident == Some(inc.started)) {
                fail("an incident silenced throughout still sent something");
            }
        }

        // Without flapping, an independent model of the thresholds must agree on every
        // incident: which ones opened, and which were announced.
        if settings.flapping.is_none() {
            let want = reference(settings, target, &applied, silences);
            let got: Vec<(DateTime<Utc>, bool, bool)> = stored
                .iter()
                .filter(|i| &i.target == target)
                .map(|i| {
                    (
                        i.incident.started,
                        i.incident.announced,
                        i.incident.ended.is_some(),
                    )
                })
                .collect();
            let want: Vec<(DateTime<Utc>, bool, bool)> = want
                .iter()
                .map(|r| (r.start, r.announced, r.closed))
                .collect();
            if got != want {
                fail(&format!(
                    "incidents {got:?} differ from the reference {want:?}"
                ));
            }
        }
    }
}

#[test]
fn alert_engine_keeps_its_promises_over_a_million_faulty_histories() {
    let one: Option<u64> = std::env::var("CANARY_SIM_SEED")
        .ok()
        .map(|s| s.parse().unwrap());
    let count: u64 = std::env::var("CANARY_SIM_HISTORIES")
        .ok()
        .map_or(DEFAULT_HISTORIES, |s| s.parse().unwrap());
    let started = std::time::Instant::now();
    let seeds: Vec<u64> = match one {
        Some(s) => vec![s],
        None => (0..count).collect(),
    };
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let total = Mutex::new(Stats::default());
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (seeds, total) = (&seeds, &total);
            scope.spawn(move || {
                let mut mine = Stats::default();
                for s in seeds.iter().skip(t).step_by(threads) {
                    mine.add(&history(*s));
                }
                total.lock().unwrap().add(&mine);
            });
        }
    });
    let total = total.into_inner().unwrap();
    println!(
        "alert simulation: {} histories, {} runs ({} died mid-run), {} incidents, {} notices \
         delivered ({} late, {} possible repeats, each marked) in {:.1} s",
        total.histories,
        total.runs,
        total.deaths,
        total.incidents,
        total.delivered,
        total.late,
        total.repeats,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(total.histories, seeds.len() as u64);
    assert!(
        total.incidents > 0 && total.late > 0,
        "the faults must have happened"
    );
    if one.is_none() && count >= 10_000 {
        assert!(
            total.repeats > 0 && total.deaths > 0,
            "the faults must have happened"
        );
    }
}
