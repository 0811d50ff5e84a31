//! Tessera's test kit, shared by the integration tests (`server/tests`) and the benchmark
//! programs (`bench/`), so that neither keeps its own copy:
//!
//! - [`db`]: a fresh database per test: a temp SQLite file, and a fresh PostgreSQL database
//!   when a server answers (`TESSERA_TEST_POSTGRES_URL`, `TESSERA_REQUIRE_POSTGRES`).
//! - [`server`]: the real router and store in-process on a free port ([`TestServer`]), on a
//!   test clock that tests move forward ([`TestServer::advance`]) instead of sleeping.
//! - [`process`]: the `tessera` binary as a child process: the CLI and `tessera serve`.
//! - [`op`]: one fake OpenID provider in-process ([`FakeOp`]), told by each test what to
//!   answer, and cheap enough for the benchmarks' stub-provider runs.
//! - [`okta`]: the local Okta (`end2end/okta-dev`) as a child process.
//! - [`browser`]: a cookie-keeping HTTP client that shows every hop of a sign-in.
//! - [`scim`]: a SCIM 2.0 client with a bearer token, as Okta's provisioning calls Tessera.
//! - [`fixtures`]: members, sessions and connections written straight to the store, counts
//!   read from it, and raw SQL through the store's test door for faults no code path writes.
//!
//! Everything panics with a message on failure (these are tests), except what the benchmarks
//! call, which returns `Result` so a benchmark can report what it could not run.

pub mod browser;
pub mod db;
pub mod fixtures;
pub mod okta;
pub mod op;
pub mod process;
pub mod scim;
pub mod server;
pub mod signals;

pub use app::ssr::store::ManualClock;
pub use browser::{Browser, Resp, SignIn, initiate_url, origin_of, query_param};
pub use db::{DEFAULT_POSTGRES_URL, TestDb, databases, hold_lock, postgres, sqlite};
pub use fixtures::{
    OwnerSignedIn, add_member, attempts_with_reason, count, dead_issuer, org, owner_signed_in,
    session_for, session_with_expiry, signed_in_as, signed_in_sessions, sql_exec, sql_row,
    sql_rows,
};
pub use okta::{OktaDev, okta_client};
pub use op::FakeOp;
pub use process::{Flags, Node, run, run_ok};
pub use scim::ScimClient;
pub use server::{ApiClient, STRICT, TestServer};

use std::path::PathBuf;

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The repository root (this crate lives in `testkit/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `tessera` binary that cargo built beside the running test or benchmark program:
/// `CARGO_BIN_EXE_tessera` when set, else `tessera` in the program's profile directory
/// (`target/<profile>/`, one level above `deps/` where test binaries live).
pub fn tessera_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("CARGO_BIN_EXE_tessera").filter(|b| !b.is_empty()) {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("path of the running program");
    let mut dir = exe.parent().expect("program directory").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join(format!("tessera{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: build it first (`cargo test -p server` does)",
        bin.display()
    );
    bin
}
