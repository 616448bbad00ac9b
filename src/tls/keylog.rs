//! NSS key log files (what `SSLKEYLOGFILE` makes for curl, Firefox and
//! GnuTLS clients, and Python's `keylog_filename`): the secrets of each TLS
//! session by its client random. A malformed line is reported with its file
//! and line number and skipped; the rest of the file is used.

use std::collections::HashMap;

/// The secrets logged for one TLS session.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// TLS 1.2 and earlier: `CLIENT_RANDOM` (48 bytes).
    pub master: Option<Vec<u8>>,
    /// TLS 1.3 handshake traffic secrets.
    pub client_handshake: Option<Vec<u8>>,
    pub server_handshake: Option<Vec<u8>>,
    /// TLS 1.3 first application traffic secrets.
    pub client_traffic: Option<Vec<u8>>,
    pub server_traffic: Option<Vec<u8>>,
}

/// Key material never reaches a report, a warning or a transcript: its
/// `Debug` says only which secrets are there.
impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("master", &self.master.is_some())
            .field("client_handshake", &self.client_handshake.is_some())
            .field("server_handshake", &self.server_handshake.is_some())
            .field("client_traffic", &self.client_traffic.is_some())
            .field("server_traffic", &self.server_traffic.is_some())
            .finish()
    }
}

/// Every session's secrets, by client random.
#[derive(Debug, Clone, Default)]
pub struct KeyLog {
    sessions: HashMap<[u8; 32], Secrets>,
}

/// Longest secret accepted (SHA-384 is 48 bytes).
const MAX_SECRET: usize = 64;

fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 2 * MAX_SECRET {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

impl KeyLog {
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// The secrets of the session whose ClientHello carried `client_random`.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.sessions.get(client_random)
    }

    /// Adds the lines of a key log; returns one message per malformed
    /// line, naming `name` and the line (never the secret).
    pub fn add(&mut self, name: &str, text: &str) -> Vec<String> {
        let mut problems = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Err(why) = self.add_line(line) {
                problems.push(format!("{name}:{}: {why}", n + 1));
            }
        }
        problems
    }

    fn add_line(&mut self, line: &str) -> Result<(), &'static str> {
        let mut fields = line.split_ascii_whitespace();
        let (Some(label), Some(random), Some(secret), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err("not `LABEL CLIENT_RANDOM SECRET`");
        };
        if label == "RSA" {
            // `RSA <first 8 bytes of the encrypted pre-master> <pre-master>`.
            return match (hex(random).map(|r| r.len()), hex(secret).map(|s| s.len())) {
                (Some(8), Some(48)) => Ok(()),
                _ => Err("an RSA line is 8 bytes of encrypted pre-master secret and a 48-byte pre-master secret"),
            };
        }
        let random = hex(random).ok_or("client random is not hex")?;
        let random: [u8; 32] = random.try_into().map_err(|_| "client random is not 32 bytes")?;
        let secret = hex(secret).ok_or("secret is not hex (or too long)")?;
        let entry = self.sessions.entry(random).or_default();
        let slot = match label {
            "CLIENT_RANDOM" => {
                if secret.len() != 48 {
                    return Err("a master secret is 48 bytes");
                }
                &mut entry.master
            }
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut entry.client_handshake,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut entry.server_handshake,
            "CLIENT_TRAFFIC_SECRET_0" => &mut entry.client_traffic,
            "SERVER_TRAFFIC_SECRET_0" => &mut entry.server_traffic,
            // Known labels this reader has no use for: the later traffic
            // secrets (`_N`, OpenSSL after a KeyUpdate) are derived from
            // `_0` as the KeyUpdate is read, and an `RSA` line (encrypted
            // pre-master secret) comes with the session's CLIENT_RANDOM.
            "EXPORTER_SECRET"
            | "EARLY_EXPORTER_SECRET"
            | "CLIENT_EARLY_TRAFFIC_SECRET"
            | "CLIENT_TRAFFIC_SECRET_N"
            | "SERVER_TRAFFIC_SECRET_N" => return Ok(()),
            _ => return Err("unknown label"),
        };
        *slot = Some(secret);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_generations_are_read_and_bad_lines_named() {
        let random = "ab".repeat(32);
        let text = format!(
            "# comment\nCLIENT_RANDOM {random} {}\nSERVER_TRAFFIC_SECRET_0 {random} {}\nCLIENT_RANDOM zz {}\nnonsense\nCLIENT_RANDOM {random} 0011\n",
            "11".repeat(48),
            "22".repeat(32),
            "11".repeat(48)
        );
        let mut log = KeyLog::default();
        let problems = log.add("keys.log", &text);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("keys.log:4: "), "{problems:?}");
        assert!(problems.iter().all(|p| !p.contains("1111")), "no secret in a message");
        let s = log.get(&[0xab; 32]).unwrap();
        assert_eq!(s.master.as_deref(), Some(&[0x11; 48][..]));
        assert_eq!(s.server_traffic.as_deref(), Some(&[0x22; 32][..]));
        assert!(!format!("{s:?}").contains("17"), "Debug shows no key bytes");
    }

    #[test]
    fn later_traffic_secrets_and_rsa_lines_are_known_labels() {
        let random = "cd".repeat(32);
        let text = format!(
            "CLIENT_TRAFFIC_SECRET_N {random} {s}\nSERVER_TRAFFIC_SECRET_N {random} {s}\nRSA {} {}\nRSA 0011 {}\n",
            "ee".repeat(8),
            "ff".repeat(48),
            "ff".repeat(48),
            s = "33".repeat(32)
        );
        let mut log = KeyLog::default();
        let problems = log.add("keys.log", &text);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("keys.log:4: an RSA line"), "{problems:?}");
    }
}
