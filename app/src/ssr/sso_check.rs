//! "Test connection": checks an Okta connection end to end without anybody signing in.
//!
//! 1. `discovery`: `{issuer}/.well-known/openid-configuration` answers (no redirects followed);
//! 2. `issuer`: the document's `issuer` is the registered issuer;
//! 3. `signing_keys`: `jwks_uri` publishes at least one RSA key usable for RS256;
//! 4. `client_credentials`: the token endpoint, given a made-up code with the client's
//!    credentials (HTTP Basic), answers `invalid_grant` — the credentials were accepted and only
//!    the code was refused; `invalid_client` means a wrong Client ID or Client Secret;
//! 5. `redirect_uri`: the authorization endpoint accepts Tessera's sign-in redirect URI for this
//!    client (an unregistered one answers 400 instead of a sign-in page).
//!
//! Every failed check says what to change, in the Okta Admin Console's words.

use crate::api::{ConnectionCheck, ConnectionReport};
use std::time::Duration;

/// The made-up authorization code sent to the token endpoint.
pub const TEST_CODE: &str = "tessera-connection-test";

/// Timeout of each request of the test.
pub const TIMEOUT: Duration = Duration::from_secs(10);

const FIX_DOMAIN: &str = "Check the Okta domain registered with Tessera: it must be your Okta org URL as shown in the Okta Admin Console (e.g. https://acme.okta.com, not the -admin URL). The service operator changes it with `tessera sso set <org> --okta-domain ...`.";

const FIX_CREDENTIALS: &str = "In the Okta Admin Console open Applications -> Applications -> Tessera -> General -> Client Credentials. Check that Client authentication is \"Client secret\", copy the Client ID (it must match the one shown here) and a current Client secret, then use \"Rotate client secret\" in Tessera (owner), or ask the service operator to run `tessera sso set`.";

struct Checks(Vec<ConnectionCheck>);

impl Checks {
    fn pass(&mut self, name: &str, message: impl Into<String>) {
        self.0.push(ConnectionCheck {
            name: name.into(),
            ok: true,
            message: message.into(),
            fix: String::new(),
        });
    }

    fn fail(&mut self, name: &str, message: impl Into<String>, fix: impl Into<String>) {
        self.0.push(ConnectionCheck {
            name: name.into(),
            ok: false,
            message: message.into(),
            fix: fix.into(),
        });
    }

    fn skip(&mut self, names: &[&str], why: &str) {
        for name in names {
            self.fail(
                name,
                format!("Not checked: {why}."),
                "Fix the check above first.",
            );
        }
    }

    fn report(self) -> ConnectionReport {
        ConnectionReport {
            ok: self.0.iter().all(|c| c.ok),
            checks: self.0,
        }
    }
}

fn describe(e: &reqwest::Error, url: &str) -> String {
    if e.is_timeout() {
        format!("{url} did not answer within {} s.", TIMEOUT.as_secs())
    } else if e.is_connect() {
        format!("Could not connect to {url}.")
    } else {
        format!("Requesting {url} failed: {}.", without_url(e))
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(&format!(" ({u})"), "");
    }
    s
}

fn str_field<'a>(doc: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    doc.get(name)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
}

/// Runs the whole test. Never fails: every problem is a failed check in the report.
pub async fn check_connection(
    issuer: &str,
    client_id: &str,
    client_secret: &str,
    redirect_uri: &str,
) -> ConnectionReport {
    let mut checks = Checks(Vec::new());
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            checks.fail(
                "discovery",
                format!("Tessera could not start an HTTP client: {e}."),
                "Contact the service operator.",
            );
            checks.skip(
                &[
                    "issuer",
                    "signing_keys",
                    "client_credentials",
                    "redirect_uri",
                ],
                "no HTTP client",
            );
            return checks.report();
        }
    };
    let issuer = issuer.trim_end_matches('/');

    // 1. discovery
    let url = format!("{issuer}/.well-known/openid-configuration");
    let doc = match discovery(&client, &url).await {
        Ok(doc) => {
            checks.pass("discovery", format!("Okta answered at {url}."));
            doc
        }
        Err((message, fix)) => {
            checks.fail("discovery", message, fix);
            checks.skip(
                &[
                    "issuer",
                    "signing_keys",
                    "client_credentials",
                    "redirect_uri",
                ],
                "Okta's configuration could not be read",
            );
            return checks.report();
        }
    };

    // 2. issuer
    let theirs = str_field(&doc, "issuer").unwrap_or_default();
    if theirs.trim_end_matches('/') == issuer {
        checks.pass("issuer", format!("Okta identifies itself as {issuer}."));
    } else {
        checks.fail(
            "issuer",
            format!("Okta identifies itself as {theirs:?}, but Tessera has {issuer} registered."),
            format!(
                "Register the Okta org URL exactly as Okta names it ({theirs}). Tessera uses Okta's org authorization server, not a custom one (Security -> API -> Authorization Servers). The service operator changes it with `tessera sso set <org> --issuer {theirs}`."
            ),
        );
    }

    // 3. signing keys
    match str_field(&doc, "jwks_uri") {
        None => checks.fail(
            "signing_keys",
            "Okta's configuration names no jwks_uri.",
            FIX_DOMAIN,
        ),
        Some(jwks_uri) => match signing_keys(&client, jwks_uri).await {
            Ok(n) if n > 0 => checks.pass(
                "signing_keys",
                format!("Okta publishes {n} RSA signing key(s) for RS256 at {jwks_uri}."),
            ),
            Ok(_) => checks.fail(
                "signing_keys",
                format!("{jwks_uri} lists no RSA key usable for RS256 signatures."),
                "Tessera verifies ID tokens signed with RS256. In Okta, Applications -> Tessera -> Sign On must not require another algorithm; Okta's org authorization server publishes RS256 keys by default. If this persists, contact Okta support.",
            ),
            Err(message) => checks.fail("signing_keys", message, FIX_DOMAIN),
        },
    }

    // 4. client credentials
    match str_field(&doc, "token_endpoint") {
        None => checks.fail(
            "client_credentials",
            "Okta's configuration names no token_endpoint.",
            FIX_DOMAIN,
        ),
        Some(token_endpoint) => {
            match credentials(
                &client,
                token_endpoint,
                client_id,
                client_secret,
                redirect_uri,
            )
            .await
            {
                Ok(message) => checks.pass("client_credentials", message),
                Err((message, fix)) => checks.fail("client_credentials", message, fix),
            }
        }
    }

    // 5. redirect URI
    match str_field(&doc, "authorization_endpoint") {
        None => checks.fail(
            "redirect_uri",
            "Okta's configuration names no authorization_endpoint.",
            FIX_DOMAIN,
        ),
        Some(endpoint) => match redirect(&client, endpoint, client_id, redirect_uri).await {
            Ok(message) => checks.pass("redirect_uri", message),
            Err((message, fix)) => checks.fail("redirect_uri", message, fix),
        },
    }
    checks.report()
}

async fn discovery(
    client: &reqwest::Client,
    url: &str,
) -> Result<serde_json::Value, (String, String)> {
    let resp = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| (describe(&e, url), FIX_DOMAIN.to_string()))?;
    let status = resp.status();
    if status.is_redirection() {
        let to = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("elsewhere")
            .to_string();
        return Err((
            format!("{url} redirects to {to}; Tessera does not follow redirects to find Okta."),
            FIX_DOMAIN.to_string(),
        ));
    }
    if !status.is_success() {
        return Err((
            format!("{url} answered HTTP {}.", status.as_u16()),
            FIX_DOMAIN.to_string(),
        ));
    }
    let doc: serde_json::Value = resp.json().await.map_err(|_| {
        (
            format!("{url} did not return an OpenID Connect configuration (JSON)."),
            FIX_DOMAIN.to_string(),
        )
    })?;
    if !doc.is_object() {
        return Err((
            format!("{url} did not return an OpenID Connect configuration."),
            FIX_DOMAIN.to_string(),
        ));
    }
    Ok(doc)
}

/// How many keys of the JWKS at `url` are RSA keys usable to verify RS256 signatures.
async fn signing_keys(client: &reqwest::Client, url: &str) -> Result<usize, String> {
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| describe(&e, url))?;
    if !resp.status().is_success() {
        return Err(format!("{url} answered HTTP {}.", resp.status().as_u16()));
    }
    let jwks: serde_json::Value = resp
        .json()
        .await
        .map_err(|_| format!("{url} did not return a JSON Web Key Set."))?;
    let keys = jwks
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or_else(|| format!("{url} did not return a JSON Web Key Set (no \"keys\")."))?;
    Ok(keys
        .iter()
        .filter(|k| {
            str_field(k, "kty") == Some("RSA")
                && str_field(k, "use").is_none_or(|u| u == "sig")
                && str_field(k, "alg").is_none_or(|a| a == "RS256")
                && str_field(k, "n").is_some()
                && str_field(k, "e").is_some()
        })
        .count())
}

/// `client_secret_basic`: both halves form-urlencoded, then base64 (RFC 6749 §2.3.1).
fn basic_auth(client_id: &str, client_secret: &str) -> String {
    use base64::Engine as _;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", enc(client_id), enc(client_secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

async fn credentials(
    client: &reqwest::Client,
    token_endpoint: &str,
    client_id: &str,
    client_secret: &str,
    redirect_uri: &str,
) -> Result<String, (String, String)> {
    let resp = client
        .post(token_endpoint)
        .header(
            reqwest::header::AUTHORIZATION,
            basic_auth(client_id, client_secret),
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", TEST_CODE),
            ("redirect_uri", redirect_uri),
        ])
        .send()
        .await
        .map_err(|e| (describe(&e, token_endpoint), FIX_DOMAIN.to_string()))?;
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
    let error = str_field(&body, "error").unwrap_or_default().to_string();
    let description = str_field(&body, "error_description")
        .unwrap_or_default()
        .to_string();
    let said = if description.is_empty() {
        error.clone()
    } else {
        format!("{error}: {description}")
    };
    match error.as_str() {
        "invalid_grant" => Ok(format!(
            "Okta accepted the Client ID {client_id} and the Client Secret (it refused only the test code, as expected)."
        )),
        "invalid_client" => Err((
            format!("Okta refused the Client ID or Client Secret ({said})."),
            FIX_CREDENTIALS.to_string(),
        )),
        "unauthorized_client" => Err((
            format!("Okta does not let this app use the authorization code flow ({said})."),
            "In the Okta Admin Console open Applications -> Applications -> Tessera -> General -> General Settings -> Edit, and tick Grant type \"Authorization Code\". The app must be an OIDC Web Application.".to_string(),
        )),
        "" if (200..300).contains(&status) => Err((
            "Okta issued tokens for a made-up code: this is not a trustworthy Okta.".to_string(),
            FIX_DOMAIN.to_string(),
        )),
        "" => Err((
            format!("The token endpoint {token_endpoint} answered HTTP {status} without an OAuth error."),
            FIX_DOMAIN.to_string(),
        )),
        _ => Err((
            format!("Okta answered the credentials check with {said}."),
            format!("{FIX_CREDENTIALS} Also check the app's Sign-in redirect URIs list {redirect_uri}."),
        )),
    }
}

async fn redirect(
    client: &reqwest::Client,
    endpoint: &str,
    client_id: &str,
    redirect_uri: &str,
) -> Result<String, (String, String)> {
    let fix = format!(
        "In the Okta Admin Console open Applications -> Applications -> Tessera -> General -> General Settings -> Edit, and add {redirect_uri} to Sign-in redirect URIs (it must match exactly, including http/https and the port)."
    );
    let url = reqwest::Url::parse_with_params(
        endpoint,
        &[
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "tessera-connection-test"),
            ("nonce", "tessera-connection-test"),
        ],
    )
    .map_err(|_| {
        (
            format!("Okta's authorization endpoint {endpoint:?} is not a URL."),
            FIX_DOMAIN.to_string(),
        )
    })?;
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| (describe(&e, endpoint), FIX_DOMAIN.to_string()))?;
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if (300..400).contains(&status) || (200..300).contains(&status) {
        // Okta sends the browser on to its sign-in page, or back to us with an error that
        // proves the redirect URI itself was accepted.
        let back_with = location
            .starts_with(redirect_uri)
            .then(|| {
                reqwest::Url::parse(&location).ok().and_then(|u| {
                    u.query_pairs()
                        .find(|(k, _)| k == "error")
                        .map(|(_, v)| v.into_owned())
                })
            })
            .flatten();
        return match back_with.as_deref() {
            Some("unauthorized_client") => Err((
                "Okta refuses the authorization code flow for this app.".to_string(),
                "In the Okta Admin Console open Applications -> Applications -> Tessera -> General -> General Settings -> Edit, and tick Grant type \"Authorization Code\".".to_string(),
            )),
            _ => Ok(format!("Okta accepts the sign-in redirect URI {redirect_uri}.")),
        };
    }
    let body = resp.text().await.unwrap_or_default().to_lowercase();
    if status == 400 && (body.contains("redirect") || body.is_empty()) {
        return Err((
            format!("Okta does not accept the sign-in redirect URI {redirect_uri} for this app."),
            fix,
        ));
    }
    Err((
        format!(
            "Okta's authorization endpoint answered HTTP {status} for this app and redirect URI."
        ),
        fix,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_is_form_encoded_first() {
        use base64::Engine as _;
        let h = basic_auth("0oa1", "s:e/c r+t");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(h.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(raw).unwrap(), "0oa1:s%3Ae%2Fc+r%2Bt");
    }

    #[tokio::test]
    async fn an_unreachable_okta_fails_discovery_and_skips_the_rest() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let report = check_connection(
            &format!("http://127.0.0.1:{port}"),
            "id",
            "secret",
            "http://127.0.0.1:3000/sso/callback",
        )
        .await;
        assert!(!report.ok);
        let d = report.check("discovery").unwrap();
        assert!(!d.ok && d.message.contains("connect") && d.fix.contains("Okta domain"));
        assert_eq!(report.checks.len(), 5);
        assert!(report.checks[1..].iter().all(|c| !c.ok));
    }
}
