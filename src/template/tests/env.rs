//! The environment as Ansible's templar: output rules, loop controls, `omit`, and errors that
//! name the undefined variable, the template and the line.

use super::*;

#[test]
fn keeps_trailing_newline_and_never_escapes() {
    assert_eq!(render("{{ name }}\n"), "pg-test\n");
    let r = Renderer::new();
    let out = r
        .render("page.html", "{{ s }}", &json!({"s": "<a href=\"x\">&</a>"}))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out, "<a href=\"x\">&</a>");
}

#[test]
fn trim_blocks_like_ansible() {
    assert_eq!(
        render("{% for i in list %}\n{{ i }}\n{% endfor %}\n"),
        "3\n1\n2\n"
    );
}

#[test]
fn prints_python_style_values() {
    assert_eq!(render("[{{ nothing }}]"), "[]");
    assert_eq!(render("{{ flag }} {{ not flag }}"), "True False");
    assert_eq!(
        render("{{ ['a', \"it's\", 1, 2.5, none, true, {'k': 'v'}] }}"),
        "['a', \"it's\", 1, 2.5, None, True, {'k': 'v'}]"
    );
    assert_eq!(render("{{ ratio }}"), "2.5");
}

#[test]
fn loop_controls_enabled() {
    assert_eq!(
        render("{% for i in range(10) %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}"),
        "012"
    );
    assert_eq!(
        render(
            "{% for i in range(4) %}{% if i is odd %}{% continue %}{% endif %}{{ i }}{% endfor %}"
        ),
        "02"
    );
}

#[test]
fn omit_global() {
    assert_eq!(render("{{ omit }}"), OMIT);
    assert_eq!(
        ev("missing | default(omit)"),
        json!("__omit_place_holder__")
    );
}

#[test]
fn undefined_variable_is_named_with_template_and_line() {
    let e = render_err("line one\n{{ foo }}\n");
    assert_eq!(e.undefined.as_deref(), Some("foo"));
    assert_eq!(e.name, "t.j2");
    assert_eq!(e.line, Some(2));
    assert_eq!(e.message, "undefined variable 'foo'");
    assert_eq!(
        e.to_string(),
        "template t.j2 line 2: undefined variable 'foo'"
    );
}

#[test]
fn undefined_variable_picks_the_failing_one() {
    let e = render_err("{{ a | default('x') }} {{ b }}");
    assert_eq!(e.undefined.as_deref(), Some("b"));
    let e = render_err("{% if zz == 'x' %}y{% endif %}");
    assert_eq!(e.undefined.as_deref(), Some("zz"));
    let e = render_err("{{ zz | upper }}");
    assert_eq!(e.undefined.as_deref(), Some("zz"));
    let e = render_err("{{ port + zz }}");
    assert_eq!(e.undefined.as_deref(), Some("zz"));
    assert!(e.message.starts_with("undefined variable 'zz'"), "{e}");
}

#[test]
fn undefined_attribute_paths() {
    assert_eq!(
        render_err("{{ d.missing }}").undefined.as_deref(),
        Some("d.missing")
    );
    assert_eq!(
        render_err("{{ nope.k }}").undefined.as_deref(),
        Some("nope")
    );
    let e = render_err("{% for u in users %}{{ u.role }}{% endfor %}");
    assert_eq!(e.undefined.as_deref(), Some("u.role"));
}

#[test]
fn undefined_in_expressions() {
    let r = Renderer::new();
    let e = match r.eval("zz == 1 and flag", &vars()) {
        Ok(v) => panic!("expected error, got {v}"),
        Err(e) => e,
    };
    assert_eq!(e.undefined.as_deref(), Some("zz"));
    assert!(e.to_string().contains("undefined variable 'zz'"), "{e}");
    let e = match r.eval("d.nope", &vars()) {
        Ok(v) => panic!("expected error, got {v}"),
        Err(e) => e,
    };
    assert_eq!(e.undefined.as_deref(), Some("d.nope"));
    let e = match r.eval("nope1 | default(1) == 1 and nope2", &vars()) {
        Ok(v) => panic!("expected error, got {v}"),
        Err(e) => e,
    };
    assert_eq!(e.undefined.as_deref(), Some("nope2"));
}

#[test]
fn defined_and_default_work_under_strict() {
    assert_eq!(ev("x is defined"), json!(false));
    assert_eq!(ev("x is undefined"), json!(true));
    assert_eq!(ev("x is not defined and name is defined"), json!(true));
    assert_eq!(render("{{ x | default('y') }}"), "y");
    assert_eq!(render("{{ x | d('z') }}"), "z");
    assert_eq!(
        render("{% if x is defined %}{{ x }}{% else %}none{% endif %}"),
        "none"
    );
    assert_eq!(render("{{ d.missing | default('m') }}"), "m");
}

#[test]
fn mandatory_filter() {
    assert_eq!(render("{{ name | mandatory }}"), "pg-test");
    let e = render_err("{{ pg_cluster | mandatory }}");
    assert_eq!(e.undefined.as_deref(), Some("pg_cluster"));
    let e = render_err("{{ pg_cluster | mandatory('set pg_cluster!') }}");
    assert!(e.message.contains("set pg_cluster!"), "{e}");
}

#[test]
fn syntax_errors_report_line() {
    let e = render_err("ok\n{% if %}\n");
    assert_eq!(e.line, Some(2));
    assert!(e.undefined.is_none());
    assert!(
        e.to_string()
            .starts_with("template t.j2 line 2: syntax error"),
        "{e}"
    );
}

#[test]
fn undefined_results_do_not_blame_filters() {
    let e = render_err("{{ [] | first }}");
    assert_eq!(e.undefined, None);
    let e = render_err("{{ list[7] }}");
    assert_eq!(e.undefined.as_deref(), Some("list[7]"));
    let e = render_err("{{ nofn() }}");
    assert_eq!(e.undefined, None);
    assert!(e.message.contains("unknown function"), "{e}");
}

#[test]
fn error_display_without_line() {
    let e = TemplateError {
        name: "n".to_string(),
        line: None,
        undefined: None,
        message: "boom".to_string(),
    };
    assert_eq!(e.to_string(), "template n: boom");
    let r = Renderer::new();
    assert!(r.render("t", "{{ x }}", &json!([1])).is_err());
    assert_eq!(
        r.render("t", "plain", &J::Null)
            .unwrap_or_else(|e| panic!("{e}")),
        "plain"
    );
}
