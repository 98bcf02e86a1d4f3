/*-------------------------------------------------------------------------
 *
 * decisions_rankings.c
 *	  Helpers shared by the ranked-ballot aggregates of decisions_stv.c and
 *	  decisions_condorcet.c: reading a ranking argument, the optional labels that
 *	  name option ids 1..n, and building their JSON results.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "enspiral.h"
#include "rankings.h"

/* The ranking argument: NULL when it is NULL or empty; checked otherwise */
ArrayType *
ranking_arg(FunctionCallInfo fcinfo, int argno, const char *aggname)
{
	ArrayType  *a;

	if (PG_ARGISNULL(argno))
		return NULL;
	a = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("ballots must be one-dimensional arrays"),
				 errdetail("A ballot given to %s() has more than one dimension.", aggname)));
	if (ARR_HASNULL(a) && array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("ballot contains a NULL rank"),
				 errdetail("The ballot was given to %s().", aggname)));
	if (ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) == 0)
		return NULL;
	irv_check_duplicates((int64 *) ARR_DATA_PTR(a),
						 ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)), aggname);
	return a;
}

/*
 * The weight argument of a weighted aggregate: false when the ballot is
 * to be skipped (NULL or 0 weight); a negative weight is an error.
 */
bool
ranking_weight_arg(FunctionCallInfo fcinfo, int argno, const char *aggname, int64 *w)
{
	if (PG_ARGISNULL(argno))
		return false;
	*w = PG_GETARG_INT64(argno);
	if (*w < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ballot weight cannot be negative"),
				 errdetail("A ballot given to %s() weighs " INT64_FORMAT ".", aggname, *w)));
	return *w > 0;
}

/* Add a ballot's weight to a total, 22003 instead of wrapping */
void
ranking_add_weight(int64 *total, int64 w, const char *aggname)
{
	if (pg_add_s64_overflow(*total, w, total))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("total ballot weight is out of range"),
				 errdetail("The ballots were given to %s().", aggname)));
}

/*
 * The labels argument (names of option ids 1..n): copied into ctx on the
 * first row, and the same on every later row.
 */
ArrayType *
ranking_labels_arg(FunctionCallInfo fcinfo, int argno, MemoryContext ctx,
				   ArrayType *prev, const char *aggname)
{
	ArrayType  *a;
	MemoryContext old;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("labels must not be NULL"),
				 errdetail("The labels were given to %s().", aggname)));
	a = PG_GETARG_ARRAYTYPE_P(argno);
	if (prev != NULL)
	{
		if (VARSIZE(a) != VARSIZE(prev) || memcmp(a, prev, VARSIZE(a)) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("labels must be the same for every ballot"),
					 errdetail("The labels were given to %s().", aggname)));
		return prev;
	}
	if (ARR_NDIM(a) > 1 || (ARR_HASNULL(a) && array_contains_nulls(a)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("labels must be a one-dimensional array without NULLs"),
				 errdetail("The labels were given to %s().", aggname)));
	old = MemoryContextSwitchTo(ctx);
	a = DatumGetArrayTypePCopy(PointerGetDatum(a));
	MemoryContextSwitchTo(old);
	return a;
}

/* Names of the dense options: their labels, or their ids as text */
char	  **
ranking_names(const IrvState *st, ArrayType *labels)
{
	char	  **names = palloc(sizeof(char *) * Max(st->nopts, 1));
	Datum	   *elems = NULL;
	bool	   *nulls;
	int			n = 0;

	if (labels != NULL)
		deconstruct_array(labels, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int32 i = 0; i < st->nopts; i++)
	{
		if (labels == NULL)
			names[i] = psprintf(INT64_FORMAT, st->ids[i]);
		else if (st->ids[i] < 1 || st->ids[i] > n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option id is not the position of a label"),
					 errdetail("Option " INT64_FORMAT " was ranked; there are %d labels.",
							   st->ids[i], n)));
		else
			names[i] = TextDatumGetCString(elems[st->ids[i] - 1]);
	}
	return names;
}

/* Push an object key */
void
ranking_push_key(JsonbParseState **ps, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(ps, WJB_KEY, &k);
}

/* Push an option as a value or array element: its label (a string) or its id (a number) */
void
ranking_push_option(JsonbParseState **ps, const IrvState *st, char **names,
					bool labeled, int32 idx, bool elem)
{
	JsonbValue	v;

	if (!labeled)
	{
		v.type = jbvNumeric;
		v.val.numeric = int64_to_numeric(st->ids[idx]);
	}
	else
	{
		v.type = jbvString;
		v.val.string.val = names[idx];
		v.val.string.len = strlen(names[idx]);
	}
	pushJsonbValue(ps, elem ? WJB_ELEM : WJB_VALUE, &v);
}

/* Push "key": integer */
void
ranking_push_int(JsonbParseState **ps, const char *key, int64 val)
{
	JsonbValue	v;

	ranking_push_key(ps, key);
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(val);
	pushJsonbValue(ps, WJB_VALUE, &v);
}

/* Push "key": string */
void
ranking_push_string(JsonbParseState **ps, const char *key, const char *val)
{
	JsonbValue	v;

	ranking_push_key(ps, key);
	v.type = jbvString;
	v.val.string.val = (char *) val;
	v.val.string.len = strlen(val);
	pushJsonbValue(ps, WJB_VALUE, &v);
}

/* Push a non-negative fixed-point number (val / 10^scale) as a value, all decimals shown */
void
ranking_push_fixed(JsonbParseState **ps, int64 val, int scale)
{
	JsonbValue	v;
	int64		unit = 1;
	char	   *s;

	for (int i = 0; i < scale; i++)
		unit *= 10;
	Assert(val >= 0);
	s = psprintf(INT64_FORMAT ".%0*lld", val / unit, scale, (long long) (val % unit));
	v.type = jbvNumeric;
	v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
														ObjectIdGetDatum(InvalidOid),
														Int32GetDatum(-1)));
	pushJsonbValue(ps, WJB_VALUE, &v);
}

/* Order of two dense options by their ids: <0 when a's id is lower */
int
ranking_cmp_ids(const IrvState *st, int32 a, int32 b)
{
	return (st->ids[a] > st->ids[b]) - (st->ids[a] < st->ids[b]);
}
