/*-------------------------------------------------------------------------
 *
 * irv.c
 *	  The instant_runoff(bigint[]) aggregate and its round-by-round variant
 *	  instant_runoff_rounds(bigint[]).
 *
 * The transition function keeps ballots compactly: every option id seen is
 * given a dense 32-bit index (open-addressing hash table), and ballots are
 * one flat array of indexes plus an array of offsets.  The final function
 * counts the rounds: each ballot keeps a cursor on its highest-ranked option
 * not yet eliminated, and a round only advances the cursors of ballots whose
 * option was just eliminated, so the whole count is linear in the number of
 * ranks plus rounds * ballots cursor checks.
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
#include "common/int.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "enspiral.h"

PG_FUNCTION_INFO_V1(enspiral_irv_accum);
PG_FUNCTION_INFO_V1(enspiral_irv_final);
PG_FUNCTION_INFO_V1(enspiral_irv_rounds_final);
PG_FUNCTION_INFO_V1(enspiral_irv_accum_weighted);

/* Transition state: ballots as dense option indexes */
typedef struct IrvState
{
	MemoryContext ctx;
	/* option ids: ids[i] is the id of dense index i */
	int64	   *ids;
	int32		nopts;
	int32		optcap;
	/* hash table id -> dense index + 1 (0 = empty slot) */
	int64	   *hkeys;
	int32	   *hvals;
	uint32		hsize;			/* power of two */
	/* ballots: entries[offsets[b] .. offsets[b + 1]) */
	int32	   *entries;
	Size		nentries;
	Size		entcap;
	Size	   *offsets;
	Size		nballots;
	Size		ballcap;
	/* weighted aggregates: weights[b] of ballot b, and their sum */
	int64	   *weights;
	int64		total_weight;
} IrvState;

/* The outcome of a count */
typedef struct IrvResult
{
	int32		winner;			/* dense index, -1 when no ballot */
	int			nrounds;
	int64	  **counts;			/* per round: nopts counts */
	int64	   *exhausted;		/* per round */
	int32	   *eliminated;		/* per round, -1 for the last */
} IrvResult;

/* A new empty state in the aggregate's memory context */
static IrvState *
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
static int32
irv_index(IrvState *st, int64 id)
{
	uint32		h = irv_slot(st, id);

	if (st->hvals[h] != 0)
		return st->hvals[h] - 1;
	if (st->nopts == PG_INT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("instant_runoff supports at most %d distinct options", PG_INT32_MAX - 1)));
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

/* qsort comparator of int64 */
static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* Refuse a ballot with an option twice (n is small: quadratic is fine up to 32) */
static void
irv_check_duplicates(const int64 *v, int n)
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
		qsort(s, n, sizeof(int64), cmp_int64);
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
			 errmsg("instant_runoff ballot ranks an option more than once"),
			 errdetail("Each option may appear at most once in a ranking.")));
}

/* Append one ballot (already checked) to the state */
static void
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
				 errmsg("instant_runoff ballots must be one-dimensional arrays")));
	if (ARR_HASNULL(a) && array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("instant_runoff ballot contains a NULL rank")));
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	if (n == 0)
		PG_RETURN_POINTER(st);
	irv_check_duplicates((int64 *) ARR_DATA_PTR(a), n);
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
				 errmsg("instant_runoff ballot weight cannot be negative")));
	before = st->nballots;
	fcinfo->args[0].value = PointerGetDatum(st);
	fcinfo->args[0].isnull = false;
	(void) enspiral_irv_accum(fcinfo);
	if (st->nballots == before)
		PG_RETURN_POINTER(st);	/* empty ranking: skipped */
	if (pg_add_s64_overflow(st->total_weight, w, &st->total_weight))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("instant_runoff: total ballot weight out of range")));
	st->weights[before] = w;
	PG_RETURN_POINTER(st);
}

/* True when option a should be eliminated before option b (both tied now) */
static bool
irv_weaker(const IrvState *st, const IrvResult *r, int round, int32 a, int32 b)
{
	for (int k = round - 1; k >= 0; k--)
	{
		int64		ca = r->counts[k][a];
		int64		cb = r->counts[k][b];

		if (ca != cb)
			return ca < cb;
	}
	return st->ids[a] > st->ids[b];
}

/* Option to eliminate in a round: fewest votes, then the tie-break rules */
static int32
irv_loser(const IrvState *st, const IrvResult *r, int round, const bool *out)
{
	const int64 *c = r->counts[round];
	int32		loser = -1;

	for (int32 i = 0; i < st->nopts; i++)
	{
		if (out[i])
			continue;
		if (loser < 0 || c[i] < c[loser] ||
			(c[i] == c[loser] && irv_weaker(st, r, round, i, loser)))
			loser = i;
	}
	return loser;
}

/* Move every ballot's cursor past eliminated options; count the round */
static void
irv_tally(const IrvState *st, Size *cursor, const bool *out, int64 *counts,
		  int64 *exhausted)
{
	int64		ex = 0;

	for (Size b = 0; b < st->nballots; b++)
	{
		Size		p = cursor[b];
		Size		end = st->offsets[b + 1];

		int64		w = st->weights == NULL ? 1 : st->weights[b];

		while (p < end && out[st->entries[p]])
			p++;
		cursor[b] = p;
		/* no overflow: every sum is at most total_weight */
		if (p == end)
			ex += w;
		else
			counts[st->entries[p]] += w;
	}
	*exhausted = ex;
}

/* Memory for the per-round counts that a count may use (54000 beyond) */
#define IRV_MAX_COUNT_BYTES ((Size) 1024 * 1024 * 1024)

/* Order options by id, largest first (the order zero-vote options go in) */
static int
irv_cmp_id_desc(const void *a, const void *b, void *arg)
{
	const int64 *ids = (const int64 *) arg;
	int64		x = ids[*(const int32 *) a];
	int64		y = ids[*(const int32 *) b];

	return (x < y) - (x > y);
}

/*
 * The remaining options without votes in a round, in the order they will be
 * eliminated: counts of remaining options never decrease from round to
 * round, so these had no votes in any round and only the id decides.
 */
static int32 *
irv_zero_queue(const IrvState *st, const int64 *c, const bool *out, int32 *n)
{
	int32	   *q = palloc(sizeof(int32) * st->nopts);

	*n = 0;
	for (int32 i = 0; i < st->nopts; i++)
		if (!out[i] && c[i] == 0)
			q[(*n)++] = i;
	qsort_arg(q, *n, sizeof(int32), irv_cmp_id_desc, st->ids);
	return q;
}

/* The only option not eliminated */
static int32
irv_last_remaining(const IrvState *st, const bool *out)
{
	for (int32 i = 0; i < st->nopts; i++)
		if (!out[i])
			return i;
	return -1;
}

/*
 * Count every round of the state.  Eliminating an option without votes
 * moves no ballot: such rounds share the previous round's counts, and a run
 * of them is taken from a queue instead of scanning every option again (a
 * ranking of 100,000 options costs no more than its length).
 */
static void
irv_count(const IrvState *st, IrvResult *r)
{
	Size	   *cursor;
	bool	   *out;
	int			remaining = st->nopts;
	bool		moved = true;
	Size		count_bytes = 0;
	int32	   *zq = NULL;
	int32		nzq = 0,
				zpos = 0;

	r->winner = -1;
	r->nrounds = 0;
	if (st->nballots == 0)
		return;
	cursor = palloc_extended(sizeof(Size) * st->nballots, MCXT_ALLOC_HUGE);
	for (Size b = 0; b < st->nballots; b++)
		cursor[b] = st->offsets[b];
	out = palloc0(sizeof(bool) * st->nopts);
	r->counts = palloc_extended(sizeof(int64 *) * st->nopts, MCXT_ALLOC_HUGE);
	r->exhausted = palloc_extended(sizeof(int64) * st->nopts, MCXT_ALLOC_HUGE);
	r->eliminated = palloc_extended(sizeof(int32) * st->nopts, MCXT_ALLOC_HUGE);
	for (int round = 0;; round++)
	{
		int64	   *c;
		int64		active;
		int32		best = -1;

		CHECK_FOR_INTERRUPTS();
		r->nrounds = round + 1;
		r->eliminated[round] = -1;
		if (!moved)
		{
			/* nothing moved: same counts; a queued zero goes next */
			c = r->counts[round] = r->counts[round - 1];
			r->exhausted[round] = r->exhausted[round - 1];
			if (zpos < nzq)
			{
				if (remaining == 1)
				{
					r->winner = irv_last_remaining(st, out);
					break;
				}
				r->eliminated[round] = zq[zpos++];
				out[r->eliminated[round]] = true;
				remaining--;
				continue;
			}
		}
		else
		{
			count_bytes += sizeof(int64) * st->nopts;
			if (count_bytes > IRV_MAX_COUNT_BYTES)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("instant_runoff: too many rounds with votes moving among %d options",
								st->nopts),
						 errdetail("Counting would keep more than %zu MB of round-by-round counts.",
								   IRV_MAX_COUNT_BYTES / (1024 * 1024))));
			c = r->counts[round] = palloc_extended(sizeof(int64) * st->nopts, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
			irv_tally(st, cursor, out, c, &r->exhausted[round]);
		}
		active = (st->weights == NULL ? (int64) st->nballots : st->total_weight) -
			r->exhausted[round];
		for (int32 i = 0; i < st->nopts; i++)
			if (!out[i] && (best < 0 || c[i] > c[best]))
				best = i;
		if (remaining == 1 || c[best] > active / 2)
		{
			r->winner = best;
			break;
		}
		r->eliminated[round] = irv_loser(st, r, round, out);
		moved = c[r->eliminated[round]] > 0;
		if (!moved && zpos >= nzq)
		{
			/* the first of a run of zero-vote options: queue the rest */
			if (zq != NULL)
				pfree(zq);
			zq = irv_zero_queue(st, c, out, &nzq);
			zpos = 0;
			Assert(nzq > 0 && zq[0] == r->eliminated[round]);
			zpos = 1;
		}
		out[r->eliminated[round]] = true;
		remaining--;
	}
	if (zq != NULL)
		pfree(zq);
	pfree(cursor);
	pfree(out);
}

/* instant_runoff final: the winning option id, or NULL without ballots */
Datum
enspiral_irv_final(PG_FUNCTION_ARGS)
{
	IrvResult	r;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	irv_count((IrvState *) PG_GETARG_POINTER(0), &r);
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

/* Push one round: {"round", "counts": {id: n}, "exhausted", "eliminated"} */
static void
push_round(JsonbParseState **ps, const IrvState *st, const IrvResult *r, int k)
{
	const int64 *c = r->counts[k];
	JsonbValue	key;
	bool	   *out = palloc0(sizeof(bool) * st->nopts);

	for (int j = 0; j < k; j++)
		out[r->eliminated[j]] = true;
	pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
	push_int_pair(ps, "round", k + 1);
	key.type = jbvString;
	key.val.string.val = "counts";
	key.val.string.len = 6;
	pushJsonbValue(ps, WJB_KEY, &key);
	pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
	for (int32 i = 0; i < st->nopts; i++)
		if (!out[i])
			push_int_pair(ps, psprintf(INT64_FORMAT, st->ids[i]), c[i]);
	pushJsonbValue(ps, WJB_END_OBJECT, NULL);
	push_int_pair(ps, "exhausted", r->exhausted[k]);
	if (r->eliminated[k] >= 0)
		push_int_pair(ps, "eliminated", st->ids[r->eliminated[k]]);
	pushJsonbValue(ps, WJB_END_OBJECT, NULL);
	pfree(out);
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
					 errmsg("instant_runoff_rounds: %d rounds among %d options are too many to report",
							r->nrounds, st->nopts),
					 errdetail("The report would list more than %d counts; enspiral.instant_runoff() gives the winner.",
							   IRV_MAX_REPORTED_COUNTS)));
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

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (IrvState *) PG_GETARG_POINTER(0);
	irv_count(st, &r);
	if (r.winner < 0)
		PG_RETURN_NULL();
	irv_check_report_size(st, &r);
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
		push_round(&ps, st, &r, k);
	pushJsonbValue(&ps, WJB_END_ARRAY, NULL);
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}
