/*-------------------------------------------------------------------------
 *
 * core_restore.c
 *	  Recognizing a restore: rows loaded by pg_restore (or psql's \copy)
 *	  are the dumped state of governed tables, not new actions.  The guards
 *	  of the ledger and of the vote tables accept them as they were dumped;
 *	  the verification functions (verify_ledger, verify_outcome) check the
 *	  loaded data afterwards.
 *
 *	  A write is a restore only when all of these hold:
 *	  - the top-level statement of the session is COPY ... FROM whose
 *		schema-qualified target resolves to the OID of the written relation
 *		(pg_restore always qualifies; a look-alike table elsewhere, a
 *		temporary one included, never matches);
 *	  - no statement is nested: no executor and no utility statement runs
 *		below the COPY (a DEFAULT, a trigger or a function called by the
 *		COPY that writes an enspiral table is a nested statement);
 *	  - no SECURITY DEFINER function and no security-restricted operation
 *		is active (every API function is SECURITY DEFINER);
 *	  - the current user owns the relation.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/portal.h"
#include "utils/rel.h"

#include "enspiral.h"
#include "relaccess.h"

/* Statements (executor runs, nested utility commands) running now */
static int	nested_depth = 0;

static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* ExecutorRun hook: count the statement as nested while it runs */
#if PG_VERSION_NUM >= 180000
static void
restore_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count)
#else
static void
restore_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction,
					uint64 count, bool execute_once)
#endif
{
	nested_depth++;
	PG_TRY();
	{
#if PG_VERSION_NUM >= 180000
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count);
		else
			standard_ExecutorRun(queryDesc, direction, count);
#else
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
#endif
	}
	PG_FINALLY();
	{
		nested_depth--;
	}
	PG_END_TRY();
}

/* ExecutorFinish hook: AFTER triggers of a statement fire here */
static void
restore_ExecutorFinish(QueryDesc *queryDesc)
{
	nested_depth++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		nested_depth--;
	}
	PG_END_TRY();
}

static bool restore_owner(Relation rel);

/*
 * After a top-level COPY FROM into enspiral.events by its owner on a single
 * server: new events are numbered above the restored ones (on Citus the
 * trigger events_id does it on each shard's node, src/actors_event_ids.c)
 */
static void
restore_events_copied(PlannedStmt *pstmt)
{
	CopyStmt   *cs;
	Oid			events;
	Relation	rel;
	bool		owner;

	if (!IsA(pstmt->utilityStmt, CopyStmt))
		return;
	cs = (CopyStmt *) pstmt->utilityStmt;
	if (!cs->is_from || cs->relation == NULL || cs->relation->schemaname == NULL)
		return;
	events = relaccess_relid_if_exists("events");
	if (!OidIsValid(events) || RangeVarGetRelid(cs->relation, NoLock, true) != events ||
		relaccess_distributed(events))
		return;
	rel = relation_open(events, AccessShareLock);
	owner = restore_owner(rel);
	relation_close(rel, AccessShareLock);
	if (owner)
		enspiral_events_restored();
}

/* ProcessUtility hook: a utility statement below the top level is nested */
static void
restore_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	bool		nested = context != PROCESS_UTILITY_TOPLEVEL;

	if (nested)
		nested_depth++;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		if (nested)
			nested_depth--;
	}
	PG_END_TRY();
	if (!nested)
		restore_events_copied(pstmt);
}

/* Install the hooks that track nested statements; called by _PG_init */
void
enspiral_restore_init(void)
{
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = restore_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = restore_ExecutorFinish;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = restore_ProcessUtility;
}

/* True when the current user owns rel (superusers own everything) */
static bool
restore_owner(Relation rel)
{
#if PG_VERSION_NUM >= 160000
	return object_ownercheck(RelationRelationId, RelationGetRelid(rel), GetUserId());
#else
	return pg_class_ownercheck(RelationGetRelid(rel), GetUserId());
#endif
}

/* True when cs is COPY ... FROM into the relation rel, named by schema */
static bool
copy_targets(CopyStmt *cs, Relation rel)
{
	Oid			target;

	if (!cs->is_from || cs->relation == NULL || cs->relation->schemaname == NULL)
		return false;
	target = RangeVarGetRelid(cs->relation, NoLock, true);
	return OidIsValid(target) && target == RelationGetRelid(rel);
}

/*
 * True while the write to rel is a restore (see the file header): the
 * owner's top-level COPY FROM into rel itself, with nothing nested and no
 * SECURITY DEFINER function active.
 */
bool
enspiral_in_restore_copy(Relation rel)
{
	ListCell   *lc;

	if (ActivePortal == NULL || ActivePortal->commandTag != CMDTAG_COPY)
		return false;
	if (nested_depth != 0 || InLocalUserIdChange() || InSecurityRestrictedOperation())
		return false;
	foreach(lc, ActivePortal->stmts)
	{
		PlannedStmt *ps = lfirst_node(PlannedStmt, lc);

		if (ps->commandType == CMD_UTILITY && IsA(ps->utilityStmt, CopyStmt) &&
			copy_targets((CopyStmt *) ps->utilityStmt, rel))
			return restore_owner(rel);
	}
	return false;
}
