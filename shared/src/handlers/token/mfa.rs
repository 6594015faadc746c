//! The second step of a sign-in on an account with a second factor. A right password there answers
//! 403 `mfa_required` with an `mfa_token` (`open_challenge`) instead of tokens; `grant_type=mfa`
//! with that token and an `otp` (the authenticator app's code), an `sms_code` (the SMS factor's
//! code, sent when the app asks `POST /v2/mobile/sign-in/code` with the token) or a
//! `recovery_code` completes it (`mfa_grant`) with a session at `aal2`.
//!
//! The token is 256 random bits, stored only as its SHA-256, and says nothing of the account; it is
//! bound to the partner, the password checked and the credential version, lives five minutes and
//! allows five codes. A wrong code, an unknown, expired or spent token and another partner's token
//! all get the same `invalid_grant`, and every code checked counts in the sign-in back-off of the
//! account and its identifier, like a password: five wrong in a row (codes or passwords) block, and
//! a right password in between does not start the count again. The completion deletes the
//! challenge, spends the TOTP step or the recovery code and starts the session in one transaction,
//! so of parallel completions exactly one succeeds and nothing is spent twice. A completion from a
//! new device tells the owner, as a password sign-in does (`new_device`).

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::{Body, Response};

use super::new_device::DeviceNotice;
use super::second_element::{self, Opened, SecondElement};
use super::session_tokens::{access_token_for, new_session, token_response};
use crate::App;
use crate::admission::Caller;
use crate::error::ApiError;
use crate::factors::assurance::{Assurance, Method};
use crate::handlers::password_check::reserve_check;
use crate::handlers::race_backoff;
use crate::mail::Mailer;
use crate::ports::{AccountRecord, AccountStatus, MfaChallenge, MfaCompletion, MfaProof, StoreError};
use crate::security::random;
use crate::security::tokens::TokenIssuer;

/// How long a challenge waits for its second factor.
pub(super) const CHALLENGE_TTL_SECS: i64 = 300;
/// Codes one challenge allows (the back-off usually stops a guesser first).
const CHALLENGE_ATTEMPTS: u32 = 5;

fn invalid() -> ApiError {
    ApiError::invalid_grant("The sign-in has expired or the code is not correct.")
}

/// The key a challenge is stored under: the SHA-256 of its `mfa_token`, in hex.
pub(in crate::handlers) fn token_digest(token: &str) -> String {
    random::hex(digest::digest(&digest::SHA256, token.as_bytes()).as_ref())
}

/// Opens a challenge for `account`, whose password was just checked: the `mfa_required` answer.
pub(super) async fn open_challenge(
    app: &App,
    caller: &Caller,
    account: &AccountRecord,
    now: i64,
) -> Result<ApiError, ApiError> {
    let token = URL_SAFE_NO_PAD.encode(random::bytes::<32>());
    let challenge = MfaChallenge {
        digest: token_digest(&token),
        user_id: account.user_id.clone(),
        merchant_id: caller.merchant_id().to_owned(),
        fingerprint: caller.headers.fingerprint.clone(),
        credential_version: account.credential_version,
        expires_at: now + CHALLENGE_TTL_SECS,
        attempts_left: CHALLENGE_ATTEMPTS,
    };
    match app.store.start_mfa_challenge(&challenge, &account.password_hash).await {
        Ok(()) => {}
        // The password changed (or the account went) after it was checked.
        Err(StoreError::Conflict) => return Err(ApiError::invalid_grant("The username or password is not correct.")),
        Err(other) => return Err(other.into()),
    }
    tracing::info!(user_id = %account.user_id, "second factor asked for");
    Ok(ApiError::MfaRequired { mfa_token: token, factors: account.factors.offered(), expires_in: CHALLENGE_TTL_SECS })
}

pub(super) async fn mfa_grant(
    app: &App,
    issuer: &TokenIssuer,
    mailer: &Mailer,
    caller: &Caller,
    mfa_token: &str,
    element: SecondElement,
) -> Result<Response<Body>, ApiError> {
    let now = app.clock.now();
    let digest = token_digest(mfa_token);
    let challenge = app.store.mfa_challenge(&digest).await?;
    let Some(challenge) = challenge.filter(|c| c.merchant_id == caller.merchant_id() && c.expires_at > now) else {
        return Err(invalid());
    };
    let account = app.store.account(&challenge.user_id).await?;
    let Some(account) =
        account.filter(|a| a.status == AccountStatus::Active && a.credential_version == challenge.credential_version)
    else {
        return Err(invalid());
    };
    let identifier = account
        .sign_in_identifier()
        .ok_or_else(|| ApiError::Internal(format!("account {} has neither phone nor email", account.user_id)))?;
    // The secret the element is checked with is opened (KMS) before anything is counted: a KMS
    // outage is no wrong code.
    let opened = second_element::open(app, &account, &element).await?;
    // Counted before the code is compared, in the same streaks as passwords.
    let check = reserve_check(&*app.store, &*app.clock, identifier.as_ref(), &account.user_id).await?;
    let attempt = Attempt { app, issuer, mailer, caller, challenge: &challenge, account: &account, now };
    match attempt.complete(&digest, &element, &opened).await {
        Ok((response, method)) => {
            // The sign-in is done: a streak that cannot be cleared now (a parallel check holds it)
            // must not turn a session already started into an error.
            if let Err(err) = check.succeeded(&*app.store).await {
                tracing::warn!(error = %err, "sign-in streaks not cleared after a completed sign-in");
            }
            response.1.send(app, mailer, &caller.partner, &account, now).await;
            second_element::tell_if_recovery(app, mailer, &caller.partner, &account, method, now).await;
            tracing::info!(user_id = %account.user_id, method = method.as_str(), "signed in with a second factor");
            Ok(response.0)
        }
        // Not the user's doing (KMS, the store): the failure counted for this try is taken back.
        Err(err) if err.status() >= 500 => {
            if let Err(undo) = check.taken_back(&*app.store).await {
                tracing::warn!(error = %undo, "a failed try's count not taken back");
            }
            Err(err)
        }
        Err(err) => Err(err),
    }
}

/// One try at completing a challenge, once it is counted.
struct Attempt<'a> {
    app: &'a App,
    issuer: &'a TokenIssuer,
    mailer: &'a Mailer,
    caller: &'a Caller,
    challenge: &'a MfaChallenge,
    account: &'a AccountRecord,
    now: i64,
}

/// Completions that keep meeting transactions in flight (not a spent code) before a 503.
const COMPLETION_TRIES: u64 = 3;

impl Attempt<'_> {
    /// The proof checked and the session started: the token response, the new-device notice to
    /// send, and the method used.
    async fn complete(
        &self,
        digest: &str,
        element: &SecondElement,
        opened: &Opened,
    ) -> Result<((Response<Body>, DeviceNotice), Method), ApiError> {
        let (app, account, now) = (self.app, self.account, self.now);
        if app.store.spend_mfa_attempt(digest, now).await?.is_none() {
            return Err(invalid());
        }
        // A code by SMS is checked against the store (a try of its own spent first); the others
        // against what `open` opened.
        let phone = account.confirmed_phone_key();
        let phone_code = match (element, &account.factors.sms, &phone) {
            (SecondElement::PhoneCode(typed), Some(_), Some(phone)) => {
                second_element::check_phone_code(app, account, phone, typed, now).await?
            }
            _ => None,
        };
        let proved = match (element, &account.factors.sms, &phone, &phone_code) {
            (SecondElement::PhoneCode(_), Some(sms), Some(phone), Some(stored)) => {
                let proof = MfaProof::PhoneCode { phone, code_id: &stored.code_id, sms_factor: Some(&sms.factor_id) };
                Some((proof, Method::Sms))
            }
            (SecondElement::PhoneCode(_), ..) => None,
            _ => second_element::check(account, element, opened, now),
        };
        let Some((proof, method)) = proved else {
            second_element::count_if_wrong_code(app, self.mailer, &self.caller.partner, account, element, now).await;
            return Err(invalid());
        };
        let assurance = Assurance::proved(&[Method::Pwd, method], now);
        let fingerprint = self.challenge.fingerprint.as_deref();
        let notice = DeviceNotice::prepare(app, &self.caller.partner, &account.user_id, fingerprint, now).await;
        for round in 0..COMPLETION_TRIES {
            if round > 0 {
                race_backoff(round).await;
            }
            let (refresh, session) =
                new_session(self.challenge.fingerprint.clone(), account.credential_version, assurance.clone(), now);
            let session_id = session.session_id.clone();
            let signed =
                access_token_for(self.issuer, self.caller, &account.user_id, &session_id, &assurance, now).await;
            let access_token = match signed {
                Ok(token) => token,
                Err(err) => {
                    notice.abandon(app, &account.user_id).await;
                    return Err(err);
                }
            };
            let completion =
                MfaCompletion { challenge: self.challenge, checked_hash: &account.password_hash, proof, session, now };
            match app.store.complete_mfa_sign_in(completion).await {
                Ok(()) => {
                    let response = token_response(access_token, self.caller, &account.user_id, &refresh);
                    return Ok(((response, notice), method));
                }
                // Spent meanwhile (a parallel completion won, the step or the code was used, the
                // password changed): this try starts nothing and stays counted. Otherwise it met a
                // transaction in flight on one of the items, and tries again.
                Err(StoreError::Conflict) => match self.still_spendable(digest, proof).await {
                    Ok(true) => continue,
                    Ok(false) => {
                        notice.abandon(app, &account.user_id).await;
                        return Err(invalid());
                    }
                    Err(err) => {
                        notice.abandon(app, &account.user_id).await;
                        return Err(err);
                    }
                },
                Err(other) => {
                    notice.abandon(app, &account.user_id).await;
                    return Err(other.into());
                }
            }
        }
        notice.abandon(app, &account.user_id).await;
        tracing::warn!(rounds = COMPLETION_TRIES, "second-factor completion kept meeting transactions in flight");
        Err(ApiError::Unavailable)
    }

    /// Whether the challenge, the proof and the password are still as checked.
    async fn still_spendable(&self, digest: &str, proof: MfaProof<'_>) -> Result<bool, ApiError> {
        let live = self.app.store.mfa_challenge(digest).await?.is_some_and(|c| c.expires_at > self.now);
        Ok(live && second_element::still_spendable(self.app, self.account, proof).await?)
    }
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use serde_json::{Value, json};

    use super::*;
    use crate::factors::recovery::new_set;
    use crate::factors::totp::{Authenticator, TotpSecret};
    use crate::ports::{AccountFactors, RecoverySet, TotpFactor};
    use crate::testing::{MERCHANT, Reply, TestApp, request};

    pub(in crate::handlers::token) const PHONE: &str = "+447871000061";
    pub(in crate::handlers::token) const PASSWORD: &str = "Second-factor-61";

    /// An account with a TOTP factor and recovery codes, as an enrolment would leave it: its
    /// authenticator and the codes shown.
    pub(in crate::handlers::token) async fn protected(t: &TestApp) -> (Authenticator, Vec<String>) {
        t.registered(PHONE, PASSWORD).await;
        let user_id = t.store.account_for_phone(PHONE).await.unwrap();
        let secret = TotpSecret::generate();
        let sealed_secret = t.app.sealer.seal(&user_id, secret.expose()).await.unwrap();
        let set = new_set(MERCHANT, &user_id);
        let sealed_key = t.app.sealer.seal(&user_id, set.key.expose()).await.unwrap();
        let now = t.app.clock.now();
        let factors = AccountFactors {
            totp: Some(TotpFactor {
                factor_id: "f1".into(),
                sealed_secret,
                created_at: now,
                last_used_step: None,
                wrong_codes: 0,
            }),
            recovery: Some(RecoverySet {
                set_id: set.set_id.clone(),
                sealed_key,
                remaining: set.sealed.clone(),
                created_at: now,
            }),
            sms: None,
            pending_totp: None,
            mfa_challenges: 0,
        };
        t.store.set_factors(&user_id, factors).await;
        let shown = set.shown.iter().map(|code| code.to_string()).collect();
        (Authenticator::new(&secret, "registration", "account").unwrap(), shown)
    }

    pub(in crate::handlers::token) async fn grant(t: &TestApp, body: Value) -> Reply {
        let req = request(include_str!("../../../../events/token-password.json"), body, &[]);
        match super::super::handle(&t.app, &t.issuer, &t.mailer, req).await {
            Ok(response) => Reply::from(response),
            Err(never) => match never {},
        }
    }

    /// The `mfa_token` of a sign-in with the right password.
    pub(in crate::handlers::token) async fn challenge(t: &TestApp) -> String {
        let asked = t.sign_in(PHONE, PASSWORD).await;
        assert_eq!((asked.status, &asked.body["error"]), (403, &Value::from("mfa_required")), "{:?}", asked.body);
        asked.body["data"]["mfaToken"].as_str().unwrap().to_owned()
    }

    pub(in crate::handlers::token) async fn with_code(t: &TestApp, token: &str, otp: &str) -> Reply {
        grant(t, json!({ "grant_type": "mfa", "mfa_token": token, "otp": otp })).await
    }

    pub(in crate::handlers::token) fn claims(tokens: &Reply) -> Value {
        let token = tokens.body["access_token"].as_str().unwrap();
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_right_password_asks_for_the_factor_and_the_code_completes_the_sign_in_at_aal2() {
        // GIVEN an account with an authenticator and recovery codes
        let t = TestApp::new().await;
        let (app, _) = protected(&t).await;
        // WHEN it signs in with the right password
        let asked = t.sign_in(PHONE, PASSWORD).await;
        // THEN it gets no tokens, but a token for the second step and the factors it may use
        assert_eq!(asked.status, 403);
        assert!(asked.body.get("access_token").is_none() && asked.body["data"].get("access_token").is_none());
        assert_eq!(asked.body["data"]["factors"], json!(["otp", "recovery_code"]));
        assert_eq!(asked.body["data"]["expiresIn"], 300);
        // AND the code completes it, at aal2, authenticated now
        let token = asked.body["data"]["mfaToken"].as_str().unwrap();
        let now = t.app.clock.now();
        let tokens = with_code(&t, token, &app.code_at(now)).await;
        assert_eq!(tokens.status, 200, "{:?}", tokens.body);
        let claims = claims(&tokens);
        assert_eq!((&claims["acr"], &claims["amr"]), (&json!("aal2"), &json!(["pwd", "otp", "mfa"])));
        assert_eq!(claims["auth_time"], now);
        // AND the token is spent
        assert_eq!(with_code(&t, token, &app.code_at(now)).await.body["error"], "invalid_grant");
    }

    #[tokio::test]
    async fn a_code_is_accepted_once_even_in_a_new_sign_in() {
        let t = TestApp::new().await;
        let (app, _) = protected(&t).await;
        let code = app.code_at(t.app.clock.now());
        assert_eq!(with_code(&t, &challenge(&t).await, &code).await.status, 200);
        let again = with_code(&t, &challenge(&t).await, &code).await;
        assert_eq!((again.status, &again.body["error"]), (400, &json!("invalid_grant")));
    }

    #[tokio::test]
    async fn five_wrong_codes_block_and_a_right_password_between_them_does_not_start_the_count_again() {
        // GIVEN three wrong codes, then the right password again, then two more wrong codes
        let t = TestApp::new().await;
        let (app, _) = protected(&t).await;
        let first = challenge(&t).await;
        for _ in 0..3 {
            assert_eq!(with_code(&t, &first, "000000").await.body["error"], "invalid_grant");
        }
        let second = challenge(&t).await;
        for _ in 0..2 {
            assert_eq!(with_code(&t, &second, "000000").await.body["error"], "invalid_grant");
        }
        // WHEN the right code comes sixth
        let blocked = with_code(&t, &second, &app.code_at(t.app.clock.now())).await;
        // THEN it is held back like a sixth wrong password, and so is the password
        assert_eq!((blocked.status, &blocked.body["data"]["retryAfter"]), (429, &json!(30)));
        assert_eq!(t.sign_in(PHONE, PASSWORD).await.status, 429);
    }

    #[tokio::test]
    async fn a_wrong_code_and_a_dead_token_answer_alike() {
        let t = TestApp::new().await;
        let (app, _) = protected(&t).await;
        let token = challenge(&t).await;
        let wrong = with_code(&t, &token, "123456").await;
        let unknown = with_code(&t, "not-a-token-anyone-was-given", &app.code_at(t.app.clock.now())).await;
        t.clock.advance(301);
        let expired = with_code(&t, &token, &app.code_at(t.app.clock.now())).await;
        for reply in [&wrong, &unknown, &expired] {
            assert_eq!(
                (reply.status, &reply.body["error"], &reply.body["message"]),
                (400, &wrong.body["error"], &wrong.body["message"])
            );
        }
    }

    #[tokio::test]
    async fn a_recovery_code_works_once_and_says_so_in_amr() {
        let t = TestApp::new().await;
        let (_, codes) = protected(&t).await;
        let body = |token: &str| json!({ "grant_type": "mfa", "mfa_token": token, "recovery_code": codes[4] });
        let tokens = grant(&t, body(&challenge(&t).await)).await;
        assert_eq!(tokens.status, 200, "{:?}", tokens.body);
        assert_eq!(claims(&tokens)["amr"], json!(["pwd", "recovery", "mfa"]));
        assert_eq!(grant(&t, body(&challenge(&t).await)).await.body["error"], "invalid_grant");
        let data = t.sign_in(PHONE, PASSWORD).await.body["data"].clone();
        assert_eq!(data["factors"], json!(["otp", "recovery_code"]), "nine codes are left");
    }

    #[tokio::test]
    async fn a_recovery_code_used_is_told_to_the_owner_with_how_many_are_left_and_a_code_is_not() {
        // GIVEN an account with an authenticator and ten recovery codes
        let t = TestApp::new().await;
        let (app, codes) = protected(&t).await;
        let before = t.sms.to(PHONE).len();
        // WHEN it signs in with the app's code, then with a recovery code
        let with_app = with_code(&t, &challenge(&t).await, &app.code_at(t.app.clock.now())).await;
        assert_eq!((with_app.status, t.sms.to(PHONE).len()), (200, before), "an app code is the usual way: no notice");
        let body = json!({ "grant_type": "mfa", "mfa_token": challenge(&t).await, "recovery_code": codes[0] });
        assert_eq!(grant(&t, body).await.status, 200);
        // THEN the owner's phone is told, with the nine codes left, and no code in the text
        let told = t.sms.to(PHONE);
        assert_eq!(told.len(), before + 1, "{told:?}");
        let notice = told.last().unwrap();
        assert!(notice.contains("recovery code") && notice.contains("Unused recovery codes left: 9"), "{notice}");
        assert!(!notice.contains(&codes[0][..5]), "{notice}");
    }

    #[tokio::test]
    async fn the_hundredth_wrong_code_blocks_the_app_until_a_recovery_code_and_tells_the_owner() {
        // GIVEN an account whose authenticator has taken 99 wrong codes since its last success
        let t = TestApp::new().await;
        let (app, codes) = protected(&t).await;
        let user_id = t.store.account_for_phone(PHONE).await.unwrap();
        let mut factors = crate::ports::Directory::account(&*t.store, &user_id).await.unwrap().unwrap().factors;
        factors.totp.as_mut().unwrap().wrong_codes = 99;
        t.store.set_factors(&user_id, factors).await;
        let before = t.sms.to(PHONE).len();
        // WHEN the hundredth wrong code comes
        assert_eq!(with_code(&t, &challenge(&t).await, "000000").await.body["error"], "invalid_grant");
        // THEN the owner is told, and the app's right code is refused like a wrong one
        let told = t.sms.to(PHONE);
        assert_eq!(told.len(), before + 1, "{told:?}");
        assert!(told.last().unwrap().contains("After 100 wrong codes"), "{told:?}");
        let refused = with_code(&t, &challenge(&t).await, &app.code_at(t.app.clock.now())).await;
        assert_eq!((refused.status, &refused.body["error"]), (400, &json!("invalid_grant")));
        // AND a recovery code opens the account and unblocks the app's codes
        let body = json!({ "grant_type": "mfa", "mfa_token": challenge(&t).await, "recovery_code": codes[1] });
        assert_eq!(grant(&t, body).await.status, 200);
        t.clock.advance(30);
        let again = with_code(&t, &challenge(&t).await, &app.code_at(t.app.clock.now())).await;
        assert_eq!(again.status, 200, "{:?}", again.body);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_parallel_completions_with_one_code_exactly_one_signs_in() {
        let t = Arc::new(TestApp::new().await);
        let (app, _) = protected(&t).await;
        let code = app.code_at(t.app.clock.now());
        let tokens: Vec<String> = {
            let mut tokens = Vec::new();
            for _ in 0..4 {
                tokens.push(challenge(&t).await);
            }
            tokens
        };
        let tasks: Vec<_> = tokens
            .into_iter()
            .map(|token| {
                let (t, code) = (t.clone(), code.clone());
                tokio::spawn(async move { with_code(&t, &token, &code).await.status })
            })
            .collect();
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400, 400, 400]);
    }

    #[tokio::test]
    async fn malformed_second_steps_are_invalid_requests() {
        let t = TestApp::new().await;
        protected(&t).await;
        let token = challenge(&t).await;
        for body in [
            json!({ "grant_type": "mfa", "otp": "123456" }),
            json!({ "grant_type": "mfa", "mfa_token": token }),
            json!({ "grant_type": "mfa", "mfa_token": token, "otp": "123456", "recovery_code": "ABCDE-FGHJK" }),
        ] {
            assert_eq!(grant(&t, body).await.body["error"], "invalid_request");
        }
    }

    #[tokio::test]
    async fn a_sign_in_completed_from_a_new_device_tells_the_owner_once() {
        use crate::ports::PartnerRegistry;
        // GIVEN a partner that sends new-device notices, and an account with a factor
        let t = TestApp::new().await;
        let (app, _) = protected(&t).await;
        let mut partner = t.store.partner(MERCHANT).await.unwrap().unwrap();
        let read_at = partner.updated_at;
        partner.new_device_notices = true;
        partner.updated_at += 1;
        t.store.update_partner(&partner, read_at).await.unwrap();
        let notices_before = t.sms.to(PHONE).len();
        // WHEN it signs in with both factors from a device never seen, twice
        for round in 0..2 {
            let body = json!({ "grant_type": "password", "username": PHONE, "password": PASSWORD });
            let req = request(
                include_str!("../../../../events/token-password.json"),
                body,
                &[("x-fingerprint", "new-phone-model")],
            );
            let asked = match super::super::handle(&t.app, &t.issuer, &t.mailer, req).await {
                Ok(response) => Reply::from(response),
                Err(never) => match never {},
            };
            let token = asked.body["data"]["mfaToken"].as_str().unwrap().to_owned();
            t.clock.advance(30);
            let done = with_code(&t, &token, &app.code_at(t.app.clock.now())).await;
            assert_eq!(done.status, 200, "round {round}: {:?}", done.body);
        }
        // THEN the owner was told once, on the confirmed phone
        assert_eq!(t.sms.to(PHONE).len(), notices_before + 1, "{:?}", t.sms.to(PHONE));
    }

    #[tokio::test]
    async fn a_code_typed_as_the_app_shows_it_with_a_space_is_accepted() {
        let t = TestApp::new().await;
        let (app, _) = protected(&t).await;
        let code = app.code_at(t.app.clock.now());
        let spaced = format!("{} {}\n", &code[..3], &code[3..]);
        assert_eq!(with_code(&t, &challenge(&t).await, &spaced).await.status, 200);
    }

    #[tokio::test]
    async fn no_session_starts_on_the_password_alone_once_the_account_has_a_factor() {
        use crate::ports::{Directory, Sessions};
        // GIVEN an account that got a factor after a sign-in read it (the store is what decides)
        let t = TestApp::new().await;
        protected(&t).await;
        let user_id = t.store.account_for_phone(PHONE).await.unwrap();
        let account = t.store.account(&user_id).await.unwrap().unwrap();
        // WHEN a password sign-in that read the account before starts its session
        let (_, session) = super::super::session_tokens::new_session(None, 0, Assurance::password(0), 0);
        let started = t.store.start_session(&user_id, MERCHANT, session, &account.password_hash).await;
        // THEN the store refuses it
        assert!(matches!(started, Err(StoreError::Conflict)), "{started:?}");
    }

    #[tokio::test]
    async fn a_right_password_leaves_no_streak_that_never_expires() {
        use crate::ports::{SigninStreaks, Streak};
        // GIVEN an account with a factor and clean streaks
        let t = TestApp::new().await;
        protected(&t).await;
        let user_id = t.store.account_for_phone(PHONE).await.unwrap();
        // WHEN it gives the right password and never completes the sign-in
        challenge(&t).await;
        // THEN its streak counts nothing, and is forgotten a day on like every streak
        let streak = t.store.signin_backoff(Streak::Account(&user_id)).await.unwrap();
        assert_eq!(streak.failures, 0);
        assert!(streak.forgotten_at > t.app.clock.now(), "{streak:?}");
    }
}
