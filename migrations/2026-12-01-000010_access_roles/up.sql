-- Least privilege. Two group roles (NOLOGIN) that login roles are made members of:
--   chatledger_app      reads and writes rows, and cannot change the schema;
--   chatledger_analyst  reads everything the reports and exports need, and writes nothing.
-- Roles belong to the whole server, not to one database, so they are created only when missing
-- (another database on the server may have created them already) and a concurrent creator is
-- tolerated. Creating them needs CREATEROLE; a migrator without it can run this once the roles
-- exist. An application then connects as, for example:
--   CREATE ROLE support_bot LOGIN PASSWORD '...' IN ROLE chatledger_app;
DO $$
BEGIN
    CREATE ROLE chatledger_app NOLOGIN;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END
$$;

DO $$
BEGIN
    CREATE ROLE chatledger_analyst NOLOGIN;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END
$$;

GRANT USAGE ON SCHEMA public TO chatledger_app, chatledger_analyst;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO chatledger_app;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO chatledger_analyst;

-- Tables that later migrations create get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO chatledger_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT ON TABLES TO chatledger_analyst;

-- The migration ledger is the migrator's: the application may not forge or erase its entries.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON __diesel_schema_migrations FROM chatledger_app;
