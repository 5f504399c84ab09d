-- Set-wise seeding of a benchmark database. Seeding only, never a measured path: with
-- session_replication_role = replica the row triggers (positions, counters, the counter guard)
-- and the foreign-key checks are skipped, and the counters they would have kept are set at the
-- end with one UPDATE from the messages themselves; the copies and counts that the feedback
-- and statement-level triggers would have kept are written directly.
-- Parameters, as session settings: bench.messages (total) and bench.per_conversation.
SET session_replication_role = replica;

CREATE TEMP TABLE bench_params AS
SELECT current_setting('bench.messages')::bigint AS messages,
       current_setting('bench.per_conversation')::int AS per_conversation,
       greatest(1, current_setting('bench.messages')::bigint
                   / current_setting('bench.per_conversation')::int) AS conversations;

INSERT INTO users (external_id, display_name)
SELECT 'bench-user-' || n, 'Bench user ' || n
  FROM generate_series(1, (SELECT greatest(1, conversations / 10) FROM bench_params)) AS n;

CREATE TEMP TABLE bench_users AS
SELECT id, row_number() OVER (ORDER BY id) AS n FROM users;

-- Ten prompts of five versions each; the fifth is the active one.
INSERT INTO prompt_versions (name, version, template, variables, model_name, is_active)
SELECT 'bench-prompt-' || name_number, version,
       'Answer {{question}} as version ' || version || ' would.', '["question"]',
       'bench-model', version = 5
  FROM generate_series(1, 10) AS name_number, generate_series(1, 5) AS version;

CREATE TEMP TABLE bench_versions AS
SELECT id, row_number() OVER (ORDER BY name, version) - 1 AS n FROM prompt_versions;

INSERT INTO conversations (user_id, title, created_at, updated_at)
SELECT u.id, 'Conversation ' || c, now() - interval '90 days' + c * interval '1 minute',
       now() - interval '90 days' + c * interval '1 minute'
  FROM generate_series(1, (SELECT conversations FROM bench_params)) AS c
  JOIN bench_users AS u ON u.n = 1 + c % (SELECT count(*) FROM bench_users);

CREATE TEMP TABLE bench_conversations AS
SELECT id, user_id, created_at, row_number() OVER (ORDER BY id) AS n FROM conversations;

-- Odd positions are the user's, even ones the assistant's answers, each from one of the 50
-- prompt versions. A conversation starts every minute and takes a turn every minute, so about
-- a hundred run at once, and the rows are written in the order of their times, as a live
-- service writes them: a heap page holds messages of the conversations that were open
-- together. (Written conversation by conversation or position by position instead, each page
-- would hold one conversation, or one message of every conversation, neither of which a real
-- table looks like.)
INSERT INTO messages (id, conversation_id, position, role, content, token_count,
                      prompt_version_id, model_name, finish_reason, latency_ms, created_at)
SELECT uuid_generate_v7(), c.id, p,
       CASE WHEN p % 2 = 1 THEN 'user' ELSE 'assistant' END::message_role,
       repeat(md5(c.n || ':' || p), 3),
       10 + (c.n * 7 + p * 13) % 500,
       CASE WHEN p % 2 = 0 THEN v.id END,
       CASE WHEN p % 2 = 0 THEN 'bench-model' END,
       CASE WHEN p % 2 = 0 THEN 'stop' END,
       CASE WHEN p % 2 = 0 THEN 200 + (c.n * 11 + p) % 3000 END,
       c.created_at + p * interval '1 minute'
  FROM bench_conversations AS c
 CROSS JOIN generate_series(1, (SELECT per_conversation FROM bench_params)) AS p
  JOIN bench_versions AS v ON v.n = (c.n * 7 + p) % 50
 ORDER BY c.created_at + p * interval '1 minute', c.n;

-- Feedback on every tenth message (an assistant answer): 10% of all messages.
INSERT INTO feedback (message_id, user_id, rating, comment, correction, created_at,
                      prompt_version_id, conversation_id, message_position)
SELECT m.id, c.user_id,
       CASE WHEN (m.position / 10 + c.n) % 10 < 6 THEN 'thumbs_up'
            WHEN (m.position / 10 + c.n) % 10 < 9 THEN 'thumbs_down'
            ELSE 'neutral' END::feedback_rating,
       'bench comment',
       CASE WHEN (m.position / 10 + c.n) % 10 BETWEEN 6 AND 8 THEN 'A better answer.' END,
       m.created_at + interval '1 minute',
       m.prompt_version_id, m.conversation_id, m.position
  FROM messages AS m
  JOIN bench_conversations AS c ON c.id = m.conversation_id
 WHERE m.position % 10 = 0;

-- What the statement-level triggers on messages would have counted.
INSERT INTO prompt_version_stats (prompt_version_id, shard, messages)
SELECT prompt_version_id, 0, count(*)
  FROM messages
 WHERE prompt_version_id IS NOT NULL
 GROUP BY prompt_version_id;

UPDATE conversations AS c
   SET total_tokens = s.total_tokens,
       last_message_position = s.last_position,
       updated_at = s.last_created_at
  FROM (SELECT conversation_id, sum(coalesce(token_count, 0))::int AS total_tokens,
               max(position) AS last_position, max(created_at) AS last_created_at
          FROM messages GROUP BY conversation_id) AS s
 WHERE c.id = s.conversation_id;

SET session_replication_role = origin;
