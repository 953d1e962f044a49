//! Redis the way it is deployed with TLS: a real `redis-server` on a TLS
//! port whose certificate a private CA signed (made here with `openssl`),
//! trusted through `REDIS_CA_CERT`, and asking for a client certificate
//! (`REDIS_CLIENT_CERT` / `REDIS_CLIENT_KEY`).

use crate::helpers::*;
use billing_triage::config::{Config, RedisTls};
use billing_triage::store::Store;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Runs `openssl` with `args` in `dir`; panics, saying how to install it,
/// when it is missing or fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("openssl is needed for the TLS tests ({e}): apt-get install -y openssl")
        });
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate,
/// all signed by the CA, in a fresh directory.
fn certificates() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("redis-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=billing-triage test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    for (name, usage, san) in [
        (
            "server",
            "serverAuth",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ),
        ("client", "clientAuth", "subjectAltName=DNS:billing-triage"),
    ] {
        std::fs::write(
            dir.join(format!("{name}.ext")),
            format!("{san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage={usage}\n"),
        )
        .expect("ext file");
        openssl(
            &dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{name}.pem"),
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    }
    dir
}

/// A `redis-server` listening only on a TLS port with the server
/// certificate; killed on drop.
struct TlsRedis {
    port: u16,
    child: std::process::Child,
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn tls_redis(dir: &Path, auth_clients: bool) -> TlsRedis {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let file = |name: &str| dir.join(name).display().to_string();
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .args([
            "--tls-cert-file",
            &file("server.pem"),
            "--tls-key-file",
            &file("server.key"),
        ])
        .args(["--tls-ca-cert-file", &file("ca.pem")])
        .args([
            "--tls-auth-clients",
            if auth_clients { "yes" } else { "no" },
        ])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server starts (bash scripts/dev test installs it)");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return TlsRedis { port, child };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("redis-server with TLS did not listen on {port} (is it built with TLS?)");
}

fn pem(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).expect("PEM file")
}

#[tokio::test]
async fn a_redis_with_a_private_ca_is_trusted_only_through_redis_ca_cert() {
    let dir = certificates();
    let redis = tls_redis(&dir, false).await;
    let url = format!("rediss://127.0.0.1:{}", redis.port);

    let public_roots = Store::new(&url, "tls:").expect("client");
    let refused = public_roots
        .ping()
        .await
        .expect_err("the private CA is not a public root");
    println!("without REDIS_CA_CERT: {refused}");

    let tls = RedisTls {
        ca_cert: Some(pem(&dir, "ca.pem")),
        client: None,
    };
    let store = Store::connect(&url, &format!("{}:", unique_prefix()), &tls).expect("client");
    store.ping().await.expect("trusted through REDIS_CA_CERT");
    assert!(store
        .claim_delivery("tls-check", 60)
        .await
        .expect("a write"));
    assert!(
        format!("{tls:?}").contains("ca_cert: true"),
        "Debug names no bytes"
    );
}

#[tokio::test]
async fn a_redis_asking_for_a_client_certificate_gets_redis_client_cert() {
    let dir = certificates();
    let redis = tls_redis(&dir, true).await;
    let url = format!("rediss://127.0.0.1:{}", redis.port);
    let ca_only = RedisTls {
        ca_cert: Some(pem(&dir, "ca.pem")),
        client: None,
    };
    let store = Store::connect(&url, "tls:", &ca_only).expect("client");
    assert!(
        store.ping().await.is_err(),
        "no client certificate, no session"
    );

    let with_client = RedisTls {
        client: Some((pem(&dir, "client.pem"), pem(&dir, "client.key"))),
        ..ca_only
    };
    let store = Store::connect(&url, "tls:", &with_client).expect("client");
    store.ping().await.expect("the client certificate is shown");
    assert!(
        !format!("{with_client:?}").contains("PRIVATE"),
        "Debug never prints the key"
    );

    // The settings, read as the bot reads them.
    let file = |name: &str| dir.join(name).display().to_string();
    let slack = SlackStandIn::start().await;
    let mut vars = test_env(&slack);
    vars.insert("REDIS_URL", url.clone());
    vars.insert("REDIS_CA_CERT", file("ca.pem"));
    vars.insert("REDIS_CLIENT_CERT", file("client.pem"));
    vars.insert("REDIS_CLIENT_KEY", file("client.key"));
    let config = Config::from_lookup(|name| vars.get(name).cloned(), true).expect("valid");
    assert_eq!(config.redis_tls, with_client);
    vars.remove("REDIS_CLIENT_KEY");
    let e = Config::from_lookup(|name| vars.get(name).cloned(), true).expect_err("half a pair");
    assert_eq!(e.name, "REDIS_CLIENT_CERT");
    vars.insert("REDIS_URL", format!("redis://127.0.0.1:{}", redis.port));
    vars.insert("REDIS_CLIENT_KEY", file("client.key"));
    let e = Config::from_lookup(|name| vars.get(name).cloned(), true).expect_err("not TLS");
    assert_eq!(e.name, "REDIS_CA_CERT");
    vars.insert("REDIS_CA_CERT", file("server.key"));
    let e = Config::from_lookup(|name| vars.get(name).cloned(), true).expect_err("not a cert");
    assert_eq!(e.name, "REDIS_CA_CERT");
    let _ = std::fs::remove_dir_all(&dir);
}
