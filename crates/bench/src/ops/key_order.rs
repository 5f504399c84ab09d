//! Operation 7: the evidence for time-ordered keys. Two tables that differ only in how their
//! uuid primary key is made, filled with the same number of rows in one statement each: the
//! rate of the insert and the size of the key's index.

use std::time::Instant;

use super::Context;
use crate::baseline;
use crate::table::Row;

/// Fills a table keyed by `generator` with `rows` rows; returns rows per second and the size of
/// its primary-key index in bytes.
async fn fill(
    client: &tokio_postgres::Client,
    table: &str,
    generator: &str,
    rows: u64,
) -> anyhow::Result<(f64, i64)> {
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id uuid PRIMARY KEY, payload text NOT NULL);"
        ))
        .await?;

    let started = Instant::now();
    client
        .batch_execute(&format!(
            "INSERT INTO {table} (id, payload) SELECT {generator}, 'payload ' || n FROM generate_series(1, {rows}) AS n"
        ))
        .await?;
    let elapsed = started.elapsed().as_secs_f64();

    let size: i64 = client
        .query_one(
            "SELECT pg_relation_size(to_regclass($1))",
            &[&format!("{table}_pkey")],
        )
        .await?
        .try_get(0)?;
    client.batch_execute(&format!("DROP TABLE {table}")).await?;
    Ok((rows as f64 / elapsed, size))
}

/// Random keys first, so that the time-ordered ones do not start with the other's cache.
pub async fn run(context: &Context) -> anyhow::Result<Vec<Row>> {
    let client = baseline::connect(&context.url).await?;
    let rows = context.scale.key_rows();
    let scale = context.scale.label();

    let (random_rate, random_size) =
        fill(&client, "bench_keys_v4", "gen_random_uuid()", rows).await?;
    let (ordered_rate, ordered_size) =
        fill(&client, "bench_keys_v7", "uuid_generate_v7()", rows).await?;

    let rate = Row::throughput(
        format!("insert {rows} rows: v7 keys vs v4 keys"),
        scale,
        ordered_rate,
        Some(random_rate),
        "rows",
    )
    .with_target("evidence (v7 / v4 rate)", None);
    let size = Row::figure(
        format!("pkey index size: v7 vs v4 ({rows} rows)"),
        scale,
        format!("{:.1} MiB", ordered_size as f64 / 1_048_576.0),
        format!("{:.1} MiB", random_size as f64 / 1_048_576.0),
    )
    .with_target("evidence", None);
    Ok(vec![rate, size])
}
