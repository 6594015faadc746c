//! Sign-in with a phone or a confirmed email address and a password (`grant_type=password`). An
//! unknown username costs the same reads and the same Argon2 verify as a known one and gets the same
//! answer as a wrong password; a pending (never confirmed) account cannot sign in. Each check is
//! reserved under a back-off per phone or address and per account (`password_check`) that always
//! ends; a session is made only if the password is still the one checked.

use lambda_http::{Body, Response};

use super::mfa;
use super::new_device::DeviceNotice;
use super::session_tokens::{access_token_for, new_session, token_response};
use crate::App;
use crate::admission::Caller;
use crate::domain::email::EmailAddress;
use crate::domain::password::Password;
use crate::domain::phone::PhoneNumber;
use crate::error::ApiError;
use crate::factors::assurance::Assurance;
use crate::handlers::NO_USER;
use crate::handlers::password_check::{no_account_streak, reserve_check};
use crate::mail::Mailer;
use crate::ports::{AccountStatus, EmailKey, OwnedIdentifier, PhoneKey, StoreError};
use crate::security::password_hash::UNUSABLE_HASH;
use crate::security::tokens::TokenIssuer;

fn wrong_credentials() -> ApiError {
    ApiError::invalid_grant("The username or password is not correct.")
}

pub(super) async fn password_grant(
    app: &App,
    issuer: &TokenIssuer,
    mailer: &Mailer,
    caller: &Caller,
    username: &str,
    password: String,
) -> Result<Response<Body>, ApiError> {
    let merchant_id = caller.merchant_id().to_owned();
    let identifier = if username.contains('@') {
        let email = EmailAddress::parse(username)
            .map_err(|_| ApiError::invalid_request("The username must be a phone number or an email address."))?;
        OwnedIdentifier::Email(EmailKey { merchant_id: merchant_id.clone(), email })
    } else {
        let phone = PhoneNumber::parse(username)
            .map_err(|_| ApiError::invalid_request("The username must be a phone number in international format."))?;
        OwnedIdentifier::Phone(PhoneKey { merchant_id: merchant_id.clone(), phone })
    };
    let key = identifier.as_ref();
    // Longer than any password can be: it cannot match.
    let password = Password::new(password).map_err(|_| wrong_credentials())?;
    let now = app.clock.now();

    // One read to find the account, whichever the username: both kinds cost the same.
    let owner = match &identifier {
        OwnedIdentifier::Phone(phone) => {
            app.store.phone_claim(phone).await?.filter(|claim| claim.is_live(now)).map(|claim| claim.user_id)
        }
        OwnedIdentifier::Email(email) => app.store.email_owner(&email.merchant_id, &email.email).await?,
    };
    let account = app.store.account(owner.as_deref().unwrap_or(NO_USER)).await?;
    let streak_owner = match &account {
        Some(account) => account.user_id.clone(),
        None => no_account_streak(key),
    };
    let check = reserve_check(&*app.store, &*app.clock, key, &streak_owner).await?;
    let hash = account.as_ref().map_or(UNUSABLE_HASH, |account| account.password_hash.as_str());
    let matches = app.hasher.verify(&password, hash).await?;
    let Some(account) =
        account.filter(|a| matches && a.status == AccountStatus::Active && a.merchant_id == merchant_id)
    else {
        // Already counted when the check was reserved.
        return Err(wrong_credentials());
    };
    if account.factors.has_second_factor() {
        // Half a sign-in: the streak stays as it was until the second factor completes it.
        check.taken_back(&*app.store).await?;
        return Err(mfa::open_challenge(app, caller, &account, now).await?);
    }
    check.succeeded(&*app.store).await?;
    let notice =
        DeviceNotice::prepare(app, &caller.partner, &account.user_id, caller.headers.fingerprint.as_deref(), now).await;
    let assurance = Assurance::password(now);
    let (refresh, session) =
        new_session(caller.headers.fingerprint.clone(), account.credential_version, assurance, now);
    let session_id = session.session_id.clone();
    let started = match access_token_for(issuer, caller, &account.user_id, &session_id, &session.assurance, now).await {
        Ok(access_token) => app
            .store
            .start_session(&account.user_id, &merchant_id, session, &account.password_hash)
            .await
            .map(|()| access_token)
            // The password changed after it was checked: it is no longer the right one.
            .map_err(|err| match err {
                StoreError::Conflict => wrong_credentials(),
                other => other.into(),
            }),
        Err(err) => Err(err),
    };
    let access_token = match started {
        Ok(access_token) => access_token,
        Err(err) => {
            notice.abandon(app, &account.user_id).await;
            return Err(err);
        }
    };
    tracing::info!(user_id = %account.user_id, "signed in");
    notice.send(app, mailer, &caller.partner, &account, now).await;
    Ok(token_response(access_token, caller, &account.user_id, &refresh))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::password_hash::PasswordHasher;
    const DUMMY_HASH: &str = UNUSABLE_HASH;
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
