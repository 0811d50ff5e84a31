//! Printing figures: plain lines for people, `MD ` lines for `BENCHMARKS.md`.

/// One Markdown line for BENCHMARKS.md (`scripts/bench.sh` keeps lines starting with `MD `).
pub fn md(line: impl AsRef<str>) {
    println!("MD {}", line.as_ref());
}

/// One row of the summary table at the top of BENCHMARKS.md (`SUM ` lines):
/// benchmark, figure, value, target, verdict.
pub fn summary(bench: &str, figure: &str, value: &str, target: &str, verdict: &str) {
    println!("SUM | {bench} | {figure} | {value} | {target} | {verdict} |");
}

/// A table header for `cols`.
pub fn md_table(cols: &[&str]) {
    md(format!("| {} |", cols.join(" | ")));
    md(format!("|{}", " --- |".repeat(cols.len())));
}

/// A table row.
pub fn md_row(cells: &[String]) {
    md(format!("| {} |", cells.join(" | ")));
}

/// Verdict for "at most `target`" (lower is better).
pub fn at_most(value: f64, target: f64) -> String {
    if value.is_nan() {
        "no figure".into()
    } else if value <= target {
        "**met**".into()
    } else {
        format!(
            "**missed** by {:.2} ({:.1}× the target)",
            value - target,
            value / target
        )
    }
}

/// Verdict for "at least `target`" (higher is better).
pub fn at_least(value: f64, target: f64) -> String {
    if value.is_nan() {
        "no figure".into()
    } else if value >= target {
        "**met**".into()
    } else {
        format!(
            "**missed** by {:.0} ({:.0}% of the target)",
            target - value,
            100.0 * value / target
        )
    }
}

/// Verdict for an exact count.
pub fn exactly(value: i64, target: i64) -> String {
    if value == target {
        "**met**".into()
    } else {
        format!("**missed** (got {value}, want {target})")
    }
}

/// Records the peak resident set (VmHWM) of one Tessera process for the memory target, as a
/// comment in BENCHMARKS.md (`<!-- peak-rss-mib: … -->`): `scripts/bench.sh` finds the largest
/// over every section of the file, whichever run wrote it. `what` names the benchmark and node.
pub fn peak_rss_marker(what: &str, mib: f64) {
    if mib.is_finite() {
        md(format!("<!-- peak-rss-mib: {mib:.1} | {what} -->"));
    }
}
