//! The exit codes of `infra`, in one place (the README's "Exit codes" lists them).

use std::process::ExitCode;

/// Everything went through (with `--detailed-exitcode`: and there is nothing to change).
pub const SUCCESS: u8 = 0;
/// The user's input or the operation failed: a bad template or flag, a refused state file,
/// a failed resource operation, a cancelled approval.
pub const ERROR: u8 = 1;
/// With `--detailed-exitcode`: there are changes (or interrupted operations) to apply.
pub const CHANGES: u8 = 2;
/// A bug in infra: a panic, or an invariant the code relies on turned out false. Distinct
/// from [`ERROR`] so that scripts (and bug reports) can tell the two apart; it is the code
/// a Rust program exits with when it panics.
pub const INTERNAL: u8 = 101;
/// Stopped at once by a second Ctrl-C (the journal is intact; the next run recovers).
pub const INTERRUPTED: u8 = 130;

/// `code` as the process's exit code.
pub fn code(code: u8) -> ExitCode {
    ExitCode::from(code)
}

/// An error that is a bug in infra rather than a problem with the input or the operation;
/// it exits with [`INTERNAL`].
#[derive(Debug)]
pub struct Internal(pub String);

impl std::fmt::Display for Internal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "internal error (a bug in infra): {}", self.0)
    }
}

impl std::error::Error for Internal {}

/// The exit code for a failed command.
pub fn for_error(e: &anyhow::Error) -> ExitCode {
    if e.downcast_ref::<Internal>().is_some() {
        code(INTERNAL)
    } else {
        code(ERROR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bug_is_not_a_user_error() {
        assert_ne!(INTERNAL, ERROR);
        assert!(![SUCCESS, ERROR, CHANGES, INTERRUPTED].contains(&INTERNAL));
        let bug = anyhow::Error::new(Internal("a broken invariant".into())).context("plan");
        assert_eq!(for_error(&bug), code(INTERNAL));
        assert_eq!(for_error(&anyhow::anyhow!("find layer `x`")), code(ERROR));
    }
}
