//! A browser you can watch: a cookie-keeping HTTP client that never follows redirects by itself,
//! so a test sees each hop of a sign-in (Tessera → the IdP → its sign-in form → Tessera's
//! callback), and the exchange it got back ([`Resp`]) with helpers for Tessera's pages.

use std::time::Duration;

/// One HTTP exchange as a browser saw it.
#[derive(Debug, Clone)]
pub struct Resp {
    /// The request's method.
    pub method: String,
    /// The request's URL.
    pub url: url::Url,
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The body as text (empty when it could not be read).
    pub body: String,
}

impl Resp {
    /// A response header, when present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The raw `Location` header.
    pub fn location_raw(&self) -> Option<&str> {
        self.header("location")
    }

    /// `Location` resolved against the request URL.
    pub fn location(&self) -> Option<url::Url> {
        self.location_raw().and_then(|l| self.url.join(l).ok())
    }

    /// A 3xx with a `Location`.
    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status) && self.location_raw().is_some()
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    /// The reason code of one of Tessera's problem pages (`data-reason="..."`).
    pub fn reason(&self) -> Option<String> {
        let start = self.body.find("data-reason=\"")? + "data-reason=\"".len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].to_string())
    }

    /// The body as JSON; panics with the exchange when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {} is not JSON ({e}): {}",
                self.method, self.url, self.body
            )
        })
    }

    /// Panics with the whole exchange when `status` differs.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "{} {} answered {} (expected {status}); location {:?}; body:\n{}",
            self.method,
            self.url,
            self.status,
            self.location_raw(),
            self.body
        );
        self
    }
}

/// Where a sign-in got to.
#[derive(Debug)]
pub struct SignIn {
    /// Every response in order, the last one included.
    pub hops: Vec<Resp>,
    /// Where Tessera sent the browser at the IdP (the authorization request).
    pub authorize_url: Option<url::Url>,
    /// The IdP's redirect back to Tessera (`/sso/callback?...`), when it got that far.
    pub callback_url: Option<url::Url>,
    /// Tessera's answer to the callback, or the last response when the flow stopped earlier.
    pub response: Resp,
}

impl SignIn {
    /// True when the callback answered with a redirect into Tessera (a completed sign-in).
    pub fn landed(&self) -> bool {
        self.callback_url.is_some() && self.response.status == 303
    }
}

/// A cookie-keeping HTTP client that never follows redirects by itself, so tests see each hop.
#[derive(Clone)]
pub struct Browser {
    /// The client (no redirects followed), for building requests to [`Browser::send`].
    pub client: reqwest::Client,
    /// Its cookie jar.
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    /// A browser whose requests give up after 30 s.
    pub fn new() -> Browser {
        Self::with_timeout(Duration::from_secs(30))
    }

    /// A browser whose every request gives up after `timeout`.
    pub fn with_timeout(timeout: Duration) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .timeout(timeout)
            // Below okta-dev's (Node's) 5 s keep-alive timeout: never reuse a closing connection.
            .pool_idle_timeout(Duration::from_secs(4))
            .build()
            .expect("client");
        Browser { client, jar }
    }

    /// Like [`Browser::send`], but a transport failure (e.g. a timeout) is an `Err`, not a panic.
    pub async fn try_send(&self, request: reqwest::RequestBuilder) -> Result<Resp, String> {
        let request = request.build().map_err(|e| e.to_string())?;
        let method = request.method().to_string();
        let url = request.url().clone();
        let r = self
            .client
            .execute(request)
            .await
            .map_err(|e| format!("{method} {url}: {e:?}"))?;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r
            .text()
            .await
            .map_err(|e| format!("{method} {url}: reading the body: {e:?}"))?;
        Ok(Resp {
            method,
            url,
            status,
            headers,
            body,
        })
    }

    /// Sends `request`; panics on a transport failure.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Resp {
        let request = request.build().expect("request");
        let method = request.method().to_string();
        let url = request.url().clone();
        let r = self
            .client
            .execute(request)
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.text().await.unwrap_or_default();
        Resp {
            method,
            url,
            status,
            headers,
            body,
        }
    }

    /// `GET url`.
    pub async fn get(&self, url: &str) -> Resp {
        self.send(self.client.get(url)).await
    }

    /// A POST as a browser makes it from a page at `from` (whose origin goes in `Origin`).
    pub fn post(&self, from: &str, url: &str) -> reqwest::RequestBuilder {
        self.client.post(url).header("origin", origin_of(from))
    }

    /// A form POST from one of the target's own pages (same origin).
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Resp {
        self.send(self.post(url, url).form(form)).await
    }

    /// A form POST from a page at `from` (e.g. Okta's) to `url`.
    pub async fn post_form_from(&self, from: &str, url: &str, form: &[(&str, &str)]) -> Resp {
        self.send(self.post(from, url).form(form)).await
    }

    /// Follows redirects (as GETs) from `first` until a non-redirect answer; returns every hop.
    pub async fn follow(&self, first: Resp) -> Vec<Resp> {
        let mut hops = vec![first];
        while let Some(next) = hops
            .last()
            .and_then(|r| r.is_redirect().then(|| r.location()).flatten())
        {
            assert!(hops.len() < 20, "redirect loop: {hops:#?}");
            hops.push(self.get(next.as_str()).await);
        }
        hops
    }

    /// A cookie the jar would send to `base`.
    pub fn cookie(&self, base: &str, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore as _;
        let url = url::Url::parse(base).expect("url");
        let header = self.jar.cookies(&url)?;
        header.to_str().ok()?.split(';').find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
    }

    /// Plants a cookie for `base` (as an attacker or a stale tab would).
    pub fn set_cookie(&self, base: &str, name: &str, value: &str) {
        let url = url::Url::parse(base).expect("url");
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }

    /// Tessera's session cookie value, if any.
    pub fn session_cookie(&self, tessera: &str) -> Option<String> {
        self.cookie(tessera, "tessera_session")
    }

    /// `GET /api/v1/session`.
    pub async fn session(&self, tessera: &str) -> Resp {
        self.get(&format!("{tessera}/api/v1/session")).await
    }

    /// Drives a sign-in from `start` (Tessera's `/sso/initiate?...` or `/sso/start?...`) through
    /// the IdP — filling okta-dev's sign-in form with `username`/`password` when it shows one —
    /// up to the IdP's redirect back to Tessera's callback, which is *not* requested.
    pub async fn drive_to_callback(
        &self,
        tessera: &str,
        start: Resp,
        username: &str,
        password: &str,
    ) -> SignIn {
        let base = url::Url::parse(tessera).expect("tessera url");
        let callback_prefix = format!("{tessera}/sso/callback");
        let mut hops = vec![];
        let mut authorize_url = None;
        let mut posted = false;
        let mut resp = start;
        loop {
            assert!(hops.len() < 30, "too many hops: {hops:#?}");
            let next = if resp.is_redirect() {
                let to = resp.location().expect("location");
                if resp.url.origin() == base.origin()
                    && to.origin() != base.origin()
                    && authorize_url.is_none()
                {
                    authorize_url = Some(to.clone());
                }
                if to.as_str().starts_with(&callback_prefix) {
                    hops.push(resp.clone());
                    return SignIn {
                        hops,
                        authorize_url,
                        callback_url: Some(to),
                        response: resp,
                    };
                }
                Some(self.client.get(to.as_str()))
            } else if resp.status == 200 && !posted && resp.body.contains("action=\"/interaction/")
            {
                posted = true;
                let start = resp.body.find("action=\"").expect("form") + "action=\"".len();
                let end = resp.body[start..].find('"').expect("form end");
                let action = resp
                    .url
                    .join(&resp.body[start..start + end])
                    .expect("action");
                Some(
                    self.post(resp.url.as_str(), action.as_str())
                        .form(&[("username", username), ("password", password)]),
                )
            } else {
                None
            };
            hops.push(resp.clone());
            match next {
                Some(request) => resp = self.send(request).await,
                None => {
                    return SignIn {
                        hops,
                        authorize_url,
                        callback_url: None,
                        response: resp,
                    };
                }
            }
        }
    }

    /// A whole sign-in: GET `start_url`, through the IdP, then Tessera's callback; the callback's
    /// answer (normally a 303 into Tessera) is `response`.
    pub async fn sign_in(
        &self,
        tessera: &str,
        start_url: &str,
        username: &str,
        password: &str,
    ) -> SignIn {
        let first = self.get(start_url).await;
        self.sign_in_from(tessera, first, username, password).await
    }

    /// Like [`Browser::sign_in`], from an already made first request (e.g. a form POST).
    pub async fn sign_in_from(
        &self,
        tessera: &str,
        first: Resp,
        username: &str,
        password: &str,
    ) -> SignIn {
        let mut flow = self
            .drive_to_callback(tessera, first, username, password)
            .await;
        if let Some(callback) = flow.callback_url.clone() {
            let resp = self.get(callback.as_str()).await;
            flow.hops.push(resp.clone());
            flow.response = resp;
        }
        flow
    }
}

/// The origin of a URL as browsers send it in `Origin` (`scheme://host[:port]`).
pub fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .expect("url")
        .origin()
        .ascii_serialization()
}

/// `/sso/initiate?iss=<issuer>` of a Tessera at `tessera`.
pub fn initiate_url(tessera: &str, issuer: &str) -> String {
    let mut u = url::Url::parse(&format!("{tessera}/sso/initiate")).expect("url");
    u.query_pairs_mut().append_pair("iss", issuer);
    u.to_string()
}

/// The first value of a query parameter.
pub fn query_param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
