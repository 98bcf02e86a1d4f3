-- Reads a populated world (test/proof/world.sql) through the read API of
-- doc/application.md and checks it against the rules' own functions: run by
-- tools/upgrade.sh after ALTER EXTENSION UPDATE, so data written under an
-- earlier version is readable.  Prints one summary line; raises on any
-- error of a read function or any disagreement.
\set ON_ERROR_STOP 1
DO $$
DECLARE
    g record;
    p record;
    r record;
    n_groups int := 0;
    n_props int := 0;
    n_rounds int := 0;
    n_terms int := 0;
    bad text[] := '{}';
    o jsonb;
    v record;
BEGIN
    FOR g IN SELECT x.group_id FROM enspiral.groups x ORDER BY 1 LOOP
        n_groups := n_groups + 1;
        IF (SELECT count(*) FROM enspiral.members(g.group_id))
           <> (SELECT count(*) FROM enspiral.current_members c WHERE c.group_id = g.group_id) THEN
            bad := bad || format('group %s: members() differs from current_members', g.group_id);
        END IF;
        FOR p IN SELECT * FROM enspiral.proposals(g.group_id) LOOP
            n_props := n_props + 1;
            IF p.state IS DISTINCT FROM enspiral.proposal_state(p.proposal_id) THEN
                bad := bad || format('proposal %s: state %s, proposal_state %s', p.proposal_id, p.state,
                                     enspiral.proposal_state(p.proposal_id));
            END IF;
            IF p.state NOT IN ('draft', 'withdrawn') THEN
                o := enspiral.compute_outcome(p.proposal_id);
                IF (p.voted, p.electorate) IS DISTINCT FROM ((o ->> 'voted')::bigint, (o ->> 'electorate')::bigint) THEN
                    bad := bad || format('proposal %s: voted/electorate %s/%s, outcome %s/%s', p.proposal_id,
                                         p.voted, p.electorate, o ->> 'voted', o ->> 'electorate');
                END IF;
                IF p.electorate <> (SELECT count(*) FROM enspiral.voters(g.group_id, p.proposal_id)) THEN
                    bad := bad || format('proposal %s: voters() is not the electorate', p.proposal_id);
                END IF;
            END IF;
            IF p.state = 'closed' AND p.outcome IS DISTINCT FROM enspiral.outcome(p.proposal_id) THEN
                bad := bad || format('proposal %s: outcome differs from outcome()', p.proposal_id);
            END IF;
            IF p.state = 'closed' OR NOT (p.settings ->> 'hide_results')::boolean THEN
                PERFORM count(*) FROM enspiral.stances(g.group_id, p.proposal_id);
            END IF;
            PERFORM enspiral.ballot(g.group_id, p.proposal_id, m.member_id)
               FROM enspiral.members(g.group_id) m;
            FOR v IN SELECT * FROM enspiral.verify_outcome(p.proposal_id) LOOP
                IF v.matches IS DISTINCT FROM true AND NOT (v.matches IS NULL AND v.opening < 
                       (SELECT x.reopen_count FROM enspiral.proposals x
                         WHERE x.group_id = g.group_id AND x.proposal_id = p.proposal_id)) THEN
                    bad := bad || format('proposal %s opening %s: verify_outcome matches %s',
                                         p.proposal_id, v.opening, v.matches);
                END IF;
            END LOOP;
        END LOOP;
        FOR r IN SELECT * FROM enspiral.rounds(g.group_id) LOOP
            n_rounds := n_rounds + 1;
            IF r.state <> enspiral.round_state(g.group_id, r.round_id) THEN
                bad := bad || format('round %s: state differs from round_state()', r.round_id);
            END IF;
            IF EXISTS (SELECT 1 FROM enspiral.buckets(g.group_id, r.round_id) b
                        WHERE b.total <> enspiral.bucket_total(b.bucket_id)
                           OR b.state <> enspiral.bucket_state(b.bucket_id)) THEN
                bad := bad || format('round %s: buckets() differs from bucket_total/bucket_state', r.round_id);
            END IF;
            IF EXISTS (SELECT 1 FROM enspiral.balances(g.group_id, r.round_id) b
                        WHERE b.balance <> enspiral.balance(r.round_id, b.member_id)) THEN
                bad := bad || format('round %s: balances() differs from balance()', r.round_id);
            END IF;
            PERFORM count(*) FROM enspiral.contributions(g.group_id, r.round_id);
        END LOOP;
        n_terms := n_terms + (SELECT count(*) FROM enspiral.catalyst_terms(g.group_id));
    END LOOP;
    -- a proposal reopened under the earlier version (app_010.sql): reopened
    -- once more now, every opening with a known close time verifies
    FOR p IN SELECT x.group_id, x.proposal_id FROM enspiral.proposals x
              WHERE x.title = 'upgrade reopen' LOOP
        PERFORM enspiral.reopen_proposal(p.proposal_id, now() + interval '1 day');
        PERFORM enspiral.close_proposal(p.proposal_id);
        IF (SELECT array_agg(w.matches ORDER BY w.opening) FROM enspiral.verify_outcome(p.proposal_id) w)
           IS DISTINCT FROM ARRAY[NULL, true, true]::boolean[] THEN
            bad := bad || format('proposal %s reopened across the update: verify_outcome %s', p.proposal_id,
                                 (SELECT array_agg(w.matches ORDER BY w.opening)
                                    FROM enspiral.verify_outcome(p.proposal_id) w));
        END IF;
    END LOOP;
    IF cardinality(bad) > 0 THEN
        RAISE EXCEPTION 'read API disagrees with the rules: %', array_to_string(bad[1:10], '; ');
    END IF;
    RAISE NOTICE 'read API: % groups, % proposals, % rounds, % catalyst terms read, all consistent',
        n_groups, n_props, n_rounds, n_terms;
END
$$;
