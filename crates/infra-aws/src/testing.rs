//! A local AWS for tests: one moto server per test process, an isolated AWS account per
//! test, and a fault-injecting proxy. Enabled by the `testing` feature.
//!
//! ```ignore
//! let aws = LocalAws::shared()?;           // starts moto on first use, stops it at exit
//! let account = aws.account().await?;      // fresh account: tests run in parallel safely
//! let config = account.sdk_config().await?;
//! ```
//!
//! Isolation uses moto's multi-account support: credentials from STS AssumeRole into account
//! N make every request act in account N, so each test sees an empty AWS without resetting
//! the server under its neighbours. [`LocalAws::reset`] wipes the whole server when needed.

use crate::config::{self, AwsSettings, StaticCredentials};
use aws_config::SdkConfig;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const REGION: &str = "us-east-1";

/// A moto server on loopback, shared by every test in the process.
pub struct LocalAws {
    endpoint_url: String,
    port: u16,
    /// Holding the watchdog's stdin open keeps the server alive; when this process exits
    /// for any reason the pipe closes and the watchdog stops the server.
    _watchdog: Mutex<Child>,
}

/// The workspace root, from this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

impl LocalAws {
    /// The process's server, started on first use.
    pub fn shared() -> Result<&'static LocalAws, String> {
        static SHARED: OnceLock<Result<LocalAws, String>> = OnceLock::new();
        SHARED.get_or_init(LocalAws::start).as_ref().map_err(Clone::clone)
    }

    /// Start a private server on a free loopback port (installing moto into `.venv/` if
    /// needed). It stops when dropped.
    pub fn start() -> Result<LocalAws, String> {
        let moto = moto_server()?;
        let mut last_error = String::new();
        // Another process can take the free port between our probe and moto's bind.
        for _ in 0..5 {
            let port = free_port()?;
            match start_on(&moto, port) {
                Ok(aws) => return Ok(aws),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    pub fn endpoint_url(&self) -> &str {
        &self.endpoint_url
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Wipe every account on the server (moto's reset API).
    pub fn reset(&self) -> Result<(), String> {
        let (status, _) = http(self.port, "POST", "/moto-api/reset")?;
        if status == 200 {
            Ok(())
        } else {
            Err(format!("moto reset answered HTTP {status}"))
        }
    }

    /// Settings pointing at this server, for the default (shared) account.
    pub fn settings(&self) -> AwsSettings {
        AwsSettings { region: Some(REGION.into()), profile: None, endpoint_url: Some(self.endpoint_url.clone()) }
    }

    /// A fresh, empty account of its own.
    pub async fn account(&self) -> Result<Account, String> {
        let id = format!("{:012}", fastrand::u64(100_000_000_000..1_000_000_000_000));
        let base =
            config::load_with(&self.settings(), Some(&testing_credentials())).await.map_err(|e| e.to_string())?;
        let sts = aws_sdk_sts::Client::new(&base);
        let out = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{id}:role/infra-tests"))
            .role_session_name("infra-tests")
            .send()
            .await
            .map_err(|e| {
                format!("failed to assume a role in a fresh account: {}", crate::error::from_sdk("AssumeRole", &e))
            })?;
        let c = out.credentials.ok_or("AssumeRole returned no credentials")?;
        Ok(Account {
            account_id: id,
            endpoint_url: self.endpoint_url.clone(),
            credentials: StaticCredentials {
                access_key_id: c.access_key_id,
                secret_access_key: c.secret_access_key,
                session_token: Some(c.session_token),
            },
        })
    }
}

/// Dummy credentials; moto accepts anything and real AWS accepts none of these.
pub fn testing_credentials() -> StaticCredentials {
    StaticCredentials {
        access_key_id: "testing".into(),
        secret_access_key: "testing".into(),
        session_token: Some("testing".into()),
    }
}

/// One isolated account on a [`LocalAws`].
#[derive(Clone, Debug)]
pub struct Account {
    pub account_id: String,
    pub endpoint_url: String,
    pub credentials: StaticCredentials,
}

impl Account {
    pub fn settings(&self) -> AwsSettings {
        AwsSettings { region: Some(REGION.into()), profile: None, endpoint_url: Some(self.endpoint_url.clone()) }
    }

    /// An SDK configuration acting in this account.
    pub async fn sdk_config(&self) -> Result<SdkConfig, String> {
        self.sdk_config_via(&self.endpoint_url).await
    }

    /// An SDK configuration acting in this account, sending requests to `endpoint_url`
    /// (a [`FaultProxy`] in front of the server).
    pub async fn sdk_config_via(&self, endpoint_url: &str) -> Result<SdkConfig, String> {
        let settings = AwsSettings { endpoint_url: Some(endpoint_url.to_string()), ..self.settings() };
        config::load_with(&settings, Some(&self.credentials)).await.map_err(|e| e.to_string())
    }

    /// Every AWS provider, acting in this account.
    pub async fn providers(&self) -> Result<Vec<std::sync::Arc<dyn infra_core::provider::Provider>>, String> {
        Ok(crate::providers_for(&self.sdk_config().await?, &crate::RetryPolicy::default()))
    }

    /// Environment variables that point a child process (the `infra` binary) at this account.
    /// Set them with `Command::envs`, after `env_remove`-ing any `AWS_PROFILE`.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("AWS_ENDPOINT_URL".to_string(), self.endpoint_url.clone()),
            ("AWS_REGION".to_string(), REGION.to_string()),
            ("AWS_ACCESS_KEY_ID".to_string(), self.credentials.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), self.credentials.secret_access_key.clone()),
            ("AWS_EC2_METADATA_DISABLED".to_string(), "true".to_string()),
        ];
        if let Some(token) = &self.credentials.session_token {
            env.push(("AWS_SESSION_TOKEN".to_string(), token.clone()));
        }
        env
    }
}

/// The local AWS server executable (moto, with the SageMaker operations it lacks added by
/// `scripts/local_aws_server.py`), installed through `scripts/local-aws.sh` when missing.
fn moto_server() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("INFRA_MOTO_SERVER") {
        return Ok(PathBuf::from(p));
    }
    let root = workspace_root();
    let direct = root.join(".venv/bin/infra-local-aws");
    let script = root.join("scripts/local-aws.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("path")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("failed to run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("failed to install moto with {} ({})", script.display(), out.status));
    }
    let printed = String::from_utf8_lossy(&out.stdout).lines().last().map(str::trim).unwrap_or("").to_string();
    Ok(if printed.is_empty() { direct } else { PathBuf::from(printed) })
}

fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("failed to find a free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("failed to find a free port: {e}"))
}

fn start_on(moto: &Path, port: u16) -> Result<LocalAws, String> {
    let log_dir = workspace_root().join(".venv/local-aws");
    let _ = std::fs::create_dir_all(&log_dir);
    let log_path = log_dir.join(format!("{port}.log"));
    let log = std::fs::File::create(&log_path).map_err(|e| format!("failed to create {}: {e}", log_path.display()))?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    // The watchdog shell exits with moto; its `cat` sees end-of-file when this process exits
    // (however it exits) and then stops moto, so no server outlives its tests.
    let script = r#""$0" -H 127.0.0.1 -p "$1" </dev/null & pid=$!
exec 3<&0
(cat <&3 >/dev/null 2>&1; kill "$pid" 2>/dev/null) &
wait "$pid""#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(moto)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| format!("failed to start {}: {e}", moto.display()))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((status, _)) = http(port, "GET", "/moto-api/data.json") {
            if status == 200 {
                break;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(format!("moto server exited ({status}): {}", log.trim()));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(format!("moto server did not answer on port {port} within 30s; see {}", log_path.display()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(LocalAws { endpoint_url: format!("http://127.0.0.1:{port}"), port, _watchdog: Mutex::new(child) })
}

/// A minimal blocking HTTP/1.0 request to loopback: status and body.
fn http(port: u16, method: &str, path: &str) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), Duration::from_secs(1))
        .map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
    write!(s, "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    s.read_to_string(&mut response).map_err(|e| e.to_string())?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {:.80}", response))?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((status, body))
}

/// What the [`FaultProxy`] does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer `400 Throttling` itself (the XML error of query-protocol services).
    Throttle,
    /// Answer `503 ServiceUnavailable` itself.
    Unavailable,
    /// Answer this error itself, e.g. a `400 ValidationException` or a `404 NoSuchEntity`.
    Error { status: u16, code: &'static str, message: &'static str },
    /// Close the connection without answering.
    Drop,
    /// Forward the request, then close the connection instead of returning the response:
    /// the call succeeded but the client cannot know.
    ForwardThenDrop,
    /// Forward the request, then never answer (until the client goes away): the call took
    /// effect and the client is still waiting, which is where a test kills it.
    ForwardThenHold,
    /// Forward the request and return the response with every `from` in its body replaced
    /// by `to` (a service answering something else, e.g. an endpoint that is `Failed`).
    Rewrite { from: &'static str, to: &'static str },
    /// Keep the request, neither answered nor forwarded, until [`FaultProxy::release`]; then
    /// forward it. The call is provably in flight for exactly as long as the test wants.
    Hold,
}

/// Decides the fault for the `nth` (from 1) request of an action, or `None` to forward it.
pub type FaultPlan = Arc<dyn Fn(&str, usize) -> Option<Fault> + Send + Sync>;

/// A loopback HTTP proxy in front of a [`LocalAws`] that injects faults and counts requests
/// by action (`Action=` of query protocols, `X-Amz-Target` of JSON protocols). It runs on the
/// current tokio runtime and stops with it.
pub struct FaultProxy {
    pub url: String,
    seen: Arc<Mutex<HashMap<String, usize>>>,
    forwarded: Arc<Mutex<HashMap<String, usize>>>,
    held: Arc<Mutex<HashMap<String, usize>>>,
    answered: Arc<Mutex<HashMap<String, usize>>>,
    held_answered: Arc<std::sync::atomic::AtomicUsize>,
    released: tokio::sync::watch::Sender<bool>,
}

/// What the proxy's connections share.
#[derive(Clone)]
struct Counters {
    seen: Arc<Mutex<HashMap<String, usize>>>,
    forwarded: Arc<Mutex<HashMap<String, usize>>>,
    held: Arc<Mutex<HashMap<String, usize>>>,
    /// Requests the server behind the proxy has answered (whatever the proxy then did).
    answered: Arc<Mutex<HashMap<String, usize>>>,
    /// Requests under [`Fault::ForwardThenHold`] that the server has answered.
    held_answered: Arc<std::sync::atomic::AtomicUsize>,
    released: tokio::sync::watch::Receiver<bool>,
}

fn count(map: &Mutex<HashMap<String, usize>>, action: &str, change: impl FnOnce(&mut usize)) -> usize {
    let Ok(mut m) = map.lock() else { return 0 };
    let n = m.entry(action.to_string()).or_insert(0);
    change(n);
    *n
}

impl FaultProxy {
    pub async fn start(
        upstream_url: &str,
        plan: impl Fn(&str, usize) -> Option<Fault> + Send + Sync + 'static,
    ) -> Result<FaultProxy, String> {
        let upstream = upstream_url.trim_start_matches("http://").trim_end_matches('/').to_string();
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| format!("failed to bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (released, watch) = tokio::sync::watch::channel(false);
        let counters = Counters {
            seen: Arc::default(),
            forwarded: Arc::default(),
            held: Arc::default(),
            answered: Arc::default(),
            held_answered: Arc::default(),
            released: watch,
        };
        let plan: FaultPlan = Arc::new(plan);
        let shared = counters.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (upstream, plan, counters) = (upstream.clone(), plan.clone(), shared.clone());
                tokio::spawn(async move {
                    let _ = proxy_connection(conn, &upstream, &plan, counters).await;
                });
            }
        });
        let Counters { seen, forwarded, held, answered, held_answered, .. } = counters;
        Ok(FaultProxy { url: format!("http://{addr}"), seen, forwarded, held, answered, held_answered, released })
    }

    /// Requests of `action` held by [`Fault::Hold`] right now.
    pub fn held(&self, action: &str) -> usize {
        self.held.lock().map(|m| m.get(action).copied().unwrap_or(0)).unwrap_or(0)
    }

    /// Let every held request (and any later [`Fault::Hold`]) through to the server.
    pub fn release(&self) {
        self.released.send_replace(true);
    }

    /// Requests of `action` that reached the proxy.
    pub fn seen(&self, action: &str) -> usize {
        self.seen.lock().map(|m| m.get(action).copied().unwrap_or(0)).unwrap_or(0)
    }

    /// Requests of `action` that reached the server behind the proxy.
    pub fn forwarded(&self, action: &str) -> usize {
        self.forwarded.lock().map(|m| m.get(action).copied().unwrap_or(0)).unwrap_or(0)
    }

    /// Requests of `action` that the server behind the proxy has answered: carried out,
    /// whatever the proxy then did with the answer (with [`Fault::ForwardThenHold`], kept it).
    pub fn answered(&self, action: &str) -> usize {
        self.answered.lock().map(|m| m.get(action).copied().unwrap_or(0)).unwrap_or(0)
    }

    /// Requests forwarded to the server and not answered by it yet. A test that kills its
    /// client waits for this to be 0 before it looks at the account: otherwise a request the
    /// proxy still carries would land after the look.
    pub fn in_flight(&self) -> usize {
        let total = |m: &Mutex<HashMap<String, usize>>| m.lock().map(|m| m.values().sum::<usize>()).unwrap_or(0);
        total(&self.forwarded).saturating_sub(total(&self.answered))
    }

    /// Requests under [`Fault::ForwardThenHold`] that the server has carried out and
    /// answered, the answer kept from the client: from then on, killing the client leaves a
    /// call that took effect and was never recorded.
    pub fn held_answered(&self) -> usize {
        self.held_answered.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every action that reached the proxy, with its count.
    pub fn actions(&self) -> std::collections::BTreeMap<String, usize> {
        self.seen.lock().map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect()).unwrap_or_default()
    }

    /// Actions that reached the proxy and may change something: all but the read-only verbs
    /// of AWS APIs (`Get`, `List`, `Describe`, and STS `GetCallerIdentity`).
    pub fn mutating(&self) -> std::collections::BTreeMap<String, usize> {
        self.actions().into_iter().filter(|(action, _)| !is_read_only(action)).collect()
    }
}

/// Whether an AWS action only reads, by the verbs AWS APIs name their read-only calls with.
pub fn is_read_only(action: &str) -> bool {
    ["Get", "List", "Describe", "Head"].iter().any(|verb| action.starts_with(verb))
}

/// One request per connection: the proxy answers with `Connection: close`.
async fn proxy_connection(
    mut conn: tokio::net::TcpStream,
    upstream: &str,
    plan: &FaultPlan,
    mut counters: Counters,
) -> std::io::Result<()> {
    let (head, body) = read_request(&mut conn).await?;
    let action = action_of(&head, &body);
    let nth = count(&counters.seen, &action, |n| *n += 1);
    let fault = plan(&action, nth);
    if fault == Some(Fault::Hold) {
        count(&counters.held, &action, |n| *n += 1);
        // An error means the proxy is gone, and with it anyone to release the request.
        let released = counters.released.wait_for(|r| *r).await.is_ok();
        count(&counters.held, &action, |n| *n -= 1);
        if !released {
            return Ok(());
        }
    }
    let shape = ErrorShape::of(&head, &body);
    let canned = |status: u16, code: &str, message: &str| canned_error(shape, status, code, message);
    match fault {
        Some(Fault::Throttle) => return conn.write_all(&canned(400, "Throttling", "Rate exceeded")).await,
        Some(Fault::Unavailable) => {
            return conn.write_all(&canned(503, "ServiceUnavailable", "Service is unavailable")).await
        }
        Some(Fault::Error { status, code, message }) => return conn.write_all(&canned(status, code, message)).await,
        Some(Fault::Drop) => return Ok(()),
        Some(Fault::ForwardThenDrop | Fault::ForwardThenHold | Fault::Rewrite { .. } | Fault::Hold) | None => {}
    }
    count(&counters.forwarded, &action, |n| *n += 1);
    let mut up = tokio::net::TcpStream::connect(upstream).await?;
    up.write_all(&close_connection(&head)).await?;
    up.write_all(&body).await?;
    let mut response = Vec::new();
    up.read_to_end(&mut response).await?;
    count(&counters.answered, &action, |n| *n += 1);
    if fault == Some(Fault::ForwardThenHold) {
        counters.held_answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    match fault {
        Some(Fault::ForwardThenDrop) => return Ok(()),
        Some(Fault::ForwardThenHold) => {
            // Hold on until the client closes its end (or is killed).
            let mut sink = [0u8; 1024];
            while conn.read(&mut sink).await.map(|n| n > 0).unwrap_or(false) {}
            return Ok(());
        }
        Some(Fault::Rewrite { from, to }) => response = rewrite_body(&response, from, to),
        _ => {}
    }
    conn.write_all(&response).await?;
    conn.shutdown().await
}

/// An HTTP response with `from` replaced by `to` in its body and its length fixed.
fn rewrite_body(response: &[u8], from: &str, to: &str) -> Vec<u8> {
    let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n") else { return response.to_vec() };
    let (head, body) = (String::from_utf8_lossy(&response[..split]), String::from_utf8_lossy(&response[split + 4..]));
    let body = body.replace(from, to);
    let mut out: String = head
        .split("\r\n")
        .map(|line| {
            if line.to_ascii_lowercase().starts_with("content-length:") {
                format!("Content-Length: {}\r\n", body.len())
            } else {
                format!("{line}\r\n")
            }
        })
        .collect();
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}

/// How a service's clients read errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ErrorShape {
    /// JSON-protocol services (those with `X-Amz-Target`).
    Json,
    /// Query-protocol services: `<ErrorResponse><Error>…`.
    Query,
    /// EC2's own query protocol: `<Response><Errors><Error>…`.
    Ec2,
}

/// EC2's API version, which every EC2 query request carries.
const EC2_API_VERSION: &str = "Version=2016-11-15";

impl ErrorShape {
    fn of(head: &[u8], body: &[u8]) -> ErrorShape {
        if header(head, "x-amz-target").is_some() {
            ErrorShape::Json
        } else if String::from_utf8_lossy(body).split('&').any(|kv| kv == EC2_API_VERSION) {
            ErrorShape::Ec2
        } else {
            ErrorShape::Query
        }
    }
}

/// An error response in the shape the client's protocol expects.
fn canned_error(shape: ErrorShape, status: u16, code: &str, message: &str) -> Vec<u8> {
    let reason = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let (content_type, body) = match shape {
        ErrorShape::Json => {
            ("application/x-amz-json-1.1", serde_json::json!({"__type": code, "message": message}).to_string())
        }
        ErrorShape::Query => (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
                 <RequestId>fault-proxy</RequestId></ErrorResponse>"
            ),
        ),
        ErrorShape::Ec2 => (
            "text/xml",
            format!(
                "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>\
                 <RequestID>fault-proxy</RequestID></Response>"
            ),
        ),
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nx-amzn-ErrorType: {code}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn read_request(conn: &mut tokio::net::TcpStream) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("connection closed before the request head"));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    };
    let head = buf.get(..head_end).unwrap_or_default().to_vec();
    let length = header(&head, "content-length").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    let mut body = buf.get(head_end..).unwrap_or_default().to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    Ok((head, body))
}

fn header(head: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(head).lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// The request head with `Connection: close`, so the upstream answer ends at end-of-file.
fn close_connection(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut out: String = text
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

fn action_of(head: &[u8], body: &[u8]) -> String {
    if let Some(target) = header(head, "x-amz-target") {
        return target.rsplit('.').next().unwrap_or(&target).to_string();
    }
    String::from_utf8_lossy(body)
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .map(str::to_string)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(head: &str, body: &str, expected: &str) {
        assert_eq!(action_of(head.as_bytes(), body.as_bytes()), expected);
    }

    #[test]
    fn actions() {
        check("POST / HTTP/1.1\r\n\r\n", "Action=CreateRole&Version=2010-05-08&RoleName=x", "CreateRole");
        check("POST / HTTP/1.1\r\n\r\n", "Version=2010-05-08&Action=ListRoles", "ListRoles");
        check("POST / HTTP/1.1\r\nX-Amz-Target: SageMaker.CreateModel\r\n\r\n", "{}", "CreateModel");
        check(
            "POST / HTTP/1.1\r\nx-amz-target: AnyScaleFrontendService.DescribeScalableTargets\r\n\r\n",
            "",
            "DescribeScalableTargets",
        );
        check("GET / HTTP/1.1\r\n\r\n", "", "");
    }

    #[test]
    fn upstream_requests_close_their_connection() {
        let head = b"POST / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(
            String::from_utf8_lossy(&close_connection(head)),
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn canned_errors_fit_the_protocol() {
        let xml =
            String::from_utf8_lossy(&canned_error(ErrorShape::Query, 400, "Throttling", "Rate exceeded")).into_owned();
        assert!(xml.starts_with("HTTP/1.1 400 Bad Request\r\n") && xml.contains("<Code>Throttling</Code>"), "{xml}");
        let json =
            String::from_utf8_lossy(&canned_error(ErrorShape::Json, 503, "ServiceUnavailable", "down")).into_owned();
        assert!(json.ends_with(r#"{"__type":"ServiceUnavailable","message":"down"}"#), "{json}");
        let ec2 =
            String::from_utf8_lossy(&canned_error(ErrorShape::Ec2, 400, "DependencyViolation", "in use")).into_owned();
        assert!(ec2.contains("<Response><Errors><Error><Code>DependencyViolation</Code>"), "{ec2}");
        let shapes = [
            ("POST / HTTP/1.1\r\nX-Amz-Target: SageMaker.CreateModel\r\n\r\n", "{}", ErrorShape::Json),
            ("POST / HTTP/1.1\r\n\r\n", "Action=CreateRole&Version=2010-05-08", ErrorShape::Query),
            ("POST / HTTP/1.1\r\n\r\n", "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16", ErrorShape::Ec2),
        ];
        for (head, body, expected) in shapes {
            assert_eq!(ErrorShape::of(head.as_bytes(), body.as_bytes()), expected, "{body}");
        }
    }
}
