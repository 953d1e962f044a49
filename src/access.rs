//! Who may see a customer's billing, and where (docs/PLAYBOOK.md's
//! guardrails; README "Who may see billing data"). Pure: the facts about the
//! user and the channel are Slack's (`users.info`, `conversations.info`,
//! `usergroups.users.list`, looked up and cached by the shell, never taken
//! from text a user typed); this module decides.
//!
//! - Always refused, whatever the settings: guests (single- and
//!   multi-channel), users of another organisation, and a channel shared
//!   with another organisation unless `BILLING_CHANNELS` lists it.
//! - `BILLING_OPERATORS` (user ids and user-group ids): who may look at
//!   billing at all. Unset: every full member of the workspace.
//! - `BILLING_CHANNELS`: where cards, drafts and reports may appear. Unset:
//!   any channel of this organisation. A direct message with the bot is
//!   always allowed to an operator: only they see it.

use crate::domain::{ChannelId, SlackUserId, UserGroupId};
use std::collections::BTreeSet;
use std::fmt;

/// The deployment's scope, read by `config` and handed in as values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessConfig {
    /// `None`: every full member of the workspace is an operator.
    pub operators: Option<Operators>,
    /// `None`: any channel not shared with another organisation.
    pub channels: Option<BTreeSet<ChannelId>>,
}

/// `BILLING_OPERATORS`: users named, and members of user groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Operators {
    pub users: BTreeSet<SlackUserId>,
    pub groups: Vec<UserGroupId>,
}

/// What Slack says about the person who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserFacts {
    /// A single- or multi-channel guest (`is_restricted`,
    /// `is_ultra_restricted`).
    pub guest: bool,
    /// Of another organisation (`is_stranger`, or another team than ours).
    pub other_org: bool,
}

/// What Slack says about where it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelFacts {
    /// Shared with another organisation (`is_ext_shared`, `is_shared`).
    pub shared: bool,
    /// A direct message with the bot (`is_im`).
    pub direct: bool,
}

/// Why someone may not see billing here; a stable code for the audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessRefusal {
    Guest,
    OtherOrganisation,
    NotOperator,
    SharedChannel,
    ChannelNotAllowed,
}

impl AccessRefusal {
    /// The audit's code (`access_refused.reason`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Guest => "guest",
            Self::OtherOrganisation => "other_organisation",
            Self::NotOperator => "not_operator",
            Self::SharedChannel => "shared_channel",
            Self::ChannelNotAllowed => "channel_not_allowed",
        }
    }
}

impl fmt::Display for AccessRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Guest => "guests cannot see customers' billing",
            Self::OtherOrganisation => {
                "people of another organisation cannot see this workspace's customers' billing"
            }
            Self::NotOperator => "you are not one of the billing operators (BILLING_OPERATORS)",
            Self::SharedChannel => {
                "this channel is shared with another organisation, so billing is never shown here"
            }
            Self::ChannelNotAllowed => "billing is not shown in this channel (BILLING_CHANNELS)",
        })
    }
}

/// Where an interaction happened, as far as the check needs it: a channel
/// with its facts, or nowhere (a modal's submission, whose card was checked
/// when it was opened).
pub type Place<'a> = Option<(&'a ChannelId, ChannelFacts)>;

/// Whether `user` may see billing in `place`: the guards that always hold
/// first, then the deployment's operators (`in_group`: Slack lists `user`
/// in one of the operator groups), then its channels.
///
/// # Errors
/// The first reason it may not.
pub fn check(
    config: &AccessConfig,
    user: &SlackUserId,
    facts: UserFacts,
    in_group: bool,
    place: Place<'_>,
) -> Result<(), AccessRefusal> {
    if facts.guest {
        return Err(AccessRefusal::Guest);
    }
    if facts.other_org {
        return Err(AccessRefusal::OtherOrganisation);
    }
    if let Some(operators) = &config.operators {
        if !operators.users.contains(user) && !in_group {
            return Err(AccessRefusal::NotOperator);
        }
    }
    let Some((channel, where_)) = place else {
        return Ok(());
    };
    let listed = config
        .channels
        .as_ref()
        .is_some_and(|channels| channels.contains(channel));
    if where_.direct || listed {
        return Ok(());
    }
    if where_.shared {
        return Err(AccessRefusal::SharedChannel);
    }
    if config.channels.is_some() {
        return Err(AccessRefusal::ChannelNotAllowed);
    }
    Ok(())
}

impl AccessConfig {
    /// Whether the check must ask Slack for user-group members.
    pub fn has_groups(&self) -> bool {
        self.operators
            .as_ref()
            .is_some_and(|o| !o.groups.is_empty())
    }

    /// The private answer to a refusal: why, and where to go instead.
    pub fn refusal_text(&self, refusal: &AccessRefusal) -> String {
        let mut text = format!("Not shown: {refusal}. Nothing was looked up or posted.");
        let go = match refusal {
            AccessRefusal::SharedChannel | AccessRefusal::ChannelNotAllowed => {
                self.channels.as_ref().map(|channels| {
                    let list: Vec<String> = channels.iter().map(|c| format!("<#{c}>")).collect();
                    format!(
                        " Use {}, or a direct message with the bot.",
                        list.join(", ")
                    )
                })
            }
            AccessRefusal::NotOperator => {
                Some(" Ask whoever runs the bot to add you to BILLING_OPERATORS.".to_owned())
            }
            _ => None,
        };
        text.push_str(&go.unwrap_or_default());
        text
    }

    /// Approvers who are surely not operators (named nowhere in
    /// `BILLING_OPERATORS`, which names no group they could be in): every
    /// click of theirs will be refused, so start-up says so.
    pub fn approvers_outside<'a>(&self, approvers: &'a [SlackUserId]) -> Vec<&'a SlackUserId> {
        match &self.operators {
            Some(operators) if operators.groups.is_empty() => approvers
                .iter()
                .filter(|a| !operators.users.contains(a))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Said at start-up and under `/billing help` for what is unset.
    pub fn warnings(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.operators.is_none() {
            out.push("BILLING_OPERATORS is unset, so every full member of the workspace may look up billing. Set it to the Slack user ids (U...) and user group ids (S...) of the billing operators");
        }
        if self.channels.is_none() {
            out.push("BILLING_CHANNELS is unset, so cards and reports may appear in any channel of this organisation the bot is in. Set it to the channel ids (C...) where billing may be shown");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> SlackUserId {
        SlackUserId::parse(id).expect("id")
    }
    fn channel(id: &str) -> ChannelId {
        ChannelId::parse(id).expect("id")
    }
    const MEMBER: UserFacts = UserFacts {
        guest: false,
        other_org: false,
    };
    const INTERNAL: ChannelFacts = ChannelFacts {
        shared: false,
        direct: false,
    };
    const SHARED: ChannelFacts = ChannelFacts {
        shared: true,
        direct: false,
    };
    const DIRECT: ChannelFacts = ChannelFacts {
        shared: false,
        direct: true,
    };

    #[test]
    fn guests_other_organisations_and_shared_channels_are_refused_whatever_is_set() {
        let open = AccessConfig::default();
        let ops = user("U0OPS0001");
        let billing = channel("C0BILLING1");
        let guest = UserFacts {
            guest: true,
            ..MEMBER
        };
        let stranger = UserFacts {
            other_org: true,
            ..MEMBER
        };
        assert_eq!(
            check(&open, &ops, MEMBER, false, Some((&billing, INTERNAL))),
            Ok(())
        );
        assert_eq!(
            check(&open, &ops, guest, false, Some((&billing, INTERNAL))),
            Err(AccessRefusal::Guest)
        );
        assert_eq!(
            check(&open, &ops, stranger, true, None),
            Err(AccessRefusal::OtherOrganisation)
        );
        assert_eq!(
            check(&open, &ops, MEMBER, false, Some((&billing, SHARED))),
            Err(AccessRefusal::SharedChannel)
        );
        // Listed explicitly, a shared channel is the deployer's choice.
        let listed = AccessConfig {
            channels: Some(BTreeSet::from([billing.clone()])),
            ..AccessConfig::default()
        };
        assert_eq!(
            check(&listed, &ops, MEMBER, false, Some((&billing, SHARED))),
            Ok(())
        );
        assert_eq!(
            check(&listed, &ops, guest, false, Some((&billing, SHARED))),
            Err(AccessRefusal::Guest)
        );
    }

    #[test]
    fn operators_and_channels_scope_who_and_where_and_a_direct_message_is_always_private() {
        let billing = channel("C0BILLING1");
        let general = channel("C0GENERAL1");
        let config = AccessConfig {
            operators: Some(Operators {
                users: BTreeSet::from([user("U0OPS0001")]),
                groups: vec![UserGroupId::parse("S0OPS0001").expect("group")],
            }),
            channels: Some(BTreeSet::from([billing.clone()])),
        };
        assert!(config.has_groups());
        assert_eq!(
            check(
                &config,
                &user("U0OPS0001"),
                MEMBER,
                false,
                Some((&billing, INTERNAL))
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &config,
                &user("U0GROUP01"),
                MEMBER,
                true,
                Some((&billing, INTERNAL))
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &config,
                &user("U0OTHER01"),
                MEMBER,
                false,
                Some((&billing, INTERNAL))
            ),
            Err(AccessRefusal::NotOperator)
        );
        assert_eq!(
            check(
                &config,
                &user("U0OPS0001"),
                MEMBER,
                false,
                Some((&general, INTERNAL))
            ),
            Err(AccessRefusal::ChannelNotAllowed)
        );
        let dm = channel("D0DIRECT01");
        assert_eq!(
            check(
                &config,
                &user("U0OPS0001"),
                MEMBER,
                false,
                Some((&dm, DIRECT))
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &config,
                &user("U0OTHER01"),
                MEMBER,
                false,
                Some((&dm, DIRECT))
            ),
            Err(AccessRefusal::NotOperator)
        );
        let text = config.refusal_text(&AccessRefusal::ChannelNotAllowed);
        assert!(text.contains("<#C0BILLING1>"), "{text}");
        assert!(config.warnings().is_empty());
        let approvers = [user("U0OPS0001"), user("U0APPROVE9")];
        assert!(
            config.approvers_outside(&approvers).is_empty(),
            "a group may hold them"
        );
        let named_only = AccessConfig {
            operators: Some(Operators {
                users: BTreeSet::from([user("U0OPS0001")]),
                groups: Vec::new(),
            }),
            channels: None,
        };
        assert_eq!(named_only.approvers_outside(&approvers), [&approvers[1]]);
        assert_eq!(AccessConfig::default().warnings().len(), 2);
    }
}
