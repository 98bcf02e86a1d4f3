/*-------------------------------------------------------------------------
 *
 * events.c
 *	  Event ids that a consumer can follow in commit-safe order.
 *
 *	  An event id is the writing transaction's full transaction id shifted
 *	  left by EVENT_SEQ_BITS, plus a counter of the events that transaction
 *	  wrote.  Every transaction still running has a full transaction id at
 *	  or above the snapshot xmin, so every event id below
 *	  (xmin << EVENT_SEQ_BITS) belongs to a finished transaction: a reader
 *	  that returns only such ids never returns an id below one a later
 *	  commit adds (doc/actors-and-events.md, "Reading the feed").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "fmgr.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "enspiral.h"

/* Low bits of an event id: the event's number inside its transaction */
#define EVENT_SEQ_BITS	22
#define EVENT_SEQ_MAX	((UINT64CONST(1) << EVENT_SEQ_BITS) - 1)

PG_FUNCTION_INFO_V1(enspiral_next_event_id);
PG_FUNCTION_INFO_V1(enspiral_event_horizon);
PG_FUNCTION_INFO_V1(enspiral_restoring);

/* Transaction of the last event id handed out, and its counter */
static FullTransactionId event_fxid = {0};
static uint64 event_seq = 0;

/*
 * enspiral.next_event_id() RETURNS bigint
 *	  The next event id of the current transaction (assigns its xid).
 */
Datum
enspiral_next_event_id(PG_FUNCTION_ARGS)
{
	FullTransactionId fxid = GetTopFullTransactionId();
	uint64		xid64 = U64FromFullTransactionId(fxid);

	if (!FullTransactionIdEquals(fxid, event_fxid))
	{
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
	if (xid64 >= (UINT64CONST(1) << (63 - EVENT_SEQ_BITS)))
		elog(ERROR, "transaction id %llu too large for an event id",
			 (unsigned long long) xid64);
	event_seq++;
	PG_RETURN_INT64((int64) ((xid64 << EVENT_SEQ_BITS) | event_seq));
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

/*
 * enspiral.event_horizon() RETURNS bigint
 *	  The first event id a running or future transaction may still commit:
 *	  the active snapshot's xmin shifted like an event id.
 */
Datum
enspiral_event_horizon(PG_FUNCTION_ARGS)
{
	Snapshot	snap = GetActiveSnapshot();
	FullTransactionId xmin;

	if (snap == NULL)
		elog(ERROR, "no active snapshot");
	xmin = widen_xid(snap->xmin, ReadNextFullTransactionId());
	PG_RETURN_INT64((int64) (U64FromFullTransactionId(xmin) << EVENT_SEQ_BITS));
}

/*
 * enspiral.restoring(rel regclass) RETURNS boolean
 *	  True while the owner restores rel with a top-level COPY FROM: restored
 *	  rows carry their events in the restored events table already.
 */
Datum
enspiral_restoring(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel = table_open(relid, AccessShareLock);
	bool		res = enspiral_in_restore_copy(rel);

	table_close(rel, AccessShareLock);
	PG_RETURN_BOOL(res);
}
