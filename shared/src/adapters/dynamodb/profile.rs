//! Email addresses and personal details on the account item: the writes for adding and confirming
//! an address, and for profile changes, each conditional on the profile version.

use aws_sdk_dynamodb::types::AttributeValue;

use super::items::*;
use super::store::{DynamoAccountStore, Values, key_for_account, values};
use crate::domain::email::EmailAddress;
use crate::domain::kyc::KycLevel;
use crate::domain::personal_details::{FIELDS, PersonalDetails};
use crate::domain::send_limits::SendReservation;
use crate::ports::{AccountRecord, AccountStatus, EmailConfirmation, EmailTokenRecord, StoreError};

/// Reads an account item, with the optional profile attributes.
pub(super) fn account_record(item: &Item) -> Result<AccountRecord, StoreError> {
    let detail = |name: &str| get_opt_s(item, name);
    Ok(AccountRecord {
        user_id: get_s(item, "userId")?,
        merchant_id: get_s(item, "merchantId")?,
        phone: detail("phone"),
        status: get_status(item)?,
        password_hash: get_s(item, "passwordHash")?,
        valid_after: get_opt_n(item, "validAfter")?.unwrap_or(0),
        email: detail("email"),
        pending_email: detail("pendingEmail"),
        pending_email_token: detail("pendingEmailToken"),
        details: PersonalDetails {
            first_name: detail("firstName"),
            last_name: detail("lastName"),
            birth_date: detail("birthDate"),
            country: detail("country"),
            city: detail("city"),
            address: detail("address"),
            postal_code: detail("postalCode"),
        },
        password_history: match item.get("passwordHistory") {
            Some(list) => list
                .as_l()
                .map_err(|_| StoreError::Backend("passwordHistory is not a list".into()))?
                .iter()
                .filter_map(|v| v.as_s().ok().cloned())
                .collect(),
            None => vec![get_s(item, "passwordHash")?],
        },
        profile_version: get_opt_n(item, "profileVersion")?.unwrap_or(0),
        credential_version: get_opt_n(item, "credentialVersion")?.unwrap_or(0),
        kyc_level: match detail("kycLevel").as_deref() {
            Some("KYC_0") => KycLevel::Kyc0,
            _ => KycLevel::None,
        },
    })
}

/// `profileVersion` as it must be for the write to go ahead, and the value it becomes.
pub(super) fn version_condition(expected: u64, vals: &mut Values) -> &'static str {
    vals.insert(":next".to_owned(), n(expected + 1));
    if expected == 0 {
        "attribute_not_exists(profileVersion)"
    } else {
        vals.insert(":expected".to_owned(), n(expected));
        "profileVersion = :expected"
    }
}

impl DynamoAccountStore {
    pub(super) async fn email_owner_of(
        &self,
        merchant_id: &str,
        email: &EmailAddress,
    ) -> Result<Option<String>, StoreError> {
        let claim =
            self.get("GetItem email claim", item_key(email_claim_pk(merchant_id, email.as_str()), CLAIM_SK)).await?;
        claim.map(|item| get_s(&item, "userId")).transpose()
    }

    pub(super) async fn start_email(
        &self,
        user_id: &str,
        merchant_id: &str,
        email: &EmailAddress,
        token_hash: &str,
        expires_at: i64,
        send: &SendReservation,
    ) -> Result<(), StoreError> {
        let mut token = item_key(email_token_pk(token_hash), TOKEN_SK);
        token.extend([
            ("userId".to_owned(), s(user_id)),
            ("merchantId".to_owned(), s(merchant_id)),
            ("email".to_owned(), s(email.as_str())),
            ("expiresAt".to_owned(), n(expires_at)),
            ("ttl".to_owned(), n(expires_at + 7 * 24 * 3600)),
        ]);
        let items = vec![
            self.update(
                key_for_account(user_id),
                "SET pendingEmail = :email, pendingEmailToken = :hash",
                "#status = :active",
                values([
                    (":email", s(email.as_str())),
                    (":hash", s(token_hash)),
                    (":active", status_value(AccountStatus::Active)),
                ]),
            )?,
            self.put(token, Some("attribute_not_exists(pk)"), Values::new())?,
            self.send_log_write(send)?,
        ];
        self.transact("TransactWriteItems start email confirmation", items).await
    }

    pub(super) async fn email_token_of(&self, token_hash: &str) -> Result<Option<EmailTokenRecord>, StoreError> {
        let Some(item) = self.get("GetItem email token", item_key(email_token_pk(token_hash), TOKEN_SK)).await? else {
            return Ok(None);
        };
        Ok(Some(EmailTokenRecord {
            user_id: get_s(&item, "userId")?,
            merchant_id: get_s(&item, "merchantId")?,
            email: get_s(&item, "email")?,
            expires_at: get_n(&item, "expiresAt")?,
            used_at: get_opt_n(&item, "usedAt")?,
        }))
    }

    pub(super) async fn confirm_email_address(&self, c: EmailConfirmation<'_>) -> Result<(), StoreError> {
        let mut account_values =
            values([(":email", s(c.email)), (":kyc", s(c.kyc_level.as_str())), (":hash", s(c.token_hash))]);
        let version = version_condition(c.expected_version, &mut account_values);
        let mut claim = item_key(email_claim_pk(c.merchant_id, c.email), CLAIM_SK);
        claim.extend([("userId".to_owned(), s(c.user_id)), ("createdAt".to_owned(), n(c.now))]);
        let mut items = vec![
            self.update(
                item_key(email_token_pk(c.token_hash), TOKEN_SK),
                "SET usedAt = :now",
                "attribute_exists(pk) AND attribute_not_exists(usedAt)",
                values([(":now", n(c.now))]),
            )?,
            self.update(
                key_for_account(c.user_id),
                "SET email = :email, kycLevel = :kyc, profileVersion = :next REMOVE pendingEmail, pendingEmailToken",
                &format!("pendingEmailToken = :hash AND {version}"),
                account_values,
            )?,
            self.put(claim, Some("attribute_not_exists(pk) OR userId = :uid"), values([(":uid", s(c.user_id))]))?,
        ];
        if let Some(previous) = c.previous_email.filter(|p| *p != c.email) {
            items.push(self.delete(
                item_key(email_claim_pk(c.merchant_id, previous), CLAIM_SK),
                "userId = :uid",
                values([(":uid", s(c.user_id))]),
            )?);
        }
        self.transact("TransactWriteItems confirm email", items).await
    }

    pub(super) async fn write_personal_details(
        &self,
        user_id: &str,
        changes: &PersonalDetails,
        kyc_level: KycLevel,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let mut vals = values([(":kyc", s(kyc_level.as_str())), (":active", status_value(AccountStatus::Active))]);
        let mut sets = vec!["kycLevel = :kyc".to_owned(), "profileVersion = :next".to_owned()];
        for (i, field) in FIELDS.iter().enumerate() {
            if let Some(value) = changes.get(field) {
                sets.push(format!("{field} = :f{i}"));
                vals.insert(format!(":f{i}"), AttributeValue::S(value.to_owned()));
            }
        }
        let condition = format!("#status = :active AND {}", version_condition(expected_version, &mut vals));
        let update = format!("SET {}", sets.join(", "));
        self.update_one("UpdateItem personal details", key_for_account(user_id), &update, &condition, vals).await
    }
}
