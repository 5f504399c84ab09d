//! The dataset formats an export can write, and which feedback makes a message a candidate for
//! each.

use std::fmt;
use std::str::FromStr;

use chatledger_schema::FeedbackRating;

/// A dataset format: one JSON object per line, in the shape a training tool reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// OpenAI supervised fine-tuning: the context, then the rater's correction as the assistant
    /// turn. One record per thumbs-down answer with a correction.
    OpenAiSft,
    /// OpenAI direct preference optimisation: the correction preferred over the original answer.
    OpenAiDpo,
    /// Hugging Face TRL conversational preference pairs: `prompt`, `chosen`, `rejected`.
    Trl,
    /// Hugging Face TRL unpaired preference (KTO): the original answer labelled good or bad.
    Kto,
    /// Every rated answer with its ids, prompt version, ratings, feedback and retrieved chunks;
    /// for audits and for pipelines of one's own.
    Jsonl,
}

impl ExportFormat {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [Self; 5] = [
        Self::OpenAiSft,
        Self::OpenAiDpo,
        Self::Trl,
        Self::Kto,
        Self::Jsonl,
    ];

    /// The name the CLI's `--format` takes, e.g. `openai-sft`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OpenAiSft => "openai-sft",
            Self::OpenAiDpo => "openai-dpo",
            Self::Trl => "trl",
            Self::Kto => "kto",
            Self::Jsonl => "jsonl",
        }
    }

    /// The ratings that make an assistant message a candidate: it needs at least one feedback
    /// row with one of them.
    pub(super) const fn candidate_ratings(self) -> &'static [FeedbackRating] {
        match self {
            Self::OpenAiSft | Self::OpenAiDpo | Self::Trl => &[FeedbackRating::ThumbsDown],
            Self::Kto => &[FeedbackRating::ThumbsUp, FeedbackRating::ThumbsDown],
            Self::Jsonl => &FeedbackRating::ALL,
        }
    }

    /// Whether a record needs at least one earlier message: a training example without a prompt
    /// teaches nothing, while the audit format keeps every rated answer.
    pub(super) const fn needs_context(self) -> bool {
        !matches!(self, Self::Jsonl)
    }

    /// Whether records carry the retrieved chunks, which costs one more query per page.
    pub(super) const fn includes_retrievals(self) -> bool {
        matches!(self, Self::Jsonl)
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A `--format` value that names no [`ExportFormat`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown export format {given:?}; expected one of openai-sft, openai-dpo, trl, kto, jsonl")]
pub struct UnknownFormat {
    /// What was given.
    pub given: String,
}

impl FromStr for ExportFormat {
    type Err = UnknownFormat;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|format| format.as_str() == name)
            .ok_or_else(|| UnknownFormat {
                given: name.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str() {
        for format in ExportFormat::ALL {
            assert_eq!(format.as_str().parse::<ExportFormat>(), Ok(format));
            assert_eq!(format.to_string(), format.as_str());
        }
        assert!("openai".parse::<ExportFormat>().is_err());
    }
}
