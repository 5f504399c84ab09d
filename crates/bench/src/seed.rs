//! Seeding a bench database set-wise, in SQL, so that ten million messages take minutes.
//!
//! This is seeding, not a measured path: `seed.sql` switches the session to
//! `session_replication_role = replica`, which skips the row triggers that number messages and
//! keep the conversation counters (and the foreign-key checks), and then sets those counters
//! with one `UPDATE … FROM (SELECT … GROUP BY conversation_id)`. Everything measured afterwards
//! goes through the triggers.

use std::time::Instant;

use crate::baseline;
use crate::scale::{MESSAGES_PER_CONVERSATION, Scale};

/// The seeding script; its sizes come from the session settings `bench.messages` and
/// `bench.per_conversation`.
const SEED_SQL: &str = include_str!("seed.sql");

/// Seeds `url` at `scale`, then vacuums and analyses it so that index-only scans and the
/// planner's estimates are what a settled database would have.
pub async fn seed(url: &str, scale: Scale) -> anyhow::Result<()> {
    let client = baseline::connect(url).await?;
    let started = Instant::now();

    client
        .batch_execute(&format!(
            "SET bench.messages = {}; SET bench.per_conversation = {};",
            scale.messages(),
            MESSAGES_PER_CONVERSATION
        ))
        .await?;
    client.batch_execute(SEED_SQL).await?;
    let seeded = started.elapsed();

    client.batch_execute("VACUUM (ANALYZE)").await?;
    eprintln!(
        "seeded {} messages in {:.1} s, vacuumed in {:.1} s",
        scale.messages(),
        seeded.as_secs_f64(),
        (started.elapsed() - seeded).as_secs_f64()
    );
    Ok(())
}

/// Whether `url` already holds a seeded ledger.
pub async fn is_seeded(url: &str) -> anyhow::Result<bool> {
    let client = baseline::connect(url).await?;
    let row = client
        .query_one(
            "SELECT to_regclass('public.messages') IS NOT NULL \
                AND EXISTS (SELECT FROM users WHERE external_id = 'bench-user-1')",
            &[],
        )
        .await;
    // A database without the schema fails the query; it is simply not seeded.
    Ok(row
        .ok()
        .and_then(|row| row.try_get::<_, bool>(0).ok())
        .unwrap_or(false))
}
