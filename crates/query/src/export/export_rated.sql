-- The feedback of every rated message in (conversation, position) order, and each message's
-- feedback from oldest to newest, listed from feedback alone, which carries each rated message's
-- conversation and position (migration 000013); joining feedback with messages instead read the
-- whole messages table. Every rating is listed: the export keeps the messages that have one of
-- the ratings its format wants, and writes all of such a message's feedback into its record.
-- The batch that reads a message decides whether it is an assistant answer, and so a candidate.
SELECT f.conversation_id,
       f.message_position AS position,
       f.message_id,
       f.rating,
       f.comment,
       f.categories,
       f.correction
  FROM feedback AS f
 WHERE f.conversation_id IS NOT NULL
 ORDER BY f.conversation_id, f.message_position, f.created_at, f.id
