/*-------------------------------------------------------------------------
 *
 * vote_counts.c
 *	  The trigger that keeps enspiral.vote_counts equal to the number of
 *	  current votes (history_key 0) of each proposal, so that the read API
 *	  (enspiral.proposals(), sql/install/60_read_api.sql) reads a count
 *	  instead of counting the votes of every listed proposal.
 *
 * A proposal's count is spread over one row per backend that changed it
 * (shard: the backend id, 0 for the counts an update or a bulk load wrote):
 * two transactions in flight never run in one backend, so concurrent votes
 * never wait for each other on a counter row, and under REPEATABLE READ the
 * row a vote changes was last changed by a transaction that committed
 * before its snapshot (a PREPAREd transaction is the exception: the next
 * vote of its backend on the proposal waits for it).  A row may be
 * negative (a vote superseded from another backend); every change is made
 * by the transaction that writes the vote, so the sum is exact.
 *
 * Restores: vote_counts is dumped with the votes; a vote row loaded by a
 * restore (enspiral_in_restore_copy) is already counted in the dumped rows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/backendid.h"
#include "utils/rel.h"

#include "enspiral.h"

PG_FUNCTION_INFO_V1(enspiral_vote_counts_apply);

/* The counter row of this backend: its id, from 1 (proc number + 1 on 17) */
static int32
my_shard(void)
{
#if PG_VERSION_NUM >= 170000
	return (int32) MyProcNumber + 1;
#else
	return (int32) MyBackendId;
#endif
}

/* Whether a votes row is a current vote (history_key 0) */
static bool
is_current(HeapTuple tup, TupleDesc desc)
{
	return enspiral_column_int64(tup, desc, "history_key") == 0;
}

/* Add delta to the count of a proposal, in this backend's row */
static void
add_count(int64 group_id, int64 proposal_id, int64 delta)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[4] = {INT8OID, INT8OID, INT4OID, INT8OID};
	Datum		args[4];

	args[0] = Int64GetDatum(group_id);
	args[1] = Int64GetDatum(proposal_id);
	args[2] = Int32GetDatum(my_shard());
	args[3] = Int64GetDatum(delta);
	enspiral_plan(&plan,
				  "INSERT INTO enspiral.vote_counts AS c (group_id, proposal_id, shard, counted)"
				  " VALUES ($1, $2, $3, $4)"
				  " ON CONFLICT (group_id, proposal_id, shard)"
				  " DO UPDATE SET counted = c.counted OPERATOR(pg_catalog.+) $4",
				  4, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute_plan failed on vote_counts");
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
	enspiral_spi_connect();
	if (old_tup != NULL)
		count_row(old_tup, desc, -1);
	if (new_tup != NULL)
		count_row(new_tup, desc, 1);
	enspiral_spi_finish();
	return PointerGetDatum(NULL);
}
