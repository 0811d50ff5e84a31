//! CPU time and memory of a process, from `/proc/<pid>/stat` and `/proc/<pid>/status`.

/// Clock ticks per second of `utime`/`stime`.
fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// User + system CPU seconds used so far by all threads of `pid`.
pub fn cpu_seconds(pid: u32) -> Result<f64, String> {
    cpu_times(pid).map(|(user, system)| user + system)
}

/// (user, system) CPU seconds used so far by all threads of `pid`.
pub fn cpu_times(pid: u32) -> Result<(f64, f64), String> {
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
    Ok((tick(11)? / clock_ticks(), tick(12)? / clock_ticks()))
}

/// (user, system) CPU seconds used so far by every process whose command name is `comm` (e.g.
/// `postgres`: the server and its backends, whoever they serve). A process that exits between
/// two readings takes its time with it.
pub fn cpu_times_of_command(comm: &str) -> (f64, f64) {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return (f64::NAN, f64::NAN);
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .filter_map(|pid| cpu_times(pid).ok())
        .fold((0.0, 0.0), |(u, s), (du, ds)| (u + du, s + ds))
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

/// Whose CPU time is read: one process, or every process with a command name.
#[derive(Clone, Copy, Debug)]
pub enum Cpu {
    Pid(u32),
    Command(&'static str),
}

impl Cpu {
    /// (user, system) CPU seconds used so far (NaN when unreadable).
    pub fn times(self) -> (f64, f64) {
        match self {
            Cpu::Pid(pid) => cpu_times(pid).unwrap_or((f64::NAN, f64::NAN)),
            Cpu::Command(comm) => cpu_times_of_command(comm),
        }
    }
}

/// CPU time of a process (or processes) over a measured stretch.
pub struct CpuMeter {
    who: Cpu,
    start: (f64, f64),
}

impl CpuMeter {
    /// Starts measuring process `pid`.
    pub fn start(pid: u32) -> CpuMeter {
        CpuMeter::of(Cpu::Pid(pid))
    }

    /// Starts measuring `who`.
    pub fn of(who: Cpu) -> CpuMeter {
        CpuMeter {
            who,
            start: who.times(),
        }
    }

    /// CPU seconds (user + system) used since `start`.
    pub fn elapsed(&self) -> f64 {
        let (user, system) = self.elapsed_times();
        user + system
    }

    /// (user, system) CPU seconds used since `start`.
    pub fn elapsed_times(&self) -> (f64, f64) {
        let (user, system) = self.who.times();
        (user - self.start.0, system - self.start.1)
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
