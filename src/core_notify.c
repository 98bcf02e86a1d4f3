/*-------------------------------------------------------------------------
 *
 * core_notify.c
 *	  NOTIFY enspiral_events, also in a transaction that Citus prepares.
 *
 * Every event queues NOTIFY enspiral_events {"group_id", "event_id"}
 * (doc/actors-and-events.md), and everything queues it here,
 * enspiral_event_notify() or its SQL form enspiral.notify_event().
 *
 * On a single server (enspiral.events is not distributed) the NOTIFY is
 * queued at once with Async_Notify(), as pg_notify() does: nothing else.
 *
 * On Citus the events are written on the group's node, inside a transaction
 * that the coordinator commits; when that transaction wrote on more than one
 * node, the coordinator commits it with two-phase commit, and PostgreSQL
 * refuses PREPARE TRANSACTION once a NOTIFY is queued.  So there the NOTIFY
 * is deferred: kept in a list of the transaction (a subtransaction that
 * aborts drops its own), and
 *	- at commit, queued then (a commit without two-phase commit: delegated
 *	  calls, transactions that wrote on one node);
 *	- at PREPARE TRANSACTION, kept in the backend with the transaction id, and
 *	  queued by the next transaction of this backend that commits after the
 *	  prepared transaction committed: Citus sends COMMIT PREPARED on the same
 *	  connection right after, so the NOTIFY goes out with it.  Dropped when
 *	  the prepared transaction was rolled back.  A prepared transaction that
 *	  is finished elsewhere (Citus's recovery after a failure) sends no
 *	  NOTIFY: the events are in the feed (events_since) all the same.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "commands/async.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/memutils.h"

#include "enspiral.h"
#include "relaccess.h"

PG_FUNCTION_INFO_V1(enspiral_notify_event_sql);

/* Most NOTIFYs of prepared transactions kept per backend */
#define MAX_PREPARED_NOTIFIES 10000

/* A deferred NOTIFY: its payload and the subtransaction that queued it */
typedef struct PendingNotify
{
	char		payload[96];
	SubTransactionId subid;		/* pending: the queuing subtransaction */
	TransactionId xid;			/* prepared: the prepared transaction */
} PendingNotify;

static List *pending = NIL;		/* in TopTransactionContext */
static List *prepared = NIL;	/* in TopMemoryContext */
static bool callbacks_registered = false;

/* Queue the NOTIFY now */
static void
notify_now(const char *payload)
{
	PreventCommandDuringRecovery("NOTIFY");
	Async_Notify("enspiral_events", payload);
}

/* Queue the NOTIFYs of prepared transactions that committed; drop the rolled back */
static void
flush_prepared(void)
{
	for (int i = list_length(prepared) - 1; i >= 0; i--)
	{
		PendingNotify *p = list_nth(prepared, i);

		if (TransactionIdDidCommit(p->xid))
			notify_now(p->payload);
		else if (!TransactionIdDidAbort(p->xid))
			continue;
		prepared = list_delete_nth_cell(prepared, i);
		pfree(p);
	}
}

/* Keep the pending NOTIFYs of a transaction being prepared, with its id */
static void
keep_prepared(void)
{
	TransactionId xid = GetTopTransactionIdIfAny();
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	for (int i = 0; i < list_length(pending); i++)
	{
		PendingNotify *p;

		if (list_length(prepared) >= MAX_PREPARED_NOTIFIES)
			break;
		p = palloc(sizeof(PendingNotify));
		memcpy(p, list_nth(pending, i), sizeof(PendingNotify));
		p->xid = xid;
		prepared = lappend(prepared, p);
	}
	MemoryContextSwitchTo(old);
}

/* Transaction end: queue, keep or forget the deferred NOTIFYs */
static void
notify_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			for (int i = 0; i < list_length(pending); i++)
				notify_now(((PendingNotify *) list_nth(pending, i))->payload);
			if (prepared != NIL)
				flush_prepared();
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (pending != NIL)
				keep_prepared();
			pending = NIL;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			pending = NIL;
			break;
		default:
			break;
	}
}

/* A subtransaction ends: an abort drops what it queued, a commit hands it up */
static void
notify_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	for (int i = list_length(pending) - 1; i >= 0; i--)
	{
		PendingNotify *p = list_nth(pending, i);

		if (p->subid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB)
			pending = list_delete_nth_cell(pending, i);
		else if (event == SUBXACT_EVENT_COMMIT_SUB)
			p->subid = parentSubid;
	}
}

/*
 * enspiral_event_notify(group_id, event_id): queue NOTIFY enspiral_events
 * {"group_id": g, "event_id": e}, sent on commit only (deferred on Citus,
 * see the file header)
 */
void
enspiral_event_notify(int64 group_id, int64 event_id)
{
	PendingNotify *p;
	MemoryContext old;

	if (!relaccess_distributed(relaccess_relid("events")))
	{
		char		payload[96];

		snprintf(payload, sizeof(payload),
				 "{\"group_id\": " INT64_FORMAT ", \"event_id\": " INT64_FORMAT "}",
				 group_id, event_id);
		notify_now(payload);
		return;
	}
	if (!callbacks_registered)
	{
		RegisterXactCallback(notify_xact_callback, NULL);
		RegisterSubXactCallback(notify_subxact_callback, NULL);
		callbacks_registered = true;
	}
	PreventCommandDuringRecovery("NOTIFY");
	old = MemoryContextSwitchTo(TopTransactionContext);
	p = palloc(sizeof(PendingNotify));
	snprintf(p->payload, sizeof(p->payload),
			 "{\"group_id\": " INT64_FORMAT ", \"event_id\": " INT64_FORMAT "}",
			 group_id, event_id);
	p->subid = GetCurrentSubTransactionId();
	p->xid = InvalidTransactionId;
	pending = lappend(pending, p);
	MemoryContextSwitchTo(old);
}

/* enspiral.notify_event(group_id, event_id): SQL form of enspiral_event_notify */
Datum
enspiral_notify_event_sql(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_VOID();
	enspiral_event_notify(PG_GETARG_INT64(0), PG_GETARG_INT64(1));
	PG_RETURN_VOID();
}
