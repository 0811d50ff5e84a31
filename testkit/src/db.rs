//! A fresh database per test or benchmark run: a SQLite file in a temp directory, or a new
//! PostgreSQL database created on a server and dropped (with `FORCE`) when the value is dropped.
//!
//! Tests take PostgreSQL from `TESSERA_TEST_POSTGRES_URL` (default [`DEFAULT_POSTGRES_URL`]);
//! when no server answers the PostgreSQL leg is skipped loudly, unless
//! `TESSERA_REQUIRE_POSTGRES=1` (set by `make test` in CI), which fails the test instead.

use sqlx::Connection as _;

/// Where tests create their PostgreSQL databases unless `TESSERA_TEST_POSTGRES_URL` says otherwise.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database for one test; a PostgreSQL database it created is dropped with it.
pub struct TestDb {
    /// `sqlite` or `postgres`.
    pub kind: &'static str,
    /// The URL Tessera is given (`sqlite://…` or `postgres://…`).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// (server URL, database name) of a database to drop.
    pg_admin: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg_admin.take() {
            // Best effort, on a thread with its own runtime: drop may run inside a runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .execute(&mut c)
                            .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

impl TestDb {
    /// A database at `url` that this test does not own (nothing is dropped afterwards).
    pub fn external(kind: &'static str, url: &str) -> TestDb {
        TestDb {
            kind,
            url: url.to_string(),
            _dir: None,
            pg_admin: None,
        }
    }

    /// A new, empty database named `<prefix>_<uuid>` on the PostgreSQL server at `admin`
    /// (a URL whose path names any database to connect to), or why there is none.
    pub async fn create_postgres(admin: &str, prefix: &str) -> Result<TestDb, String> {
        let mut conn = sqlx::PgConnection::connect(admin)
            .await
            .map_err(|e| format!("PostgreSQL at {admin} is unreachable: {e}"))?;
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .map_err(|e| format!("cannot create a database on {admin}: {e}"))?;
        let mut url = url::Url::parse(admin).map_err(|e| format!("{admin}: {e}"))?;
        url.set_path(&format!("/{name}"));
        Ok(TestDb {
            kind: "postgres",
            url: url.to_string(),
            _dir: None,
            pg_admin: Some((admin.to_string(), name)),
        })
    }

    /// `SQLite` or `PostgreSQL`, for reports.
    pub fn label(&self) -> &'static str {
        match self.kind {
            "sqlite" => "SQLite",
            _ => "PostgreSQL",
        }
    }

    /// A small pool of its own on the database (not Tessera's), for setting up and checking.
    pub async fn pool(&self) -> Result<sqlx::AnyPool, String> {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(&self.url)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", self.label()))
    }
}

/// A database file in a new temp directory (removed with the value).
pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("tessera.db").display());
    TestDb {
        kind: "sqlite",
        url,
        _dir: Some(dir),
        pg_admin: None,
    }
}

/// A fresh PostgreSQL database, or `None` (said loudly) when no server answers. With
/// `TESSERA_REQUIRE_POSTGRES=1` (set by `make test` in CI) an absent server fails the test.
pub async fn postgres() -> Option<TestDb> {
    let admin = std::env::var("TESSERA_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_string());
    let required = std::env::var("TESSERA_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    if let Err(e) = sqlx::PgConnection::connect(&admin).await {
        if required {
            panic!("TESSERA_REQUIRE_POSTGRES=1 but PostgreSQL at {admin} is unreachable: {e}");
        }
        eprintln!(
            "!!!!! SKIPPING the PostgreSQL leg of this test: {admin} is unreachable ({e}) !!!!!"
        );
        return None;
    }
    match TestDb::create_postgres(&admin, "tessera_t").await {
        Ok(db) => Some(db),
        Err(e) => panic!("create test database: {e}"),
    }
}

/// SQLite always, plus PostgreSQL when reachable: run a test body on each.
pub async fn databases() -> Vec<TestDb> {
    let mut dbs = vec![sqlite()];
    if let Some(pg) = postgres().await {
        dbs.push(pg);
    }
    dbs
}

/// Another process holding a lock Tessera needs, until the connection rolls back: SQLite's
/// database-wide write lock (`BEGIN EXCLUSIVE`), or on PostgreSQL an exclusive lock on
/// `pg_table` only (e.g. an operator's `LOCK TABLE`, a stuck migration).
pub async fn hold_lock(db: &TestDb, pg_table: &str) -> sqlx::AnyConnection {
    use sqlx::Connection as _;
    use sqlx::Executor as _;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connect");
    if db.kind == "sqlite" {
        conn.execute("BEGIN EXCLUSIVE").await.expect("lock");
    } else {
        conn.execute("BEGIN").await.expect("begin");
        conn.execute(format!("LOCK TABLE {pg_table} IN ACCESS EXCLUSIVE MODE").as_str())
            .await
            .expect("lock");
    }
    conn
}
