DROP FUNCTION uuid_generate_v7();
