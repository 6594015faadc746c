//! Sign-in with a phone or a confirmed email address and a password (`grant_type=password`). An
//! unknown username costs the same reads and the same Argon2 verify as a known one and gets the same
//! answer as a wrong password; a pending (never confirmed) account cannot sign in. Failures feed a
//! back-off per phone or address that always ends.

use lambda_http::{Body, Response};

use super::session_tokens::{new_session, token_response};
use super::token::invalid_request;
use crate::App;
use crate::admission::Caller;
use crate::domain::email::EmailAddress;
use crate::domain::password::Password;
use crate::domain::phone::PhoneNumber;
use crate::error::{ApiError, OAuthError};
use crate::ports::{AccountStatus, EmailKey, OwnedIdentifier, PhoneKey, StoreError};
use crate::security::tokens::TokenIssuer;

/// Looked up when the phone has no account, so both paths read the same items.
const NO_USER: &str = "00000000-0000-0000-0000-000000000000";
/// An Argon2id hash (m=19456, t=2, p=1) of a random password nobody knows: verified when there is no
/// account, so an unknown phone costs what a wrong password costs.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$Z3fvHuVx3cHPfBc7Tx4T0A$9dr5d3+Lk2sPWw2mDMzEObzmLbL9QzsqyGBXOdYt7aI";

fn wrong_credentials() -> ApiError {
    ApiError::OAuth { error: OAuthError::InvalidGrant, message: "The username or password is not correct." }
}

pub(super) async fn password_grant(
    app: &App,
    issuer: &TokenIssuer,
    caller: &Caller,
    username: &str,
    password: String,
) -> Result<Response<Body>, ApiError> {
    let merchant_id = caller.merchant_id().to_owned();
    let identifier = if username.contains('@') {
        let email = EmailAddress::parse(username)
            .map_err(|_| invalid_request("The username must be a phone number or an email address."))?;
        OwnedIdentifier::Email(EmailKey { merchant_id: merchant_id.clone(), email })
    } else {
        let phone = PhoneNumber::parse(username)
            .map_err(|_| invalid_request("The username must be a phone number in international format."))?;
        OwnedIdentifier::Phone(PhoneKey { merchant_id: merchant_id.clone(), phone })
    };
    let key = identifier.as_ref();
    // Longer than any password can be: it cannot match.
    let password = Password::new(password).map_err(|_| wrong_credentials())?;
    let now = app.clock.now();

    let backoff = app.store.signin_backoff(key).await?.as_of(now);
    if let Some(retry_after) = backoff.wait(now) {
        return Err(ApiError::TooManyRequests { retry_after });
    }
    // One read to find the account, whichever the username: both kinds cost the same.
    let owner = match &identifier {
        OwnedIdentifier::Phone(phone) => {
            app.store.phone_claim(phone).await?.filter(|claim| claim.is_live(now)).map(|claim| claim.user_id)
        }
        OwnedIdentifier::Email(email) => app.store.email_owner(&email.merchant_id, &email.email).await?,
    };
    let account = app.store.account(owner.as_deref().unwrap_or(NO_USER)).await?;
    let hash = account.as_ref().map_or(DUMMY_HASH, |account| account.password_hash.as_str());
    let matches = app.hasher.verify(&password, hash).await?;
    let account = account.filter(|a| matches && a.status == AccountStatus::Active && a.merchant_id == merchant_id);

    let Some(account) = account else {
        match app.store.record_signin_failure(key, &backoff.after_failure(now)).await {
            // A parallel failure got there first; one of the two is counted.
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(other) => return Err(other.into()),
        }
        return Err(wrong_credentials());
    };
    if backoff.failures > 0 {
        app.store.clear_signin_failures(key).await?;
    }
    let (refresh, session) = new_session(caller.headers.fingerprint.clone(), now);
    let session_id = session.session_id.clone();
    app.store.start_session(&account.user_id, &merchant_id, session).await?;
    tracing::info!(user_id = %account.user_id, "signed in");
    token_response(issuer, caller, &account.user_id, &session_id, &refresh, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::password_hash::PasswordHasher;
    use argon2::password_hash::PasswordHash;

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_costs() {
        // If it did not parse, verify would return at once and an unknown phone would answer faster.
        let parsed = PasswordHash::new(DUMMY_HASH).expect("a valid PHC string");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let params = argon2::Params::try_from(&parsed).unwrap();
        assert_eq!((params.m_cost(), params.t_cost(), params.p_cost()), (19_456, 2, 1));
        assert_eq!(params.output_len(), Some(32));
    }

    #[tokio::test]
    async fn nothing_verifies_against_the_dummy_hash() {
        let hasher = PasswordHasher::default();
        for guess in ["", "password", "1234Qwerty"] {
            assert!(!hasher.verify(&Password::new(guess.into()).unwrap(), DUMMY_HASH).await.unwrap());
        }
    }
}
