//! Argon2id with the OWASP parameters (m=19456 KiB, t=2, p=1), always on a blocking thread so a hash
//! never stalls the async executor. Parameters live in the PHC string, so they can be raised later.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use crate::domain::password::Password;
use crate::error::ApiError;

/// An Argon2id hash (m=19456, t=2, p=1) of a random password nobody knows. Verified when there is
/// no account, so an unknown username costs what a wrong password costs; and the password of an
/// account whose signup was contested, which nobody may know until the number's owner sets one.
pub const UNUSABLE_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$Z3fvHuVx3cHPfBc7Tx4T0A$9dr5d3+Lk2sPWw2mDMzEObzmLbL9QzsqyGBXOdYt7aI";

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        PasswordHasher::new(19_456, 2, 1)
    }
}

impl PasswordHasher {
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Self {
        #[allow(clippy::expect_used)]
        let params = Params::new(memory_kib, iterations, parallelism, None).expect("Argon2 parameters are constants");
        PasswordHasher { params }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
    pub async fn hash(&self, password: &Password) -> Result<String, ApiError> {
        let secret = Zeroizing::new(password.expose().as_bytes().to_vec());
        let argon2 = self.argon2();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2.hash_password(&secret, &salt).map(|h| h.to_string())
        })
        .await
        .map_err(|e| ApiError::Internal(format!("hashing task failed: {e}")))?
        .map_err(|e| ApiError::Internal(format!("argon2 failed: {e}")))
    }

    /// Verifies with the parameters stored in the hash itself.
    pub async fn verify(&self, password: &Password, phc: &str) -> Result<bool, ApiError> {
        let secret = Zeroizing::new(password.expose().as_bytes().to_vec());
        let phc = phc.to_owned();
        let argon2 = self.argon2();
        tokio::task::spawn_blocking(move || match PasswordHash::new(&phc) {
            Ok(parsed) => argon2.verify_password(&secret, &parsed).is_ok(),
            Err(_) => false,
        })
        .await
        .map_err(|e| ApiError::Internal(format!("verify task failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_owasp_parameters_and_verifies() {
        let hasher = PasswordHasher::default();
        let password = Password::new("1234Qwerty".into()).unwrap();
        let phc = hasher.hash(&password).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify(&password, &phc).await.unwrap());
        assert!(!hasher.verify(&Password::new("1234Qwertz".into()).unwrap(), &phc).await.unwrap());
        assert!(!hasher.verify(&password, "not a hash").await.unwrap());
    }

    #[tokio::test]
    async fn same_password_gets_a_fresh_salt() {
        let hasher = PasswordHasher::default();
        let password = Password::new("1234Qwerty".into()).unwrap();
        assert_ne!(hasher.hash(&password).await.unwrap(), hasher.hash(&password).await.unwrap());
    }
}
