/*-------------------------------------------------------------------------
 *
 * apportion.c
 *	  enspiral.apportion(total bigint, weights numeric[]): exact
 *	  largest-remainder (Hamilton) split of an integer total.
 *
 * Share i is floor(total * w_i / S) or one more, S = sum of the weights.
 * The total - sum(floors) leftover units go to the largest remainders
 * (total * w_i mod S), ties to the lower index.  All remainders share the
 * denominator S, so comparing the numerators total * w_i mod S is an exact
 * comparison of the fractional parts.
 *
 * Two paths compute the same thing: when every weight is an integer that
 * fits int64 and the compiler has a 128-bit integer, products and sums are
 * computed in int128 (total * w < 2^126, S < 2^94); otherwise in numeric,
 * whose multiplication, truncating division and modulo are exact.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"

#include "enspiral.h"
#include "alloc.h"

PG_FUNCTION_INFO_V1(enspiral_apportion_sql);

/* A share that may get one extra unit: its remainder and array position */
#ifdef HAVE_INT128
typedef struct IntRemainder
{
	int128		rem;
	int			index;
} IntRemainder;

/* Larger remainder first, then lower index */
#define intrem_cmp(a, b) \
	((a)->rem > (b)->rem ? -1 : (a)->rem < (b)->rem ? 1 : \
	 ((a)->index > (b)->index) - ((a)->index < (b)->index))

#define ST_SORT sort_int_remainders
#define ST_ELEMENT_TYPE IntRemainder
#define ST_COMPARE(a, b) intrem_cmp(a, b)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"
#endif

typedef struct NumRemainder
{
	Numeric		rem;
	int			index;
} NumRemainder;

/* Larger remainder first, then lower index */
static int
numrem_cmp(const NumRemainder *a, const NumRemainder *b)
{
	int			c = enspiral_numeric_cmp(b->rem, a->rem);

	if (c != 0)
		return c;
	return (a->index > b->index) - (a->index < b->index);
}

#define ST_SORT sort_num_remainders
#define ST_ELEMENT_TYPE NumRemainder
#define ST_COMPARE(a, b) numrem_cmp(a, b)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/* Refuse a negative total */
static void
check_total(int64 total)
{
	if (total < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot apportion a negative total"),
				 errdetail("total is " INT64_FORMAT ".", total)));
}

/* Refuse a positive total over weights that sum to zero */
static void
check_nonzero_sum(int64 total, bool sum_is_zero)
{
	if (total > 0 && sum_is_zero)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot apportion " INT64_FORMAT " over weights that are all zero",
						total),
				 errhint("Give at least one positive weight, or apportion a total of 0.")));
}

/* Refuse a negative weight (position is 1-based) */
static void
negative_weight(int position, const char *value)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("weight %d is negative", position),
			 errdetail("weight %d is %s.", position, value)));
}

/* Numeric holding an int64 value */
static Numeric
num_from_int64(int64 v)
{
	return int64_to_numeric(v);
}

/* int64 value of an integral numeric known to fit */
static int64
num_to_int64(Numeric n)
{
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(n)));
}

/* Split total by integer weights; shares must have room for n values */
void
enspiral_apportion_int64(int64 total, const int64 *weights, int n,
						 int64 *shares)
{
	int			i;

	check_total(total);
	for (i = 0; i < n; i++)
		if (weights[i] < 0)
		{
			char		buf[32];

			snprintf(buf, sizeof(buf), INT64_FORMAT, weights[i]);
			negative_weight(i + 1, buf);
		}
#ifdef HAVE_INT128
	{
		int128		sum = 0;
		int64		left = total;
		IntRemainder *rems;
		int			nrems = 0;

		for (i = 0; i < n; i++)
			sum += weights[i];
		check_nonzero_sum(total, sum == 0);
		if (total == 0 || n == 0)
		{
			memset(shares, 0, sizeof(int64) * n);
			return;
		}
		rems = palloc(sizeof(IntRemainder) * n);
		for (i = 0; i < n; i++)
		{
			int128		p = (int128) total * weights[i];

			shares[i] = (int64) (p / sum);
			left -= shares[i];
			rems[nrems].rem = p % sum;
			rems[nrems].index = i;
			if (rems[nrems].rem > 0)
				nrems++;
		}
		/* left < number of positive remainders, so each gets at most one */
		Assert(left >= 0 && left <= nrems);
		if (left > 0)
			sort_int_remainders(rems, nrems);
		for (i = 0; i < left; i++)
			shares[rems[i].index]++;
		pfree(rems);
	}
#else
	{
		Numeric    *nw = palloc(sizeof(Numeric) * n);

		for (i = 0; i < n; i++)
			nw[i] = num_from_int64(weights[i]);
		enspiral_apportion_numeric(total, nw, n, shares);
		pfree(nw);
	}
#endif
}

/* Split total by numeric weights (finite, >= 0) with exact arithmetic */
void
enspiral_apportion_numeric(int64 total, Numeric *weights, int n,
						   int64 *shares)
{
	Numeric		zero = num_from_int64(0);
	Numeric		sum = zero;
	Numeric		ntotal;
	NumRemainder *rems;
	int			nrems = 0;
	int64		left = total;
	int			i;

	check_total(total);
	for (i = 0; i < n; i++)
	{
		if (numeric_is_nan(weights[i]) || numeric_is_inf(weights[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("weight %d is not a finite number", i + 1),
					 errdetail("weight %d is %s.", i + 1,
							   numeric_normalize(weights[i]))));
		if (enspiral_numeric_cmp(weights[i], zero) < 0)
			negative_weight(i + 1, numeric_normalize(weights[i]));
		sum = numeric_add_opt_error(sum, weights[i], NULL);
	}
	check_nonzero_sum(total, enspiral_numeric_cmp(sum, zero) == 0);
	if (total == 0 || n == 0)
	{
		memset(shares, 0, sizeof(int64) * n);
		return;
	}
	ntotal = num_from_int64(total);
	rems = palloc(sizeof(NumRemainder) * n);
	for (i = 0; i < n; i++)
	{
		Numeric		p = numeric_mul_opt_error(ntotal, weights[i], NULL);
		Numeric		q;

		q = DatumGetNumeric(DirectFunctionCall2(numeric_div_trunc,
												NumericGetDatum(p),
												NumericGetDatum(sum)));
		shares[i] = num_to_int64(q);
		left -= shares[i];
		rems[nrems].rem = numeric_mod_opt_error(p, sum, NULL);
		rems[nrems].index = i;
		if (enspiral_numeric_cmp(rems[nrems].rem, zero) > 0)
			nrems++;
	}
	Assert(left >= 0 && left <= nrems);
	if (left > 0)
		sort_num_remainders(rems, nrems);
	for (i = 0; i < left; i++)
		shares[rems[i].index]++;
	pfree(rems);
}

/*
 * Weight as int64 when it is an integer in 0..INT64_MAX (anything else,
 * including the weights that are errors, takes the numeric path)
 */
static bool
weight_as_int64(Numeric w, Numeric zero, Numeric int64_max, int64 *out)
{
	if (numeric_is_nan(w) || numeric_is_inf(w))
		return false;
	if (enspiral_numeric_cmp(w, zero) < 0 || enspiral_numeric_cmp(w, int64_max) > 0)
		return false;
	if (DatumGetInt32(DirectFunctionCall1(numeric_min_scale,
										  NumericGetDatum(w))) != 0)
		return false;
	*out = num_to_int64(w);
	return true;
}

/* enspiral.apportion(total bigint, weights numeric[]) RETURNS bigint[] */
Datum
enspiral_apportion_sql(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	int64		total;
	Numeric    *nw;
	int64	   *iw;
	int64	   *shares;
	bool		all_int = true;
	Numeric		zero = num_from_int64(0);
	Numeric		int64_max = num_from_int64(PG_INT64_MAX);
	Datum	   *out;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("total must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("weights must not be NULL")));
	total = PG_GETARG_INT64(0);
	arr = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("weights must be a one-dimensional array")));
	check_total(total);
	deconstruct_array(arr, NUMERICOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	nw = palloc(sizeof(Numeric) * Max(n, 1));
	iw = palloc(sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("weight %d is NULL", i + 1)));
		nw[i] = DatumGetNumeric(elems[i]);
		if (all_int && !weight_as_int64(nw[i], zero, int64_max, &iw[i]))
			all_int = false;
	}
	shares = palloc(sizeof(int64) * Max(n, 1));
#ifdef HAVE_INT128
	if (all_int)
		enspiral_apportion_int64(total, iw, n, shares);
	else
#endif
		enspiral_apportion_numeric(total, nw, n, shares);
	if (n == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(INT8OID));
	out = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
		out[i] = Int64GetDatum(shares[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, n, INT8OID, sizeof(int64),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
