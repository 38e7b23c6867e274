//! Security groups on every hop, and the audit `stratus validate` runs on them.
//!
//! [`groups`] holds the rules (named groups with inbound allow rules, the case
//! study's defaults) and answers whether one connection is allowed; the world
//! asks it on every hop and drops what it denies. [`audit`] reads the same
//! rules without running anything and reports what is wider than least
//! privilege, what nothing can reach and which tier cannot reach what it needs.

pub mod attack;
pub mod audit;
pub mod groups;

pub use groups::{Cidr, Component, Group, PortRange, Rule, SecurityGroups, Source};
