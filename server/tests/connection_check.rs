//! "Test connection" as an attacker would use it, on SQLite and PostgreSQL, through both entry
//! points (the SSO page's `POST /api/v1/sso/test` and a setup link's `POST /setup/<t>/test`):
//! refused destinations never reach a local listener and read the same whether or not anything
//! listens; endpoints of a discovery document on another origin get nothing (no client
//! credentials); huge answers fail cleanly; `--idp-timeout` is honoured; and the tests of one
//! org draw on one budget, shared by all its setup links and nodes.

use app::model::{Member, Org, Role};
use app::ssr::rate_limit::{ORG_TEST_LIMIT, ORG_TEST_WINDOW_MS};
use app::ssr::store::Store;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::{Browser, Resp, TestServer, count, databases, signed_in_as};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// ---- a local "IdP" that counts what reaches it -----------------------------------------------

/// How the local listener answers a request for a path.
#[derive(Clone)]
enum Reply {
    /// 200 with this JSON.
    Json(String),
    /// 200 with an endless body: announced with a huge `Content-Length`, or chunked.
    Huge { declared: bool },
    /// Accepts, reads the request and never answers.
    Silent,
}

/// How a listener picks its reply: from its own port and the request path.
type Route = dyn Fn(u16, &str) -> Reply + Send + Sync;

/// A TCP listener on a loopback address that counts connections and records request paths.
struct Listener {
    port: u16,
    accepted: Arc<AtomicUsize>,
    paths: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Listener {
    /// Listens on `ip` (port 0: any free one); `route` gets the listener's port and the path.
    async fn start(
        ip: &str,
        route: impl Fn(u16, &str) -> Reply + Send + Sync + 'static,
    ) -> Listener {
        Self::start_on(ip, 0, route).await.expect("bind")
    }

    async fn start_on(
        ip: &str,
        port: u16,
        route: impl Fn(u16, &str) -> Reply + Send + Sync + 'static,
    ) -> std::io::Result<Listener> {
        let listener = tokio::net::TcpListener::bind((ip, port)).await?;
        let port = listener.local_addr()?.port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let route = Arc::new(route);
        let (a, p) = (accepted.clone(), paths.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(socket, port, route.clone(), p.clone()));
            }
        });
        Ok(Listener {
            port,
            accepted,
            paths,
            task,
        })
    }

    /// A listener that never answers.
    async fn silent(ip: &str) -> Listener {
        Self::start(ip, |_, _| Reply::Silent).await
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn paths(&self) -> Vec<String> {
        self.paths.lock().expect("paths").clone()
    }
}

async fn answer(
    mut socket: tokio::net::TcpStream,
    port: u16,
    route: Arc<Route>,
    paths: Arc<Mutex<Vec<String>>>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65_536 {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split(' ').nth(1).unwrap_or_default().to_string();
    paths.lock().expect("paths").push(path.clone());
    match route(port, &path) {
        Reply::Json(body) => {
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(resp.as_bytes()).await;
        }
        Reply::Huge { declared } => {
            let head = if declared {
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 536870912\r\n\r\n"
            } else {
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
            };
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b' '; 64 * 1024];
            // At most 64 MiB, stopping as soon as the client hangs up.
            for _ in 0..1024 {
                let ok = if declared {
                    socket.write_all(&chunk).await.is_ok()
                } else {
                    socket.write_all(b"10000\r\n").await.is_ok()
                        && socket.write_all(&chunk).await.is_ok()
                        && socket.write_all(b"\r\n").await.is_ok()
                };
                if !ok {
                    return;
                }
            }
        }
        Reply::Silent => {
            tokio::time::sleep(Duration::from_secs(120)).await;
        }
    }
}

/// A discovery document for `http://127.0.0.1:{port}` with the given endpoints.
fn discovery_doc(port: u16, jwks: &str, token: &str, authorize: &str) -> String {
    json!({
        "issuer": format!("http://127.0.0.1:{port}"),
        "jwks_uri": jwks,
        "token_endpoint": token,
        "authorization_endpoint": authorize,
    })
    .to_string()
}

// ---- an org with a signed-in owner -------------------------------------------------------------

struct Owned {
    org: Org,
    owner: Member,
    admin: Member,
}

async fn org_with_owner(store: &Store, slug: &str) -> Owned {
    let org = store
        .create_org(slug, &format!("{slug} Inc"))
        .await
        .expect("org");
    let issuer = format!("https://{slug}.okta.test");
    let (owner, _) = store
        .insert_member(
            &org.id,
            &issuer,
            "sub-owner",
            &format!("owner@{slug}.test"),
            "Olivia",
            Role::Member,
        )
        .await
        .expect("owner");
    assert_eq!(owner.role, Role::Owner);
    let (admin, _) = store
        .insert_member(
            &org.id,
            &issuer,
            "sub-admin",
            &format!("admin@{slug}.test"),
            "Adam",
            Role::Admin,
        )
        .await
        .expect("admin");
    Owned { org, owner, admin }
}

/// Registers (or replaces) the org's connection, enabled, with the secret sealed under the
/// server's key.
async fn connect(server: &TestServer, org: &Org, issuer: &str, secret: &str) {
    // As `tessera sso set --issuer` stores it.
    let issuer = app::ssr::issuer::normalize(issuer, true).expect("issuer");
    server
        .connect(org, &issuer, "0oa-test-client", secret)
        .await;
}

async fn api_post(b: &Browser, server: &TestServer, path: &str, body: Value) -> Resp {
    let req = b
        .client
        .post(format!("{}{path}", server.url))
        .header("origin", &server.url)
        .json(&body);
    b.send(req).await
}

/// The SSO page's "Test connection": 200 and the report.
async fn sso_test(b: &Browser, server: &TestServer) -> Value {
    let r = api_post(b, server, "/api/v1/sso/test", json!({})).await;
    r.assert_status(200);
    r.json()
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name} in {report}"))
}

/// The setup page's "Test connection" with `domain` typed in, as a browser makes it: the
/// redirect back to the page (`#report`) is followed, other answers (429) returned as they are.
async fn link_test(link: &str, domain: &str) -> Resp {
    let b = Browser::new();
    let r = b
        .post_form(
            &format!("{link}/test"),
            &[
                ("okta_domain", domain),
                ("client_id", "0oa-test-client"),
                ("client_secret", "a-secret-for-the-test"),
            ],
        )
        .await;
    if r.status != 303 {
        return r;
    }
    assert!(
        r.location_raw().is_some_and(|l| l.ends_with("#report")),
        "{r:?}"
    );
    b.get(link).await
}

const REFUSED: &str = "it is not a public internet address";

// ---- the destination policy ------------------------------------------------------------------

#[tokio::test]
async fn refused_destinations_never_reach_a_local_listener() {
    for db in databases().await {
        let server = TestServer::start_strict(&db, &[]).await;
        let store = &server.store;
        let o = org_with_owner(store, "acme").await;
        let owner = signed_in_as(&server, &o.owner).await.0;
        let v4 = Listener::silent("127.0.0.1").await;
        // The same port on [::1] where the machine has IPv6 loopback.
        let v6 = Listener::start_on("::1", v4.port, |_, _| Reply::Silent)
            .await
            .ok();
        let closed = testkit::free_port();
        let p = v4.port;
        let destinations = [
            format!("https://127.0.0.1:{p}"),
            format!("https://127.0.0.1:{closed}"),
            "https://169.254.169.254".to_string(),
            format!("https://localhost:{p}"),
            format!("https://[::1]:{p}"),
            format!("https://2130706433:{p}"),
            format!("https://0x7f.1:{p}"),
            format!("https://[::ffff:127.0.0.1]:{p}"),
        ];
        let mut messages = Vec::new();
        for (i, dest) in destinations.iter().enumerate() {
            // The SSO page: the connection the operator registered.
            connect(&server, &o.org, dest, "the-secret").await;
            let report = sso_test(&owner, &server).await;
            assert_eq!(report["ok"], false, "{dest}: {report}");
            let d = check(&report, "discovery");
            assert_eq!(d["ok"], false, "{dest}: {report}");
            let message = d["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains(REFUSED), "{dest}: {message}");
            assert!(
                d["fix"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("public address"),
                "{d}"
            );
            // Not a word about the port: the same sentence whether or not it listens.
            assert!(
                !message.contains(&p.to_string()) && !message.contains(&closed.to_string()),
                "{message}"
            );
            // The rest could not run: one "not checked" line, not four failures.
            assert_eq!(
                report["checks"].as_array().map(Vec::len),
                Some(1),
                "{report}"
            );
            assert_eq!(
                report["not_checked"]["names"],
                json!([
                    "issuer",
                    "signing_keys",
                    "client_credentials",
                    "redirect_uri"
                ]),
                "{report}"
            );
            messages.push(message);

            // A setup link: whatever its holder types in (every other link works the same).
            if i % 2 == 0 || i == destinations.len() - 1 {
                let link = server.setup_link("acme");
                let r = link_test(&link, dest).await;
                r.assert_status(200);
                assert!(r.body.contains(REFUSED), "{dest}: {}", r.body);
                assert!(!r.body.contains("Connection works"), "{}", r.body);
            }
        }
        assert_eq!(
            messages[0], messages[1],
            "open and closed ports read the same"
        );
        assert_eq!(v4.accepted(), 0, "nothing reached 127.0.0.1:{p}");
        if let Some(v6) = &v6 {
            assert_eq!(v6.accepted(), 0, "nothing reached [::1]:{p}");
        }
        // Every test ran (and was audited as a failure) through both entry points.
        assert_eq!(
            count(store, "SELECT COUNT(*) AS n FROM audit_log WHERE org_id = $1 AND action = 'sso_connection_tested'", o.org.id.as_str()).await,
            destinations.len() as i64
        );
    }
}

#[tokio::test]
async fn endpoints_on_another_origin_get_nothing() {
    for db in databases().await {
        // Private destinations allowed (a local IdP), so only the origin rule stands between
        // the document and the elsewhere listener.
        let server = TestServer::start(&db).await;
        let elsewhere = Listener::start("127.0.0.1", |port, _| {
            Reply::Json(
                json!({"error": "invalid_grant", "issuer": format!("http://127.0.0.1:{port}")})
                    .to_string(),
            )
        })
        .await;
        let e = elsewhere.port;
        let idp = Listener::start("127.0.0.1", move |port, path| match path {
            "/.well-known/openid-configuration" => Reply::Json(discovery_doc(
                port,
                &format!("http://127.0.0.1:{e}/keys"),
                &format!("http://127.0.0.1:{e}/token"),
                "javascript:alert(document.domain)",
            )),
            _ => Reply::Json("{}".into()),
        })
        .await;
        let issuer = format!("http://127.0.0.1:{}", idp.port);
        let o = org_with_owner(&server.store, "acme").await;
        connect(&server, &o.org, &issuer, "the-real-secret").await;
        let owner = signed_in_as(&server, &o.owner).await.0;
        let report = sso_test(&owner, &server).await;
        assert_eq!(report["ok"], false, "{report}");
        assert_eq!(check(&report, "discovery")["ok"], true, "{report}");
        assert_eq!(check(&report, "issuer")["ok"], true, "{report}");
        for name in ["signing_keys", "client_credentials", "redirect_uri"] {
            let c = check(&report, name);
            assert_eq!(c["ok"], false, "{report}");
            let m = c["message"].as_str().unwrap_or_default();
            assert!(m.contains("Tessera sent nothing there"), "{name}: {m}");
        }
        let m = check(&report, "client_credentials")["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(m.contains("not on the issuer's own host"), "{m}");

        // The same document through a setup link.
        let link = server.setup_link("acme");
        let r = link_test(&link, &issuer).await;
        r.assert_status(200);
        assert!(r.body.contains("Tessera sent nothing there"), "{}", r.body);

        assert_eq!(
            elsewhere.accepted(),
            0,
            "no request (and no credentials) reached the other host"
        );
        assert!(
            idp.paths()
                .iter()
                .all(|p| p == "/.well-known/openid-configuration"),
            "only discovery was asked of the issuer: {:?}",
            idp.paths()
        );
    }
}

#[tokio::test]
async fn huge_answers_fail_cleanly() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let o = org_with_owner(&server.store, "acme").await;
        let owner = signed_in_as(&server, &o.owner).await.0;
        for declared in [true, false] {
            // A discovery document that never ends.
            let huge = Listener::start("127.0.0.1", move |_, _| Reply::Huge { declared }).await;
            connect(
                &server,
                &o.org,
                &format!("http://127.0.0.1:{}", huge.port),
                "s",
            )
            .await;
            let report = sso_test(&owner, &server).await;
            let d = check(&report, "discovery");
            assert_eq!(d["ok"], false, "{report}");
            assert!(
                d["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("more than 1024 KiB"),
                "{d}"
            );

            // A sane document whose signing keys never end.
            let keys = Listener::start("127.0.0.1", move |port, path| match path {
                "/.well-known/openid-configuration" => Reply::Json(discovery_doc(
                    port,
                    &format!("http://127.0.0.1:{port}/keys"),
                    &format!("http://127.0.0.1:{port}/token"),
                    &format!("http://127.0.0.1:{port}/authorize"),
                )),
                "/keys" => Reply::Huge { declared },
                _ => Reply::Json(r#"{"error":"invalid_grant"}"#.into()),
            })
            .await;
            let issuer = format!("http://127.0.0.1:{}", keys.port);
            connect(&server, &o.org, &issuer, "s").await;
            let report = sso_test(&owner, &server).await;
            assert_eq!(check(&report, "discovery")["ok"], true, "{report}");
            let k = check(&report, "signing_keys");
            assert_eq!(k["ok"], false, "{report}");
            assert!(
                k["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("more than 1024 KiB"),
                "{k}"
            );
            assert_eq!(check(&report, "client_credentials")["ok"], true, "{report}");

            let link = server.setup_link("acme");
            let r = link_test(&link, &format!("http://127.0.0.1:{}", huge.port)).await;
            r.assert_status(200);
            assert!(r.body.contains("more than 1024 KiB"), "{}", r.body);
        }
        Browser::new()
            .get(&format!("{}/healthz", server.url))
            .await
            .assert_status(200);
    }
}

#[tokio::test]
async fn the_check_gives_up_after_the_idp_timeout() {
    for db in databases().await {
        let server = TestServer::start_with(&db, &["--idp-timeout", "1s"]).await;
        let silent = Listener::silent("127.0.0.1").await;
        let issuer = format!("http://127.0.0.1:{}", silent.port);
        let o = org_with_owner(&server.store, "acme").await;
        connect(&server, &o.org, &issuer, "s").await;
        let owner = signed_in_as(&server, &o.owner).await.0;
        let started = Instant::now();
        let report = sso_test(&owner, &server).await;
        let d = check(&report, "discovery");
        assert_eq!(d["ok"], false, "{report}");
        assert!(
            d["message"]
                .as_str()
                .unwrap_or_default()
                .contains("did not answer within 1 s"),
            "{d}"
        );
        let link = server.setup_link("acme");
        let r = link_test(&link, &issuer).await;
        r.assert_status(200);
        assert!(r.body.contains("did not answer within 1 s"), "{}", r.body);
        // Far below the former fixed 10 s per test (generous: the machine may be busy).
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{:?}",
            started.elapsed()
        );
        assert!(silent.accepted() >= 2);
    }
}

// ---- one budget per org ----------------------------------------------------------------------

#[tokio::test]
async fn connection_tests_share_one_budget_per_org_across_links_and_nodes() {
    for db in databases().await {
        let a = TestServer::start_strict(&db, &[]).await;
        // A second node with the same secret key, on the same clock.
        let b = TestServer::start_on_clock(
            &db,
            0,
            Some(a.config.secret_key_file.clone()),
            a.clock.clone(),
            &[testkit::STRICT],
        )
        .await;
        let store = &a.store;
        let o = org_with_owner(store, "acme").await;
        let other = org_with_owner(store, "globex").await;
        // Refused at once: the budget is about how often, whatever the destination.
        connect(&a, &o.org, "https://127.0.0.1:9", "the-secret").await;
        connect(&a, &other.org, "https://10.0.0.1:9", "the-secret").await;
        let owner_a = signed_in_as(&a, &o.owner).await.0;
        let owner_b = signed_in_as(&b, &o.owner).await.0;
        let admin_b = signed_in_as(&b, &o.admin).await.0;
        let links = [a.setup_link("acme"), a.setup_link("acme")];
        let mut used = 0;
        // Setup links (two links, both nodes), secret rotation and the SSO page's test.
        for (i, link) in links.iter().enumerate() {
            let url = if i == 0 {
                link.clone()
            } else {
                link.replace(&a.url, &b.url)
            };
            for _ in 0..3 {
                link_test(&url, "https://127.0.0.1:9")
                    .await
                    .assert_status(200);
                used += 1;
            }
        }
        let r = api_post(
            &owner_b,
            &b,
            "/api/v1/sso/rotate-secret",
            json!({"client_secret": "new-secret-1234"}),
        )
        .await;
        r.assert_status(400);
        used += 1;
        while used < ORG_TEST_LIMIT {
            let (client, server) = if used % 2 == 0 {
                (&owner_a, &a)
            } else {
                (&admin_b, &b)
            };
            sso_test(client, server).await;
            used += 1;
        }

        // The budget is spent: every entry point, every node, every link says so.
        for (client, server) in [(&owner_a, &a), (&admin_b, &b)] {
            let r = api_post(client, server, "/api/v1/sso/test", json!({})).await;
            r.assert_status(429);
            let j = r.json();
            assert_eq!(j["error"], "rate_limited", "{j}");
            let m = j["message"].as_str().unwrap_or_default();
            assert!(m.starts_with("Too many connection tests"), "{m}");
            assert!(m.contains("try again in 10 minutes"), "{m}");
            let retry: i64 = r
                .header("retry-after")
                .expect("Retry-After")
                .parse()
                .expect("secs");
            assert!((1..=600).contains(&retry), "{retry}");
        }
        let r = api_post(
            &owner_a,
            &a,
            "/api/v1/sso/rotate-secret",
            json!({"client_secret": "new-secret-5678"}),
        )
        .await;
        r.assert_status(429);
        let fresh = b.setup_link("acme");
        let r = link_test(&fresh, "https://127.0.0.1:9").await;
        r.assert_status(429);
        assert_eq!(r.reason().as_deref(), Some("rate_limited"));
        assert!(
            r.body
                .contains("Too many connection tests for this organization"),
            "{}",
            r.body
        );
        assert!(r.header("retry-after").is_some());

        // Refused tests ran nothing: the audit log has exactly the tests that ran.
        let tested = count(store, "SELECT COUNT(*) AS n FROM audit_log WHERE org_id = $1 AND action = 'sso_connection_tested'", o.org.id.as_str()).await;
        let link_tests = count(store, "SELECT COUNT(*) AS n FROM audit_log WHERE org_id = $1 AND action = 'setup_link_test_failed'", o.org.id.as_str()).await;
        assert_eq!(
            tested + link_tests + 1,
            ORG_TEST_LIMIT,
            "{tested} + {link_tests} + 1 rotation"
        );
        assert_eq!(
            count(
                store,
                "SELECT attempts AS n FROM connection_test_budget WHERE org_id = $1",
                o.org.id.as_str()
            )
            .await,
            ORG_TEST_LIMIT
        );

        // Another org has its own budget.
        let globex = signed_in_as(&b, &other.owner).await.0;
        assert_eq!(sso_test(&globex, &b).await["ok"], false);

        // A new window.
        a.advance(Duration::from_millis(ORG_TEST_WINDOW_MS as u64 + 1000));
        sso_test(&owner_a, &a).await;
        link_test(&fresh, "https://127.0.0.1:9")
            .await
            .assert_status(200);
    }
}

#[tokio::test]
async fn concurrent_tests_never_exceed_the_budget() {
    for db in databases().await {
        let server = TestServer::start_strict(&db, &[]).await;
        let o = org_with_owner(&server.store, "acme").await;
        connect(&server, &o.org, "https://127.0.0.1:9", "s").await;
        let owner = Arc::new(signed_in_as(&server, &o.owner).await.0);
        let server = Arc::new(server);
        let mut tasks = Vec::new();
        for _ in 0..(ORG_TEST_LIMIT + 10) {
            let (owner, server) = (owner.clone(), server.clone());
            tasks.push(tokio::spawn(async move {
                api_post(&owner, &server, "/api/v1/sso/test", json!({}))
                    .await
                    .status
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.expect("task"));
        }
        let ok = statuses.iter().filter(|s| **s == 200).count() as i64;
        let limited = statuses.iter().filter(|s| **s == 429).count() as i64;
        assert_eq!((ok, limited), (ORG_TEST_LIMIT, 10), "{statuses:?}");
    }
}
