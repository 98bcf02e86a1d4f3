/*-------------------------------------------------------------------------
 *
 * catalyst_coverage.c
 *	  Catalyst coverage: a sweep over term boundaries (sorted start and end
 *	  events, never day by day) that yields consecutive periods with their
 *	  number of serving catalysts, the SQL function catalyst_coverage, and
 *	  the commit-time coverage rule:
 *
 *		for every day d from today on, after(d) >= min(before(d), min_catalysts)
 *
 *	  "after" is the current state of the group's terms (read under the
 *	  group lock with a fresh snapshot); "before" is that state with this
 *	  transaction's own changes undone (catalyst_terms.c records them).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/rangetypes.h"
#include "utils/typcache.h"

#include "enspiral.h"
#include "catalyst.h"

PG_FUNCTION_INFO_V1(enspiral_catalyst_coverage);

/* A boundary of the sweep: counts change by (after, before) on day */
typedef struct SweepEvent
{
	DateADT		day;
	int32		after;
	int32		before;
} SweepEvent;

/* qsort comparator: events by day */
static int
event_cmp(const void *a, const void *b)
{
	DateADT		x = ((const SweepEvent *) a)->day;
	DateADT		y = ((const SweepEvent *) b)->day;

	CHECK_FOR_INTERRUPTS();		/* sorts of user-sized input answer a cancel */
	return (x > y) - (x < y);
}

/* Append a segment, merging it into the previous one when counts agree */
static void
emit_segment(CatalystSegment *segs, int *n, DateADT lo, DateADT hi,
			 int32 after, int32 before)
{
	if (*n > 0 && segs[*n - 1].hi == lo &&
		segs[*n - 1].after == after && segs[*n - 1].before == before)
	{
		segs[*n - 1].hi = hi;
		return;
	}
	segs[*n].lo = lo;
	segs[*n].hi = hi;
	segs[*n].after = after;
	segs[*n].before = before;
	(*n)++;
}

/*
 * Sweep spans clipped to [from, to) into consecutive segments that tile
 * [from, to), each with its "after" and "before" counts.  O(n log n).
 */
CatalystSegment *
catalyst_sweep(CatalystSpan *spans, int nspans, DateADT from, DateADT to,
			   int *nsegments)
{
	SweepEvent *ev = palloc(sizeof(SweepEvent) * (2 * nspans + 1));
	CatalystSegment *segs = palloc(sizeof(CatalystSegment) * (2 * nspans + 2));
	int			nev = 0,
				nseg = 0;
	DateADT		cur = from;
	int32		after = 0,
				before = 0;

	for (int i = 0; i < nspans; i++)
	{
		DateADT		lo = Max(spans[i].lo, from);
		DateADT		hi = Min(spans[i].hi, to);

		CHECK_FOR_INTERRUPTS();
		if (lo >= hi)
			continue;
		ev[nev].day = lo;
		ev[nev].after = spans[i].after;
		ev[nev].before = spans[i].before;
		nev++;
		ev[nev].day = hi;
		ev[nev].after = -spans[i].after;
		ev[nev].before = -spans[i].before;
		nev++;
	}
	qsort(ev, nev, sizeof(SweepEvent), event_cmp);
	for (int i = 0; i < nev; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (ev[i].day > cur)
		{
			emit_segment(segs, &nseg, cur, ev[i].day, after, before);
			cur = ev[i].day;
		}
		after += ev[i].after;
		before += ev[i].before;
	}
	if (cur < to)
		emit_segment(segs, &nseg, cur, to, after, before);
	/* every span added and removed: nothing is left counted at the end */
	Assert(after == 0 && before == 0);
	Assert(nseg <= 2 * nspans + 1);
	pfree(ev);
	*nsegments = nseg;
	return segs;
}

/*
 * The periods of the group's terms that intersect [from, to), each with
 * weight 1 in both counts.  read_only = false takes a fresh snapshot (the
 * commit-time check under READ COMMITTED must see the latest commits).
 */
static CatalystSpan *
load_spans(int64 group_id, DateADT from, DateADT to, bool read_only,
		   int extra, int *nspans)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, DATEOID, DATEOID};
	Datum		args[3] = {Int64GetDatum(group_id), DateADTGetDatum(from),
	DateADTGetDatum(to)};
	CatalystSpan *spans;
	bool		isnull;

	enspiral_plan(&plan,
				  "SELECT pg_catalog.lower(t.period), pg_catalog.upper(t.period)"
				  " FROM enspiral.catalyst_terms t"
				  " WHERE t.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND pg_catalog.upper(t.period) OPERATOR(pg_catalog.>) $2"
				  "   AND pg_catalog.lower(t.period) OPERATOR(pg_catalog.<) $3",
				  3, argtypes);
	if (SPI_execute_plan(plan, args, NULL, read_only, 0) != SPI_OK_SELECT)
		elog(ERROR, "catalyst term lookup failed");
	spans = palloc(sizeof(CatalystSpan) * (SPI_processed + extra + 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];

		spans[i].lo = DatumGetDateADT(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		spans[i].hi = DatumGetDateADT(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
		spans[i].after = 1;
		spans[i].before = 1;
	}
	*nspans = (int) SPI_processed;
	return spans;
}

/* The group's term periods intersecting [from, to); inside SPI */
CatalystSpan *
catalyst_load_spans(int64 group_id, DateADT from, DateADT to, int *nspans)
{
	return load_spans(group_id, from, to, true, 0, nspans);
}

/*
 * The coverage rule for one group, at commit (or at SET CONSTRAINTS
 * IMMEDIATE): NS305 when some day from today on would have fewer catalysts
 * than min(before, min_catalysts).  Call with the group lock held.
 */
void
catalyst_check_coverage(int64 group_id)
{
	CatalystSettings s;
	DateADT		today = GetSQLCurrentDate();
	CatalystSpan *spans;
	CatalystSpan *undo;
	CatalystSegment *segs;
	int			nspans,
				nundo,
				nsegs;

	catalyst_load_settings(group_id, &s);
	undo = catalyst_undo_spans(group_id, today, &nundo);
	if (nundo == 0)
		return;					/* nothing of ours from today on */
	spans = load_spans(group_id, today, DATEVAL_NOEND, false, nundo, &nspans);
	memcpy(spans + nspans, undo, sizeof(CatalystSpan) * nundo);
	segs = catalyst_sweep(spans, nspans + nundo, today, DATEVAL_NOEND, &nsegs);
	for (int i = 0; i < nsegs; i++)
	{
		int32		need = Min(segs[i].before, s.min_catalysts);
		DateADT		until;

		CHECK_FOR_INTERRUPTS();
		if (segs[i].after >= need)
			continue;
		/* report the whole run of shortfall that starts here */
		until = segs[i].hi;
		for (int j = i + 1; j < nsegs && segs[j].after < Min(segs[j].before, s.min_catalysts); j++)
			until = segs[j].hi;
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_COVERAGE_SHORTFALL),
				 errmsg("catalysts would drop below the minimum"),
				 errdetail("Catalysts of group %lld would drop from %d to %d, below the minimum of %d, from %s until %s.",
						   (long long) group_id, segs[i].before, segs[i].after,
						   s.min_catalysts, catalyst_date_str(segs[i].lo),
						   catalyst_date_str(until)),
				 errhint("Appoint a successor in the same transaction, or end the term later.")));
	}
}

/* A daterange [lo, hi) */
static Datum
make_daterange(TypeCacheEntry *typcache, DateADT lo, DateADT hi)
{
	RangeBound	lo_bound,
				hi_bound;

	lo_bound.val = DateADTGetDatum(lo);
	lo_bound.infinite = false;
	lo_bound.inclusive = true;
	lo_bound.lower = true;
	hi_bound.val = DateADTGetDatum(hi);
	hi_bound.infinite = false;
	hi_bound.inclusive = false;
	hi_bound.lower = false;
#if PG_VERSION_NUM >= 160000
	return RangeTypePGetDatum(make_range(typcache, &lo_bound, &hi_bound, false, NULL));
#else
	return RangeTypePGetDatum(make_range(typcache, &lo_bound, &hi_bound, false));
#endif
}

/* Refuse a window that is not [finite from, finite to) with from < to */
static void
check_window(DateADT from, DateADT to)
{
	if (DATE_NOT_FINITE(from) || DATE_NOT_FINITE(to))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_date and to_date must be finite")));
	if (from >= to)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_TIME_ORDER),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "to_date"),
				 errmsg("from_date must be before to_date"),
				 errdetail("The window is [from_date, to_date): from %s to %s.",
						   catalyst_date_str(from), catalyst_date_str(to))));
}

/*
 * enspiral.catalyst_coverage(group_id, from_date, to_date)
 *	  RETURNS TABLE(period daterange, catalysts int): consecutive periods
 *	  tiling [from_date, to_date), each with its number of serving catalysts.
 */
Datum
enspiral_catalyst_coverage(PG_FUNCTION_ARGS)
{
	int64		group_id = PG_GETARG_INT64(0);
	DateADT		from = PG_GETARG_DATEADT(1);
	DateADT		to = PG_GETARG_DATEADT(2);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TypeCacheEntry *typcache = lookup_type_cache(DATERANGEOID, TYPECACHE_RANGE_INFO);
	CatalystSettings s;
	CatalystSpan *spans;
	CatalystSegment *segs;
	int			nspans,
				nsegs;

	check_window(from, to);
	InitMaterializedSRF(fcinfo, 0);
	enspiral_spi_connect();
	catalyst_load_settings(group_id, &s);
	spans = catalyst_load_spans(group_id, from, to, &nspans);
	segs = catalyst_sweep(spans, nspans, from, to, &nsegs);
	for (int i = 0; i < nsegs; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		CHECK_FOR_INTERRUPTS();
		values[0] = make_daterange(typcache, segs[i].lo, segs[i].hi);
		values[1] = Int32GetDatum(segs[i].after);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	enspiral_spi_finish();
	PG_RETURN_NULL();
}
