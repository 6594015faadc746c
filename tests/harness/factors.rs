//! An account given a second factor as the enrolment will leave it (the enrolment endpoints are
//! the next release): an authenticator's secret and a recovery set's key sealed by the same sealer
//! (KMS on moto), written to the account item.

use aws_sdk_dynamodb::types::AttributeValue;
use registration::factors::recovery::new_set;
use registration::factors::totp::{Authenticator, TotpSecret};
use registration::ports::Clock;

use crate::{MERCHANT, TestEnv};

/// What the owner of the account holds: the authenticator app, and the recovery codes as shown.
pub struct Enrolled {
    pub authenticator: Authenticator,
    pub recovery_codes: Vec<String>,
}

impl TestEnv {
    /// Gives the account `user_id` (of the default partner) an authenticator labelled `label` and
    /// ten recovery codes.
    pub async fn enrol_factors(&self, user_id: &str, label: &str) -> Enrolled {
        let secret = TotpSecret::generate();
        let sealed = self.app.sealer.seal(user_id, secret.expose()).await.expect("the secret sealed");
        let set = new_set(MERCHANT, user_id);
        let sealed_key = self.app.sealer.seal(user_id, set.key.expose()).await.expect("the set key sealed");
        let now = self.clock.now();
        self.dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("USER#{user_id}")))
            .key("sk", AttributeValue::S("ACCOUNT".into()))
            .update_expression(
                "SET totpId = :id, totpSecret = :secret, totpCreatedAt = :now, recoverySetId = :set, \
                 recoveryKey = :key, recoveryCodes = :codes, recoveryCreatedAt = :now",
            )
            .expression_attribute_values(":id", AttributeValue::S("factor-1".into()))
            .expression_attribute_values(":secret", AttributeValue::S(sealed))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":set", AttributeValue::S(set.set_id.clone()))
            .expression_attribute_values(":key", AttributeValue::S(sealed_key))
            .expression_attribute_values(":codes", AttributeValue::Ss(set.sealed.clone()))
            .send()
            .await
            .expect("the factors written to the account item");
        Enrolled {
            authenticator: Authenticator::new(&secret, "Acme Wallet", label).expect("an authenticator"),
            recovery_codes: set.shown.iter().map(|c| c.to_string()).collect(),
        }
    }
}
