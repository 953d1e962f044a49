//! The processes under test: one Redis (`REDIS_URL`, or a private
//! `redis-server`), and three `billing-triage serve` replicas on fixed
//! ports sharing it under one `REDIS_PREFIX`, each of which can be
//! SIGKILLed and started again on its port.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

use crate::net::{free_port, Http};

/// The Redis of the run; a private one is stopped when dropped.
pub struct Redis {
    pub url: String,
    child: Option<Child>,
}

impl Redis {
    pub async fn start() -> anyhow::Result<Self> {
        if let Ok(url) = std::env::var("REDIS_URL") {
            println!("Redis: REDIS_URL={url} (each phase under its own REDIS_PREFIX)");
            return Ok(Self { url, child: None });
        }
        let port = free_port()?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context(
                "cannot start redis-server: install it (Debian/Ubuntu: `apt-get install redis-server`) \
                 or set REDIS_URL to a Redis this test may write to",
            )?;
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(&addr).await.is_err() {
            if Instant::now() > deadline {
                bail!("redis-server on {addr} did not answer within 10 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!("Redis: a private redis-server on {addr}, no persistence");
        Ok(Self {
            url: format!("redis://{addr}"),
            child: Some(child),
        })
    }

    /// CPU seconds the private redis-server used (none for `REDIS_URL`).
    pub fn cpu(&self) -> Option<f64> {
        cpu_secs(&self.child.as_ref()?.id()?.to_string())
    }
}

/// User + system CPU seconds of a process (`self` or a pid), at Linux's
/// usual 100 clock ticks a second; `None` without /proc.
pub fn cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the parenthesised name: utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// How to start a replica: the binary, its settings, where logs go.
#[derive(Clone)]
pub struct Recipe {
    pub bin: PathBuf,
    pub env: Vec<(&'static str, String)>,
    pub logs: PathBuf,
    pub phase: &'static str,
}

struct Replica {
    port: u16,
    child: Child,
    generation: u32,
}

/// Three (or `n`) replicas of `serve`.
pub struct Fleet {
    recipe: Recipe,
    replicas: Vec<Replica>,
    /// CPU seconds of the replicas killed so far.
    cpu_of_killed: f64,
}

impl Fleet {
    pub async fn start(recipe: Recipe, n: usize, client: &Http) -> anyhow::Result<Self> {
        let mut replicas = Vec::with_capacity(n);
        for i in 0..n {
            let port = free_port()?;
            replicas.push(Replica {
                port,
                child: spawn(&recipe, i, port, 0)?,
                generation: 0,
            });
        }
        let fleet = Self {
            recipe,
            replicas,
            cpu_of_killed: 0.0,
        };
        for i in 0..n {
            fleet.wait_ready(i, client).await?;
        }
        Ok(fleet)
    }

    /// `http://127.0.0.1:PORT` of each replica, in order.
    pub fn addrs(&self) -> Vec<String> {
        self.replicas
            .iter()
            .map(|r| format!("http://127.0.0.1:{}", r.port))
            .collect()
    }

    /// SIGKILLs replica `i` (no hand-over: its leases must run out) and
    /// starts it again on its port; returns how long until it was ready.
    pub async fn kill_and_restart(&mut self, i: usize, client: &Http) -> anyhow::Result<Duration> {
        let replica = &mut self.replicas[i];
        self.cpu_of_killed += replica
            .child
            .id()
            .and_then(|pid| cpu_secs(&pid.to_string()))
            .unwrap_or(0.0);
        replica
            .child
            .start_kill()
            .context("sending SIGKILL to a replica")?;
        replica.child.wait().await?;
        let started = Instant::now();
        replica.generation += 1;
        replica.child = spawn(&self.recipe, i, replica.port, replica.generation)?;
        self.wait_ready(i, client).await?;
        Ok(started.elapsed())
    }

    async fn wait_ready(&self, i: usize, client: &Http) -> anyhow::Result<()> {
        let url = format!("http://127.0.0.1:{}/readyz", self.replicas[i].port);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let req =
                hyper::Request::get(&url).body(http_body_util::Full::new(bytes::Bytes::new()))?;
            if let Ok(Ok(resp)) =
                tokio::time::timeout(Duration::from_secs(1), client.request(req)).await
            {
                if resp.status() == hyper::StatusCode::OK {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "replica {i} was not ready within 30 s; its log: {}",
                    log_path(&self.recipe, i, self.replicas[i].generation).display()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// CPU seconds every replica used since it started, the killed ones too.
    pub fn cpu(&self) -> f64 {
        self.cpu_of_killed
            + self
                .replicas
                .iter()
                .filter_map(|r| cpu_secs(&r.child.id()?.to_string()))
                .sum::<f64>()
    }

    /// `billing-triage audit verify` on the phase's prefix: passed, and
    /// its last line.
    pub async fn audit_verify(&self) -> anyhow::Result<(bool, String)> {
        let out = Command::new(&self.recipe.bin)
            .args(["audit", "verify"])
            .env_remove("SLACK_APP_TOKEN")
            .envs(self.recipe.env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("RUST_LOG", "error")
            .output()
            .await
            .context("running billing-triage audit verify")?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        Ok((out.status.success(), last.trim().to_owned()))
    }

    /// Warnings, errors and panics the replicas logged, over every
    /// generation, and where the logs are.
    pub fn log_summary(&self) -> String {
        let (mut warn, mut error, mut panics) = (0, 0, 0);
        for (i, r) in self.replicas.iter().enumerate() {
            for generation in 0..=r.generation {
                let text = std::fs::read_to_string(log_path(&self.recipe, i, generation))
                    .unwrap_or_default();
                warn += text.matches("WARN").count();
                error += text.matches("ERROR").count();
                panics += text.matches("panicked").count();
            }
        }
        format!(
            "{warn} WARN, {error} ERROR, {panics} panics logged; logs in {}",
            self.recipe.logs.display()
        )
    }

    /// Stops every replica (SIGKILL: the phase is over and checked).
    pub async fn stop(mut self) {
        for r in &mut self.replicas {
            let _ = r.child.start_kill();
            let _ = r.child.wait().await;
        }
    }
}

fn log_path(recipe: &Recipe, i: usize, generation: u32) -> PathBuf {
    recipe
        .logs
        .join(format!("{}-replica{i}-start{generation}.log", recipe.phase))
}

fn spawn(recipe: &Recipe, i: usize, port: u16, generation: u32) -> anyhow::Result<Child> {
    let log = log_path(recipe, i, generation);
    let out = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    Command::new(&recipe.bin)
        .arg("serve")
        .env_remove("SLACK_APP_TOKEN")
        .envs(recipe.env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .stdout(out.try_clone()?)
        .stderr(out)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {} serve", recipe.bin.display()))
}

/// The serve binary: `--serve-bin`, else the one Cargo built beside this
/// bench (same profile).
pub fn serve_bin(given: Option<&Path>) -> PathBuf {
    given.map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_billing-triage")),
        Path::to_path_buf,
    )
}
