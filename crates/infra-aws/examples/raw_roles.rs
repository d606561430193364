//! Baseline for `bench/aws-roles.sh`: create N IAM roles with one inline policy each through
//! a plain SDK loop at fixed concurrency (CreateRole + PutRolePolicy), delete them
//! (DeleteRolePolicy + DeleteRole), and print both wall times as JSON.
//!
//! ```text
//! cargo run -p infra-aws --example raw_roles -- [--count 300] [--concurrency 10] [--prefix bench]
//! ```
//! Where requests go and as whom comes from the SDK's usual environment (`AWS_ENDPOINT_URL`,
//! `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...).

use aws_config::BehaviorVersion;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}]}"#;

struct Args {
    count: usize,
    concurrency: usize,
    prefix: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { count: 300, concurrency: 10, prefix: "bench".into() };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--count" => args.count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--concurrency" => args.concurrency = value()?.parse().map_err(|e| format!("--concurrency: {e}"))?,
            "--prefix" => args.prefix = value()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    Ok(args)
}

/// Run `op(i)` for every index, at most `concurrency` at once; the first error wins.
async fn run_all<F, Fut>(count: usize, concurrency: usize, op: F) -> Result<(), String>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut tasks = JoinSet::new();
    for i in 0..count {
        let permit = permits.clone().acquire_owned().await.map_err(|e| e.to_string())?;
        let fut = op(i);
        tasks.spawn(async move {
            let out = fut.await;
            drop(permit);
            out
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| e.to_string())??;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: failed to run the benchmark: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let iam = aws_sdk_iam::Client::new(&config);
    let name = |i: usize| format!("{}-role-{i:04}", args.prefix);

    let start = Instant::now();
    run_all(args.count, args.concurrency, |i| {
        let (iam, role) = (iam.clone(), name(i));
        async move {
            iam.create_role().role_name(&role).assume_role_policy_document(TRUST).send().await.map_err(|e| format!("CreateRole {role}: {e:?}"))?;
            iam.put_role_policy().role_name(&role).policy_name("read-data").policy_document(POLICY).send().await.map_err(|e| format!("PutRolePolicy {role}: {e:?}"))?;
            Ok(())
        }
    })
    .await?;
    let create = start.elapsed().as_secs_f64();

    let start = Instant::now();
    run_all(args.count, args.concurrency, |i| {
        let (iam, role) = (iam.clone(), name(i));
        async move {
            iam.delete_role_policy().role_name(&role).policy_name("read-data").send().await.map_err(|e| format!("DeleteRolePolicy {role}: {e:?}"))?;
            iam.delete_role().role_name(&role).send().await.map_err(|e| format!("DeleteRole {role}: {e:?}"))?;
            Ok(())
        }
    })
    .await?;
    let delete = start.elapsed().as_secs_f64();

    println!(
        "{}",
        serde_json::json!({
            "roles": args.count,
            "concurrency": args.concurrency,
            "create_seconds": (create * 1000.0).round() / 1000.0,
            "delete_seconds": (delete * 1000.0).round() / 1000.0,
        })
    );
    Ok(())
}
