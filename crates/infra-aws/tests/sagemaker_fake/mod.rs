//! A strict fake of the SageMaker and Application Auto Scaling JSON APIs at the SDK boundary:
//! a loopback HTTP server that answers only the requests a test scripts, fails any other,
//! and records everything it received. For what the local AWS cannot do (UpdateEndpoint,
//! failures, rollbacks, IAM propagation delays).

#![allow(dead_code)]

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the fake saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    /// The operation, from `X-Amz-Target` (`SageMaker.UpdateEndpoint` → `UpdateEndpoint`).
    pub operation: String,
    pub body: Value,
}

/// The fake's answer to one request.
pub enum Reply {
    Ok(Value),
    Error { status: u16, code: &'static str, message: String },
}

impl Reply {
    pub fn validation(message: impl Into<String>) -> Reply {
        Reply::Error { status: 400, code: "ValidationException", message: message.into() }
    }
}

/// Decides the reply to the `nth` (from 1) request of an operation; `None` means the request
/// was not expected.
pub type Script = dyn Fn(&str, &Value, usize) -> Option<Reply> + Send + Sync;

#[derive(Default)]
struct Log {
    received: Vec<Received>,
    unexpected: Vec<Received>,
}

pub struct FakeAws {
    pub url: String,
    log: Arc<Mutex<Log>>,
}

impl FakeAws {
    pub async fn start(script: impl Fn(&str, &Value, usize) -> Option<Reply> + Send + Sync + 'static) -> FakeAws {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let log = Arc::new(Mutex::new(Log::default()));
        let script: Arc<Script> = Arc::new(script);
        let shared = log.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (log, script) = (shared.clone(), script.clone());
                tokio::spawn(async move {
                    let _ = serve(conn, &log, &*script).await;
                });
            }
        });
        FakeAws { url, log }
    }

    /// Every request, in order.
    pub fn received(&self) -> Vec<Received> {
        self.log.lock().expect("log").received.clone()
    }

    /// The operations requested, in order.
    pub fn operations(&self) -> Vec<String> {
        self.received().into_iter().map(|r| r.operation).collect()
    }

    /// The requests of `operation`, in order.
    pub fn bodies(&self, operation: &str) -> Vec<Value> {
        self.received().into_iter().filter(|r| r.operation == operation).map(|r| r.body).collect()
    }

    /// The requests the script did not expect.
    pub fn unexpected(&self) -> Vec<Received> {
        self.log.lock().expect("log").unexpected.clone()
    }

    /// Fails the test if anything arrived that the script did not expect.
    pub fn assert_nothing_unexpected(&self) {
        let unexpected = self.log.lock().expect("log").unexpected.clone();
        assert!(unexpected.is_empty(), "unexpected requests: {unexpected:#?}");
    }
}

async fn serve(mut conn: TcpStream, log: &Mutex<Log>, script: &Script) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        // Read one request: headers, then Content-Length bytes of body.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let header = |name: &str| {
            head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
        };
        let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        while buf.len() < head_end + length {
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body: Value = serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or(Value::Null);
        buf.drain(..head_end + length);
        let target = header("x-amz-target").unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or_default().to_string();
        let received = Received { operation: operation.clone(), body: body.clone() };
        let reply = {
            let mut log = log.lock().map_err(|_| std::io::Error::other("poisoned"))?;
            log.received.push(received.clone());
            let nth = log.received.iter().filter(|r| r.operation == operation).count();
            let reply = script(&operation, &body, nth);
            if reply.is_none() {
                log.unexpected.push(received);
            }
            reply
        };
        let (status, payload) = match reply {
            Some(Reply::Ok(v)) => (200, v),
            Some(Reply::Error { status, code, message }) => (status, json!({"__type": code, "message": message})),
            None => {
                (400, json!({"__type": "UnexpectedRequest", "message": format!("the fake did not expect {operation}")}))
            }
        };
        let text = payload.to_string();
        let reason = if status == 200 { "OK" } else { "Bad Request" };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        conn.write_all(response.as_bytes()).await?;
    }
}

pub const ACCOUNT: &str = "123456789012";

pub fn endpoint_arn(name: &str) -> String {
    format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{name}")
}

/// A DescribeEndpoint answer.
pub fn endpoint(name: &str, config: &str, status: &str, failure_reason: Option<&str>) -> Value {
    let mut v = json!({
        "EndpointName": name,
        "EndpointArn": endpoint_arn(name),
        "EndpointConfigName": config,
        "EndpointStatus": status,
        "CreationTime": 1.7e9,
        "LastModifiedTime": 1.7e9
    });
    if let Some(reason) = failure_reason {
        v["FailureReason"] = json!(reason);
    }
    v
}
