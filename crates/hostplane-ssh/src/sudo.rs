//! Root access for a login user that is not root: the one helper command hostplane runs with
//! sudo, the sudoers rule that allows exactly that command, and what a sudo failure means.
//!
//! # The helper
//! Everything that may need root — the takeover flag (read, write, touch, remove) and the
//! root-only facts (SMBIOS serial and uuid, `dmidecode`, `ipmitool`, `ras-mc-ctl`, `smartctl`) —
//! is one fixed `sh` script, [`helper_script`], run as `/bin/sh -c '<script>'`. Its text depends
//! only on the flag path (`kvm.takeOverFlagPath`), so a sudoers rule can name it exactly
//! ([`sudoers_rule`]): no wildcard, no `/bin/sh -c anything`. It reads its operation from
//! stdin (`read`, `write <uuid>`, `touch <seconds ahead>`, `remove <uuid>`, `facts`) and
//! validates it; it sets its own `PATH`, locale and umask, and never runs anything it was given.
//! The whole script is one `{ ...; }` group, so no split of its text into other arguments runs
//! part of it.
//!
//! # Who runs it how (one exec, decided on the host)
//! A small wrapper, run by the login shell, prints `hostplane-mode=<m>` and then:
//! - `root` (uid 0) or `user` (the flag is under `~/`, or its nearest existing directory is
//!   writable by the login user): runs the helper directly, the operation piped in. No sudo.
//! - `sudo` (otherwise; and always for root-only facts): `sudo -k -S -p <prompt> -- /bin/sh -c
//!   '<script>'` when the login has a password, `sudo -k -n ...` when it has none (a key login:
//!   only NOPASSWD works). `-k` ignores cached credentials, so sudo behaves the same every time
//!   and leaves no fresh ticket behind. The password goes on the channel's stdin, and only after
//!   sudo's own prompt showed on stderr ([`crate::exec`]'s dialogue): never on a command line or
//!   in the environment, so never in the host's `ps`. A second prompt (password refused) closes
//!   stdin: one failed attempt at most. The helper prints [`HELPER_READY`] before it reads, and
//!   only then the operation is sent.
//!
//! This module must never: put a secret on a command line, in the environment or into an
//! error; run sudo when root or the user's own rights suffice (a user without sudo rights would
//! log an incident for every ping); or let the sudo'd script depend on anything but its own fixed
//! text and a validated operation line.

use std::fmt;

use crate::connect::Session;
use crate::error::{tail, SshError};
use crate::exec::{sh_quote, Dialogue, ExecOutput};

/// The line the helper prints before it reads its operation.
pub const HELPER_READY: &str = "hostplane-helper-ready";
/// The wrapper's first line: `hostplane-mode=root|user|sudo`.
pub const MODE_PREFIX: &str = "hostplane-mode=";
/// The prompt hostplane asks sudo to print (`-p`); its appearance on stderr means "password now".
pub const SUDO_PROMPT: &str = "hostplane-sudo-password:";

/// How the helper runs for this login (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Privilege {
    /// The login user is root: nothing runs with sudo.
    Root,
    /// Not root, and the takeover flag is somewhere it can write: nothing runs with sudo, and
    /// facts that need root are missing ([`crate::Facts::needs_root`]).
    User,
    /// Not root: the takeover flag and the root-only facts go through sudo.
    Sudo,
}

impl Privilege {
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::Root => "root",
            Privilege::User => "user",
            Privilege::Sudo => "sudo",
        }
    }

    fn parse(s: &str) -> Option<Privilege> {
        match s.trim() {
            "root" => Some(Privilege::Root),
            "user" => Some(Privilege::User),
            "sudo" => Some(Privilege::Sudo),
            _ => None,
        }
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why sudo did not run the helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SudoProblem {
    /// There is no `sudo` on the host.
    NotInstalled,
    /// The user may not use sudo at all ("is not in the sudoers file").
    NotPermitted,
    /// The user has sudo rules, but none allows the helper (a narrow rule for another
    /// hostplane version or another flag path).
    CommandNotAllowed,
    /// sudo wants a password and the login has none (a private-key login): only NOPASSWD works.
    /// A user without any sudo rights gets this too (sudo asks before it checks).
    PasswordRequired,
    /// sudo refused the login password (e.g. `rootpw`/`targetpw` make it ask for another one).
    WrongPassword,
    /// `Defaults requiretty`: sudo refuses to run without a terminal.
    RequireTty,
    /// sudo neither asked with hostplane's prompt nor started the helper in time (e.g. a PAM
    /// module asking something else, such as a one-time code).
    NoPrompt,
    /// Anything else; the error's detail has sudo's words.
    Failed,
}

impl SudoProblem {
    /// A stable name: `not-installed`, `not-permitted`, `command-not-allowed`,
    /// `password-required`, `wrong-password`, `requiretty`, `no-prompt`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            SudoProblem::NotInstalled => "not-installed",
            SudoProblem::NotPermitted => "not-permitted",
            SudoProblem::CommandNotAllowed => "command-not-allowed",
            SudoProblem::PasswordRequired => "password-required",
            SudoProblem::WrongPassword => "wrong-password",
            SudoProblem::RequireTty => "requiretty",
            SudoProblem::NoPrompt => "no-prompt",
            SudoProblem::Failed => "failed",
        }
    }

    /// What went wrong, as a sentence fragment.
    pub fn describe(self) -> &'static str {
        match self {
            SudoProblem::NotInstalled => "sudo is not installed",
            SudoProblem::NotPermitted => "the user may not use sudo",
            SudoProblem::CommandNotAllowed => {
                "sudo does not allow the user to run hostplane's helper"
            }
            SudoProblem::PasswordRequired => {
                "sudo asks for a password and the login has none (private key)"
            }
            SudoProblem::WrongPassword => "sudo refused the login password",
            SudoProblem::RequireTty => "sudo requires a terminal (requiretty)",
            SudoProblem::NoPrompt => {
                "sudo neither asked for the password nor ran the helper in time"
            }
            SudoProblem::Failed => "sudo failed",
        }
    }

    /// The sudo side of the fix (the server adds the other one: a flag path the user can write).
    pub fn hint(self) -> &'static str {
        match self {
            SudoProblem::NotInstalled => "install sudo and allow the user hostplane's helper (docs/hosts.md, \"Non-root users and sudo\")",
            SudoProblem::NotPermitted => "allow the user sudo: the rule in docs/hosts.md (\"Non-root users and sudo\") allows exactly hostplane's helper, or add the user to the sudo/wheel group",
            SudoProblem::CommandNotAllowed => "the user's sudo rules do not name this helper: install the rule docs/hosts.md gives for this hostplane version and this kvm.takeOverFlagPath",
            SudoProblem::PasswordRequired => "with a private-key login there is no password to give sudo: allow the helper with NOPASSWD (the rule in docs/hosts.md does), or add the host with the user's password",
            SudoProblem::WrongPassword => "sudo asks for a password other than the login's (rootpw, targetpw or runaspw in sudoers?): allow the helper with NOPASSWD (the rule in docs/hosts.md does)",
            SudoProblem::RequireTty => "hostplane runs sudo without a terminal: add \"Defaults:<user> !requiretty\" to sudoers (the rule in docs/hosts.md does)",
            SudoProblem::NoPrompt => "sudo (or its PAM stack) asks for something other than the password, or hangs: allow the helper with NOPASSWD (the rule in docs/hosts.md does)",
            SudoProblem::Failed => "check sudo on the host: sudo's message is shown; the rule in docs/hosts.md allows exactly hostplane's helper",
        }
    }
}

impl fmt::Display for SudoProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What [`Session::check_access`] found, without writing anything on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// How the helper runs for this login (the same decision every later flag command makes).
    pub privilege: Privilege,
    /// The flag path it was checked for (the helper's text, and so a sudoers rule, depends on it).
    pub flag_path: String,
    /// The takeover flag, read by the helper (`Err`: it ran but could not read the flag).
    pub flag: Result<Option<crate::TakeoverFlag>, SshError>,
}

/// One operation of the helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op<'a> {
    Read,
    Write(&'a str),
    Touch(u64),
    Remove(&'a str),
    Facts,
}

impl Op<'_> {
    fn line(&self) -> String {
        match self {
            Op::Read => "read".into(),
            Op::Write(u) => format!("write {u}"),
            Op::Touch(s) => format!("touch {s}"),
            Op::Remove(u) => format!("remove {u}"),
            Op::Facts => "facts".into(),
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::Read => "read takeover flag",
            Op::Write(_) => "write takeover flag",
            Op::Touch(_) => "touch takeover flag",
            Op::Remove(_) => "remove takeover flag",
            Op::Facts => "collect root facts",
        }
    }
}

/// What the helper printed after [`HELPER_READY`], and how it ran.
#[derive(Debug, Clone)]
pub(crate) struct HelperRun {
    pub privilege: Privilege,
    pub out: ExecOutput,
}

/// The takeover flag path as a shell word: quoted, except that a leading `~/` means the login
/// user's home (such a path is never used through sudo).
/// Quoted without a backslash (`'` as `'"'"'`), so the helper's text has none.
pub(crate) fn path_expr(path: &str) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\"'\"'"));
    match path.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
        None => quote(path),
    }
}

/// The helper: the exact text run as `/bin/sh -c '<text>'`, for the flag at `flag_path`.
///
/// One line, single spaces, no `#`, no backslash, no tab: so a sudoers rule can name it
/// (see [`sudoers_rule`]) and sudo's matching (arguments joined by single spaces) sees exactly it.
pub fn helper_script(flag_path: &str) -> String {
    let f = path_expr(flag_path);
    let uuid_ok = "case $a in ''|*[!0-9A-Za-z-]*) echo invalid host uuid >&2; exit 65;; esac;";
    [
        "{ PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; LC_ALL=C;",
        "export PATH LC_ALL; umask 022;",
        &format!("f={f};"),
        "echo hostplane-helper-ready; read -r op a || exit 64; case $op in",
        // read: content and age (by the host's clock) in one go
        "read) if [ ! -e \"$f\" ]; then echo absent=1;",
        "elif [ ! -r \"$f\" ]; then echo cannot read \"$f\" as user $(id -un) >&2; exit 3;",
        "else echo now=$(date +%s); echo mtime=$(stat -c %Y \"$f\");",
        "echo \"content=$(head -c 512 \"$f\" | head -n 1)\"; fi;;",
        // write: atomically (a reader never sees half a flag)
        "write)",
        uuid_ok,
        "mkdir -p \"$(dirname \"$f\")\" && t=$(mktemp \"$f.XXXXXX\") || exit 1;",
        "{ echo \"uuid:$a\" >\"$t\" && chmod 644 \"$t\" && mv -f \"$t\" \"$f\"; } || { rm -f \"$t\"; exit 1; };;",
        // touch: never creates (exit 2 says it is gone); the mtime may lie ahead
        "touch) case $a in ''|*[!0-9]*) exit 65;; esac;",
        "[ -e \"$f\" ] || { echo takeover flag \"$f\" does not exist >&2; exit 2; };",
        "touch -c -d \"@$(( $(date +%s) + a ))\" \"$f\";;",
        // remove: only a flag that names this host
        "remove)",
        uuid_ok,
        "if [ -e \"$f\" ] && [ \"$(head -c 512 \"$f\" | head -n 1)\" = \"uuid:$a\" ];",
        "then rm -f \"$f\" && echo removed; else echo kept; fi;;",
        // facts: the root-only sources of the fact script (facts.sh), nothing else
        "facts) TO=; if command -v timeout >/dev/null 2>&1; then TO='timeout 5'; fi; d=/sys/class/dmi/id;",
        "for k in sys_vendor product_name product_serial bios_version product_uuid; do",
        "if [ -r $d/$k ]; then echo \"dmi.$k=$(cat $d/$k)\"; fi; done;",
        "if [ ! -d $d ] && command -v dmidecode >/dev/null 2>&1; then",
        "echo \"dmi.sys_vendor=$($TO dmidecode -s system-manufacturer 2>/dev/null | head -n 1)\";",
        "echo \"dmi.product_name=$($TO dmidecode -s system-product-name 2>/dev/null | head -n 1)\";",
        "echo \"dmi.product_serial=$($TO dmidecode -s system-serial-number 2>/dev/null | head -n 1)\";",
        "echo \"dmi.bios_version=$($TO dmidecode -s bios-version 2>/dev/null | head -n 1)\"; fi;",
        "if command -v ipmitool >/dev/null 2>&1 && { [ -c /dev/ipmi0 ] || [ -c /dev/ipmi/0 ] || [ -c /dev/ipmidev/0 ]; }; then",
        "echo \"ipmi.ip=$($TO ipmitool lan print 2>/dev/null | sed -n 's/^IP Address[[:space:]]*:[[:space:]]*//p' | head -n 1)\";",
        "$TO ipmitool sdr type 'Power Supply' 2>/dev/null | head -n 32 | sed 's/^/hw.psu.ipmi=/'; fi;",
        "if command -v ras-mc-ctl >/dev/null 2>&1; then",
        "$TO ras-mc-ctl --summary 2>/dev/null | grep -i mce | head -n 20 | sed 's/^[[:space:]]*/hw.cpu.mce=/'; fi;",
        "if command -v smartctl >/dev/null 2>&1; then for n in $(ls /sys/block); do",
        "if [ -e /sys/block/$n/device ]; then case $n in sr*|fd*) ;;",
        "*) r=$($TO smartctl -H /dev/$n 2>/dev/null | sed -n 's/.*self-assessment test result:[[:space:]]*//p; s/^SMART Health Status:[[:space:]]*//p' | head -n 1);",
        "echo \"hw.smart=$n ${r:-unavailable}\";; esac; fi; done; fi;",
        "echo root.facts=1;;",
        "*) exit 64;; esac; }",
    ]
    .join(" ")
}

/// The sudoers lines that allow `user` exactly the helper for `flag_path` (as root, without a
/// password, without a terminal) and nothing else. `flag_path` must be absolute: a flag under
/// `~/` never needs sudo. Lines are continued with `\` at spaces, which sudoers reads as one
/// space.
pub fn sudoers_rule(user: &str, flag_path: &str) -> String {
    let escaped = sudoers_escape(&helper_script(flag_path));
    let mut lines: Vec<String> = vec!["Cmnd_Alias HOSTPLANE_HELPER = /bin/sh -c".into()];
    for word in escaped.split(' ') {
        let last = lines.last_mut().expect("one line");
        if last.len() + 1 + word.len() > 92 && last.len() > 4 {
            lines.push(format!("    {word}"));
        } else {
            last.push(' ');
            last.push_str(word);
        }
    }
    format!(
        "{}\nDefaults:{user} !requiretty\n{user} ALL=(root) NOPASSWD: HOSTPLANE_HELPER\n",
        lines.join(" \\\n")
    )
}

/// Escape the characters sudoers reads specially in command arguments (`, : = \` and the
/// wildcards `* ? [ ] !`, plus `#`) so the rule matches the text literally.
fn sudoers_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        if matches!(
            c,
            ',' | ':' | '=' | '\\' | '*' | '?' | '[' | ']' | '!' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What the login shell runs: decide root / user / sudo on the host, print the mode, run the
/// helper. `force_sudo`: the operation needs root itself (facts), never the user's own rights.
fn wrapper(flag_path: &str, op_line: &str, force_sudo: bool, with_password: bool) -> String {
    let user_can = if force_sudo {
        "false"
    } else if flag_path.starts_with("~/") {
        "true"
    } else {
        "{ d=$(dirname \"$f\"); while [ ! -e \"$d\" ]; do d=$(dirname \"$d\"); done; [ -w \"$d\" ]; }"
    };
    let sudo = if with_password {
        format!("sudo -k -S -p {}", sh_quote(SUDO_PROMPT))
    } else {
        "sudo -k -n".to_string()
    };
    format!(
        "o={o}; f={f}; H={h}; LC_ALL=C; export LC_ALL; \
         if [ \"$(id -u)\" = 0 ]; then m=root; elif {user_can}; then m=user; else m=sudo; fi; \
         echo {MODE_PREFIX}$m; \
         if [ $m != sudo ]; then printf '%s\\n' \"$o\" | /bin/sh -c \"$H\"; exit; fi; \
         command -v sudo >/dev/null 2>&1 || {{ echo 'sudo: command not found' >&2; exit 127; }}; \
         exec {sudo} -- /bin/sh -c \"$H\"",
        o = sh_quote(op_line),
        f = path_expr(flag_path),
        h = sh_quote(&helper_script(flag_path)),
    )
}

/// The command the connector sends for the helper operation `op_line` (`read`, `write <uuid>`,
/// `touch <secs>`, `remove <uuid>`, `facts`) with a password login: what a simulated host must
/// recognise. For the simulator's tests.
#[doc(hidden)]
pub fn wrapper_for_tests(flag_path: &str, op_line: &str) -> String {
    wrapper(flag_path, op_line, op_line == "facts", true)
}

/// A host uuid as the helper accepts it: letters, digits and `-`.
fn valid_uuid(u: &str) -> bool {
    !u.is_empty() && u.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl Session {
    /// Which way the helper runs for this login and the takeover flag at `flag_path`, found by
    /// reading the flag through it: the `check-sudo` step. Writes nothing on the host.
    ///
    /// `Err(SshError::Sudo)` when the flag needs sudo and sudo does not run the helper.
    pub async fn check_access(&self, flag_path: &str) -> Result<Access, SshError> {
        let run = self.run_helper(flag_path, Op::Read, false).await?;
        let flag = checked(Op::Read, &run.out).and_then(|out| {
            crate::takeover::parse_flag_output(&out.stdout).map_err(|why| SshError::Command {
                cmd_name: Op::Read.name(),
                exit_status: out.exit_status,
                stderr_tail: why,
            })
        });
        Ok(Access {
            privilege: run.privilege,
            flag_path: flag_path.to_string(),
            flag,
        })
    }

    /// Run the helper's `op` for the flag at `flag_path` (see the module doc). `Ok` when the
    /// helper ran, whatever its exit status; [`SshError::Sudo`] when sudo did not run it.
    pub(crate) async fn run_helper(
        &self,
        flag_path: &str,
        op: Op<'_>,
        force_sudo: bool,
    ) -> Result<HelperRun, SshError> {
        if let Op::Write(u) | Op::Remove(u) = op {
            if !valid_uuid(u) {
                return Err(SshError::Command {
                    cmd_name: op.name(),
                    exit_status: None,
                    stderr_tail: format!("invalid host uuid {u:?}"),
                });
            }
        }
        let password = self
            .inner
            .sudo_password
            .as_deref()
            .filter(|p| !p.is_empty() && !p.contains(['\n', '\r']));
        let cmd = wrapper(flag_path, &op.line(), force_sudo, password.is_some());
        let input = format!("{}\n", op.line());
        let mut dialogue = Dialogue::new(SUDO_PROMPT, password, HELPER_READY, &input);
        let result = self.exec_dialogue(&cmd, &mut dialogue).await;
        let mode = dialogue
            .first_line
            .as_deref()
            .and_then(|l| l.strip_prefix(MODE_PREFIX));
        let privilege = mode.and_then(Privilege::parse);
        let out = match result {
            Ok(out) => out,
            Err(SshError::Timeout { .. })
                if privilege == Some(Privilege::Sudo) && !dialogue.ready_seen =>
            {
                return Err(self.sudo_error(SudoProblem::NoPrompt, dialogue.prompts, String::new()))
            }
            Err(e) => return Err(e),
        };
        let Some(privilege) = privilege else {
            return Err(SshError::Command {
                cmd_name: op.name(),
                exit_status: out.exit_status,
                stderr_tail: tail(&out.stderr, 512),
            });
        };
        if !dialogue.ready_seen {
            if privilege == Privilege::Sudo {
                let problem = classify(&out, dialogue.prompts, password.is_some());
                return Err(self.sudo_error(
                    problem,
                    dialogue.prompts,
                    tail(out.stderr.trim(), 400),
                ));
            }
            return Err(SshError::Command {
                cmd_name: op.name(),
                exit_status: out.exit_status,
                stderr_tail: tail(&out.stderr, 512),
            });
        }
        let stdout = after_ready(&out.stdout).to_string();
        Ok(HelperRun {
            privilege,
            out: ExecOutput { stdout, ..out },
        })
    }

    fn sudo_error(&self, problem: SudoProblem, prompts: usize, detail: String) -> SshError {
        tracing::debug!(host = %self.inner.host, user = %self.inner.username, %problem, prompts, "sudo did not run the helper");
        SshError::Sudo {
            problem,
            username: self.inner.username.clone(),
            detail,
        }
    }
}

/// The helper's output: what follows the ready line.
fn after_ready(stdout: &str) -> &str {
    let line = format!("{HELPER_READY}\n");
    match stdout.find(&line) {
        Some(i) => &stdout[i + line.len()..],
        None => "",
    }
}

/// The helper's output when it exited 0, else [`SshError::Command`] with its stderr.
pub(crate) fn checked(op: Op<'_>, out: &ExecOutput) -> Result<ExecOutput, SshError> {
    if out.success() {
        Ok(out.clone())
    } else {
        Err(SshError::Command {
            cmd_name: op.name(),
            exit_status: out.exit_status,
            stderr_tail: tail(&out.stderr, 512),
        })
    }
}

/// Why sudo did not start the helper, from its words (in the C locale) and how often it asked.
pub(crate) fn classify(out: &ExecOutput, prompts: usize, had_password: bool) -> SudoProblem {
    let e = out.stderr.as_str();
    if out.exit_status == Some(127) && e.contains("sudo: command not found") {
        SudoProblem::NotInstalled
    } else if e.contains("must have a tty") || e.contains("a terminal is required") {
        SudoProblem::RequireTty
    } else if prompts >= 2 || e.contains("incorrect password attempt") {
        SudoProblem::WrongPassword
    } else if e.contains("is not in the sudoers file") || e.contains("may not run sudo") {
        SudoProblem::NotPermitted
    } else if e.contains("is not allowed to execute") {
        SudoProblem::CommandNotAllowed
    } else if e.contains("a password is required") || (prompts == 1 && !had_password) {
        SudoProblem::PasswordRequired
    } else {
        SudoProblem::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(stderr: &str, status: u32) -> ExecOutput {
        ExecOutput {
            stdout: "hostplane-mode=sudo\n".into(),
            stderr: stderr.into(),
            exit_status: Some(status),
        }
    }

    #[test]
    fn the_helper_is_one_line_a_sudoers_rule_can_name() {
        for path in ["/var/run/zstack/takeOver", "/srv/a b/it's"] {
            let h = helper_script(path);
            assert!(!h.contains("  "), "double space");
            for c in ['\n', '\t', '#', '\\'] {
                assert!(!h.contains(c), "{c:?} in the helper");
            }
            assert!(h.starts_with("{ ") && h.ends_with(" }"), "one group");
        }
    }

    #[test]
    fn the_rule_escapes_what_sudoers_reads_specially() {
        assert_eq!(
            sudoers_escape("a=b:c,d*e?[f]!g"),
            "a\\=b\\:c\\,d\\*e\\?\\[f\\]\\!g"
        );
        let rule = sudoers_rule("hostplane", "/var/run/zstack/takeOver");
        assert!(
            rule.starts_with(
                "Cmnd_Alias HOSTPLANE_HELPER = /bin/sh -c { \\\n    PATH\\=/usr/local/sbin\\:"
            ),
            "{rule}"
        );
        assert!(rule.ends_with(
            "Defaults:hostplane !requiretty\nhostplane ALL=(root) NOPASSWD: HOSTPLANE_HELPER\n"
        ));
        // Continuation lines joined by single spaces give back the escaped helper.
        let alias = rule.split("\nDefaults").next().unwrap();
        let joined = alias
            .trim_start_matches("Cmnd_Alias HOSTPLANE_HELPER = /bin/sh -c ")
            .replace(" \\\n    ", " ");
        assert_eq!(
            joined,
            sudoers_escape(&helper_script("/var/run/zstack/takeOver"))
        );
        for line in rule.lines() {
            assert!(line.len() <= 100, "{line}");
        }
    }

    /// The documented rule is the one this code generates: docs/hosts.md cannot drift.
    #[test]
    fn docs_show_the_generated_rule() {
        let docs = include_str!("../../../docs/hosts.md");
        let rule = sudoers_rule("hostplane", "/var/run/zstack/takeOver");
        assert!(
            docs.contains(&rule),
            "docs/hosts.md must contain the rule exactly:\n{rule}"
        );
    }

    #[test]
    fn wrapper_never_holds_a_password() {
        let w = wrapper(
            "/var/run/zstack/takeOver",
            &Op::Write("abc").line(),
            false,
            true,
        );
        assert!(w.contains("sudo -k -S -p 'hostplane-sudo-password:' -- /bin/sh -c \"$H\""));
        assert!(w.starts_with("o='write abc'; f='/var/run/zstack/takeOver'; H='{ "));
        let w = wrapper("~/.hostplane/takeOver", "read", false, false);
        assert!(w.contains("elif true; then m=user"), "{w}");
        assert!(w.contains("sudo -k -n --"));
        let w = wrapper("/var/run/zstack/takeOver", "facts", true, false);
        assert!(w.contains("elif false; then m=user"), "{w}");
    }

    #[test]
    fn sudo_failures_are_told_apart() {
        let c = |e: &str, st: u32, prompts: usize, pw: bool| classify(&out(e, st), prompts, pw);
        assert_eq!(
            c("sudo: command not found\n", 127, 0, true),
            SudoProblem::NotInstalled
        );
        assert_eq!(
            c("hpt1 is not in the sudoers file.\n", 1, 1, true),
            SudoProblem::NotPermitted
        );
        assert_eq!(
            c(
                "Sorry, user hpt1 is not allowed to execute '/bin/sh -c x' as root on vm.\n",
                1,
                1,
                true
            ),
            SudoProblem::CommandNotAllowed
        );
        assert_eq!(
            c("sudo: a password is required\n", 1, 0, false),
            SudoProblem::PasswordRequired
        );
        assert_eq!(
            c("Sorry, try again.\nsudo: no password was provided\nsudo: 1 incorrect password attempt\n", 1, 2, true),
            SudoProblem::WrongPassword
        );
        assert_eq!(
            c("sudo: sorry, you must have a tty to run sudo\n", 1, 0, true),
            SudoProblem::RequireTty
        );
        assert_eq!(c("sudo: something new\n", 1, 0, true), SudoProblem::Failed);
    }

    #[test]
    fn helper_output_starts_after_the_ready_line() {
        assert_eq!(
            after_ready("hostplane-mode=sudo\nhostplane-helper-ready\nabsent=1\n"),
            "absent=1\n"
        );
        assert_eq!(after_ready("hostplane-mode=sudo\n"), "");
        assert!(valid_uuid("7f3c9a2e5b1d4c8e9a0b1c2d3e4f5a6b") && valid_uuid("abc-123"));
        assert!(!valid_uuid("") && !valid_uuid("a b") && !valid_uuid("a;b"));
    }
}
