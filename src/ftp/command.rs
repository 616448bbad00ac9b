//! Client commands: `VERB[ SP argument]` (RFC 959 §5.3).

use super::lines::Line;
use crate::flow::Origin;

/// The longest verb kept; real verbs are 3 or 4 letters (`XMKD` etc.).
const MAX_VERB: usize = 16;

/// The verbs of the FTP RFCs and the common extensions: a command with one
/// of these names it without an allocation of its own.
pub const KNOWN_VERBS: &[&str] = &[
    "ABOR", "ACCT", "ADAT", "ALLO", "APPE", "AUTH", "AVBL", "CCC", "CDUP", "CLNT", "CONF", "CSID", "CWD", "DELE",
    "DSIZ", "ENC", "EPRT", "EPSV", "FEAT", "HASH", "HELP", "HOST", "LANG", "LIST", "LPRT", "LPSV", "MDTM", "MFCT",
    "MFF", "MFMT", "MIC", "MKD", "MLSD", "MLST", "MODE", "NLST", "NOOP", "OPTS", "PASS", "PASV", "PBSZ", "PORT",
    "PROT", "PWD", "QUIT", "REIN", "REST", "RETR", "RMD", "RMDA", "RNFR", "RNTO", "SITE", "SIZE", "SMNT", "SPSV",
    "STAT", "STOR", "STOU", "STRU", "SYST", "THMB", "TYPE", "USER", "XCRC", "XCUP", "XCWD", "XMKD", "XPWD", "XRMD",
];

/// Known verbs: at most this many, so that a set of them fits a `u128`.
pub const MAX_KNOWN_VERBS: usize = 128;

/// Slots of [`known_verbs`]' table: a power of two, about four per verb.
const VERB_SLOTS: usize = 256;

/// The slot a packed verb starts probing at.
fn verb_slot(key: u64) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize % VERB_SLOTS
}

/// [`KNOWN_VERBS`] by their letters packed into an integer (0 for an
/// empty slot), each with its index in the list: an open-addressing table,
/// so that a verb is found with a probe or two instead of a binary search's
/// chain of dependent loads (once per command).
fn known_verbs() -> &'static [(u64, u8); VERB_SLOTS] {
    static TABLE: std::sync::OnceLock<[(u64, u8); VERB_SLOTS]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [(0u64, 0u8); VERB_SLOTS];
        for (verb, index) in KNOWN_VERBS.iter().zip(0u8..) {
            let key = verb.bytes().fold(0u64, |k, b| k << 8 | u64::from(b));
            let mut slot = verb_slot(key);
            while table[slot].0 != 0 {
                slot = (slot + 1) % VERB_SLOTS;
            }
            table[slot] = (key, index);
        }
        table
    })
}

/// A command's verb, upper case: a known verb by its index in
/// [`KNOWN_VERBS`], another one owned.
#[derive(Clone, PartialEq, Eq)]
pub enum Verb {
    Known { name: &'static str, index: u8 },
    Other(Box<str>),
}

impl Verb {
    /// The verb of `letters` (ASCII letters).
    fn of(letters: &[u8]) -> Verb {
        let key =
            (letters.len() <= 8).then(|| letters.iter().fold(0u64, |k, b| k << 8 | u64::from(b.to_ascii_uppercase())));
        if let Some(key) = key.filter(|&k| k != 0) {
            let known = known_verbs();
            let mut slot = verb_slot(key);
            // The table is at most half full: an empty slot ends every probe.
            while let Some(&(k, index)) = known.get(slot).filter(|(k, _)| *k != 0) {
                if k == key {
                    return Verb::Known {
                        name: KNOWN_VERBS.get(usize::from(index)).copied().unwrap_or_default(),
                        index,
                    };
                }
                slot = (slot + 1) % VERB_SLOTS;
            }
        }
        Verb::Other(String::from_utf8_lossy(&letters.to_ascii_uppercase()).into())
    }

    pub fn as_str(&self) -> &str {
        match self {
            Verb::Known { name, .. } => name,
            Verb::Other(s) => s,
        }
    }

    /// The verb `name` (already upper case), known or not.
    pub fn named(name: &str) -> Verb {
        match KNOWN_VERBS.binary_search(&name) {
            Ok(i) => Verb::Known { name: KNOWN_VERBS[i], index: i as u8 },
            Err(_) => Verb::Other(name.into()),
        }
    }

    /// Its index in [`KNOWN_VERBS`], if it is one of them.
    pub fn known_index(&self) -> Option<usize> {
        match self {
            Verb::Known { index, .. } => Some(usize::from(*index)),
            Verb::Other(_) => None,
        }
    }
}

impl Default for Verb {
    fn default() -> Self {
        Verb::Other("".into())
    }
}

impl std::ops::Deref for Verb {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for Verb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl PartialEq<str> for Verb {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Verb {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Bytes kept inline when short (most command lines), on the heap when not.
#[derive(Clone, PartialEq, Eq)]
pub enum LineBytes {
    Inline { len: u8, bytes: [u8; INLINE_LINE] },
    Heap(Box<[u8]>),
}

/// Longest command line kept inline.
const INLINE_LINE: usize = 38;

impl LineBytes {
    fn of(line: &[u8]) -> LineBytes {
        if line.len() <= INLINE_LINE {
            // Filled in place: a copied-in array would be read back in
            // other widths than memcpy wrote it, which stalls the load.
            let mut inline = LineBytes::Inline { len: line.len() as u8, bytes: [0u8; INLINE_LINE] };
            if let LineBytes::Inline { bytes, .. } = &mut inline {
                bytes[..line.len()].copy_from_slice(line);
            }
            inline
        } else {
            LineBytes::Heap(line.into())
        }
    }
}

impl std::ops::Deref for LineBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            LineBytes::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            LineBytes::Heap(b) => b,
        }
    }
}

impl std::fmt::Debug for LineBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl PartialEq<[u8]> for LineBytes {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl PartialEq<Vec<u8>> for LineBytes {
    fn eq(&self, other: &Vec<u8>) -> bool {
        **self == **other
    }
}

/// One command line as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Upper-cased verb (ASCII letters only); empty when the line does not
    /// start with one.
    pub verb: Verb,
    /// The line exactly as sent (Telnet sequences and line end removed).
    pub raw: LineBytes,
    /// Byte offset of the argument in `raw` (after the separating space).
    pub arg_start: usize,
    pub origin: Origin,
    /// The start of the line may be missing (it followed a gap).
    pub after_gap: bool,
    pub truncated: bool,
    /// The line has no line end: a gap or a snaplen cut it (or the stream
    /// ended), so its text is partial.
    pub cut: bool,
}

impl Command {
    pub fn parse(line: &Line<'_>) -> Option<Command> {
        if line.bytes.is_empty() {
            return None;
        }
        let verb_len = line.bytes.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        let rest = &line.bytes[verb_len..];
        let well_formed = verb_len > 0 && verb_len <= MAX_VERB && (rest.is_empty() || rest[0] == b' ');
        let verb = if well_formed { Verb::of(&line.bytes[..verb_len]) } else { Verb::default() };
        let arg_start = if well_formed { (verb_len + 1).min(line.bytes.len()) } else { 0 };
        Some(Command {
            verb,
            raw: LineBytes::of(line.bytes),
            arg_start,
            origin: line.origin,
            after_gap: line.after_gap,
            truncated: line.truncated,
            cut: line.unterminated,
        })
    }

    pub fn arg(&self) -> &[u8] {
        &self.raw[self.arg_start.min(self.raw.len())..]
    }

    pub fn is(&self, verb: &str) -> bool {
        self.verb.as_str() == verb
    }

    /// The line with a PASS (or ACCT) argument masked.
    /// [`Command::display_raw`] as two pieces to be joined, without
    /// copying: the line (or the part before a masked argument), and
    /// `****` or nothing.
    pub fn display_parts(&self, show_passwords: bool) -> [&[u8]; 2] {
        if !show_passwords && (self.is("PASS") || self.is("ACCT")) && !self.arg().is_empty() {
            return [&self.raw[..self.arg_start.min(self.raw.len())], b"****"];
        }
        [&*self.raw, b""]
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
            after_cut: false,
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
    fn known_verbs_are_sorted_and_found() {
        assert!(KNOWN_VERBS.windows(2).all(|w| w[0] < w[1]), "KNOWN_VERBS must stay sorted");
        assert!(KNOWN_VERBS.len() <= MAX_KNOWN_VERBS);
        assert!(KNOWN_VERBS.len() * 2 <= VERB_SLOTS, "the verb table must stay at most half full");
        for unknown in [&b"FROB"[..], b"X", b"ABORT", b"QUITX", b"ZZZZZZZZ"] {
            assert!(matches!(Verb::of(unknown), Verb::Other(_)));
        }
        for v in KNOWN_VERBS {
            let verb = Verb::of(v.to_ascii_lowercase().as_bytes());
            assert!(matches!(verb, Verb::Known { .. }));
            assert_eq!(verb.as_str(), *v);
        }
        assert!(matches!(Verb::of(b"Frob"), Verb::Other(s) if &*s == "FROB"));
        let long = cmd(b"RETR a-file-name-longer-than-the-inline-room.txt").unwrap();
        assert_eq!(long.raw, b"RETR a-file-name-longer-than-the-inline-room.txt".to_vec());
        assert_eq!(long.arg(), b"a-file-name-longer-than-the-inline-room.txt");
    }

    #[test]
    fn password_masked() {
        let c = cmd(b"PASS hunter2").unwrap();
        assert_eq!(c.display_raw(false), b"PASS ****");
        assert_eq!(c.display_raw(true), b"PASS hunter2");
        assert_eq!(cmd(b"PASS").unwrap().display_raw(false), b"PASS");
    }
}
