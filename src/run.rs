//! Wiring the stages for the command line: load → select → plan → execute → report.
//!
//! Everything that can be refused is refused here, before any connection is opened: the
//! inventory and its typed variables, extra vars, the playbook, tags, the limit, the plan.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cli::{Connection, InventoryArgs, Output, PlaybookArgs};
use crate::error::{exit, Error, Result};
use crate::exec::{Engine, Options, Transport};
use crate::extra;
use crate::inventory::{self, HostId, Inventory};
use crate::plan::Plan;
use crate::playbook::{self, Playbook, TaskId};
use crate::report::{self, Format};
use crate::select::{self, Tags};

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    if args.get(1).and_then(|a| a.to_str()) == Some("inventory") {
        let rest: Vec<_> = std::iter::once(args[0].clone())
            .chain(args[2..].iter().cloned())
            .collect();
        return match InventoryArgs::try_parse_from(rest) {
            Ok(a) => finish(inventory_cmd(&a)),
            Err(e) => clap_exit(e),
        };
    }
    match PlaybookArgs::try_parse_from(args) {
        Ok(mut a) => match limit_from_file(&a.limit).and_then(|l| {
            a.limit = l;
            playbook_cmd(&a)
        }) {
            Ok(code) => code,
            Err(e) => finish(Err(e)),
        },
        Err(e) => clap_exit(e),
    }
}

/// The log file: `--log FILE`, else `ANSIBLE_LOG_PATH`, else `PGPLAY_LOG`; appended to,
/// created readable by its owner only (output is masked, but it is still a fleet's record).
fn open_log(a: &PlaybookArgs) -> Result<Option<std::fs::File>> {
    let (path, from) = match &a.log {
        Some(p) => (p.clone(), "--log"),
        None => match ["ANSIBLE_LOG_PATH", "PGPLAY_LOG"].iter().find_map(|k| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(|v| (v, *k))
        }) {
            Some((v, k)) => (PathBuf::from(v), k),
            None => return Ok(None),
        },
    };
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .map(Some)
        .map_err(|e| {
            Error::usage(format!("{from} {}: {e}", path.display()))
                .with_hint("the log file's directory must exist and be writable")
        })
}

/// `-l @FILE` (as Ansible's retry files): one host pattern per line, blank lines and `#`
/// comments skipped, joined into one limit.
fn limit_from_file(limit: &Option<String>) -> Result<Option<String>> {
    let Some(path) = limit.as_deref().and_then(|l| l.strip_prefix('@')) else {
        return Ok(limit.clone());
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
    Ok(Some(patterns.join(",")))
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

/// The inventory: `-i FILE`, `-i host1,host2,` (a host list, as Ansible: a value with a comma
/// that is not a file), else ./pigsty.yml, else ~/pigsty/pigsty.yml.
fn load_inventory(
    given: &Option<PathBuf>,
    extra: &[crate::yaml::Node],
) -> Result<(String, Inventory)> {
    if let Some(p) = given {
        let text = p.to_string_lossy();
        if text.contains(',') && !p.exists() {
            return Ok((text.to_string(), host_list(&text, extra)?));
        }
        if !p.is_file() {
            return Err(Error::usage(format!("-i {text}: no such file")).with_hint(
                "give an inventory file (Pigsty's pigsty.yml) or a host list: -i 10.10.10.10,10.10.10.11,",
            ));
        }
    }
    let path = inventory_path(given)?;
    let inv = inventory::load(&path, extra)?;
    Ok((path, inv))
}

/// `-i a,b,`: the hosts, ungrouped, with no variables of their own.
fn host_list(text: &str, extra: &[crate::yaml::Node]) -> Result<Inventory> {
    let hosts: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    if hosts.is_empty() {
        return Err(Error::usage(format!(
            "-i {text}: the host list names no host"
        )));
    }
    let mut yaml = String::from("all:\n  hosts:\n");
    for h in &hosts {
        if h.chars()
            .any(|c| c.is_whitespace() || c.is_control() || "/'\"{}#".contains(c))
        {
            return Err(Error::usage(format!(
                "-i {text}: '{h}' is not a host name or address"
            )));
        }
        yaml.push_str(&format!("    {}: {{}}\n", Value::String((*h).to_string())));
    }
    inventory::load_str("-i host list", &yaml, extra)
}

/// `-i`, else ./pigsty.yml, else ~/pigsty/pigsty.yml.
fn inventory_path(given: &Option<PathBuf>) -> Result<String> {
    if let Some(p) = given {
        return Ok(p.to_string_lossy().into_owned());
    }
    let mut candidates = vec![PathBuf::from("pigsty.yml")];
    if let Some(home) = dirs::home_dir() {
        candidates.push(home.join("pigsty").join("pigsty.yml"));
    }
    candidates
        .iter()
        .find(|p| p.exists())
        .map(|p| p.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::usage("no inventory: ./pigsty.yml and ~/pigsty/pigsty.yml do not exist")
                .with_hint("pass one with -i, e.g. -i inventory/sandbox.yml")
        })
}

fn inventory_cmd(a: &InventoryArgs) -> Result<()> {
    let (path, inv) = load_inventory(&a.inventory, &[])?;
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
        println!("{}", inventory::host_json(&inv, h));
        return Ok(());
    }
    if a.graph {
        print!("{}", graph(&inv));
        return Ok(());
    }
    println!("{}", inventory::list_json(&inv));
    Ok(())
}

/// `ansible-inventory --graph` style tree.
fn graph(inv: &Inventory) -> String {
    fn walk(inv: &Inventory, g: inventory::GroupId, depth: usize, out: &mut String) {
        let group = inv.group(g);
        // as ansible-inventory --graph: "  |" per level, "--" before every name below all
        let lead = if depth == 0 {
            String::new()
        } else {
            format!("{}--", "  |".repeat(depth))
        };
        out.push_str(&format!("{lead}@{}:\n", group.name));
        let mut children = group.children.clone();
        if group.name == "all" {
            children.sort_by_key(|c| inv.group(*c).name != "ungrouped");
        }
        for c in children {
            walk(inv, c, depth + 1, out);
        }
        // all's own hosts are shown under ungrouped, as Ansible does
        for h in group.hosts.iter().filter(|_| group.name != "all") {
            out.push_str(&format!(
                "{}--{}\n",
                "  |".repeat(depth + 1),
                inv.host(*h).name
            ));
        }
    }
    let mut out = String::new();
    if let Some(all) = inv.find_group("all") {
        walk(inv, all, 0, &mut out);
    }
    out
}

/// What was selected to run, per play.
struct Selection {
    hosts: Vec<Vec<HostId>>,
    tasks: Vec<Vec<TaskId>>,
}

fn select_all(a: &PlaybookArgs, inv: &Inventory, pb: &Playbook) -> Result<Selection> {
    let tags = Tags::new(&a.tags, &a.skip_tags);
    tags.check(pb)?;
    let limit = match &a.limit {
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
            a.limit.clone().unwrap_or_default(),
            pb.name
        )));
    }
    Ok(sel)
}

fn playbook_cmd(a: &PlaybookArgs) -> Result<i32> {
    let extra_nodes = extra::parse_all(&a.extra_vars)?;
    if a.syntax_check {
        // as ansible-playbook --syntax-check: the playbook (and -e) are read and checked,
        // no inventory is needed and nothing runs
        let pb = playbook::load(&a.playbook)?;
        println!("playbook: {} ({})", pb.name, playbook::origin(&pb));
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
    let (_, inv) = load_inventory(&a.inventory, &extra_nodes)?;
    let pb = playbook::load(&a.playbook)?;
    let sel = select_all(a, &inv, &pb)?;

    if a.list_hosts || a.list_tasks || a.list_tags {
        for w in crate::scope::warnings(&inv) {
            eprint!("{w}");
        }
        if a.output == Output::Json {
            println!("{}", listing_json(a, &inv, &pb, &sel));
        } else {
            print!("{}", listing(a, &inv, &pb, &sel));
        }
        return Ok(exit::OK);
    }
    // Validation scoped to the run: what it reads on the hosts in play is refused if wrong,
    // the rest of the inventory is warned about once; -e that nothing reads is said.
    for w in crate::scope::check(&inv, &pb, &sel.hosts, &sel.tasks, &extra_vars)? {
        eprint!("{w}");
    }
    // Connection variables against the transport each host in play uses.
    let transport = match a.connection {
        Connection::Russh => Transport::Russh,
        Connection::Openssh => Transport::Openssh,
        Connection::Local => Transport::Local,
    };
    let mut in_play: Vec<HostId> = sel.hosts.iter().flatten().copied().collect();
    in_play.sort();
    in_play.dedup();
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
        a.limit.as_deref(),
        &extra_vars,
        a.check,
    )?;
    if !a.graph && !a.check && !crate::guard::confirm(&pb.name, &to_confirm, a.yes)? {
        eprintln!("not confirmed: nothing was done");
        return Ok(exit::ERROR);
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
                print!("{}", plan.dot(&pb.plays[i], &inv));
            }
        }
        return Ok(exit::OK);
    }
    let (conn_password, become_password) = ask_passwords(a)?;
    let opts = Options {
        check: a.check,
        diff: a.diff,
        forks: a.forks as usize,
        transport,
        accept_new_host_keys: a.accept_new_host_keys,
        known_hosts: a.known_hosts.clone(),
        private_key: a.private_key.clone(),
        user: a.user.clone(),
        r#become: a.r#become,
        become_user: a.become_user.clone(),
        timeout: Duration::from_secs(a.timeout.max(1)),
        conn_password,
        become_password,
        extra_vars,
        rerun: rerun(a),
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
    let log = open_log(a)?;
    let code = runtime.block_on(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let reporter = tokio::task::spawn_blocking(move || {
            let mut r = report::reporter(format, verbose, diff, log);
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
fn rerun(a: &PlaybookArgs) -> String {
    use crate::transport::quote;
    let mut out = format!("pgplay {}", quote(&a.playbook));
    if let Some(i) = &a.inventory {
        out.push_str(&format!(" -i {}", quote(&i.to_string_lossy())));
    }
    if let Some(l) = &a.limit {
        out.push_str(&format!(" -l {}", quote(l)));
    }
    for e in &a.extra_vars {
        out.push_str(&format!(" -e {}", quote(e)));
    }
    if a.connection != Connection::Russh {
        out.push_str(&format!(" -c {:?}", a.connection).to_lowercase());
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
