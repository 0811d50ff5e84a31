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
//! Every failed check says what to change, in the Okta Admin Console's words, and blames only
//! what it can know: checks that cannot run because an earlier one failed are reported once,
//! together, as not checked ([`NotChecked`]). Okta's token endpoint answers `invalid_client`
//! alike for an unknown Client ID and a wrong secret, so the authorization request decides
//! which: when Okta accepts it, the Client ID is known (only the secret is wrong); when it
//! refuses it while the client is not known to be valid, the redirect URI is not blamed but
//! reported as not checked (it needs a valid Client ID).
//!
//! Each check has a label ([`label`]) that the SSO page and the setup page both show.
//!
//! Every request goes through [`Outbound`]: the destination policy (no loopback, private,
//! link-local or other internal address unless `--allow-http-issuers`), `--idp-timeout`, no
//! redirects and at most 1 MiB per answer. The endpoints named by the discovery document must
//! be on the issuer's own origin ([`check_endpoint`]): the client credentials go nowhere else.
//! A refused destination fails its check before anything is sent, with one message that says
//! nothing about whether anything listens there.

use super::outbound::{Outbound, OutboundError, Reply, check_endpoint};
use crate::api::types::{ConnectionCheck, ConnectionReport, NotChecked};
use crate::validate::bounded;
use std::time::Duration;

/// The made-up authorization code sent to the token endpoint.
pub const TEST_CODE: &str = "tessera-connection-test";

/// Longest piece of an IdP's answer quoted in a report.
const MAX_QUOTED: usize = 300;

const FIX_DOMAIN: &str = "Check the Okta domain registered with Tessera: it must be your Okta org URL as shown in the Okta Admin Console (e.g. https://acme.okta.com, not the -admin URL). The service operator changes it, or you can send your Okta admin a setup link from the SSO page.";

const FIX_REFUSED: &str = "Enter your Okta org's public address (e.g. acme.okta.com). Tessera does not connect to loopback, private, link-local or other internal addresses; the service operator allows them only for a local development IdP (--allow-http-issuers).";

const FIX_CREDENTIALS: &str = "In the Okta Admin Console open Applications → Applications → Tessera → General → Client Credentials. Check that Client authentication is \"Client secret\", copy the Client ID (it must match the one shown here) and a current Client secret, then use \"Rotate client secret\" in Tessera (owner), or ask the service operator.";

/// The Client ID is known to Okta, only the secret was refused.
pub const FIX_SECRET: &str = "In the Okta Admin Console open Applications → Applications → Tessera → General → Client Credentials → Client secrets and copy a current secret (an active one, with the copy icon), then use \"Rotate client secret\" in Tessera (owner).";

/// The checks of a test, in the order they run: `(name, label)`.
pub const CHECKS: [(&str, &str); 5] = [
    ("discovery", "Okta answers"),
    ("issuer", "Okta domain (issuer)"),
    ("signing_keys", "Signing keys (RS256)"),
    ("client_credentials", "Client ID and Client secret"),
    ("redirect_uri", "Sign-in redirect URI"),
];

/// The label of the check `name`, as both pages show it.
pub fn label(name: &str) -> &str {
    CHECKS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(name, |(_, l)| l)
}

/// The report being written: the checks that ran and those that could not.
#[derive(Default)]
struct Checks {
    ran: Vec<ConnectionCheck>,
    not_checked: Option<NotChecked>,
    /// Labels (with what they need) of the checks not run, for the one line.
    skipped: Vec<String>,
}

impl Checks {
    fn pass(&mut self, name: &str, message: impl Into<String>) {
        self.ran.push(ConnectionCheck {
            name: name.into(),
            label: label(name).into(),
            ok: true,
            message: message.into(),
            fix: String::new(),
        });
    }

    fn fail(&mut self, name: &str, message: impl Into<String>, fix: impl Into<String>) {
        self.ran.push(ConnectionCheck {
            name: name.into(),
            label: label(name).into(),
            ok: false,
            message: message.into(),
            fix: fix.into(),
        });
    }

    /// The checks `names` could not run because `because` failed; `needs` says what they
    /// need when that is narrower than the whole failed check ("a valid Client ID").
    fn skip(&mut self, names: &[&str], because: &str, needs: Option<&str>) {
        for name in names {
            self.skipped.push(match needs {
                Some(needs) => format!("{} (it needs {needs})", label(name)),
                None => label(name).to_string(),
            });
        }
        let entry = self.not_checked.get_or_insert_with(|| NotChecked {
            names: Vec::new(),
            because: because.into(),
            message: String::new(),
        });
        entry.names.extend(names.iter().map(|n| n.to_string()));
        entry.message = format!(
            "Not checked because “{}” failed: {}.",
            label(&entry.because),
            self.skipped.join(", ")
        );
    }

    fn report(self) -> ConnectionReport {
        ConnectionReport {
            ok: self.not_checked.is_none() && self.ran.iter().all(|c| c.ok),
            checks: self.ran,
            not_checked: self.not_checked,
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
    let mut checks = Checks::default();
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
                "discovery",
                None,
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
                "Register the Okta org URL exactly as Okta names it ({theirs}). Tessera uses Okta's org authorization server, not a custom one (Security → API → Authorization Servers). The service operator changes it, or you can send your Okta admin a setup link from the SSO page."
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
                "Tessera verifies ID tokens signed with RS256. In Okta, Applications → Tessera → Sign On must not require another algorithm; Okta's org authorization server publishes RS256 keys by default. If this persists, contact Okta support.",
            ),
            Err(message) => checks.fail("signing_keys", message, FIX_DOMAIN),
        },
    }

    // 4. client credentials: sent only to the issuer's own token endpoint.
    let credentials = match fetch.endpoint(&doc, "token_endpoint") {
        Err(message) => Err(Refusal::other(message, FIX_DOMAIN)),
        Ok(token_endpoint) => {
            fetch
                .credentials(&token_endpoint, client_id, client_secret, redirect_uri)
                .await
        }
    };

    // 5. redirect URI: the authorization endpoint, without the secret.
    let authorize = match fetch.endpoint(&doc, "authorization_endpoint") {
        Err(message) => Authorize::Failed(message, FIX_DOMAIN.to_string()),
        Ok(endpoint) => fetch.redirect(endpoint, client_id, redirect_uri).await,
    };
    // Okta knows the Client ID when it accepted the credentials, or let the authorization
    // request past the client (to sign-in, or back with an error about the grant).
    let client_known = match (&credentials, &authorize) {
        (Ok(_), _) => true,
        (Err(r), _) if r.client_known => true,
        (_, Authorize::Accepted(_) | Authorize::CodeFlowRefused(..)) => true,
        _ => false,
    };

    match credentials {
        Ok(message) => checks.pass("client_credentials", message),
        Err(Refusal {
            invalid_client: Some(said),
            ..
        }) if client_known => checks.fail(
            "client_credentials",
            format!("Okta knows the Client ID {client_id} but refused the Client secret ({said})."),
            FIX_SECRET,
        ),
        Err(r) => checks.fail("client_credentials", r.message, r.fix),
    }
    match authorize {
        Authorize::Accepted(message) => checks.pass("redirect_uri", message),
        Authorize::CodeFlowRefused(message, fix) | Authorize::Failed(message, fix) => {
            checks.fail("redirect_uri", message, fix)
        }
        Authorize::NotAccepted(message, fix) if client_known => {
            checks.fail("redirect_uri", message, fix)
        }
        // Refused while the Client ID may be the culprit: say nothing about the redirect URI.
        Authorize::NotAccepted(..) => checks.skip(
            &["redirect_uri"],
            "client_credentials",
            Some("a valid Client ID"),
        ),
    }
    checks.report()
}

/// Why the client credentials check failed.
struct Refusal {
    message: String,
    fix: String,
    /// Okta answered `invalid_client` (with this text): an unknown Client ID or a wrong secret.
    invalid_client: Option<String>,
    /// The answer shows the Client ID is known (e.g. `unauthorized_client`).
    client_known: bool,
}

impl Refusal {
    fn other(message: impl Into<String>, fix: impl Into<String>) -> Refusal {
        Refusal {
            message: message.into(),
            fix: fix.into(),
            invalid_client: None,
            client_known: false,
        }
    }
}

/// How the authorization endpoint answered for this client and redirect URI.
enum Authorize {
    /// On to sign-in (or back to us with an error that proves the redirect URI was accepted).
    Accepted(String),
    /// The client is known but may not use the authorization code flow: (message, fix).
    CodeFlowRefused(String, String),
    /// Refused: an unregistered redirect URI, or an unknown Client ID (message, fix).
    NotAccepted(String, String),
    /// Unreachable or refused before anything about the client was learnt (message, fix).
    Failed(String, String),
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
    ) -> Result<String, Refusal> {
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
            .map_err(|m| Refusal::other(m, FIX_DOMAIN))?;
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
            "invalid_client" => Err(Refusal {
                invalid_client: Some(said.clone()),
                ..Refusal::other(
                    format!(
                        "Okta refused the Client ID {client_id} or the Client secret ({said})."
                    ),
                    FIX_CREDENTIALS,
                )
            }),
            "unauthorized_client" => Err(Refusal {
                client_known: true,
                ..Refusal::other(
                    format!("Okta does not let this app use the authorization code flow ({said})."),
                    "In the Okta Admin Console open Applications → Applications → Tessera → General → General Settings → Edit, and tick Grant type \"Authorization Code\". The app must be an OIDC Web Application.",
                )
            }),
            "" if (200..300).contains(&status) => Err(Refusal::other(
                "Okta issued tokens for a made-up code: this is not a trustworthy Okta.",
                FIX_DOMAIN,
            )),
            "" => Err(Refusal::other(
                format!(
                    "The token endpoint {} answered HTTP {status} without an OAuth error.",
                    bounded(token_endpoint.as_str(), MAX_QUOTED)
                ),
                FIX_DOMAIN,
            )),
            _ => Err(Refusal::other(
                format!("Okta answered the credentials check with {said}."),
                format!(
                    "{FIX_CREDENTIALS} Also check the app's Sign-in redirect URIs list {redirect_uri}."
                ),
            )),
        }
    }

    async fn redirect(&self, mut url: url::Url, client_id: &str, redirect_uri: &str) -> Authorize {
        let fix = format!(
            "In the Okta Admin Console open Applications → Applications → Tessera → General → General Settings → Edit, and add {redirect_uri} to Sign-in redirect URIs (it must match exactly, including http/https and the port)."
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
        let resp = match self
            .send(
                self.outbound.request(reqwest::Method::GET, url.as_str()),
                &endpoint,
            )
            .await
        {
            Ok(resp) => resp,
            Err(message) => return Authorize::Failed(message, FIX_DOMAIN.to_string()),
        };
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
                Some("unauthorized_client") => Authorize::CodeFlowRefused(
                    "Okta refuses the authorization code flow for this app.".to_string(),
                    "In the Okta Admin Console open Applications → Applications → Tessera → General → General Settings → Edit, and tick Grant type \"Authorization Code\".".to_string(),
                ),
                _ => Authorize::Accepted(format!(
                    "Okta accepts the sign-in redirect URI {redirect_uri}."
                )),
            };
        }
        let body = String::from_utf8_lossy(&resp.body).to_lowercase();
        if status == 400 && (body.contains("redirect") || body.is_empty()) {
            return Authorize::NotAccepted(
                format!(
                    "Okta does not accept the sign-in redirect URI {redirect_uri} for this app."
                ),
                fix,
            );
        }
        Authorize::NotAccepted(
            format!(
                "Okta's authorization endpoint answered HTTP {status} for this app and redirect URI."
            ),
            fix,
        )
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
        assert_eq!(d.label, "Okta answers");
        // The rest could not run: one line, not four failures.
        assert_eq!(report.checks.len(), 1);
        let skipped = report.not_checked.as_ref().unwrap();
        assert_eq!(
            skipped.names,
            [
                "issuer",
                "signing_keys",
                "client_credentials",
                "redirect_uri"
            ]
        );
        assert_eq!(skipped.because, "discovery");
        assert_eq!(
            skipped.message,
            "Not checked because “Okta answers” failed: Okta domain (issuer), Signing keys (RS256), Client ID and Client secret, Sign-in redirect URI."
        );
    }

    #[test]
    fn skipped_checks_make_one_line() {
        let mut checks = Checks::default();
        checks.pass("discovery", "ok");
        checks.fail("client_credentials", "no", "fix");
        checks.skip(
            &["redirect_uri"],
            "client_credentials",
            Some("a valid Client ID"),
        );
        let report = checks.report();
        assert!(!report.ok);
        assert!(report.not_checked("redirect_uri") && !report.not_checked("discovery"));
        assert_eq!(
            report.not_checked.unwrap().message,
            "Not checked because “Client ID and Client secret” failed: Sign-in redirect URI (it needs a valid Client ID)."
        );
        assert_eq!(label("signing_keys"), "Signing keys (RS256)");
        assert_eq!(label("other"), "other");
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
