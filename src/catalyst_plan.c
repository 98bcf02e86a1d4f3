/*-------------------------------------------------------------------------
 *
 * catalyst_plan.c
 *	  The rotation planner: enspiral.plan_rotation proposes appointments
 *	  that close every catalyst gap of a window.  Greedy, gap by gap in date
 *	  order: the first day d with fewer than min_catalysts gets a term
 *	  starting on d for the eligible member with the fewest counted months,
 *	  then the longest since their last term ended (never served first),
 *	  then the lowest member id.  A proposal obeys every rule: the member is
 *	  current and joined by d, none of their terms (or proposals) overlaps,
 *	  its length is the group's term length shortened only to respect the
 *	  service limit or the member's next term, and adding terms never lowers
 *	  coverage.
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

#include "enspiral.h"
#include "catalyst.h"

PG_FUNCTION_INFO_V1(enspiral_plan_rotation);

/* A current member as the planner sees them */
typedef struct PlanMember
{
	int64		member_id;
	DateADT		joined;			/* date of the current membership */
	int32		counted;		/* counted months, proposals included */
	DateADT		last_end;		/* latest end of a term ended by "from" */
	bool		has_last;
} PlanMember;

/* A term (existing or proposed) that runs past "from" */
typedef struct PlanTerm
{
	int			member;			/* index in the members array, -1 if former */
	DateADT		lo;
	DateADT		hi;
} PlanTerm;

/* The planner's state */
typedef struct Planner
{
	CatalystSettings settings;
	PlanMember *members;
	int			nmembers;
	PlanTerm   *terms;
	int			nterms;
	int			maxterms;
} Planner;

/* Load the group's current members with their service so far */
static void
load_members(Planner *p, int64 group_id, DateADT from)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, DATEOID};
	Datum		args[2] = {Int64GetDatum(group_id), DateADTGetDatum(from)};
	bool		isnull;

	enspiral_plan(&plan,
				  "SELECT ms.member_id, (ms.joined_at)::pg_catalog.date,"
				  " (SELECT COALESCE(pg_catalog.sum(t.months_counted), 0)::pg_catalog.int4"
				  "    FROM enspiral.catalyst_terms t WHERE t.group_id OPERATOR(pg_catalog.=) $1"
				  "     AND t.member_id OPERATOR(pg_catalog.=) ms.member_id),"
				  " (SELECT pg_catalog.max(pg_catalog.upper(t.period))"
				  "    FROM enspiral.catalyst_terms t WHERE t.group_id OPERATOR(pg_catalog.=) $1"
				  "     AND t.member_id OPERATOR(pg_catalog.=) ms.member_id"
				  "     AND pg_catalog.upper(t.period) OPERATOR(pg_catalog.<=) $2)"
				  " FROM enspiral.memberships ms"
				  " WHERE ms.group_id OPERATOR(pg_catalog.=) $1 AND ms.left_at IS NULL"
				  " ORDER BY ms.member_id",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "planner member lookup failed");
	p->nmembers = (int) SPI_processed;
	p->members = palloc0(sizeof(PlanMember) * (p->nmembers + 1));
	for (int i = 0; i < p->nmembers; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum		last;

		p->members[i].member_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		p->members[i].joined = DatumGetDateADT(SPI_getbinval(tup, desc, 2, &isnull));
		p->members[i].counted = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		last = SPI_getbinval(tup, desc, 4, &isnull);
		p->members[i].has_last = !isnull;
		p->members[i].last_end = isnull ? 0 : DatumGetDateADT(last);
	}
}

/* Index of a member in the (sorted) members array, or -1 */
static int
member_index(Planner *p, int64 member_id)
{
	int			lo = 0,
				hi = p->nmembers - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (p->members[mid].member_id == member_id)
			return mid;
		if (p->members[mid].member_id < member_id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* Add a term to the planner's list */
static void
add_term(Planner *p, int member, DateADT lo, DateADT hi)
{
	if (p->nterms == p->maxterms)
	{
		p->maxterms = p->maxterms ? p->maxterms * 2 : 32;
		p->terms = p->terms ? repalloc(p->terms, sizeof(PlanTerm) * p->maxterms)
			: palloc(sizeof(PlanTerm) * p->maxterms);
	}
	p->terms[p->nterms].member = member;
	p->terms[p->nterms].lo = lo;
	p->terms[p->nterms].hi = hi;
	p->nterms++;
}

/* Load the group's terms that run past "from" */
static void
load_terms(Planner *p, int64 group_id, DateADT from)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, DATEOID};
	Datum		args[2] = {Int64GetDatum(group_id), DateADTGetDatum(from)};
	bool		isnull;

	enspiral_plan(&plan,
				  "SELECT t.member_id, pg_catalog.lower(t.period), pg_catalog.upper(t.period)"
				  " FROM enspiral.catalyst_terms t"
				  " WHERE t.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND pg_catalog.upper(t.period) OPERATOR(pg_catalog.>) $2",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "planner term lookup failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		add_term(p, member_index(p, DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull))),
				 DatumGetDateADT(SPI_getbinval(tup, desc, 2, &isnull)),
				 DatumGetDateADT(SPI_getbinval(tup, desc, 3, &isnull)));
	}
}

/* The first period of [from, to) with fewer than min_catalysts, if any */
static bool
first_gap(Planner *p, DateADT from, DateADT to, DateADT *gap_lo, DateADT *gap_hi)
{
	CatalystSpan *spans = palloc(sizeof(CatalystSpan) * (p->nterms + 1));
	CatalystSegment *segs;
	int			nsegs;
	bool		found = false;

	for (int i = 0; i < p->nterms; i++)
	{
		CHECK_FOR_INTERRUPTS();
		spans[i].lo = p->terms[i].lo;
		spans[i].hi = p->terms[i].hi;
		spans[i].after = 1;
		spans[i].before = 1;
	}
	segs = catalyst_sweep(spans, p->nterms, from, to, &nsegs);
	for (int i = 0; i < nsegs && !found; i++)
	{
		if (segs[i].after < p->settings.min_catalysts)
		{
			*gap_lo = segs[i].lo;
			*gap_hi = segs[i].hi;
			found = true;
		}
	}
	pfree(spans);
	pfree(segs);
	return found;
}

/*
 * Months a term of member m starting on d could last without breaking a
 * rule (0 when m cannot serve from d); *last gets the end of m's latest
 * term ended by d, *has_last whether there is one.
 */
static int32
feasible_months(Planner *p, int m, DateADT d, DateADT *last, bool *has_last)
{
	PlanMember *pm = &p->members[m];
	int32		k = Min(p->settings.term_months, p->settings.max_months - pm->counted);
	bool		has_next = false;
	DateADT		next = 0;

	*has_last = pm->has_last;
	*last = pm->last_end;
	if (pm->joined > d || k < 1)
		return 0;
	for (int i = 0; i < p->nterms; i++)
	{
		PlanTerm   *t = &p->terms[i];

		CHECK_FOR_INTERRUPTS();
		if (t->member != m)
			continue;
		if (t->lo <= d && d < t->hi)
			return 0;			/* already serving on d */
		if (t->lo > d && (!has_next || t->lo < next))
		{
			next = t->lo;
			has_next = true;
		}
		if (t->hi <= d && (!*has_last || t->hi > *last))
		{
			*last = t->hi;
			*has_last = true;
		}
	}
	/* shorten to end by the member's next term */
	while (k > 0 && has_next && catalyst_add_months(d, k) > next)
		k--;
	return k;
}

/* True when candidate a comes before b: fewest months, longest rest, lowest id */
static bool
better_candidate(Planner *p, int a, DateADT a_last, bool a_has,
				 int b, DateADT b_last, bool b_has)
{
	if (p->members[a].counted != p->members[b].counted)
		return p->members[a].counted < p->members[b].counted;
	if (a_has != b_has)
		return !a_has;			/* never served: longest since */
	if (a_has && a_last != b_last)
		return a_last < b_last;
	return p->members[a].member_id < p->members[b].member_id;
}

/* The member to appoint on d and the months of their term; -1 if none */
static int
choose_member(Planner *p, DateADT d, int32 *months)
{
	int			best = -1;
	DateADT		best_last = 0;
	bool		best_has = false;

	for (int m = 0; m < p->nmembers; m++)
	{
		DateADT		last;
		bool		has_last;
		int32		k = feasible_months(p, m, d, &last, &has_last);

		if (k < 1)
			continue;
		if (best < 0 || better_candidate(p, m, last, has_last, best, best_last, best_has))
		{
			best = m;
			best_last = last;
			best_has = has_last;
			*months = k;
		}
	}
	return best;
}

/*
 * The next day after d, at most gap_hi, on which a member could become
 * appointable: the end of a term or a (future) join date.
 */
static DateADT
next_change(Planner *p, DateADT d, DateADT gap_hi)
{
	DateADT		next = gap_hi;

	for (int i = 0; i < p->nterms; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (p->terms[i].member >= 0 && p->terms[i].hi > d && p->terms[i].hi < next)
			next = p->terms[i].hi;
	}
	for (int m = 0; m < p->nmembers; m++)
		if (p->members[m].joined > d && p->members[m].joined < next)
			next = p->members[m].joined;
	return next;
}

/*
 * enspiral.plan_rotation(group_id, from_date, to_date)
 *	  RETURNS TABLE(member_id bigint, starts_on date, months int)
 */
Datum
enspiral_plan_rotation(PG_FUNCTION_ARGS)
{
	int64		group_id = PG_GETARG_INT64(0);
	DateADT		from = PG_GETARG_DATEADT(1);
	DateADT		to = PG_GETARG_DATEADT(2);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DateADT		today = GetSQLCurrentDate();
	DateADT		search;
	Planner		p;

	if (DATE_NOT_FINITE(from) || DATE_NOT_FINITE(to))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_date and to_date must be finite")));
	if (from >= to)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_TIME_ORDER),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "to_date"),
				 errmsg("from_date must be before to_date")));
	InitMaterializedSRF(fcinfo, 0);
	memset(&p, 0, sizeof(p));
	enspiral_spi_connect();
	catalyst_load_settings(group_id, &p.settings);
	/* the past cannot be planned: start today at the earliest */
	search = Max(from, today);
	load_members(&p, group_id, search);
	load_terms(&p, group_id, search);

	while (search < to)
	{
		DateADT		gap_lo,
					gap_hi;
		int32		months = 0;
		int			m;
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		CHECK_FOR_INTERRUPTS();
		if (!first_gap(&p, search, to, &gap_lo, &gap_hi))
			break;
		m = choose_member(&p, gap_lo, &months);
		if (m < 0)
		{
			DateADT		until = next_change(&p, gap_lo, gap_hi);

			ereport(WARNING,
					(errcode(ERRCODE_ENSPIRAL_GAP_UNFILLABLE),
					 errmsg("no eligible member can close a catalyst gap"),
					 errdetail("Nobody in group %lld can be appointed from %s to %s.",
							   (long long) group_id, catalyst_date_str(gap_lo),
							   catalyst_date_str(until))));
			search = until;
			continue;
		}
		add_term(&p, m, gap_lo, catalyst_add_months(gap_lo, months));
		p.members[m].counted += months;
		search = gap_lo;
		values[0] = Int64GetDatum(p.members[m].member_id);
		values[1] = DateADTGetDatum(gap_lo);
		values[2] = Int32GetDatum(months);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	enspiral_spi_finish();
	PG_RETURN_NULL();
}
