//! TEMPORARY stub, replaced by the real transports.
use std::path::PathBuf;
pub fn quote(s: &str) -> String { format!("'{}'", s.replace('\'', "'\\''")) }
pub fn join_argv<S: AsRef<str>>(argv: &[S]) -> String { argv.iter().map(|a| quote(a.as_ref())).collect::<Vec<_>>().join(" ") }
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)] pub enum BecomeMethod { #[default] Sudo, Su }
#[derive(Clone, Debug)] pub struct Become { pub user: String, pub method: BecomeMethod }
#[derive(Clone, Copy, Debug, PartialEq, Eq)] pub enum HostKeyPolicy { Strict, AcceptNew }
#[derive(Clone, Debug)]
pub struct ConnectOptions { pub host: String, pub address: String, pub port: u16, pub user: String, pub key_files: Vec<PathBuf>, pub known_hosts: PathBuf, pub host_key_policy: HostKeyPolicy, pub connect_timeout: std::time::Duration, pub use_agent: bool }
pub struct ExecRequest<'a> { pub script: &'a str, pub stdin: Option<&'a [u8]>, pub r#become: Option<&'a Become>, pub env: &'a [(String, String)] }
pub struct ExecOutput { pub status: i32, pub stdout: Vec<u8>, pub stderr: Vec<u8> }
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{host}: unreachable: {reason}")] Unreachable { host: String, address: String, port: u16, reason: String },
}
pub enum Connection { Local }
impl Connection {
    pub async fn connect_russh(_o: &ConnectOptions) -> Result<Connection, TransportError> { Ok(Connection::Local) }
    pub fn local() -> Connection { Connection::Local }
    pub async fn exec(&self, _r: ExecRequest<'_>) -> Result<ExecOutput, TransportError> { Ok(ExecOutput { status: 0, stdout: vec![], stderr: vec![] }) }
    pub async fn close(self) {}
}
