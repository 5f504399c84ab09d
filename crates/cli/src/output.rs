//! Rendering report rows as a table, CSV or JSON.
