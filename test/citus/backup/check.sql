-- What must be the same before the dump and after the restore
-- (tools/citus_backup.sh), for the groups 1 and 2: the ledger, the chain
-- and every recorded outcome verify, balances, bucket states and outcomes,
-- and the rows of every enspiral table that is dumped (count and digest).
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
SELECT 'ledger problems, group 1: ' || count(*) FROM enspiral.verify_ledger(1);
SELECT 'ledger problems, group 2: ' || count(*) FROM enspiral.verify_ledger(2);
SELECT 'chain problems, group 1: ' || count(*) FROM enspiral.verify_chain(1);
SELECT 'chain problems, group 2: ' || count(*) FROM enspiral.verify_chain(2);
SELECT pg_catalog.format('SELECT %L || count(*) FILTER (WHERE NOT matches) FROM enspiral.verify_outcome(%s)',
                         'outcome problems, proposal ' || proposal_id || ': ', proposal_id)
  FROM enspiral.outcomes WHERE group_id IN (1, 2) ORDER BY proposal_id
\gexec
SELECT 'outcome ' || proposal_id || ': ' || outcome::text
  FROM enspiral.outcomes WHERE group_id = 1 ORDER BY proposal_id;
SELECT pg_catalog.format('SELECT %L || b::text FROM enspiral.balances(%s, %s) b ORDER BY b::text',
                         'balance, round ' || round_id || ': ', group_id, round_id)
  FROM enspiral.rounds WHERE group_id IN (1, 2) ORDER BY round_id
\gexec
SELECT 'bucket ' || bucket_id || ': ' || state::text
  FROM enspiral.buckets WHERE group_id = 1 ORDER BY bucket_id;
SELECT pg_catalog.format('SELECT %L || count(*) || '' rows, '' || coalesce(md5(string_agg(t::text, E''\n'' ORDER BY t::text)), ''-'') FROM %s t',
                         c.relname || ': ', c.oid::regclass)
  FROM pg_catalog.pg_class c
 WHERE c.relnamespace = 'enspiral'::regnamespace AND c.relkind = 'r' AND c.relname !~ '_[0-9]+$'
   -- tables dumped empty by design (locks, the linker's place)
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e,
                          unnest(e.extconfig, e.extcondition) x (cfg, cond)
                    WHERE e.extname = 'enspiral' AND x.cfg = c.oid AND x.cond = 'WHERE false')
 ORDER BY c.relname
\gexec
