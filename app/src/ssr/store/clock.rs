//! The time Tessera reads: every "now" of the store, the domain and the request handlers (flow
//! and session expiry, setup-link expiry, rate-limit windows, audit and attempt times, the
//! retention purge) comes from the [`Clock`] the store was opened with, so that tests move
//! time forward instead of sleeping or rewriting timestamps in the database.
//!
//! Production runs on [`Clock::system`]. A test clock ([`ManualClock`], only with the
//! `testing` feature or in this crate's unit tests) reads the system time plus a shift that
//! only [`ManualClock::advance`] changes: time still flows, so rows that other processes
//! write meanwhile on their system clocks (the CLI run as a child process, a second node) stay
//! in order with it, and it never runs backwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Where "now" comes from; cheap to clone (clones share a test clock's shift).
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Milliseconds added to the system time: `None` on the system clock.
    shift: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system's wall clock, as in production.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Now, in unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.from_system_ms(system_now_ms())
    }

    /// A system-time instant (unix ms) as this clock reads it: the same on the system clock;
    /// moved by the shift on a test clock. For times computed by a library on the system time
    /// (tower-sessions' idle expiry).
    pub fn from_system_ms(&self, system_ms: i64) -> i64 {
        system_ms.saturating_add(self.shift_ms())
    }

    /// The inverse of [`Clock::from_system_ms`]: an instant of this clock on the system time.
    pub fn to_system_ms(&self, clock_ms: i64) -> i64 {
        clock_ms.saturating_sub(self.shift_ms())
    }

    fn shift_ms(&self) -> i64 {
        self.shift.as_ref().map_or(0, |s| s.load(Ordering::Relaxed))
    }
}

/// The system time in unix milliseconds (0 before 1970, which no real clock reads).
fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// A test clock: starts at the system time and moves with it, plus whatever [`advance`]
/// added. Hand [`ManualClock::clock`] to the store (`Store::with_clock`); keep this handle to
/// move time forward.
///
/// [`advance`]: ManualClock::advance
#[cfg(any(test, feature = "testing"))]
#[derive(Clone, Debug, Default)]
pub struct ManualClock {
    shift: Arc<AtomicI64>,
}

#[cfg(any(test, feature = "testing"))]
impl ManualClock {
    /// A test clock reading the system time until advanced.
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// The clock to give a store; it follows every later [`ManualClock::advance`].
    pub fn clock(&self) -> Clock {
        Clock {
            shift: Some(self.shift.clone()),
        }
    }

    /// Moves time forward by `by` for every store holding this clock.
    pub fn advance(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.shift.fetch_add(ms, Ordering::Relaxed);
    }

    /// Now, in unix milliseconds, as the stores holding this clock read it.
    pub fn now_ms(&self) -> i64 {
        self.clock().now_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_manual_clock_moves_forward_when_advanced_and_never_back() {
        let manual = ManualClock::new();
        let clock = manual.clock();
        let system = Clock::system();
        let before = clock.now_ms();
        assert!(
            (before - system.now_ms()).abs() < 1_000,
            "starts at the system time"
        );
        manual.advance(Duration::from_secs(3_600));
        let after = clock.now_ms();
        assert!(after >= before + 3_600_000, "{after} vs {before}");
        assert!(manual.now_ms() >= after);
        // Clones share the shift; system times map through it both ways.
        let shared = clock.clone();
        assert!(shared.now_ms() >= after);
        assert_eq!(shared.from_system_ms(1_000), 1_000 + 3_600_000);
        assert_eq!(shared.to_system_ms(shared.from_system_ms(42)), 42);
        assert_eq!(system.from_system_ms(42), 42);
    }
}
