//! `fail`: stop this host with a message.

use serde_json::{Map, Value};

use super::args::opt_str;
use super::{Failure, Outcome};

pub fn run(args: &Map<String, Value>) -> Result<Outcome, Failure> {
    let msg = opt_str(args, "msg")?.unwrap_or_else(|| "Failed as requested from task".into());
    Ok(Outcome::failed(msg))
}
