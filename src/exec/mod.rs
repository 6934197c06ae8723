//! Execution: run each play's plan over its hosts, in parallel, and report what happened.
//!
//! A scheduler walks the plan's DAG: a (task, host) step starts when everything before it
//! is done and a fork is free (`--forks` semaphore; `throttle` adds a per-task one). A host
//! whose step fails or is unreachable skips the rest of its chain while the others go on —
//! except inside blocks, where a failure first leads the host through the block's rescue
//! and always steps (`flow.rs`; an unreachable host is never rescued, as in Ansible).
//! `any_errors_fatal` gives a failure to every host of the play once all have finished that
//! task (its lockstep barrier): outside blocks that stops the play everywhere; inside them
//! each host goes through its rescue and always steps, as Ansible does. Ctrl-C (the
//! cancellation token) stops starting new steps, lets running commands finish, and the
//! recap is still printed. Each host has one connection (`pool.rs`), opened on first use
//! and reused by every task.
//!
//! This file is the scheduler. One (task, host) step is `step.rs` (its lifecycle and report),
//! `items.rs` (when, loop), `retry.rs` (until/retries), `target.rs` (delegate_to, become,
//! environment, connection) and `judge.rs` (changed_when/failed_when, status); why a step
//! failed stays typed in `failure.rs` until it is reported with its task and place; the
//! variables a step sees are `vars.rs`.

mod done;
mod failure;
mod flow;
mod items;
mod judge;
mod pool;
mod retry;
mod step;
pub mod stepper;
mod target;
#[cfg(test)]
mod tests;
mod vars;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use petgraph::graph::NodeIndex;
use petgraph::Direction;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::exit;
use crate::inventory::{HostId, Inventory};
use crate::plan::{Node, Plan};
use crate::playbook::{BlockId, Playbook, TaskId};
use crate::report::{Event, Stats};
use crate::template::Renderer;

pub use pool::Transport;

/// Settings of one run, from the command line.
#[derive(Clone, Debug)]
pub struct Options {
    pub check: bool,
    pub diff: bool,
    pub forks: usize,
    pub transport: Transport,
    pub accept_new_host_keys: bool,
    pub known_hosts: Option<PathBuf>,
    pub private_key: Option<PathBuf>,
    pub user: Option<String>,
    /// `-b`: become for every task that does not say otherwise (nor its host's
    /// `ansible_become`), as ansible-playbook's command line.
    pub r#become: bool,
    /// `--become-user`: the user to become when neither the task nor the host names one.
    pub become_user: Option<String>,
    pub timeout: Duration,
    /// `-k`: the login password of every host whose inventory sets none.
    pub conn_password: Option<crate::transport::Secret>,
    /// `-K`: the become password of every host whose inventory sets none.
    pub become_password: Option<crate::transport::Secret>,
    pub extra_vars: Map<String, Value>,
    /// This run's command line without its tags, for "to continue, run ..." messages.
    pub rerun: String,
    /// `--step`: ask before each task starts (on the terminal).
    pub step: bool,
}

/// Per-host state carried across tasks and plays.
#[derive(Debug, Default)]
pub struct HostState {
    /// Registered results and set_fact variables.
    pub facts: Map<String, Value>,
    pub failed: bool,
    pub unreachable: bool,
    /// Where the host stands in the current play's blocks.
    pub flow: flow::Flow,
    pub stats: Stats,
    /// Its running work was stopped by a second interrupt.
    pub cut: bool,
    /// The secrets this host's variables hold, masked in any output (see `crate::mask`).
    pub secrets: crate::mask::Shared,
}

/// Steps running now: (host, play, task) → (host name, task name, started).
type Running = std::collections::BTreeMap<(HostId, usize, TaskId), (String, String, Instant)>;

/// What the engine shares with every running step.
pub struct Engine {
    pub inv: Arc<Inventory>,
    pub pb: Arc<Playbook>,
    pub opts: Options,
    pub renderer: Renderer,
    pub hosts: Vec<Mutex<HostState>>,
    pub pool: pool::Pool,
    pub events: mpsc::UnboundedSender<Event>,
    pub cancel: CancellationToken,
    /// A second interrupt: running steps are abandoned (their remote commands are stopped).
    pub abort: CancellationToken,
    /// Steps running now (what an interrupt lists).
    running: Mutex<Running>,
    /// Results of run_once tasks, shared with the play's other hosts.
    pub run_once: Mutex<HashMap<(usize, TaskId), Value>>,
    /// Per task: which fleet-wide magic variables its templates can reach (computed once).
    mentions: Mutex<HashMap<(usize, TaskId), vars::Mentions>>,
    /// Whether some inventory variable's own template reaches them (then every task gets them).
    inventory_mentions: vars::Mentions,
    /// `groups`: every group's host names, built once.
    groups: Value,
    /// pgplay's own texts, whose words are not masked as free text (see `crate::mask`).
    vocabulary: Vec<&'static str>,
    /// `--step`'s answers.
    pub stepper: stepper::Stepper,
}

/// The passwords typed at -k / -K, as variables the masker knows to hide.
fn prompted_secrets(opts: &Options) -> Map<String, Value> {
    let mut m = Map::new();
    for (name, secret) in [
        ("ansible_password", &opts.conn_password),
        ("ansible_become_password", &opts.become_password),
    ] {
        if let Some(s) = secret {
            m.insert(name.into(), Value::String(s.expose().to_string()));
        }
    }
    m
}

/// The outcome of a whole run.
pub struct Summary {
    pub exit_code: i32,
}

impl Engine {
    pub fn new(
        inv: Arc<Inventory>,
        pb: Arc<Playbook>,
        opts: Options,
        events: mpsc::UnboundedSender<Event>,
        cancel: CancellationToken,
    ) -> Arc<Engine> {
        let vocabulary = crate::builtin::all_texts();
        let hosts = inv
            .hosts
            .iter()
            .map(|h| {
                let mut secrets = crate::mask::Secrets::default();
                secrets.learn(&h.vars, &vocabulary);
                // -k / -K: masked like the inventory's passwords.
                secrets.learn(&prompted_secrets(&opts), &vocabulary);
                Mutex::new(HostState {
                    secrets: Arc::new(secrets),
                    ..HostState::default()
                })
            })
            .collect();
        let pool = pool::Pool::new(&inv, &opts);
        let mut inventory_mentions = vars::Mentions::default();
        for h in &inv.hosts {
            for v in h.inventory_vars.values() {
                if let Value::String(s) = v {
                    if crate::base::text::contains_template(s) {
                        inventory_mentions = inventory_mentions.or(vars::Mentions::of(s));
                    }
                }
            }
        }
        let mut groups = Map::new();
        for (i, g) in inv.groups.iter().enumerate() {
            let names = inv
                .group_hosts(crate::inventory::GroupId(i))
                .into_iter()
                .map(|x| Value::String(inv.host(x).name.clone()))
                .collect();
            groups.insert(g.name.clone(), Value::Array(names));
        }
        Arc::new(Engine {
            inv,
            pb,
            opts,
            renderer: Renderer::new(),
            hosts,
            pool,
            events,
            cancel,
            abort: CancellationToken::new(),
            running: Mutex::new(std::collections::BTreeMap::new()),
            run_once: Mutex::new(HashMap::new()),
            mentions: Mutex::new(HashMap::new()),
            inventory_mentions,
            groups: Value::Object(groups),
            vocabulary,
            stepper: stepper::Stepper::default(),
        })
    }

    /// Which fleet-wide magic variables a task needs (cached per task).
    pub fn mentions(&self, play_index: usize, task: &crate::playbook::Task) -> vars::Mentions {
        let key = (play_index, task.id);
        if let Some(m) = self.mentions.lock().ok().and_then(|m| m.get(&key).copied()) {
            return m;
        }
        let m = vars::Mentions::of(&vars::task_text(self, play_index, task))
            .or(self.inventory_mentions);
        if let Ok(mut cache) = self.mentions.lock() {
            cache.insert(key, m);
        }
        m
    }

    pub fn groups_value(&self) -> Value {
        self.groups.clone()
    }

    pub fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    /// A step starts (`Some`) or ends (`None`): the list an interrupt shows.
    pub(crate) fn set_running(&self, key: (HostId, usize, TaskId), what: Option<(String, String)>) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        match what {
            Some((host, task)) => {
                running.insert(key, (host, task, Instant::now()));
            }
            None => {
                running.remove(&key);
            }
        }
    }

    /// The user interrupted (`signal` names how). The first interrupt stops new work and
    /// says which running tasks are awaited; the second abandons them, which stops their
    /// commands on the hosts (the transports send SIGTERM to each command's process group).
    pub fn interrupt(&self, signal: &str) {
        let stage = if self.cancel.is_cancelled() { 2 } else { 1 };
        self.cancel.cancel();
        if stage == 2 {
            self.abort.cancel();
        }
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|(host, task, started)| crate::report::RunningTask {
                host: host.clone(),
                task: task.clone(),
                elapsed_ms: started.elapsed().as_millis() as u64,
            })
            .collect();
        self.emit(Event::Interrupt {
            stage,
            signal: signal.to_string(),
            running,
        });
    }

    /// Learn the secrets of a step's variables (playbook defaults and vars, facts, `-e`), so
    /// that what the step shows is masked with them.
    pub fn learn_secrets(&self, host: HostId, vars: &Value) {
        let mut st = self.state(host);
        if let Value::Object(m) = vars {
            if st.secrets.has_new(m) {
                let mut next = (*st.secrets).clone();
                next.learn(m, &self.vocabulary);
                st.secrets = Arc::new(next);
            }
        }
    }

    pub fn state(&self, host: HostId) -> std::sync::MutexGuard<'_, HostState> {
        match self.hosts[host.0].lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Run every play in order; `plans[i]` is play i's plan (None: no host matched).
    pub async fn run(self: &Arc<Engine>, plans: Vec<Option<Plan>>) -> Summary {
        let started = Instant::now();
        let mut touched: Vec<HostId> = Vec::new();
        let mut fatal = false;
        let last = plans.iter().rposition(Option::is_some);
        for (index, plan) in plans.into_iter().enumerate() {
            let play = &self.pb.plays[index];
            let Some(plan) = plan else {
                self.emit(Event::Warning {
                    message: format!(
                        "play '{}': no host matched '{}', skipping it",
                        play.name, play.hosts
                    ),
                });
                continue;
            };
            for h in &plan.hosts {
                if !touched.contains(h) {
                    touched.push(*h);
                }
            }
            self.emit(Event::PlayStart {
                play: play.name.clone(),
                playbook: crate::playbook::origin(&self.pb),
                hosts: plan
                    .hosts
                    .iter()
                    .map(|h| self.inv.host(*h).name.clone())
                    .collect(),
                tasks: plan
                    .tasks
                    .iter()
                    .map(|t| crate::report::TaskInfo {
                        index: t.0,
                        name: play.tasks[t.0].name.clone(),
                        run_once: play.tasks[t.0].run_once,
                    })
                    .collect(),
                check: self.opts.check,
            });
            if self.run_play(index, plan, Some(index) == last).await {
                fatal = true;
            }
            if self.cancel.is_cancelled() || fatal {
                break;
            }
        }
        self.pool.close_all().await;
        touched.sort();
        let mut code = exit::OK;
        let mut hosts = Vec::new();
        let mut cut = Vec::new();
        for h in touched {
            let st = self.state(h);
            if st.cut {
                cut.push(self.inv.host(h).name.clone());
            }
            if st.unreachable {
                code = exit::UNREACHABLE;
            } else if st.failed && code == exit::OK {
                code = exit::HOST_FAILED;
            }
            hosts.push((self.inv.host(h).name.clone(), st.stats.clone()));
        }
        let interrupted = self.cancel.is_cancelled();
        if interrupted {
            code = exit::INTERRUPTED;
        } else if fatal && code == exit::OK {
            code = exit::HOST_FAILED;
        }
        self.emit(Event::Recap {
            hosts,
            interrupted,
            cut,
            duration_ms: started.elapsed().as_millis() as u64,
        });
        Summary { exit_code: code }
    }

    /// `any_errors_fatal`: the failure of some hosts at a task is given to every other host of
    /// the play, where it stands (Ansible marks them failed: outside blocks their chains
    /// stop, inside blocks they go through rescue and always).
    fn fail_others(&self, hosts: &[HostId], failed: &[HostId], rescues: &HashSet<BlockId>) {
        for h in hosts.iter().filter(|h| !failed.contains(h)) {
            let mut st = self.state(*h);
            if st.failed || st.unreachable {
                continue;
            }
            if st.flow.fail(rescues) == flow::Failure::HostFailed {
                st.failed = true;
            }
        }
    }

    /// Run one play's DAG; returns true when any_errors_fatal fired and left a host failed.
    async fn run_play(self: &Arc<Engine>, play_index: usize, plan: Plan, last_play: bool) -> bool {
        let play = &self.pb.plays[play_index];
        let graph = Arc::new(plan.graph);
        let hosts = Arc::new(plan.hosts);
        let rescues = Arc::new(plan.rescues);
        // any_errors_fatal: per task, the hosts whose own step failed there; the others get
        // the failure at the task's lockstep barrier, once every host has finished it.
        let mut fatal: HashMap<TaskId, Vec<HostId>> = HashMap::new();
        let mut fired = false;
        let forks = Arc::new(Semaphore::new(self.opts.forks.max(1)));
        let throttles: HashMap<TaskId, Arc<Semaphore>> = plan
            .tasks
            .iter()
            .filter_map(|t| {
                play.tasks[t.0]
                    .throttle
                    .map(|n| (*t, Arc::new(Semaphore::new(n))))
            })
            .collect();
        let mut indegree: Vec<usize> = graph
            .node_indices()
            .map(|n| graph.neighbors_directed(n, Direction::Incoming).count())
            .collect();
        let mut ready: VecDeque<NodeIndex> = graph
            .node_indices()
            .filter(|n| indegree[n.index()] == 0)
            .collect();
        // Steps left per host in this play, to close a host's connection as soon as its
        // last step of the run is done (bounded sockets and memory on large fleets).
        let mut remaining: HashMap<HostId, usize> = HashMap::new();
        for n in graph.node_indices() {
            if let Some(step) = graph[n].step() {
                *remaining.entry(step.host).or_default() += 1;
            }
        }
        let mut running: JoinSet<(NodeIndex, bool)> = JoinSet::new();
        let mut closing: JoinSet<()> = JoinSet::new();
        let mut stop = false;
        loop {
            // Start what can start: barriers at once, steps while a fork is free. A finished
            // step's successor goes to the front of the queue, so each host runs its chain
            // through (depth first) rather than every host holding a connection at once.
            while let Some(&node) = ready.front() {
                let Some(step) = graph[node].step() else {
                    ready.pop_front();
                    if let Node::Lockstep(task) = graph[node] {
                        if let Some(failed) = fatal.remove(&task) {
                            self.fail_others(&hosts, &failed, &rescues);
                            fired = true;
                        }
                    }
                    for next in graph.neighbors_directed(node, Direction::Outgoing) {
                        indegree[next.index()] -= 1;
                        if indegree[next.index()] == 0 {
                            ready.push_back(next);
                        }
                    }
                    continue;
                };
                if stop || self.cancel.is_cancelled() {
                    ready.pop_front();
                    continue;
                }
                let Ok(fork) = forks.clone().try_acquire_owned() else {
                    break;
                };
                ready.pop_front();
                if self.opts.step && self.stepper.to_ask(play_index, step.task) {
                    let name = play.tasks[step.task.0].name.clone();
                    let answer = tokio::task::spawn_blocking(move || stepper::ask(&name))
                        .await
                        .unwrap_or(stepper::Answer::No);
                    self.stepper.answer(play_index, step.task, answer);
                }
                let engine = self.clone();
                let throttle = throttles.get(&step.task).cloned();
                let hosts = hosts.clone();
                let rescues = rescues.clone();
                running.spawn(async move {
                    let _fork = fork;
                    let _throttle = match &throttle {
                        Some(t) => t.clone().acquire_owned().await.ok(),
                        None => None,
                    };
                    let mut failed = false;
                    if !engine.cancel.is_cancelled() {
                        failed = step::run(&engine, play_index, step, &hosts, &rescues).await;
                    }
                    (node, failed)
                });
            }
            let Some(done) = running.join_next().await else {
                break;
            };
            let node = match done {
                Ok((node, failed)) => {
                    if let (true, Some(step)) =
                        (failed && play.any_errors_fatal, graph[node].step())
                    {
                        fatal.entry(step.task).or_default().push(step.host);
                    }
                    node
                }
                Err(e) => {
                    self.emit(Event::Warning {
                        message: format!("internal error in a task runner: {e}"),
                    });
                    stop = true;
                    continue;
                }
            };
            if let Some(step) = graph[node].step() {
                if let Some(left) = remaining.get_mut(&step.host) {
                    *left -= 1;
                    if *left == 0 && last_play {
                        let engine = self.clone();
                        closing.spawn(async move { engine.pool.close(step.host).await });
                    }
                }
            }
            for next in graph.neighbors_directed(node, Direction::Outgoing) {
                indegree[next.index()] -= 1;
                if indegree[next.index()] == 0 {
                    ready.push_front(next);
                }
            }
        }
        while closing.join_next().await.is_some() {}
        // A failure at the play's last task has no barrier after it.
        for (_, failed) in fatal.drain() {
            self.fail_others(&hosts, &failed, &rescues);
            fired = true;
        }
        // Out of the play, a failure still carried in a block fails the host.
        let mut any_failed = false;
        for h in hosts.iter() {
            let mut st = self.state(*h);
            if st.flow.finish() && !st.unreachable {
                st.failed = true;
            }
            any_failed |= st.failed || st.unreachable;
        }
        stop || (fired && any_failed)
    }
}
