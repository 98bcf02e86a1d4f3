/*-------------------------------------------------------------------------
 *
 * decisions_proposals.c
 *	  The proposal state machine as it applies to rows of enspiral.proposals:
 *	  effective state (stored state + time), the trigger that checks every
 *	  INSERT, UPDATE and DELETE of the table against the proposal lifecycle
 *	  (lifecycle_types.c holds the one transition table) and freezes what must not
 *	  change after opening, the proposal locks that order votes against
 *	  closings, and outcome recording.
 *
 * Time: "now" for every rule of decisions is the start of the current
 * statement (statement_timestamp()), see doc/decisions.md (Time: statement time, exactly).
 *
 * Locks: a vote holds a ShareLock on its proposal until its transaction
 * ends; any change of a proposal's state or deadline, and outcome
 * recording, takes an ExclusiveLock on it after the row lock.  The lock is
 * a user-lockmethod tag (shown as an advisory lock in pg_locks) whose fourth
 * field is DECISIONS_LOCK_PROPOSAL, a value pg_advisory_lock never uses.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "enspiral.h"
#include "lifecycle.h"
#include "decisions.h"
#include "relaccess.h"

PG_FUNCTION_INFO_V1(enspiral_proposals_guard);
PG_FUNCTION_INFO_V1(enspiral_effective_proposal_state);
PG_FUNCTION_INFO_V1(enspiral_proposal_state);
PG_FUNCTION_INFO_V1(enspiral_record_outcome);
PG_FUNCTION_INFO_V1(enspiral_record_group_outcome);
PG_FUNCTION_INFO_V1(enspiral_memberships_outcome_guard);
PG_FUNCTION_INFO_V1(enspiral_proposal_written_here);

/* Fourth locktag fields of the decisions locks (user advisory locks use 1, 2) */
#define DECISIONS_LOCK_PROPOSAL		0x4E31
#define DECISIONS_LOCK_VOTER		0x4E32
#define DECISIONS_LOCK_MEMBERSHIP	0x4E33
#define DECISIONS_LOCK_RULES		0x4E34

/* The columns of a proposals row that the state machine reads */
typedef struct ProposalRow
{
	int64		proposal_id;
	int			stored;
	TimestampTz opens_at;
	bool		opens_null;
	TimestampTz closes_at;
	bool		closes_null;
	int32		reopen_count;
	bool		anonymous;
} ProposalRow;

/* "Now" for the rules of decisions: the start of the current statement */
TimestampTz
decisions_now(void)
{
	return GetCurrentStatementStartTimestamp();
}

/* The state in effect at time at: scheduled becomes open, open becomes closed */
int
proposal_effective_state(int stored, TimestampTz opens_at, bool opens_null,
						 TimestampTz closes_at, bool closes_null, TimestampTz at)
{
	int			s = stored;

	if (s == PROPOSAL_SCHEDULED && !opens_null && opens_at <= at)
		s = PROPOSAL_OPEN;
	if (s == PROPOSAL_OPEN && !closes_null && closes_at <= at)
		s = PROPOSAL_CLOSED;
	return s;
}

/* Take a proposal lock until the end of the transaction */
void
proposal_lock(int64 proposal_id, LOCKMODE mode)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) ((uint64) proposal_id >> 32),
						 (uint32) proposal_id, DECISIONS_LOCK_PROPOSAL);
	(void) LockAcquire(&tag, mode, false, false);
}

/*
 * Serialize changes of vote weights and delegations of a group (exclusive)
 * with the openings and outcome recordings of its proposals (shared), until
 * transaction end: a change is stamped with the time it holds the lock, so
 * it is either before an opening or after it for every reader (decisions_rules.c).
 */
void
decisions_rules_lock(int64 group_id, LOCKMODE mode)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) ((uint64) group_id >> 32),
						 (uint32) group_id, DECISIONS_LOCK_RULES);
	(void) LockAcquire(&tag, mode, false, false);
}

/* Serialize the votes of one member on one proposal (until transaction end) */
void
proposal_member_lock(int64 proposal_id, int64 member_id)
{
	LOCKTAG		tag;

	/* ids wider than 32 bits may share a lock: that only costs waiting */
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) proposal_id,
						 (uint32) member_id, DECISIONS_LOCK_VOTER);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/* Read the state-machine columns of a proposals row */
static void
read_proposal_row(TupleDesc desc, HeapTuple tup, ProposalRow *row)
{
	bool		isnull;
	Datum		d;

	row->proposal_id = DatumGetInt64(enspiral_column(tup, desc, "proposal_id", &isnull));
	d = enspiral_column(tup, desc, "state", &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("proposal state must not be NULL"),
				 errdetail("Proposal %lld has no state.", (long long) row->proposal_id)));
	row->stored = DatumGetLifecycleState(d);
	row->opens_at = DatumGetTimestampTz(enspiral_column(tup, desc, "opens_at", &row->opens_null));
	row->closes_at = DatumGetTimestampTz(enspiral_column(tup, desc, "closes_at", &row->closes_null));
	row->reopen_count = DatumGetInt32(enspiral_column(tup, desc, "reopen_count", &isnull));
	d = enspiral_column(tup, desc, "settings", &isnull);
	row->anonymous = !isnull && jsonb_get_bool_key(DatumGetJsonbP(d), "anonymous", false);
}

/* Effective state of a row now */
static int
row_state(const ProposalRow *row, TimestampTz now)
{
	return proposal_effective_state(row->stored, row->opens_at, row->opens_null,
									row->closes_at, row->closes_null, now);
}

/* Name of a proposal for messages */
static char *
proposal_what(int64 proposal_id)
{
	return psprintf("proposal %lld", (long long) proposal_id);
}

/* Name of a state */
static const char *
state_name(int s)
{
	return lifecycle_state_name(LIFECYCLE_PROPOSAL, s);
}

/* Check a move from -> to with the lifecycle table; opening now may pass through scheduled */
static void
check_move(int from, int to, const ProposalRow *newrow)
{
	char	   *what = proposal_what(newrow->proposal_id);

	if (from == PROPOSAL_DRAFT && to == PROPOSAL_OPEN &&
		!lifecycle_can_transition(LIFECYCLE_PROPOSAL, from, to))
	{
		/* opening now is scheduling for now: draft -> scheduled -> open */
		lifecycle_check_transition(LIFECYCLE_PROPOSAL, from, PROPOSAL_SCHEDULED, what);
		lifecycle_check_transition(LIFECYCLE_PROPOSAL, PROPOSAL_SCHEDULED, to, what);
		return;
	}
	lifecycle_check_transition(LIFECYCLE_PROPOSAL, from, to, what);
	if (from == PROPOSAL_CLOSED && to == PROPOSAL_OPEN && newrow->anonymous)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_TRANSITION),
				 errmsg("anonymous proposal cannot be reopened"),
				 errdetail("Proposal %lld is anonymous: its ballots cannot be changed, so it never moves from closed to open.",
						   (long long) newrow->proposal_id)));
}

/*
 * The one check of the proposal time order (NS403): a proposal closes after
 * it opens (a closed one may close the moment it opened).  The API
 * functions that set dates (open_proposal, extend_proposal) rely on it.
 */
static void
check_time_order(const ProposalRow *r)
{
	if (r->opens_at > r->closes_at ||
		(r->stored != PROPOSAL_CLOSED && r->opens_at == r->closes_at))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_TIME_ORDER),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "closes_at"),
				 errmsg("proposal must close after it opens"),
				 errdetail("Proposal %lld would close before it opens.",
						   (long long) r->proposal_id)));
}

/* A proposal that is neither a draft nor withdrawn has both dates */
static void
check_dates_present(const ProposalRow *r)
{
	if (r->opens_null || r->closes_null)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("proposal needs opens_at and closes_at"),
				 errdetail("Proposal %lld is %s.", (long long) r->proposal_id,
						   state_name(r->stored))));
}

/* Refuse dates that do not fit the stored state of the new row */
static void
check_dates(const ProposalRow *oldrow, const ProposalRow *newrow, TimestampTz now)
{
	int			s = newrow->stored;
	bool		moved = oldrow == NULL || oldrow->stored != s;

	if (s == PROPOSAL_DRAFT || s == PROPOSAL_WITHDRAWN)
		return;
	check_dates_present(newrow);
	check_time_order(newrow);
	if (s == PROPOSAL_SCHEDULED && newrow->opens_at <= now &&
		(moved || newrow->opens_at != oldrow->opens_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("proposal cannot be scheduled to open in the past"),
				 errdetail("Proposal %lld would open before now.",
						   (long long) newrow->proposal_id)));
	/* a deadline never moves into the past: votes already cast would not count */
	if (oldrow != NULL && !oldrow->closes_null && newrow->closes_at != oldrow->closes_at &&
		newrow->closes_at < now)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("deadline cannot move into the past"),
				 errdetail("The new closes_at of proposal %lld is before now.",
						   (long long) newrow->proposal_id)));
	if (s == PROPOSAL_OPEN && moved && oldrow != NULL &&
		oldrow->stored < PROPOSAL_OPEN && newrow->opens_at > now)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("proposal cannot be open before it opens"),
				 errdetail("The opens_at of proposal %lld is later than now.",
						   (long long) newrow->proposal_id),
				 errhint("Store it as scheduled.")));
}

/* Refuse changes of frozen columns; from is the effective state before the update */
static void
check_frozen(TupleDesc desc, HeapTuple oldtup, HeapTuple newtup, int from, int to,
			 int64 proposal_id)
{
	static const char *const always[] = {"group_id", "proposal_id", "author_id", "created_at"};
	static const char *const once_open[] = {"method", "options", "settings"};

	for (int i = 0; i < (int) lengthof(always); i++)
		if (!enspiral_column_unchanged(desc, oldtup, newtup, always[i]))
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_PROPOSAL_FROZEN),
					 errmsg("column \"%s\" of a proposal cannot change", always[i]),
					 errdetail("The update changes it for proposal %lld.", (long long) proposal_id)));
	if (from == PROPOSAL_DRAFT)
		return;
	for (int i = 0; i < (int) lengthof(once_open); i++)
		if (!enspiral_column_unchanged(desc, oldtup, newtup, once_open[i]))
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_PROPOSAL_FROZEN),
					 errmsg("column \"%s\" of a proposal that is no longer a draft cannot change",
							once_open[i]),
					 errdetail("Proposal %lld is %s.", (long long) proposal_id, state_name(from)),
					 from == PROPOSAL_SCHEDULED ?
					 errhint("Move it back to draft to edit it.") : 0));
	if (from != PROPOSAL_SCHEDULED && !enspiral_column_unchanged(desc, oldtup, newtup, "opens_at"))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_PROPOSAL_FROZEN),
				 errmsg("opening time of a proposal that has opened cannot change"),
				 errdetail("Proposal %lld is %s.", (long long) proposal_id, state_name(from))));
	if ((from == PROPOSAL_WITHDRAWN || (from == PROPOSAL_CLOSED && to != PROPOSAL_OPEN)) &&
		!enspiral_column_unchanged(desc, oldtup, newtup, "closes_at"))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_PROPOSAL_FROZEN),
				 errmsg("deadline of a finished proposal cannot change"),
				 errdetail("Proposal %lld is %s.", (long long) proposal_id, state_name(from)),
				 from == PROPOSAL_CLOSED ?
				 errhint("Use enspiral.reopen_proposal() with a future closes_at.") : 0));
}

/* Set reopen_count of the new tuple */
static HeapTuple
set_reopen_count(Relation rel, HeapTuple newtup, int32 value)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			col = enspiral_attnum(desc, "reopen_count");
	Datum		val = Int32GetDatum(value);
	bool		isnull = false;

	return heap_modify_tuple_by_cols(newtup, desc, 1, &col, &val, &isnull);
}

/* Check an UPDATE of a proposals row; returns the tuple to store */
static HeapTuple
guard_update(TriggerData *td)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	HeapTuple	newtup = td->tg_newtuple;
	TimestampTz now = decisions_now();
	ProposalRow o,
				n;
	int			from,
				to;

	read_proposal_row(desc, td->tg_trigtuple, &o);
	read_proposal_row(desc, newtup, &n);
	from = row_state(&o, now);
	to = row_state(&n, now);
	if (from != to)
		check_move(from, to, &n);
	/* a stored state that time would turn into another is still a move */
	if (n.stored != o.stored && n.stored != to && n.stored != from)
		check_move(from, n.stored, &n);
	check_frozen(desc, td->tg_trigtuple, newtup, from, to, o.proposal_id);
	check_dates(&o, &n, now);
	if (n.reopen_count != o.reopen_count)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_PROPOSAL_FROZEN),
				 errmsg("column \"reopen_count\" of a proposal is maintained by the database"),
				 errdetail("The update changes it for proposal %lld.", (long long) o.proposal_id)));
	if (from == PROPOSAL_CLOSED && to == PROPOSAL_OPEN)
		newtup = set_reopen_count(td->tg_relation, newtup, o.reopen_count + 1);
	/* an opening waits for weight and delegation changes in flight */
	if (n.stored != o.stored &&
		(n.stored == PROPOSAL_OPEN || n.stored == PROPOSAL_SCHEDULED))
	{
		bool		isnull;

		decisions_rules_lock(DatumGetInt64(enspiral_column(newtup, desc, "group_id", &isnull)),
							 ShareLock);
	}
	/* wait for votes in flight before the state or the deadline changes */
	if (o.stored != n.stored || o.closes_null != n.closes_null ||
		o.closes_at != n.closes_at)
		proposal_lock(o.proposal_id, ExclusiveLock);
	return newtup;
}

/*
 * Check a restored row (pg_restore loads proposals in any state): the state
 * is taken as dumped, but its dates must fit it as they did when dumped.
 */
static void
guard_restore(const ProposalRow *n)
{
	if (n->stored == PROPOSAL_DRAFT || n->stored == PROPOSAL_WITHDRAWN)
		return;
	check_dates_present(n);
	check_time_order(n);
	if (n->reopen_count < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"reopen_count\" of a proposal cannot be negative"),
				 errdetail("Proposal %lld has reopen_count %d.", (long long) n->proposal_id,
						   n->reopen_count)));
}

/* Check an INSERT: proposals are born drafts (a restore loads them as dumped) */
static void
guard_insert(TriggerData *td)
{
	ProposalRow n;

	read_proposal_row(RelationGetDescr(td->tg_relation), td->tg_trigtuple, &n);
	if (enspiral_in_restore_copy(td->tg_relation))
	{
		guard_restore(&n);
		return;
	}
	if (n.stored != PROPOSAL_DRAFT)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_TRANSITION),
				 errmsg("proposal must be created as a draft"),
				 errdetail("Proposal %lld would be created %s.", (long long) n.proposal_id,
						   state_name(n.stored)),
				 errhint("Create it with enspiral.propose() and open it with enspiral.open_proposal().")));
	if (n.reopen_count != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("new proposal must have reopen_count 0")));
}

/* Check a DELETE: only drafts may be deleted */
static void
guard_delete(TriggerData *td)
{
	ProposalRow o;

	read_proposal_row(RelationGetDescr(td->tg_relation), td->tg_trigtuple, &o);
	if (o.stored != PROPOSAL_DRAFT)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_DIRECT_WRITE),
				 errmsg("only a draft proposal can be deleted"),
				 errdetail("Proposal %lld is %s.", (long long) o.proposal_id,
						   state_name(row_state(&o, decisions_now()))),
				 errhint("Withdraw it with enspiral.withdraw_proposal(); its history is kept.")));
}

/* Trigger enspiral.proposals_guard(): the state machine on the table itself */
Datum
enspiral_proposals_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	(void) enspiral_trigger_call(fcinfo, "proposals_guard",
								 ENSPIRAL_TRIGGER_BEFORE | ENSPIRAL_TRIGGER_ROW);
	enspiral_require_trigger_table(td, "proposals_guard", "proposals");
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		guard_insert(td);
		return PointerGetDatum(td->tg_trigtuple);
	}
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		guard_delete(td);
		return PointerGetDatum(td->tg_trigtuple);
	}
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		return PointerGetDatum(guard_update(td));
	elog(ERROR, "proposals_guard: unexpected event");
	return (Datum) 0;
}

/*
 * enspiral.effective_proposal_state(state, opens_at, closes_at, at) RETURNS
 * proposal_state: the state in effect at a time.
 */
Datum
enspiral_effective_proposal_state(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(LifecycleStateGetDatum(
										   proposal_effective_state(DatumGetLifecycleState(PG_GETARG_DATUM(0)),
																	PG_ARGISNULL(1) ? 0 : PG_GETARG_TIMESTAMPTZ(1),
																	PG_ARGISNULL(1),
																	PG_ARGISNULL(2) ? 0 : PG_GETARG_TIMESTAMPTZ(2),
																	PG_ARGISNULL(2),
																	PG_ARGISNULL(3) ? decisions_now() : PG_GETARG_TIMESTAMPTZ(3))));
}

/*
 * Read a proposal's state columns by id (inside SPI); false when missing.
 * With *group_id not 0 on entry, only the group's proposal (a lookup by
 * the key, routed to the group's shard on Citus).
 */
static bool
fetch_proposal(int64 proposal_id, bool for_update, ProposalRow *row, int64 *group_id)
{
	static SPIPlanPtr plan = NULL;
	static SPIPlanPtr plan_lock = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(proposal_id), Int64GetDatum(*group_id)};
	const char *sql = "SELECT proposal_id, state, opens_at, closes_at, reopen_count, settings, group_id"
		" FROM enspiral.proposals WHERE proposal_id = $1";
	bool		isnull;

	if (*group_id == 0 || !for_update)
	{
		if (SPI_execute_plan(enspiral_plan(&plan, sql, 1, argtypes), args, NULL, true, 1) < 0)
			elog(ERROR, "proposal lookup failed");
		if (SPI_processed == 0)
			return false;
		if (*group_id != 0 &&
			DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 7, &isnull)) != *group_id)
			return false;
		args[1] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 7, &isnull);
	}
	if (for_update)
	{
		/* locked by its key, group first: Citus locks rows only so (doc/scaling.md) */
		if (SPI_execute_plan(enspiral_plan(&plan_lock,
										   psprintf("%s AND group_id = $2 FOR NO KEY UPDATE", sql),
										   2, argtypes),
							 args, NULL, false, 1) < 0)
			elog(ERROR, "proposal lookup failed");
		if (SPI_processed == 0)
			return false;
	}
	read_proposal_row(SPI_tuptable->tupdesc, SPI_tuptable->vals[0], row);
	*group_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 7, &isnull));
	return true;
}

/* Raise NS101 for an unknown proposal */
static void
unknown_proposal(int64 proposal_id)
{
	enspiral_not_found(ENSPIRAL_PROPOSAL, 0, proposal_id);
}

/* enspiral.proposal_state(proposal_id) RETURNS text: the effective state now */
Datum
enspiral_proposal_state(PG_FUNCTION_ARGS)
{
	int64		pid = PG_GETARG_INT64(0);
	ProposalRow row;
	int64		gid = 0;
	int			s;

	enspiral_spi_connect();
	if (!fetch_proposal(pid, false, &row, &gid))
		unknown_proposal(pid);
	s = row_state(&row, decisions_now());
	enspiral_spi_finish();
	PG_RETURN_TEXT_P(cstring_to_text(state_name(s)));
}

/* The recorded outcome of a proposal's current opening (latest snapshot), or NULL */
static Jsonb *
recorded_outcome(int64 group_id, int64 proposal_id, int32 opening)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, INT4OID};
	Datum		args[3] = {Int64GetDatum(group_id), Int64GetDatum(proposal_id),
	Int32GetDatum(opening)};
	bool		isnull;
	Datum		d;

	enspiral_plan(&plan,
				  "SELECT outcome FROM enspiral.outcomes"
				  " WHERE group_id = $1 AND proposal_id = $2 AND opening = $3",
				  3, argtypes);
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "outcome lookup failed");
	if (SPI_processed == 0)
		return NULL;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? NULL : DatumGetJsonbPCopy(d);
}

/* Compute the outcome from every committed ballot (latest snapshot) */
static Datum
compute_latest(int64 proposal_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(proposal_id)};
	bool		isnull;
	Datum		d;

	enspiral_plan(&plan, "SELECT enspiral.compute_outcome($1)", 1, argtypes);
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "outcome computation failed");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "outcome computation returned NULL");
	return d;
}

/*
 * Mark a due proposal closed and store its outcome; returns the stored
 * outcome (the chain_stamp trigger adds the group's chain head to it)
 */
static Datum
store_outcome(int64 group_id, const ProposalRow *row, Datum outcome)
{
	static SPIPlanPtr close_plan = NULL;
	static SPIPlanPtr insert_plan = NULL;
	Oid			argtypes[4] = {INT8OID, INT8OID, INT4OID, JSONBOID};
	Datum		args[4] = {Int64GetDatum(group_id), Int64GetDatum(row->proposal_id),
	Int32GetDatum(row->reopen_count), outcome};
	bool		isnull;

	if (row->stored != PROPOSAL_CLOSED)
	{
		enspiral_plan(&close_plan,
					  "UPDATE enspiral.proposals SET state = 'closed'"
					  " WHERE group_id = $1 AND proposal_id = $2",
					  2, argtypes);
		if (SPI_execute_plan(close_plan, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "closing proposal failed");
	}
	enspiral_plan(&insert_plan,
				  "INSERT INTO enspiral.outcomes (group_id, proposal_id, opening, outcome)"
				  " VALUES ($1, $2, $3, $4) RETURNING outcome",
				  4, argtypes);
	if (SPI_execute_plan(insert_plan, args, NULL, false, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "storing outcome failed");
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
}

/*
 * Serialize membership changes of a group with the recording of its
 * outcomes: changes take it shared, recording exclusively (until
 * transaction end).
 */
static void
group_membership_lock(int64 group_id, LOCKMODE mode)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) ((uint64) group_id >> 32),
						 (uint32) group_id, DECISIONS_LOCK_MEMBERSHIP);
	(void) LockAcquire(&tag, mode, false, false);
}

/*
 * The latest membership boundary that cannot be moved: the latest end
 * (left_at) of an earlier period of the member, and, when the group has a
 * recorded outcome whose opening or closing time is at or after t, the
 * current time (a change stamped before a recorded close would rewrite it).
 */
static TimestampTz
membership_floor(int64 group_id, int64 member_id, TimestampTz t, bool is_insert)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, TIMESTAMPTZOID, INT8OID};
	Datum		args[3] = {Int64GetDatum(group_id), TimestampTzGetDatum(t),
	Int64GetDatum(member_id)};
	TimestampTz floor = t;
	bool		isnull;
	Datum		d;

	enspiral_plan(&plan,
				  "SELECT EXISTS (SELECT 1 FROM enspiral.outcomes o"
				  "                 JOIN enspiral.proposals p"
				  "                   ON p.group_id OPERATOR(pg_catalog.=) o.group_id"
				  "                  AND p.proposal_id OPERATOR(pg_catalog.=) o.proposal_id"
				  "                WHERE o.group_id OPERATOR(pg_catalog.=) $1"
				  "                  AND (p.closes_at OPERATOR(pg_catalog.>=) $2"
				  "                       OR p.opens_at OPERATOR(pg_catalog.>=) $2)),"
				  "       (SELECT pg_catalog.max(m.left_at) FROM enspiral.memberships m"
				  "         WHERE m.group_id OPERATOR(pg_catalog.=) $1"
				  "           AND m.member_id OPERATOR(pg_catalog.=) $3)",
				  3, argtypes);
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "membership boundary lookup failed");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull && DatumGetBool(d))
		floor = Max(floor, GetCurrentTimestamp());
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (is_insert && !isnull)
		floor = Max(floor, DatumGetTimestampTz(d));
	return floor;
}

/*
 * Trigger enspiral.memberships_outcome_guard(), BEFORE INSERT OR UPDATE OF
 * left_at ON memberships: membership boundaries are stamped with the
 * transaction start, so a removal that started before a close but commits
 * after its outcome was recorded would end the membership "before" the
 * close and change the recomputed outcome.  The change waits for outcomes
 * being recorded in the group (and they for it); a boundary at or before a
 * recorded opening or close moves to the current time, and a new period
 * never starts before the member's previous one ended.
 */
Datum
enspiral_memberships_outcome_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	bool		is_insert;
	HeapTuple	tup;
	TupleDesc	desc;
	int			col;
	bool		isnull;
	int64		group_id,
				member_id;
	TimestampTz t,
				floor;
	Datum		val;

	(void) enspiral_trigger_call(fcinfo, "memberships_outcome_guard",
								 ENSPIRAL_TRIGGER_BEFORE | ENSPIRAL_TRIGGER_ROW);
	enspiral_require_trigger_table(td, "memberships_outcome_guard", "memberships");
	is_insert = TRIGGER_FIRED_BY_INSERT(td->tg_event);
	tup = is_insert ? td->tg_trigtuple : td->tg_newtuple;
	if (enspiral_in_restore_copy(td->tg_relation))
		return PointerGetDatum(tup);
	desc = RelationGetDescr(td->tg_relation);
	col = enspiral_attnum(desc, is_insert ? "joined_at" : "left_at");
	val = heap_getattr(tup, col, desc, &isnull);
	if (isnull)
		return PointerGetDatum(tup);
	t = DatumGetTimestampTz(val);
	group_id = DatumGetInt64(enspiral_column(tup, desc, "group_id", &isnull));
	member_id = DatumGetInt64(enspiral_column(tup, desc, "member_id", &isnull));
	group_membership_lock(group_id, ShareLock);
	enspiral_spi_connect();
	floor = membership_floor(group_id, member_id, t, is_insert);
	enspiral_spi_finish();
	if (floor != t)
	{
		val = TimestampTzGetDatum(floor);
		isnull = false;
		tup = heap_modify_tuple_by_cols(tup, desc, 1, &col, &val, &isnull);
	}
	return PointerGetDatum(tup);
}

/*
 * Record the outcome of the group's proposal (group_id 0: any group's) if
 * it is closed and nothing is recorded yet; the recorded outcome, or NULL
 * when the proposal is not closed.  Waits for votes in flight, then counts
 * every committed ballot.
 */
static Jsonb *
record_outcome(int64 group_id, int64 pid)
{
	ProposalRow row;
	int64		gid = group_id;
	Jsonb	   *result = NULL;

	enspiral_spi_connect();
	if (!fetch_proposal(pid, true, &row, &gid))
		enspiral_not_found(ENSPIRAL_PROPOSAL, group_id, pid);
	/* the count's lookups by id (compute_outcome()) stay on the group's node */
	relaccess_note_group("proposals", pid, gid);
	proposal_lock(pid, ExclusiveLock);
	if (row_state(&row, decisions_now()) == PROPOSAL_CLOSED)
	{
		result = recorded_outcome(gid, pid, row.reopen_count);
		if (result == NULL)
		{
			Datum		d;

			/* wait for membership changes in flight (see memberships guard) */
			group_membership_lock(gid, ExclusiveLock);
			/* and for weight and delegation changes (decisions_rules.c) */
			decisions_rules_lock(gid, ShareLock);
			d = compute_latest(pid);

			result = DatumGetJsonbP(store_outcome(gid, &row, d));
		}
	}
	if (result != NULL)
		result = (Jsonb *) SPI_datumTransfer(JsonbPGetDatum(result), false, -1);
	enspiral_spi_finish();
	return result;
}

/*
 * enspiral.record_outcome(proposal_id) RETURNS jsonb
 *	  Record the outcome of a proposal that is closed (explicitly or by its
 *	  deadline) and return it; the recorded outcome is returned unchanged
 *	  when it exists.  NULL when the proposal is not closed.  Waits for votes
 *	  in flight, then counts every committed ballot.  On Citus it runs on the
 *	  group's node (the group-first form): the votes in flight hold their
 *	  proposal lock there, and only there does the count after the wait see
 *	  them (run on the coordinator, it read the shards under snapshots taken
 *	  before the wait ended).
 */
Datum
enspiral_record_outcome(PG_FUNCTION_ARGS)
{
	Jsonb	   *result;
	Datum		forwarded;

	if (enspiral_forward_by_id(fcinfo, "proposals", "proposals_proposal_id_idx",
							   "enspiral.record_outcome(bigint,bigint)", &forwarded))
		return forwarded;
	result = record_outcome(0, PG_GETARG_INT64(0));
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(result);
}

/*
 * enspiral.record_outcome(group_id, proposal_id) RETURNS jsonb
 *	  The same for the group's proposal (NS101 for another group's), run on
 *	  the group's node on Citus.
 */
Datum
enspiral_record_group_outcome(PG_FUNCTION_ARGS)
{
	Jsonb	   *result;

	ENSPIRAL_FORWARD_TO_GROUP(fcinfo, PG_GETARG_INT64(0));
	result = record_outcome(PG_GETARG_INT64(0), PG_GETARG_INT64(1));
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(result);
}

/*
 * enspiral.proposal_written_here(group_id, proposal_id) RETURNS boolean
 *	  True when the visible version of the proposal's row was written by
 *	  this transaction or one of its subtransactions: a closing (or a
 *	  deadline change) that is not committed and may still roll back.
 *	  False when the proposal does not exist.
 */
Datum
enspiral_proposal_written_here(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)};
	bool		isnull;
	bool		result = false;

	enspiral_spi_connect();
	enspiral_plan(&plan,
				  "SELECT p.xmin FROM enspiral.proposals p"
				  " WHERE p.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND p.proposal_id OPERATOR(pg_catalog.=) $2",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "proposal lookup failed");
	if (SPI_processed == 1)
	{
		Datum		xmin = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										 1, &isnull);

		result = !isnull &&
			TransactionIdIsCurrentTransactionId(DatumGetTransactionId(xmin));
	}
	enspiral_spi_finish();
	PG_RETURN_BOOL(result);
}
