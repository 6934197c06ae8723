//! What is checked and asked before the first connection of a run that changes data.
//!
//! A play marked `require_limit: true` refuses to run without `-l` (a PITR never runs on
//! "all"). Tasks of the `pitr` module have their `pg_pitr` read and checked for every host
//! they run on — target, paths, the member's part (restored, re-initialised, rehearsal) —
//! and the cluster checked as a whole (its primary selected, Patroni not in play yet). A play
//! with `confirm:` then shows, per host, what it will do, and asks on a terminal; `--yes`
//! answers for scripts, and without a terminal and without `--yes` the run is refused.
//! Tasks of the `pg_database` module need `dbname` to name a database that every selected
//! cluster defines in `pg_databases`, asking to be created.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::inventory::{HostId, Inventory};
use crate::pg::pitr::{Job, Member, Pitr};
use crate::playbook::{Play, Playbook, TaskId};
use crate::template::Renderer;

/// A host's variables as its tasks see them before anything ran: play defaults < inventory
/// < play vars < extra vars, with `inventory_hostname`; templates resolved where they can be.
pub fn static_vars(
    inv: &Inventory,
    host: HostId,
    play: &Play,
    extra: &Map<String, Value>,
    renderer: &Renderer,
) -> Value {
    let h = inv.host(host);
    let mut vars = play.defaults.clone();
    vars.extend(h.inventory_vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars.extend(play.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars.insert("inventory_hostname".into(), Value::String(h.name.clone()));
    vars.entry("ansible_host")
        .or_insert(Value::String(h.conn.address.clone()));
    renderer.resolve_vars_lenient(&Value::Object(vars)).0
}

/// Check the selected plays; returns the lines to confirm (per play that asks).
/// `check_mode`: a `--check` run changes nothing, so a safeguard is a warning there.
pub fn check(
    inv: &Inventory,
    pb: &Playbook,
    hosts: &[Vec<HostId>],
    tasks: &[Vec<TaskId>],
    limit: Option<&str>,
    extra: &Map<String, Value>,
    check_mode: bool,
) -> Result<Vec<String>> {
    let renderer = Renderer::new();
    let mut lines = Vec::new();
    for (i, play) in pb.plays.iter().enumerate() {
        if hosts[i].is_empty() {
            continue;
        }
        if play.require_limit && limit.is_none() {
            return Err(Error::usage(format!(
                "{} replaces data: it never runs on every host; name the cluster with -l",
                pb.name
            ))
            .with_hint(format!("e.g. pgplay {} -l pg-meta ...", pb.name)));
        }
        if play.needs_primary {
            needs_primary(inv, pb, play, &hosts[i], extra, &renderer)?;
        }
        if let Some(var) = &play.safeguard {
            safeguard(inv, pb, play, &hosts[i], var, extra, &renderer, check_mode)?;
        }
        if tasks[i]
            .iter()
            .any(|t| play.tasks[t.0].action.module == crate::modules::Module::PgDatabase)
        {
            check_databases(inv, play, &hosts[i], extra, &renderer)?;
        }
        let pitr_tasks = tasks[i]
            .iter()
            .any(|t| play.tasks[t.0].action.module == crate::modules::Module::Pitr);
        let mut pitr_lines: BTreeMap<HostId, String> = BTreeMap::new();
        if pitr_tasks {
            pitr_lines = check_pitr(inv, play, &hosts[i], extra, &renderer)?;
        }
        if let Some(template) = play.confirm.as_ref().filter(|_| !tasks[i].is_empty()) {
            for h in &hosts[i] {
                let mut vars = static_vars(inv, *h, play, extra, &renderer);
                if let (Value::Object(m), Some(line)) = (&mut vars, pitr_lines.get(h)) {
                    m.insert("pgplay_pitr".into(), Value::String(line.clone()));
                }
                let text = renderer.render("confirm", template, &vars).map_err(|e| {
                    Error::invalid(&play.span, "confirm", format!("{}: {e}", inv.host(*h).name))
                })?;
                lines.extend(
                    text.lines()
                        .map(str::trim_end)
                        .filter(|l| !l.trim().is_empty())
                        .map(str::to_string),
                );
            }
        }
    }
    Ok(lines)
}

/// `pgsql-db`: the database named by `dbname` is defined in `pg_databases` of every selected
/// cluster, and asks to be created (pgplay never drops a database).
fn check_databases(
    inv: &Inventory,
    play: &Play,
    hosts: &[HostId],
    extra: &Map<String, Value>,
    renderer: &Renderer,
) -> Result<()> {
    use crate::pg::databases::{self, State};
    let mut seen: Vec<String> = Vec::new();
    for &h in hosts {
        let host = inv.host(h);
        let Some(pg) = &host.domain.pg else { continue };
        if seen.contains(&pg.cluster) {
            continue;
        }
        seen.push(pg.cluster.clone());
        let vars = static_vars(inv, h, play, extra, renderer);
        let all = match host.var_nodes.get("pg_databases") {
            Some(node) => databases::from_node(node)?,
            None => databases::from_value(vars.get("pg_databases").unwrap_or(&Value::Null))?,
        };
        let names: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
        let listed = if names.is_empty() {
            "it defines none".to_string()
        } else {
            format!("it defines {}", names.join(", "))
        };
        let dbname = match vars.get("dbname") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            None | Some(Value::Null) => {
                return Err(Error::usage(format!(
                    "name the database of pg_databases to create on {}: {listed}",
                    pg.cluster
                ))
                .with_hint(format!(
                    "pgplay pgsql-db -l {} -e dbname={}",
                    pg.cluster,
                    names.first().copied().unwrap_or("<name>")
                )))
            }
            Some(other) => {
                return Err(Error::usage(format!(
                    "dbname must be the name of a database, found {other}"
                )))
            }
        };
        let Some(db) = all.iter().find(|d| d.name == dbname) else {
            let e = Error::usage(format!(
                "{dbname} is not in pg_databases of {} ({listed}): pgsql-db creates what the inventory defines",
                pg.cluster
            ));
            // Defined by another cluster of the run: the limit is what is wrong.
            let elsewhere: Vec<String> = hosts
                .iter()
                .filter_map(|o| {
                    let h = inv.host(*o);
                    let defines =
                        h.vars.get("pg_databases")?.as_array()?.iter().any(|d| {
                            d.get("name").and_then(Value::as_str) == Some(dbname.as_str())
                        });
                    let cluster = &h.domain.pg.as_ref()?.cluster;
                    (defines && *cluster != pg.cluster).then(|| cluster.clone())
                })
                .collect();
            if let Some(c) = elsewhere.first() {
                return Err(e.with_hint(format!("{dbname} is a database of {c}: use -l {c}")));
            }
            return Err(
                match crate::error::did_you_mean(&dbname, names.iter().copied()) {
                    Some(h) => e.with_hint(h),
                    None => e.with_hint(format!(
                        "add - {{ name: {dbname} }} to pg_databases of {}, then run again",
                        pg.cluster
                    )),
                },
            );
        };
        if db.state != State::Create {
            return Err(Error::usage(format!(
                "{dbname} of {} has state: {}: pgplay creates databases and never drops one",
                pg.cluster,
                if db.state == State::Absent {
                    "absent"
                } else {
                    "recreate"
                }
            ))
            .with_hint(
                "back it up, drop it by hand (DROP DATABASE), and remove it from pg_databases",
            ));
        }
    }
    Ok(())
}

/// The inventory's primary of a cluster (`pg_role: primary`), by name.
fn primary_of(inv: &Inventory, cluster: &str) -> Option<String> {
    inv.hosts
        .iter()
        .find(|h| {
            h.domain
                .pg
                .as_ref()
                .is_some_and(|p| p.cluster == cluster && p.role == crate::pg::PgRole::Primary)
        })
        .map(|h| h.name.clone())
}

/// A play that works through primaries must have one selected for every cluster it touches.
/// Under Patroni any member may lead after a failover: the play finds the leader when it runs
/// (`pg_leader`) and fails there when the limit leaves it out.
fn needs_primary(
    inv: &Inventory,
    pb: &Playbook,
    play: &Play,
    hosts: &[HostId],
    extra: &Map<String, Value>,
    renderer: &Renderer,
) -> Result<()> {
    // cluster -> (a primary selected, the selected members)
    let mut clusters: BTreeMap<String, (bool, Vec<String>)> = BTreeMap::new();
    for &h in hosts {
        let host = inv.host(h);
        if let Some(pg) = &host.domain.pg {
            let patroni = static_vars(inv, h, play, extra, renderer)
                .get("patroni_enabled")
                .and_then(crate::base::truth::boolean)
                .unwrap_or(false);
            let e = clusters.entry(pg.cluster.clone()).or_default();
            e.0 |= pg.role == crate::pg::PgRole::Primary || patroni;
            e.1.push(format!("{} ({})", host.name, pg.role.as_str()));
        }
    }
    if clusters.is_empty() {
        return Err(Error::usage(format!(
            "the selection has no PostgreSQL host (no host with pg_cluster): {} would do nothing",
            pb.name
        ))
        .with_hint(format!(
            "name a cluster, e.g. pgplay {} -l pg-meta",
            pb.name
        )));
    }
    for (cluster, (primary, members)) in clusters {
        if !primary {
            let name =
                primary_of(inv, &cluster).unwrap_or_else(|| "(none in the inventory)".into());
            return Err(Error::usage(format!(
                "the limit selects {} of {cluster} but not its primary {name}: {} works on the primary only, so nothing would be done",
                members.join(", "),
                pb.name
            ))
            .with_hint(format!("use -l {cluster} (or -l {name})")));
        }
    }
    Ok(())
}

/// Refuse a play on hosts whose safeguard variable (Pigsty's `pg_safeguard`) is true.
#[allow(clippy::too_many_arguments)]
fn safeguard(
    inv: &Inventory,
    pb: &Playbook,
    play: &Play,
    hosts: &[HostId],
    var: &str,
    extra: &Map<String, Value>,
    renderer: &Renderer,
    check_mode: bool,
) -> Result<()> {
    let mut guarded = Vec::new();
    let mut place = None;
    for &h in hosts {
        let vars = static_vars(inv, h, play, extra, renderer);
        let on = vars
            .get(var)
            .and_then(crate::base::truth::boolean)
            .unwrap_or(false);
        if on {
            let host = inv.host(h);
            guarded.push(match &host.domain.pg {
                Some(pg) => format!("{} ({})", host.name, pg.cluster),
                None => host.name.clone(),
            });
            if place.is_none() {
                place = host.var_nodes.get(var).map(|n| n.span.clone());
            }
        }
    }
    if guarded.is_empty() {
        return Ok(());
    }
    let what = format!(
        "{var} is true for {}: {} does not touch a safeguarded instance",
        guarded.join(", "),
        pb.name
    );
    if check_mode {
        eprintln!("warning: {what} (a run without --check will be refused)");
        return Ok(());
    }
    let hint = format!(
        "if this is really what you want, turn the safeguard off for this run: -e {var}=false"
    );
    Err(match place {
        Some(span) => Error::invalid(&span, var, what).with_hint(hint),
        None => Error::usage(what).with_hint(hint),
    })
}

/// `pg_pitr` for every PostgreSQL host of the play, and the cluster rules.
fn check_pitr(
    inv: &Inventory,
    play: &Play,
    hosts: &[HostId],
    extra: &Map<String, Value>,
    renderer: &Renderer,
) -> Result<BTreeMap<HostId, String>> {
    let mut out = BTreeMap::new();
    // cluster -> (selected primary, selected members that need it)
    let mut clusters: BTreeMap<String, (bool, Vec<String>)> = BTreeMap::new();
    // Patroni clusters replaced in place: every member must be in the run (a member left
    // running Patroni would take the cluster while its keys are cleared)
    let mut patroni: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for &h in hosts {
        let host = inv.host(h);
        let Some(pg) = &host.domain.pg else { continue };
        let vars = static_vars(inv, h, play, extra, renderer);
        let pitr = match host.var_nodes.get("pg_pitr") {
            Some(node) => Pitr::from_node(node)?,
            None => match vars.get("pg_pitr") {
                Some(v) => Pitr::from_value(v)?,
                None => {
                    return Err(Error::usage(format!(
                        "pg_pitr is not defined for {} ({}): there is no recovery target",
                        host.name, pg.cluster
                    ))
                    .with_hint(
                        "give one with -e, e.g. -e '{\"pg_pitr\": {\"time\": \"2026-07-13 10:00:00+00\"}}' ({} recovers to the end of the archived WAL)",
                    ))
                }
            },
        };
        let span = pitr.span.clone();
        let member =
            Member::from_vars(&vars).map_err(|m| Error::invalid(&host.span, "pg_cluster", m))?;
        if member.patroni && inv.find_group("etcd").is_some() {
            // The keys `up` clears in etcd: one cluster's, never a wider prefix.
            member
                .dcs_prefix()
                .map_err(|m| Error::invalid(&host.span, "pg_cluster", m))?;
        }
        let job = Job::new(member, pitr).map_err(|m| Error::invalid(&span, "pg_pitr", m))?;
        if !job.rehearsal && job.member.patroni {
            patroni
                .entry(pg.cluster.clone())
                .or_default()
                .push(host.name.clone());
        }
        if !job.rehearsal {
            let entry = clusters.entry(pg.cluster.clone()).or_default();
            if job.member.is_primary() {
                entry.0 = true;
            } else {
                entry.1.push(host.name.clone());
            }
        }
        if let Some(src) = &job.pitr.source {
            check_source(inv, &job, src, &span)?;
        }
        out.insert(h, job.describe());
    }
    for (cluster, selected) in patroni {
        let missing: Vec<String> = inv
            .hosts
            .iter()
            .filter(|h| {
                h.domain.pg.as_ref().is_some_and(|p| p.cluster == cluster)
                    && !selected.contains(&h.name)
            })
            .map(|h| h.name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(Error::usage(format!(
                "the limit leaves out {} of {cluster}, a Patroni cluster: a PITR stops Patroni on every member and clears the cluster's keys, and a member left running would take the cluster for itself",
                missing.join(", ")
            ))
            .with_hint(format!("use -l {cluster}")));
        }
    }
    for (cluster, (primary, others)) in clusters {
        if !primary {
            let primary_name =
                primary_of(inv, &cluster).unwrap_or_else(|| "(none in the inventory)".into());
            return Err(Error::usage(format!(
                "the limit selects {} of {cluster} but not its primary {primary_name}: a PITR restores the primary and re-initialises the replicas from it",
                others.join(", ")
            ))
            .with_hint(format!(
                "use -l {cluster}; to rehearse on one host only, restore into another directory: pg_pitr: {{ data: /pg/data9, port: 15432, ... }}"
            )));
        }
    }
    Ok(out)
}

/// A source cluster of the inventory whose backups live on its own disk cannot be restored
/// elsewhere.
fn check_source(inv: &Inventory, job: &Job, src: &str, span: &crate::yaml::Span) -> Result<()> {
    if job.pitr.repo.is_some() || src == job.member.cluster {
        return Ok(());
    }
    let source_members: Vec<&crate::inventory::Host> = inv
        .hosts
        .iter()
        .filter(|h| h.domain.pg.as_ref().is_some_and(|p| p.cluster == src))
        .collect();
    let Some(first) = source_members.first() else {
        return Ok(()); // not in this inventory: the repository will tell
    };
    let Some(pg) = &first.domain.pg else {
        return Ok(());
    };
    let local = |repo: &Map<String, Value>, method: &str| {
        let kind = repo
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(if method == "local" { "posix" } else { "?" });
        kind == "posix" && repo.get("host").is_none()
    };
    if local(&pg.repo, &pg.method) {
        return Err(Error::invalid(
            span,
            "pg_pitr.cluster",
            format!(
                "{src} backs up to '{}', a repository on its own disk ({}), which {} cannot read",
                pg.method, first.name, job.member.host
            ),
        )
        .with_hint(format!(
            "back {src} up to a shared repository (e.g. pgbackrest_method: minio) and restore from there, or name it with pg_pitr.repo"
        )));
    }
    if pg.method != job.member.method {
        return Err(Error::invalid(
            span,
            "pg_pitr.cluster",
            format!(
                "{src} backs up to repository '{}', but {} would read '{}' (its own pgbackrest_method)",
                pg.method, job.member.host, job.member.method
            ),
        )
        .with_hint(format!(
            "give the source's repository with pg_pitr.repo, or -e pgbackrest_method={}",
            pg.method
        )));
    }
    Ok(())
}

/// Ask on a terminal; refuse without one unless `yes`. `Ok(false)`: the user said no.
pub fn confirm(playbook: &str, lines: &[String], yes: bool) -> Result<bool> {
    if lines.is_empty() {
        return Ok(true);
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{playbook} will change these hosts:");
    for l in lines {
        let _ = writeln!(err, "  {l}");
    }
    if yes {
        let _ = writeln!(err, "(--yes given: proceeding)");
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Error::usage(format!(
            "{playbook} replaces data and asks before it starts, but this is not a terminal"
        ))
        .with_hint(
            "add --yes (-y) to confirm, or --check to see the plan without changing anything",
        ));
    }
    let _ = write!(err, "Proceed? [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
