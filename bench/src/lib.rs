//! Shared machinery of Tessera's benchmark programs (`bench-okta`, `bench-stub`,
//! `bench-storm`, `bench-members`, `bench-scim`): a release `tessera serve` as a child process
//! with its CPU time and peak memory read from `/proc`, sign-ins against the stub provider
//! ([`stub`]), a bounded worker pool and latency percentiles. Databases, the child processes,
//! the stub OpenID provider and the local Okta come from the test kit (`testkit`), shared with
//! the integration tests.
//!
//! The programs print what they measure; lines starting with `MD ` are Markdown that
//! `scripts/bench.sh` copies into `BENCHMARKS.md`. Traffic stays on 127.0.0.1.

pub mod db;
pub mod proc_stats;
pub mod report;
pub mod stub;
pub mod syscalls;
pub mod tessera;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub use testkit::{free_port, repo_root};

/// Runs `job(0..n)` on `concurrency` workers (each takes the next index when done with the
/// previous one) and returns the results in index order.
pub async fn run_pool<T, F, Fut>(n: usize, concurrency: usize, job: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = T> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        let (next, job) = (next.clone(), job.clone());
        workers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return out;
                }
                out.push((i, job(i).await));
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for w in workers {
        all.extend(w.await.expect("benchmark worker panicked"));
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, t)| t).collect()
}

/// Latency figures of one measured series.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub count: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latency {
    /// Nearest-rank percentiles of `samples` (empty input gives zeros).
    pub fn of(samples: &[Duration]) -> Latency {
        let mut s = samples.to_vec();
        s.sort_unstable();
        let pick = |p: f64| -> Duration {
            if s.is_empty() {
                return Duration::ZERO;
            }
            let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
            s[rank.clamp(1, s.len()) - 1]
        };
        Latency {
            count: s.len(),
            p50: pick(50.0),
            p90: pick(90.0),
            p99: pick(99.0),
            max: s.last().copied().unwrap_or_default(),
        }
    }
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// An environment variable parsed as a number, or `default`.
pub fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The command prefix (e.g. `valgrind --tool=callgrind ...`) Tessera runs under, if any.
pub fn wrapper() -> Option<String> {
    std::env::var("BENCH_TESSERA_WRAPPER")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// With `BENCH_CALLGRIND=1` (Tessera running under valgrind's callgrind), runs
/// `callgrind_control <arg> <pid>`: `--zero` before a measured stretch, `--dump=<label>` after,
/// so each profile dump covers exactly that stretch.
pub fn callgrind_control(pid: u32, arg: &str) {
    if std::env::var("BENCH_CALLGRIND").is_ok_and(|v| v == "1") {
        let _ = std::process::Command::new("callgrind_control")
            .arg(arg)
            .arg(pid.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Raises this process's soft limit of open files to its hard limit (children inherit it), so
/// that hundreds of concurrent connections do not run out of descriptors; returns the limit.
pub fn raise_open_files_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write and read the struct given; no other preconditions.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    lim.rlim_cur
}

/// Which databases to run on: `BENCH_DATABASES=sqlite,postgres` (the default).
pub fn databases() -> Vec<String> {
    std::env::var("BENCH_DATABASES")
        .unwrap_or_else(|_| "sqlite,postgres".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let l = Latency::of(&samples);
        assert_eq!(l.p50, Duration::from_millis(50));
        assert_eq!(l.p99, Duration::from_millis(99));
        assert_eq!(l.max, Duration::from_millis(100));
        assert_eq!(Latency::of(&[]).p99, Duration::ZERO);
    }
}
