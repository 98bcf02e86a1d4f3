/*-------------------------------------------------------------------------
 *
 * catalyst_terms.c
 *	  Catalyst terms: the calendar of a term (whole months with PostgreSQL's
 *	  date + interval semantics), the row rules enforced by triggers on
 *	  enspiral.catalyst_terms (term length, days a week, membership, no
 *	  overlap, service limit, what may change), the per-group lock that
 *	  serializes rule checks, and the record of this transaction's changes
 *	  from which the commit-time coverage check rebuilds the "before" state.
 *
 *	  Lock order: rows of the member or term first (an appointment locks the
 *	  member FOR KEY SHARE, an update or delete holds the term's row, a
 *	  departure locks the member's terms), then the group's row in
 *	  enspiral.catalyst_groups (an upsert, so it also conflicts under
 *	  REPEATABLE READ), kept to the end of the transaction; only then is
 *	  anything that a rule checks read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "enspiral.h"
#include "catalyst.h"

PG_FUNCTION_INFO_V1(enspiral_catalyst_term_end);
PG_FUNCTION_INFO_V1(enspiral_catalyst_months_begun);
PG_FUNCTION_INFO_V1(enspiral_catalyst_terms_guard);
PG_FUNCTION_INFO_V1(enspiral_catalyst_terms_record);
PG_FUNCTION_INFO_V1(enspiral_catalyst_terms_check);
PG_FUNCTION_INFO_V1(enspiral_catalyst_member_left);
PG_FUNCTION_INFO_V1(enspiral_catalyst_member_rejoined);

/* One row change of this transaction, as the periods it removed and added */
typedef struct TermChange
{
	int64		group_id;
	DateADT		lo;
	DateADT		hi;
	int32		sign;			/* +1: period of an old row, -1: of a new row */
	bool		exempt;			/* made by a member leaving: not a change */
	int64		member_id;		/* whose term it is (for exempt changes) */
	SubTransactionId subid;
} TermChange;

/* What this transaction holds and has checked for one group */
typedef struct GroupXactState
{
	int64		group_id;
	SubTransactionId lock_subid;	/* holder of the lock, or invalid */
	SubTransactionId check_subid;	/* where the last passed check ran */
} GroupXactState;

/* Per-transaction state, in TopTransactionContext; NULL between xacts */
static TermChange *changes = NULL;
static int	nchanges = 0;
static int	maxchanges = 0;
static GroupXactState *xgroups = NULL;
static int	nxgroups = 0;
static int	maxxgroups = 0;
static bool callbacks_registered = false;

/* A member's departure being applied by enspiral.catalyst_member_left() */
static struct
{
	int64		group_id;
	int64		member_id;
	DateADT		leave_on;
}			departure;

/* One row of enspiral.catalyst_terms, read from a trigger tuple */
typedef struct TermRow
{
	bool		complete;		/* false when a NOT NULL column is null */
	int64		group_id;
	int64		term_id;
	int64		member_id;
	DateADT		starts_on;
	int32		months;
	Numeric		days_per_week;
	bool		has_end;
	DateADT		ended_on;
	DateADT		ends_on;		/* ended_on, or the planned end */
} TermRow;

/* ----------------------------------------------------------------
 * Calendar
 * ----------------------------------------------------------------
 */

/* start + months whole months, as PostgreSQL's date + interval computes it */
DateADT
catalyst_add_months(DateADT start, int32 months)
{
	Interval	span;
	Datum		ts;

	span.time = 0;
	span.day = 0;
	span.month = months;
	ts = DirectFunctionCall2(date_pl_interval, DateADTGetDatum(start),
							 IntervalPGetDatum(&span));
	return DatumGetDateADT(DirectFunctionCall1(timestamp_date, ts));
}

/* Whole months begun in [start, end): the least k with start + k >= end */
int32
catalyst_months_begun(DateADT start, DateADT end)
{
	int			y1,
				m1,
				d1,
				y2,
				m2,
				d2;
	int32		k;

	if (DATE_NOT_FINITE(start) || DATE_NOT_FINITE(end))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("catalyst term dates must be finite")));
	if (end <= start)
		return 0;
	j2date(start + POSTGRES_EPOCH_JDATE, &y1, &m1, &d1);
	j2date(end + POSTGRES_EPOCH_JDATE, &y2, &m2, &d2);
	/* the calendar month difference is within one of the answer */
	k = (y2 - y1) * 12 + (m2 - m1);
	if (k < 0)
		k = 0;
	while (catalyst_add_months(start, k) < end)
		k++;
	while (k > 0 && catalyst_add_months(start, k - 1) >= end)
		k--;
	return k;
}

/* A date as text in the session's DateStyle, for messages */
char *
catalyst_date_str(DateADT d)
{
	return DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(d)));
}

/* enspiral.catalyst_term_end(starts_on, months): planned end of a term */
Datum
enspiral_catalyst_term_end(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(catalyst_add_months(PG_GETARG_DATEADT(0),
										  PG_GETARG_INT32(1)));
}

/* enspiral.catalyst_months_begun(starts_on, ends_on): counted months */
Datum
enspiral_catalyst_months_begun(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(catalyst_months_begun(PG_GETARG_DATEADT(0),
										  PG_GETARG_DATEADT(1)));
}

/* ----------------------------------------------------------------
 * Transaction state: changes, locks and checks per group
 * ----------------------------------------------------------------
 */

/* Forget everything at the end of a transaction */
static void
catalyst_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			changes = NULL;
			nchanges = maxchanges = 0;
			xgroups = NULL;
			nxgroups = maxxgroups = 0;
			break;
		default:
			break;
	}
}

/* Drop what an aborted subtransaction did; hand a committed one's to its parent */
static void
catalyst_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		int			kept = 0;

		for (int i = 0; i < nchanges; i++)
			if (changes[i].subid != mySubid)
				changes[kept++] = changes[i];
		nchanges = kept;
		for (int i = 0; i < nxgroups; i++)
		{
			/* row locks of an aborted subtransaction are released */
			if (xgroups[i].lock_subid == mySubid)
				xgroups[i].lock_subid = InvalidSubTransactionId;
			if (xgroups[i].check_subid == mySubid)
				xgroups[i].check_subid = InvalidSubTransactionId;
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (int i = 0; i < nchanges; i++)
			if (changes[i].subid == mySubid)
				changes[i].subid = parentSubid;
		for (int i = 0; i < nxgroups; i++)
		{
			if (xgroups[i].lock_subid == mySubid)
				xgroups[i].lock_subid = parentSubid;
			if (xgroups[i].check_subid == mySubid)
				xgroups[i].check_subid = parentSubid;
		}
	}
}

/* Register the transaction callbacks once per backend */
static void
register_callbacks(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(catalyst_xact_callback, NULL);
	RegisterSubXactCallback(catalyst_subxact_callback, NULL);
	callbacks_registered = true;
}

/* The state of a group in this transaction, created when asked to */
static GroupXactState *
group_state(int64 group_id, bool create)
{
	for (int i = 0; i < nxgroups; i++)
		if (xgroups[i].group_id == group_id)
			return &xgroups[i];
	if (!create)
		return NULL;
	register_callbacks();
	if (nxgroups == maxxgroups)
	{
		maxxgroups = maxxgroups ? maxxgroups * 2 : 8;
		if (xgroups == NULL)
			xgroups = MemoryContextAlloc(TopTransactionContext,
										 maxxgroups * sizeof(GroupXactState));
		else
			xgroups = repalloc(xgroups, maxxgroups * sizeof(GroupXactState));
	}
	xgroups[nxgroups].group_id = group_id;
	xgroups[nxgroups].lock_subid = InvalidSubTransactionId;
	xgroups[nxgroups].check_subid = InvalidSubTransactionId;
	return &xgroups[nxgroups++];
}

/* Remember one period removed (+1) or added (-1) by a row change */
static void
record_change(int64 group_id, DateADT lo, DateADT hi, int32 sign, bool exempt,
			  int64 member_id)
{
	register_callbacks();
	if (nchanges == maxchanges)
	{
		maxchanges = maxchanges ? maxchanges * 2 : 64;
		if (changes == NULL)
			changes = MemoryContextAlloc(TopTransactionContext,
										 maxchanges * sizeof(TermChange));
		else
			changes = repalloc(changes, maxchanges * sizeof(TermChange));
	}
	changes[nchanges].group_id = group_id;
	changes[nchanges].lo = lo;
	changes[nchanges].hi = hi;
	changes[nchanges].sign = sign;
	changes[nchanges].exempt = exempt;
	changes[nchanges].member_id = member_id;
	changes[nchanges].subid = GetCurrentSubTransactionId();
	nchanges++;
}

/*
 * True when the member has left the group and not rejoined: no open
 * membership period, read with a fresh snapshot.  Inside SPI.
 */
static bool
departure_in_effect(int64 group_id, int64 member_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(group_id), Int64GetDatum(member_id)};

	enspiral_plan(&plan,
				  "SELECT 1 FROM enspiral.memberships m"
				  " WHERE m.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND m.member_id OPERATOR(pg_catalog.=) $2"
				  "   AND m.left_at IS NULL",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "membership lookup failed");
	return SPI_processed == 0;
}

/*
 * Spans that turn the current state of a group back into its state before
 * this transaction's changes, clipped to [from, inf): each has weight 0 in
 * "after" and +1/-1 in "before".  Changes made by a departure are left out
 * only while the departure is still in effect (the member did not rejoin in
 * this transaction): a removal undone by a re-add is a change like any
 * other.  Inside SPI; palloc'd.
 */
CatalystSpan *
catalyst_undo_spans(int64 group_id, DateADT from, int *nspans)
{
	CatalystSpan *spans = palloc(sizeof(CatalystSpan) * (nchanges + 1));
	int			n = 0;

	for (int i = 0; i < nchanges; i++)
	{
		TermChange *c = &changes[i];

		CHECK_FOR_INTERRUPTS();
		if (c->group_id != group_id || c->hi <= from)
			continue;
		if (c->exempt && departure_in_effect(group_id, c->member_id))
			continue;
		spans[n].lo = Max(c->lo, from);
		spans[n].hi = c->hi;
		spans[n].after = 0;
		spans[n].before = c->sign;
		n++;
	}
	*nspans = n;
	return spans;
}

/* True when this transaction's changes to the group passed their check */
static bool
group_checked(int64 group_id)
{
	GroupXactState *g = group_state(group_id, false);

	return g != NULL && g->check_subid != InvalidSubTransactionId;
}

/* ----------------------------------------------------------------
 * Settings and the per-group lock
 * ----------------------------------------------------------------
 */

/* Load a group's catalyst settings; NS002 when the group does not exist */
void
catalyst_load_settings(int64 group_id, CatalystSettings *s)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(group_id)};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull[4];

	enspiral_plan(&plan,
				  "SELECT (g.settings OPERATOR(pg_catalog.->>) 'min_catalysts')::pg_catalog.int4,"
				  " (g.settings OPERATOR(pg_catalog.->>) 'catalyst_term_months')::pg_catalog.int4,"
				  " (g.settings OPERATOR(pg_catalog.->>) 'catalyst_max_months')::pg_catalog.int4,"
				  " (g.settings OPERATOR(pg_catalog.->>) 'catalyst_min_days_per_week')::pg_catalog.numeric"
				  " FROM enspiral.groups g WHERE g.group_id OPERATOR(pg_catalog.=) $1",
				  1, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "catalyst settings lookup failed");
	if (SPI_processed == 0)
		enspiral_not_found(ENSPIRAL_GROUP, group_id, 0);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	s->min_catalysts = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull[0]));
	s->term_months = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull[1]));
	s->max_months = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull[2]));
	s->min_days_per_week = DatumGetNumericCopy(SPI_getbinval(tup, desc, 4, &isnull[3]));
	if (isnull[0] || isnull[1] || isnull[2] || isnull[3])
		elog(ERROR, "group %lld lacks a catalyst setting", (long long) group_id);
}

/*
 * Take the group's catalyst lock for the rest of the transaction: an upsert
 * of its row in enspiral.catalyst_groups.  Under READ COMMITTED the next
 * query (with a new snapshot) sees every change committed before; under
 * REPEATABLE READ and SERIALIZABLE a change committed since the snapshot
 * makes the upsert fail with a serialization error.  The time is the
 * inserted value (EXCLUDED): Citus refuses now() in DO UPDATE SET.
 */
void
catalyst_lock_group(int64 group_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(group_id)};
	GroupXactState *g = group_state(group_id, true);

	if (g->lock_subid != InvalidSubTransactionId)
		return;
	enspiral_plan(&plan,
				  "INSERT INTO enspiral.catalyst_groups AS c (group_id, changes, changed_at)"
				  " VALUES ($1, 1, pg_catalog.now())"
				  " ON CONFLICT (group_id) DO UPDATE"
				  " SET changes = c.changes OPERATOR(pg_catalog.+) 1,"
				  " changed_at = EXCLUDED.changed_at",
				  1, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "catalyst group lock failed");
	/* group_state() may have moved the array: look the entry up again */
	group_state(group_id, false)->lock_subid = GetCurrentSubTransactionId();
}

/* ----------------------------------------------------------------
 * Row rules
 * ----------------------------------------------------------------
 */

/* Read the rule columns of a catalyst_terms tuple */
static void
read_term(HeapTuple tup, TupleDesc desc, TermRow *r)
{
	bool		n[6];
	Datum		days_datum;

	r->group_id = DatumGetInt64(enspiral_column(tup, desc, "group_id", &n[0]));
	r->term_id = DatumGetInt64(enspiral_column(tup, desc, "term_id", &n[1]));
	r->member_id = DatumGetInt64(enspiral_column(tup, desc, "member_id", &n[2]));
	r->starts_on = DatumGetDateADT(enspiral_column(tup, desc, "starts_on", &n[3]));
	r->months = DatumGetInt32(enspiral_column(tup, desc, "months", &n[4]));
	days_datum = enspiral_column(tup, desc, "days_per_week", &n[5]);
	r->days_per_week = n[5] ? NULL : DatumGetNumeric(days_datum);
	r->ended_on = DatumGetDateADT(enspiral_column(tup, desc, "ended_on", &r->has_end));
	r->has_end = !r->has_end;
	r->complete = !(n[0] || n[1] || n[2] || n[3] || n[4] || n[5]);
	if (!r->complete)
		return;
	if (DATE_NOT_FINITE(r->starts_on) || (r->has_end && DATE_NOT_FINITE(r->ended_on)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("catalyst term dates must be finite")));
	/* planned end only for a valid length; the length rule reports the rest */
	if (r->months >= 1 && r->months <= 12000)
		r->ends_on = r->has_end ? r->ended_on : catalyst_add_months(r->starts_on, r->months);
	else
		r->ends_on = r->starts_on;
}

/* Numeric as text, for messages */
static char *
numeric_str(Numeric n)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));
}

/* Term length and days a week within the group's settings */
static void
check_term_shape(const TermRow *r, const CatalystSettings *s)
{
	if (r->months < 1 || r->months > s->term_months)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_TERM),
				 errmsg("catalyst term length is out of range"),
				 errdetail("A catalyst term in group %lld lasts 1 to %d months; this one lasts %d.",
						   (long long) r->group_id, s->term_months, r->months)));
	if (enspiral_numeric_cmp(r->days_per_week, s->min_days_per_week) < 0 ||
		enspiral_numeric_cmp(r->days_per_week,
					 DatumGetNumeric(DirectFunctionCall1(int4_numeric, Int32GetDatum(7)))) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_TERM),
				 errmsg("catalyst days per week are out of range"),
				 errdetail("A catalyst in group %lld serves %s to 7 days a week; this term has %s.",
						   (long long) r->group_id, numeric_str(s->min_days_per_week),
						   numeric_str(r->days_per_week))));
	if (r->has_end && r->ended_on <= r->starts_on)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_TERM),
				 errmsg("catalyst term must end after it starts"),
				 errdetail("Catalyst term %lld would end before it starts.",
						   (long long) r->term_id)));
	if (r->has_end && r->ended_on >= catalyst_add_months(r->starts_on, r->months))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_TERM),
				 errmsg("catalyst term can only end before its planned end"),
				 errdetail("Catalyst term %lld is planned to end on %s; the given end is %s.",
						   (long long) r->term_id,
						   catalyst_date_str(catalyst_add_months(r->starts_on, r->months)),
						   catalyst_date_str(r->ended_on))));
}

/*
 * Lock the member's identity row FOR KEY SHARE (NS003 when unknown): taken
 * before the group lock, in the order enspiral.remove_member() locks it.
 */
static void
lock_member(const TermRow *r)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(r->group_id), Int64GetDatum(r->member_id)};

	enspiral_plan(&plan,
				  "SELECT 1 FROM enspiral.members m"
				  " WHERE m.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND m.member_id OPERATOR(pg_catalog.=) $2"
				  " FOR KEY SHARE",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "member lookup failed");
	if (SPI_processed == 0)
		enspiral_not_found(ENSPIRAL_MEMBER, r->group_id, r->member_id);
}

/*
 * True when the group has no membership history at all.  Through the API a
 * group's members always have one; only a restore in progress loads the
 * terms (catalyst_terms sorts before memberships) before the memberships,
 * and then membership cannot be judged yet.
 */
static bool
group_without_memberships(int64 group_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(group_id)};

	enspiral_plan(&plan,
				  "SELECT 1 FROM enspiral.memberships ms"
				  " WHERE ms.group_id OPERATOR(pg_catalog.=) $1 LIMIT 1",
				  1, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "membership lookup failed");
	return SPI_processed == 0;
}

/* The member is current and the term starts on or after they joined */
static void
check_term_member(const TermRow *r)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(r->group_id), Int64GetDatum(r->member_id)};
	bool		isnull;
	DateADT		joined;

	enspiral_plan(&plan,
				  "SELECT (ms.joined_at)::pg_catalog.date FROM enspiral.memberships ms"
				  " WHERE ms.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND ms.member_id OPERATOR(pg_catalog.=) $2 AND ms.left_at IS NULL",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "membership lookup failed");
	if (SPI_processed == 0)
	{
		if (group_without_memberships(r->group_id))
			return;
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_A_MEMBER),
				 errmsg("member is not a current member of the group"),
				 errdetail("Member %lld is not a current member of group %lld; only a current member can be appointed catalyst.",
						   (long long) r->member_id, (long long) r->group_id)));
	}
	joined = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull));
	if (r->starts_on < joined)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_TERM),
				 errmsg("catalyst term cannot start before the member joined"),
				 errdetail("The term of member %lld starts on %s; the member joined group %lld on %s.",
						   (long long) r->member_id, catalyst_date_str(r->starts_on),
						   (long long) r->group_id, catalyst_date_str(joined))));
}

/*
 * A term that ended by today is a record of the past (a restored dump, a
 * history being entered): the member must have belonged to the group over
 * the whole term, current member or not.
 */
static void
check_past_term_member(const TermRow *r)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[4] = {INT8OID, INT8OID, DATEOID, DATEOID};
	Datum		args[4] = {Int64GetDatum(r->group_id), Int64GetDatum(r->member_id),
		DateADTGetDatum(r->starts_on),
	DateADTGetDatum(r->ends_on)};

	enspiral_plan(&plan,
				  "SELECT 1 FROM enspiral.memberships ms"
				  " WHERE ms.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND ms.member_id OPERATOR(pg_catalog.=) $2"
				  "   AND (ms.joined_at)::pg_catalog.date OPERATOR(pg_catalog.<=) $3"
				  "   AND (ms.left_at IS NULL"
				  "        OR (ms.left_at)::pg_catalog.date OPERATOR(pg_catalog.>=) $4)"
				  " LIMIT 1",
				  4, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "membership lookup failed");
	if (SPI_processed == 0)
	{
		if (group_without_memberships(r->group_id))
			return;
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_A_MEMBER),
				 errmsg("catalyst was not a member throughout the term"),
				 errdetail("Member %lld was not a member of group %lld throughout the term [%s, %s).",
						   (long long) r->member_id, (long long) r->group_id,
						   catalyst_date_str(r->starts_on), catalyst_date_str(r->ends_on))));
	}
}

/* The member's terms do not overlap this one (the exclusion constraint backs this) */
static void
check_term_overlap(const TermRow *r)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[5] = {INT8OID, INT8OID, INT8OID, DATEOID, DATEOID};
	Datum		args[5] = {Int64GetDatum(r->group_id), Int64GetDatum(r->member_id),
		Int64GetDatum(r->term_id), DateADTGetDatum(r->starts_on),
	DateADTGetDatum(r->ends_on)};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;

	enspiral_plan(&plan,
				  "SELECT t.term_id, pg_catalog.lower(t.period), pg_catalog.upper(t.period)"
				  " FROM enspiral.catalyst_terms t"
				  " WHERE t.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND t.member_id OPERATOR(pg_catalog.=) $2"
				  "   AND t.term_id OPERATOR(pg_catalog.<>) $3"
				  "   AND t.period OPERATOR(pg_catalog.&&) pg_catalog.daterange($4, $5)"
				  " ORDER BY pg_catalog.lower(t.period) LIMIT 1",
				  5, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "catalyst overlap lookup failed");
	if (SPI_processed == 0)
		return;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_TERM_OVERLAP),
			 errmsg("catalyst terms would overlap"),
			 errdetail("The new term [%s, %s) of member %lld in group %lld overlaps term %lld [%s, %s).",
					   catalyst_date_str(r->starts_on), catalyst_date_str(r->ends_on),
					   (long long) r->member_id, (long long) r->group_id,
					   (long long) DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)),
					   catalyst_date_str(DatumGetDateADT(SPI_getbinval(tup, desc, 2, &isnull))),
					   catalyst_date_str(DatumGetDateADT(SPI_getbinval(tup, desc, 3, &isnull))))));
}

/* The member's counted months, this term included, stay within the limit */
static void
check_service_limit(const TermRow *r, const CatalystSettings *s)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, INT8OID};
	Datum		args[3] = {Int64GetDatum(r->group_id), Int64GetDatum(r->member_id),
	Int64GetDatum(r->term_id)};
	bool		isnull;
	int64		served;
	int32		counted = catalyst_months_begun(r->starts_on, r->ends_on);

	enspiral_plan(&plan,
				  "SELECT pg_catalog.sum(t.months_counted)::pg_catalog.int8"
				  " FROM enspiral.catalyst_terms t"
				  " WHERE t.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND t.member_id OPERATOR(pg_catalog.=) $2"
				  "   AND t.term_id OPERATOR(pg_catalog.<>) $3",
				  3, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "catalyst service lookup failed");
	served = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
		served = 0;
	if (served + counted > s->max_months)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_SERVICE_LIMIT),
				 errmsg("catalyst would serve more than the limit"),
				 errdetail("Member %lld would serve %lld months as catalyst in group %lld, more than the limit of %d: terms already counted make %lld months and this term counts %d.",
						   (long long) r->member_id, (long long) (served + counted),
						   (long long) r->group_id, s->max_months,
						   (long long) served, counted)));
}

/* True when the row belongs to the member whose departure is being applied */
static bool
is_departure(const TermRow *r)
{
	return enspiral_writing(ENSPIRAL_WRITE_DEPARTURE) &&
		departure.group_id == r->group_id &&
		departure.member_id == r->member_id;
}

/* Rules for a new term */
static void
check_insert(const TermRow *r)
{
	CatalystSettings s;

	catalyst_load_settings(r->group_id, &s);
	lock_member(r);
	catalyst_lock_group(r->group_id);
	/*
	 * The lock waits for a settings change in flight (its FOR UPDATE of the
	 * group row): judge the term by the settings committed now
	 */
	catalyst_load_settings(r->group_id, &s);
	check_term_shape(r, &s);
	if (r->ends_on <= GetSQLCurrentDate())
		check_past_term_member(r);
	else
		check_term_member(r);
	check_term_overlap(r);
	check_service_limit(r, &s);
}

/* Rules for a changed term: only its end may move, earlier, not into the past */
static void
check_update(const TermRow *o, const TermRow *n)
{
	DateADT		today = GetSQLCurrentDate();

	if (o->group_id != n->group_id || o->term_id != n->term_id ||
		o->member_id != n->member_id || o->starts_on != n->starts_on ||
		o->months != n->months ||
		enspiral_numeric_cmp(o->days_per_week, n->days_per_week) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_DIRECT_WRITE),
				 errmsg("only the end of a catalyst term can be changed"),
				 errdetail("The update changes other columns of catalyst term %lld.",
						   (long long) o->term_id),
				 errhint("Use enspiral.end_catalyst_term(), or cancel a term that has not begun with enspiral.cancel_catalyst_term().")));
	catalyst_lock_group(o->group_id);
	if (n->ends_on == o->ends_on && n->has_end == o->has_end)
		return;
	if (n->ends_on >= o->ends_on)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_TERM),
				 errmsg("catalyst term can only be ended early"),
				 errdetail("Catalyst term %lld ends on %s; the new end is %s.",
						   (long long) o->term_id,
						   catalyst_date_str(o->ends_on),
						   catalyst_date_str(n->ends_on))));
	if (n->ends_on <= n->starts_on)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_TERM),
				 errmsg("catalyst term must end after it starts"),
				 errdetail("The new end of catalyst term %lld is not after its start.",
						   (long long) o->term_id),
				 errhint("A term that has not begun can be cancelled with enspiral.cancel_catalyst_term().")));
	if (n->ends_on < today && !(is_departure(n) && n->ends_on == departure.leave_on))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_TERM),
				 errmsg("catalyst term cannot end in the past"),
				 errdetail("The new end of catalyst term %lld is %s; today is %s.",
						   (long long) o->term_id,
						   catalyst_date_str(n->ends_on), catalyst_date_str(today))));
}

/* Rules for a removed term: only one that has not begun can be cancelled */
static void
check_delete(const TermRow *o)
{
	DateADT		today = GetSQLCurrentDate();

	catalyst_lock_group(o->group_id);
	if (is_departure(o) && o->starts_on >= departure.leave_on)
		return;
	if (o->starts_on <= today)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_TERM),
				 errmsg("catalyst term that has begun cannot be cancelled"),
				 errdetail("Catalyst term %lld has begun.", (long long) o->term_id),
				 errhint("End it with enspiral.end_catalyst_term().")));
}

/* Raise an error unless called as a row trigger fired at the given time */
static TriggerData *
require_row_trigger(FunctionCallInfo fcinfo, bool before, const char *name)
{
	return enspiral_trigger_call(fcinfo, name, ENSPIRAL_TRIGGER_ROW |
								 (before ? ENSPIRAL_TRIGGER_BEFORE : ENSPIRAL_TRIGGER_AFTER));
}

/*
 * enspiral.catalyst_terms_guard(): BEFORE INSERT, UPDATE or DELETE row
 * trigger on enspiral.catalyst_terms enforcing every row rule.
 */
Datum
enspiral_catalyst_terms_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = require_row_trigger(fcinfo, true, "catalyst_terms_guard");
	TupleDesc	desc = td->tg_relation->rd_att;
	TermRow		o,
				n;
	HeapTuple	result;

	enspiral_require_trigger_table(td, "catalyst_terms_guard", "catalyst_terms");
	enspiral_spi_connect();
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		read_term(td->tg_trigtuple, desc, &n);
		if (n.complete)			/* else NOT NULL constraints report it */
			check_insert(&n);
		result = td->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		read_term(td->tg_trigtuple, desc, &o);
		read_term(td->tg_newtuple, desc, &n);
		if (n.complete)
			check_update(&o, &n);
		result = td->tg_newtuple;
	}
	else
	{
		read_term(td->tg_trigtuple, desc, &o);
		check_delete(&o);
		result = td->tg_trigtuple;
	}
	enspiral_spi_finish();
	return PointerGetDatum(result);
}

/*
 * enspiral.catalyst_terms_record(): AFTER INSERT, UPDATE or DELETE row
 * trigger that records the periods each change removed and added, for the
 * commit-time coverage check.
 */
Datum
enspiral_catalyst_terms_record(PG_FUNCTION_ARGS)
{
	TriggerData *td = require_row_trigger(fcinfo, false, "catalyst_terms_record");
	TupleDesc	desc = td->tg_relation->rd_att;
	TermRow		r;
	GroupXactState *g;

	enspiral_require_trigger_table(td, "catalyst_terms_record", "catalyst_terms");
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		read_term(TRIGGER_FIRED_BY_INSERT(td->tg_event) ? td->tg_trigtuple : td->tg_newtuple,
				  desc, &r);
		record_change(r.group_id, r.starts_on, r.ends_on, -1, is_departure(&r),
					  r.member_id);
	}
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		read_term(td->tg_trigtuple, desc, &r);
		record_change(r.group_id, r.starts_on, r.ends_on, +1, is_departure(&r),
					  r.member_id);
	}
	g = group_state(r.group_id, true);
	g->check_subid = InvalidSubTransactionId;
	return PointerGetDatum(NULL);
}

/* Check the coverage rule for a group now, under its lock, and remember it passed */
static void
check_group_coverage(int64 group_id)
{
	enspiral_spi_connect();
	catalyst_lock_group(group_id);
	catalyst_check_coverage(group_id);
	enspiral_spi_finish();
	group_state(group_id, true)->check_subid = GetCurrentSubTransactionId();
}

/*
 * enspiral.catalyst_terms_check(): deferred constraint trigger; checks the
 * coverage rule once per group and transaction (again after later changes).
 */
Datum
enspiral_catalyst_terms_check(PG_FUNCTION_ARGS)
{
	TriggerData *td = require_row_trigger(fcinfo, false, "catalyst_terms_check");
	bool		isnull;
	int64		group_id;

	enspiral_require_trigger_table(td, "catalyst_terms_check", "catalyst_terms");
	group_id = DatumGetInt64(enspiral_column(td->tg_trigtuple, td->tg_relation->rd_att,
											 "group_id", &isnull));
	if (group_checked(group_id))
		return PointerGetDatum(NULL);
	check_group_coverage(group_id);
	return PointerGetDatum(NULL);
}

/*
 * enspiral.catalyst_member_left(): AFTER UPDATE row trigger on
 * enspiral.memberships, fired when left_at is set: cancels the member's
 * terms that start on or after the day they left and ends the others that
 * run past it on that day.  These changes are exempt from the coverage rule.
 * It takes the group lock before it reads the terms it changes, so an
 * appointment of the member that is still in progress either commits before
 * (and its term is ended here) or sees the member gone.
 */
Datum
enspiral_catalyst_member_left(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr lock_terms = NULL;
	static SPIPlanPtr cancel = NULL;
	static SPIPlanPtr end = NULL;
	TriggerData *td = require_row_trigger(fcinfo, false, "catalyst_member_left");
	TupleDesc	desc = td->tg_relation->rd_att;
	Oid			argtypes[3] = {INT8OID, INT8OID, DATEOID};
	Datum		args[3];
	bool		isnull;
	Datum		left_at;

	if (!TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		elog(ERROR, "catalyst_member_left: must be fired by UPDATE");
	enspiral_require_trigger_table(td, "catalyst_member_left", "memberships");
	left_at = enspiral_column(td->tg_newtuple, desc, "left_at", &isnull);
	if (isnull)
		return PointerGetDatum(NULL);
	args[0] = enspiral_column(td->tg_newtuple, desc, "group_id", &isnull);
	args[1] = enspiral_column(td->tg_newtuple, desc, "member_id", &isnull);
	args[2] = DirectFunctionCall1(timestamptz_date, left_at);

	enspiral_spi_connect();
	enspiral_plan(&cancel,
				  "DELETE FROM enspiral.catalyst_terms t"
				  " WHERE t.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND t.member_id OPERATOR(pg_catalog.=) $2"
				  "   AND t.starts_on OPERATOR(pg_catalog.>=) $3",
				  3, argtypes);
	enspiral_plan(&end,
				  "UPDATE enspiral.catalyst_terms t SET ended_on = $3"
				  " WHERE t.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND t.member_id OPERATOR(pg_catalog.=) $2"
				  "   AND t.starts_on OPERATOR(pg_catalog.<) $3"
				  "   AND pg_catalog.upper(t.period) OPERATOR(pg_catalog.>) $3",
				  3, argtypes);
	/*
	 * Lock order: the member's terms, then the group lock (as a term that is
	 * being ended holds its row, then the group lock).  After the group lock
	 * an appointment of the member still in progress has committed, and the
	 * statements below (new snapshots) see its term.
	 */
	enspiral_plan(&lock_terms,
				  "SELECT 1 FROM enspiral.catalyst_terms t"
				  " WHERE t.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND t.member_id OPERATOR(pg_catalog.=) $2"
				  "   AND pg_catalog.upper(t.period) OPERATOR(pg_catalog.>) $3"
				  " FOR UPDATE",
				  3, argtypes);
	if (SPI_execute_plan(lock_terms, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "locking the terms of a departing member failed");
	catalyst_lock_group(DatumGetInt64(args[0]));
	departure.group_id = DatumGetInt64(args[0]);
	departure.member_id = DatumGetInt64(args[1]);
	departure.leave_on = DatumGetDateADT(args[2]);
	enspiral_write_begin(ENSPIRAL_WRITE_DEPARTURE);
	if (SPI_execute_plan(cancel, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "cancelling the terms of a departing member failed");
	if (SPI_execute_plan(end, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "ending the terms of a departing member failed");
	enspiral_write_end(ENSPIRAL_WRITE_DEPARTURE);
	enspiral_spi_finish();
	return PointerGetDatum(NULL);
}

/* True when this transaction's departure of the member changed terms of the group */
static bool
has_departure_changes(int64 group_id, int64 member_id)
{
	for (int i = 0; i < nchanges; i++)
		if (changes[i].exempt && changes[i].group_id == group_id &&
			changes[i].member_id == member_id)
			return true;
	return false;
}

/*
 * enspiral.catalyst_member_rejoined(): deferred constraint trigger AFTER
 * INSERT on enspiral.memberships.  A member who left and rejoins in the same
 * transaction undoes the departure, so the term changes it made are no
 * longer exempt: the group's coverage is checked again (at commit, or at
 * SET CONSTRAINTS IMMEDIATE), even when it was checked after the departure.
 */
Datum
enspiral_catalyst_member_rejoined(PG_FUNCTION_ARGS)
{
	TriggerData *td = require_row_trigger(fcinfo, false, "catalyst_member_rejoined");
	TupleDesc	desc;
	bool		isnull;
	int64		group_id,
				member_id;

	enspiral_require_trigger_table(td, "catalyst_member_rejoined", "memberships");
	if (!TRIGGER_FIRED_BY_INSERT(td->tg_event))
		elog(ERROR, "catalyst_member_rejoined: must be fired by INSERT");
	desc = td->tg_relation->rd_att;
	group_id = DatumGetInt64(enspiral_column(td->tg_trigtuple, desc, "group_id", &isnull));
	member_id = DatumGetInt64(enspiral_column(td->tg_trigtuple, desc, "member_id", &isnull));
	if (!has_departure_changes(group_id, member_id))
		return PointerGetDatum(NULL);
	check_group_coverage(group_id);
	return PointerGetDatum(NULL);
}
