//! Client commands: `VERB[ SP argument]` (RFC 959 §5.3).

use super::lines::Line;
use crate::flow::Origin;

/// The longest verb kept; real verbs are 3 or 4 letters (`XMKD` etc.).
const MAX_VERB: usize = 16;

/// One command line as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Upper-cased verb (ASCII letters only); empty when the line does not
    /// start with one.
    pub verb: String,
    /// The line exactly as sent (Telnet sequences and line end removed).
    pub raw: Vec<u8>,
    /// Byte offset of the argument in `raw` (after the separating space).
    pub arg_start: usize,
    pub origin: Origin,
    /// The start of the line may be missing (it followed a gap).
    pub after_gap: bool,
    pub truncated: bool,
}

impl Command {
    pub fn parse(line: &Line<'_>) -> Option<Command> {
        if line.bytes.is_empty() {
            return None;
        }
        let verb_len = line.bytes.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        let rest = &line.bytes[verb_len..];
        let well_formed = verb_len > 0 && verb_len <= MAX_VERB && (rest.is_empty() || rest[0] == b' ');
        let verb = if well_formed {
            // ASCII letters only: always valid UTF-8.
            String::from_utf8(line.bytes[..verb_len].to_ascii_uppercase()).unwrap_or_default()
        } else {
            String::new()
        };
        let arg_start = if well_formed { (verb_len + 1).min(line.bytes.len()) } else { 0 };
        Some(Command {
            verb,
            raw: line.bytes.to_vec(),
            arg_start,
            origin: line.origin,
            after_gap: line.after_gap,
            truncated: line.truncated,
        })
    }

    pub fn arg(&self) -> &[u8] {
        &self.raw[self.arg_start.min(self.raw.len())..]
    }

    pub fn is(&self, verb: &str) -> bool {
        self.verb == verb
    }

    /// The line with a PASS (or ACCT) argument masked.
    /// [`Command::display_raw`] as two pieces to be joined, without
    /// copying: the line (or the part before a masked argument), and
    /// `****` or nothing.
    pub fn display_parts(&self, show_passwords: bool) -> [&[u8]; 2] {
        if !show_passwords && (self.is("PASS") || self.is("ACCT")) && !self.arg().is_empty() {
            return [&self.raw[..self.arg_start.min(self.raw.len())], b"****"];
        }
        [&self.raw, b""]
    }

    pub fn display_raw(&self, show_passwords: bool) -> Vec<u8> {
        self.display_parts(show_passwords).concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(b: &[u8]) -> Option<Command> {
        Command::parse(&Line {
            bytes: b,
            origin: Origin::default(),
            truncated: false,
            after_gap: false,
            unterminated: false,
            had_telnet: false,
        })
    }

    #[test]
    fn verbs_and_args() {
        let c = cmd(b"retr some file.txt").unwrap();
        assert_eq!(c.verb, "RETR");
        assert_eq!(c.arg(), b"some file.txt");
        let c = cmd(b"NOOP").unwrap();
        assert_eq!((c.verb.as_str(), c.arg()), ("NOOP", &b""[..]));
        let c = cmd(b"12x").unwrap();
        assert_eq!(c.verb, "");
        assert!(cmd(b"").is_none());
    }

    #[test]
    fn password_masked() {
        let c = cmd(b"PASS hunter2").unwrap();
        assert_eq!(c.display_raw(false), b"PASS ****");
        assert_eq!(c.display_raw(true), b"PASS hunter2");
        assert_eq!(cmd(b"PASS").unwrap().display_raw(false), b"PASS");
    }
}
