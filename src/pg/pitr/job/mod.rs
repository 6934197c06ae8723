//! One member's part in a PITR: where it restores, from which stanza and repository, with
//! which configuration file, command line and recovery settings.
//!
//! Everything that reaches pgBackRest, a configuration file or the shell is built here from
//! typed values: `pitr.conf` lines are checked against the INI grammar pgBackRest reads, the
//! restore is an argv (quoted once, where a shell line is needed), and the recovery settings
//! are written in PostgreSQL's own quoting — pgBackRest 2.45 writes a target such as a
//! restore point named `it's "here"` unescaped, which PostgreSQL then refuses to start with.

use serde_json::{Map, Value};

use super::spec::{Action, Pitr, Target, Timeline};

mod auto_conf;
use auto_conf::ini_value;
pub use auto_conf::*;

/// The variables a PITR reads on each host (besides what its tasks' templates name): the
/// run's validation covers them before the first connection.
pub const READS: &[&str] = &[
    "pg_pitr",
    "pg_cluster",
    "pg_role",
    "pg_seq",
    "pg_dbsu",
    "pg_data",
    "pg_port",
    "pg_bin_dir",
    "patroni_enabled",
    "pgbackrest_method",
    "pgbackrest_repo",
    "pgbackrest_log_dir",
    "pg_replication_username",
    "pg_replication_password",
    "pg_namespace",
    "patroni_port",
    "etcd_port",
    "etcd_root_password",
];

/// The member's identity and settings, from its variables (inventory, -e and the playbook's
/// defaults merged as a task sees them).
#[derive(Clone, Debug)]
pub struct Member {
    pub host: String,
    pub cluster: String,
    pub role: String,
    pub dbsu: String,
    pub data: String,
    pub port: u16,
    pub bin_dir: String,
    pub log_dir: String,
    pub method: String,
    pub repo: Map<String, Value>,
    pub patroni: bool,
    /// Patroni's REST API: this host's address and `patroni_port`.
    pub address: String,
    pub patroni_port: u16,
    /// `pg_namespace`: the top of the cluster's keys in the DCS (`/pg`).
    pub namespace: String,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "y" } else { "n" }.to_string()),
        _ => None,
    }
}

impl Member {
    pub fn from_vars(vars: &Value) -> Result<Member, String> {
        let s = |k: &str, d: &str| vars.get(k).and_then(text).unwrap_or_else(|| d.to_string());
        let cluster = vars
            .get("pg_cluster")
            .and_then(text)
            .ok_or("this host has no pg_cluster: it is not a PostgreSQL host")?;
        let method = s("pgbackrest_method", "local");
        let repo = match vars.get("pgbackrest_repo").and_then(|r| r.get(&method)) {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        let port = s("pg_port", "5432")
            .parse::<u16>()
            .map_err(|_| format!("pg_port '{}' is not a port", s("pg_port", "")))?;
        let patroni = match vars.get("patroni_enabled") {
            None | Some(Value::Null) => false,
            Some(v) => crate::base::truth::boolean(v).unwrap_or(false),
        };
        let patroni_port = s("patroni_port", "8008")
            .parse::<u16>()
            .map_err(|_| format!("patroni_port '{}' is not a port", s("patroni_port", "")))?;
        let host = s("inventory_hostname", "");
        Ok(Member {
            address: vars
                .get("ansible_host")
                .and_then(text)
                .unwrap_or_else(|| host.clone()),
            patroni_port,
            namespace: s("pg_namespace", "/pg"),
            host,
            cluster,
            role: s("pg_role", "replica"),
            dbsu: s("pg_dbsu", "postgres"),
            data: s("pg_data", "/pg/data"),
            port,
            bin_dir: s("pg_bin_dir", "/usr/pgsql/bin"),
            log_dir: s("pgbackrest_log_dir", "/pg/log/pgbackrest"),
            method,
            repo,
            patroni,
        })
    }

    pub fn is_primary(&self) -> bool {
        self.role == "primary"
    }

    /// The cluster's keys in the DCS, `<pg_namespace>/<pg_cluster>/` — refused when it could
    /// reach another cluster's keys or the whole namespace.
    pub fn dcs_prefix(&self) -> Result<String, String> {
        let ns = self.namespace.trim_end_matches('/');
        let cluster = self.cluster.as_str();
        if cluster.is_empty() || cluster == "root" {
            return Err(format!(
                "pg_cluster '{cluster}' cannot name a cluster's keys in etcd: clearing them would reach outside the cluster"
            ));
        }
        if cluster.contains(['/', '*', ' ']) || cluster.chars().any(char::is_control) {
            return Err(format!(
                "pg_cluster '{cluster}' has a character a DCS key of one cluster cannot have"
            ));
        }
        let clean = ns.starts_with('/')
            && ns[1..]
                .split('/')
                .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains(['*', ' ']));
        if !clean || ns.chars().any(char::is_control) {
            return Err(format!(
                "pg_namespace '{}' is not a clean absolute key prefix such as /pg",
                self.namespace
            ));
        }
        Ok(format!("{ns}/{cluster}/"))
    }
}

/// What this member does in the PITR.
#[derive(Clone, Debug)]
pub struct Job {
    pub member: Member,
    pub pitr: Pitr,
    /// The stanza restored from.
    pub source: String,
    /// Restoring another cluster's backups (a clone).
    pub clone: bool,
    /// Where the data is restored, and the port the recovered instance listens on.
    pub data: String,
    pub port: u16,
    /// A rehearsal next to the live instance (another data directory): nothing live is
    /// stopped or touched, and nothing is archived.
    pub rehearsal: bool,
    /// `archive-mode=preserve` (true) or `off`.
    pub archive: bool,
    pub archive_why: String,
    pub conf_path: String,
    /// PostgreSQL's log while recovering.
    pub log_file: String,
}

impl Job {
    pub fn new(member: Member, pitr: Pitr) -> Result<Job, String> {
        let source = pitr
            .source
            .clone()
            .unwrap_or_else(|| member.cluster.clone());
        let clone = source != member.cluster;
        let data = pitr.data.clone().unwrap_or_else(|| member.data.clone());
        let rehearsal = data.trim_end_matches('/') != member.data.trim_end_matches('/');
        let port = pitr.port.unwrap_or(member.port);
        if rehearsal && port == member.port {
            return Err(format!(
                "pg_pitr.data {data} is a rehearsal next to the live instance, which listens on port {port}: give the rehearsal its own port (pg_pitr.port, e.g. {})",
                port as u32 + 10000
            ));
        }
        if rehearsal && pitr.backup {
            return Err(format!(
                "pg_pitr.backup moves the live data directory aside, but pg_pitr.data {data} is a rehearsal that leaves it alone: drop one of them"
            ));
        }
        let (archive, archive_why) = match (pitr.archive, rehearsal, clone) {
            (_, true, _) => (false, "off: a rehearsal never archives WAL into the repository".to_string()),
            (Some(true), _, true) => (true, format!(
                "preserve (pg_pitr.archive: true): once promoted, {} archives into its own stanza after the post-PITR cleanup",
                member.cluster
            )),
            (Some(a), _, _) => (a, format!("{} (pg_pitr.archive: {a})", if a { "preserve" } else { "off" })),
            (None, _, true) => (false, format!(
                "off: restoring another cluster's backups ({source}); enable it with the post-PITR cleanup (-t cleanup)"
            )),
            (None, _, false) => (true, "preserve: the cluster's own stanza, archiving goes on after the PITR".to_string()),
        };
        let (conf_path, log_file) = if rehearsal {
            (
                format!("/pg/conf/pitr-{port}.conf"),
                format!("/pg/tmp/recovery-{port}.log"),
            )
        } else {
            (
                "/pg/conf/pitr.conf".to_string(),
                "/pg/tmp/recovery.log".to_string(),
            )
        };
        Ok(Job {
            member,
            pitr,
            source,
            clone,
            data,
            port,
            rehearsal,
            archive,
            archive_why,
            conf_path,
            log_file,
        })
    }

    /// One line for the question asked before a run: what happens to this member.
    pub fn describe(&self) -> String {
        let m = &self.member;
        let who = format!("{} ({} {})", m.host, m.cluster, m.role);
        let then = match (&self.pitr.target, self.action()) {
            (Target::Latest, _) => "then promoted".to_string(),
            (_, a) => format!("then {}", a.as_str()),
        };
        if self.rehearsal {
            return format!(
                "{who}: rehearsal: restore stanza {} into {} on port {} to {}, {then}; the live instance is not touched",
                self.source,
                self.data,
                self.port,
                self.pitr.target.describe()
            );
        }
        let aside = if self.pitr.backup {
            format!(" ({} is moved aside under a dated name first)", self.data)
        } else {
            String::new()
        };
        let stop = if m.patroni {
            "STOP Patroni (paused) and PostgreSQL"
        } else {
            "STOP PostgreSQL"
        };
        if self.restores() {
            format!(
                "{who}: {stop} and REPLACE {}{aside} with stanza {} restored to {}, {then}{}",
                self.data,
                self.source,
                self.pitr.target.describe(),
                if m.patroni {
                    "; in 'up' its keys in etcd are cleared and Patroni leads it"
                } else {
                    ""
                }
            )
        } else {
            format!(
                "{who}: {stop}; in 'up', {} REPLACES {}{aside} with a copy of the restored primary (re-initialised, not restored: its own data is the old history)",
                if m.patroni { "Patroni" } else { "pg_basebackup" },
                self.data
            )
        }
    }

    /// Whether this member is restored from the repository (the primary, or any member in a
    /// rehearsal); the other members are re-initialised from the restored primary in `up`.
    pub fn restores(&self) -> bool {
        self.rehearsal || self.member.is_primary()
    }

    /// The repository options (`repo1-<key>`), `${pg_cluster}` replaced by the source stanza.
    pub fn repo_options(&self, unsupported: &[String]) -> Vec<(String, String)> {
        let repo = self
            .pitr
            .repo
            .clone()
            .unwrap_or_else(|| self.member.repo.clone());
        let mut out: Vec<(String, String)> = repo
            .iter()
            .filter(|(k, _)| !unsupported.contains(k))
            .filter_map(|(k, v)| {
                text(v).map(|v| {
                    (
                        format!("repo1-{}", k.replace('_', "-")),
                        v.replace("${pg_cluster}", &self.source),
                    )
                })
            })
            .collect();
        out.sort();
        out
    }

    /// `pitr.conf`: the source stanza's section and the restore settings, Pigsty's layout.
    pub fn conf(&self, process_max: u32, unsupported: &[String]) -> Result<String, String> {
        let mut out = String::new();
        out.push_str(&format!(
            "# {}: pgBackRest configuration for a PITR of {} from stanza {}\n# written by pgplay pgsql-pitr; {}\n\n",
            self.conf_path,
            self.member.cluster,
            self.source,
            if self.rehearsal { "a rehearsal next to the live instance" } else { "the live data directory" }
        ));
        let mut section = |name: &str, lines: Vec<(String, String)>| -> Result<(), String> {
            out.push_str(&format!("[{name}]\n"));
            for (k, v) in lines {
                ini_value(&k, &v)?;
                out.push_str(&format!("{k}={v}\n"));
            }
            out.push('\n');
            Ok(())
        };
        section(
            &self.source,
            vec![
                ("pg1-path".into(), self.data.clone()),
                ("pg1-port".into(), self.port.to_string()),
            ],
        )?;
        let mut global = self.repo_options(unsupported);
        global.extend([
            ("log-level-console".into(), "info".into()),
            ("log-level-file".into(), "info".into()),
            ("log-path".into(), self.member.log_dir.clone()),
            (
                "archive-mode".into(),
                if self.archive { "preserve" } else { "off" }.into(),
            ),
            ("link-all".into(), "n".into()),
            ("delta".into(), "y".into()),
        ]);
        for db in &self.pitr.db_include {
            global.push(("db-include".into(), db.clone()));
        }
        for db in &self.pitr.db_exclude {
            global.push(("db-exclude".into(), db.clone()));
        }
        for (link, path) in &self.pitr.link_map {
            global.push(("link-map".into(), format!("{link}={path}")));
        }
        section("global", global)?;
        let process = self.pitr.process.unwrap_or(process_max).max(1).to_string();
        section(
            "global:restore",
            vec![("process-max".into(), process.clone())],
        )?;
        section("global:archive-get", vec![("process-max".into(), process)])?;
        Ok(out)
    }

    /// The pgBackRest restore command line.
    pub fn restore_argv(&self, set: &str, timeline: Timeline) -> Vec<String> {
        let mut argv = vec![
            "pgbackrest".to_string(),
            format!("--config={}", self.conf_path),
            format!("--stanza={}", self.source),
            format!("--set={set}"),
        ];
        let target = &self.pitr.target;
        if *target != Target::Latest {
            argv.push(format!("--type={}", target.kind()));
        }
        if let Some(v) = target.value() {
            argv.push(format!("--target={v}"));
        }
        if self.pitr.exclusive {
            argv.push("--target-exclusive".into());
        }
        if !matches!(target, Target::Latest) && self.action() != Action::Pause {
            argv.push(format!("--target-action={}", self.action().as_str()));
        }
        if *target != Target::Immediate {
            argv.push(format!("--target-timeline={}", timeline.setting()));
        }
        argv.push("--delta".into());
        argv.push("--force".into());
        argv.push("restore".into());
        argv
    }

    pub fn action(&self) -> Action {
        self.pitr.action()
    }

    /// The recovery settings pgplay writes into postgresql.auto.conf (replacing pgBackRest's).
    pub fn recovery_settings(&self, timeline: Timeline) -> Vec<(String, String)> {
        let mut s = vec![(
            "restore_command".to_string(),
            format!(
                "pgbackrest --config={} --stanza={} archive-get %f \"%p\"",
                self.conf_path, self.source
            ),
        )];
        match &self.pitr.target {
            Target::Latest => {}
            Target::Immediate => s.push(("recovery_target".into(), "immediate".into())),
            Target::Time(t) => s.push(("recovery_target_time".into(), t.utc())),
            Target::Name(n) => s.push(("recovery_target_name".into(), n.clone())),
            Target::Xid(x) => s.push(("recovery_target_xid".into(), x.to_string())),
            Target::Lsn(l) => s.push(("recovery_target_lsn".into(), l.to_string())),
        }
        if self.pitr.exclusive {
            s.push(("recovery_target_inclusive".into(), "off".into()));
        }
        if self.pitr.target != Target::Latest {
            s.push((
                "recovery_target_action".into(),
                self.action().as_str().into(),
            ));
        }
        s.push(("recovery_target_timeline".into(), timeline.setting()));
        if !self.archive {
            s.push(("archive_mode".into(), "off".into()));
        }
        if self.rehearsal {
            // Never into the repository, even if someone turns archive_mode on.
            s.push(("archive_command".into(), String::new()));
            s.push(("port".into(), self.port.to_string()));
        } else {
            // The restored files carry the source's archive_command: a clone must never
            // write WAL into another cluster's stanza.
            s.push((
                "archive_command".into(),
                format!(
                    "pgbackrest --stanza={} archive-push %p",
                    self.member.cluster
                ),
            ));
        }
        s
    }

    /// The one command that starts recovery (as the dbsu), logging to `log_file`.
    pub fn start_argv(&self) -> Vec<String> {
        let (dir, file) = self
            .log_file
            .rsplit_once('/')
            .map(|(d, f)| (d.to_string(), f.to_string()))
            .unwrap_or(("/pg/tmp".into(), "recovery.log".into()));
        vec![
            format!("{}/pg_ctl", self.member.bin_dir),
            "-D".into(),
            self.data.clone(),
            "-W".into(),
            "-l".into(),
            format!("{dir}/{}", file.replace(".log", "-startup.log")),
            "-o".into(),
            format!(
                "-c port={} -c logging_collector=on -c log_destination=stderr -c log_directory={dir} -c log_filename={file} -c log_rotation_size=0 -c log_truncate_on_rotation=off",
                self.port
            ),
            "start".into(),
        ]
    }
}

/// The setting a timeline decision writes, for messages.
pub fn timeline_words(t: Timeline, id: u32) -> String {
    match t {
        Timeline::Latest => format!("latest (timeline {id})"),
        Timeline::Current => format!("current (timeline {id}, the backup's own)"),
        Timeline::Id(n) => format!("{n}"),
    }
}

#[cfg(test)]
mod tests;
