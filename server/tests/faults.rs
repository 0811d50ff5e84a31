//! Faults survived. Tessera (in-process, the real router) runs against a PRIVATE PostgreSQL
//! cluster that this test creates with `initdb` and stops mid-burst with `pg_ctl stop -m fast`
//! (the shared server is never touched), and against an Okta that is down, killed after
//! discovery, or too slow for `--idp-timeout`.
//!
//! Every request gets an answer within a bound (a client timeout; the pool's 5 s acquire timeout
//! and the IdP timeout keep the server's side shorter): a completed sign-in, or a clean page with
//! a reason code (`service_unavailable` 503, `idp_unreachable` 502). Never a 500, a hang or a
//! panic. After PostgreSQL is back, Tessera recovers without a restart and every member exists
//! exactly once, with exactly one owner.

use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use testkit::{Browser, OktaDev, Resp, TestDb, TestServer, initiate_url, okta_client};

const CLIENT_ID: &str = "tessera-faults";
const SECRET: &str = "faults-secret-0123456789";
/// No request of this test may take longer (the client gives up and the test fails).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);
const BURST: usize = 40;

// ---- panics in the server's tasks -------------------------------------------------------------

static SERVER_PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts panics on tokio worker threads (where the in-process server runs); the test threads'
/// own assertion failures are not counted.
fn count_server_panics() {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("tokio-runtime-worker") {
                SERVER_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            default(info);
        }));
    });
}

// ---- a private PostgreSQL cluster -------------------------------------------------------------

/// A PostgreSQL cluster of this test only: its own data directory, socket directory and port.
struct PrivatePg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// initdb refuses to run as root: then every command runs as the `postgres` user.
    run_as: Option<&'static str>,
}

impl PrivatePg {
    /// Creates and starts the cluster; `None` (said loudly) when PostgreSQL's server binaries
    /// are not installed. With `TESSERA_REQUIRE_POSTGRES=1` that is a failure.
    async fn start() -> Option<PrivatePg> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").is_file() && b.join("pg_ctl").is_file())
            .max_by_key(|b| {
                b.parent()
                    .and_then(|v| v.file_name())
                    .and_then(|v| v.to_str())
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(0)
            });
        let Some(bin) = bin else {
            assert!(
                std::env::var("TESSERA_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "TESSERA_REQUIRE_POSTGRES=1 but no /usr/lib/postgresql/*/bin/initdb to make a private cluster"
            );
            eprintln!(
                "!!!!! SKIPPING the PostgreSQL fault test: no /usr/lib/postgresql/*/bin/initdb !!!!!"
            );
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let run_as = root.then_some("postgres");
        if let Some(user) = run_as {
            let st = std::process::Command::new("chown")
                .arg(format!("{user}:"))
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(st.success(), "chown {user}: {}", dir.path().display());
        }
        let pg = PrivatePg {
            dir,
            bin,
            port: testkit::free_port(),
            run_as,
        };
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
        )
        .await;
        pg.start_server().await;
        Some(pg)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    async fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut c = tokio::process::Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => tokio::process::Command::new(&program),
        };
        cmd.args(args).stdin(std::process::Stdio::null());
        let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .unwrap_or_else(|_| panic!("{tool} {args:?} took over 60 s"))
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
    }

    async fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        .await;
    }

    /// `pg_ctl stop -m fast`: open connections are terminated, new ones refused.
    async fn stop_fast(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "fast", "-w", "-t", "60", "stop"],
        )
        .await;
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let data = self.data();
        let pg_ctl = self.bin.join("pg_ctl");
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut c = std::process::Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&pg_ctl);
                c
            }
            None => std::process::Command::new(&pg_ctl),
        };
        let _ = cmd
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

// ---- driving sign-ins without panicking ------------------------------------------------------

/// How one sign-in ended (the fields are read through `Debug` in failure messages).
#[derive(Debug, Clone)]
#[allow(dead_code)]
enum Outcome {
    /// The callback answered 303 into Tessera.
    Landed,
    /// Tessera answered a page (not a redirect) at some step.
    Page {
        status: u16,
        reason: Option<String>,
        url: String,
    },
    /// No answer within the client timeout, or the connection broke.
    Transport(String),
}

impl Outcome {
    fn is_unavailable(&self) -> bool {
        matches!(self, Outcome::Page { status: 503, reason: Some(r), .. } if r == "service_unavailable")
    }
}

/// A whole sign-in of `user` through okta-dev, classifying the end instead of panicking.
async fn attempt(tessera: &str, start: &str, user: &str) -> (Outcome, Browser) {
    let browser = Browser::with_timeout(CLIENT_TIMEOUT);
    let outcome = drive(&browser, tessera, browser.client.get(start), user).await;
    (outcome, browser)
}

async fn drive(
    browser: &Browser,
    tessera: &str,
    first: reqwest::RequestBuilder,
    user: &str,
) -> Outcome {
    let base = url::Url::parse(tessera).expect("url");
    let mut request = first;
    let mut posted = false;
    for _ in 0..20 {
        let resp = match browser.try_send(request).await {
            Ok(r) => r,
            Err(e) => return Outcome::Transport(e),
        };
        let ours = resp.url.origin() == base.origin();
        if resp.is_redirect() {
            let to = resp.location().expect("location");
            if ours && resp.url.path() == "/sso/callback" {
                return Outcome::Landed;
            }
            request = browser.client.get(to.as_str());
        } else if ours {
            return page(&resp);
        } else if resp.status == 200 && !posted && resp.body.contains("action=\"/interaction/") {
            posted = true;
            let start = resp.body.find("action=\"").expect("form") + "action=\"".len();
            let end = resp.body[start..].find('"').expect("form end");
            let action = resp
                .url
                .join(&resp.body[start..start + end])
                .expect("action");
            request = browser
                .post(resp.url.as_str(), action.as_str())
                .form(&[("username", user), ("password", "password")]);
        } else {
            panic!("okta-dev answered unexpectedly: {resp:?}");
        }
    }
    panic!("too many hops for {user}");
}

fn page(resp: &Resp) -> Outcome {
    Outcome::Page {
        status: resp.status,
        reason: resp.reason(),
        url: resp.url.to_string(),
    }
}

/// Drives `user` up to Okta's redirect to the callback; returns the callback URL (not requested).
async fn to_callback(browser: &Browser, tessera: &str, start: &str, user: &str) -> String {
    let first = browser.get(start).await;
    let flow = browser
        .drive_to_callback(tessera, first, user, "password")
        .await;
    flow.callback_url
        .unwrap_or_else(|| panic!("{user} never reached the callback: {:#?}", flow.hops))
        .to_string()
}

async fn get(browser: &Browser, url: &str) -> Outcome {
    match browser.try_send(browser.client.get(url)).await {
        Ok(r) if r.is_redirect() && r.url.path() == "/sso/callback" => Outcome::Landed,
        Ok(r) => page(&r),
        Err(e) => Outcome::Transport(e),
    }
}

async fn wait_ready(tessera: &str) {
    let probe = Browser::with_timeout(Duration::from_secs(5));
    for _ in 0..150 {
        if let Ok(r) = probe
            .try_send(probe.client.get(format!("{tessera}/readyz")))
            .await
            && r.status == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{tessera} did not become ready again after PostgreSQL came back");
}

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

// ---- the database goes away mid-burst ---------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_mid_burst_gives_clean_503s_and_tessera_recovers_without_restart() {
    count_server_panics();
    let Some(pg) = PrivatePg::start().await else {
        return;
    };
    {
        use sqlx::Connection as _;
        let mut admin = sqlx::PgConnection::connect(&pg.url("postgres"))
            .await
            .expect("connect");
        sqlx::query("CREATE DATABASE tessera")
            .execute(&mut admin)
            .await
            .expect("create database");
    }
    let db = TestDb::external("postgres", &pg.url("tessera"));
    let server = TestServer::start(&db).await;
    let tessera = server.url.clone();
    let okta = OktaDev::start(json!([okta_client(
        &tessera,
        CLIENT_ID,
        SECRET,
        "Tessera (Faults)"
    )]))
    .await;
    server.register_org("acme", &okta.issuer, CLIENT_ID, SECRET);
    let org = testkit::org(&server.store, "acme").await;
    let start = initiate_url(&tessera, &okta.issuer);

    // Before the outage: alice is signed in; three people are at Okta, about to come back.
    let (first, alice) = attempt(&tessera, &start, "alice").await;
    assert!(matches!(first, Outcome::Landed), "{first:?}");
    let mut pending = vec![];
    for user in ["user101", "user102", "user103"] {
        let b = Browser::with_timeout(CLIENT_TIMEOUT);
        let callback = to_callback(&b, &tessera, &start, user).await;
        pending.push((user, b, callback));
    }

    // The burst: 40 distinct people at once. PostgreSQL stops as soon as a few have landed.
    let landed = Arc::new(AtomicUsize::new(0));
    let mut burst = tokio::task::JoinSet::new();
    for n in 1..=BURST {
        let (tessera, start, landed) = (tessera.clone(), start.clone(), landed.clone());
        burst.spawn(async move {
            let user = format!("user{n}");
            let (outcome, _) = attempt(&tessera, &start, &user).await;
            if matches!(outcome, Outcome::Landed) {
                landed.fetch_add(1, Ordering::SeqCst);
            }
            (user, outcome)
        });
    }
    for _ in 0..600 {
        if landed.load(Ordering::SeqCst) >= 3 || burst.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pg.stop_fast().await;

    // In the gap, with certainty: a new sign-in, callbacks of flows started before, the session
    // API of a signed-in person, readiness and metrics. All answer, cleanly.
    let probe = Browser::with_timeout(CLIENT_TIMEOUT);
    let gap_start = get(&probe, &start);
    let gap_callbacks = async {
        let tasks: Vec<_> = pending
            .iter()
            .map(|(_, b, cb)| {
                let (b, cb) = (b.clone(), cb.clone());
                tokio::spawn(async move { get(&b, &cb).await })
            })
            .collect();
        let mut out = vec![];
        for t in tasks {
            out.push(t.await.expect("gap callback task"));
        }
        out
    };
    let gap_session = alice.try_send(alice.client.get(format!("{tessera}/api/v1/me")));
    let gap_ready = probe.try_send(probe.client.get(format!("{tessera}/readyz")));
    let gap_metrics = probe.try_send(probe.client.get(format!("{tessera}/metrics")));
    let (gap_start, gap_callbacks, gap_session, gap_ready, gap_metrics) = tokio::join!(
        gap_start,
        gap_callbacks,
        gap_session,
        gap_ready,
        gap_metrics
    );
    assert!(
        gap_start.is_unavailable(),
        "initiate during the outage: {gap_start:?}"
    );
    for (o, (user, ..)) in gap_callbacks.iter().zip(&pending) {
        assert!(
            o.is_unavailable(),
            "{user}'s callback during the outage: {o:?}"
        );
    }
    let gap_session = gap_session.expect("session API answered");
    gap_session.assert_status(503);
    assert_eq!(
        gap_session.json()["error"],
        "unavailable",
        "a signed-in person is not told to sign in"
    );
    gap_ready.expect("readyz answered").assert_status(503);
    let gap_metrics = gap_metrics.expect("metrics answered");
    gap_metrics.assert_status(200);
    assert_eq!(sample(&gap_metrics.body, "tessera_database_up"), Some(0.0));
    assert_eq!(
        sample(&gap_metrics.body, "tessera_active_sessions"),
        None,
        "unknown, not stale"
    );

    // Every burst sign-in completed or got the clean 503 page: no 500, no hang, no broken
    // connection.
    let mut failed = vec![];
    while let Some(joined) = burst.join_next().await {
        let (user, outcome) = joined.expect("a burst task panicked");
        match outcome {
            Outcome::Landed => {}
            o if o.is_unavailable() => failed.push(user),
            o => panic!("{user}: neither signed in nor a clean 503 page: {o:?}"),
        }
    }
    eprintln!(
        "burst: {} signed in before or despite the outage, {} got 503 service_unavailable",
        BURST - failed.len(),
        failed.len()
    );

    // PostgreSQL comes back; Tessera recovers by itself (same process, same pool).
    pg.start_server().await;
    wait_ready(&tessera).await;
    let me = alice.get(&format!("{tessera}/api/v1/me")).await;
    me.assert_status(200);
    assert_eq!(me.json()["member"]["email"], "alice@example.com");
    // The interrupted callbacks' flows were consumed or not; either way a fresh sign-in works.
    failed.extend(pending.iter().map(|(u, ..)| u.to_string()));
    let mut retry = tokio::task::JoinSet::new();
    for user in failed.clone() {
        let (tessera, start) = (tessera.clone(), start.clone());
        retry.spawn(async move {
            let o = attempt(&tessera, &start, &user).await.0;
            (user, o)
        });
    }
    while let Some(joined) = retry.join_next().await {
        let (user, o) = joined.expect("retry task");
        if !matches!(o, Outcome::Landed) {
            let attempts = server.store.recent_login_attempts(&org.id, 500).await;
            panic!("{user} after recovery: {o:?}; recorded attempts: {attempts:#?}");
        }
    }

    // Every member exactly once (keyed by Okta subject), exactly one owner.
    let rows = testkit::sql_rows(
        &server.store,
        "SELECT subject, role FROM members WHERE org_id = $1",
        &[json!(org.id)],
    )
    .await;
    let mut subjects: Vec<String> = rows
        .iter()
        .map(|r| r["subject"].as_str().expect("subject").to_string())
        .collect();
    let owners = rows.iter().filter(|r| r["role"] == "owner").count();
    assert_eq!(owners, 1, "exactly one owner");
    subjects.sort();
    let mut expected: Vec<String> = (1..=BURST)
        .map(|n| format!("00u-user{n}"))
        .chain(["00u1alice".to_string()])
        .chain(pending.iter().map(|(u, ..)| format!("00u-{u}")))
        .collect();
    expected.sort();
    assert_eq!(subjects, expected, "every member exactly once");

    let text = Browser::new().get(&format!("{tessera}/metrics")).await.body;
    assert_eq!(sample(&text, "tessera_database_up"), Some(1.0));
    let unavailable = sample(
        &text,
        "tessera_login_attempts_total{outcome=\"failure\",reason=\"service_unavailable\"}",
    )
    .unwrap_or(0.0);
    assert!(unavailable >= 4.0, "the gap's 503s are counted: {text}");
    assert_eq!(
        SERVER_PANICS.load(Ordering::SeqCst),
        0,
        "the server panicked"
    );
    drop(server);
    drop(okta);
}

// ---- Okta down, killed, or slow ---------------------------------------------------------------

/// An "IdP" that accepts connections and answers nothing for a minute.
async fn slow_idp() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = axum::Router::new().fallback(|| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        "too late"
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn okta_down_killed_or_slow_gives_idp_unreachable_pages_in_bounded_time() {
    count_server_panics();
    let db = testkit::sqlite();
    let server = TestServer::start_with(&db, &["--idp-timeout", "2s"]).await;
    let tessera = server.url.clone();
    let browser = Browser::with_timeout(CLIENT_TIMEOUT);

    // Down: nothing listens at the issuer.
    let down = format!("http://127.0.0.1:{}", testkit::free_port());
    server.register_org("down", &down, "0oadown", "down-secret-000000");
    let o = get(&browser, &initiate_url(&tessera, &down)).await;
    assert!(
        matches!(&o, Outcome::Page { status: 502, reason: Some(r), .. } if r == "idp_unreachable"),
        "{o:?}"
    );

    // Slow: connects, then answers after the 2 s IdP timeout.
    let slow = slow_idp().await;
    server.register_org("slow", &slow, "0oaslow", "slow-secret-000000");
    let o = get(&browser, &initiate_url(&tessera, &slow)).await;
    assert!(
        matches!(&o, Outcome::Page { status: 502, reason: Some(r), .. } if r == "idp_unreachable"),
        "{o:?}"
    );

    // Killed after discovery was cached: the code exchange cannot reach it.
    let mut okta = OktaDev::start(json!([okta_client(
        &tessera,
        CLIENT_ID,
        SECRET,
        "Tessera (Faults)"
    )]))
    .await;
    server.register_org("acme", &okta.issuer, CLIENT_ID, SECRET);
    let start = initiate_url(&tessera, &okta.issuer);
    let callback = to_callback(&browser, &tessera, &start, "alice").await;
    okta.stop().await;
    let o = get(&browser, &callback).await;
    assert!(
        matches!(&o, Outcome::Page { status: 502, reason: Some(r), .. } if r == "idp_unreachable"),
        "{o:?}"
    );

    // Each is a recorded attempt of its org with the reason code, counted in the metrics.
    for slug in ["down", "slow", "acme"] {
        let org = testkit::org(&server.store, slug).await;
        let attempts = server
            .store
            .recent_login_attempts(&org.id, 10)
            .await
            .expect("attempts");
        assert_eq!(attempts.len(), 1, "{slug}: {attempts:?}");
        assert_eq!(attempts[0].reason.code(), "idp_unreachable", "{slug}");
        assert!(
            !attempts[0].detail.is_empty(),
            "{slug}: the detail says what failed"
        );
    }
    let text = browser.get(&format!("{tessera}/metrics")).await.body;
    let series = "tessera_login_attempts_total{outcome=\"failure\",reason=\"idp_unreachable\"}";
    assert_eq!(sample(&text, series), Some(3.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "tessera_idp_fetches_total{kind=\"discovery\",result=\"error\"}"
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "tessera_idp_fetches_total{kind=\"discovery\",result=\"ok\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        SERVER_PANICS.load(Ordering::SeqCst),
        0,
        "the server panicked"
    );
}

// ---- a locked or full SQLite database ---------------------------------------------------------

/// Another process holds SQLite's write lock (`BEGIN EXCLUSIVE` on a second connection):
/// `/readyz` says not ready within its 2 s bound, a write answers 503 `unavailable` (never
/// 500), and both recover as soon as the lock goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_locked_sqlite_database_answers_503_and_readyz_is_not_ready() {
    use sqlx::Connection as _;
    count_server_panics();
    let db = testkit::sqlite();
    let server = TestServer::start(&db).await;
    let fx = testkit::owner_signed_in(&server, "locked").await;
    let other = fx.add(&server, "m", app::model::Role::Member).await;
    let b = fx.browser;
    let ready = format!("{}/readyz", server.url);
    Browser::new().get(&ready).await.assert_status(200);

    let mut holder = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut holder)
        .await
        .unwrap();

    let started = std::time::Instant::now();
    let r = Browser::with_timeout(CLIENT_TIMEOUT).get(&ready).await;
    r.assert_status(503);
    assert_eq!(r.json()["status"], "unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let role = format!("{}/api/v1/members/role", server.url);
    let body = json!({"member_id": other.id, "role": "admin"});
    let r = b.send(b.post(&server.url, &role).json(&body)).await;
    r.assert_status(503);
    assert_eq!(r.json()["error"], "unavailable", "{}", r.body);

    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    Browser::new().get(&ready).await.assert_status(200);
    let r = b.send(b.post(&server.url, &role).json(&body)).await;
    r.assert_status(200);
    assert_eq!(r.json()["role"], "admin");
    assert_eq!(
        SERVER_PANICS.load(Ordering::SeqCst),
        0,
        "the server panicked"
    );
}

/// A full SQLite database (`SQLITE_FULL`, here by a page limit on the only connection) is an
/// outage (503), not a server fault.
#[tokio::test]
async fn a_full_sqlite_database_is_unavailable() {
    let db = testkit::sqlite();
    let store = app::ssr::store::Store::connect_with(&db.url, Some(1))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let pages = testkit::sql_row(&store, "PRAGMA page_count", &[]).await["page_count"]
        .as_i64()
        .unwrap();
    testkit::sql_exec(&store, &format!("PRAGMA max_page_count = {pages}"), &[]).await;
    let mut full = None;
    for i in 0..200 {
        if let Err(e) = store
            .create_org(&format!("org-{i}"), &"n".repeat(190))
            .await
        {
            full = Some(e);
            break;
        }
    }
    let e = full.expect("the database never filled up");
    assert!(e.is_unavailable(), "{e:?}");
    assert!(!e.is_bad_input());
}

// ---- a signed-out session stays signed out ----------------------------------------------------

/// `POST /logout` while a slow request with the same cookie runs (a "Test connection" against
/// an IdP that does not answer): when the slow request ends, the session is not written back,
/// and the old cookie stays signed out. The same for a deactivation.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_ended_during_a_slow_request_stays_ended() {
    for db in testkit::databases().await {
        let kind = db.kind;
        let server = TestServer::start_with(&db, &["--idp-timeout", "3s"]).await;
        let slow = slow_idp().await;
        server.register_org("slow", &slow, "0oaslow", "slow-secret-000000");
        let org = testkit::org(&server.store, "slow").await;
        let owner =
            testkit::add_member(&server.store, &org.id, &slow, "o", app::model::Role::Member).await;
        let admin =
            testkit::add_member(&server.store, &org.id, &slow, "a", app::model::Role::Admin).await;

        // Sign-out.
        let (b, sid) = testkit::signed_in_as(&server, &owner).await;
        b.session(&server.url).await.assert_status(200);
        let test_url = format!("{}/api/v1/sso/test", server.url);
        let slow_request = {
            let b = b.clone();
            let req = b.post(&server.url, &test_url).json(&json!({}));
            tokio::spawn(async move { b.try_send(req).await })
        };
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(
            !slow_request.is_finished(),
            "[{kind}] the slow request was not slow"
        );
        let out = b
            .send(b.post(&server.url, &format!("{}/logout", server.url)))
            .await;
        assert!(out.status < 400, "[{kind}] logout: {out:?}");
        // (A fresh browser each time: a refused cookie is removed from the jar that sent it.)
        stale(&server, &sid).await.assert_status(401);
        let done = slow_request.await.unwrap().expect("slow request answered");
        assert!(done.status < 500 || done.status == 502, "[{kind}] {done:?}");
        stale(&server, &sid).await.assert_status(401);
        assert_eq!(
            session_rows(&server, &sid).await,
            0,
            "[{kind}] the session row came back"
        );

        // Deactivation of the member while their slow request runs.
        let (a, sid) = testkit::signed_in_as(&server, &admin).await;
        let slow_request = {
            let a = a.clone();
            let req = a.post(&server.url, &test_url).json(&json!({}));
            tokio::spawn(async move { a.try_send(req).await })
        };
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(
            server
                .store
                .delete_member_sessions(&admin.id)
                .await
                .unwrap()
                >= 1
        );
        let _ = slow_request.await.unwrap();
        assert_eq!(
            session_rows(&server, &sid).await,
            0,
            "[{kind}] the session row came back"
        );
        stale(&server, &sid).await.assert_status(401);
    }
}

/// `GET /api/v1/me` with the cookie of session `sid`, from a browser that has no other.
async fn stale(server: &TestServer, sid: &str) -> Resp {
    let b = Browser::new();
    b.set_cookie(&server.url, "tessera_session", sid);
    b.session(&server.url).await
}

async fn session_rows(server: &TestServer, id: &str) -> i64 {
    testkit::count(
        &server.store,
        "SELECT COUNT(*) AS n FROM sessions WHERE id = $1",
        id,
    )
    .await
}

/// An IdP whose every answer is HTTP 500; returns its issuer and its request count.
async fn broken_idp() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            // Slow enough that a burst arrives while the first discovery is under way.
            tokio::time::sleep(Duration::from_millis(300)).await;
            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down")
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_sign_in_starts_is_not_a_burst_at_a_broken_idp() {
    for db in testkit::databases().await {
        let server = TestServer::start(&db).await;
        let (issuer, hits) = broken_idp().await;
        server.register_org("broken", &issuer, "0oabroken", "broken-secret-000000");
        // 100 anonymous sign-in starts at once: one discovery request reaches the IdP.
        let mut burst = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let url = format!("{}/sso/start?org=broken", server.url);
            burst.spawn(async move { Browser::with_timeout(CLIENT_TIMEOUT).get(&url).await });
        }
        while let Some(r) = burst.join_next().await {
            let r = r.expect("request task");
            r.assert_status(502);
            assert_eq!(
                r.reason().as_deref(),
                Some("idp_misconfigured"),
                "[{}]",
                db.kind
            );
        }
        assert_eq!(
            hits.load(Ordering::SeqCst),
            1,
            "[{}] requests at the IdP",
            db.kind
        );
        // A few seconds later the IdP is asked again (it may have been fixed).
        server.advance(Duration::from_millis(5_500));
        let r = Browser::new()
            .get(&format!("{}/sso/start?org=broken", server.url))
            .await;
        r.assert_status(502);
        assert_eq!(
            hits.load(Ordering::SeqCst),
            2,
            "[{}] requests at the IdP",
            db.kind
        );
    }
}

// ---- several servers in one process ------------------------------------------------------------

/// Starting servers while another serves pages stalls none of its pages. Leptos lists a router's
/// routes by rendering the app with resource loading switched off for the whole process; a
/// page whose data first loads meanwhile never finished (leptos issue #4773), and tests, which
/// start many servers in one process, hung for 30 s now and then. Routes are listed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_starting_beside_a_serving_one_stall_none_of_its_pages() {
    let db = testkit::sqlite();
    let serving = TestServer::start(&db).await;
    let other = testkit::sqlite();
    let done = std::sync::atomic::AtomicBool::new(false);
    let starting = async {
        let mut started = 0;
        let until = std::time::Instant::now() + Duration::from_secs(3);
        while std::time::Instant::now() < until {
            drop(TestServer::start(&other).await);
            started += 1;
        }
        done.store(true, Ordering::SeqCst);
        started
    };
    // Each page renders the sign-in frame behind a resource (who is signed in).
    let browser = Browser::with_timeout(Duration::from_secs(5));
    let serving_pages = async {
        let mut pages = 0;
        while !done.load(Ordering::SeqCst) {
            let page = browser
                .try_send(browser.client.get(format!("{}/members", serving.url)))
                .await
                .unwrap_or_else(|e| panic!("a page stalled while servers started: {e}"));
            page.assert_status(200);
            pages += 1;
        }
        pages
    };
    let (started, pages) = tokio::join!(starting, serving_pages);
    assert!(
        started >= 3 && pages >= 10,
        "{started} servers started beside {pages} pages"
    );
}
