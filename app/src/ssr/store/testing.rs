//! The tests' door to the database: raw SQL for what no code path writes or shows (a corrupt
//! role, a member deleted behind the API's back, a stored value read back to check its bounds).
//!
//! Compiled only with the `testing` feature, which only the `testkit` crate enables (tests and
//! benchmarks): a production build has no way to run SQL outside the store's own functions.
//! Values go in and rows come out as JSON: a bind is an integer, a string, a boolean (stored as
//! 0/1, like every flag) or null (typed as text); a row is an object from column name to value
//! (integers, floats, booleans, strings, null; a blob as an array of bytes).

use super::{Store, StoreError, Tx};
use serde_json::{Map, Value};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Column, Row};

fn bind_all<'q>(
    mut query: Query<'q, Any, AnyArguments<'q>>,
    binds: &'q [Value],
) -> Result<Query<'q, Any, AnyArguments<'q>>, StoreError> {
    for b in binds {
        query = match b {
            Value::Null => query.bind(None::<String>),
            Value::Bool(v) => query.bind(i64::from(*v)),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => query.bind(i),
                (None, Some(f)) => query.bind(f),
                (None, None) => {
                    return Err(StoreError::Invalid(format!("cannot bind the number {n}")));
                }
            },
            Value::String(s) => query.bind(s.as_str()),
            other => {
                return Err(StoreError::Invalid(format!("cannot bind {other}")));
            }
        };
    }
    Ok(query)
}

/// One column of a row as JSON, whatever its type.
fn column(row: &AnyRow, i: usize) -> Result<Value, StoreError> {
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return Ok(v.map_or(Value::Null, Value::from));
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
        return Ok(v.map_or(Value::Null, Value::from));
    }
    if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
        return Ok(v.map_or(Value::Null, Value::from));
    }
    if let Ok(v) = row.try_get::<Option<String>, _>(i) {
        return Ok(v.map_or(Value::Null, Value::from));
    }
    Ok(row
        .try_get::<Option<Vec<u8>>, _>(i)?
        .map_or(Value::Null, Value::from))
}

fn to_json(row: &AnyRow) -> Result<Value, StoreError> {
    let mut out = Map::new();
    for (i, c) in row.columns().iter().enumerate() {
        out.insert(c.name().to_string(), column(row, i)?);
    }
    Ok(Value::Object(out))
}

impl Store {
    /// Runs one statement with `binds` for `$1`, `$2`, …; returns the rows it changed.
    pub async fn execute_for_tests(&self, sql: &str, binds: &[Value]) -> Result<u64, StoreError> {
        let query = bind_all(sqlx::query(sql), binds)?;
        Ok(query.execute(&self.pool).await?.rows_affected())
    }

    /// Runs one query with `binds`; returns its rows, each a JSON object by column name.
    pub async fn fetch_for_tests(
        &self,
        sql: &str,
        binds: &[Value],
    ) -> Result<Vec<Value>, StoreError> {
        let query = bind_all(sqlx::query(sql), binds)?;
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(to_json).collect()
    }
}

impl Tx {
    /// [`Store::execute_for_tests`] inside the transaction.
    pub async fn execute_for_tests(
        &mut self,
        sql: &str,
        binds: &[Value],
    ) -> Result<u64, StoreError> {
        let query = bind_all(sqlx::query(sql), binds)?;
        Ok(query.execute(self.conn()).await?.rows_affected())
    }
}
