//! The store: one sqlx `Any` pool and portable SQL for SQLite and PostgreSQL alike.
//!
//! Every query here runs unchanged on both databases (`$n` placeholders, TEXT ids, BIGINT
//! unix-ms timestamps, BIGINT 0/1 flags). Dialect differences live in [`DbKind`] only.

use crate::model::{DefaultRole, Member, MemberStatus, Org, Role, SsoConnection};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationSource, Migrator};
use sqlx::{AnyPool, Row};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// The columns [`member_from_row`] reads.
macro_rules! member_fields {
    () => {
        "id, org_id, issuer, subject, email, name, role, status, created_at, last_login_at"
    };
}

/// How long a statement waits for a lock held by another connection, in ms: SQLite's
/// `busy_timeout`, PostgreSQL's `lock_timeout`. Past it the statement fails as busy or locked
/// (`SQLITE_BUSY`, SQLSTATE `55P03`): the request answers 503 instead of hanging.
macro_rules! lock_wait_ms {
    () => {
        "10000"
    };
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

/// A store failure. Database errors are classified once, when they are converted
/// (`From<sqlx::Error>`): the database being unreachable, busy, locked or full becomes
/// [`StoreError::Unavailable`] (503), a value the database refuses (a NUL byte in text on
/// PostgreSQL, a value out of range or too big) becomes [`StoreError::BadInput`] (400); what is
/// left is [`StoreError::Database`] (500).
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
    /// The database refused a value of the request (PostgreSQL SQLSTATE class `22`, e.g.
    /// `22021` for a NUL byte in text, and `54000`; SQLite `SQLITE_TOOBIG`, `SQLITE_MISMATCH`,
    /// `SQLITE_RANGE`): bad input, never a server fault.
    #[error("the database refused a value: {0}")]
    BadInput(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match classify(&e) {
            Cause::Unavailable => StoreError::Unavailable(e.to_string()),
            Cause::BadInput => StoreError::BadInput(e.to_string()),
            Cause::Other => StoreError::Database(e),
        }
    }
}

impl StoreError {
    /// True when the database could not serve the request at all (as opposed to refusing a
    /// query): no connection, a connection lost mid-query, a server shutting down or starting
    /// up (PostgreSQL SQLSTATE classes 08, 53 and 57P, e.g. `57P01` after `pg_ctl stop -m
    /// fast`, `53300` too many connections, `53100` disk full, `25006` a read-only server),
    /// or SQLite busy, locked, full, read-only or failing I/O. Answered with 503.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Database(e) => sqlx_unavailable(e),
            _ => false,
        }
    }

    /// True when the database refused a value of the request ([`StoreError::BadInput`]):
    /// answered with 400.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, StoreError::BadInput(_))
    }
}

/// What a database error says about its cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    Unavailable,
    BadInput,
    Other,
}

/// Classifies a database error by PostgreSQL SQLSTATE (five characters) or SQLite result code
/// (a number; the primary code is its low byte), with SQLite's messages as a fallback.
fn classify(e: &sqlx::Error) -> Cause {
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
    } else {
        Cause::Other
    }
}

/// SQLite (extended) result codes, <https://www.sqlite.org/rescode.html>.
fn classify_sqlite(code: u32) -> Cause {
    match code & 0xff {
        // BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL
        5 | 6 | 7 | 8 | 10 | 13 | 14 | 15 => Cause::Unavailable,
        // TOOBIG, MISMATCH, RANGE
        18 | 20 | 25 => Cause::BadInput,
        _ => Cause::Other,
    }
}

/// See [`StoreError::is_unavailable`].
pub fn sqlx_unavailable(e: &sqlx::Error) -> bool {
    classify(e) == Cause::Unavailable
}

/// Which database a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
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

/// Current time in unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The database behind Tessera.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    kind: DbKind,
}

/// An org, and its Okta connection with the sealed client secret when it has one.
pub type OrgWithSso = (Org, Option<(SsoConnection, String)>);

/// An org with its connection state, as listed by the CLI.
#[derive(Clone, Debug)]
pub struct OrgOverview {
    pub org: Org,
    pub sso: Option<SsoConnection>,
    pub members: i64,
}

impl Store {
    /// Connects; a SQLite file and its directory are created when absent.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Self::connect_with(url, None).await
    }

    /// Like [`Store::connect`], with at most `max_connections` in the pool (default: 16 on
    /// PostgreSQL, 8 on SQLite).
    pub async fn connect_with(
        url: &str,
        max_connections: Option<u32>,
    ) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let kind = DbKind::of_url(url)?;
        let mut url = url.to_string();
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(5));
        match kind {
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
                options = options.max_connections(8).after_connect(|conn, _meta| {
                    Box::pin(async move {
                        use sqlx::Executor as _;
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute(concat!("PRAGMA busy_timeout = ", lock_wait_ms!()))
                            .await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        Ok(())
                    })
                });
            }
            DbKind::Postgres => {
                options = options.max_connections(16).after_connect(|conn, _meta| {
                    Box::pin(async move {
                        use sqlx::Executor as _;
                        // Without it a statement waits for a table or row lock forever (e.g.
                        // behind `LOCK TABLE` or a stuck transaction): bound it like SQLite.
                        conn.execute(concat!("SET lock_timeout = ", lock_wait_ms!()))
                            .await?;
                        Ok(())
                    })
                });
            }
        }
        if let Some(n) = max_connections {
            options = options.max_connections(n.max(1));
        }
        let pool = options.connect(&url).await.map_err(|e| {
            StoreError::Unavailable(format!("cannot open {}: {e}", redact_url(&url)))
        })?;
        Ok(Store { pool, kind })
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies pending migrations (idempotent).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let dialect = match self.kind {
            DbKind::Sqlite => &SQLITE_ONLY,
            DbKind::Postgres => &POSTGRES_ONLY,
        };
        let mut all: Vec<Migration> = PORTABLE.iter().chain(dialect.iter()).cloned().collect();
        all.sort_by_key(|m| m.version);
        let migrator = Migrator::new(Migrations(all)).await?;
        if self.kind == DbKind::Sqlite {
            migrator.run(&self.pool).await?;
            return Ok(());
        }
        // Nodes starting together wait for each other's migrations (an advisory lock), and a
        // migration may wait for live traffic's locks: no lock timeout on this connection.
        use sqlx::Executor as _;
        let mut conn = self.pool.acquire().await?;
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
        use sqlx::Executor as _;
        let mut conn = self.pool.acquire().await?;
        match self.kind {
            DbKind::Sqlite => {
                conn.execute("PRAGMA busy_timeout = 1000").await?;
                let result = match conn.execute("BEGIN IMMEDIATE").await {
                    Ok(_) => conn.execute("ROLLBACK").await.map(|_| ()),
                    Err(e) => Err(e),
                };
                // Restore the connection's busy timeout (see `connect_with`) before it goes
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

    // ---- orgs ------------------------------------------------------------------------------

    pub async fn create_org(&self, slug: &str, name: &str) -> Result<Org, StoreError> {
        let org = Org {
            id: new_id(),
            slug: slug.to_string(),
            name: name.to_string(),
            created_at: now_ms(),
        };
        let result =
            sqlx::query("INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&org.id)
                .bind(&org.slug)
                .bind(&org.name)
                .bind(org.created_at)
                .execute(&self.pool)
                .await;
        match result {
            Ok(_) => Ok(org),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                format!("an org with slug {slug:?} already exists"),
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn org_by_slug(&self, slug: &str) -> Result<Option<Org>, StoreError> {
        let row = sqlx::query("SELECT id, slug, name, created_at FROM orgs WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| org_from_row(&r)).transpose()
    }

    pub async fn org_by_id(&self, id: &str) -> Result<Option<Org>, StoreError> {
        let row = sqlx::query("SELECT id, slug, name, created_at FROM orgs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| org_from_row(&r)).transpose()
    }

    /// The org named by `slug`, or a NotFound error that says so.
    pub async fn require_org(&self, slug: &str) -> Result<Org, StoreError> {
        self.org_by_slug(slug)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no org with slug {slug:?}")))
    }

    pub async fn list_orgs(&self) -> Result<Vec<OrgOverview>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.id, o.slug, o.name, o.created_at,
                    (SELECT COUNT(*) FROM members m WHERE m.org_id = o.id) AS members
             FROM orgs o ORDER BY o.slug",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let org = org_from_row(&row)?;
            let members: i64 = row.try_get("members")?;
            let sso = self.sso_connection(&org.id).await?;
            out.push(OrgOverview { org, sso, members });
        }
        Ok(out)
    }

    pub async fn count_members(&self, org_id: &str) -> Result<i64, StoreError> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM members WHERE org_id = $1")
            .bind(org_id)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(n)
    }

    // ---- SSO connections -------------------------------------------------------------------

    pub async fn sso_connection(&self, org_id: &str) -> Result<Option<SsoConnection>, StoreError> {
        let row = sqlx::query(&format!("{SSO_COLUMNS} WHERE org_id = $1"))
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| sso_from_row(&r)).transpose()
    }

    /// The org whose connection has this (normalized) issuer, with the connection.
    pub async fn sso_by_issuer(
        &self,
        issuer: &str,
    ) -> Result<Option<(Org, SsoConnection)>, StoreError> {
        Ok(self
            .org_with_sso_by_issuer(issuer)
            .await?
            .and_then(|(org, sso)| sso.map(|(sso, _sealed)| (org, sso))))
    }

    /// An org with its connection (if any) and that connection's sealed client secret, in one
    /// statement: what a sign-in needs.
    pub async fn org_with_sso(&self, org_id: &str) -> Result<Option<OrgWithSso>, StoreError> {
        self.org_with_sso_where("o.id = $1", org_id).await
    }

    /// Like [`Store::org_with_sso`], by the org's slug.
    pub async fn org_with_sso_by_slug(&self, slug: &str) -> Result<Option<OrgWithSso>, StoreError> {
        self.org_with_sso_where("o.slug = $1", slug).await
    }

    /// Like [`Store::org_with_sso`], by the connection's issuer in any form with the same
    /// [`super::issuer::key`] (with or without a trailing slash).
    pub async fn org_with_sso_by_issuer(
        &self,
        issuer: &str,
    ) -> Result<Option<OrgWithSso>, StoreError> {
        self.org_with_sso_where("c.issuer_key = $1", &super::issuer::key(issuer))
            .await
    }

    async fn org_with_sso_where(
        &self,
        condition: &str,
        value: &str,
    ) -> Result<Option<OrgWithSso>, StoreError> {
        let row = sqlx::query(&format!("{ORG_WITH_SSO} WHERE {condition}"))
            .bind(value)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let org = org_from_row(&row)?;
        let sso = match row.try_get::<Option<String>, _>("client_secret_enc")? {
            Some(sealed) => Some((sso_from_row(&row)?, sealed)),
            None => None,
        };
        Ok(Some((org, sso)))
    }

    /// The sealed client secret of an org's connection.
    pub async fn sealed_client_secret(&self, org_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT client_secret_enc FROM sso_connections WHERE org_id = $1")
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("client_secret_enc")).transpose()?)
    }

    /// Turns SSO on or off for an org that has a connection. Turning it off also ends every
    /// session of the org's members (see `Store::disable_sso` in [`super::connection`]).
    pub async fn set_sso_enabled(&self, org: &Org, enabled: bool) -> Result<(), StoreError> {
        if !enabled {
            return self.disable_sso(org).await.map(|_| ());
        }
        let mut conn = self.pool.acquire().await?;
        enable_sso_in(&mut conn, org).await
    }

    /// Sets the just-in-time provisioning policy of an org's connection.
    pub async fn set_sso_policy(
        &self,
        org: &Org,
        jit_enabled: bool,
        default_role: DefaultRole,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        set_sso_policy_in(&mut conn, org, jit_enabled, default_role).await
    }

    // ---- members ---------------------------------------------------------------------------

    pub async fn member_by_subject(
        &self,
        org_id: &str,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<Member>, StoreError> {
        let row = sqlx::query(&format!(
            "{MEMBER_COLUMNS} WHERE org_id = $1 AND issuer = $2 AND subject = $3"
        ))
        .bind(org_id)
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| member_from_row(&r)).transpose()
    }

    pub async fn member_by_id(
        &self,
        org_id: &str,
        member_id: &str,
    ) -> Result<Option<Member>, StoreError> {
        let row = sqlx::query(&format!("{MEMBER_COLUMNS} WHERE org_id = $1 AND id = $2"))
            .bind(org_id)
            .bind(member_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| member_from_row(&r)).transpose()
    }

    /// Inserts a new member; the org's first member becomes its owner. The partial unique
    /// index `members_one_owner` settles concurrent first logins: the loser retries and then
    /// sees the owner. Returns the member as stored (an existing one if it raced us) and
    /// whether it was created.
    pub async fn insert_member(
        &self,
        org_id: &str,
        issuer: &str,
        subject: &str,
        email: &str,
        name: &str,
        default_role: Role,
    ) -> Result<(Member, bool), StoreError> {
        let new = NewMember {
            org_id,
            issuer,
            subject,
            email,
            name,
            default_role,
        };
        for _ in 0..INSERT_MEMBER_TRIES {
            let inserted = {
                let mut conn = self.pool.acquire().await?;
                insert_member_in(&mut conn, &new).await
            };
            match inserted {
                Ok(Some(row)) => return Ok((member_from_row(&row)?, true)),
                // The same person was there already (or arrived meanwhile).
                Ok(None) => {
                    let member = self
                        .member_by_subject(org_id, issuer, subject)
                        .await?
                        .ok_or_else(|| StoreError::NotFound("member vanished".into()))?;
                    return Ok((member, false));
                }
                // Another first login took ownership between our check and our insert.
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(insert_member_contention())
    }

    /// Records a returning active member's sign-in in one statement: refreshes the profile
    /// claims and the last-login time, and returns the member as stored. `None` when there is
    /// no such member or they are deactivated.
    pub async fn touch_active_member(
        &self,
        org_id: &str,
        issuer: &str,
        subject: &str,
        email: &str,
        name: &str,
    ) -> Result<Option<Member>, StoreError> {
        let row = sqlx::query(concat!(
            "UPDATE members SET email = $1, name = $2, last_login_at = $3
             WHERE org_id = $4 AND issuer = $5 AND subject = $6 AND status = 'active'
             RETURNING ",
            member_fields!()
        ))
        .bind(bounded_claim(email))
        .bind(bounded_claim(name))
        .bind(now_ms())
        .bind(org_id)
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| member_from_row(&r)).transpose()
    }
}

/// A profile claim from the IdP as stored: control characters removed, at most
/// [`crate::validate::MAX_STORED_CHARS`] characters.
fn bounded_claim(value: &str) -> String {
    crate::validate::bounded(value, crate::validate::MAX_STORED_CHARS)
}

/// How often [`Store::insert_member`] tries before giving up on concurrent first sign-ins.
pub(crate) const INSERT_MEMBER_TRIES: usize = 8;

/// A member to insert.
pub(crate) struct NewMember<'a> {
    pub org_id: &'a str,
    pub issuer: &'a str,
    pub subject: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    /// The role unless they are the org's first member, who becomes its owner.
    pub default_role: Role,
}

/// The one statement inserting a member, on `conn`: the org's first member becomes its owner
/// (the partial unique index `members_one_owner` refuses a second one inserted concurrently:
/// retry on a unique violation). The member as inserted, or `None` when one with the same
/// (org, issuer, subject) already exists.
pub(crate) async fn insert_member_in(
    conn: &mut sqlx::AnyConnection,
    m: &NewMember<'_>,
) -> Result<Option<AnyRow>, sqlx::Error> {
    sqlx::query(concat!(
        "INSERT INTO members (id, org_id, issuer, subject, email, name, role, status, created_at, last_login_at)
         VALUES ($1, $2, $3, $4, $5, $6,
                 CASE WHEN EXISTS (SELECT 1 FROM members WHERE org_id = $2 AND role = 'owner')
                      THEN $7 ELSE 'owner' END,
                 'active', $8, $8)
         ON CONFLICT (org_id, issuer, subject) DO NOTHING
         RETURNING ",
        member_fields!()
    ))
    .bind(new_id())
    .bind(m.org_id)
    .bind(m.issuer)
    .bind(m.subject)
    .bind(bounded_claim(m.email))
    .bind(bounded_claim(m.name))
    .bind(m.default_role.as_str())
    .bind(now_ms())
    .fetch_optional(conn)
    .await
}

pub(crate) fn insert_member_contention() -> StoreError {
    StoreError::Conflict("could not provision the member: too much contention".into())
}

/// Turns SSO on for an org that has a connection, on `conn` (a transaction when audited).
pub(crate) async fn enable_sso_in(
    conn: &mut sqlx::AnyConnection,
    org: &Org,
) -> Result<(), StoreError> {
    let done =
        sqlx::query("UPDATE sso_connections SET enabled = $1, updated_at = $2 WHERE org_id = $3")
            .bind(1_i64)
            .bind(now_ms())
            .bind(&org.id)
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() == 0 {
        return Err(no_connection(org));
    }
    Ok(())
}

/// Sets the just-in-time provisioning policy of an org's connection on `conn`.
pub(crate) async fn set_sso_policy_in(
    conn: &mut sqlx::AnyConnection,
    org: &Org,
    jit_enabled: bool,
    default_role: DefaultRole,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE sso_connections SET jit_enabled = $1, default_role = $2, updated_at = $3 WHERE org_id = $4",
    )
    .bind(i64::from(jit_enabled))
    .bind(default_role.as_str())
    .bind(now_ms())
    .bind(&org.id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "org {:?} has no Okta connection yet",
            org.slug
        )));
    }
    Ok(())
}

/// Takes the write lock on an org's Okta connection row (a no-op UPDATE; nothing changes), as the
/// first statement of a transaction that changes the connection or re-keys or re-ranks members.
/// Such transactions of one org then run one after the other: on PostgreSQL the row lock
/// serialises them (so a count of members keyed to an issuer cannot be outdated by a concurrent
/// re-key before the issuer changes, and members are always locked after it, never in opposite
/// orders), and on SQLite the transaction becomes a writer at once, waiting for the lock instead
/// of failing with `SQLITE_BUSY` when a read would later have to be upgraded.
pub(crate) async fn lock_org_connection_in(
    conn: &mut sqlx::AnyConnection,
    org_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sso_connections SET org_id = org_id WHERE org_id = $1")
        .bind(org_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(super) fn no_connection(org: &Org) -> StoreError {
    StoreError::NotFound(format!(
        "org {:?} has no Okta connection yet: run `tessera sso set {}` first",
        org.slug, org.slug
    ))
}

const ORG_WITH_SSO: &str = "SELECT o.id, o.slug, o.name, o.created_at, c.org_id, c.issuer, c.client_id, c.enabled, c.jit_enabled, c.default_role, c.updated_at, c.client_secret_enc FROM orgs o LEFT JOIN sso_connections c ON c.org_id = o.id";
pub(crate) const SSO_COLUMNS: &str = "SELECT org_id, issuer, client_id, enabled, jit_enabled, default_role, updated_at FROM sso_connections";
pub(crate) const MEMBER_COLUMNS: &str = concat!("SELECT ", member_fields!(), " FROM members");

fn org_from_row(row: &AnyRow) -> Result<Org, StoreError> {
    Ok(Org {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn sso_from_row(row: &AnyRow) -> Result<SsoConnection, StoreError> {
    let role: String = row.try_get("default_role")?;
    Ok(SsoConnection {
        org_id: row.try_get("org_id")?,
        issuer: row.try_get("issuer")?,
        client_id: row.try_get("client_id")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        jit_enabled: row.try_get::<i64, _>("jit_enabled")? != 0,
        default_role: default_role_from_db(&role)?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// A role column (`members.role`, `sso_connections.default_role`) as stored: `owner`, `admin`
/// or `member`. Anything else is a store error, never a silent default.
pub(crate) fn role_from_db(role: &str) -> Result<Role, StoreError> {
    Role::parse(role).ok_or_else(|| corrupt(format!("unknown role {role:?} in store")))
}

/// `sso_connections.default_role` as stored: `admin` or `member`. Anything else (`owner`
/// included) is a store error.
pub(crate) fn default_role_from_db(role: &str) -> Result<DefaultRole, StoreError> {
    match role {
        "admin" => Ok(DefaultRole::Admin),
        "member" => Ok(DefaultRole::Member),
        _ => Err(corrupt(format!("unknown default role {role:?} in store"))),
    }
}

/// A stored value Tessera never writes: a fault of the data (500), not of the request.
pub(crate) fn corrupt(what: String) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(what.into()))
}

/// `members.status` as stored: `active` or `deactivated`. Anything else is a store error.
pub(crate) fn status_from_db(status: &str) -> Result<MemberStatus, StoreError> {
    MemberStatus::parse(status)
        .ok_or_else(|| corrupt(format!("unknown status {status:?} in store")))
}

pub(crate) fn member_from_row(row: &AnyRow) -> Result<Member, StoreError> {
    let role: String = row.try_get("role")?;
    let status: String = row.try_get("status")?;
    Ok(Member {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        issuer: row.try_get("issuer")?,
        subject: row.try_get("subject")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: role_from_db(&role)?,
        status: status_from_db(&status)?,
        created_at: row.try_get("created_at")?,
        last_login_at: row.try_get("last_login_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_roles_and_statuses_map_strictly() {
        assert_eq!(role_from_db("owner").ok(), Some(Role::Owner));
        assert_eq!(role_from_db("admin").ok(), Some(Role::Admin));
        assert_eq!(role_from_db("member").ok(), Some(Role::Member));
        for bad in ["", "Member", "superuser", " member", "member\0"] {
            match role_from_db(bad) {
                // Corrupt data is a server fault (500), never "bad input" from the caller.
                Err(e @ StoreError::Database(_)) => {
                    assert!(e.to_string().contains("unknown role"), "{bad:?}: {e}")
                }
                other => panic!("{bad:?} mapped to {other:?}"),
            }
        }
        assert_eq!(status_from_db("active").ok(), Some(MemberStatus::Active));
        assert_eq!(
            status_from_db("deactivated").ok(),
            Some(MemberStatus::Deactivated)
        );
        for bad in ["", "Active", "suspended", "active "] {
            match status_from_db(bad) {
                Err(e @ StoreError::Database(_)) => {
                    assert!(e.to_string().contains("unknown status"), "{bad:?}: {e}")
                }
                other => panic!("{bad:?} mapped to {other:?}"),
            }
        }
    }

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
