//! Several nodes: two `tessera serve` processes (the real binary) on different ports share one
//! fresh PostgreSQL database and one secret key file. Both are started with node A's URL as the
//! public URL, as behind a load balancer: Okta redirects to A's callback, and the test sends
//! requests to either node the way a balancer without sticky sessions might.
//!
//! Proven: a sign-in started on A completes on B; a session made on one node is valid on the
//! other; a deactivation on A refuses the member's next request on B at once; a client secret
//! rotated through A (after Okta's changed) is what B's next sign-in uses; each node's
//! `/metrics` and JSON log lines record the attempts it handled.

use serde_json::{Value, json};
use std::path::Path;
use testkit::process::Launch;
use testkit::{Browser, Flags, Node, OktaDev, Resp, initiate_url, okta_client};

const CLIENT_ID: &str = "tessera-multi";
const SECRET_1: &str = "multi-secret-one-0123456789";
const SECRET_2: &str = "multi-secret-two-9876543210";

/// What the test reads from a node besides its answers.
trait Observed {
    /// The node's `tessera::login` log lines (JSON), in order.
    fn login_lines(&self) -> Vec<Value>;
    /// Its `/metrics` exposition.
    async fn metrics(&self) -> String;
}

impl Observed for Node {
    fn login_lines(&self) -> Vec<Value> {
        read(&self.log)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["target"] == "tessera::login")
            .collect()
    }

    async fn metrics(&self) -> String {
        let r = Browser::new().get(&format!("{}/metrics", self.url)).await;
        r.assert_status(200);
        r.body
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
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

fn clients(public_url: &str, secret: &str) -> Value {
    json!([okta_client(
        public_url,
        CLIENT_ID,
        secret,
        "Tessera (Multi)"
    )])
}

/// `url` with its port replaced: what a load balancer does when it picks the other node.
fn on_port(url: &url::Url, port: u16) -> String {
    let mut u = url.clone();
    u.set_port(Some(port)).expect("port");
    u.to_string()
}

/// Signs `user` in: the flow starts at `start_node`, and Okta's redirect to the public (A's)
/// callback is delivered to `callback_node` instead. Returns Tessera's answer to the callback.
async fn sign_in_across(
    browser: &Browser,
    public_url: &str,
    start_node: &str,
    issuer: &str,
    callback_port: u16,
    user: &str,
) -> Resp {
    let first = browser.get(&initiate_url(start_node, issuer)).await;
    let flow = browser
        .drive_to_callback(public_url, first, user, "password")
        .await;
    let callback = flow.callback_url.unwrap_or_else(|| {
        panic!(
            "{user}: Okta never redirected to the callback: {:#?}",
            flow.hops
        )
    });
    assert_eq!(
        callback.as_str().split('?').next(),
        Some(format!("{public_url}/sso/callback").as_str())
    );
    browser.get(&on_port(&callback, callback_port)).await
}

async fn post_json(browser: &Browser, origin: &str, url: &str, body: Value) -> Resp {
    browser
        .send(
            browser
                .client
                .post(url)
                .header("origin", origin)
                .json(&body),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_flows_sessions_deactivations_and_secrets() {
    let Some(db) = testkit::postgres().await else {
        eprintln!("!!!!! SKIPPING multi_node: no PostgreSQL (set TESSERA_TEST_POSTGRES_URL) !!!!!");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    // The operator distributes one key file to every node.
    let key_file = dir.path().join("secret.key");
    app::ssr::crypto::SecretKey::load_or_create(&key_file).expect("key");
    let (port_a, port_b) = (testkit::free_port(), testkit::free_port());
    assert_ne!(port_a, port_b);
    let public = format!("http://127.0.0.1:{port_a}");
    // The flags every node and CLI call shares.
    let flags = Flags::new(&db.url, &key_file).public_url(&public);
    let serve = flags
        .clone()
        .with(&["--log-format", "json", "--idp-timeout", "5s"]);
    let launch = Launch::default().log_level("info");

    let mut okta = OktaDev::start(clients(&public, SECRET_1)).await;
    let issuer = okta.issuer.clone();
    // Both nodes start at once on the empty database: migrations run concurrently and safely.
    let (log_a, log_b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let (a, b) = tokio::join!(
        Node::start(&serve, port_a, &log_a, &launch),
        Node::start(&serve, port_b, &log_b, &launch),
    );

    let cli = |extra: &[&str]| testkit::run_ok(flags.command().args(extra));
    cli(&["org", "create", "acme", "--name", "Acme Inc"]);
    let secret_file = dir.path().join("client.secret");
    std::fs::write(&secret_file, SECRET_1).unwrap();
    cli(&[
        "sso",
        "set",
        "acme",
        "--issuer",
        &issuer,
        "--client-id",
        CLIENT_ID,
        "--client-secret-file",
        &secret_file.display().to_string(),
    ]);
    cli(&["sso", "enable", "acme"]);

    // 1. A sign-in started on A completes on B; the session works on both nodes.
    let alice = Browser::new();
    let landed = sign_in_across(&alice, &public, &a.url, &issuer, port_b, "alice").await;
    landed.assert_status(303);
    assert_eq!(landed.location_raw(), Some("/"));
    for node in [&b.url, &a.url] {
        let me = alice.session(node).await;
        me.assert_status(200);
        assert_eq!(me.json()["member"]["email"], "alice@example.com");
        assert_eq!(me.json()["member"]["role"], "owner");
    }

    // 2. A session made on A (whole flow on A) is valid on B with the same cookie.
    let bob = Browser::new();
    let landed = sign_in_across(&bob, &public, &a.url, &issuer, port_a, "bob").await;
    landed.assert_status(303);
    let cookie = bob.session_cookie(&a.url).expect("session cookie");
    let on_b = Browser::new()
        .send(
            reqwest::Client::new()
                .get(format!("{}/api/v1/session", b.url))
                .header("cookie", format!("tessera_session={cookie}")),
        )
        .await;
    on_b.assert_status(200);
    let bob_id = on_b.json()["member"]["id"]
        .as_str()
        .expect("bob id")
        .to_string();

    // 3. Deactivated on A: bob's very next request on B is refused, and so is his next sign-in.
    let r = post_json(
        &alice,
        &public,
        &format!("{}/api/v1/members/deactivate", a.url),
        json!({"member_id": bob_id}),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.json()["status"], "deactivated");
    let refused = bob.session(&b.url).await;
    refused.assert_status(401);
    assert_eq!(refused.json()["error"], "unauthenticated");
    bob.session(&a.url).await.assert_status(401);
    let again = sign_in_across(&bob, &public, &b.url, &issuer, port_b, "bob").await;
    again.assert_status(403);
    assert_eq!(again.reason().as_deref(), Some("member_deactivated"));

    // 4. The Okta admin regenerates the client secret (okta-dev restarted with a new one on the
    //    same port: same issuer, new signing keys). B, still holding nothing but the database's
    //    secret, fails the code exchange ...
    let okta_port = okta.port();
    okta.stop().await;
    let _okta = OktaDev::start_on(okta_port, clients(&public, SECRET_2)).await;
    let carol = Browser::new();
    let stale = sign_in_across(&carol, &public, &b.url, &issuer, port_b, "carol").await;
    stale.assert_status(502);
    assert_eq!(stale.reason().as_deref(), Some("token_exchange_failed"));
    // ... the owner rotates it through A (saved only because "Test connection" passes) ...
    let r = post_json(
        &alice,
        &public,
        &format!("{}/api/v1/sso/rotate-secret", a.url),
        json!({"client_secret": SECRET_2}),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.json()["ok"], true);
    // ... and B's next sign-in uses the new secret (and Okta's new keys, refetched by kid).
    let carol = Browser::new();
    let landed = sign_in_across(&carol, &public, &b.url, &issuer, port_b, "carol").await;
    landed.assert_status(303);
    carol.session(&a.url).await.assert_status(200);

    // 5. Each node counted and logged the sign-ins it finished (callbacks: B alice, bob refused,
    //    carol failed then succeeded; A bob).
    let mb = b.metrics().await;
    let ma = a.metrics().await;
    let series = |outcome: &str, reason: &str| {
        format!("tessera_login_attempts_total{{outcome=\"{outcome}\",reason=\"{reason}\"}}")
    };
    assert_eq!(
        sample(&mb, &series("success", "success")),
        Some(2.0),
        "{mb}"
    );
    assert_eq!(
        sample(&mb, &series("failure", "member_deactivated")),
        Some(1.0),
        "{mb}"
    );
    assert_eq!(
        sample(&mb, &series("failure", "token_exchange_failed")),
        Some(1.0),
        "{mb}"
    );
    assert_eq!(
        sample(&ma, &series("success", "success")),
        Some(1.0),
        "{ma}"
    );
    // Sessions are counted from the shared database: alice and carol (bob's went with him).
    assert_eq!(sample(&ma, "tessera_active_sessions"), Some(2.0), "{ma}");
    assert_eq!(sample(&mb, "tessera_active_sessions"), Some(2.0), "{mb}");

    let lines = b.login_lines();
    let find = |reason: &str| {
        lines
            .iter()
            .find(|l| l["fields"]["reason"] == reason)
            .unwrap_or_else(|| panic!("no {reason} login line in B's log:\n{}", read(&b.log)))
            .clone()
    };
    let ok = find("success");
    assert_eq!(ok["fields"]["outcome"], "success");
    assert_eq!(ok["fields"]["org"], "acme");
    assert_eq!(ok["level"], "INFO");
    assert!(
        ok["fields"]["org_id"]
            .as_str()
            .is_some_and(|s| s.len() > 10)
    );
    let failed = find("token_exchange_failed");
    assert_eq!(failed["fields"]["outcome"], "failure");
    assert_eq!(failed["fields"]["org"], "acme");
    assert!(
        failed["fields"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("invalid_client")),
        "{failed}"
    );
    assert_eq!(lines.len(), 4, "one line per attempt on B: {lines:#?}");
    assert_eq!(a.login_lines().len(), 1);
    for node in [&a, &b] {
        assert!(!read(&node.log).contains("panicked"), "{}", read(&node.log));
    }
}
