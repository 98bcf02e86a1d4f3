/*-------------------------------------------------------------------------
 *
 * core_numeric.c
 *	  Comparisons shared by every part: exact numerics and int64 sorting.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"

#include "enspiral.h"

/* Compare two numerics exactly: <0, 0, >0 (NaN sorts last, as in SQL) */
int
enspiral_numeric_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a),
											 NumericGetDatum(b)));
}

/* Ascending int64 for the sort below; answers a cancel while sorting */
static inline int
int64_sort_cmp(const int64 *a, const int64 *b)
{
	CHECK_FOR_INTERRUPTS();
	return enspiral_int64_cmp(*a, *b);
}

#define ST_SORT sort_int64_array
#define ST_ELEMENT_TYPE int64
#define ST_COMPARE(a, b) int64_sort_cmp(a, b)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/* Sort n int64 values ascending in place (interruptible) */
void
enspiral_sort_int64(int64 *values, size_t n)
{
	sort_int64_array(values, n);
}
