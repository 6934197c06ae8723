//! Encodings and digests: `b64encode`, `b64decode`, `hash` and `checksum`.
//!
//! The algorithms are maintained crates' (`base64`, and `sha1`, `md5`, `sha2` which russh
//! already builds); what is pgplay's is how lenient `b64decode` is, kept from before: white
//! space is ignored, the URL-safe `-` and `_` read as `+` and `/`, padding is optional (at most
//! two `=`, nothing after them) and unused trailing bits are allowed. `checksum` and a bare
//! `hash` are SHA-1, as in Ansible; `hash('md5')` is what PostgreSQL md5 passwords need.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use minijinja::value::Value;
use minijinja::Error;

use super::{invalid, text};

/// Standard alphabet, padding already taken off by [`base64_decode`], trailing bits allowed.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut data = String::with_capacity(s.len());
    let mut padding = 0;
    for c in s.chars().filter(|c| !c.is_ascii_whitespace()) {
        match c {
            '=' => padding += 1,
            _ if padding > 0 => return Err("data after padding".to_string()),
            '-' => data.push('+'),
            '_' => data.push('/'),
            c => data.push(c),
        }
    }
    if data.len() % 4 == 1 || padding > 2 {
        return Err("incorrect padding".to_string());
    }
    LENIENT.decode(&data).map_err(|e| e.to_string())
}

/// `b64encode`: standard alphabet, padded (Python's `base64.b64encode`).
pub(super) fn b64encode(value: &Value) -> Result<String, Error> {
    Ok(STANDARD.encode(text(value)?.as_bytes()))
}

/// `b64decode`: the decoded bytes, which must be UTF-8 text.
pub(super) fn b64decode(value: &Value) -> Result<String, Error> {
    let bytes = base64_decode(&text(value)?).map_err(|e| invalid(format!("b64decode: {e}")))?;
    String::from_utf8(bytes).map_err(|_| invalid("b64decode: decoded data is not valid UTF-8"))
}

/// Hex digest of `data` with the named algorithm.
fn hexdigest(algo: &str, data: &[u8]) -> Result<String, Error> {
    // sha1 (digest 0.11) and sha2 (digest 0.10) have different `Digest` traits: name each.
    Ok(match algo.to_ascii_lowercase().as_str() {
        "sha1" => hex::encode(<sha1::Sha1 as sha1::Digest>::digest(data)),
        "md5" => hex::encode(md5::compute(data).0),
        "sha224" => hex::encode(<sha2::Sha224 as sha2::Digest>::digest(data)),
        "sha256" => hex::encode(<sha2::Sha256 as sha2::Digest>::digest(data)),
        "sha384" => hex::encode(<sha2::Sha384 as sha2::Digest>::digest(data)),
        "sha512" => hex::encode(<sha2::Sha512 as sha2::Digest>::digest(data)),
        other => {
            return Err(invalid(format!(
                "hash: unsupported hash type {other:?} (md5, sha1, sha224, sha256, sha384, sha512)"
            )))
        }
    })
}

/// `hash(hashtype='sha1')`.
pub(super) fn hash_filter(value: &Value, hashtype: Option<String>) -> Result<String, Error> {
    hexdigest(
        hashtype.as_deref().unwrap_or("sha1"),
        text(value)?.as_bytes(),
    )
}

/// `checksum`: SHA-1 hex digest, as Ansible.
pub(super) fn checksum(value: &Value) -> Result<String, Error> {
    hexdigest("sha1", text(value)?.as_bytes())
}
