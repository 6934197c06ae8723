//! `fail`: stop this host with a message.

use serde::Deserialize;

use super::{Failure, Outcome};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    msg: Option<String>,
}

pub fn run(a: Args) -> Result<Outcome, Failure> {
    let msg = a
        .msg
        .unwrap_or_else(|| "Failed as requested from task".into());
    Ok(Outcome::failed(msg))
}
