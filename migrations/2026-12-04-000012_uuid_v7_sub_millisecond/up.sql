-- The first generator put random bits right after the millisecond, so the keys that one bulk
-- insert wrote within a millisecond (about 170 of them on a 2-core machine) reached the primary
-- key in random order: the right-most leaf split in the middle and stayed half empty, and a 5M-row
-- key index came out as large as one of random (v4) keys (docs/benchmarks.md, operation 7).
--
-- RFC 9562 (section 6.2, method 3) lets the 12 bits after the version (rand_a) carry a finer
-- clock. They now hold the fraction of the millisecond in steps of 1/4096, so that keys generated
-- at least a microsecond apart sort in the order they were generated; keys of the same
-- microsecond still differ in their 62 random bits.
--
-- PL/pgSQL, because the time is needed twice (its millisecond and its fraction) from one
-- reading of the clock; a SQL function with a FROM clause is not inlined and took 6.1 to 7.7 s
-- per million keys, against 2.8 to 3.7 s for this one and 2.0 s for the first generator. The
-- function without arguments is inlined into its callers as a call of this one.
CREATE FUNCTION uuid_generate_v7(at timestamptz) RETURNS uuid
LANGUAGE plpgsql
VOLATILE
PARALLEL SAFE
AS $$
DECLARE
    micros bigint := floor(extract(epoch FROM at) * 1000000);
BEGIN
    RETURN encode(
        overlay(
            uuid_send(gen_random_uuid())
            PLACING int8send(
                (micros / 1000) << 16
                | x'7000'::bigint
                | (micros % 1000) * 4096 / 1000
            )
            FROM 1 FOR 8
        ),
        'hex'
    )::uuid;
END
$$;

COMMENT ON FUNCTION uuid_generate_v7(timestamptz) IS
    'A version 7 UUID for the given time: 48 bits of Unix milliseconds, 12 bits of the fraction '
    'of the millisecond, then random bits.';

CREATE OR REPLACE FUNCTION uuid_generate_v7() RETURNS uuid
LANGUAGE sql
VOLATILE
PARALLEL SAFE
AS $$
    SELECT uuid_generate_v7(clock_timestamp())
$$;

COMMENT ON FUNCTION uuid_generate_v7() IS
    'A version 7 (time-ordered) UUID for now: 48 bits of Unix milliseconds, 12 bits of the '
    'fraction of the millisecond, then random bits.';
