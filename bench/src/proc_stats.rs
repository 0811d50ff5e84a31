//! CPU time and memory of a process, from `/proc/<pid>/stat` and `/proc/<pid>/status`.

/// Clock ticks per second of `utime`/`stime`.
fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// User + system CPU seconds used so far by all threads of `pid`.
pub fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // The command name may hold spaces: fields start after the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("malformed stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')' come state (field 3), ppid (4), ...; utime is field 14 and stime field 15.
    let tick = |i: usize| -> Result<f64, String> {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("malformed stat field {}", i + 3))
    };
    Ok((tick(11)? + tick(12)?) / clock_ticks())
}

/// A `kB` line of `/proc/<pid>/status`, e.g. `VmHWM` (peak resident set) or `VmRSS`.
pub fn status_kb(pid: u32, key: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no {key} in /proc/{pid}/status"))
}

/// Peak resident set size of `pid` in MiB.
pub fn peak_rss_mib(pid: u32) -> f64 {
    status_kb(pid, "VmHWM")
        .map(|kb| kb as f64 / 1024.0)
        .unwrap_or(f64::NAN)
}

/// CPU time of a process over a measured stretch.
pub struct CpuMeter {
    pid: u32,
    start: f64,
}

impl CpuMeter {
    pub fn start(pid: u32) -> CpuMeter {
        CpuMeter {
            pid,
            start: cpu_seconds(pid).unwrap_or(f64::NAN),
        }
    }

    /// CPU seconds used since `start`.
    pub fn elapsed(&self) -> f64 {
        cpu_seconds(self.pid).unwrap_or(f64::NAN) - self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        let me = std::process::id();
        assert!(cpu_seconds(me).unwrap() >= 0.0);
        assert!(status_kb(me, "VmHWM").unwrap() > 0);
    }
}
