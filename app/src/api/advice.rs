//! One actionable sentence per login reason code (see the reason table in README.md), in the
//! words of the Okta Admin Console. Shared by the JSON API and the pages.

/// What an owner or admin should do about a login attempt with `reason` (and its `detail`).
pub fn advice(reason: &str, detail: &str) -> String {
    let detail_lower = detail.to_lowercase();
    let s = match reason {
        "success" => "No action needed.",
        "idp_error" if detail_lower.contains("not assigned") => {
            "Not assigned to the app in Okta: assign the person or one of their groups in Applications -> Tessera -> Assignments."
        }
        "idp_error" => {
            "Okta refused the sign-in (see the detail): check the person's status in Okta under Directory -> People and the app's Assignments."
        }
        "unknown_issuer" => {
            "No organization uses this Okta issuer: the service operator must register it with `tessera sso set`."
        }
        "sso_disabled" => {
            "Single sign-on is turned off: the owner can enable it on the SSO page (or the operator with `tessera sso enable`)."
        }
        "state_missing_or_expired" => {
            "The sign-in was stale (bookmark, back button, replay or older than 10 minutes): start again from the Tessera tile in the Okta dashboard."
        }
        "issuer_mismatch" => {
            "Okta answered for a different organization than the sign-in went to: check that the Okta domain registered with Tessera is this organization's Okta URL."
        }
        "token_invalid" if detail_lower.contains("exp") || detail_lower.contains("iat") => {
            "The ID token's times were off: check that the Tessera server's clock is synchronized (NTP)."
        }
        "token_invalid" => {
            "The ID token failed a check (see the detail): in Okta, Applications -> Tessera -> Sign On must sign ID tokens with RS256; run Test connection."
        }
        "userinfo_invalid" => {
            "Okta's /userinfo failed or named another person: retry, and check that the app grants the openid, email and profile scopes in Okta."
        }
        "token_exchange_failed" => {
            "Okta refused the client credentials or the code: run Test connection and, if the credentials fail, rotate the client secret from Applications -> Tessera -> General -> Client Credentials."
        }
        "idp_unreachable" => {
            "Okta did not answer in time: check the Okta domain registered with Tessera and Okta's status page, then retry."
        }
        "idp_misconfigured" => {
            "Okta's discovery document failed validation: the registered Okta domain must be your Okta org URL, e.g. https://acme.okta.com."
        }
        "member_deactivated" => {
            "This member is deactivated: an owner or admin can reactivate them on the Members page."
        }
        "jit_disabled" => {
            "Just-in-time provisioning is off and this person is not a member yet: the owner can turn it on in the SSO settings."
        }
        "okta_simplified_mode" => {
            "The Okta app uses \"Okta Simplified\" login: in Applications -> Tessera -> General -> Login, choose \"Redirect to app to initiate login (OIDC Compliant)\"."
        }
        "iss_missing" | "iss_invalid" => {
            "The sign-in link was malformed: check the app's Initiate login URI in Okta (Applications -> Tessera -> General -> Login) and start from the dashboard tile."
        }
        "code_missing" => {
            "Okta's answer carried no authorization code: start again from the Tessera tile in the Okta dashboard."
        }
        "too_many_signins" => {
            "Too many sign-ins were started and not finished within 10 minutes (possibly someone starting them in bulk): new ones were refused until they expire; if it persists, contact the service operator."
        }
        "service_unavailable" => {
            "Tessera's database did not answer: retry in a minute; if it persists, contact the service operator."
        }
        _ => "See the detail; if it keeps happening, contact the service operator.",
    };
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::advice;

    #[test]
    fn every_reason_has_one_sentence() {
        for reason in [
            "success",
            "idp_error",
            "unknown_issuer",
            "sso_disabled",
            "state_missing_or_expired",
            "issuer_mismatch",
            "token_invalid",
            "userinfo_invalid",
            "token_exchange_failed",
            "idp_unreachable",
            "idp_misconfigured",
            "member_deactivated",
            "jit_disabled",
            "okta_simplified_mode",
            "iss_missing",
            "iss_invalid",
            "code_missing",
            "service_unavailable",
            "too_many_signins",
            "something_new",
        ] {
            let a = advice(reason, "");
            assert!(a.ends_with('.') && a.len() > 10, "{reason}: {a}");
        }
    }

    #[test]
    fn unassigned_people_are_told_where_to_assign_them() {
        let a = advice(
            "idp_error",
            "access_denied: User is not assigned to the client application.",
        );
        assert!(
            a.starts_with("Not assigned to the app in Okta")
                && a.contains("Applications -> Tessera -> Assignments"),
            "{a}"
        );
        assert_ne!(a, advice("idp_error", "server_error: boom"));
    }
}
