//! What a step produced, before it is reported: its status, words, cause, diff and the
//! value to register. Its own file, below everything that makes or reads one (step, items,
//! retry, judge), so that those files depend on it and not on each other in a circle.

use serde_json::Value;

use super::failure::Cause;
use crate::report::Status;

/// What a step produced, before it is reported.
pub(super) struct Done {
    pub status: Status,
    /// What the module or step says besides (a skip reason, a module's message).
    pub msg: Option<String>,
    /// Why it failed (also when ignored) or could not reach its host; reported with the task.
    pub cause: Option<Cause>,
    pub diff: Option<String>,
    pub result: Value,
}

impl Done {
    /// What the step said in words: why it failed, else its message.
    pub(super) fn words(&self) -> Option<String> {
        match &self.cause {
            Some(cause) => cause.text(),
            None => self.msg.clone(),
        }
    }
}

/// A done step paired with the value to register (the same result).
pub(super) fn registered(d: Done) -> (Done, Value) {
    let r = d.result.clone();
    (d, r)
}

/// A step that failed before (or instead of) a module result: `cause` is all it has to say.
pub(super) fn failed(cause: Cause) -> Done {
    Done {
        status: Status::Failed,
        result: serde_json::json!({"failed": true, "msg": cause.text()}),
        msg: None,
        cause: Some(cause),
        diff: None,
    }
}

/// A step whose host could not be reached (see `TransportError::verdict`).
pub(super) fn unreachable(cause: Cause) -> Done {
    Done {
        status: Status::Unreachable,
        result: serde_json::json!({"unreachable": true, "msg": cause.text()}),
        msg: None,
        cause: Some(cause),
        diff: None,
    }
}
