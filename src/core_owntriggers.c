/*-------------------------------------------------------------------------
 *
 * core_owntriggers.c
 *	  The row triggers enspiral owns on the tables of its hot paths, and
 *	  running them inline from the direct writer (core_relaccess.c).
 *
 * Why.  vote() and contribute() write their rows through the direct layer
 * as the trusted writer: the guard flags of core_api_write.c are set, the
 * balances are already applied, the re-vote pair is known.  Fired by the
 * trigger manager, each of enspiral's own row triggers still costs a
 * queued after-trigger event, a second fetch of the row by its tuple id,
 * and fmgr_security_definer's save and restore of search_path (every
 * enspiral function pins it): about a quarter of a vote.  A guard or
 * ledger_apply then only finds that the flag is set and returns.
 *
 * What.  A writer opened for given row events (INSERT, UPDATE) asks
 * ownedtriggers_plan() whether it may run without the trigger manager's
 * help for enspiral's own triggers.  It may only when every row trigger
 * of the table that fires on one of those events is either
 *
 *	- one of enspiral's own triggers listed below, enabled as created
 *	  (fires on origin, no WHEN, no column list, no arguments, session
 *	  not in replica role), whose function is the enspiral C function of
 *	  the list (checked in pg_proc, cached per backend with invalidation),
 *	  and that is either a no-op for those events while a guard flag the
 *	  writer holds is set (checked at open and again at each row), or an
 *	  AFTER row trigger with a C entry point to run inline; or
 *	- a foreign-key trigger (RI_FKey_*), which stays with the trigger
 *	  manager: it is queued as before, deferred or not, and checks only
 *	  that the referenced row exists, which the inline triggers never
 *	  change.
 *
 * Any other row trigger on those events (a trigger a user or another
 * module added: test/sql/api_write.sql adds some), a disabled or altered
 * own trigger, or session_replication_role = replica: the writer keeps
 * the full trigger set and the trigger manager fires everything, exactly
 * as before.  Statement triggers are never fired by the direct writer
 * either way (core_relaccess.c, "Inserts").
 *
 * Inline, an AFTER row trigger runs right after its row is written, in
 * name order (the order of the trigger manager), with the TriggerData the
 * trigger manager would pass (the written row's values; no slots): the
 * writer writes its rows one by one, so "after its row" and "at the end
 * of the writer" differ only in where the foreign-key checks of the same
 * rows run, which do not read what the inline triggers write.  The
 * triggers run under the writer's search_path rather than their pinned
 * one: every caller of an owned writer is an enspiral function with the
 * same pinned search_path (pg_catalog, pg_temp), and enspiral's C never
 * resolves a name through it (schema-qualified names everywhere).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "enspiral.h"
#include "relaccess.h"

/* the C entry points of the owned triggers (PG_FUNCTION_INFO_V1 elsewhere) */
extern Datum enspiral_vote_counts_apply(PG_FUNCTION_ARGS);
extern Datum enspiral_votes_events(PG_FUNCTION_ARGS);
extern Datum enspiral_accounts_guard(PG_FUNCTION_ARGS);
extern Datum enspiral_ledger_apply(PG_FUNCTION_ARGS);
extern Datum enspiral_transfers_events(PG_FUNCTION_ARGS);

#define NO_FLAG (-1)

typedef struct OwnedTrigger OwnedTrigger;

/* One row trigger enspiral owns on a hot table (relaccess.h names the type) */
struct OwnedTrigger
{
	const char *table;			/* enspiral.<table> */
	const char *trigger;		/* its name */
	const char *function;		/* enspiral.<function>(), LANGUAGE c */
	PGFunction	fn;				/* the C entry point, run inline (AFTER row) */
	int			noop_events;	/* TRIGGER_TYPE_* events on which it does nothing */
	int			noop_while;		/* ... while this EnspiralWrite flag is set */
};

static const struct OwnedTrigger owned_triggers[] = {
	/* a re-vote's -1/+1 pair leaves the count as it was */
	{"votes", "vote_counts", "vote_counts_apply", enspiral_vote_counts_apply,
	TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE, ENSPIRAL_WRITE_REVOTE},
	{"votes", "votes_events", "votes_events", enspiral_votes_events, 0, NO_FLAG},
	/* a balance update lets the update through while a transfer applies it */
	{"accounts", "accounts_guard", "accounts_guard", NULL,
	TRIGGER_TYPE_UPDATE, ENSPIRAL_WRITE_BALANCES},
	/* a transfer row whose balances its writer applied */
	{"transfers", "ledger_apply", "ledger_apply", enspiral_ledger_apply,
	TRIGGER_TYPE_INSERT, ENSPIRAL_WRITE_PREAPPLIED},
	{"transfers", "transfers_events", "transfers_events", enspiral_transfers_events,
	0, NO_FLAG},
};

/* pg_proc rows found to be an owned trigger function, per backend */
#define OWNED_FN_CACHE_SIZE 16

static struct
{
	Oid			fnoid;
	const char *function;
}			owned_fn_cache[OWNED_FN_CACHE_SIZE];
static int	owned_fn_cache_n = 0;
static bool owned_callback_registered = false;

/* Syscache invalidation of a function or schema: forget what was checked */
static void
owned_fn_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	owned_fn_cache_n = 0;
}

/* True when fnoid is enspiral.<function>(), a C function without arguments */
static bool
owned_function_is(Oid fnoid, const char *function)
{
	HeapTuple	tup;
	Form_pg_proc proc;
	bool		ok;

	for (int i = 0; i < owned_fn_cache_n; i++)
		if (owned_fn_cache[i].fnoid == fnoid)
			return owned_fn_cache[i].function == function;
	if (!owned_callback_registered)
	{
		CacheRegisterSyscacheCallback(PROCOID, owned_fn_callback, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, owned_fn_callback, (Datum) 0);
		owned_callback_registered = true;
	}
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fnoid));
	if (!HeapTupleIsValid(tup))
		return false;
	proc = (Form_pg_proc) GETSTRUCT(tup);
	ok = strcmp(NameStr(proc->proname), function) == 0 &&
		proc->pronamespace == relaccess_namespace() &&
		proc->prolang == ClanguageId && proc->pronargs == 0 && !proc->prosecdef;
	ReleaseSysCache(tup);
	if (owned_fn_cache_n < OWNED_FN_CACHE_SIZE)
	{
		owned_fn_cache[owned_fn_cache_n].fnoid = fnoid;
		owned_fn_cache[owned_fn_cache_n].function = ok ? function : NULL;
		owned_fn_cache_n++;
	}
	return ok;
}

/* The owned trigger of table relname named tgname, or NULL */
static const OwnedTrigger *
owned_entry(const char *relname, const char *tgname)
{
	for (int i = 0; i < (int) lengthof(owned_triggers); i++)
		if (strcmp(owned_triggers[i].table, relname) == 0 &&
			strcmp(owned_triggers[i].trigger, tgname) == 0)
			return &owned_triggers[i];
	return NULL;
}

/* True when own is a no-op on every event of events while its flag is set */
static bool
owned_noop(const OwnedTrigger *own, int events)
{
	return own->noop_while != NO_FLAG && (events & ~own->noop_events) == 0 &&
		enspiral_writing((EnspiralWrite) own->noop_while);
}

/* True when t is one of the triggers of a foreign key */
static bool
is_foreign_key_trigger(const Trigger *t)
{
	return t->tgisinternal && OidIsValid(t->tgconstraint) &&
		RI_FKey_trigger_type(t->tgfoid) != RI_TRIGGER_NONE;
}

/*
 * The owned trigger t is, unaltered, if it may leave the trigger manager
 * for a writer of events (see the file header); NULL otherwise
 */
static const OwnedTrigger *
owned_usable(const char *relname, const Trigger *t, int events)
{
	const OwnedTrigger *own = owned_entry(relname, t->tgname);

	if (own == NULL || t->tgenabled != TRIGGER_FIRES_ON_ORIGIN ||
		SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA ||
		t->tgqual != NULL || t->tgnattr != 0 || t->tgnargs != 0 ||
		t->tgisinternal || OidIsValid(t->tgconstraint) ||
		t->tgoldtable != NULL || t->tgnewtable != NULL ||
		!TRIGGER_FOR_ROW(t->tgtype) || !owned_function_is(t->tgfoid, own->function))
		return NULL;
	if (owned_noop(own, events))
		return own;
	if (own->fn != NULL && TRIGGER_FOR_AFTER(t->tgtype))
		return own;
	return NULL;
}

/* Set the flags of a trigger set after its triggers (trigger.c's SetTriggerFlags) */
static void
trigdesc_set_flags(TriggerDesc *td)
{
	Trigger    *triggers = td->triggers;
	int			n = td->numtriggers;

	memset(((char *) td) + offsetof(TriggerDesc, trig_insert_before_row), 0,
		   sizeof(TriggerDesc) - offsetof(TriggerDesc, trig_insert_before_row));
	td->triggers = triggers;
	td->numtriggers = n;
	for (int i = 0; i < n; i++)
	{
		int16		t = triggers[i].tgtype;

#define TRIG_FLAG(flag, level, timing, ev) \
		td->flag |= TRIGGER_TYPE_MATCHES(t, TRIGGER_TYPE_##level, TRIGGER_TYPE_##timing, TRIGGER_TYPE_##ev)
		TRIG_FLAG(trig_insert_before_row, ROW, BEFORE, INSERT);
		TRIG_FLAG(trig_insert_after_row, ROW, AFTER, INSERT);
		TRIG_FLAG(trig_insert_instead_row, ROW, INSTEAD, INSERT);
		TRIG_FLAG(trig_insert_before_statement, STATEMENT, BEFORE, INSERT);
		TRIG_FLAG(trig_insert_after_statement, STATEMENT, AFTER, INSERT);
		TRIG_FLAG(trig_update_before_row, ROW, BEFORE, UPDATE);
		TRIG_FLAG(trig_update_after_row, ROW, AFTER, UPDATE);
		TRIG_FLAG(trig_update_instead_row, ROW, INSTEAD, UPDATE);
		TRIG_FLAG(trig_update_before_statement, STATEMENT, BEFORE, UPDATE);
		TRIG_FLAG(trig_update_after_statement, STATEMENT, AFTER, UPDATE);
		TRIG_FLAG(trig_delete_before_row, ROW, BEFORE, DELETE);
		TRIG_FLAG(trig_delete_after_row, ROW, AFTER, DELETE);
		TRIG_FLAG(trig_delete_instead_row, ROW, INSTEAD, DELETE);
		TRIG_FLAG(trig_delete_before_statement, STATEMENT, BEFORE, DELETE);
		TRIG_FLAG(trig_delete_after_statement, STATEMENT, AFTER, DELETE);
		/* there is no TRIGGER_TYPE_ROW for TRUNCATE */
		td->trig_truncate_before_statement |=
			TRIGGER_TYPE_MATCHES(t, TRIGGER_TYPE_STATEMENT, TRIGGER_TYPE_BEFORE, TRIGGER_TYPE_TRUNCATE);
		td->trig_truncate_after_statement |=
			TRIGGER_TYPE_MATCHES(t, TRIGGER_TYPE_STATEMENT, TRIGGER_TYPE_AFTER, TRIGGER_TYPE_TRUNCATE);
		td->trig_insert_new_table |= TRIGGER_FOR_INSERT(t) && triggers[i].tgnewtable != NULL;
		td->trig_update_old_table |= TRIGGER_FOR_UPDATE(t) && triggers[i].tgoldtable != NULL;
		td->trig_update_new_table |= TRIGGER_FOR_UPDATE(t) && triggers[i].tgnewtable != NULL;
		td->trig_delete_old_table |= TRIGGER_FOR_DELETE(t) && triggers[i].tgoldtable != NULL;
#undef TRIG_FLAG
	}
}

/*
 * Plan writer w (rows of enspiral.<relname>, events a mask of
 * TRIGGER_TYPE_INSERT and TRIGGER_TYPE_UPDATE) to run enspiral's own row
 * triggers itself: on success its result relation gets the trigger set
 * without them (allocated in the current memory context) and w->owned the
 * ones to run inline; otherwise nothing changes (see the file header).
 */
void
ownedtriggers_plan(RelWriter *w, const char *relname, int events)
{
	ResultRelInfo *rri = w->rri;
	TriggerDesc *full = rri->ri_TrigDesc;
	TriggerDesc *lean;
	int			n = 0;

	w->owned_events = 0;
	w->nowned = 0;
	if (full == NULL || events == 0)
		return;
	/* every row trigger firing on events must be owned and usable, or a foreign key's */
	for (int i = 0; i < full->numtriggers; i++)
	{
		Trigger    *t = &full->triggers[i];
		const OwnedTrigger *own;

		if (!TRIGGER_FOR_ROW(t->tgtype) || (t->tgtype & events) == 0 ||
			is_foreign_key_trigger(t))
			continue;
		own = owned_usable(relname, t, events);
		if (own == NULL || n >= RELACCESS_MAX_OWNED)
			return;
		w->owned_trig[n] = t;
		w->owned[n] = own;
		w->owned_noop[n] = owned_noop(own, events);
		n++;
	}
	/* the set without them: the trigger manager fires the rest */
	lean = palloc0(sizeof(TriggerDesc));
	lean->triggers = palloc0(sizeof(Trigger) * Max(full->numtriggers, 1));
	for (int i = 0; i < full->numtriggers; i++)
	{
		Trigger    *t = &full->triggers[i];

		if (TRIGGER_FOR_ROW(t->tgtype) && (t->tgtype & events) != 0 &&
			!is_foreign_key_trigger(t))
			continue;
		lean->triggers[lean->numtriggers++] = *t;
	}
	trigdesc_set_flags(lean);
	rri->ri_TrigDesc = lean->numtriggers > 0 ? lean : NULL;
	w->owned_events = events;
	w->nowned = n;
}

/* TRIGGER_TYPE_* of TRIGGER_EVENT_INSERT or TRIGGER_EVENT_UPDATE */
static int
event_type(TriggerEvent event)
{
	return event == TRIGGER_EVENT_INSERT ? TRIGGER_TYPE_INSERT : TRIGGER_TYPE_UPDATE;
}

/*
 * Before writer w writes a row by event: check that the own triggers it
 * leaves out as no-ops still are (their guard flag is still set)
 */
void
ownedtriggers_before(RelWriter *w, TriggerEvent event)
{
	int			type = event_type(event);

	if ((w->owned_events & type) == 0)
		elog(ERROR, "writer of %s was not opened for this event", RelationGetRelationName(w->rel));
	for (int i = 0; i < w->nowned; i++)
		if (w->owned_noop[i] && !owned_noop(w->owned[i], type))
			elog(ERROR, "trigger %s left out while it is not a no-op", w->owned_trig[i]->tgname);
}

/* True when writer w has a trigger to run inline after a row written by event */
bool
ownedtriggers_inline(RelWriter *w, TriggerEvent event)
{
	int			type = event_type(event);

	for (int i = 0; i < w->nowned; i++)
		if (!w->owned_noop[i] &&
			TRIGGER_TYPE_MATCHES(w->owned_trig[i]->tgtype, TRIGGER_TYPE_ROW, TRIGGER_TYPE_AFTER, type))
			return true;
	return false;
}

/*
 * After writer w wrote a row by event (TRIGGER_EVENT_INSERT or
 * TRIGGER_EVENT_UPDATE): run its inline triggers, in name order.
 * trigtuple is the new row of an insert, the old row of an update;
 * newtuple the new row of an update.
 */
void
ownedtriggers_after(RelWriter *w, TriggerEvent event, HeapTuple trigtuple, HeapTuple newtuple)
{
	int			type = event_type(event);

	for (int i = 0; i < w->nowned; i++)
	{
		Trigger    *t = w->owned_trig[i];
		TriggerData td = {0};
		FmgrInfo	flinfo = {0};
		LOCAL_FCINFO(fcinfo, 0);

		if (w->owned_noop[i] ||
			!TRIGGER_TYPE_MATCHES(t->tgtype, TRIGGER_TYPE_ROW, TRIGGER_TYPE_AFTER, type))
			continue;
		td.type = T_TriggerData;
		td.tg_event = event | TRIGGER_EVENT_ROW;
		td.tg_relation = w->rel;
		td.tg_trigtuple = trigtuple;
		td.tg_newtuple = newtuple;
		td.tg_trigger = t;
		flinfo.fn_addr = w->owned[i]->fn;
		flinfo.fn_oid = t->tgfoid;
		flinfo.fn_mcxt = CurrentMemoryContext;
		InitFunctionCallInfoData(*fcinfo, &flinfo, 0, InvalidOid, (Node *) &td, NULL);
		(void) FunctionCallInvoke(fcinfo);
	}
}
