-- enspiral.quadratic_match options: connection-oriented cluster matching
-- (COCM), its blend with QF (pct_cocm), trust weights, min_contribution and
-- self-funding exclusion.  Hand-checked against the definition of Miller,
-- Weyl and Erichsen as Gitcoin's qf-calculator (fundingutils.py, COCM
-- 'markov', harsh) computes it; see doc/matching.md.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;

-- The 3-project example.  Contributors 10..13, projects 1..3:
--   10 gives 4 to 1;  11 gives 4 to 1 and 4 to 2;
--   12 gives 4 to 2 and 4 to 3;  13 gives 1 to 3.
-- QF ideals: (sum sqrt c)^2 - sum c: p1 = (2+2)^2 - 8 = 8, p2 = 8,
-- p3 = (2+1)^2 - 5 = 4; total 20.
-- COCM, clusters derived from who funds what (cluster g = donors of project
-- g, strength = amount):
--   N (a contributor's weight across its clusters): 10 {1:1},
--   11 {1:.5, 2:.5}, 12 {2:.5, 3:.5}, 13 {3:1}
--   U (a cluster's weight across its members): 1 {10:.5, 11:.5},
--   2 {11:.5, 12:.5}, 3 {12:.8, 13:.2}
--   PJP = U N: row 1 {1:.75, 2:.25, 3:0}, row 2 {1:.25, 2:.5, 3:.25},
--   row 3 {1:0, 2:.4, 3:.6}
--   k[i,g] = 1 in i's own clusters, else (N PJP)[i,g]:
--   k[11,3] = .5*0 + .5*.25 = .125, k[12,1] = .5*.25 + .5*0 = .125,
--   k[10,2] = .25, k[10,3] = 0
--   Project 2 (donors 11 and 12, 4 each): K = (1 - k) c:
--   K[11] = {1:0, 2:0, 3:3.5}, K[12] = {1:3.5, 2:0, 3:0};
--   P'[g,h] = sum_i K[i,g] N[i,h]: P'[1,3] = 3.5*.5 = 1.75,
--   P'[3,1] = 3.5*.5 = 1.75, P'[1,2] = 1.75 but P'[2,1] = 0, P'[2,3] = 0:
--   COCM_2 = 2 * sqrt(1.75 * 1.75) = 3.5.
--   Project 1 (donors 10 and 11): P'[2,1] = K[10,2] N[10,1] = .75*4 = 3
--   but P'[1,2] = 0 (both are in cluster 1): COCM_1 = 0.  Project 3 the
--   same way: COCM_3 = 0.
\set p '{1,1,2,2,3,3}'
\set c '{10,11,11,12,12,13}'
\set a '{4,4,4,4,4,1}'
-- plain COCM: the ideals 0, 3.5, 0 under a pool of 100: floors
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"pct_cocm": 1}');
-- saturated: the whole pool of 2 to project 2
SELECT * FROM enspiral.quadratic_match(2, :'p', :'c', :'a', options => '{"pct_cocm": 1}');
-- blend 0.5: shares .5*(8,8,4)/20 + .5*(0,3.5,0)/3.5 = (.2, .7, .1) of
-- .5*20 + .5*3.5 = 11.75: ideals 2.35, 8.225, 1.175; a pool of 100 pays the
-- floors 2, 8, 1; a pool of 10 pays 2, 7, 1 exactly
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"pct_cocm": 0.5}');
SELECT * FROM enspiral.quadratic_match(10, :'p', :'c', :'a', options => '{"pct_cocm": 0.5}');
-- blend 0 is plain QF exactly (8, 8, 4 under 100; 7 split as QF does)
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"pct_cocm": 0}');
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a');
SELECT (SELECT array_agg(q ORDER BY q.project) FROM enspiral.quadratic_match(7, :'p', :'c', :'a', options => '{"pct_cocm": 0}') q)
     = (SELECT array_agg(q ORDER BY q.project) FROM enspiral.quadratic_match(7, :'p', :'c', :'a') q) AS blend0_is_qf;
-- blend 0 through the real-valued path (trust scores all full) is plain QF
-- exactly, saturated or not
SELECT pool, (SELECT array_agg(q ORDER BY q.project) FROM enspiral.quadratic_match(pool, :'p', :'c', :'a',
                  options => '{"pct_cocm": 0, "trust_scores": {"10": 30, "11": 30, "12": 30, "13": 30},
                               "trust_zero_below": 15, "trust_full_at": 25}') q)
            = (SELECT array_agg(q ORDER BY q.project) FROM enspiral.quadratic_match(pool, :'p', :'c', :'a') q) AS same_as_qf
  FROM unnest(ARRAY[0, 1, 7, 19, 20, 21, 1000]) pool;

-- A larger case checked against an independent transcription of the
-- definition (plain Python over dicts, the formulas above): 6 projects, 12
-- contributors; COCM ideals floor to 751475, 1341817, 203093, 0, 1070938,
-- 0 (total 3367324.10); under a pool of 10^7 each project gets its floor
\set bp '{2,4,5,5,1,1,1,2,1,5,6,5,1,2,2,3,4,3,5,2,2,3,1,1,5,2}'
\set bc '{100,100,101,102,102,103,104,104,105,105,106,106,106,107,108,108,108,109,109,109,110,110,110,111,111,111}'
\set ba '{420000,40000,70000,330000,140000,280000,60000,360000,80000,150000,370000,380000,260000,30000,100000,350000,80000,70000,380000,370000,360000,460000,50000,320000,440000,350000}'
SELECT * FROM enspiral.quadratic_match(10000000, :'bp', :'bc', :'ba', options => '{"pct_cocm": 1}');
-- clusters given by the caller (strength 1 each): 100..105 in cluster 1,
-- 106..111 in cluster 2, 100 in both; the same transcription gives the
-- floors 1095992, 1217831, 0, 0, 1499047, 0
SELECT * FROM enspiral.quadratic_match(10000000, :'bp', :'bc', :'ba', options => '{"pct_cocm": 1, "clusters":
    {"100": [1, 2], "101": [1], "102": [1], "103": [1], "104": [1], "105": [1],
     "106": [2], "107": [2], "108": [2], "109": [2], "110": [2], "111": [2]}}');
-- a contributor in no cluster counts nothing in COCM (qf-calculator's
-- align() drops it): with 12 and 13 unlisted, project 3 has no COCM donors
-- and project 2 only 11, so every COCM ideal is 0
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"pct_cocm": 1, "clusters": {"10": [1], "11": [1, 2]}}');

-- Trust weights (Gitcoin Passport style): score < trust_zero_below -> 0,
-- score >= trust_full_at -> 1, between: linear from
-- trust_weight_at_threshold (default 0.5, qf-calculator's
-- score_at_50_percent) to 1; no score is score 0.  One project, two
-- contributors of 100 each, the second fully trusted: the QF ideal is
-- 2 sqrt(100 * 100 m) = 200 sqrt(m): m(14.99) = 0 -> 0; m(15) = .5 -> 141.42;
-- m(20) = .75 -> 173.2; m(25) = 1 -> 200; m(40) = 1 -> 200
SELECT s AS score, (SELECT q.match FROM enspiral.quadratic_match(1000, '{1,1}', '{1,2}', '{100,100}',
           options => jsonb_build_object('trust_scores', jsonb_build_object('1', s, '2', 100),
                                         'trust_zero_below', 15, 'trust_full_at', 25)) q) AS match
  FROM unnest(ARRAY[14.99, 15, 20, 25, 40]) s;
-- linear from 0: m(20) = .5 -> 141.42
SELECT * FROM enspiral.quadratic_match(1000, '{1,1}', '{1,2}', '{100,100}',
    options => '{"trust_scores": {"1": 20, "2": 100}, "trust_zero_below": 15, "trust_full_at": 25,
                 "trust_weight_at_threshold": 0}');
-- equal thresholds are a step: 15 -> 1
SELECT * FROM enspiral.quadratic_match(1000, '{1,1}', '{1,2}', '{100,100}',
    options => '{"trust_scores": {"1": 15, "2": 100}, "trust_zero_below": 15, "trust_full_at": 15}');
-- the 3-project example with scores 10: 30 (1), 11: 20 (.75), 12: 10 (0),
-- 13: none (0): p1 = 2 sqrt(4 * 3) = 6.93, p2 and p3 have one counted
-- contributor at most: 6, 0, 0
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a',
    options => '{"trust_scores": {"10": 30, "11": 20, "12": 10}, "trust_zero_below": 15, "trust_full_at": 25}');

-- min_contribution: a contributor's total to a project below it does not
-- count (13's 1 to project 3): 8, 8, 0
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"min_contribution": 4}');
-- a total, not each contribution: 1 + 3 to project 1 counts under 4
SELECT * FROM enspiral.quadratic_match(100, '{1,1,1}', '{1,1,2}', '{1,3,4}', options => '{"min_contribution": 4}');
-- authors: an author's contributions to their own project do not count
-- (10 to 1, 11 to 2): 0, 0, 4
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"authors": {"1": 10, "2": 11}}');
-- the filters work with the pairwise method too
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', method => 'pairwise', threshold => 1,
    options => '{"min_contribution": 4}');
-- NULL and {} are plain QF
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{}');

-- refusals
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '[1]');
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"pct_com": 1}');
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"exclude_self_funding": true}');
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"pct_cocm": 1.5}');
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"pct_cocm": "half"}');
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"min_contribution": -1}');
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"min_contribution": 1.5}');
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"clusters": {"10": 1}}');
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"clusters": {"ten": [1]}}');
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"authors": {"1": "ana"}}');
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"trust_scores": {"10": 1}}');
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', options => '{"trust_zero_below": 1, "trust_full_at": 2}');
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a',
    options => '{"trust_scores": {"10": 1}, "trust_zero_below": 20, "trust_full_at": 10}');
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a',
    options => '{"trust_scores": {"10": 1}, "trust_zero_below": 1, "trust_full_at": 2, "trust_weight_at_threshold": 2}');
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', method => 'pairwise', threshold => 1,
    options => '{"pct_cocm": 0.5}');
-- the arguments are checked as without options
SELECT * FROM enspiral.quadratic_match(100, '{1}', '{1}', '{0}', options => '{"pct_cocm": 1}');

-- a long COCM run stops within the statement timeout (interrupt checks in
-- every loop): 300 projects, 600000 contributions
CREATE TEMP TABLE big AS
SELECT array_agg(1 + (i * 7919) % 300) AS p, array_agg(1 + (i * 104729) % 20000) AS c,
       array_agg(1 + i % 97) AS a
  FROM generate_series(1::bigint, 600000) i;
SET statement_timeout = '100ms';
SELECT count(*) FROM big, enspiral.quadratic_match(1000000, big.p, big.c, big.a, options => '{"pct_cocm": 1}');
RESET statement_timeout;
