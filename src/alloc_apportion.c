/*-------------------------------------------------------------------------
 *
 * alloc_apportion.c
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
 * Limits (doc/limits-and-cancel.md): every loop over the weights, and every
 * comparison of the remainder sorts, checks for interrupts, so a cancel or
 * statement_timeout is answered within milliseconds.  Memory beyond the
 * input array is a small constant per weight: the SQL function walks the
 * array in place (no deconstructed copy), writes the shares straight into
 * the result array, keeps remainders as int64 when S fits int64 (16 bytes
 * per positive remainder, 32 otherwise), and computes each numeric product
 * and quotient in a scratch context that is reset per weight.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/arrayaccess.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "enspiral.h"
#include "alloc.h"

PG_FUNCTION_INFO_V1(enspiral_apportion_sql);

/* Numeric partial sums kept in the scratch context before it is reset */
#define SUM_RESET_EVERY 1024

/* A share that may get one extra unit: its remainder and array position */
#ifdef HAVE_INT128
typedef struct IntRemainder
{
	int128		rem;
	int			index;
} IntRemainder;

/* The same when the sum of the weights, hence every remainder, fits int64 */
typedef struct SmallRemainder
{
	int64		rem;
	int			index;
} SmallRemainder;

/* Larger remainder first, then lower index (checks for interrupts) */
static inline int
intrem_cmp(const IntRemainder *a, const IntRemainder *b)
{
	CHECK_FOR_INTERRUPTS();
	if (a->rem != b->rem)
		return a->rem > b->rem ? -1 : 1;
	return (a->index > b->index) - (a->index < b->index);
}

/* Larger remainder first, then lower index (checks for interrupts) */
static inline int
smallrem_cmp(const SmallRemainder *a, const SmallRemainder *b)
{
	CHECK_FOR_INTERRUPTS();
	if (a->rem != b->rem)
		return a->rem > b->rem ? -1 : 1;
	return (a->index > b->index) - (a->index < b->index);
}

#define ST_SORT sort_int_remainders
#define ST_ELEMENT_TYPE IntRemainder
#define ST_COMPARE(a, b) intrem_cmp(a, b)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT sort_small_remainders
#define ST_ELEMENT_TYPE SmallRemainder
#define ST_COMPARE(a, b) smallrem_cmp(a, b)
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

/* Larger remainder first, then lower index (checks for interrupts) */
static int
numrem_cmp(const NumRemainder *a, const NumRemainder *b)
{
	int			c;

	CHECK_FOR_INTERRUPTS();
	c = enspiral_numeric_cmp(b->rem, a->rem);
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
				(errcode(ERRCODE_ENSPIRAL_INVALID_AMOUNT),
				 errmsg("cannot apportion a negative total"),
				 errdetail("The total is " INT64_FORMAT ".", total),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "total")));
}

/* Refuse a positive total over weights that sum to zero */
static void
check_nonzero_sum(int64 total, bool sum_is_zero)
{
	if (total > 0 && sum_is_zero)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_WEIGHT),
				 errmsg("cannot apportion over weights that are all zero"),
				 errdetail("The total is " INT64_FORMAT ".", total),
				 errhint("Give at least one positive weight, or apportion a total of 0."),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "weights")));
}

/* Refuse a negative weight (position is 1-based) */
static void
negative_weight(int position, const char *value)
{
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_INVALID_WEIGHT),
			 errmsg("weight must not be negative"),
			 errdetail("Weight %d is %s.", position, value),
			 err_generic_string(PG_DIAG_COLUMN_NAME, "weights")));
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

/* A copy of a numeric in the current memory context */
static Numeric
num_copy(Numeric n)
{
	Numeric		c = palloc(VARSIZE(n));

	memcpy(c, n, VARSIZE(n));
	return c;
}

#ifdef HAVE_INT128
/*
 * Floors of total * w / sum into shares; the positive remainders and their
 * positions into rems (int64 remainders when small, else int128); returns
 * the units left over.
 */
static int64
int_floors(int64 total, const int64 *weights, int n, int128 sum, bool small,
		   int64 *shares, void *rems, int *nrems)
{
	int64		left = total;

	*nrems = 0;
	for (int i = 0; i < n; i++)
	{
		int128		p = (int128) total * weights[i];
		int128		rem = p % sum;

		CHECK_FOR_INTERRUPTS();
		shares[i] = (int64) (p / sum);
		left -= shares[i];
		if (rem == 0)
			continue;
		if (small)
		{
			((SmallRemainder *) rems)[*nrems].rem = (int64) rem;
			((SmallRemainder *) rems)[*nrems].index = i;
		}
		else
		{
			((IntRemainder *) rems)[*nrems].rem = rem;
			((IntRemainder *) rems)[*nrems].index = i;
		}
		(*nrems)++;
	}
	return left;
}

/* Give one unit to each of the left largest remainders */
static void
int_leftovers(int64 left, bool small, void *rems, int nrems, int64 *shares)
{
	/* left < number of positive remainders, so each gets at most one */
	Assert(left >= 0 && left <= nrems);
	if (left == 0)
		return;
	if (small)
		sort_small_remainders((SmallRemainder *) rems, nrems);
	else
		sort_int_remainders((IntRemainder *) rems, nrems);
	for (int64 i = 0; i < left; i++)
	{
		int			index = small ? ((SmallRemainder *) rems)[i].index :
			((IntRemainder *) rems)[i].index;

		Assert(index >= 0 && index < INT_MAX);
		shares[index]++;
	}
}
#endif

/* Split total by integer weights; shares must have room for n values */
void
enspiral_apportion_int64(int64 total, const int64 *weights, int n,
						 int64 *shares)
{
	int			i;

	check_total(total);
	for (i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (weights[i] < 0)
		{
			char		buf[32];

			snprintf(buf, sizeof(buf), INT64_FORMAT, weights[i]);
			negative_weight(i + 1, buf);
		}
	}
#ifdef HAVE_INT128
	{
		int128		sum = 0;
		bool		small;
		void	   *rems;
		int			nrems;
		int64		left;

		for (i = 0; i < n; i++)
			sum += weights[i];
		check_nonzero_sum(total, sum == 0);
		if (total == 0 || n == 0)
		{
			memset(shares, 0, sizeof(int64) * n);
			return;
		}
		small = sum <= PG_INT64_MAX;
		rems = MemoryContextAllocHuge(CurrentMemoryContext,
									  (small ? sizeof(SmallRemainder) :
									   sizeof(IntRemainder)) * n);
		left = int_floors(total, weights, n, sum, small, shares, rems, &nrems);
		int_leftovers(left, small, rems, nrems, shares);
		pfree(rems);
	}
#else
	{
		Numeric    *nw = MemoryContextAllocHuge(CurrentMemoryContext,
												sizeof(Numeric) * Max(n, 1));

		for (i = 0; i < n; i++)
		{
			CHECK_FOR_INTERRUPTS();
			nw[i] = num_from_int64(weights[i]);
		}
		enspiral_apportion_numeric(total, nw, n, shares);
		pfree(nw);
	}
#endif
}

/* Refuse a weight that is NaN or infinite (position is 1-based) */
static void
check_finite(Numeric w, int position)
{
	if (numeric_is_nan(w) || numeric_is_inf(w))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_WEIGHT),
				 errmsg("weight must be a finite number"),
				 errdetail("Weight %d is %s.", position, numeric_normalize(w)),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "weights")));
}

/*
 * Sum of numeric weights (finite, >= 0, else an error); the partial sums
 * live in a scratch context reset every SUM_RESET_EVERY weights.
 */
static Numeric
numeric_weight_sum(Numeric *weights, int n, Numeric zero, MemoryContext scratch)
{
	MemoryContext outer = CurrentMemoryContext;
	Numeric		sum = zero;

	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		check_finite(weights[i], i + 1);
		if (enspiral_numeric_cmp(weights[i], zero) < 0)
			negative_weight(i + 1, numeric_normalize(weights[i]));
		MemoryContextSwitchTo(scratch);
		sum = numeric_add_opt_error(sum, weights[i], NULL);
		MemoryContextSwitchTo(outer);
		if ((i + 1) % SUM_RESET_EVERY == 0)
		{
			sum = num_copy(sum);
			MemoryContextReset(scratch);
		}
	}
	return num_copy(sum);
}

/* Split total by numeric weights (finite, >= 0) with exact arithmetic */
void
enspiral_apportion_numeric(int64 total, Numeric *weights, int n,
						   int64 *shares)
{
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext scratch;
	Numeric		zero = num_from_int64(0);
	Numeric		sum;
	Numeric		ntotal;
	NumRemainder *rems;
	int			nrems = 0;
	int64		left = total;
	int			i;

	check_total(total);
	scratch = AllocSetContextCreate(outer, "enspiral apportion scratch",
									ALLOCSET_SMALL_SIZES);
	sum = numeric_weight_sum(weights, n, zero, scratch);
	check_nonzero_sum(total, enspiral_numeric_cmp(sum, zero) == 0);
	if (total == 0 || n == 0)
	{
		memset(shares, 0, sizeof(int64) * n);
		MemoryContextDelete(scratch);
		return;
	}
	ntotal = num_from_int64(total);
	rems = MemoryContextAllocHuge(outer, sizeof(NumRemainder) * n);
	for (i = 0; i < n; i++)
	{
		Numeric		p;
		Numeric		rem;

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(scratch);
		p = numeric_mul_opt_error(ntotal, weights[i], NULL);
		shares[i] = num_to_int64(DatumGetNumeric(DirectFunctionCall2(numeric_div_trunc,
																	 NumericGetDatum(p),
																	 NumericGetDatum(sum))));
		rem = numeric_mod_opt_error(p, sum, NULL);
		MemoryContextSwitchTo(outer);
		left -= shares[i];
		if (enspiral_numeric_cmp(rem, zero) > 0)
		{
			rems[nrems].rem = num_copy(rem);
			rems[nrems].index = i;
			nrems++;
		}
		MemoryContextReset(scratch);
	}
	MemoryContextDelete(scratch);
	Assert(left >= 0 && left <= nrems);
	if (left > 0)
		sort_num_remainders(rems, nrems);
	for (i = 0; i < left; i++)
		shares[rems[i].index]++;
	for (i = 0; i < nrems; i++)
		pfree(rems[i].rem);
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

/* A bigint[] of n elements, its data left for the caller to fill */
static ArrayType *
new_int8_array(int n)
{
	Size		bytes = ARR_OVERHEAD_NONULLS(1) + sizeof(int64) * (Size) n;
	ArrayType  *a;

	if (!AllocSizeIsValid(bytes))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("array size exceeds the maximum allowed"),
				 errdetail("The array would have %d elements; the maximum is %d.",
						   n, (int) MaxArraySize)));
	a = palloc0(bytes);
	SET_VARSIZE(a, bytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = INT8OID;
	ARR_DIMS(a)[0] = n;
	ARR_LBOUND(a)[0] = 1;
	return a;
}

/*
 * The weights of the array walked in place: NULL is an error.  With iw,
 * while every weight so far is an integer that fits int64, its value goes
 * to iw; returns whether all are.  With nw, pointers into the array go to
 * nw.
 */
static bool
read_weights(ArrayType *arr, int n, Numeric *nw, int64 *iw)
{
	array_iter	it;
	bool		all_int = true;
	Numeric		zero = num_from_int64(0);
	Numeric		int64_max = num_from_int64(PG_INT64_MAX);

	array_iter_setup(&it, (AnyArrayType *) arr);
	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		d;

		CHECK_FOR_INTERRUPTS();
		d = array_iter_next(&it, &isnull, i, -1, false, TYPALIGN_INT);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("weights must not contain NULL"),
					 errdetail("Weight %d is NULL.", i + 1),
					 err_generic_string(PG_DIAG_COLUMN_NAME, "weights")));
		if (nw != NULL)
			nw[i] = DatumGetNumeric(d);
		if (iw != NULL && all_int &&
			!weight_as_int64(DatumGetNumeric(d), zero, int64_max, &iw[i]))
			all_int = false;
	}
	return all_int;
}

/* enspiral.apportion(total bigint, weights numeric[]) RETURNS bigint[] */
Datum
enspiral_apportion_sql(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	ArrayType  *result;
	int			n;
	int64		total;
	Numeric    *nw;
#ifdef HAVE_INT128
	int64	   *iw;
#endif

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("total must not be NULL"),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "total")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("weights must not be NULL"),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "weights")));
	total = PG_GETARG_INT64(0);
	arr = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_ARRAY_MISMATCH),
				 errmsg("weights must be a one-dimensional array"),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "weights")));
	check_total(total);
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (n == 0)
	{
		check_nonzero_sum(total, true);
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(INT8OID));
	}
	result = new_int8_array(n);
#ifdef HAVE_INT128
	/* first pass: integer weights (and NULL checks); second if not all are */
	iw = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * n);
	if (read_weights(arr, n, NULL, iw))
	{
		enspiral_apportion_int64(total, iw, n, (int64 *) ARR_DATA_PTR(result));
		pfree(iw);
		PG_RETURN_ARRAYTYPE_P(result);
	}
	pfree(iw);
#endif
	nw = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(Numeric) * n);
	(void) read_weights(arr, n, nw, NULL);
	enspiral_apportion_numeric(total, nw, n, (int64 *) ARR_DATA_PTR(result));
	pfree(nw);
	PG_RETURN_ARRAYTYPE_P(result);
}
