//! What attackers try and how their attempts ended: the vocabulary the
//! simulation's attackers and the report's `security` section share.

use serde::Serialize;

/// What an attacker tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attack {
    Tamper,
    Replay,
    Forge,
    DirectDatabase,
    DirectStore,
}

impl Attack {
    pub const ALL: [Attack; 5] = [
        Attack::Tamper,
        Attack::Replay,
        Attack::Forge,
        Attack::DirectDatabase,
        Attack::DirectStore,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Attack::Tamper => "tamper",
            Attack::Replay => "replay",
            Attack::Forge => "forge",
            Attack::DirectDatabase => "direct_database",
            Attack::DirectStore => "direct_store",
        }
    }
}

/// Attempts of one kind and how they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Tally {
    pub attempts: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub undelivered: u64,
}
