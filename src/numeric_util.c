/*-------------------------------------------------------------------------
 *
 * numeric_util.c
 *	  Small helpers on PostgreSQL numerics shared by every part.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
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
