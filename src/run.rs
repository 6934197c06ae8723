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
use crate::inventory::{self, HostId};
use crate::plan::Plan;
use crate::playbook;
use crate::report::listing::{self, Lists};
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
    let only = match select::limit_of(&a.limit)? {
        Some(l) => Some(inventory::select(&inv, &l, true)?),
        None => None,
    };
    let view = report::inventory::View::new(&inv, only.as_deref());
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
        report::print_out(&format!("{}\n", report::inventory::host_json(&inv, h)));
        return Ok(());
    }
    if a.graph {
        report::print_out(&report::inventory::graph(&view));
        return Ok(());
    }
    report::print_out(&format!(
        "{}\n",
        report::inventory::list_json(&inv, only.as_deref())
    ));
    Ok(())
}

fn playbook_cmd(a: &PlaybookArgs) -> Result<i32> {
    let name = a
        .playbook
        .as_deref()
        .ok_or_else(|| Error::usage("which playbook? pgplay --help lists them"))?;
    let extra_nodes = extra::parse_all(&a.extra_vars)?;
    let limit = select::limit_of(&a.limit)?;
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
    let s = settings(&Flags::of_playbook(a))?;
    let (_, mut inv) = settings::load_inventories(&s.inventories, &extra_nodes)?;
    let pb = playbook::load(name)?;
    let tags = Tags::new(&a.tags, &a.skip_tags);
    let sel = select::select(
        &inv,
        &pb,
        &tags,
        limit.as_deref(),
        a.start_at_task.as_deref(),
    )?;

    if a.list_hosts || a.list_tasks || a.list_tags {
        for w in crate::scope::warnings(&inv) {
            eprint!("{w}");
        }
        let lists = Lists {
            hosts: a.list_hosts,
            tasks: a.list_tasks,
            tags: a.list_tags,
        };
        if a.output == Output::Json {
            let json = listing::listing_json(lists, &inv, &pb, &sel);
            report::print_out(&format!("{json}\n"));
        } else {
            report::print_out(&listing::listing(lists, &inv, &pb, &sel));
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
    let (conn_password, become_password) = crate::ask::passwords(a.ask_pass, a.ask_become_pass)?;
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
        rerun: a.rerun(name, s.connection),
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
    let log = report::open_log(s.log.as_ref())?;
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
