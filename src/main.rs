//! The `pgplay` binary: parse the command line, run, exit with Ansible's exit codes.

fn main() {
    let code = pgplay::run::main(std::env::args_os().collect());
    std::process::exit(code);
}
