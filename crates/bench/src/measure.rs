//! Alternating the two clients of a comparison, so that a burst of noise on the shared machine
//! lands on both sides instead of on whichever ran second.

use std::time::{Duration, Instant};

use crate::stats::Samples;

/// How many times to run an operation: unmeasured warm-up rounds, then measured ones.
#[derive(Debug, Clone, Copy)]
pub struct Rounds {
    /// Rounds run on each side before measuring, to fill caches and prepare statements.
    pub warm_up: usize,
    /// Measured rounds on each side.
    pub measured: usize,
}

/// The latencies of both sides of one comparison.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Through chatledger.
    pub chatledger: Samples,
    /// Through the hand-written baseline.
    pub baseline: Samples,
}

/// Runs `chatledger` and `baseline` in turn (ABAB…, swapping who goes first every round) and
/// times each call.
pub async fn alternate(
    rounds: Rounds,
    mut chatledger: impl AsyncFnMut() -> anyhow::Result<()>,
    mut baseline: impl AsyncFnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Comparison> {
    for _ in 0..rounds.warm_up {
        chatledger().await?;
        baseline().await?;
    }

    let mut comparison = Comparison::default();
    for round in 0..rounds.measured {
        if round % 2 == 0 {
            comparison.chatledger.push(time(&mut chatledger).await?);
            comparison.baseline.push(time(&mut baseline).await?);
        } else {
            comparison.baseline.push(time(&mut baseline).await?);
            comparison.chatledger.push(time(&mut chatledger).await?);
        }
    }
    Ok(comparison)
}

/// How long one call of `operation` takes.
pub async fn time(
    operation: &mut impl AsyncFnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    operation().await?;
    Ok(started.elapsed())
}
