//! Ansible's variants of core filters, JSON, and the dict/list/set filters.

use super::*;

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
fn ternary_filter() {
    assert_eq!(
        render("{{ (pg_role == 'primary') | ternary('rw', 'ro') }}"),
        "rw"
    );
    assert_eq!(render("{{ empty | ternary('yes', 'no') }}"), "no");
    assert_eq!(render("{{ nothing | ternary('t', 'f', 'n') }}"), "n");
}
