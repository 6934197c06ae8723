//! `pgplay inventory --list` prints exactly what `ansible-inventory --list` (ansible-core
//! 2.19) printed for the same files: the golden files in tests/golden were made by it.

use crate::support::repo;
use crate::test::Test;

fn golden(name: &str, inventory: &str) {
    let want = std::fs::read_to_string(repo().join(format!("tests/golden/{name}.ansible.json")))
        .unwrap_or_else(|e| panic!("golden file for {name}: {e}"));
    Test::new()
        .args(["inventory", "-i", inventory, "--list"])
        .why(&format!("as ansible-inventory --list printed for {name}"))
        .code(0)
        .stdout_is(&want)
        .run();
}

fn fixture(name: &str) -> String {
    repo()
        .join("tests/fixtures/pigsty")
        .join(format!("{name}.yml"))
        .to_string_lossy()
        .into_owned()
}

pub fn tests() -> Vec<(&'static str, fn())> {
    vec![
        ("inventory_list_meta_matches_ansible", || {
            golden("meta", &fixture("meta"))
        }),
        ("inventory_list_ha_full_matches_ansible", || {
            golden("ha-full", &fixture("ha-full"))
        }),
        ("inventory_list_demo_el_matches_ansible", || {
            golden("demo-el", &fixture("demo-el"))
        }),
        ("inventory_list_yaml11_matches_ansible", || {
            golden(
                "yaml11",
                &repo().join("tests/golden/yaml11.yml").to_string_lossy(),
            )
        }),
        ("inventory_host_shows_merged_vars", || {
            let run = Test::new()
                .args(["inventory", "-i", "tests/golden/yaml11.yml"])
                .args(["--host", "10.10.10.12"])
                .code(0)
                .run();
            let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
            assert_eq!(v["mode_octal"], 493);
            assert_eq!(v["flag_yes"], true);
            assert_eq!(v["letter_y"], "y");
            assert_eq!(
                v["shared"], "pg",
                "depth-1 groups apply by name: aaa, then pg"
            );
            assert_eq!(v["pg_cluster"], "pg-test");
        }),
    ]
}
