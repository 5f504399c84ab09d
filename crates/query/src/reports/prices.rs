//! The price table that turns token counts into money for the `token_usage` report.
//!
//! No price is built in: prices change and differ by contract, so the caller keeps them in a
//! JSON file and a model missing from it simply has no cost.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What one model costs, per 1000 tokens, in whatever currency the file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// Price of 1000 tokens that go into the model: system, user and tool messages.
    pub input_per_1k: f64,
    /// Price of 1000 tokens that the model writes: assistant messages.
    pub output_per_1k: f64,
}

/// Prices by model name, read from a JSON object such as
/// `{"gpt-4o": {"input_per_1k": 0.0025, "output_per_1k": 0.01}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct PriceTable {
    prices: BTreeMap<String, ModelPrice>,
}

/// Why a price table could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PriceTableError {
    /// The file could not be read.
    #[error("cannot read the price file {}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// The file is not a JSON object of model prices.
    #[error(
        "the price file {} is not a JSON object of {{model: {{input_per_1k, output_per_1k}}}}",
        path.display()
    )]
    Malformed {
        /// The file, or `<text>` when parsed from a string.
        path: PathBuf,
        /// Where and why parsing stopped.
        #[source]
        source: serde_json::Error,
    },

    /// A price below zero (or not a number), which can only be a typing mistake.
    #[error("the price file gives model `{model}` a {field} of {price}, which is not a price")]
    InvalidPrice {
        /// The model.
        model: String,
        /// `input_per_1k` or `output_per_1k`.
        field: &'static str,
        /// The value given.
        price: f64,
    },
}

impl PriceTable {
    /// Loads the table from a JSON file.
    pub fn from_json_file(path: &Path) -> Result<Self, PriceTableError> {
        let text = std::fs::read_to_string(path).map_err(|source| PriceTableError::Unreadable {
            path: path.to_owned(),
            source,
        })?;

        Self::parse(&text, path)
    }

    /// Reads the table from JSON text.
    pub fn from_json_str(text: &str) -> Result<Self, PriceTableError> {
        Self::parse(text, Path::new("<text>"))
    }

    fn parse(text: &str, path: &Path) -> Result<Self, PriceTableError> {
        let prices: BTreeMap<String, ModelPrice> =
            serde_json::from_str(text).map_err(|source| PriceTableError::Malformed {
                path: path.to_owned(),
                source,
            })?;

        for (model, price) in &prices {
            for (field, value) in [
                ("input_per_1k", price.input_per_1k),
                ("output_per_1k", price.output_per_1k),
            ] {
                if !value.is_finite() || value < 0.0 {
                    return Err(PriceTableError::InvalidPrice {
                        model: model.clone(),
                        field,
                        price: value,
                    });
                }
            }
        }

        Ok(Self { prices })
    }

    /// The price of `model`, if the table has one.
    pub fn price(&self, model: &str) -> Option<ModelPrice> {
        self.prices.get(model).copied()
    }

    /// The cost of `input_tokens` and `output_tokens` of `model`; `None` without a price.
    pub fn cost(&self, model: &str, input_tokens: i64, output_tokens: i64) -> Option<f64> {
        let price = self.price(model)?;
        Some(
            input_tokens as f64 / 1000.0 * price.input_per_1k
                + output_tokens as f64 / 1000.0 * price.output_per_1k,
        )
    }
}
