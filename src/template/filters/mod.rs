//! Ansible's Jinja2 filters, tests and output rules, implemented for minijinja.
//!
//! minijinja ships Jinja2's core filters; Pigsty's playbooks and templates also use Ansible's
//! additions (`regex_replace`, `combine`, `quote`, `to_nice_json`, the `version` test, ...) and
//! expect Ansible's variants of a few core ones (`default(x, true)`, `bool` accepting
//! "yes"/"on", `int` with a base, `round` with a method). Everything here follows the Python
//! implementations' observable behaviour. One file per family, registered here:
//!
//! - `variants`: Ansible's versions of core filters, and the truth of a conditional;
//! - `repr`: how values print (Python's `repr`), `json`: Python's `json.dumps`;
//! - `encoding`: base64 and hashes (the `base64`, `sha1`, `md5` and `sha2` crates);
//! - `regex`: the `regex_*` filters and the `match`/`search`/`regex` tests;
//! - `collections`: dicts, lists and sets; `paths` and `time`: `os.path`, `quote`, `strftime`;
//! - `is_tests`: the other `x is ...` tests; `version`: the `version` test;
//! - `methods`: Python's `str`/`list`/`dict` methods (minijinja-contrib's pycompat, plus
//!   where Python differs from it); `pigsty`: pgplay's own filters.
//!
//! The helpers below are shared by those files.

mod collections;
mod encoding;
mod is_tests;
mod json;
mod methods;
mod paths;
mod pigsty;
mod regex;
mod repr;
mod time;
mod variants;
mod version;

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};

pub(crate) use self::repr::ansible_formatter;
pub(crate) use self::variants::condition_truth;

/// Registers every filter, test and function of this module.
pub(crate) fn register(env: &mut Environment<'static>) {
    // Ansible variants of core filters.
    env.add_filter("default", variants::default);
    env.add_filter("d", variants::default);
    env.add_filter("bool", variants::bool_filter);
    env.add_filter("int", variants::int_filter);
    env.add_filter("float", variants::float_filter);
    env.add_filter("round", variants::round_filter);
    env.add_filter("min", variants::min_filter);
    env.add_filter("max", variants::max_filter);
    env.add_filter("mandatory", variants::mandatory);
    env.add_filter("ternary", variants::ternary);
    // Serialisation.
    env.add_filter("to_json", json::to_json_filter);
    env.add_filter("to_nice_json", json::to_nice_json_filter);
    env.add_filter("from_json", json::from_json_filter);
    env.add_filter("b64encode", encoding::b64encode);
    env.add_filter("b64decode", encoding::b64decode);
    env.add_filter("hash", encoding::hash_filter);
    env.add_filter("checksum", encoding::checksum);
    // Regular expressions.
    env.add_filter("regex_replace", regex::regex_replace);
    env.add_filter("regex_search", regex::regex_search);
    env.add_filter("regex_findall", regex::regex_findall);
    env.add_filter("regex_escape", regex::regex_escape);
    // Dicts and lists.
    env.add_filter("dict2items", collections::dict2items);
    env.add_filter("items2dict", collections::items2dict);
    env.add_filter("combine", collections::combine);
    env.add_filter("flatten", collections::flatten);
    env.add_filter("union", collections::union);
    env.add_filter("intersect", collections::intersect);
    env.add_filter("difference", collections::difference);
    env.add_filter("symmetric_difference", collections::symmetric_difference);
    env.add_filter("type_debug", collections::type_debug);
    // Paths, shell, time.
    env.add_filter("basename", paths::basename);
    env.add_filter("dirname", paths::dirname);
    env.add_filter("quote", paths::quote);
    env.add_filter("strftime", time::strftime_filter);
    env.add_function("strftime", time::strftime_function);
    // pgplay's own.
    env.add_filter("cron_user", pigsty::cron_user);
    env.add_filter("pgbackrest_value", pigsty::pgbackrest_value);
    // Python's methods on strings, lists and dicts (`s.startswith('x')`).
    env.set_unknown_method_callback(methods::python_method);

    // Tests.
    env.add_test("failed", is_tests::test_failed);
    env.add_test("failure", is_tests::test_failed);
    env.add_test("succeeded", is_tests::test_succeeded);
    env.add_test("success", is_tests::test_succeeded);
    env.add_test("successful", is_tests::test_succeeded);
    env.add_test("changed", is_tests::test_changed);
    env.add_test("change", is_tests::test_changed);
    env.add_test("skipped", is_tests::test_skipped);
    env.add_test("skip", is_tests::test_skipped);
    env.add_test("match", regex::test_match);
    env.add_test("search", regex::test_search);
    env.add_test("regex", regex::test_regex);
    env.add_test("truthy", is_tests::test_truthy);
    env.add_test("falsy", is_tests::test_falsy);
    env.add_test("contains", is_tests::test_contains);
    env.add_test("version", version::test_version);
    env.add_test("version_compare", version::test_version);
    env.add_test("sequence", is_tests::test_sequence);
    env.add_test("subset", is_tests::test_subset);
    env.add_test("superset", is_tests::test_superset);
}

// ----- helpers shared by the families ---------------------------------------

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Strict undefined for filters that take `&Value` (minijinja only checks
/// typed arguments such as `String`).
fn check_defined(v: &Value) -> Result<(), Error> {
    if v.is_undefined() {
        Err(Error::from(ErrorKind::UndefinedError))
    } else {
        Ok(())
    }
}

/// String conversion as Python's `to_text`: strings as-is, none as "".
fn text(v: &Value) -> Result<String, Error> {
    check_defined(v)?;
    Ok(match v.as_str() {
        Some(s) => s.to_string(),
        None if v.is_none() => String::new(),
        None => v.to_string(),
    })
}

fn to_json_value(v: &Value) -> Result<serde_json::Value, Error> {
    serde_json::to_value(v).map_err(|e| invalid(format!("value cannot be converted to JSON: {e}")))
}

fn iter_values(v: &Value, what: &str) -> Result<Vec<Value>, Error> {
    check_defined(v)?;
    Ok(v.try_iter()
        .map_err(|_| invalid(format!("{what} expects a list, got {}", v.kind())))?
        .collect())
}

/// Looks up `a.b.0` style attribute paths (used by `attribute=` kwargs).
fn get_path(v: &Value, path: &str) -> Result<Value, Error> {
    let mut cur = v.clone();
    for part in path.split('.') {
        let next = cur.get_attr(part)?;
        cur = if next.is_undefined() {
            match part.parse::<usize>() {
                Ok(idx) => cur.get_item_by_index(idx)?,
                Err(_) => next,
            }
        } else {
            next
        };
    }
    Ok(cur)
}

/// Python truthiness (empty string/list/dict, 0 and None are false).
fn py_truthy(v: &Value) -> bool {
    v.is_true()
}
