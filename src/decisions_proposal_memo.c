/*-------------------------------------------------------------------------
 *
 * decisions_proposal_memo.c
 *	  The proposal row vote() reads, remembered per backend with where it
 *	  was, and checked again by its tuple id instead of an index lookup.
 *
 * Why.  Every vote reads its proposal (state, dates, method, options,
 * settings) under the latest snapshot: an index open and descent, about
 * 12,000 instructions, 7 % of a vote, for a row that changes a handful of
 * times in its life while thousands of votes read it.
 *
 * How it stays exact.  The backend remembers, for the last proposal read
 * this way, the values of the columns below, the row version's tuple id
 * and its inserting transaction (raw xmin).  The next read fetches the
 * tuple at that id with the caller's snapshot (heap_fetch: a buffer pin
 * and a visibility check, no index) and uses the remembered values only
 * when that version is visible and is the same version: same xmin, same
 * proposal and group.  A version the snapshot sees is the proposal's
 * current one for that snapshot (an update makes the old version
 * invisible to every snapshot taken after it committed, and to the
 * updating transaction itself after its next command), so the answer is
 * the one the index lookup would give, with the same snapshot.  Anything
 * else (not visible, pruned, the line pointer reused by another row: its
 * xmin differs, a rewritten or re-created table: the relation's OID or
 * the row at that id differs, an aborted writer's version: not visible)
 * falls back to the index lookup, which remembers its result.  A table
 * distributed by Citus is always looked up (its rows are not in this
 * heap).  Nothing is invalidated: the check is the memo's only trust.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "storage/bufmgr.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "enspiral.h"
#include "decisions.h"
#include "relaccess.h"

/* The proposal read last, per backend (see the file header) */
static struct
{
	bool		valid;
	Oid			relid;
	ItemPointerData tid;
	TransactionId xmin;
	int64		group_id;
	int64		proposal_id;
	Datum		values[PROPOSAL_MEMO_COLS];
	bool		nulls[PROPOSAL_MEMO_COLS];
	MemoryContext cxt;
}			memo;

/* The columns remembered, in the order of their values */
const char *const proposal_memo_cols[PROPOSAL_MEMO_COLS] = {
	"group_id", "state", "opens_at", "closes_at", "method", "options", "settings"
};

/* Copy the remembered values into the current memory context */
static void
memo_copy_out(Relation rel, Datum *values, bool *nulls)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < PROPOSAL_MEMO_COLS; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, enspiral_attnum(desc, proposal_memo_cols[i]) - 1);

		nulls[i] = memo.nulls[i];
		values[i] = nulls[i] ? (Datum) 0 :
			datumCopy(memo.values[i], att->attbyval, att->attlen);
	}
}

/* True when the remembered version of the proposal is the one snap sees */
static bool
memo_current(Relation rel, int64 group_id, int64 pid, Snapshot snap)
{
	HeapTupleData tuple;
	Buffer		buf;
	bool		same;
	bool		isnull;

	if (!memo.valid || memo.proposal_id != pid || (group_id != 0 && memo.group_id != group_id) ||
		memo.relid != RelationGetRelid(rel))
		return false;
	tuple.t_self = memo.tid;
	if (!heap_fetch(rel, snap, &tuple, &buf, false))
		return false;
	same = HeapTupleHeaderGetRawXmin(tuple.t_data) == memo.xmin &&
		DatumGetInt64(heap_getattr(&tuple, enspiral_attnum(RelationGetDescr(rel), "proposal_id"),
								   RelationGetDescr(rel), &isnull)) == pid &&
		DatumGetInt64(heap_getattr(&tuple, enspiral_attnum(RelationGetDescr(rel), "group_id"),
								   RelationGetDescr(rel), &isnull)) == memo.group_id;
	ReleaseBuffer(buf);
	return same;
}

/* Remember the row version in slot (values already read from it) */
static void
memo_fill(Relation rel, TupleTableSlot *slot, int64 pid, const Datum *values, const bool *nulls)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool		isnull;

	if (memo.cxt == NULL)
		memo.cxt = AllocSetContextCreate(TopMemoryContext, "enspiral proposal memo",
										 ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(memo.cxt);
	memo.valid = false;
	for (int i = 0; i < PROPOSAL_MEMO_COLS; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, enspiral_attnum(desc, proposal_memo_cols[i]) - 1);
		MemoryContext old = MemoryContextSwitchTo(memo.cxt);

		memo.nulls[i] = nulls[i];
		memo.values[i] = nulls[i] ? (Datum) 0 :
			datumCopy(att->attlen == -1 ? PointerGetDatum(PG_DETOAST_DATUM(values[i])) : values[i],
					  att->attbyval, att->attlen);
		MemoryContextSwitchTo(old);
	}
	memo.relid = RelationGetRelid(rel);
	memo.tid = slot->tts_tid;
	memo.xmin = DatumGetTransactionId(slot_getsysattr(slot, MinTransactionIdAttributeNumber, &isnull));
	memo.group_id = DatumGetInt64(values[0]);
	memo.proposal_id = pid;
	memo.valid = true;
}

/*
 * Read the columns proposal_memo_cols of the proposal visible to snap
 * (group_id 0: by its id alone) into values and nulls (copied into the
 * current memory context); false when there is none.
 */
bool
decisions_proposal_row(int64 group_id, int64 pid, Snapshot snap, Datum *values, bool *nulls)
{
	int64		keys[2] = {group_id, pid};
	Relation	rel = table_open(relaccess_relid("proposals"), AccessShareLock);
	RelScan		rs;
	bool		found;

	/* the remembered version, if snap sees it: the heap alone */
	if (!relaccess_distributed(RelationGetRelid(rel)) && memo_current(rel, group_id, pid, snap))
	{
		memo_copy_out(rel, values, nulls);
		table_close(rel, NoLock);
		return true;
	}
	table_close(rel, NoLock);
	if (group_id != 0)
		relaccess_open(&rs, "proposals", "proposals_pkey", AccessShareLock);
	else
		relaccess_open(&rs, "proposals", "proposals_proposal_id_idx", AccessShareLock);
	found = group_id != 0 ? relaccess_fetch_int8(&rs, snap, 2, keys) :
		relaccess_fetch_int8(&rs, snap, 1, &pid);
	if (found)
	{
		for (int i = 0; i < PROPOSAL_MEMO_COLS; i++)
			values[i] = enspiral_slot_column(rs.slot, proposal_memo_cols[i], &nulls[i]);
		if (!rs.distributed)
			memo_fill(rs.heap, rs.slot, pid, values, nulls);
		for (int i = 0; i < PROPOSAL_MEMO_COLS; i++)
		{
			Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rs.heap),
												  enspiral_attnum(RelationGetDescr(rs.heap),
																  proposal_memo_cols[i]) - 1);

			if (!nulls[i])
				values[i] = datumCopy(values[i], att->attbyval, att->attlen);
		}
	}
	relaccess_close(&rs);
	return found;
}
