//! Why a sign-in ended as it did: one [`LoginReason`] per stable reason code (the README's
//! reason table), with the sentence an owner or admin reads on the activity and SSO pages
//! ([`LoginReason::advice`]) and what the person signing in is told on the problem page
//! ([`LoginReason::explain`]). Every match is exhaustive: a new reason cannot fall back to
//! generic words. Shared by the JSON API, the pages and the server; no server-only imports.

use serde::{Deserialize, Serialize};

/// The outcome of a sign-in, as recorded on its login attempt (`code()`), logged and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginReason {
    /// Signed in.
    Success,
    /// Okta redirected back with an OAuth error (RFC 6749 §4.1.2.1).
    IdpError,
    /// The callback came from another browser than the one that started the sign-in.
    BrowserMismatch,
    /// No org is connected to the issuer an initiate request named.
    UnknownIssuer,
    /// The org's SSO is off, or it has no connection.
    SsoDisabled,
    /// No state, or an unknown, used, expired or malformed one.
    StateMissingOrExpired,
    /// The callback's `iss` (RFC 9207) names another issuer than the flow's.
    IssuerMismatch,
    /// The ID token failed a check.
    TokenInvalid,
    /// `/userinfo` failed or named another person.
    UserinfoInvalid,
    /// The token endpoint refused the code or the client credentials.
    TokenExchangeFailed,
    /// Okta did not answer in time.
    IdpUnreachable,
    /// Discovery failed validation, an answer was too large, or a destination was refused.
    IdpMisconfigured,
    /// The member is deactivated.
    MemberDeactivated,
    /// Just-in-time provisioning is off and the person is not a member.
    JitDisabled,
    /// The member was deactivated by the org's Okta (SCIM `active: false`).
    DeactivatedInOkta,
    /// The org's provisioning mode is `scim` and Okta has not provisioned this person.
    NotProvisioned,
    /// Okta "Simplified" mode posted an unsolicited ID token.
    OktaSimplifiedMode,
    /// An initiate request without `iss`.
    IssMissing,
    /// An initiate request whose `iss` is not an issuer URL.
    IssInvalid,
    /// Okta's answer carried no authorization code.
    CodeMissing,
    /// The org has too many sign-ins pending.
    TooManySignins,
    /// The database is unreachable (never stored: it cannot be).
    ServiceUnavailable,
    /// The stored client secret does not open with the server's key.
    SecretUnreadable,
    /// A value the database refused, or a request of the wrong shape.
    BadRequest,
    /// Any other failure of Tessera's own.
    InternalError,
    /// The login page was given something that is not an org name (not recorded).
    OrgInvalid,
    /// The login page was given an org name that does not exist (not recorded).
    OrgUnknown,
    /// The login page's organization name belongs to several orgs: the short name is needed.
    OrgAmbiguous,
}

/// What the person-facing words of a reason may name, besides the reason itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct Facts<'a> {
    /// The org's display name, once the sign-in got as far as an org.
    pub org_name: Option<&'a str>,
    /// What the request named that Tessera does not know: the issuer (`unknown_issuer`) or
    /// the organization name typed on the login page (`org_unknown`), bounded by the caller.
    pub named: Option<&'a str>,
    /// Okta's error redirect (`idp_error`).
    pub okta: Option<OktaError<'a>>,
}

/// An error Okta redirected back with.
#[derive(Clone, Copy, Debug)]
pub struct OktaError<'a> {
    /// The `error` parameter (bounded by the caller).
    pub error: &'a str,
    /// The `error_description`, only when the state was verified (this browser's own sign-in):
    /// an unauthenticated description is never shown as if Okta said it.
    pub description: Option<&'a str>,
}

/// What the problem page says: a heading, what happened, what to do, and whether to offer a
/// fresh sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub title: String,
    pub what: String,
    pub advice: String,
    pub retry: bool,
}

/// What to do after a sign-in that cannot go on.
const START_AGAIN: &str = "Start again from the Tessera tile in your Okta dashboard.";
const START_AGAIN_OR_LOG_IN: &str = "Start again from the Tessera tile in your Okta dashboard, or sign in from Tessera's login page.";
const TELL_OKTA_ADMIN: &str = "Try signing in again. If it keeps failing, tell your Okta administrator the reason code below.";
const ASSIGN: &str = "Ask your Okta administrator to assign you (or a group you belong to) to the Tessera app: in the Okta Admin Console, Applications → Tessera → Assignments.";

impl LoginReason {
    /// Every reason, for tests and documentation.
    pub const ALL: [LoginReason; 28] = [
        LoginReason::Success,
        LoginReason::IdpError,
        LoginReason::BrowserMismatch,
        LoginReason::UnknownIssuer,
        LoginReason::SsoDisabled,
        LoginReason::StateMissingOrExpired,
        LoginReason::IssuerMismatch,
        LoginReason::TokenInvalid,
        LoginReason::UserinfoInvalid,
        LoginReason::TokenExchangeFailed,
        LoginReason::IdpUnreachable,
        LoginReason::IdpMisconfigured,
        LoginReason::MemberDeactivated,
        LoginReason::JitDisabled,
        LoginReason::DeactivatedInOkta,
        LoginReason::NotProvisioned,
        LoginReason::OktaSimplifiedMode,
        LoginReason::IssMissing,
        LoginReason::IssInvalid,
        LoginReason::CodeMissing,
        LoginReason::TooManySignins,
        LoginReason::ServiceUnavailable,
        LoginReason::SecretUnreadable,
        LoginReason::BadRequest,
        LoginReason::InternalError,
        LoginReason::OrgInvalid,
        LoginReason::OrgUnknown,
        LoginReason::OrgAmbiguous,
    ];

    /// The stable code: stored on login attempts, shown on pages, logged and used as the
    /// metric label. Never changes for a reason.
    pub fn code(self) -> &'static str {
        match self {
            LoginReason::Success => "success",
            LoginReason::IdpError => "idp_error",
            LoginReason::BrowserMismatch => "browser_mismatch",
            LoginReason::UnknownIssuer => "unknown_issuer",
            LoginReason::SsoDisabled => "sso_disabled",
            LoginReason::StateMissingOrExpired => "state_missing_or_expired",
            LoginReason::IssuerMismatch => "issuer_mismatch",
            LoginReason::TokenInvalid => "token_invalid",
            LoginReason::UserinfoInvalid => "userinfo_invalid",
            LoginReason::TokenExchangeFailed => "token_exchange_failed",
            LoginReason::IdpUnreachable => "idp_unreachable",
            LoginReason::IdpMisconfigured => "idp_misconfigured",
            LoginReason::MemberDeactivated => "member_deactivated",
            LoginReason::JitDisabled => "jit_disabled",
            LoginReason::DeactivatedInOkta => "deactivated_in_okta",
            LoginReason::NotProvisioned => "not_provisioned",
            LoginReason::OktaSimplifiedMode => "okta_simplified_mode",
            LoginReason::IssMissing => "iss_missing",
            LoginReason::IssInvalid => "iss_invalid",
            LoginReason::CodeMissing => "code_missing",
            LoginReason::TooManySignins => "too_many_signins",
            LoginReason::ServiceUnavailable => "service_unavailable",
            LoginReason::SecretUnreadable => "secret_unreadable",
            LoginReason::BadRequest => "bad_request",
            LoginReason::InternalError => "internal_error",
            LoginReason::OrgInvalid => "org_invalid",
            LoginReason::OrgUnknown => "org_unknown",
            LoginReason::OrgAmbiguous => "org_ambiguous",
        }
    }

    /// The reason whose [`code`](Self::code) is `code`; `None` for anything else (a stored
    /// code Tessera never writes is a fault of the data, not a reason).
    pub fn from_code(code: &str) -> Option<LoginReason> {
        LoginReason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The HTTP status a sign-in ending with this reason answers: 303 (into Tessera) for a
    /// success, otherwise the status of its problem page (4xx: the request, the person or the
    /// org's setup; 5xx: Tessera, its database or the IdP).
    pub fn status(self) -> u16 {
        match self {
            LoginReason::Success => 303,
            LoginReason::StateMissingOrExpired
            | LoginReason::IssuerMismatch
            | LoginReason::OktaSimplifiedMode
            | LoginReason::IssMissing
            | LoginReason::IssInvalid
            | LoginReason::CodeMissing
            | LoginReason::BadRequest
            | LoginReason::OrgInvalid => 400,
            LoginReason::TokenInvalid | LoginReason::UserinfoInvalid => 401,
            LoginReason::IdpError
            | LoginReason::BrowserMismatch
            | LoginReason::SsoDisabled
            | LoginReason::MemberDeactivated
            | LoginReason::JitDisabled
            | LoginReason::DeactivatedInOkta
            | LoginReason::NotProvisioned => 403,
            LoginReason::UnknownIssuer | LoginReason::OrgUnknown => 404,
            LoginReason::OrgAmbiguous => 409,
            LoginReason::TooManySignins => 429,
            LoginReason::SecretUnreadable | LoginReason::InternalError => 500,
            LoginReason::TokenExchangeFailed
            | LoginReason::IdpUnreachable
            | LoginReason::IdpMisconfigured => 502,
            LoginReason::ServiceUnavailable => 503,
        }
    }

    /// What an owner or admin should do about an attempt with this reason and `detail`: one
    /// actionable sentence in the words of the Okta Admin Console.
    pub fn advice(self, detail: &str) -> &'static str {
        let detail = detail.to_lowercase();
        match self {
            LoginReason::Success => "No action needed.",
            LoginReason::IdpError if detail.contains("not assigned") => {
                "Not assigned to the app in Okta: assign the person or one of their groups in Applications → Tessera → Assignments."
            }
            LoginReason::IdpError => {
                "Okta refused the sign-in (see the detail): check the person's status in Okta under Directory → People and the app's Assignments."
            }
            LoginReason::BrowserMismatch => {
                "The callback came from another browser than the one that started the sign-in (a forwarded link, or cookies cleared): nothing changed; the person should start again in one browser."
            }
            LoginReason::UnknownIssuer => {
                "No organization uses this Okta issuer: connect it with a setup link from the SSO page, or ask the service operator to register it."
            }
            LoginReason::SsoDisabled => {
                "Single sign-on is turned off: the owner can enable it on the SSO page, or ask the service operator."
            }
            LoginReason::StateMissingOrExpired => {
                "The sign-in was stale (bookmark, back button, replay or older than 10 minutes): start again from the Tessera tile in the Okta dashboard."
            }
            LoginReason::IssuerMismatch => {
                "Okta answered for a different organization than the sign-in went to: check that the Okta domain registered with Tessera is this organization's Okta URL."
            }
            LoginReason::TokenInvalid if detail.contains("exp") || detail.contains("iat") => {
                "The ID token's times were off: check that the Tessera server's clock is synchronized (NTP)."
            }
            LoginReason::TokenInvalid => {
                "The ID token failed a check (see the detail): in Okta, Applications → Tessera → Sign On must sign ID tokens with RS256; run Test connection."
            }
            LoginReason::UserinfoInvalid => {
                "Okta's /userinfo failed or named another person: retry, and check that the app grants the openid, email and profile scopes in Okta."
            }
            LoginReason::TokenExchangeFailed => {
                "Okta refused the client credentials or the code: run Test connection and, if the credentials fail, rotate the client secret from Applications → Tessera → General → Client Credentials."
            }
            LoginReason::IdpUnreachable => {
                "Okta did not answer in time: check the Okta domain registered with Tessera and Okta's status page, then retry."
            }
            LoginReason::IdpMisconfigured => {
                "Okta's discovery document failed validation: the registered Okta domain must be your Okta org URL, e.g. https://acme.okta.com."
            }
            LoginReason::MemberDeactivated => {
                "This member is deactivated: an owner or admin can reactivate them on the Members page."
            }
            LoginReason::JitDisabled => {
                "Just-in-time provisioning is off and this person is not a member yet: invite them on the Members page (Invite people), or the owner can turn just-in-time provisioning on in the SSO settings."
            }
            LoginReason::DeactivatedInOkta => {
                "Okta deactivated this member over SCIM provisioning (the person was unassigned from the Tessera app or deactivated in Okta): reassign or reactivate them in the Okta Admin Console and Okta reactivates them in Tessera."
            }
            LoginReason::NotProvisioned => {
                "The organization admits only people Okta provisions over SCIM, and Okta has not provisioned this person: assign them to the Tessera app in Okta (Applications → Tessera → Assignments) so Okta pushes them to Tessera."
            }
            LoginReason::OktaSimplifiedMode => {
                "The Okta app uses \"Okta Simplified\" login: in Applications → Tessera → General → Login, choose \"Redirect to app to initiate login (OIDC Compliant)\"."
            }
            LoginReason::IssMissing | LoginReason::IssInvalid => {
                "The sign-in link was malformed: check the app's Initiate login URI in Okta (Applications → Tessera → General → Login) and start from the dashboard tile."
            }
            LoginReason::CodeMissing => {
                "Okta's answer carried no authorization code: start again from the Tessera tile in the Okta dashboard."
            }
            LoginReason::TooManySignins => {
                "Too many sign-ins were started from this organization's known browsers and not finished within 10 minutes (possibly someone starting them in bulk): new ones from such browsers were refused until they expire; if it persists, contact the service operator."
            }
            LoginReason::ServiceUnavailable => {
                "Tessera's database did not answer: retry in a minute; if it persists, contact the service operator."
            }
            LoginReason::SecretUnreadable => {
                "Tessera cannot decrypt this organization's client secret: the owner can rotate the client secret on the SSO page (or send a setup link to the Okta admin); the service operator should also check Tessera's secret key."
            }
            LoginReason::BadRequest => {
                "The sign-in carried a value Tessera cannot accept (e.g. a control character): start again from the Tessera tile; if it persists, contact the service operator."
            }
            LoginReason::InternalError => {
                "Tessera failed while completing the sign-in: retry; if it persists, contact the service operator with the time of the attempt."
            }
            LoginReason::OrgInvalid | LoginReason::OrgUnknown | LoginReason::OrgAmbiguous => {
                "The organization typed on the login page is not one Tessera can tell: give your people the org's name or short name, or have them use the Tessera tile in Okta."
            }
        }
    }

    /// What the person signing in is told.
    pub fn explain(self, facts: &Facts<'_>) -> Explanation {
        let org = facts.org_name.unwrap_or("your organization");
        let said = |title: &str, what: String, advice: &str, retry: bool| Explanation {
            title: title.to_string(),
            what,
            advice: advice.to_string(),
            retry,
        };
        match self {
            LoginReason::Success => said(
                "Signed in",
                "You are signed in.".into(),
                "No action needed.",
                false,
            ),
            LoginReason::IdpError => okta_error(facts.okta),
            LoginReason::BrowserMismatch => said(
                "This sign-in was started in another browser",
                "The sign-in link you opened belongs to a sign-in that was started in a different browser (or its cookies were cleared), so Tessera did not sign you in. If someone sent you this link, close this page.".into(),
                "To sign in, click the Tessera tile in your Okta dashboard in this browser, or use the button below.",
                true,
            ),
            LoginReason::UnknownIssuer => said(
                "This Okta organization is not connected",
                format!(
                    "No Tessera organization is connected to the Okta organization {}.",
                    facts.named.unwrap_or("you came from")
                ),
                "Ask your Okta administrator to finish setting up single sign-on with Tessera, or contact the service operator.",
                false,
            ),
            LoginReason::SsoDisabled => said(
                "Single sign-on is turned off",
                format!("Single sign-on is not enabled for {org}."),
                "Ask your organization's Tessera owner or the service operator to enable SSO.",
                false,
            ),
            LoginReason::StateMissingOrExpired => said(
                "This sign-in has expired",
                "The sign-in link was already used, is older than 10 minutes, or came from a bookmark or the back button.".into(),
                "Start a fresh sign-in: click the Tessera tile in your Okta dashboard, or use the button below.",
                true,
            ),
            LoginReason::IssuerMismatch => said(
                "The sign-in came back from the wrong place",
                "The response names a different Okta organization than the one the sign-in was sent to.".into(),
                START_AGAIN,
                true,
            ),
            LoginReason::TokenInvalid => said(
                "The sign-in could not be verified",
                "The identity token from Okta failed verification, so Tessera did not sign you in.".into(),
                TELL_OKTA_ADMIN,
                true,
            ),
            LoginReason::UserinfoInvalid => said(
                "The sign-in could not be verified",
                "Okta's profile answer did not match the identity token, so Tessera did not sign you in.".into(),
                TELL_OKTA_ADMIN,
                true,
            ),
            LoginReason::TokenExchangeFailed => said(
                "Okta refused the sign-in",
                "Okta did not accept Tessera's request to complete your sign-in.".into(),
                "Try signing in again. If it keeps failing, your Okta administrator should check the app's Client ID and Client Secret registered with Tessera.",
                true,
            ),
            LoginReason::IdpUnreachable => said(
                "Okta did not answer",
                "Tessera could not reach your organization's Okta in time.".into(),
                "Try again in a minute. If it keeps failing, your Okta administrator or the service operator should check that the Okta domain is correct and reachable.",
                true,
            ),
            LoginReason::IdpMisconfigured => said(
                "The Okta connection is misconfigured",
                "Your organization's Okta answered with an unexpected configuration.".into(),
                "Ask your Okta administrator to check the Okta domain registered with Tessera (it must be the Okta org URL, e.g. https://acme.okta.com).",
                false,
            ),
            LoginReason::MemberDeactivated => said(
                "Your access has been turned off",
                format!("Your membership in {org} is deactivated."),
                "Ask an owner or admin of your organization in Tessera to reactivate you.",
                false,
            ),
            LoginReason::JitDisabled => said(
                "You are not a member yet",
                format!("{org} admits only people who are already members."),
                "Ask an owner or admin of your organization to invite you in Tessera (Members, then Invite people) with the email address you use in Okta, then click the Tessera tile again.",
                false,
            ),
            LoginReason::DeactivatedInOkta => said(
                "Your account was deactivated in Okta",
                format!("Your organization's Okta deactivated your account in {org}, so Tessera no longer lets you in."),
                "If you should still have access, ask your Okta administrator to assign you to the Tessera app again (or reactivate you in Okta); Okta then restores your access in Tessera.",
                false,
            ),
            LoginReason::NotProvisioned => said(
                "You have not been given access yet",
                format!("{org} admits only people its Okta administrator has assigned to Tessera, and Okta has not provisioned you."),
                "Ask your Okta administrator to assign you (or a group you belong to) to the Tessera app in Okta, then click the Tessera tile again.",
                false,
            ),
            LoginReason::OktaSimplifiedMode => said(
                "The Okta app uses the wrong login mode",
                "Okta sent a sign-in in \"Okta Simplified\" mode, which Tessera does not accept.".into(),
                "Ask your Okta administrator to open the Tessera app in Okta (General → Login) and set \"Login initiated by: Either Okta or App\" with \"Redirect to app to initiate login (OIDC Compliant)\".",
                false,
            ),
            LoginReason::IssMissing => said(
                "This sign-in link is incomplete",
                "The request did not say which Okta organization it came from (the iss parameter is missing).".into(),
                START_AGAIN_OR_LOG_IN,
                true,
            ),
            LoginReason::IssInvalid => said(
                "This sign-in link is not valid",
                "The iss parameter is not a valid issuer URL.".into(),
                START_AGAIN_OR_LOG_IN,
                true,
            ),
            LoginReason::CodeMissing => said(
                "The sign-in response is incomplete",
                "Okta's answer did not contain an authorization code.".into(),
                START_AGAIN,
                true,
            ),
            LoginReason::TooManySignins => said(
                "Too many sign-ins in progress",
                format!(
                    "{org} has too many sign-ins started and not finished right now, so Tessera did not start another."
                ),
                "Try again in a few minutes. If this persists, contact the service operator.",
                true,
            ),
            LoginReason::ServiceUnavailable => said(
                "Tessera is temporarily unavailable",
                "Tessera cannot reach its database right now.".into(),
                "Wait a moment and try again. If this persists, contact the service operator.",
                true,
            ),
            LoginReason::SecretUnreadable => said(
                "Single sign-on is misconfigured",
                "Tessera cannot read this organization's Okta client secret.".into(),
                "Ask an owner of your organization to rotate the Okta client secret on Tessera's SSO page, or contact the service operator.",
                false,
            ),
            LoginReason::BadRequest => said(
                "This sign-in could not be completed",
                "The sign-in carried a value Tessera cannot accept (for example a control character).".into(),
                START_AGAIN,
                true,
            ),
            LoginReason::InternalError => said(
                "Something went wrong",
                "Tessera could not complete the sign-in.".into(),
                "Try again. If this persists, contact the service operator.",
                true,
            ),
            LoginReason::OrgInvalid => said(
                "Check the organization name",
                format!(
                    "Enter your organization's name or short name: at most {} characters, without control characters.",
                    crate::validate::MAX_ORG_INPUT_CHARS
                ),
                "For example Acme Inc, or its short name acme, as your administrator gave it.",
                true,
            ),
            LoginReason::OrgUnknown => said(
                "Organization not found",
                match facts.named {
                    // A short name is shown back; other text typed (or put in a link) is not.
                    Some(n) if crate::validate::slug(n).is_ok() => {
                        format!("There is no organization named \"{n}\" on Tessera.")
                    }
                    _ => "There is no organization with that name on Tessera.".into(),
                },
                "Check the spelling, or click the Tessera tile in your Okta dashboard instead.",
                true,
            ),
            LoginReason::OrgAmbiguous => said(
                "Which organization?",
                "More than one organization on Tessera has that name.".into(),
                "Enter your organization's short name instead (e.g. acme-eu), as your administrator gave it, or click the Tessera tile in your Okta dashboard.",
                true,
            ),
        }
    }
}

/// The code, padded like a string (`{:<26}` lines up `tessera org events`).
impl std::fmt::Display for LoginReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.code())
    }
}

/// The OAuth 2.0 / OpenID Connect error codes an authorization endpoint may return
/// (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6), grouped, each with Tessera's own
/// explanation: the group's code, what happened and what to do. `None` for anything else.
pub fn oauth_error_advice(error: &str) -> Option<(&'static str, &'static str, &'static str)> {
    const APP_SETTINGS: &str = "Ask your Okta administrator to check the Tessera app in Okta (General → Login): the sign-in redirect URI, \"Authorization Code\" as grant type and \"Either Okta or App\" as login initiator.";
    Some(match error {
        "access_denied" => (
            "access_denied",
            "Okta refused the sign-in (access_denied). Usually this means your Okta account is not assigned to the Tessera app, or an Okta policy denies it.",
            ASSIGN,
        ),
        "login_required"
        | "interaction_required"
        | "consent_required"
        | "account_selection_required" => (
            "login_required",
            "Okta needs you to sign in there first.",
            "Sign in to your Okta dashboard, then click the Tessera tile.",
        ),
        "invalid_request"
        | "unauthorized_client"
        | "unsupported_response_type"
        | "invalid_scope"
        | "invalid_request_uri"
        | "invalid_request_object"
        | "request_not_supported"
        | "request_uri_not_supported"
        | "registration_not_supported" => (
            "invalid_request",
            "Okta refused Tessera's sign-in request: the Tessera app in Okta is not set up as Tessera expects.",
            APP_SETTINGS,
        ),
        "server_error" | "temporarily_unavailable" => (
            "server_error",
            "Okta had a problem and could not sign you in.",
            "Try again in a few minutes from your Okta dashboard.",
        ),
        _ => return None,
    })
}

/// `idp_error` in the person's words. With a verified state Okta's own description is shown
/// (and "not assigned" gets the assignment advice); without one only Tessera's fixed words for
/// a known code are, and nothing from the request is quoted.
fn okta_error(okta: Option<OktaError<'_>>) -> Explanation {
    match okta {
        Some(OktaError {
            error,
            description: Some(description),
        }) => {
            if error == "access_denied" && description.to_lowercase().contains("not assigned") {
                Explanation {
                    title: "You are not assigned to this application in Okta".into(),
                    what: "Okta says your account is not assigned to the Tessera app.".into(),
                    advice: "Ask your Okta administrator to assign you (or a group you belong to) to the app: in the Okta Admin Console, Applications → Tessera → Assignments.".into(),
                    retry: false,
                }
            } else {
                Explanation {
                    title: "Okta did not sign you in".into(),
                    what: format!(
                        "Okta answered: {}",
                        if description.is_empty() { error } else { description }
                    ),
                    advice: "Try again from your Okta dashboard. If it keeps failing, send this page's reason to your Okta administrator.".into(),
                    retry: true,
                }
            }
        }
        unverified => {
            let known = unverified.and_then(|o| oauth_error_advice(o.error));
            let (what, advice) = match known {
                Some((_, what, advice)) => (what, advice),
                None => (
                    "Okta sent back an error instead of a sign-in.",
                    "Try again from the Tessera tile in your Okta dashboard. If it keeps failing, tell your Okta administrator the time and the reason code below.",
                ),
            };
            let title = if known.is_some_and(|(code, _, _)| code == "access_denied") {
                "Okta refused the sign-in"
            } else {
                "Okta did not sign you in"
            };
            Explanation {
                title: title.into(),
                what: what.into(),
                advice: advice.into(),
                retry: true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_one_sentence() {
        for reason in LoginReason::ALL {
            let a = reason.advice("");
            assert!(a.ends_with('.') && a.len() > 10, "{reason}: {a}");
            let told = reason.explain(&Facts::default());
            assert!(
                !told.title.is_empty() && told.what.ends_with('.'),
                "{reason}"
            );
            assert!(told.advice.ends_with('.'), "{reason}: {}", told.advice);
            assert!((300..600).contains(&reason.status()), "{reason}");
        }
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_are_not_reasons() {
        for reason in LoginReason::ALL {
            assert_eq!(LoginReason::from_code(reason.code()), Some(reason));
            let json = serde_json::to_string(&reason).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", reason.code()));
        }
        let mut codes: Vec<_> = LoginReason::ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), LoginReason::ALL.len(), "codes are unique");
        for unknown in ["something_new", "", "Success", "idp_error "] {
            assert_eq!(LoginReason::from_code(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn unassigned_people_are_told_where_to_assign_them() {
        let a = LoginReason::IdpError
            .advice("access_denied: User is not assigned to the client application.");
        assert!(
            a.starts_with("Not assigned to the app in Okta")
                && a.contains("Applications → Tessera → Assignments"),
            "{a}"
        );
        assert_ne!(a, LoginReason::IdpError.advice("server_error: boom"));
        let told = LoginReason::IdpError.explain(&Facts {
            okta: Some(OktaError {
                error: "access_denied",
                description: Some("User is not assigned to the client application."),
            }),
            ..Facts::default()
        });
        assert!(told.title.contains("not assigned"));
        assert!(told.advice.contains("Assignments"));
    }

    #[test]
    fn okta_errors_without_state_use_fixed_words_only() {
        let told = LoginReason::IdpError.explain(&Facts {
            okta: Some(OktaError {
                error: "access_denied",
                description: None,
            }),
            ..Facts::default()
        });
        assert!(told.title.contains("refused"));
        assert!(told.advice.contains("Assignments"));
        for code in ["login_required", "invalid_scope", "temporarily_unavailable"] {
            assert!(oauth_error_advice(code).is_some(), "{code}");
        }
        let told = LoginReason::IdpError.explain(&Facts {
            okta: Some(OktaError {
                error: "<b>pwned</b>",
                description: None,
            }),
            ..Facts::default()
        });
        let all = format!("{}{}{}", told.title, told.what, told.advice);
        assert!(!all.contains("pwned"), "{all}");
    }
}
