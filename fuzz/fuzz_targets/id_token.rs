//! ID-token handling: arbitrary compact tokens against fixed provider metadata must be refused
//! cleanly (no panic), and nothing unsigned by the provider's key can pass.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tessera::oidc::{ClientConfig, FastJsonWebKeySet, FastProviderMetadata, verify_id_token};

const DISCOVERY: &str = r#"{
  "issuer": "https://acme.okta.com",
  "authorization_endpoint": "https://acme.okta.com/oauth2/v1/authorize",
  "token_endpoint": "https://acme.okta.com/oauth2/v1/token",
  "userinfo_endpoint": "https://acme.okta.com/oauth2/v1/userinfo",
  "jwks_uri": "https://acme.okta.com/oauth2/v1/keys",
  "response_types_supported": ["code"],
  "subject_types_supported": ["public"],
  "id_token_signing_alg_values_supported": ["RS256"]
}"#;

// A public RSA key (the matching private key is not in this repository).
const JWKS: &str = r#"{"keys":[{"kty":"RSA","kid":"k1","use":"sig","alg":"RS256","e":"AQAB",
 "n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw"}]}"#;

fn metadata() -> FastProviderMetadata {
    static META: OnceLock<FastProviderMetadata> = OnceLock::new();
    META.get_or_init(|| {
        let jwks: FastJsonWebKeySet = serde_json::from_str(JWKS).expect("jwks");
        serde_json::from_str::<FastProviderMetadata>(DISCOVERY)
            .expect("discovery")
            .set_jwks(jwks)
    })
    .clone()
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let client = ClientConfig {
        issuer: "https://acme.okta.com",
        client_id: "0oa-fuzz",
        client_secret: "fuzz-secret",
        redirect_uri: "https://sso.example.com/sso/callback",
    };
    // Without the private key no token can verify: success here would be a forgery.
    assert!(verify_id_token(metadata(), &client, token, "nonce").is_err());
});
