//! The real Tessera router and store in-process on a free port ([`TestServer`]), and a client
//! signed in to its JSON API ([`ApiClient`]).
//!
//! Each server runs on a test clock ([`ManualClock`]): it reads the system time until a test
//! calls [`TestServer::advance`], which moves every "now" of the server forward (flow, session
//! and setup-link expiry, rate-limit windows, the retention purge, cached IdP failures) without
//! sleeping. Nodes that must agree on the time share one clock ([`TestServer::start_with_clock`]).

use crate::browser::{Browser, Resp};
use crate::db::TestDb;
use crate::process::{Flags, run, run_ok};
use app::model::{Member, Org};
use app::ssr::crypto::SecretKey;
use app::ssr::store::{ManualClock, Store};
use std::path::PathBuf;
use std::time::Duration;

/// In the flags of [`TestServer::start_on`]: start without `--allow-http-issuers` (not a flag
/// of `tessera`; see [`TestServer::start_strict`]).
pub const STRICT: &str = "<strict>";

/// Tessera serving on 127.0.0.1 from this process, with its own secret key file; stops when
/// dropped.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`, also its public URL.
    pub url: String,
    /// The server's own store (same pool), for arranging and checking rows.
    pub store: Store,
    /// The configuration it was started with (`config.public_url`: what it answers as).
    pub config: tessera::config::Config,
    /// The server's clock (shared with `store`): [`TestServer::advance`] moves it.
    pub clock: ManualClock,
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

    /// Starts Tessera on `clock` (e.g. another server's, so two nodes see the same time).
    pub async fn start_with_clock(db: &TestDb, clock: &ManualClock, extra: &[&str]) -> TestServer {
        Self::start_on_clock(db, 0, None, clock.clone(), extra).await
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
    /// `--idp-timeout` is 5s unless `extra` sets it.
    pub async fn start_on(
        db: &TestDb,
        port: u16,
        key_file: Option<PathBuf>,
        extra: &[&str],
    ) -> TestServer {
        Self::start_on_clock(db, port, key_file, ManualClock::new(), extra).await
    }

    /// [`TestServer::start_on`] with the server's clock.
    pub async fn start_on_clock(
        db: &TestDb,
        port: u16,
        key_file: Option<PathBuf>,
        clock: ManualClock,
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
        // Another node's public URL may be given in `extra` (several nodes behind one name).
        let public_url = extra
            .iter()
            .position(|f| *f == "--public-url")
            .and_then(|i| extra.get(i + 1))
            .map_or(url.clone(), |u| u.to_string());
        let mut args: Vec<String> = vec![
            "tessera".into(),
            "--database-url".into(),
            db.url.clone(),
            "--public-url".into(),
            public_url,
            "--bind".into(),
            addr.to_string(),
            "--secret-key-file".into(),
            key_file.display().to_string(),
        ];
        if !extra.contains(&STRICT) {
            args.push("--allow-http-issuers".into());
        }
        let mut extra: Vec<&str> = extra.iter().copied().filter(|f| *f != STRICT).collect();
        if let Some(i) = extra.iter().position(|f| *f == "--public-url") {
            extra.drain(i..(i + 2).min(extra.len()));
        }
        if !extra.contains(&"--idp-timeout") {
            args.extend(["--idp-timeout".into(), "5s".into()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push("serve".into());
        let cli = tessera::config::Cli::try_parse_from(&args).expect("test config");
        let config = cli.config;
        let store = tessera::open_store(&config)
            .await
            .expect("open store")
            .with_clock(clock.clock());
        let key = SecretKey::load_or_create(&key_file).expect("key");
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
            clock,
            dir,
            shutdown: Some(tx),
        }
    }

    /// Moves the server's time forward by `by` (instead of sleeping until something expires).
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Now on the server's clock, in unix ms.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The CLI's global flags for this server's database, key and public URL (http issuers
    /// allowed).
    pub fn flags(&self) -> Flags {
        Flags::new(&self.config.database_url, &self.config.secret_key_file)
            .public_url(&self.config.public_url)
    }

    /// The `tessera` binary as a real process with this server's database, key and public URL.
    pub fn cli(&self) -> std::process::Command {
        self.flags().command()
    }

    /// Runs the CLI with `args`: (success, stdout, stderr).
    pub fn cli_run(&self, args: &[&str]) -> (bool, String, String) {
        run(self.cli().args(args))
    }

    /// Runs the CLI with `args`, asserting success; returns stdout.
    #[track_caller]
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.cli_run(args);
        assert!(ok, "{args:?} failed: {out}{err}");
        out
    }

    /// Registers org `slug` with an Okta connection to `issuer` and enables SSO (via the CLI).
    pub fn register_org(&self, slug: &str, issuer: &str, client_id: &str, secret: &str) {
        if let Err(e) = self
            .flags()
            .register_org(self.dir.path(), slug, issuer, client_id, secret)
        {
            panic!("register org {slug}: {e}");
        }
    }

    /// A new setup link for `slug` made with the CLI; returns its URL (the first line).
    pub fn setup_link(&self, slug: &str) -> String {
        let out = run_ok(self.cli().args(["org", "setup-link", slug]));
        out.lines().next().expect("url line").trim().to_string()
    }

    /// The server's secret key.
    pub fn secret_key(&self) -> SecretKey {
        SecretKey::load_or_create(&self.config.secret_key_file).expect("secret key")
    }

    /// Stores an Okta connection for `org` straight in the store, with `secret` sealed under
    /// the server's key, and enables SSO. `issuer` is stored as given.
    pub async fn connect(&self, org: &Org, issuer: &str, client_id: &str, secret: &str) {
        let sealed = self.secret_key().seal(&org.id, secret);
        self.store
            .set_sso_connection(org, issuer, client_id, &sealed)
            .await
            .expect("connection");
        self.store.set_sso_enabled(org, true).await.expect("enable");
    }

    /// A client of this server's JSON API signed in as `m` (a stored session, no Okta).
    pub async fn api_as(&self, m: &Member) -> ApiClient {
        ApiClient::new(self, m).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A client of one server's JSON API (no browser): its session cookie, and the server's own
/// `Origin` on POSTs, as the pages send them.
pub struct ApiClient {
    /// The browser underneath (its cookie jar holds the session).
    pub b: Browser,
    /// The server's URL.
    pub url: String,
}

impl ApiClient {
    /// Signed in as `m`: a session row as the sign-in stores it, its cookie planted.
    pub async fn new(server: &TestServer, m: &Member) -> ApiClient {
        let sid = crate::fixtures::session_for(&server.store, m).await;
        ApiClient::with_cookie(server, &sid)
    }

    /// Presenting `tessera_session=<sid>`.
    pub fn with_cookie(server: &TestServer, sid: &str) -> ApiClient {
        let b = Browser::new();
        b.set_cookie(&server.url, "tessera_session", sid);
        ApiClient {
            b,
            url: server.url.clone(),
        }
    }

    /// Without a session.
    pub fn anonymous(server: &TestServer) -> ApiClient {
        ApiClient {
            b: Browser::new(),
            url: server.url.clone(),
        }
    }

    /// `GET <server><path>`.
    pub async fn get(&self, path: &str) -> Resp {
        self.b.get(&format!("{}{path}", self.url)).await
    }

    /// `POST <server><path>` with a JSON body, from the server's own origin.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> Resp {
        let req = self
            .b
            .client
            .post(format!("{}{path}", self.url))
            .header("origin", &self.url)
            .json(&body);
        self.b.send(req).await
    }
}
