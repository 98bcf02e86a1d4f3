/*-------------------------------------------------------------------------
 *
 * decisions_delegation.c
 *	  Vote weights and transitive delegation for tallies
 *	  (doc/decision-rules.md, "Weights and delegation").
 *
 * vote() stores with each named vote its voter's own weight at the
 * opening (ref).  enspiral.delegated_weights(group_id, proposal_id, ref, t,
 * weighted) gives the weight delegated to voters: the delegations in
 * effect at ref are read once; each delegating electorate member who did
 * not vote follows its chain:
 *
 *	 - a member who voted is the carrier: the weight goes to its vote (a
 *	   member who votes suspends its own delegation for this proposal);
 *	 - a member in the chain who did not vote and delegates passes it on;
 *	 - a member who did not vote and does not delegate (or is not in the
 *	   electorate: departed, never eligible, removed) ends the chain, and a
 *	   chain that comes back to a member already on it is a cycle: in both
 *	   cases the weight is not counted (LiquidFeedback's rule: a cycle in
 *	   which nobody votes casts nothing; a vote anywhere on it breaks it).
 *
 * Each member is resolved once (the result of a chain is shared by every
 * member on it), so resolving costs O(delegations).  The graph is read
 * with one pass per table (delegations, counted votes, memberships at
 * ref, additions, removals, departures, weights), no join, nothing
 * materialized: the delegations, memberships and weights by a direct heap
 * scan when the table is small or mostly the group's (PeriodTable), every
 * table otherwise by a query whose rows are streamed to the graph.  The
 * graph is an array of nodes in member order indexed by id when the ids
 * are dense, an open-addressing hash keyed by member otherwise, its
 * memory kept between tallies; enspiral.tally_weights() gives the sums
 * of the same resolution, so a weighted tally needs no extra pass over its
 * ballots, and enspiral.consent_tally() counts consent ballots by position
 * in the pass that reads the votes into the graph, so a weighted consent
 * tally reads its votes once.  Sums are int64 with overflow checks
 * (22003).
 *
 * delegation_may_cast() decides who may cast a vote for whom
 * (enspiral.vote_as_delegate(), src/decisions_votes.c) on the same chains.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/snapmgr.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "common/hashfn.h"
#include "storage/bufmgr.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/memutils.h"

#include "enspiral.h"
#include "decisions.h"
#include "relaccess.h"

PG_FUNCTION_INFO_V1(enspiral_delegated_weights);
PG_FUNCTION_INFO_V1(enspiral_tally_weights);
PG_FUNCTION_INFO_V1(enspiral_consent_tally);
PG_FUNCTION_INFO_V1(enspiral_lock_group_rules);
PG_FUNCTION_INFO_V1(enspiral_lock_group_rules_at);

/* A member in the delegation graph of one tally */
typedef struct DelegNode
{
	int64		member_id;		/* hash key */
	int64		to_member;		/* delegate at ref; 0: none */
	int64		weight;			/* own weight at ref (delegators) */
	int64		delegated;		/* weight delegated to this voter */
	int64		carrier;		/* resolved: voter carrying the weight, 0: lost */
	bool		voted;			/* has a counted vote */
	bool		member_at_ref;	/* a member of the group at ref */
	bool		added;			/* added to the electorate (add_voter) */
	bool		out;			/* removed from the electorate, or departed at t */
	int8		position;		/* consent tally: the slot of its ballot, -1 none */
	int8		state;			/* 0 unresolved, 1 on the current path, 2 resolved */
	char		status;			/* simplehash */
} DelegNode;

/*
 * The graph, keyed by member_id: an open-addressing hash (simplehash),
 * since every row of the group's tables is looked up in it.  Inserting
 * may move entries: pointers to nodes are only kept while nothing is
 * inserted.
 */
#define SH_PREFIX		deleg
#define SH_ELEMENT_TYPE DelegNode
#define SH_KEY_TYPE		int64
#define SH_KEY			member_id
#define SH_HASH_KEY(tb, key) \
	hash_combine(murmurhash32((uint32) (key)), murmurhash32((uint32) ((uint64) (key) >> 32)))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* A delegation in effect at ref, as read */
typedef struct DelegPair
{
	int64		from;
	int64		to;
} DelegPair;

/*
 * A DestReceiver that hands each row of a query to a function with the
 * graph, without materializing the result: the graph reads tables of the
 * size of the group, and copying their rows would cost more than the rest.
 */

typedef struct TallyGraph
{
	DelegPair  *pairs;			/* the delegations read, before the graph is built */
	uint64		npairs;
	deleg_hash *nodes;			/* or NULL: DelegNode by member_id, when not dense */
	uint64	   *filter;			/* or NULL: GRAPH_FILTER_BITS, bits of the members */
	uint64	   *delegators;		/* GRAPH_FILTER_BITS, bits of the delegators */
	uint32	   *dense;			/* or NULL: 1 + entry in ordered of member dense_min + i */
	DelegNode  *ordered;		/* with dense: the nodes, in member order */
	uint64		count;			/* the number of nodes */
	int64		dense_min;
	uint64		dense_span;
	int64		voted;			/* counted votes at t */
	int64		direct;			/* their own weights */
	bool		consent;		/* count consent positions in the votes pass */
	int64		weights[4];		/* consent: own weight by position */
	int64		ballots[4];		/* consent: ballots by position */
	const struct PeriodTable *period;	/* the table read by row_period */
} TallyGraph;

typedef struct GraphReceiver
{
	DestReceiver pub;
	TallyGraph *graph;
	void		(*row) (TallyGraph *graph, TupleTableSlot *slot);
} GraphReceiver;

/*
 * The carriers of the last tally, kept for the other queries of the same
 * tally: a tally reads its ballots several times under one snapshot, and
 * the delegations resolve the same way each time.  The key is everything
 * that decides the result: the proposal, ref, t, whether weights apply,
 * the transaction and the snapshot's contents.
 */
typedef struct CarrierCache
{
	bool		valid;
	int64		proposal_id;
	TimestampTz ref;
	TimestampTz t;
	bool		weighted;
	bool		delegation;
	LocalTransactionId lxid;
	TransactionId xmin;
	TransactionId xmax;
	CommandId	curcid;
	uint32		xcnt;
	int32		subxcnt;
	uint32		xiphash;
	int			n;				/* carriers */
	int64	   *members;
	int64	   *delegated;
	int64		voted;			/* counted votes */
	int64		direct;			/* their own weights */
	int64		delegated_total;	/* weight delegated to them */
	MemoryContext cxt;
} CarrierCache;

static CarrierCache carrier_cache = {0};

/*
 * The graph's hash is kept between tallies, emptied before each: its
 * memory is then already mapped, where a new hash would grow step by step
 * into fresh pages (more than half the cost of reading the delegations).
 * A hash grown beyond GRAPH_KEEP_MAX entries is given back after its tally.
 */
#define GRAPH_KEEP_MAX	(1 << 18)
static MemoryContext graph_cxt = NULL;
static deleg_hash *graph_nodes = NULL;
static DelegPair *graph_pairs = NULL;
static uint64 graph_pairs_cap = 0;

/*
 * Most rows read (votes, memberships, weights) are of members outside the
 * graph: a bit per member id modulo GRAPH_FILTER_BITS, set for the
 * members in the graph, answers most lookups without touching the hash.
 */
#define GRAPH_FILTER_BITS	(1 << 20)
#define FILTER_BIT(m)		((uint64) (m) & (GRAPH_FILTER_BITS - 1))
static uint64 *graph_filter = NULL;

/*
 * The same bits for the delegators alone: the tables of periods
 * (PeriodTable) are read for them, and a bit answers for a row where its
 * node, at a random place in the graph's memory, would cost a cache miss.
 */
static uint64 *graph_delegators = NULL;

#define FILTER_HAS(bits, m) \
	(((bits)[FILTER_BIT(m) / 64] & (UINT64CONST(1) << (FILTER_BIT(m) % 64))) != 0)
#define FILTER_SET(bits, m) \
	((bits)[FILTER_BIT(m) / 64] |= UINT64CONST(1) << (FILTER_BIT(m) % 64))

/*
 * When the members of the graph have ids close together (their span at
 * most GRAPH_DENSE_RATIO times their number, and at most GRAPH_DENSE_MAX),
 * lookups go through an array indexed by id instead: the rows of the
 * group's tables come in id order, so consecutive lookups read
 * consecutive memory, where the hash sends each to a random place.
 */
#define GRAPH_DENSE_RATIO	8
#define GRAPH_DENSE_MAX		(1 << 22)
static uint32 *graph_dense = NULL;
static uint64 graph_dense_cap = 0;

/*
 * With the array, the nodes themselves are copied in member order (the
 * hash places them at random): the rows of every later pass, read in id
 * order, then touch the nodes in memory order, where a random place cost
 * a cache miss per row that has a node.
 */
static DelegNode *graph_ordered = NULL;
static uint64 graph_ordered_cap = 0;

/* The path of the chain being resolved (resolve_all) */
static DelegNode **graph_path = NULL;
static uint64 graph_path_cap = 0;

/* The memory kept between tallies */
static MemoryContext
graph_memory(void)
{
	if (graph_cxt == NULL)
		graph_cxt = AllocSetContextCreate(TopMemoryContext, "enspiral delegation graph",
										  ALLOCSET_DEFAULT_SIZES);
	return graph_cxt;
}

/* The graph's hash, empty */
static deleg_hash *
graph_hash(void)
{
	if (graph_nodes == NULL)
		graph_nodes = deleg_create(graph_memory(), 1024, NULL);
	else
		deleg_reset(graph_nodes);
	return graph_nodes;
}

/* Give back the graph's memory when it grew too large to keep */
static void
graph_release(void)
{
	if ((graph_nodes != NULL && graph_nodes->size > GRAPH_KEEP_MAX) ||
		graph_dense_cap > GRAPH_KEEP_MAX || graph_ordered_cap > GRAPH_KEEP_MAX ||
		graph_pairs_cap > GRAPH_KEEP_MAX || graph_path_cap > GRAPH_KEEP_MAX)
	{
		MemoryContextReset(graph_cxt);
		graph_nodes = NULL;
		graph_dense = NULL;
		graph_dense_cap = 0;
		graph_ordered = NULL;
		graph_ordered_cap = 0;
		graph_pairs = NULL;
		graph_pairs_cap = 0;
		graph_path = NULL;
		graph_path_cap = 0;
	}
}

/* An array kept in the graph's memory, grown to at least n elements */
static void *
graph_array(void *array, uint64 *cap, uint64 n, Size elem)
{
	if (*cap >= n)
		return array;
	if (array != NULL)
		pfree(array);
	*cap = Max(n, 2 * *cap);
	return MemoryContextAllocHuge(graph_memory(), elem * *cap);
}

/* The same, keeping its contents */
static void *
graph_array_grow(void *array, uint64 *cap, uint64 n, Size elem)
{
	if (*cap >= n)
		return array;
	*cap = Max(n, Max(2 * *cap, 1024));
	if (array == NULL)
		return MemoryContextAllocHuge(graph_memory(), elem * *cap);
	return repalloc_huge(array, elem * *cap);
}

/* Add b to *a, 22003 on overflow */
static void
weight_add(int64 *a, int64 b)
{
	if (pg_add_s64_overflow(*a, b, a))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("vote weight out of range"),
				 errdetail("The weights of one tally must add up to at most %lld.",
						   (long long) PG_INT64_MAX)));
}

/* A member's node, empty */
static void
node_init(DelegNode *n, int64 member_id)
{
	n->member_id = member_id;
	n->to_member = 0;
	n->weight = 1;
	n->delegated = 0;
	n->carrier = 0;
	n->voted = false;
	n->member_at_ref = false;
	n->added = false;
	n->out = false;
	n->position = -1;
	n->state = 0;
}

/* The node of a member in the hash, created empty when new */
static DelegNode *
node_of(TallyGraph *g, int64 member_id)
{
	bool		found;
	DelegNode  *n = deleg_insert(g->nodes, member_id, &found);

	if (!found)
		node_init(n, member_id);
	return n;
}

/* The node of a member, or NULL when not in the graph */
static DelegNode *
node_lookup(TallyGraph *g, int64 m)
{
	if (g->dense != NULL)
	{
		uint64		i = (uint64) m - (uint64) g->dense_min;

		if (i >= g->dense_span || g->dense[i] == 0)
			return NULL;
		return &g->ordered[g->dense[i] - 1];
	}
	if (g->filter == NULL || !FILTER_HAS(g->filter, m))
		return NULL;
	return deleg_lookup(g->nodes, m);
}

/*
 * The array form of the graph: mark the members, lay their nodes out in
 * member order, then link the delegations.  False, having built nothing,
 * when the members turn out too few for their span.
 */
static bool
graph_dense_build(TallyGraph *g, int64 lo, uint64 span)
{
	uint64		count = 0;

	graph_dense = graph_array(graph_dense, &graph_dense_cap, span, sizeof(uint32));
	memset(graph_dense, 0, sizeof(uint32) * span);
	for (uint64 i = 0; i < g->npairs; i++)
	{
		CHECK_FOR_INTERRUPTS();
		graph_dense[(uint64) g->pairs[i].from - (uint64) lo] = 1;
		graph_dense[(uint64) g->pairs[i].to - (uint64) lo] = 1;
	}
	for (uint64 i = 0; i < span; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (graph_dense[i] != 0)
			graph_dense[i] = (uint32) ++count;
	}
	if (span / GRAPH_DENSE_RATIO > count)
		return false;
	graph_ordered = graph_array(graph_ordered, &graph_ordered_cap, count, sizeof(DelegNode));
	for (uint64 i = 0; i < span; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (graph_dense[i] != 0)
			node_init(&graph_ordered[graph_dense[i] - 1], lo + (int64) i);
	}
	g->ordered = graph_ordered;
	g->count = count;
	g->dense = graph_dense;
	g->dense_min = lo;
	g->dense_span = span;
	for (uint64 i = 0; i < g->npairs; i++)
	{
		CHECK_FOR_INTERRUPTS();
		node_lookup(g, g->pairs[i].from)->to_member = g->pairs[i].to;
	}
	return true;
}

/* The hash form of the graph, with the filter of its members */
static void
graph_hash_build(TallyGraph *g)
{
	deleg_iterator it;
	DelegNode  *n;

	g->nodes = graph_hash();
	for (uint64 i = 0; i < g->npairs; i++)
	{
		CHECK_FOR_INTERRUPTS();
		node_of(g, g->pairs[i].from)->to_member = g->pairs[i].to;
		(void) node_of(g, g->pairs[i].to);
	}
	if (graph_filter == NULL)
		graph_filter = MemoryContextAlloc(TopMemoryContext, GRAPH_FILTER_BITS / 8);
	memset(graph_filter, 0, GRAPH_FILTER_BITS / 8);
	deleg_start_iterate(g->nodes, &it);
	while ((n = deleg_iterate(g->nodes, &it)) != NULL)
	{
		CHECK_FOR_INTERRUPTS();
		FILTER_SET(graph_filter, n->member_id);
	}
	g->filter = graph_filter;
	g->count = g->nodes->members;
}

/*
 * Build the graph from the delegations read: by id when its ids are dense
 * enough (see graph_dense: the nodes are then laid out in member order,
 * without a hash), else in the hash with the filter in front of it
 */
static void
graph_build(TallyGraph *g)
{
	int64		lo = PG_INT64_MAX,
				hi = PG_INT64_MIN;
	uint64		span;

	g->dense = NULL;
	g->ordered = NULL;
	g->count = 0;
	g->filter = NULL;
	g->delegators = NULL;
	if (g->npairs == 0)
		return;
	if (graph_delegators == NULL)
		graph_delegators = MemoryContextAlloc(TopMemoryContext, GRAPH_FILTER_BITS / 8);
	memset(graph_delegators, 0, GRAPH_FILTER_BITS / 8);
	for (uint64 i = 0; i < g->npairs; i++)
	{
		CHECK_FOR_INTERRUPTS();
		lo = Min(lo, Min(g->pairs[i].from, g->pairs[i].to));
		hi = Max(hi, Max(g->pairs[i].from, g->pairs[i].to));
		FILTER_SET(graph_delegators, g->pairs[i].from);
	}
	g->delegators = graph_delegators;
	span = (uint64) hi - (uint64) lo + 1;
	/* at most 2 * npairs members: too sparse for the array whatever they are */
	if (span == 0 || span > GRAPH_DENSE_MAX || span / GRAPH_DENSE_RATIO > 2 * g->npairs ||
		!graph_dense_build(g, lo, span))
		graph_hash_build(g);
}

/* Iterating the nodes of an indexed graph: the ordered copy, or the hash */
typedef struct GraphIter
{
	deleg_iterator it;
	uint64		i;
} GraphIter;

static void
graph_start(TallyGraph *g, GraphIter *it)
{
	it->i = 0;
	if (g->ordered == NULL && g->nodes != NULL)
		deleg_start_iterate(g->nodes, &it->it);
}

static DelegNode *
graph_next(TallyGraph *g, GraphIter *it)
{
	CHECK_FOR_INTERRUPTS();
	if (g->ordered != NULL)
		return it->i < g->count ? &g->ordered[it->i++] : NULL;
	return g->nodes == NULL ? NULL : deleg_iterate(g->nodes, &it->it);
}

/* The node of a member already in the graph, or NULL */
static DelegNode *
node_find(TallyGraph *g, TupleTableSlot *slot, int attnum)
{
	bool		isnull;
	int64		m = DatumGetInt64(slot_getattr(slot, attnum, &isnull));

	return isnull ? NULL : node_lookup(g, m);
}

/* Row handlers of the graph queries (see read_graph) */

/* A delegation in effect at ref: the delegator and its delegate join the graph */
static void
delegation_at_ref(TallyGraph *g, int64 member, DelegNode *unused, int64 to_member)
{
	if (g->npairs == graph_pairs_cap)
		graph_pairs = graph_array_grow(graph_pairs, &graph_pairs_cap, g->npairs + 1,
									   sizeof(DelegPair));
	g->pairs = graph_pairs;
	g->pairs[g->npairs].from = member;
	g->pairs[g->npairs++].to = to_member;
}

/* A counted vote (columns: member, own weight): its node, or NULL */
static DelegNode *
count_voter(TallyGraph *g, TupleTableSlot *slot)
{
	DelegNode  *n = node_find(g, slot, 1);
	bool		isnull;

	g->voted++;
	weight_add(&g->direct, DatumGetInt64(slot_getattr(slot, 2, &isnull)));
	if (n != NULL)
		n->voted = true;
	return n;
}

static void
row_voter(TallyGraph *g, TupleTableSlot *slot)
{
	(void) count_voter(g, slot);
}

/*
 * A counted vote of a consent tally: as row_voter, and its ballot (column
 * 3) counted with its own weight by position; the weight delegated to it
 * is added once the graph is resolved (consent_sums)
 */
static void
row_consent_voter(TallyGraph *g, TupleTableSlot *slot)
{
	DelegNode  *n = count_voter(g, slot);
	bool		isnull;
	Datum		ballot = slot_getattr(slot, 3, &isnull);
	Jsonb	   *jb = DatumGetJsonbP(ballot);
	int			pos = consent_position(jb);

	/* a short ballot is copied to be read: not kept for every vote */
	if ((Pointer) jb != DatumGetPointer(ballot))
		pfree(jb);
	if (pos < 0)
		return;
	weight_add(&g->weights[pos], DatumGetInt64(slot_getattr(slot, 2, &isnull)));
	g->ballots[pos]++;
	if (n != NULL)
		n->position = (int8) pos;
}

/* A delegator in the electorate at ref */
static void
member_at_ref(TallyGraph *g, int64 member, DelegNode *n, int64 value)
{
	n->member_at_ref = true;
}

static void
row_added(TallyGraph *g, TupleTableSlot *slot)
{
	DelegNode  *n = node_find(g, slot, 1);

	if (n != NULL)
		n->added = true;
}

static void
row_out(TallyGraph *g, TupleTableSlot *slot)
{
	DelegNode  *n = node_find(g, slot, 1);

	if (n != NULL)
		n->out = true;
}

/* A delegator's own weight at ref */
static void
weight_at_ref(TallyGraph *g, int64 member, DelegNode *n, int64 value)
{
	n->weight = value;
}

/* GraphReceiver callbacks */
static bool
graph_receive(TupleTableSlot *slot, DestReceiver *self)
{
	GraphReceiver *r = (GraphReceiver *) self;

	CHECK_FOR_INTERRUPTS();
	r->row(r->graph, slot);
	return true;
}

static void
graph_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
graph_shutdown(DestReceiver *self)
{
}

static void
graph_destroy(DestReceiver *self)
{
}

/*
 * Run one graph query with the tally's arguments ($1 group_id, $2
 * proposal_id, $3 ref, $4 t; a query may leave some unused) and hand each
 * row to row().  Call connected to SPI.
 */
static void
graph_query(SPIPlanPtr *plan, const char *sql, const Datum *args,
			TallyGraph *graph, void (*row) (TallyGraph *, TupleTableSlot *))
{
	static const Oid argtypes[4] = {INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	const int	nargs = lengthof(argtypes);
	ParamListInfo params = makeParamList(nargs);
	SPIExecuteOptions options;
	GraphReceiver recv;

	enspiral_plan(plan, sql, nargs, argtypes);
	for (int i = 0; i < nargs; i++)
	{
		params->params[i].value = args[i];
		params->params[i].isnull = false;
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = argtypes[i];
	}
	memset(&recv, 0, sizeof(recv));
	recv.pub.receiveSlot = graph_receive;
	recv.pub.rStartup = graph_startup;
	recv.pub.rShutdown = graph_shutdown;
	recv.pub.rDestroy = graph_destroy;
	recv.pub.mydest = DestNone;
	recv.graph = graph;
	recv.row = row;
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = true;
	options.dest = &recv.pub;
	/* SPI reports a SELECT into a DestNone receiver as SPI_OK_UTILITY */
	if (SPI_execute_plan_extended(*plan, &options) < 0)
		elog(ERROR, "reading the delegation graph failed");
}

/*
 * A table of periods per member of the group (delegations, memberships,
 * vote_weights), of which a tally needs the rows in effect at ref: every
 * delegation, and the memberships and weights of the delegators in the
 * graph (only a delegator's membership and weight decide anything).  Such
 * a table has up to a row per member of the group: read by the executor,
 * each row costs a qualification, a slot and a receiver call, more than
 * the rest of the graph together.  So when the table is a plain heap that
 * is small or holds mostly this group's rows, it is read directly
 * (period_scan): one heap scan under the tally's snapshot, as a
 * sequential scan reads it, where a row's member is looked at first and
 * the other columns are read only for the rows wanted.  Otherwise (a large
 * table mostly of other groups, read through its index; a Citus table,
 * whose rows live in shards) the SQL form runs, with the same rows and the
 * same result.
 */
typedef struct PeriodTable
{
	const char *table;
	const char *member;			/* columns: the member, */
	const char *from;			/* the period [from, to), to NULL: open, */
	const char *to;
	const char *value;			/* and a bigint value, or NULL */
	bool		delegators;		/* only the rows of the graph's delegators */
	const char *sql;			/* the same rows in SQL: member (, value) */
	/* what a row does; n: the delegator's node (delegators only) */
	void		(*row) (TallyGraph *g, int64 member, DelegNode *n, int64 value);
} PeriodTable;

/*
 * Read directly when the table has at most GRAPH_SCAN_BLOCKS blocks (its
 * scan costs well under a millisecond whatever it holds), or at least
 * GRAPH_SCAN_DENSITY members of the graph or voters per block (an index
 * scan of the group's rows then costs more than scanning them all).  The
 * delegations, read first, when nothing is known of the group yet, are
 * read directly by the first rule only.
 */
#define GRAPH_SCAN_BLOCKS	128
#define GRAPH_SCAN_DENSITY	32

/* A row of a period table read in SQL (columns: member, value) */
static void
row_period(TallyGraph *g, TupleTableSlot *slot)
{
	const PeriodTable *t = g->period;
	bool		isnull;
	int64		member = DatumGetInt64(slot_getattr(slot, 1, &isnull));
	int64		value = t->value == NULL ? 0 : DatumGetInt64(slot_getattr(slot, 2, &isnull));
	DelegNode  *n = NULL;

	if (t->delegators)
	{
		n = node_lookup(g, member);
		if (n == NULL || n->to_member == 0)
			return;
	}
	t->row(g, member, n, value);
}

/* Whether reading the whole table directly costs less than the SQL form */
static bool
period_scan_pays(TallyGraph *g, Relation rel)
{
	BlockNumber blocks;

	if (rel->rd_tableam != GetHeapamTableAmRoutine() ||
		relaccess_distributed(RelationGetRelid(rel)))
		return false;
	blocks = RelationGetNumberOfBlocks(rel);
	return blocks <= GRAPH_SCAN_BLOCKS ||
		(uint64) blocks * GRAPH_SCAN_DENSITY <= (uint64) g->voted + g->count;
}

/*
 * Read a period table directly (see PeriodTable), or return false when its
 * SQL form must run.  args: $1 group_id, $3 ref.
 */
static bool
period_scan(TallyGraph *g, const PeriodTable *t, const Datum *args)
{
	int64		group_id = DatumGetInt64(args[0]);
	TimestampTz ref = DatumGetTimestampTz(args[2]);
	Relation	rel = table_open(relaccess_relid(t->table), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	a_group,
				a_member,
				a_from,
				a_to,
				a_value;
	TableScanDesc scan;
	HeapTuple	tup;

	if (!period_scan_pays(g, rel))
	{
		table_close(rel, AccessShareLock);
		return false;
	}
	a_group = enspiral_attnum(desc, "group_id");
	a_member = enspiral_attnum(desc, t->member);
	a_from = enspiral_attnum(desc, t->from);
	a_to = enspiral_attnum(desc, t->to);
	a_value = t->value == NULL ? InvalidAttrNumber : enspiral_attnum(desc, t->value);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		d;
		int64		member;
		int64		value = 0;
		DelegNode  *n = NULL;

		CHECK_FOR_INTERRUPTS();
		/* the member first: most rows of most tables are not wanted */
		d = heap_getattr(tup, a_member, desc, &isnull);
		if (isnull)
			continue;
		member = DatumGetInt64(d);
		if (t->delegators)
		{
			if (!FILTER_HAS(g->delegators, member) ||
				(n = node_lookup(g, member)) == NULL || n->to_member == 0)
				continue;
		}
		d = heap_getattr(tup, a_group, desc, &isnull);
		if (isnull || DatumGetInt64(d) != group_id)
			continue;
		d = heap_getattr(tup, a_from, desc, &isnull);
		if (isnull || DatumGetTimestampTz(d) > ref)
			continue;
		d = heap_getattr(tup, a_to, desc, &isnull);
		if (!isnull && DatumGetTimestampTz(d) <= ref)
			continue;
		if (a_value != InvalidAttrNumber)
		{
			d = heap_getattr(tup, a_value, desc, &isnull);
			if (isnull)
				continue;
			value = DatumGetInt64(d);
		}
		t->row(g, member, n, value);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return true;
}

/* Read the rows of a period table in effect at ref */
static void
period_read(TallyGraph *g, SPIPlanPtr *plan, const PeriodTable *t, const Datum *args)
{
	if (period_scan(g, t, args))
		return;
	g->period = t;
	graph_query(plan, t->sql, args, g, row_period);
	g->period = NULL;
}

/* The counted votes at t: those of enspiral.tally_ballots() */
#define GRAPH_VOTES \
	" FROM enspiral.votes v" \
	" WHERE v.group_id OPERATOR(pg_catalog.=) $1" \
	"   AND v.proposal_id OPERATOR(pg_catalog.=) $2" \
	"   AND (v.superseded_at IS NULL OR v.superseded_at OPERATOR(pg_catalog.>) $4)" \
	"   AND v.cast_at OPERATOR(pg_catalog.<=) $4" \
	"   AND v.member_id NOT IN (SELECT d FROM enspiral.departed_members($1, $4) d)"

/* The period tables of a graph */
static const PeriodTable delegations_at_ref = {
	"delegations", "from_member", "valid_from", "valid_to", "to_member", false,
	"SELECT d.from_member, d.to_member FROM enspiral.delegations d"
	" WHERE d.group_id OPERATOR(pg_catalog.=) $1"
	"   AND d.valid_from OPERATOR(pg_catalog.<=) $3"
	"   AND (d.valid_to IS NULL OR d.valid_to OPERATOR(pg_catalog.>) $3)",
	delegation_at_ref
};

static const PeriodTable memberships_at_ref = {
	"memberships", "member_id", "joined_at", "left_at", NULL, true,
	"SELECT m.member_id FROM enspiral.memberships m"
	" WHERE m.group_id OPERATOR(pg_catalog.=) $1"
	"   AND m.joined_at OPERATOR(pg_catalog.<=) $3"
	"   AND (m.left_at IS NULL OR m.left_at OPERATOR(pg_catalog.>) $3)",
	member_at_ref
};

static const PeriodTable weights_at_ref = {
	"vote_weights", "member_id", "valid_from", "valid_to", "weight", true,
	"SELECT w.member_id, w.weight FROM enspiral.vote_weights w"
	" WHERE w.group_id OPERATOR(pg_catalog.=) $1"
	"   AND w.valid_from OPERATOR(pg_catalog.<=) $3"
	"   AND (w.valid_to IS NULL OR w.valid_to OPERATOR(pg_catalog.>) $3)",
	weight_at_ref
};

/*
 * Read the graph of a tally (args: group_id, proposal_id, ref, t,
 * weighted, delegation): the counted votes at t with their own weights
 * and, when delegation applies, the delegations in effect at ref and, for
 * the members in them, who is in the electorate (a member at ref, none
 * with voters = invited, or added; not removed at t; not departed at t:
 * the electorate of enspiral.electorate_members() of the members still in
 * the group, whose votes count) and, when weights apply, the weights at
 * ref.  Each table is read once, in one pass, never per member.
 */
static void
read_graph(TallyGraph *g, const Datum *args, bool invited)
{
	static SPIPlanPtr pd = NULL,
				pv = NULL,
				pc = NULL,
				pm = NULL,
				pa = NULL,
				pr = NULL,
				pl = NULL,
				pw = NULL;
	GraphIter	it;
	DelegNode  *n;

	if (DatumGetBool(args[5]))
		period_read(g, &pd, &delegations_at_ref, args);
	graph_build(g);
	/* the votes of enspiral.tally_ballots(); a consent tally counts them too */
	if (g->consent)
		graph_query(&pc,
					"SELECT v.member_id, COALESCE(v.weight, 1), v.ballot" GRAPH_VOTES,
					args, g, row_consent_voter);
	else
		graph_query(&pv,
					"SELECT v.member_id, COALESCE(v.weight, 1)" GRAPH_VOTES,
					args, g, row_voter);
	if (g->count == 0)
		return;
	if (!invited)
		period_read(g, &pm, &memberships_at_ref, args);
	graph_query(&pa,
				"SELECT a.member_id FROM enspiral.electorate_additions a"
				" WHERE a.group_id OPERATOR(pg_catalog.=) $1"
				"   AND a.proposal_id OPERATOR(pg_catalog.=) $2",
				args, g, row_added);
	graph_query(&pr,
				"SELECT r.member_id FROM enspiral.electorate_removals r"
				" WHERE r.group_id OPERATOR(pg_catalog.=) $1"
				"   AND r.proposal_id OPERATOR(pg_catalog.=) $2"
				"   AND r.removed_at OPERATOR(pg_catalog.<=) $4"
				"   AND (r.restored_at IS NULL OR r.restored_at OPERATOR(pg_catalog.>) $4)",
				args, g, row_out);
	/* departed at t: no counted vote, no delegation (the votes of a tally) */
	graph_query(&pl,
				"SELECT d FROM enspiral.departed_members($1, $4) d",
				args, g, row_out);
	if (DatumGetBool(args[4]))
		period_read(g, &pw, &weights_at_ref, args);
	/* a member outside the electorate has no counted vote and no delegation */
	graph_start(g, &it);
	while ((n = graph_next(g, &it)) != NULL)
	{
		if (n->out)
			n->voted = false;
		if (n->out || !(n->member_at_ref || n->added))
			n->to_member = 0;
	}
}

/* Whether the proposal admits only invited voters (voters = invited) */
static bool
proposal_invited(const Datum *args)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};

	enspiral_plan(&plan,
				  "SELECT 1 FROM enspiral.proposals x"
				  " WHERE x.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND x.proposal_id OPERATOR(pg_catalog.=) $2"
				  "   AND x.settings OPERATOR(pg_catalog.->>) 'voters' OPERATOR(pg_catalog.=) 'invited'",
				  2, argtypes);
	if (SPI_execute_plan(plan, unconstify(Datum *, args), NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading the proposal failed");
	return SPI_processed > 0;
}

/*
 * Resolve the carrier of a delegating member: walk its chain until a voter,
 * a resolved member, the end of the chain or a cycle; every member on the
 * path gets the same result.
 */
static void
resolve(TallyGraph *g, DelegNode *start, DelegNode **path)
{
	int			len = 0;
	int64		carrier = 0;
	DelegNode  *x = start;

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (x->voted)
		{
			carrier = x->member_id;
			break;
		}
		if (x->state == 2)
		{
			carrier = x->carrier;
			break;
		}
		if (x->state == 1 || x->to_member == 0)
			break;				/* cycle, or the chain ends without a vote */
		x->state = 1;
		path[len++] = x;
		x = node_lookup(g, x->to_member);
	}
	for (int i = 0; i < len; i++)
	{
		path[i]->state = 2;
		path[i]->carrier = carrier;
	}
}

/*
 * Give every delegator's weight to its carrier.  A delegator who voted
 * keeps its own weight (its delegation is suspended for this proposal); a
 * delegator outside the electorate is not in the graph at all; a delegate
 * outside it has no delegation and no counted vote, so the chain ends.
 */
static void
resolve_all(TallyGraph *g)
{
	GraphIter	it;
	DelegNode  *d;
	DelegNode **path;

	/* kept with the graph: a transient array of its size at the top of the heap
	 * would be given back to the system after each tally (see cache_store) */
	graph_path = graph_array(graph_path, &graph_path_cap, Max(g->count, 1), sizeof(DelegNode *));
	path = graph_path;

	graph_start(g, &it);
	while ((d = graph_next(g, &it)) != NULL)
		if (!d->voted && d->to_member != 0 && d->state == 0)
			resolve(g, d, path);
	graph_start(g, &it);
	while ((d = graph_next(g, &it)) != NULL)
	{
		if (!d->voted && d->to_member != 0 && d->carrier != 0)
		{
			DelegNode  *c = node_lookup(g, d->carrier);

			weight_add(&c->delegated, d->weight);
		}
	}
}

/* Hash of the transaction ids a snapshot sees as in progress */
static uint32
snapshot_xip_hash(Snapshot snap)
{
	uint32		h = hash_bytes((const unsigned char *) snap->xip, sizeof(TransactionId) * snap->xcnt);

	if (snap->subxcnt > 0)
		h ^= hash_bytes((const unsigned char *) snap->subxip,
						sizeof(TransactionId) * snap->subxcnt);
	return h;
}

/* Whether the cache holds the carriers of this tally under this snapshot */
static bool
cache_matches(const Datum *args, Snapshot snap)
{
	CarrierCache *c = &carrier_cache;

	return c->valid && c->proposal_id == DatumGetInt64(args[1]) &&
		c->ref == DatumGetTimestampTz(args[2]) && c->t == DatumGetTimestampTz(args[3]) &&
		c->weighted == DatumGetBool(args[4]) && c->delegation == DatumGetBool(args[5]) &&
		c->lxid == MyProc->lxid &&
		c->xmin == snap->xmin && c->xmax == snap->xmax && c->curcid == snap->curcid &&
		c->xcnt == snap->xcnt && c->subxcnt == snap->subxcnt &&
		!snap->suboverflowed && c->xiphash == snapshot_xip_hash(snap);
}

/* Keep the carriers and sums of a resolved graph in the cache */
static void
cache_store(TallyGraph *g)
{
	CarrierCache *c = &carrier_cache;
	uint64		n = 0;
	GraphIter	it;
	DelegNode  *d;
	int			k = 0;

	if (c->cxt == NULL)
		c->cxt = AllocSetContextCreate(TopMemoryContext, "enspiral carriers",
									   ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(c->cxt);
	graph_start(g, &it);
	while ((d = graph_next(g, &it)) != NULL)
		if (d->voted && d->delegated > 0)
			n++;
	c->members = MemoryContextAllocHuge(c->cxt, sizeof(int64) * Max(n, 1));
	c->delegated = MemoryContextAllocHuge(c->cxt, sizeof(int64) * Max(n, 1));
	c->delegated_total = 0;
	graph_start(g, &it);
	while ((d = graph_next(g, &it)) != NULL)
		if (d->voted && d->delegated > 0)
		{
			c->members[k] = d->member_id;
			c->delegated[k++] = d->delegated;
			weight_add(&c->delegated_total, d->delegated);
		}
	c->n = k;
	c->voted = g->voted;
	c->direct = g->direct;
}

/*
 * Add to a consent tally's weights by position the weight delegated to
 * each carrier, once the cache holds the resolved sums
 */
static void
consent_sums(TallyGraph *g)
{
	GraphIter	it;
	DelegNode  *d;

	graph_start(g, &it);
	while ((d = graph_next(g, &it)) != NULL)
		if (d->voted && d->delegated > 0 && d->position >= 0)
			weight_add(&g->weights[d->position], d->delegated);
}

/*
 * Resolve the graph of a tally (args: group_id, proposal_id, ref, t,
 * weighted, delegation) and keep the result in the cache; with consent,
 * the same pass over the votes counts them by position into *consent
 */
static void
build_carriers(const Datum *args, Snapshot snap, TallyGraph *consent)
{
	CarrierCache *c = &carrier_cache;
	TallyGraph	g;

	c->valid = false;
	memset(&g, 0, sizeof(g));
	g.nodes = NULL;
	g.consent = consent != NULL;
	enspiral_spi_connect();
	read_graph(&g, args, proposal_invited(args));
	resolve_all(&g);
	enspiral_spi_finish();
	cache_store(&g);
	if (consent != NULL)
	{
		consent_sums(&g);
		*consent = g;
		consent->nodes = NULL;
	}
	graph_release();
	c->proposal_id = DatumGetInt64(args[1]);
	c->ref = DatumGetTimestampTz(args[2]);
	c->t = DatumGetTimestampTz(args[3]);
	c->weighted = DatumGetBool(args[4]);
	c->delegation = DatumGetBool(args[5]);
	c->lxid = MyProc->lxid;
	c->xmin = snap->xmin;
	c->xmax = snap->xmax;
	c->curcid = snap->curcid;
	c->xcnt = snap->xcnt;
	c->subxcnt = snap->subxcnt;
	c->xiphash = snapshot_xip_hash(snap);
	c->valid = !snap->suboverflowed;
}

/* The cache for the tally of these arguments, resolved when missing */
static const CarrierCache *
tally_graph(const Datum *args)
{
	Snapshot	snap = GetActiveSnapshot();

	if (!cache_matches(args, snap))
		build_carriers(args, snap, NULL);
	return &carrier_cache;
}

/*
 * enspiral.delegated_weights(group_id, proposal_id, ref, t, weighted)
 *	  RETURNS TABLE (member_id, delegated)
 *	  Internal: the members with a counted vote at t who carry delegated
 *	  weight along the delegations in effect at ref, and how much.
 */
Datum
enspiral_delegated_weights(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		args[6] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), PG_GETARG_DATUM(2),
	PG_GETARG_DATUM(3), PG_GETARG_DATUM(4), BoolGetDatum(true)};
	const CarrierCache *c;

	InitMaterializedSRF(fcinfo, 0);
	c = tally_graph(args);
	for (int i = 0; i < c->n; i++)
	{
		Datum		values[2] = {Int64GetDatum(c->members[i]), Int64GetDatum(c->delegated[i])};
		bool		nulls[2] = {false, false};

		CHECK_FOR_INTERRUPTS();
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * enspiral.tally_weights(group_id, proposal_id, ref, t, weighted, delegation)
 *	  RETURNS jsonb
 *	  Internal: {"voted", "weights": {"cast", "direct", "delegated",
 *	  "carriers"}} of a weighted tally, from the same resolution as the
 *	  ballots' weights (enspiral.tally_ballots()), without another pass
 *	  over the ballots.
 */
Datum
enspiral_tally_weights(PG_FUNCTION_ARGS)
{
	Datum		args[6] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), PG_GETARG_DATUM(2),
	PG_GETARG_DATUM(3), PG_GETARG_DATUM(4), PG_GETARG_DATUM(5)};
	const CarrierCache *c = tally_graph(args);
	int64		cast = c->direct;

	weight_add(&cast, c->delegated_total);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(psprintf(
		"{\"voted\": " INT64_FORMAT ", \"weights\": {\"cast\": " INT64_FORMAT
		", \"direct\": " INT64_FORMAT ", \"delegated\": " INT64_FORMAT
		", \"carriers\": %d}}",
		c->voted, cast, c->direct, c->delegated_total, c->n))));
}

/*
 * enspiral.consent_tally(group_id, proposal_id, ref, t, weighted, delegation)
 *	  RETURNS jsonb
 *	  Internal: the weighted consent tally at t, {"voted", "totals",
 *	  "ballots", "weights"}: totals are weights by position (own weight
 *	  plus the weight delegated to the vote), ballots the votes by position,
 *	  weights as enspiral.tally_weights() gives them.  One pass over the
 *	  votes both counts them and reads them into the delegation graph.
 */
Datum
enspiral_consent_tally(PG_FUNCTION_ARGS)
{
	Datum		args[6] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), PG_GETARG_DATUM(2),
	PG_GETARG_DATUM(3), PG_GETARG_DATUM(4), PG_GETARG_DATUM(5)};
	TallyGraph	g;
	const CarrierCache *c = &carrier_cache;
	int64		cast;

	build_carriers(args, GetActiveSnapshot(), &g);
	cast = c->direct;
	weight_add(&cast, c->delegated_total);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(psprintf(
		"{\"voted\": " INT64_FORMAT
		", \"totals\": {\"agree\": " INT64_FORMAT ", \"abstain\": " INT64_FORMAT
		", \"disagree\": " INT64_FORMAT ", \"block\": " INT64_FORMAT "}"
		", \"ballots\": {\"agree\": " INT64_FORMAT ", \"abstain\": " INT64_FORMAT
		", \"disagree\": " INT64_FORMAT ", \"block\": " INT64_FORMAT "}"
		", \"weights\": {\"cast\": " INT64_FORMAT ", \"direct\": " INT64_FORMAT
		", \"delegated\": " INT64_FORMAT ", \"carriers\": %d}}",
		c->voted, g.weights[0], g.weights[1], g.weights[2], g.weights[3],
		g.ballots[0], g.ballots[1], g.ballots[2], g.ballots[3],
		cast, c->direct, c->delegated_total, c->n))));
}

/*
 * A member's vote weight at a time (latest snapshot), 1 without one: what
 * vote() stores with a ballot (the weight at the opening).  Call connected
 * to SPI.
 */
int64
delegation_own_weight(int64 group_id, int64 member_id, TimestampTz at)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, TIMESTAMPTZOID};
	Datum		args[3] = {Int64GetDatum(group_id), Int64GetDatum(member_id),
	TimestampTzGetDatum(at)};
	bool		isnull;
	int64		w;

	enspiral_plan(&plan,
				  "SELECT w.weight FROM enspiral.vote_weights w"
				  " WHERE w.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND w.member_id OPERATOR(pg_catalog.=) $2"
				  "   AND w.valid_from OPERATOR(pg_catalog.<=) $3"
				  "   AND (w.valid_to IS NULL OR w.valid_to OPERATOR(pg_catalog.>) $3)",
				  3, argtypes);
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "weight lookup failed");
	if (SPI_processed == 0)
		return 1;
	w = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return isnull ? 1 : w;
}

/*
 * Whether a proposal of the group opens (or opened) at or after t, under
 * the latest snapshot: an opening that committed while we waited for the
 * lock is seen even in a REPEATABLE READ transaction.
 */
static bool
opening_at_or_after(int64 group_id, TimestampTz t)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, TIMESTAMPTZOID};
	Datum		args[2] = {Int64GetDatum(group_id), TimestampTzGetDatum(t)};
	bool		found;

	enspiral_spi_connect();
	enspiral_plan(&plan,
				  "SELECT 1 FROM enspiral.proposals p"
				  " WHERE p.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND p.opens_at OPERATOR(pg_catalog.>=) $2",
				  2, argtypes);
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "opening lookup failed");
	found = SPI_processed > 0;
	enspiral_spi_finish();
	return found;
}

/*
 * Take the group's rules lock (until transaction end) for a change whose
 * statement started at t; the time the change takes effect
 */
static TimestampTz
lock_group_rules(int64 group_id, TimestampTz t)
{
	decisions_rules_lock(group_id, ExclusiveLock);
	if (opening_at_or_after(group_id, t))
		t = GetCurrentTimestamp();
	return t;
}

/*
 * enspiral.lock_group_rules(group_id) RETURNS timestamptz
 *	  Internal: wait for openings and outcome recordings in flight in the
 *	  group and keep them waiting until the end of the transaction; returns
 *	  the time a weight or delegation change takes effect: the statement
 *	  time, or the current clock when a proposal of the group opens at or
 *	  after the statement time (an opening that this change waited for, or
 *	  a scheduled one), so that a change is never stamped before an opening
 *	  that committed before it.  On Citus the lock is taken on the group's
 *	  node, where an opening takes it too (the proposals guard fires on the
 *	  group's shard): a call that runs elsewhere (in a transaction block on
 *	  the coordinator) runs lock_group_rules(group_id, its statement time)
 *	  there.
 */
Datum
enspiral_lock_group_rules(PG_FUNCTION_ARGS)
{
	int64		group_id = PG_GETARG_INT64(0);
	Datum		args[2] = {Int64GetDatum(group_id),
	TimestampTzGetDatum(GetCurrentStatementStartTimestamp())};
	bool		nulls[2] = {false, false};
	Datum		forwarded;
	bool		isnull;

	if (enspiral_forward_to("enspiral.lock_group_rules(bigint,timestamp with time zone)",
							group_id, 2, args, nulls, &forwarded, &isnull))
		return forwarded;
	PG_RETURN_TIMESTAMPTZ(lock_group_rules(group_id, DatumGetTimestampTz(args[1])));
}

/*
 * enspiral.lock_group_rules(group_id, at) RETURNS timestamptz
 *	  Internal: lock_group_rules(group_id) for a change whose statement
 *	  started at "at" (on another node), run on the group's node.
 */
Datum
enspiral_lock_group_rules_at(PG_FUNCTION_ARGS)
{
	ENSPIRAL_FORWARD_TO_GROUP(fcinfo, PG_GETARG_INT64(0));
	PG_RETURN_TIMESTAMPTZ(lock_group_rules(PG_GETARG_INT64(0), PG_GETARG_TIMESTAMPTZ(1)));
}

/*
 * Whether delegate_id may cast member_id's vote on a proposal that opened
 * at ref: following the delegations in effect at ref from the member, the
 * chain reaches the delegate through current members of the group (a
 * departed member ends the chain, as in a tally), and the delegate is a
 * current member.  Read under the latest snapshot, like the rest of vote().
 * Call connected to SPI.
 */
bool
delegation_may_cast(int64 group_id, int64 member_id, int64 delegate_id, TimestampTz ref)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[4] = {INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID};
	Datum		args[4] = {Int64GetDatum(group_id), Int64GetDatum(member_id),
	TimestampTzGetDatum(ref), Int64GetDatum(delegate_id)};

	enspiral_plan(&plan,
				  "WITH RECURSIVE chain(m) AS ("
				  "  SELECT d.to_member FROM enspiral.delegations d"
				  "   WHERE d.group_id OPERATOR(pg_catalog.=) $1"
				  "     AND d.from_member OPERATOR(pg_catalog.=) $2"
				  "     AND d.valid_from OPERATOR(pg_catalog.<=) $3"
				  "     AND (d.valid_to IS NULL OR d.valid_to OPERATOR(pg_catalog.>) $3)"
				  "  UNION"
				  "  SELECT d.to_member FROM chain c JOIN enspiral.delegations d"
				  "    ON d.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND d.from_member OPERATOR(pg_catalog.=) c.m"
				  "   AND d.valid_from OPERATOR(pg_catalog.<=) $3"
				  "   AND (d.valid_to IS NULL OR d.valid_to OPERATOR(pg_catalog.>) $3)"
				  "   WHERE c.m OPERATOR(pg_catalog.<>) $4 AND c.m OPERATOR(pg_catalog.<>) $2"
				  "     AND EXISTS (SELECT 1 FROM enspiral.memberships x"
				  "                  WHERE x.group_id OPERATOR(pg_catalog.=) $1"
				  "                    AND x.member_id OPERATOR(pg_catalog.=) c.m"
				  "                    AND x.left_at IS NULL))"
				  " SELECT 1 FROM chain c"
				  "  WHERE c.m OPERATOR(pg_catalog.=) $4"
				  "    AND EXISTS (SELECT 1 FROM enspiral.memberships x"
				  "                 WHERE x.group_id OPERATOR(pg_catalog.=) $1"
				  "                   AND x.member_id OPERATOR(pg_catalog.=) $4"
				  "                   AND x.left_at IS NULL)",
				  4, argtypes);
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "delegation chain lookup failed");
	return SPI_processed > 0;
}
