//! The SCIM discovery documents (RFC 7644 section 4, RFC 7643 sections 5–7):
//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`, saying what Tessera supports:
//! PATCH yes, filter yes (up to [`MAX_RESULTS`](super::MAX_RESULTS) results), bulk, sort, ETags
//! and password changes no, authentication by bearer token.

use super::{GROUP_SCHEMA, LIST_SCHEMA, MAX_RESULTS, USER_SCHEMA, location};
use serde_json::{Value, json};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// `GET /ServiceProviderConfig`.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://developer.okta.com/docs/guides/scim-provisioning-integration-overview/main/",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A SCIM token created for the organization in Tessera (SSO page, Provisioning), sent as Authorization: Bearer <token>.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

fn resource_type(base: &str, id: &str, endpoint: &str, schema: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": id,
        "name": id,
        "endpoint": endpoint,
        "description": format!("{id}s of the organization"),
        "schema": schema,
        "schemaExtensions": [],
        "meta": {"resourceType": "ResourceType", "location": location(base, "ResourceTypes", id)},
    })
}

/// The resource types (`User`, `Group`).
pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        resource_type(base, "User", "/Users", USER_SCHEMA),
        resource_type(base, "Group", "/Groups", GROUP_SCHEMA),
    ]
}

fn attribute(
    name: &str,
    kind: &str,
    required: bool,
    case_exact: bool,
    mutability: &str,
    uniqueness: &str,
) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": name,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
    })
}

/// `attribute` with the only values Tessera keeps.
fn canonical(mut attribute: Value, values: &[&str]) -> Value {
    attribute["canonicalValues"] = json!(values);
    attribute
}

/// A `reference` attribute to resources of `types`.
fn reference(mut attribute: Value, types: &[&str]) -> Value {
    attribute["referenceTypes"] = json!(types);
    attribute
}

fn complex(name: &str, multi: bool, mutability: &str, sub: Vec<Value>) -> Value {
    json!({
        "name": name,
        "type": "complex",
        "multiValued": multi,
        "description": name,
        "required": false,
        "mutability": mutability,
        "returned": "default",
        "subAttributes": sub,
    })
}

fn schema(base: &str, id: &str, name: &str, attributes: Vec<Value>) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": format!("{name} as Tessera keeps it"),
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": location(base, "Schemas", id)},
    })
}

/// The schemas of the attributes Tessera keeps (User, Group).
pub fn schemas(base: &str) -> Vec<Value> {
    let user = schema(
        base,
        USER_SCHEMA,
        "User",
        vec![
            attribute("userName", "string", true, false, "readWrite", "server"),
            complex(
                "name",
                false,
                "readWrite",
                vec![
                    attribute("givenName", "string", false, false, "readWrite", "none"),
                    attribute("familyName", "string", false, false, "readWrite", "none"),
                ],
            ),
            attribute("displayName", "string", false, false, "readWrite", "none"),
            attribute("active", "boolean", false, false, "readWrite", "none"),
            attribute("externalId", "string", false, true, "readWrite", "none"),
            complex(
                "emails",
                true,
                "readWrite",
                vec![
                    attribute("value", "string", false, false, "readWrite", "none"),
                    // Tessera keeps one email, the primary one (sent `primary` picks it).
                    canonical(
                        attribute("type", "string", false, false, "readWrite", "none"),
                        &["work"],
                    ),
                ],
            ),
            complex(
                "groups",
                true,
                "readOnly",
                vec![
                    attribute("value", "string", false, false, "readOnly", "none"),
                    attribute("display", "string", false, false, "readOnly", "none"),
                ],
            ),
        ],
    );
    let group = schema(
        base,
        GROUP_SCHEMA,
        "Group",
        vec![
            attribute("displayName", "string", true, false, "readWrite", "server"),
            attribute("externalId", "string", false, true, "readWrite", "none"),
            complex(
                "members",
                true,
                "readWrite",
                vec![
                    attribute("value", "string", false, true, "immutable", "none"),
                    reference(
                        attribute("$ref", "reference", false, true, "immutable", "none"),
                        &["User"],
                    ),
                    canonical(
                        attribute("type", "string", false, false, "immutable", "none"),
                        &["User"],
                    ),
                ],
            ),
        ],
    );
    vec![user, group]
}

/// A list response of discovery resources (all on one page).
pub fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "itemsPerPage": resources.len(),
        "startIndex": 1,
        "Resources": resources,
    })
}
