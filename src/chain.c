/*-------------------------------------------------------------------------
 *
 * chain.c
 *	  The hash chain of each group (doc/audit.md): every ledger transfer and
 *	  every recorded outcome becomes one link of enspiral.chain_links, whose
 *	  hash covers the canonical content of the row (enspiral.chain_content)
 *	  and the hash of the group's previous link (enspiral.chain_hash).
 *
 *	  Links are appended by a deferred constraint trigger, so the group's
 *	  chain lock is the last lock a writer takes and is held only while it
 *	  commits: writers of one group serialize their commits, never their
 *	  work, and no new lock-order cycle appears.  The head is read with the
 *	  latest snapshot under that lock, so REPEATABLE READ writers chain
 *	  correctly too.  A row that already has its link (a restored chain) is
 *	  not linked again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "enspiral.h"

/* Advisory lock space of the chain head of a group (field4 of the tag) */
#define CHAIN_LOCK_HEAD		0x4E60

/* The enspiral tables that carry a chain: keep in step with chain_entries */
static const char *const chained_tables[] = {"transfers", "outcomes"};

#define MAX_CHAIN_KEYS 4

PG_FUNCTION_INFO_V1(enspiral_chain_link);
PG_FUNCTION_INFO_V1(enspiral_chain_stamp);

/*
 * Run the chain's SPI work as the owner of the chained table, as the foreign
 * key triggers do: a link is appended at commit, after the SECURITY DEFINER
 * API returned, so the current user may be an application role that has no
 * privilege on the chain.  Returns the previous security context.
 */
static void
chain_become_owner(Relation rel, Oid *save_userid, int *save_sec_context)
{
	GetUserIdAndSecContext(save_userid, save_sec_context);
	SetUserIdAndSecContext(RelationGetForm(rel)->relowner,
						   *save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_NOFORCE_RLS);
}

/* Take the chain lock of a group until the end of the transaction */
static void
chain_lock(int64 group_id)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) ((uint64) group_id >> 32),
						 (uint32) group_id, CHAIN_LOCK_HEAD);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/* A column of the trigger's row by name, as int64 (int4 or int8 columns) */
static int64
chain_int_column(HeapTuple tup, TupleDesc desc, const char *name)
{
	int			attno = SPI_fnumber(desc, name);
	bool		isnull;
	Datum		d;

	if (attno <= 0)
		elog(ERROR, "column \"%s\" not found", name);
	d = SPI_getbinval(tup, desc, attno, &isnull);
	if (isnull)
		elog(ERROR, "key column \"%s\" is NULL", name);
	if (SPI_gettypeid(desc, attno) == INT4OID)
		return (int64) DatumGetInt32(d);
	if (SPI_gettypeid(desc, attno) != INT8OID)
		elog(ERROR, "key column \"%s\" is not an integer", name);
	return DatumGetInt64(d);
}

/* The row key (the primary key after group_id) named by the trigger arguments */
static Datum
chain_row_key(TriggerData *td)
{
	Trigger    *tg = td->tg_trigger;
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	Datum		keys[MAX_CHAIN_KEYS];
	int			n = tg->tgnargs - 1;

	if (n < 1 || n > MAX_CHAIN_KEYS)
		elog(ERROR, "chain_link needs a source name and 1 to %d key columns", MAX_CHAIN_KEYS);
	for (int i = 0; i < n; i++)
		keys[i] = Int64GetDatum(chain_int_column(td->tg_trigtuple, desc, tg->tgargs[i + 1]));
	return PointerGetDatum(construct_array(keys, n, INT8OID, sizeof(int64), true,
										   TYPALIGN_DOUBLE));
}

/* The canonical content of the trigger's row: enspiral.chain_content(row) */
static Datum
chain_row_content(TriggerData *td)
{
	/* one saved plan per chained table (the argument type is its row type) */
	static SPIPlanPtr plans[lengthof(chained_tables)];
	static Oid	plan_types[lengthof(chained_tables)];
	Oid			rowtype;
	TupleDesc	desc;
	HeapTuple	tuple;
	HeapTupleHeader row;
	Datum		args[1];
	bool		isnull;
	Datum		d;
	int			i;

	for (i = 0; i < (int) lengthof(chained_tables); i++)
		if (enspiral_relation_is(td->tg_relation, chained_tables[i]))
			break;
	if (i == (int) lengthof(chained_tables))
		elog(ERROR, "relation is not chained");
	/* on a Citus shard, the row as a row of the table (citus.c) */
	tuple = enspiral_tuple_as_table(td->tg_relation, td->tg_trigtuple, chained_tables[i],
									&desc, &rowtype);
	if (plan_types[i] != rowtype)
	{
		plans[i] = NULL;		/* the table was recreated: plan anew */
		plan_types[i] = rowtype;
	}
	enspiral_plan(&plans[i], "SELECT enspiral.chain_content($1)", 1, &rowtype);
	row = DatumGetHeapTupleHeader(heap_copy_tuple_as_datum(tuple, desc));
	args[0] = PointerGetDatum(row);
	if (SPI_execute_plan(plans[i], args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "chain content failed");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "chain content is NULL");
	return d;
}

/* Append the link of one row to its group's chain, unless it has one */
static void
chain_append(int64 group_id, Datum source, Datum row_key, Datum content)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[4] = {INT8OID, TEXTOID, INT8ARRAYOID, TEXTOID};
	Datum		args[4] = {Int64GetDatum(group_id), source, row_key, content};

	/* the head is the latest committed link (or ours): read it fresh */
	enspiral_plan(&plan,
				  "INSERT INTO enspiral.chain_links (group_id, position, source, row_key, hash)"
				  " SELECT $1, h.position OPERATOR(pg_catalog.+) 1, $2, $3,"
				  "        enspiral.chain_hash(h.hash, h.position OPERATOR(pg_catalog.+) 1, $4)"
				  "   FROM enspiral.chain_head_link($1) h"
				  "  WHERE NOT EXISTS (SELECT 1 FROM enspiral.chain_links l"
				  "                     WHERE l.group_id OPERATOR(pg_catalog.=) $1"
				  "                       AND l.source OPERATOR(pg_catalog.=) $2"
				  "                       AND l.row_key OPERATOR(pg_catalog.=) $3)",
				  4, argtypes);
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 false, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "appending a chain link failed");
}

/*
 * enspiral.chain_link(source, key columns...): AFTER INSERT FOR EACH ROW
 * constraint trigger, DEFERRABLE INITIALLY DEFERRED, on every chained
 * table.  Links the new row to the head of its group's chain.
 */
Datum
enspiral_chain_link(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	int64		group_id;
	Datum		content;
	Oid			save_userid;
	int			save_sec_context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		elog(ERROR, "chain_link must be an AFTER INSERT FOR EACH ROW trigger");
	enspiral_require_trigger_table_in(td, "chain_link", chained_tables,
									  lengthof(chained_tables));
	if (td->tg_trigger->tgnargs < 2 ||
		!enspiral_relation_is(td->tg_relation, td->tg_trigger->tgargs[0]))
		elog(ERROR, "chain_link needs the table name and its key columns as arguments");
	group_id = chain_int_column(td->tg_trigtuple, RelationGetDescr(td->tg_relation), "group_id");

	chain_lock(group_id);
	chain_become_owner(td->tg_relation, &save_userid, &save_sec_context);
	enspiral_spi_connect();
	content = chain_row_content(td);
	chain_append(group_id, CStringGetTextDatum(td->tg_trigger->tgargs[0]),
				 chain_row_key(td), content);
	enspiral_spi_finish();
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return PointerGetDatum(NULL);
}

/* outcome || {"chain_head": head, "chain_position": n}, head read fresh */
static Datum
chain_stamped_outcome(int64 group_id, Datum outcome)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, JSONBOID};
	Datum		args[2] = {Int64GetDatum(group_id), outcome};
	bool		isnull;
	Datum		d;

	enspiral_plan(&plan,
				  "SELECT $2 OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object("
				  "         'chain_head', pg_catalog.encode(h.hash, 'hex'),"
				  "         'chain_position', h.position)"
				  "  FROM enspiral.chain_head_link($1) h",
				  2, argtypes);
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "chain head lookup failed");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "stamped outcome is NULL");
	return SPI_datumTransfer(d, false, -1);
}

/*
 * enspiral.chain_stamp(): BEFORE INSERT FOR EACH ROW on enspiral.outcomes.
 * The recorded outcome carries the head of its group's chain as committed
 * when it is recorded (chain_head, chain_position), so a member who keeps
 * the outcome can later prove that the history up to it was not rewritten.
 * A restore loads outcomes as they were dumped.
 */
Datum
enspiral_chain_stamp(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	int			cols[1];
	Datum		vals[1];
	bool		nulls[1] = {false};
	int64		group_id;
	bool		isnull;
	Oid			save_userid;
	int			save_sec_context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		elog(ERROR, "chain_stamp must be a BEFORE INSERT FOR EACH ROW trigger");
	enspiral_require_trigger_table(td, "chain_stamp", "outcomes");
	if (enspiral_in_restore_copy(td->tg_relation))
		return PointerGetDatum(td->tg_trigtuple);
	desc = RelationGetDescr(td->tg_relation);
	group_id = chain_int_column(td->tg_trigtuple, desc, "group_id");
	cols[0] = SPI_fnumber(desc, "outcome");
	if (cols[0] <= 0)
		elog(ERROR, "column \"outcome\" not found");
	vals[0] = SPI_getbinval(td->tg_trigtuple, desc, cols[0], &isnull);
	if (isnull)
		return PointerGetDatum(td->tg_trigtuple);	/* NOT NULL refuses it */

	chain_become_owner(td->tg_relation, &save_userid, &save_sec_context);
	enspiral_spi_connect();
	vals[0] = chain_stamped_outcome(group_id, vals[0]);
	enspiral_spi_finish();
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return PointerGetDatum(heap_modify_tuple_by_cols(td->tg_trigtuple, desc, 1, cols,
													 vals, nulls));
}
