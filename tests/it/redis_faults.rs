//! A Redis proxy that cuts Redis at an exact step of an approval: when a
//! command carrying a marker (e.g. `execution_intent`, the kind inside the
//! audit append) passes, it drops every connection and refuses new ones until
//! restored, either before that command reaches Redis or right after it did
//! (its answer lost). `helpers::RedisProxy` cuts on the test's word instead.

use crate::relay::{relay, Answer, Request};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// When the marker is seen: cut before forwarding the command, or after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trip {
    Before,
    After,
}

/// The marker to watch for, and when to cut.
type Armed = Arc<Mutex<Option<(Vec<u8>, Trip)>>>;

#[derive(Clone)]
pub struct RedisTrip {
    pub url: String,
    up: Arc<AtomicBool>,
    generation: Arc<AtomicU64>,
    armed: Armed,
}

impl RedisTrip {
    pub async fn start() -> Self {
        let target = crate::helpers::redis_url()
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Redis trip proxy");
        let port = listener.local_addr().expect("local addr").port();
        let proxy = Self {
            url: format!("redis://127.0.0.1:{port}"),
            up: Arc::new(AtomicBool::new(true)),
            generation: Arc::new(AtomicU64::new(0)),
            armed: Arc::new(Mutex::new(None)),
        };
        let shared = proxy.clone();
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !shared.up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let Ok(outbound) = TcpStream::connect(&target).await else {
                    continue;
                };
                tokio::spawn(shared.clone().pipe(inbound, outbound));
            }
        });
        proxy
    }

    /// Cuts Redis when a command containing `marker` passes.
    pub fn arm(&self, marker: &str, trip: Trip) {
        *self.armed.lock().expect("armed lock") = Some((marker.as_bytes().to_vec(), trip));
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    /// Whether the marker was seen and Redis cut.
    pub fn tripped(&self) -> bool {
        !self.up.load(Ordering::SeqCst)
    }

    /// Cuts Redis now (for hooks at other moments, e.g. in the Stripe proxy).
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    async fn pipe(self, inbound: TcpStream, outbound: TcpStream) {
        let born = self.generation.load(Ordering::SeqCst);
        let cut = || self.generation.load(Ordering::SeqCst) != born;
        // Set once the tripping command is forwarded: its answer is lost.
        let mute = AtomicBool::new(false);
        let on_request = |chunk: &[u8]| {
            let trip = {
                let mut armed = self.armed.lock().expect("armed lock");
                let hit = armed.as_ref().is_some_and(|(marker, _)| {
                    chunk.windows(marker.len()).any(|w| w == marker.as_slice())
                });
                if hit {
                    armed.take().map(|(_, trip)| trip)
                } else {
                    None
                }
            };
            match trip {
                None => Request::Forward,
                Some(Trip::Before) => {
                    self.cut();
                    Request::End
                }
                Some(Trip::After) => {
                    // Let Redis run it, then lose its answer.
                    mute.store(true, Ordering::SeqCst);
                    let proxy = self.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        proxy.cut();
                    });
                    Request::ForwardLast
                }
            }
        };
        // Once muted or cut, nothing more reaches the client.
        let on_answer = || {
            if cut() {
                Answer::End
            } else if mute.load(Ordering::SeqCst) {
                Answer::Drop
            } else {
                Answer::Pass
            }
        };
        relay(inbound, outbound, on_request, on_answer, cut).await;
    }
}
