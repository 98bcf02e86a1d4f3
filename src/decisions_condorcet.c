/*-------------------------------------------------------------------------
 *
 * decisions_condorcet.c
 *	  The Condorcet aggregates schulze(bigint[]) and copeland(bigint[])
 *	  (and their variants with labels naming option ids 1..n).
 *
 * The transition function streams: it keeps no ballot, only the counts of
 * ballots that rank option i above option j when both are ranked, and the
 * number of ballots that rank each option.  An option left out of a
 * ballot is below every option ranked on it, so the number of ballots
 * that prefer i to j is ranked[i] - both[j][i].  A ballot of k ranks costs
 * k(k-1)/2 increments; no arithmetic is floating point.  The weighted
 * variants add a ranking's weight instead of 1 (a ranking of weight n
 * counts as n equal rankings).
 *
 * Schulze (Markus Schulze, "A new monotonic, clone-independent, reversal
 * symmetric, and Condorcet-consistent single-winner election method",
 * Social Choice and Welfare 36 (2011)): the strength of a direct link i->j
 * is the number of ballots preferring i to j when that is more than the
 * reverse (winning votes), otherwise 0; strongest paths by Floyd-Warshall
 * widest paths; i beats j when path[i][j] > path[j][i].  The winners are
 * the options no other beats; the ranking repeats that on the options
 * left, so options of one level are tied.
 *
 * Copeland: for every pair, the option more voters prefer wins; the score
 * is wins minus losses; options with equal scores are tied.
 *
 * Within a tied level the ranking lists options by ascending id; "ranks"
 * gives each option its level, so ties stay visible.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "enspiral.h"
#include "rankings.h"

PG_FUNCTION_INFO_V1(enspiral_pairwise_accum);
PG_FUNCTION_INFO_V1(enspiral_pairwise_labeled_accum);
PG_FUNCTION_INFO_V1(enspiral_pairwise_weighted_accum);
PG_FUNCTION_INFO_V1(enspiral_pairwise_weighted_labeled_accum);
PG_FUNCTION_INFO_V1(enspiral_schulze_final);
PG_FUNCTION_INFO_V1(enspiral_copeland_final);

/* Options a pairwise count may hold (the matrix is options squared) */
#define PAIR_MAX_OPTIONS 4096

/* Transition state: pairwise counts */
typedef struct PairState
{
	IrvState   *opts;			/* option ids and their dense indexes */
	int32		cap;			/* matrix side */
	int64	   *both;			/* both[i * cap + j]: i ranked above j */
	int64	   *ranked;			/* ballots that rank i */
	int64		nballots;
	bool		weighted;
	int64		total_weight;	/* sum of the weights counted */
	ArrayType  *labels;			/* NULL: options are reported by id */
} PairState;

/* The final result of a pairwise count, dense indexes sorted by id */
typedef struct PairResult
{
	const PairState *ps;
	int32		n;
	int32	   *order;			/* dense indexes by ascending id */
	int64	   *pref;			/* pref[i * n + j]: ballots preferring i to j */
	int32	   *level;			/* rank level of each option, 1 = best */
	char	  **names;
} PairResult;

/* A new state in the aggregate's context */
static PairState *
pair_new(MemoryContext ctx)
{
	PairState  *ps = MemoryContextAllocZero(ctx, sizeof(PairState));

	ps->opts = irv_new(ctx);
	ps->cap = 16;
	ps->both = MemoryContextAllocZero(ctx, sizeof(int64) * ps->cap * ps->cap);
	ps->ranked = MemoryContextAllocZero(ctx, sizeof(int64) * ps->cap);
	return ps;
}

/* Grow the matrix to hold n options */
static void
pair_grow(PairState *ps, int32 n, MemoryContext ctx)
{
	int32		cap = ps->cap;
	int64	   *both;
	int64	   *ranked;

	if (n <= cap)
		return;
	if (n > PAIR_MAX_OPTIONS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct options"),
				 errdetail("Pairwise counts support at most %d distinct options.", PAIR_MAX_OPTIONS)));
	while (cap < n)
		cap *= 2;
	cap = Min(cap, PAIR_MAX_OPTIONS);
	both = MemoryContextAllocHuge(ctx, sizeof(int64) * cap * cap);
	memset(both, 0, sizeof(int64) * cap * cap);
	for (int32 i = 0; i < ps->cap; i++)
		memcpy(both + (Size) i * cap, ps->both + (Size) i * ps->cap, sizeof(int64) * ps->cap);
	ranked = MemoryContextAllocZero(ctx, sizeof(int64) * cap);
	memcpy(ranked, ps->ranked, sizeof(int64) * ps->cap);
	pfree(ps->both);
	pfree(ps->ranked);
	ps->both = both;
	ps->ranked = ranked;
	ps->cap = cap;
}

/* Count one ranking w times */
static void
pair_add(PairState *ps, ArrayType *a, int64 w, MemoryContext ctx)
{
	int			k = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	const int64 *v = (const int64 *) ARR_DATA_PTR(a);
	int32	   *idx = palloc(sizeof(int32) * k);

	for (int i = 0; i < k; i++)
		idx[i] = irv_index(ps->opts, v[i]);
	pair_grow(ps, ps->opts->nopts, ctx);
	for (int i = 0; i < k; i++)
	{
		int64	   *row = ps->both + (Size) idx[i] * ps->cap;

		if ((i & 255) == 255)
			CHECK_FOR_INTERRUPTS();
		/* no overflow: every count is at most total_weight */
		ps->ranked[idx[i]] += w;
		for (int j = i + 1; j < k; j++)
			row[idx[j]] += w;
	}
	ps->nballots++;
	pfree(idx);
}

/* Shared transition: state, ranking, optional weight and labels arguments */
static Datum
pair_accum(FunctionCallInfo fcinfo, bool weighted, bool labeled)
{
	MemoryContext aggctx;
	PairState  *ps;
	ArrayType  *a;
	int64		w = 1;
	int			labels_arg = weighted ? 3 : 2;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("pairwise_accum can only be called as the transition function of an aggregate"),
				 errhint("Use the aggregates enspiral.schulze() or enspiral.copeland().")));
	ps = PG_ARGISNULL(0) ? pair_new(aggctx) : (PairState *) PG_GETARG_POINTER(0);
	ps->weighted = weighted;
	if (labeled && ps->labels == NULL)
	{
		ps->labels = ranking_labels_arg(fcinfo, labels_arg, aggctx, NULL, "pairwise count");
		/* every labelled option takes part, ranked or not */
		for (int i = 1; i <= ArrayGetNItems(ARR_NDIM(ps->labels), ARR_DIMS(ps->labels)); i++)
			irv_index(ps->opts, i);
		pair_grow(ps, ps->opts->nopts, aggctx);
	}
	else if (labeled)
		ranking_labels_arg(fcinfo, labels_arg, aggctx, ps->labels, "pairwise count");
	if (weighted && !ranking_weight_arg(fcinfo, 2, "pairwise count", &w))
		PG_RETURN_POINTER(ps);
	a = ranking_arg(fcinfo, 1, "pairwise count");
	if (a != NULL)
	{
		ranking_add_weight(&ps->total_weight, w, "pairwise count");
		pair_add(ps, a, w, aggctx);
	}
	PG_RETURN_POINTER(ps);
}

/* schulze/copeland transition: count a ranking (NULL and empty ones are skipped) */
Datum
enspiral_pairwise_accum(PG_FUNCTION_ARGS)
{
	return pair_accum(fcinfo, false, false);
}

/* The same with labels naming option ids 1..n */
Datum
enspiral_pairwise_labeled_accum(PG_FUNCTION_ARGS)
{
	return pair_accum(fcinfo, false, true);
}

/* The same counting each ranking weight times (NULL or 0 weight: skipped) */
Datum
enspiral_pairwise_weighted_accum(PG_FUNCTION_ARGS)
{
	return pair_accum(fcinfo, true, false);
}

/* Weighted, with labels */
Datum
enspiral_pairwise_weighted_labeled_accum(PG_FUNCTION_ARGS)
{
	return pair_accum(fcinfo, true, true);
}

/* qsort_arg comparator of dense indexes by id */
static int
cmp_by_id(const void *a, const void *b, void *arg)
{
	return ranking_cmp_ids((const IrvState *) arg, *(const int32 *) a, *(const int32 *) b);
}

/* Preferences between every pair, options in id order */
static void
pair_result(const PairState *ps, PairResult *r)
{
	int32		n = ps->opts->nopts;

	r->ps = ps;
	r->n = n;
	r->order = palloc(sizeof(int32) * Max(n, 1));
	for (int32 i = 0; i < n; i++)
		r->order[i] = i;
	qsort_arg(r->order, n, sizeof(int32), cmp_by_id, ps->opts);
	r->pref = palloc_extended(sizeof(int64) * Max(n * n, 1), MCXT_ALLOC_HUGE);
	for (int32 i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int32 j = 0; j < n; j++)
		{
			int32		a = r->order[i],
						b = r->order[j];

			r->pref[i * n + j] = (i == j) ? 0 :
				ps->ranked[a] - ps->both[(Size) b * ps->cap + a];
		}
	}
	r->level = palloc0(sizeof(int32) * Max(n, 1));
	r->names = ranking_names(ps->opts, ps->labels);
}

/* The result of a final function's state; false without a counted ballot */
static bool
pair_final_result(FunctionCallInfo fcinfo, PairResult *r)
{
	if (PG_ARGISNULL(0) || ((PairState *) PG_GETARG_POINTER(0))->nballots == 0)
		return false;
	pair_result((PairState *) PG_GETARG_POINTER(0), r);
	return true;
}

/* Levels from a "beats" matrix: level 1 is unbeaten, then unbeaten among the rest */
static void
levels_from_beats(PairResult *r, const bool *beats)
{
	int32		n = r->n;
	int32		done = 0;

	for (int32 lvl = 1; done < n; lvl++)
	{
		bool	   *now = palloc0(sizeof(bool) * n);

		CHECK_FOR_INTERRUPTS();
		for (int32 j = 0; j < n; j++)
		{
			if (r->level[j] != 0)
				continue;
			now[j] = true;
			for (int32 i = 0; i < n; i++)
				if (r->level[i] == 0 && beats[i * n + j])
				{
					now[j] = false;
					break;
				}
		}
		for (int32 j = 0; j < n; j++)
			if (now[j])
			{
				r->level[j] = lvl;
				done++;
			}
		pfree(now);
	}
}

/* Push an option (position p in id order) as a value or an array element */
static void
push_opt(JsonbParseState **js, const PairResult *r, int32 p, bool elem)
{
	ranking_push_option(js, r->ps->opts, r->names, r->ps->labels != NULL, r->order[p], elem);
}

/* Push "key": {a: {b: m[a][b]}} over every ordered pair */
static void
push_matrix(JsonbParseState **js, const PairResult *r, const char *key, const int64 *m)
{
	ranking_push_key(js, key);
	pushJsonbValue(js, WJB_BEGIN_OBJECT, NULL);
	for (int32 i = 0; i < r->n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		ranking_push_key(js, r->names[r->order[i]]);
		pushJsonbValue(js, WJB_BEGIN_OBJECT, NULL);
		for (int32 j = 0; j < r->n; j++)
			if (i != j)
				ranking_push_int(js, r->names[r->order[j]], m[i * r->n + j]);
		pushJsonbValue(js, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(js, WJB_END_OBJECT, NULL);
}

/* Push winners, winner, tie, ranking and ranks from the levels */
static void
push_levels(JsonbParseState **js, const PairResult *r)
{
	int32		nwin = 0;

	for (int32 i = 0; i < r->n; i++)
		if (r->level[i] == 1)
			nwin++;
	ranking_push_key(js, "winner");
	if (nwin == 1)
	{
		for (int32 i = 0; i < r->n; i++)
			if (r->level[i] == 1)
				push_opt(js, r, i, false);
	}
	else
	{
		JsonbValue	null;

		null.type = jbvNull;
		pushJsonbValue(js, WJB_VALUE, &null);
	}
	ranking_push_key(js, "winners");
	pushJsonbValue(js, WJB_BEGIN_ARRAY, NULL);
	for (int32 i = 0; i < r->n; i++)
		if (r->level[i] == 1)
			push_opt(js, r, i, true);
	pushJsonbValue(js, WJB_END_ARRAY, NULL);
	ranking_push_key(js, "tie");
	{
		JsonbValue	b;

		b.type = jbvBool;
		b.val.boolean = nwin > 1;
		pushJsonbValue(js, WJB_VALUE, &b);
	}
	ranking_push_key(js, "ranking");
	pushJsonbValue(js, WJB_BEGIN_ARRAY, NULL);
	for (int32 lvl = 1; lvl <= r->n; lvl++)
		for (int32 i = 0; i < r->n; i++)
			if (r->level[i] == lvl)
				push_opt(js, r, i, true);
	pushJsonbValue(js, WJB_END_ARRAY, NULL);
	ranking_push_key(js, "ranks");
	pushJsonbValue(js, WJB_BEGIN_OBJECT, NULL);
	for (int32 i = 0; i < r->n; i++)
		ranking_push_int(js, r->names[r->order[i]], r->level[i]);
	pushJsonbValue(js, WJB_END_OBJECT, NULL);
}

/* Strongest paths (winning votes) by Floyd-Warshall widest paths */
static int64 *
schulze_paths(const PairResult *r)
{
	int32		n = r->n;
	int64	   *p = palloc_extended(sizeof(int64) * Max(n * n, 1), MCXT_ALLOC_HUGE);

	for (int32 i = 0; i < n; i++)
		for (int32 j = 0; j < n; j++)
			p[i * n + j] = (i != j && r->pref[i * n + j] > r->pref[j * n + i]) ?
				r->pref[i * n + j] : 0;
	for (int32 k = 0; k < n; k++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int32 i = 0; i < n; i++)
		{
			if (i == k || p[i * n + k] == 0)
				continue;
			for (int32 j = 0; j < n; j++)
			{
				int64		via = Min(p[i * n + k], p[k * n + j]);

				if (j != i && j != k && via > p[i * n + j])
					p[i * n + j] = via;
			}
		}
	}
	return p;
}

/* schulze final: {"ballots", "winner", "winners", "tie", "ranking", "ranks", "pairwise", "strongest_paths"} */
Datum
enspiral_schulze_final(PG_FUNCTION_ARGS)
{
	PairResult	r;
	int64	   *paths;
	bool	   *beats;
	JsonbParseState *js = NULL;

	if (!pair_final_result(fcinfo, &r))
		PG_RETURN_NULL();
	paths = schulze_paths(&r);
	beats = palloc(sizeof(bool) * Max(r.n * r.n, 1));
	for (int32 i = 0; i < r.n * r.n; i++)
		beats[i] = paths[i] > paths[(i % r.n) * r.n + i / r.n];
	levels_from_beats(&r, beats);
	pushJsonbValue(&js, WJB_BEGIN_OBJECT, NULL);
	ranking_push_int(&js, "ballots", r.ps->nballots);
	if (r.ps->weighted)
		ranking_push_int(&js, "total_weight", r.ps->total_weight);
	push_levels(&js, &r);
	push_matrix(&js, &r, "pairwise", r.pref);
	push_matrix(&js, &r, "strongest_paths", paths);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(pushJsonbValue(&js, WJB_END_OBJECT, NULL)));
}

/* copeland final: {"ballots", "winner", "winners", "tie", "ranking", "ranks", "scores", "pairwise"} */
Datum
enspiral_copeland_final(PG_FUNCTION_ARGS)
{
	PairResult	r;
	int64	   *wins,
			   *losses;
	bool	   *beats;
	JsonbParseState *js = NULL;

	if (!pair_final_result(fcinfo, &r))
		PG_RETURN_NULL();
	wins = palloc0(sizeof(int64) * Max(r.n, 1));
	losses = palloc0(sizeof(int64) * Max(r.n, 1));
	for (int32 i = 0; i < r.n; i++)
		for (int32 j = 0; j < r.n; j++)
		{
			if (r.pref[i * r.n + j] > r.pref[j * r.n + i])
				wins[i]++;
			else if (r.pref[i * r.n + j] < r.pref[j * r.n + i])
				losses[i]++;
		}
	/* a higher score beats a lower one: levels are the distinct scores */
	beats = palloc(sizeof(bool) * Max(r.n * r.n, 1));
	for (int32 i = 0; i < r.n; i++)
		for (int32 j = 0; j < r.n; j++)
			beats[i * r.n + j] = wins[i] - losses[i] > wins[j] - losses[j];
	levels_from_beats(&r, beats);
	pushJsonbValue(&js, WJB_BEGIN_OBJECT, NULL);
	ranking_push_int(&js, "ballots", r.ps->nballots);
	if (r.ps->weighted)
		ranking_push_int(&js, "total_weight", r.ps->total_weight);
	push_levels(&js, &r);
	ranking_push_key(&js, "scores");
	pushJsonbValue(&js, WJB_BEGIN_OBJECT, NULL);
	for (int32 i = 0; i < r.n; i++)
	{
		ranking_push_key(&js, r.names[r.order[i]]);
		pushJsonbValue(&js, WJB_BEGIN_OBJECT, NULL);
		ranking_push_int(&js, "wins", wins[i]);
		ranking_push_int(&js, "ties", r.n - 1 - wins[i] - losses[i]);
		ranking_push_int(&js, "losses", losses[i]);
		ranking_push_int(&js, "score", wins[i] - losses[i]);
		pushJsonbValue(&js, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(&js, WJB_END_OBJECT, NULL);
	push_matrix(&js, &r, "pairwise", r.pref);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(pushJsonbValue(&js, WJB_END_OBJECT, NULL)));
}
