//! Where Redis is: one server (`redis://`, `rediss://`, `unix://`), or the
//! primary that Redis Sentinel names (`redis+sentinel://`,
//! `rediss+sentinel://`). Read once from `REDIS_URL`.
//!
//! A Sentinel URL lists the sentinels and names the monitored master:
//!
//! ```text
//! redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/master-name[/db]
//! ```
//!
//! The port defaults to 26379. The user and password authenticate to the
//! Redis nodes and to the sentinels alike. `rediss+sentinel://` speaks TLS
//! to both, trusting `REDIS_CA_CERT` when set.

/// Default port of a Redis Sentinel.
pub const SENTINEL_PORT: u16 = 26379;

/// A parsed `REDIS_URL`.
#[derive(Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One server; the URL is handed to the `redis` crate as it is.
    Server(String),
    Sentinel(SentinelTarget),
}

/// The sentinels to ask and the master they monitor.
#[derive(Clone, PartialEq, Eq)]
pub struct SentinelTarget {
    pub sentinels: Vec<(String, u16)>,
    pub master: String,
    pub db: i64,
    pub username: Option<String>,
    pub password: Option<String>,
    pub tls: bool,
}

/// What is wrong with a `REDIS_URL`; never repeats the URL (it may hold a
/// password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("REDIS_URL: {0}")]
pub struct TargetError(String);

impl TargetError {
    /// What is wrong, without the setting's name.
    pub fn problem(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Server(_) => f.write_str("Server(..)"),
            Self::Sentinel(s) => f
                .debug_struct("Sentinel")
                .field("sentinels", &s.sentinels)
                .field("master", &s.master)
                .field("db", &s.db)
                .field("tls", &s.tls)
                .field("password", &s.password.is_some())
                .finish(),
        }
    }
}

impl RedisTarget {
    /// # Errors
    /// A URL of another scheme, or a Sentinel URL without sentinels, a
    /// master name, or with a bad port or database number.
    pub fn parse(url: &str) -> Result<Self, TargetError> {
        let bad = |why: &str| TargetError(why.to_owned());
        if ["redis://", "rediss://", "unix://"]
            .iter()
            .any(|s| url.starts_with(s))
        {
            return Ok(Self::Server(url.to_owned()));
        }
        let (tls, rest) = if let Some(rest) = url.strip_prefix("redis+sentinel://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("rediss+sentinel://") {
            (true, rest)
        } else {
            return Err(bad(
                "expected redis://host:port, rediss://…, unix://… or redis+sentinel://host:port,…/master-name",
            ));
        };
        let (auth, rest) = match rest.rsplit_once('@') {
            Some((auth, rest)) => (Some(auth), rest),
            None => (None, rest),
        };
        let (username, password) = match auth {
            None => (None, None),
            Some(auth) => {
                let (user, pass) = auth.split_once(':').unwrap_or((auth, ""));
                let decode = |s: &str| -> Result<Option<String>, TargetError> {
                    if s.is_empty() {
                        return Ok(None);
                    }
                    url::form_urlencoded::parse(format!("x={s}").as_bytes())
                        .next()
                        .map(|(_, v)| Some(v.into_owned()))
                        .ok_or_else(|| bad("the user or password is not URL-encoded"))
                };
                (decode(user)?, decode(pass)?)
            }
        };
        let (hosts, path) = rest.split_once('/').unwrap_or((rest, ""));
        let sentinels = hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(host_port)
            .collect::<Result<Vec<_>, _>>()?;
        if sentinels.is_empty() {
            return Err(bad(
                "a Sentinel URL names at least one sentinel (host:port)",
            ));
        }
        let mut parts = path.split('/').filter(|p| !p.is_empty());
        let master = parts
            .next()
            .ok_or_else(|| {
                bad("a Sentinel URL ends in /master-name (the name the sentinels monitor)")
            })?
            .to_owned();
        let db = match parts.next() {
            None => 0,
            Some(db) => db
                .parse::<i64>()
                .ok()
                .filter(|db| *db >= 0)
                .ok_or_else(|| bad("the database after the master name is a number"))?,
        };
        if parts.next().is_some() {
            return Err(bad("a Sentinel URL's path is /master-name[/db]"));
        }
        Ok(Self::Sentinel(SentinelTarget {
            sentinels,
            master,
            db,
            username,
            password,
            tls,
        }))
    }

    pub fn is_tls(&self) -> bool {
        match self {
            Self::Server(url) => url.starts_with("rediss://"),
            Self::Sentinel(s) => s.tls,
        }
    }

    pub fn is_sentinel(&self) -> bool {
        matches!(self, Self::Sentinel(_))
    }
}

/// `host[:port]`, `[v6]` or `[v6]:port`.
fn host_port(text: &str) -> Result<(String, u16), TargetError> {
    let bad = || {
        TargetError(format!(
            "a sentinel's address is host:port (got a malformed one of {} characters)",
            text.len()
        ))
    };
    let (host, port) = if let Some(v6) = text.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(bad)?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(bad()),
        }
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    let port = match port {
        None => SENTINEL_PORT,
        Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?,
    };
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_url_is_kept_as_it_is() {
        for url in [
            "redis://127.0.0.1:6379",
            "rediss://h:6380/2",
            "unix:///tmp/r.sock",
        ] {
            assert_eq!(
                RedisTarget::parse(url),
                Ok(RedisTarget::Server(url.to_owned()))
            );
        }
    }

    #[test]
    fn a_sentinel_url_names_the_sentinels_and_the_master() {
        let target = RedisTarget::parse(
            "redis+sentinel://:p%40ss@10.0.0.1:26380,10.0.0.2,[::1]:5000/billing/3",
        )
        .expect("valid");
        assert_eq!(
            target,
            RedisTarget::Sentinel(SentinelTarget {
                sentinels: vec![
                    ("10.0.0.1".into(), 26380),
                    ("10.0.0.2".into(), SENTINEL_PORT),
                    ("::1".into(), 5000)
                ],
                master: "billing".into(),
                db: 3,
                username: None,
                password: Some("p@ss".into()),
                tls: false,
            })
        );
        assert!(!format!("{target:?}").contains("p@ss"));
        let tls = RedisTarget::parse("rediss+sentinel://u:pw@s1:1/m").expect("valid");
        assert!(tls.is_tls() && tls.is_sentinel());
    }

    #[test]
    fn a_bad_sentinel_url_says_what_is_missing_without_the_password() {
        let cases = [
            ("redis+sentinel://:secret@h1,h2", "master-name"),
            ("redis+sentinel://:secret@/m", "at least one sentinel"),
            ("redis+sentinel://:secret@h1:0/m", "host:port"),
            ("redis+sentinel://:secret@h1:x/m", "host:port"),
            ("redis+sentinel://:secret@h1/m/x", "number"),
            ("redis+sentinel://:secret@h1/m/1/2", "/master-name[/db]"),
            ("http://secret@h1", "expected"),
        ];
        for (url, says) in cases {
            let text = RedisTarget::parse(url).expect_err(url).to_string();
            assert!(text.contains(says), "{url}: {text}");
            assert!(!text.contains("secret"), "{url}: {text}");
        }
    }
}
