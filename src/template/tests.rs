//! Unit tests for the Ansible-flavoured template engine: every filter and
//! test, strict-undefined error reporting, native argument rendering, lazy
//! variable resolution and conditional truthiness.  Expected values were
//! checked against Python/Ansible behaviour (and `sha1sum`/`md5sum`).

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

// ----- environment behaviour ---------------------------------------------------

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

// ----- undefined variables --------------------------------------------------------

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

// ----- filters ---------------------------------------------------------------------

#[test]
fn default_filter_boolean_mode() {
    assert_eq!(render("{{ empty | default('x') }}"), "");
    assert_eq!(render("{{ empty | default('x', true) }}"), "x");
    assert_eq!(render("{{ empty | default('x', boolean=true) }}"), "x");
    assert_eq!(render("{{ nothing | default('x', true) }}"), "x");
    assert_eq!(ev("nothing | default('x')"), J::Null);
    assert_eq!(ev("0 | default(5, true)"), json!(5));
}

#[test]
fn bool_filter() {
    for yes in ["yes", "Yes", "on", "1", "true", "TRUE", "y", "t"] {
        assert_eq!(ev(&format!("'{yes}' | bool")), json!(true), "{yes}");
    }
    for no in ["no", "off", "0", "false", "", "n", "banana"] {
        assert_eq!(ev(&format!("'{no}' | bool")), json!(false), "{no}");
    }
    assert_eq!(ev("1 | bool"), json!(true));
    assert_eq!(ev("0 | bool"), json!(false));
    assert_eq!(ev("none | bool"), json!(false));
    assert_eq!(ev("flag | bool"), json!(true));
}

#[test]
fn int_and_float_filters() {
    assert_eq!(ev("'0755' | int"), json!(755));
    assert_eq!(ev("'0755' | int(base=8)"), json!(493));
    assert_eq!(ev("'755' | int(0, 8)"), json!(493));
    assert_eq!(ev("'0x1F' | int(base=16)"), json!(31));
    assert_eq!(ev("' 42 ' | int"), json!(42));
    assert_eq!(ev("'-7' | int"), json!(-7));
    assert_eq!(ev("'3.9' | int"), json!(3));
    assert_eq!(ev("'abc' | int"), json!(0));
    assert_eq!(ev("'abc' | int(7)"), json!(7));
    assert_eq!(ev("'abc' | int(default=9)"), json!(9));
    assert_eq!(ev("true | int"), json!(1));
    assert_eq!(ev("2.7 | int"), json!(2));
    assert_eq!(ev("'2.5' | float"), json!(2.5));
    assert_eq!(ev("'x' | float"), json!(0.0));
    assert_eq!(ev("'x' | float(1.5)"), json!(1.5));
    assert_eq!(ev("port | float"), json!(5432.0));
    assert_eq!(render("{{ '3' | int + 4 }}"), "7");
}

#[test]
fn string_and_list_builtins() {
    assert_eq!(render("{{ port | string }}"), "5432");
    assert_eq!(ev("(port | string) is string"), json!(true));
    assert_eq!(render("{{ list | join(',') }}"), "3,1,2");
    assert_eq!(render("{{ name | replace('-', '_') }}"), "pg_test");
    assert_eq!(
        render("{{ name | upper }} {{ 'ABC' | lower }}"),
        "PG-TEST abc"
    );
    assert_eq!(ev("list | length"), json!(3));
    assert_eq!(ev("name | count"), json!(7));
    assert_eq!(ev("list | first"), json!(3));
    assert_eq!(ev("list | last"), json!(2));
    assert_eq!(ev("list | min"), json!(1));
    assert_eq!(ev("list | max"), json!(3));
    assert_eq!(
        ev("users | max(attribute='age')"),
        json!(vars()["users"][0])
    );
    assert_eq!(ev("(users | min(attribute='age')).name"), json!("bob"));
    assert_eq!(render("[{{ '  x  ' | trim }}]"), "[x]");
    assert_eq!(ev("[1, 2, 1, 3, 2] | unique | list"), json!([1, 2, 3]));
    assert_eq!(ev("list | sort"), json!([1, 2, 3]));
    assert_eq!(ev("list | reverse | list"), json!([2, 1, 3]));
    assert_eq!(ev("'ab' | list"), json!(["a", "b"]));
    assert_eq!(ev("'a,b,,c' | split(',')"), json!(["a", "b", "", "c"]));
    assert_eq!(ev("'a b  c' | split"), json!(["a", "b", "c"]));
    assert_eq!(ev("-3 | abs"), json!(3));
}

#[test]
fn round_filter() {
    assert_eq!(ev("2.5 | round"), json!(2.0));
    assert_eq!(ev("3.5 | round"), json!(4.0));
    assert_eq!(ev("2.71828 | round(2)"), json!(2.72));
    assert_eq!(ev("2.01 | round(1, 'ceil')"), json!(2.1));
    assert_eq!(ev("2.99 | round(method='floor')"), json!(2.0));
    assert_eq!(ev("7 | round"), json!(7));
    assert_eq!(ev("2.6 | round | int"), json!(3));
}

#[test]
fn json_filters() {
    let v = json!({"b": [1, 2], "a": {"z": "é", "y": null}});
    let r = Renderer::new();
    let out = r
        .render("j", "{{ v | to_json }}", &json!({ "v": v }))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out, r#"{"b": [1, 2], "a": {"z": "\u00e9", "y": null}}"#);
    let v2 = json!({"b": [1, 2], "a": {"z": "é", "y": null, "e": []}});
    let nice = r
        .render("j", "{{ v | to_nice_json }}", &json!({ "v": v2 }))
        .unwrap_or_else(|e| panic!("{e}"));
    let expected = "{\n    \"a\": {\n        \"e\": [],\n        \"y\": null,\n        \"z\": \"\\u00e9\"\n    },\n    \"b\": [\n        1,\n        2\n    ]\n}";
    assert_eq!(nice, expected);
    assert_eq!(
        render("{{ d | to_nice_json(indent=2) }}"),
        "{\n  \"k\": \"v\",\n  \"n\": 1\n}"
    );
    assert_eq!(render("{{ 'é' | to_json(ensure_ascii=false) }}"), "\"é\"");
    assert_eq!(
        ev("'{\"a\": [1, {\"b\": true}]}' | from_json"),
        json!({"a": [1, {"b": true}]})
    );
    assert_eq!(ev("(d | to_json | from_json) == d"), json!(true));
    assert!(Renderer::new().eval("'{bad' | from_json", &vars()).is_err());
}

#[test]
fn regex_replace_filter() {
    assert_eq!(
        render(r"{{ 'host-01.example' | regex_replace('^(\\w+)-(\\d+).*$', '\\2:\\1') }}"),
        "01:host"
    );
    assert_eq!(
        render(r"{{ 'k=v' | regex_replace('(?P<key>\\w+)=(?P<val>\\w+)', '\\g<val>=\\g<key>') }}"),
        "v=k"
    );
    assert_eq!(render("{{ 'a.b.c' | regex_replace('\\.', '$') }}"), "a$b$c");
    assert_eq!(
        render("{{ 'ABC abc' | regex_replace('abc', 'x', ignorecase=true) }}"),
        "x x"
    );
    assert_eq!(
        render("{{ 'aaa' | regex_replace('a', 'b', count=2) }}"),
        "bba"
    );
    assert_eq!(render("{{ 'abc' | regex_replace('b') }}"), "ac");
    assert!(Renderer::new()
        .render("t", "{{ 'x' | regex_replace('(', '') }}", &vars())
        .is_err());
}

#[test]
fn regex_search_and_findall() {
    assert_eq!(
        ev("'server 16.2 up' | regex_search('\\\\d+\\\\.\\\\d+')"),
        json!("16.2")
    );
    assert_eq!(ev("'nothing' | regex_search('\\\\d+')"), J::Null);
    assert_eq!(
        ev("'v=16.2' | regex_search('(\\\\d+)\\\\.(?P<minor>\\\\d+)', '\\\\1', '\\\\g<minor>')"),
        json!(["16", "2"])
    );
    assert_eq!(ev("'ABC' | regex_search('b', ignorecase=true)"), json!("B"));
    assert_eq!(
        ev("'a1b22c333' | regex_findall('\\\\d+')"),
        json!(["1", "22", "333"])
    );
    assert_eq!(
        ev("'k1=v1 k2=v2' | regex_findall('(\\\\w+)=(\\\\w+)')"),
        json!([["k1", "v1"], ["k2", "v2"]])
    );
    assert_eq!(
        ev("'x1 y2' | regex_findall('[a-z](\\\\d)')"),
        json!(["1", "2"])
    );
    assert_eq!(ev("'a.b*c' | regex_escape"), json!("a\\.b\\*c"));
    assert_eq!(ev("'[x]' | regex_escape('posix_basic')"), json!("\\[x\\]"));
}

#[test]
fn dict_filters() {
    assert_eq!(
        ev("d | dict2items"),
        json!([{"key": "k", "value": "v"}, {"key": "n", "value": 1}])
    );
    assert_eq!(
        ev("d | dict2items(key_name='name', value_name='val')"),
        json!([{"name": "k", "val": "v"}, {"name": "n", "val": 1}])
    );
    assert_eq!(ev("(d | dict2items | items2dict) == d"), json!(true));
    assert_eq!(
        ev("users | items2dict(key_name='name', value_name='age')"),
        json!({"alice": 30, "bob": 25})
    );
    assert_eq!(
        ev("{'a': 1, 'n': {'x': 1, 'y': 2}} | combine({'b': 2, 'n': {'y': 3}})"),
        json!({"a": 1, "n": {"y": 3}, "b": 2})
    );
    assert_eq!(
        ev("{'a': 1, 'n': {'x': 1, 'y': 2}} | combine({'n': {'y': 3}}, recursive=true)"),
        json!({"a": 1, "n": {"x": 1, "y": 3}})
    );
    assert_eq!(
        ev("{'l': [1, 2]} | combine({'l': [3]}, list_merge='append')"),
        json!({"l": [1, 2, 3]})
    );
    assert_eq!(
        ev("[{'a': 1}, {'b': 2}] | combine"),
        json!({"a": 1, "b": 2})
    );
    assert!(Renderer::new().eval("[1] | dict2items", &vars()).is_err());
}

#[test]
fn list_set_filters() {
    assert_eq!(
        ev("[1, [2, [3, [4]]], none] | flatten"),
        json!([1, 2, 3, 4])
    );
    assert_eq!(ev("[1, [2, [3]]] | flatten(1)"), json!([1, 2, [3]]));
    assert_eq!(ev("[1, 2] | union([2, 3])"), json!([1, 2, 3]));
    assert_eq!(ev("[1, 2, 3] | intersect([2, 3, 4])"), json!([2, 3]));
    assert_eq!(ev("[1, 2, 3] | difference([2])"), json!([1, 3]));
    assert_eq!(ev("[1, 2] | symmetric_difference([2, 3])"), json!([1, 3]));
    assert_eq!(ev("d | type_debug"), json!("dict"));
    assert_eq!(ev("'x' | type_debug"), json!("str"));
}

#[test]
fn map_select_reject() {
    assert_eq!(
        ev("users | map(attribute='name') | list"),
        json!(["alice", "bob"])
    );
    assert_eq!(
        ev("users | map(attribute='role', default='none') | list"),
        json!(["admin", "none"])
    );
    assert_eq!(ev("['1', '2'] | map('int') | list"), json!([1, 2]));
    assert_eq!(
        ev("['a b', 'c'] | map('quote') | join(' ')"),
        json!("'a b' c")
    );
    assert_eq!(
        ev("['pg-1', 'x-2'] | map('regex_replace', '-\\\\d$', '') | list"),
        json!(["pg", "x"])
    );
    assert_eq!(
        ev("['ab', 'ba', 'ac'] | select('match', 'a') | list"),
        json!(["ab", "ac"])
    );
    assert_eq!(
        ev("['ab', 'ba', 'ac'] | reject('search', 'b') | list"),
        json!(["ac"])
    );
    assert_eq!(
        ev("users | selectattr('role', 'defined') | map(attribute='name') | list"),
        json!(["alice"])
    );
    assert_eq!(ev("list | select('in', [1, 3]) | list"), json!([3, 1]));
}

#[test]
fn path_filters() {
    assert_eq!(
        render("{{ '/etc/pgbackrest/pgbackrest.conf' | basename }}"),
        "pgbackrest.conf"
    );
    assert_eq!(
        render("{{ '/etc/pgbackrest/pgbackrest.conf' | dirname }}"),
        "/etc/pgbackrest"
    );
    assert_eq!(render("[{{ '/a/b/' | basename }}]"), "[]");
    assert_eq!(render("{{ '/a/b/' | dirname }}"), "/a/b");
    assert_eq!(render("{{ '/a' | dirname }}"), "/");
    assert_eq!(render("[{{ 'file' | dirname }}]"), "[]");
}

fn sh_printf(quoted: &str) -> String {
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("printf %s {quoted}"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run /bin/sh: {e}"));
    assert!(out.status.success(), "sh failed for {quoted}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn quote_filter_survives_the_shell() {
    assert_eq!(ev("\"a'b\" | quote"), json!("'a'\\''b'"));
    assert_eq!(
        ev("'simple-word_1.2/x' | quote"),
        json!("simple-word_1.2/x")
    );
    assert_eq!(ev("'' | quote"), json!("''"));
    assert_eq!(ev("none | quote"), json!("''"));
    let hostile = [
        "a'b; $(rm -rf /)",
        "`id` && echo pwned",
        "'''",
        "$HOME \"double\" \\back\\slash",
        "new\nline\ttab",
        "glob * ? [a] ~ #comment",
        "ünïcode 🐘 'mixed\"",
        "-n",
    ];
    let r = Renderer::new();
    for s in hostile {
        let quoted = r
            .render("q", "{{ s | quote }}", &json!({ "s": s }))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sh_printf(&quoted), s, "quoted form {quoted}");
    }
    assert_eq!(
        r.render("q", "{{ s | quote }}", &json!({"s": "a'b; $(rm -rf /)"}))
            .unwrap_or_else(|e| panic!("{e}")),
        "'a'\\''b; $(rm -rf /)'"
    );
}

#[test]
fn base64_filters() {
    assert_eq!(
        render("{{ 'hello wörld' | b64encode }}"),
        "aGVsbG8gd8O2cmxk"
    );
    assert_eq!(
        render("{{ 'aGVsbG8gd8O2cmxk' | b64decode }}"),
        "hello wörld"
    );
    for (plain, enc) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
    ] {
        assert_eq!(ev(&format!("'{plain}' | b64encode")), json!(enc));
        assert_eq!(ev(&format!("'{enc}' | b64decode")), json!(plain));
    }
    assert_eq!(ev("'Zm9v\nYmFy' | b64decode"), json!("foobar"));
    assert!(Renderer::new()
        .eval("'Zm9v!' | b64decode", &vars())
        .is_err());
}

#[test]
fn hash_filters() {
    assert_eq!(
        render("{{ 'abc' | hash('sha256') }}"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        render("{{ 'abc' | hash('sha1') }}"),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        render("{{ 'abc' | hash }}"),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        render("{{ 'abc' | checksum }}"),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        render("{{ '' | hash('md5') }}"),
        "d41d8cd98f00b204e9800998ecf8427e"
    );
    assert_eq!(
        render("{{ 'abc' | hash('md5') }}"),
        "900150983cd24fb0d6963f7d28e17f72"
    );
    assert_eq!(
        render("{{ ('secret' ~ 'dbuser_dba') | hash('md5') }}"),
        "351b346c1ebd8813304bc73d588ca7d7"
    );
    let long = "a".repeat(1000);
    let r = Renderer::new();
    let ctx = json!({ "s": long });
    assert_eq!(
        r.render("h", "{{ s | hash('md5') }} {{ s | hash('sha1') }}", &ctx)
            .unwrap_or_else(|e| panic!("{e}")),
        "cabe45dcc9ae5b66ba86600cca6b8ba8 291e9a6c66994949b57ba5e650361e98fc36b1ba"
    );
    assert!(r.eval("'x' | hash('whirlpool')", &vars()).is_err());
}

#[test]
fn strftime_filter() {
    assert_eq!(
        render("{{ '%Y-%m-%d %H:%M:%S' | strftime(0, utc=true) }}"),
        "1970-01-01 00:00:00"
    );
    assert_eq!(
        render("{{ '%Y-%m-%d' | strftime(86400 * 365, true) }}"),
        "1971-01-01"
    );
    assert_eq!(render("{{ strftime('%H:%M', 3600, utc=true) }}"), "01:00");
    let year = chrono::Local::now().format("%Y").to_string();
    assert_eq!(render("{{ '%Y' | strftime }}"), year);
    assert!(Renderer::new()
        .render("t", "{{ '%Q' | strftime }}", &vars())
        .is_err());
}

#[test]
fn ternary_filter() {
    assert_eq!(
        render("{{ (pg_role == 'primary') | ternary('rw', 'ro') }}"),
        "rw"
    );
    assert_eq!(render("{{ empty | ternary('yes', 'no') }}"), "no");
    assert_eq!(render("{{ nothing | ternary('t', 'f', 'n') }}"), "n");
}

// ----- tests ---------------------------------------------------------------------

#[test]
fn type_tests() {
    assert_eq!(ev("nothing is none"), json!(true));
    assert_eq!(ev("d is mapping"), json!(true));
    assert_eq!(ev("list is mapping"), json!(false));
    assert_eq!(ev("list is sequence"), json!(true));
    assert_eq!(ev("name is sequence"), json!(true));
    assert_eq!(ev("port is sequence"), json!(false));
    assert_eq!(ev("list is iterable"), json!(true));
    assert_eq!(ev("port is number and ratio is number"), json!(true));
    assert_eq!(ev("name is string and port is not string"), json!(true));
    assert_eq!(ev("flag is boolean and 'true' is not boolean"), json!(true));
}

#[test]
fn regex_tests() {
    assert_eq!(ev("'pg-test' is match('pg')"), json!(true));
    assert_eq!(ev("'my-pg-test' is match('pg')"), json!(false));
    assert_eq!(ev("'my-pg-test' is search('pg')"), json!(true));
    assert_eq!(ev("'PG' is match('pg', ignorecase=true)"), json!(true));
    assert_eq!(ev("'my-pg' is regex('pg')"), json!(true));
    assert_eq!(
        ev("'my-pg' is regex('pg', match_type='match')"),
        json!(false)
    );
    assert_eq!(
        ev("'pg' is regex('p', match_type='fullmatch')"),
        json!(false)
    );
    assert_eq!(ev("'a|b' is match('a|x')"), json!(true));
    assert_eq!(ev("'xa' is match('a|x')"), json!(true));
    assert_eq!(ev("'ya' is match('a|x')"), json!(false));
}

#[test]
fn truthy_and_membership_tests() {
    assert_eq!(
        ev("'x' is truthy and '' is falsy and 0 is falsy and list is truthy"),
        json!(true)
    );
    assert_eq!(ev("'no' is truthy"), json!(true));
    assert_eq!(ev("'no' is truthy(convert_bool=true)"), json!(false));
    assert_eq!(ev("'yes' is falsy(convert_bool=true)"), json!(false));
    assert_eq!(ev("1 in list"), json!(true));
    assert_eq!(ev("5 is in list"), json!(false));
    assert_eq!(ev("list is contains(2)"), json!(true));
    assert_eq!(ev("name is contains('test')"), json!(true));
    assert_eq!(ev("d is contains('k')"), json!(true));
    assert_eq!(
        ev("[1, 2] is subset([1, 2, 3]) and [1, 2, 3] is superset([3])"),
        json!(true)
    );
}

#[test]
fn version_test() {
    assert_eq!(ev("'2.45' is version('2.40', '>=')"), json!(true));
    assert_eq!(ev("'1.10' is version('1.9', '>')"), json!(true));
    assert_eq!(ev("version is version('16', 'ge')"), json!(true));
    assert_eq!(ev("version is version('16.2', 'eq')"), json!(true));
    assert_eq!(
        ev("version is version('16.10', operator='lt')"),
        json!(true)
    );
    assert_eq!(ev("'1.0' is version('1.0.0', '<')"), json!(true));
    assert_eq!(
        ev("'1.2a1' is version('1.2', '<', strict=true)"),
        json!(true)
    );
    assert_eq!(
        ev("'1.0.0-rc.1' is version('1.0.0', 'lt', version_type='semver')"),
        json!(true)
    );
    assert_eq!(ev("'3.1' is version_compare('3.0', 'gt')"), json!(true));
    assert!(Renderer::new()
        .eval("'1' is version('2', 'bogus')", &vars())
        .is_err());
}

#[test]
fn sameas_eq_ne_tests() {
    assert_eq!(ev("flag is sameas true"), json!(true));
    assert_eq!(ev("1 is sameas true"), json!(false));
    assert_eq!(ev("port is eq 5432"), json!(true));
    assert_eq!(ev("port is ne 5433"), json!(true));
    assert_eq!(ev("list | select('eq', 1) | list"), json!([1]));
}

// ----- render_value -----------------------------------------------------------------

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

// ----- resolve_vars -----------------------------------------------------------------

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

// ----- eval / eval_bool ---------------------------------------------------------------

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

#[test]
fn contains_template_detection() {
    assert!(contains_template("{{ x }}"));
    assert!(contains_template("a {% if x %}b{% endif %}"));
    assert!(!contains_template("echo ${#arr[@]} {x}"));
    assert!(!contains_template("plain"));
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

#[test]
fn python_methods() {
    assert_eq!(
        render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}"),
        "k=v;n=1;"
    );
    assert_eq!(ev("d.keys() | list"), json!(["k", "n"]));
    assert_eq!(ev("d.values() | list"), json!(["v", 1]));
    assert_eq!(ev("d.get('k')"), json!("v"));
    assert_eq!(ev("d.get('zz', 'dflt')"), json!("dflt"));
    assert_eq!(ev("name.upper()"), json!("PG-TEST"));
    assert_eq!(ev("name.startswith('pg')"), json!(true));
    assert_eq!(ev("name.endswith(('x', 'test'))"), json!(true));
    assert_eq!(ev("name.split('-')"), json!(["pg", "test"]));
    assert_eq!(ev("' a  b '.split()"), json!(["a", "b"]));
    assert_eq!(ev("'a,b,c'.split(',', 1)"), json!(["a", "b,c"]));
    assert_eq!(ev("'--x--'.strip('-')"), json!("x"));
    assert_eq!(ev("name.replace('-', '_')"), json!("pg_test"));
    assert_eq!(ev("','.join(['a', 'b'])"), json!("a,b"));
    assert_eq!(ev("'5432'.isdigit()"), json!(true));
    assert_eq!(ev("list.index(1)"), json!(1));
    assert!(Renderer::new().eval("name.nomethod()", &vars()).is_err());
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
