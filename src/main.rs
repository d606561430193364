//! The `infra` command: parse arguments, run, exit with a documented code.

fn main() -> std::process::ExitCode {
    // Behave like other Unix tools when the reader goes away (`infra plan | head`): end quietly
    // instead of panicking on a failed write to stdout. An interrupted apply is safe to resume:
    // every completed operation is already in the journal.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists; resetting a signal's
    // disposition to its default has no other effect on this process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    infra::cli::main()
}
