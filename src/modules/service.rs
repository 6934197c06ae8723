//! `service`: start/stop/restart/reload and enable/disable a systemd unit, reporting the state
//! it found. A host without systemd running fails clearly rather than pretending.

use serde::Deserialize;
use serde_json::Value;

use super::args::required;
use super::{Ctx, Failure, Outcome};
use crate::transport::quote;

const SCRIPT: &str = r#"
set -u
if [ ! -d /run/systemd/system ] || ! command -v systemctl >/dev/null 2>&1; then echo "systemd is not running on this host" >&2; exit 3; fi
[ "$reload" = 1 ] && { [ "$check" = 1 ] || systemctl daemon-reload || exit 3; }
if ! systemctl cat -- "$name" >/dev/null 2>&1; then echo "no such unit: $name" >&2; exit 3; fi
active=$(systemctl is-active -- "$name" 2>/dev/null); enabled=$(systemctl is-enabled -- "$name" 2>/dev/null)
changed=0
case "$state" in
  started) [ "$active" = active ] || { changed=1; [ "$check" = 1 ] || systemctl start -- "$name" || exit 4; } ;;
  stopped) [ "$active" != active ] || { changed=1; [ "$check" = 1 ] || systemctl stop -- "$name" || exit 4; } ;;
  restarted) changed=1; [ "$check" = 1 ] || systemctl restart -- "$name" || exit 4 ;;
  reloaded) changed=1; [ "$check" = 1 ] || systemctl reload -- "$name" || exit 4 ;;
esac
case "$enable" in
  yes) [ "$enabled" = enabled ] || { changed=1; [ "$check" = 1 ] || systemctl enable -- "$name" >/dev/null 2>&1 || exit 4; } ;;
  no) [ "$enabled" != enabled ] || { changed=1; [ "$check" = 1 ] || systemctl disable -- "$name" >/dev/null 2>&1 || exit 4; } ;;
esac
echo "PGPLAY changed=$changed active=$active enabled=$enabled"
"#;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    name: Option<String>,
    state: Option<String>,
    enabled: Option<bool>,
    daemon_reload: Option<bool>,
}

pub async fn run(ctx: &Ctx<'_>, a: Args) -> Result<Outcome, Failure> {
    let name = required("name", &a.name)?;
    let state = a.state.unwrap_or_default();
    if !matches!(
        state.as_str(),
        "" | "started" | "stopped" | "restarted" | "reloaded"
    ) {
        return Err(Failure::Args(format!(
            "state '{state}' is not started, stopped, restarted or reloaded"
        )));
    }
    let enable = match a.enabled {
        Some(true) => "yes",
        Some(false) => "no",
        None => "",
    };
    let reload = a.daemon_reload.unwrap_or(false);
    let mut script = String::new();
    for (k, v) in [
        ("name", name.as_str()),
        ("state", state.as_str()),
        ("enable", enable),
        ("reload", if reload { "1" } else { "0" }),
        ("check", if ctx.check { "1" } else { "0" }),
    ] {
        script.push_str(&format!("{k}={}\n", quote(v)));
    }
    script.push_str(SCRIPT);
    let out = ctx.exec(&script, None).await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout
        .lines()
        .find(|l| l.starts_with("PGPLAY "))
        .filter(|_| out.status == 0)
    else {
        return Ok(Outcome::failed(format!(
            "service {name}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    };
    let field = |f: &str| super::remote::header_field(line, f);
    let mut o = Outcome::ok(field("changed") == "1");
    o.data.insert("name".into(), Value::String(name));
    o.data
        .insert("found_state".into(), Value::String(field("active")));
    o.data
        .insert("found_enabled".into(), Value::String(field("enabled")));
    Ok(o)
}
