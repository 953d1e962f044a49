//! The audit witness outside Redis (adapter): where the chain's heads are
//! published and read back, a file that is only ever appended to, or a
//! Slack channel (`AUDIT_WITNESS`). The record and its check are
//! `domain::trail::witness`'s; this file only writes and reads.

use crate::domain::trail::witness::{Published, WitnessHead, WitnessTarget};
use crate::domain::ChannelId;
use crate::slack::api::Message;
use crate::slack::{SlackApi, SlackError};
use std::io::Write;
use std::path::PathBuf;

/// A failed write or read of the witness; `Display` names the place and
/// what to check, the source says why.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("cannot append to the witness file {}: check that its directory exists and the bot may write there", .path.display())]
    Append {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the witness file {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot post the audit head in the witness channel {channel}: {}", .source.hint())]
    Post {
        channel: ChannelId,
        #[source]
        source: SlackError,
    },
    #[error("cannot read the witness channel {channel} (conversations.history: the bot needs channels:history, or groups:history for a private channel, and to be in the channel)")]
    History {
        channel: ChannelId,
        #[source]
        source: SlackError,
    },
    #[error("a Slack witness needs SLACK_BOT_TOKEN (the bot's xoxb- token)")]
    NoSlack,
    #[error("the task writing the witness file stopped")]
    Stopped,
}

/// Where heads go; cheap to clone.
#[derive(Clone)]
pub enum Witness {
    File(PathBuf),
    /// The client is boxed: it is ten times the size of a path.
    Slack {
        api: Box<SlackApi>,
        channel: ChannelId,
    },
}

impl Witness {
    /// # Errors
    /// [`WitnessError::NoSlack`] for a Slack target without a Slack client.
    pub fn new(target: &WitnessTarget, slack: Option<&SlackApi>) -> Result<Self, WitnessError> {
        match target {
            WitnessTarget::File(path) => Ok(Self::File(path.clone())),
            WitnessTarget::Slack(channel) => Ok(Self::Slack {
                api: Box::new(slack.ok_or(WitnessError::NoSlack)?.clone()),
                channel: channel.clone(),
            }),
        }
    }

    /// Checks at start-up that the file can be appended to (creating it
    /// when missing); a channel is checked by the first post.
    ///
    /// # Errors
    /// [`WitnessError::Append`].
    pub async fn check(&self) -> Result<(), WitnessError> {
        match self {
            Self::File(path) => append(path.clone(), None).await,
            Self::Slack { .. } => Ok(()),
        }
    }

    /// Publishes `head`: a line appended and flushed to disk, or a message.
    ///
    /// # Errors
    /// See [`WitnessError`].
    pub async fn publish(&self, head: &WitnessHead) -> Result<(), WitnessError> {
        match self {
            Self::File(path) => append(path.clone(), Some(head.to_line())).await,
            Self::Slack { api, channel } => api
                .post_message(channel, &Message::text(head.to_slack_text()), None)
                .await
                .map(|_| ())
                .map_err(|source| WitnessError::Post {
                    channel: channel.clone(),
                    source,
                }),
        }
    }

    /// Every record published: the file's lines (blank ones skipped), or
    /// every message of the channel that holds one (others are people's).
    ///
    /// # Errors
    /// See [`WitnessError`].
    pub async fn read_all(&self) -> Result<Vec<Published>, WitnessError> {
        match self {
            Self::File(path) => {
                let text = {
                    let path = path.clone();
                    tokio::task::spawn_blocking(move || std::fs::read_to_string(path))
                        .await
                        .map_err(|_| WitnessError::Stopped)?
                }
                .map_err(|source| WitnessError::Read {
                    path: path.clone(),
                    source,
                })?;
                Ok(text
                    .lines()
                    .enumerate()
                    .filter(|(_, line)| !line.trim().is_empty())
                    .map(|(i, line)| Published {
                        source: format!("line {} of {}", i + 1, path.display()),
                        record: WitnessHead::parse_line(line),
                    })
                    .collect())
            }
            Self::Slack { api, channel } => {
                let mut published = Vec::new();
                let mut cursor: Option<String> = None;
                loop {
                    let page = api
                        .channel_history(channel, cursor.as_deref())
                        .await
                        .map_err(|source| WitnessError::History {
                            channel: channel.clone(),
                            source,
                        })?;
                    published.extend(page.messages.iter().filter_map(|message| {
                        WitnessHead::from_slack_text(&message.text).map(|record| Published {
                            source: format!("message {} in {channel}", message.ts),
                            record,
                        })
                    }));
                    match page.next_cursor() {
                        Some(next) if cursor.as_deref() != Some(next) => {
                            cursor = Some(next.to_owned());
                        }
                        _ => break,
                    }
                }
                Ok(published)
            }
        }
    }
}

/// Opens `path` for appending (creating it), writes `line` and a newline in
/// one write, and flushes it to disk, off the async threads.
async fn append(path: PathBuf, line: Option<String>) -> Result<(), WitnessError> {
    let shown = path.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)?;
        if let Some(line) = line {
            file.write_all(format!("{line}\n").as_bytes())?;
            file.sync_data()?;
        }
        Ok(())
    })
    .await
    .map_err(|_| WitnessError::Stopped)?
    .map_err(|source| WitnessError::Append {
        path: shown,
        source,
    })
}
