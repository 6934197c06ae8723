//! The `pgplay` binary: parse the command line, run, exit with Ansible's exit codes.
//!
//! The same binary is also the openssh transport's `SSH_ASKPASS` program (see
//! `transport::askpass`): run that way, it answers ssh's password prompt and exits.

fn main() {
    if let Some(code) = pgplay::transport::askpass::answer_if_asked() {
        std::process::exit(code);
    }
    let code = pgplay::run::main(std::env::args_os().collect());
    std::process::exit(code);
}
