//! pgplay's integration suite: the real binary against real OpenSSH hosts.
//!
//! A custom harness (libtest-mimic) brings the fleet sandbox up once (49 sshd hosts on
//! 127.0.40.x, each in its own mount namespace), runs every test, and brings it down again,
//! even when tests fail. If the fleet cannot start, every test fails: nothing is skipped.
//! Each test works on its own hosts, so tests can run in parallel.

mod bad_inputs;
mod blocks;
mod connection;
mod inventory_list;
mod language;
mod modules;
mod node_crontab;
mod playbook_names;
#[path = "../common/run.rs"]
mod run;
mod secrets;
mod selection;
mod settings;
mod support;
mod test;
mod transport_tests;

use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};

const FLEET_SIZE: usize = 49;

type TestFn = fn(&support::Fleet);

fn main() {
    let args = Arguments::from_args();
    let fleet_tests: Vec<(&str, TestFn)> = vec![
        (
            "node_crontab_overwrite_on_five_hosts",
            node_crontab::overwrite_on_five_hosts,
        ),
        (
            "node_crontab_append_keeps_other_lines",
            node_crontab::append_keeps_other_lines,
        ),
        (
            "node_rm_restores_default_crontab",
            node_crontab::node_rm_restores_default,
        ),
        (
            "limit_and_tags_select_hosts_and_tasks",
            selection::limit_and_tags,
        ),
        (
            "unreachable_host_is_reported",
            transport_tests::unreachable_host_is_reported,
        ),
        (
            "host_keys_are_checked",
            transport_tests::host_keys_are_checked,
        ),
        (
            "bad_inputs_are_refused_and_hosts_untouched",
            bad_inputs::refused_and_untouched,
        ),
        (
            "validation_is_scoped_to_the_run",
            bad_inputs::validation_is_scoped_to_the_run,
        ),
        (
            "hostile_strings_are_written_literally",
            bad_inputs::hostile_strings_are_literal,
        ),
        (
            "bare_names_are_built_in_and_paths_are_files",
            playbook_names::bare_names_are_built_in_and_paths_are_files,
        ),
        (
            "long_steps_say_they_are_alive",
            modules::long_steps_say_they_are_alive,
        ),
        ("playbook_language_features", language::features),
        (
            "secrets_are_masked_in_text_diffs_json_and_errors",
            secrets::masked_everywhere,
        ),
        (
            "any_errors_fatal_stops_every_host",
            language::any_errors_fatal_stops_everyone,
        ),
        (
            "graph_prints_dot_and_cycles_are_refused",
            language::graph_and_cycles,
        ),
        (
            "ctrl_c_stops_new_work_and_prints_recap",
            language::ctrl_c_stops_new_work,
        ),
        (
            "second_interrupt_stops_remote_work_and_prints_recap",
            language::second_interrupt_stops_remote_work,
        ),
        (
            "modules_change_once_and_check_mode_changes_nothing",
            modules::modules_change_once,
        ),
        ("failing_modules_say_why", modules::failing_modules_say_why),
        (
            "ansible_cfg_and_environment_like_ansible",
            settings::ansible_cfg_and_environment,
        ),
        (
            "colour_only_where_wanted",
            settings::colour_only_where_wanted,
        ),
        (
            "step_asks_before_each_task",
            settings::step_asks_before_each_task,
        ),
        (
            "blocks_rescue_on_one_host_of_three",
            blocks::rescue_on_one_host_of_three,
        ),
        (
            "blocks_failing_rescue_fails_the_host",
            blocks::failing_rescue_fails_the_host,
        ),
        (
            "blocks_always_without_rescue_keeps_the_failure",
            blocks::always_without_rescue_keeps_the_failure,
        ),
        ("blocks_nested", blocks::nested_blocks),
        (
            "blocks_check_mode_and_unreachable",
            blocks::check_mode_and_unreachable,
        ),
        ("password_login_and_become_password", connection::passwords),
        (
            "jump_host_reaches_a_host_only_it_can_resolve",
            connection::jump_host,
        ),
        (
            "password_and_ssh_options_refused_before_connecting",
            connection::refused_before_connecting,
        ),
        (
            "become_password_prompt_on_a_terminal",
            connection::become_password_prompt,
        ),
    ];
    let needs_fleet = fleet_tests.iter().any(|(name, _)| {
        let probe = Trial::test(*name, || Ok(()));
        !args.is_filtered_out(&probe)
    });
    let fleet = if needs_fleet && !args.list {
        match support::Fleet::up(FLEET_SIZE) {
            Ok(f) => Ok(Arc::new(f)),
            Err(e) => Err(e),
        }
    } else {
        Err("fleet not started".to_string())
    };
    let mut trials = Vec::new();
    for (name, f) in fleet_tests {
        let fleet = fleet.clone();
        trials.push(Trial::test(name, move || match &fleet {
            Ok(fleet) => run(|| f(fleet)),
            Err(e) => Err(Failed::from(format!(
                "the fleet sandbox did not start: {e}"
            ))),
        }));
    }
    for (name, f) in inventory_list::tests() {
        trials.push(Trial::test(name, move || run(f)));
    }
    let local: [(&str, fn()); 2] = [
        (
            "repeated_inventories_and_limits",
            settings::repeated_inventories_and_limits,
        ),
        ("help_that_teaches", settings::help_that_teaches),
    ];
    for (name, f) in local {
        trials.push(Trial::test(name, move || run(f)));
    }
    let conclusion = libtest_mimic::run(&args, trials);
    if let Ok(fleet) = &fleet {
        fleet.down();
    }
    conclusion.exit();
}

/// Run a test body, turning a panic into a failure with its message.
fn run(f: impl FnOnce() + std::panic::UnwindSafe) -> Result<(), Failed> {
    std::panic::catch_unwind(f).map_err(|e| {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "test panicked".into());
        Failed::from(msg)
    })
}
