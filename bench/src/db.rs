//! Fresh databases for one benchmark, from the test kit: a SQLite file in a temp directory, or
//! a new PostgreSQL database on the server named by `BENCH_POSTGRES_URL` (dropped with the
//! value).

pub use testkit::TestDb;

/// Where new PostgreSQL databases are created, unless `BENCH_POSTGRES_URL` says otherwise.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh `sqlite` or `postgres` database (as named in `BENCH_DATABASES`), or why there is none.
pub async fn open(kind: &str) -> Result<TestDb, String> {
    match kind {
        "sqlite" => Ok(testkit::sqlite()),
        "postgres" => {
            let admin = std::env::var("BENCH_POSTGRES_URL")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_string());
            TestDb::create_postgres(&admin, "tessera_bench").await
        }
        other => Err(format!(
            "unknown database kind {other:?} (sqlite or postgres)"
        )),
    }
}

/// One number from a `SELECT COUNT(*) AS n ...` with one text parameter (-1 on error).
pub async fn count(pool: &sqlx::AnyPool, sql: &str, param: &str) -> i64 {
    use sqlx::Row as _;
    sqlx::query(sql)
        .bind(param)
        .fetch_one(pool)
        .await
        .and_then(|r| r.try_get::<i64, _>("n"))
        .unwrap_or(-1)
}
