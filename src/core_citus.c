/*-------------------------------------------------------------------------
 *
 * core_citus.c
 *	  Running sharded by group on Citus (doc/scaling.md).
 *
 * enspiral does not link against Citus and needs nothing of it on a single
 * server.  When the tables are distributed (enspiral.distribute()), two
 * things change for the C code:
 *
 *	- triggers fire on the shards (enspiral.votes_102042 on a worker), not
 *	  on enspiral.votes; the trigger functions accept a shard of the table
 *	  they guard (enspiral_is_shard_of), checked against Citus's metadata;
 *	- the shell table on the coordinator (and on each worker) holds no rows,
 *	  so the direct accesses of core_relaccess.c (index fetches, inserts,
 *	  updates) run their SQL form instead, built here: enspiral_fetch_sql,
 *	  enspiral_insert_sql, enspiral_update_sql.  core_relaccess.c alone decides
 *	  which form runs (enspiral_table_is_distributed, cached there).
 *
 * The shard answers are cached per backend and forgotten on a relcache
 * invalidation of the relation.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tupconvert.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/inval.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"
#include "utils/rel.h"

#include "enspiral.h"
#include "relaccess.h"

PG_FUNCTION_INFO_V1(enspiral_is_shard_of_sql);

#define CITUS_CACHE_SIZE 64

typedef struct CitusCacheEntry
{
	Oid			relid;			/* the relation asked about */
	Oid			of;				/* the enspiral table (shards), or InvalidOid */
	bool		answer;
} CitusCacheEntry;

static CitusCacheEntry citus_cache[CITUS_CACHE_SIZE];
static int	citus_cache_count = 0;
static bool citus_callback_registered = false;

/* Relcache invalidation: forget the answers about that relation (all on reset) */
static void
citus_cache_invalidate(Datum arg, Oid relid)
{
	int			kept = 0;

	if (!OidIsValid(relid))
	{
		citus_cache_count = 0;
		return;
	}
	for (int i = 0; i < citus_cache_count; i++)
		if (citus_cache[i].relid != relid && citus_cache[i].of != relid)
			citus_cache[kept++] = citus_cache[i];
	citus_cache_count = kept;
}

/* The cached answer for (relid, of) into *answer; false when not cached */
static bool
citus_cache_get(Oid relid, Oid of, bool *answer)
{
	for (int i = 0; i < citus_cache_count; i++)
		if (citus_cache[i].relid == relid && citus_cache[i].of == of)
		{
			*answer = citus_cache[i].answer;
			return true;
		}
	return false;
}

/* Remember the answer for (relid, of) when there is room */
static void
citus_cache_put(Oid relid, Oid of, bool answer)
{
	if (!citus_callback_registered)
	{
		enspiral_relcache_callback(citus_cache_invalidate);
		citus_callback_registered = true;
	}
	if (citus_cache_count >= CITUS_CACHE_SIZE)
		return;
	citus_cache[citus_cache_count].relid = relid;
	citus_cache[citus_cache_count].of = of;
	citus_cache[citus_cache_count].answer = answer;
	citus_cache_count++;
}

/* True when Citus's metadata tables exist in this database */
static bool
citus_metadata_present(void)
{
	return OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)) &&
		OidIsValid(get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE));
}

/* True when the extension citus is installed in this database (two syscache lookups) */
bool
enspiral_citus_present(void)
{
	return citus_metadata_present();
}

/* Run a one-row boolean query with two oid/int8 arguments through SPI */
static bool
citus_ask(SPIPlanPtr *plan, const char *sql, Oid argtype, Datum arg1, Oid arg2)
{
	Oid			types[2] = {argtype, OIDOID};
	Datum		values[2] = {arg1, ObjectIdGetDatum(arg2)};
	bool		isnull;
	bool		answer;

	enspiral_spi_connect();
	if (SPI_execute_plan(enspiral_plan(plan, sql, 2, types), values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read Citus's metadata");
	answer = SPI_processed == 1 &&
		DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) &&
		!isnull;
	enspiral_spi_finish();
	return answer;
}

/*
 * enspiral_is_shard_of(relid, of): true when relid is a Citus shard of the
 * table "of": in the same schema, named <table>_<shard id>, and listed with
 * that id for that table in pg_dist_shard.
 */
bool
enspiral_is_shard_of(Oid relid, Oid of)
{
	static SPIPlanPtr plan = NULL;
	char	   *name;
	char	   *table;
	size_t		len;
	char	   *end;
	int64		shardid;
	bool		answer;

	if (!OidIsValid(relid) || !OidIsValid(of) || relid == of)
		return false;
	if (citus_cache_get(relid, of, &answer))
		return answer;
	name = get_rel_name(relid);
	table = get_rel_name(of);
	if (name == NULL || table == NULL ||
		get_rel_namespace(relid) != get_rel_namespace(of))
		return false;
	len = strlen(table);
	if (strncmp(name, table, len) != 0 || name[len] != '_' ||
		name[len + 1] < '1' || name[len + 1] > '9')
		return false;
	errno = 0;
	shardid = strtoll(name + len + 1, &end, 10);
	if (*end != '\0' || errno != 0 || !citus_metadata_present())
		return false;
	answer = citus_ask(&plan,
					   "SELECT true FROM pg_catalog.pg_dist_shard"
					   " WHERE shardid = $1 AND logicalrelid = $2::pg_catalog.regclass",
					   INT8OID, Int64GetDatum(shardid), of);
	citus_cache_put(relid, of, answer);
	return answer;
}

/*
 * enspiral_table_is_distributed(relid): true when relid is a Citus table
 * (its rows live in shards, not in its own heap).  Uncached: core_relaccess.c
 * caches the answer with the relation's OID.
 */
bool
enspiral_table_is_distributed(Oid relid)
{
	static SPIPlanPtr plan = NULL;

	return citus_metadata_present() &&
		citus_ask(&plan,
				  "SELECT true FROM pg_catalog.pg_dist_partition"
				  " WHERE logicalrelid = $1::pg_catalog.regclass AND $2 = $2",
				  OIDOID, ObjectIdGetDatum(relid), InvalidOid);
}

/* "schema"."table" of rel, quoted */
static void
append_relation(StringInfo sql, Relation rel)
{
	appendStringInfo(sql, "%s.%s",
					 quote_identifier(get_namespace_name(RelationGetNamespace(rel))),
					 quote_identifier(RelationGetRelationName(rel)));
}

/*
 * The WHERE clause of a lookup through idx: its leading nkeys columns equal
 * to $1..$nkeys (their types into types[]), and its predicate
 */
static void
lookup_where(StringInfo sql, Relation heap, Relation idx, int nkeys, Oid *types)
{
	TupleDesc	desc = RelationGetDescr(heap);
	List	   *pred = RelationGetIndexPredicate(idx);

	for (int i = 0; i < nkeys; i++)
	{
		AttrNumber	attnum = idx->rd_index->indkey.values[i];
		Form_pg_attribute att;

		if (attnum <= 0)
			elog(ERROR, "index \"%s\" has an expression key", RelationGetRelationName(idx));
		att = TupleDescAttr(desc, attnum - 1);
		types[i] = att->atttypid;
		appendStringInfo(sql, "%s%s OPERATOR(pg_catalog.=) $%d", i > 0 ? " AND " : " WHERE ",
						 quote_identifier(NameStr(att->attname)), i + 1);
	}
	if (pred != NIL)
		appendStringInfo(sql, " AND (%s)",
						 deparse_expression((Node *) make_ands_explicit(pred),
											deparse_context_for(RelationGetRelationName(heap),
																RelationGetRelid(heap)),
											false, false));
}

/*
 * enspiral_fetch_sql(heap, idx, nkeys, keys, snap): the SQL form of an index
 * fetch (core_relaccess.c): the first row visible to snap whose leading nkeys
 * columns of idx equal keys[] and that satisfies idx's predicate, as a tuple
 * of heap's descriptor in the caller's memory context (no tuple id); NULL
 * when there is none.  lock: the row locked FOR NO KEY UPDATE, its latest
 * version read as SELECT ... FOR NO KEY UPDATE does (snap is not used).
 * Citus routes the query to the group's shard when the keys lead with
 * group_id.
 */
HeapTuple
enspiral_fetch_sql(Relation heap, Relation idx, int nkeys, const Datum *keys, Snapshot snap,
				   bool lock)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext spi;
	TupleDesc	desc = RelationGetDescr(heap);
	StringInfoData sql;
	SPIPlanPtr	plan;
	Oid			types[INDEX_MAX_KEYS];
	Datum	   *values = palloc0(desc->natts * sizeof(Datum));
	bool	   *nulls = palloc(desc->natts * sizeof(bool));
	HeapTuple	tuple = NULL;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT true");
	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped)
			appendStringInfo(&sql, ", %s", quote_identifier(NameStr(TupleDescAttr(desc, i)->attname)));
	appendStringInfoString(&sql, " FROM ");
	append_relation(&sql, heap);
	lookup_where(&sql, heap, idx, nkeys, types);
	appendStringInfoString(&sql, lock ? " LIMIT 1 FOR NO KEY UPDATE" : " LIMIT 1");
	enspiral_spi_connect();
	plan = SPI_prepare(sql.data, nkeys, types);
	if (plan == NULL ||
		SPI_execute_snapshot(plan, (Datum *) keys, NULL, lock ? InvalidSnapshot : snap,
							 InvalidSnapshot, !lock, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "lookup failed: %s", sql.data);
	if (SPI_processed == 1)
	{
		int			col = 1;	/* column 1 is "true" */

		for (int i = 0; i < desc->natts; i++)
		{
			nulls[i] = true;
			if (!TupleDescAttr(desc, i)->attisdropped)
				values[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										  ++col, &nulls[i]);
		}
		/* heap_form_tuple copies the values out of SPI's memory */
		spi = MemoryContextSwitchTo(caller);
		tuple = heap_form_tuple(desc, values, nulls);
		MemoryContextSwitchTo(spi);
	}
	enspiral_spi_finish();
	return tuple;
}

/*
 * enspiral_insert_sql(rel, cols, ncols): the SQL form of a direct insert
 * (core_relaccess.c): INSERT of the named columns, the others their defaults
 */
void
enspiral_insert_sql(Relation rel, const RelColumn *cols, int ncols)
{
	TupleDesc	desc = RelationGetDescr(rel);
	StringInfoData sql;
	Oid		   *types = palloc(ncols * sizeof(Oid));
	Datum	   *values = palloc(ncols * sizeof(Datum));
	char	   *nulls = palloc(ncols * sizeof(char));

	initStringInfo(&sql);
	appendStringInfoString(&sql, "INSERT INTO ");
	append_relation(&sql, rel);
	for (int i = 0; i < ncols; i++)
	{
		appendStringInfo(&sql, "%s%s", i > 0 ? ", " : " (", quote_identifier(cols[i].name));
		types[i] = TupleDescAttr(desc, enspiral_attnum(desc, cols[i].name) - 1)->atttypid;
		values[i] = cols[i].value;
		nulls[i] = cols[i].isnull ? 'n' : ' ';
	}
	/* the caller gives the identity columns their values, as the direct insert does */
	appendStringInfoString(&sql, ") OVERRIDING SYSTEM VALUE VALUES (");
	for (int i = 0; i < ncols; i++)
		appendStringInfo(&sql, "%s$%d", i > 0 ? ", " : "", i + 1);
	appendStringInfoChar(&sql, ')');
	enspiral_spi_connect();
	if (SPI_execute_with_args(sql.data, ncols, types, values, nulls, false, 0) != SPI_OK_INSERT ||
		SPI_processed != 1)
		elog(ERROR, "insert failed: %s", sql.data);
	enspiral_spi_finish();
}

/*
 * enspiral_update_sql(rel, old, cols, ncols): the SQL form of a direct
 * update (core_relaccess.c): UPDATE of the named columns of the row old, found
 * by its primary key (which leads with group_id on Citus)
 */
void
enspiral_update_sql(Relation rel, TupleTableSlot *old, const RelColumn *cols, int ncols)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Relation	pk = index_open(RelationGetPrimaryKeyIndex(rel), AccessShareLock);
	int			nkeys = pk->rd_index->indnkeyatts;
	int			n = ncols + nkeys;
	StringInfoData sql;
	Oid		   *types = palloc(n * sizeof(Oid));
	Datum	   *values = palloc(n * sizeof(Datum));
	char	   *nulls = palloc(n * sizeof(char));
	bool		isnull;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "UPDATE ");
	append_relation(&sql, rel);
	for (int i = 0; i < ncols; i++)
	{
		appendStringInfo(&sql, "%s%s = $%d", i > 0 ? ", " : " SET ",
						 quote_identifier(cols[i].name), i + 1);
		types[i] = TupleDescAttr(desc, enspiral_attnum(desc, cols[i].name) - 1)->atttypid;
		values[i] = cols[i].value;
		nulls[i] = cols[i].isnull ? 'n' : ' ';
	}
	for (int k = 0; k < nkeys; k++)
	{
		AttrNumber	attnum = pk->rd_index->indkey.values[k];
		Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);

		appendStringInfo(&sql, "%s%s OPERATOR(pg_catalog.=) $%d", k > 0 ? " AND " : " WHERE ",
						 quote_identifier(NameStr(att->attname)), ncols + k + 1);
		types[ncols + k] = att->atttypid;
		values[ncols + k] = slot_getattr(old, attnum, &isnull);
		nulls[ncols + k] = ' ';
	}
	index_close(pk, AccessShareLock);
	enspiral_spi_connect();
	if (SPI_execute_with_args(sql.data, n, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "update failed: %s", sql.data);
	/* the row was read, so another transaction changed or removed it since */
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent update"),
				 errdetail("A row of table \"%s\" was changed or removed by another transaction after this one read it.",
						   RelationGetRelationName(rel)),
				 errhint("Retry the transaction.")));
	enspiral_spi_finish();
}

/* enspiral.is_shard_of(relation, of): SQL form of enspiral_is_shard_of */
Datum
enspiral_is_shard_of_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(enspiral_is_shard_of(PG_GETARG_OID(0), PG_GETARG_OID(1)));
}
