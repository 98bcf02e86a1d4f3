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

#include "nodes/execnodes.h"
#include "executor/tuptable.h"
#include "storage/itemptr.h"
#include "storage/lockdefs.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

/* OIDs of the enspiral schema and its relations, cached per backend */
extern Oid	relaccess_namespace(void);
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

/* A column value of a row to insert */
typedef struct RelColumn
{
	const char *name;
	Datum		value;
	bool		isnull;
} RelColumn;

/* Writing rows through one executor state; see core_relaccess.c */
typedef struct RelWriter
{
	Relation	rel;
	struct ResultRelInfo *rri;
	struct EState *estate;
	EPQState	epqstate;
	TupleTableSlot *oldslot;
	TupleTableSlot *newslot;
	bool		distributed;	/* a Citus table: writes run as SQL */
} RelWriter;

extern void relaccess_writer_open(RelWriter *w, const char *table);
extern void relaccess_writer_close(RelWriter *w);
extern void relaccess_writer_insert(RelWriter *w, const RelColumn *cols, int ncols);
extern bool relaccess_writer_fetch(RelWriter *w, ItemPointer tid, Snapshot snap);
extern void relaccess_writer_update(RelWriter *w, const RelColumn *cols, int ncols);
extern void relaccess_insert(const char *table, const RelColumn *cols, int ncols);

/* core_exprcache.c: compiled CHECKs, index predicates and defaults, per backend */
extern void exprcache_apply(struct ResultRelInfo *rri);
extern struct ExprState *exprcache_default(Relation rel, AttrNumber attnum, bool *per_row);

/* core_citus.c: the SQL forms of the accesses above, for a distributed table */
extern HeapTuple enspiral_fetch_sql(Relation heap, Relation idx, int nkeys, const Datum *keys,
									Snapshot snap, bool lock);
extern void enspiral_insert_sql(Relation rel, const RelColumn *cols, int ncols);
extern void enspiral_update_sql(Relation rel, TupleTableSlot *old, const RelColumn *cols,
								int ncols);

#endif							/* ENSPIRAL_RELACCESS_H */
