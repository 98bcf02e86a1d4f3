/*-------------------------------------------------------------------------
 *
 * votes.c
 *	  Casting votes: enspiral.vote(), explicit additions to an electorate,
 *	  and the guard that keeps every other writer off the vote tables.
 *
 * vote() in order: share-lock the proposal (a closing waits for votes in
 * flight, and a vote waits for a closing in flight); read the proposal and
 * the voter's eligibility in one query under the latest snapshot (so a
 * REPEATABLE READ voter cannot vote on a proposal a committed closing has
 * closed); check the ballot in C; lock the (proposal, member) pair; then
 * one statement supersedes the member's current vote and inserts the new
 * one (or, for anonymous proposals, records participation and stores the
 * ballot unless the member already took part).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"

#include "enspiral.h"
#include "lifecycle.h"
#include "decisions.h"

PG_FUNCTION_INFO_V1(enspiral_vote);
PG_FUNCTION_INFO_V1(enspiral_add_voter);
PG_FUNCTION_INFO_V1(enspiral_votes_guard);

bool		decisions_writing_votes = false;

/* What vote() needs to know about a proposal and a voter */
typedef struct VoteContext
{
	int64		group_id;
	int			state;
	char	   *method;
	ArrayType  *options;
	Jsonb	   *settings;
	bool		anonymous;
	bool		in_electorate;
	bool		member_now;
} VoteContext;

/* Read proposal and eligibility under the latest snapshot; false when missing */
static bool
vote_context(int64 pid, int64 member_id, TimestampTz now, VoteContext *vc)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, TIMESTAMPTZOID};
	Datum		args[3] = {Int64GetDatum(pid), Int64GetDatum(member_id),
	TimestampTzGetDatum(now)};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		n1,
				n2,
				n3;
	TimestampTz opens_at,
				closes_at;
	Datum		d;

	enspiral_plan(&plan,
				  "SELECT p.group_id, p.state, p.opens_at, p.closes_at, p.method, p.options, p.settings,"
				  " EXISTS (SELECT 1 FROM enspiral.memberships m"
				  "          WHERE m.group_id = p.group_id AND m.member_id = $2"
				  "            AND m.joined_at <= p.opens_at"
				  "            AND (m.left_at IS NULL OR m.left_at > p.opens_at))"
				  " OR EXISTS (SELECT 1 FROM enspiral.electorate_additions a"
				  "             WHERE a.group_id = p.group_id AND a.proposal_id = p.proposal_id"
				  "               AND a.member_id = $2),"
				  " EXISTS (SELECT 1 FROM enspiral.memberships m"
				  "          WHERE m.group_id = p.group_id AND m.member_id = $2"
				  "            AND m.joined_at <= $3 AND (m.left_at IS NULL OR m.left_at > $3))"
				  " FROM enspiral.proposals p WHERE p.proposal_id = $1",
				  3, argtypes);
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "proposal lookup failed");
	if (SPI_processed == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	vc->group_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &n1));
	vc->state = DatumGetLifecycleState(SPI_getbinval(tup, desc, 2, &n1));
	opens_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &n2));
	closes_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &n3));
	vc->state = proposal_effective_state(vc->state, opens_at, n2, closes_at, n3, now);
	vc->method = TextDatumGetCString(SPI_getbinval(tup, desc, 5, &n1));
	d = SPI_getbinval(tup, desc, 6, &n1);
	vc->options = n1 ? NULL : DatumGetArrayTypePCopy(d);
	vc->settings = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 7, &n1));
	vc->anonymous = jsonb_get_bool_key(vc->settings, "anonymous", false);
	vc->in_electorate = DatumGetBool(SPI_getbinval(tup, desc, 8, &n1));
	vc->member_now = DatumGetBool(SPI_getbinval(tup, desc, 9, &n1));
	return true;
}

/* Refuse a vote on a proposal that is not open or by a member who may not vote */
static void
check_vote_allowed(int64 pid, int64 member_id, const VoteContext *vc)
{
	if (vc->state != PROPOSAL_OPEN)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_VOTING_CLOSED),
				 errmsg("proposal %lld is not open for voting: it is %s",
						(long long) pid, lifecycle_state_name(LIFECYCLE_PROPOSAL, vc->state))));
	if (!vc->member_now)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_ELIGIBLE),
				 errmsg("member %lld cannot vote on proposal %lld: not a current member of group %lld",
						(long long) member_id, (long long) pid, (long long) vc->group_id)));
	if (!vc->in_electorate)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_ELIGIBLE),
				 errmsg("member %lld is not in the electorate of proposal %lld",
						(long long) member_id, (long long) pid),
				 errdetail("The electorate is the members of the group when the proposal opened."),
				 vc->anonymous ? 0 :
				 errhint("Use enspiral.add_voter() to add a later member explicitly.")));
}

/* Supersede the member's current vote and insert the new one; returns vote_id */
static int64
store_named_vote(int64 pid, int64 member_id, const VoteContext *vc, Jsonb *ballot,
				 text *reason, TimestampTz now)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[6] = {INT8OID, INT8OID, INT8OID, JSONBOID, TEXTOID, TIMESTAMPTZOID};
	Datum		args[6] = {Int64GetDatum(vc->group_id), Int64GetDatum(pid),
		Int64GetDatum(member_id), JsonbPGetDatum(ballot),
	PointerGetDatum(reason), TimestampTzGetDatum(now)};
	char		nulls[6] = {' ', ' ', ' ', ' ', reason ? ' ' : 'n', ' '};
	bool		isnull;

	enspiral_plan(&plan,
				  "WITH old AS (UPDATE enspiral.votes SET superseded_at = $6"
				  "              WHERE group_id = $1 AND proposal_id = $2 AND member_id = $3"
				  "                AND superseded_at IS NULL RETURNING 1)"
				  " INSERT INTO enspiral.votes (group_id, proposal_id, member_id, ballot, reason, cast_at)"
				  " SELECT $1, $2, $3, $4, $5, $6 FROM (SELECT count(*) FROM old) o"
				  " RETURNING vote_id",
				  6, argtypes);
	if (SPI_execute_snapshot(plan, args, nulls, GetLatestSnapshot(), InvalidSnapshot,
							 false, true, 0) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "storing the vote failed");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Record participation and store an anonymous ballot; NS107 when already voted */
static void
store_anonymous_ballot(int64 pid, int64 member_id, const VoteContext *vc, Jsonb *ballot,
					   text *reason)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[5] = {INT8OID, INT8OID, INT8OID, JSONBOID, TEXTOID};
	Datum		args[5] = {Int64GetDatum(vc->group_id), Int64GetDatum(pid),
		Int64GetDatum(member_id), JsonbPGetDatum(ballot),
	PointerGetDatum(reason)};
	char		nulls[5] = {' ', ' ', ' ', ' ', reason ? ' ' : 'n'};

	enspiral_plan(&plan,
				  "WITH p AS (INSERT INTO enspiral.participations (group_id, proposal_id, member_id)"
				  "           VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1)"
				  " INSERT INTO enspiral.anonymous_ballots (group_id, proposal_id, ballot, reason)"
				  " SELECT $1, $2, $4, $5 FROM p",
				  5, argtypes);
	if (SPI_execute_snapshot(plan, args, nulls, GetLatestSnapshot(), InvalidSnapshot,
							 false, true, 0) != SPI_OK_INSERT)
		elog(ERROR, "storing the ballot failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_ALREADY_VOTED),
				 errmsg("member %lld has already voted on anonymous proposal %lld",
						(long long) member_id, (long long) pid),
				 errdetail("Anonymous ballots cannot be changed: they are not linked to their voter.")));
}

/*
 * enspiral.vote(proposal_id, member_id, ballot jsonb, reason text) RETURNS bigint
 *	  Cast (or replace) a member's vote; returns the vote id, or NULL for an
 *	  anonymous ballot (which has no id that could identify it).
 */
Datum
enspiral_vote(PG_FUNCTION_ARGS)
{
	int64		pid,
				member_id;
	text	   *reason = PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3);
	TimestampTz now = decisions_now();
	VoteContext vc;
	BallotRules rules;
	Jsonb	   *ballot;
	int64		vote_id = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("proposal_id, member_id and ballot must not be NULL")));
	pid = PG_GETARG_INT64(0);
	member_id = PG_GETARG_INT64(1);
	enspiral_spi_connect();
	proposal_lock(pid, ShareLock);
	if (!vote_context(pid, member_id, now, &vc))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_UNKNOWN_PROPOSAL),
				 errmsg("proposal %lld does not exist", (long long) pid)));
	check_vote_allowed(pid, member_id, &vc);
	ballot_rules_load(&rules, vc.method, vc.options, vc.settings);
	ballot = ballot_normalize(&rules, PG_GETARG_JSONB_P(2),
							  reason ? text_to_cstring(reason) : NULL, pid);
	proposal_member_lock(pid, member_id);
	PG_TRY();
	{
		decisions_writing_votes = true;
		if (vc.anonymous)
			store_anonymous_ballot(pid, member_id, &vc, ballot, reason);
		else
			vote_id = store_named_vote(pid, member_id, &vc, ballot, reason, now);
	}
	PG_FINALLY();
	{
		decisions_writing_votes = false;
	}
	PG_END_TRY();
	enspiral_spi_finish();
	if (vc.anonymous)
		PG_RETURN_NULL();
	PG_RETURN_INT64(vote_id);
}

/*
 * enspiral.add_voter(proposal_id, member_id) RETURNS void
 *	  Add a current member who was not in the electorate (a later joiner)
 *	  to a named proposal that is not yet closed.
 */
Datum
enspiral_add_voter(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, TIMESTAMPTZOID};
	int64		pid = PG_GETARG_INT64(0);
	int64		member_id = PG_GETARG_INT64(1);
	TimestampTz now = decisions_now();
	Datum		args[3] = {Int64GetDatum(pid), Int64GetDatum(member_id),
	TimestampTzGetDatum(now)};
	VoteContext vc;

	enspiral_spi_connect();
	proposal_lock(pid, ShareLock);
	if (!vote_context(pid, member_id, now, &vc))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_UNKNOWN_PROPOSAL),
				 errmsg("proposal %lld does not exist", (long long) pid)));
	if (vc.anonymous)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_ELIGIBLE),
				 errmsg("the electorate of anonymous proposal %lld cannot be extended",
						(long long) pid)));
	if (vc.state == PROPOSAL_CLOSED || vc.state == PROPOSAL_WITHDRAWN)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_VOTING_CLOSED),
				 errmsg("proposal %lld is %s: its electorate cannot change",
						(long long) pid, lifecycle_state_name(LIFECYCLE_PROPOSAL, vc.state))));
	if (!vc.member_now)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_A_MEMBER),
				 errmsg("member %lld is not a current member of group %lld",
						(long long) member_id, (long long) vc.group_id)));
	enspiral_plan(&plan,
				  "INSERT INTO enspiral.electorate_additions (group_id, proposal_id, member_id, added_at)"
				  " SELECT p.group_id, p.proposal_id, $2, $3 FROM enspiral.proposals p"
				  "  WHERE p.proposal_id = $1 ON CONFLICT DO NOTHING",
				  3, argtypes);
	PG_TRY();
	{
		decisions_writing_votes = true;
		if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
								 false, true, 0) != SPI_OK_INSERT)
			elog(ERROR, "adding the voter failed");
	}
	PG_FINALLY();
	{
		decisions_writing_votes = false;
	}
	PG_END_TRY();
	enspiral_spi_finish();
	PG_RETURN_VOID();
}

/* Trigger enspiral.votes_guard(): only vote() and add_voter() write these tables */
Datum
enspiral_votes_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event))
		elog(ERROR, "votes_guard must be a BEFORE trigger");
	if (!decisions_writing_votes)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_DIRECT_WRITE),
				 errmsg("%s cannot be written directly",
						RelationGetRelationName(td->tg_relation)),
				 errhint("Votes are cast with enspiral.vote(); electorates are extended with enspiral.add_voter(); nothing is deleted.")));
	if (TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		return (Datum) 0;
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		return PointerGetDatum(td->tg_newtuple);
	return PointerGetDatum(td->tg_trigtuple);
}
