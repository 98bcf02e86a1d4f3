/*-------------------------------------------------------------------------
 *
 * core_commit_rules.c
 *	  Commit-time rules refused on a worker reach the client as themselves.
 *
 * A few rules are deferred to commit (constraint triggers DEFERRABLE
 * INITIALLY DEFERRED: the catalyst coverage rule, a departure undone in the
 * same transaction).  On Citus they fire on the shards, in the worker backend
 * that wrote the rows.  A delegated call commits on the worker itself, and a
 * refusal reaches the client as it is.  But a transaction that the
 * coordinator runs (a transaction block, a call that is not delegated) is
 * committed by Citus at the coordinator's commit: the worker's deferred rule
 * then fails in Citus's COMMIT or PREPARE TRANSACTION, which Citus reports
 * as a WARNING and the client gets XX000 "could not commit transaction for
 * shard ...".
 *
 * So before Citus commits, the coordinator asks every other node that holds
 * enspiral's shards to check its commit-time rules now, inside the same
 * distributed transaction: an XactCallback at XACT_EVENT_PRE_COMMIT (ours
 * runs before Citus's: PostgreSQL calls the callbacks last registered first,
 * and Citus is always loaded first) runs, for each such node, one query that
 * Citus routes to a shard of enspiral.groups there, over the connection the
 * transaction already holds to that node:
 *
 *		SELECT enspiral.check_commit_rules(max(g.group_id))
 *		  FROM enspiral.groups g WHERE g.group_id OPERATOR(pg_catalog.=) $1
 *
 * ($1 a value whose shard is on the node; the group need not exist).  On the
 * node, enspiral.check_commit_rules() fires the pending events of enspiral's
 * deferred rules (SET CONSTRAINTS ... IMMEDIATE on the constraint triggers of
 * the tables and their shards, then DEFERRED again): a refusal is an ordinary
 * statement error, which Citus re-raises on the coordinator with its
 * SQLSTATE, message, detail and hint, and the COMMIT fails with it, as on a
 * single server.
 *
 * Citus opens its connections per role, and the rules fire in the worker
 * backend of the connection that wrote: the query runs as the owner of the
 * extension (the API functions are SECURITY DEFINER and write as it), and
 * again as the current user when that is another role that may read
 * enspiral.groups (a direct write).
 *
 * Only a transaction block (explicit or a multi-statement string) or a
 * transaction that forwarded a call (core_forward.c) asks: a statement that
 * Citus delegated commits on the group's node, where a refusal reaches the
 * client as it is, and asking would cost every delegated call a round trip
 * to every node (about 120 ms per vote when measured, bench/citus_latency.sh).
 * And only a transaction that this node started as a Citus distributed
 * transaction asks (pg_catalog.get_current_transaction_id()); on a single
 * server, or in a database without distributed enspiral tables, the callback
 * returns after cached catalog lookups.  Limits (doc/scaling.md): Citus
 * reuses one connection per node in a transaction of router statements;
 * after a statement that Citus ran over several connections to one node,
 * the rules of the rows written over the other connections still fail in
 * Citus's commit.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "enspiral.h"
#include "relaccess.h"

PG_FUNCTION_INFO_V1(enspiral_check_commit_rules);

/* The query that checks one node's commit-time rules (its first words are in tools/citus_normalize.pl) */
#define CHECK_SQL \
	"SELECT enspiral.check_commit_rules(pg_catalog.max(g.group_id))" \
	"  FROM enspiral.groups g WHERE g.group_id OPERATOR(pg_catalog.=) $1"

/*
 * Fire the pending events of every deferred constraint of schema enspiral
 * now (the shards' constraint triggers carry the shard id in their names),
 * then defer them again
 */
static void
fire_deferred_rules(void)
{
	ConstraintsSetStmt *stmt = makeNode(ConstraintsSetStmt);
	MemoryContext caller = CurrentMemoryContext;

	enspiral_spi_connect();
	if (SPI_execute("SELECT c.conname FROM pg_catalog.pg_constraint c"
					" WHERE c.connamespace OPERATOR(pg_catalog.=) 'enspiral'::pg_catalog.regnamespace"
					"   AND c.condeferrable AND c.condeferred", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the deferred constraints");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		stmt->constraints = lappend(stmt->constraints,
									makeRangeVar("enspiral",
												 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1),
												 -1));
		MemoryContextSwitchTo(spi);
	}
	enspiral_spi_finish();
	if (stmt->constraints == NIL)
		return;
	stmt->deferred = false;
	AfterTriggerSetState(stmt);
	stmt->deferred = true;
	AfterTriggerSetState(stmt);
}

/*
 * enspiral.check_commit_rules(group_id bigint) RETURNS void
 *	  Check the commit-time rules of this transaction on this node now; a
 *	  refusal raises its error.  The coordinator runs it on the node of
 *	  group_id (any value routed there; NULL when no group has it) before
 *	  Citus commits.
 */
Datum
enspiral_check_commit_rules(PG_FUNCTION_ARGS)
{
	fire_deferred_rules();
	PG_RETURN_VOID();
}

/*
 * The roles whose connections to the workers may hold deferred rules, when
 * this node started the current transaction as a Citus distributed
 * transaction (so it is the one that commits it on the workers): the owner
 * of the extension, as whom the API functions (SECURITY DEFINER) write, and
 * the current user when another role that may read enspiral.groups (a
 * direct write).  Citus opens its connections per role, and the rules fire
 * in the worker backend of the connection that wrote.  0 roles otherwise.
 */
static int
roles_to_check(Oid *roles)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	int			n = 0;
	HeapTuple	tup;
	TupleDesc	desc;

	enspiral_plan(&plan,
				  "SELECT e.extowner,"
				  "       e.extowner OPERATOR(pg_catalog.<>) u.oid"
				  "       AND pg_catalog.has_table_privilege(u.oid, 'enspiral.groups', 'SELECT')"
				  "  FROM pg_catalog.get_current_transaction_id() t, pg_catalog.pg_dist_local_group l,"
				  "       pg_catalog.pg_extension e,"
				  "       (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER) u"
				  " WHERE t.transaction_number OPERATOR(pg_catalog.<>) 0"
				  "   AND t.initiator_node_identifier OPERATOR(pg_catalog.=) l.groupid"
				  "   AND e.extname OPERATOR(pg_catalog.=) 'enspiral'",
				  0, NULL);
	if (SPI_execute_plan(plan, NULL, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the distributed transaction");
	if (SPI_processed != 1)
		return 0;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	roles[n++] = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
	if (DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull)) && !isnull)
		roles[n++] = GetUserId();
	return n;
}

/*
 * For every other node holding shards of enspiral.groups, a group_id value
 * whose shard is there (the first such of 1, 2, ...): *n values, palloc'd
 */
static int64 *
node_probes(int *n)
{
	static SPIPlanPtr plan = NULL;
	int64	   *values;

	enspiral_plan(&plan,
				  "SELECT (SELECT x FROM pg_catalog.generate_series(1::pg_catalog.int8, 1000000) x"
				  "         WHERE pg_catalog.get_shard_id_for_distribution_column('enspiral.groups'::pg_catalog.regclass, x)"
				  "               IN (SELECT p.shardid FROM pg_catalog.pg_dist_placement p"
				  "                    WHERE p.groupid OPERATOR(pg_catalog.=) n.groupid)"
				  "         LIMIT 1)"
				  "  FROM (SELECT DISTINCT p.groupid FROM pg_catalog.pg_dist_placement p"
				  "          JOIN pg_catalog.pg_dist_shard s ON s.shardid OPERATOR(pg_catalog.=) p.shardid"
				  "         WHERE s.logicalrelid OPERATOR(pg_catalog.=) 'enspiral.groups'::pg_catalog.regclass"
				  "           AND p.groupid OPERATOR(pg_catalog.<>)"
				  "               (SELECT l.groupid FROM pg_catalog.pg_dist_local_group l)) n",
				  0, NULL);
	if (SPI_execute_plan(plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the placements of enspiral.groups");
	values = SPI_palloc(sizeof(int64) * (SPI_processed + 1));
	*n = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			values[(*n)++] = DatumGetInt64(d);
	}
	return values;
}

/* Run the check on the node of value; an error keeps the remote context only */
static void
check_node(int64 value)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(value)};
	MemoryContext caller = CurrentMemoryContext;

	enspiral_plan(&plan, CHECK_SQL, 1, types);
	PG_TRY();
	{
		if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not check the commit-time rules of a node");
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char	   *ours;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		/* the client did not send this statement: drop its CONTEXT line */
		if (edata->context && (ours = strstr(edata->context, "SQL statement \"" CHECK_SQL "\"")) != NULL)
		{
			while (ours > edata->context && ours[-1] == '\n')
				ours--;
			*ours = '\0';
		}
		ReThrowError(edata);
	}
	PG_END_TRY();
}

/* This transaction forwarded a call to a group's node (core_forward.c) */
static bool forwarded_in_xact = false;

/* Note that a call was forwarded: its rules are checked before the commit */
void
enspiral_commit_rules_forwarded(void)
{
	forwarded_in_xact = true;
}

/* Before Citus commits: every other node checks its commit-time rules */
static void
commit_rules_xact_callback(XactEvent event, void *arg)
{
	Oid			groups;
	int64	   *values = NULL;
	int			n = 0;

	if (event != XACT_EVENT_PRE_COMMIT)
	{
		if (event != XACT_EVENT_PARALLEL_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE)
			forwarded_in_xact = false;
		return;
	}
	if (!IsTransactionState() || IsInParallelMode())
		return;
	/* a call Citus delegated commits on its node, where its rules fire */
	if (!IsTransactionBlock() && !forwarded_in_xact)
		return;
	if (!enspiral_citus_present())
		return;
	groups = relaccess_relid_if_exists("groups");
	if (!OidIsValid(groups))
		return;
	/* the deferred triggers have fired and popped their snapshot */
	PushActiveSnapshot(GetTransactionSnapshot());
	if (relaccess_distributed(groups))
	{
		Oid			roles[2];
		int			nroles;
		Oid			save_userid;
		int			save_sec;

		enspiral_spi_connect();
		nroles = roles_to_check(roles);
		/* an error on the way aborts the transaction, which restores the user */
		GetUserIdAndSecContext(&save_userid, &save_sec);
		for (int r = 0; r < nroles; r++)
		{
			SetUserIdAndSecContext(roles[r], save_sec | SECURITY_LOCAL_USERID_CHANGE);
			/* as the owner (Citus asks for the right to read enspiral.groups) */
			if (r == 0)
				values = node_probes(&n);
			for (int i = 0; i < n; i++)
				check_node(values[i]);
		}
		SetUserIdAndSecContext(save_userid, save_sec);
		enspiral_spi_finish();
	}
	PopActiveSnapshot();
}

/* Module load: register the commit callback */
void
enspiral_commit_rules_init(void)
{
	RegisterXactCallback(commit_rules_xact_callback, NULL);
}
