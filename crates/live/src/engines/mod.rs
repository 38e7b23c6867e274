//! The real engines that stand in for the model's data tier in live mode:
//! their shared process handling ([`proc`]) and Redis with Sentinel
//! ([`redis`]); PostgreSQL is [`crate::postgres`].

pub mod proc;
pub mod redis;
