//! Access tokens signed by an asymmetric KMS key (ECC_NIST_P256, ECDSA_SHA_256): the private key
//! never leaves KMS, and only the functions that mint tokens may ask it to sign. No function reads
//! the public keys: `keys rotate` reads them with `GetPublicKey` and the deploy hands them over.

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeyUsageType, MessageType, SigningAlgorithmSpec};

use super::ReadError;
use crate::config::SealedSigningKey;
use crate::ports::{SignError, TokenSigner};
use crate::security::tokens::{PublicKey, SigningKey};

/// KMS error codes that say "try again", not "this key or request is wrong".
const RETRYABLE: &[&str] =
    &["ThrottlingException", "KMSInternalException", "DependencyTimeoutException", "KeyUnavailableException"];

/// Signs with one KMS key, whose public half came with the deploy.
pub struct KmsSigner {
    client: Client,
    key_arn: String,
    public: PublicKey,
}

impl KmsSigner {
    /// `public` is the key's published half (`TOKEN_PUBLIC_KEYS`, checked by `keys rotate` to be
    /// this key's); a signature KMS makes that it does not verify is never handed out.
    pub fn new(client: Client, key_arn: &str, public: PublicKey) -> Self {
        KmsSigner { client, key_arn: key_arn.to_owned(), public }
    }

    /// Reads the key's public half from KMS: what `keys rotate` and the tests use.
    pub async fn load(client: Client, key_arn: &str) -> Result<Self, ReadError> {
        let public = public_key(&client, key_arn).await?;
        Ok(KmsSigner::new(client, key_arn, public))
    }
}

#[async_trait]
impl TokenSigner for KmsSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        let answer = self
            .client
            .sign()
            .key_id(&self.key_arn)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(classify)?;
        let der = answer.signature().ok_or_else(|| SignError::Failed("KMS returned no signature".into()))?;
        let fixed = fixed_signature(der.as_ref())
            .ok_or_else(|| SignError::Failed("KMS returned a malformed signature".into()))?;
        // A published key that is not this key's half would make every token fail everywhere else.
        if !self.public.verifies(message, &fixed) {
            return Err(SignError::Failed(format!(
                "the published public key {} does not verify {}'s signature: run `keys rotate`",
                self.public.kid(),
                self.key_arn
            )));
        }
        Ok(fixed)
    }
}

/// Opens a sealed signing key at cold start (one `kms:Decrypt`, under its encryption context) and
/// checks it is the key `published` says, so a wrong parameter stops the function at init.
pub async fn open_sealed_key(
    client: &Client,
    sealing_key_arn: &str,
    sealed: &SealedSigningKey,
    published: &PublicKey,
) -> Result<SigningKey, ReadError> {
    let mut decrypt = client.decrypt().key_id(sealing_key_arn).ciphertext_blob(Blob::new(sealed.ciphertext.clone()));
    for (name, value) in SealedSigningKey::context(&sealed.kid) {
        decrypt = decrypt.encryption_context(name, value);
    }
    let answer = decrypt.send().await.map_err(|e| {
        ReadError::Unreachable(format!("Decrypt of the sealed signing key: {}", DisplayErrorContext(&e)))
    })?;
    let plaintext = zeroize::Zeroizing::new(answer.plaintext().map(|b| b.as_ref().to_vec()).unwrap_or_default());
    let key = SigningKey::from_pkcs8_der(&sealed.kid, &plaintext)
        .map_err(|e| ReadError::Unsuitable(format!("the sealed signing key {}: {e}", sealed.kid)))?;
    if key.public_key_ref() != published {
        return Err(ReadError::Unsuitable(format!(
            "the sealed signing key {} is not the first key of TOKEN_PUBLIC_KEYS: run `keys signing-rotate --sealed`",
            sealed.kid
        )));
    }
    Ok(key)
}

/// Seals a signing key's PKCS#8 under `sealing_key_arn`, as `keys signing-rotate --sealed` does.
pub async fn seal_signing_key(
    client: &Client,
    sealing_key_arn: &str,
    kid: &str,
    pkcs8: &[u8],
) -> Result<SealedSigningKey, ReadError> {
    let mut encrypt = client.encrypt().key_id(sealing_key_arn).plaintext(Blob::new(pkcs8.to_vec()));
    for (name, value) in SealedSigningKey::context(kid) {
        encrypt = encrypt.encryption_context(name, value);
    }
    let answer = encrypt
        .send()
        .await
        .map_err(|e| ReadError::Unreachable(format!("Encrypt under {sealing_key_arn}: {}", DisplayErrorContext(&e))))?;
    let ciphertext = answer.ciphertext_blob().map(|b| b.as_ref().to_vec()).unwrap_or_default();
    Ok(SealedSigningKey { kid: kid.to_owned(), ciphertext })
}

/// A new symmetric key that seals signing keys (the sealed mode); its ARN.
pub async fn create_sealing_key(client: &Client, description: &str) -> Result<String, ReadError> {
    create_key(client, aws_sdk_kms::types::KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt, description).await
}

/// A new ECC_NIST_P256 signing key, as `keys signing-rotate` makes one; its ARN.
pub async fn create_signing_key(client: &Client, description: &str) -> Result<String, ReadError> {
    create_key(client, aws_sdk_kms::types::KeySpec::EccNistP256, KeyUsageType::SignVerify, description).await
}

async fn create_key(
    client: &Client,
    spec: aws_sdk_kms::types::KeySpec,
    usage: KeyUsageType,
    description: &str,
) -> Result<String, ReadError> {
    let created = client
        .create_key()
        .key_spec(spec)
        .key_usage(usage)
        .description(description)
        .send()
        .await
        .map_err(|e| ReadError::Unreachable(format!("CreateKey: {}", DisplayErrorContext(&e))))?;
    created
        .key_metadata()
        .and_then(|m| m.arn())
        .map(str::to_owned)
        .ok_or_else(|| ReadError::Unreachable("CreateKey returned no ARN".into()))
}

/// The public half of a KMS key, with its key id as the `kid`.
pub async fn public_key(client: &Client, key_arn: &str) -> Result<PublicKey, ReadError> {
    let answer = client
        .get_public_key()
        .key_id(key_arn)
        .send()
        .await
        .map_err(|e| ReadError::Unreachable(format!("GetPublicKey {key_arn}: {}", DisplayErrorContext(&e))))?;
    let unsuitable = ReadError::Unsuitable;
    // The curve is checked by the SubjectPublicKeyInfo below (its OIDs name P-256), not by `KeySpec`,
    // which moto leaves out (it sends only the deprecated `CustomerMasterKeySpec`).
    if answer.key_usage() != Some(&KeyUsageType::SignVerify) {
        return Err(unsuitable(format!("{key_arn} is not a SIGN_VERIFY key")));
    }
    let arn = answer.key_id().unwrap_or(key_arn);
    let kid = arn.rsplit('/').next().unwrap_or(arn);
    let der = answer.public_key().ok_or_else(|| unsuitable(format!("GetPublicKey {key_arn}: no public key")))?;
    PublicKey::from_spki_der(kid, der.as_ref())
        .map_err(|e| unsuitable(format!("{key_arn} is not an ECC_NIST_P256 key: {e}")))
}

/// Whether a KMS call's failure says "try again" (throttling, KMS's own trouble, the network), not
/// "this key or request is wrong". Counted, since a throttled KMS is a capacity signal.
pub(crate) fn retryable<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let retryable = match err {
        SdkError::ServiceError(service) => service.err().code().is_some_and(|code| RETRYABLE.contains(&code)),
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        _ => false,
    };
    if retryable {
        crate::metrics::count(crate::metrics::Counter::KmsThrottled);
    }
    retryable
}

fn classify<E, R>(err: SdkError<E, R>) -> SignError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let why = format!("Sign: {}", DisplayErrorContext(&err));
    if retryable(&err) { SignError::Unavailable(why) } else { SignError::Failed(why) }
}

/// A DER `ECDSA-Sig-Value` (what KMS returns) as the fixed-size `r || s` that JWS wants.
fn fixed_signature(der: &[u8]) -> Option<[u8; 64]> {
    let body = match der {
        [0x30, len, body @ ..] if usize::from(*len) == body.len() && *len < 0x80 => body,
        _ => return None,
    };
    let (r, rest) = integer(body)?;
    let (s, rest) = integer(rest)?;
    if !rest.is_empty() {
        return None;
    }
    let mut out = [0u8; 64];
    out[32 - r.len()..32].copy_from_slice(r);
    out[64 - s.len()..].copy_from_slice(s);
    Some(out)
}

/// One DER INTEGER of at most 32 significant bytes, without its sign padding, and what follows it.
fn integer(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let [0x02, len, rest @ ..] = input else { return None };
    let len = usize::from(*len);
    if len == 0 || len >= 0x80 || rest.len() < len {
        return None;
    }
    let (mut value, rest) = rest.split_at(len);
    while let [0, tail @ ..] = value {
        value = tail;
    }
    (value.len() <= 32).then_some((value, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED, EcdsaKeyPair, KeyPair, UnparsedPublicKey,
    };

    #[test]
    fn a_der_signature_becomes_the_fixed_form_that_verifies() {
        // GIVEN DER signatures as KMS returns them (some with short r or s, some with sign padding)
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref().to_vec());
        for i in 0..200u32 {
            let message = i.to_be_bytes();
            let der = pair.sign(&rng, &message).unwrap();
            // WHEN converted THEN the fixed form verifies the same message
            let fixed = fixed_signature(der.as_ref()).expect("a well-formed DER signature");
            assert!(public.verify(&message, &fixed).is_ok(), "signature {i}");
        }
    }

    #[test]
    fn malformed_der_is_refused() {
        assert!(fixed_signature(&[]).is_none());
        assert!(fixed_signature(&[0x30, 0x02, 0x02, 0x00]).is_none());
        assert!(fixed_signature(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00]).is_none());
        let mut long = vec![0x30, 0x26, 0x02, 0x21];
        long.extend([0x01; 33]);
        long.extend([0x02, 0x01, 0x01]);
        assert!(fixed_signature(&long).is_none());
    }
}
