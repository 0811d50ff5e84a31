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
//!
//! Every request goes through [`Outbound`]: the destination policy (no loopback, private,
//! link-local or other internal address unless `--allow-http-issuers`), `--idp-timeout`, no
//! redirects and at most 1 MiB per answer. The endpoints named by the discovery document must
//! be on the issuer's own origin ([`check_endpoint`]): the client credentials go nowhere else.
//! A refused destination fails its check before anything is sent, with one message that says
//! nothing about whether anything listens there.

use super::outbound::{Outbound, OutboundError, Reply, check_endpoint};
use crate::api::types::{ConnectionCheck, ConnectionReport};
use crate::validate::bounded;
use std::time::Duration;

/// The made-up authorization code sent to the token endpoint.
pub const TEST_CODE: &str = "tessera-connection-test";

/// Longest piece of an IdP's answer quoted in a report.
const MAX_QUOTED: usize = 300;

const FIX_DOMAIN: &str = "Check the Okta domain registered with Tessera: it must be your Okta org URL as shown in the Okta Admin Console (e.g. https://acme.okta.com, not the -admin URL). The service operator changes it with `tessera sso set <org> --okta-domain ...`.";

const FIX_REFUSED: &str = "Enter your Okta org's public address (e.g. acme.okta.com). Tessera does not connect to loopback, private, link-local or other internal addresses; the service operator allows them only for a local development IdP (--allow-http-issuers).";

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

/// What a failed request means, for the report. A refused destination gets the same sentence
/// whatever is (or is not) listening there: nothing was sent.
fn describe(e: &OutboundError, url: &str, timeout: Duration) -> String {
    let url = &bounded(url, MAX_QUOTED);
    match e {
        OutboundError::Refused(_) => refused(url),
        OutboundError::TooLarge { limit, .. } => format!(
            "{url} answered with more than {} KiB, far more than any Okta answer; Tessera stopped reading.",
            limit / 1024
        ),
        e if e.is_timeout() => format!(
            "{url} did not answer within {} (the service's --idp-timeout).",
            seconds(timeout)
        ),
        OutboundError::Transport(m) if m.starts_with("could not connect") => {
            format!("Could not connect to {url}.")
        }
        OutboundError::Transport(m) => {
            format!("Requesting {url} failed: {}.", bounded(m, MAX_QUOTED))
        }
    }
}

/// The one message for a destination the policy refuses.
fn refused(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) if u.scheme() != "https" => format!(
            "Tessera connects to Okta only over https, so it sent nothing to {}.",
            bounded(url, MAX_QUOTED)
        ),
        Ok(u) => format!(
            "Tessera does not connect to {}: it is not a public internet address (loopback, private, link-local and other internal addresses are refused), so nothing was sent.",
            bounded(u.host_str().unwrap_or_default(), MAX_QUOTED)
        ),
        Err(_) => format!(
            "{} is not a URL Tessera connects to, so nothing was sent.",
            bounded(url, MAX_QUOTED)
        ),
    }
}

/// `10 s`, `1.5 s`.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn str_field<'a>(doc: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    doc.get(name)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
}

/// Runs the whole test through `outbound`. Never fails: every problem is a failed check in
/// the report. `issuer` is the registered (normalized) issuer; `redirect_uri` Tessera's
/// sign-in redirect URI.
pub async fn check_connection(
    outbound: &Outbound,
    issuer: &str,
    client_id: &str,
    client_secret: &str,
    redirect_uri: &str,
) -> ConnectionReport {
    let mut checks = Checks(Vec::new());
    let issuer = issuer.trim_end_matches('/');
    let fetch = Fetch { outbound, issuer };

    // 1. discovery
    let url = format!("{issuer}/.well-known/openid-configuration");
    let doc = match fetch.discovery(&url).await {
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
    let theirs = bounded(str_field(&doc, "issuer").unwrap_or_default(), MAX_QUOTED);
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
    match fetch.endpoint(&doc, "jwks_uri") {
        Err(message) => checks.fail("signing_keys", message, FIX_DOMAIN),
        Ok(jwks_uri) => match fetch.signing_keys(&jwks_uri).await.map(|n| (n, bounded(jwks_uri.as_str(), MAX_QUOTED))) {
            Ok((n, jwks_uri)) if n > 0 => checks.pass(
                "signing_keys",
                format!("Okta publishes {n} RSA signing key(s) for RS256 at {jwks_uri}."),
            ),
            Ok((_, jwks_uri)) => checks.fail(
                "signing_keys",
                format!("{jwks_uri} lists no RSA key usable for RS256 signatures."),
                "Tessera verifies ID tokens signed with RS256. In Okta, Applications -> Tessera -> Sign On must not require another algorithm; Okta's org authorization server publishes RS256 keys by default. If this persists, contact Okta support.",
            ),
            Err(message) => checks.fail("signing_keys", message, FIX_DOMAIN),
        },
    }

    // 4. client credentials: sent only to the issuer's own token endpoint.
    match fetch.endpoint(&doc, "token_endpoint") {
        Err(message) => checks.fail("client_credentials", message, FIX_DOMAIN),
        Ok(token_endpoint) => {
            match fetch
                .credentials(&token_endpoint, client_id, client_secret, redirect_uri)
                .await
            {
                Ok(message) => checks.pass("client_credentials", message),
                Err((message, fix)) => checks.fail("client_credentials", message, fix),
            }
        }
    }

    // 5. redirect URI
    match fetch.endpoint(&doc, "authorization_endpoint") {
        Err(message) => checks.fail("redirect_uri", message, FIX_DOMAIN),
        Ok(endpoint) => match fetch.redirect(endpoint, client_id, redirect_uri).await {
            Ok(message) => checks.pass("redirect_uri", message),
            Err((message, fix)) => checks.fail("redirect_uri", message, fix),
        },
    }
    checks.report()
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

/// The requests of one test: all through `outbound`, all on the issuer's origin.
struct Fetch<'a> {
    outbound: &'a Outbound,
    issuer: &'a str,
}

impl Fetch<'_> {
    /// Sends `request`; a failure is described for the report.
    async fn send(&self, request: reqwest::RequestBuilder, url: &str) -> Result<Reply, String> {
        self.outbound
            .execute(request)
            .await
            .map_err(|e| describe(&e, url, self.outbound.timeout()))
    }

    /// The endpoint `name` of the discovery document, if it is https on the issuer's own
    /// origin (OpenID Connect Discovery 1.0 §3); otherwise why it is refused.
    fn endpoint(&self, doc: &serde_json::Value, name: &str) -> Result<url::Url, String> {
        let Some(value) = str_field(doc, name) else {
            return Err(format!("Okta's configuration names no {name}."));
        };
        check_endpoint(self.issuer, name, value, self.outbound.allows_private()).map_err(|e| {
            format!("Okta's configuration is refused: {e}. Tessera sent nothing there.")
        })
    }

    async fn discovery(&self, url: &str) -> Result<serde_json::Value, (String, String)> {
        let request = self
            .outbound
            .request(reqwest::Method::GET, url)
            .header(reqwest::header::ACCEPT, "application/json");
        let resp = self.outbound.execute(request).await.map_err(|e| {
            let fix = if e.is_refused() {
                FIX_REFUSED
            } else {
                FIX_DOMAIN
            };
            (describe(&e, url, self.outbound.timeout()), fix.to_string())
        })?;
        let status = resp.status;
        if status.is_redirection() {
            let to = resp
                .headers
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map_or_else(|| "elsewhere".to_string(), |l| bounded(l, MAX_QUOTED));
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
        let doc: serde_json::Value = serde_json::from_slice(&resp.body).map_err(|_| {
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
    async fn signing_keys(&self, jwks_uri: &url::Url) -> Result<usize, String> {
        let url = bounded(jwks_uri.as_str(), MAX_QUOTED);
        let resp = self
            .send(
                self.outbound
                    .request(reqwest::Method::GET, jwks_uri.as_str()),
                &url,
            )
            .await?;
        if !resp.status.is_success() {
            return Err(format!("{url} answered HTTP {}.", resp.status.as_u16()));
        }
        let jwks: serde_json::Value = serde_json::from_slice(&resp.body)
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

    async fn credentials(
        &self,
        token_endpoint: &url::Url,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
    ) -> Result<String, (String, String)> {
        let request = self
            .outbound
            .request(reqwest::Method::POST, token_endpoint.as_str())
            .header(
                reqwest::header::AUTHORIZATION,
                basic_auth(client_id, client_secret),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", TEST_CODE),
                ("redirect_uri", redirect_uri),
            ]);
        let resp = self
            .send(request, token_endpoint.as_str())
            .await
            .map_err(|m| (m, FIX_DOMAIN.to_string()))?;
        let status = resp.status.as_u16();
        let body: serde_json::Value =
            serde_json::from_slice(&resp.body).unwrap_or(serde_json::Value::Null);
        let error = bounded(str_field(&body, "error").unwrap_or_default(), 100);
        let description = bounded(
            str_field(&body, "error_description").unwrap_or_default(),
            MAX_QUOTED,
        );
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
                format!(
                    "The token endpoint {} answered HTTP {status} without an OAuth error.",
                    bounded(token_endpoint.as_str(), MAX_QUOTED)
                ),
                FIX_DOMAIN.to_string(),
            )),
            _ => Err((
                format!("Okta answered the credentials check with {said}."),
                format!(
                    "{FIX_CREDENTIALS} Also check the app's Sign-in redirect URIs list {redirect_uri}."
                ),
            )),
        }
    }

    async fn redirect(
        &self,
        mut url: url::Url,
        client_id: &str,
        redirect_uri: &str,
    ) -> Result<String, (String, String)> {
        let fix = format!(
            "In the Okta Admin Console open Applications -> Applications -> Tessera -> General -> General Settings -> Edit, and add {redirect_uri} to Sign-in redirect URIs (it must match exactly, including http/https and the port)."
        );
        let endpoint = bounded(url.as_str(), MAX_QUOTED);
        url.query_pairs_mut().extend_pairs([
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "tessera-connection-test"),
            ("nonce", "tessera-connection-test"),
        ]);
        let resp = self
            .send(
                self.outbound.request(reqwest::Method::GET, url.as_str()),
                &endpoint,
            )
            .await
            .map_err(|m| (m, FIX_DOMAIN.to_string()))?;
        let status = resp.status.as_u16();
        let location = resp
            .headers
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
                    url::Url::parse(&location).ok().and_then(|u| {
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
        let body = String::from_utf8_lossy(&resp.body).to_lowercase();
        if status == 400 && (body.contains("redirect") || body.is_empty()) {
            return Err((
                format!(
                    "Okta does not accept the sign-in redirect URI {redirect_uri} for this app."
                ),
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
        let local = Outbound::new(Duration::from_secs(5), true);
        let report = check_connection(
            &local,
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

    #[tokio::test]
    async fn refused_destinations_read_the_same_whether_or_not_a_port_answers() {
        let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open_port = open.local_addr().unwrap().port();
        let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let strict = Outbound::new(Duration::from_secs(5), false);
        let mut messages = Vec::new();
        for port in [open_port, closed_port] {
            let report = check_connection(
                &strict,
                &format!("https://127.0.0.1:{port}"),
                "id",
                "secret",
                "https://tessera.example/sso/callback",
            )
            .await;
            let d = report.check("discovery").unwrap().clone();
            assert!(!d.ok && d.fix.contains("--allow-http-issuers"), "{d:?}");
            messages.push(d.message);
        }
        assert_eq!(messages[0], messages[1]);
        assert!(
            messages[0].contains("not a public internet address"),
            "{}",
            messages[0]
        );
        open.set_nonblocking(true).unwrap();
        assert!(open.accept().is_err(), "nothing connected");
    }

    #[test]
    fn timeouts_name_the_configured_timeout() {
        assert_eq!(seconds(Duration::from_secs(10)), "10 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        let e = OutboundError::Transport("timed out: operation timed out".into());
        let m = describe(&e, "https://a.example/x", Duration::from_secs(3));
        assert!(m.contains("did not answer within 3 s"), "{m}");
        let m = describe(
            &OutboundError::Refused("10.0.0.1 is private".into()),
            "https://10.0.0.1:8443/.well-known/openid-configuration",
            Duration::from_secs(3),
        );
        assert!(
            m.contains("does not connect to 10.0.0.1") && !m.contains("8443"),
            "{m}"
        );
    }
}
