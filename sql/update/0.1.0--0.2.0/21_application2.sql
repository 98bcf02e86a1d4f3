-- Application surface, second part (doc/application.md, doc/settings.md):
-- the index enspiral.proposals() counts electorates with.  Functions (the
-- text overloads of vote() and check_ballot(), normalize_round_settings()
-- now in C, member_at()) come from the install script.
CREATE INDEX memberships_joined ON enspiral.memberships (group_id, joined_at);
COMMENT ON INDEX enspiral.memberships_joined IS
    'Membership periods by start: enspiral.proposals() counts an electorate from the members who joined after its opening';
