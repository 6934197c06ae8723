//! Wiring the stages for the command line: load → select → plan → execute → report.
//!
//! Everything that can be refused is refused here, before any connection is opened: the
//! inventory and its typed variables, extra vars, the playbook, tags, the limit, the plan.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command, InventoryArgs, Output, PlaybookArgs};
use crate::config;
use crate::error::{exit, Error, Result};
use crate::exec::{Engine, Options};
use crate::extra;
use crate::inventory::{self, HostId, Inventory, Transport};
use crate::plan::Plan;
use crate::playbook::{self, Playbook, TaskId};
use crate::report::{self, Format};
use crate::select::{self, Tags};
use crate::settings::{self, Flags, Settings};

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    if let Some(r) = crate::help::playbook_help_flag(&args) {
        return finish(r);
    }
    use clap::FromArgMatches;
    let cli = match crate::cli::command()
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(c) => c,
        Err(e) => return clap_exit(e),
    };
    match cli.command {
        Some(Command::Inventory(a)) => finish(inventory_cmd(&a)),
        Some(Command::Config(a)) => finish(crate::help::config_cmd(a.output == Output::Json)),
        Some(Command::Help { playbook }) => finish(crate::help::help_cmd(playbook.as_deref())),
        Some(Command::Completions { shell }) => {
            let mut cmd = crate::cli::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "pgplay", &mut script);
            report::print_out(&String::from_utf8_lossy(&script));
            exit::OK
        }
        Some(Command::Man) => finish(crate::help::man()),
        None => match playbook_cmd(&cli.run) {
            Ok(code) => code,
            Err(e) => finish(Err(e)),
        },
    }
}

/// The configuration (ansible.cfg, environment) under the flags, its warnings said once.
fn settings(f: &Flags) -> Result<Settings> {
    let cfg = config::load()?;
    for w in cfg.warnings() {
        eprintln!("{w}");
    }
    settings::lower(f, &cfg, settings::no_color_env())
}

/// The log file, appended to, created readable by its owner only (output is masked, but it
/// is still a fleet's record).
fn open_log(s: &Settings) -> Result<Option<std::fs::File>> {
    let Some((path, from)) = &s.log else {
        return Ok(None);
    };
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map(Some)
        .map_err(|e| {
            Error::usage(format!("{from} {}: {e}", path.display()))
                .with_hint("the log file's directory must exist and be writable")
        })
}

/// Every `-l` (each a pattern, or `@FILE` as Ansible's retry files: one pattern per line,
/// blank lines and `#` comments skipped), joined into one limit: `-l a -l b` is `-l a,b`.
fn limit_of(given: &[String]) -> Result<Option<String>> {
    let mut all = Vec::new();
    for l in given {
        all.push(limit_from_file(l)?);
    }
    Ok((!all.is_empty()).then(|| all.join(",")))
}

fn limit_from_file(limit: &str) -> Result<String> {
    let Some(path) = limit.strip_prefix('@') else {
        return Ok(limit.to_string());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::usage(format!("-l @{path}: {e}"))
            .with_hint("-l @FILE reads host patterns from FILE, one per line")
    })?;
    let patterns: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if patterns.is_empty() {
        return Err(Error::usage(format!("-l @{path}: the file names no host"))
            .with_hint("write one host or group pattern per line"));
    }
    Ok(patterns.join(","))
}

fn clap_exit(e: clap::Error) -> i32 {
    let _ = e.print();
    match e.kind() {
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => exit::OK,
        _ => exit::OPTIONS,
    }
}

fn finish(r: Result<()>) -> i32 {
    match r {
        Ok(()) => exit::OK,
        Err(e) => {
            eprint!("{}", e.render());
            e.exit_code()
        }
    }
}

fn inventory_cmd(a: &InventoryArgs) -> Result<()> {
    let s = settings(&Flags {
        inventory: &a.inventory,
        ..Flags::default()
    })?;
    let (path, inv) = settings::load_inventories(&s.inventories, &[])?;
    let only = match limit_of(&a.limit)? {
        Some(l) => Some(inventory::select(&inv, &l, true)?),
        None => None,
    };
    let view = inventory::View::new(&inv, only.as_deref());
    for w in crate::scope::warnings(&inv) {
        eprint!("{w}");
    }
    if let Some(name) = &a.host {
        let h = inv.find_host(name).ok_or_else(|| {
            let err = Error::usage(format!("no host '{name}' in {path}"));
            match crate::error::did_you_mean(name, inv.hosts.iter().map(|h| h.name.as_str())) {
                Some(h) => err.with_hint(h),
                None => err,
            }
        })?;
        if !view.host(h) {
            return Err(Error::usage(format!(
                "--host {name}: the limit leaves this host out"
            )));
        }
        report::print_out(&format!("{}\n", inventory::host_json(&inv, h)));
        return Ok(());
    }
    if a.graph {
        report::print_out(&inventory::graph(&view));
        return Ok(());
    }
    report::print_out(&format!(
        "{}\n",
        inventory::list_json(&inv, only.as_deref())
    ));
    Ok(())
}

/// What was selected to run, per play.
struct Selection {
    hosts: Vec<Vec<HostId>>,
    tasks: Vec<Vec<TaskId>>,
}

fn select_all(
    a: &PlaybookArgs,
    limit_text: Option<&str>,
    inv: &Inventory,
    pb: &Playbook,
) -> Result<Selection> {
    let tags = Tags::new(&a.tags, &a.skip_tags);
    tags.check(pb)?;
    let limit = match limit_text {
        Some(l) => Some(inventory::select(inv, l, true)?),
        None => None,
    };
    let mut sel = Selection {
        hosts: Vec::new(),
        tasks: Vec::new(),
    };
    let mut started = a.start_at_task.is_none();
    let mut found_start = a.start_at_task.is_none();
    for play in &pb.plays {
        sel.hosts
            .push(select::play_hosts(inv, play, limit.as_deref())?);
        let mut tasks = Vec::new();
        for t in &play.tasks {
            if !started && a.start_at_task.as_deref() == Some(t.name.as_str()) {
                started = true;
                found_start = true;
            }
            if started && tags.selects(t) {
                tasks.push(t.id);
            }
        }
        sel.tasks.push(tasks);
    }
    if !found_start {
        let name = a.start_at_task.clone().unwrap_or_default();
        let names = pb
            .plays
            .iter()
            .flat_map(|p| p.tasks.iter().map(|t| t.name.as_str()));
        let err = Error::usage(format!("--start-at-task: no task named '{name}'"));
        return Err(match crate::error::did_you_mean(&name, names) {
            Some(h) => err.with_hint(h),
            None => err,
        });
    }
    if limit.is_some() && sel.hosts.iter().all(|h| h.is_empty()) {
        return Err(Error::usage(format!(
            "the limit '{}' matches hosts, but none of them is in any play of '{}'",
            limit_text.unwrap_or_default(),
            pb.name
        )));
    }
    Ok(sel)
}

fn playbook_cmd(a: &PlaybookArgs) -> Result<i32> {
    let name = a
        .playbook
        .as_deref()
        .ok_or_else(|| Error::usage("which playbook? pgplay --help lists them"))?;
    let extra_nodes = extra::parse_all(&a.extra_vars)?;
    let limit = limit_of(&a.limit)?;
    if a.syntax_check {
        // as ansible-playbook --syntax-check: the playbook (and -e) are read and checked,
        // no inventory is needed and nothing runs
        let pb = playbook::load(name)?;
        report::print_out(&format!(
            "playbook: {} ({})\n",
            pb.name,
            playbook::origin(&pb)
        ));
        return Ok(exit::OK);
    }
    let connects = !(a.list_hosts || a.list_tasks || a.list_tags || a.graph);
    // -k / -K read from a terminal only: said before anything else is done.
    if connects && a.ask_pass {
        crate::ask::require_terminal("-k/--ask-pass")?;
    }
    if connects && a.ask_become_pass {
        crate::ask::require_terminal("-K/--ask-become-pass")?;
    }
    let mut extra_vars = Map::new();
    for n in &extra_nodes {
        if let Value::Object(m) = n.to_json() {
            extra_vars.extend(m);
        }
    }
    let s = settings(&Flags {
        inventory: &a.inventory,
        forks: a.forks,
        user: a.user.as_deref(),
        private_key: a.private_key.as_ref(),
        accept_new_host_keys: a.accept_new_host_keys,
        timeout: a.timeout,
        log: a.log.as_ref(),
        connection: a.connection,
        r#become: a.r#become,
        become_user: a.become_user.as_deref(),
        no_color: a.no_color,
    })?;
    let (_, mut inv) = settings::load_inventories(&s.inventories, &extra_nodes)?;
    let pb = playbook::load(name)?;
    let sel = select_all(a, limit.as_deref(), &inv, &pb)?;

    if a.list_hosts || a.list_tasks || a.list_tags {
        for w in crate::scope::warnings(&inv) {
            eprint!("{w}");
        }
        if a.output == Output::Json {
            report::print_out(&format!("{}\n", listing_json(a, &inv, &pb, &sel)));
        } else {
            report::print_out(&listing(a, &inv, &pb, &sel));
        }
        return Ok(exit::OK);
    }
    // Validation scoped to the run: what it reads on the hosts in play is refused if wrong,
    // the rest of the inventory is warned about once; -e that nothing reads is said.
    for w in crate::scope::check(&inv, &pb, &sel.hosts, &sel.tasks, &extra_vars)? {
        eprint!("{w}");
    }
    // Connection variables against the transport each host in play uses.
    let transport = s.connection;
    let mut in_play: Vec<HostId> = sel.hosts.iter().flatten().copied().collect();
    in_play.sort();
    in_play.dedup();
    settings::apply_ssh_args(&s, &mut inv, &in_play, transport)?;
    for w in inventory::check_connections(&inv, &in_play, transport)? {
        eprint!("{w}");
    }
    for k in crate::scope::unread_extra(&inv, &pb, &sel.hosts, &sel.tasks, &extra_vars) {
        eprintln!(
            "warning: -e {k}: no selected task of {} reads it, so it changes nothing in this run",
            pb.name
        );
    }
    // Destructive plays: -l, the typed pg_pitr of every host, and a yes — before connecting.
    let to_confirm = crate::guard::check(
        &inv,
        &pb,
        &sel.hosts,
        &sel.tasks,
        limit.as_deref(),
        &extra_vars,
        a.check,
    )?;
    if !a.graph && !a.check && !crate::guard::confirm(&pb.name, &to_confirm, a.yes)? {
        eprintln!("not confirmed: nothing was done");
        return Ok(exit::ERROR);
    }
    if a.step && !a.graph {
        crate::exec::stepper::check_terminal()?;
    }
    let mut plans = Vec::new();
    for (i, play) in pb.plays.iter().enumerate() {
        plans.push(if sel.hosts[i].is_empty() {
            None
        } else {
            Some(Plan::build(play, &sel.hosts[i], &sel.tasks[i])?)
        });
    }
    if a.graph {
        for (i, plan) in plans.iter().enumerate() {
            if let Some(plan) = plan {
                report::print_out(&plan.dot(&pb.plays[i], &inv));
            }
        }
        return Ok(exit::OK);
    }
    let (conn_password, become_password) = ask_passwords(a)?;
    let opts = Options {
        check: a.check,
        diff: a.diff,
        forks: s.forks,
        transport,
        accept_new_host_keys: s.accept_new_host_keys,
        known_hosts: a.known_hosts.clone(),
        private_key: s.private_key.clone(),
        user: s.user.clone(),
        r#become: s.r#become,
        become_user: s.become_user.clone(),
        timeout: s.timeout,
        conn_password,
        become_password,
        extra_vars,
        rerun: rerun(a, name, &s),
        step: a.step,
    };
    let format = match a.output {
        Output::Json => Format::Json,
        Output::Text => Format::Text,
        Output::Auto if std::io::stdout().is_terminal() => Format::Progress,
        Output::Auto => Format::Text,
    };
    // One socket per host (and a master process per host with openssh): lift the soft
    // open-files limit to the hard one so a 1000-host fleet does not hit EMFILE.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))?;
    let inv = Arc::new(inv);
    let pb = Arc::new(pb);
    let verbose = a.verbose;
    let diff = a.diff;
    let color = s.color.on(std::io::stdout().is_terminal());
    let log = open_log(&s)?;
    let code = runtime.block_on(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let reporter = tokio::task::spawn_blocking(move || {
            let mut r = report::reporter(format, verbose, diff, log, color);
            while let Some(ev) = rx.blocking_recv() {
                r.handle(&ev);
            }
        });
        // A clock for the reporters: long steps say they are still running.
        let ticker = {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(5));
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    if tx.send(report::Event::Tick).is_err() {
                        break;
                    }
                }
            })
        };
        let engine = Engine::new(inv, pb, opts, tx, cancel);
        let watcher = match interrupts() {
            Ok(signals) => tokio::spawn(watch(signals, engine.clone())),
            Err(e) => {
                engine.emit(report::Event::Warning {
                    message: format!("cannot watch for Ctrl-C and SIGTERM: {e}"),
                });
                tokio::spawn(async {})
            }
        };
        let summary = engine.run(plans).await;
        drop(engine);
        ticker.abort();
        watcher.abort();
        let _ = reporter.await;
        summary.exit_code
    });
    Ok(code)
}

/// `-k` and `-K`: asked once each, on the terminal; with both, an empty become password is
/// the SSH password (as ansible-playbook).
fn ask_passwords(
    a: &PlaybookArgs,
) -> Result<(
    Option<crate::transport::Secret>,
    Option<crate::transport::Secret>,
)> {
    use crate::ask;
    let conn = match a.ask_pass {
        true => Some(ask::password(ask::SSH_PROMPT)?),
        false => None,
    };
    let become_password = match (a.ask_become_pass, &conn) {
        (false, _) => None,
        (true, None) => Some(ask::password(ask::BECOME_PROMPT)?),
        (true, Some(ssh)) => {
            let given = ask::password(ask::BECOME_DEFAULTS_PROMPT)?;
            Some(if given.is_empty() { ssh.clone() } else { given })
        }
    };
    Ok((conn, become_password))
}

type Signals = (tokio::signal::unix::Signal, tokio::signal::unix::Signal);

/// Ctrl-C (SIGINT) and SIGTERM, watched from the start of the run.
fn interrupts() -> std::io::Result<Signals> {
    use tokio::signal::unix::{signal, SignalKind};
    Ok((
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
    ))
}

/// SIGTERM is Ctrl-C: the first stops new work (the recap still comes), the second stops the
/// running tasks on their hosts, the third exits at once.
async fn watch((mut int, mut term): Signals, engine: Arc<Engine>) {
    loop {
        let name = tokio::select! {
            got = int.recv() => match got { Some(()) => "Ctrl-C", None => return },
            got = term.recv() => match got { Some(()) => "SIGTERM", None => return },
        };
        if engine.abort.is_cancelled() {
            eprintln!("\n[pgplay] {name} a third time: exiting now, without a recap; work may go on on the hosts");
            std::process::exit(exit::INTERRUPTED);
        }
        engine.interrupt(name);
    }
}

/// This run's command line without tags (`... -t <step>` continues it).
fn rerun(a: &PlaybookArgs, name: &str, s: &Settings) -> String {
    use crate::transport::quote;
    let mut out = format!("pgplay {}", quote(name));
    for i in &a.inventory {
        out.push_str(&format!(" -i {}", quote(&i.to_string_lossy())));
    }
    for l in &a.limit {
        out.push_str(&format!(" -l {}", quote(l)));
    }
    for e in &a.extra_vars {
        out.push_str(&format!(" -e {}", quote(e)));
    }
    if a.connection.is_some_and(|c| c != Transport::Russh) {
        out.push_str(&format!(" -c {:?}", s.connection).to_lowercase());
    }
    if a.yes {
        out.push_str(" --yes");
    }
    out
}

/// The selected tasks' tags, sorted, once each.
fn play_tags<'a>(play: &'a crate::playbook::Play, tasks: &[TaskId]) -> Vec<&'a str> {
    let mut tags: Vec<&str> = tasks
        .iter()
        .flat_map(|t| play.tasks[t.0].tags.iter().map(String::as_str))
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

/// The same listing as one JSON object: `{"playbook", "origin", "plays": [{"name",
/// "pattern", "hosts"?, "tasks"?, "tags"?}]}` (each list only when asked for).
fn listing_json(a: &PlaybookArgs, inv: &Inventory, pb: &Playbook, sel: &Selection) -> Value {
    let plays: Vec<Value> = pb
        .plays
        .iter()
        .enumerate()
        .map(|(i, play)| {
            let mut p = Map::new();
            p.insert("name".into(), Value::String(play.name.clone()));
            p.insert("pattern".into(), Value::String(play.hosts.clone()));
            if a.list_hosts {
                p.insert(
                    "hosts".into(),
                    sel.hosts[i]
                        .iter()
                        .map(|h| Value::String(inv.host(*h).name.clone()))
                        .collect(),
                );
            }
            if a.list_tasks {
                p.insert(
                    "tasks".into(),
                    sel.tasks[i]
                        .iter()
                        .map(|t| {
                            let task = &play.tasks[t.0];
                            serde_json::json!({"name": task.name, "tags": task.tags})
                        })
                        .collect(),
                );
            }
            if a.list_tags {
                let tags = play_tags(play, &sel.tasks[i]);
                p.insert("tags".into(), tags.into_iter().map(Value::from).collect());
            }
            Value::Object(p)
        })
        .collect();
    serde_json::json!({
        "playbook": pb.name,
        "origin": playbook::origin(pb),
        "plays": plays,
    })
}

fn listing(a: &PlaybookArgs, inv: &Inventory, pb: &Playbook, sel: &Selection) -> String {
    let mut out = format!("\nplaybook: {}\n", pb.name);
    for (i, play) in pb.plays.iter().enumerate() {
        out.push_str(&format!(
            "\n  play #{} ({}): {}\tTAGS: []\n",
            i + 1,
            play.hosts,
            play.name
        ));
        if a.list_hosts {
            out.push_str(&format!("    pattern: ['{}']\n", play.hosts));
            out.push_str(&format!("    hosts ({}):\n", sel.hosts[i].len()));
            for h in &sel.hosts[i] {
                out.push_str(&format!("      {}\n", inv.host(*h).name));
            }
        }
        if a.list_tasks {
            out.push_str("    tasks:\n");
            for t in &sel.tasks[i] {
                let task = &play.tasks[t.0];
                out.push_str(&format!(
                    "      {}\tTAGS: [{}]\n",
                    task.name,
                    task.tags.join(", ")
                ));
            }
        }
        if a.list_tags {
            let tags = play_tags(play, &sel.tasks[i]);
            out.push_str(&format!("      TASK TAGS: [{}]\n", tags.join(", ")));
        }
    }
    out
}
