//! Benchmark 6: SCIM provisioning. A release `tessera serve` on a fresh database, an org with an
//! Okta connection and a SCIM token (`tessera scim token create --json`). Then:
//!
//! 1. `BENCH_SCIM_USERS` (10,000) users created with `POST /scim/v2/Users` in Okta's shape
//!    (userName, name, emails, externalId, active) at concurrency `BENCH_SCIM_CONCURRENCY` (8):
//!    users/s, p50/p99, errors, and the members the database holds afterwards.
//! 2. `GET /scim/v2/Users?filter=userName eq "…"` (a different case than created) for random
//!    users at the same concurrency, `BENCH_SCIM_FILTERS` (3000) requests: p50/p99, requests/s,
//!    and every answer checked to hold exactly that user.
//!
//! Environment: `TESSERA_BIN`, `BENCH_DATABASES`, `BENCH_POSTGRES_URL`, the three above.

use bench::report::{at_least, at_most, exactly, md, md_row, md_table, peak_rss_marker, summary};
use bench::tessera::Tessera;
use bench::{Latency, env_num, ms, run_pool};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TARGET_FILTER_P99_MS: f64 = 10.0;
const TARGET_USERS_PER_S: f64 = 500.0;

struct Run {
    latency: Latency,
    per_s: f64,
    errors: usize,
}

async fn timed<F, Fut>(n: usize, concurrency: usize, job: F) -> Run
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let job = Arc::new(job);
    let t = Instant::now();
    let results = run_pool(n, concurrency, move |i| {
        let job = job.clone();
        async move {
            let t = Instant::now();
            let ok = job(i).await;
            (t.elapsed(), ok)
        }
    })
    .await;
    let wall = t.elapsed();
    let lat: Vec<Duration> = results.iter().map(|(d, _)| *d).collect();
    Run {
        latency: Latency::of(&lat),
        per_s: results.len() as f64 / wall.as_secs_f64(),
        errors: results.iter().filter(|(_, ok)| !ok).count(),
    }
}

fn user_body(i: usize) -> serde_json::Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("user{i}@scim.test"),
        "name": {"givenName": "User", "familyName": format!("{i}")},
        "emails": [{"primary": true, "value": format!("user{i}@scim.test"), "type": "work"}],
        "displayName": format!("User {i}"),
        "externalId": format!("00u{i:08}"),
        "locale": "en-US",
        "groups": [],
        "active": true,
    })
}

async fn bench_db(
    kind: &str,
    users: usize,
    filters: usize,
    concurrency: usize,
) -> Result<(), String> {
    let db = bench::db::open(kind).await?;
    let label = db.label();
    let mut t = Tessera::new(&db.url);
    let result = async {
        t.register_org("scim", "https://scim.okta.test", "bench-scim", "bench-scim-secret-0123456789")?;
        let out = t.cli(&["scim", "token", "create", "scim", "--json"])?;
        let created: serde_json::Value = serde_json::from_str(out.trim()).map_err(|e| e.to_string())?;
        let token = created["token"].as_str().ok_or("no token")?.to_string();
        t.start().await?;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().map_err(|_| "header")?,
        );
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            "application/scim+json".parse().map_err(|_| "header")?,
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?;
        let base = Arc::new(format!("{}/scim/v2", t.url));

        let (h, b) = (http.clone(), base.clone());
        let create = timed(users, concurrency, move |i| {
            let (h, b) = (h.clone(), b.clone());
            async move {
                match h.post(format!("{b}/Users")).body(user_body(i).to_string()).send().await {
                    Ok(r) => r.status().as_u16() == 201 && r.bytes().await.is_ok(),
                    Err(_) => false,
                }
            }
        })
        .await;
        let r = http.get(format!("{base}/Users?count=0")).send().await.map_err(|e| e.to_string())?;
        let total = r.json::<serde_json::Value>().await.map_err(|e| e.to_string())?["totalResults"]
            .as_i64()
            .unwrap_or(-1);
        println!(
            "[{label}] created {users} users: {:.0} users/s, p50 {} ms, p99 {} ms, {} errors; {total} users listed",
            create.per_s,
            ms(create.latency.p50),
            ms(create.latency.p99),
            create.errors
        );

        let (h, b) = (http.clone(), base.clone());
        let filter = timed(filters, concurrency, move |i| {
            let (h, b) = (h.clone(), b.clone());
            // A spread of users, asked for in upper case (userName matches in any case).
            let n = (i * 7919) % users;
            async move {
                let f = format!("userName eq \"USER{n}@SCIM.TEST\"");
                let q: String = url::form_urlencoded::byte_serialize(f.as_bytes()).collect();
                match h.get(format!("{b}/Users?filter={q}")).send().await {
                    Ok(r) if r.status().is_success() => match r.json::<serde_json::Value>().await {
                        Ok(v) => {
                            v["totalResults"] == 1
                                && v["Resources"][0]["userName"] == format!("user{n}@scim.test")
                        }
                        Err(_) => false,
                    },
                    _ => false,
                }
            }
        })
        .await;
        println!(
            "[{label}] filter userName eq: {filters} requests, p50 {} ms, p99 {} ms, {:.0} req/s, {} errors",
            ms(filter.latency.p50),
            ms(filter.latency.p99),
            filter.per_s,
            filter.errors
        );
        md(format!("**{label}** — concurrency {concurrency}:"));
        md("");
        md_table(&["step", "count", "p50 (ms)", "p99 (ms)", "per second", "target", "errors", "check"]);
        md_row(&[
            "`POST /Users` (Okta's create)".into(),
            users.to_string(),
            ms(create.latency.p50),
            ms(create.latency.p99),
            format!("{:.0} users/s", create.per_s),
            format!("≥ {TARGET_USERS_PER_S:.0}/s: {}", at_least(create.per_s, TARGET_USERS_PER_S)),
            format!("{} ({})", create.errors, exactly(create.errors as i64, 0)),
            format!("{total} users listed ({})", exactly(total, users as i64)),
        ]);
        md_row(&[
            "`GET /Users?filter=userName eq` (any case)".into(),
            filters.to_string(),
            ms(filter.latency.p50),
            ms(filter.latency.p99),
            format!("{:.0} req/s", filter.per_s),
            format!(
                "p99 < {TARGET_FILTER_P99_MS} ms: {}",
                at_most(filter.latency.p99.as_secs_f64() * 1000.0, TARGET_FILTER_P99_MS)
            ),
            format!("{} ({})", filter.errors, exactly(filter.errors as i64, 0)),
            "each answer exactly that user".into(),
        ]);
        md("");
        let rss = t.peak_rss_mib();
        md(format!("Tessera peak RSS: {rss:.1} MiB."));
        md("");
        peak_rss_marker(&format!("bench-scim, {label}"), rss);
        summary(
            "6. SCIM",
            &format!("users created/s, {label}"),
            &format!("{:.0}", create.per_s),
            &format!("≥ {TARGET_USERS_PER_S:.0}"),
            &at_least(create.per_s, TARGET_USERS_PER_S),
        );
        summary(
            "6. SCIM",
            &format!("filter p99, {label}"),
            &format!("{} ms", ms(filter.latency.p99)),
            &format!("< {TARGET_FILTER_P99_MS} ms"),
            &at_most(filter.latency.p99.as_secs_f64() * 1000.0, TARGET_FILTER_P99_MS),
        );
        Ok::<(), String>(())
    }
    .await;
    t.stop().await;
    drop(db);
    result
}

#[tokio::main]
async fn main() {
    let users: usize = env_num("BENCH_SCIM_USERS", 10_000);
    let filters: usize = env_num("BENCH_SCIM_FILTERS", 3000);
    let concurrency: usize = env_num("BENCH_SCIM_CONCURRENCY", 8);
    println!("tessera binary: {}", bench::tessera::binary().display());
    md("## 6. SCIM provisioning (`bench-scim`)");
    md("");
    md(format!(
        "A release `tessera serve` on a fresh database, an org with a SCIM token. {users} users created over SCIM \
         in Okta's shape, then `filter=userName eq` lookups of random users (asked in upper case), every answer checked."
    ));
    md("");
    for kind in bench::databases() {
        if let Err(e) = bench_db(&kind, users, filters, concurrency).await {
            println!("!! {kind}: {e}");
            md(format!("**{kind}: not run** — {e}"));
            md("");
        }
    }
}
