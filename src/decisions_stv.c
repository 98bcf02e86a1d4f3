/*-------------------------------------------------------------------------
 *
 * decisions_stv.c
 *	  The single_transferable_vote(ranking bigint[], seats int, rules text)
 *	  aggregate (and its variant with labels naming option ids 1..n):
 *	  single transferable vote for several seats under one of two published
 *	  rule sets, with every stage reported so that a count can be audited.
 *
 * "scottish": the counting rules of the Scottish Local Government
 * Elections Order 2007 (SSI 2007/42, schedule 1, rules 45-52).  Droop quota
 * floor(ballots / (seats + 1)) + 1; a candidate with at least the quota is
 * elected; surpluses are transferred before any exclusion, the largest
 * first, every ballot paper of the elected candidate at the transfer value
 * (surplus x value of the paper) / (candidate's votes), truncated to five
 * decimal places (rule 48(3)); papers with no continuing preference are
 * non-transferable; without a surplus the candidate with the fewest votes
 * is excluded and each of their papers moves at its current value.  Ties
 * (equal surpluses, equal lowest votes) go by the votes at the earliest
 * stage at which the tied candidates had unequal votes; where they were
 * equal at every stage the lowest option id is taken instead of a lot.
 * When the continuing candidates are no more than the vacancies left, they
 * are all elected.  Values are integers in units of 0.00001 vote.
 *
 * "meek": Meek's method as in I. D. Hill, B. A. Wichmann and D. R.
 * Woodall, "Algorithm 123: Single transferable vote by Meek's method",
 * The Computer Journal 30(3), 1987, with the arithmetic of the New Zealand
 * rules that follow it (Local Electoral Regulations 2001, schedule 1A):
 * integers in units of 0.000000001 vote.  Each ballot starts with weight 1
 * and gives each candidate in order weight x keep value, rounded up, until
 * nothing is left; the quota is (votes - non-transferable) / (seats + 1)
 * truncated, plus 0.000000001; a hopeful candidate with at least the quota
 * is elected; keep values of elected candidates become keep value x quota
 * / votes, rounded up; the iteration stops when the total surplus is below
 * 0.000001 (one millionth of a vote) or no longer falls; then the hopeful
 * with the fewest votes is excluded (keep value 0), ties as above.
 *
 * Weighted variants: a ranking of weight n counts exactly as n equal
 * rankings (each paper keeps its value per unit of weight, and its
 * contributions are multiplied by n), so weights never change rounding.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "enspiral.h"
#include "rankings.h"

PG_FUNCTION_INFO_V1(enspiral_stv_accum);
PG_FUNCTION_INFO_V1(enspiral_stv_labeled_accum);
PG_FUNCTION_INFO_V1(enspiral_stv_weighted_accum);
PG_FUNCTION_INFO_V1(enspiral_stv_weighted_labeled_accum);
PG_FUNCTION_INFO_V1(enspiral_stv_final);

#define STV_SCOTTISH	0
#define STV_MEEK		1

#define SCOTTISH_DIGITS	5
#define MEEK_DIGITS		9
/* Meek's omega: total surplus below one millionth of a vote */
#define MEEK_OMEGA		((int64) 1000)

#define HOPEFUL		0
#define ELECTED		1
#define EXCLUDED	2

/* Transition state */
typedef struct StvAgg
{
	IrvState   *ballots;
	int32		seats;
	int			rules;
	ArrayType  *labels;
	/* weighted aggregates: weights[b] of ballot b and their sum */
	bool		weighted;
	int64	   *weights;
	Size		weightcap;
	int64		total_weight;
} StvAgg;

/* One stage of a count, as reported */
typedef struct StvStage
{
	const char *action;
	int32		subject;		/* transferred or excluded candidate, or -1 */
	const char *tie;			/* how a tie was broken, or NULL */
	int64	   *votes;
	int64	   *keep;			/* Meek keep values, or NULL */
	int64		quota;
	int64		nontransferable;
	int64		loss;			/* value lost to truncation (Scottish) */
	int64		transfer_value; /* of a paper worth 1 (Scottish surplus) */
	int64		surplus;		/* total surplus left (Meek) */
	int			iterations;
	int32	   *elected;
	int			nelected;
} StvStage;

/* The weight of ballot b: a ballot of weight n counts as n equal ballots */
#define BALLOT_WEIGHT(c, b) ((c)->weights ? (c)->weights[b] : 1)

/* A count in progress */
typedef struct StvCount
{
	const IrvState *st;
	const int64 *weights;		/* per ballot, NULL: every ballot weighs 1 */
	int64		total;			/* all ballots' value: total weight x unit */
	int32		n;
	int32		seats;
	int			rules;
	int64		unit;
	char	   *state;
	int64	   *votes;
	int32	   *order;			/* elected, in order */
	int32		nelected;
	int64		quota;
	int64		nontransferable;
	int64		loss;
	StvStage   *stages;
	int			nstages;
	int			stagecap;
	/* the stage being built */
	int32	   *fresh;
	int			nfresh;
} StvCount;

/* Rule set number of a name, or an error */
static int
stv_rules(text *t)
{
	char	   *s = text_to_cstring(t);

	if (strcmp(s, "scottish") == 0)
		return STV_SCOTTISH;
	if (strcmp(s, "meek") == 0)
		return STV_MEEK;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown STV rules"),
			 errdetail("The rules given are \"%s\".", s),
			 errhint("The rules are \"scottish\" and \"meek\".")));
	return -1;
}

/* Record the weight of the ballot just appended */
static void
stv_push_weight(StvAgg *sa, int64 w, MemoryContext ctx)
{
	Size		b = sa->ballots->nballots - 1;

	if (b >= sa->weightcap)
	{
		sa->weightcap = Max(sa->weightcap * 2, 1024);
		sa->weights = sa->weights
			? repalloc_huge(sa->weights, sizeof(int64) * sa->weightcap)
			: MemoryContextAllocHuge(ctx, sizeof(int64) * sa->weightcap);
	}
	sa->weights[b] = w;
	ranking_add_weight(&sa->total_weight, w, "single_transferable_vote");
}

/* The state, made on the first row; seats and rules the same on every row */
static StvAgg *
stv_state(FunctionCallInfo fcinfo, MemoryContext aggctx, int seats_arg, bool weighted)
{
	StvAgg	   *sa;
	int32		seats;
	int			rules;

	if (PG_ARGISNULL(seats_arg) || PG_ARGISNULL(seats_arg + 1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("seats and rules must not be NULL")));
	seats = PG_GETARG_INT32(seats_arg);
	rules = stv_rules(PG_GETARG_TEXT_PP(seats_arg + 1));
	if (seats < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("at least one seat is needed"),
				 errdetail("The seats given are %d.", seats)));
	if (PG_ARGISNULL(0))
	{
		sa = MemoryContextAllocZero(aggctx, sizeof(StvAgg));
		sa->ballots = irv_new(aggctx);
		sa->seats = seats;
		sa->rules = rules;
		sa->weighted = weighted;
	}
	else
		sa = (StvAgg *) PG_GETARG_POINTER(0);
	if (sa->seats != seats || sa->rules != rules)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("seats and rules must be the same for every ballot")));
	return sa;
}

/*
 * Shared transition: state, ranking, [weight,] seats, rules[, labels].
 * NULL and empty rankings (and NULL or 0 weights) are skipped.
 */
static Datum
stv_accum(FunctionCallInfo fcinfo, bool weighted, bool labeled)
{
	MemoryContext aggctx;
	StvAgg	   *sa;
	ArrayType  *a;
	int			seats_arg = weighted ? 3 : 2;
	int64		w = 1;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("stv_accum can only be called as the transition function of an aggregate"),
				 errhint("Use the aggregate enspiral.single_transferable_vote().")));
	sa = stv_state(fcinfo, aggctx, seats_arg, weighted);
	if (labeled && sa->labels == NULL)
	{
		sa->labels = ranking_labels_arg(fcinfo, seats_arg + 2, aggctx, NULL, "single_transferable_vote");
		/* every labelled option is a candidate, ranked or not */
		for (int i = 1; i <= ArrayGetNItems(ARR_NDIM(sa->labels), ARR_DIMS(sa->labels)); i++)
			irv_index(sa->ballots, i);
	}
	else if (labeled)
		ranking_labels_arg(fcinfo, seats_arg + 2, aggctx, sa->labels, "single_transferable_vote");
	if (weighted && !ranking_weight_arg(fcinfo, 2, "single_transferable_vote", &w))
		PG_RETURN_POINTER(sa);
	a = ranking_arg(fcinfo, 1, "single_transferable_vote");
	if (a == NULL)
		PG_RETURN_POINTER(sa);
	irv_append(sa->ballots, (int64 *) ARR_DATA_PTR(a),
			   ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)));
	if (weighted)
		stv_push_weight(sa, w, aggctx);
	else
		sa->total_weight++;
	PG_RETURN_POINTER(sa);
}

/* single_transferable_vote transition */
Datum
enspiral_stv_accum(PG_FUNCTION_ARGS)
{
	return stv_accum(fcinfo, false, false);
}

/* The same with labels naming option ids 1..n */
Datum
enspiral_stv_labeled_accum(PG_FUNCTION_ARGS)
{
	return stv_accum(fcinfo, false, true);
}

/* The same counting each ranking weight times */
Datum
enspiral_stv_weighted_accum(PG_FUNCTION_ARGS)
{
	return stv_accum(fcinfo, true, false);
}

/* Weighted, with labels */
Datum
enspiral_stv_weighted_labeled_accum(PG_FUNCTION_ARGS)
{
	return stv_accum(fcinfo, true, true);
}

/* a * b / c rounded down (up when round_up), checked against int64 */
static int64
muldiv(int64 a, int64 b, int64 c, bool round_up)
{
	int128		p = (int128) a * b;
	int128		q = p / c;

	if (round_up && q * c != p)
		q++;
	if (q > PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("vote count is out of range")));
	return (int64) q;
}

/*
 * Among the candidates in set[0..m) (all with the same current figure),
 * keep those that had the fewest (want_low) or most votes at the earliest
 * stage where they differ, then the lowest option id.
 */
static int32
stv_break_tie(StvCount *c, int32 *set, int m, bool want_low, const char **tie)
{
	for (int k = 0; k < c->nstages && m > 1; k++)
	{
		const int64 *v = c->stages[k].votes;
		int64		ext = v[set[0]];
		int			keep = 0;

		for (int i = 1; i < m; i++)
			if (want_low ? v[set[i]] < ext : v[set[i]] > ext)
				ext = v[set[i]];
		for (int i = 0; i < m; i++)
			if (v[set[i]] == ext)
				set[keep++] = set[i];
		if (keep < m)
			*tie = "earlier_stage";
		m = keep;
	}
	if (m > 1)
	{
		int32		best = set[0];

		for (int i = 1; i < m; i++)
			if (ranking_cmp_ids(c->st, set[i], best) < 0)
				best = set[i];
		*tie = "lowest_id";
		return best;
	}
	return set[0];
}

/*
 * The candidate in state want_state (with pending surplus only, when
 * pending is given) whose figure fig[] is lowest or highest; -1 if none.
 */
static int32
stv_pick(StvCount *c, const int64 *fig, int want_state, const bool *pending,
		 bool want_low, const char **tie)
{
	int32	   *set = palloc(sizeof(int32) * c->n);
	int			m = 0;
	int64		ext = 0;
	int32		res;

	for (int32 i = 0; i < c->n; i++)
	{
		if (c->state[i] != want_state || (pending && !pending[i]))
			continue;
		if (m == 0 || (want_low ? fig[i] < ext : fig[i] > ext))
		{
			ext = fig[i];
			m = 0;
		}
		if (fig[i] == ext)
			set[m++] = i;
	}
	*tie = NULL;
	res = m == 0 ? -1 : (m == 1 ? set[0] : stv_break_tie(c, set, m, want_low, tie));
	pfree(set);
	return res;
}

/* Elect one candidate now */
static void
stv_elect(StvCount *c, int32 i)
{
	c->state[i] = ELECTED;
	c->order[c->nelected++] = i;
	c->fresh[c->nfresh++] = i;
}

/* Elect every hopeful with at least the quota (all hopefuls when everyone), most votes first */
static bool
stv_elect_reaching(StvCount *c, bool everyone)
{
	bool		any = false;

	for (;;)
	{
		const char *tie;
		int32		i = stv_pick(c, c->votes, HOPEFUL, NULL, false, &tie);

		CHECK_FOR_INTERRUPTS();
		if (i < 0 || (!everyone && c->votes[i] < c->quota))
			break;
		if (!everyone && c->nelected >= c->seats)
			break;
		stv_elect(c, i);
		any = true;
	}
	return any;
}

/* Memory the stage-by-stage report may keep (54000 beyond) */
#define STV_MAX_STAGE_BYTES ((Size) 1024 * 1024 * 1024)

/* Record the stage just counted */
static StvStage *
stv_record(StvCount *c, const char *action, int32 subject, const char *tie)
{
	StvStage   *s;

	/* votes and keep values of every candidate at every stage */
	if ((Size) (c->nstages + 1) * c->n * sizeof(int64) * 2 > STV_MAX_STAGE_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many stages to report"),
				 errdetail("The stage-by-stage report among %d candidates would keep more than %zu MB.",
						   c->n, STV_MAX_STAGE_BYTES / (1024 * 1024))));
	if (c->nstages == c->stagecap)
	{
		c->stagecap *= 2;
		c->stages = repalloc(c->stages, sizeof(StvStage) * c->stagecap);
	}
	s = &c->stages[c->nstages++];
	memset(s, 0, sizeof(*s));
	s->action = action;
	s->subject = subject;
	s->tie = tie;
	s->votes = palloc(sizeof(int64) * Max(c->n, 1));
	memcpy(s->votes, c->votes, sizeof(int64) * c->n);
	s->quota = c->quota;
	s->nontransferable = c->nontransferable;
	s->loss = c->loss;
	s->elected = c->fresh;
	s->nelected = c->nfresh;
	c->fresh = palloc(sizeof(int32) * Max(c->n, 1));
	c->nfresh = 0;
	return s;
}

/* Number of hopeful candidates */
static int32
stv_hopefuls(const StvCount *c)
{
	int32		h = 0;

	for (int32 i = 0; i < c->n; i++)
		if (c->state[i] == HOPEFUL)
			h++;
	return h;
}

/* Piles of ballot papers per candidate (Scottish) */
typedef struct Piles
{
	Size	  **items;
	Size	   *len;
	Size	   *cap;
} Piles;

/* Put paper b on candidate i's pile */
static void
pile_push(Piles *p, int32 i, Size b)
{
	if (p->len[i] == p->cap[i])
	{
		p->cap[i] = Max(p->cap[i] * 2, 64);
		p->items[i] = p->items[i] ? repalloc_huge(p->items[i], sizeof(Size) * p->cap[i])
			: palloc_extended(sizeof(Size) * p->cap[i], MCXT_ALLOC_HUGE);
	}
	p->items[i][p->len[i]++] = b;
}

/* Move paper b to its next continuing preference; -1 when there is none */
static int32
scottish_next(const StvCount *c, Size *cursor, Size b)
{
	const IrvState *st = c->st;
	Size		p = cursor[b];
	Size		end = st->offsets[b + 1];

	while (p < end && c->state[st->entries[p]] != HOPEFUL)
		p++;
	cursor[b] = p;
	return p < end ? st->entries[p] : -1;
}

/*
 * Transfer every paper on candidate from's pile: at its value (exclusion)
 * or at (surplus x value) / total truncated (surplus, surplus > 0).
 */
static void
scottish_transfer(StvCount *c, Piles *piles, Size *cursor, int64 *value,
				  int32 from, int64 surplus)
{
	int64		total = c->votes[from];
	int64		moved = 0;

	for (Size k = 0; k < piles->len[from]; k++)
	{
		Size		b = piles->items[from][k];
		int64		v = surplus > 0 ? muldiv(surplus, value[b], total, false) : value[b];
		int64		n = BALLOT_WEIGHT(c, b);
		int32		to;

		if ((k & 0xFFFF) == 0xFFFF)
			CHECK_FOR_INTERRUPTS();
		to = scottish_next(c, cursor, b);
		/* a ballot of weight n is n papers: no overflow, n * v <= total */
		moved += v * n;
		if (to < 0)
		{
			c->nontransferable += v * n;
			continue;
		}
		value[b] = v;
		c->votes[to] += v * n;
		pile_push(piles, to, b);
	}
	if (surplus > 0)
	{
		c->loss += surplus - moved;
		c->votes[from] = c->quota;
	}
	else
		c->votes[from] = 0;
	piles->len[from] = 0;
}

/* Elect the hopefuls that reached the quota; those above it have a surplus to move */
static void
scottish_elect(StvCount *c, bool *pending)
{
	stv_elect_reaching(c, false);
	for (int k = 0; k < c->nfresh; k++)
		pending[c->fresh[k]] = c->votes[c->fresh[k]] > c->quota;
}

/* The Scottish count */
static void
stv_scottish(StvCount *c)
{
	const IrvState *st = c->st;
	Size		nb = st->nballots;
	Size	   *cursor = palloc_extended(sizeof(Size) * Max(nb, 1), MCXT_ALLOC_HUGE);
	int64	   *value = palloc_extended(sizeof(int64) * Max(nb, 1), MCXT_ALLOC_HUGE);
	bool	   *pending = palloc0(sizeof(bool) * c->n);
	Piles		piles;

	piles.items = palloc0(sizeof(Size *) * c->n);
	piles.len = palloc0(sizeof(Size) * c->n);
	piles.cap = palloc0(sizeof(Size) * c->n);
	for (Size b = 0; b < nb; b++)
	{
		int32		first = st->entries[st->offsets[b]];

		if ((b & 0xFFFF) == 0xFFFF)
			CHECK_FOR_INTERRUPTS();
		cursor[b] = st->offsets[b];
		value[b] = c->unit;
		c->votes[first] += c->unit * BALLOT_WEIGHT(c, b);
		pile_push(&piles, first, b);
	}
	c->quota = (c->total / c->unit / (c->seats + 1) + 1) * c->unit;
	scottish_elect(c, pending);
	stv_record(c, "first_preferences", -1, NULL);
	while (c->nelected < c->seats)
	{
		const char *tie;
		int32		who;

		CHECK_FOR_INTERRUPTS();
		if (c->nelected + stv_hopefuls(c) <= c->seats)
		{
			stv_elect_reaching(c, true);
			stv_record(c, "elected_remaining", -1, NULL);
			break;
		}
		who = stv_pick(c, c->votes, ELECTED, pending, false, &tie);
		if (who >= 0)
		{
			int64		surplus = c->votes[who] - c->quota;
			int64		tv = muldiv(surplus, c->unit, c->votes[who], false);

			pending[who] = false;
			scottish_transfer(c, &piles, cursor, value, who, surplus);
			scottish_elect(c, pending);
			stv_record(c, "surplus", who, tie)->transfer_value = tv;
			continue;
		}
		who = stv_pick(c, c->votes, HOPEFUL, NULL, true, &tie);
		c->state[who] = EXCLUDED;
		scottish_transfer(c, &piles, cursor, value, who, 0);
		scottish_elect(c, pending);
		stv_record(c, "exclusion", who, tie);
	}
}

/* One Meek distribution of every ballot under the keep values; returns non-transferable */
static int64
meek_distribute(StvCount *c, const int64 *keep)
{
	const IrvState *st = c->st;
	int64		nt = 0;

	memset(c->votes, 0, sizeof(int64) * c->n);
	for (Size b = 0; b < st->nballots; b++)
	{
		int64		w = c->unit;
		int64		n = BALLOT_WEIGHT(c, b);

		if ((b & 0xFFFF) == 0xFFFF)
			CHECK_FOR_INTERRUPTS();
		for (Size p = st->offsets[b]; p < st->offsets[b + 1]; p++)
		{
			int32		i = st->entries[p];
			int64		k = keep[i];
			int64		r;

			if (k == 0)
				continue;
			/* w and k are at most one vote (10^9 units): w * k fits int64 */
			r = k == c->unit ? w : (w * k + c->unit - 1) / c->unit;
			c->votes[i] += r * n;
			w -= r;
			if (w == 0)
				break;
		}
		nt += w * n;
	}
	return nt;
}

/* Total surplus of the elected candidates under the current quota */
static int64
meek_surplus(const StvCount *c)
{
	int64		s = 0;

	for (int32 i = 0; i < c->n; i++)
		if (c->state[i] == ELECTED && c->votes[i] > c->quota)
			s += c->votes[i] - c->quota;
	return s;
}

/*
 * Iterate Meek's distribution until a hopeful reaches the quota (true) or
 * the surplus has converged (false).
 */
static bool
meek_iterate(StvCount *c, int64 *keep, int *iterations, int64 *surplus)
{
	int64		prev = -1;

	for (*iterations = 1;; (*iterations)++)
	{
		int64		total;

		CHECK_FOR_INTERRUPTS();
		c->nontransferable = meek_distribute(c, keep);
		total = c->total - c->nontransferable;
		c->quota = total / (c->seats + 1) + 1;
		if (stv_elect_reaching(c, false))
			return true;
		*surplus = meek_surplus(c);
		if (*surplus < MEEK_OMEGA || (prev >= 0 && *surplus >= prev))
			return false;
		prev = *surplus;
		for (int32 i = 0; i < c->n; i++)
			if (c->state[i] == ELECTED && c->votes[i] > 0)
				keep[i] = muldiv(keep[i], c->quota, c->votes[i], true);
	}
}

/* Record a Meek stage with its keep values */
static void
meek_record(StvCount *c, const char *action, int32 subject, const char *tie,
			const int64 *keep, int iterations, int64 surplus)
{
	StvStage   *s = stv_record(c, action, subject, tie);

	s->keep = palloc(sizeof(int64) * Max(c->n, 1));
	memcpy(s->keep, keep, sizeof(int64) * c->n);
	s->iterations = iterations;
	s->surplus = surplus;
}

/* The Meek count */
static void
stv_meek(StvCount *c)
{
	int64	   *keep = palloc(sizeof(int64) * Max(c->n, 1));

	for (int32 i = 0; i < c->n; i++)
		keep[i] = c->unit;
	while (c->nelected < c->seats)
	{
		int			iterations = 0;
		int64		surplus = 0;
		const char *tie;
		int32		who;

		CHECK_FOR_INTERRUPTS();
		if (c->nelected + stv_hopefuls(c) <= c->seats)
		{
			c->nontransferable = meek_distribute(c, keep);
			c->quota = (c->total - c->nontransferable) / (c->seats + 1) + 1;
			stv_elect_reaching(c, true);
			meek_record(c, "elected_remaining", -1, NULL, keep, 0, 0);
			break;
		}
		if (meek_iterate(c, keep, &iterations, &surplus))
		{
			meek_record(c, "election", -1, NULL, keep, iterations, meek_surplus(c));
			continue;
		}
		who = stv_pick(c, c->votes, HOPEFUL, NULL, true, &tie);
		c->state[who] = EXCLUDED;
		keep[who] = 0;
		meek_record(c, "exclusion", who, tie, keep, iterations, surplus);
	}
}

/* Push "key": fixed-point value */
static void
push_fixed_pair(JsonbParseState **js, const StvCount *c, const char *key, int64 v)
{
	ranking_push_key(js, key);
	ranking_push_fixed(js, v, c->rules == STV_MEEK ? MEEK_DIGITS : SCOTTISH_DIGITS);
}

/* Push "key": {candidate: fixed-point value} */
static void
push_fixed_map(JsonbParseState **js, const StvCount *c, const char *key, char **names,
			   const int64 *vals)
{
	ranking_push_key(js, key);
	pushJsonbValue(js, WJB_BEGIN_OBJECT, NULL);
	for (int32 i = 0; i < c->n; i++)
		push_fixed_pair(js, c, names[i], vals[i]);
	pushJsonbValue(js, WJB_END_OBJECT, NULL);
}

/* Push one stage */
static void
push_stage(JsonbParseState **js, const StvCount *c, char **names, bool labeled, int k)
{
	const StvStage *s = &c->stages[k];

	pushJsonbValue(js, WJB_BEGIN_OBJECT, NULL);
	ranking_push_int(js, "stage", k + 1);
	ranking_push_string(js, "action", s->action);
	if (s->subject >= 0)
	{
		ranking_push_key(js, "candidate");
		ranking_push_option(js, c->st, names, labeled, s->subject, false);
	}
	if (s->tie != NULL)
		ranking_push_string(js, "tie_break", s->tie);
	if (strcmp(s->action, "surplus") == 0)
		push_fixed_pair(js, c, "transfer_value", s->transfer_value);
	push_fixed_map(js, c, "votes", names, s->votes);
	push_fixed_pair(js, c, "non_transferable", s->nontransferable);
	if (c->rules == STV_SCOTTISH)
		push_fixed_pair(js, c, "rounding_loss", s->loss);
	else
	{
		push_fixed_pair(js, c, "quota", s->quota);
		push_fixed_pair(js, c, "surplus", s->surplus);
		ranking_push_int(js, "iterations", s->iterations);
		push_fixed_map(js, c, "keep_values", names, s->keep);
	}
	ranking_push_key(js, "elected");
	pushJsonbValue(js, WJB_BEGIN_ARRAY, NULL);
	for (int e = 0; e < s->nelected; e++)
		ranking_push_option(js, c->st, names, labeled, s->elected[e], true);
	pushJsonbValue(js, WJB_END_ARRAY, NULL);
	pushJsonbValue(js, WJB_END_OBJECT, NULL);
}

/* The whole result: {"rules", "seats", "ballots", "quota", "elected", "stages"} */
static Jsonb *
stv_report(const StvCount *c, const StvAgg *sa)
{
	JsonbParseState *js = NULL;
	char	  **names = ranking_names(c->st, sa->labels);
	bool		labeled = sa->labels != NULL;

	pushJsonbValue(&js, WJB_BEGIN_OBJECT, NULL);
	ranking_push_string(&js, "rules", c->rules == STV_MEEK ? "meek" : "scottish");
	ranking_push_int(&js, "seats", c->seats);
	ranking_push_int(&js, "ballots", (int64) c->st->nballots);
	if (sa->weighted)
		ranking_push_int(&js, "total_weight", sa->total_weight);
	push_fixed_pair(&js, c, "quota", c->quota);
	ranking_push_key(&js, "elected");
	pushJsonbValue(&js, WJB_BEGIN_ARRAY, NULL);
	for (int32 e = 0; e < c->nelected; e++)
		ranking_push_option(&js, c->st, names, labeled, c->order[e], true);
	pushJsonbValue(&js, WJB_END_ARRAY, NULL);
	ranking_push_key(&js, "stages");
	pushJsonbValue(&js, WJB_BEGIN_ARRAY, NULL);
	for (int k = 0; k < c->nstages; k++)
	{
		CHECK_FOR_INTERRUPTS();
		push_stage(&js, c, names, labeled, k);
	}
	pushJsonbValue(&js, WJB_END_ARRAY, NULL);
	return JsonbValueToJsonb(pushJsonbValue(&js, WJB_END_OBJECT, NULL));
}

/* single_transferable_vote final: the report, or NULL without ballots */
Datum
enspiral_stv_final(PG_FUNCTION_ARGS)
{
	StvAgg	   *sa;
	StvCount	c;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	sa = (StvAgg *) PG_GETARG_POINTER(0);
	if (sa->ballots->nballots == 0)
		PG_RETURN_NULL();
	memset(&c, 0, sizeof(c));
	c.st = sa->ballots;
	c.n = sa->ballots->nopts;
	c.seats = sa->seats;
	c.rules = sa->rules;
	c.unit = sa->rules == STV_MEEK ? INT64CONST(1000000000) : INT64CONST(100000);
	c.weights = sa->weighted ? sa->weights : NULL;
	if (pg_mul_s64_overflow(sa->total_weight, c.unit, &c.total))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("total ballot weight is out of range"),
				 errdetail("The total weight times 10^%d must fit a bigint.",
						   sa->rules == STV_MEEK ? MEEK_DIGITS : SCOTTISH_DIGITS)));
	c.state = palloc0(Max(c.n, 1));
	c.votes = palloc0(sizeof(int64) * Max(c.n, 1));
	c.order = palloc(sizeof(int32) * Max(c.n, 1));
	c.fresh = palloc(sizeof(int32) * Max(c.n, 1));
	c.stagecap = 16;
	c.stages = palloc(sizeof(StvStage) * c.stagecap);
	if (c.rules == STV_MEEK)
		stv_meek(&c);
	else
		stv_scottish(&c);
	PG_RETURN_JSONB_P(stv_report(&c, sa));
}
