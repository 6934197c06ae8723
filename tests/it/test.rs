//! One pgplay run and what it must show, as a builder (after casey/just's `tests/test.rs`):
//!
//! ```ignore
//! Test::in_dir(dir).args(["./site.yml", "-i", &inv]).code(5).stderr_has("no such file").run();
//! ```
//!
//! A test then reads as the feature it checks instead of as a run followed by a block of
//! asserts that each repeat the run's output. Every expectation is checked and all unmet ones
//! are reported together, with the whole run (exit code, stdout, stderr) once. `run` panics on
//! an unmet expectation and returns the [`Run`] for checks of its own (JSON events, files on
//! the hosts); `check` returns the unmet expectations instead, for table tests that collect
//! failures across many cases. The run goes through `support::pgplay_env`, so
//! `PGPLAY_IT_CONNECTION` applies as everywhere else in the suite.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::run::Run;
use crate::support::{pgplay_env, repo};

#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
    /// stdout followed by stderr, for messages that may go to either.
    Output,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
            Stream::Output => "output",
        }
    }

    fn of(self, run: &Run) -> String {
        match self {
            Stream::Stdout => run.stdout.clone(),
            Stream::Stderr => run.stderr.clone(),
            Stream::Output => format!("{}{}", run.stdout, run.stderr),
        }
    }
}

enum Expect {
    Has(Stream, String),
    Lacks(Stream, String),
    Is(Stream, String),
    StartsWith(Stream, String),
    Count(Stream, String, usize),
}

impl Expect {
    /// None when met, else what was wanted.
    fn unmet(&self, run: &Run) -> Option<String> {
        match self {
            Expect::Has(s, n) => {
                (!s.of(run).contains(n.as_str())).then(|| format!("{} lacks {n:?}", s.name()))
            }
            Expect::Lacks(s, n) => s
                .of(run)
                .contains(n.as_str())
                .then(|| format!("{} has {n:?}", s.name())),
            Expect::Is(s, want) => {
                (s.of(run) != *want).then(|| format!("{} is not {want:?}", s.name()))
            }
            Expect::StartsWith(s, p) => (!s.of(run).starts_with(p.as_str()))
                .then(|| format!("{} does not start with {p:?}", s.name())),
            Expect::Count(s, n, times) => {
                let got = s.of(run).matches(n.as_str()).count();
                (got != *times).then(|| format!("{} has {n:?} {got} times, not {times}", s.name()))
            }
        }
    }
}

/// A pgplay run to make and what it must show.
pub struct Test {
    cwd: PathBuf,
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    code: Option<i32>,
    fails: bool,
    expect: Vec<Expect>,
    why: Option<String>,
}

impl Default for Test {
    fn default() -> Test {
        Test::new()
    }
}

impl Test {
    /// pgplay run in the repository (as `support::pgplay`).
    pub fn new() -> Test {
        Test::in_dir(&repo())
    }

    /// pgplay run in `dir`, which is also its HOME (as `support::pgplay_in`).
    pub fn in_dir(dir: &Path) -> Test {
        Test {
            cwd: dir.to_path_buf(),
            args: Vec::new(),
            env: Vec::new(),
            code: None,
            fails: false,
            expect: Vec::new(),
            why: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Test {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Test
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// An environment variable for this run only.
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Test {
        self.env.push((name.to_string(), value.into()));
        self
    }

    /// The exit code it must end with (not checked unless given).
    pub fn code(mut self, code: i32) -> Test {
        self.code = Some(code);
        self
    }

    /// Any exit code but 0 (where the test does not say which failure it is).
    pub fn fails(mut self) -> Test {
        self.fails = true;
        self
    }

    /// Said first when an expectation is unmet (why the test wants it).
    pub fn why(mut self, why: &str) -> Test {
        self.why = Some(why.to_string());
        self
    }

    pub fn stdout_has(self, needle: &str) -> Test {
        self.expect(Expect::Has(Stream::Stdout, needle.to_string()))
    }

    pub fn stdout_has_all(self, needles: &[&str]) -> Test {
        needles.iter().fold(self, |t, n| t.stdout_has(n))
    }

    pub fn stdout_lacks(self, needle: &str) -> Test {
        self.expect(Expect::Lacks(Stream::Stdout, needle.to_string()))
    }

    /// stdout begins with `prefix` (what kind of document it is).
    pub fn stdout_starts_with(self, prefix: &str) -> Test {
        self.expect(Expect::StartsWith(Stream::Stdout, prefix.to_string()))
    }

    /// stdout exactly.
    pub fn stdout_is(self, text: &str) -> Test {
        self.expect(Expect::Is(Stream::Stdout, text.to_string()))
    }

    pub fn stderr_has(self, needle: &str) -> Test {
        self.expect(Expect::Has(Stream::Stderr, needle.to_string()))
    }

    pub fn stderr_has_all(self, needles: &[&str]) -> Test {
        needles.iter().fold(self, |t, n| t.stderr_has(n))
    }

    pub fn stderr_lacks(self, needle: &str) -> Test {
        self.expect(Expect::Lacks(Stream::Stderr, needle.to_string()))
    }

    pub fn stderr_starts_with(self, prefix: &str) -> Test {
        self.expect(Expect::StartsWith(Stream::Stderr, prefix.to_string()))
    }

    /// `needle` exactly `times` times in stderr (a warning said once, not per host).
    pub fn stderr_count(self, needle: &str, times: usize) -> Test {
        self.expect(Expect::Count(Stream::Stderr, needle.to_string(), times))
    }

    /// In stdout or stderr, whichever pgplay writes it to.
    pub fn output_has(self, needle: &str) -> Test {
        self.expect(Expect::Has(Stream::Output, needle.to_string()))
    }

    /// In neither stdout nor stderr (a secret, wherever pgplay might write it).
    pub fn output_lacks(self, needle: &str) -> Test {
        self.stdout_lacks(needle).stderr_lacks(needle)
    }

    /// None of `needles` in stdout or stderr.
    pub fn output_lacks_all(self, needles: &[&str]) -> Test {
        needles.iter().fold(self, |t, n| t.output_lacks(n))
    }

    fn expect(mut self, e: Expect) -> Test {
        self.expect.push(e);
        self
    }

    /// Runs it; returns the run and every unmet expectation (empty when all are met). A
    /// wrong exit code is reported alone: the output of a run that ended otherwise than
    /// expected says little.
    pub fn check(self) -> (Run, Vec<String>) {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let run = pgplay_env(&self.cwd, &self.args, &env);
        if let Some(code) = self.code.filter(|c| *c != run.code) {
            let unmet = vec![format!("exit {} (wanted {code})", run.code)];
            return (run, unmet);
        }
        if self.fails && run.code == 0 {
            return (run, vec!["exit 0 (wanted a failure)".to_string()]);
        }
        let unmet = self.expect.iter().filter_map(|e| e.unmet(&run)).collect();
        (run, unmet)
    }

    /// Runs it and panics, showing the whole run, unless every expectation is met.
    pub fn run(self) -> Run {
        let why = self.why.clone();
        let args = self.args.clone();
        let (run, unmet) = self.check();
        if !unmet.is_empty() {
            panic!(
                "{}pgplay {}:\n  {}\n{}",
                why.map(|w| format!("{w}: ")).unwrap_or_default(),
                args.iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" "),
                unmet.join("\n  "),
                run.all()
            );
        }
        run
    }
}
