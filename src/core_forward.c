/*-------------------------------------------------------------------------
 *
 * core_forward.c
 *	  A call that Citus did not delegate runs on the group's node anyway.
 *
 * Citus delegates a call of a group-first function to the node that holds
 * the group's shards only when the call is a statement of its own outside
 * a transaction block (doc/scaling.md).  Any other call runs on the node
 * that received it, usually the coordinator, and its statements reach the
 * group's shards one by one, in other backends.  The guards of the tables
 * that only the API writes (vote tables, account balances, a funded bucket
 * reopened: core_api_write.c) run in those backends, which know nothing of
 * the bracket the API opened here, and refused the API's own writes.
 *
 * So the API functions that open such a bracket first ask
 * enspiral_forward_call(): when the tables are distributed and the group's
 * shards are on another node, it runs the same call there, inside the
 * caller's transaction, as one query that Citus routes to the group's shard:
 *
 *		SELECT enspiral.vote(g.group_id, $2, ...) FROM enspiral.groups g
 *		 WHERE g.group_id = $1
 *
 * The call takes a column of the shard, so Citus cannot evaluate it on the
 * coordinator: the whole query runs on the group's node, where the function
 * finds the shards local, and its bracket and the guards are in the same
 * backend.  The guards stay as they are on every node: a write that does
 * not come from an API function running in the same backend is refused,
 * whoever sends it.  An error raised there reaches the client with its own
 * SQLSTATE, message, detail and hint (Citus re-raises it).
 *
 * The query is a read for Citus, and outside BEGIN Citus runs a read on
 * its node without a transaction block: the call's writes there committed
 * at once, even when the client's statement failed afterwards.  So a
 * forward first makes the transaction a coordinated one
 * (enspiral_citus_coordinate(), core_citus_actor.c): the node's block ends
 * with the client's transaction, and carries the acting member.
 *
 * No group row: nothing is forwarded and the call runs here, where it
 * raises the same "does not exist" as on a single server.
 *
 * Why not create_distributed_function(..., force_delegation => true):
 * Citus then delegates the call inside a transaction block, but every
 * later statement of the transaction must be routed by the same group to
 * the same node, or it fails; a transaction that votes in two groups, or
 * reads across groups after a vote, would fail.  Forwarding keeps Citus's
 * ordinary distributed transaction.
 *
 * On a single server the test is the cached answer "enspiral.groups is not
 * distributed" (core_relaccess.c): nothing else runs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "enspiral.h"
#include "relaccess.h"

PG_FUNCTION_INFO_V1(enspiral_group_elsewhere);
PG_FUNCTION_INFO_V1(enspiral_note_group);
PG_FUNCTION_INFO_V1(enspiral_noted_group);

/* True when enspiral.groups is distributed and group_id's shard is on another node */
static bool
group_elsewhere(int64 group_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(group_id)};
	bool		isnull;
	bool		local;

	if (!relaccess_distributed(relaccess_relid("groups")))
		return false;
	enspiral_spi_connect();
	enspiral_plan(&plan,
				  "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement p"
				  " WHERE p.shardid OPERATOR(pg_catalog.=) pg_catalog.get_shard_id_for_distribution_column("
				  "         'enspiral.groups'::pg_catalog.regclass, $1)"
				  "   AND p.groupid OPERATOR(pg_catalog.=)"
				  "       (SELECT l.groupid FROM pg_catalog.pg_dist_local_group l))",
				  1, types);
	if (SPI_execute_plan(plan, values, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the placement of group %lld", (long long) group_id);
	local = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	enspiral_spi_finish();
	return !local;
}

/*
 * Before a call runs on group_id's node: checked before the commit there
 * (core_commit_rules.c), in a transaction that ends with this one there
 */
static void
forwarding_to(int64 group_id)
{
	enspiral_commit_rules_forwarded(group_id);
	(void) enspiral_citus_coordinate();
}

/*
 * Run fn(args...) (args[0] is group_id) on the group's node through a query
 * that Citus routes there; true with *result and *isnull set (copied into the
 * caller's memory), false when the group has no row (nothing ran)
 */
static bool
forward(Oid fn, int nargs, const Datum *args, const bool *argnulls, Datum *result, bool *isnull)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			rettype;
	Oid		   *argtypes;
	int			n;
	StringInfoData sql;
	char	   *nulls = palloc(nargs * sizeof(char));
	bool		found;

	rettype = get_func_signature(fn, &argtypes, &n);
	if (n != nargs || argtypes[0] != INT8OID)
		elog(ERROR, "function %u cannot be forwarded", fn);
	forwarding_to(DatumGetInt64(args[0]));
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s.%s(g.group_id",
					 quote_identifier(get_namespace_name(get_func_namespace(fn))),
					 quote_identifier(get_func_name(fn)));
	for (int i = 1; i < nargs; i++)
		appendStringInfo(&sql, ", $%d", i + 1);
	appendStringInfoString(&sql, ") FROM enspiral.groups g"
						   " WHERE g.group_id OPERATOR(pg_catalog.=) $1");
	for (int i = 0; i < nargs; i++)
		nulls[i] = argnulls[i] ? 'n' : ' ';
	enspiral_spi_connect();
	if (SPI_execute_with_args(sql.data, nargs, argtypes, (Datum *) args, nulls, false, 2) !=
		SPI_OK_SELECT || SPI_processed > 1)
		elog(ERROR, "forwarding failed: %s", sql.data);
	found = SPI_processed == 1;
	if (found)
	{
		Datum		v = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
		int16		len;
		bool		byval;

		*result = (Datum) 0;
		if (!*isnull && rettype != VOIDOID)
		{
			MemoryContext spi = MemoryContextSwitchTo(caller);

			get_typlenbyval(rettype, &len, &byval);
			*result = datumCopy(v, byval, len);
			MemoryContextSwitchTo(spi);
		}
	}
	enspiral_spi_finish();
	return found;
}

/*
 * enspiral_forward_call(fcinfo, group_id, &result): when the group's shards
 * are on another node (Citus), run this same call there, in this
 * transaction; true with the result (fcinfo->isnull set), false when the
 * call must run here (a single server, a local group, no such group)
 */
bool
enspiral_forward_call(FunctionCallInfo fcinfo, int64 group_id, Datum *result)
{
	Datum	   *args;
	bool	   *nulls;

	if (!group_elsewhere(group_id))
		return false;
	args = palloc(fcinfo->nargs * sizeof(Datum));
	nulls = palloc(fcinfo->nargs * sizeof(bool));
	for (int i = 0; i < fcinfo->nargs; i++)
	{
		args[i] = fcinfo->args[i].value;
		nulls[i] = fcinfo->args[i].isnull;
	}
	return forward(fcinfo->flinfo->fn_oid, fcinfo->nargs, args, nulls, result, &fcinfo->isnull);
}

/*
 * enspiral_forward_to(signature, group_id, ...): for a 0.1.0 call that names
 * no group, once its group is known (group_id 0: unknown): when the group's
 * shards are on another node, run the group-first function named by
 * signature with args (args[0] the group) there; as enspiral_forward_call
 */
bool
enspiral_forward_to(const char *signature, int64 group_id, int nargs, const Datum *args,
					const bool *nulls, Datum *result, bool *isnull)
{
	if (group_id == 0 || !group_elsewhere(group_id))
		return false;
	return forward(DatumGetObjectId(DirectFunctionCall1(regprocedurein,
														CStringGetDatum(signature))),
				   nargs, args, nulls, result, isnull);
}

/*
 * enspiral_forward_by_id(fcinfo, table, index, signature, &result): for a
 * 0.1.0 call whose first argument is the id of a row of enspiral.<table>
 * (the leading column of <index>): when the tables are distributed and the
 * row's group is on another node, run the group-first function named by
 * signature there with (group_id, the call's arguments); as
 * enspiral_forward_to (false: the call runs here)
 */
bool
enspiral_forward_by_id(FunctionCallInfo fcinfo, const char *table, const char *index,
					   const char *signature, Datum *result)
{
	int			nargs = fcinfo->nargs + 1;
	Datum	   *args;
	bool	   *nulls;

	if (PG_ARGISNULL(0) || !relaccess_distributed(relaccess_relid(table)))
		return false;
	args = palloc(nargs * sizeof(Datum));
	nulls = palloc(nargs * sizeof(bool));
	args[0] = Int64GetDatum(relaccess_group_of(table, index, PG_GETARG_INT64(0)));
	nulls[0] = false;
	for (int i = 0; i < fcinfo->nargs; i++)
	{
		nulls[i + 1] = PG_ARGISNULL(i);
		args[i + 1] = nulls[i + 1] ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	return enspiral_forward_to(signature, DatumGetInt64(args[0]), nargs, args, nulls, result,
							   &fcinfo->isnull);
}

/*
 * enspiral.group_elsewhere(group_id bigint) RETURNS boolean
 *	  True when the tables are distributed and the group's shards are on
 *	  another node: a PL/pgSQL API function then runs its group-first form
 *	  there, as enspiral_forward_call() does for C (close_proposal()); the
 *	  group's shard is then checked before the commit (core_commit_rules.c).
 */
Datum
enspiral_group_elsewhere(PG_FUNCTION_ARGS)
{
	bool		elsewhere;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	elsewhere = group_elsewhere(PG_GETARG_INT64(0));
	/* the caller runs its call there: checked before the commit as forwarded */
	if (elsewhere)
		forwarding_to(PG_GETARG_INT64(0));
	PG_RETURN_BOOL(elsewhere);
}

/* The table_name argument of note_group() and noted_group(), checked */
static char *
noted_table(text *arg)
{
	char	   *table = text_to_cstring(arg);

	if (strcmp(table, "rounds") != 0 && strcmp(table, "buckets") != 0 &&
		strcmp(table, "proposals") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table_name must be rounds, buckets or proposals"),
				 errdetail("Table \"%s\" has no row id of its own.", table)));
	return table;
}

/*
 * enspiral.note_group(group_id, table_name, id): row id of
 * enspiral.<table_name> is in the group, as the caller has checked;
 * remembered for lookups by id on a distributed table (core_relaccess.c)
 */
Datum
enspiral_note_group(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_VOID();
	relaccess_note_group(noted_table(PG_GETARG_TEXT_PP(1)), PG_GETARG_INT64(2),
						 PG_GETARG_INT64(0));
	PG_RETURN_VOID();
}

/*
 * enspiral.noted_group(table_name, id) RETURNS bigint: the group noted for
 * row id of enspiral.<table_name> in this backend, or NULL (none noted, or
 * the table is not distributed): a 0.1.0 form's lookup by id reads that
 * group's shard only
 */
Datum
enspiral_noted_group(PG_FUNCTION_ARGS)
{
	int64		group_id = relaccess_noted_group(noted_table(PG_GETARG_TEXT_PP(0)),
												 PG_GETARG_INT64(1));

	if (group_id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(group_id);
}
