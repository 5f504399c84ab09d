-- Every primary key is a time-ordered UUID (RFC 9562, version 7), so that inserts append to the
-- right edge of each B-tree instead of splitting pages at random. PostgreSQL 15 ships no v7
-- generator: this one takes gen_random_uuid()'s random bits, writes the Unix time in milliseconds
-- over the first 48 bits and turns the version nibble from 4 (0100) into 7 (0111).
CREATE FUNCTION uuid_generate_v7() RETURNS uuid
LANGUAGE sql
VOLATILE
PARALLEL SAFE
AS $$
    SELECT encode(
        set_bit(
            set_bit(
                overlay(
                    uuid_send(gen_random_uuid())
                    PLACING substring(
                        int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                        FROM 3
                    )
                    FROM 1 FOR 6
                ),
                52, 1
            ),
            53, 1
        ),
        'hex'
    )::uuid
$$;

COMMENT ON FUNCTION uuid_generate_v7() IS
    'A version 7 (time-ordered) UUID: 48 bits of Unix milliseconds, then random bits.';
