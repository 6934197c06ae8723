//! Reading the source stanza for the preflight: its info, archive listings, timeline
//! histories, and `pg_waldump` summaries of the segments the decision needs, with a scratch
//! pgBackRest configuration on the host (never the live one), in as few exchanges as it takes.

use super::super::{env, sections, sh, stderr, stdout, Ctx, Failure};
use super::Probe;
use crate::pg::pitr::wal::{parse_dump, parse_history, Archive, DUMP_FILTER};
use crate::pg::pitr::window::{self, Dumps};
use crate::pg::pitr::{info::StanzaInfo, Job, Segment};
use crate::transport::quote;

type Repo = (Result<StanzaInfo, String>, Vec<Archive>, Dumps);

/// The stanza's info, archive listings, timeline histories, and pg_waldump summaries of the
/// segments that matter (two exchanges).
pub(super) async fn read_repository(
    ctx: &Ctx<'_>,
    job: &Job,
    probe: &Probe,
) -> Result<Repo, Failure> {
    let conf = job
        .conf(probe.cpus, &probe.unsupported)
        .map_err(Failure::Args)?;
    let head = format!(
        r#"{env}
D=$(dbsu mktemp -d /pg/tmp/pgplay-pitr.XXXXXX) || {{ echo "cannot make a scratch directory in /pg/tmp" >&2; exit 90; }}
trap 'rm -rf "$D"' EXIT
dbsu sh -c 'umask 077; cat > "$1"' _ "$D/pgbackrest.conf"
B() {{ dbsu pgbackrest --config="$D/pgbackrest.conf" --stanza="$STANZA" --log-level-console=error --log-level-stderr=error --log-level-file=off "$@"; }}
"#,
        env = env(job)
    );
    let script = format!(
        r#"{head}
echo "==info"; B --output=json info 2>&1; echo
for id in $(B repo-ls "archive/$STANZA" 2>/dev/null | grep -E '^[0-9]+-[0-9]+$'); do
  echo "==listing $id"; B repo-ls --recurse "archive/$STANZA/$id"
  for h in $(B repo-ls --filter='\.history$' "archive/$STANZA/$id"); do
    {{ echo "==history $id $h"; B repo-get "archive/$STANZA/$id/$h"; }} > "$D/$id-$h.out" &
  done
  wait
  for f in "$D/$id"-*.history.out; do [ -f "$f" ] && cat "$f"; done
done
exit 0
"#
    );
    let out = sh(ctx, &script, Some(conf.as_bytes())).await?;
    if out.status != 0 {
        return Err(Failure::Args(format!(
            "cannot read the repository from {}: {}",
            job.member.host,
            stderr(&out)
        )));
    }
    let mut info_text = String::new();
    let mut archives: Vec<Archive> = Vec::new();
    for (head, body) in sections(&stdout(&out)) {
        let parts: Vec<&str> = head.split_whitespace().collect();
        match parts.as_slice() {
            ["info"] => info_text = body,
            ["listing", id] => archives.push(Archive::from_listing(id, &body, probe.seg_size)),
            ["history", id, name] => {
                let tli = u32::from_str_radix(name.trim_end_matches(".history"), 16).unwrap_or(0);
                if let (Some(a), Ok(h)) = (
                    archives.iter_mut().find(|a| a.id == *id),
                    parse_history(&body),
                ) {
                    a.histories.insert(tli, h);
                }
            }
            _ => {}
        }
    }
    let info = if info_text.trim_start().starts_with('[') {
        StanzaInfo::parse(&info_text, &job.source)
    } else {
        Err(format!(
            "the repository cannot be read: {}",
            info_text
                .trim()
                .lines()
                .last()
                .unwrap_or("no output from pgbackrest info")
        ))
    };
    archives.sort_by(|a, b| {
        let n = |id: &str| {
            id.rsplit('-')
                .next()
                .and_then(|x| x.parse::<u32>().ok())
                .unwrap_or(0)
        };
        n(&a.id).cmp(&n(&b.id))
    });
    // The segments that tell where each history the chosen backup leads to begins and ends.
    let chosen = info
        .as_ref()
        .ok()
        .and_then(|i| Some((i, window::choose_backup(&job.pitr, i).ok()?)))
        .and_then(|(i, backup)| {
            let id = i.archive_id(backup.database.id)?.to_string();
            archives
                .iter()
                .position(|a| a.id == id)
                .map(|at| (at, backup))
        });
    let mut dumps = Dumps::new();
    if let Some((at, backup)) = chosen {
        let a = &archives[at];
        let mut want = window::segments_for(a, &backup, 64);
        // A history that begins with segments holding no transaction (WAL switches of
        // checks and backups, a promotion's own records): read on from where it begins until
        // a transaction shows, a few segments a round, so that its start is known.
        for _ in 0..8 {
            if want.is_empty() {
                break;
            }
            dump_segments(ctx, job, probe, &head, &conf, a, &want, &mut dumps).await?;
            want = window::segments_after_quiet_starts(a, &backup, &dumps, 4);
        }
    }
    Ok((info, archives, dumps))
}

/// `pg_waldump` summaries of archive segments, one fetch + dump per segment, as many at once
/// as the host has CPUs.
#[allow(clippy::too_many_arguments)]
async fn dump_segments(
    ctx: &Ctx<'_>,
    job: &Job,
    probe: &Probe,
    head: &str,
    conf: &str,
    a: &Archive,
    want: &[Segment],
    dumps: &mut Dumps,
) -> Result<(), Failure> {
    let mut script = format!(
        r#"{head}
F={filter}
one() {{
  {{ echo "==dump $1 $2"
    if B repo-get "$3" > "$D/$2.raw"; then
      case "$3" in *.gz) gzip -dc ;; *.lz4) lz4 -dc ;; *.zst) zstd -dc ;; *.bz2) bzip2 -dc ;; *) cat ;; esac < "$D/$2.raw" > "$D/$2" 2>/dev/null
      TZ=UTC "$BIN/pg_waldump" "$D/$2" 2>/dev/null | awk "$F"
    fi
    rm -f "$D/$2.raw" "$D/$2"
  }} > "$D/$2.out"
}}
P=$(nproc); n=0
"#,
        filter = quote(DUMP_FILTER)
    );
    let mut names = Vec::new();
    for seg in want {
        let Some(path) = a.files.get(seg) else {
            continue;
        };
        let name = seg.name(probe.seg_size);
        script.push_str(&format!(
            "one {} {name} {} &\nn=$((n+1)); if [ $n -ge $P ]; then wait; n=0; fi\n",
            quote(&a.id),
            quote(&format!("archive/{}/{}/{path}", job.source, a.id)),
        ));
        names.push(name);
    }
    script.push_str("wait\n");
    for name in &names {
        script.push_str(&format!("cat \"$D/{name}.out\" 2>/dev/null\n"));
    }
    let out = sh(ctx, &script, Some(conf.as_bytes())).await?;
    for (head, body) in sections(&stdout(&out)) {
        let parts: Vec<&str> = head.split_whitespace().collect();
        if let ["dump", id, name] = parts.as_slice() {
            if let Some(seg) = Segment::parse(name, probe.seg_size) {
                dumps.insert((id.to_string(), seg), parse_dump(&body));
            }
        }
    }
    Ok(())
}
