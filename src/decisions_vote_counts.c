/*-------------------------------------------------------------------------
 *
 * decisions_vote_counts.c
 *	  The trigger that keeps enspiral.vote_counts equal to the number of
 *	  current votes (history_key 0) of each proposal, so that the read API
 *	  (enspiral.proposals(), sql/install/60_read_api.sql) reads a count
 *	  instead of counting the votes of every listed proposal.
 *
 * A proposal's count is spread over rows keyed by shard: the backend id
 * (0 for the counts an update or a bulk load wrote), plus MAX_BACKENDS + 1
 * times the number of VOTES_PER_ROW changes this transaction made before:
 * two transactions in flight never run in one backend, so concurrent votes
 * never wait for each other on a counter row, and under REPEATABLE READ the
 * row a vote changes was last changed by a transaction that committed
 * before its snapshot (a PREPAREd transaction is the exception: the next
 * vote of its backend on the proposal waits for it).  A transaction that
 * casts many votes moves to a new row every VOTES_PER_ROW changes, so that
 * no row gets a chain of thousands of versions its own transaction cannot
 * prune (each upsert would walk it).  A row may be negative (a vote
 * superseded from another backend); every change is made by the
 * transaction that writes the vote, so the sum is exact.
 *
 * Cost (it runs in every vote()): a vote that replaces the member's
 * counted vote supersedes one current vote and inserts another on the same
 * proposal, -1 and +1 in the same row, so vote() marks that write
 * (ENSPIRAL_WRITE_REVOTE) and the trigger skips both rows; a counter row
 * that exists (after the backend's first vote on the proposal) is updated
 * directly (core_relaccess.c: found by its key, locked as DO UPDATE would
 * lock it); only a missing row takes the SQL upsert.
 *
 * Restores: vote_counts is dumped with the votes; a vote row loaded by a
 * restore (enspiral_in_restore_copy) is already counted in the dumped rows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "storage/backendid.h"
#include "storage/proc.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "enspiral.h"
#include "relaccess.h"

PG_FUNCTION_INFO_V1(enspiral_vote_counts_apply);

/* Changes a transaction makes to one counter row before it takes another */
#define VOTES_PER_ROW	64

/* Shards per batch of VOTES_PER_ROW changes: above every backend id */
#define SHARD_STRIDE	((int64) MAX_BACKENDS + 1)

/* The counter row of this backend for its next change */
static int64
my_shard(void)
{
	static LocalTransactionId xact = InvalidLocalTransactionId;
	static int64 changes = 0;
	int64		backend;

#if PG_VERSION_NUM >= 170000
	backend = (int64) MyProcNumber + 1;
	if (MyProc->vxid.lxid != xact)
	{
		xact = MyProc->vxid.lxid;
		changes = 0;
	}
#else
	backend = (int64) MyBackendId;
	if (MyProc->lxid != xact)
	{
		xact = MyProc->lxid;
		changes = 0;
	}
#endif
	return backend + SHARD_STRIDE * (changes++ / VOTES_PER_ROW);
}

/* Whether a votes row is a current vote (history_key 0) */
static bool
is_current(HeapTuple tup, TupleDesc desc)
{
	return enspiral_column_int64(tup, desc, "history_key") == 0;
}

/*
 * Add delta to counter row shard of a proposal if it exists, directly
 * (core_relaccess.c): found by its primary key under the latest snapshot,
 * locked as the upsert's DO UPDATE locks it, updated; false, changing
 * nothing, when the row does not exist yet.
 */
static bool
add_count_direct(int64 group_id, int64 proposal_id, int64 shard, int64 delta)
{
	int64		keys[3] = {group_id, proposal_id, shard};
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	RelScan		rs;
	RelWriter	w;
	ItemPointerData tid;
	bool		found;
	int64		counted;
	RelColumn	col = {"counted", (Datum) 0, false};

	relaccess_open(&rs, "vote_counts", "vote_counts_pkey", RowExclusiveLock);
	found = relaccess_fetch_int8(&rs, snap, 3, keys);
	if (found)
	{
		tid = rs.slot->tts_tid;
		found = relaccess_lock(&rs, &tid, snap);
		tid = rs.slot->tts_tid;
	}
	relaccess_close(&rs);
	UnregisterSnapshot(snap);
	if (!found)
		return false;
	/* the version locked, committed before the lock was granted */
	snap = RegisterSnapshot(GetLatestSnapshot());
	relaccess_writer_open(&w, "vote_counts", 0);
	if (!relaccess_writer_fetch(&w, &tid, snap))
		elog(ERROR, "vote_counts row of proposal " INT64_FORMAT " vanished", proposal_id);
	UnregisterSnapshot(snap);
	if (pg_add_s64_overflow(enspiral_slot_int64(w.oldslot, "counted"), delta, &counted))
		elog(ERROR, "vote_counts of proposal " INT64_FORMAT " overflowed", proposal_id);
	col.value = Int64GetDatum(counted);
	relaccess_writer_update(&w, &col, 1);
	relaccess_writer_close(&w);
	return true;
}

/* Add delta to counter row shard of a proposal, creating it (SPI upsert) */
static void
add_count_sql(int64 group_id, int64 proposal_id, int64 shard, int64 delta)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[4] = {INT8OID, INT8OID, INT8OID, INT8OID};
	Datum		args[4];

	args[0] = Int64GetDatum(group_id);
	args[1] = Int64GetDatum(proposal_id);
	args[2] = Int64GetDatum(shard);
	args[3] = Int64GetDatum(delta);
	enspiral_spi_connect();
	enspiral_plan(&plan,
				  "INSERT INTO enspiral.vote_counts AS c (group_id, proposal_id, shard, counted)"
				  " VALUES ($1, $2, $3, $4)"
				  " ON CONFLICT (group_id, proposal_id, shard)"
				  " DO UPDATE SET counted = c.counted OPERATOR(pg_catalog.+) $4",
				  4, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute_plan failed on vote_counts");
	enspiral_spi_finish();
}

/*
 * Add delta to the count of a proposal, in this backend's row: directly
 * when the row exists (the common case: it is created by the backend's
 * first vote on the proposal), else by the upsert
 */
static void
add_count(int64 group_id, int64 proposal_id, int64 delta)
{
	int64		shard = my_shard();

	if (!add_count_direct(group_id, proposal_id, shard, delta))
		add_count_sql(group_id, proposal_id, shard, delta);
}

/* Add delta for the vote in tup (its proposal) */
static void
count_row(HeapTuple tup, TupleDesc desc, int64 delta)
{
	add_count(enspiral_column_int64(tup, desc, "group_id"),
			  enspiral_column_int64(tup, desc, "proposal_id"), delta);
}

/*
 * enspiral.vote_counts_apply(): AFTER ROW trigger on enspiral.votes.
 *	  +1 for a current vote inserted, -1 for one superseded or deleted; an
 *	  update that moves a current vote counts it out of its old row and into
 *	  its new one.
 */
Datum
enspiral_vote_counts_apply(PG_FUNCTION_ARGS)
{
	TriggerData *trig;
	TupleDesc	desc;
	HeapTuple	old_tup = NULL,
				new_tup = NULL;

	trig = enspiral_trigger_call(fcinfo, "vote_counts_apply",
								 ENSPIRAL_TRIGGER_AFTER | ENSPIRAL_TRIGGER_ROW);
	enspiral_require_trigger_table(trig, "vote_counts_apply", "votes");
	if (TRIGGER_FIRED_BY_INSERT(trig->tg_event) && enspiral_in_restore_copy(trig->tg_relation))
		return PointerGetDatum(NULL);	/* counted in the restored vote_counts */
	/* vote() superseding the counted vote and inserting its successor: -1 + 1 */
	if (enspiral_writing(ENSPIRAL_WRITE_REVOTE))
		return PointerGetDatum(NULL);
	desc = RelationGetDescr(trig->tg_relation);
	if (TRIGGER_FIRED_BY_INSERT(trig->tg_event))
		new_tup = trig->tg_trigtuple;
	else if (TRIGGER_FIRED_BY_DELETE(trig->tg_event))
		old_tup = trig->tg_trigtuple;
	else
	{
		old_tup = trig->tg_trigtuple;
		new_tup = trig->tg_newtuple;
	}
	if (old_tup != NULL && !is_current(old_tup, desc))
		old_tup = NULL;
	if (new_tup != NULL && !is_current(new_tup, desc))
		new_tup = NULL;
	if (old_tup != NULL && new_tup != NULL &&
		enspiral_column_unchanged(desc, old_tup, new_tup, "group_id") &&
		enspiral_column_unchanged(desc, old_tup, new_tup, "proposal_id"))
		return PointerGetDatum(NULL);	/* still the same current vote */
	if (old_tup == NULL && new_tup == NULL)
		return PointerGetDatum(NULL);
	if (old_tup != NULL)
		count_row(old_tup, desc, -1);
	if (new_tup != NULL)
		count_row(new_tup, desc, 1);
	return PointerGetDatum(NULL);
}
