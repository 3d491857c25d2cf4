//! Optional end-to-end encryption of segments, so a cloud folder holds nothing readable.
//!
//! A sealed segment is a header line `{"hindsight_sync": FORMAT, "sealed": {"aead":
//! "xchacha20poly1305", "kdf": "argon2id-19456-2-1", "nonce", "len"}}` and then the plain
//! segment's bytes encrypted with XChaCha20-Poly1305. The key comes from the passphrase by
//! Argon2id (19 MiB, 2 passes: OWASP's recommendation) salted with the writing device's id, so
//! each device's key is derived once per process and cached. The associated data is the
//! device id and the segment number: a sealed segment renamed or moved to another device's
//! folder does not open. Without the passphrase, or with another one, a sealed segment is
//! refused in words; `len` tells a file still arriving from one that does not open.
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::segment::{Problem, FORMAT};
use crate::error::{Error, Result};

const AEAD: &str = "xchacha20poly1305";
const KDF: &str = "argon2id-19456-2-1";
/// Shortest passphrase accepted.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

#[derive(Serialize, Deserialize)]
struct Sealed {
    aead: String,
    kdf: String,
    nonce: String,
    len: usize,
}

#[derive(Serialize, Deserialize)]
struct Header {
    hindsight_sync: u32,
    sealed: Sealed,
}

pub fn check_passphrase(p: &str) -> Result<()> {
    if p.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(Error::Invalid(format!(
            "a sync passphrase has at least {MIN_PASSPHRASE_CHARS} characters"
        )));
    }
    Ok(())
}

/// Derived keys by (sha256 of the passphrase, device id).
type KeyCache = HashMap<(Vec<u8>, String), [u8; 32]>;

/// The key for `device`'s segments (Argon2id of the passphrase, salted with the device id),
/// derived once per process.
fn key(passphrase: &str, device: &str) -> Result<[u8; 32]> {
    static CACHE: OnceLock<Mutex<KeyCache>> = OnceLock::new();
    let id = (
        Sha256::digest(passphrase.as_bytes()).to_vec(),
        device.to_owned(),
    );
    let cache = CACHE.get_or_init(Default::default);
    if let Some(k) = crate::locking::lock(cache).get(&id) {
        return Ok(*k);
    }
    let params = argon2::Params::new(19_456, 2, 1, Some(32))
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = format!("hindsight-sync/{device}");
    let mut out = [0u8; 32];
    argon
        .hash_password_into(passphrase.as_bytes(), salt.as_bytes(), &mut out)
        .map_err(|e| Error::Internal(format!("argon2: {e}")))?;
    crate::locking::lock(cache).insert(id, out);
    Ok(out)
}

fn aad(device: &str, seq: i64) -> Vec<u8> {
    format!("{device}/{seq}").into_bytes()
}

/// Seals the plain segment `plain` of `device` numbered `seq`.
pub fn seal(plain: &[u8], passphrase: &str, device: &str, seq: i64) -> Result<Vec<u8>> {
    let cipher = XChaCha20Poly1305::new(&key(passphrase, device)?.into());
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut nonce).map_err(|e| Error::Internal(format!("no random numbers: {e}")))?;
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: &aad(device, seq),
            },
        )
        .map_err(|_| Error::Internal("encryption failed".into()))?;
    let header = Header {
        hindsight_sync: FORMAT,
        sealed: Sealed {
            aead: AEAD.into(),
            kdf: KDF.into(),
            nonce: crate::llm::catalog::hex(&nonce),
            len: sealed.len(),
        },
    };
    let mut out = serde_json::to_vec(&header)?;
    out.push(b'\n');
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Whether `bytes` (a whole or partial segment file) is sealed: its first line says so.
pub fn is_sealed(bytes: &[u8]) -> bool {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    serde_json::from_slice::<serde_json::Value>(first).is_ok_and(|h| h.get("sealed").is_some())
}

/// The plain segment inside a sealed one.
pub fn open(
    bytes: &[u8],
    passphrase: Option<&str>,
    device: &str,
    seq: i64,
) -> std::result::Result<Vec<u8>, Problem> {
    let damaged = |reason: &str| Problem::Damaged {
        seq,
        reason: reason.to_owned(),
    };
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(Problem::Partial(seq))?;
    let header: Header = serde_json::from_slice(&bytes[..end])
        .map_err(|_| damaged("an unreadable sealed header"))?;
    if header.hindsight_sync > FORMAT {
        return Err(Problem::Newer {
            seq,
            format: header.hindsight_sync,
            app: "a newer version".into(),
        });
    }
    if header.sealed.aead != AEAD || header.sealed.kdf != KDF {
        return Err(damaged("sealed in a way this Hindsight does not know"));
    }
    let body = &bytes[end + 1..];
    if body.len() < header.sealed.len {
        return Err(Problem::Partial(seq));
    }
    let Some(passphrase) = passphrase else {
        return Err(Problem::Locked(seq));
    };
    let nonce = (0..header.sealed.nonce.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(header.sealed.nonce.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<std::result::Result<Vec<u8>, _>>()
        .ok()
        .filter(|n| n.len() == 24)
        .ok_or_else(|| damaged("a bad nonce"))?;
    let key = key(passphrase, device).map_err(|e| damaged(&e.to_string()))?;
    XChaCha20Poly1305::new(&key.into())
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &body[..header.sealed.len],
                aad: &aad(device, seq),
            },
        )
        .map_err(|_| Problem::WrongKey(seq))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sealed_bytes_open_only_with_the_passphrase_in_their_place() {
        let plain = b"{\"porto\":\"Bonfim\"}\n";
        let sealed = seal(plain, "correct horse", "d1", 3).unwrap();
        assert!(is_sealed(&sealed) && !is_sealed(plain));
        assert!(!sealed.windows(5).any(|w| w == b"porto"));
        assert_eq!(
            open(&sealed, Some("correct horse"), "d1", 3).unwrap(),
            plain
        );
        assert_eq!(
            open(&sealed, Some("wrong horse!"), "d1", 3),
            Err(Problem::WrongKey(3))
        );
        assert_eq!(open(&sealed, None, "d1", 3), Err(Problem::Locked(3)));
        assert_eq!(
            open(&sealed, Some("correct horse"), "d1", 4),
            Err(Problem::WrongKey(4))
        );
        assert_eq!(
            open(&sealed, Some("correct horse"), "d2", 3),
            Err(Problem::WrongKey(3))
        );
        assert_eq!(
            open(&sealed[..sealed.len() - 1], Some("correct horse"), "d1", 3),
            Err(Problem::Partial(3))
        );
    }
}
