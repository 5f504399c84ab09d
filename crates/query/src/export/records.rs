//! The JSON shape of each format's records, and the rules that decide whether a candidate
//! becomes one.
//!
//! Messages are written in the OpenAI chat shape that every supported tool reads:
//! `{"role", "content"}`, plus `tool_calls` (`[{"id", "type": "function", "function": {"name",
//! "arguments"}}]`, arguments as a JSON string) on assistant turns that call tools, and
//! `tool_call_id` on tool results. Every text that comes from a person or a model goes through
//! [`Redaction`] first.

use std::borrow::Cow;
use std::collections::BTreeSet;

use chatledger_schema::{FeedbackRating, MessageRole};
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use uuid::Uuid;

use super::page::{Chunk, ExportMessage, Feedback, PromptLabel, Retrieval};
use super::{ExportFormat, SkipReason};
use crate::redact::Redactor;

/// Redacts when a redactor is given, and passes text through when the caller opted out.
#[derive(Debug, Clone, Copy)]
pub(super) struct Redaction<'r>(pub(super) Option<&'r Redactor>);

impl Redaction<'_> {
    fn apply<'t>(self, text: &'t str) -> Cow<'t, str> {
        match self.0 {
            Some(redactor) => redactor.redact(text),
            None => Cow::Borrowed(text),
        }
    }
}

/// A message in the OpenAI chat shape.
#[derive(Debug, Serialize)]
pub(super) struct ChatMessage<'t> {
    role: MessageRole,
    content: Cow<'t, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<Vec<ToolCall>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'t str>,
}

impl<'t> ChatMessage<'t> {
    fn assistant(content: Cow<'t, str>, tool_calls: Option<Vec<ToolCall>>) -> Self {
        Self {
            role: MessageRole::Assistant,
            content,
            tool_calls,
            tool_call_id: None,
        }
    }
}

/// A tool call in the OpenAI shape.
#[derive(Debug, Serialize)]
struct ToolCall {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionCall,
}

#[derive(Debug, Serialize)]
struct FunctionCall {
    name: String,
    arguments: String,
}

/// A tool call as `messages.tool_calls` stores it.
#[derive(Debug, Deserialize)]
struct StoredToolCall {
    id: String,
    name: String,
    #[serde(default)]
    arguments: Value,
}

/// The stored tool calls in the OpenAI shape; `None` for no calls (an empty array included,
/// which OpenAI refuses), an error when they are not what the schema documents.
fn tool_calls_in_openai_shape(
    stored: Option<&Value>,
    redaction: Redaction<'_>,
) -> Result<Option<Vec<ToolCall>>, SkipReason> {
    let Some(stored) = stored else {
        return Ok(None);
    };
    let calls: Vec<StoredToolCall> =
        Vec::deserialize(stored).map_err(|_| SkipReason::MalformedToolCalls)?;
    if calls.is_empty() {
        return Ok(None);
    }

    let converted = calls
        .into_iter()
        .map(|call| {
            // OpenAI carries arguments as JSON text; a missing value means no arguments.
            let arguments = match call.arguments {
                Value::String(text) => text,
                Value::Null => "{}".to_owned(),
                other => other.to_string(),
            };
            let arguments = redaction.apply(&arguments).into_owned();
            ToolCall {
                id: call.id,
                kind: "function",
                function: FunctionCall {
                    name: call.name,
                    arguments,
                },
            }
        })
        .collect();
    Ok(Some(converted))
}

/// An earlier message in the OpenAI shape, serialised once however many later records of its
/// conversation include it, or why it cannot be written.
#[derive(Debug)]
pub(super) struct ContextEntry(Result<Box<RawValue>, SkipReason>);

impl ContextEntry {
    /// Serialises a converted message as the context of the answers after it.
    pub(super) fn of(converted: &Converted) -> Result<Self, serde_json::Error> {
        let entry = match converted {
            Ok(chat_message) => Ok(serde_json::value::to_raw_value(chat_message)?),
            Err(reason) => Err(*reason),
        };
        Ok(Self(entry))
    }
}

/// A message in the OpenAI shape, redacted, or why it cannot be written.
pub(super) type Converted<'m> = Result<ChatMessage<'m>, SkipReason>;

/// Converts and redacts `message` once: a candidate's own answer and, for the answers after
/// it, its place in their context.
pub(super) fn convert<'m>(message: &'m ExportMessage, redaction: Redaction<'_>) -> Converted<'m> {
    let tool_calls = tool_calls_in_openai_shape(message.tool_calls.as_ref(), redaction)?;
    Ok(ChatMessage {
        role: message.role,
        content: redaction.apply(&message.content),
        tool_calls,
        tool_call_id: message.tool_call_id.as_deref(),
    })
}

/// What one candidate's record is made from.
#[derive(Debug)]
pub(super) struct CandidateView<'p> {
    pub(super) candidate: &'p ExportMessage,
    /// The candidate's own answer, converted.
    pub(super) answer: &'p Converted<'p>,
    pub(super) prompt: Option<PromptLabel<'p>>,
    /// Every earlier message of the candidate's conversation, in position order.
    pub(super) earlier: &'p [ContextEntry],
    pub(super) feedback: &'p [Feedback],
    pub(super) retrievals: &'p [(Retrieval, Chunk)],
}

impl<'p> CandidateView<'p> {
    /// The view of `candidate` converted as `answer`, produced by `prompt`, after the
    /// `earlier` messages.
    pub(super) fn new(
        candidate: &'p ExportMessage,
        prompt: Option<PromptLabel<'p>>,
        answer: &'p Converted<'p>,
        earlier: &'p [ContextEntry],
    ) -> Self {
        Self {
            candidate,
            answer,
            prompt,
            earlier,
            feedback: &candidate.feedback,
            retrievals: &candidate.retrievals,
        }
    }

    /// The prompt context: the conversation's messages before the candidate, in written order.
    fn context(&self) -> Result<Vec<&'p RawValue>, SkipReason> {
        self.earlier
            .iter()
            .map(|entry| entry.0.as_deref().map_err(|reason| *reason))
            .collect()
    }

    /// The candidate's own answer in the OpenAI shape, redacted.
    fn original(&self) -> Result<&'p ChatMessage<'p>, SkipReason> {
        self.answer.as_ref().map_err(|reason| *reason)
    }

    /// The correction of the newest thumbs-down that has a non-blank one.
    fn newest_correction(&self) -> Option<&'p str> {
        self.feedback
            .iter()
            .rev()
            .filter(|row| row.rating == FeedbackRating::ThumbsDown)
            .filter_map(|row| row.correction.as_deref())
            .find(|correction| !correction.trim().is_empty())
    }

    fn ratings(&self) -> RatingCounts {
        let count = |rating| {
            self.feedback
                .iter()
                .filter(|row| row.rating == rating)
                .count()
        };
        RatingCounts {
            thumbs_up: count(FeedbackRating::ThumbsUp),
            thumbs_down: count(FeedbackRating::ThumbsDown),
            neutral: count(FeedbackRating::Neutral),
        }
    }
}

#[derive(Debug, Serialize)]
struct RatingCounts {
    thumbs_up: usize,
    thumbs_down: usize,
    neutral: usize,
}

/// Serialises as `{"messages": [...context, answer]}`.
#[derive(Debug)]
struct SftRecord<'a> {
    context: Vec<&'a RawValue>,
    answer: ChatMessage<'a>,
}

impl Serialize for SftRecord<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let messages = ContextThenAnswer {
            context: &self.context,
            answer: &self.answer,
        };
        let mut record = serializer.serialize_struct("SftRecord", 1)?;
        record.serialize_field("messages", &messages)?;
        record.end()
    }
}

/// The context followed by one more message, as one JSON array, without copying the context.
struct ContextThenAnswer<'a> {
    context: &'a [&'a RawValue],
    answer: &'a ChatMessage<'a>,
}

impl Serialize for ContextThenAnswer<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut messages = serializer.serialize_seq(Some(self.context.len() + 1))?;
        for earlier in self.context {
            messages.serialize_element(earlier)?;
        }
        messages.serialize_element(self.answer)?;
        messages.end()
    }
}

#[derive(Debug, Serialize)]
struct DpoInput<'a> {
    messages: Vec<&'a RawValue>,
}

#[derive(Debug, Serialize)]
struct DpoRecord<'a> {
    input: DpoInput<'a>,
    preferred_output: [ChatMessage<'a>; 1],
    non_preferred_output: [&'a ChatMessage<'a>; 1],
}

#[derive(Debug, Serialize)]
struct TrlRecord<'a> {
    prompt: Vec<&'a RawValue>,
    chosen: [ChatMessage<'a>; 1],
    rejected: [&'a ChatMessage<'a>; 1],
}

#[derive(Debug, Serialize)]
struct KtoRecord<'a> {
    prompt: Vec<&'a RawValue>,
    completion: [&'a ChatMessage<'a>; 1],
    label: bool,
}

#[derive(Debug, Serialize)]
struct LedgerRecord<'a> {
    message_id: Uuid,
    conversation_id: Uuid,
    prompt_name: Option<&'a str>,
    prompt_version: Option<i32>,
    model_name: Option<&'a str>,
    context: Vec<&'a RawValue>,
    content: &'a str,
    tool_calls: Option<&'a [ToolCall]>,
    ratings: RatingCounts,
    categories: BTreeSet<Cow<'a, str>>,
    corrections: Vec<Cow<'a, str>>,
    comments: Vec<Cow<'a, str>>,
    retrieved_chunks: Vec<RetrievedChunk<'a>>,
}

#[derive(Debug, Serialize)]
struct RetrievedChunk<'a> {
    rank: i32,
    score: f64,
    source_type: &'a str,
    source_id: &'a str,
    text: Cow<'a, str>,
}

/// Appends `view`'s record in `format` to `line` as one line of JSON, or says why it has none.
///
/// The rules, one reason per skipped candidate, checked in this order:
/// - sft, dpo, trl: the newest thumbs-down feedback with a non-blank correction supplies it;
///   without one the candidate is skipped as [`SkipReason::MissingCorrection`].
/// - kto: the label is `true` when thumbs-up outnumber thumbs-down and `false` when fewer;
///   a tie is [`SkipReason::TiedRatings`]. Neutral ratings do not count.
/// - every format but jsonl: an answer with no earlier message is [`SkipReason::NoEarlierContext`].
/// - every format: tool calls that cannot be written are [`SkipReason::MalformedToolCalls`].
pub(super) fn encode(
    format: ExportFormat,
    view: &CandidateView<'_>,
    redaction: Redaction<'_>,
    line: &mut Vec<u8>,
) -> Result<Outcome, serde_json::Error> {
    let record = match build(format, view, redaction) {
        Ok(record) => record,
        Err(reason) => return Ok(Outcome::Skipped(reason)),
    };
    record.write_to(line)?;
    line.push(b'\n');
    Ok(Outcome::Encoded)
}

/// What [`encode`] did with a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Its record is in the line buffer.
    Encoded,
    /// It makes no record, for this reason.
    Skipped(SkipReason),
}

/// A built record of any format, ready to serialise.
enum Record<'a> {
    Sft(SftRecord<'a>),
    Dpo(DpoRecord<'a>),
    Trl(TrlRecord<'a>),
    Kto(KtoRecord<'a>),
    Ledger(LedgerRecord<'a>),
}

impl Record<'_> {
    fn write_to(&self, line: &mut Vec<u8>) -> serde_json::Result<()> {
        match self {
            Self::Sft(record) => serde_json::to_writer(line, record),
            Self::Dpo(record) => serde_json::to_writer(line, record),
            Self::Trl(record) => serde_json::to_writer(line, record),
            Self::Kto(record) => serde_json::to_writer(line, record),
            Self::Ledger(record) => serde_json::to_writer(line, record),
        }
    }
}

fn build<'p>(
    format: ExportFormat,
    view: &CandidateView<'p>,
    redaction: Redaction<'_>,
) -> Result<Record<'p>, SkipReason> {
    let correction = match format {
        ExportFormat::OpenAiSft | ExportFormat::OpenAiDpo | ExportFormat::Trl => {
            let correction = view
                .newest_correction()
                .ok_or(SkipReason::MissingCorrection)?;
            Some(ChatMessage::assistant(redaction.apply(correction), None))
        }
        ExportFormat::Kto | ExportFormat::Jsonl => None,
    };
    let label = match format {
        ExportFormat::Kto => {
            let ratings = view.ratings();
            if ratings.thumbs_up == ratings.thumbs_down {
                return Err(SkipReason::TiedRatings);
            }
            ratings.thumbs_up > ratings.thumbs_down
        }
        _ => false,
    };
    let context = view.context()?;
    if format.needs_context() && context.is_empty() {
        return Err(SkipReason::NoEarlierContext);
    }
    let original = view.original()?;

    let record = match (format, correction) {
        (ExportFormat::OpenAiSft, Some(correction)) => Record::Sft(SftRecord {
            context,
            answer: correction,
        }),
        (ExportFormat::OpenAiDpo, Some(correction)) => Record::Dpo(DpoRecord {
            input: DpoInput { messages: context },
            preferred_output: [correction],
            non_preferred_output: [original],
        }),
        (ExportFormat::Trl, Some(correction)) => Record::Trl(TrlRecord {
            prompt: context,
            chosen: [correction],
            rejected: [original],
        }),
        (ExportFormat::Kto, _) => Record::Kto(KtoRecord {
            prompt: context,
            completion: [original],
            label,
        }),
        _ => Record::Ledger(ledger_record(view, context, original, redaction)),
    };
    Ok(record)
}

fn ledger_record<'p>(
    view: &CandidateView<'p>,
    context: Vec<&'p RawValue>,
    original: &'p ChatMessage<'p>,
    redaction: Redaction<'_>,
) -> LedgerRecord<'p> {
    let non_blank = |text: &&'p str| !text.trim().is_empty();
    let categories = view
        .feedback
        .iter()
        .flat_map(|row| row.categories.iter())
        .map(|category| redaction.apply(category))
        .collect();
    let corrections = view
        .feedback
        .iter()
        .filter_map(|row| row.correction.as_deref())
        .filter(non_blank)
        .map(|correction| redaction.apply(correction))
        .collect();
    let comments = view
        .feedback
        .iter()
        .filter_map(|row| row.comment.as_deref())
        .filter(non_blank)
        .map(|comment| redaction.apply(comment))
        .collect();
    let retrieved_chunks = view
        .retrievals
        .iter()
        .map(|(retrieval, chunk)| RetrievedChunk {
            rank: retrieval.rank,
            score: retrieval.score,
            source_type: &chunk.source_type,
            source_id: &chunk.source_id,
            text: redaction.apply(&chunk.chunk_text),
        })
        .collect();

    LedgerRecord {
        message_id: view.candidate.id,
        conversation_id: view.candidate.conversation_id,
        prompt_name: view.prompt.map(|prompt| prompt.name),
        prompt_version: view.prompt.map(|prompt| prompt.version),
        model_name: view.candidate.model_name.as_deref(),
        context,
        content: &original.content,
        tool_calls: original.tool_calls.as_deref(),
        ratings: view.ratings(),
        categories,
        corrections,
        comments,
        retrieved_chunks,
    }
}
