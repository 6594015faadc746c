//! `PATCH /v2/customer/profile` (bearer): personal details → 204 No Content. Only the fields of
//! `PersonalDetails` can be written; anything else (`kycLevel`, ids, verification flags) is a 400
//! naming the field. Each write is conditional on the profile version, so two concurrent updates
//! never lose each other's fields. The KYC level is recomputed with every change.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use super::signed_in::signed_in;
use super::{Attempt, retry_races};
use crate::App;
use crate::domain::kyc::KycLevel;
use crate::domain::personal_details::{PersonalDetails, civil_date};
use crate::error::ApiError;
use crate::http::request::json_body;
use crate::http::response::{finish, no_content};
use crate::ports::StoreError;
use crate::security::access_token::AccessTokenVerifier;
use crate::webhooks::event::{AccountEvent, EventRecord};

pub async fn handle(app: &App, verifier: &AccessTokenVerifier, req: Request) -> Result<Response<Body>, Infallible> {
    finish("profile-update", &req, update(app, verifier, &req).await)
}

async fn update(app: &App, verifier: &AccessTokenVerifier, req: &Request) -> Result<Response<Body>, ApiError> {
    let (_, principal) = signed_in(app, verifier, req, Method::PATCH).await?;
    let patch: PersonalDetails = json_body(req)?;
    let changes = patch.validated(civil_date(app.clock.now()))?;
    retry_races(|| async {
        let account = app
            .store
            .account(&principal.user_id)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("account gone".into()))?;
        let merged = account.details.merged(&changes);
        let kyc = KycLevel::of(account.phone_confirmed(), account.email.is_some(), &merged);
        let now = app.clock.now();
        let events = EventRecord::after(&account, AccountEvent::kyc_change(&account, kyc), now);
        let version = account.profile_version;
        match app.store.update_personal_details(&account.user_id, &changes, kyc, version, now, &events).await {
            Ok(()) => Ok(Attempt::Done(())),
            Err(StoreError::Conflict) => Ok(Attempt::Raced),
            Err(other) => Err(other.into()),
        }
    })
    .await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use crate::testing::TestApp;

    #[tokio::test]
    async fn kyc_0_needs_the_phone_the_email_and_every_detail() {
        // GIVEN a confirmed phone and complete details
        let t = TestApp::new().await;
        let tokens = t.registered("+447871000030", "Kyc-level-pass-30").await;
        let details = json!({
            "firstName": "Ana", "lastName": "Lima", "birthDate": "1990-04-23", "country": "PT",
            "city": "Porto", "address": "Rua das Flores 12", "postalCode": "4050-262"
        });
        assert_eq!(t.update_profile(&tokens, details).await.status, 204);
        // THEN without a confirmed email the level is still NONE
        assert_eq!(t.profile(&tokens).await.body["kycLevel"], "NONE");
        // WHEN the email is confirmed THEN it is KYC_0
        assert_eq!(t.confirmed_email(&tokens, "ana@example.com").await.status, 200);
        assert_eq!(t.profile(&tokens).await.body["kycLevel"], "KYC_0");
        // AND a client cannot set the level itself
        assert_eq!(t.update_profile(&tokens, json!({ "kycLevel": "KYC_1" })).await.status, 400);
    }
}
