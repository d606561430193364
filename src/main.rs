//! The `infra` command: parse arguments, run, exit with a documented code.

fn main() -> std::process::ExitCode {
    infra::cli::main()
}
