/*-------------------------------------------------------------------------
 *
 * restore.c
 *	  Recognizing a restore: rows loaded by pg_restore (or psql's \copy)
 *	  are the dumped state of governed tables, not new actions.  The guards
 *	  of the ledger and of the vote tables accept them as they were dumped;
 *	  the verification functions (verify_ledger, verify_outcome) check the
 *	  loaded data afterwards.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "tcop/pquery.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/portal.h"
#include "utils/rel.h"

#include "enspiral.h"

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

/*
 * True while the top-level command is COPY rel FROM ..., run by the owner
 * of rel: a restore.  COPY FROM never updates or deletes, a COPY whose
 * query calls the API (COPY (SELECT ...) TO) is not a COPY FROM, and
 * applications neither own the tables nor have INSERT privilege on them.
 */
bool
enspiral_in_restore_copy(Relation rel)
{
	ListCell   *lc;

	if (ActivePortal == NULL || ActivePortal->commandTag != CMDTAG_COPY)
		return false;
	foreach(lc, ActivePortal->stmts)
	{
		PlannedStmt *ps = lfirst_node(PlannedStmt, lc);
		CopyStmt   *cs;
		char	   *nsp;

		if (ps->commandType != CMD_UTILITY || !IsA(ps->utilityStmt, CopyStmt))
			continue;
		cs = (CopyStmt *) ps->utilityStmt;
		if (!cs->is_from || cs->relation == NULL ||
			strcmp(cs->relation->relname, RelationGetRelationName(rel)) != 0)
			continue;
		nsp = get_namespace_name(RelationGetNamespace(rel));
		if ((cs->relation->schemaname == NULL ||
			 strcmp(cs->relation->schemaname, nsp) == 0) &&
			restore_owner(rel))
			return true;
	}
	return false;
}
