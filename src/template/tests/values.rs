//! Native task arguments (`render_value`), lazily templated variables (`resolve_vars`) and
//! conditionals (`eval`, `eval_bool`).

use super::*;

#[test]
fn render_value_native_types() {
    let r = Renderer::new();
    let args = json!({
        "list": "{{ list }}",
        "dict": "{{ d }}",
        "num": "{{ port }}",
        "expr": "{{ port + 1 }}",
        "flag": "{{ flag }}",
        "text": "port={{ port }}",
        "plain": "no templates here {not jinja}",
        "nested": [{"x": "{{ name }}"}, 7, true, null],
        "{{ name }}": "key templated",
        "omitted": "{{ missing | default(omit) }}",
        "dict_literal": "{{ {'a': {'b': 1}} }}",
        "trimmed": "{{- port -}}",
    });
    let out = r
        .render_value("task 't' args", &args, &vars())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out["list"], json!([3, 1, 2]));
    assert_eq!(out["dict"], json!({"k": "v", "n": 1}));
    assert_eq!(out["num"], json!(5432));
    assert_eq!(out["expr"], json!(5433));
    assert_eq!(out["flag"], json!(true));
    assert_eq!(out["text"], json!("port=5432"));
    assert_eq!(out["plain"], json!("no templates here {not jinja}"));
    assert_eq!(out["nested"], json!([{"x": "pg-test"}, 7, true, null]));
    assert_eq!(out["pg-test"], json!("key templated"));
    assert_eq!(out["omitted"], json!(OMIT));
    assert_eq!(out["dict_literal"], json!({"a": {"b": 1}}));
    assert_eq!(out["trimmed"], json!(5432));
    // Two expressions are not one expression: rendered as a string.
    assert_eq!(
        r.render_value("a", &json!("{{ port }}{{ port }}"), &vars())
            .unwrap_or_else(|e| panic!("{e}")),
        json!("54325432")
    );
    // Non-strings pass through untouched.
    assert_eq!(
        r.render_value("a", &json!(42), &vars())
            .unwrap_or_else(|e| panic!("{e}")),
        json!(42)
    );
}

#[test]
fn render_value_undefined_names_variable_and_arg() {
    let r = Renderer::new();
    let e = match r.render_value(
        "task 'write crontab' arg content",
        &json!({"c": "{{ oops }}"}),
        &vars(),
    ) {
        Ok(v) => panic!("expected error, got {v}"),
        Err(e) => e,
    };
    assert_eq!(e.undefined.as_deref(), Some("oops"));
    assert!(
        e.to_string()
            .starts_with("template task 'write crontab' arg content"),
        "{e}"
    );
    assert!(e.to_string().contains("undefined variable 'oops'"), "{e}");
}

#[test]
fn resolve_vars_recursively() {
    let r = Renderer::new();
    let v = json!({
        "greeting": "{{ who | upper }}!",
        "who": "{{ first }}-{{ second }}",
        "first": "{{ base }}",
        "second": "b",
        "base": "a",
        "ports": "{{ port_list }}",
        "port_list": [5432, 6432],
        "nested": {"dir": "{{ root }}/data", "list": ["{{ root }}"]},
        "root": "/pg",
        "count": "{{ port_list | length }}",
        "literal": 3,
    });
    let out = r.resolve_vars(&v).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out["greeting"], json!("A-B!"));
    assert_eq!(out["who"], json!("a-b"));
    assert_eq!(out["first"], json!("a"));
    assert_eq!(out["ports"], json!([5432, 6432]));
    assert_eq!(out["nested"], json!({"dir": "/pg/data", "list": ["/pg"]}));
    assert_eq!(out["count"], json!(2));
    assert_eq!(out["literal"], json!(3));
    // Key order is preserved.
    let keys: Vec<&String> = out
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys.first().map(|k| k.as_str()), Some("greeting"));
}

#[test]
fn resolve_vars_detects_loops() {
    let r = Renderer::new();
    let e = match r.resolve_vars(&json!({"a": "{{ b }}", "b": "x{{ a }}"})) {
        Ok(v) => panic!("expected loop error, got {v}"),
        Err(e) => e,
    };
    assert!(e.message.contains("recursive loop"), "{e}");
    assert!(e.message.contains("a -> b -> a"), "{e}");
    let e = match r.resolve_vars(&json!({"me": "{{ me }}-x"})) {
        Ok(v) => panic!("expected loop error, got {v}"),
        Err(e) => e,
    };
    assert!(e.message.contains("me -> me"), "{e}");
}

#[test]
fn resolve_vars_depth_limit() {
    let r = Renderer::new();
    let mut chain = serde_json::Map::new();
    for i in 0..12 {
        chain.insert(format!("v{i}"), json!(format!("{{{{ v{} }}}}", i + 1)));
    }
    chain.insert("v12".to_string(), json!("end"));
    let e = match r.resolve_vars(&J::Object(chain.clone())) {
        Ok(v) => panic!("expected depth error, got {v}"),
        Err(e) => e,
    };
    assert!(e.message.contains("deeper than 10"), "{e}");
    // Exactly ten levels of templates is fine.
    let mut ok = serde_json::Map::new();
    for i in 0..10 {
        ok.insert(format!("v{i}"), json!(format!("{{{{ v{} }}}}", i + 1)));
    }
    ok.insert("v10".to_string(), json!("end"));
    let out = r
        .resolve_vars(&J::Object(ok))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out["v0"], json!("end"));
}

#[test]
fn resolve_vars_reports_undefined() {
    let r = Renderer::new();
    let e = match r.resolve_vars(&json!({"svc": "{{ pg_cluster }}-primary"})) {
        Ok(v) => panic!("expected error, got {v}"),
        Err(e) => e,
    };
    assert_eq!(e.undefined.as_deref(), Some("pg_cluster"));
    assert_eq!(e.name, "variable 'svc'");
    let ok = r
        .resolve_vars(&json!({"svc": "{{ pg_cluster | default('none') }}"}))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok["svc"], json!("none"));
}

#[test]
fn eval_returns_native_values() {
    assert_eq!(ev("pg_role == 'primary' and x is not defined"), json!(true));
    assert_eq!(ev("list | sort"), json!([1, 2, 3]));
    assert_eq!(ev("d"), json!({"k": "v", "n": 1}));
    assert_eq!(ev("port * 2"), json!(10864));
    assert_eq!(ev("{{ port }}"), json!(5432));
}

#[test]
fn eval_bool_ansible_truthiness() {
    let r = Renderer::new();
    let cases: &[(J, bool)] = &[
        (json!(true), true),
        (json!(false), false),
        (json!("yes"), true),
        (json!("True"), true),
        (json!("on"), true),
        (json!("1"), true),
        (json!("y"), true),
        (json!("no"), false),
        (json!("false"), false),
        (json!("OFF"), false),
        (json!("0"), false),
        (json!(""), false),
        (json!("running"), true),
        (json!(0), false),
        (json!(2), true),
        (json!(0.0), false),
        (json!([]), false),
        (json!([0]), true),
        (json!({}), false),
        (json!(null), false),
    ];
    for (value, expected) in cases {
        let got = r
            .eval_bool("v", &json!({ "v": value }))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, *expected, "truthiness of {value}");
    }
    assert!(truth("pg_role == 'primary'"));
    assert!(!truth("x is defined"));
    assert!(truth("x is not defined or x"));
    assert!(truth("'{{ flag }}'"));
    assert!(truth("{{ flag }}"));
    assert!(!truth("users | selectattr('name', 'eq', 'carol') | list"));
    let e = match r.eval_bool("not_there", &vars()) {
        Ok(v) => panic!("expected error, got {v}"),
        Err(e) => e,
    };
    assert_eq!(e.undefined.as_deref(), Some("not_there"));
}
