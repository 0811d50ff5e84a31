//! The security events Okta sends (Universal Logout, Shared Signals' CAEP and RISC events) in
//! words: their type URIs, short names and what Tessera did. Pure: shared by the server and
//! the pages.

/// CAEP session revoked (OpenID CAEP 1.0 §3.1).
pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// CAEP credential change (OpenID CAEP 1.0 §3.3).
pub const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
/// RISC account disabled (OpenID RISC 1.0 §2.3).
pub const ACCOUNT_DISABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
/// RISC account enabled (OpenID RISC 1.0 §2.4).
pub const ACCOUNT_ENABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-enabled";
/// SSF stream verification (OpenID SSF 1.0 §8.1.4.1).
pub const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// The event type recorded for a Universal Logout request (global token revocation).
pub const GLOBAL_TOKEN_REVOCATION: &str = "global-token-revocation";

/// A short name for an event type URI: "Session revoked (CAEP)"; an unknown one by its last
/// path segment.
pub fn event_name(event_type: &str) -> &str {
    match event_type {
        GLOBAL_TOKEN_REVOCATION => "Universal Logout",
        SESSION_REVOKED => "Session revoked (CAEP)",
        CREDENTIAL_CHANGE => "Credential change (CAEP)",
        ACCOUNT_DISABLED => "Account disabled (RISC)",
        ACCOUNT_ENABLED => "Account enabled (RISC)",
        VERIFICATION => "Stream verification (SSF)",
        other => other.rsplit('/').next().unwrap_or(other),
    }
}

/// What Tessera did, in words, for an outcome code and the number of sessions ended.
pub fn outcome_text(outcome: &str, sessions_ended: i64) -> String {
    match outcome {
        "signed_out" => match sessions_ended {
            0 => "Signed out (no open sessions)".into(),
            1 => "Signed out (1 session ended)".into(),
            n => format!("Signed out ({n} sessions ended)"),
        },
        "deactivated" => "Member deactivated".into(),
        "reactivated" => "Member reactivated".into(),
        "unchanged" => "Nothing to change".into(),
        "no_member" => "No such member".into(),
        "ambiguous" => "Several members have this email: nothing done".into(),
        "ignored" => "Recorded, not acted on".into(),
        "verified" => "Stream verified".into(),
        "received" => "Received".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_outcomes_have_words() {
        assert_eq!(event_name(SESSION_REVOKED), "Session revoked (CAEP)");
        assert_eq!(
            event_name("https://example.com/x/custom-event"),
            "custom-event"
        );
        assert_eq!(
            outcome_text("signed_out", 2),
            "Signed out (2 sessions ended)"
        );
        assert_eq!(
            outcome_text("signed_out", 1),
            "Signed out (1 session ended)"
        );
        assert_eq!(outcome_text("no_member", 0), "No such member");
    }
}
