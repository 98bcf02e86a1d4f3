/*-------------------------------------------------------------------------
 *
 * relaccess.h
 *	  Direct access to enspiral's own tables: cached relation OIDs, unique
 *	  index lookups, row locks and single-row inserts (core_relaccess.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENSPIRAL_RELACCESS_H
#define ENSPIRAL_RELACCESS_H

#include "postgres.h"

#include "catalog/pg_trigger.h"
#include "nodes/execnodes.h"
#include "executor/tuptable.h"
#include "storage/itemptr.h"
#include "storage/lockdefs.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

/* OIDs of the enspiral schema and its relations, cached per backend */
extern Oid	relaccess_namespace(void);
extern Oid	relaccess_namespace_if_exists(void);
extern Oid	relaccess_relid(const char *name);
extern Oid	relaccess_relid_if_exists(const char *name);
extern Oid	relaccess_enum_label(const char *type, const char *label);
extern bool relaccess_distributed(Oid relid);

/* An open table, one of its indexes, and a slot for its rows */
typedef struct RelScan
{
	Relation	heap;
	Relation	index;
	TupleTableSlot *slot;
	bool		distributed;	/* a Citus table: fetches run as SQL */
} RelScan;

extern void relaccess_open(RelScan *rs, const char *table, const char *index,
						   LOCKMODE mode);
extern void relaccess_close(RelScan *rs);
extern bool relaccess_fetch(RelScan *rs, Snapshot snap, int nkeys,
							const Datum *keys, const RegProcedure *procs);
extern bool relaccess_fetch_int8(RelScan *rs, Snapshot snap, int nkeys,
								 const int64 *keys);
extern bool relaccess_lock(RelScan *rs, ItemPointer row, Snapshot snap);
extern bool relaccess_written_here(TupleTableSlot *slot);

/* One lookup: open, fetch, copy the named columns out, close */
extern bool relaccess_lookup(const char *table, const char *index, int nkeys,
							 const int64 *keys, Snapshot snap, int ncols,
							 const char *const *cols, Datum *values, bool *nulls,
							 ItemPointer tid);

extern int64 relaccess_group_of(const char *table, const char *index, int64 id);
extern void relaccess_note_group(const char *table, int64 id, int64 group_id);
extern int64 relaccess_noted_group(const char *table, int64 id);

/* A column value of a row to insert */
typedef struct RelColumn
{
	const char *name;
	Datum		value;
	bool		isnull;
} RelColumn;

/* Writing rows through one executor state; see core_relaccess.c */
#define RELACCESS_MAX_OWNED 8

typedef struct RelWriter
{
	Relation	rel;
	struct ResultRelInfo *rri;
	struct EState *estate;
	EPQState	epqstate;
	TupleTableSlot *oldslot;
	TupleTableSlot *newslot;
	bool		distributed;	/* a Citus table: writes run as SQL */
	/* enspiral's own row triggers run by the writer (core_owntriggers.c) */
	int			owned_events;	/* TRIGGER_TYPE_* it may write; 0: none run */
	int			nowned;
	struct Trigger *owned_trig[RELACCESS_MAX_OWNED];
	const struct OwnedTrigger *owned[RELACCESS_MAX_OWNED];
	bool		owned_noop[RELACCESS_MAX_OWNED];	/* left out as a no-op */
} RelWriter;

/* events: the TRIGGER_TYPE_INSERT / _UPDATE rows it writes as enspiral's API, or 0 */
extern void relaccess_writer_open(RelWriter *w, const char *table, int events);
extern void relaccess_writer_close(RelWriter *w);
extern void relaccess_writer_insert(RelWriter *w, const RelColumn *cols, int ncols);
extern bool relaccess_writer_fetch(RelWriter *w, ItemPointer tid, Snapshot snap);
extern HeapTuple relaccess_locked_row(RelScan *rs);
extern void relaccess_writer_use_row(RelWriter *w, HeapTuple row);
extern void relaccess_writer_update(RelWriter *w, const RelColumn *cols, int ncols);
extern bool relaccess_writer_owns(const RelWriter *w, int events);
extern void relaccess_writer_insert_copy(RelWriter *w, const RelColumn *cols, int ncols);
extern void relaccess_writer_replace(RelWriter *w, const RelColumn *cols, int ncols);
extern void relaccess_insert(const char *table, const RelColumn *cols, int ncols, bool api);

/* core_exprcache.c: compiled CHECKs, index predicates and defaults, per backend */
extern void ownedtriggers_plan(RelWriter *w, const char *relname, int events);
extern void ownedtriggers_before(RelWriter *w, uint32 event);
extern bool ownedtriggers_inline(RelWriter *w, uint32 event);
extern void ownedtriggers_after(RelWriter *w, uint32 event, HeapTuple trigtuple,
								HeapTuple newtuple);

extern void exprcache_apply(struct ResultRelInfo *rri);
extern void exprcache_open_indices(struct ResultRelInfo *rri);
extern struct ExprState *exprcache_default(Relation rel, AttrNumber attnum, bool *per_row);

/* core_citus.c: the SQL forms of the accesses above, for a distributed table */
extern HeapTuple enspiral_fetch_sql(Relation heap, Relation idx, int nkeys, const Datum *keys,
									Snapshot snap, bool lock);
extern void enspiral_insert_sql(Relation rel, const RelColumn *cols, int ncols);
extern void enspiral_update_sql(Relation rel, TupleTableSlot *old, const RelColumn *cols,
								int ncols);

#endif							/* ENSPIRAL_RELACCESS_H */
