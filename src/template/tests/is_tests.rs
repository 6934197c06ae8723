//! The `is` tests: types, regular expressions, truthiness, membership and versions.

use super::*;

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
