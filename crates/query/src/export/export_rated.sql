-- Where the messages rated as an export's format wants are, in (conversation, position) order,
-- listed from feedback alone, which carries each rated message's conversation and position
-- (migration 000013); joining feedback with messages instead read the whole messages table. A
-- message with several such ratings is listed as often (the client keeps one; letting the
-- server drop them took a hash of every row, about as long again as the sort). The batch that
-- reads a message decides whether it is an assistant answer, and so a candidate.
-- $1 the ratings that make an assistant answer a candidate (feedback_rating[]).
SELECT f.conversation_id, f.message_position AS position
  FROM feedback AS f
 WHERE f.rating = ANY ($1)
   AND f.conversation_id IS NOT NULL
 ORDER BY f.conversation_id, f.message_position
