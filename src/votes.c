/*-------------------------------------------------------------------------
 *
 * votes.c
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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "access/xact.h"
#include "nodes/makefuncs.h"
#include "parser/parsetree.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "enspiral.h"
#include "lifecycle.h"
#include "decisions.h"

PG_FUNCTION_INFO_V1(enspiral_vote);
PG_FUNCTION_INFO_V1(enspiral_add_voter);
PG_FUNCTION_INFO_V1(enspiral_votes_guard);
PG_FUNCTION_INFO_V1(enspiral_retract_vote);
PG_FUNCTION_INFO_V1(enspiral_remove_voter);
PG_FUNCTION_INFO_V1(enspiral_add_voter_in_group);
PG_FUNCTION_INFO_V1(enspiral_vote_in_group);

bool		decisions_writing_votes = false;

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

/*
 * Direct index lookups.  The reads of vote() go through the unique indexes
 * themselves rather than through planned queries: each is one btree
 * descent on a full key, whatever the statistics of the tables say.
 */

/*
 * OIDs of the relations vote() reads, looked up once per backend; any
 * relcache invalidation of one of them (or of everything) forgets them, so
 * a dropped and re-created extension is found again.
 */
typedef struct RelidCacheEntry
{
	const char *name;
	Oid			relid;
} RelidCacheEntry;

#define RELID_CACHE_SIZE 16
static RelidCacheEntry relid_cache[RELID_CACHE_SIZE];
static int	relid_cache_n = 0;
static bool relid_callback_registered = false;

/* Relcache invalidation callback: forget the cached OIDs when one may be stale */
static void
relid_cache_invalidate(Datum arg, Oid relid)
{
	for (int i = 0; i < relid_cache_n; i++)
		if (!OidIsValid(relid) || relid_cache[i].relid == relid)
		{
			relid_cache_n = 0;
			return;
		}
}

/* OID of a relation of the enspiral schema */
static Oid
decisions_relid(const char *name)
{
	Oid			relid;

	for (int i = 0; i < relid_cache_n; i++)
		if (strcmp(relid_cache[i].name, name) == 0)
			return relid_cache[i].relid;
	relid = get_relname_relid(name, get_namespace_oid("enspiral", false));
	if (!OidIsValid(relid))
		elog(ERROR, "enspiral.%s does not exist", name);
	if (!relid_callback_registered)
	{
		CacheRegisterRelcacheCallback(relid_cache_invalidate, (Datum) 0);
		relid_callback_registered = true;
	}
	if (relid_cache_n < RELID_CACHE_SIZE)
	{
		relid_cache[relid_cache_n].name = name;
		relid_cache[relid_cache_n].relid = relid;
		relid_cache_n++;
	}
	return relid;
}

/*
 * Look up the first tuple visible to snap in table through a unique index
 * whose leading nkeys columns equal the int8 keys, and copy the named
 * columns out; false when there is none.
 */
static bool
index_lookup(const char *table, const char *index, int nkeys, const int64 *keys,
			 Snapshot snap, int ncols, const char *const *cols, Datum *values,
			 bool *nulls, ItemPointer tid)
{
	Relation	heap = table_open(decisions_relid(table), AccessShareLock);
	Relation	idx = index_open(decisions_relid(index), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(heap);
	ScanKeyData sk[INDEX_MAX_KEYS];
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(heap, NULL);
	bool		found;

	/* on Citus the rows are in the shards: the same lookup in SQL (citus.c) */
	if (enspiral_table_is_distributed(RelationGetRelid(heap)))
	{
		found = enspiral_lookup_sql(heap, idx, nkeys, keys, snap, ncols, cols, values, nulls);
		if (tid != NULL)
			ItemPointerSetInvalid(tid);
		ExecDropSingleTupleTableSlot(slot);
		index_close(idx, AccessShareLock);
		table_close(heap, AccessShareLock);
		return found;
	}
	for (int i = 0; i < nkeys; i++)
		ScanKeyInit(&sk[i], i + 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(keys[i]));
	scan = index_beginscan(heap, idx, snap, nkeys, 0);
	index_rescan(scan, sk, nkeys, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	if (found && tid != NULL)
		*tid = slot->tts_tid;
	for (int i = 0; found && i < ncols; i++)
	{
		int			attnum = SPI_fnumber(desc, cols[i]);
		Form_pg_attribute att;

		if (attnum <= 0)
			elog(ERROR, "column \"%s\" not found", cols[i]);
		att = TupleDescAttr(desc, attnum - 1);
		values[i] = slot_getattr(slot, attnum, &nulls[i]);
		if (!nulls[i])
			values[i] = datumCopy(values[i], att->attbyval, att->attlen);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(idx, AccessShareLock);
	table_close(heap, AccessShareLock);
	return found;
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

/* Whether the member is removed from the electorate now (latest snapshot) */
static bool
voter_removed(int64 group_id, int64 pid, int64 member_id)
{
	int64		keys[3] = {group_id, pid, member_id};
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	bool		found = index_lookup("electorate_removals", "electorate_removals_current",
									 3, keys, snap, 0, NULL, NULL, NULL, NULL);

	UnregisterSnapshot(snap);
	return found;
}

/*
 * Read the proposal row into vc; false when missing.  A group-first call
 * (group_id not 0) looks it up by its primary key, which Citus routes to
 * the group's shard.
 */
static bool
lookup_proposal(int64 group_id, int64 pid, Snapshot snap, TimestampTz now, VoteContext *vc)
{
	static const char *const cols[] = {"group_id", "state", "opens_at", "closes_at",
	"method", "options", "settings"};
	Datum		v[lengthof(cols)];
	bool		n[lengthof(cols)];
	int64		keys[2] = {group_id, pid};

	if (group_id != 0 ?
		!index_lookup("proposals", "proposals_pkey", 2, keys, snap,
					  lengthof(cols), cols, v, n, NULL) :
		!index_lookup("proposals", "proposals_proposal_id_idx", 1, &pid, snap,
					  lengthof(cols), cols, v, n, NULL))
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
	static const char *const vcols[] = {"vote_id"};
	int64		mkeys[2] = {vc->group_id, member_id};
	int64		vkeys[4] = {vc->group_id, pid, member_id, 0};
	Datum		v[2];
	bool		n[2];

	if (index_lookup("memberships", "memberships_current", 2, mkeys, snap, 2, mcols, v, n, NULL))
		apply_period(vc, DatumGetTimestampTz(v[0]), DatumGetTimestampTz(v[1]), n[1], now);
	if (index_lookup("votes", "votes_pkey", 4, vkeys, snap, 1, vcols, v, n,
					 &vc->current_tid))
	{
		vc->has_current = true;
		vc->current_vote_id = DatumGetInt64(v[0]);
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
				 errmsg("proposal %lld is not open for voting: it is %s",
						(long long) pid, lifecycle_state_name(LIFECYCLE_PROPOSAL, vc->state))));
	/* open at statement start; the write must also precede the deadline */
	if (!vc->closes_null && vc->closes_at <= enspiral_write_clock())
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_VOTING_CLOSED),
				 errmsg("proposal %lld is not open for voting: its deadline has passed",
						(long long) pid),
				 errdetail("The deadline passed while the statement casting this vote was running."),
				 errhint("A vote is accepted only if it is written before closes_at.")));
	if (!vc->member_now)
	{
		enspiral_require_member(vc->group_id, member_id);	/* NS003 when unknown */
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_ELIGIBLE),
				 errmsg("member %lld cannot vote on proposal %lld: not a current member of group %lld",
						(long long) member_id, (long long) pid, (long long) vc->group_id)));
	}
	if (!vc->in_electorate)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_ELIGIBLE),
				 errmsg("member %lld is not in the electorate of proposal %lld",
						(long long) member_id, (long long) pid),
				 vc->invited ? errdetail("Only members added with enspiral.add_voter() vote on this proposal.") :
				 errdetail("The electorate is the members of the group when the proposal opened."),
				 vc->anonymous ? 0 :
				 errhint("Use enspiral.add_voter() to add a later member explicitly.")));
}

/*
 * Mark the member's current vote superseded.  It is addressed by the tuple
 * id found under the member lock (a TID scan whatever the statistics); the
 * key columns are checked again.
 */
static void
supersede_vote(const VoteContext *vc, int64 pid, int64 member_id, TimestampTz now)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[6] = {TIDOID, TIMESTAMPTZOID, INT8OID, INT8OID, INT8OID, INT8OID};
	Datum		args[6] = {PointerGetDatum(&vc->current_tid), TimestampTzGetDatum(now),
		Int64GetDatum(vc->group_id), Int64GetDatum(pid), Int64GetDatum(member_id),
	Int64GetDatum(vc->current_vote_id)};

	static SPIPlanPtr by_key = NULL;
	SPIPlanPtr	p;

#define SUPERSEDE_KEY \
	"   AND group_id OPERATOR(pg_catalog.=) $3" \
	"   AND proposal_id OPERATOR(pg_catalog.=) $4" \
	"   AND member_id OPERATOR(pg_catalog.=) $5" \
	"   AND vote_id OPERATOR(pg_catalog.=) $6" \
	"   AND superseded_at IS NULL"

	/* on Citus there is no tuple id (index_lookup): by the key alone */
	if (ItemPointerIsValid(&vc->current_tid))
		p = enspiral_plan(&plan,
						  "UPDATE enspiral.votes SET superseded_at = $2, history_key = $6"
						  " WHERE ctid OPERATOR(pg_catalog.=) $1" SUPERSEDE_KEY,
						  6, argtypes);
	else
		p = enspiral_plan(&by_key,
						  "UPDATE enspiral.votes SET superseded_at = $2, history_key = $6"
						  " WHERE $1 IS NOT NULL" SUPERSEDE_KEY,
						  6, argtypes);
#undef SUPERSEDE_KEY
	if (SPI_execute_snapshot(p, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 false, true, 0) != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "superseding vote " INT64_FORMAT " failed", vc->current_vote_id);
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
	bool		found = index_lookup("vote_weights", "vote_weights_current", 2, keys, snap,
									 2, cols, v, n, NULL);

	UnregisterSnapshot(snap);
	if (!found)
		return 1;
	if (DatumGetTimestampTz(v[0]) <= vc->opens_at)
		return DatumGetInt64(v[1]);
	return delegation_own_weight(vc->group_id, member_id, vc->opens_at);
}

/* Set a column of a virtual slot by name */
static void
slot_set(TupleTableSlot *slot, const char *col, Datum value, bool isnull)
{
	int			attnum = SPI_fnumber(slot->tts_tupleDescriptor, col);

	if (attnum <= 0)
		elog(ERROR, "column \"%s\" not found", col);
	slot->tts_values[attnum - 1] = value;
	slot->tts_isnull[attnum - 1] = isnull;
}

/*
 * Insert the counted vote row with SQL (on Citus, where the rows are in the
 * shards); returns vote_id
 */
static int64
insert_vote_sql(const VoteContext *vc, int64 pid, int64 member_id, Jsonb *ballot,
				text *reason, TimestampTz now, int64 weight)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[7] = {INT8OID, INT8OID, INT8OID, JSONBOID, TEXTOID,
	TIMESTAMPTZOID, INT8OID};
	Datum		args[7] = {Int64GetDatum(vc->group_id), Int64GetDatum(pid),
		Int64GetDatum(member_id), JsonbPGetDatum(ballot), PointerGetDatum(reason),
	TimestampTzGetDatum(now), Int64GetDatum(weight)};
	char		nulls[7] = {' ', ' ', ' ', ' ', reason ? ' ' : 'n', ' ', vc->weighted ? ' ' : 'n'};
	bool		isnull;

	enspiral_plan(&plan,
				  "INSERT INTO enspiral.votes (group_id, proposal_id, member_id, ballot, reason,"
				  "                            cast_at, history_key, weight)"
				  " VALUES ($1, $2, $3, $4, $5, $6, 0, $7) RETURNING vote_id",
				  7, argtypes);
	if (SPI_execute_snapshot(plan, args, nulls, GetLatestSnapshot(), InvalidSnapshot,
							 false, true, 0) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "inserting the vote failed");
	CommandCounterIncrement();
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Insert the counted vote row directly, as logical replication applies a
 * row: the table's CHECK constraints, its unique index (one counted vote
 * per member: a concurrent duplicate waits and fails) and any row triggers
 * apply, without planning or a portal per vote.  Returns vote_id.
 */
static int64
insert_vote_row(const VoteContext *vc, int64 pid, int64 member_id, Jsonb *ballot,
				text *reason, TimestampTz now)
{
	/* the voter's weight at the opening (doc/decision-rules.md) */
	int64		weight = vc->weighted ? weight_at_opening(vc, member_id) : 0;
	Relation	rel;
	EState	   *estate = CreateExecutorState();
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	TupleTableSlot *slot;
	int64		vote_id;

	if (enspiral_table_is_distributed(decisions_relid("votes")))
		return insert_vote_sql(vc, pid, member_id, ballot, reason, now, weight);
	rel = table_open(decisions_relid("votes"), RowExclusiveLock);
	vote_id = nextval_internal(decisions_relid("votes_vote_id_seq"), false);
	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(rel);
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
#if PG_VERSION_NUM >= 160000
	ExecInitRangeTable(estate, list_make1(rte), NIL);
#else
	ExecInitRangeTable(estate, list_make1(rte));
#endif
	estate->es_output_cid = GetCurrentCommandId(true);
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	AfterTriggerBeginQuery();
	slot = ExecInitExtraTupleSlot(estate, RelationGetDescr(rel), &TTSOpsVirtual);
	ExecClearTuple(slot);
	for (int i = 0; i < slot->tts_tupleDescriptor->natts; i++)
		slot->tts_isnull[i] = true;
	slot_set(slot, "group_id", Int64GetDatum(vc->group_id), false);
	slot_set(slot, "proposal_id", Int64GetDatum(pid), false);
	slot_set(slot, "vote_id", Int64GetDatum(vote_id), false);
	slot_set(slot, "member_id", Int64GetDatum(member_id), false);
	slot_set(slot, "ballot", JsonbPGetDatum(ballot), false);
	slot_set(slot, "reason", PointerGetDatum(reason), reason == NULL);
	slot_set(slot, "cast_at", TimestampTzGetDatum(now), false);
	slot_set(slot, "history_key", Int64GetDatum(0), false);
	slot_set(slot, "weight", Int64GetDatum(weight), !vc->weighted);
	ExecStoreVirtualTuple(slot);
	ExecSimpleRelationInsert(rri, estate, slot);
	AfterTriggerEndQuery(estate);
	/* AFTER row triggers (the event feed) opened the relation again: close it */
	ExecCloseResultRelations(estate);
	ExecCloseIndices(rri);
	ExecResetTupleTable(estate->es_tupleTable, false);
	FreeExecutorState(estate);
	table_close(rel, NoLock);
	CommandCounterIncrement();
	return vote_id;
}

/* Insert a named vote (after superseding the current one); returns vote_id */
static int64
store_named_vote(int64 pid, int64 member_id, const VoteContext *vc, Jsonb *ballot,
				 text *reason, TimestampTz now)
{
	if (vc->has_current)
		supersede_vote(vc, pid, member_id, now);
	return insert_vote_row(vc, pid, member_id, ballot, reason, now);
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
 * vote_context, NS101 when the proposal is missing (in the group, for a
 * group-first call: group_id not 0)
 */
static void
require_vote_context(int64 group_id, int64 pid, int64 member_id, TimestampTz now,
					 VoteContext *vc)
{
	if (vote_context(group_id, pid, member_id, now, vc))
		return;
	if (group_id != 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_UNKNOWN_PROPOSAL),
				 errmsg("proposal %lld does not exist in group %lld",
						(long long) pid, (long long) group_id)));
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_UNKNOWN_PROPOSAL),
			 errmsg("proposal %lld does not exist", (long long) pid)));
}

/*
 * Cast (or replace) a member's vote; group_id 0 for the 0.1.0 call that
 * names no group.  Returns the vote id; *anonymous when the ballot is
 * anonymous (it has no id).
 */
static int64
cast_vote(int64 group_id, int64 pid, int64 member_id, Jsonb *given, text *reason,
		  bool *anonymous)
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
	if (vc.invited)
		vc.in_electorate = vc.member_now && explicitly_added(vc.group_id, pid, member_id);
	else if (!vc.in_electorate && !vc.anonymous && vc.member_now)
		vc.in_electorate = explicitly_added(vc.group_id, pid, member_id);
	check_vote_allowed(pid, member_id, &vc);
	if (!vc.anonymous && voter_removed(vc.group_id, pid, member_id))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_ELIGIBLE),
				 errmsg("member %lld was removed from the electorate of proposal %lld",
						(long long) member_id, (long long) pid),
				 errhint("enspiral.add_voter() adds the member again.")));
	ballot = ballot_normalize(proposal_rules(pid, &vc), given,
							  reason ? text_to_cstring(reason) : NULL, pid);
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
	*anonymous = vc.anonymous;
	return vote_id;
}

/*
 * enspiral.vote(proposal_id, member_id, ballot jsonb, reason text) RETURNS bigint
 *	  Cast (or replace) a member's vote; returns the vote id, or NULL for an
 *	  anonymous ballot (which has no id that could identify it).
 */
Datum
enspiral_vote(PG_FUNCTION_ARGS)
{
	bool		anonymous;
	int64		vote_id;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("proposal_id, member_id and ballot must not be NULL")));
	vote_id = cast_vote(0, PG_GETARG_INT64(0), PG_GETARG_INT64(1), PG_GETARG_JSONB_P(2),
						PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3), &anonymous);
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
	vote_id = cast_vote(PG_GETARG_INT64(0), PG_GETARG_INT64(1), PG_GETARG_INT64(2),
						PG_GETARG_JSONB_P(3), PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4),
						&anonymous);
	if (anonymous)
		PG_RETURN_NULL();
	PG_RETURN_INT64(vote_id);
}

/* Refuse a proposal that is not in the group named by a group-first call */
static void
check_group(int64 group_id, int64 pid, const VoteContext *vc)
{
	if (vc->group_id != group_id)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_UNKNOWN_PROPOSAL),
				 errmsg("proposal %lld does not exist in group %lld",
						(long long) pid, (long long) group_id)));
}

/* Read the proposal and voter under the locks of vote(); NS101 when missing */
static void
locked_context(int64 group_id, int64 pid, int64 member_id, TimestampTz now, VoteContext *vc)
{
	proposal_lock(pid, ShareLock);
	proposal_member_lock(pid, member_id);
	require_vote_context(group_id, pid, member_id, now, vc);
	if (group_id != 0)
		check_group(group_id, pid, vc);
}

/* Run one statement of the vote tables with the vote-table guard open */
static void
write_votes(SPIPlanPtr plan, Datum *args, int expected)
{
	PG_TRY();
	{
		decisions_writing_votes = true;
		if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
								 false, true, 0) < 0 ||
			(expected >= 0 && SPI_processed != (uint64) expected))
			elog(ERROR, "writing the vote tables failed");
	}
	PG_FINALLY();
	{
		decisions_writing_votes = false;
	}
	PG_END_TRY();
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
	Oid			argtypes[3] = {INT8OID, INT8OID, TIMESTAMPTZOID};
	TimestampTz now = decisions_now();
	Datum		args[3] = {Int64GetDatum(pid), Int64GetDatum(member_id),
	TimestampTzGetDatum(now)};
	VoteContext vc;

	enspiral_spi_connect();
	locked_context(group_id, pid, member_id, now, &vc);
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
	{
		enspiral_require_member(vc.group_id, member_id);	/* NS003 when unknown */
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_A_MEMBER),
				 errmsg("member %lld is not a current member of group %lld",
						(long long) member_id, (long long) vc.group_id)));
	}
	enspiral_plan(&plan,
				  "INSERT INTO enspiral.electorate_additions (group_id, proposal_id, member_id, added_at)"
				  " SELECT p.group_id, p.proposal_id, $2, $3 FROM enspiral.proposals p"
				  "  WHERE p.proposal_id = $1 ON CONFLICT DO NOTHING",
				  3, argtypes);
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
	add_voter(0, PG_GETARG_INT64(0), PG_GETARG_INT64(1));
	PG_RETURN_VOID();
}

/* enspiral.add_voter(group_id, proposal_id, member_id) RETURNS void: group-first */
Datum
enspiral_add_voter_in_group(PG_FUNCTION_ARGS)
{
	add_voter(PG_GETARG_INT64(0), PG_GETARG_INT64(1), PG_GETARG_INT64(2));
	PG_RETURN_VOID();
}

/* Mark the member's counted vote superseded with the vote-table guard open */
static void
supersede_guarded(const VoteContext *vc, int64 pid, int64 member_id, TimestampTz now)
{
	PG_TRY();
	{
		decisions_writing_votes = true;
		supersede_vote(vc, pid, member_id, now);
	}
	PG_FINALLY();
	{
		decisions_writing_votes = false;
	}
	PG_END_TRY();
}

/* Refuse retracting or removing on an anonymous proposal (NS154) */
static void
refuse_anonymous(int64 pid, const VoteContext *vc, const char *what)
{
	if (vc->anonymous)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_ANONYMOUS_BALLOT),
				 errmsg("cannot %s on anonymous proposal %lld", what, (long long) pid),
				 errdetail("Anonymous ballots are not linked to their voter.")));
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

	enspiral_spi_connect();
	locked_context(group_id, pid, member_id, now, &vc);
	refuse_anonymous(pid, &vc, "retract a vote");
	if (vc.state != PROPOSAL_OPEN)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_VOTING_CLOSED),
				 errmsg("proposal %lld is not open for voting: it is %s",
						(long long) pid, lifecycle_state_name(LIFECYCLE_PROPOSAL, vc.state))));
	if (!vc.has_current)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NO_VOTE),
				 errmsg("member %lld has no vote to retract on proposal %lld",
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

	enspiral_spi_connect();
	locked_context(group_id, pid, member_id, now, &vc);
	refuse_anonymous(pid, &vc, "remove a voter");
	if (vc.state == PROPOSAL_CLOSED || vc.state == PROPOSAL_WITHDRAWN)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_VOTING_CLOSED),
				 errmsg("proposal %lld is %s: its electorate cannot change",
						(long long) pid, lifecycle_state_name(LIFECYCLE_PROPOSAL, vc.state))));
	if (!in_electorate_now(pid, member_id, &vc) || voter_removed(group_id, pid, member_id))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_A_VOTER),
				 errmsg("member %lld is not in the electorate of proposal %lld",
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

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event))
		elog(ERROR, "votes_guard must be a BEFORE trigger");
	enspiral_require_trigger_table_in(td, "votes_guard", tables, lengthof(tables));
	/* a restore loads the dumped rows; verify_outcome() checks them */
	if (!decisions_writing_votes &&
		!(TRIGGER_FIRED_BY_INSERT(td->tg_event) && enspiral_in_restore_copy(td->tg_relation)))
	{
		int			t = 0;

		/* the table's name, also when it fired on a Citus shard of it */
		while (t < (int) lengthof(tables) - 1 && !enspiral_relation_is(td->tg_relation, tables[t]))
			t++;
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_DIRECT_WRITE),
				 errmsg("%s cannot be written directly", tables[t]),
				 errhint("Votes are cast with enspiral.vote(); electorates are extended with enspiral.add_voter(); nothing is deleted.")));
	}
	if (TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		return (Datum) 0;
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		return PointerGetDatum(td->tg_newtuple);
	return PointerGetDatum(td->tg_trigtuple);
}
