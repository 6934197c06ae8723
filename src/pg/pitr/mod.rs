//! Point-in-time recovery, the domain: what `pg_pitr` asks for, what the repository can give,
//! and the exact commands, files and settings that get there.
//!
//! Pure and unit-tested on recorded pgBackRest and pg_waldump output; the `pitr` task module
//! (`modules/pitr/`) runs these on the hosts and the `pgsql-pitr` playbook orders the steps.
//!
//! - `spec`: `pg_pitr` typed and validated (targets, set, timeline, action, paths, ...);
//! - `lsn`, `time`: WAL positions, segment names and target times as PostgreSQL reads them;
//! - `info`: pgBackRest's `info --output=json`;
//! - `wal`: the archive listing, timeline history files and pg_waldump summaries;
//! - `window`: the preflight decision (backup set, timeline, recovery window) or a refusal;
//! - `job`: one member's restore: `pitr.conf`, the restore argv, the recovery settings.

pub mod info;
pub mod job;
pub mod lsn;
pub mod spec;
pub mod time;
pub mod wal;
pub mod window;

pub use job::{Job, Member, READS};
pub use lsn::{Lsn, Segment, DEFAULT_SEG_SIZE};
pub use spec::{Action, Pitr, Target, Timeline};
pub use time::PgTime;
pub use window::Decision;
