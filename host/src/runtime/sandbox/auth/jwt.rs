//! JSON Web Tokens the host signs: client assertions (RFC 7523 §2.2),
//! JWT-bearer grants (§2.1) and `signed_jwt` tokens sent as they are.
//!
//! Keys are PEM: PKCS#8 RSA or P-256 (`BEGIN PRIVATE KEY`, as Google's
//! service-account files and `openssl genpkey` write them), or PKCS#1 RSA
//! (`BEGIN RSA PRIVATE KEY`). RSA signs RS256, P-256 ES256. An encrypted
//! PKCS#8 key (`BEGIN ENCRYPTED PRIVATE KEY`, PBES2: Box's app files,
//! `openssl pkcs8 -topk8 -v2 aes256`) is decrypted with its `passphrase`;
//! the legacy OpenSSL encryption (`Proc-Type: 4,ENCRYPTED`) is refused with
//! the command that converts it.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use rustls::pki_types::pem::{PemObject, SectionKind};
use serde_json::{Map, Value, json};

/// A private key that can sign.
pub enum SigningKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// Why a key cannot sign.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error(
        "auth: `private_key` is encrypted the legacy OpenSSL way; convert it with `openssl pkcs8 -topk8 -v2 aes256 -in key.pem`"
    )]
    Encrypted,
    #[error("auth: `private_key` is encrypted and no `passphrase` is given")]
    NoPassphrase,
    #[error("auth: `private_key` could not be decrypted with `passphrase` ({0})")]
    Decrypt(String),
    #[error("auth: `private_key` is not a PEM RSA or P-256 private key ({0})")]
    Unreadable(String),
}

impl SigningKey {
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        Self::from_pem_with(pem, None)
    }

    /// A key that may be an encrypted PKCS#8 one, decrypted with `passphrase`.
    pub fn from_pem_with(pem: &str, passphrase: Option<&str>) -> Result<Self, KeyError> {
        if pem.contains("Proc-Type: 4,ENCRYPTED") {
            return Err(KeyError::Encrypted);
        }
        if pem.contains("BEGIN ENCRYPTED PRIVATE KEY") {
            let passphrase = passphrase.ok_or(KeyError::NoPassphrase)?;
            let der = decrypt(pem, passphrase)?;
            return Self::from_pkcs8_der(&der);
        }
        let (kind, der) = <(SectionKind, Vec<u8>)>::from_pem_slice(pem.as_bytes())
            .map_err(|e| KeyError::Unreadable(e.to_string()))?;
        match kind {
            SectionKind::RsaPrivateKey => {
                RsaKeyPair::from_der(&der).map(Self::Rsa).map_err(|e| KeyError::Unreadable(e.to_string()))
            }
            SectionKind::PrivateKey => Self::from_pkcs8_der(&der),
            other => Err(KeyError::Unreadable(format!("a {other:?} section"))),
        }
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        RsaKeyPair::from_pkcs8(der).map(Self::Rsa).or_else(|_| {
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
                .map(Self::Ec)
                .map_err(|e| KeyError::Unreadable(e.to_string()))
        })
    }

    fn alg(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "RS256",
            Self::Ec(_) => "ES256",
        }
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match self {
            Self::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, data, &mut sig)
                    .map_err(|_| KeyError::Unreadable("RSA signing failed".into()))?;
                Ok(sig)
            }
            Self::Ec(k) => k
                .sign(&rng, data)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Unreadable("ECDSA signing failed".into())),
        }
    }

    /// `SHA256:` and the base64 SHA-256 of the public key's
    /// SubjectPublicKeyInfo: Snowflake's key-pair fingerprint.
    pub fn fingerprint(&self) -> String {
        let spki = match self {
            // ring gives the PKCS#1 RSAPublicKey; wrap it as SPKI.
            Self::Rsa(k) => {
                let alg = [
                    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
                ];
                let mut bits = vec![0u8];
                bits.extend_from_slice(k.public_key().as_ref());
                let mut body = alg.to_vec();
                body.extend(der(0x03, &bits));
                der(0x30, &body)
            }
            Self::Ec(k) => {
                let alg = [
                    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
                    0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
                ];
                let mut bits = vec![0u8];
                bits.extend_from_slice(k.public_key().as_ref());
                let mut body = alg.to_vec();
                body.extend(der(0x03, &bits));
                der(0x30, &body)
            }
        };
        format!("SHA256:{}", STANDARD.encode(ring::digest::digest(&ring::digest::SHA256, &spki)))
    }

    /// A compact JWT of `claims`, with `kid` when given.
    pub fn jwt(&self, key_id: Option<&str>, claims: &Map<String, Value>) -> Result<String, KeyError> {
        let mut header = json!({"alg": self.alg(), "typ": "JWT"});
        if let Some(kid) = key_id {
            header["kid"] = Value::from(kid);
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string())
        );
        let sig = self.sign(input.as_bytes())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

/// The PKCS#8 DER inside an `ENCRYPTED PRIVATE KEY` PEM.
fn decrypt(pem: &str, passphrase: &str) -> Result<Vec<u8>, KeyError> {
    use pkcs8::der::Decode as _;
    let (_, doc) = pkcs8::der::Document::from_pem(pem).map_err(|e| KeyError::Unreadable(e.to_string()))?;
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(doc.as_bytes())
        .map_err(|e| KeyError::Unreadable(e.to_string()))?;
    let secret = info.decrypt(passphrase).map_err(|e| KeyError::Decrypt(e.to_string()))?;
    Ok(secret.as_bytes().to_vec())
}

/// One DER tag-length-value.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The claims every JWT here carries: issued now, valid for `lifetime`
/// seconds, with a unique id.
pub fn base_claims(lifetime: i64) -> Map<String, Value> {
    let now = chrono::Utc::now().timestamp();
    let mut id = [0u8; 16];
    _ = getrandom::fill(&mut id);
    let mut claims = Map::new();
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + lifetime).into());
    claims.insert("jti".into(), hex::encode(id).into());
    claims
}

/// A key file given as it was downloaded: its JSON text, or the object.
fn document(value: &Value, member: &str) -> Result<Value, String> {
    match value {
        Value::String(text) => {
            serde_json::from_str(text).map_err(|e| format!("auth: `{member}` is not JSON: {e}"))
        }
        other => Ok(other.clone()),
    }
}

/// The members of a Google service-account JSON the host uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    pub client_email: String,
    pub private_key: String,
    pub private_key_id: Option<String>,
    pub token_uri: String,
}

impl ServiceAccount {
    /// Reads the file as Google's console downloads it (text or object).
    pub fn parse(value: &Value) -> Result<Self, String> {
        let value = &document(value, "service_account")?;
        let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_string);
        if text("type").as_deref() != Some("service_account") {
            return Err(
                "auth: `service_account` is not a service-account key file (type service_account)".into()
            );
        }
        Ok(Self {
            client_email: text("client_email").ok_or("auth: `service_account` has no client_email")?,
            private_key: text("private_key").ok_or("auth: `service_account` has no private_key")?,
            private_key_id: text("private_key_id"),
            token_uri: text("token_uri").unwrap_or_else(|| "https://oauth2.googleapis.com/token".into()),
        })
    }
}

/// The members of a Box app's configuration file (JWT server
/// authentication) the host uses, as Box's developer console downloads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxApp {
    pub client_id: String,
    pub client_secret: String,
    pub key_id: String,
    pub private_key: String,
    pub passphrase: String,
    pub enterprise_id: String,
}

impl BoxApp {
    pub fn parse(value: &Value) -> Result<Self, String> {
        let value = &document(value, "box_app_config")?;
        let text = |pointer: &str| {
            value
                .pointer(pointer)
                .and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string())))
                .ok_or_else(|| format!("auth: `box_app_config` has no {pointer}"))
        };
        Ok(Self {
            client_id: text("/boxAppSettings/clientID")?,
            client_secret: text("/boxAppSettings/clientSecret")?,
            key_id: text("/boxAppSettings/appAuth/publicKeyID")?,
            private_key: text("/boxAppSettings/appAuth/privateKey")?,
            passphrase: text("/boxAppSettings/appAuth/passphrase")?,
            enterprise_id: text("/enterpriseID")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RSA key made by `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`,
    /// for these tests only, with the fingerprint `openssl pkey -pubout -outform DER |
    /// openssl dgst -sha256 -binary | base64` prints.
    const RSA_PEM: &str = include_str!("testdata/rsa.pem");
    const RSA_FINGERPRINT: &str = include_str!("testdata/rsa.fingerprint");

    #[test]
    fn an_rsa_key_signs_a_jwt_that_verifies_and_has_the_openssl_fingerprint() {
        let key = SigningKey::from_pem(RSA_PEM).expect("key");
        assert_eq!(key.fingerprint(), format!("SHA256:{}", RSA_FINGERPRINT.trim()));
        let mut claims = base_claims(60);
        claims.insert("iss".into(), "me".into());
        let jwt = key.jwt(Some("k1"), &claims).expect("jwt");
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(header, json!({"alg": "RS256", "typ": "JWT", "kid": "k1"}));
        let SigningKey::Rsa(pair) = &key else { panic!("rsa") };
        let public =
            signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, pair.public_key());
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
        public.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig).expect("verifies");
    }

    /// The same key as `rsa.pem`, encrypted by `openssl pkcs8 -topk8 -v2 aes256
    /// -passout pass:sonde-test` (PBES2, PBKDF2-SHA256, AES-256-CBC).
    const RSA_ENCRYPTED: &str = include_str!("testdata/rsa.encrypted.pem");

    #[test]
    fn an_encrypted_key_opens_with_its_passphrase_only() {
        let key = SigningKey::from_pem_with(RSA_ENCRYPTED, Some("sonde-test")).expect("decrypted");
        assert_eq!(key.fingerprint(), format!("SHA256:{}", RSA_FINGERPRINT.trim()));
        assert_eq!(SigningKey::from_pem(RSA_ENCRYPTED).err(), Some(KeyError::NoPassphrase));
        assert!(matches!(SigningKey::from_pem_with(RSA_ENCRYPTED, Some("wrong")), Err(KeyError::Decrypt(_))));
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nMIIB\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(SigningKey::from_pem(legacy).err(), Some(KeyError::Encrypted));
        assert!(matches!(SigningKey::from_pem("nope"), Err(KeyError::Unreadable(_))));
    }

    /// The shape of Box's documented app configuration file ("JWT
    /// Auth", developer.box.com/guides/authentication/jwt/jwt-setup).
    #[test]
    fn a_box_app_file_is_read_as_downloaded() {
        let file = json!({"boxAppSettings": {"clientID": "abc", "clientSecret": "def",
            "appAuth": {"publicKeyID": "k1", "privateKey": RSA_ENCRYPTED, "passphrase": "sonde-test"}},
            "enterpriseID": "123"});
        let app = BoxApp::parse(&file).expect("parsed");
        assert_eq!(
            (app.client_id.as_str(), app.key_id.as_str(), app.enterprise_id.as_str()),
            ("abc", "k1", "123")
        );
        SigningKey::from_pem_with(&app.private_key, Some(&app.passphrase)).expect("its key opens");
        assert!(BoxApp::parse(&json!({"boxAppSettings": {}})).is_err());
    }

    #[test]
    fn a_service_account_file_is_read_as_downloaded() {
        let file = json!({"type": "service_account", "client_email": "a@p.iam.gserviceaccount.com",
                          "private_key": RSA_PEM, "private_key_id": "abc", "token_uri": "https://oauth2.googleapis.com/token"});
        let sa = ServiceAccount::parse(&Value::String(file.to_string())).expect("parsed");
        assert_eq!(
            (sa.client_email.as_str(), sa.private_key_id.as_deref()),
            ("a@p.iam.gserviceaccount.com", Some("abc"))
        );
        assert!(ServiceAccount::parse(&json!({"type": "authorized_user"})).is_err());
    }
}
