//! Build metadata for `pgplay --version`: the commit the binary was built from and the build
//! date, so that a DBA can say exactly which pgplay ran. Outside a git checkout (a source
//! tarball) the commit is "unknown"; SOURCE_DATE_EPOCH, when set, fixes the date
//! (reproducible builds).

use std::path::Path;
use std::process::Command;

fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn main() {
    let commit =
        run("git", &["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let date = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(epoch) => run("date", &["-u", "-d", &format!("@{epoch}"), "+%Y-%m-%d"]),
        Err(_) => run("date", &["-u", "+%Y-%m-%d"]),
    }
    .unwrap_or_else(|| "unknown".into());
    // the commit the build started from (local changes on top of it are not tracked here)
    println!("cargo:rustc-env=PGPLAY_COMMIT={commit}");
    println!("cargo:rustc-env=PGPLAY_BUILD_DATE={date}");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    // a new commit (HEAD moves, or the branch it names) rebuilds the metadata; git says
    // where its files are (in a worktree `.git` is a file that points elsewhere)
    let git_dir = run("git", &["rev-parse", "--git-dir"]);
    let common = run("git", &["rev-parse", "--git-common-dir"]);
    if let (Some(git_dir), Some(common)) = (git_dir, common) {
        let (git_dir, common) = (Path::new(&git_dir), Path::new(&common));
        let head_file = git_dir.join("HEAD");
        let branch = std::fs::read_to_string(&head_file)
            .ok()
            .and_then(|h| h.strip_prefix("ref: ").map(|r| common.join(r.trim())));
        // (only files that exist: a missing one would make cargo rerun this every build)
        for f in [Some(head_file), Some(common.join("packed-refs")), branch]
            .into_iter()
            .flatten()
        {
            if f.exists() {
                println!("cargo:rerun-if-changed={}", f.display());
            }
        }
    }
}
