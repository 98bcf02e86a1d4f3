-- Lifecycle types: enspiral.proposal_state and enspiral.bucket_state as C
-- base types, their transition tables, ordering, hashing and casts.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default

-- the types are one byte, passed by value
SELECT t.oid::regtype, typlen, typbyval, typalign, typstorage
  FROM pg_type t WHERE t.oid IN ('enspiral.proposal_state'::regtype, 'enspiral.bucket_state'::regtype)
 ORDER BY 1;

-- every accepted literal, round-tripped through text
SELECT s::enspiral.proposal_state AS proposal, s::enspiral.proposal_state::text = s AS round_trip
  FROM unnest(ARRAY['draft', 'scheduled', 'open', 'closed', 'withdrawn']) s;
SELECT s::enspiral.bucket_state AS bucket, s::enspiral.bucket_state::text = s AS round_trip
  FROM unnest(ARRAY['idea', 'open', 'funded', 'completed', 'cancelled']) s;
SELECT pg_column_size('open'::enspiral.proposal_state) AS proposal_bytes,
       pg_column_size('funded'::enspiral.bucket_state) AS bucket_bytes;

-- refused literals: case, spaces, empty, other lifecycle's states, prefixes
SELECT 'Draft'::enspiral.proposal_state;
SELECT 'DRAFT'::enspiral.proposal_state;
SELECT ' draft'::enspiral.proposal_state;
SELECT 'draft '::enspiral.proposal_state;
SELECT ''::enspiral.proposal_state;
SELECT 'dra'::enspiral.proposal_state;
SELECT 'drafts'::enspiral.proposal_state;
SELECT 'idea'::enspiral.proposal_state;
SELECT 'funded'::enspiral.proposal_state;
SELECT 'Idea'::enspiral.bucket_state;
SELECT 'closed'::enspiral.bucket_state;
SELECT 'withdrawn'::enspiral.bucket_state;
SELECT E'open\n'::enspiral.bucket_state;
SELECT ''::enspiral.bucket_state;
-- systematically: every state name of both lifecycles, in every spelling
-- variant; a type accepts exactly its own five exact names
CREATE FUNCTION pg_temp.accepts(s text, typ regtype) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT %L::%s', s, typ);
    RETURN true;
EXCEPTION WHEN invalid_text_representation THEN
    RETURN false;
END $$;
CREATE TEMP TABLE spellings AS
SELECT n AS name, v AS variant, s
  FROM unnest('{draft,scheduled,open,closed,withdrawn,idea,funded,completed,cancelled}'::text[]) n,
       LATERAL (VALUES ('exact', n), ('upper', upper(n)), ('initcap', initcap(n)),
                       ('leading space', ' ' || n), ('trailing space', n || ' '),
                       ('tab', n || E'\t'), ('quoted', '"' || n || '"'),
                       ('prefix', left(n, -1)), ('longer', n || 's'), ('accent', n || 'é')) x(v, s);
SELECT t AS type, count(*) AS tried, count(*) FILTER (WHERE pg_temp.accepts(s, t)) AS accepted,
       string_agg(s, ',' ORDER BY s) FILTER (WHERE pg_temp.accepts(s, t)) AS accepted_spellings
  FROM spellings, unnest('{enspiral.proposal_state,enspiral.bucket_state}'::regtype[]) t
 GROUP BY t ORDER BY t::text;
-- the error code is 22P02 (invalid_text_representation)
DO $$
BEGIN
    PERFORM 'nope'::enspiral.proposal_state;
EXCEPTION WHEN invalid_text_representation THEN
    RAISE NOTICE 'proposal_state: %', SQLSTATE;
END $$;
DO $$
BEGIN
    PERFORM 'nope'::enspiral.bucket_state;
EXCEPTION WHEN invalid_text_representation THEN
    RAISE NOTICE 'bucket_state: %', SQLSTATE;
END $$;
-- NULL stays NULL
SELECT NULL::enspiral.proposal_state IS NULL AS null_in, enspiral.can_transition(NULL, 'open'::enspiral.proposal_state) IS NULL AS strict;

-- casts: to text by assignment, from text explicitly (an uncast text value is refused)
CREATE TEMP TABLE cast_check (t text, p enspiral.proposal_state);
INSERT INTO cast_check (t) VALUES ('closed'::enspiral.proposal_state);
INSERT INTO cast_check (p) SELECT 'open'::text::enspiral.proposal_state;
INSERT INTO cast_check (p) VALUES ('draft');
INSERT INTO cast_check (p) SELECT 'open'::text;
SELECT * FROM cast_check ORDER BY p NULLS FIRST;

-- binary round trip: send gives the name, recv reads it back
SELECT enspiral.proposal_state_send('scheduled') AS send_scheduled,
       enspiral.bucket_state_send('completed') AS send_completed;
-- (the file name carries the backend pid, so concurrent runs do not collide)
SELECT format('/tmp/enspiral_lifecycle_types_%s.bin', pg_backend_pid()) AS binfile \gset
COPY (SELECT s::enspiral.proposal_state AS p, b::enspiral.bucket_state AS b
        FROM unnest(ARRAY['draft', 'scheduled', 'open', 'closed', 'withdrawn'],
                    ARRAY['idea', 'open', 'funded', 'completed', 'cancelled']) u(s, b))
  TO :'binfile' WITH (FORMAT binary);
CREATE TEMP TABLE bin_copy (p enspiral.proposal_state, b enspiral.bucket_state);
COPY bin_copy FROM :'binfile' WITH (FORMAT binary);
SELECT * FROM bin_copy ORDER BY p;
-- proposal states read back as bucket states: names that are not bucket states are refused (22P03)
CREATE TEMP TABLE bin_wrong (b enspiral.bucket_state, p enspiral.proposal_state);
\set VERBOSITY terse
COPY bin_wrong FROM :'binfile' WITH (FORMAT binary);
\set VERBOSITY default

-- ordering follows the lifecycle, not the alphabet
SELECT s FROM unnest('{withdrawn,closed,open,scheduled,draft}'::enspiral.proposal_state[]) s ORDER BY s;
SELECT s FROM unnest('{cancelled,completed,funded,open,idea}'::enspiral.bucket_state[]) s ORDER BY s DESC;
SELECT 'draft'::enspiral.proposal_state < 'scheduled' AS lt, 'open'::enspiral.proposal_state <= 'open' AS le,
       'closed'::enspiral.proposal_state > 'open' AS gt, 'withdrawn'::enspiral.proposal_state >= 'draft' AS ge,
       'open'::enspiral.proposal_state = 'open' AS eq, 'open'::enspiral.proposal_state <> 'closed' AS ne;
SELECT 'idea'::enspiral.bucket_state > 'open' AS gt, 'cancelled'::enspiral.bucket_state = 'cancelled' AS eq;
-- operators are found with a pinned search_path (they live in pg_catalog)
SET search_path = pg_catalog, pg_temp;
SELECT 'open'::enspiral.bucket_state < 'funded' AS found;
RESET search_path;

-- btree index, DISTINCT, hash aggregation and hash join
CREATE TEMP TABLE items (id int, p enspiral.proposal_state, b enspiral.bucket_state);
INSERT INTO items
SELECT i, (ARRAY['draft', 'scheduled', 'open', 'closed', 'withdrawn'])[1 + i % 5]::enspiral.proposal_state,
          (ARRAY['idea', 'open', 'funded', 'completed', 'cancelled'])[1 + (i * 7) % 5]::enspiral.bucket_state
  FROM generate_series(1, 1000) i;
CREATE INDEX items_p ON items (p);
ANALYZE items;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM items WHERE p = 'open';
SELECT count(*) FROM items WHERE p = 'open';
SELECT count(*) FROM items WHERE p < 'open';
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT DISTINCT p FROM items ORDER BY p;
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT b, count(*) FROM items GROUP BY b;
SELECT b, count(*) FROM items GROUP BY b ORDER BY b;
RESET enable_sort;
SET enable_mergejoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM items a JOIN items c ON a.p = c.p;
SELECT count(*) FROM items a JOIN items c ON a.p = c.p;
RESET enable_mergejoin;
RESET enable_nestloop;
SET enable_hashjoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM items a JOIN items c ON a.b = c.b;
SELECT count(*) FROM items a JOIN items c ON a.b = c.b;
RESET enable_hashjoin;
RESET enable_nestloop;
-- hash index and hash partitioning
CREATE INDEX items_b_hash ON items USING hash (b);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM items WHERE b = 'funded';
SELECT count(*) FROM items WHERE b = 'funded';
RESET enable_seqscan;
CREATE TEMP TABLE parts (p enspiral.proposal_state) PARTITION BY HASH (p);
CREATE TEMP TABLE parts_0 PARTITION OF parts FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TEMP TABLE parts_1 PARTITION OF parts FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO parts SELECT p FROM items;
SELECT count(*) FROM parts;
SELECT count(DISTINCT tableoid) AS partitions_per_value FROM parts GROUP BY p ORDER BY p;

-- the transition tables, in full: every from x to
SELECT f AS "from", string_agg(CASE WHEN enspiral.can_transition(f, t) THEN t::text ELSE '-' END, ' ' ORDER BY t) AS "to: draft scheduled open closed withdrawn"
  FROM (SELECT '{draft,scheduled,open,closed,withdrawn}'::enspiral.proposal_state[] AS a) r,
       unnest(r.a) f, unnest(r.a) t
 GROUP BY f ORDER BY f;
SELECT f AS "from", string_agg(CASE WHEN enspiral.can_transition(f, t) THEN t::text ELSE '-' END, ' ' ORDER BY t) AS "to: idea open funded completed cancelled"
  FROM (SELECT '{idea,open,funded,completed,cancelled}'::enspiral.bucket_state[] AS a) r,
       unnest(r.a) f, unnest(r.a) t
 GROUP BY f ORDER BY f;
-- next states agree with can_transition, state by state
SELECT s, enspiral.next_states(s) FROM unnest('{draft,scheduled,open,closed,withdrawn}'::enspiral.proposal_state[]) s;
SELECT s, enspiral.next_states(s) FROM unnest('{idea,open,funded,completed,cancelled}'::enspiral.bucket_state[]) s;
SELECT pg_typeof(enspiral.next_states('draft'::enspiral.proposal_state)) AS proposal_array,
       pg_typeof(enspiral.next_states('idea'::enspiral.bucket_state)) AS bucket_array;
SELECT count(*) AS disagreements
  FROM unnest('{draft,scheduled,open,closed,withdrawn}'::enspiral.proposal_state[]) f,
       unnest('{draft,scheduled,open,closed,withdrawn}'::enspiral.proposal_state[]) t
 WHERE f <> t AND enspiral.can_transition(f, t) <> (t = ANY (enspiral.next_states(f)));

-- check_transition raises the shared error (NS010) with the object's name
SELECT enspiral.check_transition('draft'::enspiral.proposal_state, 'open', 'proposal 7');
SELECT enspiral.check_transition('open'::enspiral.proposal_state, 'open', 'proposal 7');
SELECT enspiral.check_transition('closed'::enspiral.proposal_state, 'draft', 'proposal 7');
SELECT enspiral.check_transition('withdrawn'::enspiral.proposal_state, 'open', 'proposal 7');
SELECT enspiral.check_transition('funded'::enspiral.bucket_state, 'open', 'bucket "Bikes"');
SELECT enspiral.check_transition('cancelled'::enspiral.bucket_state, 'funded');
SELECT enspiral.check_transition(NULL::enspiral.bucket_state, 'funded');
SELECT enspiral.check_transition('idea'::enspiral.bucket_state, NULL);
DO $$
BEGIN
    PERFORM enspiral.check_transition('completed'::enspiral.bucket_state, 'idea', 'bucket 1');
EXCEPTION WHEN SQLSTATE 'NS010' THEN
    RAISE NOTICE 'caught %', SQLSTATE;
END $$;

DROP TABLE cast_check, bin_copy, bin_wrong, items, parts, spellings;

-- every operator, operator class and family, and cast of the types is documented
SELECT o.oid::regoperator AS operator_without_comment
  FROM pg_operator o
 WHERE o.oprleft IN ('enspiral.proposal_state'::regtype, 'enspiral.bucket_state'::regtype)
   AND obj_description(o.oid, 'pg_operator') IS NULL;
SELECT c.opcname AS opclass_without_comment FROM pg_opclass c
 WHERE c.opcintype IN ('enspiral.proposal_state'::regtype, 'enspiral.bucket_state'::regtype)
   AND obj_description(c.oid, 'pg_opclass') IS NULL;
SELECT f.opfname AS opfamily_without_comment FROM pg_opfamily f
 WHERE f.opfnamespace = 'enspiral'::regnamespace AND obj_description(f.oid, 'pg_opfamily') IS NULL;
SELECT c.castsource::regtype, c.casttarget::regtype AS cast_without_comment FROM pg_cast c
 WHERE (c.castsource IN ('enspiral.proposal_state'::regtype, 'enspiral.bucket_state'::regtype)
     OR c.casttarget IN ('enspiral.proposal_state'::regtype, 'enspiral.bucket_state'::regtype))
   AND obj_description(c.oid, 'pg_cast') IS NULL;
SELECT t.tgname AS members_trigger_without_comment FROM pg_trigger t
 WHERE t.tgrelid = 'enspiral.members'::regclass
   AND NOT t.tgisinternal AND obj_description(t.oid, 'pg_trigger') IS NULL;
-- the operators belong to the extension (dropped with it)
SELECT count(*) AS operators_in_extension FROM pg_depend d
  JOIN pg_operator o ON d.classid = 'pg_operator'::regclass AND d.objid = o.oid
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'enspiral') AND d.deptype = 'e';
