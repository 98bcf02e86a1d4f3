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


#include "access/relation.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "enspiral.h"

/* Low bits of an event id: the event's number inside its transaction */
#define EVENT_SEQ_BITS	22
#define EVENT_SEQ_MAX	((UINT64CONST(1) << EVENT_SEQ_BITS) - 1)

PG_FUNCTION_INFO_V1(enspiral_next_event_id);
PG_FUNCTION_INFO_V1(enspiral_event_horizon);
PG_FUNCTION_INFO_V1(enspiral_restoring);
PG_FUNCTION_INFO_V1(enspiral_votes_events);
PG_FUNCTION_INFO_V1(enspiral_transfers_events);

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
	Relation	rel = try_relation_open(relid, AccessShareLock);
	bool		res;

	if (rel == NULL)
		PG_RETURN_BOOL(false);
	res = enspiral_in_restore_copy(rel);
	relation_close(rel, AccessShareLock);
	PG_RETURN_BOOL(res);
}

/* A bigint column of the trigger's new row, by name */
static int64
new_int8(TriggerData *td, const char *col)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	int			attnum = SPI_fnumber(desc, col);
	bool		isnull;
	Datum		d;

	if (attnum <= 0)
		elog(ERROR, "column \"%s\" not found", col);
	d = heap_getattr(td->tg_trigtuple, attnum, desc, &isnull);
	if (isnull)
		elog(ERROR, "column \"%s\" is null", col);
	return DatumGetInt64(d);
}

/*
 * Record vote_cast in two statements keyed by group_id, which Citus routes
 * to the group's shard (the single statement below is a data-modifying CTE,
 * which Citus plans in steps through another connection): the event, then
 * its NOTIFY where the group asks for it.  args and nulls as for the CTE.
 */
static void
record_vote_event_routed(Datum *args, const char *nulls)
{
	static SPIPlanPtr insert_plan = NULL;
	static SPIPlanPtr notify_plan = NULL;
	Oid			argtypes[5] = {INT8OID, INT8OID, INT8OID, INT8OID, JSONBOID};
	bool		isnull = true;
	int64		event_id;
	Datum		notify = (Datum) 0;

	enspiral_plan(&insert_plan,
				  "INSERT INTO enspiral.events"
				  " (group_id, event_id, kind, actor, member_id, proposal_id, payload)"
				  " VALUES ($1, enspiral.next_event_id(), 'vote_cast', $2, $4, $3, $5)"
				  " RETURNING event_id",
				  5, argtypes);
	if (SPI_execute_plan(insert_plan, args, nulls, false, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "recording the vote event failed");
	event_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	enspiral_plan(&notify_plan,
				  "SELECT (g.settings ->> 'notify_votes_and_contributions')::boolean"
				  "  FROM enspiral.groups g WHERE g.group_id = $1",
				  1, argtypes);
	if (SPI_execute_plan(notify_plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "recording the vote event failed");
	if (SPI_processed == 1)
		notify = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (notify != (Datum) 0 && !isnull && DatumGetBool(notify))
		Async_Notify("enspiral_events",
					 psprintf("{\"group_id\": " INT64_FORMAT ", \"event_id\": " INT64_FORMAT "}",
							  DatumGetInt64(args[0]), event_id));
}

/*
 * enspiral.votes_events(): AFTER INSERT row trigger on enspiral.votes and
 * enspiral.participations (the hot path of vote(), hence C).  Records
 * vote_cast: for a named vote the voter acts and is the subject; for an
 * anonymous one (a participations row) neither voter nor ballot is
 * recorded.  NOTIFY only where the group sets notify_votes_and_contributions.
 */
Datum
enspiral_votes_events(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	TriggerData *td = (TriggerData *) fcinfo->context;
	Oid			argtypes[5] = {INT8OID, INT8OID, INT8OID, INT8OID, JSONBOID};
	Datum		args[5];
	char		nulls[5] = "     ";
	bool		named;

	static const char *const tables[] = {"votes", "participations"};

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		elog(ERROR, "votes_events must be an AFTER INSERT FOR EACH ROW trigger");
	enspiral_require_trigger_table_in(td, "votes_events", tables, lengthof(tables));
	named = enspiral_relation_is(td->tg_relation, "votes");
	if (enspiral_in_restore_copy(td->tg_relation))
		return PointerGetDatum(NULL);

	args[0] = Int64GetDatum(new_int8(td, "group_id"));
	args[2] = Int64GetDatum(new_int8(td, "proposal_id"));
	if (named)
	{
		char	   *payload = psprintf("{\"vote_id\": " INT64_FORMAT "}",
									   new_int8(td, "vote_id"));

		args[1] = Int64GetDatum(new_int8(td, "member_id"));
		args[4] = DirectFunctionCall1(jsonb_in, CStringGetDatum(payload));
	}
	else
	{
		nulls[1] = 'n';
		args[4] = DirectFunctionCall1(jsonb_in, CStringGetDatum("{\"anonymous\": true}"));
	}
	args[3] = args[1];
	nulls[3] = nulls[1];

	enspiral_spi_connect();
	if (enspiral_table_is_distributed(enspiral_table_oid("events")))
	{
		/* on Citus: statements routed to the group's shard (citus.c) */
		record_vote_event_routed(args, nulls);
		enspiral_spi_finish();
		return PointerGetDatum(NULL);
	}
	enspiral_plan(&plan,
				  "WITH e AS ("
				  "  INSERT INTO enspiral.events"
				  "   (group_id, event_id, kind, actor, member_id, proposal_id, payload)"
				  "  VALUES ($1, enspiral.next_event_id(), 'vote_cast', $2, $4, $3, $5)"
				  "  RETURNING group_id, event_id)"
				  " SELECT pg_catalog.pg_notify('enspiral_events',"
				  "          '{\"group_id\": ' || e.group_id || ', \"event_id\": ' || e.event_id || '}')"
				  "   FROM e JOIN enspiral.groups g ON g.group_id = e.group_id"
				  "  WHERE (g.settings ->> 'notify_votes_and_contributions')::boolean",
				  5, argtypes);
	if (SPI_execute_plan(plan, args, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "recording the vote event failed");
	enspiral_spi_finish();
	return PointerGetDatum(NULL);
}

/* Check that a permission-checking event trigger is an AFTER INSERT row trigger on enspiral.<table> */
static TriggerData *
event_trigger_data(FunctionCallInfo fcinfo, const char *fn, const char *table)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		elog(ERROR, "%s must be an AFTER INSERT FOR EACH ROW trigger", fn);
	enspiral_require_trigger_table(td, fn, table);
	return td;
}

/*
 * enspiral.transfers_events(): AFTER INSERT row trigger on
 * enspiral.transfers (the hot path of contribute(), hence C).  Checks
 * may_allocate for allocations and records contribution (the contributing
 * member acts), refund and round_allocated (one per member share).  NOTIFY
 * for contributions only where the group sets notify_votes_and_contributions.
 */
Datum
enspiral_transfers_events(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static SPIPlanPtr auth_plan = NULL;
	TriggerData *td = event_trigger_data(fcinfo, "transfers_events", "transfers");
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	Oid			argtypes[8] = {INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID, INT8OID,
	INT8OID, INT8OID};
	Datum		args[8];
	char		nulls[8] = "        ";
	bool		isnull;
	char	   *kind;

	if (enspiral_in_restore_copy(td->tg_relation))
		return PointerGetDatum(NULL);
	kind = SPI_getvalue(td->tg_trigtuple, desc, SPI_fnumber(desc, "kind"));
	if (strcmp(kind, "contribute") != 0 && strcmp(kind, "refund") != 0 &&
		strcmp(kind, "allocate") != 0)
		return PointerGetDatum(NULL);

	args[0] = Int64GetDatum(new_int8(td, "group_id"));
	args[1] = Int64GetDatum(new_int8(td, "from_account"));
	args[2] = Int64GetDatum(new_int8(td, "to_account"));
	args[3] = CStringGetTextDatum(kind);
	args[4] = Int64GetDatum(new_int8(td, "round_id"));
	args[5] = Int64GetDatum(new_int8(td, "transfer_id"));
	args[6] = Int64GetDatum(new_int8(td, "amount"));
	args[7] = heap_getattr(td->tg_trigtuple, SPI_fnumber(desc, "reverses"), desc, &isnull);
	if (isnull)
		nulls[7] = 'n';

	enspiral_spi_connect();
	if (strcmp(kind, "allocate") == 0)
	{
		enspiral_plan(&auth_plan, "SELECT enspiral.authorize($1, 'allocate', NULL)", 1, argtypes);
		if (SPI_execute_plan(auth_plan, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "permission check failed");
	}
	enspiral_plan(&plan,
				  "WITH a AS ("
				  "  SELECT fa.kind::text AS fk, fa.owner_id AS fo, ta.kind::text AS tk, ta.owner_id AS tw"
				  "    FROM enspiral.accounts fa, enspiral.accounts ta"
				  "   WHERE fa.group_id = $1 AND fa.account_id = $2"
				  "     AND ta.group_id = $1 AND ta.account_id = $3),"
				  " e AS ("
				  "  INSERT INTO enspiral.events"
				  "   (group_id, event_id, kind, actor, member_id, round_id, bucket_id, payload)"
				  "  SELECT $1, enspiral.next_event_id(),"
				  "         CASE $4 WHEN 'contribute' THEN 'contribution' WHEN 'refund' THEN 'refund'"
				  "                 ELSE 'round_allocated' END,"
				  "         CASE WHEN $4 = 'contribute' THEN a.fo ELSE enspiral.actor() END,"
				  "         CASE WHEN $4 = 'contribute' THEN a.fo WHEN a.tk = 'member' THEN a.tw END,"
				  "         $5,"
				  "         CASE WHEN $4 = 'contribute' THEN a.tw"
				  "              WHEN $4 = 'refund' AND a.fk = 'bucket' THEN a.fo END,"
				  "         CASE WHEN $4 = 'refund'"
				  "              THEN pg_catalog.jsonb_build_object('transfer_id', $6, 'amount', $7, 'reverses', $8)"
				  "              ELSE pg_catalog.jsonb_build_object('transfer_id', $6, 'amount', $7) END"
				  "    FROM a"
				  "  RETURNING group_id, event_id)"
				  " SELECT pg_catalog.pg_notify('enspiral_events',"
				  "          '{\"group_id\": ' || e.group_id || ', \"event_id\": ' || e.event_id || '}')"
				  "   FROM e JOIN enspiral.groups g ON g.group_id = e.group_id"
				  "  WHERE $4 <> 'contribute' OR (g.settings ->> 'notify_votes_and_contributions')::boolean",
				  8, argtypes);
	if (SPI_execute_plan(plan, args, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "recording the transfer event failed");
	enspiral_spi_finish();
	return PointerGetDatum(NULL);
}
