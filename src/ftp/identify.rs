//! What a server says about itself: the software named in its greeting
//! banner, and the commands its HELP reply lists. Nothing is guessed beyond
//! what the server wrote.

use crate::ftp::command::{Verb, KNOWN_VERBS, MAX_KNOWN_VERBS};
use crate::ftp::reply::Lines;

/// Server software names as they appear in banners (matched without regard
/// to case: operators write their own greetings), and how we print them.
/// Longer, more specific names first.
const KNOWN_SERVERS: &[(&str, &str)] = &[
    ("FileZilla Server", "FileZilla Server"),
    ("Microsoft FTP Service", "Microsoft FTP Service"),
    ("Microsoft FTP Server", "Microsoft FTP Service"),
    ("Version wu-", "wu-ftpd"),
    ("wu-ftpd", "wu-ftpd"),
    ("WS_FTP Server", "WS_FTP Server"),
    ("Titan FTP Server", "Titan FTP Server"),
    ("GNU inetutils", "inetutils ftpd"),
    ("inetutils", "inetutils ftpd"),
    ("Serv-U", "Serv-U"),
    ("CrushFTP", "CrushFTP"),
    ("glFTPd", "glFTPd"),
    ("vsFTPd", "vsFTPd"),
    ("ProFTPD", "ProFTPD"),
    ("Pure-FTPd", "Pure-FTPd"),
    ("pyftpdlib", "pyftpdlib"),
    ("bftpd", "bftpd"),
    ("BusyBox", "BusyBox ftpd"),
    ("Twisted", "Twisted"),
    ("ftp-srv", "ftp-srv"),
    ("Microsoft", "Microsoft FTP Service"),
];

/// The server software named in a greeting banner, with its version when the
/// banner gives one right after the name (`vsFTPd 3.0.3`).
pub fn server_software(banner: &[u8]) -> Option<String> {
    for (needle, name) in KNOWN_SERVERS {
        // A plain byte scan: banners are short, and a `str` pattern search
        // sets up a searcher per needle, once per session.
        let Some(at) = find(banner, needle.as_bytes()) else { continue };
        let text = String::from_utf8_lossy(&banner[at + needle.len()..]);
        let mut rest = text.trim_start_matches([' ', '/', '(']);
        // `Serv-U FTP Server v15.1`: the version after the product's words.
        for words in ["FTP Server ", "FTP server ", "ftp server "] {
            rest = rest.strip_prefix(words).unwrap_or(rest);
        }
        for prefix in ["version ", "Version ", "v"] {
            if let Some(r) = rest.strip_prefix(prefix).filter(|r| r.starts_with(|c: char| c.is_ascii_digit())) {
                rest = r;
                break;
            }
        }
        rest = rest.strip_prefix("version ").unwrap_or(rest);
        let version: String =
            rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-' || *c == '_').collect();
        let version = version.trim_end_matches(['.', '-']);
        if version.starts_with(|c: char| c.is_ascii_digit()) {
            return Some(format!("{name} {version}"));
        }
        return Some(name.to_string());
    }
    None
}

/// Replies whose wording (from the servers' sources, checked on the
/// recordings in samples/) names the software when the banner does not:
/// (code, how the reply's last line starts, the `server_software` value).
/// The value says the evidence was a reply's phrasing, never the banner.
const REPLY_PHRASES: &[(u16, &str, &str)] = &[
    (331, "331 Please specify the password.", "vsFTPd (from its 331 reply)"),
    (214, "214 Help OK.", "vsFTPd (from its 214 reply)"),
    (350, "350 Ready for RNTO.", "vsFTPd (from its 350 reply)"),
    (503, "503 RNFR required first.", "vsFTPd (from its 503 reply)"),
    (500, "500 OOPS: ", "vsFTPd (from its 500 reply)"),
    (530, "530 Please login with USER and PASS.", "vsFTPd (from its 530 reply)"),
    (230, "230 OK. Current directory is ", "Pure-FTPd (from its 230 reply)"),
    (214, "214 Pure-FTPd", "Pure-FTPd (from its 214 reply)"),
    (503, "503 Need RNFR before RNTO", "Pure-FTPd (from its 503 reply)"),
    (530, "530 Please tell me who you are", "Pure-FTPd (from its 530 reply)"),
    (331, "331 Username ok, send password.", "pyftpdlib (from its 331 reply)"),
    (214, "214 Help command successful.", "pyftpdlib (from its 214 reply)"),
    (503, "503 Bad sequence of commands: use RNFR first.", "pyftpdlib (from its 503 reply)"),
    (350, "350 File or directory exists, ready for destination name", "ProFTPD (from its 350 reply)"),
    (500, "500 Illegal PORT command, EPSV ALL in effect", "ProFTPD (from its 500 reply)"),
    (331, "331 User name okay, need password.", "Serv-U (from its 331 reply)"),
    (230, "230 User logged in, proceed.", "Serv-U (from its 230 reply)"),
    (215, "215 UNIX emulated by FileZilla", "FileZilla Server (from its 215 reply)"),
    (215, "215 Windows_NT", "Microsoft FTP Service (from its 215 reply)"),
];

/// Codes some [`REPLY_PHRASES`] entry has: a cheap test before any text.
pub fn may_name_software(code: u16) -> bool {
    matches!(code, 214 | 215 | 230 | 331 | 350 | 500 | 503 | 530)
}

/// The software a reply's wording names (see [`REPLY_PHRASES`]), from the
/// last line of a reply with `code`.
pub fn software_from_reply(code: u16, last_line: &[u8]) -> Option<&'static str> {
    phrase_index(code, last_line).and_then(phrase_software)
}

/// Which [`REPLY_PHRASES`] entry a reply matches: a session keeps this
/// byte, not the name (sessions stay within their allocation size).
pub fn phrase_index(code: u16, last_line: &[u8]) -> Option<u8> {
    if !may_name_software(code) {
        return None;
    }
    let i = REPLY_PHRASES.iter().position(|(c, phrase, _)| *c == code && last_line.starts_with(phrase.as_bytes()))?;
    u8::try_from(i).ok()
}

/// The `server_software` value of [`REPLY_PHRASES`] entry `i`.
pub fn phrase_software(i: u8) -> Option<&'static str> {
    REPLY_PHRASES.get(usize::from(i)).map(|e| e.2)
}

/// Where `needle` (not empty) first occurs in `hay`, ASCII letters matched
/// without regard to case: windows compared in full only where the first
/// byte matches (banners are short, needles few).
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle.first()?.to_ascii_lowercase();
    hay.windows(needle.len()).position(|w| w[0].to_ascii_lowercase() == first && w.eq_ignore_ascii_case(needle))
}

/// A token that names a command in a HELP list: 2 to 8 upper-case ASCII
/// letters, optionally followed by `*` (proftpd's "unimplemented" mark).
fn command_token(tok: &[u8]) -> Option<(&[u8], bool)> {
    let (name, unimplemented) = match tok.strip_suffix(b"*") {
        Some(n) => (n, true),
        None => (tok, false),
    };
    let ok = (2..=8).contains(&name.len()) && name.iter().all(u8::is_ascii_uppercase);
    ok.then_some((name, unimplemented))
}

/// ASCII whitespace as Unicode counts it (`u8::is_ascii_whitespace` leaves
/// out the vertical tab).
fn is_space(b: &u8) -> bool {
    b.is_ascii_whitespace() || *b == 0x0b
}

fn tokens(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(is_space).filter(|t| !t.is_empty())
}

/// A reply line with every Unicode whitespace character turned into a
/// space, so that the byte-level tokenizer splits where `split_whitespace`
/// would (a no-break space between two names separates them). Lines that
/// are plain ASCII, nearly all of them, are used as they are.
fn spaced(line: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if line.is_ascii() {
        return std::borrow::Cow::Borrowed(line);
    }
    let text: String = String::from_utf8_lossy(line).chars().map(|c| if c.is_whitespace() { ' ' } else { c }).collect();
    std::borrow::Cow::Owned(text.into_bytes())
}

/// The commands a HELP reply lists, in listed order, each once. A name is at
/// most 8 ASCII letters, so it packs into a `u64`: the duplicate and
/// membership checks are scans over integers (HELP lists run to a hundred
/// names, and a list is read for every 214).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelpList {
    keys: Vec<u64>,
    /// The names, space-separated, as the report prints them.
    pub names: String,
}

/// A command name (at most 8 bytes) as one integer; None if longer.
fn name_key(name: &[u8]) -> Option<u64> {
    (name.len() <= 8).then(|| name.iter().fold(0u64, |k, b| k << 8 | u64::from(*b)))
}

/// Most verbs outside the known list a [`VerbSet`] keeps: a client sending
/// garbage must not grow it without bound.
pub const MAX_OTHER_VERBS: usize = 256;

/// The verbs a client used, each once: the known ones
/// ([`KNOWN_VERBS`]) as bits, the others
/// apart. Small on purpose: every session holds one, and a flood of
/// sessions holds thousands at once; a session using only known verbs
/// allocates nothing for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerbSet {
    /// Bit `i` of the 128: `KNOWN_VERBS[i]` was used.
    known: [u64; 2],
    others: Option<Box<OtherVerbs>>,
}

/// Verbs outside the known list: those of up to 8 bytes, none of them NUL,
/// packed into a `u64` (as in [`HelpList`]), the rest as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct OtherVerbs {
    packed: Vec<u64>,
    text: Vec<String>,
}

impl VerbSet {
    pub fn len(&self) -> usize {
        let known = self.known.iter().map(|w| w.count_ones() as usize).sum::<usize>();
        known + self.others.as_ref().map_or(0, |o| o.packed.len() + o.text.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds `verb`; verbs other than the known ones are kept up to
    /// [`MAX_OTHER_VERBS`].
    pub fn insert(&mut self, verb: &Verb) {
        if let Some(i) = verb.known_index().filter(|&i| i < MAX_KNOWN_VERBS) {
            if let Some(word) = self.known.get_mut(i / 64) {
                *word |= 1 << (i % 64);
            }
            return;
        }
        let others = self.others.get_or_insert_with(Default::default);
        if others.packed.len() + others.text.len() >= MAX_OTHER_VERBS {
            return;
        }
        let verb = verb.as_str();
        match name_key(verb.as_bytes()).filter(|_| !verb.as_bytes().contains(&0)) {
            Some(key) if !others.packed.contains(&key) => others.packed.push(key),
            Some(_) => {}
            None if !others.text.iter().any(|v| v == verb) => others.text.push(verb.to_string()),
            None => {}
        }
    }

    /// The known verbs in the set, as text.
    fn known_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        KNOWN_VERBS.iter().enumerate().filter(|(i, _)| self.known[i / 64] & (1 << (i % 64)) != 0).map(|(_, v)| *v)
    }

    fn packed(&self) -> &[u64] {
        self.others.as_ref().map_or(&[], |o| &o.packed)
    }

    fn text(&self) -> &[String] {
        self.others.as_ref().map_or(&[], |o| &o.text)
    }

    /// The verbs `list` does not name, sorted. Packed verbs are checked
    /// against the list's packed names before any is turned back into text.
    pub fn unlisted(&self, list: &HelpList) -> Vec<String> {
        let mut out: Vec<String> = self
            .known_names()
            .filter(|v| !list.contains(v))
            .map(String::from)
            .chain(self.packed().iter().filter(|key| !list.keys.contains(key)).map(unpack))
            .chain(self.text().iter().filter(|v| !list.contains(v)).cloned())
            .collect();
        out.sort_unstable();
        out
    }

    /// The verbs, sorted.
    pub fn sorted(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .known_names()
            .map(String::from)
            .chain(self.packed().iter().map(unpack))
            .chain(self.text().iter().cloned())
            .collect();
        all.sort_unstable();
        all
    }
}

/// A packed name back to text.
fn unpack(key: &u64) -> String {
    let bytes: Vec<u8> = key.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl HelpList {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether the list names `verb` (upper case, as commands are parsed).
    pub fn contains(&self, verb: &str) -> bool {
        name_key(verb.as_bytes()).is_some_and(|k| self.keys.contains(&k))
    }

    fn push(&mut self, name: &[u8]) {
        let Some(key) = name_key(name) else { return };
        if !self.keys.contains(&key) {
            self.keys.push(key);
            if !self.names.is_empty() {
                self.names.push(' ');
            }
            // command_token admits ASCII letters only.
            self.names.extend(name.iter().map(|b| char::from(*b)));
        }
    }

    /// Pushes every name of a line made only of command tokens; returns
    /// false (pushing nothing) when any token is not one.
    fn push_if_all_commands(&mut self, line: &[u8]) -> bool {
        let mut names = [(&[][..], false); 32];
        let mut count = 0;
        for token in tokens(line) {
            match (command_token(token), names.get_mut(count)) {
                (Some(name), Some(slot)) => *slot = name,
                // Not a command, or a line longer than any real HELP row:
                // read the line the slow way.
                (Some(_), None) => return self.push_if_all_commands_slow(line),
                (None, _) => return false,
            }
            count += 1;
        }
        for &(name, unimplemented) in &names[..count] {
            if !unimplemented {
                self.push(name);
            }
        }
        count > 0
    }

    fn push_if_all_commands_slow(&mut self, line: &[u8]) -> bool {
        if !tokens(line).all(|t| command_token(t).is_some()) {
            return false;
        }
        for (name, unimplemented) in tokens(line).filter_map(command_token) {
            if !unimplemented {
                self.push(name);
            }
        }
        true
    }
}

/// The commands a 214 reply says the server recognises, upper case, in the
/// order listed. Multi-line lists are read from the lines between the first
/// and the last: a line of command-like tokens (vsftpd, pyftpdlib, proftpd
/// tables) gives all of them, a line like `CPFR <sp> pathname` gives its
/// first word. A one-line `214 Syntax: USER …` (HELP CMD) gives that command.
/// Commands marked unimplemented are left out.
///
/// The last few lists read are remembered (per thread): a server answers
/// HELP with the same text in every session, and a busy capture holds
/// thousands of those replies from a handful of servers. Replies over
/// `MEMO_MAX_BYTES` are read each time.
pub fn help_commands(lines: Lines<'_>) -> HelpList {
    type Memo = std::cell::RefCell<(Vec<((Vec<u8>, Vec<usize>), HelpList)>, usize)>;
    thread_local! {
        static MEMO: Memo = Default::default();
    }
    if lines.text().len() > MEMO_MAX_BYTES {
        return parse_help_commands(lines);
    }
    MEMO.with(|memo| {
        let (entries, next) = &mut *memo.borrow_mut();
        if let Some((_, list)) =
            entries.iter().find(|((text, joins), _)| text == lines.text() && joins == lines.joins())
        {
            return list.clone();
        }
        let list = parse_help_commands(lines);
        let entry = ((lines.text().to_vec(), lines.joins().to_vec()), list.clone());
        // Round robin over a few slots: enough for the servers of one capture.
        if entries.len() < MEMO_ENTRIES {
            entries.push(entry);
        } else {
            entries[*next % MEMO_ENTRIES] = entry;
            *next += 1;
        }
        list
    })
}

/// Largest HELP reply [`help_commands`] remembers, and how many it does.
const MEMO_MAX_BYTES: usize = 1 << 16;
const MEMO_ENTRIES: usize = 8;

fn parse_help_commands(lines: Lines<'_>) -> HelpList {
    let mut out = HelpList::default();
    out.names.reserve(lines.text().len().min(1 << 16));
    if lines.len() <= 1 {
        let line = spaced(lines.first());
        let body = line.get(4..).unwrap_or_default();
        let body = &body[body.iter().take_while(|b| is_space(b)).count()..];
        if let Some(rest) = body.strip_prefix(b"Syntax:") {
            if let Some((name, false)) = tokens(rest).next().and_then(command_token) {
                out.push(name);
            }
        } else {
            // `214 CHMOD UMASK HELP` (vsftpd's SITE HELP): a bare list.
            out.push_if_all_commands(body);
        }
        return out;
    }
    for line in lines.iter().skip(1).take(lines.len() - 2) {
        let line = spaced(line);
        if !out.push_if_all_commands(&line) {
            if let Some((name, false)) = tokens(&line).next().and_then(command_token) {
                out.push(name);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Origin;
    use crate::ftp::reply::Reply;

    proptest::proptest! {
        /// The memo never hands back another reply's list, whatever the
        /// order replies come in and however many distinct ones there are.
        #[test]
        fn help_memo_matches_parsing(picks in proptest::collection::vec(0usize..12, 1..40)) {
            let replies: Vec<Reply> = (0..12)
                .map(|i| {
                    let names = ["USER", "PASS", "RETR", "STOR", "LIST", "NOOP", "HELP", "QUIT"];
                    let body: Vec<u8> = names.iter().cycle().skip(i).take(3 + i % 4).flat_map(|n| format!(" {n}").into_bytes()).collect();
                    Reply::from_lines(214, &[b"214-Commands:".to_vec(), body, b"214 OK".to_vec()], Origin::default())
                })
                .collect();
            for i in picks {
                proptest::prop_assert_eq!(help_commands(replies[i].lines()), parse_help_commands(replies[i].lines()));
            }
        }

        /// A VerbSet holds what a BTreeSet of the same verbs holds.
        #[test]
        fn verb_set_matches_btreeset(verbs in proptest::collection::vec("USER|PASS|RETR|ABOR|XRMD|[A-Z]{0,10}|\\PC{0,4}|\0?[A-C]{1,3}", 0..12)) {
            let mut set = VerbSet::default();
            let mut model = std::collections::BTreeSet::new();
            for v in &verbs {
                set.insert(&Verb::named(v));
                model.insert(v.clone());
            }
            proptest::prop_assert_eq!(set.len(), model.len());
            let list = help_commands(Reply::from_lines(214, &[b"214 USER PASS RETR ABC"], Origin::default()).lines());
            let unlisted: Vec<String> = model.iter().filter(|v| !list.contains(v)).cloned().collect();
            proptest::prop_assert_eq!(set.unlisted(&list), unlisted);
            proptest::prop_assert_eq!(set.sorted(), model.into_iter().collect::<Vec<_>>());
        }
    }

    /// The HELP list of a reply with `text`'s lines.
    fn help(text: &str) -> HelpList {
        let lines: Vec<&str> = text.lines().collect();
        help_commands(Reply::from_lines(214, &lines, Origin::default()).lines())
    }

    #[test]
    fn banners() {
        assert_eq!(server_software(b"220 (vsFTPd 3.0.3)").as_deref(), Some("vsFTPd 3.0.3"));
        assert_eq!(server_software(b"220 pyftpdlib 2.2.0 ready.").as_deref(), Some("pyftpdlib 2.2.0"));
        assert_eq!(server_software(b"220 ProFTPD Server (ftpcap ProFTPD) [127.0.0.1]").as_deref(), Some("ProFTPD"));
        assert_eq!(server_software(b"220 ProFTPD 1.3.8 Server ready.").as_deref(), Some("ProFTPD 1.3.8"));
        assert_eq!(
            server_software(b"220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------").as_deref(),
            Some("Pure-FTPd")
        );
        assert_eq!(
            server_software(b"220 FileZilla Server version 0.9.60 beta").as_deref(),
            Some("FileZilla Server 0.9.60")
        );
        assert_eq!(server_software(b"220 Microsoft FTP Service").as_deref(), Some("Microsoft FTP Service"));
        assert_eq!(server_software(b"220 ready"), None);
        // Operators' own greetings: any case, other servers.
        assert_eq!(server_software(b"220 Welcome to ACME (vsftpd 3.0.5)").as_deref(), Some("vsFTPd 3.0.5"));
        assert_eq!(server_software(b"220 Serv-U FTP Server v15.1 ready...").as_deref(), Some("Serv-U 15.1"));
        assert_eq!(
            server_software(b"220 host FTP server (Version wu-2.6.2(1) Mon Dec 3) ready.").as_deref(),
            Some("wu-ftpd 2.6.2")
        );
        assert_eq!(server_software(b"220 glFTPd 2.01 linux+TLS").as_deref(), Some("glFTPd 2.01"));
        assert_eq!(server_software(b"220-FileZilla Server 1.8.0").as_deref(), Some("FileZilla Server 1.8.0"));
        assert_eq!(server_software(b"220 CrushFTP Server Ready!").as_deref(), Some("CrushFTP"));
        assert_eq!(server_software(b"220 Titan FTP Server 19.00 Ready.").as_deref(), Some("Titan FTP Server 19.00"));
        assert_eq!(server_software(b"220 WS_FTP Server 8.6(12345)").as_deref(), Some("WS_FTP Server 8.6"));
        assert_eq!(server_software(b"220 bftpd 6.1 at 10.0.0.1 ready.").as_deref(), Some("bftpd 6.1"));
        assert_eq!(
            server_software(b"220 box FTP server (GNU inetutils 2.4) ready.").as_deref(),
            Some("inetutils ftpd 2.4")
        );
        assert_eq!(server_software(b"220 Twisted 22.10.0 FTP Server").as_deref(), Some("Twisted 22.10.0"));
        assert_eq!(server_software(b"220 ftp-srv ready").as_deref(), Some("ftp-srv"));
    }

    #[test]
    fn software_from_the_phrasing_of_replies() {
        assert_eq!(software_from_reply(331, b"331 Please specify the password."), Some("vsFTPd (from its 331 reply)"));
        assert_eq!(
            software_from_reply(230, b"230 OK. Current directory is /home/x"),
            Some("Pure-FTPd (from its 230 reply)")
        );
        assert_eq!(
            software_from_reply(331, b"331 Username ok, send password."),
            Some("pyftpdlib (from its 331 reply)")
        );
        // The code must match the phrase's, and generic wording names nobody.
        assert_eq!(software_from_reply(230, b"331 Please specify the password."), None);
        assert_eq!(software_from_reply(226, b"226 Transfer complete."), None);
        assert_eq!(software_from_reply(230, b"230 Login successful."), None);
    }

    #[test]
    fn help_lists_of_real_servers() {
        let vsftpd = "214-The following commands are recognized.\n ABOR ACCT ALLO\n XPWD XRMD\n214 Help OK.";
        assert_eq!(help(vsftpd).names, "ABOR ACCT ALLO XPWD XRMD");
        let proftpd = "214-The following commands are recognized (* =>'s unimplemented):\n CWD     XCWD    SMNT*   QUIT\n214 Direct comments to root@127.0.0.1";
        assert_eq!(help(proftpd).names, "CWD XCWD QUIT");
        let site = "214-The following SITE commands are recognized (* =>'s unimplemented)\n CPFR <sp> pathname\n HELP\n214 Direct comments";
        assert_eq!(help(site).names, "CPFR HELP");
        assert_eq!(help("214 Syntax: USER <SP> user-name (set username).").names, "USER");
        assert!(help("214 Help OK.").is_empty());
        assert_eq!(help("214 CHMOD UMASK HELP").names, "CHMOD UMASK HELP");
        assert!(help("214 CHMOD umask HELP").is_empty());
        // Whitespace as `split_whitespace` sees it: vertical tab, no-break space.
        assert_eq!(help("214-x\n\x0bUSER\n214 end").names, "USER");
        assert_eq!(help("214-x\n USER\u{a0}PASS\n214 end").names, "USER PASS");
        let long_row: String = (0..40)
            .map(|i| format!(" C{}", char::from(b'A' + (i % 26) as u8).to_string().repeat(1 + i / 26)))
            .collect();
        assert_eq!(help(&format!("214-x\n{long_row}\n214 end")).keys.len(), 40);
        let list = help("214-x\n USER PASS\n214 end");
        assert!(list.contains("USER") && list.contains("PASS"));
        assert!(!list.contains("USE") && !list.contains("USERPASSX") && !list.contains(""));
        assert_eq!(help("214-x\n CWD CWD\u{e9} QUIT CWD\n214 end").names, "CWD");
        assert_eq!(help("214-x\n USER PASS\n PASS ACCT*\n214 end").names, "USER PASS");
    }
}
