//! `set_fact`: set host variables for the rest of the run (arguments are already templated).

use serde_json::{Map, Value};

use super::{Failure, Outcome};

/// Any names: each is a variable to set (`cacheable` aside).
pub type Args = Map<String, Value>;

pub fn run(args: Args) -> Result<Outcome, Failure> {
    let mut o = Outcome::ok(false);
    for (k, v) in &args {
        if k == "cacheable" {
            continue;
        }
        if !crate::base::text::is_identifier(k) {
            return Err(Failure::Args(format!("'{k}' is not a valid variable name")));
        }
        o.facts.insert(k.clone(), v.clone());
    }
    o.data
        .insert("ansible_facts".into(), Value::Object(o.facts.clone()));
    Ok(o)
}
