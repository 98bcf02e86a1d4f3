/*-------------------------------------------------------------------------
 *
 * citus.c
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
 *	  so the fast paths that read a heap and its indexes directly must run
 *	  their SQL form instead (enspiral_table_is_distributed).
 *
 * Both answers are cached per backend and forgotten on a relcache
 * invalidation of the relation (create_distributed_table invalidates it).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>

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
		CacheRegisterRelcacheCallback(citus_cache_invalidate, (Datum) 0);
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
 * (its rows live in shards, not in its own heap)
 */
bool
enspiral_table_is_distributed(Oid relid)
{
	static SPIPlanPtr plan = NULL;
	bool		answer;

	if (citus_cache_get(relid, InvalidOid, &answer))
		return answer;
	answer = citus_metadata_present() &&
		citus_ask(&plan,
				  "SELECT true FROM pg_catalog.pg_dist_partition"
				  " WHERE logicalrelid = $1::pg_catalog.regclass AND $2 = $2",
				  OIDOID, ObjectIdGetDatum(relid), InvalidOid);
	citus_cache_put(relid, InvalidOid, answer);
	return answer;
}

/*
 * enspiral_tuple_as_table(rel, tuple, relname, desc, rowtype): tuple of rel
 * as a row of table enspiral.<relname>: the tuple itself when rel is that
 * table, converted by column name when rel is one of its Citus shards.
 * Sets *desc and *rowtype to the table's.
 */
HeapTuple
enspiral_tuple_as_table(Relation rel, HeapTuple tuple, const char *relname,
						TupleDesc *desc, Oid *rowtype)
{
	Oid			table_relid = enspiral_table_oid(relname);
	Relation	table;
	TupleConversionMap *map;

	if (!OidIsValid(table_relid) || RelationGetRelid(rel) == table_relid)
	{
		*desc = RelationGetDescr(rel);
		*rowtype = RelationGetForm(rel)->reltype;
		return tuple;
	}
	/* kept locked to the end of the transaction, like the shard */
	table = table_open(table_relid, AccessShareLock);
	*desc = RelationGetDescr(table);
	*rowtype = RelationGetForm(table)->reltype;
	map = convert_tuples_by_name(RelationGetDescr(rel), *desc);
	if (map != NULL)
		tuple = execute_attr_map_tuple(tuple, map);
	table_close(table, NoLock);
	return tuple;
}

/* The WHERE clause of a lookup through idx: its leading nkeys columns, its predicate */
static void
lookup_where(StringInfo sql, Relation heap, Relation idx, int nkeys)
{
	TupleDesc	desc = RelationGetDescr(heap);
	List	   *pred = RelationGetIndexPredicate(idx);

	for (int i = 0; i < nkeys; i++)
	{
		AttrNumber	attnum = idx->rd_index->indkey.values[i];

		if (attnum <= 0)
			elog(ERROR, "index \"%s\" has an expression key", RelationGetRelationName(idx));
		appendStringInfo(sql, "%s%s OPERATOR(pg_catalog.=) $%d", i > 0 ? " AND " : " WHERE ",
						 quote_identifier(NameStr(TupleDescAttr(desc, attnum - 1)->attname)),
						 i + 1);
	}
	if (pred != NIL)
		appendStringInfo(sql, " AND (%s)",
						 deparse_expression((Node *) make_ands_explicit(pred),
											deparse_context_for(RelationGetRelationName(heap),
																RelationGetRelid(heap)),
											false, false));
}

/*
 * enspiral_lookup_sql(heap, idx, nkeys, keys, snap, ncols, cols, values,
 * nulls): the SQL form of a direct lookup through idx (call inside SPI):
 * the first row of heap whose leading nkeys index columns equal the int8
 * keys and that satisfies the index predicate; copies the named columns
 * into values/nulls; false when there is none.  Citus routes the query to
 * the shard when the keys lead with group_id.
 */
bool
enspiral_lookup_sql(Relation heap, Relation idx, int nkeys, const int64 *keys,
					Snapshot snap, int ncols, const char *const *cols,
					Datum *values, bool *nulls)
{
	StringInfoData sql;
	SPIPlanPtr	plan;
	Oid			types[INDEX_MAX_KEYS];
	Datum		args[INDEX_MAX_KEYS];
	TupleDesc	desc = RelationGetDescr(heap);

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT true");
	for (int i = 0; i < ncols; i++)
		appendStringInfo(&sql, ", %s", quote_identifier(cols[i]));
	appendStringInfo(&sql, " FROM %s.%s",
					 quote_identifier(get_namespace_name(RelationGetNamespace(heap))),
					 quote_identifier(RelationGetRelationName(heap)));
	lookup_where(&sql, heap, idx, nkeys);
	appendStringInfoString(&sql, " LIMIT 1");
	for (int i = 0; i < nkeys; i++)
	{
		types[i] = INT8OID;
		args[i] = Int64GetDatum(keys[i]);
	}
	plan = SPI_prepare(sql.data, nkeys, types);
	if (plan == NULL ||
		SPI_execute_snapshot(plan, args, NULL, snap, InvalidSnapshot, true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "lookup failed: %s", sql.data);
	if (SPI_processed == 0)
		return false;
	for (int i = 0; i < ncols; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, SPI_fnumber(desc, cols[i]) - 1);

		values[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 2, &nulls[i]);
		if (!nulls[i])
			values[i] = datumCopy(values[i], att->attbyval, att->attlen);
	}
	return true;
}

/* enspiral.is_shard_of(relation, of): SQL form of enspiral_is_shard_of */
Datum
enspiral_is_shard_of_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(enspiral_is_shard_of(PG_GETARG_OID(0), PG_GETARG_OID(1)));
}
