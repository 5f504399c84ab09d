//! The sizes a run works at. Every figure the runner prints is labelled with its scale, so that
//! a figure from `smoke` (which exists only to keep the runner from rotting) is never mistaken
//! for a measurement.

use clap::ValueEnum;

use crate::measure::Rounds;

/// How big the seeded database is, and how often each operation is repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scale {
    /// Tiny data, few rounds: finishes in seconds; for CI.
    Smoke,
    /// 100 000 messages.
    #[value(name = "100k")]
    HundredThousand,
    /// 1 000 000 messages.
    #[value(name = "1m")]
    OneMillion,
    /// 10 000 000 messages.
    #[value(name = "10m")]
    TenMillion,
}

/// Messages per seeded conversation: odd positions are the user's, even ones the answers.
pub const MESSAGES_PER_CONVERSATION: u32 = 100;

impl Scale {
    /// The label in the table and in the database name.
    pub fn label(self) -> &'static str {
        match self {
            Self::Smoke => "smoke",
            Self::HundredThousand => "100k",
            Self::OneMillion => "1m",
            Self::TenMillion => "10m",
        }
    }

    /// Messages seeded; feedback goes on a tenth of them.
    pub fn messages(self) -> u64 {
        match self {
            Self::Smoke => 2_000,
            Self::HundredThousand => 100_000,
            Self::OneMillion => 1_000_000,
            Self::TenMillion => 10_000_000,
        }
    }

    /// Rounds of the point operations (append, prompt lookup, history page).
    pub fn point_rounds(self) -> Rounds {
        match self {
            Self::Smoke => Rounds {
                warm_up: 5,
                measured: 20,
            },
            _ => Rounds {
                warm_up: 100,
                measured: 1_000,
            },
        }
    }

    /// Rounds of the prompt-feedback report.
    pub fn report_rounds(self) -> Rounds {
        match self {
            Self::Smoke => Rounds {
                warm_up: 1,
                measured: 5,
            },
            Self::HundredThousand => Rounds {
                warm_up: 2,
                measured: 20,
            },
            Self::OneMillion => Rounds {
                warm_up: 2,
                measured: 10,
            },
            Self::TenMillion => Rounds {
                warm_up: 1,
                measured: 5,
            },
        }
    }

    /// Messages written per round of the bulk ingest.
    pub fn bulk_messages(self) -> u32 {
        match self {
            Self::Smoke => 1_000,
            _ => 100_000,
        }
    }

    /// Measured rounds of the bulk ingest, per contender.
    pub fn bulk_rounds(self) -> usize {
        3
    }

    /// Rows per table in the key-order experiment.
    pub fn key_rows(self) -> u64 {
        match self {
            Self::Smoke => 10_000,
            Self::HundredThousand => 100_000,
            Self::OneMillion | Self::TenMillion => 5_000_000,
        }
    }
}
