/*-------------------------------------------------------------------------
 *
 * decisions_irv.c
 *	  The instant_runoff(bigint[]) aggregate and its round-by-round variant
 *	  instant_runoff_rounds(bigint[]).
 *
 * The transition function keeps ballots compactly: every option id seen is
 * given a dense 32-bit index (open-addressing hash table), and ballots are
 * one flat array of indexes plus an array of offsets.  The final function
 * counts the rounds incrementally: each ballot keeps a cursor on its
 * highest-ranked option not yet eliminated and sits on that option's list,
 * and eliminating an option moves only the ballots on its list.  The
 * remaining options are kept weakest first (the elimination order with its
 * tie-breaks); after a round that changed counts, the changed options are
 * sorted and merged in, O(remaining options).  So a count costs
 * O(ranks + rounds with moving votes * options), and rounds that eliminate
 * options without votes cost O(1) each.  Every loop and sort checks for
 * interrupts (doc/limits-and-cancel.md).
 *
 * Semantics (doc/decisions.md (instant_runoff, exact semantics)): each round every ballot counts for its
 * highest-ranked option not yet eliminated, or is exhausted; an option with
 * more than half of the non-exhausted ballots wins, or the last remaining
 * option wins; otherwise the option with the fewest votes is eliminated,
 * ties broken by fewest votes in the previous round, then the one before,
 * back to the first, then by the largest option id.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "enspiral.h"
#include "rankings.h"

PG_FUNCTION_INFO_V1(enspiral_irv_accum);
PG_FUNCTION_INFO_V1(enspiral_irv_accum_weighted);
PG_FUNCTION_INFO_V1(enspiral_irv_final);
PG_FUNCTION_INFO_V1(enspiral_irv_rounds_final);


/*
 * The weight of ballot b: a ballot of weight n counts as n equal ballots;
 * sums never overflow, since every count is at most total_weight.
 */
#define IRV_WEIGHT(st, b) ((st)->weights ? (st)->weights[b] : 1)

/* A new empty state in the aggregate's memory context */
IrvState *
irv_new(MemoryContext ctx)
{
	IrvState   *st = MemoryContextAllocZero(ctx, sizeof(IrvState));

	st->ctx = ctx;
	st->optcap = 16;
	st->ids = MemoryContextAlloc(ctx, sizeof(int64) * st->optcap);
	st->hsize = 64;
	st->hkeys = MemoryContextAlloc(ctx, sizeof(int64) * st->hsize);
	st->hvals = MemoryContextAllocZero(ctx, sizeof(int32) * st->hsize);
	st->entcap = 1024;
	st->entries = MemoryContextAllocHuge(ctx, sizeof(int32) * st->entcap);
	st->ballcap = 256;
	st->offsets = MemoryContextAllocHuge(ctx, sizeof(Size) * (st->ballcap + 1));
	st->offsets[0] = 0;
	return st;
}

/* Slot of id in the hash table (its own or the empty one where it belongs) */
static uint32
irv_slot(IrvState *st, int64 id)
{
	uint32		mask = st->hsize - 1;
	uint32		h = (uint32) hash_bytes_uint32((uint32) id ^ (uint32) (id >> 32)) & mask;

	while (st->hvals[h] != 0 && st->hkeys[h] != id)
		h = (h + 1) & mask;
	return h;
}

/* Double the hash table */
static void
irv_grow_hash(IrvState *st)
{
	int64	   *oldk = st->hkeys;
	int32	   *oldv = st->hvals;
	uint32		oldsize = st->hsize;

	st->hsize *= 2;
	st->hkeys = MemoryContextAlloc(st->ctx, sizeof(int64) * st->hsize);
	st->hvals = MemoryContextAllocZero(st->ctx, sizeof(int32) * st->hsize);
	for (uint32 i = 0; i < oldsize; i++)
	{
		if (oldv[i] != 0)
		{
			uint32		h = irv_slot(st, oldk[i]);

			st->hkeys[h] = oldk[i];
			st->hvals[h] = oldv[i];
		}
	}
	pfree(oldk);
	pfree(oldv);
}

/* Dense index of an option id, adding it when new */
int32
irv_index(IrvState *st, int64 id)
{
	uint32		h = irv_slot(st, id);

	if (st->hvals[h] != 0)
		return st->hvals[h] - 1;
	if (st->nopts == PG_INT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct options"),
				 errdetail("Instant runoff supports at most %d distinct options.", PG_INT32_MAX - 1)));
	if (st->nopts == st->optcap)
	{
		st->optcap *= 2;
		st->ids = repalloc_huge(st->ids, sizeof(int64) * st->optcap);
	}
	st->ids[st->nopts] = id;
	st->hkeys[h] = id;
	st->hvals[h] = ++st->nopts;
	if ((uint32) st->nopts * 2 > st->hsize)
		irv_grow_hash(st);
	return st->nopts - 1;
}

/* Refuse a ballot with an option twice (n is small: quadratic is fine up to 32) */
void
irv_check_duplicates(const int64 *v, int n, const char *aggname)
{
	if (n <= 32)
	{
		for (int i = 1; i < n; i++)
			for (int j = 0; j < i; j++)
				if (v[i] == v[j])
					goto dup;
		return;
	}
	else
	{
		int64	   *s = palloc(sizeof(int64) * n);

		memcpy(s, v, sizeof(int64) * n);
		enspiral_sort_int64(s, n);
		for (int i = 1; i < n; i++)
			if (s[i] == s[i - 1])
			{
				pfree(s);
				goto dup;
			}
		pfree(s);
		return;
	}
dup:
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("ballot ranks an option more than once"),
			 errdetail("Each option may appear at most once in a ranking given to %s().",
					   aggname)));
}

/* Append one ballot (already checked) to the state */
void
irv_append(IrvState *st, const int64 *v, int n)
{
	if (st->nentries + n > st->entcap)
	{
		while (st->nentries + n > st->entcap)
			st->entcap *= 2;
		st->entries = repalloc_huge(st->entries, sizeof(int32) * st->entcap);
	}
	if (st->nballots == st->ballcap)
	{
		st->ballcap *= 2;
		st->offsets = repalloc_huge(st->offsets, sizeof(Size) * (st->ballcap + 1));
		if (st->weights != NULL)
			st->weights = repalloc_huge(st->weights, sizeof(int64) * st->ballcap);
	}
	for (int i = 0; i < n; i++)
		st->entries[st->nentries++] = irv_index(st, v[i]);
	st->offsets[++st->nballots] = st->nentries;
}

/* instant_runoff transition: add a ranking (NULL and empty rankings are skipped) */
Datum
enspiral_irv_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	IrvState   *st;
	ArrayType  *a;
	int			n;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("instant_runoff_accum can only be called as the transition function of an aggregate"),
				 errhint("Use the aggregates enspiral.instant_runoff(bigint[]) or enspiral.instant_runoff_rounds(bigint[]).")));
	st = PG_ARGISNULL(0) ? irv_new(aggctx) : (IrvState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);
	a = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("ballots must be one-dimensional arrays")));
	if (ARR_HASNULL(a) && array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("ballot contains a NULL rank")));
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	if (n == 0)
		PG_RETURN_POINTER(st);
	irv_check_duplicates((int64 *) ARR_DATA_PTR(a), n, "instant_runoff");
	irv_append(st, (int64 *) ARR_DATA_PTR(a), n);
	PG_RETURN_POINTER(st);
}

/*
 * Weighted instant_runoff transition: add a ranking that counts weight
 * times (doc/decision-rules.md); weights are non-negative, their sum an
 * int64 (22003 beyond).
 */
Datum
enspiral_irv_accum_weighted(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	IrvState   *st;
	Size		before;
	int64		w;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("instant_runoff_accum can only be called as the transition function of an aggregate"),
				 errhint("Use the aggregates enspiral.instant_runoff(bigint[], bigint) or enspiral.instant_runoff_rounds(bigint[], bigint).")));
	if (PG_ARGISNULL(0))
	{
		st = irv_new(aggctx);
		st->weights = MemoryContextAllocHuge(aggctx, sizeof(int64) * st->ballcap);
	}
	else
		st = (IrvState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);
	w = PG_GETARG_INT64(2);
	if (w < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ballot weight cannot be negative")));
	before = st->nballots;
	fcinfo->args[0].value = PointerGetDatum(st);
	fcinfo->args[0].isnull = false;
	(void) enspiral_irv_accum(fcinfo);
	if (st->nballots == before)
		PG_RETURN_POINTER(st);	/* empty ranking: skipped */
	if (pg_add_s64_overflow(st->total_weight, w, &st->total_weight))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("total ballot weight is out of range")));
	st->weights[before] = w;
	PG_RETURN_POINTER(st);
}

/*
 * The outcome of a count.  The round-by-round counts are kept only for the
 * report: the first round's counts and, for every later round, the options
 * whose count changed with their new count (a round where a zero-vote
 * option went out changes nothing).
 */
typedef struct IrvResult
{
	int32		winner;			/* dense index, -1 when no ballot */
	int			nrounds;
	int64	   *exhausted;		/* per round */
	int32	   *eliminated;		/* per round, -1 for the last */
	/* history, with the report only */
	int64	   *first;			/* counts of round 1, by dense index */
	Size	   *dstart;			/* changes made by round k end at dstart[k] */
	int32	   *dopt;
	int64	   *dcount;
	Size		ndeltas;
	Size		deltacap;
} IrvResult;

/* Working state of a count: current counts and the elimination order */
typedef struct IrvCount
{
	const IrvState *st;
	int64	   *counts;			/* current count of each option */
	bool	   *out;			/* eliminated */
	Size	   *cursor;			/* each ballot's current entry */
	Size	   *next;			/* next ballot on the same option, or NIL */
	Size	   *head;			/* first ballot on each option, or NIL */
	int64		exhausted;
	/* remaining options weakest first: order[start .. nopts) */
	int32	   *order;
	int32	   *pos;			/* position of each option in order */
	int32		start;
	/* options whose count changed in the current round */
	int32	   *changed;
	int32		nchanged;
	bool	   *is_changed;
	int32	   *merged;			/* scratch for the merge */
} IrvCount;

#define IRV_NIL ((Size) -1)

/*
 * Weaker first: fewer votes now, then the order of the round before
 * (which is fewer votes in that round, then the one before, back to the
 * first round, then the larger id).  For the first round, pos is the
 * order by id, largest first.
 */
static int
irv_cmp_weaker(const void *a, const void *b, void *arg)
{
	const IrvCount *ic = (const IrvCount *) arg;
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	CHECK_FOR_INTERRUPTS();
	if (ic->counts[x] != ic->counts[y])
		return ic->counts[x] < ic->counts[y] ? -1 : 1;
	return (ic->pos[x] > ic->pos[y]) - (ic->pos[x] < ic->pos[y]);
}

/* Order options by id, largest first (interrupt-checking comparator) */
static int
irv_cmp_id_desc(const void *a, const void *b, void *arg)
{
	const int64 *ids = (const int64 *) arg;
	int64		x = ids[*(const int32 *) a];
	int64		y = ids[*(const int32 *) b];

	CHECK_FOR_INTERRUPTS();
	return (x < y) - (x > y);
}

/* Count ballot b for its option at the cursor, or as exhausted */
static void
irv_place(IrvCount *ic, Size b)
{
	const IrvState *st = ic->st;
	Size		p = ic->cursor[b];
	Size		end = st->offsets[b + 1];
	int32		opt;

	while (p < end && ic->out[st->entries[p]])
		p++;
	ic->cursor[b] = p;
	if (p == end)
	{
		ic->exhausted += IRV_WEIGHT(st, b);
		return;
	}
	opt = st->entries[p];
	ic->counts[opt] += IRV_WEIGHT(st, b);
	ic->next[b] = ic->head[opt];
	ic->head[opt] = b;
	if (!ic->is_changed[opt])
	{
		ic->is_changed[opt] = true;
		ic->changed[ic->nchanged++] = opt;
	}
}

/* The first round: every ballot on its first choice; the initial order */
static void
irv_first_round(IrvCount *ic)
{
	const IrvState *st = ic->st;
	int32		n = st->nopts;

	for (Size b = 0; b < st->nballots; b++)
	{
		CHECK_FOR_INTERRUPTS();
		ic->cursor[b] = st->offsets[b];
		irv_place(ic, b);
	}
	for (int32 i = 0; i < n; i++)
		ic->order[i] = i;
	qsort_arg(ic->order, n, sizeof(int32), irv_cmp_id_desc, (void *) st->ids);
	for (int32 i = 0; i < n; i++)
		ic->pos[ic->order[i]] = i;
	qsort_arg(ic->order, n, sizeof(int32), irv_cmp_weaker, ic);
	for (int32 i = 0; i < n; i++)
		ic->pos[ic->order[i]] = i;
	for (int32 k = 0; k < ic->nchanged; k++)
		ic->is_changed[ic->changed[k]] = false;
	ic->nchanged = 0;
}

/*
 * Reorder after a round that changed counts: options whose count did not
 * change keep their relative order; the changed ones (sorted by count,
 * then previous position) are merged in.  O(remaining options).
 */
static void
irv_reorder(IrvCount *ic)
{
	int32		n = ic->st->nopts;
	int32		i = ic->start;
	int32		j = 0;
	int32		k = 0;

	qsort_arg(ic->changed, ic->nchanged, sizeof(int32), irv_cmp_weaker, ic);
	while (i < n || j < ic->nchanged)
	{
		CHECK_FOR_INTERRUPTS();
		if (i < n && ic->is_changed[ic->order[i]])
			i++;
		else if (j < ic->nchanged &&
				 (i >= n || irv_cmp_weaker(&ic->changed[j], &ic->order[i], ic) < 0))
			ic->merged[k++] = ic->changed[j++];
		else
			ic->merged[k++] = ic->order[i++];
	}
	Assert(k == n - ic->start);
	memcpy(ic->order + ic->start, ic->merged, sizeof(int32) * k);
	for (i = ic->start; i < n; i++)
		ic->pos[ic->order[i]] = i;
	for (j = 0; j < ic->nchanged; j++)
		ic->is_changed[ic->changed[j]] = false;
}

/* Eliminate the weakest option: move its ballots on; true if any moved */
static bool
irv_eliminate(IrvCount *ic, int32 loser)
{
	Size		b = ic->head[loser];

	Assert(ic->order[ic->start] == loser && !ic->out[loser]);
	ic->out[loser] = true;
	ic->start++;
	ic->head[loser] = IRV_NIL;
	ic->nchanged = 0;
	while (b != IRV_NIL)
	{
		Size		nb = ic->next[b];

		CHECK_FOR_INTERRUPTS();
		irv_place(ic, b);
		b = nb;
	}
	return ic->counts[loser] > 0;
}

/* Record the changes of the round about to start (report only) */
static void
irv_record_changes(IrvResult *r, const IrvCount *ic, int round)
{
	if (r->ndeltas + ic->nchanged > r->deltacap)
	{
		while (r->ndeltas + ic->nchanged > r->deltacap)
			r->deltacap *= 2;
		r->dopt = repalloc_huge(r->dopt, sizeof(int32) * r->deltacap);
		r->dcount = repalloc_huge(r->dcount, sizeof(int64) * r->deltacap);
	}
	for (int32 k = 0; k < ic->nchanged; k++)
	{
		r->dopt[r->ndeltas] = ic->changed[k];
		r->dcount[r->ndeltas++] = ic->counts[ic->changed[k]];
	}
	r->dstart[round] = r->ndeltas;
}

/* Allocate the working state of a count */
static void
irv_count_init(const IrvState *st, IrvCount *ic)
{
	int32		n = st->nopts;

	memset(ic, 0, sizeof(*ic));
	ic->st = st;
	ic->counts = palloc_extended(sizeof(int64) * n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	ic->out = palloc_extended(sizeof(bool) * n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	ic->is_changed = palloc_extended(sizeof(bool) * n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	ic->cursor = palloc_extended(sizeof(Size) * st->nballots, MCXT_ALLOC_HUGE);
	ic->next = palloc_extended(sizeof(Size) * st->nballots, MCXT_ALLOC_HUGE);
	ic->head = palloc_extended(sizeof(Size) * n, MCXT_ALLOC_HUGE);
	for (int32 i = 0; i < n; i++)
		ic->head[i] = IRV_NIL;
	ic->order = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	ic->pos = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	ic->changed = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	ic->merged = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
}

/* Allocate the per-round results (and the history when reporting) */
static void
irv_result_init(const IrvState *st, IrvResult *r, const IrvCount *ic,
				bool history)
{
	memset(r, 0, sizeof(*r));
	r->winner = -1;
	r->exhausted = palloc_extended(sizeof(int64) * st->nopts, MCXT_ALLOC_HUGE);
	r->eliminated = palloc_extended(sizeof(int32) * st->nopts, MCXT_ALLOC_HUGE);
	if (!history)
		return;
	r->first = palloc_extended(sizeof(int64) * st->nopts, MCXT_ALLOC_HUGE);
	memcpy(r->first, ic->counts, sizeof(int64) * st->nopts);
	r->dstart = palloc_extended(sizeof(Size) * st->nopts, MCXT_ALLOC_HUGE);
	r->deltacap = 1024;
	r->dopt = palloc_extended(sizeof(int32) * r->deltacap, MCXT_ALLOC_HUGE);
	r->dcount = palloc_extended(sizeof(int64) * r->deltacap, MCXT_ALLOC_HUGE);
}

/*
 * Count every round of the state.  Each round costs the ballots it moves
 * plus, when any moved, one merge over the remaining options; a round
 * that eliminates an option without votes moves nothing and costs O(1).
 * The weakest option is always the first of the order, the strongest the
 * last, so no round scans the options.
 */
static void
irv_count(const IrvState *st, IrvResult *r, bool history)
{
	IrvCount	ic;

	if (st->nballots == 0)
	{
		memset(r, 0, sizeof(*r));
		r->winner = -1;
		return;
	}
	irv_count_init(st, &ic);
	irv_first_round(&ic);
	irv_result_init(st, r, &ic, history);
	for (int round = 0;; round++)
	{
		int32		best = ic.order[st->nopts - 1];
		int64		active = (st->weights ? st->total_weight : (int64) st->nballots) - ic.exhausted;

		CHECK_FOR_INTERRUPTS();
		Assert(round < st->nopts);
		r->nrounds = round + 1;
		r->exhausted[round] = ic.exhausted;
		r->eliminated[round] = -1;
		if (ic.start == st->nopts - 1 || ic.counts[best] > active / 2)
		{
			r->winner = best;
			break;
		}
		r->eliminated[round] = ic.order[ic.start];
		if (irv_eliminate(&ic, r->eliminated[round]) && ic.nchanged > 0)
			irv_reorder(&ic);
		if (history)
			irv_record_changes(r, &ic, round);
	}
}

/* instant_runoff final: the winning option id, or NULL without ballots */
Datum
enspiral_irv_final(PG_FUNCTION_ARGS)
{
	IrvResult	r;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	irv_count((IrvState *) PG_GETARG_POINTER(0), &r, false);
	if (r.winner < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(((IrvState *) PG_GETARG_POINTER(0))->ids[r.winner]);
}

/* Push "key": integer into an object being built */
static void
push_int_pair(JsonbParseState **ps, const char *key, int64 val)
{
	JsonbValue	k,
				v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(val);
	pushJsonbValue(ps, WJB_KEY, &k);
	pushJsonbValue(ps, WJB_VALUE, &v);
}

/*
 * Push round k: {"round", "counts": {id: n}, "exhausted", "eliminated"};
 * cur holds the counts of round k - 1 and out the options eliminated
 * before it: both are brought to round k.
 */
static void
push_round(JsonbParseState **ps, const IrvState *st, const IrvResult *r, int k,
		   int64 *cur, bool *out)
{
	JsonbValue	key;

	if (k > 0)
	{
		out[r->eliminated[k - 1]] = true;
		for (Size d = k > 1 ? r->dstart[k - 2] : 0; d < r->dstart[k - 1]; d++)
			cur[r->dopt[d]] = r->dcount[d];
	}
	pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
	push_int_pair(ps, "round", k + 1);
	key.type = jbvString;
	key.val.string.val = "counts";
	key.val.string.len = 6;
	pushJsonbValue(ps, WJB_KEY, &key);
	pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
	for (int32 i = 0; i < st->nopts; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!out[i])
			push_int_pair(ps, psprintf(INT64_FORMAT, st->ids[i]), cur[i]);
	}
	pushJsonbValue(ps, WJB_END_OBJECT, NULL);
	push_int_pair(ps, "exhausted", r->exhausted[k]);
	if (r->eliminated[k] >= 0)
		push_int_pair(ps, "eliminated", st->ids[r->eliminated[k]]);
	pushJsonbValue(ps, WJB_END_OBJECT, NULL);
}

/* Counts the rounds report may list (54000 beyond: the result would be huge) */
#define IRV_MAX_REPORTED_COUNTS 10000000

/* Refuse a report of more counts than IRV_MAX_REPORTED_COUNTS */
static void
irv_check_report_size(const IrvState *st, const IrvResult *r)
{
	int64		total = 0;

	for (int k = 0; k < r->nrounds; k++)
	{
		total += st->nopts - k;
		if (total > IRV_MAX_REPORTED_COUNTS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many rounds to report"),
					 errdetail("%d rounds among %d options would list more than %d counts.",
							   r->nrounds, st->nopts, IRV_MAX_REPORTED_COUNTS),
					 errhint("enspiral.instant_runoff() gives the winner.")));
	}
}

/*
 * instant_runoff_rounds final: {"winner": id, "ballots": n, "rounds": [...]}
 * or NULL without ballots.
 */
Datum
enspiral_irv_rounds_final(PG_FUNCTION_ARGS)
{
	IrvState   *st;
	IrvResult	r;
	JsonbParseState *ps = NULL;
	JsonbValue	key;
	JsonbValue *res;
	int64	   *cur;
	bool	   *out;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (IrvState *) PG_GETARG_POINTER(0);
	irv_count(st, &r, true);
	if (r.winner < 0)
		PG_RETURN_NULL();
	irv_check_report_size(st, &r);
	cur = palloc_extended(sizeof(int64) * st->nopts, MCXT_ALLOC_HUGE);
	memcpy(cur, r.first, sizeof(int64) * st->nopts);
	out = palloc_extended(sizeof(bool) * st->nopts, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	push_int_pair(&ps, "winner", st->ids[r.winner]);
	push_int_pair(&ps, "ballots", (int64) st->nballots);
	if (st->weights != NULL)
		push_int_pair(&ps, "weight", st->total_weight);
	key.type = jbvString;
	key.val.string.val = "rounds";
	key.val.string.len = 6;
	pushJsonbValue(&ps, WJB_KEY, &key);
	pushJsonbValue(&ps, WJB_BEGIN_ARRAY, NULL);
	for (int k = 0; k < r.nrounds; k++)
		push_round(&ps, st, &r, k, cur, out);
	pushJsonbValue(&ps, WJB_END_ARRAY, NULL);
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}
