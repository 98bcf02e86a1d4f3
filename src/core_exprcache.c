/*-------------------------------------------------------------------------
 *
 * core_exprcache.c
 *	  A per-backend cache of the compiled expressions that writing a row of
 *	  one of enspiral's tables evaluates: its CHECK constraints, the
 *	  predicates of its partial indexes and its column defaults, for the
 *	  direct writers of core_relaccess.c.
 *
 * The executor compiles these per executor state: ExecRelCheck() parses
 * each CHECK constraint from its catalog text and prepares it the first
 * time a result relation is checked, ExecInsertIndexTuples() prepares a
 * partial index's predicate, and an INSERT plans its defaults.  The hot
 * paths write two to four rows per call, each through an executor state of
 * its own, so that preparation was redone for every call (5 % of the CPU
 * of try_contribute).  Here it is done once per backend and table, and the
 * writer hands the prepared states to the executor, which then skips its
 * own preparation (ri_ConstraintExprs and ii_PredicateState set).
 *
 * The same entry keeps each plain btree index's IndexInfo (its key
 * columns, uniqueness, predicate), which ExecOpenIndices() builds again
 * from the index's relcache entry for every executor state:
 * exprcache_open_indices() opens and locks the indexes as ExecOpenIndices()
 * does and hands each writer its own copy of the kept IndexInfo.  An index
 * with expressions, an exclusion constraint or another access method keeps
 * none (the executor would fill per-query state into it) and is built as
 * before.
 *
 * Only expressions that call built-in functions and enspiral's own C
 * functions alone are cached (every CHECK and partial-index predicate of
 * enspiral's tables does, and the default of transfers.chain_key, which
 * calls enspiral.next_event_id()): a SQL or PL function keeps per-query
 * state in its call info.  A table with any other CHECK or predicate is
 * not cached at all (the executor prepares it as before); a default
 * calling another function is prepared per row by the caller, as before.
 * A volatile default is compiled once and still evaluated for every row.
 *
 * Invalidation: a relcache invalidation of the table or of one of its
 * indexes (ALTER TABLE, CREATE or DROP INDEX, a changed constraint, and the
 * full resets of a cache overflow) retires the table's entry, and any
 * change of a function or schema (syscache PROCOID, NAMESPACEOID: a
 * replaced or dropped function) every entry; the compiled states of a
 * retired entry are freed at the end of the transaction, since a writer of
 * the current transaction may still use them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "enspiral.h"
#include "relaccess.h"

#define EXPRCACHE_SIZE 16

/* What the cache knows about the default of a column */
typedef enum DefaultState
{
	DEFAULT_NONE,				/* no default: NULL */
	DEFAULT_CACHED,				/* compiled here */
	DEFAULT_PER_ROW				/* calls a non built-in function: per row */
} DefaultState;

/* The compiled expressions of one table */
typedef struct ExprCacheEntry
{
	Oid			relid;
	bool		valid;			/* false once retired */
	MemoryContext cxt;
	int			ncheck;
	ExprState **checks;			/* NULL: the executor prepares them */
	int			nindexes;
	Oid		   *index_oids;
	ExprState **predicates;		/* per index; NULL for a full index */
	IndexInfo **infos;			/* per index; NULL: built per writer */
	bool		indexes_cached;
	int			natts;
	DefaultState *default_state;
	ExprState **defaults;
} ExprCacheEntry;

static ExprCacheEntry entries[EXPRCACHE_SIZE];
static int	nentries = 0;
static bool callbacks_registered = false;

/* Relcache invalidation: retire the entries of the table or index */
static void
exprcache_relcache_callback(Datum arg, Oid relid)
{
	for (int i = 0; i < nentries; i++)
	{
		ExprCacheEntry *e = &entries[i];
		bool		hit = !OidIsValid(relid) || e->relid == relid;

		for (int j = 0; !hit && j < e->nindexes; j++)
			hit = e->index_oids[j] == relid;
		if (hit)
			e->valid = false;
	}
}

/* Syscache invalidation of a function or schema: retire every entry */
static void
exprcache_function_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	for (int i = 0; i < nentries; i++)
		entries[i].valid = false;
}

/* End of transaction: free the retired entries, which nothing uses now */
static void
exprcache_xact_callback(XactEvent event, void *arg)
{
	int			kept = 0;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	for (int i = 0; i < nentries; i++)
	{
		if (entries[i].valid)
			entries[kept++] = entries[i];
		else
			MemoryContextDelete(entries[i].cxt);
	}
	nentries = kept;
}

/* Register the invalidation and end-of-transaction callbacks once */
static void
register_callbacks(void)
{
	if (callbacks_registered)
		return;
	enspiral_relcache_callback(exprcache_relcache_callback);
	CacheRegisterSyscacheCallback(PROCOID, exprcache_function_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, exprcache_function_callback, (Datum) 0);
	RegisterXactCallback(exprcache_xact_callback, NULL);
	callbacks_registered = true;
}

/*
 * True for a function that is neither built in nor one of enspiral's own C
 * functions (a check_functions_in_node checker)
 */
static bool
not_builtin(Oid func_id, void *context)
{
	HeapTuple	tup;
	bool		own;

	if (func_id < FirstGenbkiObjectId)
		return false;
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(func_id));
	if (!HeapTupleIsValid(tup))
		return true;
	own = ((Form_pg_proc) GETSTRUCT(tup))->prolang == ClanguageId &&
		((Form_pg_proc) GETSTRUCT(tup))->pronamespace == relaccess_namespace();
	ReleaseSysCache(tup);
	return !own;
}

/* Whether an expression calls a function that is not built in, anywhere */
static bool
calls_non_builtin(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, not_builtin, context))
		return true;
	return expression_tree_walker(node, calls_non_builtin, context);
}

/* Compile an expression into the current memory context, as ExecPrepareExpr does */
static ExprState *
compile(Expr *expr)
{
	return ExecInitExpr(expression_planner(expr), NULL);
}

/* Compile the CHECK constraints of rel, as ExecRelCheck would; false if not cacheable */
static bool
compile_checks(ExprCacheEntry *e, Relation rel)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	Node	  **trees;

	e->ncheck = constr != NULL ? constr->num_check : 0;
	if (e->ncheck == 0)
		return true;
	trees = palloc(e->ncheck * sizeof(Node *));
	for (int i = 0; i < e->ncheck; i++)
	{
		trees[i] = stringToNode(constr->check[i].ccbin);
		if (calls_non_builtin(trees[i], NULL))
			return false;
	}
	e->checks = palloc(e->ncheck * sizeof(ExprState *));
	for (int i = 0; i < e->ncheck; i++)
		e->checks[i] = compile((Expr *) trees[i]);
	return true;
}

/* Compile the predicates of rel's partial indexes; false if not cacheable */
static bool
compile_predicates(ExprCacheEntry *e, Relation rel)
{
	List	   *oids = RelationGetIndexList(rel);
	ListCell   *lc;
	int			i = 0;

	e->nindexes = list_length(oids);
	e->index_oids = palloc(Max(e->nindexes, 1) * sizeof(Oid));
	e->predicates = palloc0(Max(e->nindexes, 1) * sizeof(ExprState *));
	e->infos = palloc0(Max(e->nindexes, 1) * sizeof(IndexInfo *));
	foreach(lc, oids)
	{
		Oid			oid = lfirst_oid(lc);
		Relation	idx = index_open(oid, AccessShareLock);
		List	   *pred = RelationGetIndexPredicate(idx);
		IndexInfo  *info = BuildIndexInfo(idx);

		index_close(idx, AccessShareLock);
		e->index_oids[i] = oid;
		if (pred != NIL)
		{
			if (calls_non_builtin((Node *) pred, NULL))
				return false;
			e->predicates[i] = ExecInitQual((List *) expression_planner((Expr *) pred), NULL);
		}
		/* only what the executor reads and never fills in */
		if (info->ii_Am == BTREE_AM_OID && info->ii_Expressions == NIL &&
			info->ii_ExclusionOps == NULL)
		{
			info->ii_PredicateState = e->predicates[i];
			e->infos[i] = info;
		}
		i++;
	}
	return true;
}

/* Compile the column defaults of rel that call built-in functions only */
static void
compile_defaults(ExprCacheEntry *e, Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);

	e->natts = desc->natts;
	e->default_state = palloc0(e->natts * sizeof(DefaultState));
	e->defaults = palloc0(e->natts * sizeof(ExprState *));
	for (int i = 0; i < e->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Node	   *expr;

		if (att->attisdropped || att->attgenerated || !(att->atthasdef || att->attidentity))
			continue;
		expr = build_column_default(rel, i + 1);
		if (expr == NULL)
			continue;
		if (calls_non_builtin(expr, NULL))
			e->default_state[i] = DEFAULT_PER_ROW;
		else
		{
			e->default_state[i] = DEFAULT_CACHED;
			e->defaults[i] = compile((Expr *) expr);
		}
	}
}

/*
 * The entry of rel, compiled on first use.  It is built in a context of
 * its own under the current one and moved under CacheMemoryContext once
 * complete, so an error half-way leaks nothing.  NULL when the cache is
 * full.
 */
static ExprCacheEntry *
entry_for(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	ExprCacheEntry e = {0};
	MemoryContext old;

	register_callbacks();
	for (int i = 0; i < nentries; i++)
		if (entries[i].valid && entries[i].relid == relid)
			return &entries[i];
	if (nentries >= EXPRCACHE_SIZE)
		return NULL;
	e.relid = relid;
	e.cxt = AllocSetContextCreate(CurrentMemoryContext, "enspiral compiled expressions",
								  ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(e.cxt);
	if (!compile_checks(&e, rel))
		e.checks = NULL;
	e.indexes_cached = compile_predicates(&e, rel);
	compile_defaults(&e, rel);
	MemoryContextSwitchTo(old);
	MemoryContextSetParent(e.cxt, CacheMemoryContext);
	/* compiling may have processed invalidations: the entry is still current */
	e.valid = true;
	entries[nentries] = e;
	return &entries[nentries++];
}

/*
 * Hand the compiled CHECK constraints and partial-index predicates of the
 * writer's table to its result relation (opened with its indexes), so the
 * executor does not prepare them again.
 */
void
exprcache_apply(ResultRelInfo *rri)
{
	ExprCacheEntry *e = entry_for(rri->ri_RelationDesc);

	if (e == NULL)
		return;
	if (e->checks != NULL && e->ncheck > 0)
		rri->ri_ConstraintExprs = e->checks;
	if (!e->indexes_cached)
		return;
	for (int i = 0; i < rri->ri_NumIndices; i++)
	{
		Oid			oid = RelationGetRelid(rri->ri_IndexRelationDescs[i]);

		for (int j = 0; j < e->nindexes; j++)
			if (e->index_oids[j] == oid && rri->ri_IndexRelationInfo[i]->ii_Predicate != NIL)
				rri->ri_IndexRelationInfo[i]->ii_PredicateState = e->predicates[j];
	}
}

/* The kept IndexInfo of index oid in entry e, or NULL */
static IndexInfo *
kept_info(ExprCacheEntry *e, Oid oid)
{
	if (e == NULL || !e->indexes_cached)
		return NULL;
	for (int j = 0; j < e->nindexes; j++)
		if (e->index_oids[j] == oid)
			return e->infos[j];
	return NULL;
}

/*
 * Open the indexes of rri's table as ExecOpenIndices(rri, false) does (each
 * locked RowExclusiveLock, in the order of RelationGetIndexList), giving
 * each its IndexInfo from the cache, copied into the current memory
 * context, where there is one; then exprcache_apply().  The entry is
 * looked up after the locks are taken, which processes the invalidations
 * that retire it.
 */
void
exprcache_open_indices(ResultRelInfo *rri)
{
	Relation	rel = rri->ri_RelationDesc;
	List	   *oids;
	ExprCacheEntry *e;
	int			n;
	int			i;

	Assert(rri->ri_IndexRelationDescs == NULL);
	oids = rel->rd_rel->relhasindex ? RelationGetIndexList(rel) : NIL;
	n = list_length(oids);
	if (n > 0)
	{
		rri->ri_IndexRelationDescs = palloc(n * sizeof(Relation));
		rri->ri_IndexRelationInfo = palloc(n * sizeof(IndexInfo *));
		rri->ri_NumIndices = n;
		for (i = 0; i < n; i++)
			rri->ri_IndexRelationDescs[i] = index_open(list_nth_oid(oids, i), RowExclusiveLock);
	}
	list_free(oids);
	e = entry_for(rel);
	for (i = 0; i < n; i++)
	{
		Relation	idx = rri->ri_IndexRelationDescs[i];
		IndexInfo  *kept = kept_info(e, RelationGetRelid(idx));
		IndexInfo  *info;

		if (kept != NULL)
		{
			info = palloc(sizeof(IndexInfo));
			memcpy(info, kept, sizeof(IndexInfo));
			info->ii_Context = CurrentMemoryContext;
		}
		else
			info = BuildIndexInfo(idx);
		rri->ri_IndexRelationInfo[i] = info;
	}
	exprcache_apply(rri);
}

/*
 * The compiled default of column attnum of rel: *state says whether there
 * is none (NULL), a compiled one, or one the caller must prepare per row.
 */
ExprState *
exprcache_default(Relation rel, AttrNumber attnum, bool *per_row)
{
	ExprCacheEntry *e = entry_for(rel);

	*per_row = e == NULL || attnum > e->natts ||
		e->default_state[attnum - 1] == DEFAULT_PER_ROW;
	return e == NULL || attnum > e->natts ? NULL : e->defaults[attnum - 1];
}
