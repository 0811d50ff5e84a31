//! Test support: a fresh database per test (a temp SQLite file, and a fresh PostgreSQL
//! database when one is reachable), the real server in-process on a free port, and the local
//! Okta (end2end/okta-dev) as a child process.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncBufReadExt as _;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database for one test; dropped PostgreSQL databases are removed.
pub struct TestDb {
    pub kind: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg_admin.take() {
            // Best effort: drop the per-test database on a separate thread/runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        use sqlx::Connection as _;
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
}

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
    use sqlx::Connection as _;
    let admin = std::env::var("TESSERA_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_string());
    let required = std::env::var("TESSERA_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) => {
            if required {
                panic!("TESSERA_REQUIRE_POSTGRES=1 but PostgreSQL at {admin} is unreachable: {e}");
            }
            eprintln!(
                "!!!!! SKIPPING the PostgreSQL leg of this test: {admin} is unreachable ({e}) !!!!!"
            );
            return None;
        }
    };
    let name = format!("tessera_t_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let mut url = url::Url::parse(&admin).expect("postgres url");
    url.set_path(&format!("/{name}"));
    Some(TestDb {
        kind: "postgres",
        url: url.to_string(),
        _dir: None,
        pg_admin: Some((admin, name)),
    })
}

/// SQLite always, plus PostgreSQL when reachable: run a test body on each.
pub async fn databases() -> Vec<TestDb> {
    let mut dbs = vec![sqlite()];
    if let Some(pg) = postgres().await {
        dbs.push(pg);
    }
    dbs
}

/// Path of the built `tessera` binary (integration tests run it as a real process).
pub fn tessera_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tessera"))
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The local Okta (end2end/okta-dev) running as a child process; killed on drop.
pub struct OktaDev {
    pub issuer: String,
    child: tokio::process::Child,
}

impl OktaDev {
    /// Starts okta-dev with the given clients (JSON array, see end2end/okta-dev/README.md).
    pub async fn start(clients: serde_json::Value) -> OktaDev {
        Self::start_on(free_port(), clients).await
    }

    /// Starts okta-dev on `port` (e.g. again on the port of a stopped one: same issuer).
    pub async fn start_on(port: u16, clients: serde_json::Value) -> OktaDev {
        Self::start_on_with_env(port, clients, &[]).await
    }

    /// Like [`OktaDev::start_on`], with extra environment (e.g. `OKTA_DEV_ISSUER_PATH`).
    pub async fn start_on_with_env(
        port: u16,
        clients: serde_json::Value,
        env: &[(&str, &str)],
    ) -> OktaDev {
        let root = repo_root().join("end2end");
        assert!(
            root.join("node_modules/oidc-provider").is_dir(),
            "end2end/node_modules is missing: run `npm ci` in end2end/ (make test does)"
        );
        let mut child = tokio::process::Command::new("node")
            .arg(root.join("okta-dev/server.mjs"))
            .env("PORT", port.to_string())
            .env("OKTA_DEV_CLIENTS", clients.to_string())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start node end2end/okta-dev/server.mjs");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(issuer) = line.strip_prefix("okta-dev ready ") {
                    return Some(issuer.trim().to_string());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("okta-dev did not become ready");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        OktaDev {
            issuer: ready,
            child,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        url::Url::parse(&self.issuer)
            .ok()
            .and_then(|u| u.port())
            .expect("issuer port")
    }

    /// Kills it and waits until it has exited (its port is closed afterwards).
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
    }

    pub async fn rotate_keys(&self, drop_old: bool) {
        let url = format!(
            "{}/__dev/rotate-keys{}",
            self.issuer,
            if drop_old { "?drop_old=1" } else { "" }
        );
        let r = reqwest::Client::new()
            .post(url)
            .send()
            .await
            .expect("rotate keys");
        assert!(r.status().is_success());
    }

    pub async fn set_email(&self, user: &str, email: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/__dev/users/{user}/email", self.issuer))
            .json(&serde_json::json!({ "email": email }))
            .send()
            .await
            .expect("set email");
        assert!(r.status().is_success());
    }
}

impl Drop for OktaDev {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The real Tessera router and store, in-process on a free port, with its own secret key.
/// In the flags of [`TestServer::start_on`]: start without `--allow-http-issuers` (not a flag
/// of `tessera`; see [`TestServer::start_strict`]).
#[allow(dead_code)]
pub const STRICT: &str = "<strict>";

pub struct TestServer {
    pub url: String,
    pub store: app::ssr::store::Store,
    pub config: tessera::config::Config,
    dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    /// Starts Tessera on `db` with http issuers allowed (the local Okta is http).
    pub async fn start(db: &TestDb) -> TestServer {
        Self::start_with(db, &[]).await
    }

    /// Starts Tessera with extra global flags, e.g. `["--session-idle-timeout", "2s"]`.
    pub async fn start_with(db: &TestDb, extra: &[&str]) -> TestServer {
        Self::start_on(db, 0, None, extra).await
    }

    /// Starts Tessera as in production: http issuers and non-public destinations refused
    /// (no `--allow-http-issuers`).
    pub async fn start_strict(db: &TestDb, extra: &[&str]) -> TestServer {
        let mut flags = vec![STRICT];
        flags.extend_from_slice(extra);
        Self::start_on(db, 0, None, &flags).await
    }

    /// Starts Tessera on 127.0.0.1:`port` (0: any free port; a port just released is retried
    /// for a few seconds) with the secret key in `key_file` (default: a new one in a temp dir).
    pub async fn start_on(
        db: &TestDb,
        port: u16,
        key_file: Option<PathBuf>,
        extra: &[&str],
    ) -> TestServer {
        use clap::Parser as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    eprintln!("bind 127.0.0.1:{port}: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("bind 127.0.0.1:{port}: {e}"),
            }
        };
        let addr = listener.local_addr().expect("addr");
        let url = format!("http://{addr}");
        let key_file = key_file.unwrap_or_else(|| dir.path().join("secret.key"));
        let mut args: Vec<String> = vec![
            "tessera".into(),
            "--database-url".into(),
            db.url.clone(),
            "--public-url".into(),
            url.clone(),
            "--bind".into(),
            addr.to_string(),
            "--secret-key-file".into(),
            key_file.display().to_string(),
        ];
        if !extra.contains(&STRICT) {
            args.push("--allow-http-issuers".into());
        }
        let extra: Vec<&str> = extra.iter().copied().filter(|f| *f != STRICT).collect();
        if !extra.contains(&"--idp-timeout") {
            args.extend(["--idp-timeout".into(), "5s".into()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push("serve".into());
        let cli = tessera::config::Cli::try_parse_from(&args).expect("test config");
        let config = cli.config;
        let store = tessera::open_store(&config).await.expect("open store");
        let key = app::ssr::crypto::SecretKey::load_or_create(&key_file).expect("key");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (c, s) = (config.clone(), store.clone());
        tokio::spawn(async move {
            let _ = tessera::http::serve_on(listener, c, s, key, async {
                let _ = rx.await;
            })
            .await;
        });
        TestServer {
            url,
            store,
            config,
            dir,
            shutdown: Some(tx),
        }
    }

    /// The `tessera` binary as a real process with this server's database, key and public URL.
    pub fn cli(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(tessera_bin());
        cmd.arg("--database-url")
            .arg(&self.config.database_url)
            .arg("--public-url")
            .arg(&self.config.public_url)
            .arg("--secret-key-file")
            .arg(&self.config.secret_key_file)
            .arg("--allow-http-issuers")
            .env_remove("TESSERA_DATABASE_URL");
        cmd
    }

    /// Registers org `slug` with an Okta connection to `issuer` and enables SSO (via the CLI).
    pub fn register_org(&self, slug: &str, issuer: &str, client_id: &str, secret: &str) {
        run_ok(
            self.cli()
                .args(["org", "create", slug, "--name", &format!("{slug} Inc")]),
        );
        let secret_file = self.dir.path().join(format!("{slug}.secret"));
        std::fs::write(&secret_file, secret).expect("write secret");
        run_ok(
            self.cli()
                .args([
                    "sso",
                    "set",
                    slug,
                    "--issuer",
                    issuer,
                    "--client-id",
                    client_id,
                    "--client-secret-file",
                ])
                .arg(&secret_file),
        );
        run_ok(self.cli().args(["sso", "enable", slug]));
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Runs a command, asserting success; returns stdout.
pub fn run_ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("run command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---- a browser you can watch ------------------------------------------------------------------

/// One HTTP exchange as a browser saw it.
#[derive(Debug, Clone)]
pub struct Resp {
    pub method: String,
    pub url: url::Url,
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The raw `Location` header.
    pub fn location_raw(&self) -> Option<&str> {
        self.header("location")
    }

    /// `Location` resolved against the request URL.
    pub fn location(&self) -> Option<url::Url> {
        self.location_raw().and_then(|l| self.url.join(l).ok())
    }

    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status) && self.location_raw().is_some()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    /// The reason code of one of Tessera's problem pages (`data-reason="..."`).
    pub fn reason(&self) -> Option<String> {
        let start = self.body.find("data-reason=\"")? + "data-reason=\"".len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].to_string())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {} is not JSON ({e}): {}",
                self.method, self.url, self.body
            )
        })
    }

    /// Panics with the whole exchange when `status` differs.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "{} {} answered {} (expected {status}); location {:?}; body:\n{}",
            self.method,
            self.url,
            self.status,
            self.location_raw(),
            self.body
        );
        self
    }
}

/// Where a sign-in got to.
#[derive(Debug)]
pub struct SignIn {
    /// Every response in order, the last one included.
    pub hops: Vec<Resp>,
    /// Where Tessera sent the browser at the IdP (the authorization request).
    pub authorize_url: Option<url::Url>,
    /// The IdP's redirect back to Tessera (`/sso/callback?...`), when it got that far.
    pub callback_url: Option<url::Url>,
    /// Tessera's answer to the callback, or the last response when the flow stopped earlier.
    pub response: Resp,
}

impl SignIn {
    /// True when the callback answered with a redirect into Tessera (a completed sign-in).
    pub fn landed(&self) -> bool {
        self.callback_url.is_some() && self.response.status == 303
    }
}

/// A cookie-keeping HTTP client that never follows redirects by itself, so tests see each hop.
#[derive(Clone)]
pub struct Browser {
    pub client: reqwest::Client,
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        Self::with_timeout(Duration::from_secs(30))
    }

    /// A browser whose every request gives up after `timeout`.
    pub fn with_timeout(timeout: Duration) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .timeout(timeout)
            // Below okta-dev's (Node's) 5 s keep-alive timeout: never reuse a closing connection.
            .pool_idle_timeout(Duration::from_secs(4))
            .build()
            .expect("client");
        Browser { client, jar }
    }

    /// Like [`Browser::send`], but a transport failure (e.g. a timeout) is an `Err`, not a panic.
    pub async fn try_send(&self, request: reqwest::RequestBuilder) -> Result<Resp, String> {
        let request = request.build().map_err(|e| e.to_string())?;
        let method = request.method().to_string();
        let url = request.url().clone();
        let r = self
            .client
            .execute(request)
            .await
            .map_err(|e| format!("{method} {url}: {e:?}"))?;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r
            .text()
            .await
            .map_err(|e| format!("{method} {url}: reading the body: {e:?}"))?;
        Ok(Resp {
            method,
            url,
            status,
            headers,
            body,
        })
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Resp {
        let request = request.build().expect("request");
        let method = request.method().to_string();
        let url = request.url().clone();
        let r = self
            .client
            .execute(request)
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.text().await.unwrap_or_default();
        Resp {
            method,
            url,
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, url: &str) -> Resp {
        self.send(self.client.get(url)).await
    }

    /// A POST as a browser makes it from a page at `from` (whose origin goes in `Origin`).
    pub fn post(&self, from: &str, url: &str) -> reqwest::RequestBuilder {
        self.client.post(url).header("origin", origin_of(from))
    }

    /// A form POST from one of the target's own pages (same origin).
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Resp {
        self.send(self.post(url, url).form(form)).await
    }

    /// A form POST from a page at `from` (e.g. Okta's) to `url`.
    pub async fn post_form_from(&self, from: &str, url: &str, form: &[(&str, &str)]) -> Resp {
        self.send(self.post(from, url).form(form)).await
    }

    /// Follows redirects (as GETs) from `first` until a non-redirect answer; returns every hop.
    pub async fn follow(&self, first: Resp) -> Vec<Resp> {
        let mut hops = vec![first];
        while let Some(next) = hops
            .last()
            .and_then(|r| r.is_redirect().then(|| r.location()).flatten())
        {
            assert!(hops.len() < 20, "redirect loop: {hops:#?}");
            hops.push(self.get(next.as_str()).await);
        }
        hops
    }

    /// A cookie the jar would send to `base`.
    pub fn cookie(&self, base: &str, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore as _;
        let url = url::Url::parse(base).expect("url");
        let header = self.jar.cookies(&url)?;
        header.to_str().ok()?.split(';').find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
    }

    /// Plants a cookie for `base` (as an attacker or a stale tab would).
    pub fn set_cookie(&self, base: &str, name: &str, value: &str) {
        let url = url::Url::parse(base).expect("url");
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }

    /// Tessera's session cookie value, if any.
    pub fn session_cookie(&self, tessera: &str) -> Option<String> {
        self.cookie(tessera, "tessera_session")
    }

    /// `GET /api/v1/me`: who this browser is signed in as (401 when nobody).
    pub async fn session(&self, tessera: &str) -> Resp {
        self.get(&format!("{tessera}/api/v1/me")).await
    }

    /// Drives a sign-in from `start` (Tessera's `/sso/initiate?...` or `/sso/start?...`) through
    /// the IdP — filling okta-dev's sign-in form with `username`/`password` when it shows one —
    /// up to the IdP's redirect back to Tessera's callback, which is *not* requested.
    pub async fn drive_to_callback(
        &self,
        tessera: &str,
        start: Resp,
        username: &str,
        password: &str,
    ) -> SignIn {
        let base = url::Url::parse(tessera).expect("tessera url");
        let callback_prefix = format!("{tessera}/sso/callback");
        let mut hops = vec![];
        let mut authorize_url = None;
        let mut posted = false;
        let mut resp = start;
        loop {
            assert!(hops.len() < 30, "too many hops: {hops:#?}");
            let next = if resp.is_redirect() {
                let to = resp.location().expect("location");
                if resp.url.origin() == base.origin()
                    && to.origin() != base.origin()
                    && authorize_url.is_none()
                {
                    authorize_url = Some(to.clone());
                }
                if to.as_str().starts_with(&callback_prefix) {
                    hops.push(resp.clone());
                    return SignIn {
                        hops,
                        authorize_url,
                        callback_url: Some(to),
                        response: resp,
                    };
                }
                Some(self.client.get(to.as_str()))
            } else if resp.status == 200 && !posted && resp.body.contains("action=\"/interaction/")
            {
                posted = true;
                let start = resp.body.find("action=\"").expect("form") + "action=\"".len();
                let end = resp.body[start..].find('"').expect("form end");
                let action = resp
                    .url
                    .join(&resp.body[start..start + end])
                    .expect("action");
                Some(
                    self.post(resp.url.as_str(), action.as_str())
                        .form(&[("username", username), ("password", password)]),
                )
            } else {
                None
            };
            hops.push(resp.clone());
            match next {
                Some(request) => resp = self.send(request).await,
                None => {
                    return SignIn {
                        hops,
                        authorize_url,
                        callback_url: None,
                        response: resp,
                    };
                }
            }
        }
    }

    /// A whole sign-in: GET `start_url`, through the IdP, then Tessera's callback; the callback's
    /// answer (normally a 303 into Tessera) is `response`.
    pub async fn sign_in(
        &self,
        tessera: &str,
        start_url: &str,
        username: &str,
        password: &str,
    ) -> SignIn {
        let first = self.get(start_url).await;
        self.sign_in_from(tessera, first, username, password).await
    }

    /// Like [`Browser::sign_in`], from an already made first request (e.g. a form POST).
    pub async fn sign_in_from(
        &self,
        tessera: &str,
        first: Resp,
        username: &str,
        password: &str,
    ) -> SignIn {
        let mut flow = self
            .drive_to_callback(tessera, first, username, password)
            .await;
        if let Some(callback) = flow.callback_url.clone() {
            let resp = self.get(callback.as_str()).await;
            flow.hops.push(resp.clone());
            flow.response = resp;
        }
        flow
    }
}

/// The origin of a URL as browsers send it in `Origin` (`scheme://host[:port]`).
pub fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .expect("url")
        .origin()
        .ascii_serialization()
}

/// `/sso/initiate?iss=<issuer>` of a Tessera at `tessera`.
pub fn initiate_url(tessera: &str, issuer: &str) -> String {
    let mut u = url::Url::parse(&format!("{tessera}/sso/initiate")).expect("url");
    u.query_pairs_mut().append_pair("iss", issuer);
    u.to_string()
}

/// The first value of a query parameter.
pub fn query_param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// How many stored sessions carry a signed-in member.
pub async fn signed_in_sessions(store: &app::ssr::store::Store) -> i64 {
    use sqlx::Row as _;
    sqlx::query("SELECT COUNT(*) AS n FROM sessions WHERE member_id IS NOT NULL")
        .fetch_one(store.pool())
        .await
        .expect("count sessions")
        .try_get("n")
        .expect("n")
}

/// Login attempts with `reason`, whatever their org (some failures know no org).
pub async fn attempts_with_reason(store: &app::ssr::store::Store, reason: &str) -> i64 {
    use sqlx::Row as _;
    sqlx::query("SELECT COUNT(*) AS n FROM login_attempts WHERE reason = $1")
        .bind(reason)
        .fetch_one(store.pool())
        .await
        .expect("count attempts")
        .try_get("n")
        .expect("n")
}

/// The org named `slug` (must exist).
pub async fn org(store: &app::ssr::store::Store, slug: &str) -> app::model::Org {
    store
        .org_by_slug(slug)
        .await
        .expect("org lookup")
        .expect("org exists")
}

/// A member of `org_id` keyed to (`issuer`, `sub`), with email `{sub}@example.test` and name
/// `sub`, through the store's insert (the org's first member becomes its owner).
pub async fn add_member(
    store: &app::ssr::store::Store,
    org_id: &str,
    issuer: &str,
    sub: &str,
    role: app::model::Role,
) -> app::model::Member {
    store
        .insert_member(
            org_id,
            issuer,
            sub,
            &format!("{sub}@example.test"),
            sub,
            role,
        )
        .await
        .expect("insert member")
        .0
}

/// A browser signed in as `m`: a session row as the sign-in stores it (no Okta round trip),
/// with its cookie planted. Returns the browser and the session id.
pub async fn signed_in_as(server: &TestServer, m: &app::model::Member) -> (Browser, String) {
    use app::ssr::store::now_ms;
    let id = tower_sessions::session::Id::default().to_string();
    let data = serde_json::json!({
        "member_id": m.id, "org_id": m.org_id, "absolute_expiry": now_ms() + 3_600_000,
    });
    assert!(
        server
            .store
            .session_insert(&id, &data.to_string(), now_ms() + 3_600_000, Some(&m.id))
            .await
            .expect("session insert")
    );
    let b = Browser::new();
    b.set_cookie(&server.url, "tessera_session", &id);
    (b, id)
}
