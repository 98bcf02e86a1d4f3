-- enspiral.apportion: exact largest-remainder split, hand-computed cases,
-- exactness beyond double precision, and every refusal.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default

-- the examples of the specification
SELECT enspiral.apportion(100, '{2,3,4}');          -- {22,33,45}
SELECT enspiral.apportion(10, '{1,1,1}');           -- ties to the lower index: {4,3,3}
-- quotas 4/3 each: floors 1,1,1; one leftover unit, tie: first
SELECT enspiral.apportion(4, '{1,1,1}');
-- zero weights never get a unit
SELECT enspiral.apportion(7, '{0,1,0,1}');          -- {0,4,0,3}
-- quotas 6.25, 3.75: floors 6,3, leftover to the .75
SELECT enspiral.apportion(10, '{5,3}');
-- fractional weights: quotas 5, 2.5, 2.5 -> tie to the lower index
SELECT enspiral.apportion(10, '{0.5,0.25,0.25}');
-- the same weights written differently give the same split
SELECT enspiral.apportion(100, '{2.0,3,4.000}') = enspiral.apportion(100, '{2,3,4}') AS same;
SELECT enspiral.apportion(100, '{0.2,0.3,0.4}') = enspiral.apportion(100, '{2,3,4}') AS same;
-- total 0, empty weights
SELECT enspiral.apportion(0, '{1,2}');
SELECT enspiral.apportion(0, '{0,0}');
SELECT enspiral.apportion(0, '{}');
SELECT enspiral.apportion(5, '{7}');
-- the result is 1-based whatever the input bounds
SELECT enspiral.apportion(10, '[0:2]={1,1,1}') AS r, array_lower(enspiral.apportion(10, '[0:2]={1,1,1}'), 1) AS lower;
-- the whole bigint range
SELECT enspiral.apportion(9223372036854775807, '{1,1}');
SELECT enspiral.apportion(9223372036854775807, '{9223372036854775807,9223372036854775807,1}');

-- exact remainders where double precision cannot tell the weights apart:
-- 2^53 and 2^53+1 (integer path), remainders differ by one part in 2^54
SELECT enspiral.apportion(1, '{9007199254740992,9007199254740993}');   -- {0,1}
SELECT enspiral.apportion(1, '{9007199254740993,9007199254740992}');   -- {1,0}
-- numeric path: weights differing in the 28th digit
SELECT enspiral.apportion(1, '{1,1.0000000000000000000000000001}');   -- {0,1}
SELECT enspiral.apportion(1, '{1.0000000000000000000000000001,1}');   -- {1,0}
-- weights beyond the bigint range: quotas 2.5, 7.5 -> tie to the lower index
SELECT enspiral.apportion(10, '{1e30,3e30}');
SELECT enspiral.apportion(3, '{1e-30,1e-30,1e-30}');
-- thirds: 100 * 1/3 = 33.33..
SELECT enspiral.apportion(100, '{0.333333333333333333333,0.333333333333333333333,0.333333333333333333334}');

-- refusals
SELECT enspiral.apportion(-1, '{1}');
SELECT enspiral.apportion(NULL, '{1}');
SELECT enspiral.apportion(1, NULL);
SELECT enspiral.apportion(1, '{1,NULL}');
SELECT enspiral.apportion(1, '{1,-2}');
SELECT enspiral.apportion(1, '{1,-0.5}');
SELECT enspiral.apportion(5, '{0,0}');
SELECT enspiral.apportion(5, '{}');
SELECT enspiral.apportion(5, '{0.000}');
SELECT enspiral.apportion(1, '{1,NaN}');
SELECT enspiral.apportion(1, '{Infinity}');
SELECT enspiral.apportion(1, '{{1,2},{3,4}}');
