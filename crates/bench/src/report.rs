//! The Markdown the benches print, ready to paste into `docs/performance.md`.

use std::fmt::Write as _;

use crate::harness::{Measured, Ratio, Settings};

/// A header line naming the conditions of the run, since absolute numbers mean little without them: rounds,
/// visible CPUs and the machine's load average (other people's builds) when the report is printed.
pub fn conditions(settings: &Settings) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = load_average();
    format!(
        "{} timed rounds of {} ms per case (interleaved, after {} ms warm-up); {cores} CPUs visible{load}",
        settings.rounds,
        settings.round.as_millis(),
        settings.warmup.as_millis()
    )
}

/// `; load average A B C` from /proc/loadavg (other people's builds on the machine), or nothing where unknown.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| {
            let mut f = l.split_whitespace();
            Some(format!(
                "; load average {} {} {}",
                f.next()?,
                f.next()?,
                f.next()?
            ))
        })
        .unwrap_or_default()
}

/// One row per case: median, slowest and fastest round in `unit`/s, the median time per operation, and how many
/// CPU cores the process kept busy (median over rounds).
pub fn table(unit: &str, results: &[Measured]) -> String {
    let mut out = format!(
        "| case | {unit}/s median | min | max | µs per {unit} (median) | CPU cores busy |\n\
         |---|---:|---:|---:|---:|---:|\n"
    );
    for m in results {
        let busy = m
            .median_cores_busy()
            .map_or_else(|| "n/a".to_owned(), |b| format!("{b:.2}"));
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} | {busy} |",
            m.name,
            thousands(m.median()),
            thousands(m.min()),
            thousands(m.max()),
            m.micros_per_op()
        );
    }
    out
}

/// `label: 5.90× (per-round: median 5.85×, range 5.10–6.40×)`.
pub fn ratio_line(label: &str, ratio: &Ratio) -> String {
    format!(
        "{label}: {:.2}× (ratio of medians; paired per-round ratios: median {:.2}×, range {:.2}–{:.2}×)",
        ratio.of_medians, ratio.paired_median, ratio.paired_min, ratio.paired_max
    )
}

/// A rate rounded to a whole number with thousands separators (`32,574`).
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(32574.4), "32,574");
        assert_eq!(thousands(1234567.0), "1,234,567");
    }

    #[test]
    fn table_has_one_row_per_case() {
        let m = Measured {
            name: "sign".into(),
            rates: vec![2000.0, 1000.0, 3000.0],
            cores_busy: vec![0.9, 1.0, 0.8],
        };
        let t = table("op", &[m]);
        assert!(
            t.contains("| sign | 2,000 | 1,000 | 3,000 | 500 | 0.90 |"),
            "{t}"
        );
    }
}
