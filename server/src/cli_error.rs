//! The error of an operator command (`tessera org|sso|secret-key …`): `main` prints it as one
//! line on stderr and exits 1. Shared by the commands in `cli` and `keys`.

use app::ssr::store::StoreError;

/// A command failure: one line for the operator, exit status 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] app::ssr::crypto::CryptoError),
}
