//! Record protection: the cipher suites ftpcap can decrypt, their keys
//! derived from logged secrets (TLS 1.3 HKDF-Expand-Label, RFC 8446 §7;
//! TLS 1.2 PRF key expansion, RFC 5246 §6.3), and opening one record
//! (AES-GCM, ChaCha20-Poly1305; RustCrypto does the cryptography).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
}

impl Hash {
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl Algorithm {
    fn key_len(self) -> usize {
        match self {
            Algorithm::Aes128Gcm => 16,
            Algorithm::Aes256Gcm | Algorithm::ChaCha20Poly1305 => 32,
        }
    }
}

/// A cipher suite ftpcap knows the name of, and can decrypt when `aead`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    pub id: u16,
    pub name: &'static str,
    /// None: known by name only (CBC and others not decrypted).
    pub aead: Option<(Algorithm, Hash)>,
}

/// The suite with IANA number `id`, if ftpcap knows it.
pub fn suite(id: u16) -> Option<Suite> {
    use Algorithm::*;
    use Hash::*;
    let (name, aead) = match id {
        0x1301 => ("TLS_AES_128_GCM_SHA256", Some((Aes128Gcm, Sha256))),
        0x1302 => ("TLS_AES_256_GCM_SHA384", Some((Aes256Gcm, Sha384))),
        0x1303 => ("TLS_CHACHA20_POLY1305_SHA256", Some((ChaCha20Poly1305, Sha256))),
        0xc02f => ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", Some((Aes128Gcm, Sha256))),
        0xc030 => ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", Some((Aes256Gcm, Sha384))),
        0xc02b => ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", Some((Aes128Gcm, Sha256))),
        0xc02c => ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", Some((Aes256Gcm, Sha384))),
        0x009c => ("TLS_RSA_WITH_AES_128_GCM_SHA256", Some((Aes128Gcm, Sha256))),
        0x009d => ("TLS_RSA_WITH_AES_256_GCM_SHA384", Some((Aes256Gcm, Sha384))),
        0x009e => ("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", Some((Aes128Gcm, Sha256))),
        0x009f => ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", Some((Aes256Gcm, Sha384))),
        0xcca8 => ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", Some((ChaCha20Poly1305, Sha256))),
        0xcca9 => ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", Some((ChaCha20Poly1305, Sha256))),
        0xccaa => ("TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", Some((ChaCha20Poly1305, Sha256))),
        0x002f => ("TLS_RSA_WITH_AES_128_CBC_SHA", None),
        0x0035 => ("TLS_RSA_WITH_AES_256_CBC_SHA", None),
        0x003c => ("TLS_RSA_WITH_AES_128_CBC_SHA256", None),
        0x003d => ("TLS_RSA_WITH_AES_256_CBC_SHA256", None),
        0xc013 => ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", None),
        0xc014 => ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", None),
        0xc027 => ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", None),
        0xc028 => ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", None),
        _ => return None,
    };
    Some(Suite { id, name, aead })
}

enum Engine {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

/// The keys of one direction and its record sequence number.
pub struct RecordKey {
    engine: Engine,
    /// TLS 1.3 and TLS 1.2 ChaCha20: the 12-byte IV the sequence number is
    /// XORed into. TLS 1.2 AES-GCM: the 4-byte salt, then 8 explicit
    /// nonce bytes from each record.
    iv: [u8; 12],
    explicit_nonce: bool,
    tls13: bool,
    pub seq: u64,
}

/// Key bytes stay out of every report and message.
impl std::fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordKey").field("tls13", &self.tls13).field("seq", &self.seq).finish()
    }
}

fn engine(algorithm: Algorithm, key: &[u8]) -> Option<Engine> {
    Some(match algorithm {
        Algorithm::Aes128Gcm => Engine::Aes128(Box::new(Aes128Gcm::new_from_slice(key).ok()?)),
        Algorithm::Aes256Gcm => Engine::Aes256(Box::new(Aes256Gcm::new_from_slice(key).ok()?)),
        Algorithm::ChaCha20Poly1305 => Engine::ChaCha(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?)),
    })
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label(hash: Hash, secret: &[u8], label: &str, len: usize) -> Option<Vec<u8>> {
    let full = format!("tls13 {label}");
    let mut info = Vec::with_capacity(4 + full.len());
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push(full.len() as u8);
    info.extend_from_slice(full.as_bytes());
    info.push(0);
    let mut out = vec![0; len];
    match hash {
        Hash::Sha256 => Hkdf::<Sha256>::from_prk(secret).ok()?.expand(&info, &mut out).ok()?,
        Hash::Sha384 => Hkdf::<Sha384>::from_prk(secret).ok()?.expand(&info, &mut out).ok()?,
    }
    Some(out)
}

impl RecordKey {
    /// TLS 1.3: the record key of a traffic secret.
    pub fn tls13(algorithm: Algorithm, hash: Hash, secret: &[u8]) -> Option<RecordKey> {
        let key = expand_label(hash, secret, "key", algorithm.key_len())?;
        let iv = expand_label(hash, secret, "iv", 12)?;
        Some(RecordKey {
            engine: engine(algorithm, &key)?,
            iv: iv.try_into().ok()?,
            explicit_nonce: false,
            tls13: true,
            seq: 0,
        })
    }

    /// TLS 1.3 KeyUpdate: the next traffic secret after `secret`.
    pub fn next_secret(hash: Hash, secret: &[u8]) -> Option<Vec<u8>> {
        expand_label(hash, secret, "traffic upd", hash.output_len())
    }

    /// TLS 1.2: both directions' record keys (client's, server's) from the
    /// master secret and the two hello randoms.
    pub fn tls12(
        algorithm: Algorithm,
        hash: Hash,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
    ) -> Option<(RecordKey, RecordKey)> {
        let key_len = algorithm.key_len();
        let iv_len = if algorithm == Algorithm::ChaCha20Poly1305 { 12 } else { 4 };
        let mut seed = Vec::with_capacity(64);
        seed.extend_from_slice(server_random);
        seed.extend_from_slice(client_random);
        let block = prf(hash, master, b"key expansion", &seed, 2 * key_len + 2 * iv_len)?;
        let (keys, ivs) = block.split_at(2 * key_len);
        let make = |key: &[u8], iv: &[u8]| -> Option<RecordKey> {
            let mut full = [0u8; 12];
            full[..iv.len()].copy_from_slice(iv);
            Some(RecordKey {
                engine: engine(algorithm, key)?,
                iv: full,
                explicit_nonce: iv_len == 4,
                tls13: false,
                seq: 0,
            })
        };
        Some((make(&keys[..key_len], &ivs[..iv_len])?, make(&keys[key_len..], &ivs[iv_len..])?))
    }

    /// Opens one protected record (`header` is its 5-byte header, `body`
    /// the rest): the plaintext, with TLS 1.3's inner content type still
    /// at its end. None when it does not authenticate under this key at
    /// this sequence number; the sequence number moves on only on success.
    pub fn open(&mut self, header: &[u8; 5], body: &[u8]) -> Option<Vec<u8>> {
        let seq = self.seq.to_be_bytes();
        let mut nonce = self.iv;
        let (aad, ciphertext): (Vec<u8>, &[u8]) = if self.tls13 {
            for (n, s) in nonce[4..].iter_mut().zip(seq) {
                *n ^= s;
            }
            (header.to_vec(), body)
        } else {
            let ciphertext = if self.explicit_nonce {
                nonce[4..].copy_from_slice(body.get(..8)?);
                body.get(8..)?
            } else {
                for (n, s) in nonce[4..].iter_mut().zip(seq) {
                    *n ^= s;
                }
                body
            };
            let plain_len = ciphertext.len().checked_sub(16)? as u16;
            let mut aad = seq.to_vec();
            aad.extend_from_slice(&header[..3]);
            aad.extend_from_slice(&plain_len.to_be_bytes());
            (aad, ciphertext)
        };
        let payload = Payload { msg: ciphertext, aad: &aad };
        let nonce = aes_gcm::Nonce::from_slice(&nonce);
        let plain = match &self.engine {
            Engine::Aes128(c) => c.decrypt(nonce, payload).ok()?,
            Engine::Aes256(c) => c.decrypt(nonce, payload).ok()?,
            Engine::ChaCha(c) => c.decrypt(chacha20poly1305::Nonce::from_slice(nonce), payload).ok()?,
        };
        self.seq += 1;
        Some(plain)
    }
}

/// The TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed), `len` bytes.
fn prf(hash: Hash, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut full_seed = label.to_vec();
    full_seed.extend_from_slice(seed);
    match hash {
        Hash::Sha256 => p_hash::<Hmac<Sha256>>(secret, &full_seed, len),
        Hash::Sha384 => p_hash::<Hmac<Sha384>>(secret, &full_seed, len),
    }
}

fn p_hash<M: Mac + KeyInit + Clone>(secret: &[u8], seed: &[u8], len: usize) -> Option<Vec<u8>> {
    let base = <M as KeyInit>::new_from_slice(secret).ok()?;
    let mut out = Vec::with_capacity(len + 64);
    let mut a = {
        let mut m = base.clone();
        m.update(seed);
        m.finalize().into_bytes().to_vec()
    };
    while out.len() < len {
        let mut m = base.clone();
        m.update(&a);
        m.update(seed);
        out.extend_from_slice(&m.finalize().into_bytes());
        let mut next = base.clone();
        next.update(&a);
        a = next.finalize().into_bytes().to_vec();
    }
    out.truncate(len);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn rfc8448_server_handshake_keys() {
        // RFC 8448 §3 (simple 1-RTT handshake): the server handshake
        // traffic secret and the key and IV derived from it.
        let secret =
            unhex("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38");
        assert_eq!(
            expand_label(Hash::Sha256, &secret, "key", 16).unwrap(),
            unhex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc")
        );
        assert_eq!(
            expand_label(Hash::Sha256, &secret, "iv", 12).unwrap(),
            unhex("5d 31 3e b2 67 12 76 ee 13 00 0b 30")
        );
    }

    #[test]
    fn tls12_prf_test_vector() {
        // The widely used TLS 1.2 PRF (SHA-256) test vector (IETF TLS list).
        let secret = unhex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = unhex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let out = prf(Hash::Sha256, &secret, b"test label", &seed, 16).unwrap();
        assert_eq!(out, unhex("e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53"));
    }

    #[test]
    fn sealed_records_open_at_their_sequence_number_only() {
        // Seal with the same primitive, open with RecordKey: TLS 1.3 nonce
        // and additional data as RFC 8446 §5.2-5.3 define them.
        let secret = [7u8; 32];
        let key = expand_label(Hash::Sha256, &secret, "key", 16).unwrap();
        let iv = expand_label(Hash::Sha256, &secret, "iv", 12).unwrap();
        let sealer = Aes128Gcm::new_from_slice(&key).unwrap();
        let seal = |seq: u64, plain: &[u8]| {
            let mut nonce = [0u8; 12];
            nonce.copy_from_slice(&iv);
            for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
                *n ^= s;
            }
            let len = (plain.len() + 16) as u16;
            let header = [23, 3, 3, (len >> 8) as u8, len as u8];
            let body =
                sealer.encrypt(aes_gcm::Nonce::from_slice(&nonce), Payload { msg: plain, aad: &header }).unwrap();
            (header, body)
        };
        let mut opener = RecordKey::tls13(Algorithm::Aes128Gcm, Hash::Sha256, &secret).unwrap();
        let (h0, b0) = seal(0, b"HELP\r\n\x17");
        let (h1, b1) = seal(1, b"RNTO x\r\n\x17");
        assert!(opener.clone_seq_open(&h1, &b1).is_none(), "record 1 does not open as record 0");
        assert_eq!(opener.open(&h0, &b0).unwrap(), b"HELP\r\n\x17");
        assert_eq!(opener.open(&h1, &b1).unwrap(), b"RNTO x\r\n\x17");
        assert_eq!(opener.seq, 2);
    }

    impl RecordKey {
        fn clone_seq_open(&mut self, header: &[u8; 5], body: &[u8]) -> Option<Vec<u8>> {
            let seq = self.seq;
            let r = self.open(header, body);
            if r.is_none() {
                self.seq = seq;
            }
            r
        }
    }
}
