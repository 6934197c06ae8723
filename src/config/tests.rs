//! Unit tests of reading ansible.cfg and the environment into settings.

use std::path::{Path, PathBuf};

use super::{resolve, Env, Source};

fn env_with<'a>(
    vars: &'a [(&'a str, &'a str)],
    cwd: &Path,
) -> (impl Fn(&str) -> Option<String> + 'a, PathBuf) {
    let f = move |k: &str| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    };
    (f, cwd.to_path_buf())
}

fn resolved(vars: &[(&str, &str)], cwd: &Path) -> super::Config {
    let (var, cwd) = env_with(vars, cwd);
    let env = Env {
        var: &var,
        cwd,
        home: None,
    };
    match resolve(&env) {
        Ok(c) => c,
        Err(e) => panic!("{}", e.render()),
    }
}

fn dir_with_cfg(text: &str) -> tempfile::TempDir {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    if let Err(e) = std::fs::write(dir.path().join("ansible.cfg"), text) {
        panic!("{e}");
    }
    dir
}

const PIGSTY: &str = "[defaults]\ninventory = pigsty.yml\nhost_key_checking = False\nforks = 20 ; inline\n# forks = 99\ninterpreter_python = auto_silent\nbecome_method = doas\n\n[ssh_connection]\npipelining = True\nssh_args = -o ControlMaster=auto\n  -o ControlPersist=60s\n";

#[test]
fn pigsty_ansible_cfg_is_read_with_sources() {
    let dir = dir_with_cfg(PIGSTY);
    let cfg = resolved(&[], dir.path());
    let (inv, src) = cfg.value("inventory").unwrap_or(("", &Source::Default));
    // relative to the file's folder, as Ansible resolves paths
    assert_eq!(inv, dir.path().join("pigsty.yml").display().to_string());
    assert!(matches!(src, Source::File { line: 2, .. }), "{src:?}");
    assert_eq!(cfg.number("forks", 1, 100).ok().flatten(), Some(20));
    assert_eq!(cfg.boolean("host_key_checking").ok().flatten(), Some(false));
    assert_eq!(
        cfg.value("ssh_args").map(|(v, _)| v.to_string()),
        Some("-o ControlMaster=auto\n-o ControlPersist=60s".into())
    );
    // Ansible's own machinery is let be; a key pgplay cannot honour is said
    assert_eq!(cfg.unused.len(), 1, "{:?}", cfg.unused);
    assert!(cfg.unused[0].contains(":7: [defaults] become_method = doas"));
}

#[test]
fn environment_beats_the_file_and_pgplay_beats_ansible() {
    let dir = dir_with_cfg(PIGSTY);
    let cfg = resolved(&[("ANSIBLE_FORKS", "7")], dir.path());
    assert_eq!(cfg.number("forks", 1, 100).ok().flatten(), Some(7));
    assert_eq!(
        cfg.value("forks").map(|(_, s)| s.to_string()),
        Some("environment ANSIBLE_FORKS".into())
    );
    let cfg = resolved(&[("ANSIBLE_FORKS", "7"), ("PGPLAY_FORKS", "3")], dir.path());
    assert_eq!(cfg.number("forks", 1, 100).ok().flatten(), Some(3));
}

#[test]
fn ansible_config_names_the_file() {
    let dir = dir_with_cfg("[defaults]\ntimeout = 33\n");
    let elsewhere = dir_with_cfg("[defaults]\ntimeout = 5\n");
    let path = dir.path().join("ansible.cfg").display().to_string();
    let cfg = resolved(&[("ANSIBLE_CONFIG", &path)], elsewhere.path());
    assert_eq!(cfg.number("timeout", 1, 100).ok().flatten(), Some(33));
    assert_eq!(
        cfg.file.as_ref().map(|(_, why)| *why),
        Some("ANSIBLE_CONFIG")
    );
}

#[test]
fn bad_values_name_their_source() {
    let dir = dir_with_cfg("[defaults]\nforks = many\nhost_key_checking = perhaps\n");
    let cfg = resolved(&[], dir.path());
    let err = match cfg.number("forks", 1, 100) {
        Err(e) => e.render(),
        Ok(v) => panic!("accepted {v:?}"),
    };
    assert!(err.contains("ansible.cfg:2: [defaults] forks"), "{err}");
    assert!(err.contains("'many'"), "{err}");
    assert!(cfg.boolean("host_key_checking").is_err());
}

#[test]
fn a_world_writable_folder_is_not_trusted() {
    use std::os::unix::fs::PermissionsExt;
    let dir = dir_with_cfg("[defaults]\nforks = 9\n");
    if let Err(e) = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)) {
        panic!("{e}");
    }
    let cfg = resolved(&[], dir.path());
    assert!(
        cfg.file.is_none()
            || cfg
                .file
                .as_ref()
                .is_some_and(|(p, _)| !p.starts_with(dir.path()))
    );
    assert!(cfg.warnings().iter().any(|w| w.contains("world-writable")));
}

#[test]
fn a_line_outside_a_section_is_refused_with_its_line() {
    let dir = dir_with_cfg("forks = 3\n[defaults]\n");
    let (var, cwd) = env_with(&[], dir.path());
    let env = Env {
        var: &var,
        cwd,
        home: None,
    };
    let err = match resolve(&env) {
        Err(e) => e.render(),
        Ok(_) => panic!("accepted"),
    };
    assert!(err.contains("ansible.cfg:1:"), "{err}");
}
