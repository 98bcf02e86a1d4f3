/*-------------------------------------------------------------------------
 *
 * decisions_removals.c
 *	  Whether a member is removed from the electorate of a proposal now,
 *	  for vote() and remove_voter(), with a per-backend memo of the
 *	  proposals that have no removal at all.
 *
 * Why.  Every named vote asks whether its voter was removed
 * (enspiral.electorate_removals, written only by remove_voter() and
 * add_voter()), an index descent of about 9,000 instructions, about 5 %
 * of a vote; removals are rare, and on most proposals there is none.
 *
 * The memo.  A backend remembers up to REMOVAL_MEMO_SIZE proposals on
 * which a lookup under the latest snapshot found no current removal of
 * anyone, and answers "not removed" for them without a lookup.  Every
 * INSERT or UPDATE statement on electorate_removals (remove_voter(),
 * add_voter(), a restore's COPY) runs the statement guard votes_guard,
 * which calls decisions_removals_changed(): a relcache invalidation of the
 * table, sent to every backend when the writing transaction commits (and
 * processed by the writer itself at its next command, and again if it
 * aborts), which empties the memo.
 *
 * Why it is exact, not just usually right.  vote() and remove_voter() ask
 * with the proposal and the (proposal, member) lock held
 * (decisions_votes.c).  A removal of the member was made under the same
 * member lock, and a committing transaction sends its invalidations before
 * it releases its locks (CommitTransaction: AtEOXact_Inval, then the
 * resource owner's locks); so once the asking backend holds the member
 * lock, the invalidation of every committed removal of that member is in
 * the queue, and decisions_voter_removed() reads the queue
 * (AcceptInvalidationMessages) before it looks at the memo.  A memo entry
 * is only added when no invalidation arrived between the snapshot of its
 * lookup and its insertion (a generation counter), so a removal that
 * commits while the lookup runs is never hidden.  Not remembered: proposals
 * of a table distributed by Citus (its invalidations stay on one node).
 * Writes that skip the guard (triggers disabled by a superuser, or
 * session_replication_role = replica) do not empty the memo of backends
 * that already remember the proposal: such a writer also bypasses every
 * other rule of the vote tables.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "enspiral.h"
#include "decisions.h"
#include "relaccess.h"

#define REMOVAL_MEMO_SIZE 64

/* Proposals without any current removal, per backend (see the header) */
static struct
{
	int64		group_id;
	int64		proposal_id;
}			no_removals[REMOVAL_MEMO_SIZE];
static int	no_removals_n = 0;
static int	no_removals_next = 0;
static uint64 removals_generation = 0;
static Oid	removals_relid = InvalidOid;
static bool removals_callback_registered = false;

/* Relcache invalidation of electorate_removals (or of everything): forget */
static void
removals_callback(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == removals_relid)
	{
		no_removals_n = 0;
		removals_generation++;
	}
}

/* True when the memo says the proposal has no current removal */
static bool
memo_has(int64 group_id, int64 pid)
{
	for (int i = 0; i < no_removals_n; i++)
		if (no_removals[i].proposal_id == pid && no_removals[i].group_id == group_id)
			return true;
	return false;
}

/* Remember that the proposal has no current removal */
static void
memo_add(int64 group_id, int64 pid)
{
	no_removals[no_removals_next].group_id = group_id;
	no_removals[no_removals_next].proposal_id = pid;
	no_removals_next = (no_removals_next + 1) % REMOVAL_MEMO_SIZE;
	if (no_removals_n < REMOVAL_MEMO_SIZE)
		no_removals_n++;
}

/*
 * Whether the member is removed from the electorate of the proposal now
 * (latest snapshot).  Call with the proposal and member locks of vote()
 * held (see the file header).
 */
bool
decisions_voter_removed(int64 group_id, int64 pid, int64 member_id)
{
	int64		keys[3] = {group_id, pid, member_id};
	Oid			relid = relaccess_relid("electorate_removals");
	uint64		generation;
	Snapshot	snap;
	RelScan		rs;
	bool		found;

	if (!removals_callback_registered)
	{
		enspiral_relcache_callback(removals_callback);
		removals_callback_registered = true;
	}
	if (relid != removals_relid)
	{
		no_removals_n = 0;
		removals_relid = relid;
	}
	/* the invalidations of every removal committed before the member lock */
	AcceptInvalidationMessages();
	if (memo_has(group_id, pid))
		return false;
	generation = removals_generation;
	relaccess_open(&rs, "electorate_removals", "electorate_removals_current", AccessShareLock);
	snap = RegisterSnapshot(GetLatestSnapshot());
	found = relaccess_fetch_int8(&rs, snap, 3, keys);
	/* none of the member: remember the proposal if it has none at all */
	if (!found && !rs.distributed && !relaccess_fetch_int8(&rs, snap, 2, keys) &&
		generation == removals_generation && relid == removals_relid)
		memo_add(group_id, pid);
	UnregisterSnapshot(snap);
	relaccess_close(&rs);
	return found;
}

/*
 * A statement writes enspiral.electorate_removals (rel): every backend
 * forgets its memo when the writing transaction commits (called by the
 * statement guard votes_guard)
 */
void
decisions_removals_changed(Relation rel)
{
	CacheInvalidateRelcacheByRelid(RelationGetRelid(rel));
}
