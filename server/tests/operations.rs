//! Operations, on SQLite and PostgreSQL: the Prometheus metrics at `/metrics` after real
//! sign-ins through the local Okta, turning them off, and `tessera secret-key rotate|check`
//! (re-encryption under a new key, refusal with the wrong key, and a sign-in after the swap).

use app::ssr::crypto::SecretKey;
use app::ssr::setup_links::Actor;
use serde_json::json;
use std::path::Path;
use std::time::Duration;
use testkit::{Browser, OktaDev, TestDb, TestServer, initiate_url, okta_client, run};

const CLIENT_ID: &str = "tessera-ops";
const SECRET: &str = "ops-secret-0123456789";

fn client(tessera: &str) -> serde_json::Value {
    json!([okta_client(tessera, CLIENT_ID, SECRET, "Tessera (Ops)")])
}

/// The value of the exposition line for exactly `series` (name with labels), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(series)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}

#[track_caller]
fn assert_sample(text: &str, series: &str, value: f64, db: &str) {
    assert_eq!(
        sample(text, series),
        Some(value),
        "[{db}] {series} in:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_sign_ins_idp_fetches_sessions_and_responses() {
    for db in testkit::databases().await {
        let kind = db.kind;
        let server = TestServer::start_with(&db, &["--database-max-connections", "5"]).await;
        let okta = OktaDev::start(client(&server.url)).await;
        server.register_org("ops", &okta.issuer, CLIENT_ID, SECRET);
        let start = initiate_url(&server.url, &okta.issuer);

        let alice = Browser::new();
        assert!(
            alice
                .sign_in(&server.url, &start, "alice", "password")
                .await
                .landed()
        );
        let mallory = Browser::new();
        let refused = mallory
            .sign_in(&server.url, &start, "mallory", "password")
            .await;
        refused.response.assert_status(403);

        let r = Browser::new().get(&format!("{}/metrics", server.url)).await;
        r.assert_status(200);
        assert_eq!(
            r.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        let text = &r.body;
        assert_sample(
            text,
            "tessera_login_attempts_total{outcome=\"success\",reason=\"success\"}",
            1.0,
            kind,
        );
        assert_sample(
            text,
            "tessera_login_attempts_total{outcome=\"failure\",reason=\"idp_error\"}",
            1.0,
            kind,
        );
        assert_sample(text, "tessera_callback_duration_seconds_count", 2.0, kind);
        assert_sample(
            text,
            "tessera_callback_duration_seconds_bucket{le=\"+Inf\"}",
            2.0,
            kind,
        );
        // Discovery (with its JWKS) once, then from the cache.
        assert_sample(
            text,
            "tessera_idp_fetches_total{kind=\"discovery\",result=\"ok\"}",
            1.0,
            kind,
        );
        assert_sample(
            text,
            "tessera_idp_fetches_total{kind=\"jwks\",result=\"ok\"}",
            1.0,
            kind,
        );
        assert_sample(text, "tessera_active_sessions", 1.0, kind);
        assert_sample(text, "tessera_database_up", 1.0, kind);
        assert_sample(text, "tessera_db_pool_max_connections", 5.0, kind);
        let max = 5.0;
        let idle = sample(text, "tessera_db_pool_connections{state=\"idle\"}").expect("idle");
        let in_use = sample(text, "tessera_db_pool_connections{state=\"in_use\"}").expect("in use");
        assert!(
            max >= 1.0 && idle >= 0.0 && in_use >= 0.0 && idle + in_use <= max,
            "[{kind}] {text}"
        );
        // Initiate and callback redirects (3xx), okta's refusal page (4xx) at least.
        assert!(
            sample(text, "tessera_http_requests_total{status_class=\"3xx\"}").unwrap_or(0.0) >= 3.0
        );
        assert!(
            sample(text, "tessera_http_requests_total{status_class=\"4xx\"}").unwrap_or(0.0) >= 1.0
        );
        for help in [
            "# TYPE tessera_login_attempts_total counter",
            "# TYPE tessera_callback_duration_seconds histogram",
            "# TYPE tessera_idp_fetches_total counter",
            "# TYPE tessera_db_pool_connections gauge",
            "# TYPE tessera_active_sessions gauge",
        ] {
            assert!(text.lines().any(|l| l == help), "[{kind}] missing {help}");
        }

        // Signing out ends the session: the gauge follows at the next scrape.
        let out = alice
            .send(alice.post(&server.url, &format!("{}/logout", server.url)))
            .await;
        assert!(out.is_redirect(), "{out:?}");
        let text = Browser::new()
            .get(&format!("{}/metrics", server.url))
            .await
            .body;
        assert_sample(&text, "tessera_active_sessions", 0.0, kind);
    }
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let db = testkit::sqlite();
    let server = TestServer::start_with(&db, &["--metrics", "off"]).await;
    let r = Browser::new().get(&format!("{}/metrics", server.url)).await;
    r.assert_status(404);
    assert!(!r.body.contains("tessera_"));
    Browser::new()
        .get(&format!("{}/healthz", server.url))
        .await
        .assert_status(200);
    // Anything but on/off (or true/false, yes/no, 1/0) is refused.
    let out = std::process::Command::new(testkit::tessera_bin())
        .args(["--metrics", "maybe", "migrate"])
        .env_remove("TESSERA_METRICS")
        .output()
        .expect("run tessera");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("use on or off"));
}

fn sealed(rows: &[(String, String)], org_id: &str) -> String {
    rows.iter()
        .find(|(id, _)| id == org_id)
        .map(|(_, s)| s.clone())
        .expect("sealed secret")
}

async fn sealed_secrets(store: &app::ssr::store::Store) -> Vec<(String, String)> {
    testkit::sql_rows(
        store,
        "SELECT org_id, client_secret_enc FROM sso_connections ORDER BY org_id",
        &[],
    )
    .await
    .iter()
    .map(|r| {
        let text = |c: &str| r[c].as_str().expect("sealed secrets").to_string();
        (text("org_id"), text("client_secret_enc"))
    })
    .collect()
}

/// The CLI on the server's database with another key file.
fn cli_with_key(server: &TestServer, key: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(testkit::tessera_bin());
    cmd.arg("--database-url")
        .arg(&server.config.database_url)
        .arg("--secret-key-file")
        .arg(key)
        .env_remove("TESSERA_DATABASE_URL")
        .env_remove("TESSERA_SECRET_KEY_FILE");
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_key_rotation_re_encrypts_every_client_secret() {
    for db in testkit::databases().await {
        rotation_on(&db).await;
    }
}

async fn rotation_on(db: &TestDb) {
    let kind = db.kind;
    let keys = tempfile::tempdir().expect("temp dir");
    let key_file = keys.path().join("secret.key");
    let port = testkit::free_port();
    let tessera = format!("http://127.0.0.1:{port}");
    let okta = OktaDev::start(client(&tessera)).await;
    let server = TestServer::start_on(db, port, Some(key_file.clone()), &[]).await;
    server.register_org("ops", &okta.issuer, CLIENT_ID, SECRET);
    server.register_org(
        "beta",
        "https://beta.okta.test",
        "0oabeta",
        "beta-secret-abcdef",
    );
    let ops = testkit::org(&server.store, "ops").await;
    let beta = testkit::org(&server.store, "beta").await;
    let start = initiate_url(&tessera, &okta.issuer);
    assert!(
        Browser::new()
            .sign_in(&tessera, &start, "alice", "password")
            .await
            .landed()
    );
    let before = sealed_secrets(&server.store).await;
    assert_eq!(before.len(), 2);

    // The wrong current key: refused, nothing written, no new key file made.
    let wrong = keys.path().join("wrong.key");
    std::fs::write(&wrong, [9u8; 32]).unwrap();
    let refused_key = keys.path().join("refused.key");
    let (ok, _, err) = run(cli_with_key(&server, &wrong)
        .args(["secret-key", "rotate", "--new-key-file"])
        .arg(&refused_key));
    assert!(!ok, "[{kind}] rotation with the wrong key must fail");
    assert!(
        err.contains("refusing to rotate") && err.contains("beta") && err.contains("ops"),
        "[{kind}] {err}"
    );
    // One error line (a key file readable by others is also warned about, on its own line).
    let errors = err.lines().filter(|l| !l.starts_with("warning:")).count();
    assert_eq!(errors, 1, "[{kind}] one line: {err}");
    assert!(!refused_key.exists());
    assert_eq!(
        sealed_secrets(&server.store).await,
        before,
        "[{kind}] nothing changed"
    );
    // No key at all: refused too (rotation never invents the current key).
    let (ok, _, err) =
        run(cli_with_key(&server, &keys.path().join("absent.key")).args(["secret-key", "rotate"]));
    assert!(!ok && err.contains("no secret key file"), "[{kind}] {err}");
    assert!(!keys.path().join("absent.key").exists());

    // An Okta administrator half-way through a setup link: the secret of their passing test
    // waits on the link, sealed with the current key.
    let (_, link) = server
        .store
        .create_setup_link(&beta, Duration::from_secs(3600), Actor::Operator)
        .await
        .unwrap();
    let pending = SecretKey::load(&key_file)
        .unwrap()
        .seal(&link.seal_context(), "pending-secret-123456");
    testkit::sql_exec(
        &server.store,
        "UPDATE setup_links SET pending_secret_enc = $1 WHERE id = $2",
        &[json!(pending), json!(link.id)],
    )
    .await;

    // The rotation.
    let new_key_file = keys.path().join("new.key");
    let (ok, out, err) = run(server
        .cli()
        .args(["secret-key", "rotate", "--new-key-file"])
        .arg(&new_key_file));
    assert!(ok, "[{kind}] rotate failed: {out}{err}");
    assert!(
        out.contains("Re-encrypted 2 client secret(s)") && out.contains("restart"),
        "{out}"
    );
    assert_key_file(&new_key_file);
    let old_key = SecretKey::load(&key_file).unwrap();
    let new_key = SecretKey::load(&new_key_file).unwrap();
    let after = sealed_secrets(&server.store).await;
    for (org, secret) in [(&ops, SECRET), (&beta, "beta-secret-abcdef")] {
        let s = sealed(&after, org.id.as_str());
        assert_ne!(s, sealed(&before, org.id.as_str()));
        assert_eq!(
            new_key.open(&org.id, &s).unwrap(),
            secret,
            "[{kind}] opens with the new key"
        );
        assert!(
            old_key.open(&org.id, &s).is_err(),
            "[{kind}] not with the old key"
        );
    }
    let resealed = testkit::sql_row(
        &server.store,
        "SELECT pending_secret_enc FROM setup_links WHERE id = $1",
        &[json!(link.id)],
    )
    .await["pending_secret_enc"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        new_key.open(&link.seal_context(), &resealed).unwrap(),
        "pending-secret-123456",
        "[{kind}] the pending setup secret opens with the new key"
    );
    assert!(old_key.open(&link.seal_context(), &resealed).is_err());
    // `check` tells which key the database now needs.
    let (ok, _, err) = run(server.cli().args(["secret-key", "check"]));
    assert!(!ok && err.contains("do not open"), "[{kind}] {err}");
    let (ok, out, _) = run(cli_with_key(&server, &new_key_file).args(["secret-key", "check"]));
    assert!(
        ok && out.contains("All 2 stored client secret(s) open"),
        "[{kind}] {out}"
    );

    // A node still running with the old key cannot read the secret: a clear page, not a crash.
    let stale = Browser::new().get(&start).await;
    stale.assert_status(500);
    assert_eq!(stale.reason().as_deref(), Some("secret_unreadable"));

    // Swap the files and restart the node: sign-in through the real local Okta works again.
    std::fs::copy(&new_key_file, &key_file).unwrap();
    drop(server);
    let server = TestServer::start_on(db, port, Some(key_file.clone()), &[]).await;
    let bob = Browser::new();
    let flow = bob.sign_in(&tessera, &start, "bob", "password").await;
    assert!(
        flow.landed(),
        "[{kind}] sign-in after the swap: {:#?}",
        flow.hops
    );
    bob.session(&tessera).await.assert_status(200);

    // Without --new-key-file the new key goes next to the current one.
    let (ok, out, err) = run(server.cli().args(["secret-key", "rotate"]));
    assert!(ok, "[{kind}] {out}{err}");
    let default_new = keys.path().join("secret.key.new");
    assert_key_file(&default_new);
    let newest = SecretKey::load(&default_new).unwrap();
    let s = sealed(&sealed_secrets(&server.store).await, ops.id.as_str());
    assert_eq!(newest.open(&ops.id, &s).unwrap(), SECRET);
    // Rotating "to" the key already in use is refused.
    let (ok, _, err) = run(cli_with_key(&server, &default_new)
        .args(["secret-key", "rotate", "--new-key-file"])
        .arg(&default_new));
    assert!(!ok && err.contains("must differ"), "[{kind}] {err}");
}

fn assert_key_file(path: &Path) {
    assert_eq!(std::fs::read(path).unwrap().len(), 32, "{}", path.display());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
}

/// Production databases are reached over TLS (`?sslmode=require`): the build has a TLS stack.
/// Runs when the test PostgreSQL server offers TLS (Debian's does, with its snakeoil certificate).
#[tokio::test]
async fn postgres_connections_can_use_tls() {
    let Some(db) = testkit::postgres().await else {
        return;
    };
    let plain = app::ssr::store::Store::connect(&db.url)
        .await
        .expect("connect");
    let ssl = testkit::sql_row(&plain, "SHOW ssl", &[]).await["ssl"]
        .as_str()
        .expect("show ssl")
        .to_string();
    if ssl != "on" {
        eprintln!("!!!!! SKIPPING the TLS check: the test PostgreSQL server has ssl = {ssl} !!!!!");
        return;
    }
    let mut url = url::Url::parse(&db.url).expect("url");
    url.query_pairs_mut().append_pair("sslmode", "require");
    let store = app::ssr::store::Store::connect(url.as_str())
        .await
        .expect("connect with sslmode=require");
    let encrypted = testkit::sql_row(
        &store,
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        &[],
    )
    .await["ssl"]
        .as_bool()
        .expect("pg_stat_ssl");
    assert!(encrypted, "the connection is encrypted");
}

// ---- the secret key against the data ----------------------------------------------------------

/// How `tessera serve` (the binary) ended up: exited by itself (success, stderr), or up and
/// ready (stderr so far; then stopped).
#[derive(Debug)]
enum Served {
    Exited(bool, String),
    Up(String),
}

/// Starts `tessera serve` with `key` on `server`'s database and waits until it exits or is
/// ready (at most 20 s).
async fn serve_with_key(server: &TestServer, key: &Path) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr");
    let port = testkit::free_port();
    let mut child = tokio::process::Command::new(testkit::tessera_bin())
        .arg("--database-url")
        .arg(&server.config.database_url)
        .arg("--secret-key-file")
        .arg(key)
        .args(["--bind", &format!("127.0.0.1:{port}"), "serve"])
        .env_remove("TESSERA_DATABASE_URL")
        .env_remove("TESSERA_SECRET_KEY_FILE")
        .env_remove("TESSERA_LOG_FORMAT")
        .env_remove("TESSERA_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if let Ok(Some(status)) = child.try_wait() {
            return Served::Exited(status.success(), std::fs::read_to_string(&log).unwrap());
        }
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await
            && r.status() == 200
        {
            let _ = child.kill().await;
            return Served::Up(std::fs::read_to_string(&log).unwrap());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("tessera serve neither started nor exited");
}

fn write_key(path: &Path, mode: u32) {
    use rand::RngCore as _;
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    std::fs::write(path, key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = mode;
}

#[tokio::test(flavor = "current_thread")]
async fn serve_and_sso_set_refuse_a_secret_key_that_opens_no_stored_secret() {
    for db in testkit::databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let keys = tempfile::tempdir().unwrap();
        let missing = keys.path().join("missing.key");
        let wrong = keys.path().join("wrong.key");
        write_key(&wrong, 0o600);
        let secret_file = keys.path().join("secret.txt");
        std::fs::write(&secret_file, "another-secret-0123456789").unwrap();

        // No secret stored yet: a missing key is created and serve starts.
        let fresh = keys.path().join("fresh.key");
        let served = serve_with_key(&server, &fresh).await;
        assert!(matches!(served, Served::Up(_)), "[{kind}] {served:?}");
        assert!(fresh.is_file());

        server.register_org(
            "keyed",
            "http://127.0.0.1:9",
            "0oakeyed",
            "keyed-secret-012345",
        );
        let org = testkit::org(&server.store, "keyed").await;
        let before = sealed_secrets(&server.store).await;

        // serve: a missing key file, or a key that opens nothing, refuses to start in one line.
        for (key, says) in [(&missing, "no secret key file"), (&wrong, "opens none")] {
            let Served::Exited(ok, stderr) = serve_with_key(&server, key).await else {
                panic!("[{kind}] serve started with {}", key.display());
            };
            assert!(!ok, "[{kind}]");
            let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
            assert_eq!(lines.len(), 1, "[{kind}] {stderr}");
            assert!(
                lines[0].contains("refusing to start") && lines[0].contains(says),
                "[{kind}] {stderr}"
            );
            assert!(
                lines[0].contains("--secret-key-file"),
                "[{kind}] says what to do: {stderr}"
            );
        }
        assert!(!missing.exists(), "[{kind}] no key was invented");

        // sso set with the wrong key path: refused, nothing written, no key file created.
        for key in [&missing, &wrong] {
            let (ok, _, err) = run(cli_with_key(&server, key)
                .args([
                    "sso",
                    "set",
                    "keyed",
                    "--issuer",
                    "http://127.0.0.1:9",
                    "--allow-http-issuers",
                ])
                .args(["--client-id", "0oakeyed", "--client-secret-file"])
                .arg(&secret_file));
            assert!(!ok, "[{kind}] sso set with {} succeeded", key.display());
            assert_eq!(err.trim().lines().count(), 1, "[{kind}] {err}");
            assert!(err.contains("--secret-key-file"), "[{kind}] {err}");
        }
        assert!(!missing.exists(), "[{kind}]");
        assert_eq!(
            sealed_secrets(&server.store).await,
            before,
            "[{kind}] a secret was rewritten"
        );

        // The right key, readable by others: starts, and says so.
        let exposed = keys.path().join("exposed.key");
        std::fs::copy(&server.config.secret_key_file, &exposed).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&exposed, std::fs::Permissions::from_mode(0o644)).unwrap();
            let Served::Up(log) = serve_with_key(&server, &exposed).await else {
                panic!("[{kind}] serve refused the right key");
            };
            assert!(
                log.contains("accessible to other users") && log.contains("chmod 600"),
                "[{kind}] {log}"
            );
            let (ok, _, err) = run(cli_with_key(&server, &exposed).args(["secret-key", "check"]));
            assert!(ok, "[{kind}] {err}");
            assert!(
                err.starts_with("warning:") && err.contains("chmod 600"),
                "[{kind}] {err}"
            );
        }

        // The key is lost for good: drop what does not open, then register again.
        let (ok, _, err) =
            run(cli_with_key(&server, &wrong).args(["secret-key", "drop-unreadable"]));
        assert!(
            !ok && err.contains("keyed") && err.contains("--yes"),
            "[{kind}] {err}"
        );
        assert_eq!(sealed_secrets(&server.store).await, before, "[{kind}]");
        let (ok, out, err) =
            run(cli_with_key(&server, &wrong).args(["secret-key", "drop-unreadable", "--yes"]));
        assert!(ok && out.contains("keyed"), "[{kind}] {out}{err}");
        assert_eq!(
            sealed(&sealed_secrets(&server.store).await, org.id.as_str()),
            "",
            "[{kind}]"
        );
        let (ok, _, err) = run(cli_with_key(&server, &wrong).args(["secret-key", "check"]));
        assert!(
            !ok && err.contains("keyed") && err.contains("sso set"),
            "[{kind}] {err}"
        );
        let (ok, _, err) = run(cli_with_key(&server, &wrong)
            .args([
                "sso",
                "set",
                "keyed",
                "--issuer",
                "http://127.0.0.1:9",
                "--allow-http-issuers",
            ])
            .args(["--client-id", "0oakeyed", "--client-secret-file"])
            .arg(&secret_file));
        assert!(ok, "[{kind}] {err}");
        let key = SecretKey::load(&wrong).unwrap();
        let s = sealed(&sealed_secrets(&server.store).await, org.id.as_str());
        assert_eq!(
            key.open(&org.id, &s).unwrap(),
            "another-secret-0123456789",
            "[{kind}]"
        );
        let served = serve_with_key(&server, &wrong).await;
        assert!(
            matches!(served, Served::Up(_)),
            "[{kind}] serve with the new key: {served:?}"
        );
    }
}

// ---- HTTP-wide limits and caching ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_bounded_and_nothing_signed_in_is_cached() {
    for db in testkit::databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let b = testkit::owner_signed_in(&server, "limits").await.browser;
        let url = |p: &str| format!("{}{p}", server.url);

        // Signed-in pages and API answers are never cached; static assets may be.
        for path in [
            "/",
            "/members",
            "/api/v1/me",
            "/api/v1/members",
            "/api/v1/session",
            "/login",
        ] {
            let r = b.get(&url(path)).await;
            assert_eq!(
                r.header("cache-control"),
                Some("no-store"),
                "[{kind}] {path}: {r:?}"
            );
        }
        let css = b.get(&url("/pkg/tessera.css")).await;
        assert_ne!(
            css.header("cache-control"),
            Some("no-store"),
            "[{kind}] {css:?}"
        );

        // A 2 MB body: 413 with JSON for the API and server functions, a page elsewhere. The
        // body is announced, not sent: the answer comes before it is read, and a client still
        // writing 2 MB when the server closes may see the reset before the answer.
        for path in ["/api/v1/members/role", "/api/whoami"] {
            let (status, body) =
                announced_post(&server.url, path, "application/json", 2 * 1024 * 1024).await;
            assert_eq!(status, 413, "[{kind}] {path}");
            let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(answer["error"], "too_large", "[{kind}] {path}");
            assert!(
                answer["message"].as_str().unwrap().contains("64 KiB"),
                "[{kind}]"
            );
        }
        // Streamed without a length, too.
        assert_eq!(
            chunked_post(&server.url, "/api/v1/members/role", 80 * 1024).await,
            413,
            "[{kind}]"
        );
        let (status, page) = announced_post(
            &server.url,
            "/sso/initiate",
            "application/x-www-form-urlencoded",
            2 * 1024 * 1024,
        )
        .await;
        assert_eq!(status, 413, "[{kind}]");
        assert!(
            page.contains("<html") && page.contains("too_large"),
            "[{kind}] {page}"
        );
        // A small body still works.
        let r = b
            .send(b.post(&server.url, &url("/api/whoami")).json(&json!({})))
            .await;
        assert!(r.status < 400, "[{kind}] {r:?}");

        // Targets and headers are bounded too.
        let r = b
            .get(&url(&format!("/sso/initiate?iss={}", "i".repeat(10_000))))
            .await;
        r.assert_status(414);
        let r = b
            .get(&url(&format!("/api/v1/members?q={}", "q".repeat(10_000))))
            .await;
        r.assert_status(414);
        assert_eq!(r.json()["error"], "uri_too_long");
        let r = b
            .send(
                b.client
                    .get(url("/api/v1/me"))
                    .header("x-filler", "h".repeat(40_000)),
            )
            .await;
        r.assert_status(431);
    }
}

/// POSTs `size` bytes with `Transfer-Encoding: chunked` (no `Content-Length`) over a raw
/// connection; returns the answer's status.
/// POSTs a head announcing `length` body bytes, sends none, and reads the whole answer:
/// `(status, body)`.
async fn announced_post(
    base: &str,
    path: &str,
    content_type: &str,
    length: usize,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: {base}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

async fn chunked_post(base: &str, path: &str, size: usize) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: {base}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, "z".repeat(16 * 1024));
    for _ in 0..size / (16 * 1024) {
        // The server may answer and close before everything is sent.
        if conn.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = conn.write_all(b"0\r\n\r\n").await;
    let mut answer = vec![0u8; 64];
    let n = conn.read(&mut answer).await.unwrap();
    let line = String::from_utf8_lossy(&answer[..n]).to_string();
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}

// ---- credentials in the database URL ----------------------------------------------------------

#[tokio::test]
async fn database_passwords_are_never_printed() {
    let Some(db) = testkit::postgres().await else {
        return;
    };
    let mut u = url::Url::parse(&db.url).unwrap();
    u.set_password(Some("hunter2")).unwrap();
    u.query_pairs_mut()
        .append_pair("password", "hunter3")
        .append_pair("sslpassword", "hunter4");
    // Trust authentication ignores the password: migrate succeeds and prints the URL.
    let (ok, out, err) = run(std::process::Command::new(testkit::tessera_bin())
        .args(["--database-url", u.as_str(), "migrate"])
        .env_remove("TESSERA_DATABASE_URL"));
    assert!(ok, "{err}");
    // Unreachable, and not even a URL: the errors do not print it either.
    let mut down = u.clone();
    down.set_port(Some(testkit::free_port())).unwrap();
    let (ok2, out2, err2) = run(std::process::Command::new(testkit::tessera_bin())
        .args(["--database-url", down.as_str(), "migrate"])
        .env_remove("TESSERA_DATABASE_URL"));
    assert!(!ok2);
    let (ok3, out3, err3) = run(std::process::Command::new(testkit::tessera_bin())
        .args([
            "--database-url",
            "host=db user=u password=hunter5",
            "migrate",
        ])
        .env_remove("TESSERA_DATABASE_URL"));
    assert!(!ok3);
    let all = format!("{out}{err}{out2}{err2}{out3}{err3}");
    for secret in ["hunter2", "hunter3", "hunter4", "hunter5"] {
        assert!(!all.contains(secret), "{secret} printed: {all}");
    }
    assert!(out.contains("***"), "{out}");
}

#[tokio::test]
async fn durations_too_long_for_the_clock_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    for flag in [
        "--session-idle-timeout",
        "--session-absolute-timeout",
        "--idp-timeout",
        "--attempt-retention",
        "--audit-retention",
    ] {
        // u64::MAX seconds used to wrap to a negative cookie Max-Age: every sign-in ended at once.
        for value in ["18446744073709551615s", "9223372036854775807", "36501d"] {
            let out = std::process::Command::new(testkit::tessera_bin())
                .args(["--database-url", &db, flag, value, "migrate"])
                .output()
                .expect("run tessera");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{flag} {value} accepted");
            assert!(
                stderr.contains("must be at most 36500d"),
                "{flag} {value}: {stderr}"
            );
        }
        let out = std::process::Command::new(testkit::tessera_bin())
            .args(["--database-url", &db, flag, "36500d", "migrate"])
            .output()
            .expect("run tessera");
        assert!(out.status.success(), "{flag} 36500d refused");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_compressed_as_accepted_but_never_what_holds_a_secret() {
    let db = testkit::sqlite();
    let server = TestServer::start(&db).await;
    let client = reqwest::Client::new();
    let get = |path: &str, accept: &str| {
        client
            .get(format!("{}{path}", server.url))
            .header("accept-encoding", accept)
            .send()
    };
    // A page: brotli or gzip, whichever the browser takes; never when it takes neither.
    for (accept, want) in [
        ("br", Some("br")),
        ("gzip", Some("gzip")),
        ("identity", None),
    ] {
        let r = get("/login", accept).await.unwrap();
        assert_eq!(r.status(), 200);
        let enc = r
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(enc.as_deref(), want, "{accept}");
        assert!(
            r.headers()
                .get("vary")
                .is_some_and(|v| v.to_str().unwrap().contains("accept-encoding")),
            "{accept}: Vary: Accept-Encoding"
        );
    }
    // A compressed page is smaller than the page.
    let plain = get("/login", "identity")
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let br = get("/login", "br").await.unwrap().bytes().await.unwrap();
    assert!(
        br.len() * 2 < plain.len(),
        "{} vs {}",
        br.len(),
        plain.len()
    );
    // A setup link's page (its token in the URL, its secret in the flash) never is.
    let r = get("/setup/not-a-real-token-0123456789abcdef", "br, gzip")
        .await
        .unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    assert!(r.bytes().await.unwrap().len() > 256);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fingerprinted_site_files_are_cached_immutably_and_pages_never() {
    // A site built with `hash-files = true`: tessera.<hash>.{js,wasm,css} under pkg/ and the
    // hashes in hash.txt (kept in the site root, as a deployment does).
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    let filler = "export const x = 'fingerprinted';\n".repeat(200);
    for name in [
        "tessera.Js1.js",
        "tessera.Wa2.wasm",
        "tessera.Cs3.css",
        "tessera.css",
    ] {
        std::fs::write(pkg.join(name), &filler).unwrap();
    }
    std::fs::write(
        site.path().join("hash.txt"),
        "js: Js1\nwasm: Wa2\ncss: Cs3\n",
    )
    .unwrap();
    let db = testkit::sqlite();
    let root = site.path().display().to_string();
    let server = TestServer::start_with(&db, &["--site-root", &root]).await;
    let client = reqwest::Client::new();
    let get = |path: &str| {
        client
            .get(format!("{}{path}", server.url))
            .header("accept-encoding", "br, gzip")
            .send()
    };
    let cache = |r: &reqwest::Response| {
        r.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_string())
    };
    for path in [
        "/pkg/tessera.Js1.js",
        "/pkg/tessera.Wa2.wasm",
        "/pkg/tessera.Cs3.css",
    ] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(
            cache(&r).as_deref(),
            Some("public, max-age=31536000, immutable"),
            "{path}"
        );
        // Compressed as well.
        assert!(r.headers().get("content-encoding").is_some(), "{path}");
    }
    // A plain name may change under the same address: not immutable; a missing file neither.
    for path in ["/pkg/tessera.css", "/pkg/tessera.Nope.js"] {
        let r = get(path).await.unwrap();
        assert_ne!(
            cache(&r).as_deref(),
            Some("public, max-age=31536000, immutable"),
            "{path}"
        );
    }
    // Pages stay no-store and load the fingerprinted files (read uncompressed here).
    for path in ["/login", "/", "/no-such-page"] {
        let r = get(path).await.unwrap();
        assert_eq!(cache(&r).as_deref(), Some("no-store"), "{path}");
        let r = client
            .get(format!("{}{path}", server.url))
            .header("accept-encoding", "identity")
            .send()
            .await
            .unwrap();
        assert_eq!(cache(&r).as_deref(), Some("no-store"), "{path}");
        let html = r.text().await.unwrap();
        assert!(html.contains("/pkg/tessera.Js1.js"), "{path}: {html}");
        assert!(html.contains("/pkg/tessera.Wa2.wasm"), "{path}: {html}");
    }
    // A release build's compressed twins are sent as they are, to browsers that accept them,
    // still immutable and varying with the encoding; a browser that accepts neither gets the
    // file itself. No directory is served or redirected to.
    std::fs::write(pkg.join("tessera.Wa2.wasm.br"), b"built with brotli 11").unwrap();
    std::fs::write(pkg.join("tessera.Wa2.wasm.gz"), b"built with gzip 9").unwrap();
    for (accepts, encoding, body) in [
        ("br, gzip", Some("br"), "built with brotli 11"),
        ("gzip", Some("gzip"), "built with gzip 9"),
        ("identity", None, filler.as_str()),
    ] {
        let r = client
            .get(format!("{}/pkg/tessera.Wa2.wasm", server.url))
            .header("accept-encoding", accepts)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{accepts}");
        assert_eq!(
            r.headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accepts}"
        );
        assert_eq!(
            cache(&r).as_deref(),
            Some("public, max-age=31536000, immutable"),
            "{accepts}"
        );
        // A shared cache keeps one copy per encoding.
        let vary: Vec<_> = r.headers().get_all("vary").iter().collect();
        assert_eq!(vary, ["accept-encoding"], "{accepts}");
        assert_eq!(r.text().await.unwrap(), body, "{accepts}");
    }
    std::fs::create_dir(pkg.join("sub")).unwrap();
    for path in ["/pkg/sub", "/pkg/sub/", "/pkg/", "/pkg/%2e"] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
}

/// A request whose body the server does not read to its end (refused as too large, of another
/// media type, or too long a target) is answered with `Connection: close`, so a client that
/// pools connections opens a new one for its next request instead of failing on a dead one.
/// Requests whose bodies are read keep their connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_left_unread_closes_its_connection_and_the_next_request_still_works() {
    for db in testkit::databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (_org, scim) = testkit::scim::org_with_scim(&server, "conn").await;
        let b = &scim.b;
        let big = json!({"userName": "big@x", "title": "x".repeat(1_100_000)}).to_string();
        for round in 0..15 {
            // Each refusal leaves a body unread and says so; the pooled client then opens a new
            // connection, and the request right after it succeeds.
            let refusals = [
                (
                    b.client
                        .post(format!("{}/Users", scim.base))
                        .header("authorization", format!("Bearer {}", scim.token))
                        .header("content-type", "application/scim+json")
                        .body(big.clone()),
                    413,
                ),
                (
                    b.client
                        .post(format!("{}/Users", scim.base))
                        .header("authorization", format!("Bearer {}", scim.token))
                        .header("content-type", "text/plain")
                        .body("{\"userName\":\"t@x\"}"),
                    415,
                ),
                (
                    b.client
                        .post(format!("{}/api/v1/members/role", server.url))
                        .header("origin", &server.url)
                        .header("content-type", "application/json")
                        .body("x".repeat(100 * 1024)),
                    413,
                ),
            ];
            for (request, status) in refusals {
                let r = b.send(request).await;
                assert_eq!(r.status, status, "[{kind}] round {round}: {r:?}");
                assert_eq!(
                    r.header("connection"),
                    Some("close"),
                    "[{kind}] round {round}: {r:?}"
                );
                let next = scim.get("/ServiceProviderConfig").await;
                assert_eq!(next.status, 200, "[{kind}] round {round}: {next:?}");
            }
        }
        // A body read whole keeps the connection open.
        let r = scim
            .send(
                "POST",
                "/Users",
                &json!({"userName": "kept@x", "active": true}),
            )
            .await;
        assert_eq!(r.status, 201, "[{kind}] {r:?}");
        assert_eq!(r.header("connection"), None, "[{kind}] {r:?}");
        let r = scim.get("/Users").await;
        assert_eq!(r.header("connection"), None, "[{kind}] {r:?}");
    }
}
