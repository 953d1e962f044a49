//! The byte pump under the Redis fault proxies (`redis_faults::RedisTrip`,
//! `failover::Front`): relays one client connection to its server and back,
//! asking the proxy's rules about each chunk the client sends and about the
//! server's answers, and ends when either side closes or the rules say so.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What happens to a chunk the client sent.
pub enum Request {
    Forward,
    /// Forwarded, and nothing more is read from the client: the connection
    /// waits for the rules to end it.
    ForwardLast,
    /// Not forwarded; the connection ends.
    End,
}

/// What happens to the server's answers now.
pub enum Answer {
    Pass,
    /// Read and dropped: the client never gets them.
    Drop,
    /// Not read while so: they stay in the server's buffers.
    Hold,
    End,
}

/// Relays `inbound` to `outbound` and back until a side closes, a rule says
/// `End`, or `ended()` turns true (checked every 5 ms).
pub async fn relay(
    inbound: TcpStream,
    outbound: TcpStream,
    mut on_request: impl FnMut(&[u8]) -> Request,
    on_answer: impl Fn() -> Answer,
    ended: impl Fn() -> bool,
) {
    let (mut client_read, mut client_write) = inbound.into_split();
    let (mut server_read, mut server_write) = outbound.into_split();
    let requests = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let last = match on_request(&buf[..n]) {
                Request::End => return,
                Request::Forward => false,
                Request::ForwardLast => true,
            };
            if server_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
            if last {
                std::future::pending::<()>().await;
            }
        }
    };
    let answers = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            loop {
                match on_answer() {
                    Answer::Hold => tokio::time::sleep(Duration::from_millis(5)).await,
                    Answer::End => return,
                    Answer::Pass | Answer::Drop => break,
                }
            }
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            match on_answer() {
                Answer::End => return,
                Answer::Drop => {}
                Answer::Pass | Answer::Hold => {
                    if client_write.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    let cut = async {
        while !ended() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! { () = requests => {}, () = answers => {}, () = cut => {} }
}
