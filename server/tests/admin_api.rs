//! The admin JSON API (`/api/v1/...`) over real HTTP against the real router, on SQLite and
//! PostgreSQL: the whole authorization matrix with the store state after every call, session
//! revocation, the one-owner rule, the audit log, cross-site refusal, search and paging (also
//! with 100,000 members), login statistics, and "Test connection" / secret rotation against the
//! local Okta.

use app::model::{DefaultRole, Member, MemberStatus, Org, Role};
use app::ssr::login::{LoginAttempt, Outcome};
use app::ssr::store::Store;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use testkit::{
    ApiClient, Browser, Resp, TestServer, count, databases, dead_issuer, okta_client, session_for,
    session_with_expiry, sql_exec, sql_row, sql_rows,
};

// ---- helpers ---------------------------------------------------------------------------------

/// An org with an owner, two admins and two members, all active.
struct Fx {
    org: Org,
    owner: Member,
    admin: Member,
    admin2: Member,
    member: Member,
    member2: Member,
}

impl Fx {
    fn by_role(&self, role: Role) -> &Member {
        match role {
            Role::Owner => &self.owner,
            Role::Admin => &self.admin,
            Role::Member => &self.member,
        }
    }
}

fn issuer_of(org: &Org) -> String {
    format!("https://{}.okta.test", org.slug)
}

async fn add(store: &Store, org: &Org, key: &str, name: &str, role: Role) -> Member {
    let (m, created) = store
        .insert_member(
            &org.id,
            &issuer_of(org),
            &format!("sub-{key}"),
            &format!("{key}@{}.test", org.slug),
            name,
            role,
        )
        .await
        .expect("insert member");
    assert!(created);
    m
}

async fn fixture(store: &Store, slug: &str) -> Fx {
    let org = store
        .create_org(slug, &format!("{slug} Inc"))
        .await
        .expect("org");
    let owner = add(store, &org, "olivia", "Olivia Owner", Role::Member).await;
    assert_eq!(owner.role, Role::Owner);
    let admin = add(store, &org, "adam", "Adam Admin", Role::Admin).await;
    let admin2 = add(store, &org, "alma", "Alma Admin", Role::Admin).await;
    let member = add(store, &org, "mia", "Mia Member", Role::Member).await;
    let member2 = add(store, &org, "max", "Max Member", Role::Member).await;
    Fx {
        org,
        owner,
        admin,
        admin2,
        member,
        member2,
    }
}

async fn audits(store: &Store, org_id: &str) -> i64 {
    count(
        store,
        "SELECT COUNT(*) AS n FROM audit_log WHERE org_id = $1",
        org_id,
    )
    .await
}

async fn sessions_of(store: &Store, member_id: &str) -> i64 {
    count(
        store,
        "SELECT COUNT(*) AS n FROM sessions WHERE member_id = $1",
        member_id,
    )
    .await
}

async fn owners(store: &Store, org_id: &str) -> i64 {
    count(
        store,
        "SELECT COUNT(*) AS n FROM members WHERE org_id = $1 AND role = 'owner'",
        org_id,
    )
    .await
}

async fn set_status(store: &Store, m: &Member, status: MemberStatus) -> Member {
    sql_exec(
        store,
        "UPDATE members SET status = $1 WHERE id = $2",
        &[json!(status.as_str()), json!(m.id)],
    )
    .await;
    reload(store, m).await.expect("member")
}

async fn reload(store: &Store, m: &Member) -> Option<Member> {
    store.member_by_id(&m.org_id, &m.id).await.expect("lookup")
}

#[track_caller]
fn assert_error(r: &Resp, status: u16, code: &str) {
    r.assert_status(status);
    let j = r.json();
    assert_eq!(j["error"], code, "{} {}: {}", r.method, r.url, r.body);
    assert!(
        j["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a message: {}",
        r.body
    );
}

// ---- the member-action matrix ----------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    ToAdmin,
    ToMember,
    Deactivate,
    Reactivate,
    Remove,
    Transfer,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tgt {
    Owner,
    Admin,
    Member,
    Itself,
    OtherOrg,
}

fn request(act: Act, id: &str) -> (&'static str, Value) {
    match act {
        Act::ToAdmin => (
            "/api/v1/members/role",
            json!({"member_id": id, "role": "admin"}),
        ),
        Act::ToMember => (
            "/api/v1/members/role",
            json!({"member_id": id, "role": "member"}),
        ),
        Act::Deactivate => ("/api/v1/members/deactivate", json!({"member_id": id})),
        Act::Reactivate => ("/api/v1/members/reactivate", json!({"member_id": id})),
        Act::Remove => ("/api/v1/members/remove", json!({"member_id": id})),
        Act::Transfer => ("/api/v1/org/transfer-ownership", json!({"member_id": id})),
    }
}

/// The README's matrix, written independently of the implementation.
fn expected_status(actor: Role, act: Act, tgt: Tgt) -> u16 {
    match tgt {
        Tgt::OtherOrg => 404,
        Tgt::Itself | Tgt::Owner => 403,
        Tgt::Admin | Tgt::Member => match actor {
            Role::Member => 403,
            Role::Admin if tgt == Tgt::Admin || act == Act::Transfer => 403,
            Role::Admin | Role::Owner => 200,
        },
    }
}

#[tokio::test]
async fn authorization_matrix_for_member_actions() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let mut case = 0;
        for actor_role in [Role::Owner, Role::Admin, Role::Member] {
            for act in [
                Act::ToAdmin,
                Act::ToMember,
                Act::Deactivate,
                Act::Reactivate,
                Act::Remove,
                Act::Transfer,
            ] {
                for tgt in [
                    Tgt::Owner,
                    Tgt::Admin,
                    Tgt::Member,
                    Tgt::Itself,
                    Tgt::OtherOrg,
                ] {
                    if actor_role == Role::Owner && tgt == Tgt::Owner {
                        continue; // the owner targeting the owner is "itself"
                    }
                    case += 1;
                    let label = format!("[{}] {actor_role} {act:?} {tgt:?}", db.kind);
                    let fx = fixture(store, &format!("c{case}")).await;
                    let other = fixture(store, &format!("x{case}")).await;
                    let actor = fx.by_role(actor_role).clone();
                    let mut target = match tgt {
                        Tgt::Owner => fx.owner.clone(),
                        Tgt::Admin => fx.admin2.clone(),
                        Tgt::Member => fx.member2.clone(),
                        Tgt::Itself => actor.clone(),
                        Tgt::OtherOrg => other.member2.clone(),
                    };
                    if act == Act::Reactivate
                        && matches!(tgt, Tgt::Admin | Tgt::Member | Tgt::OtherOrg)
                    {
                        target = set_status(store, &target, MemberStatus::Deactivated).await;
                    }
                    let client = ApiClient::new(&server, &actor).await;
                    session_for(store, &target).await;
                    let target_sessions = sessions_of(store, target.id.as_str()).await;
                    let audits_before = (
                        audits(store, fx.org.id.as_str()).await,
                        audits(store, other.org.id.as_str()).await,
                    );

                    let (path, body) = request(act, target.id.as_str());
                    let r = client.post(path, body).await;
                    let want = expected_status(actor_role, act, tgt);
                    assert_eq!(r.status, want, "{label}: {}", r.body);

                    let after = reload(store, &target).await;
                    let actor_after = reload(store, &actor).await.expect("actor stays");
                    if want != 200 {
                        assert_error(
                            &r,
                            want,
                            if want == 404 {
                                "not_found"
                            } else {
                                "forbidden"
                            },
                        );
                        assert_eq!(after.as_ref(), Some(&target), "{label}: target unchanged");
                        assert_eq!(actor_after, actor, "{label}: actor unchanged");
                        assert_eq!(
                            sessions_of(store, target.id.as_str()).await,
                            target_sessions,
                            "{label}"
                        );
                        assert_eq!(
                            (
                                audits(store, fx.org.id.as_str()).await,
                                audits(store, other.org.id.as_str()).await
                            ),
                            audits_before,
                            "{label}: nothing audited"
                        );
                        if want == 404 {
                            assert!(
                                !r.body.contains(&target.email) && !r.body.contains(&target.name),
                                "{label}: no data"
                            );
                        }
                        assert_eq!(owners(store, fx.org.id.as_str()).await, 1);
                        continue;
                    }
                    let j = r.json();
                    let changed = match act {
                        Act::ToAdmin | Act::ToMember => {
                            let role = if act == Act::ToAdmin {
                                Role::Admin
                            } else {
                                Role::Member
                            };
                            let after = after.expect("still there");
                            assert_eq!(after.role, role, "{label}");
                            assert_eq!(j["role"], role.as_str(), "{label}");
                            assert_eq!(j["id"], target.id.as_str());
                            target.role != role
                        }
                        Act::Deactivate => {
                            assert_eq!(
                                after.expect("there").status,
                                MemberStatus::Deactivated,
                                "{label}"
                            );
                            assert_eq!(j["status"], "deactivated");
                            assert_eq!(
                                sessions_of(store, target.id.as_str()).await,
                                0,
                                "{label}: sessions ended"
                            );
                            true
                        }
                        Act::Reactivate => {
                            assert_eq!(
                                after.expect("there").status,
                                MemberStatus::Active,
                                "{label}"
                            );
                            assert_eq!(j["status"], "active");
                            true
                        }
                        Act::Remove => {
                            assert!(after.is_none(), "{label}: removed");
                            assert_eq!(j, json!({"removed": target.id}));
                            assert_eq!(
                                sessions_of(store, target.id.as_str()).await,
                                0,
                                "{label}: sessions ended"
                            );
                            true
                        }
                        Act::Transfer => {
                            assert_eq!(after.expect("there").role, Role::Owner, "{label}");
                            assert_eq!(
                                actor_after.role,
                                Role::Admin,
                                "{label}: old owner is admin"
                            );
                            assert_eq!(j["role"], "owner");
                            true
                        }
                    };
                    assert_eq!(
                        owners(store, fx.org.id.as_str()).await,
                        1,
                        "{label}: one owner"
                    );
                    assert_eq!(
                        audits(store, fx.org.id.as_str()).await,
                        audits_before.0 + i64::from(changed),
                        "{label}: audited"
                    );
                    assert_eq!(audits(store, other.org.id.as_str()).await, audits_before.1);
                }
            }
        }
        assert_eq!(case, 84);
    }
}

// ---- the org-wide matrix ---------------------------------------------------------------------

#[tokio::test]
async fn authorization_matrix_for_views_and_sso_actions() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        for role in [Role::Owner, Role::Admin, Role::Member] {
            let label = format!("[{}] {role}", db.kind);
            let fx = fixture(store, &format!("v-{role}")).await;
            let issuer = dead_issuer();
            server
                .connect(&fx.org, &issuer, "0oa-client", "old-secret-1234")
                .await;
            let sealed_before = store.sealed_client_secret(&fx.org.id).await.unwrap();
            let sso_before = store.sso_connection(&fx.org.id).await.unwrap().unwrap();
            let me = fx.by_role(role);
            let c = ApiClient::new(&server, me).await;
            let staff = role != Role::Member;

            let r = c.get("/api/v1/members").await;
            r.assert_status(200);
            assert_eq!(r.json()["total"], 5, "{label}");

            let r = c.get("/api/v1/me").await;
            r.assert_status(200);
            let j = r.json();
            assert_eq!(j["member"]["id"], me.id.as_str(), "{label}");
            assert_eq!(j["member"]["role"], role.as_str());
            assert_eq!(j["member"]["status"], "active");
            assert_eq!(j["org"]["slug"], fx.org.slug.as_str());

            for path in ["/api/v1/sso", "/api/v1/login-attempts", "/api/v1/audit"] {
                let r = c.get(path).await;
                if staff {
                    r.assert_status(200);
                } else {
                    assert_error(&r, 403, "forbidden");
                }
            }

            let audits_before = audits(store, fx.org.id.as_str()).await;
            let r = c.post("/api/v1/sso/test", json!({})).await;
            if staff {
                r.assert_status(200);
                let j = r.json();
                assert_eq!(j["ok"], false, "{label}: nobody listens at {issuer}");
                assert_eq!(j["checks"][0]["name"], "discovery");
                assert_eq!(
                    audits(store, fx.org.id.as_str()).await,
                    audits_before + 1,
                    "{label}: test audited"
                );
            } else {
                assert_error(&r, 403, "forbidden");
                assert_eq!(audits(store, fx.org.id.as_str()).await, audits_before);
            }

            let audits_before = audits(store, fx.org.id.as_str()).await;
            let r = c
                .post(
                    "/api/v1/sso/settings",
                    json!({"enabled": true, "jit_enabled": false, "default_role": "admin"}),
                )
                .await;
            let sso = store.sso_connection(&fx.org.id).await.unwrap().unwrap();
            if role == Role::Owner {
                r.assert_status(200);
                assert_eq!(
                    (sso.enabled, sso.jit_enabled, sso.default_role),
                    (true, false, DefaultRole::Admin)
                );
                assert_eq!(r.json()["default_role"], "admin");
                assert_eq!(audits(store, fx.org.id.as_str()).await, audits_before + 1);
            } else {
                assert_error(&r, 403, "forbidden");
                assert_eq!(sso, sso_before, "{label}: settings unchanged");
                assert_eq!(audits(store, fx.org.id.as_str()).await, audits_before);
            }

            let audits_before = audits(store, fx.org.id.as_str()).await;
            let r = c
                .post(
                    "/api/v1/sso/rotate-secret",
                    json!({"client_secret": "new-secret-5678"}),
                )
                .await;
            let refused_rotations = if role == Role::Owner {
                // Authorized, but the connection test fails (nobody at the issuer): refused,
                // and the attempt recorded.
                assert_error(&r, 400, "connection_test_failed");
                assert_eq!(r.json()["report"]["ok"], false);
                1
            } else {
                assert_error(&r, 403, "forbidden");
                0
            };
            assert_eq!(
                store.sealed_client_secret(&fx.org.id).await.unwrap(),
                sealed_before,
                "{label}: secret kept"
            );
            assert_eq!(
                audits(store, fx.org.id.as_str()).await,
                audits_before + refused_rotations
            );
        }
    }
}

/// The idle timeout counts from the last request, not from sign-in.
#[tokio::test]
async fn idle_expiry_slides_with_use_and_ends_after_a_quiet_spell() {
    for db in databases().await {
        let server = TestServer::start_with(&db, &["--session-idle-timeout", "3s"]).await;
        let store = &server.store;
        let fx = fixture(store, "idle").await;
        let id = tower_sessions::session::Id::default().to_string();
        let data = json!({"member_id": fx.owner.id, "org_id": fx.owner.org_id,
                          "absolute_expiry": server.now_ms() + 3_600_000});
        let first_expiry = server.now_ms() + 3_000;
        assert!(
            store
                .session_insert(&id, &data.to_string(), first_expiry, Some(&fx.owner.id))
                .await
                .unwrap()
        );
        let me = ApiClient::with_cookie(&server, &id);
        // Busy for twice the idle timeout: still signed in.
        for _ in 0..6 {
            me.get("/api/v1/me").await.assert_status(200);
            server.advance(Duration::from_secs(1));
        }
        let expiry = sql_row(
            store,
            "SELECT expiry_date FROM sessions WHERE id = $1",
            &[json!(id)],
        )
        .await["expiry_date"]
            .as_i64()
            .unwrap();
        assert!(
            expiry > first_expiry + 4_000,
            "[{}] the stored expiry slid ({expiry} vs {first_expiry})",
            db.kind
        );
        // Quiet for longer than the timeout: signed out.
        server.advance(Duration::from_millis(3_500));
        assert_error(&me.get("/api/v1/me").await, 401, "unauthenticated");
    }
}

#[tokio::test]
async fn requests_without_a_valid_session_get_401() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let fx = fixture(store, "anon").await;
        let nobody = ApiClient::anonymous(&server);
        for path in [
            "/api/v1/members",
            "/api/v1/me",
            "/api/v1/sso",
            "/api/v1/login-attempts",
            "/api/v1/audit",
        ] {
            assert_error(&nobody.get(path).await, 401, "unauthenticated");
        }
        let r = nobody
            .post(
                "/api/v1/members/deactivate",
                json!({"member_id": fx.member.id}),
            )
            .await;
        assert_error(&r, 401, "unauthenticated");
        assert_eq!(
            reload(store, &fx.member).await.unwrap().status,
            MemberStatus::Active
        );

        // A session past its absolute deadline (its idle expiry an hour away), however busy.
        let sid = session_with_expiry(store, &fx.owner, server.now_ms() + 60_000).await;
        let stale = ApiClient::with_cookie(&server, &sid);
        stale.get("/api/v1/me").await.assert_status(200);
        server.advance(Duration::from_secs(61));
        assert_error(&stale.get("/api/v1/me").await, 401, "unauthenticated");
        // A made-up cookie.
        let forged = ApiClient::with_cookie(&server, "AAAAAAAAAAAAAAAAAAAAAA");
        assert_error(&forged.get("/api/v1/members").await, 401, "unauthenticated");

        // Malformed input answers 400, never 500.
        let owner = ApiClient::new(&server, &fx.owner).await;
        assert_error(&owner.get("/api/v1/members?page=0").await, 400, "invalid");
        assert_error(&owner.get("/api/v1/members?page=abc").await, 400, "invalid");
        assert_error(&owner.get("/api/v1/audit?page=-2").await, 400, "invalid");
        assert_error(
            &owner.get("/api/v1/login-attempts?outcome=maybe").await,
            400,
            "invalid",
        );
        let r = owner
            .post(
                "/api/v1/members/role",
                json!({"member_id": fx.member.id, "role": "owner"}),
            )
            .await;
        assert_error(&r, 400, "invalid");
        let r = owner
            .post(
                "/api/v1/members/role",
                json!({"member_id": fx.member.id, "role": "root"}),
            )
            .await;
        assert_error(&r, 400, "invalid");
        let r = owner
            .post("/api/v1/members/deactivate", json!({"nope": 1}))
            .await;
        assert_error(&r, 400, "invalid");
        let r = owner
            .post(
                "/api/v1/members/deactivate",
                json!({"member_id": "no-such-id"}),
            )
            .await;
        assert_error(&r, 404, "not_found");
        assert_eq!(reload(store, &fx.member).await.unwrap().role, Role::Member);
    }
}

// ---- sessions ----------------------------------------------------------------------------------

#[tokio::test]
async fn deactivation_ends_sessions_and_reactivation_restores_access() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let fx = fixture(store, "sess").await;
        let owner = ApiClient::new(&server, &fx.owner).await;
        let laptop = ApiClient::new(&server, &fx.member).await;
        let phone = ApiClient::new(&server, &fx.member).await;
        laptop.get("/api/v1/me").await.assert_status(200);
        phone.get("/api/v1/members").await.assert_status(200);
        assert_eq!(sessions_of(store, fx.member.id.as_str()).await, 2);

        owner
            .post(
                "/api/v1/members/deactivate",
                json!({"member_id": fx.member.id}),
            )
            .await
            .assert_status(200);
        assert_eq!(
            sessions_of(store, fx.member.id.as_str()).await,
            0,
            "all sessions deleted at once"
        );
        assert_error(&laptop.get("/api/v1/me").await, 401, "unauthenticated");
        assert_error(&phone.get("/api/v1/members").await, 401, "unauthenticated");
        // A session made for a deactivated member (e.g. a race with sign-in) does not work.
        let late = ApiClient::new(&server, &fx.member).await;
        assert_error(&late.get("/api/v1/me").await, 401, "unauthenticated");
        assert_eq!(
            owner.get("/api/v1/members").await.json()["counts"]["deactivated"],
            1
        );

        owner
            .post(
                "/api/v1/members/reactivate",
                json!({"member_id": fx.member.id}),
            )
            .await
            .assert_status(200);
        assert_error(&laptop.get("/api/v1/me").await, 401, "unauthenticated");
        let fresh = ApiClient::new(&server, &fx.member).await;
        let r = fresh.get("/api/v1/me").await;
        r.assert_status(200);
        assert_eq!(r.json()["member"]["status"], "active");

        // An admin's session ends the same way, and the admin can no longer act.
        let admin = ApiClient::new(&server, &fx.admin).await;
        owner
            .post(
                "/api/v1/members/deactivate",
                json!({"member_id": fx.admin.id}),
            )
            .await
            .assert_status(200);
        let r = admin
            .post(
                "/api/v1/members/deactivate",
                json!({"member_id": fx.member2.id}),
            )
            .await;
        assert_error(&r, 401, "unauthenticated");
        assert_eq!(
            reload(store, &fx.member2).await.unwrap().status,
            MemberStatus::Active
        );

        // Removal ends sessions too.
        let gone = ApiClient::new(&server, &fx.member2).await;
        owner
            .post(
                "/api/v1/members/remove",
                json!({"member_id": fx.member2.id}),
            )
            .await
            .assert_status(200);
        assert_error(&gone.get("/api/v1/me").await, 401, "unauthenticated");
        assert_eq!(sessions_of(store, fx.member2.id.as_str()).await, 0);
    }
}

// ---- the one-owner rule -------------------------------------------------------------------------

#[tokio::test]
async fn an_org_never_loses_or_doubles_its_owner() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let fx = fixture(store, "own").await;
        let owner = ApiClient::new(&server, &fx.owner).await;
        let admin = ApiClient::new(&server, &fx.admin).await;

        // The owner cannot leave by deactivation, removal or demotion: only by transfer.
        for (path, body) in [
            (
                "/api/v1/members/deactivate",
                json!({"member_id": fx.owner.id}),
            ),
            ("/api/v1/members/remove", json!({"member_id": fx.owner.id})),
            (
                "/api/v1/members/role",
                json!({"member_id": fx.owner.id, "role": "admin"}),
            ),
            (
                "/api/v1/members/role",
                json!({"member_id": fx.owner.id, "role": "member"}),
            ),
        ] {
            let r = owner.post(path, body.clone()).await;
            assert_error(&r, 403, "forbidden");
            assert!(
                r.json()["message"]
                    .as_str()
                    .unwrap()
                    .contains("transfer ownership"),
                "{}",
                r.body
            );
            assert_error(&admin.post(path, body).await, 403, "forbidden");
        }
        assert_eq!(reload(store, &fx.owner).await.unwrap(), fx.owner);

        // Not to a deactivated member.
        let dormant = set_status(store, &fx.member2, MemberStatus::Deactivated).await;
        let r = owner
            .post(
                "/api/v1/org/transfer-ownership",
                json!({"member_id": dormant.id}),
            )
            .await;
        assert_error(&r, 409, "conflict");
        assert_eq!(reload(store, &fx.owner).await.unwrap().role, Role::Owner);
        assert_eq!(reload(store, &dormant).await.unwrap().role, Role::Member);

        // Transfer to a member: exactly one owner after, the old owner an admin.
        let r = owner
            .post(
                "/api/v1/org/transfer-ownership",
                json!({"member_id": fx.member.id}),
            )
            .await;
        r.assert_status(200);
        assert_eq!(r.json()["id"], fx.member.id.as_str());
        assert_eq!(owners(store, fx.org.id.as_str()).await, 1);
        assert_eq!(reload(store, &fx.member).await.unwrap().role, Role::Owner);
        assert_eq!(reload(store, &fx.owner).await.unwrap().role, Role::Admin);
        // The old owner is now an admin: no more transfers, no acting on admins.
        let r = owner
            .post(
                "/api/v1/org/transfer-ownership",
                json!({"member_id": fx.admin.id}),
            )
            .await;
        assert_error(&r, 403, "forbidden");
        let r = owner
            .post(
                "/api/v1/members/role",
                json!({"member_id": fx.admin.id, "role": "member"}),
            )
            .await;
        assert_error(&r, 403, "forbidden");
        assert_eq!(reload(store, &fx.admin).await.unwrap().role, Role::Admin);
        // The new owner can demote the old one.
        let new_owner = ApiClient::new(&server, &fx.member).await;
        new_owner
            .post(
                "/api/v1/members/role",
                json!({"member_id": fx.owner.id, "role": "member"}),
            )
            .await
            .assert_status(200);

        // Two transfers at once: exactly one wins, one owner after.
        let (a, b) = tokio::join!(
            new_owner.post(
                "/api/v1/org/transfer-ownership",
                json!({"member_id": fx.admin.id})
            ),
            new_owner.post(
                "/api/v1/org/transfer-ownership",
                json!({"member_id": fx.admin2.id})
            ),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert!(
            statuses == [200, 403] || statuses == [200, 409],
            "one transfer wins: {statuses:?} {} {}",
            a.body,
            b.body
        );
        assert_eq!(owners(store, fx.org.id.as_str()).await, 1);
        let winner = if a.status == 200 {
            &fx.admin
        } else {
            &fx.admin2
        };
        assert_eq!(reload(store, winner).await.unwrap().role, Role::Owner);
        assert_eq!(reload(store, &fx.member).await.unwrap().role, Role::Admin);
        let transfers = count(
            store,
            "SELECT COUNT(*) AS n FROM audit_log WHERE org_id = $1 AND action = 'ownership_transferred'",
            fx.org.id.as_str(),
        )
        .await;
        assert_eq!(transfers, 2);
    }
}

// ---- the audit log -------------------------------------------------------------------------------

#[tokio::test]
async fn every_admin_action_is_audited_with_before_and_after() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let fx = fixture(store, "aud").await;
        server
            .connect(&fx.org, &dead_issuer(), "0oa-client", "secret-abcd")
            .await;
        let owner = ApiClient::new(&server, &fx.owner).await;
        let admin = ApiClient::new(&server, &fx.admin).await;
        let steps: Vec<(&ApiClient, &str, Value)> = vec![
            (
                &admin,
                "/api/v1/members/role",
                json!({"member_id": fx.member.id, "role": "admin"}),
            ),
            (
                &owner,
                "/api/v1/members/role",
                json!({"member_id": fx.member.id, "role": "member"}),
            ),
            (
                &admin,
                "/api/v1/members/deactivate",
                json!({"member_id": fx.member2.id}),
            ),
            (
                &admin,
                "/api/v1/members/reactivate",
                json!({"member_id": fx.member2.id}),
            ),
            (
                &owner,
                "/api/v1/members/remove",
                json!({"member_id": fx.member2.id}),
            ),
            (
                &owner,
                "/api/v1/sso/settings",
                json!({"jit_enabled": true, "default_role": "admin"}),
            ),
            (&admin, "/api/v1/sso/test", json!({})),
            (
                &owner,
                "/api/v1/org/transfer-ownership",
                json!({"member_id": fx.admin2.id}),
            ),
        ];
        for (who, path, body) in &steps {
            who.post(path, body.clone()).await.assert_status(200);
            // Distinct timestamps keep "newest first" unambiguous.
            server.advance(Duration::from_millis(3));
        }
        // No-ops are not audited.
        owner
            .post(
                "/api/v1/members/role",
                json!({"member_id": fx.member.id, "role": "member"}),
            )
            .await
            .assert_status(200);
        owner
            .post(
                "/api/v1/members/reactivate",
                json!({"member_id": fx.member.id}),
            )
            .await
            .assert_status(200);

        let r = admin.get("/api/v1/audit").await;
        r.assert_status(200);
        let j = r.json();
        assert_eq!(j["total"], 8);
        assert_eq!(
            (j["page"].as_u64(), j["per_page"].as_u64()),
            (Some(1), Some(50))
        );
        let entries = j["entries"].as_array().unwrap();
        let row = |i: usize| -> (String, String, String, Value, Value) {
            let e = &entries[i];
            let parse = |v: &Value| {
                let s = v.as_str().unwrap();
                if s.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(s).unwrap()
                }
            };
            (
                e["action"].as_str().unwrap().to_string(),
                e["actor_email"].as_str().unwrap().to_string(),
                e["target_email"].as_str().unwrap().to_string(),
                parse(&e["before"]),
                parse(&e["after"]),
            )
        };
        let (o, a) = (fx.owner.email.clone(), fx.admin.email.clone());
        let expected = [
            (
                "ownership_transferred",
                &o,
                fx.admin2.email.as_str(),
                json!({"owner": o, "role": "admin"}),
                json!({"owner": fx.admin2.email, "role": "owner", "previous_owner_role": "admin"}),
            ),
            (
                "sso_connection_tested",
                &a,
                "",
                Value::Null,
                // Only the check that failed: the others could not run (not checked).
                json!({"ok": false, "failed": ["discovery"]}),
            ),
            (
                "sso_settings_changed",
                &o,
                "",
                json!({"enabled": true, "jit_enabled": true, "default_role": "member"}),
                json!({"enabled": true, "jit_enabled": true, "default_role": "admin"}),
            ),
            (
                "member_removed",
                &o,
                fx.member2.email.as_str(),
                json!({"role": "member", "status": "active"}),
                Value::Null,
            ),
            (
                "member_reactivated",
                &a,
                fx.member2.email.as_str(),
                json!({"status": "deactivated"}),
                json!({"status": "active"}),
            ),
            (
                "member_deactivated",
                &a,
                fx.member2.email.as_str(),
                json!({"status": "active"}),
                json!({"status": "deactivated"}),
            ),
            (
                "role_changed",
                &o,
                fx.member.email.as_str(),
                json!({"role": "admin"}),
                json!({"role": "member"}),
            ),
            (
                "role_changed",
                &a,
                fx.member.email.as_str(),
                json!({"role": "member"}),
                json!({"role": "admin"}),
            ),
        ];
        assert_eq!(entries.len(), expected.len());
        for (i, (action, actor, target, before, after)) in expected.into_iter().enumerate() {
            assert_eq!(
                row(i),
                (
                    action.to_string(),
                    actor.clone(),
                    target.to_string(),
                    before,
                    after
                ),
                "[{}] entry {i}",
                db.kind
            );
        }
        // Another org sees none of it.
        let other = fixture(store, "aud2").await;
        let r = ApiClient::new(&server, &other.owner)
            .await
            .get("/api/v1/audit")
            .await;
        assert_eq!(r.json()["total"], 0);
        // Paging (admin2 owns the org now).
        let boss = ApiClient::new(&server, &fx.admin2).await;
        for i in 0..55 {
            let role = if i % 2 == 0 { "admin" } else { "member" };
            boss.post(
                "/api/v1/members/role",
                json!({"member_id": fx.member.id, "role": role}),
            )
            .await
            .assert_status(200);
        }
        let p1 = boss.get("/api/v1/audit?page=1").await.json();
        let p2 = boss.get("/api/v1/audit?page=2").await.json();
        let p3 = boss.get("/api/v1/audit?page=3").await.json();
        assert_eq!(p1["total"], 63);
        assert_eq!(p1["entries"].as_array().unwrap().len(), 50);
        assert_eq!(p2["entries"].as_array().unwrap().len(), 13);
        // A page past the end shows the last page.
        assert_eq!(p3["page"], 2);
        assert_eq!(p3["entries"], p2["entries"]);
        assert_eq!(p2["entries"][12]["action"], "role_changed");
        assert_eq!(p2["entries"][12]["actor_email"], fx.admin.email.as_str());
        let ats: Vec<i64> = p1["entries"]
            .as_array()
            .unwrap()
            .iter()
            .chain(p2["entries"].as_array().unwrap())
            .map(|e| e["at"].as_i64().unwrap())
            .collect();
        assert!(ats.windows(2).all(|w| w[0] >= w[1]), "newest first");
    }
}

// ---- cross-site requests ---------------------------------------------------------------------

#[tokio::test]
async fn cross_site_state_changes_are_refused() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let fx = fixture(store, "csrf").await;
        let sid = session_for(store, &fx.owner).await;
        let owner = ApiClient::with_cookie(&server, &sid);
        let url = format!("{}/api/v1/members/deactivate", server.url);
        let body = json!({"member_id": fx.member.id});
        let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("evil origin", vec![("origin", "http://evil.example")]),
            ("null origin", vec![("origin", "null")]),
            ("no origin", vec![]),
            ("cross-site fetch", vec![("sec-fetch-site", "cross-site")]),
            ("same-site fetch", vec![("sec-fetch-site", "same-site")]),
            (
                "evil origin, lying fetch",
                vec![
                    ("origin", "http://evil.example"),
                    ("sec-fetch-site", "same-origin"),
                ],
            ),
        ];
        for (label, headers) in cases {
            let mut req = owner.b.client.post(&url).json(&body);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            let r = owner.b.send(req).await;
            assert_error(&r, 403, "cross_site");
            assert!(
                r.header("x-frame-options").is_some(),
                "security headers on the refusal"
            );
            assert_eq!(
                reload(store, &fx.member).await.unwrap().status,
                MemberStatus::Active,
                "[{}] {label}: no change",
                db.kind
            );
        }
        assert_eq!(audits(store, fx.org.id.as_str()).await, 0);
        // A form post (as a cross-site page would make) is refused too.
        let r = owner
            .b
            .send(
                owner
                    .b
                    .client
                    .post(&url)
                    .header("origin", "http://evil.example")
                    .form(&[("member_id", fx.member.id.as_str())]),
            )
            .await;
        assert_error(&r, 403, "cross_site");

        // Sign-out is protected: the session survives a cross-site POST /logout.
        let r = owner
            .b
            .send(
                owner
                    .b
                    .client
                    .post(format!("{}/logout", server.url))
                    .header("origin", "http://evil.example"),
            )
            .await;
        assert_error(&r, 403, "cross_site");
        owner.get("/api/v1/me").await.assert_status(200);

        // Okta posts to /sso/initiate from its own origin by design: not refused as cross-site.
        let r = owner
            .b
            .send(
                owner
                    .b
                    .client
                    .post(format!("{}/sso/initiate", server.url))
                    .header("origin", "https://acme.okta.com")
                    .form(&[("iss", "https://unknown.okta.test")]),
            )
            .await;
        assert_ne!(r.status, 403, "{}", r.body);
        assert!(!r.body.contains("cross_site"));

        // Reads are not affected; same-origin writes work with Origin or Sec-Fetch-Site.
        let r = owner
            .b
            .send(
                owner
                    .b
                    .client
                    .get(format!("{}/api/v1/members", server.url))
                    .header("origin", "http://evil.example"),
            )
            .await;
        r.assert_status(200);
        let r = owner
            .b
            .send(
                owner
                    .b
                    .client
                    .post(&url)
                    .header("sec-fetch-site", "same-origin")
                    .json(&body),
            )
            .await;
        r.assert_status(200);
        assert_eq!(
            reload(store, &fx.member).await.unwrap().status,
            MemberStatus::Deactivated
        );
        let r = owner.post("/api/v1/members/reactivate", body.clone()).await;
        r.assert_status(200);
    }
}

// ---- search and paging ---------------------------------------------------------------------------

fn ids_and_keys(page: &Value) -> Vec<(String, String, String)> {
    page["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["email"].as_str().unwrap().to_string(),
                m["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn members_search_and_paging() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let fx = fixture(store, "dir").await;
        let other = fixture(store, "dir2").await;
        for i in 0..120 {
            add(
                store,
                &fx.org,
                &format!("person{i:03}"),
                &format!("Person {i:03}"),
                Role::Member,
            )
            .await;
        }
        add(store, &other.org, "person999", "Person 999", Role::Member).await;
        let pct = add(store, &fx.org, "pct", "Percent 100%", Role::Member).await;
        let snake = add(store, &fx.org, "snake", "Snake_Case", Role::Member).await;
        let by_mail = add(store, &fx.org, "findme_x", "Quiet Person", Role::Member).await;
        // Same name twice: email, then id break the tie.
        let twin_b = add(store, &fx.org, "twin-b", "Twin", Role::Member).await;
        let twin_a = add(store, &fx.org, "twin-a", "Twin", Role::Member).await;
        set_status(store, &pct, MemberStatus::Deactivated).await;
        let total = 5 + 120 + 5;

        let c = ApiClient::new(&server, &fx.member).await; // members may list
        let mut all = vec![];
        for page in 1..=3 {
            let r = c.get(&format!("/api/v1/members?q=&page={page}")).await;
            r.assert_status(200);
            let j = r.json();
            assert_eq!(j["total"], total);
            assert_eq!(j["page"], page);
            assert_eq!(j["per_page"], 50);
            assert_eq!(
                j["counts"],
                json!({"active": total - 1, "deactivated": 1, "owner": 1, "admin": 2, "member": total - 3})
            );
            let keys = ids_and_keys(&j);
            assert_eq!(keys.len(), [50, 50, 30][page - 1], "page {page}");
            all.extend(keys);
        }
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(all, sorted, "[{}] ordered by name, email, id", db.kind);
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            total as usize,
            "no member twice, none missing"
        );
        let twins: Vec<&String> = all.iter().filter(|k| k.0 == "Twin").map(|k| &k.1).collect();
        assert_eq!(twins, [&twin_a.email, &twin_b.email]);
        // A page past the end answers the last page.
        let past = c.get("/api/v1/members?page=4").await.json();
        assert_eq!(past["page"], 3, "[{}]", db.kind);
        assert_eq!(ids_and_keys(&past).len(), 30);
        // Stable: the same page twice is the same.
        assert_eq!(
            c.get("/api/v1/members?page=2").await.json()["members"],
            c.get("/api/v1/members?page=2").await.json()["members"]
        );
        // Fields.
        let first = &c.get("/api/v1/members").await.json()["members"][0];
        for field in [
            "id",
            "email",
            "name",
            "role",
            "status",
            "created_at",
            "last_login_at",
        ] {
            assert!(first.get(field).is_some(), "{field} in {first}");
        }

        let search = |q: &str| {
            let q = url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>();
            let c = &c;
            async move {
                let r = c.get(&format!("/api/v1/members?q={q}")).await;
                r.assert_status(200);
                let j = r.json();
                let names: Vec<String> = ids_and_keys(&j).into_iter().map(|k| k.0).collect();
                (j["total"].as_i64().unwrap(), names, j)
            }
        };
        let (n, names, j) = search("pErSoN 01").await;
        assert_eq!(n, 10, "case-insensitive on name: {names:?}");
        assert!(names.iter().all(|x| x.starts_with("Person 01")));
        assert_eq!(j["counts"]["deactivated"], 1, "counts are the whole org's");
        let (n, names, _) = search("%").await;
        assert_eq!((n, names), (1, vec![pct.name.clone()]), "% is literal");
        let (n, mut names, _) = search("_").await;
        names.sort();
        assert_eq!(n, 2, "_ is literal: {names:?}");
        assert_eq!(names, vec![by_mail.name.clone(), snake.name.clone()]);
        let (n, names, _) = search("FINDME").await;
        assert_eq!(
            (n, names),
            (1, vec!["Quiet Person".to_string()]),
            "matches email"
        );
        let (n, _, _) = search("person").await;
        assert_eq!(
            n, 121,
            "name or email, this org only (Person 999 is elsewhere)"
        );
        let (n, _, _) = search("@dir.test").await;
        assert_eq!(n, total);
        let (n, names, _) = search("nobody-here").await;
        assert_eq!((n, names.len()), (0, 0));
        let r = c
            .get(&format!("/api/v1/members?q={}", "x".repeat(300)))
            .await;
        assert_error(&r, 400, "invalid");
        // Page 2 of a search.
        let r = c.get("/api/v1/members?q=person&page=3").await.json();
        assert_eq!(r["members"].as_array().unwrap().len(), 21);
        // Search syntax of the index (SQLite FTS5) is literal text, quotes included.
        for q in [
            "\"",
            "per\"son",
            "person OR x",
            "pers*",
            "NEAR(per son)",
            "^per",
            "name:person",
            "((",
        ] {
            let (n, names, _) = search(q).await;
            assert_eq!((n, names.len()), (0, 0), "[{}] {q:?} is literal", db.kind);
        }
        // The index follows renames and removals.
        let okta = app::ssr::membership::Actor::Okta(app::ssr::membership::Via::JustInTime);
        store
            .refresh_member_profile(&by_mail, &by_mail.email, "Renamed Zebra", &|m| {
                okta.audit(&m.org_id, "member_profile_changed", Some(m))
            })
            .await
            .unwrap()
            .expect("active member");
        let (n, names, _) = search("zebra").await;
        assert_eq!((n, names), (1, vec!["Renamed Zebra".to_string()]));
        let (n, _, _) = search("quiet person").await;
        assert_eq!(n, 0, "[{}] the old name is gone from the index", db.kind);
        sql_exec(
            store,
            "DELETE FROM members WHERE id = $1",
            &[json!(by_mail.id)],
        )
        .await;
        let (n, _, _) = search("zebra").await;
        assert_eq!(n, 0, "[{}] a removed member is not found", db.kind);
    }
}

/// Keyset paging: `after` walks the same list as `page=`, in the same order (name, email, id,
/// ties included), with role, status and search filters; bad cursors are 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_keyset_paging_walks_the_list_as_pages_do() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let fx = fixture(store, "keys").await;
        for i in 0..118 {
            // Many members share a name (the tie goes to email, then id).
            add(
                store,
                &fx.org,
                &format!("p{i:03}"),
                &format!("Person {}", i % 7),
                Role::Member,
            )
            .await;
        }
        let c = ApiClient::new(&server, &fx.owner).await;
        let ids = |j: &Value| -> Vec<String> {
            j["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_string())
                .collect()
        };
        for query in ["", "&role=member", "&status=active", "&q=person%203"] {
            // Pages 1, 2, … up to the last (a page past the end would show the last again).
            let mut by_page = vec![];
            for page in 1.. {
                let j = c
                    .get(&format!("/api/v1/members?page={page}{query}"))
                    .await
                    .json();
                by_page.extend(ids(&j));
                if by_page.len() as i64 >= j["total"].as_i64().unwrap() {
                    break;
                }
            }
            let mut by_key = vec![];
            let mut r = c.get(&format!("/api/v1/members?page=1{query}")).await;
            let total = r.json()["total"].clone();
            loop {
                r.assert_status(200);
                let j = r.json();
                assert_eq!(j["total"], total, "[{kind}] {query}");
                by_key.extend(ids(&j));
                match j["next"].as_str() {
                    Some(next) => {
                        r = c.get(&format!("/api/v1/members?after={next}{query}")).await;
                    }
                    None => break,
                }
            }
            assert_eq!(by_key, by_page, "[{kind}] {query}");
            assert_eq!(
                by_key.len() as i64,
                total.as_i64().unwrap(),
                "[{kind}] {query}"
            );
        }
        // The first page's next equals page 2.
        let first = c.get("/api/v1/members").await.json();
        let second = c
            .get(&format!(
                "/api/v1/members?after={}",
                first["next"].as_str().unwrap()
            ))
            .await
            .json();
        let page2 = c.get("/api/v1/members?page=2").await.json();
        assert_eq!(ids(&second), ids(&page2), "[{kind}]");
        assert_eq!(second["page"], 0);
        // Cursors are opaque but checked: anything else is 400, never 500.
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        for bad in [
            "not-base64!".to_string(),
            b64("{}"),
            b64("[1, 2, 3]"),
            b64("[\"a\", \"b\"]"),
            b64("[\"a\\u0000\", \"b\", \"c\"]"),
            b64("[\"a\", \"b\", \"\"]"),
            "A".repeat(5000),
        ] {
            let r = c.get(&format!("/api/v1/members?after={bad}")).await;
            assert_eq!(r.status, 400, "[{kind}] {bad}: {}", r.body);
        }
        // A well-formed cursor past the end: an empty last page.
        let end = b64("[\"\u{10FFFF}\", \"z\", \"z\"]");
        let r = c.get(&format!("/api/v1/members?after={end}")).await;
        r.assert_status(200);
        assert!(
            r.json()["members"].as_array().unwrap().is_empty(),
            "[{kind}]"
        );
        assert!(r.json()["next"].is_null());
    }
}

/// Paging, counts and search stay exact with 100,000 members. The time each request takes is
/// printed, not asserted (tests never assert on time): `bench-members` measures it.
#[tokio::test]
async fn members_list_pages_and_searches_100k_members() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let fx = fixture(store, "big").await;
        let started = Instant::now();
        sql_exec(
            store,
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 100000)
             INSERT INTO members (id, org_id, issuer, subject, email, name, role, status, created_at)
             SELECT 'bulk-' || n, $1, 'https://big.okta.test', 'sub-' || n, 'user' || n || '@bulk.test',
                    'User ' || n, 'member', CASE WHEN n % 10 = 0 THEN 'deactivated' ELSE 'active' END, 0
             FROM seq",
            &[json!(fx.org.id)],
        )
        .await;
        if db.kind == "postgres" {
            sql_exec(store, "ANALYZE members", &[]).await;
        }
        eprintln!(
            "[{}] 100k members inserted in {:?}",
            db.kind,
            started.elapsed()
        );
        let c = ApiClient::new(&server, &fx.owner).await;
        let total = 100_005;
        for (path, want_total, want_len) in [
            ("/api/v1/members".to_string(), total, 50),
            (format!("/api/v1/members?page={}", total / 50 + 1), total, 5),
            ("/api/v1/members?page=1000".to_string(), total, 50),
            ("/api/v1/members?q=user%209999".to_string(), 11, 11),
            ("/api/v1/members?q=USER12345%40".to_string(), 1, 1),
        ] {
            let t = Instant::now();
            let r = c.get(&path).await;
            let took = t.elapsed();
            r.assert_status(200);
            let j = r.json();
            assert_eq!(j["total"], want_total, "{path}");
            assert_eq!(j["members"].as_array().unwrap().len(), want_len, "{path}");
            assert_eq!(j["counts"]["deactivated"], 10_000);
            eprintln!("[{}] GET {path}: {took:?}", db.kind);
        }
        // The same deep position by keyset: the 50 members after page 1999's last.
        let next = c.get("/api/v1/members?page=1999").await.json()["next"].clone();
        let deep = c.get("/api/v1/members?page=2000").await.json();
        let t = Instant::now();
        let r = c
            .get(&format!("/api/v1/members?after={}", next.as_str().unwrap()))
            .await;
        let took = t.elapsed();
        r.assert_status(200);
        assert_eq!(r.json()["members"], deep["members"], "[{}]", db.kind);
        eprintln!(
            "[{}] GET /api/v1/members?after=<page 1999's next>: {took:?}",
            db.kind
        );
    }
}

// ---- login activity ------------------------------------------------------------------------------

async fn attempt(
    store: &Store,
    org: &Org,
    at: i64,
    outcome: Outcome,
    reason: &str,
    detail: &str,
    member: Option<&Member>,
) {
    let reason = app::api::login_reason::LoginReason::from_code(reason).expect("a known reason");
    let mut a = LoginAttempt::new(at, Some(&org.id), outcome, reason, detail);
    a.email = member.map(|m| m.email.clone());
    a.subject = member.map(|m| m.subject.clone());
    a.member_id = member.map(|m| m.id.clone());
    store
        .record_login_attempt(&a)
        .await
        .expect("record attempt");
}

#[tokio::test]
async fn login_activity_with_daily_counts() {
    const DAY: i64 = 86_400_000;
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let fx = fixture(store, "act").await;
        let other = fixture(store, "act2").await;
        server
            .connect(&fx.org, &dead_issuer(), "0oa-client", "s3cret-wxyz")
            .await;
        let now = server.now_ms();
        let today = now.div_euclid(DAY);
        let noon = |days_ago: i64| (today - days_ago) * DAY + DAY / 2;
        let a_bit_ago = now - 1_000;
        attempt(
            store,
            &fx.org,
            noon(14),
            Outcome::Success,
            "success",
            "",
            Some(&fx.member),
        )
        .await; // too old
        attempt(
            store,
            &fx.org,
            noon(13),
            Outcome::Failure,
            "jit_disabled",
            "",
            None,
        )
        .await;
        attempt(
            store,
            &fx.org,
            noon(1),
            Outcome::Success,
            "success",
            "",
            Some(&fx.admin),
        )
        .await;
        for _ in 0..3 {
            attempt(
                store,
                &fx.org,
                a_bit_ago - 10,
                Outcome::Success,
                "success",
                "",
                Some(&fx.member2),
            )
            .await;
        }
        attempt(
            store,
            &fx.org,
            a_bit_ago - 5,
            Outcome::Failure,
            "token_exchange_failed",
            "invalid_client",
            None,
        )
        .await;
        attempt(
            store,
            &fx.org,
            a_bit_ago,
            Outcome::Failure,
            "idp_error",
            "access_denied: User is not assigned to the client application.",
            None,
        )
        .await;
        for _ in 0..5 {
            attempt(
                store,
                &other.org,
                a_bit_ago,
                Outcome::Failure,
                "sso_disabled",
                "",
                None,
            )
            .await;
        }

        let admin = ApiClient::new(&server, &fx.admin).await;
        let r = admin.get("/api/v1/login-attempts").await;
        r.assert_status(200);
        let j = r.json();
        let daily = j["daily"].as_array().unwrap();
        assert_eq!(daily.len(), 14);
        let day = |d: &Value| {
            (
                d["day"].as_str().unwrap().to_string(),
                d["success"].as_i64().unwrap(),
                d["failure"].as_i64().unwrap(),
            )
        };
        let date = |days_ago: i64| app::ssr::membership::day_string(today - days_ago);
        assert_eq!(day(&daily[13]), (date(0), 3, 2), "today");
        assert_eq!(day(&daily[12]), (date(1), 1, 0), "yesterday");
        assert_eq!(day(&daily[0]), (date(13), 0, 1), "13 days ago");
        assert!(
            daily[1..12]
                .iter()
                .all(|d| d["success"] == 0 && d["failure"] == 0)
        );
        assert!(
            daily[0]["day"].as_str().unwrap().len() == 10
                && daily[0]["day"].as_str().unwrap().as_bytes()[4] == b'-'
        );

        let attempts = j["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 8, "this org's attempts only, newest first");
        assert_eq!(attempts[0]["reason"], "idp_error");
        assert_eq!(attempts[0]["outcome"], "failure");
        assert!(
            attempts[0]["advice"]
                .as_str()
                .unwrap()
                .starts_with("Not assigned to the app in Okta"),
            "{}",
            attempts[0]
        );
        assert!(
            attempts[0]["advice"]
                .as_str()
                .unwrap()
                .contains("Applications → Tessera → Assignments")
        );
        assert_eq!(attempts[2]["email"], fx.member2.email.as_str());
        assert_eq!(attempts[2]["subject"], fx.member2.subject.as_str());
        for a in attempts {
            for field in [
                "at", "outcome", "reason", "detail", "email", "subject", "advice",
            ] {
                assert!(a.get(field).is_some(), "{field} in {a}");
            }
        }

        let failures = admin
            .get("/api/v1/login-attempts?outcome=failure")
            .await
            .json();
        assert_eq!(failures["attempts"].as_array().unwrap().len(), 3);
        assert!(
            failures["attempts"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["outcome"] == "failure")
        );
        assert_eq!(failures["daily"].as_array().unwrap().len(), 14);
        let successes = admin
            .get("/api/v1/login-attempts?outcome=success")
            .await
            .json();
        assert_eq!(successes["attempts"].as_array().unwrap().len(), 5);

        // The SSO page shows the last success (with the member's name) and the last failure.
        let sso = admin.get("/api/v1/sso").await.json();
        assert_eq!(sso["last_success"]["email"], fx.member2.email.as_str());
        assert_eq!(sso["last_success"]["name"], fx.member2.name.as_str());
        assert_eq!(sso["last_failure"]["reason"], "idp_error");
        assert!(
            sso["last_failure"]["advice"]
                .as_str()
                .unwrap()
                .contains("Assignments")
        );

        let member = ApiClient::new(&server, &fx.member).await;
        assert_error(
            &member.get("/api/v1/login-attempts").await,
            403,
            "forbidden",
        );
        // An org without attempts: 14 empty days.
        let r = ApiClient::new(&server, &other.admin)
            .await
            .get("/api/v1/login-attempts?outcome=success")
            .await
            .json();
        assert_eq!(r["attempts"].as_array().unwrap().len(), 0);
        assert_eq!(r["daily"].as_array().unwrap().len(), 14);
    }
}

// ---- SSO settings ----------------------------------------------------------------------------------

#[tokio::test]
async fn sso_view_and_settings() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let fx = fixture(store, "ssov").await;
        let owner = ApiClient::new(&server, &fx.owner).await;
        let admin = ApiClient::new(&server, &fx.admin).await;

        // No connection yet.
        let j = owner.get("/api/v1/sso").await.json();
        assert_eq!(j["configured"], false);
        assert_eq!(j["issuer"], Value::Null);
        assert_eq!(
            j["initiate_login_uri"],
            format!("{}/sso/initiate", server.url)
        );
        assert_eq!(j["redirect_uri"], format!("{}/sso/callback", server.url));
        let r = owner
            .post(
                "/api/v1/sso/settings",
                json!({"enabled": true, "jit_enabled": true, "default_role": "member"}),
            )
            .await;
        assert_error(&r, 409, "conflict");
        assert_error(
            &owner.post("/api/v1/sso/test", json!({})).await,
            409,
            "conflict",
        );

        server
            .connect(
                &fx.org,
                "https://ssov.okta.com",
                "0oa1b2c3",
                "the-client-secret-9f8e",
            )
            .await;
        let j = owner.get("/api/v1/sso").await.json();
        assert_eq!(j["configured"], true);
        assert_eq!(j["issuer"], "https://ssov.okta.com");
        assert_eq!(j["okta_domain"], "ssov.okta.com");
        assert_eq!(j["client_id"], "0oa1b2c3");
        assert_eq!(j["client_secret_hint"], "••••9f8e");
        assert!(
            !j.to_string().contains("the-client-secret"),
            "never the secret"
        );
        assert_eq!(
            (
                j["enabled"].as_bool(),
                j["jit_enabled"].as_bool(),
                j["default_role"].as_str()
            ),
            (Some(true), Some(true), Some("member"))
        );
        assert_eq!(j["last_success"], Value::Null);
        assert_eq!(j["last_failure"], Value::Null);
        assert_eq!(j["can_edit"], true);
        let j = admin.get("/api/v1/sso").await.json();
        assert_eq!(j["can_edit"], false);
        assert_eq!(j["client_secret_hint"], "••••9f8e");

        let r = owner
            .post(
                "/api/v1/sso/settings",
                json!({"enabled": true, "jit_enabled": false, "default_role": "owner"}),
            )
            .await;
        assert_error(&r, 400, "invalid");
        let r = owner
            .post(
                "/api/v1/sso/settings",
                json!({"enabled": "yes", "jit_enabled": false, "default_role": "admin"}),
            )
            .await;
        assert_error(&r, 400, "invalid");
        // Turning SSO off locks everyone out, the owner included: only the operator may.
        for body in [
            json!({"enabled": false, "jit_enabled": false, "default_role": "admin"}),
            json!({"enabled": false, "jit_enabled": true, "default_role": "member"}),
        ] {
            let r = owner.post("/api/v1/sso/settings", body).await;
            assert_error(&r, 403, "forbidden");
            let m = r.json()["message"].as_str().unwrap_or_default().to_string();
            assert!(
                m.contains("Only the service operator can turn single sign-on off"),
                "{m}"
            );
            assert!(
                !m.contains("tessera sso"),
                "customer words, no operator command: {m}"
            );
            assert!(m.contains("signs everyone in your organization out"), "{m}");
        }
        let unchanged = store.sso_connection(&fx.org.id).await.unwrap().unwrap();
        assert_eq!(
            (
                unchanged.enabled,
                unchanged.jit_enabled,
                unchanged.default_role
            ),
            (true, true, DefaultRole::Member)
        );
        assert_eq!(
            audits(store, fx.org.id.as_str()).await,
            0,
            "nothing changed"
        );
        owner.get("/api/v1/sso").await.assert_status(200);

        // The policy without the switch (`enabled` is optional), and `enabled: true` while on.
        let r = owner
            .post(
                "/api/v1/sso/settings",
                json!({"jit_enabled": false, "default_role": "admin"}),
            )
            .await;
        r.assert_status(200);
        let j = r.json();
        assert_eq!(
            (
                j["enabled"].as_bool(),
                j["jit_enabled"].as_bool(),
                j["default_role"].as_str()
            ),
            (Some(true), Some(false), Some("admin"))
        );
        let sso = store.sso_connection(&fx.org.id).await.unwrap().unwrap();
        assert_eq!(
            (sso.enabled, sso.jit_enabled, sso.default_role),
            (true, false, DefaultRole::Admin)
        );
        // The same settings again: no change, no audit entry.
        owner
            .post(
                "/api/v1/sso/settings",
                json!({"enabled": true, "jit_enabled": false, "default_role": "admin"}),
            )
            .await
            .assert_status(200);
        assert_eq!(audits(store, fx.org.id.as_str()).await, 1);
        let r = admin
            .post(
                "/api/v1/sso/settings",
                json!({"enabled": true, "jit_enabled": true, "default_role": "member"}),
            )
            .await;
        assert_error(&r, 403, "forbidden");
        assert_eq!(
            store.sso_connection(&fx.org.id).await.unwrap().unwrap(),
            sso
        );

        // The owner's page shows the switch read-only, with the consequence.
        let page = owner.get("/sso").await;
        page.assert_status(200);
        assert!(
            page.body
                .contains("Only the service operator can turn single sign-on off"),
            "{}",
            page.body
        );
        // In the customer's words: no operator commands on their page.
        assert!(!page.body.contains("tessera sso"), "{}", page.body);
        assert!(
            !page.body.contains("id=\"sso-enabled\""),
            "no checkbox to turn it off"
        );
    }
}

/// `tessera sso disable` (the operator) ends every session of the org at once; a session that
/// comes back (e.g. written by a request in flight) is refused while SSO is off.
#[tokio::test]
async fn the_operator_turns_sso_off_and_every_session_of_the_org_ends() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let fx = fixture(store, "offorg").await;
        let other = fixture(store, "stayon").await;
        server
            .connect(&fx.org, "https://offorg.okta.test", "0oa1", "secret-1234")
            .await;
        server
            .connect(
                &other.org,
                "https://stayon.okta.test",
                "0oa2",
                "secret-5678",
            )
            .await;
        let owner = ApiClient::new(&server, &fx.owner).await;
        let admin = ApiClient::new(&server, &fx.admin).await;
        let member = ApiClient::new(&server, &fx.member).await;
        let _second_owner_session = session_for(store, &fx.owner).await;
        let outsider = ApiClient::new(&server, &other.owner).await;
        for c in [&owner, &admin, &member, &outsider] {
            c.get("/api/v1/me").await.assert_status(200);
        }

        let out = testkit::run_ok(server.cli().args(["sso", "disable", "offorg"]));
        assert!(out.contains("SSO disabled for offorg"), "{out}");
        assert!(out.contains("Signed out 4 sessions"), "{out}");
        assert!(out.contains("tessera sso enable offorg"), "{out}");
        let row = sql_row(
            store,
            "SELECT actor_email, after FROM audit_log WHERE org_id = $1 AND action = 'sso_disabled'",
            &[json!(fx.org.id)],
        )
        .await;
        assert_eq!(row["actor_email"], "operator (CLI)");
        let after: Value = serde_json::from_str(row["after"].as_str().unwrap()).unwrap();
        assert_eq!(after, json!({"enabled": false, "sessions_ended": 4}));
        assert!(
            !store
                .sso_connection(&fx.org.id)
                .await
                .unwrap()
                .unwrap()
                .enabled
        );
        for m in [&fx.owner, &fx.admin, &fx.member] {
            assert_eq!(sessions_of(store, m.id.as_str()).await, 0, "{}", m.email);
        }
        for c in [&owner, &admin, &member] {
            assert_error(&c.get("/api/v1/me").await, 401, "unauthenticated");
        }
        // Pages too: the sign-in card, not the member list.
        let page = owner.get("/members").await;
        assert!(!page.body.contains("Mia Member"), "{}", page.body);
        // Another org is untouched.
        outsider.get("/api/v1/me").await.assert_status(200);
        assert_eq!(sessions_of(store, other.owner.id.as_str()).await, 1);

        // A session that reappears while SSO is off is refused (and deleted).
        let back = ApiClient::new(&server, &fx.owner).await;
        assert_error(&back.get("/api/v1/me").await, 401, "unauthenticated");
        assert_error(
            &back
                .post(
                    "/api/v1/sso/settings",
                    json!({"enabled": true, "jit_enabled": true, "default_role": "member"}),
                )
                .await,
            401,
            "unauthenticated",
        );
        assert_eq!(sessions_of(store, fx.owner.id.as_str()).await, 0);

        // Turning it on again does not bring the old sessions back; new sign-ins work.
        let out = testkit::run_ok(server.cli().args(["sso", "enable", "offorg"]));
        assert!(out.contains("SSO enabled for offorg"), "{out}");
        assert_error(&owner.get("/api/v1/me").await, 401, "unauthenticated");
        ApiClient::new(&server, &fx.owner)
            .await
            .get("/api/v1/me")
            .await
            .assert_status(200);
    }
}

// ---- Test connection and secret rotation against the local Okta -----------------------------------

const GOOD_SECRET: &str = "good-secret-0123456789-abcd";

#[tokio::test]
async fn connection_test_and_secret_rotation_against_local_okta() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let okta = testkit::OktaDev::start(json!([
            okta_client(&server.url, "tessera-admin-api", GOOD_SECRET, "Tessera (Admin API)"),
            {
                "client_id": "tessera-elsewhere",
                "client_secret": "elsewhere-secret-000",
                "redirect_uris": ["http://127.0.0.1:9/sso/callback"],
                "initiate_login_uri": "http://127.0.0.1:9/sso/initiate",
                "name": "Tessera (Elsewhere)"
            }
        ]))
        .await;
        let org = store.create_org("oktaorg", "Okta Org").await.unwrap();
        server
            .connect(&org, &okta.issuer, "tessera-admin-api", GOOD_SECRET)
            .await;
        let start = testkit::initiate_url(&server.url, &okta.issuer);

        // Real sign-ins: alice becomes the owner, bob a member.
        let alice = Browser::new();
        assert!(
            alice
                .sign_in(&server.url, &start, "alice", "password")
                .await
                .landed()
        );
        let bob = Browser::new();
        assert!(
            bob.sign_in(&server.url, &start, "bob", "password")
                .await
                .landed()
        );
        let post = |b: &Browser, path: &str, body: Value| {
            let req = b
                .client
                .post(format!("{}{path}", server.url))
                .header("origin", &server.url)
                .json(&body);
            let b = b.clone();
            async move { b.send(req).await }
        };
        let get = |b: &Browser, path: &str| {
            let url = format!("{}{path}", server.url);
            let b = b.clone();
            async move { b.get(&url).await }
        };
        let me = get(&alice, "/api/v1/me").await.json();
        assert_eq!(me["member"]["role"], "owner");
        let bob_id = get(&bob, "/api/v1/me").await.json()["member"]["id"]
            .as_str()
            .unwrap()
            .to_string();

        // Good credentials: every check passes.
        let r = post(&alice, "/api/v1/sso/test", json!({})).await;
        r.assert_status(200);
        let report: app::api::ConnectionReport = serde_json::from_str(&r.body).unwrap();
        assert!(report.ok, "{report:#?}");
        let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "discovery",
                "issuer",
                "signing_keys",
                "client_credentials",
                "redirect_uri"
            ]
        );
        assert!(
            report
                .check("client_credentials")
                .unwrap()
                .message
                .contains("accepted")
        );
        assert!(report.checks.iter().all(|c| c.fix.is_empty()));

        // bob, a member, may not test; promoted to admin, he may.
        assert_error(
            &post(&bob, "/api/v1/sso/test", json!({})).await,
            403,
            "forbidden",
        );
        post(
            &alice,
            "/api/v1/members/role",
            json!({"member_id": bob_id, "role": "admin"}),
        )
        .await
        .assert_status(200);
        post(&bob, "/api/v1/sso/test", json!({}))
            .await
            .assert_status(200);

        // A stale secret stored: the credentials check fails and says what to do in Okta.
        server
            .connect(&org, &okta.issuer, "tessera-admin-api", "stale-secret-wxyz")
            .await;
        let r = post(&bob, "/api/v1/sso/test", json!({})).await;
        r.assert_status(200);
        let report: app::api::ConnectionReport = serde_json::from_str(&r.body).unwrap();
        assert!(!report.ok);
        let cred = report.check("client_credentials").unwrap();
        assert!(
            !cred.ok && cred.message.contains("invalid_client"),
            "{cred:?}"
        );
        assert!(
            cred.fix
                .contains("Applications → Applications → Tessera → General → Client Credentials"),
            "{cred:?}"
        );
        assert!(cred.fix.contains("Rotate client secret"));
        for name in ["discovery", "issuer", "signing_keys", "redirect_uri"] {
            assert!(report.check(name).unwrap().ok, "{name}: {report:#?}");
        }

        // Rotation: only the owner; a secret that fails the test is refused and the old kept.
        let sealed_stale = store.sealed_client_secret(&org.id).await.unwrap().unwrap();
        assert_error(
            &post(
                &bob,
                "/api/v1/sso/rotate-secret",
                json!({"client_secret": GOOD_SECRET}),
            )
            .await,
            403,
            "forbidden",
        );
        let r = post(
            &alice,
            "/api/v1/sso/rotate-secret",
            json!({"client_secret": "also-wrong-0000"}),
        )
        .await;
        assert_error(&r, 400, "connection_test_failed");
        let j = r.json();
        assert_eq!(j["report"]["ok"], false);
        assert!(
            j["report"]["checks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["name"] == "client_credentials" && c["ok"] == false)
        );
        assert_eq!(
            store.sealed_client_secret(&org.id).await.unwrap().unwrap(),
            sealed_stale,
            "old secret kept"
        );
        assert_error(
            &post(
                &alice,
                "/api/v1/sso/rotate-secret",
                json!({"client_secret": "  "}),
            )
            .await,
            400,
            "invalid",
        );

        // The right one is saved (sealed), audited, and sign-in works with it.
        let r = post(
            &alice,
            "/api/v1/sso/rotate-secret",
            json!({"client_secret": GOOD_SECRET}),
        )
        .await;
        r.assert_status(200);
        assert_eq!(r.json()["ok"], true);
        let sealed = store.sealed_client_secret(&org.id).await.unwrap().unwrap();
        assert!(!sealed.contains(GOOD_SECRET));
        assert_eq!(
            server.secret_key().open(&org.id, &sealed).unwrap(),
            GOOD_SECRET
        );
        assert_eq!(
            get(&alice, "/api/v1/sso").await.json()["client_secret_hint"],
            "••••abcd"
        );
        let audit = get(&alice, "/api/v1/audit").await.json();
        let rotated = &audit["entries"][0];
        assert_eq!(rotated["action"], "client_secret_rotated");
        assert_eq!(rotated["before"], r#"{"client_secret":"••••wxyz"}"#);
        assert_eq!(rotated["after"], r#"{"client_secret":"••••abcd"}"#);
        assert!(audit.to_string().matches("sso_connection_tested").count() >= 3);
        let carol = Browser::new();
        assert!(
            carol
                .sign_in(&server.url, &start, "carol", "password")
                .await
                .landed()
        );

        // A redirect URI Okta does not know for the client.
        server
            .connect(
                &org,
                &okta.issuer,
                "tessera-elsewhere",
                "elsewhere-secret-000",
            )
            .await;
        let report: app::api::ConnectionReport =
            serde_json::from_str(&post(&alice, "/api/v1/sso/test", json!({})).await.body).unwrap();
        let redirect = report.check("redirect_uri").unwrap();
        assert!(!report.ok && !redirect.ok, "{report:#?}");
        assert!(
            redirect.fix.contains("Sign-in redirect URIs")
                && redirect
                    .fix
                    .contains(&format!("{}/sso/callback", server.url))
        );
        assert!(report.check("client_credentials").unwrap().ok);

        // An issuer Okta does not call itself.
        let alias = okta.issuer.replace("127.0.0.1", "localhost");
        server
            .connect(&org, &alias, "tessera-admin-api", GOOD_SECRET)
            .await;
        let report: app::api::ConnectionReport =
            serde_json::from_str(&post(&alice, "/api/v1/sso/test", json!({})).await.body).unwrap();
        let issuer = report.check("issuer").unwrap();
        assert!(
            !issuer.ok && issuer.fix.contains(&okta.issuer),
            "{report:#?}"
        );

        // Nobody at the issuer.
        server
            .connect(&org, &dead_issuer(), "tessera-admin-api", GOOD_SECRET)
            .await;
        let report: app::api::ConnectionReport =
            serde_json::from_str(&post(&alice, "/api/v1/sso/test", json!({})).await.body).unwrap();
        let d = report.check("discovery").unwrap();
        assert!(!d.ok && d.fix.contains("Okta domain"), "{report:#?}");

        // Deactivation: bob's session ends and Okta sign-in is refused until reactivation.
        server
            .connect(&org, &okta.issuer, "tessera-admin-api", GOOD_SECRET)
            .await;
        post(
            &alice,
            "/api/v1/members/deactivate",
            json!({"member_id": bob_id}),
        )
        .await
        .assert_status(200);
        assert_error(&get(&bob, "/api/v1/me").await, 401, "unauthenticated");
        let refused = bob.sign_in(&server.url, &start, "bob", "password").await;
        assert_eq!(refused.response.status, 403);
        assert_eq!(
            refused.response.reason().as_deref(),
            Some("member_deactivated")
        );
        post(
            &alice,
            "/api/v1/members/reactivate",
            json!({"member_id": bob_id}),
        )
        .await
        .assert_status(200);
        assert!(
            bob.sign_in(&server.url, &start, "bob", "password")
                .await
                .landed()
        );
        let me = get(&bob, "/api/v1/me").await.json();
        assert_eq!(me["member"]["id"], bob_id.as_str());
        assert_eq!(me["member"]["role"], "admin");
    }
}

// ---- setup links: the owner lists and revokes -------------------------------------------------

#[tokio::test]
async fn owners_list_and_revoke_their_orgs_setup_links() {
    use app::ssr::setup_links::{Actor, token_hash};
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let fx = fixture(store, "acme").await;
        let other = fixture(store, "other").await;
        let owner = ApiClient::new(&server, &fx.owner).await;
        let admin = ApiClient::new(&server, &fx.admin).await;
        let member = ApiClient::new(&server, &fx.member).await;
        let other_owner = ApiClient::new(&server, &other.owner).await;

        // Three links: two by the owner (API), one by the operator; one of the other org.
        let mut tokens = vec![];
        for _ in 0..2 {
            let r = owner.post("/api/v1/sso/setup-link", json!({})).await;
            r.assert_status(200);
            tokens.push(
                r.json()["url"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
            );
        }
        let (op_token, op_link) = store
            .create_setup_link(&fx.org, Duration::from_secs(3600), Actor::Operator)
            .await
            .unwrap();
        let (_, foreign) = store
            .create_setup_link(&other.org, Duration::from_secs(3600), Actor::Operator)
            .await
            .unwrap();

        // Who may list.
        ApiClient::anonymous(&server)
            .get("/api/v1/sso/setup-links")
            .await
            .assert_status(401);
        for who in [&admin, &member] {
            let r = who.get("/api/v1/sso/setup-links").await;
            r.assert_status(403);
            assert_eq!(r.json()["error"], "forbidden");
            assert!(
                r.json()["message"]
                    .as_str()
                    .unwrap()
                    .contains("Only the owner")
            );
        }
        let r = owner.get("/api/v1/sso/setup-links").await;
        r.assert_status(200);
        let links = r.json()["links"].as_array().unwrap().clone();
        assert_eq!(links.len(), 3, "{links:?}");
        for l in &links {
            let keys: Vec<&str> = l.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                ["created_at", "created_by", "expires_at", "id", "state"],
                "{l}"
            );
            assert_eq!(l["state"], "open");
        }
        let at: Vec<i64> = links
            .iter()
            .map(|l| l["created_at"].as_i64().unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] >= w[1]), "newest first: {at:?}");
        let by_id = |id: &str| links.iter().find(|l| l["id"] == id).cloned().unwrap();
        assert_eq!(by_id(op_link.id.as_str())["created_by"], "operator (CLI)");
        let id_of = |token: &str| {
            let hash = token_hash(token);
            async move {
                sql_row(
                    store,
                    "SELECT id FROM setup_links WHERE token_hash = $1",
                    &[json!(hash)],
                )
                .await["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            }
        };
        let first_id = id_of(&tokens[0]).await;
        assert_eq!(by_id(&first_id)["created_by"], fx.owner.email);
        for t in tokens.iter().chain([&op_token]) {
            assert!(!r.body.contains(t.as_str()), "a token is listed");
            assert!(!r.body.contains(&token_hash(t)), "a token hash is listed");
        }
        assert!(
            !r.body.contains(foreign.id.as_str()),
            "another org's link is listed"
        );

        // Revoke one by id: refused for admins, members, other orgs, unknown ids, cross-site.
        let one = first_id.clone();
        let before = audits(store, fx.org.id.as_str()).await;
        for (who, status) in [(&admin, 403), (&member, 403), (&other_owner, 404)] {
            who.post("/api/v1/sso/setup-links/revoke", json!({"id": one}))
                .await
                .assert_status(status);
        }
        owner
            .post("/api/v1/sso/setup-links/revoke", json!({"id": foreign.id}))
            .await
            .assert_status(404);
        owner
            .post(
                "/api/v1/sso/setup-links/revoke",
                json!({"id": "no-such-link"}),
            )
            .await
            .assert_status(404);
        owner
            .post("/api/v1/sso/setup-links/revoke", json!({"id": 7}))
            .await
            .assert_status(400);
        // An empty or blank id is a mistake, not "revoke everything".
        for blank in ["", "   ", "\t"] {
            let r = owner
                .post("/api/v1/sso/setup-links/revoke", json!({"id": blank}))
                .await;
            r.assert_status(400);
            assert_eq!(r.json()["error"], "invalid", "{blank:?}");
        }
        let cross = owner
            .b
            .send(
                owner
                    .b
                    .client
                    .post(format!("{}/api/v1/sso/setup-links/revoke", server.url))
                    .header("origin", "https://evil.example")
                    .json(&json!({})),
            )
            .await;
        cross.assert_status(403);
        assert_eq!(cross.json()["error"], "cross_site");
        assert_eq!(
            audits(store, fx.org.id.as_str()).await,
            before,
            "refusals changed nothing"
        );
        assert!(
            store
                .setup_link(&foreign.id)
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_none()
        );

        let r = owner
            .post("/api/v1/sso/setup-links/revoke", json!({"id": one}))
            .await;
        r.assert_status(200);
        assert_eq!(r.json(), json!({"revoked": 1}));
        let r = owner
            .post("/api/v1/sso/setup-links/revoke", json!({"id": one}))
            .await;
        r.assert_status(200);
        assert_eq!(r.json(), json!({"revoked": 0}), "already revoked");
        let b = Browser::new();
        b.get(&format!("{}/setup/{}", server.url, tokens[0]))
            .await
            .assert_status(410);
        b.get(&format!("{}/setup/{}", server.url, tokens[1]))
            .await
            .assert_status(200);

        // Revoke all the rest.
        let r = owner
            .post("/api/v1/sso/setup-links/revoke", json!({}))
            .await;
        r.assert_status(200);
        assert_eq!(r.json(), json!({"revoked": 2}));
        for t in tokens.iter().chain([&op_token]) {
            b.get(&format!("{}/setup/{t}", server.url))
                .await
                .assert_status(410);
        }
        let states: Vec<String> = owner.get("/api/v1/sso/setup-links").await.json()["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["state"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(states, ["revoked", "revoked", "revoked"]);
        // One audit entry per revoked link, by the owner.
        let revoked: Vec<(Option<String>, String)> = sql_rows(
            store,
            "SELECT actor_id, actor_email FROM audit_log WHERE org_id = $1 AND action = 'setup_link_revoked'",
            &[json!(fx.org.id)],
        )
        .await
        .iter()
        .map(|r| {
            (
                r["actor_id"].as_str().map(str::to_string),
                r["actor_email"].as_str().unwrap().to_string(),
            )
        })
        .collect();
        assert_eq!(revoked.len(), 3);
        assert!(
            revoked
                .iter()
                .all(|(id, email)| id.as_deref() == Some(fx.owner.id.as_str())
                    && email == &fx.owner.email)
        );
        // The other org's link is untouched.
        assert!(
            store
                .setup_link(&foreign.id)
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_none()
        );
    }
}

// ---- the membership core, by actor -----------------------------------------------------------------

/// Every membership change names its actor: Okta cannot make the changes a member of the org
/// or the operator makes, a member of another org finds nobody, and only the operator re-keys
/// members. Nothing is changed or audited by a refusal. The operator changes roles and
/// statuses and removes members through the same rules (never the owner), audited as
/// `operator (CLI)`.
#[tokio::test]
async fn membership_changes_check_their_actor() {
    use app::ssr::membership::{self, Actor, DomainError, Via};
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let fx = fixture(store, "actors").await;
        let other = fixture(store, "elsewhere").await;
        let (org, target) = (&fx.org.id, fx.member.id.as_str());
        let okta = Actor::Okta(Via::JustInTime);
        let refused = [
            membership::change_role(store, &okta, org, target, DefaultRole::Admin)
                .await
                .err(),
            membership::deactivate(store, &okta, org, target)
                .await
                .err(),
            membership::reactivate(store, &okta, org, target)
                .await
                .err(),
            membership::remove(store, &okta, org, target).await.err(),
        ];
        for e in refused {
            assert!(
                matches!(e, Some(DomainError::Forbidden(_))),
                "[{}] Okta: {e:?}",
                db.kind
            );
        }
        assert!(matches!(
            membership::transfer_ownership(store, &okta, org, target).await,
            Err(DomainError::Forbidden(_))
        ));
        // A member of another org, even its owner, finds nobody here.
        let outsider = Actor::Member(&other.owner);
        assert!(matches!(
            membership::change_role(store, &outsider, org, target, DefaultRole::Admin).await,
            Err(DomainError::NotFound)
        ));
        assert!(matches!(
            membership::transfer_ownership(store, &outsider, org, target).await,
            Err(DomainError::NotFound)
        ));
        assert!(matches!(
            membership::rekey_members(store, &Actor::Member(&fx.owner), &fx.org, "https://x").await,
            Err(DomainError::Forbidden(_))
        ));
        // The operator never demotes, deactivates or removes the owner, and makes no owner.
        let op = Actor::Operator;
        let owner_id = fx.owner.id.as_str();
        let refused = [
            membership::change_role(store, &op, org, owner_id, DefaultRole::Admin)
                .await
                .err(),
            membership::deactivate(store, &op, org, owner_id)
                .await
                .err(),
            membership::remove(store, &op, org, owner_id).await.err(),
        ];
        for e in refused {
            match e {
                Some(DomainError::Forbidden(m)) => {
                    assert!(m.contains("transfer ownership first"), "{m}")
                }
                other => panic!("[{}] operator on the owner: {other:?}", db.kind),
            }
        }
        // An id from another org finds nobody, for the operator too.
        assert!(matches!(
            membership::deactivate(store, &op, org, other.member.id.as_str()).await,
            Err(DomainError::NotFound)
        ));
        assert_eq!(
            audits(store, org.as_str()).await,
            0,
            "[{}] refusals write nothing",
            db.kind
        );
        assert_eq!(reload(store, &fx.member).await, Some(fx.member.clone()));
        assert_eq!(reload(store, &fx.owner).await, Some(fx.owner.clone()));

        // The operator changes a member's role and status and removes them, each audited.
        let max = fx.member2.id.as_str();
        let expiry = store.now_ms() + 3_600_000;
        assert!(
            store
                .session_insert("op-test-session", "{}", expiry, Some(&fx.member2.id))
                .await
                .unwrap()
        );
        // (The clock moves between changes so the entries are ordered by time.)
        let m = membership::change_role(store, &op, org, max, DefaultRole::Admin)
            .await
            .expect("operator role change");
        assert_eq!(m.role, Role::Admin);
        server.advance(Duration::from_millis(1));
        let m = membership::deactivate(store, &op, org, max)
            .await
            .expect("operator deactivation");
        assert_eq!(m.status, MemberStatus::Deactivated);
        assert_eq!(
            sessions_of(store, max).await,
            0,
            "[{}] sessions end",
            db.kind
        );
        server.advance(Duration::from_millis(1));
        let m = membership::reactivate(store, &op, org, max)
            .await
            .expect("operator reactivation");
        assert_eq!(m.status, MemberStatus::Active);
        server.advance(Duration::from_millis(1));
        membership::remove(store, &op, org, max)
            .await
            .expect("operator removal");
        assert_eq!(reload(store, &fx.member2).await, None);
        let entries: Vec<(String, Value, String, Value)> = testkit::sql_rows(
            store,
            "SELECT action, actor_id, actor_email, target_id FROM audit_log WHERE org_id = $1 ORDER BY at, id",
            &[json!(org)],
        )
        .await
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_string(),
                r["actor_id"].clone(),
                r["actor_email"].as_str().unwrap().to_string(),
                r["target_id"].clone(),
            )
        })
        .collect();
        let by_operator = |action: &str| {
            (
                action.to_string(),
                Value::Null,
                "operator (CLI)".to_string(),
                json!(max),
            )
        };
        assert_eq!(
            entries,
            vec![
                by_operator("role_changed"),
                by_operator("member_deactivated"),
                by_operator("member_reactivated"),
                by_operator("member_removed"),
            ],
            "[{}]",
            db.kind
        );

        // The operator hands the org over: the same transfer, audited as the operator.
        let done = membership::transfer_ownership(store, &Actor::Operator, org, target)
            .await
            .expect("operator transfer");
        assert_eq!(done.owner.role, Role::Owner);
        assert_eq!(done.previous.map(|p| p.id), Some(fx.owner.id.clone()));
        assert_eq!(
            reload(store, &fx.owner).await.map(|m| m.role),
            Some(Role::Admin)
        );
        let row = testkit::sql_row(
            store,
            "SELECT actor_id, actor_email, target_id FROM audit_log WHERE org_id = $1 AND action = 'ownership_transferred'",
            &[json!(org)],
        )
        .await;
        assert_eq!(
            (
                row["actor_id"].clone(),
                row["actor_email"].clone(),
                row["target_id"].clone()
            ),
            (
                Value::Null,
                json!("operator (CLI)"),
                json!(fx.member.id.clone())
            ),
            "[{}]",
            db.kind
        );
        // Already the owner: refused.
        assert!(matches!(
            membership::transfer_ownership(store, &Actor::Operator, org, target).await,
            Err(DomainError::Conflict(_))
        ));
    }
}
