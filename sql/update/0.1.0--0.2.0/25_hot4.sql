-- hot4 (issue 12, "Hot paths"): a re-vote rewrites the counted vote row in
-- place (src/decisions_votes.c, store_named_vote); room left on each page
-- lets that update stay on the page (HOT: no new index entry).
ALTER TABLE enspiral.votes SET (fillfactor = 75);
