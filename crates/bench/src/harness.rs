//! A plain `std::time::Instant` timing harness: warm-up, then N rounds of each case, interleaved.
//!
//! Interleaving (round 1 of every case, then round 2 of every case, …) matters more than precision here: other
//! builds share the two cores, and a load burst during one round then slows all cases of that round alike, so the
//! per-round ratio of two cases stays meaningful even when absolute rates swing by a third.

use std::fmt;
use std::time::{Duration, Instant};

/// Any failure inside a bench: a key that does not load, a call that fails, a signature that does not verify.
pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// How long to warm up and how many timed rounds to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Untimed run of every case before the first round (caches, connection pool, CPU frequency).
    pub warmup: Duration,
    /// Length of one timed round of one case.
    pub round: Duration,
    /// Number of timed rounds per case.
    pub rounds: usize,
}

impl Default for Settings {
    /// Five 1-second rounds: enough for a median on a noisy machine while keeping both benches under a minute.
    fn default() -> Self {
        Self {
            warmup: Duration::from_millis(300),
            round: Duration::from_secs(1),
            rounds: 5,
        }
    }
}

impl Settings {
    /// One short round: checks every case end to end, measures nothing worth reporting.
    fn smoke() -> Self {
        Self {
            warmup: Duration::from_millis(10),
            round: Duration::from_millis(50),
            rounds: 1,
        }
    }

    /// The defaults, with `BENCH_ROUNDS` and `BENCH_ROUND_MS` overriding the round count and length, so a quieter
    /// machine can afford longer runs without editing code.
    ///
    /// Without the `--bench` flag that `cargo bench` passes (i.e. under `cargo test --all-targets`), the bench runs
    /// as a smoke test: one short round, so the test suite still proves the bench works without spending a minute.
    pub fn from_env() -> Result<Self, BenchError> {
        let mut settings = if std::env::args().any(|arg| arg == "--bench") {
            Self::default()
        } else {
            Self::smoke()
        };
        if let Some(rounds) = env_number("BENCH_ROUNDS")? {
            if rounds == 0 {
                return Err("BENCH_ROUNDS must be at least 1".into());
            }
            settings.rounds = usize::try_from(rounds)?;
        }
        if let Some(ms) = env_number("BENCH_ROUND_MS")? {
            if ms == 0 {
                return Err("BENCH_ROUND_MS must be at least 1".into());
            }
            settings.round = Duration::from_millis(ms);
        }
        Ok(settings)
    }
}

fn env_number(name: &str) -> Result<Option<u64>, BenchError> {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|e| format!("{name}={value:?} is not a whole number: {e}").into()),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(e) => Err(format!("{name}: {e}").into()),
    }
}

/// What one timed round of one case did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Operations completed.
    pub ops: u64,
    /// Wall-clock time they took.
    pub elapsed: Duration,
}

impl Round {
    /// Operations per second.
    pub fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `op` back to back until `budget` has passed (at least once).
///
/// Reading the clock after every operation costs tens of nanoseconds, under 0.1 % of the cheapest operation we
/// time (an RSA verification, about 30 µs), so no batching is needed.
pub fn run_for(budget: Duration, mut op: impl FnMut()) -> Round {
    let start = Instant::now();
    let mut ops = 0;
    loop {
        op();
        ops += 1;
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return Round { ops, elapsed };
        }
    }
}

/// CPU time (user + system, all threads) this process has used so far, from `/proc/self/stat`; `None` where
/// that file does not exist. Dividing it by wall time shows how many cores a round really got: on a shared
/// machine a concurrent case can be starved by other work, which throughput alone cannot tell from a lock.
pub fn process_cpu_time() -> Option<Duration> {
    cpu_time_of("self")
}

/// CPU time (user + system, all threads) of process `pid` (or `"self"`) so far, from `/proc/<pid>/stat`: what the
/// gateway bench charges to the gateway process alone, with the load generator and the sandbox elsewhere.
pub fn cpu_time_of(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    // That leaves field 3 first; utime and stime are fields 14 and 15, in clock ticks.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux architecture we run on (it is part of the kernel ABI).
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Resident memory of process `pid` in bytes (`VmRSS` of `/proc/<pid>/status`).
pub fn resident_bytes(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

type RunRound<'a> = Box<dyn FnMut(Duration) -> Result<Round, BenchError> + 'a>;

/// One thing being timed: a function that runs it for a given budget and says how many operations it completed.
pub struct Case<'a> {
    name: String,
    run: RunRound<'a>,
}

impl fmt::Debug for Case<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<'a> Case<'a> {
    /// A case that runs itself for a budget (used for concurrent calls, which count their own operations).
    pub fn new(
        name: impl Into<String>,
        run: impl FnMut(Duration) -> Result<Round, BenchError> + 'a,
    ) -> Self {
        Self {
            name: name.into(),
            run: Box::new(run),
        }
    }

    /// A case that repeats one synchronous operation. The operation should pass its result through
    /// [`std::hint::black_box`] so the optimiser cannot drop it.
    pub fn repeat(name: impl Into<String>, mut op: impl FnMut() + 'a) -> Self {
        Self::new(name, move |budget| Ok(run_for(budget, &mut op)))
    }
}

/// The per-round rates of one case, in round order.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The case's name.
    pub name: String,
    /// Operations per second of each round.
    pub rates: Vec<f64>,
    /// CPU cores this process kept busy during each round (CPU time / wall time); empty when unknown.
    pub cores_busy: Vec<f64>,
}

impl Measured {
    /// Median operations per second.
    pub fn median(&self) -> f64 {
        median(&self.rates)
    }

    /// Slowest round, operations per second.
    pub fn min(&self) -> f64 {
        self.rates.iter().copied().fold(f64::INFINITY, f64::min)
    }

    /// Fastest round, operations per second.
    pub fn max(&self) -> f64 {
        self.rates.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }

    /// Median CPU cores busy per round, if known.
    pub fn median_cores_busy(&self) -> Option<f64> {
        (!self.cores_busy.is_empty()).then(|| median(&self.cores_busy))
    }

    /// Median over rounds of the CPU time per operation in microseconds, if known. Unlike the wall-clock rate
    /// this barely moves when other work takes cores away, so it compares concurrency levels fairly.
    pub fn cpu_micros_per_op(&self) -> Option<f64> {
        let per_op: Vec<f64> = self
            .cores_busy
            .iter()
            .zip(&self.rates)
            .map(|(busy, rate)| 1e6 * busy / rate)
            .collect();
        (!per_op.is_empty()).then(|| median(&per_op))
    }

    /// Microseconds per operation at the median rate.
    pub fn micros_per_op(&self) -> f64 {
        1e6 / self.median()
    }
}

/// Median of a non-empty slice (mean of the two middle values for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// `a / b` of two cases measured in the same run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio {
    /// Ratio of the two medians.
    pub of_medians: f64,
    /// Median of the per-round ratios (round i of `a` over round i of `b`, which ran back to back).
    pub paired_median: f64,
    /// Smallest per-round ratio.
    pub paired_min: f64,
    /// Largest per-round ratio.
    pub paired_max: f64,
}

impl Ratio {
    /// Compares `a` with `b`; rounds are paired by index, so both must come from the same [`measure`] call.
    pub fn of(a: &Measured, b: &Measured) -> Self {
        let paired: Vec<f64> = a.rates.iter().zip(&b.rates).map(|(x, y)| x / y).collect();
        Self {
            of_medians: a.median() / b.median(),
            paired_median: median(&paired),
            paired_min: paired.iter().copied().fold(f64::INFINITY, f64::min),
            paired_max: paired.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// Warms every case up, then runs `settings.rounds` interleaved rounds of all cases. Progress goes to stderr so
/// stdout holds only the report.
pub fn measure(cases: &mut [Case<'_>], settings: &Settings) -> Result<Vec<Measured>, BenchError> {
    for case in cases.iter_mut() {
        (case.run)(settings.warmup)?;
    }
    let mut measured: Vec<Measured> = cases
        .iter()
        .map(|c| Measured {
            name: c.name.clone(),
            rates: Vec::with_capacity(settings.rounds),
            cores_busy: Vec::with_capacity(settings.rounds),
        })
        .collect();
    for round in 1..=settings.rounds {
        for (case, out) in cases.iter_mut().zip(&mut measured) {
            let cpu_before = process_cpu_time();
            let result = (case.run)(settings.round)?;
            out.rates.push(result.rate());
            if let (Some(before), Some(after)) = (cpu_before, process_cpu_time()) {
                out.cores_busy
                    .push((after - before).as_secs_f64() / result.elapsed.as_secs_f64());
            }
        }
        eprintln!("  round {round}/{} done", settings.rounds);
    }
    Ok(measured)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(rates: &[f64]) -> Measured {
        Measured {
            name: "x".into(),
            rates: rates.to_vec(),
            cores_busy: Vec::new(),
        }
    }

    #[test]
    fn median_min_max_of_odd_and_even_counts() {
        let m = measured(&[5.0, 1.0, 3.0]);
        assert_eq!((m.median(), m.min(), m.max()), (3.0, 1.0, 5.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(measured(&[2000.0]).micros_per_op(), 500.0);
        assert_eq!(m.cpu_micros_per_op(), None);
        let busy = Measured {
            cores_busy: vec![0.5, 2.0],
            ..measured(&[1000.0, 1000.0])
        };
        assert_eq!(busy.cpu_micros_per_op(), Some(1250.0));
    }

    #[test]
    fn ratios_pair_rounds_by_index() {
        let a = measured(&[10.0, 20.0, 40.0]);
        let b = measured(&[5.0, 5.0, 10.0]);
        let r = Ratio::of(&a, &b);
        assert_eq!(r.of_medians, 20.0 / 5.0);
        assert_eq!(
            (r.paired_min, r.paired_median, r.paired_max),
            (2.0, 4.0, 4.0)
        );
    }

    #[test]
    fn rounds_are_interleaved_and_counted() {
        let order = std::cell::RefCell::new(Vec::new());
        let mut cases = vec![
            Case::new("a", |_| {
                order.borrow_mut().push('a');
                Ok(Round {
                    ops: 10,
                    elapsed: Duration::from_millis(100),
                })
            }),
            Case::new("b", |_| {
                order.borrow_mut().push('b');
                Ok(Round {
                    ops: 1,
                    elapsed: Duration::from_millis(500),
                })
            }),
        ];
        let settings = Settings {
            warmup: Duration::ZERO,
            round: Duration::ZERO,
            rounds: 2,
        };
        let out = measure(&mut cases, &settings).unwrap();
        drop(cases);
        assert_eq!(order.into_inner(), vec!['a', 'b', 'a', 'b', 'a', 'b']);
        assert_eq!(out[0].rates, vec![100.0, 100.0]);
        assert_eq!(out[1].rates, vec![2.0, 2.0]);
    }

    #[test]
    fn run_for_runs_at_least_once_and_until_the_budget() {
        let mut n = 0;
        let round = run_for(Duration::ZERO, || n += 1);
        assert_eq!((round.ops, n), (1, 1));
        let round = run_for(Duration::from_millis(20), || std::hint::black_box(()));
        assert!(round.elapsed >= Duration::from_millis(20));
        assert!(round.ops > 1);
    }

    #[test]
    fn cpu_time_grows_while_busy() {
        let Some(before) = process_cpu_time() else {
            return; // not Linux: the column is left empty, nothing to check
        };
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(100) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let used = process_cpu_time().unwrap() - before;
        assert!(used > Duration::ZERO, "spun 100 ms, CPU time {used:?}");
    }

    #[test]
    fn a_failing_case_stops_the_measurement() {
        let mut cases = vec![Case::new("fails", |_| Err("boom".into()))];
        let err = measure(&mut cases, &Settings::default()).unwrap_err();
        assert_eq!(err.to_string(), "boom");
    }
}
