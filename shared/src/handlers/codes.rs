//! Checking a one-time code, the same way for every purpose: live, not expired, an attempt spent
//! before comparing (so parallel guessing never gets more than five tries), then a constant-time
//! comparison of MACs. Consuming the code is left to the caller's transaction.

use super::race_backoff;
use crate::error::ApiError;
use crate::ports::{Codes, Identifier, StoreError, StoredCode};
use crate::security::code::{CodeBinding, CodeMac, CodePurpose, ConfirmationCode};

/// `for_user`: only that user's code may be tried (a phone being added by a signed-in user), so
/// nobody else can spend its attempts.
pub(super) async fn check_code(
    codes: &dyn Codes,
    mac: &CodeMac,
    who: Identifier<'_>,
    purpose: CodePurpose,
    code: &ConfirmationCode,
    for_user: Option<&str>,
    now: i64,
) -> Result<StoredCode, ApiError> {
    let stored = codes.code(who, purpose).await?.ok_or(ApiError::CodeNoLongerValid)?;
    if stored.expires_at <= now || for_user.is_some_and(|user| user != stored.user_id) {
        return Err(ApiError::CodeNoLongerValid);
    }
    let attempts_remaining =
        codes.spend_code_attempt(who, purpose, &stored.code_id, now).await?.ok_or(ApiError::CodeNoLongerValid)?;
    let binding =
        CodeBinding { purpose, merchant: who.merchant_id(), recipient: who.address(), code_id: &stored.code_id };
    if !mac.matches(&binding, code, &stored.mac) {
        return Err(ApiError::CodeMismatch { attempts_remaining });
    }
    Ok(stored)
}

/// Tries at a consuming transaction that concurrent transactions keep cancelling.
const CONSUME_TRIES: u64 = 4;

/// Runs `consume`, a transaction that consumes the code `code_id`, until it commits. A cancelled
/// transaction means the code was used only if the code is gone: concurrent transactions can cancel
/// each other (DynamoDB's TransactionConflict), and then it is tried again after a short wait.
pub(super) async fn consume_code<T, F, Fut>(
    codes: &dyn Codes,
    who: Identifier<'_>,
    purpose: CodePurpose,
    code_id: &str,
    mut consume: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    for round in 1..=CONSUME_TRIES {
        match consume().await {
            Ok(value) => return Ok(value),
            Err(StoreError::Conflict) => {
                let unused = codes.code(who, purpose).await?.is_some_and(|c| c.code_id == code_id);
                if !unused {
                    return Err(ApiError::CodeNoLongerValid);
                }
                race_backoff(round).await;
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::CodeNoLongerValid)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::handlers::SMS_CODE_TTL_SECS;
    use crate::testing::TestApp;

    const PHONE: &str = "+447871000020";

    fn wrong(code: &str) -> String {
        format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
    }

    #[tokio::test]
    async fn five_wrong_codes_count_down_and_then_even_the_right_one_is_dead() {
        let t = TestApp::new().await;
        assert_eq!(t.signup(PHONE, "Codes-pass-20").await.status, 200);
        let code = t.latest_code(PHONE);
        for left in (0..5).rev() {
            let answer = t.confirm(PHONE, &wrong(&code)).await;
            assert_eq!(
                (answer.body["error"].clone(), answer.body["data"]["attemptsRemaining"].clone()),
                ("CODE_INVALID".into(), left.into())
            );
        }
        assert_eq!(t.confirm(PHONE, &code).await.body["error"], "CODE_EXPIRED");
    }

    #[tokio::test]
    async fn a_code_lives_five_minutes_and_works_once() {
        let t = TestApp::new().await;
        t.signup(PHONE, "Codes-pass-20").await;
        let code = t.latest_code(PHONE);
        t.clock.advance(SMS_CODE_TTL_SECS);
        assert_eq!(t.confirm(PHONE, &code).await.body["error"], "CODE_EXPIRED");
        // The cooldown (60 s) is long over: a new code, which works once.
        t.signup(PHONE, "Codes-pass-20").await;
        let code = t.latest_code(PHONE);
        assert_eq!(t.confirm(PHONE, &code).await.status, 200);
        assert_eq!(t.confirm(PHONE, &code).await.body["error"], "CODE_EXPIRED");
    }

    #[tokio::test]
    async fn a_taken_number_gets_a_decoy_that_answers_like_a_code() {
        // GIVEN an account, and a second signup for its number
        let t = TestApp::new().await;
        t.registered(PHONE, "Codes-pass-20").await;
        t.clock.advance(61);
        assert_eq!(t.signup(PHONE, "Someone-else-21").await.status, 200);
        // THEN its owner got a notice, not a code, and guesses count down as for a real code
        assert!(t.sms.to(PHONE).last().unwrap().starts_with("Someone tried to sign up"));
        for left in (0..5).rev() {
            let answer = t.confirm(PHONE, "000000").await;
            assert_eq!(answer.body["data"]["attemptsRemaining"], left);
        }
        assert_eq!(t.confirm(PHONE, "000000").await.body["error"], "CODE_EXPIRED");
    }
}
