ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM chatledger_analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM chatledger_app;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM chatledger_app, chatledger_analyst;
REVOKE USAGE ON SCHEMA public FROM chatledger_app, chatledger_analyst;

-- The roles go only when no other database on the server still grants them anything.
DO $$
BEGIN
    DROP ROLE chatledger_analyst;
EXCEPTION WHEN dependent_objects_still_exist THEN
    NULL;
END
$$;

DO $$
BEGIN
    DROP ROLE chatledger_app;
EXCEPTION WHEN dependent_objects_still_exist THEN
    NULL;
END
$$;
