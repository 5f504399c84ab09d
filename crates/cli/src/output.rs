//! Rendering report rows as a table, CSV or JSON.
//!
//! Every report row is `Serialize`; it is turned into a JSON object once, and the three formats
//! are drawn from that, so a report's field names are the same in every format and column order
//! follows the row type's field order.

use std::io::{self, IsTerminal, Write};

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

/// How `chatledger report` prints its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people (the default on a terminal).
    Table,
    /// Comma-separated values with a header line.
    Csv,
    /// A JSON array of objects (the default when stdout is not a terminal).
    Json,
}

impl Format {
    /// The format asked for, or the default for where stdout goes.
    pub fn or_default(asked: Option<Self>) -> Self {
        asked.unwrap_or(if io::stdout().is_terminal() {
            Self::Table
        } else {
            Self::Json
        })
    }
}

/// Writes `rows` to `out` in `format`.
pub fn write_rows<T: Serialize>(
    out: &mut impl Write,
    format: Format,
    rows: &[T],
) -> anyhow::Result<()> {
    write_rows_omitting(out, format, rows, &[])
}

/// Writes `rows` to `out` in `format`, leaving out the fields named in `omit` (the demo keeps
/// its tables narrow this way).
pub fn write_rows_omitting<T: Serialize>(
    out: &mut impl Write,
    format: Format,
    rows: &[T],
    omit: &[&str],
) -> anyhow::Result<()> {
    let mut objects: Vec<Value> = rows
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()
        .context("could not serialise the report")?;
    for object in objects.iter_mut().filter_map(Value::as_object_mut) {
        object.retain(|key, _| !omit.contains(&key.as_str()));
    }

    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &objects)?;
            writeln!(out)?;
        }
        Format::Csv => write_csv(out, &objects)?,
        Format::Table => write_table(out, &objects)?,
    }
    Ok(())
}

fn columns(objects: &[Value]) -> Vec<String> {
    objects
        .first()
        .and_then(Value::as_object)
        .map(|object| object.keys().cloned().collect())
        .unwrap_or_default()
}

/// A cell's text: strings bare, null empty, integers as they are, fractions to at most four
/// decimals, arrays and objects as compact JSON.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => match number.as_f64() {
            Some(float) if number.is_f64() => {
                let fixed = format!("{float:.4}");
                fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
            }
            _ => number.to_string(),
        },
        Some(other) => other.to_string(),
    }
}

fn write_csv(out: &mut impl Write, objects: &[Value]) -> anyhow::Result<()> {
    let columns = columns(objects);
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(&columns)?;
    for object in objects {
        writer.write_record(columns.iter().map(|column| cell(object.get(column))))?;
    }
    writer.flush()?;
    Ok(())
}

fn write_table(out: &mut impl Write, objects: &[Value]) -> anyhow::Result<()> {
    if objects.is_empty() {
        writeln!(out, "(no rows)")?;
        return Ok(());
    }
    let columns = columns(objects);
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(&columns);
    for object in objects {
        table.add_row(columns.iter().map(|column| cell(object.get(column))));
    }
    writeln!(out, "{table}")?;
    Ok(())
}
