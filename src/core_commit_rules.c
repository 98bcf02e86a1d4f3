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
 * So before Citus commits, the coordinator asks the shards the transaction
 * wrote to check their commit-time rules now, inside the same distributed
 * transaction: an XactCallback at XACT_EVENT_PRE_COMMIT (ours runs before
 * Citus's: PostgreSQL calls the callbacks last registered first, and Citus
 * is always loaded first) runs, for each such shard, one query that Citus
 * routes to the shard of enspiral.groups:
 *
 *		SELECT enspiral.check_commit_rules(max(g.group_id))
 *		  FROM enspiral.groups g WHERE g.group_id OPERATOR(pg_catalog.=) $1
 *
 * ($1 a value routed to the shard; the group need not exist).  Citus sends
 * a query on a shard over the connection that already accessed the shard's
 * co-located placements in the transaction, so the query reaches the worker
 * backend that wrote the rows.  On the node, enspiral.check_commit_rules()
 * fires the pending events of enspiral's deferred rules (SET CONSTRAINTS ...
 * IMMEDIATE on the constraint triggers of the tables and their shards, then
 * DEFERRED again): a refusal is an ordinary statement error, which Citus
 * re-raises on the coordinator with its SQLSTATE, message, detail and hint,
 * and the COMMIT fails with it, as on a single server.
 *
 * Which shards: when the transaction wrote only through forwarded calls
 * (core_forward.c notes each call's group), the shards of those groups;
 * when a statement that writes ran on this node (an ExecutorStart hook
 * notes it: a PL/pgSQL call that Citus did not delegate, a direct write,
 * a COPY FROM), its rows may be on any node, and every shard on another
 * node is asked; when nothing was written, none (a vote in a transaction
 * block asked both workers before, which made both take part in a
 * two-phase commit: 79 ms against 2.4 ms for the delegated vote,
 * bench/citus_latency.sh).
 *
 * Citus opens its connections per role, and the rules fire in the worker
 * backend of the connection that wrote: the query runs as the roles the
 * forwarded calls ran as (the owner of the extension, as whom the API
 * functions write: they are SECURITY DEFINER) and, after a write on this
 * node, as the owner and the current user when that is another role that
 * may read enspiral.groups (a direct write).
 *
 * A call that Citus delegated commits on the group's node, where a refusal
 * reaches the client as it is: outside a transaction block, a worker asks
 * nothing unless it forwarded a call.  And only a transaction that this
 * node started as a Citus distributed transaction asks
 * (pg_catalog.get_current_transaction_id()); on a single server, or in a
 * database without distributed enspiral tables, the callback returns after
 * cached catalog lookups.  The library must be loaded before the session's
 * first write (session_preload_libraries on Citus, doc/scaling.md): a
 * write through the coordinator may call no C function of enspiral there.
 * Limit (doc/scaling.md): rows written by a function that a client's own
 * query pushed down to the workers are neither forwarded nor written here.
 *
 * A client's SET CONSTRAINTS, which Citus does not send to the workers,
 * is sent by a ProcessUtility hook after it ran here: for every shard on
 * another node, enspiral.set_commit_rules(group_id, names, deferred) sets
 * enspiral's deferrable constraints named (NULL: ALL) on that node, so an
 * IMMEDIATE fires the pending events of the rows written there now.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "enspiral.h"
#include "relaccess.h"

PG_FUNCTION_INFO_V1(enspiral_check_commit_rules);
PG_FUNCTION_INFO_V1(enspiral_set_commit_rules);

/* The query that checks one node's commit-time rules (its first words are in tools/citus_normalize.pl) */
#define CHECK_SQL \
	"SELECT enspiral.check_commit_rules(pg_catalog.max(g.group_id))" \
	"  FROM enspiral.groups g WHERE g.group_id OPERATOR(pg_catalog.=) $1"

/* The query that sends a client's SET CONSTRAINTS to one node (the same shape) */
#define SET_SQL \
	"SELECT enspiral.set_commit_rules(pg_catalog.max(g.group_id), $2, $3)" \
	"  FROM enspiral.groups g WHERE g.group_id OPERATOR(pg_catalog.=) $1"

/*
 * The deferrable constraints of schema enspiral named in names (a text[];
 * a shard's constraint carries its shard id: name_102040; every one when
 * names is NULL), only those deferred by default when initially_deferred,
 * as RangeVars in the caller's memory; NIL when none
 */
static List *
deferrable_rules(Datum names, bool names_null, bool initially_deferred)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[2] = {TEXTARRAYOID, BOOLOID};
	Datum		args[2] = {names, BoolGetDatum(initially_deferred)};
	MemoryContext caller = CurrentMemoryContext;
	List	   *rules = NIL;

	enspiral_spi_connect();
	enspiral_plan(&plan,
				  "SELECT c.conname FROM pg_catalog.pg_constraint c"
				  " WHERE c.connamespace OPERATOR(pg_catalog.=) 'enspiral'::pg_catalog.regnamespace"
				  "   AND c.condeferrable AND (c.condeferred OR NOT $2)"
				  "   AND ($1 IS NULL OR c.conname OPERATOR(pg_catalog.=) ANY ($1)"
				  "        OR pg_catalog.regexp_replace(c.conname, '_[0-9]+$', '')"
				  "           OPERATOR(pg_catalog.=) ANY ($1))",
				  2, types);
	if (SPI_execute_plan(plan, args, names_null ? "n " : "  ", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the deferred constraints");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		rules = lappend(rules, makeRangeVar("enspiral",
											SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1),
											-1));
		MemoryContextSwitchTo(spi);
	}
	enspiral_spi_finish();
	return rules;
}

/*
 * Fire the pending events of every deferred constraint of schema enspiral
 * now (the shards' constraint triggers carry the shard id in their names),
 * then defer them again
 */
static void
fire_deferred_rules(void)
{
	ConstraintsSetStmt *stmt = makeNode(ConstraintsSetStmt);

	stmt->constraints = deferrable_rules((Datum) 0, true, true);
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
 * enspiral.set_commit_rules(group_id bigint, constraint_names text[],
 *							 deferred boolean) RETURNS void
 *	  A client's SET CONSTRAINTS, run on this node: the deferred constraints
 *	  of enspiral named (and their shards'; NULL: ALL) become IMMEDIATE (their
 *	  pending events fire now, a refusal raises its error) or DEFERRED for
 *	  the rest of the transaction.  The coordinator runs it on the node of
 *	  group_id (any value routed there) when the client's statement runs.
 */
Datum
enspiral_set_commit_rules(PG_FUNCTION_ARGS)
{
	ConstraintsSetStmt *stmt = makeNode(ConstraintsSetStmt);

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("deferred must not be NULL")));
	stmt->deferred = PG_GETARG_BOOL(2);
	if (!PG_ARGISNULL(1))
	{
		stmt->constraints = deferrable_rules(PG_GETARG_DATUM(1), false, false);
		/* none of enspiral's: nothing to do here (NIL would mean ALL) */
		if (stmt->constraints == NIL)
			PG_RETURN_VOID();
	}
	AfterTriggerSetState(stmt);
	PG_RETURN_VOID();
}

/*
 * The roles whose connections to the workers may hold deferred rules, when
 * this node started the current transaction as a Citus distributed
 * transaction (so it is the one that commits it on the workers): the owner
 * of the extension, as whom the API functions (SECURITY DEFINER) write, and
 * the current user when another role that may read enspiral.groups (a
 * direct write).  Citus opens its connections per role, and the rules fire
 * in the worker backend of the connection that wrote.  With not_yet, also
 * when the transaction is not a distributed transaction yet (a client's
 * transaction block that has not reached another node: what this node
 * sends next makes it one, started here).  0 roles otherwise.
 */
static int
roles_to_check(Oid *roles, bool not_yet)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {BOOLOID};
	Datum		args[1] = {BoolGetDatum(not_yet)};
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
				  " WHERE (t.transaction_number OPERATOR(pg_catalog.<>) 0"
				  "        AND t.initiator_node_identifier OPERATOR(pg_catalog.=) l.groupid"
				  "        OR $1 AND t.transaction_number OPERATOR(pg_catalog.=) 0)"
				  "   AND e.extname OPERATOR(pg_catalog.=) 'enspiral'",
				  1, types);
	if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT)
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
 * For every shard of enspiral.groups on another node, a group_id value
 * routed to it (the first such of 1, 2, ...): *n values, palloc'd.  Citus
 * sends a query on a shard over the connection that already accessed the
 * shard's co-located placements in the transaction, so a query per shard
 * reaches every connection (and worker backend) that wrote enspiral's rows,
 * also after a statement that Citus ran over several connections to a node.
 */
static int64 *
shard_probes(int *n)
{
	static SPIPlanPtr plan = NULL;
	int64	   *values;

	enspiral_plan(&plan,
				  "SELECT (SELECT x FROM pg_catalog.generate_series(1::pg_catalog.int8, 1000000) x"
				  "         WHERE pg_catalog.get_shard_id_for_distribution_column('enspiral.groups'::pg_catalog.regclass, x)"
				  "               OPERATOR(pg_catalog.=) s.shardid"
				  "         LIMIT 1)"
				  "  FROM pg_catalog.pg_dist_shard s"
				  "  JOIN pg_catalog.pg_dist_placement p ON p.shardid OPERATOR(pg_catalog.=) s.shardid"
				  " WHERE s.logicalrelid OPERATOR(pg_catalog.=) 'enspiral.groups'::pg_catalog.regclass"
				  "   AND p.groupid OPERATOR(pg_catalog.<>)"
				  "       (SELECT l.groupid FROM pg_catalog.pg_dist_local_group l)"
				  " ORDER BY p.groupid, s.shardid",
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

/*
 * For the groups of this transaction's forwarded calls, one group_id value
 * per shard on another node that holds one of them (routed over the
 * connection that ran the call): *n values, palloc'd
 */
static int64 *
group_probes(const int64 *groups, int ngroups, int *n)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {INT8ARRAYOID};
	Datum	   *elems = palloc(sizeof(Datum) * ngroups);
	Datum		arg;
	int64	   *values;

	for (int i = 0; i < ngroups; i++)
		elems[i] = Int64GetDatum(groups[i]);
	arg = PointerGetDatum(construct_array(elems, ngroups, INT8OID, sizeof(int64),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	enspiral_plan(&plan,
				  "SELECT DISTINCT ON (v.shardid) v.x"
				  "  FROM (SELECT x, pg_catalog.get_shard_id_for_distribution_column("
				  "                    'enspiral.groups'::pg_catalog.regclass, x) AS shardid"
				  "          FROM pg_catalog.unnest($1) x) v"
				  "  JOIN pg_catalog.pg_dist_placement p ON p.shardid OPERATOR(pg_catalog.=) v.shardid"
				  " WHERE p.groupid OPERATOR(pg_catalog.<>)"
				  "       (SELECT l.groupid FROM pg_catalog.pg_dist_local_group l)"
				  " ORDER BY v.shardid, v.x",
				  1, types);
	if (SPI_execute_plan(plan, &arg, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the placements of enspiral.groups");
	values = SPI_palloc(sizeof(int64) * (SPI_processed + 1));
	*n = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		values[(*n)++] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));
	}
	return values;
}

/*
 * Run sql (CHECK_SQL or SET_SQL, $1 the probe value) on the node of
 * args[0]; an error keeps the remote context only
 */
static void
run_on_node(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types, Datum *args,
			const char *nulls)
{
	MemoryContext caller = CurrentMemoryContext;

	enspiral_plan(plan, sql, nargs, types);
	PG_TRY();
	{
		if (SPI_execute_plan(*plan, args, nulls, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not run the commit-time rules on a node");
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char	   *quoted = psprintf("SQL statement \"%s\"", sql);
		char	   *ours;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		/* the client did not send this statement: drop its CONTEXT line */
		if (edata->context && (ours = strstr(edata->context, quoted)) != NULL)
		{
			while (ours > edata->context && ours[-1] == '\n')
				ours--;
			*ours = '\0';
		}
		ReThrowError(edata);
	}
	PG_END_TRY();
}

/*
 * What this transaction wrote on other nodes, as far as this node can tell:
 * the groups of its forwarded calls (core_forward.c) and the roles they ran
 * as, and whether a statement that writes ran here (its rows may be on any
 * node).  Kept in TopTransactionContext, forgotten at the end.
 */
#define MAX_FORWARDED 16
static int64 forwarded_groups[MAX_FORWARDED];
static int	nforwarded_groups = 0;
static Oid	forwarded_roles[4];
static int	nforwarded_roles = 0;
static bool forwarded_many = false;
static bool wrote_here = false;

/* Note that a call was forwarded to group_id's node: its rules are checked before the commit */
void
enspiral_commit_rules_forwarded(int64 group_id)
{
	Oid			role = GetUserId();
	int			i;

	for (i = 0; i < nforwarded_groups && forwarded_groups[i] != group_id; i++)
		;
	if (i == nforwarded_groups)
	{
		if (i < MAX_FORWARDED)
			forwarded_groups[nforwarded_groups++] = group_id;
		else
			forwarded_many = true;
	}
	for (i = 0; i < nforwarded_roles && forwarded_roles[i] != role; i++)
		;
	if (i == nforwarded_roles)
	{
		if (i < lengthof(forwarded_roles))
			forwarded_roles[nforwarded_roles++] = role;
		else
			forwarded_many = true;
	}
}

/* Add role to roles[*n] (at most max) unless it is there; false when full */
static bool
add_role(Oid *roles, int *n, int max, Oid role)
{
	for (int i = 0; i < *n; i++)
		if (roles[i] == role)
			return true;
	if (*n == max)
		return false;
	roles[(*n)++] = role;
	return true;
}

/*
 * The nodes to ask and as whom: every other node holding shards, as the
 * roles of roles_to_check() and of the forwarded calls, when a statement
 * that writes ran here; otherwise only the nodes of the forwarded calls'
 * groups, as the roles they ran as.  *nvalues probe values and *nroles
 * roles (0 when this node does not commit the transaction on the others).
 */
static int64 *
nodes_to_check(int *nvalues, Oid *roles, int *nroles, int maxroles)
{
	Oid			owner_roles[2];
	int			nowner = roles_to_check(owner_roles, false);
	bool		every = wrote_here || forwarded_many;
	Oid			save_userid;
	int			save_sec;
	int64	   *values;

	*nroles = 0;
	*nvalues = 0;
	if (nowner == 0)
		return NULL;
	if (every)
		for (int i = 0; i < nowner; i++)
			(void) add_role(roles, nroles, maxroles, owner_roles[i]);
	for (int i = 0; i < nforwarded_roles; i++)
		if (!add_role(roles, nroles, maxroles, forwarded_roles[i]))
			elog(ERROR, "too many roles forwarded calls in this transaction");
	/* as the owner (Citus asks for the right to read enspiral.groups) */
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner_roles[0], save_sec | SECURITY_LOCAL_USERID_CHANGE);
	if (every)
		values = shard_probes(nvalues);
	else
		values = group_probes(forwarded_groups, nforwarded_groups, nvalues);
	SetUserIdAndSecContext(save_userid, save_sec);
	return values;
}

/* Run the check on the node of value */
static void
check_node(int64 value)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(value)};

	run_on_node(&plan, CHECK_SQL, 1, types, args, NULL);
}

/* True on the coordinator (Citus's node group 0), asked once per backend */
static bool
on_coordinator(void)
{
	static int	coordinator = -1;

	if (coordinator < 0)
	{
		bool		isnull;

		enspiral_spi_connect();
		if (SPI_execute("SELECT l.groupid OPERATOR(pg_catalog.=) 0 FROM pg_catalog.pg_dist_local_group l",
						true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not read the local node group");
		coordinator = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												 1, &isnull)) ? 1 : 0;
		enspiral_spi_finish();
	}
	return coordinator == 1;
}

/* Forget what the transaction wrote */
static void
forget_writes(void)
{
	nforwarded_groups = 0;
	nforwarded_roles = 0;
	forwarded_many = false;
	wrote_here = false;
}

/* Before Citus commits: the nodes this transaction wrote check their commit-time rules */
static void
commit_rules_xact_callback(XactEvent event, void *arg)
{
	Oid			groups;

	if (event != XACT_EVENT_PRE_COMMIT)
	{
		if (event != XACT_EVENT_PARALLEL_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE)
			forget_writes();
		return;
	}
	if (!IsTransactionState() || IsInParallelMode())
		return;
	/* nothing written through this node */
	if (nforwarded_groups == 0 && !forwarded_many && !wrote_here)
		return;
	if (!enspiral_citus_present())
		return;
	groups = relaccess_relid_if_exists("groups");
	if (!OidIsValid(groups))
		return;
	/* the deferred triggers have fired and popped their snapshot */
	PushActiveSnapshot(GetTransactionSnapshot());
	/*
	 * a call that Citus delegated to a worker commits there, where its rules
	 * fire (a statement of its own, outside a transaction block, on a node
	 * other than the coordinator: nothing to ask)
	 */
	if (relaccess_distributed(groups) &&
		(IsTransactionBlock() || nforwarded_groups > 0 || forwarded_many || on_coordinator()))
	{
		Oid			roles[8];
		int			nroles;
		int64	   *values;
		int			n;
		Oid			save_userid;
		int			save_sec;

		enspiral_spi_connect();
		values = nodes_to_check(&n, roles, &nroles, lengthof(roles));
		/* an error on the way aborts the transaction, which restores the user */
		GetUserIdAndSecContext(&save_userid, &save_sec);
		for (int r = 0; r < nroles; r++)
		{
			SetUserIdAndSecContext(roles[r], save_sec | SECURITY_LOCAL_USERID_CHANGE);
			for (int i = 0; i < n; i++)
				check_node(values[i]);
		}
		SetUserIdAndSecContext(save_userid, save_sec);
		enspiral_spi_finish();
	}
	PopActiveSnapshot();
}

/*
 * The names of enspiral's deferrable constraints that a SET CONSTRAINTS
 * names, as a text[] in *names, or *null 'n' for ALL; false when it names
 * none of enspiral's (nothing to send).  Needs an active snapshot.
 */
static bool
set_constraints_names(ConstraintsSetStmt *stmt, Datum *names, char *null)
{
	List	   *rules;
	Datum	   *elems;
	int			k = 0;
	ListCell   *lc;

	*null = ' ';
	if (stmt->constraints == NIL)
	{
		*null = 'n';
		return true;
	}
	elems = palloc(sizeof(Datum) * list_length(stmt->constraints));
	foreach(lc, stmt->constraints)
	{
		RangeVar   *rv = lfirst_node(RangeVar, lc);

		if (rv->schemaname == NULL || strcmp(rv->schemaname, "enspiral") == 0)
			elems[k++] = PointerGetDatum(cstring_to_text(rv->relname));
	}
	rules = k == 0 ? NIL :
		deferrable_rules(PointerGetDatum(construct_array(elems, k, TEXTOID, -1, false, TYPALIGN_INT)),
						 false, false);
	if (rules == NIL)
		return false;
	k = 0;
	foreach(lc, rules)
		elems[k++] = PointerGetDatum(cstring_to_text(lfirst_node(RangeVar, lc)->relname));
	*names = PointerGetDatum(construct_array(elems, k, TEXTOID, -1, false, TYPALIGN_INT));
	return true;
}

/*
 * Send SET CONSTRAINTS (names as set_constraints_names() gives them) to
 * every shard on another node, as every role whose connections may hold
 * enspiral's deferred rules; inside SPI, with an active snapshot
 */
static void
send_set_constraints_to_shards(Datum names, char names_null, bool deferred)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[3] = {INT8OID, TEXTARRAYOID, BOOLOID};
	Datum		args[3] = {0, names, BoolGetDatum(deferred)};
	char		nulls[3] = {' ', names_null, ' '};
	Oid			owner_roles[2];
	Oid			roles[8];
	int			nroles = 0;
	int			nowner = roles_to_check(owner_roles, IsTransactionBlock());
	int64	   *values;
	int			n;
	Oid			save_userid;
	int			save_sec;

	if (nowner == 0)
		return;
	for (int i = 0; i < nowner; i++)
		(void) add_role(roles, &nroles, lengthof(roles), owner_roles[i]);
	for (int i = 0; i < nforwarded_roles; i++)
		(void) add_role(roles, &nroles, lengthof(roles), forwarded_roles[i]);
	if (!deferred)
		(void) set_config_option("citus.multi_shard_modify_mode", "sequential",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
								 true, 0, false);
	/* an error on the way aborts the transaction, which restores the user */
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner_roles[0], save_sec | SECURITY_LOCAL_USERID_CHANGE);
	values = shard_probes(&n);
	for (int r = 0; r < nroles; r++)
	{
		SetUserIdAndSecContext(roles[r], save_sec | SECURITY_LOCAL_USERID_CHANGE);
		for (int i = 0; i < n; i++)
		{
			args[0] = Int64GetDatum(values[i]);
			run_on_node(&plan, SET_SQL, 3, types, args, nulls);
		}
	}
	SetUserIdAndSecContext(save_userid, save_sec);
}

/*
 * After a client's SET CONSTRAINTS on the node that runs a distributed
 * transaction (or a transaction block that has not reached another node
 * yet): the same on every other node holding shards, so that IMMEDIATE
 * checks the rules of rows written there now, as on a single server.
 * Citus runs a multi-shard statement over several connections per node,
 * which would not have the setting: an IMMEDIATE keeps the rest of the
 * transaction on one connection per node (citus.multi_shard_modify_mode =
 * sequential, SET LOCAL).
 */
static void
send_set_constraints(ConstraintsSetStmt *stmt)
{
	Oid			groups;
	Datum		names = (Datum) 0;
	char		names_null;

	if (!IsTransactionState() || !enspiral_citus_present())
		return;
	groups = relaccess_relid_if_exists("groups");
	if (!OidIsValid(groups) || !relaccess_distributed(groups))
		return;
	/* SET CONSTRAINTS runs without a snapshot: the queries below need one */
	PushActiveSnapshot(GetTransactionSnapshot());
	if (set_constraints_names(stmt, &names, &names_null))
	{
		enspiral_spi_connect();
		send_set_constraints_to_shards(names, names_null, stmt->deferred);
		enspiral_spi_finish();
	}
	PopActiveSnapshot();
}

static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;

/* ProcessUtility hook: a client's SET CONSTRAINTS reaches the nodes; a COPY FROM writes */
static void
commit_rules_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
							bool readOnlyTree, ProcessUtilityContext context,
							ParamListInfo params, QueryEnvironment *queryEnv,
							DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	if (IsA(parsetree, CopyStmt) && ((CopyStmt *) parsetree)->is_from)
		wrote_here = true;
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
	if (IsA(parsetree, ConstraintsSetStmt))
		send_set_constraints((ConstraintsSetStmt *) parsetree);
}

/* ExecutorStart hook: note a statement that writes (its rows may be on any node) */
static void
commit_rules_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (queryDesc->operation != CMD_SELECT || queryDesc->plannedstmt->hasModifyingCTE)
		wrote_here = true;
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/* Module load: register the commit callback and the hooks */
void
enspiral_commit_rules_init(void)
{
	RegisterXactCallback(commit_rules_xact_callback, NULL);
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = commit_rules_ProcessUtility;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = commit_rules_ExecutorStart;
}
