
-- Part 85 (documentation moved to doc/): comments that pointed to a README
-- section point to the file that now holds it.
COMMENT ON TABLE enspiral.anonymous_ballots IS
    'Ballots of anonymous proposals: no voter, no time, a random key; see doc/decisions.md for what the physical row order and xmin reveal to a superuser';
