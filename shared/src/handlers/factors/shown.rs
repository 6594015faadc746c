//! A second factor as the account's owner sees it (the list, the export): what it is, its id, when
//! it was made and last used, never a secret, a code or a MAC.

use serde_json::{Value, json};

use crate::domain::utc_time::UtcTime;
use crate::factors::totp::STEP_SECS;
use crate::ports::AccountFactors;

/// The account's factors; a TOTP's last use is the start of the 30-second step last accepted.
pub(in crate::handlers) fn factors_shown(factors: &AccountFactors) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(totp) = &factors.totp {
        out.push(json!({
            "id": totp.factor_id,
            "type": "totp",
            "createdAt": UtcTime(totp.created_at).rfc3339(),
            "lastUsedAt": totp.last_used_step.map(|step| UtcTime(step * STEP_SECS).rfc3339()),
        }));
    }
    if let Some(sms) = &factors.sms {
        out.push(json!({
            "id": sms.factor_id,
            "type": "sms",
            "createdAt": UtcTime(sms.created_at).rfc3339(),
            "lastUsedAt": sms.last_used_at.map(|at| UtcTime(at).rfc3339()),
        }));
    }
    if let Some(set) = &factors.recovery {
        out.push(json!({
            "id": set.set_id,
            "type": "recovery_codes",
            "createdAt": UtcTime(set.created_at).rfc3339(),
            "remaining": set.remaining.len(),
        }));
    }
    out
}
