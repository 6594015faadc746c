//! `grant_type=step_up`: a signed-in user proves both elements again inside the same session, so
//! an operation that asked for a recent `aal2` (RFC 9470; `factors::step_up`) can be asked again.
//! The request carries the session's `refresh_token`, the `password` and one of `otp` or
//! `recovery_code`; the answer is a new token pair of the same session, at `aal2` with `auth_time`
//! now, and the presented refresh token counts as rotated. The raised level is carried by the new
//! refresh token's chain, not the session: a sibling chain (a copy of a token used inside the
//! rotation grace) keeps what it had.
//!
//! Both elements, not the code alone: the authenticator app is usually on the phone that holds the
//! session, so a code on top of a stolen session would be one factor (possession) twice. Wrong
//! password and wrong code answer alike, and every try counts in the sign-in back-off of the
//! account and its identifier, as a sign-in's do. The code or step is spent and the token rotated
//! into the raised successor in one transaction, so of parallel step-ups with one code exactly one
//! succeeds. A recovery code used is told to the owner.
//!
//! An account without a factor steps up with `sms_code`, a code sent to its confirmed phone by
//! `POST /v2/customer/step-up/code` (`handlers::step_up_code`): the second element of its first
//! enrolment (`factors::step_up`). The code is deleted in the same transaction, which also holds
//! only while the account still has no factor. An account whose factor is codes by SMS steps up
//! the same way, with the transaction holding while that factor is there.

use lambda_http::{Body, Response};

use super::refresh::{Presented, REFRESH_GRACE_SECS, presented_session, still_rotatable};
use super::second_element::{self, SecondElement};
use super::session_tokens::{access_token_for, token_response};
use crate::App;
use crate::admission::Caller;
use crate::domain::password::Password;
use crate::error::ApiError;
use crate::factors::assurance::{Assurance, Method};
use crate::handlers::password_check::reserve_check;
use crate::handlers::race_backoff;
use crate::mail::Mailer;
use crate::ports::{Rotation, StepUp, StoreError};
use crate::security::tokens::{RefreshToken, TokenIssuer};

/// Step-ups that keep meeting transactions in flight (not a spent code) before a 503.
const STEP_UP_TRIES: u64 = 3;

fn invalid() -> ApiError {
    ApiError::invalid_grant("The password or the code is not correct.")
}

pub(super) async fn step_up_grant(
    app: &App,
    issuer: &TokenIssuer,
    mailer: &Mailer,
    caller: &Caller,
    refresh_token: String,
    password: String,
    element: SecondElement,
) -> Result<Response<Body>, ApiError> {
    let now = app.clock.now();
    let presented = presented_session(app, caller, refresh_token, now).await?;
    let account = &presented.account;
    // An account with a factor steps up with it (its SMS factor's code included); one without, by a
    // code to its confirmed phone (never the other way round: on an authenticator's account the
    // phone would let a SIM swap stand in).
    let phone = match (&element, account.factors.has_second_factor(), &account.factors.sms) {
        (SecondElement::PhoneCode(_), false, _) => {
            let phone = account.confirmed_phone_key().ok_or_else(|| {
                ApiError::invalid_request("This account has no confirmed phone to step up with: add one first.")
            })?;
            // The code endpoint refuses a new phone; a phone moved since the code went out took
            // the code with it. Checked again all the same: the rule is the grant's to keep.
            if account.phone_settled(now).is_err() {
                return Err(ApiError::invalid_request("This account's phone is too new to step up with."));
            }
            Some(phone)
        }
        (SecondElement::PhoneCode(_), true, Some(_)) => Some(account.confirmed_phone_key().ok_or_else(|| {
            ApiError::Internal(format!("account {} has an SMS factor and no phone", account.user_id))
        })?),
        (SecondElement::PhoneCode(_), true, None) => {
            return Err(ApiError::invalid_request(
                "This account steps up with its authenticator app or a recovery code, not a code by SMS.",
            ));
        }
        (_, false, _) => {
            return Err(ApiError::invalid_request(
                "This account has no second factor yet: step up with a code sent to its phone (sms_code).",
            ));
        }
        (_, true, _) => None,
    };
    // Longer than any password can be: it cannot match.
    let password = Password::new(password).map_err(|_| invalid())?;
    let identifier = account
        .sign_in_identifier()
        .ok_or_else(|| ApiError::Internal(format!("account {} has neither phone nor email", account.user_id)))?;
    let opened = second_element::open(app, account, &element).await?;
    let check = reserve_check(&*app.store, &*app.clock, identifier.as_ref(), &account.user_id).await?;
    let matches = match app.hasher.verify(&password, &account.password_hash).await {
        Ok(matches) => matches,
        Err(err) => {
            if let Err(undo) = check.taken_back(&*app.store).await {
                tracing::warn!(error = %undo, "a failed try's count not taken back");
            }
            return Err(err);
        }
    };
    // A code is checked only behind the right password: it is the code's owner who gets it wrong
    // (and a thief with the session alone cannot spend the attempts of the owner's code).
    let phone_code = match (&element, &phone) {
        (SecondElement::PhoneCode(typed), Some(phone)) if matches => {
            match second_element::check_phone_code(app, account, phone, typed, now).await {
                Ok(stored) => stored,
                Err(err) => {
                    if let Err(undo) = check.taken_back(&*app.store).await {
                        tracing::warn!(error = %undo, "a failed try's count not taken back");
                    }
                    return Err(err);
                }
            }
        }
        _ => None,
    };
    let proof = match (&phone, &phone_code) {
        (Some(phone), Some(stored)) => {
            let sms_factor = account.factors.sms.as_ref().map(|sms| sms.factor_id.as_str());
            Some((crate::ports::MfaProof::PhoneCode { phone, code_id: &stored.code_id, sms_factor }, Method::Sms))
        }
        (Some(_), None) => None,
        (None, _) if matches => second_element::check(account, &element, &opened, now),
        (None, _) => None,
    };
    // Already counted when the check was reserved; which element was wrong is not said.
    let Some((proof, method)) = proof else {
        if matches {
            second_element::count_if_wrong_code(app, mailer, &caller.partner, account, &element, now).await;
        }
        return Err(invalid());
    };
    match raise(app, issuer, caller, &presented, proof, method, now).await {
        Ok(response) => {
            if let Err(err) = check.succeeded(&*app.store).await {
                tracing::warn!(error = %err, "sign-in streaks not cleared after a step-up");
            }
            tracing::info!(user_id = %account.user_id, method = method.as_str(), "session stepped up");
            second_element::tell_if_recovery(app, mailer, &caller.partner, account, method, now).await;
            Ok(response)
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

/// The session raised to what this ceremony proved, in one transaction with the proof spent and
/// the refresh token rotated.
async fn raise(
    app: &App,
    issuer: &TokenIssuer,
    caller: &Caller,
    presented: &Presented,
    proof: crate::ports::MfaProof<'_>,
    method: Method,
    now: i64,
) -> Result<Response<Body>, ApiError> {
    let Presented { hash, record, session, account } = presented;
    let assurance = Assurance::proved(&[Method::Pwd, method], now);
    let access_token = access_token_for(issuer, caller, &record.user_id, &record.session_id, &assurance, now).await?;
    for round in 0..STEP_UP_TRIES {
        if round > 0 {
            race_backoff(round).await;
        }
        let next = RefreshToken::generate();
        let rotation = Rotation {
            presented_hash: hash,
            user_id: &record.user_id,
            merchant_id: &record.merchant_id,
            session_id: &record.session_id,
            new_hash: next.digest(),
            now,
            rotated_not_before: now - REFRESH_GRACE_SECS,
            expires_at: session.expires_at,
            assurance: &assurance,
        };
        let step_up = StepUp { rotation, checked_hash: &account.password_hash, proof };
        match app.store.step_up_session(step_up).await {
            Ok(()) => return Ok(token_response(access_token, caller, &record.user_id, &next)),
            // Spent meanwhile (a parallel step-up or sign-in used the code), the password changed,
            // the session ended or its token was rotated past the grace: this try raises nothing.
            // Otherwise it met a transaction in flight, and tries again.
            Err(StoreError::Conflict) => {
                if !(still_rotatable(app, hash, record, now).await?
                    && second_element::still_spendable(app, account, proof).await?)
                {
                    return Err(invalid());
                }
            }
            Err(other) => return Err(other.into()),
        }
    }
    tracing::warn!(rounds = STEP_UP_TRIES, "step-up kept meeting transactions in flight");
    Err(ApiError::Unavailable)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use lambda_http::Request;
    use serde_json::{Value, json};

    use super::super::mfa::tests::{PASSWORD, PHONE, challenge, claims, grant, protected, with_code};
    use crate::handlers::{password_change, session_end};
    use crate::testing::{Reply, TestApp, request};

    fn refresh_token(reply: &Reply) -> String {
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply.body["refresh_token"].as_str().unwrap().to_owned()
    }

    async fn step_up(t: &TestApp, refresh: &str, password: &str, second: (&str, &str)) -> Reply {
        let mut body = json!({ "grant_type": "step_up", "refresh_token": refresh, "password": password });
        body[second.0] = json!(second.1);
        grant(t, body).await
    }

    fn bearer(tokens: &Reply) -> String {
        format!("Bearer {}", tokens.body["access_token"].as_str().unwrap())
    }

    fn answered(result: Result<lambda_http::Response<lambda_http::Body>, std::convert::Infallible>) -> Reply {
        match result {
            Ok(response) => Reply::from(response),
            Err(never) => match never {},
        }
    }

    fn change_request(tokens: &Reply, new_password: &str) -> Request {
        let body = json!({ "oldPassword": PASSWORD, "newPassword": new_password });
        request(include_str!("../../../../events/password-change.json"), body, &[("authorization", &bearer(tokens))])
    }

    async fn change_password(t: &TestApp, tokens: &Reply, new_password: &str) -> Reply {
        answered(password_change::handle(&t.app, &t.verifier, &t.mailer, change_request(tokens, new_password)).await)
    }

    #[tokio::test]
    async fn a_stale_session_cannot_change_the_password_until_it_steps_up_in_place() {
        // GIVEN an account with an authenticator, signed in with both elements ten minutes ago
        let t = TestApp::new().await;
        let (app, _) = protected(&t).await;
        let signed_in = with_code(&t, &challenge(&t).await, &app.code_at(t.app.clock.now())).await;
        t.clock.advance(600);
        let refreshed = t.refresh(&refresh_token(&signed_in)).await;
        // WHEN it changes the password with a fresh access token of that session
        let refused = change_password(&t, &refreshed, "Brand-new-pass-61").await;
        // THEN it is asked for a recent aal2 (RFC 9470), and nothing changed
        assert_eq!((refused.status, &refused.body["error"]), (401, &json!("INSUFFICIENT_USER_AUTHENTICATION")));
        assert_eq!(refused.body["data"], json!({ "acrValues": "aal2", "maxAge": 300 }));
        let challenge_header = refused.www_authenticate.unwrap();
        assert!(
            challenge_header.starts_with(r#"Bearer error="insufficient_user_authentication""#),
            "{challenge_header}"
        );
        assert!(challenge_header.contains(r#"acr_values="aal2""#) && challenge_header.contains(r#"max_age="300""#));
        // AND the step-up with the password and a new code raises the same session, authenticated now
        let now = t.app.clock.now();
        let stepped = step_up(&t, &refresh_token(&refreshed), PASSWORD, ("otp", &app.code_at(now))).await;
        assert_eq!(stepped.status, 200, "{:?}", stepped.body);
        let (before, after) = (claims(&refreshed), claims(&stepped));
        assert_eq!(after["sid"], before["sid"]);
        assert_eq!(
            (&after["acr"], &after["amr"], &after["auth_time"]),
            (&json!("aal2"), &json!(["pwd", "otp", "mfa"]), &json!(now))
        );
        // AND the request asked again succeeds; the session's refresh keeps the new level and time
        assert_eq!(change_password(&t, &stepped, "Brand-new-pass-61").await.status, 200);
        t.clock.advance(60);
        let later = t.refresh(&refresh_token(&stepped)).await;
        assert_eq!((&claims(&later)["acr"], &claims(&later)["auth_time"]), (&json!("aal2"), &json!(now)));
    }

    #[tokio::test]
    async fn a_step_up_raises_only_its_own_token_chain_not_a_copy_used_inside_the_grace() {
        // GIVEN a session signed in with both elements ten minutes ago, whose refresh token was
        // used twice inside the grace: by the app, and by a copy (a thief's chain of the session)
        let t = TestApp::new().await;
        let (app, _) = protected(&t).await;
        let signed_in = with_code(&t, &challenge(&t).await, &app.code_at(t.app.clock.now())).await;
        let signed_in_at = crate::ports::Clock::now(&*t.clock);
        t.clock.advance(600);
        let first = refresh_token(&signed_in);
        let owners = t.refresh(&first).await;
        let copys = t.refresh(&first).await;
        // WHEN the owner steps up with the app's chain
        let code = app.code_at(t.app.clock.now());
        assert_eq!(step_up(&t, &refresh_token(&owners), PASSWORD, ("otp", &code)).await.status, 200);
        // THEN the copy's chain keeps what it had: its next token is as old as the sign-in, and
        // cannot change the password
        let copy_next = t.refresh(&refresh_token(&copys)).await;
        assert_eq!(claims(&copy_next)["auth_time"], json!(signed_in_at));
        let refused = change_password(&t, &copy_next, "Brand-new-pass-63").await;
        assert_eq!((refused.status, &refused.body["error"]), (401, &json!("INSUFFICIENT_USER_AUTHENTICATION")));
    }

    #[tokio::test]
    async fn a_wrong_password_or_a_wrong_code_answer_alike_and_count_in_the_sign_in_back_off() {
        let t = TestApp::new().await;
        let (app, _) = protected(&t).await;
        let signed_in = with_code(&t, &challenge(&t).await, &app.code_at(t.app.clock.now())).await;
        let refresh = refresh_token(&signed_in);
        let right_code = app.code_at(t.app.clock.now() + 30);
        let wrong_password = step_up(&t, &refresh, "Not-the-password-1", ("otp", &right_code)).await;
        let wrong_code = step_up(&t, &refresh, PASSWORD, ("otp", "000000")).await;
        assert_eq!((wrong_password.status, &wrong_password.body), (wrong_code.status, &wrong_code.body));
        assert_eq!(wrong_code.body["error"], "invalid_grant");
        for _ in 0..3 {
            assert_eq!(step_up(&t, &refresh, PASSWORD, ("recovery_code", "AAAAA-BBBBB")).await.status, 400);
        }
        // the sixth try is held back, the right one too, and so is a sign-in
        let blocked = step_up(&t, &refresh, PASSWORD, ("otp", &right_code)).await;
        assert_eq!(blocked.status, 429, "{:?}", blocked.body);
        assert_eq!(t.sign_in(PHONE, PASSWORD).await.status, 429);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_step_ups_with_one_recovery_code_raise_one_session_and_spend_the_code_once() {
        let t = Arc::new(TestApp::new().await);
        let (app, codes) = protected(&t).await;
        let signed_in = with_code(&t, &challenge(&t).await, &app.code_at(t.app.clock.now())).await;
        let refresh = refresh_token(&signed_in);
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (t, refresh, code) = (Arc::clone(&t), refresh.clone(), codes[0].clone());
                tokio::spawn(async move { step_up(&t, &refresh, PASSWORD, ("recovery_code", &code)).await.status })
            })
            .collect();
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400, 400, 400]);
        // the code is gone for a sign-in too
        let again =
            grant(&t, json!({ "grant_type": "mfa", "mfa_token": challenge(&t).await, "recovery_code": codes[0] }))
                .await;
        assert_eq!(again.body["error"], "invalid_grant");
    }

    #[tokio::test]
    async fn an_account_without_a_factor_has_nothing_to_step_up_with_and_is_not_asked_to() {
        // GIVEN a password-only account signed in an hour ago
        let t = TestApp::new().await;
        let tokens = t.registered("+447871000062", PASSWORD).await;
        t.clock.advance(3600);
        // WHEN it asks to step up
        let asked = step_up(&t, &refresh_token(&tokens), PASSWORD, ("otp", "123456")).await;
        // THEN it is told there is nothing to step up with
        assert_eq!((asked.status, &asked.body["error"]), (400, &json!("invalid_request")));
        // AND its password change is not guarded beyond the old password
        let refreshed = t.refresh(&refresh_token(&tokens)).await;
        let body = json!({ "oldPassword": PASSWORD, "newPassword": "Brand-new-pass-62" });
        let req = request(
            include_str!("../../../../events/password-change.json"),
            body,
            &[("authorization", &bearer(&refreshed))],
        );
        assert_eq!(answered(password_change::handle(&t.app, &t.verifier, &t.mailer, req).await).status, 200);
    }

    #[tokio::test]
    async fn ending_another_session_needs_the_step_up_and_ending_ones_own_does_not() {
        let t = TestApp::new().await;
        let (app, _) = protected(&t).await;
        let other = with_code(&t, &challenge(&t).await, &app.code_at(t.app.clock.now())).await;
        t.clock.advance(30);
        let mine = with_code(&t, &challenge(&t).await, &app.code_at(t.app.clock.now())).await;
        t.clock.advance(600);
        let end = |tokens: &Reply, sid: &Value| {
            let path = format!("/v2/customer/sessions/{}", sid.as_str().unwrap());
            let mut event: Value = serde_json::from_str(include_str!("../../../../events/session-end.json")).unwrap();
            event["rawPath"] = json!(path);
            event["requestContext"]["http"]["path"] = json!(path);
            event["pathParameters"] = json!({ "id": sid });
            request(&event.to_string(), Value::Null, &[("authorization", &bearer(tokens))])
        };
        let refused = answered(session_end::handle(&t.app, &t.verifier, end(&mine, &claims(&other)["sid"])).await);
        assert_eq!(refused.status, 401, "{:?}", refused.body);
        assert_eq!(refused.body["error"], "INSUFFICIENT_USER_AUTHENTICATION");
        let own = answered(session_end::handle(&t.app, &t.verifier, end(&mine, &claims(&mine)["sid"])).await);
        assert_eq!(own.status, 204, "{:?}", own.body);
    }
}
