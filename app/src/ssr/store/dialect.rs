//! Every difference between SQLite and PostgreSQL, in one place: which database a URL names,
//! how connections are set up (SQLite pragmas, lock and busy timeouts), the migration set,
//! the write check, how error codes are classed, the members search condition, and the row
//! locks PostgreSQL needs where SQLite's single writer already serialises.
//!
//! Everything else in the store is one SQL text for both databases.

use super::{StoreError, Tx, redact_url};
use crate::model::{MemberId, OrgId};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationSource, Migrator};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// How long a statement waits for a lock held by another connection, in ms: SQLite's
/// `busy_timeout`, PostgreSQL's `lock_timeout`. Past it the statement fails as busy or locked
/// (`SQLITE_BUSY`, SQLSTATE `55P03`): the request answers 503 instead of hanging.
macro_rules! lock_wait_ms {
    () => {
        "10000"
    };
}

/// Which database a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
    /// `sqlite:…` or `postgres://…` / `postgresql://…`; anything else is
    /// [`StoreError::Invalid`] (the URL quoted without credentials).
    pub fn of_url(url: &str) -> Result<DbKind, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(DbKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DbKind::Postgres)
        } else {
            Err(StoreError::Invalid(format!(
                "unsupported database URL {:?}: use sqlite://path/to/file.db or postgres://user@host/db",
                redact_url(url)
            )))
        }
    }
}

/// How long a query waits for a free connection before the store answers `Unavailable`.
const ACQUIRE_WITHIN: Duration = Duration::from_secs(5);

/// A PostgreSQL connection idle at least this long is pinged before it is handed out.
const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// Pool options every pool starts from: the acquire timeout, and no round trip to test a
/// connection that was just in use. sqlx pings a connection on every acquire by default, on
/// top of the ping on every release, so a query costs three round trips (on SQLite three
/// hand-offs to its thread). A SQLite connection is a file handle that cannot go stale: never
/// tested. A PostgreSQL connection is pinged only after [`PING_IDLE_AFTER`] idle, which a
/// server restart (or a connection dropped by the network while idle) always exceeds, so a
/// dead connection is replaced before a request gets it, as before; under load none is.
fn base_options(kind: DbKind) -> AnyPoolOptions {
    let options = AnyPoolOptions::new()
        .acquire_timeout(ACQUIRE_WITHIN)
        .test_before_acquire(false);
    match kind {
        DbKind::Sqlite => options,
        DbKind::Postgres => options.before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IDLE_AFTER {
                    use sqlx::Connection as _;
                    conn.ping().await?;
                }
                Ok(true)
            })
        }),
    }
}

/// The pool options for `url` and the URL to open: for SQLite the file's directory is
/// created, `mode=rwc` added, and every connection gets WAL, the busy timeout, foreign keys
/// and `synchronous = NORMAL`; for PostgreSQL every connection gets the lock timeout. The
/// SQLite pool is its one writer (see [`sqlite_reader_options`] for its readers); PostgreSQL's
/// holds 16 connections by default.
pub(super) fn pool_options(
    kind: DbKind,
    url: &str,
) -> Result<(AnyPoolOptions, String), StoreError> {
    let mut url = url.to_string();
    let options = base_options(kind);
    let options = match kind {
        DbKind::Sqlite => {
            let path = url
                .trim_start_matches("sqlite:")
                .trim_start_matches("//")
                .split('?')
                .next()
                .unwrap_or_default()
                .to_string();
            if path.is_empty() || path == ":memory:" {
                return Err(StoreError::Invalid(
                    "the SQLite database must be a file, e.g. sqlite://data/tessera.db".into(),
                ));
            }
            if let Some(dir) = std::path::Path::new(&path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Invalid(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') { "&" } else { "?" });
                url.push_str("mode=rwc");
            }
            // One connection writes: SQLite lets one writer in at a time, and writers on
            // several connections wait for each other in its busy handler, which sleeps (1 to
            // 100 ms) instead of queueing. Here they queue in the pool, first come first served.
            options.max_connections(1).after_connect(|conn, _meta| {
                Box::pin(async move {
                    sqlite_pragmas(conn).await?;
                    Ok(())
                })
            })
        }
        DbKind::Postgres => options.max_connections(16).after_connect(|conn, _meta| {
            Box::pin(async move {
                use sqlx::Executor as _;
                // Without it a statement waits for a table or row lock forever (e.g.
                // behind `LOCK TABLE` or a stuck transaction): bound it like SQLite.
                conn.execute(concat!("SET lock_timeout = ", lock_wait_ms!()))
                    .await?;
                Ok(())
            })
        }),
    };
    Ok((options, url))
}

/// How many read-only connections SQLite reads run on beside the writer, unless configured.
pub(super) const SQLITE_READERS: u32 = 4;

/// The settings of every SQLite connection: WAL, the busy timeout, foreign keys and
/// `synchronous = NORMAL`.
async fn sqlite_pragmas(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    use sqlx::Executor as _;
    conn.execute("PRAGMA journal_mode = WAL").await?;
    conn.execute(concat!("PRAGMA busy_timeout = ", lock_wait_ms!()))
        .await?;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    conn.execute("PRAGMA synchronous = NORMAL").await?;
    Ok(())
}

/// The pool of SQLite's readers: `max_connections` less the writer (at least one;
/// [`SQLITE_READERS`] by default), each with the settings of [`pool_options`] plus
/// `query_only`, so a write sent here by mistake fails instead of contending with the writer.
/// In WAL mode readers and the writer do not wait for each other. `None` for PostgreSQL, whose
/// one pool serves both.
pub(super) fn sqlite_reader_options(
    kind: DbKind,
    max_connections: Option<u32>,
) -> Option<AnyPoolOptions> {
    (kind == DbKind::Sqlite).then(|| {
        base_options(kind)
            .max_connections(max_connections.map_or(SQLITE_READERS, |n| n.saturating_sub(1).max(1)))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    use sqlx::Executor as _;
                    sqlite_pragmas(conn).await?;
                    conn.execute("PRAGMA query_only = ON").await?;
                    Ok(())
                })
            })
    })
}

/// Migrations in portable SQL, for both databases.
static PORTABLE: Migrator = sqlx::migrate!("../migrations");
/// Migrations only one dialect can express (triggers, indexes), numbered among the portable ones.
static SQLITE_ONLY: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_ONLY: Migrator = sqlx::migrate!("../migrations/postgres");

/// The portable migrations and one dialect's, as one ordered set.
#[derive(Debug)]
struct Migrations(Vec<Migration>);

impl MigrationSource<'static> for Migrations {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>> + Send>>
    {
        Box::pin(std::future::ready(Ok(self.0)))
    }
}

/// Applies the pending migrations of `kind` (portable ones and the dialect's, in one order).
pub(super) async fn migrate(pool: &AnyPool, kind: DbKind) -> Result<(), StoreError> {
    let dialect = match kind {
        DbKind::Sqlite => &SQLITE_ONLY,
        DbKind::Postgres => &POSTGRES_ONLY,
    };
    let mut all: Vec<Migration> = PORTABLE.iter().chain(dialect.iter()).cloned().collect();
    all.sort_by_key(|m| m.version);
    let migrator = Migrator::new(Migrations(all)).await?;
    if kind == DbKind::Sqlite {
        migrator.run(pool).await?;
        return Ok(());
    }
    // Nodes starting together wait for each other's migrations (an advisory lock), and a
    // migration may wait for live traffic's locks: no lock timeout on this connection.
    use sqlx::Executor as _;
    let mut conn = pool.acquire().await?;
    conn.execute("SET lock_timeout = 0").await?;
    let result = migrator.run(&mut *conn).await;
    if conn
        .execute(concat!("SET lock_timeout = ", lock_wait_ms!()))
        .await
        .is_err()
    {
        conn.close_on_drop();
    }
    result?;
    Ok(())
}

/// See [`super::Store::check_writable`]: SQLite takes the write lock (`BEGIN IMMEDIATE`,
/// busy timeout 1 s) and rolls back; PostgreSQL runs a write matching no row in a transaction
/// it rolls back (lock and statement timeouts 1 s).
pub(super) async fn check_writable(pool: &AnyPool, kind: DbKind) -> Result<(), StoreError> {
    use sqlx::Executor as _;
    let mut conn = pool.acquire().await?;
    match kind {
        DbKind::Sqlite => {
            conn.execute("PRAGMA busy_timeout = 1000").await?;
            let result = match conn.execute("BEGIN IMMEDIATE").await {
                Ok(_) => conn.execute("ROLLBACK").await.map(|_| ()),
                Err(e) => Err(e),
            };
            // Restore the connection's busy timeout (see `pool_options`) before it goes
            // back to the pool; a connection that cannot be restored is closed instead.
            if conn
                .execute(concat!("PRAGMA busy_timeout = ", lock_wait_ms!()))
                .await
                .is_err()
            {
                conn.close_on_drop();
            }
            result?;
        }
        DbKind::Postgres => {
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            tx.execute("SET LOCAL lock_timeout = '1s'").await?;
            tx.execute("SET LOCAL statement_timeout = '1s'").await?;
            tx.execute("UPDATE orgs SET name = name WHERE id = ''")
                .await?;
            tx.rollback().await?;
        }
    }
    Ok(())
}

/// What a database error says about its cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cause {
    Unavailable,
    /// The server rolled the transaction back to settle a race (deadlock, serialization).
    RolledBack,
    BadInput,
    /// A foreign key refused the row: its parent was deleted meanwhile.
    Gone,
    Other,
}

/// Classifies a database error by PostgreSQL SQLSTATE (five characters) or SQLite result code
/// (a number; the primary code is its low byte), with SQLite's messages as a fallback.
pub(super) fn classify(e: &sqlx::Error) -> Cause {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => Cause::Unavailable,
        sqlx::Error::Database(db) => {
            let by_code = db.code().map_or(Cause::Other, |c| classify_code(&c));
            if by_code != Cause::Other {
                return by_code;
            }
            let message = db.message().to_ascii_lowercase();
            if [
                "database is locked",
                "database table is locked",
                "database or disk is full",
            ]
            .iter()
            .any(|m| message.contains(m))
            {
                Cause::Unavailable
            } else if message.contains("invalid byte sequence")
                || message.contains("has no equivalent in encoding")
            {
                Cause::BadInput
            } else {
                Cause::Other
            }
        }
        _ => Cause::Other,
    }
}

/// SQLSTATEs have exactly five characters; SQLite's codes are numbers below 10,000.
fn classify_code(code: &str) -> Cause {
    if code.len() == 5 {
        return classify_sqlstate(code);
    }
    code.parse::<u32>().map_or(Cause::Other, classify_sqlite)
}

/// PostgreSQL SQLSTATE codes (Appendix A of the PostgreSQL manual).
fn classify_sqlstate(code: &str) -> Cause {
    if code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P")
        || matches!(code, "57014" | "25006" | "55P03")
    {
        Cause::Unavailable
    } else if code.starts_with("22") || code == "54000" {
        Cause::BadInput
    } else if code.starts_with("40") {
        Cause::RolledBack
    } else if code == "23503" {
        Cause::Gone
    } else {
        Cause::Other
    }
}

/// SQLite (extended) result codes, <https://www.sqlite.org/rescode.html>.
fn classify_sqlite(code: u32) -> Cause {
    // SQLITE_CONSTRAINT_FOREIGNKEY
    if code == 787 {
        return Cause::Gone;
    }
    match code & 0xff {
        // BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL
        5 | 6 | 7 | 8 | 10 | 13 | 14 | 15 => Cause::Unavailable,
        // TOOBIG, MISMATCH, RANGE
        18 | 20 | 25 => Cause::BadInput,
        _ => Cause::Other,
    }
}

/// The members of org `$1` whose name or email contains `q` (any case), as a condition and
/// the value bound to `$2`.
///
/// - SQLite, `q` of 3 or more characters: the FTS5 trigram index `members_fts` (migration
///   `20261127000007`), `$2` a quoted phrase, so every character matches literally.
/// - SQLite, shorter: a scan with LIKE, which already ignores (ASCII) case as SQLite's LOWER()
///   only folds ASCII, so the columns are compared as they are.
/// - PostgreSQL: `LOWER(column) LIKE`, the expression its trigram indexes
///   (`members_name_trgm`, `members_email_trgm`) are built on; they serve 3 or more characters.
///   They take new members at once (`fastupdate = off`, migration `20261207000010`), so a
///   search never reads a pending list of recent inserts.
///
/// The condition includes the org filter (`$1`). With the FTS index, SQLite must be steered to
/// start from the matches: `+org_id` keeps it from walking the whole org in name order instead
/// (its planner cannot tell how few rows a MATCH yields).
pub(super) fn search_condition(kind: DbKind, q: &str) -> (&'static str, String) {
    match kind {
        DbKind::Sqlite if q.chars().count() >= 3 => (
            "+org_id = $1 AND id IN (SELECT member_id FROM member_search_keys WHERE k IN (
                 SELECT rowid FROM members_fts WHERE members_fts MATCH $2))",
            fts_phrase(q),
        ),
        DbKind::Sqlite => (
            "org_id = $1 AND (name LIKE $2 ESCAPE '\\' OR email LIKE $2 ESCAPE '\\')",
            like_pattern(q),
        ),
        DbKind::Postgres => (
            "org_id = $1 AND (LOWER(name) LIKE LOWER($2) ESCAPE '\\' OR LOWER(email) LIKE LOWER($2) ESCAPE '\\')",
            like_pattern(q),
        ),
    }
}

/// `%` and `_` (and the escape character itself) match literally in a LIKE pattern.
pub(super) fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// An FTS5 query matching `q` as one literal string: a phrase in double quotes, inner quotes
/// doubled.
fn fts_phrase(q: &str) -> String {
    format!("\"{}\"", q.replace('"', "\"\""))
}

/// Takes the write lock on an org's Okta connection row (a no-op UPDATE; nothing changes), as the
/// first statement of a transaction that changes the connection or re-keys or re-ranks members.
/// Such transactions of one org then run one after the other: on PostgreSQL the row lock
/// serialises them (so a count of members keyed to an issuer cannot be outdated by a concurrent
/// re-key before the issuer changes, and members are always locked after it, never in opposite
/// orders), and on SQLite the transaction becomes a writer at once, waiting for the lock instead
/// of failing with `SQLITE_BUSY` when a read would later have to be upgraded.
pub async fn lock_org_connection(tx: &mut Tx, org_id: &OrgId) -> Result<(), StoreError> {
    sqlx::query("UPDATE sso_connections SET org_id = org_id WHERE org_id = $1")
        .bind(org_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// On SQLite, makes `tx` a writer at once (its first statement), so a statement that reads
/// before it writes (the first-member-becomes-owner insert) waits for the write lock instead of
/// failing with `SQLITE_BUSY` on the upgrade. PostgreSQL locks rows as it goes: nothing to do.
pub(super) async fn write_first(tx: &mut Tx, org_id: &OrgId) -> Result<(), StoreError> {
    if tx.kind() == DbKind::Sqlite {
        lock_org_connection(tx, org_id).await?;
    }
    Ok(())
}

/// Inside `tx`, as its first statement: locks the org's row against everything that would add
/// to the org, for deleting it. On PostgreSQL `FOR UPDATE`: a concurrent insert of a member
/// (whose foreign key takes a key-share lock on the row) waits for the delete and then fails on
/// the missing org, instead of deadlocking with it over a member counter row the delete has
/// emptied. On SQLite a no-op update makes the transaction the writer at once. False when
/// there is no such org.
pub(super) async fn lock_org_for_delete(tx: &mut Tx, org_id: &OrgId) -> Result<bool, StoreError> {
    let sql = match tx.kind() {
        DbKind::Sqlite => "UPDATE orgs SET name = name WHERE id = $1 RETURNING id",
        DbKind::Postgres => "SELECT id FROM orgs WHERE id = $1 FOR UPDATE",
    };
    let row = sqlx::query(sql)
        .bind(org_id)
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.is_some())
}

/// Inside `tx`, before a SCIM write that must keep the userName `user_name_key` (lowercased)
/// unique in the org: writes of that one userName in that org run one after the other, and
/// nothing else waits. On PostgreSQL a transaction-scoped advisory lock on the pair (a 64-bit
/// hash of it: a collision only makes two writes wait for each other), so Okta creating many
/// people at once is not serialised on the org's row; on SQLite the transaction becomes the
/// writer at once ([`write_first`]): with one writer, the check and the write cannot interleave.
pub(super) async fn lock_user_name(
    tx: &mut Tx,
    org_id: &OrgId,
    user_name_key: &str,
) -> Result<(), StoreError> {
    match tx.kind() {
        DbKind::Sqlite => write_first(tx, org_id).await,
        DbKind::Postgres => {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(format!("scim userName {org_id} {user_name_key}"))
                .execute(tx.conn())
                .await?;
            Ok(())
        }
    }
}

/// Inside `tx`, before a statement that changes two members of one org: on PostgreSQL, locks
/// both rows first, in id order. The counter trigger locks a `member_stats` row of the org (its
/// connection's slot) at the end of each statement, and a concurrent single-member update must
/// not hold one of our rows while waiting for that counter row. SQLite has one writer at a
/// time: nothing to order.
pub(super) async fn lock_two_members(
    tx: &mut Tx,
    org_id: &OrgId,
    a: &MemberId,
    b: &MemberId,
) -> Result<(), StoreError> {
    if tx.kind() == DbKind::Sqlite {
        return Ok(());
    }
    sqlx::query(
        "SELECT id FROM members WHERE org_id = $1 AND id IN ($2, $3) ORDER BY id FOR UPDATE",
    )
    .bind(org_id)
    .bind(a)
    .bind(b)
    .fetch_all(tx.conn())
    .await?;
    Ok(())
}

/// A unique index refused the statement (SQLSTATE `23505`, `SQLITE_CONSTRAINT_UNIQUE` or
/// `SQLITE_CONSTRAINT_PRIMARYKEY`): a race another writer won, not a fault.
pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Log targets of the database driver to quiet, as `tracing` filter directives: it warns
/// about connection parameters it does not know *with their values* (e.g. `sslpassword=…`
/// from the database URL), and reports PostgreSQL's notices (e.g. "relation _sqlx_migrations
/// already exists, skipping" at every start) at info.
pub const DRIVER_LOG_DIRECTIVES: [&str; 2] = [
    "sqlx_postgres::options::parse=error",
    "sqlx::postgres::notice=warn",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(like_pattern("ann"), "%ann%");
        assert_eq!(fts_phrase("ann"), "\"ann\"");
        assert_eq!(fts_phrase("a\"b OR c*"), "\"a\"\"b OR c*\"");
        assert_eq!(like_pattern("100%"), "%100\\%%");
        assert_eq!(like_pattern("a_b"), "%a\\_b%");
        assert_eq!(like_pattern("c:\\x"), "%c:\\\\x%");
    }

    #[test]
    fn database_error_codes_are_classified() {
        // PostgreSQL SQLSTATEs.
        assert_eq!(classify_code("22021"), Cause::BadInput);
        assert_eq!(classify_code("22P05"), Cause::BadInput);
        assert_eq!(classify_code("22001"), Cause::BadInput);
        assert_eq!(classify_code("54000"), Cause::BadInput);
        assert_eq!(classify_code("57P01"), Cause::Unavailable);
        assert_eq!(classify_code("08006"), Cause::Unavailable);
        assert_eq!(classify_code("53100"), Cause::Unavailable);
        assert_eq!(classify_code("25006"), Cause::Unavailable);
        assert_eq!(classify_code("23505"), Cause::Other);
        assert_eq!(classify_code("23503"), Cause::Gone);
        assert_eq!(classify_code("40P01"), Cause::RolledBack);
        assert_eq!(classify_code("40001"), Cause::RolledBack);
        assert_eq!(classify_code("787"), Cause::Gone);
        assert_eq!(classify_code("19"), Cause::Other);
        assert_eq!(classify_code("42P01"), Cause::Other);
        // SQLite result codes, primary and extended.
        assert_eq!(classify_code("5"), Cause::Unavailable);
        assert_eq!(classify_code("517"), Cause::Unavailable); // SQLITE_BUSY_SNAPSHOT
        assert_eq!(classify_code("6"), Cause::Unavailable);
        assert_eq!(classify_code("13"), Cause::Unavailable);
        assert_eq!(classify_code("3338"), Cause::Unavailable); // SQLITE_IOERR_*
        assert_eq!(classify_code("18"), Cause::BadInput);
        assert_eq!(classify_code("2067"), Cause::Other); // SQLITE_CONSTRAINT_UNIQUE
        assert_eq!(classify_code("1"), Cause::Other);
    }
}
