/*-------------------------------------------------------------------------
 *
 * actors_event_ids.c
 *	  Event ids that a consumer can follow in commit-safe order, on one
 *	  server and on every node of a Citus cluster.
 *
 *	  An event id is (the writing transaction's full transaction id + the
 *	  node's offset) shifted left by EVENT_SEQ_BITS, plus a counter of the
 *	  events that transaction wrote.  Every transaction of this database
 *	  still running has a full transaction id at or above the oldest one
 *	  the snapshot lists as running here (its xmax when none is), so every
 *	  event id below ((that id + offset) << EVENT_SEQ_BITS), the horizon,
 *	  belongs to a finished transaction: a reader that returns only such
 *	  ids never returns an id below one a later commit adds
 *	  (doc/actors-and-events.md, "Reading the feed").  Transactions of
 *	  other databases are left out (they cannot write here), so a long one
 *	  there does not hold this database's feed back.
 *
 *	  The offset (the sequence enspiral.event_id_offset, 0 until raised) is
 *	  the node's own: each Citus node has its copy of the extension, and
 *	  its own transaction ids.  A group whose shard moves to a node with
 *	  lower transaction ids, or a dump restored into a new cluster, brings
 *	  ids above what that node would number next: event_raise() raises the
 *	  offset past them (enspiral.raise_event_ids(), run by
 *	  enspiral.distribute() on every node, also after a restore on Citus;
 *	  and at the end of the owner's COPY into enspiral.events on a single
 *	  server, core_restore.c).  Raising is safe for readers because it first waits for
 *	  every transaction that numbered events with the old offset: the first
 *	  id of a transaction takes ROW EXCLUSIVE on the sequence, held to its
 *	  end, and the raise takes SHARE ROW EXCLUSIVE on it, which waits for
 *	  them (and for another raise) and holds back new ones until it ends.
 *	  (The sequence, not enspiral.events: on a Citus worker the connections
 *	  of enspiral.distribute()'s own transaction hold locks on the events
 *	  table, and its raise would wait for them.)  The offset is read from the
 *	  sequence (not through a snapshot), once per transaction for numbering:
 *	  a transaction that numbers after a raise reads the new offset.  A
 *	  reader that read the old one computes a lower horizon: it may return
 *	  less, never a wrong event.
 *
 *	  On Citus the id must come from the node that holds the group's shard,
 *	  in the transaction that writes the row there: only that node's
 *	  horizon covers it.  A function that Citus does not delegate (a call in
 *	  a transaction block) runs on the coordinator, numbers an event with the
 *	  coordinator's transaction id and sends the INSERT to the shard.  So
 *	  the BEFORE INSERT trigger events_id on enspiral.events (which Citus
 *	  runs on the shard) keeps an id only when this backend numbered it in
 *	  this transaction and has not stored it yet (the id emit_event and the
 *	  hot path just took), and the rows of a restore; any other row gets a
 *	  new id here.  On a single server every id is numbered by the storing
 *	  transaction already, so the trigger is disabled there (it would only
 *	  cost the hot paths); enspiral.distribute() enables it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/transam.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "enspiral.h"
#include "relaccess.h"

/* Low bits of an event id: the event's number inside its transaction */
#define EVENT_SEQ_BITS	22
#define EVENT_SEQ_MAX	((UINT64CONST(1) << EVENT_SEQ_BITS) - 1)
/* Largest (transaction id + offset) an event id can hold */
#define EVENT_BASE_MAX	((UINT64CONST(1) << (63 - EVENT_SEQ_BITS)) - 1)

PG_FUNCTION_INFO_V1(enspiral_next_event_id);
PG_FUNCTION_INFO_V1(enspiral_event_horizon);
PG_FUNCTION_INFO_V1(enspiral_events_id);
PG_FUNCTION_INFO_V1(enspiral_raise_event_ids);

/* Transaction of the last event id handed out, its base and counter */
static FullTransactionId event_fxid = {0};
static uint64 event_base = 0;
static uint64 event_seq = 0;

/* The last id handed out in event_fxid and not stored in events yet (0: none) */
static int64 event_unstored = 0;

/*
 * The node's offset: enspiral.event_id_offset's value, read as sequence.c
 * reads it, the sequence opened in mode (NoLock: the caller holds a lock)
 */
static int64
event_offset_read(Oid seqid, LOCKMODE mode)
{
	Relation	seq;
	Buffer		buf;
	Page		page;
	ItemId		lp;
	HeapTupleData tuple;
	int64		value;

	seq = relation_open(seqid, mode);
	buf = ReadBuffer(seq, 0);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	lp = PageGetItemId(page, FirstOffsetNumber);
	tuple.t_data = (HeapTupleHeader) PageGetItem(page, lp);
	tuple.t_len = ItemIdGetLength(lp);
	value = ((Form_pg_sequence_data) GETSTRUCT(&tuple))->last_value;
	UnlockReleaseBuffer(buf);
	relation_close(seq, mode);
	return value;
}

/* The node's offset (0 before the sequence exists: during the update from 0.1.0) */
static int64
event_offset(void)
{
	Oid			seqid = relaccess_relid_if_exists("event_id_offset");

	return OidIsValid(seqid) ? event_offset_read(seqid, AccessShareLock) : 0;
}

/* Transaction ids a raised offset must leave room for: one epoch */
#define EVENT_XID_HEADROOM	(UINT64CONST(1) << 32)

/* base << EVENT_SEQ_BITS, or an error when base is out of range */
static int64
event_shift(uint64 base)
{
	if (base > EVENT_BASE_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("event ids are exhausted on this node"),
				 errdetail("The transaction id plus the node's event id offset is %llu; at most %llu fits in an event id.",
						   (unsigned long long) base, (unsigned long long) EVENT_BASE_MAX)));
	return (int64) (base << EVENT_SEQ_BITS);
}

/* The next event id of the current transaction (assigns its xid) */
int64
enspiral_event_next_id(void)
{
	FullTransactionId fxid = GetTopFullTransactionId();

	if (!FullTransactionIdEquals(fxid, event_fxid))
	{
		Oid			seqid = relaccess_relid_if_exists("event_id_offset");
		int64		offset = 0;

		/*
		 * held to the end: a raise of the offset waits for this transaction;
		 * it covers the read (no second lock, in another mode, to take and
		 * release at commit)
		 */
		if (OidIsValid(seqid))
		{
			LockRelationOid(seqid, RowExclusiveLock);
			offset = event_offset_read(seqid, NoLock);
		}
		event_base = U64FromFullTransactionId(fxid) + (uint64) offset;
		(void) event_shift(event_base);
		event_fxid = fxid;
		event_seq = 0;
	}
	if (event_seq >= EVENT_SEQ_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_TOO_MANY_EVENTS),
				 errmsg("too many events in one transaction"),
				 errdetail("A transaction can record at most %llu events.",
						   (unsigned long long) EVENT_SEQ_MAX),
				 errhint("Split the change into several transactions.")));
	event_seq++;
	event_unstored = event_shift(event_base) | (int64) event_seq;
	return event_unstored;
}

/*
 * enspiral.next_event_id() RETURNS bigint
 *	  The next event id of the current transaction (assigns its xid).
 */
Datum
enspiral_next_event_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(enspiral_event_next_id());
}

/* The full transaction id of xid, a recent xid not after next (as xid8funcs.c) */
static FullTransactionId
widen_xid(TransactionId xid, FullTransactionId next)
{
	uint32		epoch = EpochFromFullTransactionId(next);

	if (!TransactionIdIsNormal(xid))
		return FullTransactionIdFromEpochAndXid(0, xid);
	if (xid > XidFromFullTransactionId(next))
		epoch--;
	return FullTransactionIdFromEpochAndXid(epoch, xid);
}

/* The first event id that a transaction running under snap, or later, may number */
static int64
event_floor(Snapshot snap, int64 offset)
{
	FullTransactionId xmin = widen_xid(snap->xmin, ReadNextFullTransactionId());

	return event_shift(U64FromFullTransactionId(xmin) + (uint64) offset);
}

/*
 * The top-level transaction ids running now in a database other than this
 * one, sorted; *n gets their number.  Backends first, then the dummy
 * PGPROCs of prepared transactions, which proc.c allocates right after them.
 * A proc counts only while ProcGlobal->xids mirrors its xid, that is while
 * it is in the proc array (ProcArrayLock held): a stale PGPROC never does.
 */
static TransactionId *
xids_of_other_databases(int *n)
{
	int			nprocs = (int) ProcGlobal->allProcCount + max_prepared_xacts;
	TransactionId *xids = palloc(sizeof(TransactionId) * nprocs);
	int			i;

	*n = 0;
	LWLockAcquire(ProcArrayLock, LW_SHARED);
	for (i = 0; i < nprocs; i++)
	{
		PGPROC	   *proc = &ProcGlobal->allProcs[i];
		TransactionId xid = proc->xid;
		int			off = proc->pgxactoff;

		if (!TransactionIdIsNormal(xid) || off < 0 || off >= nprocs ||
			ProcGlobal->xids[off] != xid)
			continue;
		if (OidIsValid(proc->databaseId) && proc->databaseId != MyDatabaseId)
			xids[(*n)++] = xid;
	}
	LWLockRelease(ProcArrayLock);
	qsort(xids, *n, sizeof(TransactionId), xidComparator);
	return xids;
}

/*
 * The oldest transaction id of snap that may still write this database's
 * events: the oldest of its running transactions that is not running in
 * another database now (one no longer found may have been this database's),
 * or its xmax when there is none.  No other database can write here, so
 * their long transactions do not hold this database's feed back.  A
 * standby's snapshot lists its running transactions differently: its xmin.
 */
static TransactionId
snapshot_floor_xid(Snapshot snap)
{
	TransactionId floor = snap->xmax;
	TransactionId *others;
	int			nothers;
	uint32		i;

	if (snap->takenDuringRecovery || snap->xcnt == 0)
		return snap->xmin;
	others = xids_of_other_databases(&nothers);
	for (i = 0; i < snap->xcnt; i++)
	{
		TransactionId xid = snap->xip[i];

		if (TransactionIdPrecedes(xid, floor) &&
			bsearch(&xid, others, nothers, sizeof(TransactionId), xidComparator) == NULL)
			floor = xid;
	}
	pfree(others);
	return floor;
}

/*
 * enspiral.event_horizon() RETURNS bigint
 *	  The first event id a running or future transaction may still commit:
 *	  the oldest transaction of the active snapshot that may be running in
 *	  this database (its xmax when none is), plus the node's offset, shifted
 *	  like an event id.
 */
Datum
enspiral_event_horizon(PG_FUNCTION_ARGS)
{
	Snapshot	snap = GetActiveSnapshot();
	FullTransactionId floor;

	if (snap == NULL)
		elog(ERROR, "no active snapshot");
	floor = widen_xid(snapshot_floor_xid(snap), ReadNextFullTransactionId());
	PG_RETURN_INT64(event_shift(U64FromFullTransactionId(floor) + (uint64) event_offset()));
}

/*
 * Raise this node's offset so that every event id numbered from now on is
 * above `above`; returns the offset.  Waits for the transactions that
 * numbered ids with the present offset (see the file header).
 */
static int64
event_raise(int64 above)
{
	Oid			seqid = relaccess_relid("event_id_offset");
	int64		offset;
	int64		floor;
	uint64		need;

	/* every transaction that numbers after this has an xid at or above xmin */
	offset = event_offset_read(seqid, AccessShareLock);
	if (above < event_floor(GetLatestSnapshot(), offset))
		return offset;
	/* one raise at a time, after every transaction numbering with the old offset */
	LockRelationOid(seqid, ShareRowExclusiveLock);
	offset = event_offset_read(seqid, AccessShareLock);
	floor = event_floor(GetLatestSnapshot(), offset);
	if (above < floor)
		return offset;
	need = (uint64) offset + ((uint64) above >> EVENT_SEQ_BITS) + 1 -
		((uint64) floor >> EVENT_SEQ_BITS);
	/* the transactions to come number from the offset up: leave them room */
	if (need > EVENT_BASE_MAX - EVENT_XID_HEADROOM -
		U64FromFullTransactionId(ReadNextFullTransactionId()))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("event ids cannot be raised that high"),
				 errdetail("Raising event ids above %lld would leave this node too few ids for its transactions to come.",
						   (long long) above)));
	DirectFunctionCall3(setval3_oid, ObjectIdGetDatum(seqid), Int64GetDatum((int64) need),
						BoolGetDatum(true));
	return (int64) need;
}

/*
 * enspiral.raise_event_ids(above bigint) RETURNS bigint
 *	  Internal (enspiral.distribute() runs it on every node): this node
 *	  numbers every new event above `above`; returns the node's offset.
 */
Datum
enspiral_raise_event_ids(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("above must not be NULL")));
	PG_RETURN_INT64(event_raise(PG_GETARG_INT64(0)));
}

/*
 * enspiral.events_id(): BEFORE INSERT row trigger on enspiral.events, on
 * the shards (disabled on a single server).  Keeps the id that this backend
 * has just numbered in this transaction, and the ids of a restore; numbers
 * every other row here, in the transaction that stores it.
 */
Datum
enspiral_events_id(PG_FUNCTION_ARGS)
{
	TriggerData *td = enspiral_trigger_call(fcinfo, "events_id", ENSPIRAL_TRIGGER_BEFORE |
											ENSPIRAL_TRIGGER_ROW | ENSPIRAL_TRIGGER_INSERT);
	TupleDesc	desc;
	int			attnum;
	bool		isnull;
	int64		id;
	Datum		value;

	enspiral_require_trigger_table(td, "events_id", "events");
	desc = RelationGetDescr(td->tg_relation);
	attnum = enspiral_attnum(desc, "event_id");
	id = DatumGetInt64(heap_getattr(td->tg_trigtuple, attnum, desc, &isnull));
	if (!isnull && id != 0 && id == event_unstored &&
		FullTransactionIdEquals(GetTopFullTransactionIdIfAny(), event_fxid))
	{
		event_unstored = 0;
		return PointerGetDatum(td->tg_trigtuple);
	}
	/*
	 * Restored ids stay.  The offset is not raised here: Citus copies the
	 * shards of one table over several connections per node in one
	 * distributed transaction, and two of them raising on one node would
	 * wait for each other until that transaction ends; enspiral.distribute()
	 * raises it after the restore (doc/scaling.md).
	 */
	if (enspiral_in_restore_copy(td->tg_relation))
		return PointerGetDatum(td->tg_trigtuple);
	value = Int64GetDatum(enspiral_event_next_id());
	event_unstored = 0;
	isnull = false;
	return PointerGetDatum(heap_modify_tuple_by_cols(td->tg_trigtuple, desc, 1, &attnum,
													 &value, &isnull));
}

/*
 * After the owner restored enspiral.events on a single server (a COPY,
 * core_restore.c): this node numbers new events above every restored one
 */
void
enspiral_events_restored(void)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	Datum		top;

	enspiral_spi_connect();
	enspiral_plan(&plan, "SELECT pg_catalog.max(e.event_id) FROM enspiral.events e", 0, NULL);
	if (SPI_execute_plan(plan, NULL, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the largest event id");
	top = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	enspiral_spi_finish();
	if (!isnull)
		(void) event_raise(DatumGetInt64(top));
}
