//! Sign-in over Okta end to end, against the local Okta (end2end/okta-dev) and the real router,
//! on SQLite and on PostgreSQL. A cookie-keeping client walks every hop by hand: Tessera's
//! `/sso/initiate` → Okta's authorize → the sign-in form → back to Tessera's `/sso/callback`.

use app::ssr::login::Outcome;
use serde_json::json;
use testkit::{
    Browser, OktaDev, Resp, SignIn, TestDb, TestServer, initiate_url, okta_client, query_param,
    sql_exec, sql_row,
};

const CLIENT_ID: &str = "tessera-acme";
const SECRET: &str = "acme-secret-0123456789";
const SLUG: &str = "acme";
const PASSWORD: &str = "password";

/// Tessera with org `acme` connected (and enabled) to a fresh okta-dev.
struct Env {
    server: TestServer,
    okta: OktaDev,
    org: app::model::Org,
    db: &'static str,
}

impl Env {
    async fn start(db: &TestDb) -> Env {
        let server = TestServer::start(db).await;
        let okta = OktaDev::start(json!([okta_client(
            &server.url,
            CLIENT_ID,
            SECRET,
            "Tessera (Acme)"
        )]))
        .await;
        server.register_org(SLUG, &okta.issuer, CLIENT_ID, SECRET);
        let org = testkit::org(&server.store, SLUG).await;
        Env {
            server,
            okta,
            org,
            db: db.kind,
        }
    }

    fn url(&self) -> &str {
        &self.server.url
    }

    fn initiate(&self) -> String {
        initiate_url(&self.server.url, &self.okta.issuer)
    }

    /// A whole IdP-initiated sign-in of `user` in `browser`.
    async fn sign_in(&self, browser: &Browser, user: &str) -> SignIn {
        browser
            .sign_in(self.url(), &self.initiate(), user, PASSWORD)
            .await
    }

    /// Signs `user` in and asserts it worked; returns the session API answer.
    async fn signed_in(&self, browser: &Browser, user: &str) -> serde_json::Value {
        let flow = self.sign_in(browser, user).await;
        assert_landed(&flow, "/", self.db);
        let me = browser.session(self.url()).await;
        me.assert_status(200);
        me.json()
    }

    async fn attempts(&self) -> Vec<app::ssr::login::LoginAttempt> {
        self.server
            .store
            .recent_login_attempts(&self.org.id, 100)
            .await
            .expect("attempts")
    }

    async fn last_attempt(&self) -> app::ssr::login::LoginAttempt {
        self.attempts()
            .await
            .into_iter()
            .next()
            .expect("an attempt was recorded")
    }

    async fn member_count(&self) -> i64 {
        self.server
            .store
            .count_members(&self.org.id)
            .await
            .expect("count")
    }

    fn cli(&self, args: &[&str]) -> String {
        testkit::run_ok(self.server.cli().args(args))
    }
}

#[track_caller]
fn assert_landed(flow: &SignIn, to: &str, db: &str) {
    assert!(
        flow.callback_url.is_some(),
        "[{db}] the IdP never came back to the callback: {:#?}",
        flow.hops
    );
    flow.response.assert_status(303);
    assert_eq!(
        flow.response.location_raw(),
        Some(to),
        "[{db}] landing after sign-in"
    );
}

/// A Tessera problem page with `status` and `reason`.
#[track_caller]
fn assert_problem(resp: &Resp, status: u16, reason: &str) {
    resp.assert_status(status);
    assert_eq!(
        resp.reason().as_deref(),
        Some(reason),
        "reason code on {}: {}",
        resp.url,
        resp.body
    );
    assert!(
        resp.header("content-type")
            .unwrap_or_default()
            .starts_with("text/html")
    );
    assert!(resp.body.contains(&format!(
        "Reason code: <span class=\"code\">{reason}</span>"
    )));
}

/// Nobody is signed in in `browser`, and no stored session carries a member.
async fn assert_no_session(env: &Env, browser: &Browser) {
    let me = browser.session(env.url()).await;
    me.assert_status(401);
    assert_eq!(
        testkit::signed_in_sessions(&env.server.store).await,
        0,
        "[{}] a session was created",
        env.db
    );
}

/// A fresh browser presenting only `tessera_session=<value>`.
async fn session_with_cookie(tessera: &str, value: &str) -> Resp {
    let b = Browser::new();
    b.set_cookie(tessera, "tessera_session", value);
    b.session(tessera).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_response_type_code() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let mut start = url::Url::parse(&env.initiate()).unwrap();
        start
            .query_pairs_mut()
            .append_pair("login_hint", "alice@example.com");
        let b = Browser::new();
        let first = b.get(start.as_str()).await;
        first.assert_status(303);
        assert_eq!(first.header("cache-control"), Some("no-store"));
        let flow = b
            .drive_to_callback(env.url(), first, "alice@example.com", PASSWORD)
            .await;
        let authz = flow.authorize_url.clone().expect("redirected to Okta");
        assert_eq!(
            authz.as_str().split('?').next(),
            Some(format!("{}/oauth2/v1/authorize", env.okta.issuer).as_str())
        );
        let q = |n| query_param(&authz, n);
        assert_eq!(
            q("response_type").as_deref(),
            Some("code"),
            "[{}] {authz}",
            db.kind
        );
        let mut scopes: Vec<String> = q("scope").unwrap().split(' ').map(str::to_string).collect();
        scopes.sort();
        assert_eq!(scopes, ["email", "openid", "profile"]);
        assert_eq!(q("client_id").as_deref(), Some(CLIENT_ID));
        assert_eq!(
            q("redirect_uri"),
            Some(format!("{}/sso/callback", env.url()))
        );
        assert!(q("state").is_some_and(|s| s.len() >= 16), "state: {authz}");
        assert!(q("nonce").is_some_and(|s| s.len() >= 16), "nonce: {authz}");
        assert_eq!(q("code_challenge_method").as_deref(), Some("S256"));
        assert_eq!(
            q("code_challenge").map(|c| c.len()),
            Some(43),
            "a base64url SHA-256"
        );
        assert_eq!(q("login_hint").as_deref(), Some("alice@example.com"));
        // Okta pre-filled its form with the hint.
        assert!(
            flow.hops
                .iter()
                .any(|h| h.body.contains("name=\"username\"")
                    && h.body.contains("value=\"alice@example.com\""))
        );
        // The callback brings code, state (the same) and iss.
        let cb = flow.callback_url.clone().expect("callback");
        assert_eq!(query_param(&cb, "state"), q("state"));
        assert!(query_param(&cb, "code").is_some());
        assert_eq!(
            query_param(&cb, "iss").as_deref(),
            Some(env.okta.issuer.as_str())
        );
        let done = b.get(cb.as_str()).await;
        done.assert_status(303);
        assert_eq!(done.location_raw(), Some("/"));
        assert_eq!(
            b.session(env.url()).await.assert_status(200).json()["member"]["email"],
            "alice@example.com"
        );

        // Every request gets its own state, nonce and PKCE challenge.
        let again = Browser::new().get(&env.initiate()).await;
        let authz2 = again.location().unwrap();
        for p in ["state", "nonce", "code_challenge"] {
            assert_ne!(query_param(&authz2, p), q(p), "{p} reused");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_sig_rs256_okta_sign_in_provisions_the_owner() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        let me = env.signed_in(&b, "alice").await;
        assert_eq!(
            me["member"]["role"], "owner",
            "[{}] the first member owns the org",
            db.kind
        );
        let bob = env.signed_in(&Browser::new(), "bob").await;
        assert_eq!(bob["member"]["role"], "member");
        assert_eq!(env.member_count().await, 2);
        let member = env
            .server
            .store
            .member_by_subject(&env.org.id, &env.okta.issuer, "00u1alice")
            .await
            .unwrap()
            .expect("alice keyed by issuer and sub");
        assert_eq!(member.email, "alice@example.com");
        assert_eq!(
            member.name, "Alice Anderson",
            "profile claims come from /userinfo"
        );
        let last = env.last_attempt().await;
        assert_eq!(last.outcome, Outcome::Success);
        assert_eq!(last.reason.code(), "success");
        assert_eq!(last.subject.as_deref(), Some("00u2bob"));
        assert_eq!(last.issuer.as_deref(), Some(env.okta.issuer.as_str()));
        assert!(last.member_id.is_some());
    }
}

/// Just-in-time provisioning is a membership change like any other: one `member_provisioned`
/// audit entry per new member, by Okta, in the same transaction; returning members add none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jit_provisioning_is_audited_with_okta_as_actor() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        env.signed_in(&Browser::new(), "alice").await;
        env.signed_in(&Browser::new(), "alice").await;
        env.signed_in(&Browser::new(), "bob").await;
        let rows = testkit::sql_rows(
            &env.server.store,
            "SELECT actor_id, actor_email, target_email, before, after FROM audit_log
             WHERE org_id = $1 AND action = 'member_provisioned' ORDER BY at, id",
            &[json!(env.org.id)],
        )
        .await;
        let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
        let entries: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    text(&r["actor_id"]),
                    text(&r["actor_email"]).unwrap_or_default(),
                    text(&r["target_email"]).unwrap_or_default(),
                    text(&r["before"]).unwrap_or_default(),
                    text(&r["after"]).unwrap_or_default(),
                )
            })
            .collect();
        let okta = |email: &str, role: &str| {
            (
                None,
                "Okta (just-in-time sign-in)".to_string(),
                email.to_string(),
                String::new(),
                json!({ "role": role }).to_string(),
            )
        };
        assert_eq!(
            entries,
            vec![
                okta("alice@example.com", "owner"),
                okta("bob@example.com", "member")
            ],
            "[{}]",
            db.kind
        );
    }
}

/// The layout's `whoami` is `/api/v1/me` by another door: the same answer signed in, the API's
/// 401 error JSON signed out, while a page rendering it for a signed-out visitor stays 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_answers_like_me() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        let whoami = |b: &Browser| {
            b.post(env.url(), &format!("{}/api/whoami", env.url()))
                .json(&json!({}))
        };
        let anon = b.send(whoami(&b)).await;
        anon.assert_status(401);
        assert_eq!(anon.json()["error"], "unauthenticated", "[{}]", db.kind);
        b.get(&format!("{}/members", env.url()))
            .await
            .assert_status(200);
        let me = env.signed_in(&b, "alice").await;
        let r = b.send(whoami(&b)).await;
        r.assert_status(200);
        assert_eq!(r.json(), me, "[{}]", db.kind);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_key_rotation_op_sign_key() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        env.signed_in(&Browser::new(), "alice").await;
        env.okta.rotate_keys(false).await;
        let bob = env.signed_in(&Browser::new(), "bob").await;
        assert_eq!(
            bob["member"]["email"], "bob@example.com",
            "[{}] sign-in after a key rotation",
            db.kind
        );
        // The old session is unaffected and the new key keeps working.
        env.signed_in(&Browser::new(), "carol").await;
        assert_eq!(env.member_count().await, 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_key_rotation_op_sign_key_native() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        env.signed_in(&Browser::new(), "alice").await;
        // Emergency rotation: the old key disappears from the JWKS at once.
        env.okta.rotate_keys(true).await;
        let bob = env.signed_in(&Browser::new(), "bob").await;
        assert_eq!(
            bob["member"]["email"], "bob@example.com",
            "[{}] sign-in after drop_old rotation",
            db.kind
        );
        assert!(
            env.attempts()
                .await
                .iter()
                .all(|a| a.outcome == Outcome::Success)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_support_3rd_party_init_login() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        // The tile on the Okta dashboard points at Tessera's initiate login URI with iss.
        let dash = Browser::new()
            .get(&format!("{}/app/UserHome", env.okta.issuer))
            .await;
        dash.assert_status(200);
        let start = dash.body.find("class=\"app-tile\"").expect("a tile");
        let href_at = dash.body[start..].find("href=\"").unwrap() + start + "href=\"".len();
        let href = dash.body[href_at..]
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&");
        assert_eq!(href, env.initiate(), "[{}] Okta's tile", db.kind);

        // GET, as the tile does.
        let b = Browser::new();
        let flow = b.sign_in(env.url(), &href, "alice", PASSWORD).await;
        assert_landed(&flow, "/", db.kind);
        assert_eq!(
            b.session(env.url()).await.json()["member"]["email"],
            "alice@example.com"
        );

        // POST form from Okta's page, which OIDC Core §4 also allows.
        let b = Browser::new();
        let first = b
            .post_form_from(
                &env.okta.issuer,
                &format!("{}/sso/initiate", env.url()),
                &[("iss", env.okta.issuer.as_str())],
            )
            .await;
        first.assert_status(303);
        assert!(
            first
                .location()
                .unwrap()
                .as_str()
                .starts_with(&format!("{}/oauth2/v1/authorize?", env.okta.issuer))
        );
        let flow = b.sign_in_from(env.url(), first, "bob", PASSWORD).await;
        assert_landed(&flow, "/", db.kind);
        assert_eq!(
            b.session(env.url()).await.json()["member"]["email"],
            "bob@example.com"
        );

        // A form POST that is not a form is refused.
        let bad = b
            .send(
                b.post(&env.okta.issuer, &format!("{}/sso/initiate", env.url()))
                    .json(&json!({"iss": env.okta.issuer})),
            )
            .await;
        bad.assert_status(415);

        // SP-initiated from Tessera's own login page works the same way.
        let b = Browser::new();
        let flow = b
            .sign_in(
                env.url(),
                &format!("{}/sso/start?org={SLUG}", env.url()),
                "carol",
                PASSWORD,
            )
            .await;
        assert_landed(&flow, "/", db.kind);
        assert_eq!(env.member_count().await, 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_state_is_refused() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        let flow = env.sign_in(&b, "alice").await;
        assert_landed(&flow, "/", db.kind);
        let callback = flow.callback_url.unwrap();
        let before =
            testkit::attempts_with_reason(&env.server.store, "state_missing_or_expired").await;
        // The back button in the signed-in browser: into the app, the session kept.
        let session = b.session_cookie(env.url());
        let again = b.get(callback.as_str()).await;
        again.assert_status(303);
        assert_eq!(again.location_raw(), Some("/"), "[{}]", db.kind);
        assert_eq!(b.session_cookie(env.url()), session);
        b.session(env.url()).await.assert_status(200);
        // Another browser (an attacker who saw the URL): same code, same state, refused.
        for browser in [&Browser::new()] {
            let again = browser.get(callback.as_str()).await;
            assert_problem(&again, 400, "state_missing_or_expired");
            assert!(
                again.body.contains("Sign in again"),
                "[{}] {}",
                db.kind,
                again.body
            );
            assert!(again.body.contains("href=\"/login\""));
            assert!(
                again.set_cookies().is_empty(),
                "a refused callback sets no cookie"
            );
        }
        assert_eq!(
            testkit::attempts_with_reason(&env.server.store, "state_missing_or_expired").await,
            before + 1
        );
        assert_eq!(env.member_count().await, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_state_is_refused() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        let r = b
            .get(&format!(
                "{}/sso/callback?code=abc&state=not-a-state-we-issued&iss={}",
                env.url(),
                env.okta.issuer
            ))
            .await;
        assert_problem(&r, 400, "state_missing_or_expired");
        assert!(r.body.contains("Sign in again"));
        let r = b.get(&format!("{}/sso/callback?code=abc", env.url())).await;
        assert_problem(&r, 400, "state_missing_or_expired");
        assert_eq!(
            testkit::attempts_with_reason(&env.server.store, "state_missing_or_expired").await,
            2,
            "[{}]",
            db.kind
        );
        assert_no_session(&env, &b).await;
        assert_eq!(env.member_count().await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_iss_mismatch_is_refused() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        let first = b.get(&env.initiate()).await;
        let flow = b
            .drive_to_callback(env.url(), first, "alice", PASSWORD)
            .await;
        let mut cb = flow.callback_url.expect("callback");
        let pairs: Vec<(String, String)> = cb
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "iss" {
                    "https://evil.example.com".to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        cb.query_pairs_mut().clear().extend_pairs(pairs);
        let r = b.get(cb.as_str()).await;
        assert_problem(&r, 400, "issuer_mismatch");
        let last = env.last_attempt().await;
        assert_eq!(
            (last.outcome, last.reason.code()),
            (Outcome::Failure, "issuer_mismatch"),
            "[{}]",
            db.kind
        );
        assert!(last.detail.contains("evil.example.com"));
        assert_no_session(&env, &b).await;
        assert_eq!(env.member_count().await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_link_uri_stays_on_our_origin() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        for (target, landing) in [
            ("https://evil.example.com/steal".to_string(), "/"),
            ("//evil.example.com/steal".to_string(), "/"),
            (format!("{}/members?tab=all", env.url()), "/members?tab=all"),
            ("/settings".to_string(), "/settings"),
        ] {
            let mut start = url::Url::parse(&env.initiate()).unwrap();
            start
                .query_pairs_mut()
                .append_pair("target_link_uri", &target);
            let flow = Browser::new()
                .sign_in(env.url(), start.as_str(), "alice", PASSWORD)
                .await;
            assert_landed(&flow, landing, db.kind);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_fixation_planted_id_is_replaced_at_login() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        // The attacker signs in and plants their own (live) session id in the victim's browser.
        let attacker = Browser::new();
        env.signed_in(&attacker, "bob").await;
        let planted = attacker
            .session_cookie(env.url())
            .expect("attacker's session cookie");
        let victim = Browser::new();
        victim.set_cookie(env.url(), "tessera_session", &planted);
        assert_eq!(
            victim.session(env.url()).await.json()["member"]["email"],
            "bob@example.com"
        );

        let me = env.signed_in(&victim, "alice").await;
        assert_eq!(me["member"]["email"], "alice@example.com");
        let fresh = victim.session_cookie(env.url()).expect("a session cookie");
        assert_ne!(
            fresh, planted,
            "[{}] the session id must change at sign-in",
            db.kind
        );
        // The planted id signs in nobody: not alice, not even bob any more.
        session_with_cookie(env.url(), &planted)
            .await
            .assert_status(401);
        attacker.session(env.url()).await.assert_status(401);

        // A made-up id is not adopted either.
        let b = Browser::new();
        b.set_cookie(env.url(), "tessera_session", "Q0FGRUJBQkVDQUZFQkFCRQ");
        env.signed_in(&b, "carol").await;
        assert_ne!(
            b.session_cookie(env.url()).as_deref(),
            Some("Q0FGRUJBQkVDQUZFQkFCRQ")
        );
        session_with_cookie(env.url(), "Q0FGRUJBQkVDQUZFQkFCRQ")
            .await
            .assert_status(401);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_session() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        env.signed_in(&b, "alice").await;
        let cookie = b.session_cookie(env.url()).expect("session cookie");
        let out = b
            .send(b.post(env.url(), &format!("{}/logout", env.url())))
            .await;
        out.assert_status(303);
        assert_eq!(out.location_raw(), Some("/login?signed_out=1"));
        let told = b.get(&format!("{}/login?signed_out=1", env.url())).await;
        assert!(told.body.contains("You are signed out"), "{}", told.body);
        assert!(told.body.contains("Okta session"), "{}", told.body);
        assert!(
            out.set_cookies()
                .iter()
                .any(|c| c.starts_with("tessera_session=")
                    && (c.contains("Max-Age=0") || c.contains("1970"))),
            "[{}] logout clears the cookie: {:?}",
            db.kind,
            out.set_cookies()
        );
        assert_eq!(b.session_cookie(env.url()), None);
        b.session(env.url()).await.assert_status(401);
        // Replaying the old cookie value does not bring the session back.
        let replay = session_with_cookie(env.url(), &cookie).await;
        replay.assert_status(401);
        assert_eq!(replay.json()["error"], "unauthenticated");
        assert_eq!(testkit::signed_in_sessions(&env.server.store).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_owner_race_20_way() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        // Nothing is warm: all 20 go through discovery, the code exchange and JIT at once.
        let (tessera, start) = (env.url().to_string(), env.initiate());
        let logins = (1..=20).map(|n| {
            let (tessera, start) = (tessera.clone(), start.clone());
            async move {
                let b = Browser::new();
                let flow = b
                    .sign_in(&tessera, &start, &format!("user{n}"), PASSWORD)
                    .await;
                let me = b.session(&tessera).await;
                (flow, me)
            }
        });
        let results = join_all(logins).await;
        for (flow, me) in &results {
            assert_landed(flow, "/", db.kind);
            me.assert_status(200);
        }
        let roles: Vec<String> = results
            .iter()
            .map(|(_, me)| me.json()["member"]["role"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            roles.iter().filter(|r| *r == "owner").count(),
            1,
            "[{}] exactly one owner: {roles:?}",
            db.kind
        );
        assert_eq!(roles.iter().filter(|r| *r == "member").count(), 19);
        assert_eq!(env.member_count().await, 20);
        let owners = env.cli(&["org", "show", SLUG, "--json"]);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&owners).unwrap()["members"],
            20
        );
    }
}

/// Runs futures concurrently as tasks and returns their outputs in order.
async fn join_all<F: std::future::Future + Send + 'static>(
    futs: impl IntoIterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for (i, f) in futs.into_iter().enumerate() {
        set.spawn(async move { (i, f.await) });
    }
    let mut out: Vec<Option<F::Output>> = Vec::new();
    while let Some(r) = set.join_next().await {
        let (i, v) = r.expect("task");
        if out.len() <= i {
            out.resize_with(i + 1, || None);
        }
        out[i] = Some(v);
    }
    out.into_iter()
        .map(|v| v.expect("every task answered"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_change_at_okta_keeps_the_same_member() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let before = env.signed_in(&Browser::new(), "alice").await;
        env.okta
            .set_email("alice", "alice.anderson@example.org")
            .await;
        let after = env.signed_in(&Browser::new(), "alice").await;
        assert_eq!(
            after["member"]["id"], before["member"]["id"],
            "[{}] same member",
            db.kind
        );
        assert_eq!(after["member"]["email"], "alice.anderson@example.org");
        assert_eq!(after["member"]["role"], "owner");
        assert_eq!(env.member_count().await, 1);
        let m = env
            .server
            .store
            .member_by_subject(&env.org.id, &env.okta.issuer, "00u1alice")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.email, "alice.anderson@example.org");
        // The change is in the audit log, by Okta, before and after.
        let row = sql_row(
            &env.server.store,
            "SELECT actor_email, target_id, before, after FROM audit_log WHERE action = 'member_profile_changed'",
            &[],
        )
        .await;
        assert_eq!(
            row["actor_email"], "Okta (just-in-time sign-in)",
            "[{}]",
            db.kind
        );
        assert_eq!(row["target_id"], json!(m.id));
        assert!(
            row["before"]
                .as_str()
                .unwrap()
                .contains("alice@example.com")
        );
        assert!(
            row["after"]
                .as_str()
                .unwrap()
                .contains("alice.anderson@example.org")
        );
        // Signing in again unchanged writes nothing more.
        env.signed_in(&Browser::new(), "alice").await;
        let n = testkit::count(
            &env.server.store,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = $1",
            "member_profile_changed",
        )
        .await;
        assert_eq!(n, 1, "[{}]", db.kind);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_issuer_is_not_connected() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        let r = b
            .get(&initiate_url(env.url(), "https://other-org.okta.com"))
            .await;
        assert_problem(&r, 404, "unknown_issuer");
        assert!(r.body.contains("not connected"), "[{}] {}", db.kind, r.body);
        assert_eq!(
            testkit::attempts_with_reason(&env.server.store, "unknown_issuer").await,
            1
        );
        // Missing and malformed iss are refused too, with their own reasons.
        assert_problem(
            &b.get(&format!("{}/sso/initiate", env.url())).await,
            400,
            "iss_missing",
        );
        assert_problem(
            &b.get(&initiate_url(env.url(), "not a url")).await,
            400,
            "iss_invalid",
        );
        // An unknown org on Tessera's own login path.
        assert_problem(
            &b.get(&format!("{}/sso/start?org=nope", env.url())).await,
            404,
            "org_unknown",
        );
        assert_no_session(&env, &b).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_disabled_is_refused() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        // Start a sign-in while SSO is on, then turn it off before the callback.
        let pending = Browser::new();
        let first = pending.get(&env.initiate()).await;
        let flow = pending
            .drive_to_callback(env.url(), first, "alice", PASSWORD)
            .await;
        env.cli(&["sso", "disable", SLUG]);
        let b = Browser::new();
        let r = b.get(&env.initiate()).await;
        assert_problem(&r, 403, "sso_disabled");
        assert!(r.body.contains("not enabled"));
        let r = b.get(&format!("{}/sso/start?org={SLUG}", env.url())).await;
        assert_problem(&r, 403, "sso_disabled");
        let late = pending
            .get(flow.callback_url.expect("callback").as_str())
            .await;
        assert_problem(&late, 403, "sso_disabled");
        let attempts = env.attempts().await;
        assert_eq!(
            attempts
                .iter()
                .filter(|a| a.reason.code() == "sso_disabled")
                .count(),
            3,
            "[{}]",
            db.kind
        );
        assert_no_session(&env, &pending).await;
        assert_eq!(env.member_count().await, 0);
        env.cli(&["sso", "enable", SLUG]);
        env.signed_in(&Browser::new(), "alice").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivated_member_is_refused() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        let me = env.signed_in(&b, "alice").await;
        let id = me["member"]["id"].as_str().unwrap().to_string();
        sql_exec(
            &env.server.store,
            "UPDATE members SET status = 'deactivated' WHERE id = $1",
            &[json!(id)],
        )
        .await;
        // The live session ends on its next request...
        b.session(env.url()).await.assert_status(401);
        // ...and signing in again is refused.
        let b2 = Browser::new();
        let flow = env.sign_in(&b2, "alice").await;
        assert_problem(&flow.response, 403, "member_deactivated");
        assert!(flow.response.set_cookies().is_empty());
        let last = env.last_attempt().await;
        assert_eq!(
            (last.outcome, last.reason.code()),
            (Outcome::Failure, "member_deactivated"),
            "[{}]",
            db.kind
        );
        assert_eq!(last.subject.as_deref(), Some("00u1alice"));
        assert_no_session(&env, &b2).await;
        assert_eq!(env.member_count().await, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jit_off_refuses_new_people() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        env.signed_in(&Browser::new(), "alice").await;
        let out = env.cli(&["sso", "policy", SLUG, "--jit", "off"]);
        assert!(out.contains("off"), "{out}");
        let b = Browser::new();
        let flow = env.sign_in(&b, "bob").await;
        assert_problem(&flow.response, 403, "jit_disabled");
        let last = env.last_attempt().await;
        assert_eq!(
            (last.outcome, last.reason.code()),
            (Outcome::Failure, "jit_disabled"),
            "[{}]",
            db.kind
        );
        assert_eq!(last.subject.as_deref(), Some("00u2bob"));
        b.session(env.url()).await.assert_status(401);
        assert_eq!(env.member_count().await, 1);
        // Existing members still get in.
        env.signed_in(&Browser::new(), "alice").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unassigned_user_sees_not_assigned() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        let flow = env.sign_in(&b, "mallory").await;
        let cb = flow
            .callback_url
            .clone()
            .expect("Okta sends the error back to the callback");
        assert_eq!(query_param(&cb, "error").as_deref(), Some("access_denied"));
        assert_problem(&flow.response, 403, "idp_error");
        assert!(
            flow.response.body.contains("not assigned"),
            "[{}] {}",
            db.kind,
            flow.response.body
        );
        assert!(flow.response.body.contains("Assignments"));
        // Not a dead end: the way on is the org's own Okta dashboard.
        let dashboard = format!("{}/app/UserHome", testkit::origin_of(&env.okta.issuer));
        assert!(
            flow.response
                .body
                .contains(&format!("href=\"{dashboard}\"")),
            "[{}] {}",
            db.kind,
            flow.response.body
        );
        let last = env.last_attempt().await;
        assert_eq!(
            (last.outcome, last.reason.code()),
            (Outcome::Failure, "idp_error")
        );
        assert!(last.detail.contains("not assigned"));
        assert_no_session(&env, &b).await;
        assert_eq!(env.member_count().await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_simplified_mode_is_explained() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIwMHUxYWxpY2UifQ.c2ln";
        // Okta's "Simplified" mode form-posts an ID token from Okta's origin.
        let r = b
            .post_form_from(
                &env.okta.issuer,
                &format!("{}/sso/callback", env.url()),
                &[("id_token", token), ("state", "x")],
            )
            .await;
        assert_problem(&r, 400, "okta_simplified_mode");
        assert!(
            r.body.contains("OIDC Compliant"),
            "[{}] {}",
            db.kind,
            r.body
        );
        let r = b
            .post_form_from(
                &env.okta.issuer,
                &format!("{}/sso/initiate", env.url()),
                &[("id_token", token)],
            )
            .await;
        assert_problem(&r, 400, "okta_simplified_mode");
        assert_eq!(
            testkit::attempts_with_reason(&env.server.store, "okta_simplified_mode").await,
            2
        );
        assert_no_session(&env, &b).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_api_shape() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        // The old second "who am I" sends everyone to the one documented endpoint.
        let moved = b.get(&format!("{}/api/v1/session", env.url())).await;
        moved.assert_status(308);
        assert_eq!(moved.location_raw(), Some("/api/v1/me"), "[{}]", db.kind);
        let anon = b.session(env.url()).await;
        anon.assert_status(401);
        assert!(
            anon.header("content-type")
                .unwrap_or_default()
                .starts_with("application/json")
        );
        let err = anon.json();
        assert_eq!(err["error"], "unauthenticated");
        assert!(err["message"].is_string());

        let me = env.signed_in(&b, "alice").await;
        let member_id = app::model::MemberId::from(me["member"]["id"].as_str().expect("member.id"));
        let member = env
            .server
            .store
            .member_by_id(&env.org.id, &member_id)
            .await
            .expect("read")
            .expect("alice");
        assert_eq!(
            (
                me["member"]["email"].as_str(),
                me["member"]["name"].as_str(),
                me["member"]["role"].as_str(),
                me["org"]["slug"].as_str(),
                me["org"]["name"].as_str(),
            ),
            (
                Some("alice@example.com"),
                Some("Alice Anderson"),
                Some("owner"),
                Some(SLUG),
                Some(format!("{SLUG} Inc").as_str()),
            ),
            "[{}]",
            db.kind
        );
        assert_eq!(
            me,
            json!({"member": member, "org": env.org}),
            "[{}] the member and org as stored",
            db.kind
        );
        let resp = b.session(env.url()).await;
        assert!(
            resp.header("content-type")
                .unwrap_or_default()
                .starts_with("application/json")
        );
    }
}

#[track_caller]
fn assert_security_headers(r: &Resp) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("no CSP on {}", r.url));
    assert!(csp.contains("frame-ancestors 'none'"), "{}: {csp}", r.url);
    assert!(csp.contains("object-src 'none'"), "{}: {csp}", r.url);
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{}", r.url);
    assert_eq!(
        r.header("referrer-policy"),
        Some("no-referrer"),
        "{}",
        r.url
    );
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{}",
        r.url
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_on_pages() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        let flow = env.sign_in(&b, "alice").await;
        assert_landed(&flow, "/", db.kind);
        let tessera = url::Url::parse(env.url()).unwrap();
        // Every Tessera hop of the sign-in: the redirect to Okta and the callback.
        let ours: Vec<&Resp> = flow
            .hops
            .iter()
            .filter(|h| h.url.origin() == tessera.origin())
            .collect();
        assert!(ours.len() >= 2);
        for r in ours {
            assert_security_headers(r);
        }
        for path in [
            "/login",
            "/",
            "/api/v1/session",
            "/healthz",
            "/sso/initiate?iss=https%3A%2F%2Fnope.okta.com",
            "/nope",
        ] {
            let r = b.get(&format!("{}{path}", env.url())).await;
            assert_security_headers(&r);
        }
        // The Leptos page's CSP allows its inline scripts by nonce, never 'unsafe-inline' scripts.
        let login = b.get(&format!("{}/login", env.url())).await;
        login.assert_status(200);
        let csp = login.header("content-security-policy").unwrap();
        assert!(csp.contains("'nonce-"), "[{}] {csp}", db.kind);
        assert!(
            !csp.split(';')
                .any(|d| d.trim().starts_with("script-src") && d.contains("'unsafe-inline'"))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_attributes() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        let flow = env.sign_in(&b, "alice").await;
        assert_landed(&flow, "/", db.kind);
        let cookies = flow.response.set_cookies();
        let session = cookies
            .iter()
            .find(|c| c.starts_with("tessera_session="))
            .unwrap_or_else(|| panic!("[{}] no session cookie: {cookies:?}", db.kind));
        let attrs: Vec<String> = session
            .split(';')
            .skip(1)
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        assert!(attrs.iter().any(|a| a == "httponly"), "{session}");
        assert!(attrs.iter().any(|a| a == "samesite=lax"), "{session}");
        assert!(attrs.iter().any(|a| a == "path=/"), "{session}");
        assert!(
            !attrs.iter().any(|a| a == "secure"),
            "no Secure over an http public URL: {session}"
        );
        assert!(
            !attrs.iter().any(|a| a.starts_with("domain=")),
            "host-only: {session}"
        );
        assert_eq!(flow.response.header("cache-control"), Some("no-store"));
        // Only the callback sets the cookie: the redirect to Okta does not.
        assert!(
            flow.hops[0]
                .set_cookies()
                .iter()
                .all(|c| !c.starts_with("tessera_session="))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_events_json_lists_attempts() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        env.signed_in(&Browser::new(), "alice").await;
        let flow = env.sign_in(&Browser::new(), "mallory").await;
        assert_problem(&flow.response, 403, "idp_error");
        env.cli(&["sso", "disable", SLUG]);
        assert_problem(
            &Browser::new().get(&env.initiate()).await,
            403,
            "sso_disabled",
        );

        let out = env.cli(&["org", "events", SLUG, "--json"]);
        let events: Vec<serde_json::Value> =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        let reasons: Vec<&str> = events
            .iter()
            .map(|e| e["reason"].as_str().unwrap())
            .collect();
        assert_eq!(
            reasons,
            ["sso_disabled", "idp_error", "success"],
            "[{}] newest first",
            db.kind
        );
        assert_eq!(events[2]["outcome"], "success");
        assert_eq!(events[2]["subject"], "00u1alice");
        assert_eq!(events[2]["email"], "alice@example.com");
        assert!(events[2]["member_id"].is_string());
        assert_eq!(events[1]["outcome"], "failure");
        assert!(
            events[1]["detail"]
                .as_str()
                .unwrap()
                .contains("access_denied")
        );
        let limited: Vec<serde_json::Value> =
            serde_json::from_str(&env.cli(&["org", "events", SLUG, "--json", "--limit", "1"]))
                .unwrap();
        assert_eq!(limited.len(), 1);
        assert_eq!(limited[0]["reason"], "sso_disabled");
        // The human form names the reasons too.
        let text = env.cli(&["org", "events", SLUG]);
        assert!(
            text.contains("idp_error") && text.contains("success"),
            "{text}"
        );
    }
}

// ---- browser binding (login CSRF), unbound callbacks, bounded parameters, deep links ------------

/// The `tessera_flow` cookie a response sets, with its attributes, if any.
fn flow_cookie_set(r: &Resp) -> Option<String> {
    r.set_cookies()
        .into_iter()
        .find(|c| c.starts_with("tessera_flow="))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_from_another_browser_is_refused_without_touching_it() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        // The victim is signed in as bob.
        let victim = Browser::new();
        env.signed_in(&victim, "bob").await;
        let victim_session = victim.session_cookie(env.url()).expect("victim's session");
        let attempts_before = env.attempts().await.len();
        // The attacker starts a sign-in as alice and stops before Tessera's callback.
        let attacker = Browser::new();
        let first = attacker.get(&env.initiate()).await;
        let bound = flow_cookie_set(&first).expect("initiate sets the binding cookie");
        let attrs: Vec<String> = bound
            .split(';')
            .skip(1)
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        for want in ["httponly", "samesite=lax", "path=/sso", "max-age=600"] {
            assert!(attrs.iter().any(|a| a == want), "{want} in {bound}");
        }
        assert!(
            !attrs.iter().any(|a| a == "secure"),
            "http public URL: {bound}"
        );
        let flow = attacker
            .drive_to_callback(env.url(), first, "alice", PASSWORD)
            .await;
        let callback = flow.callback_url.expect("Okta redirects to the callback");

        // The victim's browser opens it: refused, session untouched.
        let r = victim.get(callback.as_str()).await;
        assert_problem(&r, 403, "browser_mismatch");
        assert!(
            r.body.contains("another browser"),
            "[{}] {}",
            db.kind,
            r.body
        );
        assert!(
            r.set_cookies()
                .iter()
                .all(|c| !c.starts_with("tessera_session=")),
            "[{}] the victim's session cookie is not touched",
            db.kind
        );
        assert_eq!(
            victim.session_cookie(env.url()).as_deref(),
            Some(victim_session.as_str())
        );
        let me = victim.session(env.url()).await;
        me.assert_status(200);
        assert_eq!(
            me.json()["member"]["email"],
            "bob@example.com",
            "[{}]",
            db.kind
        );
        // A browser with no cookies at all: refused too, and no session.
        let fresh = Browser::new();
        assert_problem(&fresh.get(callback.as_str()).await, 403, "browser_mismatch");
        fresh.session(env.url()).await.assert_status(401);
        // Nothing was written to the org: no attempt, no member for alice.
        assert_eq!(env.attempts().await.len(), attempts_before, "[{}]", db.kind);
        assert_eq!(env.member_count().await, 1);
        // The flow was not consumed: the browser that started it can still finish.
        let own = attacker.get(callback.as_str()).await;
        own.assert_status(303);
        assert_eq!(
            attacker.session(env.url()).await.json()["member"]["email"],
            "alice@example.com"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_in_one_browser_both_complete() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        let first = b.get(&env.initiate()).await;
        let cookie1 = b.cookie(&format!("{}/sso/", env.url()), "tessera_flow");
        let tab1 = b
            .drive_to_callback(env.url(), first, "alice", PASSWORD)
            .await;
        // The second tab (Okta now has a session: no form) before the first one returns.
        let mut start = url::Url::parse(&format!("{}/sso/start", env.url())).unwrap();
        start.query_pairs_mut().append_pair("org", SLUG);
        let second = b.get(start.as_str()).await;
        let tab2 = b
            .drive_to_callback(env.url(), second, "alice", PASSWORD)
            .await;
        assert!(cookie1.is_some());
        assert_eq!(
            b.cookie(&format!("{}/sso/", env.url()), "tessera_flow"),
            cookie1,
            "[{}] one binding per browser, reused",
            db.kind
        );
        for tab in [tab2, tab1] {
            let r = b.get(tab.callback_url.expect("callback").as_str()).await;
            r.assert_status(303);
            assert_eq!(r.location_raw(), Some("/"), "[{}] {}", db.kind, r.body);
        }
        b.session(env.url()).await.assert_status(200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_okta_error_without_a_usable_state_says_what_okta_refused() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        let desc = "User is not assigned to the client application.";
        for query in [
            format!("error=access_denied&error_description={desc}"),
            format!("error=access_denied&error_description={desc}&state=not-a-state-we-issued"),
        ] {
            let r = b.get(&format!("{}/sso/callback?{query}", env.url())).await;
            assert_problem(&r, 403, "idp_error");
            assert!(!r.body.contains("expired"), "[{}] {}", db.kind, r.body);
            assert!(r.body.contains("Okta refused"), "[{}] {}", db.kind, r.body);
            assert!(r.body.contains("Assignments"), "[{}] {}", db.kind, r.body);
            // The unauthenticated text is not quoted as if Okta said it.
            assert!(!r.body.contains(desc), "[{}] {}", db.kind, r.body);
        }
        // An unknown code with markup: generic advice, nothing echoed.
        let r = b
            .get(&format!(
                "{}/sso/callback?error=%3Cscript%3Ex%3C%2Fscript%3E&error_description=%1b%5B31mred",
                env.url()
            ))
            .await;
        assert_problem(&r, 403, "idp_error");
        assert!(!r.body.contains("script>x"), "[{}] {}", db.kind, r.body);
        assert!(!r.body.contains("red"), "[{}] {}", db.kind, r.body);
        // None of this grew the org's login activity.
        assert!(env.attempts().await.is_empty(), "[{}]", db.kind);
        assert_no_session(&env, &b).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_and_huge_values_get_a_clear_4xx() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        let iss =
            url::form_urlencoded::byte_serialize(env.okta.issuer.as_bytes()).collect::<String>();
        let u = env.url();
        let cases = [
            (
                format!("{u}/sso/callback?state=a%00b"),
                400,
                "state_missing_or_expired",
            ),
            (
                format!("{u}/sso/callback?state=a%00b&code=c%00d&iss=x%00"),
                400,
                "state_missing_or_expired",
            ),
            (
                format!("{u}/sso/callback?state=%1b%5B2J&code=x"),
                400,
                "state_missing_or_expired",
            ),
            (
                format!("{u}/sso/callback?code=x&state={}", "s".repeat(5000)),
                400,
                "state_missing_or_expired",
            ),
            (format!("{u}/sso/initiate?iss={iss}%00"), 400, "iss_invalid"),
            (
                format!("{u}/sso/initiate?iss=https%3A%2F%2Fa.example%2F%00x"),
                400,
                "iss_invalid",
            ),
            (format!("{u}/sso/start?org=ac%00me"), 400, "org_invalid"),
        ];
        for (url, status, reason) in &cases {
            let r = b.get(url).await;
            assert_problem(&r, *status, reason);
            assert!(!r.body.contains('\u{0}'), "[{}] {url}", db.kind);
        }
        // Values with control characters that are merely dropped still start a sign-in.
        for url in [
            format!("{u}/sso/initiate?iss={iss}&login_hint=al%00ice&target_link_uri=%2Fmem%00bers"),
            format!("{u}/sso/start?org={SLUG}&next=%2Fa%00b&login_hint=%1b%5B31m"),
        ] {
            let r = b.get(&url).await;
            r.assert_status(303);
            let to = r.location().expect("to Okta");
            assert!(
                to.as_str().starts_with(&env.okta.issuer),
                "[{}] {to}",
                db.kind
            );
            assert!(!to.as_str().contains("%00"), "[{}] {to}", db.kind);
        }
        // A 60 KB iss (within the body limit) is refused as invalid, neither stored nor echoed
        // whole; a 1.9 MB one never gets past the body limit (413, tests/operations.rs).
        for (size, status, reason) in [(60_000, 400, "iss_invalid")] {
            let huge = "https://acme.okta.com/".to_string() + &"a".repeat(size);
            let r = b
                .post_form_from(
                    &env.okta.issuer,
                    &format!("{u}/sso/initiate"),
                    &[("iss", huge.as_str())],
                )
                .await;
            assert_problem(&r, status, reason);
            assert!(
                r.body.len() < 20_000,
                "[{}] page of {} bytes",
                db.kind,
                r.body.len()
            );
        }
        let longest = rows(
            &env,
            "SELECT COALESCE(MAX(LENGTH(detail) + COALESCE(LENGTH(issuer), 0)), 0) AS n FROM login_attempts",
        )
        .await;
        assert!(
            longest < 2_000,
            "[{}] a stored attempt of {longest} chars",
            db.kind
        );
        let nul = testkit::count(
            &env.server.store,
            "SELECT COUNT(*) AS n FROM login_attempts WHERE detail LIKE $1",
            "%\u{1b}%",
        )
        .await;
        assert_eq!(nul, 0, "[{}] no escape characters stored", db.kind);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_links_survive_the_sign_in() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let b = Browser::new();
        for (page, next) in [
            ("/members", "/members"),
            ("/activity?outcome=failure", "/activity?outcome=failure"),
            ("/login?next=%2Faudit", "/audit"),
        ] {
            let r = b.get(&format!("{}{page}", env.url())).await;
            r.assert_status(200);
            assert!(
                r.body.contains(&format!("name=\"next\" value=\"{next}\"")),
                "[{}] {page}: {}",
                db.kind,
                r.body
            );
        }
        // The form's submission (GET /sso/start?org=acme&next=...) lands where they were going.
        for (next, landing) in [
            ("/activity?outcome=failure", "/activity?outcome=failure"),
            ("/members", "/members"),
            ("https://evil.example.com/", "/"),
            ("//evil.example.com/x", "/"),
        ] {
            let mut start = url::Url::parse(&format!("{}/sso/start", env.url())).unwrap();
            start
                .query_pairs_mut()
                .append_pair("org", SLUG)
                .append_pair("next", next);
            let flow = Browser::new()
                .sign_in(env.url(), start.as_str(), "alice", PASSWORD)
                .await;
            assert_landed(&flow, landing, db.kind);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unused_claims_of_any_type_and_blank_profiles_do_not_break_okta_sign_in() {
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let http = reqwest::Client::new();
        for user in [
            json!({"username": "dana", "name": "Dana Diaz", "claims": {"email_verified": "true", "updated_at": "recently"}}),
            json!({"username": "erin", "claims": {"email": null, "name": null, "given_name": null, "family_name": null, "preferred_username": null}}),
        ] {
            let r = http
                .post(format!("{}/__dev/users", env.okta.issuer))
                .json(&user)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
        let b = Browser::new();
        let me = env.signed_in(&b, "dana").await;
        assert_eq!(me["member"]["email"], "dana@example.com", "[{}]", db.kind);
        assert_eq!(me["member"]["name"], "Dana Diaz");
        let b = Browser::new();
        let me = env.signed_in(&b, "erin").await;
        assert_eq!(me["member"]["email"], "", "[{}]", db.kind);
        assert_eq!(
            me["member"]["name"], "00u-erin",
            "[{}] named by sub",
            db.kind
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_okta_issuer_published_with_a_trailing_slash_signs_in() {
    for db in testkit::databases().await {
        let server = TestServer::start(&db).await;
        let okta = OktaDev::start_on_with_env(
            testkit::free_port(),
            json!([{
                "client_id": CLIENT_ID,
                "client_secret": SECRET,
                "redirect_uris": [format!("{}/sso/callback", server.url)],
                "initiate_login_uri": format!("{}/sso/initiate", server.url),
            }]),
            &[("OKTA_DEV_ISSUER_PATH", "/o/ts/")],
        )
        .await;
        assert!(okta.issuer.ends_with("/o/ts/"), "{}", okta.issuer);
        server.register_org(SLUG, &okta.issuer, CLIENT_ID, SECRET);
        let org = testkit::org(&server.store, SLUG).await;
        let json: serde_json::Value = serde_json::from_str(&testkit::run_ok(
            server.cli().args(["org", "show", SLUG, "--json"]),
        ))
        .unwrap();
        assert_eq!(
            json["sso"]["issuer"],
            okta.issuer.as_str(),
            "[{}] stored as published",
            db.kind
        );
        // The dashboard's tile (?iss= with the slash) and a hand-made link without it.
        for (iss, user) in [
            (okta.issuer.as_str(), "alice"),
            (okta.issuer.trim_end_matches('/'), "bob"),
        ] {
            let b = Browser::new();
            let flow = b
                .sign_in(&server.url, &initiate_url(&server.url, iss), user, PASSWORD)
                .await;
            assert_landed(&flow, "/", db.kind);
            assert_eq!(
                b.session(&server.url).await.json()["member"]["email"],
                format!("{user}@example.com")
            );
        }
        assert_eq!(server.store.count_members(&org.id).await.unwrap(), 2);
    }
}

/// Rows of `table` (all orgs, or only those without an org).
async fn rows(env: &Env, sql: &str) -> i64 {
    sql_row(&env.server.store, sql, &[]).await["n"]
        .as_i64()
        .expect("n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_failures_cannot_grow_the_attempts_table() {
    use app::ssr::login::FAILURES_STORED_PER_MINUTE as CAP;
    const ORGLESS: &str = "SELECT COUNT(*) AS n FROM login_attempts WHERE org_id IS NULL";
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let u = env.url().to_string();
        let b = Browser::new();
        // 100 requests naming no org, of every kind: only the first CAP are stored.
        for i in 0..25 {
            assert_problem(
                &b.get(&format!("{u}/sso/initiate")).await,
                400,
                "iss_missing",
            );
            let unknown = initiate_url(&u, &format!("https://other{i}.okta.com"));
            assert_problem(&b.get(&unknown).await, 404, "unknown_issuer");
            let r = b.get(&format!("{u}/sso/callback?code=c&state=s{i}")).await;
            assert_problem(&r, 400, "state_missing_or_expired");
            let r = b
                .get(&format!("{u}/sso/callback?error=access_denied&i={i}"))
                .await;
            assert_problem(&r, 403, "idp_error");
        }
        assert_eq!(rows(&env, ORGLESS).await, CAP, "[{}]", db.kind);
        // An org's failures caused by anyone (SSO off, signed-out starts): CAP stored.
        env.cli(&["sso", "disable", SLUG]);
        for _ in 0..60 {
            let r = b.get(&format!("{u}/sso/start?org={SLUG}")).await;
            assert_problem(&r, 403, "sso_disabled");
        }
        let failures = env.attempts().await;
        assert_eq!(failures.len() as i64, CAP, "[{}]", db.kind);
        assert!(failures.iter().all(|a| a.reason.code() == "sso_disabled"));
        // Every one still reaches the log line's metric.
        let metrics = b.get(&format!("{u}/metrics")).await.body;
        assert!(
            metrics.contains(
                "tessera_login_attempts_total{outcome=\"failure\",reason=\"sso_disabled\"} 60"
            ),
            "[{}] {metrics}",
            db.kind
        );
        // A real sign-in is always recorded, whatever the failures.
        env.cli(&["sso", "enable", SLUG]);
        env.signed_in(&Browser::new(), "alice").await;
        let last = env.last_attempt().await;
        assert_eq!(last.outcome, Outcome::Success, "[{}]", db.kind);
        assert_eq!(rows(&env, ORGLESS).await, CAP, "[{}]", db.kind);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn started_sign_ins_are_capped_per_org() {
    use app::ssr::login::MAX_PENDING_FLOWS_PER_ORG as CAP;
    const FLOWS: &str = "SELECT COUNT(*) AS n FROM login_flows";
    for db in testkit::databases().await {
        let env = Env::start(&db).await;
        let u = env.url().to_string();
        // Someone started CAP - 1 sign-ins and never finished them.
        sql_exec(
            &env.server.store,
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
             INSERT INTO login_flows (state, org_id, nonce, pkce_verifier, created_at, expires_at, browser_hash)
             SELECT 'abandoned-' || i, $2, 'n', 'v', $3, $3 + 600000, 'h' FROM n",
            &[json!(CAP - 1), json!(env.org.id), json!(env.server.now_ms())],
        )
        .await;
        assert_eq!(rows(&env, FLOWS).await, CAP - 1, "[{}]", db.kind);
        // The last one is started; each further start takes the place of the oldest abandoned
        // one, so the pending sign-ins stay at the cap and nobody is turned away.
        let b = Browser::new();
        let r = b.get(&format!("{u}/sso/start?org={SLUG}")).await;
        r.assert_status(303);
        assert_eq!(rows(&env, FLOWS).await, CAP, "[{}]", db.kind);
        let r = Browser::new()
            .get(&format!("{u}/sso/start?org={SLUG}"))
            .await;
        r.assert_status(303);
        let r = Browser::new().get(&env.initiate()).await;
        r.assert_status(303);
        assert_eq!(rows(&env, FLOWS).await, CAP, "[{}]", db.kind);
        env.signed_in(&Browser::new(), "bob").await;
        assert!(rows(&env, FLOWS).await <= CAP, "[{}]", db.kind);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_org_name_is_not_quoted_back() {
    let db = testkit::sqlite();
    let env = Env::start(&db).await;
    let b = Browser::new();
    for crafted in [
        "Your account is locked. Call +1 555 0100",
        "\"><img src=x onerror=alert(1)>",
        &"x".repeat(7000),
    ] {
        let mut u = url::Url::parse(&format!("{}/sso/start", env.url())).unwrap();
        u.query_pairs_mut().append_pair("org", crafted);
        let r = b.get(u.as_str()).await;
        // A name nobody has is "not found", too long a name is refused; neither is repeated.
        if crafted.len() > app::validate::MAX_ORG_INPUT_CHARS {
            assert_problem(&r, 400, "org_invalid");
            assert!(r.body.contains("name or short name"), "{}", r.body);
        } else {
            assert_problem(&r, 404, "org_unknown");
            assert!(
                r.body.contains("no organization with that name"),
                "{}",
                r.body
            );
        }
        for echoed in ["locked", "onerror", "xxxxxxxxxx"] {
            assert!(!r.body.contains(echoed), "{echoed} echoed: {}", r.body);
        }
    }
}
