/*-------------------------------------------------------------------------
 *
 * alloc_quadratic.c
 *	  Quadratic funding (standard and pairwise-bounded, with an optional
 *	  per-project cap) and quadratic voting costs.
 *
 * quadratic_match works in three steps:
 *
 *	1. Aggregate.  Contributions are sorted by (project, contributor) and
 *	   duplicates summed, giving c_ip; O(n log n).
 *	2. Ideal match per project, in extended precision (long double):
 *	   standard: ideal_p = 2 * sum_{i<j} sqrt(c_ip) sqrt(c_jp), which equals
 *	   (sum sqrt c)^2 - sum c without the cancellation; pairwise:
 *	   ideal_p = 2 * sum_{i<j} sqrt(c_ip c_jp) * M / (M + K_ij).
 *	3. Distribution, exact: each ideal is rounded to 18 significant digits
 *	   and from there on everything is computed in numeric: the saturation
 *	   test, the water-filling of the cap and the final largest-remainder
 *	   split (enspiral_apportion_numeric), so a saturated result sums to the
 *	   pool exactly and no match exceeds the cap.
 *
 * Pairwise memory is O(contributions + contributors): contributors are given
 * dense indexes; for each contributor i, K_ij for every later co-contributor
 * j is accumulated in one dense array over all projects of i, used for i's
 * pairs, then cleared again by walking the same lists.  Each unordered pair
 * (i, j) in project p is visited three times, so the time is O(sum n_p^2).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"

#include "enspiral.h"
#include "alloc.h"

#if PG_VERSION_NUM < 150001
#define InitMaterializedSRF SetSingleFuncCall
#endif

PG_FUNCTION_INFO_V1(enspiral_quadratic_match_sql);
PG_FUNCTION_INFO_V1(enspiral_quadratic_vote_cost_sql);
PG_FUNCTION_INFO_V1(enspiral_quadratic_vote_cost_step);

/* Significant decimal digits kept when an ideal becomes a numeric */
#define IDEAL_DIGITS 18

/* Allocate an array that may exceed MaxAllocSize (1 GB) */
static void *
alloc_array(size_t count, size_t size)
{
	return MemoryContextAllocHuge(CurrentMemoryContext, Max(count, 1) * size);
}

/* One contribution (or, after merging, one summed c_ip) */
typedef struct QfEntry
{
	int64		project;
	int64		contributor;
	int64		amount;
} QfEntry;

/* By project, then contributor (checks for interrupts: sorts are user-sized) */
static inline int
qfentry_cmp(const QfEntry *a, const QfEntry *b)
{
	CHECK_FOR_INTERRUPTS();
	if (a->project != b->project)
		return enspiral_int64_cmp(a->project, b->project);
	return enspiral_int64_cmp(a->contributor, b->contributor);
}

#define ST_SORT sort_qf_entries
#define ST_ELEMENT_TYPE QfEntry
#define ST_COMPARE(a, b) qfentry_cmp(a, b)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/* Projects of a round after aggregation: entries grouped by project */
typedef struct QfRound
{
	QfEntry    *e;				/* m merged entries, by (project, contributor) */
	int			m;
	int			nprojects;
	int		   *pstart;			/* entries of project k: pstart[k]..pstart[k+1]-1 */
} QfRound;

/* Sort contributions, merge duplicate (project, contributor), group */
static void
qf_aggregate(QfEntry *e, int n, QfRound *r)
{
	int			m = 0;
	int			i;
	int			k = 0;

	sort_qf_entries(e, n);
	for (i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (m > 0 && e[m - 1].project == e[i].project &&
			e[m - 1].contributor == e[i].contributor)
		{
			if (pg_add_s64_overflow(e[m - 1].amount, e[i].amount,
									&e[m - 1].amount))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("contributions of one contributor to one project overflow bigint"),
						 errdetail("Contributor " INT64_FORMAT ", project " INT64_FORMAT ".",
								   e[i].contributor, e[i].project)));
		}
		else
			e[m++] = e[i];
	}
	r->e = e;
	r->m = m;
	r->pstart = alloc_array(m + 1, sizeof(int));
	for (i = 0; i < m; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (i == 0 || e[i].project != e[i - 1].project)
			r->pstart[k++] = i;
	}
	Assert(k >= 0 && k <= m);
	r->pstart[k] = m;
	r->nprojects = k;
}

/* Standard ideal: 2 * sum_{i<j} sqrt(c_i) sqrt(c_j), per project */
static void
qf_ideal_standard(const QfRound *r, long double *ideal)
{
	int			k;
	int			i;

	for (k = 0; k < r->nprojects; k++)
	{
		long double prefix = 0;
		long double sum = 0;

		for (i = r->pstart[k]; i < r->pstart[k + 1]; i++)
		{
			long double s = sqrtl((long double) r->e[i].amount);

			CHECK_FOR_INTERRUPTS();

			sum += s * prefix;
			prefix += s;
		}
		ideal[k] = 2 * sum;
	}
}

/* Dense index of each entry's contributor; returns the contributor count */
static int
qf_contributor_index(const QfRound *r, int32 *cidx)
{
	int64	   *ids = alloc_array(r->m, sizeof(int64));
	int			nc = 0;
	int			i;

	for (i = 0; i < r->m; i++)
		ids[i] = r->e[i].contributor;
	enspiral_sort_int64(ids, r->m);
	for (i = 0; i < r->m; i++)
		if (nc == 0 || ids[nc - 1] != ids[i])
			ids[nc++] = ids[i];
	for (i = 0; i < r->m; i++)
	{
		int			lo = 0;
		int			hi = nc - 1;
		int64		c = r->e[i].contributor;

		CHECK_FOR_INTERRUPTS();
		while (lo < hi)
		{
			int			mid = lo + (hi - lo) / 2;

			if (ids[mid] < c)
				lo = mid + 1;
			else
				hi = mid;
		}
		cidx[i] = lo;
	}
	pfree(ids);
	return nc;
}

/* Working arrays of the pairwise computation, indexed by merged entry */
typedef struct QfPairwise
{
	int32	   *cidx;			/* dense contributor index of each entry */
	int32	   *eproj;			/* project index of each entry */
	double	   *s;				/* sqrt of each entry's amount */
	int			nc;				/* number of contributors */
	int		   *cstart;			/* entries of contributor k: clist[cstart[k]..] */
	int32	   *clist;			/* entry indexes grouped by contributor */
	double	   *acc;			/* K_kj being accumulated, by contributor j */
} QfPairwise;

/* Fill the per-entry arrays and group the entries by contributor */
static void
qf_pairwise_setup(const QfRound *r, QfPairwise *pw)
{
	int			m = r->m;
	int		   *fill;
	int			i;
	int			k;

	pw->cidx = alloc_array(m, sizeof(int32));
	pw->eproj = alloc_array(m, sizeof(int32));
	pw->s = alloc_array(m, sizeof(double));
	pw->nc = qf_contributor_index(r, pw->cidx);
	for (k = 0; k < r->nprojects; k++)
		for (i = r->pstart[k]; i < r->pstart[k + 1]; i++)
		{
			CHECK_FOR_INTERRUPTS();
			pw->eproj[i] = k;
			pw->s[i] = sqrt((double) r->e[i].amount);
		}
	/* counting sort: each contributor's entries, in project order */
	pw->cstart = MemoryContextAllocHuge(CurrentMemoryContext,
										sizeof(int) * (pw->nc + 1));
	memset(pw->cstart, 0, sizeof(int) * (pw->nc + 1));
	pw->clist = alloc_array(m, sizeof(int32));
	for (i = 0; i < m; i++)
		pw->cstart[pw->cidx[i] + 1]++;
	for (k = 0; k < pw->nc; k++)
		pw->cstart[k + 1] += pw->cstart[k];
	fill = alloc_array(pw->nc, sizeof(int));
	memcpy(fill, pw->cstart, sizeof(int) * pw->nc);
	for (i = 0; i < m; i++)
		pw->clist[fill[pw->cidx[i]]++] = i;
	pfree(fill);
	pw->acc = alloc_array(pw->nc, sizeof(double));
	memset(pw->acc, 0, sizeof(double) * pw->nc);
}

/*
 * Add contributor k's pair terms (with every later co-contributor j) to
 * the ideals.  acc[] is all zero on entry and on exit.
 */
static void
qf_pairwise_contributor(const QfRound *r, QfPairwise *pw, int k, double M,
						long double *ideal)
{
	const int32 *cidx = pw->cidx;
	const double *s = pw->s;
	double	   *acc = pw->acc;
	int			t;

	/* K_kj for every later co-contributor j, over all shared projects */
	for (t = pw->cstart[k]; t < pw->cstart[k + 1]; t++)
	{
		int			e = pw->clist[t];
		int			end = r->pstart[pw->eproj[e] + 1];
		double		si = s[e];
		int			f;

		CHECK_FOR_INTERRUPTS();
		for (f = e + 1; f < end; f++)
			acc[cidx[f]] += si * s[f];
	}
	/* the pair terms, per project of k */
	for (t = pw->cstart[k]; t < pw->cstart[k + 1]; t++)
	{
		int			e = pw->clist[t];
		int			end = r->pstart[pw->eproj[e] + 1];
		double		sum = 0;
		int			f;

		CHECK_FOR_INTERRUPTS();
		for (f = e + 1; f < end; f++)
			sum += s[f] * (M / (M + acc[cidx[f]]));
		ideal[pw->eproj[e]] += 2 * (long double) s[e] * sum;
	}
	/* clear the co-contributors touched */
	for (t = pw->cstart[k]; t < pw->cstart[k + 1]; t++)
	{
		int			e = pw->clist[t];
		int			end = r->pstart[pw->eproj[e] + 1];
		int			f;

		for (f = e + 1; f < end; f++)
			acc[cidx[f]] = 0;
	}
}

/*
 * Pairwise ideal with threshold M; ideal[] must be zeroed.  An infinite M
 * is the standard ideal.
 */
static void
qf_ideal_pairwise(const QfRound *r, double M, long double *ideal)
{
	QfPairwise	pw;
	int			k;

	if (isinf(M))
	{
		qf_ideal_standard(r, ideal);
		return;
	}
	qf_pairwise_setup(r, &pw);
	for (k = 0; k < pw.nc; k++)
	{
		CHECK_FOR_INTERRUPTS();
		qf_pairwise_contributor(r, &pw, k, M, ideal);
	}
	pfree(pw.acc);
	pfree(pw.clist);
	pfree(pw.cstart);
	pfree(pw.s);
	pfree(pw.eproj);
	pfree(pw.cidx);
}

/* An ideal as a numeric, rounded to IDEAL_DIGITS significant digits */
static Numeric
ideal_to_numeric(long double v)
{
	char		buf[64];

	if (!(v > 0))				/* also maps a NaN, which cannot occur, to 0 */
		return int64_to_numeric(0);
	enspiral_format_long_double(buf, sizeof(buf), IDEAL_DIGITS, v);
	return DatumGetNumeric(DirectFunctionCall3(numeric_in,
											   CStringGetDatum(buf),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

/* Index order by weight, heaviest first (ties by index) */
typedef struct QfRank
{
	Numeric		w;
	int			index;
} QfRank;

/* Heavier first, then lower index */
static int
qfrank_cmp(const QfRank *a, const QfRank *b)
{
	int			c;

	CHECK_FOR_INTERRUPTS();
	c = enspiral_numeric_cmp(b->w, a->w);
	if (c != 0)
		return c;
	return (a->index > b->index) - (a->index < b->index);
}

#define ST_SORT sort_qf_ranks
#define ST_ELEMENT_TYPE QfRank
#define ST_COMPARE(a, b) qfrank_cmp(a, b)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * Saturated split with a cap: water-filling, then apportion of the rest.
 *
 * With the projects ordered heaviest first, the capped ones are a prefix.
 * While the heaviest uncapped project would get more than the cap at the
 * scale R/S that pays the remaining pool R to the uncapped projects (whose
 * weights sum to S), i.e. while R*w > cap*S, it is capped: the true scale
 * is at least R/S, so it is capped at the solution too.
 */
static void
qf_waterfill(int64 pool, int64 cap, Numeric *w, int n, int64 *match)
{
	QfRank	   *rank = palloc(sizeof(QfRank) * n);
	Numeric		S = int64_to_numeric(0);
	Numeric		ncap = int64_to_numeric(cap);
	int64		R = pool;
	int			k;
	int			i;
	int			j;
	bool	   *capped;
	Numeric    *rest;
	int64	   *restshare;

	for (i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		rank[i].w = w[i];
		rank[i].index = i;
		S = numeric_add_opt_error(S, w[i], NULL);
	}
	sort_qf_ranks(rank, n);
	for (k = 0; k < n; k++)
	{
		Numeric		lhs = numeric_mul_opt_error(int64_to_numeric(R), rank[k].w, NULL);
		Numeric		rhs = numeric_mul_opt_error(ncap, S, NULL);

		CHECK_FOR_INTERRUPTS();
		if (enspiral_numeric_cmp(lhs, rhs) <= 0)
			break;
		match[rank[k].index] = cap;
		R -= cap;				/* stays >= 0: R*w > cap*S >= cap*w */
		Assert(R >= 0);
		S = numeric_sub_opt_error(S, rank[k].w, NULL);
	}
	/* the others split R by apportion, in project order (ties to lower) */
	capped = palloc0(sizeof(bool) * n);
	for (i = 0; i < k; i++)
		capped[rank[i].index] = true;
	rest = palloc(sizeof(Numeric) * Max(n - k, 1));
	restshare = palloc(sizeof(int64) * Max(n - k, 1));
	for (i = 0, j = 0; i < n; i++)
		if (!capped[i])
			rest[j++] = w[i];
	enspiral_apportion_numeric(R, rest, n - k, restshare);
	for (i = 0, j = 0; i < n; i++)
		if (!capped[i])
			match[i] = restshare[j++];
	pfree(restshare);
	pfree(rest);
	pfree(capped);
	pfree(rank);
}

/* Distribute pool by the ideals: floors if not saturated, else all of it */
static void
qf_distribute(int64 pool, bool has_cap, int64 cap, const long double *ideal,
			  int n, int64 *match)
{
	Numeric    *w = palloc(sizeof(Numeric) * Max(n, 1));
	Numeric		ncap = int64_to_numeric(cap);
	Numeric		total = int64_to_numeric(0);
	int			i;

	for (i = 0; i < n; i++)
	{
		Numeric		capped;

		CHECK_FOR_INTERRUPTS();
		w[i] = ideal_to_numeric(ideal[i]);
		capped = (has_cap && enspiral_numeric_cmp(w[i], ncap) > 0) ? ncap : w[i];
		total = numeric_add_opt_error(total, capped, NULL);
	}
	if (enspiral_numeric_cmp(total, int64_to_numeric(pool)) <= 0)
	{
		/* not saturated: each capped ideal <= pool, so its floor fits */
		for (i = 0; i < n; i++)
		{
			Numeric		capped = (has_cap && enspiral_numeric_cmp(w[i], ncap) > 0) ? ncap : w[i];
			Datum		fl = DirectFunctionCall1(numeric_floor,
												 NumericGetDatum(capped));

			CHECK_FOR_INTERRUPTS();
			match[i] = DatumGetInt64(DirectFunctionCall1(numeric_int8, fl));
		}
	}
	else if (!has_cap)
		enspiral_apportion_numeric(pool, w, n, match);
	else
		qf_waterfill(pool, cap, w, n, match);
	pfree(w);
}

/* Refuse a negative pool or cap, a bad threshold, amounts <= 0 */
static void
qf_check_args(int64 pool, const int64 *projects, const int64 *contributors,
			  const int64 *amounts, int n, bool has_cap, int64 cap,
			  EnspiralQfMethod method, double threshold)
{
	int			i;

	if (pool < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pool must not be negative"),
				 errdetail("The pool is " INT64_FORMAT ".", pool)));
	if (has_cap && cap < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cap must not be negative"),
				 errdetail("The cap is " INT64_FORMAT ".", cap)));
	if (method == ENSPIRAL_QF_PAIRWISE && !(threshold > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"pairwise\" needs a positive threshold"),
				 errdetail("The threshold is %g.", threshold)));
	for (i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (amounts[i] <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("amounts must be positive"),
					 errdetail("Element %d is " INT64_FORMAT " (project " INT64_FORMAT ", contributor " INT64_FORMAT ").",
							   i + 1, amounts[i], projects[i], contributors[i])));
	}
}

/*
 * Quadratic funding of one round.  The three arrays are parallel (n
 * contributions).  Returns the number of projects and sets *result to one
 * row per project, by project.
 */
int
enspiral_quadratic_match(int64 pool, const int64 *projects,
						 const int64 *contributors, const int64 *amounts,
						 int n, bool has_cap, int64 cap,
						 EnspiralQfMethod method, double threshold,
						 EnspiralMatch **result)
{
	QfEntry    *e;
	QfRound		r;
	void	   *ideal_chunk;
	long double *ideal;
	int64	   *match;
	EnspiralMatch *out;
	int			i;

	qf_check_args(pool, projects, contributors, amounts, n, has_cap, cap,
				  method, threshold);
	e = alloc_array(n, sizeof(QfEntry));
	for (i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		e[i].project = projects[i];
		e[i].contributor = contributors[i];
		e[i].amount = amounts[i];
	}
	qf_aggregate(e, n, &r);
	/* palloc aligns to 8 bytes; long double needs 16 */
	ideal_chunk = palloc0(sizeof(long double) * Max(r.nprojects, 1) + 15);
	ideal = (long double *) TYPEALIGN(16, ideal_chunk);
	if (method == ENSPIRAL_QF_PAIRWISE)
		qf_ideal_pairwise(&r, threshold, ideal);
	else
		qf_ideal_standard(&r, ideal);
	match = palloc(sizeof(int64) * Max(r.nprojects, 1));
	qf_distribute(pool, has_cap, cap, ideal, r.nprojects, match);
	out = palloc(sizeof(EnspiralMatch) * Max(r.nprojects, 1));
	for (i = 0; i < r.nprojects; i++)
	{
		out[i].project = e[r.pstart[i]].project;
		out[i].match = match[i];
	}
	pfree(match);
	pfree(ideal_chunk);
	pfree(r.pstart);
	pfree(e);
	*result = out;
	return r.nprojects;
}

/* qf_check_args for the other allocation files */
void
enspiral_qf_check_args(int64 pool, const int64 *projects,
					   const int64 *contributors, const int64 *amounts, int n,
					   bool has_cap, int64 cap, EnspiralQfMethod method,
					   double threshold)
{
	qf_check_args(pool, projects, contributors, amounts, n, has_cap, cap,
				  method, threshold);
}

/* qf_distribute for the other allocation files (alloc_cocm.c) */
void
enspiral_qf_distribute(int64 pool, bool has_cap, int64 cap,
					   const long double *ideal, int n, int64 *match)
{
	qf_distribute(pool, has_cap, cap, ideal, n, match);
}

/* The int64 elements of a bigint[] argument; NULLs and 2-D are errors */
static const int64 *
int64_array_arg(FunctionCallInfo fcinfo, int argno, const char *name, int *n)
{
	ArrayType  *arr;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument must not be NULL"),
				 errdetail("Argument %s is NULL.", name)));
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument must be a one-dimensional array"),
				 errdetail("Argument %s has %d dimensions.", name, ARR_NDIM(arr))));
	*n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (ARR_HASNULL(arr))
	{
		bits8	   *bitmap = ARR_NULLBITMAP(arr);
		int			i;

		for (i = 0; i < *n; i++)
		{
			CHECK_FOR_INTERRUPTS();
			if (!(bitmap[i / 8] & (1 << (i % 8))))
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("argument must not contain NULL"),
						 errdetail("Element %d of argument %s is NULL.", i + 1, name)));
		}
	}
	return (const int64 *) ARR_DATA_PTR(arr);
}

/* Non-NULL int64 argument */
static int64
int64_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument must not be NULL"),
				 errdetail("Argument %s is NULL.", name)));
	return PG_GETARG_INT64(argno);
}

/* The pairwise threshold M as a double: > 0, huge values are infinite */
double
enspiral_qf_threshold(Numeric t)
{
	Numeric		zero = int64_to_numeric(0);
	Numeric		big;
	Numeric		tiny;

	if (numeric_is_nan(t) || enspiral_numeric_cmp(t, zero) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"pairwise\" needs a positive threshold"),
				 errdetail("The threshold is %s.", numeric_normalize(t))));
	big = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum("1e300"),
											  ObjectIdGetDatum(InvalidOid),
											  Int32GetDatum(-1)));
	tiny = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum("1e-300"),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
	if (enspiral_numeric_cmp(t, big) >= 0)
		return INFINITY;
	if (enspiral_numeric_cmp(t, tiny) <= 0)
		return 1e-300;
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(t)));
}

/* The pairwise threshold argument: not NULL, then enspiral_qf_threshold */
static double
threshold_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"pairwise\" needs a positive threshold"),
				 errdetail("The threshold is NULL.")));
	return enspiral_qf_threshold(PG_GETARG_NUMERIC(argno));
}

/*
 * enspiral.quadratic_match(pool, projects, contributors, amounts, cap,
 * method, threshold) RETURNS TABLE(project bigint, match bigint)
 */
Datum
enspiral_quadratic_match_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		pool = int64_arg(fcinfo, 0, "pool");
	int			np,
				nc,
				na;
	const int64 *projects = int64_array_arg(fcinfo, 1, "projects", &np);
	const int64 *contributors = int64_array_arg(fcinfo, 2, "contributors", &nc);
	const int64 *amounts = int64_array_arg(fcinfo, 3, "amounts", &na);
	bool		has_cap = !PG_ARGISNULL(4);
	int64		cap = has_cap ? PG_GETARG_INT64(4) : 0;
	char	   *method;
	EnspiralQfMethod m = ENSPIRAL_QF_STANDARD;
	double		threshold = 0;
	EnspiralMatch *rows;
	int			nrows;
	int			i;

	if (np != nc || np != na)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_ARRAY_MISMATCH),
				 errmsg("projects, contributors and amounts must have the same length"),
				 errdetail("Their lengths are %d, %d and %d.", np, nc, na),
				 err_generic_string(PG_DIAG_COLUMN_NAME, np != nc ? "contributors" : "amounts")));
	if (PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("method must not be NULL"),
				 errhint("Use \"standard\" or \"pairwise\".")));
	method = text_to_cstring(PG_GETARG_TEXT_PP(5));
	if (strcmp(method, "standard") == 0)
		m = ENSPIRAL_QF_STANDARD;
	else if (strcmp(method, "pairwise") == 0)
	{
		m = ENSPIRAL_QF_PAIRWISE;
		threshold = threshold_arg(fcinfo, 6);
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_UNKNOWN_MODE),
				 errmsg("unknown quadratic funding method"),
				 errdetail("The method given is \"%s\".", method),
				 errhint("Use \"standard\" or \"pairwise\"."),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "method")));
	if (PG_NARGS() > 7)
	{
		EnspiralMatchOptions opt;

		enspiral_match_options_parse(PG_GETARG_DATUM(7), PG_ARGISNULL(7),
									 false, &opt);
		nrows = enspiral_match_with_options(pool, projects, contributors,
											amounts, na, has_cap, cap, m,
											threshold, &opt, &rows);
	}
	else
		nrows = enspiral_quadratic_match(pool, projects, contributors, amounts, na,
										 has_cap, cap, m, threshold, &rows);
	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < nrows; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		CHECK_FOR_INTERRUPTS();
		values[0] = Int64GetDatum(rows[i].project);
		values[1] = Int64GetDatum(rows[i].match);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* Raise the overflow error of a quadratic vote cost */
static void
vote_cost_overflow(int64 vote)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("quadratic vote cost is out of range for type bigint"),
			 errdetail("Overflow while adding the cost of " INT64_FORMAT " votes.",
					   vote)));
}

/* cost + vote^2, or the overflow error */
static int64
add_vote_cost(int64 cost, int64 vote)
{
	int64		sq;

	if (pg_mul_s64_overflow(vote, vote, &sq) ||
		pg_add_s64_overflow(cost, sq, &cost))
		vote_cost_overflow(vote);
	return cost;
}

/* enspiral.quadratic_vote_cost(votes bigint[]) RETURNS bigint: sum of squares */
Datum
enspiral_quadratic_vote_cost_sql(PG_FUNCTION_ARGS)
{
	int			n;
	const int64 *votes = int64_array_arg(fcinfo, 0, "votes", &n);
	int64		cost = 0;
	int			i;

	for (i = 0; i < n; i++)
		cost = add_vote_cost(cost, votes[i]);
	PG_RETURN_INT64(cost);
}

/* Transition function of the quadratic_vote_cost(bigint) aggregate */
Datum
enspiral_quadratic_vote_cost_step(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(add_vote_cost(PG_GETARG_INT64(0), PG_GETARG_INT64(1)));
}
