//! A password held in memory: never printed, never in argv.
//!
//! Connection and become passwords travel from the inventory (or `-k`/`-K`) to the one place
//! that uses them: the SSH authentication request, an askpass helper's 0600 file, or the
//! stdin of `sudo -S`/`su`. Wrapping them in [`Secret`] makes every `{:?}` of the options that
//! carry them (connect options, become settings, error contexts) print a mask instead, so a
//! debug print or a log line cannot leak one by accident. Reading the value is explicit
//! ([`Secret::expose`]).

use std::fmt;
use std::sync::Arc;

/// A password; `Debug` and `Display` print `********`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Arc::from(value.into()))
    }

    /// The password itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::mask::MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::mask::MASK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2-long");
        assert_eq!(format!("{s:?} {s}"), "******** ********");
        assert_eq!(s.expose(), "hunter2-long");
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            password: Option<Secret>,
        }
        let h = Holder {
            password: Some(s.clone()),
        };
        assert!(!format!("{h:?}").contains("hunter2"));
    }
}
