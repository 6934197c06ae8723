//! Python's methods on strings, lists and dicts: pycompat plus pgplay's overlay.

use super::*;

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

/// Where Python differs from pycompat, the overlay answers as Python does (expected values
/// from CPython 3).
#[test]
fn overlay_follows_python() {
    assert_eq!(ev("d.items() | length"), json!(2));
    assert_eq!(ev("d.keys() | length"), json!(2));
    assert_eq!(ev("'ab'.count('')"), json!(3));
    assert_eq!(ev("'abab'.count('ab')"), json!(2));
    assert_eq!(ev("'é,x'.find('x')"), json!(2));
    assert_eq!(ev("'é,x,x'.rfind('x')"), json!(4));
    assert_eq!(ev("'abc'.find('z')"), json!(-1));
    assert_eq!(ev("'  a  b  c  '.split(none, 1)"), json!(["a", "b  c  "]));
    assert_eq!(ev("'  a b'.split(none, 0)"), json!(["a b"]));
    assert_eq!(ev("''.split(none, 1)"), json!([]));
    assert_eq!(ev("'a,b'.split(',', -1)"), json!(["a", "b"]));
    assert!(Renderer::new().eval("'a'.split('')", &vars()).is_err());
    assert_eq!(ev("'1st x-y'.title()"), json!("1St X-Y"));
    assert_eq!(ev("'AB1'.isupper() and 'ab1'.islower()"), json!(true));
    assert_eq!(
        ev("''.isdigit() or ''.isalpha() or ''.isspace() or ''.isalnum()"),
        json!(false)
    );
    assert_eq!(ev("list.index(2)"), json!(2));
    assert!(Renderer::new().eval("list.index(9)", &vars()).is_err());
}

/// What pycompat brings that pgplay did not have before.
#[test]
fn pycompat_methods() {
    assert_eq!(ev("'{}-{}'.format('pg', 1)"), json!("pg-1"));
    assert_eq!(ev("'héllo'.capitalize()"), json!("Héllo"));
    assert_eq!(ev("'a\\nb'.splitlines()"), json!(["a", "b"]));
    assert_eq!(ev("list.count(1)"), json!(1));
    assert_eq!(ev("'abc'.isascii()"), json!(true));
}
