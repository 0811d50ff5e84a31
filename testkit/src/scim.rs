//! A SCIM 2.0 client of one server (`/scim/v2`), as Okta's provisioning calls it: a bearer
//! token from `tessera scim token create --json`, `application/scim+json` bodies.

use crate::browser::{Browser, Resp};
use crate::server::TestServer;
use serde_json::{Value, json};

/// The User core schema.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The Group core schema.
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The PatchOp message schema.
pub const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Calls `/scim/v2` of one server with one token.
pub struct ScimClient {
    pub b: Browser,
    /// `{server}/scim/v2`.
    pub base: String,
    pub token: String,
}

/// An org `slug` with an Okta connection (nobody listens on its issuer) and a SCIM client with
/// a new token of it.
pub async fn org_with_scim(server: &TestServer, slug: &str) -> (app::model::Org, ScimClient) {
    let org = server
        .store
        .create_org(slug, &format!("{slug} Inc"))
        .await
        .expect("org");
    server
        .connect(
            &org,
            &format!("https://{slug}.okta.test"),
            "tessera-scim",
            "scim-secret-0123456789",
        )
        .await;
    let scim = ScimClient::for_org(server, slug);
    (org, scim)
}

impl ScimClient {
    /// A new token for org `slug` made with the CLI (`--json`), and a client using it.
    pub fn for_org(server: &TestServer, slug: &str) -> ScimClient {
        let out = server.cli_ok(&["scim", "token", "create", slug, "--json"]);
        let created: Value = serde_json::from_str(out.trim()).expect("token JSON");
        ScimClient::with_token(server, created["token"].as_str().expect("token"))
    }

    /// A client presenting `token`.
    pub fn with_token(server: &TestServer, token: &str) -> ScimClient {
        ScimClient {
            b: Browser::new(),
            base: format!("{}/scim/v2", server.url),
            token: token.to_string(),
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.b
            .client
            .request(method, format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept", "application/scim+json")
            .header("user-agent", "Okta SCIM Client 1.0.0")
    }

    /// `GET {base}{path}` (path with its query).
    pub async fn get(&self, path: &str) -> Resp {
        self.b.send(self.req(reqwest::Method::GET, path)).await
    }

    /// `DELETE {base}{path}`.
    pub async fn delete(&self, path: &str) -> Resp {
        self.b.send(self.req(reqwest::Method::DELETE, path)).await
    }

    /// A request with a JSON body as `application/scim+json`.
    pub async fn send(&self, method: &str, path: &str, body: &Value) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let req = self
            .req(method, path)
            .header("content-type", "application/scim+json; charset=utf-8")
            .body(body.to_string());
        self.b.send(req).await
    }

    /// `POST /Users` of Okta's shape; returns the answer.
    pub async fn create_user(&self, user_name: &str, external_id: Option<&str>) -> Resp {
        let (given, family) = user_name
            .split('@')
            .next()
            .map(|l| (l.to_string(), "Tester".to_string()))
            .unwrap_or_default();
        let mut body = json!({
            "schemas": [USER],
            "userName": user_name,
            "name": {"givenName": given, "familyName": family},
            "emails": [{"primary": true, "value": user_name, "type": "work"}],
            "displayName": format!("{given} {family}"),
            "locale": "en-US",
            "groups": [],
            "active": true,
        });
        if let Some(e) = external_id {
            body["externalId"] = json!(e);
        }
        self.send("POST", "/Users", &body).await
    }

    /// The id of the user with `user_name` (by filter), if any.
    pub async fn user_id(&self, user_name: &str) -> Option<String> {
        let filter = format!("userName eq \"{user_name}\"");
        let r = self
            .get(&format!(
                "/Users?filter={}&startIndex=1&count=100",
                url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
            ))
            .await;
        r.json()["Resources"][0]["id"].as_str().map(str::to_string)
    }

    /// `PATCH /Users/{id}` with Okta's PatchOp `operations`.
    pub async fn patch_user(&self, id: &str, operations: Value) -> Resp {
        self.send(
            "PATCH",
            &format!("/Users/{id}"),
            &json!({"schemas": [PATCH], "Operations": operations}),
        )
        .await
    }

    /// Okta's deactivation: `replace` `{"active": false}` without a path.
    pub async fn deactivate(&self, id: &str) -> Resp {
        self.patch_user(id, json!([{"op": "replace", "value": {"active": false}}]))
            .await
    }

    /// `POST /Groups` named `name` with `members` (user ids).
    pub async fn create_group(&self, name: &str, members: &[&str]) -> Resp {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        self.send(
            "POST",
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": name, "members": members}),
        )
        .await
    }

    /// `PATCH /Groups/{id}` with `operations`.
    pub async fn patch_group(&self, id: &str, operations: Value) -> Resp {
        self.send(
            "PATCH",
            &format!("/Groups/{id}"),
            &json!({"schemas": [PATCH], "Operations": operations}),
        )
        .await
    }
}
