//! Unit tests for the Ansible-flavoured template engine: every filter and
//! test, strict-undefined error reporting, native argument rendering, lazy
//! variable resolution and conditional truthiness.  Expected values were
//! checked against Python/Ansible behaviour (and `sha1sum`/`md5sum`).
//! One file per family, sharing the variables and helpers below.

mod env;
mod filters;
mod is_tests;
mod methods;
mod text_filters;
mod values;

use super::*;
use serde_json::{json, Value as J};

fn vars() -> J {
    json!({
        "name": "pg-test",
        "port": 5432,
        "ratio": 2.5,
        "flag": true,
        "nothing": null,
        "empty": "",
        "list": [3, 1, 2],
        "users": [
            {"name": "alice", "age": 30, "role": "admin"},
            {"name": "bob", "age": 25},
        ],
        "d": {"k": "v", "n": 1},
        "pg_role": "primary",
        "version": "16.2",
    })
}

fn render(src: &str) -> String {
    Renderer::new()
        .render("t.j2", src, &vars())
        .unwrap_or_else(|e| panic!("render {src:?} failed: {e}"))
}

fn render_err(src: &str) -> TemplateError {
    match Renderer::new().render("t.j2", src, &vars()) {
        Ok(out) => panic!("render {src:?} should fail, got {out:?}"),
        Err(e) => e,
    }
}

fn ev(expr: &str) -> J {
    Renderer::new()
        .eval(expr, &vars())
        .unwrap_or_else(|e| panic!("eval {expr:?} failed: {e}"))
}

fn truth(expr: &str) -> bool {
    Renderer::new()
        .eval_bool(expr, &vars())
        .unwrap_or_else(|e| panic!("eval_bool {expr:?} failed: {e}"))
}
