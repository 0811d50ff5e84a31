//! Server-only code: the store, encryption at rest, issuer rules and session lookup.

pub mod auth;
pub mod crypto;
pub mod issuer;
pub mod login;
pub mod store;
