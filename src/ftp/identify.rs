//! What a server says about itself: the software named in its greeting
//! banner, and the commands its HELP reply lists. Nothing is guessed beyond
//! what the server wrote.

/// Server software names as they appear in banners, and how we print them.
const KNOWN_SERVERS: &[(&str, &str)] = &[
    ("vsFTPd", "vsFTPd"),
    ("ProFTPD", "ProFTPD"),
    ("Pure-FTPd", "Pure-FTPd"),
    ("pyftpdlib", "pyftpdlib"),
    ("FileZilla Server", "FileZilla Server"),
    ("Microsoft FTP Service", "Microsoft FTP Service"),
];

/// The server software named in a greeting banner, with its version when the
/// banner gives one right after the name (`vsFTPd 3.0.3`).
pub fn server_software(banner: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(banner);
    for (needle, name) in KNOWN_SERVERS {
        let Some(at) = text.find(needle) else { continue };
        let mut rest = text[at + needle.len()..].trim_start_matches([' ', '/']);
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

/// A token that names a command in a HELP list: 2 to 8 upper-case ASCII
/// letters, optionally followed by `*` (proftpd's "unimplemented" mark).
fn command_token(tok: &str) -> Option<(&str, bool)> {
    let (name, unimplemented) = match tok.strip_suffix('*') {
        Some(n) => (n, true),
        None => (tok, false),
    };
    let ok = (2..=8).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_uppercase());
    ok.then_some((name, unimplemented))
}

/// The commands a 214 reply says the server recognises, upper case, in the
/// order listed. Multi-line lists are read from the lines between the first
/// and the last: a line of command-like tokens (vsftpd, pyftpdlib, proftpd
/// tables) gives all of them, a line like `CPFR <sp> pathname` gives its
/// first word. A one-line `214 Syntax: USER …` (HELP CMD) gives that command.
/// Commands marked unimplemented are left out.
pub fn help_commands(lines: &[Vec<u8>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |name: &str| {
        if !out.iter().any(|c| c == name) {
            out.push(name.to_string());
        }
    };
    if lines.len() <= 1 {
        let text = lines.first().map(|l| String::from_utf8_lossy(l).into_owned()).unwrap_or_default();
        let body = text.get(4..).unwrap_or("");
        if let Some(rest) = body.trim_start().strip_prefix("Syntax:") {
            if let Some((name, false)) = rest.split_whitespace().next().and_then(command_token) {
                push(name);
            }
        } else {
            // `214 CHMOD UMASK HELP` (vsftpd's SITE HELP): a bare list.
            let parsed: Vec<Option<(&str, bool)>> = body.split_whitespace().map(command_token).collect();
            if !parsed.is_empty() && parsed.iter().all(Option::is_some) {
                for (name, unimplemented) in parsed.into_iter().flatten() {
                    if !unimplemented {
                        push(name);
                    }
                }
            }
        }
        return out;
    }
    for line in &lines[1..lines.len() - 1] {
        let text = String::from_utf8_lossy(line);
        let tokens: Vec<&str> = text.split_whitespace().collect();
        if tokens.is_empty() {
            continue;
        }
        let parsed: Vec<Option<(&str, bool)>> = tokens.iter().map(|t| command_token(t)).collect();
        if parsed.iter().all(Option::is_some) {
            for (name, unimplemented) in parsed.into_iter().flatten() {
                if !unimplemented {
                    push(name);
                }
            }
        } else if let Some((name, false)) = parsed[0] {
            push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<Vec<u8>> {
        text.lines().map(|l| l.as_bytes().to_vec()).collect()
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
    }

    #[test]
    fn help_lists_of_real_servers() {
        let vsftpd = "214-The following commands are recognized.\n ABOR ACCT ALLO\n XPWD XRMD\n214 Help OK.";
        assert_eq!(help_commands(&lines(vsftpd)), ["ABOR", "ACCT", "ALLO", "XPWD", "XRMD"]);
        let proftpd = "214-The following commands are recognized (* =>'s unimplemented):\n CWD     XCWD    SMNT*   QUIT\n214 Direct comments to root@127.0.0.1";
        assert_eq!(help_commands(&lines(proftpd)), ["CWD", "XCWD", "QUIT"]);
        let site = "214-The following SITE commands are recognized (* =>'s unimplemented)\n CPFR <sp> pathname\n HELP\n214 Direct comments";
        assert_eq!(help_commands(&lines(site)), ["CPFR", "HELP"]);
        assert_eq!(help_commands(&lines("214 Syntax: USER <SP> user-name (set username).")), ["USER"]);
        assert!(help_commands(&lines("214 Help OK.")).is_empty());
        assert_eq!(help_commands(&lines("214 CHMOD UMASK HELP")), ["CHMOD", "UMASK", "HELP"]);
    }
}
