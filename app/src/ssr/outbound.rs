//! Requests Tessera makes to an org's IdP (discovery, JWKS, token, userinfo, connection checks):
//! one destination policy, one size cap and one timeout for all of them.
//!
//! An org's issuer is chosen by whoever registers it (an operator, an owner, a setup-link
//! holder), so every outbound request is treated as attacker-directed:
//! - only `https` (and `http` when http issuers are allowed for local development);
//! - never to loopback, private (RFC 1918, unique-local), link-local (incl. `169.254.169.254`),
//!   shared (RFC 6598), unspecified, multicast or broadcast addresses, checked on the resolved
//!   addresses (every spelling of a literal IP is parsed by `url` first), unless private
//!   destinations are allowed (the same `--allow-http-issuers` switch);
//! - no redirects followed, no proxy from the environment;
//! - every response body read at most [`MAX_RESPONSE_BYTES`];
//! - every request bounded by the configured timeout (connect and whole request);
//! - at most [`MAX_IN_FLIGHT_PER_HOST`] requests in flight to one host (the others wait their
//!   turn within the timeout), so the bodies being read (anonymous sign-ins can start
//!   discovery at will) stay within a few tens of MiB per IdP, however many requests arrive.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The largest IdP response body Tessera reads (1 MiB); larger answers fail the request.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Requests one client may have in flight to one host (`host:port`); more wait for a free
/// slot, at most the request timeout, and then fail with [`OutboundError::Transport`] ("too
/// many requests ... at once") without being sent.
pub const MAX_IN_FLIGHT_PER_HOST: usize = 32;

/// Why an outbound request was not made or not completed.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The destination policy refused the URL or every address it resolves to.
    #[error("{0}")]
    Refused(String),
    /// The response body exceeded [`MAX_RESPONSE_BYTES`].
    #[error("the answer from {host} is larger than {limit} bytes")]
    TooLarge { host: String, limit: usize },
    /// Connection, TLS, timeout or protocol failure.
    #[error("{0}")]
    Transport(String),
}

impl OutboundError {
    /// True when the destination was refused by policy (not a network fault).
    pub fn is_refused(&self) -> bool {
        matches!(self, OutboundError::Refused(_))
    }

    /// True when the IdP did not answer (connect or whole request) within the timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, OutboundError::Transport(m) if m.starts_with(TIMED_OUT))
    }
}

/// How [`OutboundError::Transport`] messages of timed-out requests start.
const TIMED_OUT: &str = "timed out";

/// A whole, size-capped response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

/// The HTTP client for IdP requests, with its destination policy. Cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    allow_private: bool,
    max_bytes: usize,
    timeout: Duration,
    /// The slots of each `host:port` with requests in flight, shared by clones.
    in_flight: Arc<Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>>,
}

/// A slot of one host (see [`MAX_IN_FLIGHT_PER_HOST`]); freed when dropped, and the host's
/// entry forgotten when nobody else uses it.
struct InFlight {
    slots: Arc<Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>>,
    key: String,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        drop(self.permit.take());
        if let Ok(mut slots) = self.slots.lock()
            && slots
                .get(&self.key)
                .is_some_and(|s| Arc::strong_count(s) == 1)
        {
            slots.remove(&self.key);
        }
    }
}

impl Outbound {
    /// A client whose requests time out after `timeout` (connect and whole request).
    /// `allow_private` (from `--allow-http-issuers`) also permits `http` and non-public
    /// addresses, for a local IdP in development and tests.
    pub fn new(timeout: Duration, allow_private: bool) -> Outbound {
        let mut builder = reqwest::Client::builder()
            // Never follow redirects from the IdP (SSRF and credential leakage).
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            // Drop idle connections before the IdP does: servers close idle keep-alive
            // connections (Node after 5 s), and a request sent on one just as it closes fails
            // with "connection reset" for no reason.
            .pool_idle_timeout(Duration::from_secs(4))
            .user_agent(concat!("tessera/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Outbound {
            client: builder.build().unwrap_or_default(),
            allow_private,
            max_bytes: MAX_RESPONSE_BYTES,
            timeout,
            in_flight: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Takes a slot of `key` (`host:port`), waiting at most the request timeout; `None` when
    /// none became free in time.
    async fn enter(&self, key: &str) -> Option<InFlight> {
        // Cloned under the lock, so a host's entry is forgotten only when no request holds or
        // waits for one of its slots.
        let semaphore = {
            let mut slots = self.in_flight.lock().ok()?;
            slots
                .entry(key.to_string())
                .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT_PER_HOST)))
                .clone()
        };
        let mut slot = InFlight {
            slots: self.in_flight.clone(),
            key: key.to_string(),
            permit: None,
        };
        let permit = tokio::time::timeout(self.timeout, semaphore.clone().acquire_owned()).await;
        drop(semaphore);
        slot.permit = Some(permit.ok()?.ok()?);
        Some(slot)
    }

    /// The timeout of each request (`--idp-timeout`).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The same client with another body cap (tests).
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Outbound {
        self.max_bytes = max_bytes;
        self
    }

    /// Whether non-public destinations and `http` are allowed.
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Starts a request; send it with [`Outbound::execute`], never with reqwest directly.
    pub fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.client.request(method, url)
    }

    /// Checks the destination, sends the request and reads at most the body cap.
    ///
    /// Errors: [`OutboundError::Refused`] before anything is sent when the URL breaks the
    /// policy; [`OutboundError::TooLarge`] as soon as the body passes the cap;
    /// [`OutboundError::Transport`] for network faults and timeouts.
    pub async fn execute(&self, request: reqwest::RequestBuilder) -> Result<Reply, OutboundError> {
        let request = request
            .build()
            .map_err(|e| OutboundError::Refused(format!("not a valid request: {e}")))?;
        check_url(request.url(), self.allow_private)?;
        let host = request.url().host_str().unwrap_or_default().to_string();
        let key = format!(
            "{host}:{}",
            request.url().port_or_known_default().unwrap_or_default()
        );
        // Held until the body is read whole (or refused).
        let _slot = self.enter(&key).await.ok_or_else(|| {
            OutboundError::Transport(format!(
                "too many requests to {host} at once (at most {MAX_IN_FLIGHT_PER_HOST}): try again shortly"
            ))
        })?;
        let mut response = self.client.execute(request).await.map_err(|e| {
            // A name that resolves only to refused addresses is the policy, not the network.
            match refused_by_resolver(&e) {
                Some(why) => OutboundError::Refused(why),
                None => OutboundError::Transport(describe(&e)),
            }
        })?;
        let too_large = || OutboundError::TooLarge {
            host: host.clone(),
            limit: self.max_bytes,
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(too_large());
        }
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| OutboundError::Transport(describe(&e)))?
        {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// A reqwest error with its sources, without the URL's query (it may carry a code).
fn describe(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() {
        TIMED_OUT.to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        match e.url() {
            Some(u) => e.to_string().replace(&format!(" for url ({u})"), ""),
            None => e.to_string(),
        }
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The policy's reason when `e` failed because [`PublicOnly`] refused every address of the name.
fn refused_by_resolver(e: &reqwest::Error) -> Option<String> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<NonPublicName>() {
            return Some(r.0.clone());
        }
        source = s.source();
    }
    None
}

/// A name resolving only to non-public addresses (raised by [`PublicOnly`]).
#[derive(Debug)]
struct NonPublicName(String);

impl std::fmt::Display for NonPublicName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NonPublicName {}

/// Checks an endpoint named by an issuer's discovery document (OpenID Connect Discovery 1.0
/// §3): it must be on the issuer's own origin (same scheme, host and port), so a document
/// cannot send the browser to `javascript:` or another host, nor Tessera's credentials to a
/// third party. Returns the parsed endpoint.
///
/// Errors: [`OutboundError::Refused`] naming the endpoint and why.
pub fn check_endpoint(
    issuer: &str,
    name: &str,
    endpoint: &str,
    allow_private: bool,
) -> Result<url::Url, OutboundError> {
    let refused = |why: &str| {
        OutboundError::Refused(format!(
            "the {name} {:?} {why}",
            crate::validate::bounded(endpoint, 200)
        ))
    };
    let issuer_url = url::Url::parse(issuer).map_err(|_| refused("has an invalid issuer"))?;
    let url = url::Url::parse(endpoint).map_err(|_| refused("is not a valid URL"))?;
    if url.origin() != issuer_url.origin() {
        return Err(refused(&format!(
            "is not on the issuer's own host ({})",
            issuer_url.origin().ascii_serialization()
        )));
    }
    check_url(&url, allow_private)?;
    Ok(url)
}

/// Refuses URLs the policy forbids before any connection: the scheme, and hosts that are
/// literal non-public IP addresses (in any spelling `url` accepts: `2130706433`, `0x7f.1`,
/// `[::ffff:127.0.0.1]`). Names are checked after resolution by the client's resolver.
pub fn check_url(url: &url::Url, allow_private: bool) -> Result<(), OutboundError> {
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        other => {
            return Err(OutboundError::Refused(format!(
                "{other}:// URLs are not allowed (only https)"
            )));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OutboundError::Refused(
            "URLs with credentials are not allowed".into(),
        ));
    }
    let ip = match url.host() {
        None => return Err(OutboundError::Refused("the URL has no host".into())),
        Some(url::Host::Domain(_)) => return Ok(()),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
    };
    if allow_private || is_public(ip) {
        Ok(())
    } else {
        Err(refused_address(ip))
    }
}

fn refused_address(ip: IpAddr) -> OutboundError {
    OutboundError::Refused(format!(
        "{ip} is a loopback, private, link-local or otherwise non-public address"
    ))
}

/// True for an address on the public internet: not loopback, private, link-local, shared
/// (CGNAT), unspecified, multicast, broadcast, documentation or benchmarking space; IPv6
/// forms that embed an IPv4 address (mapped, compatible, translated, NAT64, 6to4) are judged
/// by it, and local-use NAT64 (`64:ff9b:1::/48`) is never public.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space, RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, RFC 2544
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // IPv4-compatible (::a.b.c.d, deprecated), NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
    // addresses reach the embedded IPv4 address.
    if s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified() {
        return is_public_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    // IPv4-translated (::ffff:0:a.b.c.d, RFC 2765 SIIT) reaches the embedded address too.
    if (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0])
        || s[..6] == [0, 0, 0, 0, 0xffff, 0]
    {
        return is_public_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    // Local-use NAT64 (64:ff9b:1::/48, RFC 8215) translates into the operator's own network.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        return false;
    }
    if s[0] == 0x2002 {
        return is_public_v4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])) // discard-only, RFC 6666
}

/// A resolver that drops every non-public address; a name with none left fails to resolve.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> =
                all.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                let shown = all.first().map(|a| a.ip().to_string()).unwrap_or_default();
                let e: Box<dyn std::error::Error + Send + Sync> = if all.is_empty() {
                    format!("{host} does not resolve").into()
                } else {
                    Box::new(NonPublicName(format!(
                        "{host} resolves to {shown}, a loopback, private, link-local or otherwise non-public address"
                    )))
                };
                return Err(e);
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> bool {
        check_url(&url::Url::parse(url).expect("url"), false).is_err()
    }

    #[test]
    fn non_public_literals_are_refused_in_every_spelling() {
        for url in [
            "https://127.0.0.1/",
            "https://127.1/",
            "https://2130706433/",
            "https://0x7f000001/",
            "https://0177.0.0.1/",
            "https://0.0.0.0/",
            "https://0/",
            "https://10.0.0.1/",
            "https://172.16.5.4/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/",
            "https://[::1]/",
            "https://[::]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:a9fe:a9fe]/",
            "https://[fe80::1]/",
            "https://[fd00::1]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://[64:ff9b:1::7f00:1]/",
            "https://[64:ff9b:1:ffff::a00:1]/",
            "https://[::ffff:0:7f00:1]/",
            "https://[::ffff:0:a9fe:a9fe]/",
            "https://[::127.0.0.1]/",
            "https://[0:0:0:0:0:ffff:127.0.0.1]/",
            "https://[2002:7f00:1::]/",
            "https://255.255.255.255/",
            "https://224.0.0.1/",
        ] {
            assert!(refused(url), "{url} should be refused");
        }
    }

    #[test]
    fn public_destinations_and_names_pass_the_literal_check() {
        for url in [
            "https://acme.okta.com/",
            "https://93.184.215.14/",
            "https://[2606:4700::1111]/",
            "https://[64:ff9b::5db8:d70e]/", // NAT64 of a public address
            "https://localhost/",            // names are checked after resolution
        ] {
            assert!(!refused(url), "{url} should pass the literal check");
        }
    }

    #[test]
    fn only_https_unless_private_is_allowed() {
        for url in [
            "http://acme.okta.com/",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "ftp://a.example/",
        ] {
            assert!(refused(url), "{url}");
        }
        let local = url::Url::parse("http://127.0.0.1:8080/").expect("url");
        assert!(check_url(&local, true).is_ok());
        assert!(refused("https://user:pw@acme.okta.com/"));
    }

    #[test]
    fn endpoints_must_be_on_the_issuers_origin() {
        let iss = "https://acme.okta.com";
        let ok = check_endpoint(
            iss,
            "authorization_endpoint",
            "https://acme.okta.com/oauth2/v1/authorize",
            false,
        );
        assert!(ok.is_ok());
        for bad in [
            "javascript:alert(1)",
            "https://evil.example/oauth2/v1/authorize",
            "http://acme.okta.com/oauth2/v1/authorize",
            "https://acme.okta.com:8443/authorize",
            "https://acme.okta.com.evil.example/authorize",
            "//evil.example/x",
            "",
        ] {
            assert!(
                check_endpoint(iss, "authorization_endpoint", bad, false).is_err(),
                "{bad}"
            );
        }
        let local = "http://127.0.0.1:9000/o/ts/";
        assert!(
            check_endpoint(local, "token_endpoint", "http://127.0.0.1:9000/token", true).is_ok()
        );
        assert!(
            check_endpoint(local, "token_endpoint", "http://127.0.0.1:9001/token", true).is_err()
        );
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused() {
        let out = Outbound::new(Duration::from_secs(2), false);
        let e = out
            .execute(out.request(reqwest::Method::GET, "https://localhost:1/"))
            .await
            .expect_err("localhost must be refused");
        assert!(
            e.is_refused() && e.to_string().contains("non-public"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn bodies_over_the_cap_are_refused() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            for chunked in [false, true] {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let body = vec![b'x'; 4096];
                let head = if chunked {
                    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_string()
                } else {
                    format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len())
                };
                let _ = s.write_all(head.as_bytes()).await;
                if chunked {
                    for _ in 0..4 {
                        let _ = s.write_all(b"400\r\n").await;
                        let _ = s.write_all(&body[..1024]).await;
                        let _ = s.write_all(b"\r\n").await;
                    }
                    let _ = s.write_all(b"0\r\n\r\n").await;
                } else {
                    let _ = s.write_all(&body).await;
                }
            }
        });
        let out = Outbound::new(Duration::from_secs(5), true).with_max_bytes(2048);
        for _ in 0..2 {
            let e = out
                .execute(out.request(reqwest::Method::GET, &format!("http://{addr}/")))
                .await
                .expect_err("over the cap");
            assert!(
                matches!(e, OutboundError::TooLarge { limit: 2048, .. }),
                "{e}"
            );
        }
    }
}
