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
    /// An AEAD suite: the algorithm and the hash of its key schedule.
    pub aead: Option<(Algorithm, Hash)>,
    /// An AES-CBC suite (TLS 1.1 and 1.2).
    pub cbc: Option<Cbc>,
}

/// The HMAC of a CBC suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacHash {
    Sha1,
    Sha256,
    Sha384,
}

impl MacHash {
    fn output_len(self) -> usize {
        match self {
            MacHash::Sha1 => 20,
            MacHash::Sha256 => 32,
            MacHash::Sha384 => 48,
        }
    }

    fn mac(self, key: &[u8], parts: &[&[u8]]) -> Option<Vec<u8>> {
        fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Option<Vec<u8>> {
            let mut m = <M as KeyInit>::new_from_slice(key).ok()?;
            for p in parts {
                m.update(p);
            }
            Some(m.finalize().into_bytes().to_vec())
        }
        match self {
            MacHash::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts),
            MacHash::Sha256 => run::<Hmac<Sha256>>(key, parts),
            MacHash::Sha384 => run::<Hmac<Sha384>>(key, parts),
        }
    }
}

/// What a CBC suite needs: AES key length, MAC, PRF hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cbc {
    pub key_len: usize,
    pub mac: MacHash,
    pub prf: Hash,
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
        _ => return cbc_suite(id),
    };
    Some(Suite { id, name, aead, cbc: None })
}

/// The AES-CBC suites (TLS 1.1 and 1.2): key length, MAC, PRF hash.
fn cbc_suite(id: u16) -> Option<Suite> {
    use MacHash::*;
    let (name, key_len, mac, prf) = match id {
        0x002f => ("TLS_RSA_WITH_AES_128_CBC_SHA", 16, Sha1, Hash::Sha256),
        0x0035 => ("TLS_RSA_WITH_AES_256_CBC_SHA", 32, Sha1, Hash::Sha256),
        0x003c => ("TLS_RSA_WITH_AES_128_CBC_SHA256", 16, Sha256, Hash::Sha256),
        0x003d => ("TLS_RSA_WITH_AES_256_CBC_SHA256", 32, Sha256, Hash::Sha256),
        0x0033 => ("TLS_DHE_RSA_WITH_AES_128_CBC_SHA", 16, Sha1, Hash::Sha256),
        0x0039 => ("TLS_DHE_RSA_WITH_AES_256_CBC_SHA", 32, Sha1, Hash::Sha256),
        0x0067 => ("TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", 16, Sha256, Hash::Sha256),
        0x006b => ("TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", 32, Sha256, Hash::Sha256),
        0xc009 => ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 16, Sha1, Hash::Sha256),
        0xc00a => ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 32, Sha1, Hash::Sha256),
        0xc013 => ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 16, Sha1, Hash::Sha256),
        0xc014 => ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 32, Sha1, Hash::Sha256),
        0xc023 => ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 16, Sha256, Hash::Sha256),
        0xc024 => ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", 32, Sha384, Hash::Sha384),
        0xc027 => ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 16, Sha256, Hash::Sha256),
        0xc028 => ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 32, Sha384, Hash::Sha384),
        _ => return None,
    };
    Some(Suite { id, name, aead: None, cbc: Some(Cbc { key_len, mac, prf }) })
}

enum Engine {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
    /// AES-CBC with an HMAC, MAC-then-encrypt or (RFC 7366)
    /// encrypt-then-MAC.
    Cbc {
        key: Vec<u8>,
        mac_key: Vec<u8>,
        mac: MacHash,
        encrypt_then_mac: bool,
    },
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

/// The `HkdfLabel` of HKDF-Expand-Label (RFC 8446 §7.1), empty context.
fn hkdf_label(label: &str, len: usize) -> Vec<u8> {
    let full = format!("tls13 {label}");
    let mut info = Vec::with_capacity(4 + full.len());
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push(full.len() as u8);
    info.extend_from_slice(full.as_bytes());
    info.push(0);
    info
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, for each
/// `(label, length)`: one HMAC key set-up for all of them.
fn expand_labels<const N: usize>(hash: Hash, secret: &[u8], labels: [(&str, usize); N]) -> Option<[Vec<u8>; N]> {
    macro_rules! run {
        ($h:ty) => {{
            let hk = Hkdf::<$h>::from_prk(secret).ok()?;
            let mut outs = Vec::with_capacity(N);
            for (label, len) in labels {
                let mut out = vec![0; len];
                hk.expand(&hkdf_label(label, len), &mut out).ok()?;
                outs.push(out);
            }
            outs
        }};
    }
    let out = match hash {
        Hash::Sha256 => run!(Sha256),
        Hash::Sha384 => run!(Sha384),
    };
    out.try_into().ok()
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label(hash: Hash, secret: &[u8], label: &str, len: usize) -> Option<Vec<u8>> {
    let [out] = expand_labels(hash, secret, [(label, len)])?;
    Some(out)
}

impl RecordKey {
    /// TLS 1.3: the record key of a traffic secret.
    pub fn tls13(algorithm: Algorithm, hash: Hash, secret: &[u8]) -> Option<RecordKey> {
        let [key, iv] = expand_labels(hash, secret, [("key", algorithm.key_len()), ("iv", 12)])?;
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

    /// TLS 1.2 with an AES-CBC suite: both directions' record keys.
    pub fn tls12_cbc(
        cbc: Cbc,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        encrypt_then_mac: bool,
    ) -> Option<(RecordKey, RecordKey)> {
        let mac_len = cbc.mac.output_len();
        let mut seed = Vec::with_capacity(64);
        seed.extend_from_slice(server_random);
        seed.extend_from_slice(client_random);
        // MAC keys, then encryption keys (the IVs are per record in 1.1+).
        let block = prf(cbc.prf, master, b"key expansion", &seed, 2 * mac_len + 2 * cbc.key_len)?;
        let (macs, keys) = block.split_at(2 * mac_len);
        let make = |mac_key: &[u8], key: &[u8]| RecordKey {
            engine: Engine::Cbc { key: key.to_vec(), mac_key: mac_key.to_vec(), mac: cbc.mac, encrypt_then_mac },
            iv: [0; 12],
            explicit_nonce: false,
            tls13: false,
            seq: 0,
        };
        Some((make(&macs[..mac_len], &keys[..cbc.key_len]), make(&macs[mac_len..], &keys[cbc.key_len..])))
    }

    /// Opens one CBC record: IV, ciphertext, padding, MAC checked.
    fn open_cbc(&mut self, header: &[u8; 5], body: &[u8]) -> Option<Vec<u8>> {
        let Engine::Cbc { key, mac_key, mac, encrypt_then_mac } = &self.engine else { return None };
        let seq = self.seq.to_be_bytes();
        let mac_len = mac.output_len();
        let check = |content: &[u8], tag: &[u8]| -> Option<()> {
            let len = (content.len() as u16).to_be_bytes();
            let want = mac.mac(mac_key, &[&seq, &header[..3], &len, content])?;
            // Not constant time: these are recorded sessions, not an oracle.
            (want == tag).then_some(())
        };
        let (protected, tag) = if *encrypt_then_mac {
            let split = body.len().checked_sub(mac_len)?;
            let (protected, tag) = body.split_at(split);
            check(protected, tag)?;
            (protected, None)
        } else {
            (body, Some(()))
        };
        if protected.len() < 32 || protected.len() % 16 != 0 {
            return None;
        }
        let (iv, ciphertext) = protected.split_at(16);
        let mut buf = ciphertext.to_vec();
        cbc_decrypt(key, iv, &mut buf)?;
        let pad = usize::from(*buf.last()?);
        let unpadded = buf.len().checked_sub(pad + 1)?;
        if buf[unpadded..].iter().any(|&b| usize::from(b) != pad) {
            return None;
        }
        buf.truncate(unpadded);
        if tag.is_some() {
            let split = buf.len().checked_sub(mac_len)?;
            let (content, tag) = buf.split_at(split);
            check(content, tag)?;
            buf.truncate(split);
        }
        self.seq += 1;
        Some(buf)
    }

    /// Opens one protected record (`header` is its 5-byte header, `body`
    /// the rest): the plaintext, with TLS 1.3's inner content type still
    /// at its end. None when it does not authenticate under this key at
    /// this sequence number; the sequence number moves on only on success.
    pub fn open(&mut self, header: &[u8; 5], body: &[u8]) -> Option<Vec<u8>> {
        if matches!(self.engine, Engine::Cbc { .. }) {
            return self.open_cbc(header, body);
        }
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
            Engine::Cbc { .. } => return None,
        };
        self.seq += 1;
        Some(plain)
    }
}

/// AES-CBC decryption in place (no padding removed: TLS checks its own).
fn cbc_decrypt(key: &[u8], iv: &[u8], buf: &mut [u8]) -> Option<()> {
    use cbc::cipher::{block_padding::NoPadding, BlockDecryptMut, KeyIvInit};
    match key.len() {
        16 => {
            cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv).ok()?.decrypt_padded_mut::<NoPadding>(buf).ok()?
        }
        32 => {
            cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv).ok()?.decrypt_padded_mut::<NoPadding>(buf).ok()?
        }
        _ => return None,
    };
    Some(())
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
