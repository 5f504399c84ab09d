DROP TABLE conversations;
DROP FUNCTION conversations_guard_counters();
