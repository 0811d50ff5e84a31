//! The pages of SCIM provisioning as the server renders them, on SQLite and PostgreSQL: the SSO
//! page's "Provisioning" section (owner and admins), the provisioning log (`/provisioning`, 403
//! for members), the Members page for a deactivated owner, and the setup link's optional
//! "Provisioning" step that creates a SCIM token and shows it once.

use app::model::{Member, Role};
use serde_json::{Value, json};
use std::time::Duration;
use testkit::{Browser, OktaDev, Resp, ScimClient, TestServer, databases, okta_client};

/// The `<title>` of a page.
fn title(html: &str) -> &str {
    html.split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or("")
}

/// The opening tag of the element with `id`.
#[track_caller]
fn tag<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let start = html[..at].rfind('<').expect("tag start");
    let end = at + html[at..].find('>').expect("tag end");
    &html[start..=end]
}

/// The `<tr>` of the row carrying `attr` (e.g. `data-group="Admins"`), up to its end.
#[track_caller]
fn row<'a>(html: &'a str, attr: &str) -> &'a str {
    let at = html
        .find(attr)
        .unwrap_or_else(|| panic!("no row {attr} in {html}"));
    let rest = &html[at..];
    &rest[..rest.find("</tr>").unwrap_or(rest.len())]
}

/// An org with its owner signed in, an Okta connection, an admin and a member.
async fn org_with_people(
    server: &TestServer,
    slug: &str,
) -> (testkit::OwnerSignedIn, Member, Member) {
    let fx = testkit::owner_signed_in(server, slug).await;
    server
        .connect(
            &fx.org,
            &format!("https://{slug}.okta.test"),
            "0oa-prov",
            "secret-0123456789",
        )
        .await;
    let admin = fx.add(server, "adam", Role::Admin).await;
    let member = fx.add(server, "mia", Role::Member).await;
    (fx, admin, member)
}

/// A SCIM token created by the owner through the admin API: (its answer, a SCIM client).
async fn owner_token(server: &TestServer, owner: &Member, name: &str) -> (Value, ScimClient) {
    let r = server
        .api_as(owner)
        .await
        .post("/api/v1/provisioning/tokens", json!({"name": name}))
        .await;
    r.assert_status(200);
    let created = r.json();
    let scim = ScimClient::with_token(server, created["secret"].as_str().expect("secret"));
    (created, scim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sso_page_shows_provisioning_to_the_owner_and_read_only_to_admins() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (fx, admin, member) = org_with_people(&server, "prov").await;
        let sso = format!("{}/sso", server.url);

        // Before any token: the base URL, the modes explained, jit chosen, nothing enabled
        // before hydration.
        let page = fx.browser.get(&sso).await;
        page.assert_status(200);
        let html = &page.body;
        for text in [
            "id=\"provisioning\"",
            "SCIM connector base URL",
            &format!("{}/scim/v2", server.url),
            "jit — sign-in only",
            "scim — Okta provisioning only",
            "both — provisioning and sign-in",
            "SCIM requests are refused",
            "No SCIM tokens yet.",
            "Role from Okta groups",
            "the owner is never changed",
            "No group is mapped now: roles stay as set in Tessera",
            "Okta has pushed no groups yet.",
            "href=\"/provisioning\"",
        ] {
            assert!(
                html.contains(text),
                "[{kind}] the owner's page lacks {text:?}"
            );
        }
        let jit = tag(html, "mode-jit");
        assert!(
            jit.contains("checked") && jit.contains("disabled"),
            "[{kind}] {jit}"
        );
        assert!(!tag(html, "mode-both").contains("checked"), "[{kind}]");
        for id in [
            "create-scim-token",
            "save-provisioning-mode",
            "scim-token-name",
        ] {
            assert!(
                tag(html, id).contains("disabled"),
                "[{kind}] #{id} before hydration"
            );
        }

        // Two tokens; a third is refused with what to do.
        let (first, scim) = owner_token(&server, &fx.owner, "Okta prod").await;
        assert_eq!(first["mode_switched"], true, "[{kind}]");
        let (second, _) = owner_token(&server, &fx.owner, "").await;
        let third = server
            .api_as(&fx.owner)
            .await
            .post("/api/v1/provisioning/tokens", json!({"name": "third"}))
            .await;
        third.assert_status(409);
        assert!(
            third.json()["message"]
                .as_str()
                .is_some_and(|m| m.contains("revoke one before creating another")),
            "[{kind}] {}",
            third.body
        );

        // Okta pushes a group with an admin in it; the owner maps it.
        let ann = scim.create_user("ann@prov.example", Some("00uann")).await;
        ann.assert_status(201);
        let ann_id = ann.json()["id"].as_str().unwrap().to_string();
        scim.create_group("Tessera Admins", &[&ann_id])
            .await
            .assert_status(201);
        scim.create_group("Everyone", &[]).await.assert_status(201);
        server
            .api_as(&fx.owner)
            .await
            .post(
                "/api/v1/provisioning/role-map",
                json!({"group": "tessera admins", "role": "admin"}),
            )
            .await
            .assert_status(200);

        let html = fx.browser.get(&sso).await.body;
        let tokens = tag(&html, "scim-tokens");
        assert!(tokens.starts_with("<table"), "[{kind}] {tokens}");
        for t in [&first, &second] {
            let id = t["token"]["id"].as_str().unwrap();
            let r = row(&html, &format!("data-token-id=\"{id}\""));
            assert!(r.contains("data-state=\"active\""), "[{kind}] {r}");
            let hint = t["token"]["hint"].as_str().unwrap();
            assert!(r.contains(&format!("…{hint}")), "[{kind}] {r}");
            assert!(r.contains(&fx.owner.email), "[{kind}] created by: {r}");
            assert!(r.contains(">Revoke<"), "[{kind}] {r}");
            assert!(
                r.contains("<time datetime="),
                "[{kind}] relative times: {r}"
            );
            assert!(
                !html.contains(t["secret"].as_str().unwrap()),
                "[{kind}] a token is never on the page again"
            );
        }
        let used = row(
            &html,
            &format!(
                "data-token-id=\"{}\"",
                first["token"]["id"].as_str().unwrap()
            ),
        );
        let unused = row(
            &html,
            &format!(
                "data-token-id=\"{}\"",
                second["token"]["id"].as_str().unwrap()
            ),
        );
        assert!(
            !used.contains(">never<") && unused.contains(">never<"),
            "[{kind}] last used: {used} / {unused}"
        );
        assert!(html.contains("2 active tokens of at most 2"), "[{kind}]");
        // The mode moved to both with the first token.
        assert!(tag(&html, "mode-both").contains("checked"), "[{kind}]");
        // The groups, mapped first, each with the owner's choice.
        let admins = row(&html, "data-group=\"Tessera Admins\"");
        assert!(admins.contains("data-role=\"admin\""), "[{kind}] {admins}");
        assert!(
            admins.contains("<option value=\"admin\" selected"),
            "[{kind}] {admins}"
        );
        assert!(admins.contains("1 member"), "[{kind}] {admins}");
        let everyone = row(&html, "data-group=\"Everyone\"");
        assert!(
            everyone.contains("<option value=\"\" selected"),
            "[{kind}] {everyone}"
        );
        assert!(html.find("data-group=\"Tessera Admins\"") < html.find("data-group=\"Everyone\""));
        assert!(html.contains("Without any mapping, roles would stay as set in Tessera."));

        // An admin: the same facts, read-only; no tokens.
        let (ab, _) = testkit::signed_in_as(&server, &admin).await;
        let html = ab.get(&sso).await.body;
        assert!(html.contains("id=\"provisioning\""), "[{kind}] {html}");
        assert!(html.contains(&format!("{}/scim/v2", server.url)));
        assert!(html.contains("(only the owner changes it)"), "[{kind}]");
        let both = html
            .split("data-mode=\"both\"")
            .nth(1)
            .and_then(|l| l.split("</li>").next())
            .unwrap_or("");
        assert!(
            both.contains(">current<"),
            "[{kind}] the current mode is marked: {html}"
        );
        let jit = html
            .split("data-mode=\"jit\"")
            .nth(1)
            .and_then(|l| l.split("</li>").next())
            .unwrap_or("");
        assert!(
            jit.contains("sign-in only") && !jit.contains(">current<"),
            "[{kind}] {jit}"
        );
        for id in [
            "scim-tokens",
            "create-scim-token",
            "mode-jit",
            "no-scim-tokens",
        ] {
            assert!(
                !html.contains(&format!("id=\"{id}\"")),
                "[{kind}] an admin sees no #{id}"
            );
        }
        let admins = row(&html, "data-group=\"Tessera Admins\"");
        assert!(
            admins.contains("<span class=\"badge role\">admin</span>")
                && !admins.contains("<select"),
            "[{kind}] {admins}"
        );
        assert!(
            html.contains("href=\"/provisioning\""),
            "[{kind}] in the navigation"
        );

        // A member sees neither the section nor the link.
        let (mb, _) = testkit::signed_in_as(&server, &member).await;
        let html = mb.get(&sso).await.body;
        assert!(!html.contains("SCIM connector base URL"), "[{kind}]");
        assert!(!html.contains("href=\"/provisioning\""), "[{kind}]");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provisioning_log_lists_okta_requests_for_owners_and_admins() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (fx, admin, member) = org_with_people(&server, "plog").await;
        let log = format!("{}/provisioning", server.url);

        // A member: 403, like the audit log, and nothing of the log.
        let (mb, _) = testkit::signed_in_as(&server, &member).await;
        let r = mb.get(&log).await;
        r.assert_status(403);
        assert!(
            r.body
                .contains("Only owners and admins see the provisioning log."),
            "[{kind}] {}",
            r.body
        );
        assert!(!r.body.contains("id=\"provisioning-table\""));

        // Nothing yet: how to connect Okta.
        let r = fx.browser.get(&log).await;
        r.assert_status(200);
        assert_eq!(title(&r.body), "Provisioning log · Tessera", "[{kind}]");
        assert!(
            r.body.contains("id=\"provisioning-empty\""),
            "[{kind}] {}",
            r.body
        );
        assert!(r.body.contains("href=\"/sso#provisioning\""));
        assert!(
            r.body
                .contains("<a href=\"/provisioning\" aria-current=\"page\">Provisioning log</a>"),
            "[{kind}] the navigation marks the page: {}",
            r.body
        );

        // Okta creates a user, then tries again: both listed, newest first, with what they did.
        let (_, scim) = owner_token(&server, &fx.owner, "Okta").await;
        scim.create_user("ann@plog.example", Some("00uann"))
            .await
            .assert_status(201);
        // Apart in time, so "newest first" has one answer.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let again = scim.create_user("ann@plog.example", Some("00uann")).await;
        again.assert_status(409);
        let r = fx.browser.get(&log).await;
        r.assert_status(200);
        let html = &r.body;
        assert!(html.contains("2 requests"), "[{kind}] {html}");
        let table = html
            .split("id=\"provisioning-table\"")
            .nth(1)
            .expect("the table");
        let conflict = table
            .find("409 uniqueness")
            .expect("the refused create, with its scimType");
        let created = table.find(">201<").expect("the create");
        assert!(conflict < created, "[{kind}] newest first");
        assert!(table.contains("POST /Users"), "[{kind}]");
        assert!(table.contains("ann@plog.example"), "[{kind}] about whom");
        assert!(table.contains(" ms</td>"), "[{kind}] how long");
        assert!(
            table.contains("<time datetime=") && table.contains(">just now<"),
            "[{kind}]"
        );
        assert!(
            !html.contains(&scim.token),
            "[{kind}] tokens are never shown"
        );

        // Paging: 50 a page, links between them; a page past the end shows the last.
        for _ in 0..50 {
            scim.get("/Users?startIndex=1&count=10")
                .await
                .assert_status(200);
        }
        let html = fx.browser.get(&log).await.body;
        assert!(html.contains("1–50 of 52 requests"), "[{kind}] {html}");
        assert!(html.contains("href=\"/provisioning?page=2\""), "[{kind}]");
        let html = fx.browser.get(&format!("{log}?page=99")).await.body;
        assert!(html.contains("51–52 of 52 requests"), "[{kind}] {html}");
        assert!(html.contains("href=\"/provisioning?page=1\""), "[{kind}]");
        let api = server
            .api_as(&fx.owner)
            .await
            .get("/api/v1/provisioning/log?page=99")
            .await
            .json();
        assert_eq!(
            (api["page"].clone(), api["total"].clone()),
            (json!(2), json!(52)),
            "[{kind}]"
        );

        // An admin reads it too.
        let (ab, _) = testkit::signed_in_as(&server, &admin).await;
        let r = ab.get(&log).await;
        r.assert_status(200);
        assert!(r.body.contains("1–50 of 52 requests"), "[{kind}]");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_may_claim_an_org_whose_owner_okta_deactivated() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (fx, admin, member) = org_with_people(&server, "leaver").await;
        let members = format!("{}/members", server.url);
        let (ab, _) = testkit::signed_in_as(&server, &admin).await;
        let (_, scim) = owner_token(&server, &fx.owner, "Okta").await;

        // Someone Okta provisioned who never signed in: said in words.
        let nora = scim
            .create_user("nora@leaver.example", Some("00unora"))
            .await;
        nora.assert_status(201);
        let html = ab.get(&members).await.body;
        let row_of = |id: &str| format!("data-member-id=\"{id}\"");
        let nora = row(&html, &row_of(nora.json()["id"].as_str().unwrap())).to_string();
        assert!(nora.contains(">never signed in<"), "[{kind}] {nora}");
        let mia = row(&html, &row_of(member.id.as_str()));
        assert!(
            !mia.contains("never signed in") && mia.contains("<time"),
            "[{kind}] {mia}"
        );
        assert!(!html.contains("id=\"owner-deactivated\""), "[{kind}]");
        let j = server
            .api_as(&admin)
            .await
            .get("/api/v1/members")
            .await
            .json();
        assert_eq!(j["owner_deactivated"], Value::Null, "[{kind}] {j}");

        // Okta deactivates the leaving owner.
        scim.deactivate(fx.owner.id.as_str())
            .await
            .assert_status(200);

        let j = server
            .api_as(&admin)
            .await
            .get("/api/v1/members")
            .await
            .json();
        assert_eq!(j["owner_deactivated"], json!(fx.owner.email), "[{kind}]");
        let html = ab.get(&members).await.body;
        let banner = html
            .split("id=\"owner-deactivated\"")
            .nth(1)
            .and_then(|b| b.split("</div>").next())
            .unwrap_or_else(|| panic!("[{kind}] no banner: {html}"));
        assert!(
            banner.contains(&format!("The owner, {}, was deactivated in Okta. Claim ownership, or ask the service operator (", fx.owner.email)),
            "[{kind}] {banner}"
        );
        assert!(banner.contains("tessera org transfer-owner"), "[{kind}]");
        assert!(
            tag(&html, "claim-ownership").contains("disabled"),
            "[{kind}] before hydration"
        );
        // Members see no banner.
        let (mb, _) = testkit::signed_in_as(&server, &member).await;
        assert!(
            !mb.get(&members)
                .await
                .body
                .contains("id=\"owner-deactivated\""),
            "[{kind}]"
        );

        // The admin claims it (the button's call): owner now; the banner is gone.
        let r = server
            .api_as(&admin)
            .await
            .post(
                "/api/v1/org/transfer-ownership",
                json!({"member_id": admin.id}),
            )
            .await;
        r.assert_status(200);
        assert_eq!(r.json()["role"], "owner", "[{kind}]");
        let html = ab.get(&members).await.body;
        assert!(!html.contains("id=\"owner-deactivated\""), "[{kind}]");
        assert!(
            row(&html, &format!("data-member-id=\"{}\"", admin.id)).contains(">owner<"),
            "[{kind}]"
        );
        assert_eq!(
            server
                .api_as(&admin)
                .await
                .get("/api/v1/members")
                .await
                .json()["owner_deactivated"],
            Value::Null
        );
    }
}

// ---- the setup link's provisioning step ----------------------------------------------------------

const SECRET: &str = "globex-secret-Zq8wX1c4v7b2n5m8";

/// `tessera org setup-link <slug>`: the URL from the first line of stdout.
fn new_link(server: &TestServer, slug: &str) -> String {
    let out = server.cli_ok(&["org", "setup-link", slug]);
    out.lines().next().expect("a first line").trim().to_string()
}

fn form<'a>(domain: &'a str, client_id: &'a str, secret: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("okta_domain", domain),
        ("client_id", client_id),
        ("client_secret", secret),
    ]
}

async fn active_tokens(server: &TestServer, org: &app::model::Org) -> i64 {
    testkit::count(
        &server.store,
        "SELECT COUNT(*) AS n FROM scim_tokens WHERE org_id = $1 AND revoked_at IS NULL",
        org.id.as_str(),
    )
    .await
}

/// Clicks "Create SCIM token": a 303 to the result region of "Okta is connected" (no-store),
/// whose page is returned.
async fn create_token(b: &Browser, url: &str) -> Resp {
    let r = b.post_form(&format!("{url}/scim-token"), &[]).await;
    r.assert_status(303);
    let path = url::Url::parse(url).unwrap().path().to_string();
    assert_eq!(
        r.location_raw(),
        Some(format!("{path}/done#report").as_str())
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    for c in r.set_cookies() {
        assert!(!c.contains("tscim_"), "the token travels sealed: {c}");
    }
    b.get(&format!("{url}/done")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setup_link_creates_a_scim_token_shown_once_after_its_save() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let okta = OktaDev::start(json!([okta_client(
            &server.url,
            "tessera-globex",
            SECRET,
            "Tessera (Globex)"
        )]))
        .await;
        server.cli_ok(&["org", "create", "globex", "--name", "Globex Corp"]);
        let org = testkit::org(&server.store, "globex").await;
        let url = new_link(&server, "globex");
        let b = Browser::new();

        // Before the save there is no step: a click goes back to the form.
        let r = b.post_form(&format!("{url}/scim-token"), &[]).await;
        r.assert_status(303);
        assert_eq!(
            r.location().unwrap().path(),
            url::Url::parse(&url).unwrap().path()
        );
        assert_eq!(active_tokens(&server, &org).await, 0);

        b.post_form(
            &format!("{url}/test"),
            &form(&okta.issuer, "tessera-globex", SECRET),
        )
        .await
        .assert_status(303);
        let r = b
            .post_form(
                &format!("{url}/save"),
                &form(&okta.issuer, "tessera-globex", ""),
            )
            .await;
        r.assert_status(303);
        let done = b.get(&format!("{url}/done")).await;
        done.assert_status(200);
        let html = &done.body;
        for text in [
            "Provisioning (optional)",
            &format!("{}/scim/v2", server.url),
            "Create SCIM token",
            "Unique identifier field for users",
            "HTTP Header",
            "Deactivate Users",
            "Push Groups",
        ] {
            assert!(html.contains(text), "[{kind}] the done page lacks {text:?}");
        }
        assert!(tag(html, "scim-token-form").contains(&format!(
            "action=\"{}/scim-token\"",
            url::Url::parse(&url).unwrap().path()
        )));
        assert!(
            html.contains("<script src=\"/assets/setup.js\" defer"),
            "[{kind}] copy buttons"
        );

        // The first click: a token, shown on the next page only, in Okta's words.
        let page = create_token(&b, &url).await;
        page.assert_status(200);
        let secret = page
            .body
            .split("id=\"scim-token\" class=\"code\">")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap_or_else(|| panic!("[{kind}] no token: {}", page.body))
            .to_string();
        assert!(secret.starts_with("tscim_"), "[{kind}] {secret}");
        assert!(page.body.contains("moved from jit to both"), "[{kind}]");
        assert!(tag(&page.body, "report").contains("tabindex=\"-1\""));
        assert!(
            page.set_cookies().iter().all(|c| !c.contains("tscim_")),
            "[{kind}]"
        );
        assert_eq!(active_tokens(&server, &org).await, 1);
        ScimClient::with_token(&server, &secret)
            .get("/Users")
            .await
            .assert_status(200);
        let audit = testkit::sql_rows(
            &server.store,
            "SELECT actor_email FROM audit_log WHERE org_id = $1 AND action = 'scim_token_created'",
            &[json!(org.id)],
        )
        .await;
        assert_eq!(audit.len(), 1, "[{kind}] audited");
        assert_eq!(
            audit[0]["actor_email"],
            app::ssr::setup_links::ACTOR_LINK,
            "[{kind}]"
        );
        // Shown once: a reload has only its last four characters.
        let again = b.get(&format!("{url}/done")).await;
        again.assert_status(200);
        assert!(!again.body.contains(&secret), "[{kind}] shown once");
        assert!(
            again
                .body
                .contains(&format!("ending in …{}", &secret[secret.len() - 4..])),
            "[{kind}] {}",
            again.body
        );
        // Reloading the post's address is a GET back to the page; nothing is created.
        let r = b.get(&format!("{url}/scim-token")).await;
        r.assert_status(303);
        assert_eq!(
            r.location().unwrap().path(),
            format!("{}/done", url::Url::parse(&url).unwrap().path())
        );

        // Two at most: the third click after the second token is refused, saying why, once.
        let second = create_token(&b, &url).await;
        assert!(second.body.contains("id=\"scim-token\""), "[{kind}]");
        assert_eq!(active_tokens(&server, &org).await, 2);
        let refused = create_token(&b, &url).await;
        refused.assert_status(200);
        let why = refused
            .body
            .split("id=\"scim-token-error\"")
            .nth(1)
            .unwrap_or_else(|| panic!("[{kind}] no refusal: {}", refused.body));
        assert!(
            why.contains("revoke one before creating another"),
            "[{kind}] {why}"
        );
        assert!(why.contains("Nothing was created."), "[{kind}]");
        assert!(!refused.body.contains("id=\"scim-token\""), "[{kind}]");
        assert_eq!(active_tokens(&server, &org).await, 2);
        assert!(
            !b.get(&format!("{url}/done"))
                .await
                .body
                .contains("id=\"scim-token-error\""),
            "[{kind}] once"
        );

        // Not the browser that saved: the page of a used link.
        let other = Browser::new();
        let r = other.post_form(&format!("{url}/scim-token"), &[]).await;
        r.assert_status(410);
        assert_eq!(r.reason().as_deref(), Some("setup_link_invalid"));
        // Not the form: refused, nothing created.
        let r = b
            .send(
                b.post(&url, &format!("{url}/scim-token"))
                    .header("content-type", "application/json")
                    .body("{}"),
            )
            .await;
        r.assert_status(415);

        // Ten minutes after the save the step is closed, for this browser too.
        testkit::sql_exec(
            &server.store,
            "UPDATE scim_tokens SET revoked_at = $1 WHERE org_id = $2",
            &[json!(server.store.now_ms()), json!(org.id)],
        )
        .await;
        server.advance(Duration::from_secs(11 * 60));
        let r = b.post_form(&format!("{url}/scim-token"), &[]).await;
        r.assert_status(410);
        assert_eq!(active_tokens(&server, &org).await, 0);
        let late = b.get(&format!("{url}/done")).await;
        late.assert_status(200);
        assert!(
            late.body.contains("id=\"scim-step-closed\""),
            "[{kind}] {}",
            late.body
        );
        assert!(!late.body.contains("id=\"scim-token-form\""), "[{kind}]");
    }
}
