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

pub async fn handle(app: &App, verifier: &AccessTokenVerifier, req: Request) -> Result<Response<Body>, Infallible> {
    finish("profile-update", update(app, verifier, &req).await)
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
        match app.store.update_personal_details(&account.user_id, &changes, kyc, account.profile_version).await {
            Ok(()) => Ok(Attempt::Done(())),
            Err(StoreError::Conflict) => Ok(Attempt::Raced),
            Err(other) => Err(other.into()),
        }
    })
    .await?;
    Ok(no_content())
}
