//! System calls of a running process over a measured stretch, counted from an `strace` trace:
//! `strace -f -qq -y -s 0 -ttt -p <pid>` attached for that stretch only (tracing slows every
//! system call, so nothing else is measured meanwhile). Every thread is traced; only calls
//! entered between the stretch's start and end (by their timestamps) are counted.
//!
//! Besides the count of each call, the SQLite I/O is told apart by file (`-y` prints the path
//! of each descriptor) and size: a `pwrite64`/`pread64` of at least 512 bytes moves a whole
//! page (SQLite's pages are 512 to 65,536 bytes), smaller ones are headers (a WAL frame's is 24
//! bytes); `fcntl` with `F_SETLK`/`F_SETLKW`/`F_OFD_SETLK*` on a SQLite file is a lock (in WAL
//! mode they are taken on the `-shm` file, the WAL index).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An `strace` attached to a process; [`Tracer::finish`] detaches it and counts.
pub struct Tracer {
    child: tokio::process::Child,
    out: PathBuf,
    from: f64,
}

/// Seconds since the epoch, as `strace -ttt` prints them.
fn epoch_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Tracer {
    /// Attaches `strace` (`BENCH_STRACE`, default `strace`) to every thread of `pid`, writing
    /// its trace into `dir`; counting starts when this returns.
    pub async fn attach(pid: u32, dir: &Path) -> Result<Tracer, String> {
        let strace = std::env::var("BENCH_STRACE").unwrap_or_else(|_| "strace".into());
        let out = dir.join(format!("strace-{pid}.txt"));
        let child = tokio::process::Command::new(&strace)
            .args(["-f", "-qq", "-y", "-s", "0", "-ttt", "-o"])
            .arg(&out)
            .args(["-p", &pid.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run {strace}: {e}"))?;
        let mut tracer = Tracer {
            child,
            out,
            from: 0.0,
        };
        // strace attaches to every thread before it writes anything; give it that moment.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        if let Ok(Some(status)) = tracer.child.try_wait() {
            return Err(format!(
                "{strace} exited at once ({status}): may it trace other processes here?"
            ));
        }
        tracer.from = epoch_seconds();
        Ok(tracer)
    }

    /// Ends the stretch, detaches `strace` (SIGINT) and counts the calls made in the stretch.
    pub async fn finish(mut self) -> Result<Counts, String> {
        let to = epoch_seconds();
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Some(pid) = self.child.id() {
            // SAFETY: signalling our own child by its pid.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGINT);
            }
        }
        let _ = self.child.wait().await;
        let text = std::fs::read_to_string(&self.out)
            .map_err(|e| format!("{}: {e}", self.out.display()))?;
        Ok(Counts::parse(&text, self.from, to))
    }
}

/// The system calls entered within one stretch.
#[derive(Debug, Default)]
pub struct Counts {
    /// The stretch, in seconds.
    pub seconds: f64,
    /// Calls by name.
    pub calls: BTreeMap<String, u64>,
    /// `pwrite64` / `pread64` by file kind (see [`file_kind`]) and whole page or not.
    pub writes: BTreeMap<(&'static str, bool), u64>,
    pub reads: BTreeMap<(&'static str, bool), u64>,
    /// `fcntl` lock operations on SQLite's files.
    pub locks: u64,
}

impl Counts {
    /// Counts the calls of an `strace -f -y -s 0 -ttt` trace entered between `from` and `to`.
    /// A call another thread interrupted is split over two lines (`… <unfinished ...>`, then
    /// `<... name resumed> … = result`); it counts at its start, with the result of its end.
    pub fn parse(trace: &str, from: f64, to: f64) -> Counts {
        let mut c = Counts {
            seconds: to - from,
            ..Counts::default()
        };
        // Per thread: the interrupted call (name, file kind) when it started in the window.
        let mut pending: HashMap<&str, (&str, &'static str)> = HashMap::new();
        for line in trace.lines() {
            // `<pid> <seconds.micros> <call>(<args>) = <result>`; strace pads the pid to 5 places.
            let Some((pid, rest)) = line.trim_start().split_once(' ') else {
                continue;
            };
            let Some((ts, rest)) = rest.trim_start().split_once(' ') else {
                continue;
            };
            if let Some(resumed) = rest.strip_prefix("<... ") {
                if let Some((name, kind)) = pending.remove(pid)
                    && resumed.starts_with(name)
                {
                    c.note_io(name, kind, result_of(resumed));
                }
                continue;
            }
            let Ok(ts) = ts.parse::<f64>() else { continue };
            let Some((name, args)) = rest.split_once('(') else {
                continue;
            };
            if ts < from
                || ts > to
                || name.is_empty()
                || !name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            {
                continue; // outside the window, or `--- SIGxxx ---`
            }
            *c.calls.entry(name.to_string()).or_default() += 1;
            let kind = file_kind(args);
            if name == "fcntl" && kind != "other" && args.contains("SETLK") {
                c.locks += 1;
            }
            if rest.ends_with("<unfinished ...>") {
                pending.insert(pid, (name, kind));
            } else {
                c.note_io(name, kind, result_of(args));
            }
        }
        c
    }

    /// Notes the bytes a `pwrite64` or `pread64` on a `kind` file moved.
    fn note_io(&mut self, name: &str, kind: &'static str, bytes: u64) {
        let map = match name {
            "pwrite64" => &mut self.writes,
            "pread64" => &mut self.reads,
            _ => return,
        };
        *map.entry((kind, bytes >= 512)).or_default() += 1;
    }

    /// All calls.
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }

    /// Calls of `name`.
    pub fn of(&self, name: &str) -> u64 {
        self.calls.get(name).copied().unwrap_or_default()
    }

    /// `pwrite64` (`write`) or `pread64` calls on `kind` files moving whole pages (`page`).
    pub fn io(&self, write: bool, kind: &str, page: bool) -> u64 {
        let map = if write { &self.writes } else { &self.reads };
        map.iter()
            .filter(|((k, p), _)| *k == kind && *p == page)
            .map(|(_, n)| n)
            .sum()
    }

    /// The `n` most frequent calls, most frequent first.
    pub fn top(&self, n: usize) -> Vec<(&str, u64)> {
        let mut all: Vec<(&str, u64)> = self.calls.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all.truncate(n);
        all
    }
}

/// The SQLite file a call's first argument names (`12</path/tessera.db-wal>`): `database`,
/// `WAL`, `shm` (the WAL index, where WAL-mode locks are taken) or `other`.
fn file_kind(args: &str) -> &'static str {
    let path = args
        .split_once('<')
        .and_then(|(_, r)| r.split_once('>'))
        .map_or("", |(p, _)| p);
    if path.ends_with("-wal") {
        "WAL"
    } else if path.ends_with("-shm") {
        "shm"
    } else if path.ends_with(".db") {
        "database"
    } else {
        "other"
    }
}

/// The result of a call line (`… ) = 4096`), 0 when it is not a number.
fn result_of(line: &str) -> u64 {
    line.rsplit_once(" = ")
        .and_then(|(_, r)| r.split_whitespace().next())
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_calls_in_the_window() {
        let trace = r#"101 10.000001 futex(0x1, FUTEX_WAKE_PRIVATE, 1) = 0
101 11.000001 futex(0x1, FUTEX_WAIT_PRIVATE, 0, NULL <unfinished ...>
5563  11.000001 futex(0x2, FUTEX_WAKE_PRIVATE, 1) = 1
102 11.000002 pwrite64(9</tmp/x/tessera.db-wal>, ""..., 24, 4128) = 24
102 11.000003 pwrite64(9</tmp/x/tessera.db-wal>, ""..., 4096, 4152) = 4096
102 11.000004 pread64(8</tmp/x/tessera.db>,  <unfinished ...>
103 11.000004 pread64(14</tmp/x/tessera.db-wal>, ""..., 4096, 56) = 4096
102 11.000005 <... pread64 resumed>""..., 4096, 8192) = 4096
102 11.000005 fcntl(12</tmp/x/tessera.db-shm>, F_SETLK, {l_type=F_RDLCK, l_whence=SEEK_SET, l_start=124, l_len=1}) = 0
102 11.000006 fcntl(7<socket:[1]>, F_GETFL) = 0x2 (flags O_RDWR)
101 11.500000 <... futex resumed>) = 0
102 11.600000 --- SIGPIPE {si_signo=SIGPIPE} ---
101 13.000000 epoll_wait(3<anon_inode:[eventpoll]>, [], 1024, 0) = 0
"#;
        let c = Counts::parse(trace, 11.0, 12.0);
        assert_eq!(c.total(), 8);
        assert_eq!(c.of("futex"), 2);
        assert_eq!(c.of("pwrite64"), 2);
        assert_eq!(c.io(true, "WAL", true), 1);
        assert_eq!(c.io(true, "WAL", false), 1);
        assert_eq!(c.io(false, "database", true), 1);
        assert_eq!(c.io(false, "WAL", true), 1);
        assert_eq!(c.locks, 1);
        assert_eq!(c.of("fcntl"), 2);
    }
}
