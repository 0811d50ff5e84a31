//! Relying-party checks modelled on the OpenID Foundation's RP conformance cases, against the
//! test kit's in-process OpenID provider (`testkit::op`), which each test tells what to answer
//! (forged, unsigned or wrongly signed ID tokens, a lying /userinfo, a discovery document for
//! another issuer...). Every case runs on SQLite and on PostgreSQL.

use app::ssr::login::{LoginAttempt, Outcome};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use testkit::op::{
    AUTHORIZE, Behavior, CLIENT_ID, CLIENT_SECRET, JWKS, SUB, Sign, TOKEN, USERINFO,
    basic_credentials, now,
};
use testkit::{Browser, FakeOp, SignIn, TestDb, TestServer, initiate_url, query_param};

const SLUG: &str = "fake";

// ---- one sign-in against the fake provider ------------------------------------------------------

struct Case {
    server: TestServer,
    op: FakeOp,
    org: app::model::Org,
    browser: Browser,
    flow: SignIn,
    db: &'static str,
}

/// Tessera with org `fake` connected to a fresh fake provider configured by `configure`, and one
/// IdP-initiated sign-in through it.
async fn sign_in_with(db: &TestDb, configure: impl FnOnce(&mut Behavior)) -> Case {
    let server = TestServer::start(db).await;
    let op = FakeOp::start(configure).await;
    server.register_org(SLUG, &op.issuer, CLIENT_ID, CLIENT_SECRET);
    let org = testkit::org(&server.store, SLUG).await;
    let browser = Browser::new();
    let flow = browser
        .sign_in(&server.url, &initiate_url(&server.url, &op.issuer), "", "")
        .await;
    Case {
        server,
        op,
        org,
        browser,
        flow,
        db: db.kind,
    }
}

impl Case {
    async fn attempts(&self) -> Vec<LoginAttempt> {
        self.server
            .store
            .recent_login_attempts(&self.org.id, 100)
            .await
            .expect("attempts")
    }

    /// The sign-in worked: redirect into Tessera, a live session, a success attempt, the member.
    async fn assert_signed_in(&self) -> Value {
        let r = &self.flow.response;
        assert!(
            self.flow.callback_url.is_some(),
            "[{}] never reached the callback: {:#?}",
            self.db,
            self.flow.hops
        );
        r.assert_status(303);
        assert_eq!(r.location_raw(), Some("/"), "[{}]", self.db);
        let me = self.browser.session(&self.server.url).await;
        me.assert_status(200);
        let attempts = self.attempts().await;
        assert_eq!(attempts.len(), 1, "[{}] {attempts:?}", self.db);
        assert_eq!(
            (attempts[0].outcome, attempts[0].reason.as_str()),
            (Outcome::Success, "success")
        );
        assert_eq!(attempts[0].subject.as_deref(), Some(SUB));
        me.json()
    }

    /// The sign-in was refused with `status`/`reason` on the page and in the store, and left
    /// neither a session nor a member behind. Returns the recorded attempt.
    async fn assert_refused(&self, status: u16, reason: &str) -> LoginAttempt {
        let r = &self.flow.response;
        r.assert_status(status);
        assert_eq!(
            r.reason().as_deref(),
            Some(reason),
            "[{}] page: {}",
            self.db,
            r.body
        );
        assert!(r.body.contains(&format!(
            "Reason code: <span class=\"code\">{reason}</span>"
        )));
        assert!(
            r.set_cookies()
                .iter()
                .all(|c| !c.starts_with("tessera_session=")),
            "[{}] a refused sign-in sets no session cookie",
            self.db
        );
        self.browser
            .session(&self.server.url)
            .await
            .assert_status(401);
        assert_eq!(
            testkit::signed_in_sessions(&self.server.store).await,
            0,
            "[{}] no session",
            self.db
        );
        assert_eq!(
            self.server.store.count_members(&self.org.id).await.unwrap(),
            0,
            "[{}] no member",
            self.db
        );
        let attempts = self.attempts().await;
        assert_eq!(
            attempts.len(),
            1,
            "[{}] one attempt recorded: {attempts:?}",
            self.db
        );
        let a = attempts.into_iter().next().unwrap();
        assert_eq!(
            (a.outcome, a.reason.as_str()),
            (Outcome::Failure, reason),
            "[{}] detail: {}",
            self.db,
            a.detail
        );
        assert_eq!(a.issuer.as_deref(), Some(self.op.issuer.as_str()));
        a
    }
}

/// Runs `configure` against every database and asserts the ID token is refused as `token_invalid`;
/// `detail` must appear in the recorded reason detail.
async fn refused_token(configure: impl Fn(&mut Behavior), detail: &str) {
    for db in testkit::databases().await {
        let case = sign_in_with(&db, &configure).await;
        let a = case.assert_refused(401, "token_invalid").await;
        assert!(
            a.detail.to_lowercase().contains(&detail.to_lowercase()),
            "[{}] detail {:?} lacks {detail:?}",
            db.kind,
            a.detail
        );
        assert!(case.flow.response.body.contains("could not be verified"));
        assert!(case.flow.response.body.contains("Sign in again"));
        // The token was fetched, but nothing was asked of /userinfo with it.
        assert_eq!(case.op.seen_at(TOKEN).len(), 1);
        assert!(
            case.op.seen_at(USERINFO).is_empty(),
            "[{}] userinfo called for a bad token",
            db.kind
        );
    }
}

// ---- the cases ----------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_token_endpoint_client_secret_basic() {
    for db in testkit::databases().await {
        let case = sign_in_with(&db, |_| {}).await;
        case.assert_signed_in().await;
        let token = case.op.seen_at(TOKEN);
        assert_eq!(token.len(), 1);
        let t = &token[0];
        assert_eq!(
            basic_credentials(t.authorization.as_deref()),
            Some((CLIENT_ID.to_string(), CLIENT_SECRET.to_string())),
            "[{}] {:?}",
            db.kind,
            t.authorization
        );
        let body: HashMap<String, String> = url::form_urlencoded::parse(t.body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            body.get("grant_type").map(String::as_str),
            Some("authorization_code")
        );
        assert!(body.contains_key("code"));
        assert_eq!(
            body.get("redirect_uri"),
            Some(&format!("{}/sso/callback", case.server.url))
        );
        assert!(
            body.get("code_verifier").is_some_and(|v| v.len() >= 43),
            "PKCE verifier sent"
        );
        assert!(
            !body.contains_key("client_secret"),
            "the secret travels only in the Authorization header"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_sig_rs256() {
    for db in testkit::databases().await {
        let case = sign_in_with(&db, |_| {}).await;
        let me = case.assert_signed_in().await;
        assert_eq!(me["member"]["role"], "owner");
        assert_eq!(me["org"]["slug"], SLUG);
        let m = case
            .server
            .store
            .member_by_subject(&case.org.id, &case.op.issuer, SUB)
            .await
            .unwrap();
        assert!(m.is_some(), "[{}] member keyed by (issuer, sub)", db.kind);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_bad_sig_rs256() {
    refused_token(|b| b.sign = Sign::BadSig, "signature").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_sig_none() {
    refused_token(|b| b.sign = Sign::None, "signature").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_hs256_signed_with_the_client_secret_is_refused() {
    refused_token(|b| b.sign = Sign::Hs256, "HS256").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_issuer_mismatch() {
    refused_token(
        |b| b.id_token = Box::new(|c| c["iss"] = json!("https://evil.example.com")),
        "issuer",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_aud() {
    refused_token(
        |b| b.id_token = Box::new(|c| c["aud"] = json!("0oa-some-other-app")),
        "audience",
    )
    .await;
    // Our client id plus an audience we do not trust is refused too.
    refused_token(
        |b| b.id_token = Box::new(|c| c["aud"] = json!([CLIENT_ID, "0oa-some-other-app"])),
        "audience",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_sub() {
    refused_token(
        |b| {
            b.id_token = Box::new(|c| {
                c.as_object_mut().unwrap().remove("sub");
            })
        },
        "sub",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_iat() {
    refused_token(
        |b| {
            b.id_token = Box::new(|c| {
                c.as_object_mut().unwrap().remove("iat");
            })
        },
        "iat",
    )
    .await;
    refused_token(
        |b| b.id_token = Box::new(|c| c["iat"] = json!(now() + 3600)),
        "future",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_expired_is_refused() {
    refused_token(
        |b| {
            b.id_token = Box::new(|c| {
                c["iat"] = json!(now() - 600);
                c["exp"] = json!(now() - 120);
            })
        },
        "expired",
    )
    .await;
    // Within the 60 s clock skew an exp just past is still accepted.
    for db in testkit::databases().await {
        let case = sign_in_with(&db, |b| {
            b.id_token = Box::new(|c| {
                c["iat"] = json!(now() - 300);
                c["exp"] = json!(now() - 5);
            })
        })
        .await;
        case.assert_signed_in().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_nonce_invalid() {
    refused_token(
        |b| b.id_token = Box::new(|c| c["nonce"] = json!("not-the-nonce-we-sent")),
        "nonce",
    )
    .await;
    refused_token(
        |b| {
            b.id_token = Box::new(|c| {
                c.as_object_mut().unwrap().remove("nonce");
            })
        },
        "nonce",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_kid_absent_single_jwks() {
    for db in testkit::databases().await {
        let case = sign_in_with(&db, |b| {
            b.sign = Sign::Rs256 { key: 0, kid: false };
            b.jwks = vec![0];
            b.jwks_kids = false;
        })
        .await;
        case.assert_signed_in().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_kid_absent_multiple_jwks() {
    // OIDC Core §10.1: with several keys published the token must name one. Tessera refuses
    // rather than try each key (OIDF accepts either behaviour).
    refused_token(
        |b| {
            b.sign = Sign::Rs256 { key: 0, kid: false };
            b.jwks = vec![0, 1];
        },
        "eligible",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_userinfo_bad_sub_claim() {
    for db in testkit::databases().await {
        let case = sign_in_with(&db, |b| {
            b.userinfo = Box::new(|u| u["sub"] = json!("00uSomeoneElse"))
        })
        .await;
        let a = case.assert_refused(401, "userinfo_invalid").await;
        assert!(a.detail.contains("sub"), "[{}] {}", db.kind, a.detail);
        assert_eq!(case.op.seen_at(USERINFO).len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_scope_userinfo_claims() {
    for db in testkit::databases().await {
        let case = sign_in_with(&db, |_| {}).await;
        let me = case.assert_signed_in().await;
        // The ID token carried no profile claims; they come from /userinfo.
        assert_eq!(me["member"]["email"], "pat@example.com", "[{}]", db.kind);
        assert_eq!(me["member"]["name"], "Pat Doe");
        let m = case
            .server
            .store
            .member_by_subject(&case.org.id, &case.op.issuer, SUB)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (m.email.as_str(), m.name.as_str()),
            ("pat@example.com", "Pat Doe")
        );
        let info = case.op.seen_at(USERINFO);
        assert_eq!(info.len(), 1);
        assert!(
            info[0]
                .authorization
                .as_deref()
                .is_some_and(|a| a.starts_with("Bearer at-"))
        );
        let authz = case.flow.authorize_url.as_ref().unwrap();
        let scope = query_param(authz, "scope").unwrap();
        assert!(scope.split(' ').any(|s| s == "email") && scope.split(' ').any(|s| s == "profile"));
        let attempt = &case.attempts().await[0];
        assert_eq!(attempt.email.as_deref(), Some("pat@example.com"));
    }
    // Without a name, given and family names make one.
    for db in testkit::databases().await {
        let case = sign_in_with(&db, |b| {
            b.userinfo = Box::new(|u| {
                u.as_object_mut().unwrap().remove("name");
            })
        })
        .await;
        assert_eq!(
            case.assert_signed_in().await["member"]["name"],
            "Pat Doe",
            "[{}]",
            db.kind
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_discovery_openid_configuration() {
    for db in testkit::databases().await {
        let case = sign_in_with(&db, |_| {}).await;
        case.assert_signed_in().await;
        let seen = case.op.seen();
        assert_eq!(
            seen[0].path, "/.well-known/openid-configuration",
            "[{}] discovery first: {seen:?}",
            db.kind
        );
        // Tessera used the endpoints the document names, not guessed ones.
        let authz = case.flow.authorize_url.as_ref().unwrap();
        assert_eq!(authz.path(), AUTHORIZE);
        assert_eq!(
            authz.origin(),
            url::Url::parse(&case.op.issuer).unwrap().origin()
        );
        let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
        for p in [AUTHORIZE, TOKEN, JWKS, USERINFO] {
            assert!(paths.contains(&p), "[{}] {p} not used: {paths:?}", db.kind);
        }
        assert_eq!(
            seen.iter()
                .filter(|s| s.method == "GET" && s.path == AUTHORIZE)
                .count(),
            1
        );
        // A second sign-in reuses the cached document.
        let again = Browser::new()
            .sign_in(
                &case.server.url,
                &initiate_url(&case.server.url, &case.op.issuer),
                "",
                "",
            )
            .await;
        again.response.assert_status(303);
        assert_eq!(
            case.op.seen_at("/.well-known/openid-configuration").len(),
            1
        );
        assert!(
            case.op.seen_at(AUTHORIZE)[1]
                .query
                .contains("response_type=code")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_discovery_jwks_uri_keys() {
    for db in testkit::databases().await {
        // The token is signed with key b, published (with key a) at the discovered jwks_uri.
        let case = sign_in_with(&db, |b| {
            b.sign = Sign::Rs256 { key: 1, kid: true };
            b.jwks = vec![0, 1];
        })
        .await;
        case.assert_signed_in().await;
        assert!(
            !case.op.seen_at(JWKS).is_empty(),
            "[{}] keys fetched from jwks_uri",
            db.kind
        );
    }
    for db in testkit::databases().await {
        // A kid the JWKS does not have (even after one refetch) is refused.
        let case = sign_in_with(&db, |b| {
            b.sign = Sign::Rs256 { key: 1, kid: true };
            b.jwks = vec![0];
        })
        .await;
        let a = case.assert_refused(401, "token_invalid").await;
        assert!(
            a.detail.to_lowercase().contains("key"),
            "[{}] {}",
            db.kind,
            a.detail
        );
        assert_eq!(
            case.op.seen_at(JWKS).len(),
            2,
            "[{}] one refetch for an unknown kid",
            db.kind
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_discovery_issuer_not_matching_config() {
    for db in testkit::databases().await {
        let case = sign_in_with(&db, |b| {
            b.discovery_issuer = Some("https://evil.example.com".into())
        })
        .await;
        // Refused at the start: the browser never goes to the provider.
        assert!(case.flow.callback_url.is_none());
        assert!(case.flow.authorize_url.is_none());
        let r = &case.flow.response;
        assert_eq!(r.url.path(), "/sso/initiate");
        let a = case.assert_refused(502, "idp_misconfigured").await;
        assert!(r.body.contains("misconfigured"), "[{}] {}", db.kind, r.body);
        assert!(r.body.contains("Okta domain"));
        assert!(
            a.detail.contains("evil.example.com"),
            "[{}] {}",
            db.kind,
            a.detail
        );
        assert!(case.op.seen_at(AUTHORIZE).is_empty());
    }
}

// ---- lenient profile claims, empty identities, trailing-slash issuers, bounded answers ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badly_typed_claims_tessera_does_not_use_are_ignored() {
    for db in testkit::databases().await {
        let case = sign_in_with(&db, |b| {
            b.id_token = Box::new(|c| {
                c["email_verified"] = json!("true");
                c["auth_time"] = json!("yesterday");
                c["updated_at"] = json!("2026-01-01");
                c["amr"] = json!("pwd");
                c["address"] = json!(5);
                c["name"] = json!(["not", "a", "string"]);
            });
            b.userinfo = Box::new(|u| {
                u["email_verified"] = json!("true");
                u["phone_number_verified"] = json!("no");
                u["updated_at"] = json!("last tuesday");
                u["locale"] = json!({"lang": "en"});
                u["zoneinfo"] = json!([1, 2]);
                u["address"] = json!("Main Street 1");
                // A claim Tessera uses, wrongly typed: treated as absent (given + family win).
                u["name"] = json!(42);
            })
        })
        .await;
        let me = case.assert_signed_in().await;
        assert_eq!(me["member"]["email"], "pat@example.com", "[{}]", db.kind);
        assert_eq!(me["member"]["name"], "Pat Doe", "[{}]", db.kind);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_or_control_character_sub_is_refused() {
    refused_token(|b| b.id_token = Box::new(|c| c["sub"] = json!("")), "sub").await;
    refused_token(|b| b.id_token = Box::new(|c| c["sub"] = json!("  ")), "sub").await;
    refused_token(
        |b| b.id_token = Box::new(|c| c["sub"] = json!(12345)),
        "sub",
    )
    .await;
    refused_token(
        |b| b.id_token = Box::new(|c| c["sub"] = json!("00u\u{0}pat")),
        "control",
    )
    .await;
    // /userinfo naming an empty or non-string sub disagrees with the ID token.
    for bad in [json!(""), json!(null), json!(7)] {
        for db in testkit::databases().await {
            let bad = bad.clone();
            let case = sign_in_with(&db, |b| {
                b.userinfo = Box::new(move |u| u["sub"] = bad.clone())
            })
            .await;
            let a = case.assert_refused(401, "userinfo_invalid").await;
            assert!(a.detail.contains("sub"), "[{}] {}", db.kind, a.detail);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_without_email_or_name_is_named_by_username_then_sub() {
    for db in testkit::databases().await {
        // Nothing but sub anywhere: the member is named by the sub, never blank.
        let case = sign_in_with(&db, |b| {
            b.userinfo = Box::new(|u| *u = json!({"sub": SUB}));
        })
        .await;
        let me = case.assert_signed_in().await;
        assert_eq!(me["member"]["name"], SUB, "[{}]", db.kind);
        assert_eq!(me["member"]["email"], "");
        assert_eq!(me["member"]["role"], "owner");
        let m = case
            .server
            .store
            .member_by_subject(&case.org.id, &case.op.issuer, SUB)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.name, SUB);
    }
    // preferred_username comes before the sub.
    for db in testkit::databases().await {
        let case = sign_in_with(&db, |b| {
            b.userinfo = Box::new(|u| *u = json!({"sub": SUB, "preferred_username": "pat.doe"}));
        })
        .await;
        assert_eq!(
            case.assert_signed_in().await["member"]["name"],
            "pat.doe",
            "[{}]",
            db.kind
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_with_a_trailing_slash_signs_in_and_is_found_either_way() {
    for db in testkit::databases().await {
        let server = TestServer::start(&db).await;
        let op = FakeOp::start(|b| b.issuer_path = "/o/ts/").await;
        assert!(op.issuer.ends_with("/o/ts/"));
        server.register_org(SLUG, &op.issuer, CLIENT_ID, CLIENT_SECRET);
        let org = testkit::org(&server.store, SLUG).await;
        // Stored as published, slash included.
        let sso = server.store.sso_connection(&org.id).await.unwrap().unwrap();
        assert_eq!(sso.issuer, op.issuer, "[{}]", db.kind);
        let without = op.issuer.trim_end_matches('/');
        for (i, iss) in [op.issuer.as_str(), without].into_iter().enumerate() {
            let flow = Browser::new()
                .sign_in(&server.url, &initiate_url(&server.url, iss), "", "")
                .await;
            assert!(flow.landed(), "[{}] iss {iss}: {:#?}", db.kind, flow.hops);
            assert_eq!(server.store.count_members(&org.id).await.unwrap(), 1);
            if i == 0 {
                // Okta's RFC 9207 `iss` on the callback is the published issuer.
                let cb = flow.callback_url.unwrap();
                assert_eq!(query_param(&cb, "iss").as_deref(), Some(op.issuer.as_str()));
            }
        }
        // Another org cannot take the same issuer without the slash.
        let out = server
            .cli()
            .args(["org", "create", "other", "--name", "Other"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut set = server
            .cli()
            .args([
                "sso",
                "set",
                "other",
                "--issuer",
                without,
                "--client-id",
                "x",
            ])
            .args(["--client-secret-file", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        set.stdin
            .take()
            .unwrap()
            .write_all(b"some-secret-value-123")
            .unwrap();
        let out = set.wait_with_output().unwrap();
        assert!(!out.status.success(), "[{}]", db.kind);
        assert!(String::from_utf8_lossy(&out.stderr).contains("already connected"));
    }
    // Registered without the slash, the IdP publishing it with one: discovery's form is used.
    for db in testkit::databases().await {
        let server = TestServer::start(&db).await;
        let op = FakeOp::start(|b| b.issuer_path = "/o/ts/").await;
        server.register_org(
            SLUG,
            op.issuer.trim_end_matches('/'),
            CLIENT_ID,
            CLIENT_SECRET,
        );
        let flow = Browser::new()
            .sign_in(&server.url, &initiate_url(&server.url, &op.issuer), "", "")
            .await;
        assert!(flow.landed(), "[{}] {:#?}", db.kind, flow.hops);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_endpoints_off_the_issuers_origin_are_refused() {
    for bad in [
        "javascript:alert(document.domain)",
        "https://evil.example.com/op/v9/authorize",
        "data:text/html,hi",
    ] {
        for db in testkit::databases().await {
            let case =
                sign_in_with(&db, |b| b.authorization_endpoint = Some(bad.to_string())).await;
            // Never a redirect from Tessera's origin to it.
            assert!(case.flow.authorize_url.is_none(), "[{}] {bad}", db.kind);
            assert!(case.flow.hops.iter().all(|h| h.location_raw().is_none()));
            let a = case.assert_refused(502, "idp_misconfigured").await;
            assert!(
                a.detail.contains("authorization_endpoint"),
                "[{}] {}",
                db.kind,
                a.detail
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_answers_over_one_mebibyte_fail_the_sign_in() {
    for path in ["/.well-known/openid-configuration", JWKS, TOKEN, USERINFO] {
        for db in testkit::databases().await {
            let case = sign_in_with(&db, |b| b.oversize = Some(path)).await;
            let a = case.assert_refused(502, "idp_misconfigured").await;
            assert!(
                a.detail.contains("larger than"),
                "[{}] {path}: {}",
                db.kind,
                a.detail
            );
            assert!(a.detail.len() < 600, "[{}] bounded detail", db.kind);
        }
    }
}

/// A raw listener answering every request with a never-ending chunked body; returns its issuer
/// and a counter of the bytes it managed to write before the client hung up.
async fn endless_idp() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = written.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if s.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b' '; 64 * 1024];
                // Up to 256 MiB, unless the client stops reading first.
                for _ in 0..4096 {
                    let frame =
                        [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
                    if s.write_all(&frame).await.is_err() {
                        return;
                    }
                    count.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    (issuer, written)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_discovery_answer_is_cut_at_the_cap() {
    for db in testkit::databases().await {
        let server = TestServer::start(&db).await;
        let (issuer, written) = endless_idp().await;
        server.register_org(SLUG, &issuer, CLIENT_ID, CLIENT_SECRET);
        let r = Browser::new()
            .get(&initiate_url(&server.url, &issuer))
            .await;
        r.assert_status(502);
        assert_eq!(
            r.reason().as_deref(),
            Some("idp_misconfigured"),
            "{}",
            r.body
        );
        // Tessera stopped reading at 1 MiB: the listener could not push its 256 MiB.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let sent = written.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            sent < 32 * 1024 * 1024,
            "[{}] {sent} bytes were read",
            db.kind
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_from_another_browser_never_reaches_the_provider() {
    for db in testkit::databases().await {
        let server = TestServer::start(&db).await;
        let op = FakeOp::start(|_| {}).await;
        server.register_org(SLUG, &op.issuer, CLIENT_ID, CLIENT_SECRET);
        let org = testkit::org(&server.store, SLUG).await;
        let attacker = Browser::new();
        let first = attacker.get(&initiate_url(&server.url, &op.issuer)).await;
        let flow = attacker.drive_to_callback(&server.url, first, "", "").await;
        let callback = flow.callback_url.expect("the provider redirects back");
        let victim = Browser::new();
        let r = victim.get(callback.as_str()).await;
        r.assert_status(403);
        assert_eq!(
            r.reason().as_deref(),
            Some("browser_mismatch"),
            "[{}]",
            db.kind
        );
        // Tessera neither used the org's credentials nor wrote to the org.
        assert!(
            op.seen_at(TOKEN).is_empty(),
            "[{}] token endpoint called",
            db.kind
        );
        assert!(op.seen_at(USERINFO).is_empty());
        assert!(
            server
                .store
                .recent_login_attempts(&org.id, 10)
                .await
                .unwrap()
                .is_empty(),
            "[{}] org activity written",
            db.kind
        );
        assert_eq!(server.store.count_members(&org.id).await.unwrap(), 0);
        victim.session(&server.url).await.assert_status(401);
    }
}
