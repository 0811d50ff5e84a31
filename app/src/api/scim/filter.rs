//! SCIM list filters (RFC 7644 section 3.4.2.2), the subset Okta and other IdPs send to find a
//! resource before they create it: one `attribute eq "value"` comparison.
//!
//! Users: `userName`, `externalId`, `id` and `emails.value` (also `emails[type eq "work"].value`
//! is not accepted: Okta does not send it). Groups: `displayName`, `externalId`, `id`.
//! Attribute names and the operator match in any case, and may carry their schema URN
//! (`urn:ietf:params:scim:schemas:core:2.0:User:userName`); the value is a JSON string
//! (escapes included). `userName`, `emails.value` and `displayName` values match in any case
//! (RFC 7643 gives them `caseExact: false`), `externalId` and `id` exactly. Anything else —
//! other operators, `and`/`or`/`not`, grouping, other attributes — is refused with
//! `invalidFilter`, never answered with an empty or unfiltered list.
//!
//! The crate `scim-filter` (0.2.3) parses the full grammar, but reads `"a\"b"` and `""` wrongly
//! and keeps an attribute's URN private, which this subset needs; the subset is small enough
//! to parse here, with the value left to `serde_json`.

use super::{GROUP_SCHEMA, ScimError, ScimType, USER_SCHEMA};
use crate::model::{GroupId, MemberId};
use crate::ssr::store::scim::{GroupFilter, UserFilter};

/// Longest filter accepted, in bytes.
pub const MAX_FILTER_BYTES: usize = 1024;

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad(ScimType::InvalidFilter, detail)
}

/// The attribute (lowercased, its URN removed when it is `schema`'s) and the compared string
/// of `filter`, which must be `attribute eq "value"`.
fn comparison(filter: &str, schema: &str) -> Result<(String, String), ScimError> {
    if filter.len() > MAX_FILTER_BYTES {
        return Err(invalid(format!(
            "A filter has at most {MAX_FILTER_BYTES} bytes."
        )));
    }
    let filter = filter.trim();
    let (attribute, rest) = filter
        .split_once(char::is_whitespace)
        .ok_or_else(|| invalid("A filter compares an attribute: attribute eq \"value\"."))?;
    let rest = rest.trim_start();
    let (op, value) = rest
        .split_once(char::is_whitespace)
        .ok_or_else(|| invalid("A filter compares an attribute: attribute eq \"value\"."))?;
    if !op.eq_ignore_ascii_case("eq") {
        return Err(invalid(format!(
            "Only the eq operator is supported, not {}.",
            crate::validate::quoted(op)
        )));
    }
    let value = value.trim();
    // One JSON string and nothing after it: `and`, `or` and grouping are refused here.
    let mut values = serde_json::Deserializer::from_str(value).into_iter::<serde_json::Value>();
    let parsed = match values.next() {
        Some(Ok(serde_json::Value::String(s))) => s,
        _ => {
            return Err(invalid(
                "The compared value must be one JSON string, e.g. \"ann@example.com\"; and, or, not and grouping are not supported.",
            ));
        }
    };
    if values.byte_offset() != value.len() {
        return Err(invalid(
            "Only one comparison is supported: and, or, not and grouping are not.",
        ));
    }
    let lower = attribute.to_ascii_lowercase();
    let prefix = format!("{}:", schema.to_ascii_lowercase());
    let attribute = lower.strip_prefix(&prefix).unwrap_or(&lower).to_string();
    Ok((attribute, parsed))
}

/// Can a stored value equal `value`? Tessera stores no control characters (they are refused
/// or removed before anything is written), and PostgreSQL text cannot even hold NUL: such a
/// value matches nobody, on both databases, without asking either.
fn matchable(value: &str) -> bool {
    !value.chars().any(char::is_control)
}

/// A Users filter.
pub fn users(filter: &str) -> Result<UserFilter, ScimError> {
    let (attribute, value) = comparison(filter, USER_SCHEMA)?;
    let known = matches!(
        attribute.as_str(),
        "username" | "externalid" | "emails.value" | "emails" | "id"
    );
    if known && !matchable(&value) {
        return Ok(UserFilter::Id(MemberId::from("-")));
    }
    Ok(match attribute.as_str() {
        "username" => UserFilter::UserNameKey(value.to_lowercase()),
        "externalid" => UserFilter::ExternalId(value),
        "emails.value" | "emails" => UserFilter::Email(value),
        "id" => match MemberId::parse(&value) {
            Ok(id) => UserFilter::Id(id),
            // No user has such an id: an empty list, as for any unknown id.
            Err(_) => UserFilter::Id(MemberId::from("-")),
        },
        _ => {
            return Err(invalid(format!(
                "Users can be filtered by userName, externalId, id or emails.value, not {}.",
                crate::validate::quoted(&attribute)
            )));
        }
    })
}

/// A Groups filter.
pub fn groups(filter: &str) -> Result<GroupFilter, ScimError> {
    let (attribute, value) = comparison(filter, GROUP_SCHEMA)?;
    let known = matches!(attribute.as_str(), "displayname" | "externalid" | "id");
    if known && !matchable(&value) {
        return Ok(GroupFilter::Id(GroupId::from("-")));
    }
    Ok(match attribute.as_str() {
        "displayname" => GroupFilter::DisplayNameKey(value.to_lowercase()),
        "externalid" => GroupFilter::ExternalId(value),
        "id" => match GroupId::parse(&value) {
            Ok(id) => GroupFilter::Id(id),
            Err(_) => GroupFilter::Id(GroupId::from("-")),
        },
        _ => {
            return Err(invalid(format!(
                "Groups can be filtered by displayName, externalId or id, not {}.",
                crate::validate::quoted(&attribute)
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_filters_are_read_in_any_case() {
        assert_eq!(
            users("userName eq \"Ann@Example.com\"").unwrap(),
            UserFilter::UserNameKey("ann@example.com".into())
        );
        assert_eq!(
            users("USERNAME EQ \"ann@example.com\"").unwrap(),
            UserFilter::UserNameKey("ann@example.com".into())
        );
        assert_eq!(
            users("urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"a\"").unwrap(),
            UserFilter::UserNameKey("a".into())
        );
        assert_eq!(
            users("externalId eq \"00uAbC\"").unwrap(),
            UserFilter::ExternalId("00uAbC".into())
        );
        assert_eq!(
            users("emails.value eq \"a@x\"").unwrap(),
            UserFilter::Email("a@x".into())
        );
        assert_eq!(
            users("userName eq \"a\\\"b\"").unwrap(),
            UserFilter::UserNameKey("a\"b".into())
        );
        assert_eq!(
            users("userName eq \"\"").unwrap(),
            UserFilter::UserNameKey("".into())
        );
        assert_eq!(
            groups("displayName eq \"Admins\"").unwrap(),
            GroupFilter::DisplayNameKey("admins".into())
        );
    }

    #[test]
    fn unsupported_filters_are_invalid_filter_errors() {
        for f in [
            "",
            "userName",
            "userName eq",
            "userName sw \"a\"",
            "userName eq a",
            "userName eq \"a\" and active eq true",
            "userName eq \"a\" or userName eq \"b\"",
            "(userName eq \"a\")",
            "not (userName eq \"a\")",
            "active eq true",
            "name.givenName eq \"Ann\"",
            "userName eq \"unterminated",
            "emails[type eq \"work\"].value eq \"a@x\"",
            "meta.lastModified gt \"2011-05-13T04:42:34Z\"",
        ] {
            let e = users(f).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{f:?}");
            assert_eq!(e.status, 400);
        }
        assert!(users(&format!("userName eq \"{}\"", "a".repeat(MAX_FILTER_BYTES))).is_err());
        assert!(groups("members eq \"x\"").is_err());
    }

    #[test]
    fn control_characters_in_a_value_match_nobody() {
        let nobody = UserFilter::Id(MemberId::from("-"));
        for f in [
            "userName eq \"a\\u0000b\"",
            "externalId eq \"\\u0000\"",
            "emails.value eq \"a\\u001bb\"",
            "id eq \"\\u0000\"",
        ] {
            assert_eq!(users(f).unwrap(), nobody, "{f}");
        }
        assert_eq!(
            groups("displayName eq \"a\\u0000\"").unwrap(),
            GroupFilter::Id(GroupId::from("-"))
        );
        // An unknown attribute is still refused, whatever its value.
        assert!(users("title eq \"\\u0000\"").is_err());
    }
}
