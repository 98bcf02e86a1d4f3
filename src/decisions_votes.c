/*-------------------------------------------------------------------------
 *
 * decisions_votes.c
 *	  Casting votes: enspiral.vote(), explicit additions to an electorate,
 *	  and the guard that keeps every other writer off the vote tables.
 *
 * vote() in order: share-lock the proposal (a closing waits for votes in
 * flight, and a vote waits for a closing in flight); lock the (proposal,
 * member) pair (two votes of one member are serialized); read the proposal,
 * the member's current membership period and counted vote through direct
 * unique-index lookups under the latest snapshot (so a REPEATABLE READ
 * voter cannot vote on a proposal a committed closing has closed, nor miss
 * its own concurrent vote); check eligibility and the ballot in C; then mark
 * the counted vote superseded (by tuple id) and insert the new one, or, for
 * anonymous proposals, record participation and store the ballot unless the
 * member already took part.
 *
 * The reads and the insert of the counted vote go through core_relaccess.c, the
 * one direct table-access layer (cached OIDs, index lookups, single-row
 * inserts).  The vote row is inserted with ExecSimpleRelationInsert(), the
 * logical-replication apply path, on purpose: it applies the CHECK
 * constraints, the unique index and the row triggers (the event feed) of an
 * INSERT without a plan or portal per vote; it skips statement-level
 * triggers (only the votes_guard, which exempts vote() anyway).  The
 * table's own row triggers (vote_counts, votes_events) are run by the
 * writer itself while no other trigger is attached (core_owntriggers.c).  It depends on executor internals that
 * move between major versions; core_relaccess.c keeps that in one place behind
 * PG_VERSION_NUM.  The superseding UPDATE goes the same way
 * (ExecSimpleRelationUpdate, through the same executor state as the
 * insert), on the row the member lock keeps every other writer off.  A
 * re-vote through a writer that runs every row trigger itself rewrites
 * the counted row in place instead and inserts the former vote as history
 * (store_named_vote: same rows, one index entry fewer); whether the voter
 * was removed is remembered per proposal (decisions_removals.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "enspiral.h"
#include "lifecycle.h"
#include "decisions.h"
#include "relaccess.h"

PG_FUNCTION_INFO_V1(enspiral_vote);
PG_FUNCTION_INFO_V1(enspiral_add_voter);
PG_FUNCTION_INFO_V1(enspiral_votes_guard);
PG_FUNCTION_INFO_V1(enspiral_retract_vote);
PG_FUNCTION_INFO_V1(enspiral_remove_voter);
PG_FUNCTION_INFO_V1(enspiral_add_voter_in_group);
PG_FUNCTION_INFO_V1(enspiral_vote_as_delegate);
PG_FUNCTION_INFO_V1(enspiral_vote_in_group);

/* What vote() needs to know about a proposal and a voter */
typedef struct VoteContext
{
	int64		group_id;
	int			state;
	TimestampTz opens_at;
	bool		opens_null;
	TimestampTz closes_at;
	bool		closes_null;
	Datum		method;			/* text */
	Datum		options;		/* text[], or 0 when NULL */
	Datum		settings;		/* jsonb */
	bool		anonymous;
	bool		invited;		/* voters = 'invited' */
	bool		weighted;		/* votes carry the voter's weight */
	bool		in_electorate;
	bool		member_now;
	bool		has_current;	/* the member has a counted vote */
	bool		current_direct; /* ... cast by the member itself */
	int64		current_vote_id;
	ItemPointerData current_tid;	/* where it is */
} VoteContext;

/* Parsed ballot rules of the proposal voted on last in this backend */
typedef struct RulesCache
{
	int64		proposal_id;
	struct varlena *method;
	struct varlena *options;
	struct varlena *settings;
	BallotRules rules;
	MemoryContext cxt;
} RulesCache;

static RulesCache rules_cache = {0};

/* True when a cached varlena equals a datum (NULL pointers match a 0 datum) */
static bool
same_bytes(struct varlena *cached, Datum d)
{
	struct varlena *v;

	if (cached == NULL || d == (Datum) 0)
		return cached == NULL && d == (Datum) 0;
	v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));
	return VARSIZE_ANY_EXHDR(v) == VARSIZE_ANY_EXHDR(cached) &&
		memcmp(VARDATA_ANY(v), VARDATA_ANY(cached), VARSIZE_ANY_EXHDR(v)) == 0;
}

/* Copy a datum's bytes (packed) into a memory context, or NULL for 0 */
static struct varlena *
copy_bytes(MemoryContext cxt, Datum d)
{
	struct varlena *v;
	struct varlena *out;

	if (d == (Datum) 0)
		return NULL;
	v = pg_detoast_datum((struct varlena *) DatumGetPointer(d));
	out = MemoryContextAlloc(cxt, VARSIZE(v));
	memcpy(out, v, VARSIZE(v));
	return out;
}

/*
 * The ballot rules of a proposal; parsed once per backend and reused while
 * method, options and settings are byte-identical (they are frozen from
 * the moment a proposal can receive votes).
 */
static const BallotRules *
proposal_rules(int64 pid, const VoteContext *vc)
{
	RulesCache *rc = &rules_cache;
	MemoryContext old;

	if (rc->cxt != NULL && rc->proposal_id == pid &&
		same_bytes(rc->method, vc->method) && same_bytes(rc->options, vc->options) &&
		same_bytes(rc->settings, vc->settings))
		return &rc->rules;
	if (rc->cxt == NULL)
		rc->cxt = AllocSetContextCreate(TopMemoryContext, "enspiral ballot rules",
										ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(rc->cxt);
	rc->proposal_id = 0;
	old = MemoryContextSwitchTo(rc->cxt);
	rc->method = copy_bytes(rc->cxt, vc->method);
	rc->options = copy_bytes(rc->cxt, vc->options);
	rc->settings = copy_bytes(rc->cxt, vc->settings);
	ballot_rules_load(&rc->rules, text_to_cstring((text *) rc->method),
					  (ArrayType *) rc->options, (Jsonb *) rc->settings);
	MemoryContextSwitchTo(old);
	rc->proposal_id = pid;
	return &rc->rules;
}

/* True when [joined, left) contains t */
static bool
period_covers(TimestampTz joined, TimestampTz left, bool left_null, TimestampTz t)
{
	return joined <= t && (left_null || left > t);
}

/* Whether the member was added explicitly to the electorate (latest snapshot) */
static bool
explicitly_added(int64 group_id, int64 pid, int64 member_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, INT8OID};
	Datum		args[3] = {Int64GetDatum(group_id), Int64GetDatum(pid),
	Int64GetDatum(member_id)};

	enspiral_plan(&plan,
				  "SELECT 1 FROM enspiral.electorate_additions"
				  " WHERE group_id OPERATOR(pg_catalog.=) $1"
				  "   AND proposal_id OPERATOR(pg_catalog.=) $2"
				  "   AND member_id OPERATOR(pg_catalog.=) $3",
				  3, argtypes);
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "electorate lookup failed");
	return SPI_processed > 0;
}

/* Apply one membership period to the eligibility of the voter */
static void
apply_period(VoteContext *vc, TimestampTz joined, TimestampTz left, bool left_null,
			 TimestampTz now)
{
	if (!vc->opens_null && period_covers(joined, left, left_null, vc->opens_at))
		vc->in_electorate = true;
	if (period_covers(joined, left, left_null, now))
		vc->member_now = true;
}

/* Every membership period of the member (the rare path: rejoiners, late joiners) */
static void
fetch_all_periods(int64 member_id, TimestampTz now, VoteContext *vc)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(vc->group_id), Int64GetDatum(member_id)};

	enspiral_plan(&plan,
				  "SELECT m.joined_at, m.left_at FROM enspiral.memberships m"
				  " WHERE m.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND m.member_id OPERATOR(pg_catalog.=) $2",
				  2, argtypes);
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "membership lookup failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		jn,
					ln;
		TimestampTz joined = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[i],
															   SPI_tuptable->tupdesc, 1, &jn));
		TimestampTz left = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc, 2, &ln));

		apply_period(vc, joined, left, ln, now);
	}
}

/* True when a string key of settings has a value */
static bool
settings_is(Jsonb *settings, const char *key, const char *value)
{
	JsonbValue	buf;
	JsonbValue *v = getKeyJsonValueFromContainer(&settings->root, key, strlen(key), &buf);

	return v != NULL && v->type == jbvString && v->val.string.len == (int) strlen(value) &&
		memcmp(v->val.string.val, value, v->val.string.len) == 0;
}

/*
 * Read the proposal row into vc; false when missing.  A group-first call
 * (group_id not 0) looks it up by its primary key, which Citus routes to
 * the group's shard; the row is remembered per backend and checked again
 * by its tuple id (decisions_proposal_memo.c).
 */
static bool
lookup_proposal(int64 group_id, int64 pid, Snapshot snap, TimestampTz now, VoteContext *vc)
{
	Datum		v[PROPOSAL_MEMO_COLS];
	bool		n[PROPOSAL_MEMO_COLS];

	/* group_id, state, opens_at, closes_at, method, options, settings */
	if (!decisions_proposal_row(group_id, pid, snap, v, n))
		return false;
	vc->group_id = DatumGetInt64(v[0]);
	vc->opens_at = DatumGetTimestampTz(v[2]);
	vc->opens_null = n[2];
	vc->closes_at = DatumGetTimestampTz(v[3]);
	vc->closes_null = n[3];
	vc->state = proposal_effective_state(DatumGetLifecycleState(v[1]), vc->opens_at, n[2],
										 DatumGetTimestampTz(v[3]), n[3], now);
	vc->method = PointerGetDatum(PG_DETOAST_DATUM(v[4]));
	vc->options = n[5] ? (Datum) 0 : PointerGetDatum(PG_DETOAST_DATUM(v[5]));
	vc->settings = PointerGetDatum(PG_DETOAST_DATUM(v[6]));
	vc->anonymous = jsonb_get_bool_key(DatumGetJsonbP(vc->settings), "anonymous", false);
	vc->invited = settings_is(DatumGetJsonbP(vc->settings), "voters", "invited");
	vc->weighted = !vc->anonymous &&
		jsonb_get_bool_key(DatumGetJsonbP(vc->settings), "weighted", false);
	return true;
}

/* Read the member's current period and current vote (with its tuple id) */
static void
lookup_voter(int64 pid, int64 member_id, Snapshot snap, TimestampTz now, VoteContext *vc)
{
	static const char *const mcols[] = {"joined_at", "left_at"};
	static const char *const vcols[] = {"vote_id", "cast_by"};
	int64		mkeys[2] = {vc->group_id, member_id};
	int64		vkeys[4] = {vc->group_id, pid, member_id, 0};
	Datum		v[2];
	bool		n[2];

	if (relaccess_lookup("memberships", "memberships_current", 2, mkeys, snap, 2, mcols, v, n, NULL))
		apply_period(vc, DatumGetTimestampTz(v[0]), DatumGetTimestampTz(v[1]), n[1], now);
	if (relaccess_lookup("votes", "votes_pkey", 4, vkeys, snap, 2, vcols, v, n,
					 &vc->current_tid))
	{
		vc->has_current = true;
		vc->current_vote_id = DatumGetInt64(v[0]);
		vc->current_direct = n[1];
	}
}

/*
 * Read the proposal, the member's membership and current vote under the
 * latest snapshot; false when the proposal is missing.  Call with the
 * proposal and member locks held.  The common case, a member since before
 * the opening, is decided by the current period alone; anything else reads
 * the whole membership history.
 */
static bool
vote_context(int64 group_id, int64 pid, int64 member_id, TimestampTz now, VoteContext *vc)
{
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	bool		found;

	memset(vc, 0, sizeof(*vc));
	found = lookup_proposal(group_id, pid, snap, now, vc);
	if (found)
		lookup_voter(pid, member_id, snap, now, vc);
	UnregisterSnapshot(snap);
	if (found && (!vc->in_electorate || !vc->member_now))
		fetch_all_periods(member_id, now, vc);
	return found;
}

/* Refuse a vote on a proposal that is not open or by a member who may not vote */
static void
check_vote_allowed(int64 pid, int64 member_id, const VoteContext *vc)
{
	if (vc->state != PROPOSAL_OPEN)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_VOTING_CLOSED),
				 errmsg("proposal is not open for voting"),
				 errdetail("Proposal %lld is %s.", (long long) pid,
						   lifecycle_state_name(LIFECYCLE_PROPOSAL, vc->state))));
	/* open at statement start; the write must also precede the deadline */
	if (!vc->closes_null && vc->closes_at <= enspiral_write_clock())
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_VOTING_CLOSED),
				 errmsg("proposal is not open for voting"),
				 errdetail("The deadline of proposal %lld passed while the statement casting this vote was running.",
						   (long long) pid),
				 errhint("A vote is accepted only if it is written before closes_at.")));
	if (!vc->member_now)
	{
		enspiral_require_member(vc->group_id, member_id);	/* NS003 when unknown */
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_ELIGIBLE),
				 errmsg("member is not a current member of the group"),
				 errdetail("Member %lld cannot vote on proposal %lld: the member is not a current member of group %lld.",
						   (long long) member_id, (long long) pid, (long long) vc->group_id)));
	}
	if (!vc->in_electorate)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_ELIGIBLE),
				 errmsg("member is not in the electorate of the proposal"),
				 errdetail("Member %lld is not in the electorate of proposal %lld.",
						   (long long) member_id, (long long) pid),
				 vc->invited ? errhint("Only members added with enspiral.add_voter() vote on this proposal.") :
				 vc->anonymous ? errhint("The electorate is the members of the group when the proposal opened.") :
				 errhint("The electorate is the members of the group when the proposal opened; use enspiral.add_voter() to add a later member explicitly.")));
}

static void fetch_current_row(RelWriter *w, const VoteContext *vc, int64 pid,
							  int64 member_id);

/* Mark the member's current vote superseded, through writer w */
static void
supersede_row(RelWriter *w, const VoteContext *vc, int64 pid, int64 member_id,
			  TimestampTz now)
{
	RelColumn	cols[] = {
		{"superseded_at", TimestampTzGetDatum(now), false},
		{"history_key", Int64GetDatum(vc->current_vote_id), false},
	};

	fetch_current_row(w, vc, pid, member_id);
	relaccess_writer_update(w, cols, lengthof(cols));
}

/*
 * Fetch the member's current vote into w->oldslot.  It is addressed by the
 * tuple id found under the member lock (which keeps every other writer off
 * the row) and read again under the latest snapshot; its key columns are
 * checked again.
 */
static void
fetch_current_row(RelWriter *w, const VoteContext *vc, int64 pid, int64 member_id)
{
	ItemPointerData tid = vc->current_tid;
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	bool		isnull;

	if (!relaccess_writer_fetch(w, &tid, snap) ||
		enspiral_slot_int64(w->oldslot, "group_id") != vc->group_id ||
		enspiral_slot_int64(w->oldslot, "proposal_id") != pid ||
		enspiral_slot_int64(w->oldslot, "member_id") != member_id ||
		enspiral_slot_int64(w->oldslot, "vote_id") != vc->current_vote_id ||
		(enspiral_slot_column(w->oldslot, "superseded_at", &isnull), !isnull))
		elog(ERROR, "superseding vote " INT64_FORMAT " failed", vc->current_vote_id);
	UnregisterSnapshot(snap);
}

/* Mark the member's current vote superseded (a writer of its own) */
static void
supersede_vote(const VoteContext *vc, int64 pid, int64 member_id, TimestampTz now)
{
	RelWriter	w;

	relaccess_writer_open(&w, "votes", TRIGGER_TYPE_UPDATE);
	supersede_row(&w, vc, pid, member_id, now);
	relaccess_writer_close(&w);
}

/*
 * The voter's weight when the proposal opened.  The common case is one
 * btree descent: no current weight period means no weight was ever set
 * (set_vote_weight always leaves one open), and a current period that
 * started by the opening is the one in effect then; otherwise the history
 * is searched.
 */
static int64
weight_at_opening(const VoteContext *vc, int64 member_id)
{
	static const char *const cols[] = {"valid_from", "weight"};
	int64		keys[2] = {vc->group_id, member_id};
	Datum		v[2];
	bool		n[2];
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	bool		found = relaccess_lookup("vote_weights", "vote_weights_current", 2, keys, snap,
									 2, cols, v, n, NULL);

	UnregisterSnapshot(snap);
	if (!found)
		return 1;
	if (DatumGetTimestampTz(v[0]) <= vc->opens_at)
		return DatumGetInt64(v[1]);
	return delegation_own_weight(vc->group_id, member_id, vc->opens_at);
}

/*
 * Write the counted vote row directly (core_relaccess.c, as logical
 * replication applies a row): the table's CHECK constraints, its unique
 * index (one counted vote per member: a concurrent duplicate waits and
 * fails) and its row triggers (the event feed) apply, without planning or
 * a portal per vote.  A first vote is inserted; a re-vote (replace: the
 * member's current vote is in w->oldslot) rewrites the counted row in
 * place, see store_named_vote().  Returns vote_id.
 */
static int64
write_vote_row(RelWriter *w, const VoteContext *vc, int64 pid, int64 member_id,
			   Jsonb *ballot, text *reason, TimestampTz now, int64 cast_by, bool replace)
{
	/* the voter's weight at the opening (doc/decision-rules.md) */
	int64		weight = vc->weighted ? weight_at_opening(vc, member_id) : 0;
	int64		vote_id = nextval_internal(relaccess_relid("votes_vote_id_seq"), false);
	RelColumn	cols[] = {
		{"group_id", Int64GetDatum(vc->group_id), false},
		{"proposal_id", Int64GetDatum(pid), false},
		{"vote_id", Int64GetDatum(vote_id), false},
		{"member_id", Int64GetDatum(member_id), false},
		{"ballot", JsonbPGetDatum(ballot), false},
		{"reason", PointerGetDatum(reason), reason == NULL},
		{"cast_at", TimestampTzGetDatum(now), false},
		{"history_key", Int64GetDatum(0), false},
		{"weight", Int64GetDatum(weight), !vc->weighted},
		{"cast_by", Int64GetDatum(cast_by), cast_by == 0},
	};

	if (replace)
		relaccess_writer_replace(w, cols, lengthof(cols));
	else
		relaccess_writer_insert(w, cols, lengthof(cols));
	return vote_id;
}

/*
 * Insert a named vote (after superseding the current one); returns vote_id.
 * cast_by: the delegate casting it, 0 when the member votes itself.
 *
 * A re-vote leaves two rows: the former counted vote as history (its own
 * id as history_key, superseded_at set) and the new counted vote (key 0).
 * When the writer runs every row trigger of votes itself (nothing but
 * enspiral's own attached, core_owntriggers.c), they are written the
 * cheaper way: the history row is inserted as a copy of the counted one,
 * and the counted row is then rewritten in place with the new vote (its
 * new vote_id, ballot, reason, cast_at, weight, cast_by), its vote_cast
 * event recorded as for an insert.  Its primary key entry (group,
 * proposal, member, 0) stays, so the update is HOT where the page has
 * room, and the key-0 entries of every past vote no longer pile up as dead
 * index entries for each lookup of the current vote to step over.  The
 * rows, counts and events are the same either way (test/sql/hotpath_owned.sql);
 * only the row versions differ.  Otherwise (another trigger attached,
 * Citus) the counted row is superseded and the new one inserted, and the
 * trigger manager sees exactly that.
 */
static int64
store_named_vote(int64 pid, int64 member_id, const VoteContext *vc, Jsonb *ballot,
				 text *reason, TimestampTz now, int64 cast_by)
{
	RelWriter	w;
	int64		vote_id;

	/*
	 * One executor state for both rows.  Superseding the counted vote and
	 * inserting its successor leave the proposal's count as it was: the
	 * vote_counts trigger skips the pair (its AFTER triggers fire in
	 * relaccess_writer_close).
	 */
	if (vc->has_current)
		enspiral_write_begin(ENSPIRAL_WRITE_REVOTE);
	relaccess_writer_open(&w, "votes", TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE);
	if (vc->has_current &&
		relaccess_writer_owns(&w, TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE))
	{
		RelColumn	history[] = {
			{"superseded_at", TimestampTzGetDatum(now), false},
			{"history_key", Int64GetDatum(vc->current_vote_id), false},
		};

		fetch_current_row(&w, vc, pid, member_id);
		relaccess_writer_insert_copy(&w, history, lengthof(history));
		vote_id = write_vote_row(&w, vc, pid, member_id, ballot, reason, now, cast_by, true);
	}
	else
	{
		if (vc->has_current)
			supersede_row(&w, vc, pid, member_id, now);
		vote_id = write_vote_row(&w, vc, pid, member_id, ballot, reason, now, cast_by, false);
	}
	relaccess_writer_close(&w);
	if (vc->has_current)
		enspiral_write_end(ENSPIRAL_WRITE_REVOTE);
	return vote_id;
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
				 errmsg("member has already voted on this anonymous proposal"),
				 errdetail("Member %lld has voted on proposal %lld; anonymous ballots cannot be changed: they are not linked to their voter.",
						   (long long) member_id, (long long) pid)));
}

static void refuse_anonymous(int64 pid, const VoteContext *vc, const char *what);

/*
 * Refuse a delegate's vote for a member unless the proposal applies
 * delegation, the delegate is on the member's delegation chain in effect at
 * the opening, and the member has not voted itself (a direct vote is never
 * replaced by a delegate's).
 */
static void
check_delegate_vote(int64 pid, int64 member_id, int64 cast_by, const VoteContext *vc)
{
	if (!jsonb_get_bool_key(DatumGetJsonbP(vc->settings), "delegation", false))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_DELEGATION_OFF),
				 errmsg("proposal does not apply delegation"),
				 errdetail("The setting \"delegation\" of proposal %lld is false.", (long long) pid),
				 errhint("Member %lld can vote itself.", (long long) member_id)));
	if (!delegation_may_cast(vc->group_id, member_id, cast_by, vc->opens_at))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_A_DELEGATE),
				 errmsg("member is not a delegate of the voter"),
				 errdetail("Member %lld may not vote for member %lld on proposal %lld.",
						   (long long) cast_by, (long long) member_id, (long long) pid),
				 errhint("A delegate votes for the members whose delegation chain in effect when the proposal opened reaches it through current members of the group.")));
	if (vc->has_current && vc->current_direct)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_VOTED_DIRECTLY),
				 errmsg("member has voted itself"),
				 errdetail("Member %lld has voted on proposal %lld itself; a vote cast by the member is never replaced by a delegate's vote.",
						   (long long) member_id, (long long) pid),
				 errhint("The member can retract its vote with enspiral.retract_vote().")));
}

/*
 * vote_context; NS101 when the proposal is missing (from the group, for a
 * group-first call: group_id not 0)
 */
static void
require_vote_context(int64 group_id, int64 pid, int64 member_id, TimestampTz now,
					 VoteContext *vc)
{
	if (!vote_context(group_id, pid, member_id, now, vc))
		enspiral_not_found(ENSPIRAL_PROPOSAL, group_id, pid);
}

/*
 * Cast (or replace) a member's vote: the member itself (cast_by 0) or a
 * delegate for it; group_id 0 for the 0.1.0 call that names no group.
 * Returns the vote id, 0 for an anonymous ballot.
 */
static int64
cast_vote(int64 group_id, int64 pid, int64 member_id, Jsonb *raw, text *reason,
		  int64 cast_by, bool *anonymous)
{
	TimestampTz now = decisions_now();
	VoteContext vc;
	Jsonb	   *ballot;
	int64		vote_id = 0;

	enspiral_spi_connect();
	/* lock order: proposal (shared), then the member's slot */
	proposal_lock(pid, ShareLock);
	proposal_member_lock(pid, member_id);
	require_vote_context(group_id, pid, member_id, now, &vc);
	if (cast_by != 0)
		refuse_anonymous(pid, &vc, "vote_as_delegate");
	if (vc.invited)
		vc.in_electorate = vc.member_now && explicitly_added(vc.group_id, pid, member_id);
	else if (!vc.in_electorate && !vc.anonymous && vc.member_now)
		vc.in_electorate = explicitly_added(vc.group_id, pid, member_id);
	check_vote_allowed(pid, member_id, &vc);
	if (!vc.anonymous && decisions_voter_removed(vc.group_id, pid, member_id))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_ELIGIBLE),
				 errmsg("member was removed from the electorate of the proposal"),
				 errdetail("Member %lld was removed from the electorate of proposal %lld.",
						   (long long) member_id, (long long) pid),
				 errhint("enspiral.add_voter() adds the member again.")));
	if (cast_by != 0)
		check_delegate_vote(pid, member_id, cast_by, &vc);
	ballot = ballot_normalize(proposal_rules(pid, &vc), raw,
							  reason ? text_to_cstring(reason) : NULL, pid);
	/* several budgets: the workflow of the proposal's budget set */
	if (proposal_rules(pid, &vc)->method == METHOD_BUDGET)
		budget_workflow_check(vc.group_id, pid, member_id);
	enspiral_write_begin(ENSPIRAL_WRITE_VOTES);
	if (vc.anonymous)
		store_anonymous_ballot(pid, member_id, &vc, ballot, reason);
	else
		vote_id = store_named_vote(pid, member_id, &vc, ballot, reason, now, cast_by);
	enspiral_write_end(ENSPIRAL_WRITE_VOTES);
	enspiral_spi_finish();
	*anonymous = vc.anonymous;
	return vote_id;
}

/*
 * enspiral.vote(proposal_id, member_id, ballot jsonb, reason text) RETURNS bigint
 *	  Cast (or replace) a member's vote; returns the vote id, or NULL for an
 *	  anonymous ballot.
 */
Datum
enspiral_vote(PG_FUNCTION_ARGS)
{
	bool		anonymous;
	int64		vote_id;
	Datum		forwarded;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("proposal_id, member_id and ballot must not be NULL")));
	/* on Citus: the group-first vote() on the group's node (core_forward.c) */
	if (enspiral_forward_by_id(fcinfo, "proposals", "proposals_proposal_id_idx",
							   "enspiral.vote(bigint,bigint,bigint,jsonb,text)", &forwarded))
		return forwarded;		/* fcinfo->isnull set */
	vote_id = cast_vote(0, PG_GETARG_INT64(0), PG_GETARG_INT64(1), PG_GETARG_JSONB_P(2),
						PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3), 0, &anonymous);
	if (anonymous)
		PG_RETURN_NULL();
	PG_RETURN_INT64(vote_id);
}

/*
 * enspiral.vote(group_id, proposal_id, member_id, ballot jsonb, reason text)
 *	  RETURNS bigint: group-first vote(); on Citus it runs on the group's node
 */
Datum
enspiral_vote_in_group(PG_FUNCTION_ARGS)
{
	bool		anonymous;
	int64		vote_id;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("group_id, proposal_id, member_id and ballot must not be NULL")));
	ENSPIRAL_FORWARD_TO_GROUP(fcinfo, PG_GETARG_INT64(0));
	vote_id = cast_vote(PG_GETARG_INT64(0), PG_GETARG_INT64(1), PG_GETARG_INT64(2),
						PG_GETARG_JSONB_P(3), PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4),
						0, &anonymous);
	if (anonymous)
		PG_RETURN_NULL();
	PG_RETURN_INT64(vote_id);
}

/*
 * enspiral.vote_as_delegate(group_id, proposal_id, delegate_id, member_id,
 *							 ballot jsonb, reason text) RETURNS bigint
 *	  A delegate casts (or replaces) the vote of a member who delegates to
 *	  it (doc/decision-rules.md): the vote is the member's, recorded with
 *	  cast_by = the delegate; returns the vote id.
 */
Datum
enspiral_vote_as_delegate(PG_FUNCTION_ARGS)
{
	bool		anonymous;

	for (int i = 0; i < 5; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("group_id, proposal_id, delegate_id, member_id and ballot must not be NULL")));
	ENSPIRAL_FORWARD_TO_GROUP(fcinfo, PG_GETARG_INT64(0));
	if (PG_GETARG_INT64(2) == PG_GETARG_INT64(3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a member cannot vote as its own delegate"),
				 errdetail("Member %lld is both the delegate and the voter.",
						   (long long) PG_GETARG_INT64(3)),
				 errhint("Use enspiral.vote().")));
	PG_RETURN_INT64(cast_vote(PG_GETARG_INT64(0), PG_GETARG_INT64(1), PG_GETARG_INT64(3),
							  PG_GETARG_JSONB_P(4),
							  PG_ARGISNULL(5) ? NULL : PG_GETARG_TEXT_PP(5),
							  PG_GETARG_INT64(2), &anonymous));
}

/* Read the proposal and voter under the locks of vote(); NS101 when missing */
static void
locked_context(int64 group_id, int64 pid, int64 member_id, TimestampTz now, VoteContext *vc)
{
	proposal_lock(pid, ShareLock);
	proposal_member_lock(pid, member_id);
	require_vote_context(group_id, pid, member_id, now, vc);
}

/* Run one statement of the vote tables with the vote-table guard open */
static void
write_votes(SPIPlanPtr plan, Datum *args, int expected)
{
	enspiral_write_begin(ENSPIRAL_WRITE_VOTES);
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 false, true, 0) < 0 ||
		(expected >= 0 && SPI_processed != (uint64) expected))
		elog(ERROR, "writing the vote tables failed");
	enspiral_write_end(ENSPIRAL_WRITE_VOTES);
}

/* Put a removed member back into the electorate (the removal stays as history) */
static void
restore_voter(int64 group_id, int64 pid, int64 member_id, TimestampTz now)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[4] = {INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID};
	Datum		args[4] = {Int64GetDatum(group_id), Int64GetDatum(pid),
	Int64GetDatum(member_id), TimestampTzGetDatum(now)};

	enspiral_plan(&plan,
				  "UPDATE enspiral.electorate_removals SET restored_at = $4"
				  " WHERE group_id OPERATOR(pg_catalog.=) $1"
				  "   AND proposal_id OPERATOR(pg_catalog.=) $2"
				  "   AND member_id OPERATOR(pg_catalog.=) $3 AND restored_at IS NULL",
				  4, argtypes);
	write_votes(plan, args, -1);
}

/* add_voter, 0.1.0 and group-first: group_id 0 when not given */
static void
add_voter(int64 group_id, int64 pid, int64 member_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[4] = {INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID};
	TimestampTz now = decisions_now();
	Datum		args[4] = {Int64GetDatum(pid), Int64GetDatum(member_id),
	TimestampTzGetDatum(now), (Datum) 0};
	VoteContext vc;

	enspiral_spi_connect();
	locked_context(group_id, pid, member_id, now, &vc);
	if (vc.anonymous)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_ELIGIBLE),
				 errmsg("electorate of an anonymous proposal cannot be extended"),
				 errdetail("Proposal %lld is anonymous.", (long long) pid)));
	if (vc.state == PROPOSAL_CLOSED || vc.state == PROPOSAL_WITHDRAWN)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_VOTING_CLOSED),
				 errmsg("electorate of a finished proposal cannot change"),
				 errdetail("Proposal %lld is %s.", (long long) pid,
						   lifecycle_state_name(LIFECYCLE_PROPOSAL, vc.state))));
	if (!vc.member_now)
	{
		enspiral_require_member(vc.group_id, member_id);	/* NS003 when unknown */
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_A_MEMBER),
				 errmsg("member is not a current member of the group"),
				 errdetail("Member %lld is not a current member of group %lld.",
						   (long long) member_id, (long long) vc.group_id)));
	}
	/*
	 * the proposal is locked above; one row by its group, which on Citus
	 * stays on the group's shard in this backend (an INSERT ... SELECT ran
	 * over Citus's own connections, where the guard refused it)
	 */
	args[3] = Int64GetDatum(vc.group_id);
	enspiral_plan(&plan,
				  "INSERT INTO enspiral.electorate_additions (group_id, proposal_id, member_id, added_at)"
				  " VALUES ($4, $1, $2, $3) ON CONFLICT DO NOTHING",
				  4, argtypes);
	write_votes(plan, args, -1);
	restore_voter(vc.group_id, pid, member_id, now);
	enspiral_spi_finish();
}

/*
 * enspiral.add_voter(proposal_id, member_id) RETURNS void
 *	  Add a current member who was not in the electorate (a later joiner, or
 *	  anyone on a proposal with voters = 'invited') to a named proposal that
 *	  is not yet closed; a removed voter is added again.
 */
Datum
enspiral_add_voter(PG_FUNCTION_ARGS)
{
	Datum		forwarded;

	/* on Citus: the group-first add_voter() on the group's node (core_forward.c) */
	if (enspiral_forward_by_id(fcinfo, "proposals", "proposals_proposal_id_idx",
							   "enspiral.add_voter(bigint,bigint,bigint)", &forwarded))
		PG_RETURN_VOID();
	add_voter(0, PG_GETARG_INT64(0), PG_GETARG_INT64(1));
	PG_RETURN_VOID();
}

/* enspiral.add_voter(group_id, proposal_id, member_id) RETURNS void: group-first */
Datum
enspiral_add_voter_in_group(PG_FUNCTION_ARGS)
{
	ENSPIRAL_FORWARD_TO_GROUP(fcinfo, PG_GETARG_INT64(0));
	add_voter(PG_GETARG_INT64(0), PG_GETARG_INT64(1), PG_GETARG_INT64(2));
	PG_RETURN_VOID();
}

/* Mark the member's counted vote superseded with the vote-table guard open */
static void
supersede_guarded(const VoteContext *vc, int64 pid, int64 member_id, TimestampTz now)
{
	enspiral_write_begin(ENSPIRAL_WRITE_VOTES);
	supersede_vote(vc, pid, member_id, now);
	enspiral_write_end(ENSPIRAL_WRITE_VOTES);
}

/* Refuse retracting or removing on an anonymous proposal (NS154) */
static void
refuse_anonymous(int64 pid, const VoteContext *vc, const char *what)
{
	if (vc->anonymous)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_ANONYMOUS_BALLOT),
				 errmsg("proposal is anonymous"),
				 errdetail("Proposal %lld is anonymous: its ballots are not linked to their voter, so enspiral.%s() cannot act on them.",
						   (long long) pid, what)));
}

/*
 * enspiral.retract_vote(group_id, proposal_id, member_id) RETURNS void
 *	  Withdraw a member's counted vote while the proposal is open: the vote
 *	  is marked superseded (kept as history) and nothing replaces it.
 */
Datum
enspiral_retract_vote(PG_FUNCTION_ARGS)
{
	int64		group_id = PG_GETARG_INT64(0);
	int64		pid = PG_GETARG_INT64(1);
	int64		member_id = PG_GETARG_INT64(2);
	TimestampTz now = decisions_now();
	VoteContext vc;

	ENSPIRAL_FORWARD_TO_GROUP(fcinfo, group_id);
	enspiral_spi_connect();
	locked_context(group_id, pid, member_id, now, &vc);
	refuse_anonymous(pid, &vc, "retract_vote");
	if (vc.state != PROPOSAL_OPEN)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_VOTING_CLOSED),
				 errmsg("proposal is not open for voting"),
				 errdetail("Proposal %lld is %s.", (long long) pid,
						   lifecycle_state_name(LIFECYCLE_PROPOSAL, vc.state))));
	if (!vc.has_current)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NO_VOTE),
				 errmsg("member has no vote to retract"),
				 errdetail("Member %lld has no counted vote on proposal %lld.",
						   (long long) member_id, (long long) pid)));
	supersede_guarded(&vc, pid, member_id, now);
	enspiral_spi_finish();
	PG_RETURN_VOID();
}

/* Whether the member is in the electorate of the proposal now */
static bool
in_electorate_now(int64 pid, int64 member_id, const VoteContext *vc)
{
	if (vc->invited)
		return vc->member_now && explicitly_added(vc->group_id, pid, member_id);
	return vc->member_now &&
		(vc->in_electorate || explicitly_added(vc->group_id, pid, member_id));
}

/*
 * enspiral.remove_voter(group_id, proposal_id, member_id) RETURNS void
 *	  Remove a member from the electorate of a named proposal that is not
 *	  closed: the removal is recorded (add_voter() ends it) and the member's
 *	  counted vote, if any, becomes history.
 */
Datum
enspiral_remove_voter(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[4] = {INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID};
	int64		group_id = PG_GETARG_INT64(0);
	int64		pid = PG_GETARG_INT64(1);
	int64		member_id = PG_GETARG_INT64(2);
	TimestampTz now = decisions_now();
	Datum		args[4] = {Int64GetDatum(group_id), Int64GetDatum(pid),
	Int64GetDatum(member_id), TimestampTzGetDatum(now)};
	VoteContext vc;

	ENSPIRAL_FORWARD_TO_GROUP(fcinfo, group_id);
	enspiral_spi_connect();
	locked_context(group_id, pid, member_id, now, &vc);
	refuse_anonymous(pid, &vc, "remove_voter");
	if (vc.state == PROPOSAL_CLOSED || vc.state == PROPOSAL_WITHDRAWN)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_VOTING_CLOSED),
				 errmsg("electorate of a finished proposal cannot change"),
				 errdetail("Proposal %lld is %s.", (long long) pid,
						   lifecycle_state_name(LIFECYCLE_PROPOSAL, vc.state))));
	if (!in_electorate_now(pid, member_id, &vc) || decisions_voter_removed(group_id, pid, member_id))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_A_VOTER),
				 errmsg("member is not in the electorate of the proposal"),
				 errdetail("Member %lld is not in the electorate of proposal %lld.",
						   (long long) member_id, (long long) pid)));
	enspiral_plan(&plan,
				  "INSERT INTO enspiral.electorate_removals (group_id, proposal_id, member_id, removed_at)"
				  " VALUES ($1, $2, $3, $4)",
				  4, argtypes);
	write_votes(plan, args, 1);
	if (vc.has_current)
		supersede_guarded(&vc, pid, member_id, now);
	enspiral_spi_finish();
	PG_RETURN_VOID();
}

/* Trigger enspiral.votes_guard(): only vote() and add_voter() write these tables */
Datum
enspiral_votes_guard(PG_FUNCTION_ARGS)
{
	static const char *const tables[] = {"votes", "participations",
	"anonymous_ballots", "electorate_additions", "electorate_removals"};
	TriggerData *td = (TriggerData *) fcinfo->context;

	(void) enspiral_trigger_call(fcinfo, "votes_guard", ENSPIRAL_TRIGGER_BEFORE);
	enspiral_require_trigger_table_in(td, "votes_guard", tables, lengthof(tables));
	/* a restore loads the dumped rows; verify_outcome() checks them */
	if (!enspiral_writing(ENSPIRAL_WRITE_VOTES) &&
		!(TRIGGER_FIRED_BY_INSERT(td->tg_event) && enspiral_in_restore_copy(td->tg_relation)))
	{
		int			t = 0;

		/* the table's name, also when it fired on a Citus shard of it */
		while (t < (int) lengthof(tables) - 1 && !enspiral_relation_is(td->tg_relation, tables[t]))
			t++;
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_DIRECT_WRITE),
				 errmsg("vote tables cannot be written directly"),
				 errdetail("The statement writes table enspiral.%s.", tables[t]),
				 errhint("Votes are cast with enspiral.vote(); electorates are extended with enspiral.add_voter(); nothing is deleted.")));
	}
	if (TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
	{
		/* removals change: the memo of decisions_removals.c is forgotten */
		if (!TRIGGER_FIRED_BY_DELETE(td->tg_event) && !TRIGGER_FIRED_BY_TRUNCATE(td->tg_event) &&
			enspiral_relation_is(td->tg_relation, "electorate_removals"))
			decisions_removals_changed(td->tg_relation);
		return (Datum) 0;
	}
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		return PointerGetDatum(td->tg_newtuple);
	return PointerGetDatum(td->tg_trigtuple);
}
