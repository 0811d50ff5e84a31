//! Fresh databases for one benchmark: a SQLite file in a temp directory, or a new PostgreSQL
//! database (created on the server named by `BENCH_POSTGRES_URL`, dropped afterwards).

use sqlx::Connection as _;

/// Where new PostgreSQL databases are created, unless `BENCH_POSTGRES_URL` says otherwise.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub enum Db {
    Sqlite {
        url: String,
        _dir: tempfile::TempDir,
    },
    Postgres {
        url: String,
        admin: String,
        name: String,
    },
}

impl Db {
    pub fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("tessera.db").display());
        Db::Sqlite { url, _dir: dir }
    }

    /// A new, empty PostgreSQL database, or why there is none.
    pub async fn postgres() -> Result<Db, String> {
        let admin = std::env::var("BENCH_POSTGRES_URL")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_string());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .map_err(|e| format!("PostgreSQL at {admin} is unreachable: {e}"))?;
        let name = format!("tessera_bench_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .map_err(|e| format!("cannot create a database on {admin}: {e}"))?;
        let mut url = url::Url::parse(&admin).map_err(|e| e.to_string())?;
        url.set_path(&format!("/{name}"));
        Ok(Db::Postgres {
            url: url.to_string(),
            admin,
            name,
        })
    }

    /// `sqlite` or `postgres`, as given in `BENCH_DATABASES`.
    pub async fn open(kind: &str) -> Result<Db, String> {
        match kind {
            "sqlite" => Ok(Db::sqlite()),
            "postgres" => Db::postgres().await,
            other => Err(format!(
                "unknown database kind {other:?} (sqlite or postgres)"
            )),
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Db::Sqlite { url, .. } | Db::Postgres { url, .. } => url,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Db::Sqlite { .. } => "SQLite",
            Db::Postgres { .. } => "PostgreSQL",
        }
    }

    /// A pool on the database for setup and checks (the bench's own, not Tessera's).
    pub async fn pool(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(self.url())
            .await
            .expect("connect to the benchmark database")
    }

    /// Drops a PostgreSQL database (a SQLite directory goes with the value).
    pub async fn cleanup(self) {
        if let Db::Postgres { admin, name, .. } = self
            && let Ok(mut c) = sqlx::PgConnection::connect(&admin).await
        {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut c)
                .await;
        }
    }
}

/// One number from a `SELECT COUNT(*) AS n ...` with one text parameter.
pub async fn count(pool: &sqlx::AnyPool, sql: &str, param: &str) -> i64 {
    use sqlx::Row as _;
    sqlx::query(sql)
        .bind(param)
        .fetch_one(pool)
        .await
        .and_then(|r| r.try_get::<i64, _>("n"))
        .unwrap_or(-1)
}
