/*-------------------------------------------------------------------------
 *
 * core_relaccess.c
 *	  The one layer of direct access to enspiral's own tables, for the hot
 *	  paths (vote(), contribute(), their event rows) and the trigger table
 *	  checks (core_relcheck.c).
 *
 * Relation OIDs.  The OIDs of the enspiral schema and of its tables and
 * indexes are looked up by name once per backend and cached, as pg_cron
 * caches the OID of its job table: a relcache invalidation of a cached
 * relation (DROP, rename, SET SCHEMA, and the full resets of a cache
 * overflow) and any change of a schema (syscache NAMESPACEOID: a dropped
 * and re-created extension, a renamed schema) forget the whole cache, and
 * the next call looks the names up again.  A name is looked up in the
 * schema enspiral itself, never through the search_path.
 *
 * Reads.  A lookup is one MVCC index scan of a unique (or leading-key)
 * index with the caller's snapshot, exactly what an index scan node does,
 * without planning or executor start-up: each is one btree descent on a
 * full key, whatever the statistics of the tables say.
 *
 * Row locks.  relaccess_lock() locks a row FOR NO KEY UPDATE with the table
 * access method's tuple lock, as ExecLockRows does for SELECT ... FOR NO
 * KEY UPDATE: in READ COMMITTED the latest version of the row is locked
 * (the caller re-checks it, as EvalPlanQual would); under REPEATABLE READ
 * and SERIALIZABLE a row changed since the snapshot is a serialization
 * failure (40001).
 *
 * Inserts.  relaccess_insert() inserts one row through
 * ExecSimpleRelationInsert(), the executor entry point of logical
 * replication's apply worker, with a minimal executor state.  It is kept
 * deliberately, for vote rows and event rows: it runs everything an INSERT
 * runs for a row (BEFORE and AFTER row triggers, CHECK and NOT NULL
 * constraints, stored generated columns, index insertion with the unique
 * check that waits for a concurrent duplicate and fails it) without a plan,
 * a portal or an SPI connection per row, which was a third of the cost of
 * a vote.  A writer opened for the API's own writes (events not 0) runs
 * enspiral's own row triggers itself when nothing else is attached to the
 * table (core_owntriggers.c, where the conditions are); every other
 * trigger still goes through the trigger manager.  What it skips: statement-level triggers (the only ones on these
 * tables are the BEFORE guards that reject writers other than the API,
 * which is the writer here) and privilege and row security checks (the
 * callers run as the extension owner, SECURITY DEFINER).  Column defaults
 * are evaluated here for the columns a caller does not name, as INSERT
 * does, so a column added later with a default (transfers.chain_key) is
 * filled on this path too.  The price is a dependency on executor internals:
 * ExecInitRangeTable() and the EState set-up changed in PostgreSQL 16
 * (PG_VERSION_NUM branches below), and every major version must be checked
 * against execReplication.c.  relaccess_writer_update() is its UPDATE
 * counterpart (ExecSimpleRelationUpdate), for a row the caller has locked
 * against other writers.  Deletes stay in SQL.
 *
 * Citus.  On a table distributed by Citus (doc/scaling.md) the rows live in
 * shards, and the heap of the table itself is empty.  This file alone
 * decides which form runs: relaccess_distributed() asks once per relation
 * (cached with its OID, forgotten with it), and for a distributed table the
 * fetches, inserts and updates above run their SQL form (core_citus.c), which
 * Citus routes to the group's shard.  A row fetched that way has no tuple
 * id of its own: it gets a handle that looks like one (an index into the
 * transaction's list of the primary keys of the rows read in SQL), so the
 * callers keep passing tuple ids to relaccess_lock() and
 * relaccess_writer_fetch(), which find the row again by its primary key
 * (SELECT ... FOR NO KEY UPDATE for a lock), and an update names the row by
 * its primary key.  Callers do not know which form ran.  The list lives
 * until the end of the transaction: a few dozen bytes per row read.
 * relaccess_written_here() answers false for such a row (the caller then
 * takes a lock it could have skipped).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "rewrite/rewriteHandler.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "enspiral.h"
#include "relaccess.h"

#define RELACCESS_CACHE_SIZE 48

typedef struct RelaccessEntry
{
	char		name[NAMEDATALEN];
	Oid			relid;
	int8		distributed;	/* a Citus table: 1, not: 0, not asked yet: -1 */
} RelaccessEntry;

static RelaccessEntry relid_cache[RELACCESS_CACHE_SIZE];
static int	relid_cache_n = 0;
static Oid	cached_namespace = InvalidOid;
static bool callbacks_registered = false;

/*
 * The groups of rows of distributed tables known by their id alone.  On
 * Citus, reading a row by its id without its group reads every shard of the
 * table, on every node; run on a worker (a 0.1.0 form called by its
 * group-first form, which runs on the group's node), that read opens
 * connections from the worker to the other nodes, a distributed transaction
 * nested in the coordinator's, which Citus 13.2.2 does not finish when the
 * coordinator prepares the outer transaction (doc/scaling.md, "Two-phase
 * commit").  So the group-first forms note the group they have checked
 * (enspiral.note_group, called by group_round and group_bucket_exists), and
 * a lookup by id finds it here without reading the shards; an answer read
 * from the shards is kept too.  A row's group never changes (it leads the
 * primary key) and ids are drawn from sequences, never reused, so an answer
 * stays true as long as the table exists: the entries are kept per backend
 * with the table's OID, in a small ring.
 */
#define GROUP_HINTS 64

typedef struct GroupHint
{
	Oid			relid;
	int64		id;
	int64		group_id;
} GroupHint;

static GroupHint group_hints[GROUP_HINTS];
static int	group_hints_n = 0;
static int	group_hints_next = 0;

/* Relcache invalidation: forget every cached OID if one of them may be stale */
static void
relaccess_relcache_callback(Datum arg, Oid relid)
{
	if (!OidIsValid(relid))
	{
		relid_cache_n = 0;
		group_hints_n = group_hints_next = 0;
		return;
	}
	for (int i = 0; i < group_hints_n; i++)
		if (group_hints[i].relid == relid)
			group_hints_n = group_hints_next = 0;
	for (int i = 0; i < relid_cache_n; i++)
		if (relid_cache[i].relid == relid)
		{
			relid_cache_n = 0;
			group_hints_n = group_hints_next = 0;
			return;
		}
}

/* Syscache invalidation of a schema: forget the schema and every relation */
static void
relaccess_namespace_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	relid_cache_n = 0;
	cached_namespace = InvalidOid;
}

/* Register the invalidation callbacks once per backend */
static void
register_callbacks(void)
{
	if (callbacks_registered)
		return;
	enspiral_relcache_callback(relaccess_relcache_callback);
	CacheRegisterSyscacheCallback(NAMESPACEOID, relaccess_namespace_callback, (Datum) 0);
	callbacks_registered = true;
}

/* OID of the schema enspiral, or InvalidOid when it does not exist */
Oid
relaccess_namespace_if_exists(void)
{
	register_callbacks();
	if (!OidIsValid(cached_namespace))
		cached_namespace = get_namespace_oid("enspiral", true);
	return cached_namespace;
}

/* OID of the schema enspiral */
Oid
relaccess_namespace(void)
{
	Oid			nsp = relaccess_namespace_if_exists();

	if (!OidIsValid(nsp))
		elog(ERROR, "schema enspiral does not exist");
	return nsp;
}

/*
 * Where a name was found in relid_cache last, keyed by the name's address
 * (the callers name relations by string constants, about fifteen times per
 * vote, and the cache holds dozens): only trusted after comparing the name
 * at the position it gives, so it is never wrong, only sometimes missing.
 */
#define RELID_HINTS 64

static int	relid_hints[RELID_HINTS];

/* OID of relation enspiral.<name>, or InvalidOid when there is none */
Oid
relaccess_relid_if_exists(const char *name)
{
	int		   *hint = &relid_hints[((uintptr_t) name >> 3) % RELID_HINTS];
	Oid			nsp;
	Oid			relid;

	if (*hint < relid_cache_n && strcmp(relid_cache[*hint].name, name) == 0)
		return relid_cache[*hint].relid;
	for (int i = 0; i < relid_cache_n; i++)
		if (strcmp(relid_cache[i].name, name) == 0)
		{
			*hint = i;
			return relid_cache[i].relid;
		}
	nsp = relaccess_namespace_if_exists();
	relid = OidIsValid(nsp) ? get_relname_relid(name, nsp) : InvalidOid;
	if (OidIsValid(relid) && relid_cache_n < RELACCESS_CACHE_SIZE)
	{
		strlcpy(relid_cache[relid_cache_n].name, name, NAMEDATALEN);
		relid_cache[relid_cache_n].relid = relid;
		relid_cache[relid_cache_n].distributed = -1;
		relid_cache_n++;
	}
	return relid;
}

/* OID of relation enspiral.<name>; it must exist */
Oid
relaccess_relid(const char *name)
{
	Oid			relid = relaccess_relid_if_exists(name);

	if (!OidIsValid(relid))
		elog(ERROR, "relation enspiral.%s does not exist", name);
	return relid;
}

/*
 * Whether enspiral.<relid> is a Citus distributed table, whose rows live in
 * shards rather than in its own heap: every access then goes through SQL
 * that Citus routes (core_citus.c).  Asked once per relation and cached with its
 * OID, so the relcache invalidation that create_distributed_table sends
 * forgets the answer; on a single node the answer is a catalog lookup.
 */
bool
relaccess_distributed(Oid relid)
{
	bool		answer;

	for (int i = 0; i < relid_cache_n; i++)
		if (relid_cache[i].relid == relid && relid_cache[i].distributed >= 0)
			return relid_cache[i].distributed == 1;
	answer = enspiral_table_is_distributed(relid);
	/* asking may have processed invalidations: look for the entry again */
	for (int i = 0; i < relid_cache_n; i++)
		if (relid_cache[i].relid == relid)
			relid_cache[i].distributed = answer ? 1 : 0;
	return answer;
}

/*
 * A row of a distributed table read in SQL, named by its primary key; its
 * handle is its index in sql_rows, dressed as a tuple id.
 */
typedef struct SqlRow
{
	Oid			relid;
	int			nkeys;
	Datum		keys[INDEX_MAX_KEYS];	/* the primary key (by-value columns) */
} SqlRow;

static SqlRow *sql_rows = NULL;		/* in TopTransactionContext */
static int	sql_rows_n = 0;
static int	sql_rows_max = 0;
static bool sql_rows_callback_registered = false;

/* End of transaction: the handles die with the list */
static void
sql_rows_xact_callback(XactEvent event, void *arg)
{
	sql_rows = NULL;
	sql_rows_n = sql_rows_max = 0;
}

/* The primary key index of rel, opened */
static Relation
primary_key_open(Relation rel)
{
	Oid			pk = RelationGetPrimaryKeyIndex(rel);

	if (!OidIsValid(pk))
		elog(ERROR, "table %s has no primary key", RelationGetRelationName(rel));
	return index_open(pk, AccessShareLock);
}

/* Remember the primary key of tuple, a row of rel read in SQL; set its handle */
static void
sql_row_register(Relation rel, HeapTuple tuple)
{
	Relation	pk = primary_key_open(rel);
	SqlRow	   *r;

	if (!sql_rows_callback_registered)
	{
		RegisterXactCallback(sql_rows_xact_callback, NULL);
		sql_rows_callback_registered = true;
	}
	if (sql_rows_n == sql_rows_max)
	{
		sql_rows_max = Max(16, sql_rows_max * 2);
		sql_rows = sql_rows == NULL ?
			MemoryContextAlloc(TopTransactionContext, sql_rows_max * sizeof(SqlRow)) :
			repalloc(sql_rows, sql_rows_max * sizeof(SqlRow));
	}
	r = &sql_rows[sql_rows_n];
	r->relid = RelationGetRelid(rel);
	r->nkeys = pk->rd_index->indnkeyatts;
	for (int i = 0; i < r->nkeys; i++)
	{
		AttrNumber	attnum = pk->rd_index->indkey.values[i];
		bool		isnull;

		if (!TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attbyval)
			elog(ERROR, "primary key of %s is not by value", RelationGetRelationName(rel));
		r->keys[i] = heap_getattr(tuple, attnum, RelationGetDescr(rel), &isnull);
	}
	index_close(pk, AccessShareLock);
	ItemPointerSet(&tuple->t_self, sql_rows_n / 65535, sql_rows_n % 65535 + 1);
	sql_rows_n++;
}

/* The row of distributed table rel whose handle is tid */
static SqlRow *
sql_row_of(Relation rel, ItemPointer tid)
{
	int64		i = (int64) ItemPointerGetBlockNumber(tid) * 65535 +
		ItemPointerGetOffsetNumber(tid) - 1;

	if (i < 0 || i >= sql_rows_n || sql_rows[i].relid != RelationGetRelid(rel))
		elog(ERROR, "invalid row handle of distributed table %s", RelationGetRelationName(rel));
	return &sql_rows[i];
}

/*
 * Read again the row of distributed table rel whose handle is tid (lock:
 * its latest version, locked FOR NO KEY UPDATE) into slot, keeping the
 * handle; false when it is gone
 */
static bool
sql_row_fetch(Relation rel, ItemPointer tid, Snapshot snap, bool lock, TupleTableSlot *slot)
{
	SqlRow	   *r = sql_row_of(rel, tid);
	Relation	pk = primary_key_open(rel);
	HeapTuple	tuple = enspiral_fetch_sql(rel, pk, r->nkeys, r->keys, snap, lock);

	index_close(pk, AccessShareLock);
	if (tuple == NULL)
		return false;
	tuple->t_self = *tid;
	ExecForceStoreHeapTuple(tuple, slot, true);
	return true;
}

/*
 * Enum labels looked up, per backend (the hot paths name a few, several
 * times per call), keyed by type and label name.  A label's OID never changes while its type
 * exists; a renamed label, a dropped type or schema empty the cache (their
 * invalidations: ENUMOID, TYPEOID, NAMESPACEOID).
 */
#define ENUM_LABEL_CACHE_SIZE 16

typedef struct EnumLabelEntry
{
	char		type[NAMEDATALEN];
	char		label[NAMEDATALEN];
	Oid			oid;
} EnumLabelEntry;

static EnumLabelEntry enum_label_cache[ENUM_LABEL_CACHE_SIZE];
static int	enum_label_cache_n = 0;
static bool enum_callback_registered = false;

/* Syscache invalidation of a type or schema: forget every label */
static void
relaccess_enum_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	enum_label_cache_n = 0;
}

/* OID of a label of an enum type of the enspiral schema (syscache lookups) */
Oid
relaccess_enum_label(const char *type, const char *label)
{
	Oid			typid;
	Oid			result;

	for (int i = 0; i < enum_label_cache_n; i++)
		if (strcmp(enum_label_cache[i].type, type) == 0 &&
			strcmp(enum_label_cache[i].label, label) == 0)
			return enum_label_cache[i].oid;
	if (!enum_callback_registered)
	{
		CacheRegisterSyscacheCallback(TYPEOID, relaccess_enum_callback, (Datum) 0);
		CacheRegisterSyscacheCallback(ENUMOID, relaccess_enum_callback, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, relaccess_enum_callback, (Datum) 0);
		enum_callback_registered = true;
	}
	typid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum(type),
							ObjectIdGetDatum(relaccess_namespace()));
	result = GetSysCacheOid2(ENUMTYPOIDNAME, Anum_pg_enum_oid,
							 ObjectIdGetDatum(typid), CStringGetDatum(label));
	if (!OidIsValid(result))
		elog(ERROR, "enspiral.%s has no label \"%s\"", type, label);
	if (enum_label_cache_n < ENUM_LABEL_CACHE_SIZE)
	{
		strlcpy(enum_label_cache[enum_label_cache_n].type, type, NAMEDATALEN);
		strlcpy(enum_label_cache[enum_label_cache_n].label, label, NAMEDATALEN);
		enum_label_cache[enum_label_cache_n].oid = result;
		enum_label_cache_n++;
	}
	return result;
}

/*
 * Open enspiral.<table> in mode with its index <index> (locks held to end
 * of xact).  A table opened for writing (RowExclusiveLock) gets its index
 * locked as the executor locks the indexes of a result relation
 * (ExecOpenIndices), so a writer opened next in the transaction finds both
 * locks held instead of taking a second lock on each.
 */
void
relaccess_open(RelScan *rs, const char *table, const char *index, LOCKMODE mode)
{
	rs->heap = table_open(relaccess_relid(table), mode);
	rs->index = index_open(relaccess_relid(index),
						   mode >= RowExclusiveLock ? RowExclusiveLock : AccessShareLock);
	rs->slot = table_slot_create(rs->heap, NULL);
	rs->distributed = relaccess_distributed(RelationGetRelid(rs->heap));
}

/* Close what relaccess_open opened, keeping the relation locks */
void
relaccess_close(RelScan *rs)
{
	ExecDropSingleTupleTableSlot(rs->slot);
	index_close(rs->index, NoLock);
	table_close(rs->heap, NoLock);
}

/*
 * Fetch into rs->slot the first row visible to snap whose leading index
 * columns equal keys[] (compared with the functions procs[]); false if none.
 * On a distributed table, the same fetch in SQL (no tuple id).
 */
bool
relaccess_fetch(RelScan *rs, Snapshot snap, int nkeys, const Datum *keys,
				const RegProcedure *procs)
{
	ScanKeyData sk[INDEX_MAX_KEYS];
	IndexScanDesc scan;
	bool		found;

	Assert(nkeys > 0 && nkeys <= INDEX_MAX_KEYS);
	if (rs->distributed)
	{
		HeapTuple	tuple = enspiral_fetch_sql(rs->heap, rs->index, nkeys, keys, snap, false);

		if (tuple == NULL)
			return false;
		sql_row_register(rs->heap, tuple);
		ExecForceStoreHeapTuple(tuple, rs->slot, true);
		return true;
	}
	for (int i = 0; i < nkeys; i++)
		ScanKeyInit(&sk[i], i + 1, BTEqualStrategyNumber, procs[i], keys[i]);
	scan = index_beginscan(rs->heap, rs->index, snap, nkeys, 0);
	index_rescan(scan, sk, nkeys, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, rs->slot);
	index_endscan(scan);
	return found;
}

/* relaccess_fetch on leading bigint columns */
bool
relaccess_fetch_int8(RelScan *rs, Snapshot snap, int nkeys, const int64 *keys)
{
	Datum		d[INDEX_MAX_KEYS];
	RegProcedure procs[INDEX_MAX_KEYS];

	Assert(nkeys > 0 && nkeys <= INDEX_MAX_KEYS);
	for (int i = 0; i < nkeys; i++)
	{
		d[i] = Int64GetDatum(keys[i]);
		procs[i] = F_INT8EQ;
	}
	return relaccess_fetch(rs, snap, nkeys, d, procs);
}

/*
 * Lock the row at tid row of rs FOR NO KEY UPDATE, as ExecLockRows does; on
 * return the slot holds the locked (latest) version.  False when the row
 * was deleted meanwhile (READ COMMITTED).
 */
bool
relaccess_lock(RelScan *rs, ItemPointer row, Snapshot snap)
{
	ItemPointerData tid = *row;
	TM_FailureData tmfd;
	TM_Result	res;
	int			flags = IsolationUsesXactSnapshot() ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION;

	if (rs->distributed)
		return sql_row_fetch(rs->heap, row, snap, true, rs->slot);
	res = table_tuple_lock(rs->heap, &tid, snap, rs->slot, GetCurrentCommandId(true),
						   LockTupleNoKeyExclusive, LockWaitBlock, flags, &tmfd);
	switch (res)
	{
		case TM_Ok:
			return true;
		case TM_Updated:
		case TM_Deleted:
			if (res == TM_Deleted && !IsolationUsesXactSnapshot())
				return false;
			/* a version the chain could not be followed to: retryable */
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent update"),
					 errhint("Retry the transaction.")));
			break;
		case TM_SelfModified:
		case TM_Invisible:
		default:
			elog(ERROR, "unexpected table_tuple_lock status: %u", res);
	}
	return false;				/* keep compiler quiet */
}

/* True when the row version in slot was written by this transaction */
bool
relaccess_written_here(TupleTableSlot *slot)
{
	bool		should_free;
	HeapTuple	tup = ExecFetchSlotHeapTuple(slot, false, &should_free);
	bool		result = TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data));

	if (should_free)
		heap_freetuple(tup);
	return result;
}

/*
 * Look up the first row visible to snap in enspiral.<table> through index
 * <index> whose leading nkeys columns equal the bigint keys, copy the named
 * columns out (into the current memory context) and its tuple id into tid
 * (when not NULL); false when there is none.
 */
bool
relaccess_lookup(const char *table, const char *index, int nkeys, const int64 *keys,
				 Snapshot snap, int ncols, const char *const *cols, Datum *values,
				 bool *nulls, ItemPointer tid)
{
	RelScan		rs;
	bool		found;

	relaccess_open(&rs, table, index, AccessShareLock);
	found = relaccess_fetch_int8(&rs, snap, nkeys, keys);
	if (found && tid != NULL)
		*tid = rs.slot->tts_tid;
	for (int i = 0; found && i < ncols; i++)
	{
		int			attnum = enspiral_attnum(rs.slot->tts_tupleDescriptor, cols[i]);
		Form_pg_attribute att = TupleDescAttr(rs.slot->tts_tupleDescriptor, attnum - 1);

		values[i] = slot_getattr(rs.slot, attnum, &nulls[i]);
		if (!nulls[i])
			values[i] = datumCopy(values[i], att->attbyval, att->attlen);
	}
	relaccess_close(&rs);
	return found;
}

/* The group noted for row id of relid; 0 when none is noted */
static int64
group_hint_find(Oid relid, int64 id)
{
	for (int i = 0; i < group_hints_n; i++)
		if (group_hints[i].relid == relid && group_hints[i].id == id)
			return group_hints[i].group_id;
	return 0;
}

/* Keep the group of row id of relid (not noted yet), in place of the oldest entry */
static void
group_hint_add(Oid relid, int64 id, int64 group_id)
{
	group_hints[group_hints_next].relid = relid;
	group_hints[group_hints_next].id = id;
	group_hints[group_hints_next].group_id = group_id;
	group_hints_next = (group_hints_next + 1) % GROUP_HINTS;
	if (group_hints_n < GROUP_HINTS)
		group_hints_n++;
}

/*
 * relaccess_note_group(table, id, group_id): row id of enspiral.<table> is
 * in group group_id (the caller has read it so); kept only for a
 * distributed table
 */
void
relaccess_note_group(const char *table, int64 id, int64 group_id)
{
	Oid			relid = relaccess_relid(table);

	if (group_id != 0 && relaccess_distributed(relid) && group_hint_find(relid, id) == 0)
		group_hint_add(relid, id, group_id);
}

/*
 * relaccess_noted_group(table, id): the group noted for row id of
 * enspiral.<table> (relaccess_note_group()); 0 when none is noted or the
 * table is not distributed
 */
int64
relaccess_noted_group(const char *table, int64 id)
{
	Oid			relid = relaccess_relid(table);

	if (!relaccess_distributed(relid))
		return 0;
	return group_hint_find(relid, id);
}

/*
 * The group_id of the row of enspiral.<table> whose id (the leading column
 * of <index>) is id, read under the latest snapshot; 0 when there is none.
 * The first step of locking a row known by its id alone: the lock is then
 * taken by its key, group first, which is how Citus locks rows.  On a
 * distributed table, a group noted for the row answers without a read.
 */
int64
relaccess_group_of(const char *table, const char *index, int64 id)
{
	static const char *const cols[] = {"group_id"};
	Oid			relid = relaccess_relid(table);
	bool		distributed = relaccess_distributed(relid);
	int64		group_id = distributed ? group_hint_find(relid, id) : 0;
	Snapshot	snap;
	Datum		v[1];
	bool		n[1];
	bool		found;

	if (group_id != 0)
		return group_id;
	snap = RegisterSnapshot(GetLatestSnapshot());
	found = relaccess_lookup(table, index, 1, &id, snap, 1, cols, v, n, NULL);
	UnregisterSnapshot(snap);
	group_id = found && !n[0] ? DatumGetInt64(v[0]) : 0;
	if (distributed && group_id != 0)
		group_hint_add(relid, id, group_id);
	return group_id;
}

/* A minimal executor state with rel as its one result relation */
static EState *
writer_estate(Relation rel, ResultRelInfo *rri)
{
	EState	   *estate = CreateExecutorState();
	RangeTblEntry *rte = makeNode(RangeTblEntry);

	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(rel);
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
#if PG_VERSION_NUM >= 160000
	ExecInitRangeTable(estate, list_make1(rte), NIL);
#else
	ExecInitRangeTable(estate, list_make1(rte));
#endif
	estate->es_output_cid = GetCurrentCommandId(true);
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	/* ExecOpenIndices(rri, false) with the IndexInfos, CHECKs and partial-index
	 * predicates compiled once per backend */
	exprcache_open_indices(rri);
	return estate;
}

/*
 * Open enspiral.<table> for writing rows: one executor state (so the
 * table's CHECK constraints are prepared once for all the rows written
 * through it) and one query level of AFTER triggers, fired at close.
 */
void
relaccess_writer_open(RelWriter *w, const char *table, int events)
{
	TupleDesc	desc;

	w->rel = table_open(relaccess_relid(table), RowExclusiveLock);
	desc = RelationGetDescr(w->rel);
	w->distributed = relaccess_distributed(RelationGetRelid(w->rel));
	w->owned_events = 0;
	w->nowned = 0;
	if (w->distributed)
	{
		/* writes run as SQL (core_citus.c): only a slot for the fetched row */
		w->rri = NULL;
		w->estate = NULL;
		w->oldslot = MakeSingleTupleTableSlot(desc, &TTSOpsHeapTuple);
		w->newslot = NULL;
		return;
	}
	w->rri = makeNode(ResultRelInfo);
	w->estate = writer_estate(w->rel, w->rri);
	/* enspiral's own row triggers run by the writer, when it may */
	ownedtriggers_plan(w, table, events);
#if PG_VERSION_NUM >= 160000
	EvalPlanQualInit(&w->epqstate, w->estate, NULL, NIL, -1, NIL);
#else
	EvalPlanQualInit(&w->epqstate, w->estate, NULL, NIL, -1);
#endif
	w->oldslot = ExecInitExtraTupleSlot(w->estate, desc, table_slot_callbacks(w->rel));
	w->newslot = ExecInitExtraTupleSlot(w->estate, desc, &TTSOpsVirtual);
	AfterTriggerBeginQuery();
}

/*
 * Close the indexes ExecOpenIndices opened, keeping their locks to the end
 * of the transaction as the table's (ExecCloseIndices releases them, and
 * the next call of the transaction would take them again)
 */
static void
close_indices(ResultRelInfo *rri)
{
	for (int i = 0; i < rri->ri_NumIndices; i++)
		if (rri->ri_IndexRelationDescs[i] != NULL)
			index_close(rri->ri_IndexRelationDescs[i], NoLock);
	rri->ri_NumIndices = 0;
}

/* Fire the AFTER row triggers of the rows written and close the writer */
void
relaccess_writer_close(RelWriter *w)
{
	if (w->distributed)
	{
		ExecDropSingleTupleTableSlot(w->oldslot);
		table_close(w->rel, NoLock);
		CommandCounterIncrement();
		return;
	}
	AfterTriggerEndQuery(w->estate);
	EvalPlanQualEnd(&w->epqstate);
	/* AFTER row triggers may have opened the relation again: close it */
	ExecCloseResultRelations(w->estate);
	close_indices(w->rri);
	ExecResetTupleTable(w->estate->es_tupleTable, false);
	FreeExecutorState(w->estate);
	table_close(w->rel, NoLock);
	CommandCounterIncrement();
}

/* Set the named columns of the writer's new-row slot (stored later) */
static void
set_columns(TupleTableSlot *slot, const RelColumn *cols, int ncols)
{
	for (int i = 0; i < ncols; i++)
	{
		int			attnum = enspiral_attnum(slot->tts_tupleDescriptor, cols[i].name);

		slot->tts_values[attnum - 1] = cols[i].value;
		slot->tts_isnull[attnum - 1] = cols[i].isnull;
	}
}

/*
 * Give the columns not named their defaults (identity columns their next
 * value), as INSERT does; NULL where there is none.  Stored generated
 * columns are computed by ExecSimpleRelationInsert.
 */
static void
fill_defaults(RelWriter *w, TupleTableSlot *slot, const bool *named)
{
	TupleDesc	desc = slot->tts_tupleDescriptor;
	ExprContext *econtext = GetPerTupleExprContext(w->estate);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		ExprState  *state;
		bool		per_row;

		slot->tts_values[i] = (Datum) 0;
		slot->tts_isnull[i] = true;
		if (named[i] || att->attisdropped || att->attgenerated ||
			!(att->atthasdef || att->attidentity))
			continue;
		/* compiled once per backend (core_exprcache.c), or prepared here */
		state = exprcache_default(w->rel, i + 1, &per_row);
		if (per_row)
		{
			Node	   *expr = build_column_default(w->rel, i + 1);

			state = expr != NULL ? ExecPrepareExpr((Expr *) expr, w->estate) : NULL;
		}
		if (state != NULL)
			slot->tts_values[i] = ExecEvalExprSwitchContext(state, econtext,
															&slot->tts_isnull[i]);
	}
}

/* The row version in slot, as a heap tuple with its tuple id (for triggers) */
static HeapTuple
written_tuple(TupleTableSlot *slot)
{
	HeapTuple	tup = ExecCopySlotHeapTuple(slot);

	tup->t_self = slot->tts_tid;
	tup->t_tableOid = slot->tts_tableOid;
	return tup;
}

/*
 * Insert one row: the named columns get the values given, the others their
 * defaults, as INSERT does.  See the file header for what runs.
 */
void
relaccess_writer_insert(RelWriter *w, const RelColumn *cols, int ncols)
{
	TupleTableSlot *slot = w->newslot;
	int			natts;
	bool	   *named;

	if (w->distributed)
	{
		enspiral_insert_sql(w->rel, cols, ncols);
		return;
	}
	natts = slot->tts_tupleDescriptor->natts;
	named = palloc0(natts * sizeof(bool));
	for (int i = 0; i < ncols; i++)
		named[enspiral_attnum(slot->tts_tupleDescriptor, cols[i].name) - 1] = true;
	ExecClearTuple(slot);
	fill_defaults(w, slot, named);
	set_columns(slot, cols, ncols);
	pfree(named);
	ExecStoreVirtualTuple(slot);
	if (w->owned_events == 0)
	{
		ExecSimpleRelationInsert(w->rri, w->estate, slot);
		return;
	}
	ownedtriggers_before(w, TRIGGER_EVENT_INSERT);
	ExecSimpleRelationInsert(w->rri, w->estate, slot);
	if (ownedtriggers_inline(w, TRIGGER_EVENT_INSERT))
	{
		HeapTuple	tup = written_tuple(slot);

		ownedtriggers_after(w, TRIGGER_EVENT_INSERT, tup, NULL);
		heap_freetuple(tup);
	}
}

/* Fill w->newslot with the row in w->oldslot, the named columns changed */
static void
old_row_changed(RelWriter *w, const RelColumn *cols, int ncols)
{
	TupleTableSlot *slot = w->newslot;
	int			natts = slot->tts_tupleDescriptor->natts;

	ExecClearTuple(slot);
	slot_getallattrs(w->oldslot);
	memcpy(slot->tts_values, w->oldslot->tts_values, natts * sizeof(Datum));
	memcpy(slot->tts_isnull, w->oldslot->tts_isnull, natts * sizeof(bool));
	set_columns(slot, cols, ncols);
	ExecStoreVirtualTuple(slot);
}

/* True when writer w runs every row trigger of events itself (core_owntriggers.c) */
bool
relaccess_writer_owns(const RelWriter *w, int events)
{
	return !w->distributed && events != 0 && (w->owned_events & events) == events;
}

/*
 * Insert a copy of the row fetched into w->oldslot, the named columns
 * changed, without running the writer's inline AFTER INSERT triggers: the
 * former version of a row the caller then rewrites in place with
 * relaccess_writer_replace(), whose triggers stand for both.  Only for a
 * writer that runs every row trigger of INSERT itself; the others, no-ops
 * while their flag is set, are checked as for any row.
 */
void
relaccess_writer_insert_copy(RelWriter *w, const RelColumn *cols, int ncols)
{
	if (!relaccess_writer_owns(w, TRIGGER_TYPE_INSERT))
		elog(ERROR, "writer of %s does not run its insert triggers itself",
			 RelationGetRelationName(w->rel));
	old_row_changed(w, cols, ncols);
	ownedtriggers_before(w, TRIGGER_EVENT_INSERT);
	ExecSimpleRelationInsert(w->rri, w->estate, w->newslot);
}

/*
 * Update the row fetched into w->oldslot in place (the named columns get
 * the values given) as a replacement: the writer's inline AFTER INSERT
 * triggers run for the new version, as if it had been inserted.  For a row
 * that stands for a new one under the same key (vote(): the counted vote
 * replaced, the former version kept by relaccess_writer_insert_copy), so
 * that the key's index entry stays and the update can be HOT.  Only for a
 * writer that runs every row trigger of INSERT and UPDATE itself and has
 * none to run after an UPDATE.
 */
void
relaccess_writer_replace(RelWriter *w, const RelColumn *cols, int ncols)
{
	TupleTableSlot *slot = w->newslot;

	if (!relaccess_writer_owns(w, TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE) ||
		ownedtriggers_inline(w, TRIGGER_EVENT_UPDATE))
		elog(ERROR, "writer of %s cannot replace rows", RelationGetRelationName(w->rel));
	old_row_changed(w, cols, ncols);
	ownedtriggers_before(w, TRIGGER_EVENT_UPDATE);
	ownedtriggers_before(w, TRIGGER_EVENT_INSERT);
	ExecSimpleRelationUpdate(w->rri, w->estate, &w->epqstate, w->oldslot, slot);
	if (ownedtriggers_inline(w, TRIGGER_EVENT_INSERT))
	{
		HeapTuple	tup = written_tuple(slot);

		ownedtriggers_after(w, TRIGGER_EVENT_INSERT, tup, NULL);
		heap_freetuple(tup);
	}
}

/*
 * Fetch the row version at tid into w->oldslot if snap sees it; false when
 * it does not.  The caller holds a lock that keeps other writers off the
 * row (relaccess_writer_update cannot follow a concurrent update).
 */
bool
relaccess_writer_fetch(RelWriter *w, ItemPointer tid, Snapshot snap)
{
	if (w->distributed)
		return sql_row_fetch(w->rel, tid, snap, false, w->oldslot);
	return table_tuple_fetch_row_version(w->rel, tid, snap, w->oldslot);
}

/*
 * A copy of the row version in rs->slot that relaccess_lock() locked, with
 * its tuple id (or its handle on a distributed table), for
 * relaccess_writer_use_row() after rs is closed; in the current memory
 * context
 */
HeapTuple
relaccess_locked_row(RelScan *rs)
{
	HeapTuple	row = ExecCopySlotHeapTuple(rs->slot);

	row->t_self = rs->slot->tts_tid;
	row->t_tableOid = RelationGetRelid(rs->heap);
	return row;
}

/*
 * Put row, a version of a row of w's table that the caller locked
 * (relaccess_locked_row), into w->oldslot as relaccess_writer_fetch would
 * have read it again: the latest version, which the lock keeps as it is.
 */
void
relaccess_writer_use_row(RelWriter *w, HeapTuple row)
{
	if (row->t_tableOid != RelationGetRelid(w->rel))
		elog(ERROR, "row of relation %u handed to the writer of %s", row->t_tableOid,
			 RelationGetRelationName(w->rel));
	ExecForceStoreHeapTuple(row, w->oldslot, false);
	w->oldslot->tts_tid = row->t_self;
	w->oldslot->tts_tableOid = row->t_tableOid;
}

/*
 * Update the row fetched into w->oldslot: the named columns get the values
 * given, the others keep theirs.  As an UPDATE: BEFORE and AFTER row
 * triggers, CHECK constraints, new index entries unless the update is HOT.
 */
void
relaccess_writer_update(RelWriter *w, const RelColumn *cols, int ncols)
{
	TupleTableSlot *slot = w->newslot;

	if (w->distributed)
	{
		enspiral_update_sql(w->rel, w->oldslot, cols, ncols);
		return;
	}
	old_row_changed(w, cols, ncols);
	if (w->owned_events == 0)
	{
		ExecSimpleRelationUpdate(w->rri, w->estate, &w->epqstate, w->oldslot, slot);
		return;
	}
	ownedtriggers_before(w, TRIGGER_EVENT_UPDATE);
	ExecSimpleRelationUpdate(w->rri, w->estate, &w->epqstate, w->oldslot, slot);
	if (ownedtriggers_inline(w, TRIGGER_EVENT_UPDATE))
	{
		HeapTuple	oldtup = written_tuple(w->oldslot);
		HeapTuple	newtup = written_tuple(slot);

		ownedtriggers_after(w, TRIGGER_EVENT_UPDATE, oldtup, newtup);
		heap_freetuple(oldtup);
		heap_freetuple(newtup);
	}
}

/*
 * Insert one row into enspiral.<table> through a writer of its own; api:
 * enspiral's API writes it (its own row triggers may run inline)
 */
void
relaccess_insert(const char *table, const RelColumn *cols, int ncols, bool api)
{
	RelWriter	w;

	relaccess_writer_open(&w, table, api ? TRIGGER_TYPE_INSERT : 0);
	relaccess_writer_insert(&w, cols, ncols);
	relaccess_writer_close(&w);
}
