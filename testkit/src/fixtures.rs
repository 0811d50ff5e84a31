//! Arranging and reading the store directly: members and sessions as a sign-in would have
//! written them (without an Okta round trip), counts for "what changed" assertions, and raw
//! SQL ([`sql_exec`], [`sql_rows`], [`sql_row`]) through the store's test door
//! (`app::ssr::store::testing`) for faults and rows no code path writes.

use crate::browser::Browser;
use crate::server::TestServer;
use app::model::{Member, Org, OrgId, Role};
use app::ssr::store::Store;
use serde_json::Value;

/// Runs one statement straight on the database, `binds` for `$1`, `$2`, … (JSON: integers,
/// strings, booleans as 0/1, null); returns how many rows it changed.
pub async fn sql_exec(store: &Store, sql: &str, binds: &[Value]) -> u64 {
    store
        .execute_for_tests(sql, binds)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The rows of `sql`, each a JSON object by column name.
pub async fn sql_rows(store: &Store, sql: &str, binds: &[Value]) -> Vec<Value> {
    store
        .fetch_for_tests(sql, binds)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The one row of `sql` (a JSON object by column name); panics unless there is exactly one.
pub async fn sql_row(store: &Store, sql: &str, binds: &[Value]) -> Value {
    let mut rows = sql_rows(store, sql, binds).await;
    assert_eq!(rows.len(), 1, "{sql}: one row expected");
    rows.remove(0)
}

/// The number in column `n` of `sql` (a `SELECT COUNT(*) AS n …` with one text parameter).
pub async fn count(store: &Store, sql: &str, arg: &str) -> i64 {
    let row = sql_row(store, sql, &[arg.into()]).await;
    row["n"]
        .as_i64()
        .unwrap_or_else(|| panic!("{sql}: n = {}", row["n"]))
}

/// How many stored sessions carry a signed-in member.
pub async fn signed_in_sessions(store: &Store) -> i64 {
    let row = sql_row(
        store,
        "SELECT COUNT(*) AS n FROM sessions WHERE member_id IS NOT NULL",
        &[],
    )
    .await;
    row["n"].as_i64().expect("n")
}

/// Login attempts with `reason`, whatever their org (some failures know no org).
pub async fn attempts_with_reason(store: &Store, reason: &str) -> i64 {
    count(
        store,
        "SELECT COUNT(*) AS n FROM login_attempts WHERE reason = $1",
        reason,
    )
    .await
}

/// The org named `slug` (must exist).
pub async fn org(store: &Store, slug: &str) -> Org {
    store
        .org_by_slug(slug)
        .await
        .expect("org lookup")
        .expect("org exists")
}

/// A member of `org_id` keyed to (`issuer`, `sub`), with email `{sub}@example.test` and name
/// `sub`, through the store's insert (the org's first member becomes its owner).
pub async fn add_member(
    store: &Store,
    org_id: &OrgId,
    issuer: &str,
    sub: &str,
    role: Role,
) -> Member {
    store
        .insert_member(
            org_id,
            issuer,
            sub,
            &format!("{sub}@example.test"),
            sub,
            role,
        )
        .await
        .expect("insert member")
        .0
}

/// A session row for `m` as the sign-in stores it, ending in an hour (on the store's clock);
/// returns its id (the cookie value).
pub async fn session_for(store: &Store, m: &Member) -> String {
    session_with_expiry(store, m, store.now_ms() + 3_600_000).await
}

/// Like [`session_for`], with the session's absolute expiry at `absolute_expiry` (unix ms).
pub async fn session_with_expiry(store: &Store, m: &Member, absolute_expiry: i64) -> String {
    let id = tower_sessions::session::Id::default().to_string();
    let data = serde_json::json!({
        "member_id": m.id, "org_id": m.org_id, "absolute_expiry": absolute_expiry,
    });
    assert!(
        store
            .session_insert(
                &id,
                &data.to_string(),
                store.now_ms() + 3_600_000,
                Some(&m.id)
            )
            .await
            .expect("session insert")
    );
    id
}

/// A browser signed in as `m`: a session row as the sign-in stores it (no Okta round trip),
/// with its cookie planted. Returns the browser and the session id.
pub async fn signed_in_as(server: &TestServer, m: &Member) -> (Browser, String) {
    let id = session_for(&server.store, m).await;
    let b = Browser::new();
    b.set_cookie(&server.url, "tessera_session", &id);
    (b, id)
}

/// An org with its owner signed in, for tests about what a signed-in owner's requests do.
pub struct OwnerSignedIn {
    pub org: Org,
    /// The org's first member (`sub-o`), hence its owner.
    pub owner: Member,
    /// The owner's browser, with their session cookie.
    pub browser: Browser,
}

/// Creates org `slug` with an owner keyed to `https://{slug}.okta.test`, and signs them in.
pub async fn owner_signed_in(server: &TestServer, slug: &str) -> OwnerSignedIn {
    let org = server
        .store
        .create_org(slug, &format!("{slug} Inc"))
        .await
        .expect("org");
    let owner = add_member(
        &server.store,
        &org.id,
        &issuer_of(slug),
        "sub-o",
        Role::Member,
    )
    .await;
    let (browser, _) = signed_in_as(server, &owner).await;
    OwnerSignedIn {
        org,
        owner,
        browser,
    }
}

impl OwnerSignedIn {
    /// Adds a member `sub` with `role` to the org (same issuer as the owner).
    pub async fn add(&self, server: &TestServer, sub: &str, role: Role) -> Member {
        add_member(
            &server.store,
            &self.org.id,
            &issuer_of(&self.org.slug),
            sub,
            role,
        )
        .await
    }
}

fn issuer_of(slug: &str) -> String {
    format!("https://{slug}.okta.test")
}

/// An issuer nobody listens on (connections to it are refused at once).
pub fn dead_issuer() -> String {
    format!("http://127.0.0.1:{}", crate::free_port())
}
