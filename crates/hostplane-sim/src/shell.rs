//! The commands a simulated host understands: exactly the ones hostplane sends.
//!
//! - the fact script, recognised by its first line `hostplane_ssh::FACT_SCRIPT_MARKER`;
//! - `true` (the connector's liveness check);
//! - the four takeover-flag commands of `hostplane_ssh::takeover`, each recognised by its own
//!   distinctive text (`absent=1` + `mtime=`: read; `printf 'uuid:%s\n'`: write; `touch -c`:
//!   touch; `rm -f`: remove), all starting with `f=<path>;`, where the path is a shell word
//!   (single quotes, `'\''`, and `"$HOME"` are understood).
//!
//! Anything else exits 127 with a message on stderr, as a shell does for an unknown command.
//! Flags live in memory, per host; a login user other than root may only write under its home
//! and /tmp, like on a real host without write access to /var/run.

use hostplane_ssh::FACT_SCRIPT_MARKER;

/// A recognised command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    Facts,
    True,
    ReadFlag(String),
    /// (path, the uuid written as `uuid:<uuid>`)
    WriteFlag(String, String),
    /// Touch a flag; the mtime goes this many seconds past now (`touch -c -d "@$(( $(date +%s) + N ))"`).
    TouchFlag(String, i64),
    RemoveFlag(String),
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
    let Some(rest) = t.strip_prefix("f=") else {
        return Cmd::Unknown;
    };
    let Some((path, _)) = word(rest, home) else {
        return Cmd::Unknown;
    };
    if path.is_empty() {
        return Cmd::Unknown;
    }
    if t.contains("absent=1") && t.contains("mtime=") {
        Cmd::ReadFlag(path)
    } else if let Some(i) = t.find("printf 'uuid:%s\\n' ") {
        match word(&t[i + "printf 'uuid:%s\\n' ".len()..], home) {
            Some((uuid, _)) => Cmd::WriteFlag(path, uuid),
            None => Cmd::Unknown,
        }
    } else if t.contains("touch -c") {
        let ahead = t
            .split_once("$(date +%s) + ")
            .and_then(|(_, r)| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        Cmd::TouchFlag(path, ahead)
    } else if t.contains("rm -f") {
        Cmd::RemoveFlag(path)
    } else {
        Cmd::Unknown
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
    use hostplane_ssh::sh_quote;

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

    #[test]
    fn the_connector_commands_are_recognised() {
        let home = "/root";
        // The exact text hostplane-ssh sends (see takeover.rs), for both path forms.
        for (expr, path) in [
            (
                sh_quote("/var/run/zstack/takeOver"),
                "/var/run/zstack/takeOver",
            ),
            (
                format!("\"$HOME\"/{}", sh_quote(".hostplane/takeOver")),
                "/root/.hostplane/takeOver",
            ),
        ] {
            let read = format!(
                "f={expr}; if [ ! -e \"$f\" ]; then echo absent=1; exit 0; fi; \
                 [ -r \"$f\" ] || {{ echo \"cannot read $f as user $(id -un)\" >&2; exit 3; }}; \
                 printf 'now=%s\\nmtime=%s\\ncontent=' \"$(date +%s)\" \"$(stat -c %Y \"$f\")\"; \
                 head -c 512 \"$f\" | head -n 1; echo"
            );
            assert_eq!(classify(&read, home), Cmd::ReadFlag(path.into()));
            let write = format!(
                "f={expr}; d=$(dirname \"$f\"); mkdir -p \"$d\" 2>/dev/null; \
                 if ! {{ printf 'uuid:%s\\n' {u} > \"$f\"; }} 2>/dev/null; then \
                 echo \"cannot write\" >&2; exit 1; fi",
                u = sh_quote("abc-123")
            );
            assert_eq!(
                classify(&write, home),
                Cmd::WriteFlag(path.into(), "abc-123".into())
            );
            let touch = format!(
                "f={expr}; [ -e \"$f\" ] || {{ echo \"takeover flag $f does not exist\" >&2; exit 2; }}; \
                 touch -c \"$f\" 2>/dev/null || {{ echo x >&2; exit 1; }}"
            );
            assert_eq!(classify(&touch, home), Cmd::TouchFlag(path.into(), 0));
            let ahead = touch.replace("touch -c", "touch -c -d \"@$(( $(date +%s) + 240 ))\"");
            assert_eq!(classify(&ahead, home), Cmd::TouchFlag(path.into(), 240));
            let rm = format!(
                "f={expr}; [ -e \"$f\" ] || exit 0; rm -f \"$f\" 2>/dev/null || {{ exit 1; }}"
            );
            assert_eq!(classify(&rm, home), Cmd::RemoveFlag(path.into()));
        }
        assert_eq!(classify(hostplane_ssh::FACT_SCRIPT, home), Cmd::Facts);
        assert_eq!(classify("true", home), Cmd::True);
        assert_eq!(classify("uname -a", home), Cmd::Unknown);
        assert_eq!(classify("f=; rm -f x", home), Cmd::Unknown);
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
