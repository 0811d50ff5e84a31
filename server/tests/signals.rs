//! Okta's Universal Logout (`POST /oauth/global-token-revocation`) and the Shared Signals
//! receiver (`POST /ssf/events`), on SQLite and PostgreSQL, against the local okta-dev: real
//! sign-ins, JWTs and SETs signed with the key okta-dev publishes (and with keys it does not),
//! every answer code, replays (also across two nodes), key rotation, another org's subjects,
//! and live sessions ending at once.

use app::model::MemberStatus;
use serde_json::{Value, json};
use testkit::signals::{
    ACCOUNT_DISABLED, ACCOUNT_ENABLED, CREDENTIAL_CHANGE, LOGOUT_TYP, SESSION_REVOKED, SET_TYP,
    VERIFICATION, email, iss_sub, logout_claims, now_s, push, push_as, revoke, set_claims,
};
use testkit::{Browser, OktaDev, TestDb, TestServer, databases, initiate_url, okta_client};

const CLIENT_ID: &str = "tessera-signals";
const SECRET: &str = "signals-secret-0123456789";

/// The org `acme` connected to a fresh okta-dev; alice (owner) and bob signed in.
struct Env {
    server: TestServer,
    okta: OktaDev,
    alice: Browser,
    bob: Browser,
}

impl Env {
    async fn start(db: &TestDb) -> Env {
        let server = TestServer::start(db).await;
        Self::on(server).await
    }

    async fn on(server: TestServer) -> Env {
        let okta = OktaDev::start(json!([okta_client(
            &server.url,
            CLIENT_ID,
            SECRET,
            "Tessera (signals)"
        )]))
        .await;
        server.register_org("acme", &okta.issuer, CLIENT_ID, SECRET);
        let alice = sign_in(&server, &okta, "alice").await;
        let bob = sign_in(&server, &okta, "bob").await;
        Env {
            server,
            okta,
            alice,
            bob,
        }
    }

    fn endpoint(&self) -> String {
        format!("{}/oauth/global-token-revocation", self.server.url)
    }

    fn audience(&self) -> String {
        format!("{}/ssf/orgs/acme", self.server.url)
    }

    async fn logout_jwt(&self) -> String {
        self.okta.logout_jwt(CLIENT_ID, &self.endpoint()).await
    }

    /// A Universal Logout JWT whose claims `edit` changed first.
    async fn logout_jwt_with(&self, header: Value, edit: impl FnOnce(&mut Value)) -> String {
        let mut claims = logout_claims(&self.okta.issuer, CLIENT_ID, &self.endpoint());
        edit(&mut claims);
        let mut h = json!({"typ": LOGOUT_TYP});
        merge(&mut h, header);
        self.okta.sign(h, claims).await
    }

    async fn set_with(&self, event: &str, subject: Value, edit: impl FnOnce(&mut Value)) -> String {
        let mut claims = set_claims(&self.okta.issuer, &self.audience(), event, subject);
        edit(&mut claims);
        self.okta.sign(json!({"typ": SET_TYP}), claims).await
    }

    fn bob_sub(&self) -> Value {
        iss_sub(&self.okta.issuer, "00u2bob")
    }

    async fn signed_in(&self, b: &Browser) -> bool {
        let r = b.session(&self.server.url).await;
        match r.status {
            200 => true,
            401 => false,
            other => panic!("unexpected /api/v1/me status {other}: {}", r.body),
        }
    }

    async fn audit(&self, action: &str) -> Vec<Value> {
        testkit::sql_rows(
            &self.server.store,
            "SELECT actor_email, target_email, after FROM audit_log WHERE action = $1 ORDER BY at, id",
            &[json!(action)],
        )
        .await
    }

    async fn bob_status(&self) -> MemberStatus {
        let org = testkit::org(&self.server.store, "acme").await;
        let bob = self
            .server
            .store
            .members_by_email(&org.id, "bob@example.com")
            .await
            .unwrap();
        bob[0].status
    }
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Some(b)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in b {
            a.insert(k.clone(), v.clone());
        }
    }
}

async fn sign_in(server: &TestServer, okta: &OktaDev, user: &str) -> Browser {
    let b = Browser::new();
    let s = b
        .sign_in(
            &server.url,
            &initiate_url(&server.url, &okta.issuer),
            user,
            "password",
        )
        .await;
    assert!(s.landed(), "{user} signs in: {}", s.response.body);
    b
}

fn body_for(subject: Value) -> Value {
    json!({ "sub_id": subject })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn universal_logout_ends_every_session_of_the_member_at_once() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        // Bob has a second session (another browser).
        let bob_phone = sign_in(&env.server, &env.okta, "bob").await;
        assert!(env.signed_in(&env.bob).await && env.signed_in(&bob_phone).await);

        let jwt = env.logout_jwt().await;
        let started = std::time::Instant::now();
        let r = revoke(&env.server.url, Some(&jwt), &body_for(env.bob_sub())).await;
        assert_eq!(r.status, 204, "[{kind}] {}", r.body);
        assert!(r.body.is_empty(), "[{kind}] 204 has no body");
        // Both of bob's sessions are gone the moment the 204 is back; alice's is not.
        assert!(!env.signed_in(&env.bob).await, "[{kind}] bob's laptop");
        assert!(!env.signed_in(&bob_phone).await, "[{kind}] bob's phone");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "[{kind}] within a second"
        );
        assert!(env.signed_in(&env.alice).await, "[{kind}] alice untouched");

        // Audited as Okta's Universal Logout; bob stays an active member and may sign in again.
        let entries = env.audit("sessions_revoked").await;
        assert_eq!(entries.len(), 1, "[{kind}] {entries:?}");
        assert_eq!(entries[0]["actor_email"], "Okta (Universal Logout)");
        assert_eq!(entries[0]["target_email"], "bob@example.com");
        let after: Value = serde_json::from_str(entries[0]["after"].as_str().unwrap()).unwrap();
        assert_eq!(after["sessions"], 2, "[{kind}] {after}");
        assert_eq!(env.bob_status().await, MemberStatus::Active);
        let bob = sign_in(&env.server, &env.okta, "bob").await;
        assert!(env.signed_in(&bob).await);

        // The email subject, in another case, works too; the owner's activity lists both.
        let jwt = env.logout_jwt().await;
        let r = revoke(
            &env.server.url,
            Some(&jwt),
            &body_for(email("BOB@Example.COM")),
        )
        .await;
        assert_eq!(r.status, 204, "[{kind}] {}", r.body);
        assert!(!env.signed_in(&bob).await, "[{kind}]");
        let activity = env
            .alice
            .get(&format!("{}/api/v1/login-attempts", env.server.url))
            .await;
        activity.assert_status(200);
        let events = activity.json()["security_events"].clone();
        let events = events.as_array().expect("security_events");
        assert_eq!(events.len(), 2, "[{kind}] {events:?}");
        assert!(events.iter().all(|e| e["channel"] == "universal_logout"
            && e["outcome"] == "signed_out"
            && e["member_email"] == "bob@example.com"));
        assert_eq!(events[0]["sessions_ended"], 1);

        // The owner too may be signed out by Okta.
        let jwt = env.logout_jwt().await;
        let r = revoke(
            &env.server.url,
            Some(&jwt),
            &body_for(iss_sub(&env.okta.issuer, "00u1alice")),
        )
        .await;
        assert_eq!(r.status, 204, "[{kind}] {}", r.body);
        assert!(!env.signed_in(&env.alice).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn universal_logout_answers_400_403_404_as_the_draft_lists_them() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let url = env.server.url.clone();
        // 400: a body that is not the request (the JWT itself is good each time).
        for body in [
            json!("not an object"),
            json!({}),
            json!({"sub_id": "bob@example.com"}),
            json!({"sub_id": {"format": "opaque", "id": "x"}}),
            json!({"sub_id": {"format": "phone_number", "phone_number": "+1 555"}}),
            json!({"sub_id": {"format": "email"}}),
            json!({"sub_id": {"format": "email", "email": "not-an-email"}}),
            json!({"sub_id": {"format": "iss_sub", "iss": env.okta.issuer}}),
            json!({"sub_id": {"format": "iss_sub", "iss": env.okta.issuer, "sub": 42}}),
            json!({"sub_id": {"format": "iss_sub", "iss": env.okta.issuer, "sub": "a\u{0}b"}}),
            json!({"sub_id": {"format": "email", "email": "x".repeat(400) + "@example.com"}}),
        ] {
            let jwt = env.logout_jwt().await;
            let r = revoke(&url, Some(&jwt), &body).await;
            assert_eq!(r.status, 400, "[{kind}] {body}: {}", r.body);
            assert_eq!(r.json()["error"], "invalid_request", "[{kind}] {}", r.body);
        }
        // Not JSON at all.
        let jwt = env.logout_jwt().await;
        let b = Browser::new();
        let r = b
            .send(
                b.client
                    .post(format!("{url}/oauth/global-token-revocation"))
                    .header("authorization", format!("Bearer {jwt}"))
                    .header("content-type", "application/json")
                    .body("{\"sub_id\":"),
            )
            .await;
        assert_eq!(r.status, 400, "[{kind}] {}", r.body);

        // 404: nobody in the org by that subject (another issuer's sub is nobody here either).
        for subject in [
            email("nobody@example.com"),
            iss_sub(&env.okta.issuer, "00u404"),
            iss_sub("https://other.okta.test", "00u2bob"),
        ] {
            let jwt = env.logout_jwt().await;
            let r = revoke(&url, Some(&jwt), &body_for(subject.clone())).await;
            assert_eq!(r.status, 404, "[{kind}] {subject}: {}", r.body);
        }
        assert!(env.signed_in(&env.bob).await, "[{kind}] nothing ended");

        // 403: the org turned Universal Logout off (the JWT is valid); on again, 204.
        env.server
            .cli_ok(&["sso", "policy", "acme", "--universal-logout", "off"]);
        let jwt = env.logout_jwt().await;
        let r = revoke(&url, Some(&jwt), &body_for(env.bob_sub())).await;
        assert_eq!(r.status, 403, "[{kind}] {}", r.body);
        assert_eq!(r.json()["error"], "access_denied");
        assert!(
            env.signed_in(&env.bob).await,
            "[{kind}] nothing ended while off"
        );
        let shown: Value =
            serde_json::from_str(&env.server.cli_ok(&["org", "show", "acme", "--json"])).unwrap();
        assert_eq!(shown["sso"]["universal_logout"], false);
        assert_eq!(
            shown["universal_logout_endpoint"],
            env.endpoint(),
            "[{kind}] {shown}"
        );
        assert_eq!(
            shown["shared_signals"]["endpoint"],
            format!("{url}/ssf/events")
        );
        assert_eq!(shown["shared_signals"]["audience"], env.audience());
        env.server
            .cli_ok(&["sso", "policy", "acme", "--universal-logout", "on"]);
        let jwt = env.logout_jwt().await;
        let r = revoke(&url, Some(&jwt), &body_for(env.bob_sub())).await;
        assert_eq!(r.status, 204, "[{kind}] {}", r.body);

        // 403 too while SSO itself is off.
        env.server.cli_ok(&["sso", "disable", "acme"]);
        let jwt = env.logout_jwt().await;
        let r = revoke(&url, Some(&jwt), &body_for(env.bob_sub())).await;
        assert_eq!(r.status, 403, "[{kind}] {}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn universal_logout_refuses_every_bad_jwt_with_401_and_changes_nothing() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let url = env.server.url.clone();
        let body = body_for(env.bob_sub());
        // A second Okta org (another key set) registered for another Tessera org.
        let other =
            OktaDev::start(json!([okta_client(&url, "tessera-beta", SECRET, "Beta")])).await;
        env.server
            .register_org("beta", &other.issuer, "tessera-beta", SECRET);
        let now = now_s();
        let mut cases: Vec<(&str, Option<String>)> = vec![
            ("no Authorization", None),
            ("not a JWT", Some("not-a-jwt".into())),
            ("two parts", Some("eyJhbGciOiJSUzI1NiJ9.e30".into())),
        ];
        let signed = [
            ("typ JWT", json!({"typ": "JWT"}), json!({})),
            ("no typ", json!({"typ": null}), json!({})),
            ("typ secevent+jwt", json!({"typ": SET_TYP}), json!({})),
            ("alg HS256", json!({"alg": "HS256"}), json!({})),
            ("alg none", json!({"alg": "none"}), json!({})),
            ("alg RS512", json!({"alg": "RS512"}), json!({})),
            ("crit", json!({"crit": ["exp"]}), json!({})),
            (
                "aud of another URL",
                json!({}),
                json!({"aud": "https://evil.example/oauth/global-token-revocation"}),
            ),
            (
                "aud with a trailing slash",
                json!({}),
                json!({"aud": format!("{}/", env.endpoint())}),
            ),
            (
                "aud list with another",
                json!({}),
                json!({"aud": [env.endpoint(), "https://evil.example"]}),
            ),
            ("no aud", json!({}), json!({"aud": null})),
            (
                "iss of nobody",
                json!({}),
                json!({"iss": "https://evil.okta.test"}),
            ),
            (
                "iss of the other org",
                json!({}),
                json!({"iss": other.issuer}),
            ),
            (
                "sub of the other org's client",
                json!({}),
                json!({"sub": "tessera-beta"}),
            ),
            ("no sub", json!({}), json!({"sub": null})),
            (
                "expired",
                json!({}),
                json!({"iat": now - 400, "exp": now - 100}),
            ),
            (
                "issued in the future",
                json!({}),
                json!({"iat": now + 600, "exp": now + 900}),
            ),
            (
                "too old",
                json!({}),
                json!({"iat": now - 3600, "exp": now + 60}),
            ),
            ("lives too long", json!({}), json!({"exp": now + 86_400})),
            ("no exp", json!({}), json!({"exp": null})),
            ("no iat", json!({}), json!({"iat": null})),
            ("exp not a number", json!({}), json!({"exp": "soon"})),
            ("no jti", json!({}), json!({"jti": null})),
            ("empty jti", json!({}), json!({"jti": ""})),
            ("jti too long", json!({}), json!({"jti": "j".repeat(300)})),
            ("unknown kid", json!({"kid": "not-published"}), json!({})),
        ];
        for (what, header, edit) in signed {
            let jwt = env.logout_jwt_with(header, |c| merge(c, edit)).await;
            // A null claim is removed.
            cases.push((what, Some(strip_nulls(&env.okta, jwt).await)));
        }
        // Signed by the other Okta's key, naming acme's issuer and client: its kid is unknown
        // to acme's JWKS; without a kid, acme's key does not verify it.
        let forged = other
            .sign(
                json!({"typ": LOGOUT_TYP}),
                logout_claims(&env.okta.issuer, CLIENT_ID, &env.endpoint()),
            )
            .await;
        cases.push(("another issuer's key", Some(forged)));
        let forged = other
            .sign(
                json!({"typ": LOGOUT_TYP, "kid": null}),
                logout_claims(&env.okta.issuer, CLIENT_ID, &env.endpoint()),
            )
            .await;
        cases.push(("another issuer's key, no kid", Some(forged)));
        // A good token with its signature flipped.
        let good = env.logout_jwt().await;
        let (rest, sig) = good.rsplit_once('.').unwrap();
        let mut sig: Vec<char> = sig.chars().collect();
        sig[10] = if sig[10] == 'A' { 'B' } else { 'A' };
        cases.push((
            "tampered signature",
            Some(format!("{rest}.{}", sig.into_iter().collect::<String>())),
        ));
        // Claims swapped under a good signature.
        let (h, _, s) = split3(&good);
        let evil = base64_json(&logout_claims(&env.okta.issuer, CLIENT_ID, &env.endpoint()));
        cases.push(("swapped claims", Some(format!("{h}.{evil}.{s}"))));

        for (what, jwt) in cases {
            let r = revoke(&url, jwt.as_deref(), &body).await;
            assert_eq!(r.status, 401, "[{kind}] {what}: {}", r.body);
            assert_eq!(r.json()["error"], "invalid_token", "[{kind}] {what}");
            assert!(
                r.header("www-authenticate")
                    .is_some_and(|h| h.starts_with("Bearer")),
                "[{kind}] {what}"
            );
            assert!(!r.body.contains("bob"), "[{kind}] {what}: {}", r.body);
        }
        // Nothing changed: bob is signed in, nothing recorded.
        assert!(env.signed_in(&env.bob).await, "[{kind}]");
        assert!(env.audit("sessions_revoked").await.is_empty());
        let n = testkit::count(
            &env.server.store,
            "SELECT COUNT(*) AS n FROM security_events WHERE channel <> $1",
            "",
        )
        .await;
        assert_eq!(n, 0, "[{kind}] no signal recorded");
        // 401 also for a bad JWT with a bad body: the JWT is checked first.
        let r = revoke(&url, Some("x.y.z"), &json!("junk")).await;
        assert_eq!(r.status, 401, "[{kind}]");
    }
}

/// okta-dev removes null header fields but signs claims as given: drop null claims by
/// re-signing them without.
async fn strip_nulls(okta: &OktaDev, jwt: String) -> String {
    let (h, c, _) = split3(&jwt);
    let header = decode(h);
    let mut claims = decode(c);
    let had_null = claims
        .as_object()
        .is_some_and(|o| o.values().any(Value::is_null));
    if !had_null {
        return jwt;
    }
    claims.as_object_mut().unwrap().retain(|_, v| !v.is_null());
    okta.sign(header, claims).await
}

fn split3(jwt: &str) -> (&str, &str, &str) {
    let mut p = jwt.split('.');
    (p.next().unwrap(), p.next().unwrap(), p.next().unwrap())
}

fn decode(part: &str) -> Value {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn base64_json(v: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jti_is_used_once_also_across_two_nodes() {
    for db in databases().await {
        let kind = db.kind;
        let a = TestServer::start(&db).await;
        let key = a.config.secret_key_file.display().to_string();
        let env = Env::on(a).await;
        // Node B: same database, same key, same public URL (behind one balancer name).
        let b = TestServer::start_on(&db, 0, Some(key.into()), &["--public-url", &env.server.url])
            .await;
        let jwt = env.logout_jwt().await;
        let body = body_for(env.bob_sub());
        let r = revoke(&env.server.url, Some(&jwt), &body).await;
        assert_eq!(r.status, 204, "[{kind}] {}", r.body);
        let bob = sign_in(&env.server, &env.okta, "bob").await;
        // The same JWT again, on A and on B: refused, bob's new session lives.
        for node in [&env.server.url, &b.url] {
            let r = revoke(node, Some(&jwt), &body).await;
            assert_eq!(r.status, 401, "[{kind}] replay on {node}: {}", r.body);
            assert!(r.body.contains("used before"), "[{kind}] {}", r.body);
        }
        assert!(env.signed_in(&bob).await, "[{kind}]");
        // A fresh one sent to B ends the session made through A.
        let r = revoke(&b.url, Some(&env.logout_jwt().await), &body).await;
        assert_eq!(r.status, 204, "[{kind}] {}", r.body);
        assert!(!env.signed_in(&bob).await, "[{kind}]");
        // A SET replayed on the other node is refused too.
        let set = env.set_with(SESSION_REVOKED, env.bob_sub(), |_| {}).await;
        assert_eq!(push(&b.url, &set).await.status, 202, "[{kind}]");
        let r = push(&env.server.url, &set).await;
        assert_eq!(r.status, 400, "[{kind}] {}", r.body);
        assert_eq!(r.json()["err"], "invalid_request");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_keys_are_fetched_when_a_token_names_them() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let body = body_for(env.bob_sub());
        // A first request caches acme's keys.
        let r = revoke(&env.server.url, Some(&env.logout_jwt().await), &body).await;
        assert_eq!(r.status, 204, "[{kind}] {}", r.body);
        // A token naming a kid Okta never published: refused (after one refetch).
        let unknown = env
            .logout_jwt_with(json!({"kid": "never-published"}), |_| {})
            .await;
        assert_eq!(
            revoke(&env.server.url, Some(&unknown), &body).await.status,
            401
        );
        // Okta rotates (the old key withdrawn) right after: the new kid is fetched at once.
        env.okta.rotate_keys(true).await;
        let bob = sign_in(&env.server, &env.okta, "bob").await;
        let r = revoke(&env.server.url, Some(&env.logout_jwt().await), &body).await;
        assert_eq!(r.status, 204, "[{kind}] after rotation: {}", r.body);
        assert!(!env.signed_in(&bob).await);
        // And SETs signed with it are taken as well.
        env.okta.rotate_keys(false).await;
        let set = env.set_with(SESSION_REVOKED, env.bob_sub(), |_| {}).await;
        let r = push(&env.server.url, &set).await;
        assert_eq!(r.status, 202, "[{kind}] {}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_orgs_members_are_never_touched() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let url = env.server.url.clone();
        // Org beta with its own Okta; carol signs in there.
        let beta_okta =
            OktaDev::start(json!([okta_client(&url, "tessera-beta", SECRET, "Beta")])).await;
        env.server
            .register_org("beta", &beta_okta.issuer, "tessera-beta", SECRET);
        let carol = sign_in(&env.server, &beta_okta, "carol").await;
        // acme's Okta names beta's member, by email and by beta's iss_sub: 404, carol lives.
        for subject in [
            email("carol@example.com"),
            iss_sub(&beta_okta.issuer, "00u3carol"),
        ] {
            let r = revoke(
                &url,
                Some(&env.logout_jwt().await),
                &body_for(subject.clone()),
            )
            .await;
            assert_eq!(r.status, 404, "[{kind}] {subject}: {}", r.body);
        }
        // A JWT of acme's Okta aimed at beta (beta's client as sub): 401.
        let jwt = env
            .logout_jwt_with(json!({}), |c| c["sub"] = json!("tessera-beta"))
            .await;
        let r = revoke(&url, Some(&jwt), &body_for(email("carol@example.com"))).await;
        assert_eq!(r.status, 401, "[{kind}] {}", r.body);
        // A SET from acme's Okta for beta's audience: refused (wrong issuer for beta).
        let set = env
            .set_with(SESSION_REVOKED, email("carol@example.com"), |c| {
                c["aud"] = json!(format!("{url}/ssf/orgs/beta"))
            })
            .await;
        let r = push(&url, &set).await;
        assert_eq!(r.status, 400, "[{kind}] {}", r.body);
        assert_eq!(r.json()["err"], "invalid_issuer");
        // A SET for acme naming carol: accepted, but nobody in acme is carol.
        let set = env
            .set_with(ACCOUNT_DISABLED, email("carol@example.com"), |_| {})
            .await;
        assert_eq!(push(&url, &set).await.status, 202);
        assert!(env.signed_in(&carol).await, "[{kind}] carol untouched");
        let beta = testkit::org(&env.server.store, "beta").await;
        let n = testkit::count(
            &env.server.store,
            "SELECT COUNT(*) AS n FROM audit_log WHERE org_id = $1 AND action IN ('sessions_revoked', 'member_deactivated')",
            beta.id.as_str(),
        )
        .await;
        assert_eq!(n, 0, "[{kind}] nothing of beta changed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_signals_end_sessions_deactivate_and_reactivate() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let url = env.server.url.clone();
        // CAEP session-revoked (SSF 1.0's top-level sub_id): bob's session ends at once.
        let set = env.set_with(SESSION_REVOKED, env.bob_sub(), |_| {}).await;
        let r = push(&url, &set).await;
        assert_eq!(r.status, 202, "[{kind}] {}", r.body);
        assert!(!env.signed_in(&env.bob).await, "[{kind}]");
        assert!(env.signed_in(&env.alice).await);
        // CAEP credential-change with the subject inside the event (older drafts, Okta's
        // examples) and a complex subject holding an email.
        let bob = sign_in(&env.server, &env.okta, "bob").await;
        let set = env
            .set_with(CREDENTIAL_CHANGE, env.bob_sub(), |c| {
                c.as_object_mut().unwrap().remove("sub_id");
                c["events"][CREDENTIAL_CHANGE]["subject"] =
                    json!({"format": "complex", "user": email("Bob@Example.com")});
                c["events"][CREDENTIAL_CHANGE]["credential_type"] = json!("password");
                c["events"][CREDENTIAL_CHANGE]["change_type"] = json!("update");
            })
            .await;
        let r = push(&url, &set).await;
        assert_eq!(r.status, 202, "[{kind}] {}", r.body);
        assert!(!env.signed_in(&bob).await, "[{kind}]");
        let entries = env.audit("sessions_revoked").await;
        assert_eq!(entries.len(), 2, "[{kind}] {entries:?}");
        assert!(
            entries
                .iter()
                .all(|e| e["actor_email"] == "Okta (Shared Signals)")
        );
        assert!(
            entries[1]["after"]
                .as_str()
                .unwrap()
                .contains("credential-change")
        );

        // RISC account-disabled: deactivated as SCIM active:false does; sign-in refused.
        let bob = sign_in(&env.server, &env.okta, "bob").await;
        let set = env
            .set_with(ACCOUNT_DISABLED, email("bob@example.com"), |_| {})
            .await;
        assert_eq!(push(&url, &set).await.status, 202, "[{kind}]");
        assert!(!env.signed_in(&bob).await, "[{kind}]");
        assert_eq!(env.bob_status().await, MemberStatus::Deactivated);
        let b = Browser::new();
        let s = b
            .sign_in(
                &url,
                &initiate_url(&url, &env.okta.issuer),
                "bob",
                "password",
            )
            .await;
        assert_eq!(s.response.status, 403, "[{kind}] {}", s.response.body);
        assert!(s.response.body.contains("deactivated in Okta"), "[{kind}]");
        // Again: nothing to change, still 202.
        let set = env
            .set_with(ACCOUNT_DISABLED, email("bob@example.com"), |_| {})
            .await;
        assert_eq!(push(&url, &set).await.status, 202);
        // RISC account-enabled: reactivated, same member.
        let set = env.set_with(ACCOUNT_ENABLED, env.bob_sub(), |_| {}).await;
        assert_eq!(push(&url, &set).await.status, 202, "[{kind}]");
        assert_eq!(env.bob_status().await, MemberStatus::Active);
        let bob = sign_in(&env.server, &env.okta, "bob").await;
        assert!(env.signed_in(&bob).await);
        let deactivated = env.audit("member_deactivated").await;
        assert_eq!(deactivated.len(), 1);
        assert_eq!(deactivated[0]["actor_email"], "Okta (Shared Signals)");
        assert_eq!(env.audit("member_reactivated").await.len(), 1);

        // An owner's own deactivation is not Okta's to undo.
        env.server
            .cli_ok(&["member", "deactivate", "acme", "bob@example.com"]);
        let set = env.set_with(ACCOUNT_ENABLED, env.bob_sub(), |_| {}).await;
        assert_eq!(push(&url, &set).await.status, 202);
        assert_eq!(env.bob_status().await, MemberStatus::Deactivated);
        env.server
            .cli_ok(&["member", "reactivate", "acme", "bob@example.com"]);

        // Other events are recorded and ignored; the verification event is answered.
        for event in [
            "https://schemas.openid.net/secevent/caep/event-type/assurance-level-change",
            VERIFICATION,
        ] {
            let set = env
                .set_with(event, json!({"format": "opaque", "id": "stream-1"}), |c| {
                    c["events"][event]["state"] = json!("abc");
                })
                .await;
            let r = push(&url, &set).await;
            assert_eq!(r.status, 202, "[{kind}] {event}: {}", r.body);
        }
        let activity = env
            .alice
            .get(&format!("{url}/api/v1/login-attempts"))
            .await
            .json();
        let outcomes: Vec<&str> = activity["security_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(
            outcomes,
            [
                "verified",
                "ignored",
                "unchanged",
                "reactivated",
                "unchanged",
                "deactivated",
                "signed_out",
                "signed_out"
            ],
            "[{kind}]"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sets_get_rfc_8935_errors_and_change_nothing() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let url = env.server.url.clone();
        let other =
            OktaDev::start(json!([okta_client(&url, "tessera-beta", SECRET, "Beta")])).await;
        let now = now_s();
        let sub = env.bob_sub();
        let mut cases: Vec<(&str, String, &str)> = vec![
            ("not a JWT", "hello".into(), "invalid_request"),
            ("empty", String::new(), "invalid_request"),
        ];
        let edits: Vec<(&str, Value, Value, &str)> = vec![
            (
                "typ JWT",
                json!({"typ": "JWT"}),
                json!({}),
                "invalid_request",
            ),
            (
                "typ of Universal Logout",
                json!({"typ": LOGOUT_TYP}),
                json!({}),
                "invalid_request",
            ),
            (
                "alg HS256",
                json!({"alg": "HS256"}),
                json!({}),
                "invalid_key",
            ),
            ("alg none", json!({"alg": "none"}), json!({}), "invalid_key"),
            (
                "unknown kid",
                json!({"kid": "nope"}),
                json!({}),
                "invalid_key",
            ),
            (
                "aud of nobody",
                json!({}),
                json!({"aud": "https://evil.example/ssf"}),
                "invalid_audience",
            ),
            (
                "aud of an unknown org",
                json!({}),
                json!({"aud": format!("{url}/ssf/orgs/ghost")}),
                "invalid_audience",
            ),
            (
                "aud naming two orgs",
                json!({}),
                json!({"aud": [env.audience(), format!("{url}/ssf/orgs/beta")]}),
                "invalid_audience",
            ),
            (
                "aud not a string",
                json!({}),
                json!({"aud": 7}),
                "invalid_audience",
            ),
            (
                "iss of another Okta",
                json!({}),
                json!({"iss": other.issuer}),
                "invalid_issuer",
            ),
            ("no iss", json!({}), json!({"iss": null}), "invalid_issuer"),
            (
                "expired exp",
                json!({}),
                json!({"exp": now - 300}),
                "invalid_request",
            ),
            (
                "iat too old",
                json!({}),
                json!({"iat": now - 7200}),
                "invalid_request",
            ),
            (
                "iat in the future",
                json!({}),
                json!({"iat": now + 3600}),
                "invalid_request",
            ),
            ("no iat", json!({}), json!({"iat": null}), "invalid_request"),
            ("no jti", json!({}), json!({"jti": null}), "invalid_request"),
            (
                "no events",
                json!({}),
                json!({"events": null}),
                "invalid_request",
            ),
            (
                "two events",
                json!({}),
                json!({"events": {SESSION_REVOKED: {}, CREDENTIAL_CHANGE: {}}}),
                "invalid_request",
            ),
            (
                "event not an object",
                json!({}),
                json!({"events": {SESSION_REVOKED: true}}),
                "invalid_request",
            ),
            (
                "no subject",
                json!({}),
                json!({"sub_id": null}),
                "invalid_request",
            ),
            (
                "opaque subject",
                json!({}),
                json!({"sub_id": {"format": "opaque", "id": "x"}}),
                "invalid_request",
            ),
            (
                "subject with NUL",
                json!({}),
                json!({"sub_id": {"format": "email", "email": "bob\u{0}@example.com"}}),
                "invalid_request",
            ),
        ];
        for (what, header, edit, err) in edits {
            let mut claims = set_claims(
                &env.okta.issuer,
                &env.audience(),
                SESSION_REVOKED,
                sub.clone(),
            );
            merge(&mut claims, edit);
            claims.as_object_mut().unwrap().retain(|_, v| !v.is_null());
            let mut h = json!({"typ": SET_TYP});
            merge(&mut h, header);
            cases.push((what, env.okta.sign(h, claims).await, err));
        }
        let forged = other
            .sign(
                json!({"typ": SET_TYP}),
                set_claims(
                    &env.okta.issuer,
                    &env.audience(),
                    SESSION_REVOKED,
                    sub.clone(),
                ),
            )
            .await;
        cases.push(("signed by another Okta", forged, "invalid_key"));
        let good = env.set_with(SESSION_REVOKED, sub.clone(), |_| {}).await;
        let (h, _, s) = split3(&good);
        let swapped = base64_json(&set_claims(
            &env.okta.issuer,
            &env.audience(),
            ACCOUNT_DISABLED,
            sub.clone(),
        ));
        cases.push((
            "swapped claims",
            format!("{h}.{swapped}.{s}"),
            "authentication_failed",
        ));

        for (what, set, err) in cases {
            let r = push(&url, &set).await;
            assert_eq!(r.status, 400, "[{kind}] {what}: {}", r.body);
            assert_eq!(r.json()["err"], err, "[{kind}] {what}: {}", r.body);
            assert!(r.json()["description"].is_string(), "[{kind}] {what}");
        }
        // Another media type: 415, JSON error.
        let r = push_as(&url, &good, "application/json").await;
        assert_eq!(r.status, 415, "[{kind}] {}", r.body);
        // Too large: 413.
        let r = push(&url, &"a".repeat(64 * 1024)).await;
        assert_eq!(r.status, 413, "[{kind}]");
        assert!(env.signed_in(&env.bob).await, "[{kind}] nothing ended");
        assert_eq!(env.bob_status().await, MemberStatus::Active);

        // Shared Signals off: access_denied, nothing ends; on again, the same SET is taken.
        env.server
            .cli_ok(&["sso", "policy", "acme", "--shared-signals", "off"]);
        let r = push(&url, &good).await;
        assert_eq!(r.status, 400, "[{kind}] {}", r.body);
        assert_eq!(r.json()["err"], "access_denied");
        assert!(env.signed_in(&env.bob).await);
        env.server
            .cli_ok(&["sso", "policy", "acme", "--shared-signals", "on"]);
        assert_eq!(push(&url, &good).await.status, 202, "[{kind}]");
        assert!(!env.signed_in(&env.bob).await);
    }
}

/// A JSON API call from `b`'s session.
async fn api(b: &Browser, url: &str, path: &str, body: Value) -> testkit::Resp {
    b.send(
        b.post(url, &format!("{url}{path}"))
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_and_the_operator_sign_members_out_everywhere() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let url = env.server.url.clone();
        let carol = sign_in(&env.server, &env.okta, "carol").await;
        let bob_id = env.bob.session(&url).await.json()["member"]["id"].clone();
        let alice_id = env.alice.session(&url).await.json()["member"]["id"].clone();
        // A member may not sign others out.
        let r = api(
            &carol,
            &url,
            "/api/v1/members/sign-out",
            json!({"member_id": bob_id}),
        )
        .await;
        assert_eq!(r.status, 403, "[{kind}] {}", r.body);
        assert!(env.signed_in(&env.bob).await);
        // The owner may.
        let r = api(
            &env.alice,
            &url,
            "/api/v1/members/sign-out",
            json!({"member_id": bob_id}),
        )
        .await;
        assert_eq!(r.status, 200, "[{kind}] {}", r.body);
        assert_eq!(r.json()["sessions_ended"], 1);
        assert!(!env.signed_in(&env.bob).await, "[{kind}]");
        let entries = env.audit("sessions_revoked").await;
        assert_eq!(entries[0]["actor_email"], "alice@example.com");
        // Unknown member: 404.
        let r = api(
            &env.alice,
            &url,
            "/api/v1/members/sign-out",
            json!({"member_id": "nope"}),
        )
        .await;
        assert_eq!(r.status, 404, "[{kind}] {}", r.body);
        // The operator, by email, the owner included.
        let out = env
            .server
            .cli_ok(&["member", "sign-out", "acme", "ALICE@example.com", "--json"]);
        let v: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["sessions_ended"], 1, "[{kind}] {out}");
        assert_eq!(v["member"]["id"], alice_id);
        assert!(!env.signed_in(&env.alice).await, "[{kind}]");
        let (ok, _, err) = env
            .server
            .cli_run(&["member", "sign-out", "acme", "ghost@example.com"]);
        assert!(!ok && !err.is_empty(), "[{kind}] {err}");
        // The owner's switches through the API: an admin may not, the owner may.
        let alice = sign_in(&env.server, &env.okta, "alice").await;
        let r = api(
            &alice,
            &url,
            "/api/v1/sso/signals",
            json!({"shared_signals": false}),
        )
        .await;
        assert_eq!(r.status, 200, "[{kind}] {}", r.body);
        assert_eq!(r.json()["signals"]["shared_signals"], false);
        assert_eq!(r.json()["signals"]["universal_logout"], true);
        assert_eq!(r.json()["signals"]["ssf_audience"], env.audience());
        let r = api(
            &carol,
            &url,
            "/api/v1/sso/signals",
            json!({"shared_signals": true}),
        )
        .await;
        assert_eq!(r.status, 403, "[{kind}] {}", r.body);
        assert_eq!(env.audit("security_signals_changed").await.len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_several_members_share_acts_on_nobody_and_subjects_match_exactly() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let url = env.server.url.clone();
        // Okta does not require unique emails: dave's is bob's in another case; kelly's and
        // the Kelvin-sign "Kelly" fold to the same lowercase.
        for (username, sub, mail) in [
            ("dave", "00u5dave", "BOB@example.com"),
            ("kelly", "00u6kelly", "kelly@example.com"),
            ("kelvin", "00u7kelvin", "\u{212A}elly@example.com"),
        ] {
            env.okta
                .add_user(json!({"username": username, "sub": sub, "email": mail, "name": username, "assigned": true}))
                .await;
        }
        let dave = sign_in(&env.server, &env.okta, "dave").await;
        let kelly = sign_in(&env.server, &env.okta, "kelly").await;
        let kelvin = sign_in(&env.server, &env.okta, "kelvin").await;
        for mail in ["bob@example.com", "kelly@example.com"] {
            let r = revoke(&url, Some(&env.logout_jwt().await), &body_for(email(mail))).await;
            assert_eq!(r.status, 422, "[{kind}] {mail}: {}", r.body);
            assert!(
                r.body.contains("Issuer and Subject identifier"),
                "[{kind}] {}",
                r.body
            );
            let set = env.set_with(ACCOUNT_DISABLED, email(mail), |_| {}).await;
            assert_eq!(push(&url, &set).await.status, 202, "[{kind}]");
        }
        for b in [&env.bob, &dave, &kelly, &kelvin] {
            assert!(env.signed_in(b).await, "[{kind}] nobody signed out");
        }
        assert_eq!(env.bob_status().await, MemberStatus::Active, "[{kind}]");
        // By iss_sub, exactly the one person.
        let r = revoke(
            &url,
            Some(&env.logout_jwt().await),
            &body_for(iss_sub(&env.okta.issuer, "00u5dave")),
        )
        .await;
        assert_eq!(r.status, 204, "[{kind}] {}", r.body);
        assert!(!env.signed_in(&dave).await && env.signed_in(&env.bob).await);
        // A sub is matched as sent: with a trailing space it names nobody.
        let r = revoke(
            &url,
            Some(&env.logout_jwt().await),
            &body_for(iss_sub(&env.okta.issuer, "00u2bob ")),
        )
        .await;
        assert_eq!(r.status, 404, "[{kind}] {}", r.body);
        assert!(env.signed_in(&env.bob).await);
        // The activity says why nothing was done.
        let activity = env
            .alice
            .get(&format!("{url}/api/v1/login-attempts"))
            .await
            .json();
        let ambiguous = activity["security_events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["outcome"] == "ambiguous")
            .count();
        assert_eq!(ambiguous, 4, "[{kind}] {activity}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_replays_end_sessions_once_and_a_short_retention_keeps_jtis() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let url = env.server.url.clone();
        let jwt = env.logout_jwt().await;
        let body = body_for(env.bob_sub());
        let answers =
            futures_util::future::join_all((0..20).map(|_| revoke(&url, Some(&jwt), &body))).await;
        let ok = answers.iter().filter(|r| r.status == 204).count();
        let refused = answers.iter().filter(|r| r.status == 401).count();
        assert_eq!((ok, refused), (1, 19), "[{kind}]");
        assert_eq!(env.audit("sessions_revoked").await.len(), 1, "[{kind}]");
        // The retention purge with a retention of zero: the jti is still remembered.
        let now = env.server.now_ms();
        env.server
            .store
            .purge_retention(now, now, 100)
            .await
            .unwrap();
        let bob = sign_in(&env.server, &env.okta, "bob").await;
        let r = revoke(&url, Some(&jwt), &body).await;
        assert_eq!(r.status, 401, "[{kind}] replay after a purge: {}", r.body);
        assert!(env.signed_in(&bob).await, "[{kind}]");
        // nbf in the future: refused; a SET whose sub_id is null but whose event names the
        // subject: taken.
        let early = env
            .logout_jwt_with(json!({}), |c| c["nbf"] = json!(now_s() + 600))
            .await;
        assert_eq!(
            revoke(&url, Some(&early), &body).await.status,
            401,
            "[{kind}]"
        );
        let set = env
            .set_with(SESSION_REVOKED, Value::Null, |c| {
                c["events"][SESSION_REVOKED]["subject"] = email("bob@example.com");
            })
            .await;
        assert_eq!(push(&url, &set).await.status, 202, "[{kind}]");
        assert!(!env.signed_in(&bob).await, "[{kind}]");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_kids_never_keep_a_rotated_key_out() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let url = env.server.url.clone();
        let body = body_for(env.bob_sub());
        // Keys cached by a first good request.
        let r = revoke(&url, Some(&env.logout_jwt().await), &body).await;
        assert_eq!(r.status, 204, "[{kind}] {}", r.body);
        let bob = sign_in(&env.server, &env.okta, "bob").await;
        // Anonymous callers keep sending tokens naming made-up kids ...
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut flood = Vec::new();
        for t in 0..4 {
            let (url, stop, body) = (url.clone(), stop.clone(), body.clone());
            let claims = logout_claims(&env.okta.issuer, CLIENT_ID, &env.endpoint());
            let forged = env.okta.sign(json!({"typ": LOGOUT_TYP}), claims).await;
            flood.push(tokio::spawn(async move {
                let (_, rest) = forged.split_once('.').unwrap();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let header = base64_json(&json!({"alg": "RS256", "typ": LOGOUT_TYP, "kid": format!("forged-{t}-{i}")}));
                    let r = revoke(&url, Some(&format!("{header}.{rest}")), &body).await;
                    assert_eq!(r.status, 401);
                }
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        // ... while Okta rotates its keys: Okta's next request is still taken.
        env.okta.rotate_keys(true).await;
        let r = revoke(&url, Some(&env.logout_jwt().await), &body).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for f in flood {
            f.await.unwrap();
        }
        assert_eq!(r.status, 204, "[{kind}] during a flood: {}", r.body);
        assert!(!env.signed_in(&bob).await, "[{kind}]");
    }
}

/// Org `cas`, signing in through the custom authorization server `{okta}/oauth2/default`, and
/// its owner bob (Okta user `00u2bob`).
async fn custom_as_org(server: &TestServer, okta: &OktaDev) -> app::model::Member {
    let custom = format!("{}/oauth2/default", okta.issuer);
    let org = server
        .store
        .create_org("cas", "Custom AS Inc")
        .await
        .unwrap();
    server.connect(&org, &custom, CLIENT_ID, SECRET).await;
    testkit::add_member(
        &server.store,
        &org.id,
        &custom,
        "00u2bob",
        app::model::Role::Owner,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_signing_in_through_a_custom_authorization_server_is_signed_out_by_its_okta_org() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let okta = OktaDev::start(json!([okta_client(
            &server.url,
            CLIENT_ID,
            SECRET,
            "Custom AS"
        )]))
        .await;
        // Sign-in goes through `{okta}/oauth2/default`; Okta signs Universal Logout as the org.
        let bob = custom_as_org(&server, &okta).await;
        let (b, _) = testkit::signed_in_as(&server, &bob).await;
        assert_eq!(b.session(&server.url).await.status, 200);
        let endpoint = format!("{}/oauth/global-token-revocation", server.url);
        // The org's own issuer as iss, the user's Okta id: found, signed out.
        let jwt = okta.logout_jwt(CLIENT_ID, &endpoint).await;
        let r = revoke(
            &server.url,
            Some(&jwt),
            &body_for(iss_sub(&okta.issuer, "00u2bob")),
        )
        .await;
        assert_eq!(r.status, 204, "[{kind}] {}", r.body);
        assert_eq!(b.session(&server.url).await.status, 401, "[{kind}]");
        // Another client id at the same Okta org names nobody registered.
        let jwt = okta.logout_jwt("someone-else", &endpoint).await;
        let r = revoke(
            &server.url,
            Some(&jwt),
            &body_for(iss_sub(&okta.issuer, "00u2bob")),
        )
        .await;
        assert_eq!(r.status, 401, "[{kind}] {}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_signing_in_through_a_custom_authorization_server_takes_sets_from_its_okta_org() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let url = server.url.clone();
        let okta = OktaDev::start(json!([okta_client(&url, CLIENT_ID, SECRET, "Custom AS")])).await;
        // Sign-in goes through `{okta}/oauth2/default`; Okta's transmitter signs as the org.
        let bob = custom_as_org(&server, &okta).await;
        let signed_in = async || {
            let (b, _) = testkit::signed_in_as(&server, &bob).await;
            assert_eq!(b.session(&url).await.status, 200, "[{kind}]");
            b
        };
        let sub = iss_sub(&okta.issuer, "00u2bob");
        // Addressed to the org's audience, and to the receiver (the only org under that Okta).
        for aud in [format!("{url}/ssf/orgs/cas"), format!("{url}/ssf/events")] {
            let b = signed_in().await;
            let set = okta.set_jwt(&aud, SESSION_REVOKED, sub.clone()).await;
            let r = push(&url, &set).await;
            assert_eq!(r.status, 202, "[{kind}] {aud}: {}", r.body);
            assert_eq!(b.session(&url).await.status, 401, "[{kind}] {aud}");
        }
        // A second org under the same Okta org: the receiver's audience no longer says which
        // org (refused, nothing changes); the org's own audience still does.
        let other = server
            .store
            .create_org("cas2", "Other AS Inc")
            .await
            .unwrap();
        let other_issuer = format!("{}/oauth2/other", okta.issuer);
        server
            .connect(&other, &other_issuer, "other-client", SECRET)
            .await;
        let b = signed_in().await;
        let set = okta
            .set_jwt(&format!("{url}/ssf/events"), SESSION_REVOKED, sub.clone())
            .await;
        let r = push(&url, &set).await;
        assert_eq!(r.status, 400, "[{kind}] {}", r.body);
        assert_eq!(r.json()["err"], "invalid_issuer", "[{kind}] {}", r.body);
        assert_eq!(b.session(&url).await.status, 200, "[{kind}]");
        let set = okta
            .set_jwt(&format!("{url}/ssf/orgs/cas"), SESSION_REVOKED, sub.clone())
            .await;
        assert_eq!(push(&url, &set).await.status, 202, "[{kind}]");
        assert_eq!(b.session(&url).await.status, 401, "[{kind}]");
        // Another Okta org (another origin) is not this org's Okta.
        let stranger = OktaDev::start(json!([okta_client(&url, "x", SECRET, "X")])).await;
        let b = signed_in().await;
        let set = stranger
            .set_jwt(&format!("{url}/ssf/orgs/cas"), SESSION_REVOKED, sub.clone())
            .await;
        let r = push(&url, &set).await;
        assert_eq!(r.json()["err"], "invalid_issuer", "[{kind}] {}", r.body);
        assert_eq!(b.session(&url).await.status, 200, "[{kind}]");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_the_database_failed_on_is_taken_when_okta_retries_it() {
    use sqlx::Executor as _;
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let url = env.server.url.clone();
        let jwt = env.logout_jwt().await;
        let body = body_for(env.bob_sub());
        let set = env.set_with(SESSION_REVOKED, env.bob_sub(), |_| {}).await;
        // The claim of the jti still succeeds on PostgreSQL; the sign-out then times out.
        let mut lock = testkit::hold_lock(&db, "sessions").await;
        let r = revoke(&url, Some(&jwt), &body).await;
        assert_eq!(r.status, 503, "[{kind}] {}", r.body);
        let r = push(&url, &set).await;
        assert_eq!(r.status, 503, "[{kind}] {}", r.body);
        lock.execute("ROLLBACK").await.expect("unlock");
        assert!(env.signed_in(&env.bob).await, "[{kind}] nothing was done");
        // Okta retries the same tokens: taken, not refused as replays.
        let r = revoke(&url, Some(&jwt), &body).await;
        assert_eq!(r.status, 204, "[{kind}] {}", r.body);
        assert!(!env.signed_in(&env.bob).await, "[{kind}]");
        let r = push(&url, &set).await;
        assert_eq!(r.status, 202, "[{kind}] {}", r.body);
        // And once taken, they are replays.
        let r = revoke(&url, Some(&jwt), &body).await;
        assert_eq!(r.status, 401, "[{kind}] {}", r.body);
        let r = push(&url, &set).await;
        assert_eq!(r.json()["err"], "invalid_request", "[{kind}] {}", r.body);
        assert!(env.signed_in(&env.alice).await, "[{kind}]");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_addressed_to_the_receiver_finds_the_org_by_its_issuer() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let url = env.server.url.clone();
        // A transmitter that sets `aud` itself (Okta's) names the receiver, not the org.
        for aud in [format!("{url}/ssf/events"), url.clone(), format!("{url}/")] {
            let bob = sign_in(&env.server, &env.okta, "bob").await;
            let set = env
                .set_with(SESSION_REVOKED, env.bob_sub(), |c| c["aud"] = json!(aud))
                .await;
            let r = push(&url, &set).await;
            assert_eq!(r.status, 202, "[{kind}] {aud}: {}", r.body);
            assert!(!env.signed_in(&bob).await, "[{kind}] {aud}");
        }
        // Then the issuer must be an org's; another receiver's URL is refused.
        let other = OktaDev::start(json!([okta_client(&url, "x", SECRET, "X")])).await;
        let set = other
            .set_jwt(&format!("{url}/ssf/events"), SESSION_REVOKED, env.bob_sub())
            .await;
        let r = push(&url, &set).await;
        assert_eq!(r.json()["err"], "invalid_issuer", "[{kind}] {}", r.body);
        let set = env
            .set_with(SESSION_REVOKED, env.bob_sub(), |c| {
                c["aud"] = json!("https://another-receiver.example/ssf/events")
            })
            .await;
        let r = push(&url, &set).await;
        assert_eq!(r.json()["err"], "invalid_audience", "[{kind}] {}", r.body);
        assert!(env.signed_in(&env.alice).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_never_undoes_a_deactivation_the_org_made_after_its_own() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let url = env.server.url.clone();
        // Okta disables bob's account; the operator reactivates him, then deactivates him:
        // the org's own decision now.
        let set = env.set_with(ACCOUNT_DISABLED, env.bob_sub(), |_| {}).await;
        assert_eq!(push(&url, &set).await.status, 202, "[{kind}]");
        assert_eq!(env.bob_status().await, MemberStatus::Deactivated);
        env.server
            .cli_ok(&["member", "reactivate", "acme", "bob@example.com"]);
        env.server
            .cli_ok(&["member", "deactivate", "acme", "bob@example.com"]);
        // Sign-in says the org deactivated him, not Okta.
        let b = Browser::new();
        let s = b
            .sign_in(
                &url,
                &initiate_url(&url, &env.okta.issuer),
                "bob",
                "password",
            )
            .await;
        assert_eq!(s.response.status, 403, "[{kind}] {}", s.response.body);
        assert!(
            !s.response.body.contains("deactivated in Okta"),
            "[{kind}] {}",
            s.response.body
        );
        // Okta enables the account again: not Okta's deactivation to undo.
        let set = env.set_with(ACCOUNT_ENABLED, env.bob_sub(), |_| {}).await;
        assert_eq!(push(&url, &set).await.status, 202, "[{kind}]");
        assert_eq!(
            env.bob_status().await,
            MemberStatus::Deactivated,
            "[{kind}] the org's deactivation stands"
        );
        assert_eq!(env.audit("member_reactivated").await.len(), 1, "[{kind}]");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_subject_finds_the_member_when_lowercasing_lengthens_it() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let url = env.server.url.clone();
        let org = testkit::org(&env.server.store, "acme").await;
        // "İ" (one character) lowercases to "i" and a combining dot above (two).
        let (inci, _) = env
            .server
            .store
            .insert_member(
                &org.id,
                &env.okta.issuer,
                "00u9inci",
                "\u{130}nci@example.com",
                "Inci",
                app::model::Role::Member,
            )
            .await
            .unwrap();
        let (b, _) = testkit::signed_in_as(&env.server, &inci).await;
        assert!(env.signed_in(&b).await, "[{kind}]");
        let r = revoke(
            &url,
            Some(&env.logout_jwt().await),
            &body_for(email("i\u{307}nci@example.com")),
        )
        .await;
        assert_eq!(r.status, 204, "[{kind}] {}", r.body);
        assert!(!env.signed_in(&b).await, "[{kind}]");
        // A SET naming her the same way, in another case, deactivates her.
        let set = env
            .set_with(ACCOUNT_DISABLED, email("i\u{307}NCI@Example.com"), |_| {})
            .await;
        assert_eq!(push(&url, &set).await.status, 202, "[{kind}]");
        let now = env
            .server
            .store
            .member_by_id(&org.id, &inci.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(now.status, MemberStatus::Deactivated, "[{kind}]");
        assert!(env.signed_in(&env.bob).await, "[{kind}] nobody else");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_okta_org_with_two_apps_signs_out_by_the_client_id() {
    for db in databases().await {
        let kind = db.kind;
        // acme signs in through the Okta org's own issuer; cas through a custom authorization
        // server of the same Okta org, with another app (Client ID).
        let env = Env::start(&db).await;
        let url = env.server.url.clone();
        let custom = format!("{}/oauth2/default", env.okta.issuer);
        let org = env
            .server
            .store
            .create_org("cas", "Custom AS Inc")
            .await
            .unwrap();
        env.server
            .connect(&org, &custom, "tessera-cas", SECRET)
            .await;
        let dan = testkit::add_member(
            &env.server.store,
            &org.id,
            &custom,
            "00u2bob",
            app::model::Role::Owner,
        )
        .await;
        let (dan_b, _) = testkit::signed_in_as(&env.server, &dan).await;
        assert!(env.signed_in(&dan_b).await, "[{kind}]");
        // Okta's request for cas's app: iss = the Okta org (acme's issuer), sub = cas's client.
        let jwt = env.okta.logout_jwt("tessera-cas", &env.endpoint()).await;
        let r = revoke(
            &url,
            Some(&jwt),
            &body_for(iss_sub(&env.okta.issuer, "00u2bob")),
        )
        .await;
        assert_eq!(r.status, 204, "[{kind}] {}", r.body);
        assert!(
            !env.signed_in(&dan_b).await,
            "[{kind}] cas's member signed out"
        );
        // The same Okta user in acme is another org's member: untouched.
        assert!(
            env.signed_in(&env.bob).await,
            "[{kind}] acme's bob untouched"
        );
        // And acme's own requests still reach acme only.
        let r = revoke(
            &url,
            Some(&env.logout_jwt().await),
            &body_for(env.bob_sub()),
        )
        .await;
        assert_eq!(r.status, 204, "[{kind}] {}", r.body);
        assert!(!env.signed_in(&env.bob).await, "[{kind}]");
        let cas = testkit::count(
            &env.server.store,
            "SELECT COUNT(*) AS n FROM audit_log WHERE org_id = $1 AND action = 'sessions_revoked'",
            org.id.as_str(),
        )
        .await;
        assert_eq!(cas, 1, "[{kind}] one sign-out in cas");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_a_bearer_jwt_gets_a_challenge_without_an_error() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let url = server.url.clone();
        let body = body_for(email("bob@example.com"));
        // No credentials, or another scheme (RFC 6750 §3.1): `Bearer` alone.
        let r = revoke(&url, None, &body).await;
        assert_eq!(r.status, 401, "[{kind}] {}", r.body);
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "[{kind}]");
        let b = Browser::new();
        let r = b
            .send(
                b.client
                    .post(format!("{url}/oauth/global-token-revocation"))
                    .header("authorization", "Basic dXNlcjpwYXNz")
                    .header("content-type", "application/json")
                    .body(body.to_string()),
            )
            .await;
        assert_eq!(r.status, 401, "[{kind}] {}", r.body);
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "[{kind}]");
        // A token that fails: the challenge says so.
        let r = revoke(&url, Some("x.y.z"), &body).await;
        assert_eq!(r.status, 401, "[{kind}] {}", r.body);
        assert!(
            r.header("www-authenticate")
                .is_some_and(|h| h.contains("error=\"invalid_token\"")),
            "[{kind}]"
        );
    }
}
