//! The dataset export end to end: each format's exact records, the prompt context, which answers
//! qualify, redaction, progress, and the atomic file write, each test on a database of its own.

mod context;
mod file;
mod progress;
mod redaction;
mod selection;
mod shapes;
mod support;
