//! The commands a simulated host understands: exactly the ones hostplane sends.
//!
//! - the fact script, recognised by its first line `hostplane_ssh::FACT_SCRIPT_MARKER`;
//! - `true` (the connector's liveness check);
//! - the helper wrapper of `hostplane_ssh::sudo`, which starts `o=<operation>; f=<path>;` (shell
//!   words: single quotes, `'"'"'`, and `"$HOME"` are understood): `read`, `write <uuid>`,
//!   `touch <seconds ahead>`, `remove <uuid>`, `facts`. Its output is the real one:
//!   `hostplane-mode=<root|user|sudo>`, the helper's ready line, then what the operation prints.
//!
//! Anything else exits 127 with a message on stderr, as a shell does for an unknown command.
//! Flags live in memory, per host; a login user other than root may only write under its home
//! and /tmp. A simulated host has no sudo: where a real host would use it, the wrapper fails as
//! on a host without sudo installed.

use hostplane_ssh::FACT_SCRIPT_MARKER;

/// A recognised command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    Facts,
    True,
    ReadFlag(String),
    /// (path, the uuid written as `uuid:<uuid>`)
    WriteFlag(String, String),
    /// Touch a flag; the mtime goes this many seconds past now.
    TouchFlag(String, i64),
    /// (path, the uuid the flag must name to be removed)
    RemoveFlag(String, String),
    /// The helper's root-only facts (only ever asked for through sudo).
    RootFacts,
    Unknown,
}

/// What a command printed and its exit status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub status: u32,
}

impl Output {
    pub fn ok(stdout: impl Into<String>) -> Output {
        Output {
            stdout: stdout.into(),
            ..Default::default()
        }
    }
    pub fn fail(status: u32, stderr: impl Into<String>) -> Output {
        Output {
            stdout: String::new(),
            stderr: stderr.into(),
            status,
        }
    }
}

/// Recognise `cmd`; `home` is what `$HOME` expands to.
pub fn classify(cmd: &str, home: &str) -> Cmd {
    let first = cmd.lines().next().unwrap_or("").trim();
    if first == FACT_SCRIPT_MARKER {
        return Cmd::Facts;
    }
    let t = cmd.trim();
    if t == "true" || t == ":" {
        return Cmd::True;
    }
    let Some(rest) = t.strip_prefix("o=") else {
        return Cmd::Unknown;
    };
    let Some((op, rest)) = word(rest, home) else {
        return Cmd::Unknown;
    };
    let Some(rest) = rest.strip_prefix("; f=") else {
        return Cmd::Unknown;
    };
    let Some((path, _)) = word(rest, home) else {
        return Cmd::Unknown;
    };
    if path.is_empty() {
        return Cmd::Unknown;
    }
    let mut parts = op.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some("read"), None, _) => Cmd::ReadFlag(path),
        (Some("write"), Some(u), None) => Cmd::WriteFlag(path, u.to_string()),
        (Some("touch"), Some(n), None) => match n.parse() {
            Ok(n) => Cmd::TouchFlag(path, n),
            Err(_) => Cmd::Unknown,
        },
        (Some("remove"), Some(u), None) => Cmd::RemoveFlag(path, u.to_string()),
        (Some("facts"), None, _) => Cmd::RootFacts,
        _ => Cmd::Unknown,
    }
}

/// Read one shell word from the start of `s` (quotes, backslashes and `$HOME` understood);
/// returns it and the rest. `None` on an unterminated quote.
pub fn word<'a>(s: &'a str, home: &str) -> Option<(String, &'a str)> {
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            '\'' => {
                chars.next();
                loop {
                    let (_, c) = chars.next()?;
                    if c == '\'' {
                        break;
                    }
                    out.push(c);
                }
            }
            '"' => {
                chars.next();
                let mut inner = String::new();
                loop {
                    let (_, c) = chars.next()?;
                    match c {
                        '"' => break,
                        '\\' => inner.push(chars.next()?.1),
                        c => inner.push(c),
                    }
                }
                out.push_str(&expand_home(&inner, home));
            }
            '\\' => {
                chars.next();
                out.push(chars.next()?.1);
            }
            '$' if s[i..].starts_with("$HOME") => {
                out.push_str(home);
                for _ in 0.."$HOME".len() {
                    chars.next();
                }
            }
            c if c.is_whitespace() || matches!(c, ';' | '>' | '<' | '|' | '&') => {
                return Some((out, &s[i..]));
            }
            c => {
                out.push(c);
                chars.next();
            }
        }
    }
    Some((out, ""))
}

fn expand_home(s: &str, home: &str) -> String {
    s.replace("${HOME}", home).replace("$HOME", home)
}

/// The directory part of a path, as `dirname` prints it.
pub fn dirname(path: &str) -> &str {
    match path.trim_end_matches('/').rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => ".",
    }
}

/// Whether `user` (home `home`) may write `path` on a simulated host.
pub fn writable(is_root: bool, home: &str, path: &str) -> bool {
    is_root
        || path.starts_with(&format!("{}/", home.trim_end_matches('/')))
        || path.starts_with("/tmp/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        let home = "/home/bob";
        assert_eq!(word("'/a b'; x", home), Some(("/a b".into(), "; x")));
        assert_eq!(
            word("\"$HOME\"/'.hostplane/takeOver'; d=", home),
            Some(("/home/bob/.hostplane/takeOver".into(), "; d="))
        );
        assert_eq!(word("'it'\\''s' >", home), Some(("it's".into(), " >")));
        assert_eq!(word("'open", home), None);
        assert_eq!(word("plain", home), Some(("plain".into(), "")));
    }

    /// The exact commands hostplane-ssh sends (its helper wrapper), for both path forms.
    #[test]
    fn the_connector_commands_are_recognised() {
        let home = "/root";
        for (path, expanded) in [
            ("/var/run/zstack/takeOver", "/var/run/zstack/takeOver"),
            ("~/.hostplane/takeOver", "/root/.hostplane/takeOver"),
            ("/tmp/it's", "/tmp/it's"),
        ] {
            let c = |op: &str| classify(&hostplane_ssh::sudo::wrapper_for_tests(path, op), home);
            assert_eq!(c("read"), Cmd::ReadFlag(expanded.into()));
            assert_eq!(
                c("write abc-123"),
                Cmd::WriteFlag(expanded.into(), "abc-123".into())
            );
            assert_eq!(c("touch 0"), Cmd::TouchFlag(expanded.into(), 0));
            assert_eq!(c("touch 240"), Cmd::TouchFlag(expanded.into(), 240));
            assert_eq!(
                c("remove abc-123"),
                Cmd::RemoveFlag(expanded.into(), "abc-123".into())
            );
            assert_eq!(c("facts"), Cmd::RootFacts);
            assert_eq!(c("bogus"), Cmd::Unknown);
        }
        assert_eq!(classify(hostplane_ssh::FACT_SCRIPT, home), Cmd::Facts);
        assert_eq!(classify("true", home), Cmd::True);
        assert_eq!(classify("uname -a", home), Cmd::Unknown);
        assert_eq!(classify("o='read'; f=; rm -f x", home), Cmd::Unknown);
    }

    #[test]
    fn paths() {
        assert_eq!(dirname("/var/run/zstack/takeOver"), "/var/run/zstack");
        assert_eq!(dirname("/takeOver"), "/");
        assert!(writable(true, "/root", "/var/run/x"));
        assert!(!writable(false, "/home/bob", "/var/run/x"));
        assert!(writable(
            false,
            "/home/bob",
            "/home/bob/.hostplane/takeOver"
        ));
        assert!(!writable(false, "/home/bob", "/home/bobby/x"));
    }
}
