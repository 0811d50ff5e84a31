//! The store: one sqlx `Any` pool and portable SQL for SQLite and PostgreSQL alike, and the
//! only place in Tessera with SQL.
//!
//! Every query runs unchanged on both databases (`$n` placeholders, TEXT ids, BIGINT unix-ms
//! timestamps, BIGINT 0/1 flags); what must differ lives in [`dialect`]. The queries are
//! grouped by aggregate, one file each: [`orgs`], [`connections`] (an org's Okta connection),
//! [`members`], [`audit`], [`flows`] (pending sign-ins and login attempts), [`sessions`],
//! [`setup_links`], [`rate_limits`] (the connection-test budget), [`secrets`] (the sealed
//! client secrets, for key checks and rotation) and [`scim`] (SCIM tokens, groups, role
//! mappings and the provisioning log).
//!
//! Domain modules compose statements that must commit together in a [`Tx`]: they open it with
//! [`Store::begin`], pass it to the aggregate functions (`&mut Tx`) and commit it; dropping it
//! uncommitted rolls it back.
//!
//! Every "now" comes from the store's [`Clock`] ([`Store::now_ms`], [`Tx::now_ms`]), the system
//! clock unless a test opened the store with its own. The pool itself never leaves the store;
//! tests that must plant what no code path writes go through [`testing`] (feature `testing`).

pub mod audit;
pub mod clock;
pub mod connections;
pub mod dialect;
pub mod flows;
mod ids;
pub mod invitations;
pub mod members;
pub mod orgs;
pub mod rate_limits;
pub mod scim;
pub mod secrets;
pub mod sessions;
pub mod setup_links;
pub mod signals;
#[cfg(feature = "testing")]
pub mod testing;

pub use audit::{AuditActor, AuditEntry, AuditFilter, NewAudit};
pub use clock::Clock;
#[cfg(any(test, feature = "testing"))]
pub use clock::ManualClock;
pub use dialect::DbKind;
pub use flows::{LoginAttempt, LoginFlow, Outcome};
pub use invitations::Invitation;
pub use members::{Admission, DirectoryPage, Guard, MemberFilter, MemberKey, MemberStats};
pub use orgs::{OrgDeleted, OrgOverview, OrgWithSso};
pub use setup_links::SetupLink;

use dialect::Cause;
use sqlx::{AnyConnection, AnyPool};

/// A store failure. Database errors are classified once, when they are converted
/// (`From<sqlx::Error>`, by the codes in [`dialect`]): the database being unreachable, busy,
/// locked or full becomes [`StoreError::Unavailable`] (503), a value the database refuses (a
/// NUL byte in text on PostgreSQL, a value out of range or too big) becomes
/// [`StoreError::BadInput`] (400), a row whose parent a concurrent delete removed becomes
/// [`StoreError::Gone`] (404); what is left is [`StoreError::Database`] (500).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database rolled the transaction back to settle a race with another one (SQLSTATE
    /// class `40`: `40P01` deadlock detected, `40001` serialization failure): nothing was
    /// written and the same transaction may be run again. Answered with 503 when it is not.
    #[error("transaction rolled back by the database: {0}")]
    RolledBack(String),
    /// The database refused a value of the request (PostgreSQL SQLSTATE class `22`, e.g.
    /// `22021` for a NUL byte in text, and `54000`; SQLite `SQLITE_TOOBIG`, `SQLITE_MISMATCH`,
    /// `SQLITE_RANGE`): bad input, never a server fault.
    #[error("the database refused a value: {0}")]
    BadInput(String),
    /// What the write refers to was deleted meanwhile: a foreign key refused the row because a
    /// concurrent delete removed its parent (SQLSTATE `23503`, `SQLITE_CONSTRAINT_FOREIGNKEY`),
    /// for example a member added while their org was deleted. Nothing was written; answered
    /// with 404.
    #[error("deleted meanwhile: {0}")]
    Gone(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match dialect::classify(&e) {
            Cause::Unavailable => StoreError::Unavailable(e.to_string()),
            Cause::RolledBack => StoreError::RolledBack(e.to_string()),
            Cause::BadInput => StoreError::BadInput(e.to_string()),
            Cause::Gone => StoreError::Gone(e.to_string()),
            Cause::Other => StoreError::Database(e),
        }
    }
}

impl StoreError {
    /// True when the database could not serve the request at all (as opposed to refusing a
    /// query): no connection, a connection lost mid-query, a server shutting down or starting
    /// up (PostgreSQL SQLSTATE classes 08, 53 and 57P, e.g. `57P01` after `pg_ctl stop -m
    /// fast`, `53300` too many connections, `53100` disk full, `25006` a read-only server),
    /// a transaction the server rolled back to settle a race (class 40: `40P01` deadlock
    /// detected, `40001` serialization failure; the same request succeeds when retried), or
    /// SQLite busy, locked, full, read-only or failing I/O. Answered with 503.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) | StoreError::RolledBack(_) => true,
            StoreError::Database(e) => sqlx_unavailable(e),
            _ => false,
        }
    }

    /// True when the database refused a value of the request ([`StoreError::BadInput`]):
    /// answered with 400.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, StoreError::BadInput(_))
    }

    /// True when what the request names no longer exists: [`StoreError::Gone`] (a concurrent
    /// delete removed what the write referred to) or [`StoreError::NotFound`] (a row the
    /// operation reads vanished between its statements). Answered with 404.
    pub fn is_gone(&self) -> bool {
        matches!(self, StoreError::Gone(_) | StoreError::NotFound(_))
    }
}

/// See [`StoreError::is_unavailable`].
fn sqlx_unavailable(e: &sqlx::Error) -> bool {
    matches!(dialect::classify(e), Cause::Unavailable | Cause::RolledBack)
}

/// A stored value Tessera never writes: a fault of the data (500), not of the request.
fn corrupt(what: String) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(what.into()))
}

/// A database URL safe to log or print: the password of `user:password@` and the values of
/// sensitive query parameters (`password`, `sslpassword`, `passfile`, anything naming a
/// password, secret, token or key) replaced by `***`. Text that is not a URL (e.g. libpq's
/// `host=… password=…`) gets the same treatment for `key=value` pairs and anything before an
/// `@`. Control characters are removed.
pub fn redact_url(url: &str) -> String {
    let url = crate::validate::bounded(url, 2048);
    match url::Url::parse(&url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            if u.query_pairs().any(|(k, _)| sensitive_key(&k)) {
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if sensitive_key(&k) {
                            "***".to_string()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        Err(_) => redact_loosely(&url),
    }
}

/// A query parameter or connection setting whose value is (or leads to) a credential.
fn sensitive_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "auth",
        "credential",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// [`redact_url`] for text the URL parser refuses: everything before the last `@` of the
/// authority and every sensitive `key=value` value becomes `***`.
fn redact_loosely(text: &str) -> String {
    let (scheme, rest) = match text.find("://") {
        Some(i) => text.split_at(i + 3),
        None => ("", text),
    };
    let rest = match rest.rfind('@') {
        Some(at) if !scheme.is_empty() => format!("***{}", &rest[at..]),
        _ => rest.to_string(),
    };
    let mut out = String::with_capacity(scheme.len() + rest.len());
    out.push_str(scheme);
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        match token.split_once('=') {
            Some((k, _)) if sensitive_key(k) => {
                out.push_str(k);
                out.push_str("=***");
            }
            _ => out.push_str(token),
        }
        token.clear();
    };
    for c in rest.chars() {
        if matches!(c, '&' | '?' | ' ' | ';') {
            flush(&mut token, &mut out);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

/// The `n` of a one-row `SELECT COUNT(*) AS n …` query, run on `e` (the pool or a [`Tx`]).
async fn count<'q, 'e, E>(
    e: E,
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> Result<i64, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    use sqlx::Row as _;
    Ok(query.fetch_one(e).await?.try_get("n")?)
}

/// A new random id (a UUID v4 as text), for every table's `id`.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A text from outside as it is stored and shown: control characters removed, at most
/// [`crate::validate::MAX_STORED_CHARS`] characters.
fn stored_text(v: &str) -> String {
    crate::validate::bounded(v, crate::validate::MAX_STORED_CHARS)
}

/// The database behind Tessera.
#[derive(Clone, Debug)]
pub struct Store {
    /// Every write, and reads that are part of one; on SQLite its one writer connection.
    pool: AnyPool,
    /// Reads that stand alone (pages, lists, lookups on the sign-in path): on SQLite
    /// read-only connections beside the writer, on PostgreSQL the same pool.
    readers: AnyPool,
    kind: DbKind,
    clock: Clock,
}

/// The state of this node's connection pool, for the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections, idle or in use.
    pub size: u32,
    /// Open connections not in use.
    pub idle: usize,
    /// The most connections the pool opens.
    pub max: u32,
}

/// Statements that commit together: opened by [`Store::begin`], passed to the aggregate
/// functions as `&mut Tx`, ended by [`Tx::commit`]. Dropped without a commit (an early return
/// with `?` included), it rolls back.
#[derive(Debug)]
pub struct Tx {
    inner: sqlx::Transaction<'static, sqlx::Any>,
    kind: DbKind,
    clock: Clock,
}

impl Tx {
    /// Which database the transaction runs on.
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Now, in unix ms, on the clock of the store that opened the transaction.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Makes every statement of the transaction permanent.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.inner.commit().await?;
        Ok(())
    }

    /// Undoes every statement of the transaction.
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.inner.rollback().await?;
        Ok(())
    }

    /// Ends a guarded write of one row: when the guarded statement changed exactly one row
    /// (`rows`), writes `entry` and commits (true); otherwise the state it was decided on no
    /// longer holds, and everything is undone (false).
    pub(crate) async fn commit_audited(
        mut self,
        rows: u64,
        entry: &NewAudit,
    ) -> Result<bool, StoreError> {
        if rows != 1 {
            self.rollback().await?;
            return Ok(false);
        }
        audit::insert(&mut self, entry).await?;
        self.commit().await?;
        Ok(true)
    }

    /// The connection the statements run on (the store's aggregates only).
    fn conn(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}

impl Store {
    /// Connects, on the system clock; a SQLite file and its directory are created when absent.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Self::connect_with(url, None).await
    }

    /// Like [`Store::connect`], with at most `max_connections` connections: on PostgreSQL in
    /// its one pool (default 16); on SQLite one writer and the rest for reads (at least one;
    /// default 1 + 4).
    pub async fn connect_with(
        url: &str,
        max_connections: Option<u32>,
    ) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let kind = DbKind::of_url(url)?;
        let (mut options, url) = dialect::pool_options(kind, url)?;
        let readers = dialect::sqlite_reader_options(kind, max_connections);
        if let (Some(n), None) = (max_connections, &readers) {
            options = options.max_connections(n.max(1));
        }
        let unavailable = |e: sqlx::Error| {
            StoreError::Unavailable(format!("cannot open {}: {e}", redact_url(&url)))
        };
        // The writer first: it creates the file and switches it to WAL before any reader opens.
        let pool = options.connect(&url).await.map_err(unavailable)?;
        let readers = match readers {
            Some(options) => options.connect(&url).await.map_err(unavailable)?,
            None => pool.clone(),
        };
        Ok(Store {
            pool,
            readers,
            kind,
            clock: Clock::system(),
        })
    }

    /// The same store reading the time from `clock` (a test's [`ManualClock`]); set it right
    /// after connecting, before the store is cloned.
    #[cfg(any(test, feature = "testing"))]
    pub fn with_clock(mut self, clock: Clock) -> Store {
        self.clock = clock;
        self
    }

    /// Which database this is.
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// The clock every "now" of this store comes from.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Now, in unix ms, on the store's clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Closes the pool: waits for the connections in use to come back, then closes them all.
    pub async fn close(&self) {
        self.readers.close().await;
        self.pool.close().await;
    }

    /// Opens a transaction (see [`Tx`]).
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(Tx {
            inner: self.pool.begin().await?,
            kind: self.kind,
            clock: self.clock.clone(),
        })
    }

    /// Applies pending migrations (idempotent).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        dialect::migrate(&self.pool, self.kind).await
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Checks that the database can take a write now, changing nothing: on SQLite it takes
    /// the write lock (`BEGIN IMMEDIATE`, waiting at most 1 s instead of the usual busy
    /// timeout) and rolls back; on PostgreSQL it runs a write statement that matches no row
    /// in a transaction it rolls back (a read-only server or transaction refuses it; lock and
    /// statement timeouts 1 s). The caller bounds the whole check in time.
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        dialect::check_writable(&self.pool, self.kind).await
    }

    /// The pool's size, idle connections and maximum, as this node sees them now.
    pub fn pool_stats(&self) -> PoolStats {
        let mut stats = PoolStats {
            size: self.pool.size(),
            idle: self.pool.num_idle(),
            max: self.pool.options().get_max_connections(),
        };
        if self.kind == DbKind::Sqlite {
            stats.size += self.readers.size();
            stats.idle += self.readers.num_idle();
            stats.max += self.readers.options().get_max_connections();
        }
        stats
    }

    /// Deletes expired flows and sessions, and drops the client secrets kept on expired setup
    /// links (an expired link nobody opens again would otherwise keep one for good); returns
    /// how many rows went or changed.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        let now = self.now_ms();
        let kept = setup_links::drop_expired_secrets(&self.pool, now).await?;
        let flows = flows::delete_expired_flows(&self.pool, now).await?;
        let sessions = sessions::delete_expired(&self.pool, now).await?;
        Ok(flows + sessions + kept)
    }

    /// Deletes login attempts and provisioning log entries recorded before `attempts_before` and audit entries written
    /// before `audit_before` (unix ms), in batches of at most `batch` rows, each its own short
    /// statement, so neither database holds a long lock on a large table. Returns the numbers
    /// of attempts and audit entries deleted.
    pub async fn purge_retention(
        &self,
        attempts_before: i64,
        audit_before: i64,
        batch: i64,
    ) -> Result<(u64, u64), StoreError> {
        let attempts = self
            .delete_older_in_batches(flows::ATTEMPTS_OLDER_THAN, attempts_before, batch)
            .await?;
        // The provisioning log is kept as long as the login attempts.
        self.delete_older_in_batches(scim::REQUESTS_OLDER_THAN, attempts_before, batch)
            .await?;
        // So is the record of Okta's security signals, but never before their `jti`s can no
        // longer be replayed (however short the retention).
        let signals_before = attempts_before.min(self.now_ms() - signals::KEEP_AT_LEAST_MS);
        self.delete_older_in_batches(signals::EVENTS_OLDER_THAN, signals_before, batch)
            .await?;
        let audit = self
            .delete_older_in_batches(audit::ENTRIES_OLDER_THAN, audit_before, batch)
            .await?;
        Ok((attempts, audit))
    }

    /// Runs `sql` (a batched delete binding the cut-off `$1` and the batch size `$2`) until it
    /// deletes fewer than a batch.
    async fn delete_older_in_batches(
        &self,
        sql: &'static str,
        before: i64,
        batch: i64,
    ) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let n = sqlx::query(sql)
                .bind(before)
                .bind(batch.max(1))
                .execute(&self.pool)
                .await?
                .rows_affected();
            total += n;
            if n < batch.max(1) as u64 {
                return Ok(total);
            }
            // Let other writers in between batches.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_are_printed_without_credentials() {
        for (url, secrets) in [
            (
                "postgres://tessera:hunter2@db.internal:5432/tessera",
                &["hunter2"][..],
            ),
            (
                "postgres://tessera@db/tessera?sslmode=require&password=hunter2&sslpassword=s3cr3t",
                &["hunter2", "s3cr3t"],
            ),
            (
                "postgresql://u:p%40ss@db/t?passfile=/etc/pgpass&application_name=tessera",
                &["p%40ss", "p@ss", "/etc/pgpass"],
            ),
            (
                "postgres://u:hunter2@db/t?PASSWORD=again",
                &["hunter2", "again"],
            ),
            ("host=db user=u password=hunter2 dbname=t", &["hunter2"]),
            ("postgres://u:hun ter2@db:notaport/t", &["hun ter2", "hun"]),
            ("sqlite://data/x.db?password=hunter2", &["hunter2"]),
        ] {
            let shown = redact_url(url);
            for s in secrets {
                assert!(!shown.contains(s), "{url} -> {shown}");
            }
            assert!(shown.contains("***"), "{url} -> {shown}");
        }
        let plain = "postgres://tessera@db.internal/tessera?sslmode=require";
        assert_eq!(redact_url(plain), plain);
        assert_eq!(
            redact_url("sqlite://data/tessera.db"),
            "sqlite://data/tessera.db"
        );
        assert!(!redact_url("postgres://u@db/t\u{1b}[2J").contains('\u{1b}'));
    }
}
