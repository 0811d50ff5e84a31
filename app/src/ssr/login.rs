//! Sign-in records: pending flows and login attempts, with the bounds on what requests nobody
//! has signed in for may store. They are enforced in the statements that store them, so the
//! types and bounds live with that SQL in [`super::store::flows`]; this is their domain name.

pub use super::store::flows::{
    FAILURES_STORED_PER_MINUTE, FlowTier, KNOWN_BROWSER_TTL_MS, LoginAttempt, LoginFlow,
    MAX_PENDING_FLOWS_PER_BROWSER, MAX_PENDING_FLOWS_PER_ORG, Outcome,
};
