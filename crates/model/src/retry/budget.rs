//! A retry budget: every request pays `ratio` of a token into a bucket and
//! every retry takes a whole one, so retries stay at most `ratio` of
//! requests (plus the bucket's small reserve), however long an outage lasts.
//! The budget is shared by all clients, as the retry quota of an SDK is
//! shared by a process's calls (Finagle's RetryBudget and the AWS SDKs'
//! retry quota work this way).

/// Whole tokens the bucket holds at most, so a quiet hour cannot save up a storm.
pub const RESERVE: u64 = 10;

/// Tokens are counted in thousandths, so a ratio of 0.1 pays exactly ten
/// requests per retry (floating sums would drift below a whole token).
const MILLI: u64 = 1_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Budget {
    ratio: u64,
    tokens: u64,
    /// Retries refused for want of a token.
    pub denied: u64,
}

impl Budget {
    /// Retries at most `ratio` of requests (to the nearest thousandth).
    pub fn new(ratio: f64) -> Budget {
        Budget {
            ratio: (ratio * MILLI as f64).round() as u64,
            tokens: 0,
            denied: 0,
        }
    }

    /// A new request (its first attempt) pays in.
    pub fn deposit(&mut self) {
        self.tokens = (self.tokens + self.ratio).min((RESERVE * MILLI).max(self.ratio));
    }

    /// A retry asks for a token: true if it may go.
    pub fn withdraw(&mut self) -> bool {
        if self.tokens >= MILLI {
            self.tokens -= MILLI;
            true
        } else {
            self.denied += 1;
            false
        }
    }
}
