//! `wait_for`: wait on the host until a TCP port accepts (or stops accepting) connections,
//! a path exists (optionally containing a regex) or is gone, or just `delay` seconds.
//!
//! The polling loop runs on the host in one exchange, so a long wait costs no round trips.

use serde::Deserialize;
use serde_json::Value;

use super::{Ctx, Failure, Outcome};
use crate::transport::quote;

const SCRIPT: &str = r#"
set -u
probe() {
  if [ -n "$port" ]; then
    if command -v bash >/dev/null 2>&1; then timeout "$ctimeout" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null; return; fi
    echo "bash is needed on the host to probe TCP ports" >&2; exit 3
  fi
  if [ -n "$path" ]; then
    [ -e "$path" ] || return 1
    [ -z "$regex" ] && return 0
    grep -Eq -- "$regex" "$path" 2>/dev/null
    return
  fi
  return 0
}
sleep "$delay"
start=$(date +%s)
while :; do
  if probe; then up=1; else up=0; fi
  case "$state" in
    started|present) [ "$up" = 1 ] && break ;;
    stopped|absent) [ "$up" = 0 ] && break ;;
  esac
  now=$(date +%s)
  if [ $((now - start)) -ge "$timeout" ]; then echo "PGPLAY timeout elapsed=$((now - start))"; exit 0; fi
  sleep "$sleep"
done
echo "PGPLAY ok elapsed=$(( $(date +%s) - start ))"
"#;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    host: Option<String>,
    port: Option<String>,
    path: Option<String>,
    search_regex: Option<String>,
    state: Option<String>,
    timeout: Option<f64>,
    delay: Option<f64>,
    sleep: Option<f64>,
    msg: Option<String>,
    connect_timeout: Option<f64>,
}

pub async fn run(ctx: &Ctx<'_>, a: Args) -> Result<Outcome, Failure> {
    let port = a.port.unwrap_or_default();
    if !port.is_empty() && port.parse::<u16>().is_err() {
        return Err(Failure::Args(format!("port '{port}' is not a port number")));
    }
    let path = a.path.unwrap_or_default();
    let state = a.state.unwrap_or_else(|| "started".into());
    if !matches!(state.as_str(), "started" | "present" | "stopped" | "absent") {
        return Err(Failure::Args(format!(
            "state '{state}' is not started, stopped, present or absent"
        )));
    }
    let timeout = a.timeout.unwrap_or(300.0).max(0.0) as u64;
    let delay = a.delay.unwrap_or(0.0).max(0.0);
    let sleep = a.sleep.unwrap_or(1.0).max(0.1);
    let ctimeout = a.connect_timeout.unwrap_or(5.0).max(1.0) as u64;
    if ctx.check {
        let mut o = Outcome::ok(false);
        o.skipped = true;
        o.msg = Some("skipped in check mode".into());
        return Ok(o);
    }
    let mut script = String::new();
    for (k, v) in [
        ("port", port.clone()),
        ("host", a.host.unwrap_or_else(|| "127.0.0.1".into())),
        ("path", path.clone()),
        ("regex", a.search_regex.unwrap_or_default()),
        ("state", state.clone()),
        ("timeout", timeout.to_string()),
        ("delay", delay.to_string()),
        ("sleep", sleep.to_string()),
        ("ctimeout", ctimeout.to_string()),
    ] {
        script.push_str(&format!("{k}={}\n", quote(&v)));
    }
    script.push_str(SCRIPT);
    let out = ctx.exec(&script, None).await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let what = if !port.is_empty() {
        format!("port {port}")
    } else {
        format!("path {path}")
    };
    if out.status != 0 {
        return Ok(Outcome::failed(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    if stdout.contains("PGPLAY timeout") {
        let msg = a.msg.unwrap_or_else(|| {
            format!("timeout after {timeout}s waiting for {what} to be {state}")
        });
        return Ok(Outcome::failed(msg));
    }
    let mut o = Outcome::ok(false);
    let elapsed = super::remote::header_field(&stdout, "elapsed")
        .parse::<u64>()
        .unwrap_or(0);
    o.data.insert("elapsed".into(), Value::from(elapsed));
    Ok(o)
}
