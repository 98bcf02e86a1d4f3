/*-------------------------------------------------------------------------
 *
 * decisions_tally.c
 *	  Counting helpers for outcomes: the consent_counts(jsonb) aggregate,
 *	  which counts consent ballots by position in one pass without JSON
 *	  comparisons (a ballot is a JSON string scalar; its bytes decide), and
 *	  consent_counts(jsonb, weight), which adds weights instead of ones.
 *
 * State: bigint[5] = agree, abstain, disagree, block, all ballots.  The
 * aggregate is parallel safe (combine adds the arrays).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "enspiral.h"
#include "decisions.h"

PG_FUNCTION_INFO_V1(enspiral_consent_accum);
PG_FUNCTION_INFO_V1(enspiral_consent_combine);

#define CONSENT_SLOTS 5

/*
 * The int64 slots of a state array, checked.  The support functions can be
 * called directly from SQL, so a malformed state is a user error (22023),
 * as are negative counts (no aggregate produces them).
 */
static int64 *
consent_slots(ArrayType *a)
{
	int64	   *slots;

	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != CONSENT_SLOTS || ARR_HASNULL(a) ||
		ARR_ELEMTYPE(a) != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid consent count state"),
				 errdetail("The state must be a one-dimensional bigint[%d] without NULLs: it counts agree, abstain, disagree, block and all ballots.",
						   CONSENT_SLOTS)));
	slots = (int64 *) ARR_DATA_PTR(a);
	for (int i = 0; i < CONSENT_SLOTS; i++)
		if (slots[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("consent counts cannot be negative")));
	return slots;
}

/* The state array: modified in place inside an aggregate, copied otherwise */
static ArrayType *
consent_state(FunctionCallInfo fcinfo, int argno)
{
	if (AggCheckCallContext(fcinfo, NULL))
		return PG_GETARG_ARRAYTYPE_P(argno);
	return PG_GETARG_ARRAYTYPE_P_COPY(argno);
}

/* Slot of a consent position, -1 for anything else */
int
consent_position(Jsonb *ballot)
{
	JsonbValue	v;

	if (!JB_ROOT_IS_SCALAR(ballot) || !JsonbExtractScalar(&ballot->root, &v) ||
		v.type != jbvString)
		return -1;
	switch (v.val.string.len)
	{
		case 5:
			if (memcmp(v.val.string.val, "agree", 5) == 0)
				return 0;
			if (memcmp(v.val.string.val, "block", 5) == 0)
				return 3;
			break;
		case 7:
			if (memcmp(v.val.string.val, "abstain", 7) == 0)
				return 1;
			break;
		case 8:
			if (memcmp(v.val.string.val, "disagree", 8) == 0)
				return 2;
			break;
	}
	return -1;
}

/* Add a weight to a count, 22003 instead of wrapping */
static void
consent_add(int64 *slot, int64 weight)
{
	if (pg_add_s64_overflow(*slot, weight, slot))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("consent count is out of range")));
}

/*
 * consent_counts transition: count one ballot (others count only in the
 * total); with a third argument, the ballot counts its weight (>= 0)
 */
Datum
enspiral_consent_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = consent_state(fcinfo, 0);
	int64	   *slots = consent_slots(state);
	int			pos = consent_position(PG_GETARG_JSONB_P(1));
	int64		weight = PG_NARGS() > 2 ? PG_GETARG_INT64(2) : 1;

	if (weight < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("consent_counts: a weight cannot be negative"),
				 errdetail("The weight given is %lld.", (long long) weight)));
	if (pos >= 0)
		consent_add(&slots[pos], weight);
	consent_add(&slots[CONSENT_SLOTS - 1], weight);
	PG_RETURN_ARRAYTYPE_P(state);
}

/* consent_counts combine: add two partial counts */
Datum
enspiral_consent_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *state = consent_state(fcinfo, 0);
	int64	   *slots = consent_slots(state);
	int64	   *other = consent_slots(PG_GETARG_ARRAYTYPE_P(1));

	for (int i = 0; i < CONSENT_SLOTS; i++)
		if (pg_add_s64_overflow(slots[i], other[i], &slots[i]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("consent count is out of range")));
	PG_RETURN_ARRAYTYPE_P(state);
}
