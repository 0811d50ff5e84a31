//! `GET /api/v1/audit/export?format=csv|json&who=&action=&from=&to=`: an org's audit log as a
//! file to download, for its owner and admins (the log's own permission), with the log's
//! filters. The handler parses the query, starts the domain's export
//! ([`membership::audit_export`]) and streams the entries out as they are read, at most
//! [`membership::AUDIT_EXPORT_MAX_ROWS`], as CSV (RFC 4180, formula-safe) or JSON. Refusals answer in the
//! API's JSON error form.

use crate::state::AppState;
use app::api::ApiError;
use app::api::types::AuditView;
use app::ssr::api_support::parse_audit_filter;
use app::ssr::auth;
use app::ssr::membership::{self, AuditExport};
use app::time_text::{day_of, rfc3339};
use app::validate::quoted;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tower_sessions::Session;

/// The path of the export.
pub const EXPORT_PATH: &str = "/api/v1/audit/export";

pub fn routes() -> Router<AppState> {
    Router::new().route(EXPORT_PATH, get(export))
}

/// The file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Json,
}

async fn export(
    State(state): State<AppState>,
    session: Session,
    RawQuery(q): RawQuery,
) -> Response {
    match start(&state, &session, q.as_deref().unwrap_or("")).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

/// Checks who asks and what, and answers with the headers and the streamed entries.
async fn start(state: &AppState, session: &Session, query: &str) -> Result<Response, ApiError> {
    let Some((me, org)) = auth::signed_in_member(session, &state.store).await? else {
        return Err(ApiError::Unauthenticated);
    };
    let p = crate::sso::params(query.as_bytes());
    let get = |name: &str| p.get(name).map(String::as_str);
    let format = match get("format").map(str::trim).unwrap_or("") {
        "" | "csv" => Format::Csv,
        "json" => Format::Json,
        other => {
            return Err(ApiError::Invalid(format!(
                "format must be csv or json, not {}.",
                quoted(other)
            )));
        }
    };
    let filter = parse_audit_filter(get("who"), get("action"), get("from"), get("to"))?;
    let export = membership::audit_export(&state.store, &me, filter).await?;
    let (content_type, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Json => ("application/json", "json"),
    };
    // The slug is lowercase letters, digits and hyphens: safe in a quoted filename.
    let filename = format!(
        "tessera-audit-{}-{}.{ext}",
        org.slug,
        day_of(state.store.now_ms())
    );
    let (total, rows) = (export.total, export.rows);
    tracing::info!(org = %org.slug, member = %me.id, total, rows, ?format, "audit log exported");
    let mut resp = Body::from_stream(stream(export, format)).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert("tessera-audit-total", HeaderValue::from(total));
    headers.insert("tessera-audit-rows", HeaderValue::from(rows));
    Ok(resp)
}

/// Where the streamed file is.
enum Step {
    Head,
    Rows { first: bool },
    Done,
}

/// The file, chunk by chunk: its head, one chunk per batch of entries, its tail. A store
/// failure midway ends the body with an error, so the client sees a cut transfer, never a
/// file that looks complete.
fn stream(
    export: AuditExport,
    format: Format,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures_util::stream::unfold((export, Step::Head), move |(mut export, step)| async move {
        match step {
            Step::Head => {
                let head = match format {
                    Format::Csv => csv_row(&CSV_COLUMNS),
                    Format::Json => "[".to_string(),
                };
                Some((Ok(Bytes::from(head)), (export, Step::Rows { first: true })))
            }
            Step::Rows { first } => match export.next_batch().await {
                Ok(batch) if batch.is_empty() => {
                    let tail = match (format, first) {
                        (Format::Csv, _) => "",
                        (Format::Json, true) => "]\n",
                        (Format::Json, false) => "\n]\n",
                    };
                    Some((
                        Ok(Bytes::from_static(tail.as_bytes())),
                        (export, Step::Done),
                    ))
                }
                Ok(batch) => {
                    let chunk = encode(&batch, format, first);
                    Some((
                        Ok(Bytes::from(chunk)),
                        (export, Step::Rows { first: false }),
                    ))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the audit export stopped: the log could not be read");
                    Some((
                        Err(std::io::Error::other("the audit log could not be read")),
                        (export, Step::Done),
                    ))
                }
            },
            Step::Done => None,
        }
    })
}

/// The CSV file's columns.
const CSV_COLUMNS: [&str; 10] = [
    "time",
    "actor",
    "actor_id",
    "action",
    "sentence",
    "target",
    "target_id",
    "before",
    "after",
    "id",
];

/// A batch of entries as CSV rows, or as JSON array elements (each after a comma unless it is
/// the file's first).
fn encode(batch: &[AuditView], format: Format, first: bool) -> String {
    let mut out = String::with_capacity(batch.len() * 400);
    for (i, e) in batch.iter().enumerate() {
        match format {
            Format::Csv => out.push_str(&csv_row(&[
                &rfc3339(e.at),
                &e.actor_email,
                e.actor_id.as_ref().map_or("", |id| id.as_str()),
                &e.action,
                &e.sentence,
                &e.target_email,
                e.target_id.as_ref().map_or("", |id| id.as_str()),
                &e.before,
                &e.after,
                &e.id,
            ])),
            Format::Json => {
                out.push_str(if first && i == 0 { "\n" } else { ",\n" });
                out.push_str(&json_entry(e).to_string());
            }
        }
    }
    out
}

/// An entry in the JSON export: before and after as JSON (null when empty, the text when it
/// is not JSON), the time both as Unix milliseconds and RFC 3339.
fn json_entry(e: &AuditView) -> Value {
    let change = |s: &str| {
        if s.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
        }
    };
    json!({
        "id": e.id,
        "at": e.at,
        "time": rfc3339(e.at),
        "actor": e.actor_email,
        "actor_id": e.actor_id,
        "action": e.action,
        "sentence": e.sentence,
        "target": e.target_email,
        "target_id": e.target_id,
        "before": change(&e.before),
        "after": change(&e.after),
    })
}

/// One CSV record (RFC 4180): fields separated by commas, quoted when they hold a comma, a
/// quote, CR or LF (quotes doubled), ended by CRLF. A field a spreadsheet would run as a
/// formula (starting with `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'`.
fn csv_row(fields: &[&str]) -> String {
    let mut out = String::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_field(field));
    }
    out.push_str("\r\n");
    out
}

fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formula_safe() {
        assert_eq!(csv_field("alice@example.com"), "alice@example.com");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-2+3"), "'-2+3");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("\tx"), "'\tx");
        assert_eq!(csv_field("\rx"), "\"'\rx\"");
        assert_eq!(csv_field("a=b"), "a=b");
        assert_eq!(csv_row(&["a", "b,c", ""]), "a,\"b,c\",\r\n");
    }

    #[test]
    fn json_entries_carry_before_and_after_as_json() {
        let e = AuditView {
            id: "e1".into(),
            at: 0,
            actor_id: None,
            actor_email: "operator (CLI)".into(),
            action: "org_renamed".into(),
            target_id: None,
            target_email: String::new(),
            before: r#"{"name":"A"}"#.into(),
            after: "not json".into(),
            sentence: "The service operator renamed the organization".into(),
        };
        let j = json_entry(&e);
        assert_eq!(j["before"], json!({"name": "A"}));
        assert_eq!(j["after"], "not json");
        assert_eq!(j["time"], "1970-01-01T00:00:00.000Z");
        assert_eq!(j["actor_id"], Value::Null);
        let two = format!("[{}\n]\n", encode(&[e.clone(), e], Format::Json, true));
        let parsed: Value = serde_json::from_str(&two).unwrap();
        assert_eq!(parsed.as_array().unwrap().len(), 2);
    }
}
