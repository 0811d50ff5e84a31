//! The admin pages as the server renders them (what a person sees before the WASM loads, or
//! without JavaScript): the real state, controls that need JavaScript disabled until then,
//! a title per page, counts in words, paging and filters, sign-in and sign-out words. On SQLite
//! and PostgreSQL.

use app::model::Role;
use serde_json::json;
use testkit::{TestServer, databases};

/// The `<title>` of a page.
fn title(html: &str) -> &str {
    html.split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or("")
}

/// The opening tag of the element with `id`.
fn tag<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let start = html[..at].rfind('<').expect("tag start");
    let end = at + html[at..].find('>').expect("tag end");
    &html[start..=end]
}

#[tokio::test]
async fn pages_render_the_real_state_with_controls_off_until_hydrated() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let fx = testkit::owner_signed_in(&server, "acme").await;
        server
            .connect(
                &fx.org,
                &testkit::dead_issuer(),
                "0oa-acme",
                "secret-0123456789",
            )
            .await;
        // JIT on (the default) and the default role admin.
        let me = server.api_as(&fx.owner).await;
        me.post(
            "/api/v1/sso/settings",
            json!({"enabled": null, "jit_enabled": true, "default_role": "admin"}),
        )
        .await
        .assert_status(200);

        let sso = fx.browser.get(&format!("{}/sso", server.url)).await;
        sso.assert_status(200);
        let html = &sso.body;
        assert_eq!(title(html), "Single sign-on · Tessera", "[{kind}]");
        let jit = tag(html, "sso-jit");
        assert!(jit.contains("checked"), "[{kind}] JIT is on: {jit}");
        assert!(jit.contains("disabled"), "[{kind}] {jit}");
        let role = html
            .split("id=\"sso-default-role\"")
            .nth(1)
            .expect("role select");
        assert!(
            role.contains("<option value=\"admin\" selected"),
            "[{kind}] the saved default role is selected: {role}"
        );
        for id in ["test-connection", "create-setup-link"] {
            assert!(
                tag(html, id).contains("disabled"),
                "[{kind}] #{id} before hydration"
            );
        }
        // Customer pages never name operator commands.
        assert!(!html.contains("tessera sso"), "[{kind}] {html}");

        // Turned off, the checkbox says so.
        me.post(
            "/api/v1/sso/settings",
            json!({"enabled": null, "jit_enabled": false, "default_role": "member"}),
        )
        .await
        .assert_status(200);
        let html = fx.browser.get(&format!("{}/sso", server.url)).await.body;
        assert!(!tag(&html, "sso-jit").contains("checked"), "[{kind}]");
    }
}

#[tokio::test]
async fn every_page_has_its_own_title() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let fx = testkit::owner_signed_in(&server, "titles").await;
        for (path, want) in [
            ("/", "Home · Tessera"),
            ("/members", "Members · Tessera"),
            ("/sso", "Single sign-on · Tessera"),
            ("/activity", "Login activity · Tessera"),
            ("/audit", "Audit log · Tessera"),
            ("/provisioning", "Provisioning log · Tessera"),
            ("/no-such-page", "Page not found · Tessera"),
        ] {
            let page = fx.browser.get(&format!("{}{path}", server.url)).await;
            assert_eq!(title(&page.body), want, "[{kind}] {path}");
        }
        let anonymous = testkit::Browser::new();
        let login = anonymous.get(&format!("{}/login", server.url)).await;
        assert_eq!(title(&login.body), "Sign in · Tessera", "[{kind}]");
    }
}

#[tokio::test]
async fn members_counts_read_as_words_and_pages_past_the_end_show_the_last() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let fx = testkit::owner_signed_in(&server, "counted").await;
        fx.add(&server, "adam", Role::Admin).await;
        for i in 0..59 {
            fx.add(&server, &format!("user{i:02}"), Role::Member).await;
        }
        let page = fx
            .browser
            .get(&format!("{}/members?page=99", server.url))
            .await;
        page.assert_status(200);
        assert!(page.body.contains("1 admin ·"), "[{kind}] {}", page.body);
        assert!(page.body.contains("59 members"), "[{kind}]");
        // 61 members, 50 per page: page 99 is page 2.
        assert!(page.body.contains("51–61 of 61"), "[{kind}] {}", page.body);
        // Your own row is marked.
        let first = fx.browser.get(&format!("{}/members", server.url)).await;
        let own = first
            .body
            .split(&format!("data-member-id=\"{}\"", fx.owner.id))
            .nth(1)
            .expect("own row");
        let own = own.split("</tr>").next().unwrap_or_default();
        assert!(own.contains("badge you"), "[{kind}] {own}");

        let api = server.api_as(&fx.owner).await;
        let j = api.get("/api/v1/members?page=7").await.json();
        assert_eq!(
            (j["page"].clone(), j["total"].clone()),
            (json!(2), json!(61))
        );
        assert_eq!(j["members"].as_array().map(Vec::len), Some(11), "[{kind}]");
    }
}

#[tokio::test]
async fn members_filter_by_role_and_status() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let fx = testkit::owner_signed_in(&server, "filtered").await;
        let adam = fx.add(&server, "adam", Role::Admin).await;
        fx.add(&server, "alma", Role::Admin).await;
        let mia = fx.add(&server, "mia", Role::Member).await;
        let api = server.api_as(&fx.owner).await;
        api.post("/api/v1/members/deactivate", json!({"member_id": mia.id}))
            .await
            .assert_status(200);

        let emails = |j: &serde_json::Value| -> Vec<String> {
            j["members"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|m| m["email"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let admins = api.get("/api/v1/members?role=admin").await.json();
        assert_eq!(
            emails(&admins),
            ["adam@example.test", "alma@example.test"],
            "[{kind}]"
        );
        assert_eq!(admins["total"], 2);
        let off = api.get("/api/v1/members?status=deactivated").await.json();
        assert_eq!(emails(&off), ["mia@example.test"], "[{kind}]");
        let both = api
            .get("/api/v1/members?role=admin&status=active&q=ada")
            .await
            .json();
        assert_eq!(emails(&both), [adam.email.as_str()], "[{kind}]");
        assert_eq!(both["total"], 1);
        // Empty means any; anything else is refused, nothing echoed whole.
        assert_eq!(
            api.get("/api/v1/members?role=&status=").await.json()["total"],
            4
        );
        let huge = "x".repeat(5000);
        for bad in [
            "role=owner2".to_string(),
            "status=gone".to_string(),
            format!("role={huge}"),
        ] {
            let r = api.get(&format!("/api/v1/members?{bad}")).await;
            r.assert_status(400);
            assert_eq!(r.json()["error"], "invalid", "[{kind}] {bad}");
            assert!(r.body.len() < 600, "[{kind}] {}", r.body.len());
        }
        // The page keeps the filter in its form and its links.
        let page = fx
            .browser
            .get(&format!("{}/members?role=admin", server.url))
            .await;
        assert!(page.body.contains("adam@example.test"), "[{kind}]");
        assert!(!page.body.contains("mia@example.test"), "[{kind}]");
        assert!(
            page.body.contains("<option value=\"admin\" selected"),
            "[{kind}]"
        );
    }
}

#[tokio::test]
async fn the_login_page_sends_the_signed_in_on_and_takes_names() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let fx = testkit::owner_signed_in(&server, "acme").await;
        // Signed in: /login goes on into the app (to `next` when it is ours).
        let r = fx.browser.get(&format!("{}/login", server.url)).await;
        assert_eq!(r.location_raw(), Some("/"), "[{kind}] {}", r.status);
        let r = fx
            .browser
            .get(&format!("{}/login?next=/members", server.url))
            .await;
        assert_eq!(r.location_raw(), Some("/members"), "[{kind}]");
        let r = fx
            .browser
            .get(&format!("{}/login?next=//evil.example", server.url))
            .await;
        assert_eq!(r.location_raw(), Some("/"), "[{kind}]");

        // The display name (any case, extra spaces) or the slug starts the org's sign-in.
        let okta = testkit::dead_issuer();
        server
            .connect(&fx.org, &okta, "0oa-acme", "secret-0123")
            .await;
        let b = testkit::Browser::new();
        for typed in ["acme%20Inc", "ACME", "%20%20Acme%20%20%20inc%20"] {
            let r = b
                .get(&format!("{}/sso/start?org={typed}", server.url))
                .await;
            // Okta's discovery is down here, so the sign-in cannot start, but the org was found.
            assert_ne!(r.status, 404, "[{kind}] {typed}: {}", r.body);
            assert_ne!(r.status, 400, "[{kind}] {typed}: {}", r.body);
        }
        let r = b
            .get(&format!("{}/sso/start?org=Nobody%20Corp", server.url))
            .await;
        assert_eq!(r.status, 404, "[{kind}]");
        assert!(
            r.body.contains("no organization with that name"),
            "[{kind}]"
        );
        assert!(!r.body.contains("Nobody Corp"), "[{kind}] not echoed");
        // Two orgs of one name: the short name is needed.
        server
            .store
            .create_org("acme-eu", "Acme Inc")
            .await
            .unwrap();
        let r = b
            .get(&format!("{}/sso/start?org=Acme%20Inc", server.url))
            .await;
        assert_eq!(r.status, 409, "[{kind}] {}", r.body);
        assert!(r.body.contains("short name"), "[{kind}]");
        // Nothing typed, or too much: plain words.
        for typed in ["", "%20", &"x".repeat(300)] {
            let r = b
                .get(&format!("{}/sso/start?org={typed}", server.url))
                .await;
            assert_eq!(r.status, 400, "[{kind}] {typed}");
            assert!(r.body.contains("name or short name"), "[{kind}] {}", r.body);
        }
    }
}
