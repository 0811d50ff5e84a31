//! Encryption at rest for Okta client secrets: XChaCha20-Poly1305 under the instance secret key.
//!
//! A sealed value is `v1:` followed by base64 of the 24-byte nonce and the ciphertext. The org id
//! is the associated data, so a ciphertext copied onto another org's row does not open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::path::Path;

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 24;
/// Length of the instance secret key in bytes.
pub const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("secret key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error(
        "a stored client secret could not be decrypted: wrong secret key, or the value was tampered with"
    )]
    Open,
}

/// The instance secret key, loaded once at start-up.
#[derive(Clone)]
pub struct SecretKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(bytes.into()),
        }
    }

    /// Reads an existing key file; never creates one (key rotation must not invent a key).
    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let bytes = std::fs::read(path).map_err(|e| CryptoError::KeyFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let key: [u8; KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::KeyFile {
                path: path.display().to_string(),
                reason: format!("must hold exactly {KEY_LEN} bytes, found {}", bytes.len()),
            })?;
        Ok(Self::from_bytes(&key))
    }

    /// Reads the key file, or creates it with 32 random bytes and mode 0600 when it is absent.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        let err = |reason: String| CryptoError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                let key: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
                    err(format!(
                        "must hold exactly {KEY_LEN} bytes, found {}",
                        bytes.len()
                    ))
                })?;
                Ok(Self::from_bytes(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; KEY_LEN];
                rand::rngs::OsRng.fill_bytes(&mut key);
                write_new_key(path, &key).map_err(|e| err(format!("cannot create it: {e}")))?;
                tracing::info!(path = %path.display(), "generated a new secret key");
                Ok(Self::from_bytes(&key))
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Encrypts `plaintext`, bound to `context` (the org id, or a setup link's seal context).
    pub fn seal<C: AsRef<str> + ?Sized>(&self, context: &C, plaintext: &str) -> String {
        let context = context.as_ref();
        use base64::Engine as _;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            // Encryption only fails for messages beyond 256 GiB.
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    }

    /// Decrypts a value made by [`SecretKey::seal`] with the same `context`.
    pub fn open<C: AsRef<str> + ?Sized>(
        &self,
        context: &C,
        sealed: &str,
    ) -> Result<String, CryptoError> {
        let context = context.as_ref();
        use base64::Engine as _;
        let body = sealed.strip_prefix(PREFIX).ok_or(CryptoError::Open)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| CryptoError::Open)?;
        if bytes.len() < NONCE_LEN {
            return Err(CryptoError::Open);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Open)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Open)
    }
}

fn write_new_key(path: &Path, key: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(key)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips_and_binds_context() {
        let key = SecretKey::from_bytes(&[7u8; KEY_LEN]);
        let sealed = key.seal("org-1", "s3cret-value");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("s3cret"));
        assert_eq!(key.open("org-1", &sealed).unwrap(), "s3cret-value");
        assert!(key.open("org-2", &sealed).is_err());
        let other = SecretKey::from_bytes(&[8u8; KEY_LEN]);
        assert!(other.open("org-1", &sealed).is_err());
        assert!(key.open("org-1", "v1:!!").is_err());
    }

    #[test]
    fn key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/secret.key");
        let a = SecretKey::load_or_create(&path).unwrap();
        let sealed = a.seal("x", "y");
        let b = SecretKey::load_or_create(&path).unwrap();
        assert_eq!(b.open("x", &sealed).unwrap(), "y");
        assert_eq!(std::fs::read(&path).unwrap().len(), KEY_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"short").unwrap();
        assert!(SecretKey::load_or_create(&path).is_err());
    }
}
