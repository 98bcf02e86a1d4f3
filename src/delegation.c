/*-------------------------------------------------------------------------
 *
 * delegation.c
 *	  Vote weights and transitive delegation for tallies
 *	  (doc/decision-rules.md, "Weights and delegation").
 *
 * vote() stores with each named vote its voter's own weight at the
 * opening (ref).  enspiral.delegated_weights(group_id, proposal_id, ref, t,
 * weighted) gives the weight delegated to voters: the delegations in
 * effect at ref are read once; each delegating electorate member who did
 * not vote follows its chain:
 *
 *	 - a member who voted is the carrier: the weight goes to its vote (a
 *	   member who votes suspends its own delegation for this proposal);
 *	 - a member in the chain who did not vote and delegates passes it on;
 *	 - a member who did not vote and does not delegate (or is not in the
 *	   electorate: departed, never eligible, removed) ends the chain, and a
 *	   chain that comes back to a member already on it is a cycle: in both
 *	   cases the weight is not counted (LiquidFeedback's rule: a cycle in
 *	   which nobody votes casts nothing; a vote anywhere on it breaks it).
 *
 * Each member is resolved once (the result of a chain is shared by every
 * member on it), so resolving costs O(delegations).  Sums are int64 with
 * overflow checks (22003).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/snapmgr.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "common/hashfn.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/memutils.h"

#include "enspiral.h"
#include "decisions.h"

PG_FUNCTION_INFO_V1(enspiral_delegated_weights);
PG_FUNCTION_INFO_V1(enspiral_lock_group_rules);

/* A member in the delegation graph of one tally */
typedef struct DelegNode
{
	int64		member_id;		/* hash key */
	int64		to_member;		/* delegate at ref; 0: none */
	int64		weight;			/* own weight at ref (delegators) */
	int64		delegated;		/* weight delegated to this voter */
	int64		carrier;		/* resolved: voter carrying the weight, 0: lost */
	bool		voted;			/* has a counted vote */
	int8		state;			/* 0 unresolved, 1 on the current path, 2 resolved */
} DelegNode;

/*
 * The carriers of the last tally, kept for the other queries of the same
 * tally: a tally reads its ballots several times under one snapshot, and
 * the delegations resolve the same way each time.  The key is everything
 * that decides the result: the proposal, ref, t, whether weights apply,
 * the transaction and the snapshot's contents.
 */
typedef struct CarrierCache
{
	bool		valid;
	int64		proposal_id;
	TimestampTz ref;
	TimestampTz t;
	bool		weighted;
	LocalTransactionId lxid;
	TransactionId xmin;
	TransactionId xmax;
	CommandId	curcid;
	uint32		xcnt;
	int32		subxcnt;
	uint32		xiphash;
	int			n;
	int64	   *members;
	int64	   *delegated;
	MemoryContext cxt;
} CarrierCache;

static CarrierCache carrier_cache = {0};

/* Add b to *a, 22003 on overflow */
static void
weight_add(int64 *a, int64 b)
{
	if (pg_add_s64_overflow(*a, b, a))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("vote weight out of range"),
				 errdetail("The weights of one tally must add up to at most %lld.",
						   (long long) PG_INT64_MAX)));
}

/* The node of a member, created empty when new */
static DelegNode *
node_of(HTAB *nodes, int64 member_id)
{
	bool		found;
	DelegNode  *n = hash_search(nodes, &member_id, HASH_ENTER, &found);

	if (!found)
	{
		n->to_member = 0;
		n->weight = 0;
		n->delegated = 0;
		n->carrier = 0;
		n->voted = false;
		n->state = 0;
	}
	return n;
}

/*
 * Read the delegations in effect at ref of members in the electorate at t
 * (a member at ref and at t, or added, and not removed: the definition of
 * enspiral.electorate_members()), with the delegators' weights at ref.
 */
static void
read_delegations(HTAB *nodes, const Datum *args)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[5] = {INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, BOOLOID};

	enspiral_plan(&plan,
				  "SELECT d.from_member, d.to_member,"
				  "       CASE WHEN $5 THEN COALESCE(w.weight, 1) ELSE 1 END"
				  "  FROM enspiral.delegations d"
				  "  LEFT JOIN enspiral.vote_weights w"
				  "    ON w.group_id OPERATOR(pg_catalog.=) d.group_id"
				  "   AND w.member_id OPERATOR(pg_catalog.=) d.from_member"
				  "   AND w.valid_from OPERATOR(pg_catalog.<=) $3"
				  "   AND (w.valid_to IS NULL OR w.valid_to OPERATOR(pg_catalog.>) $3)"
				  " WHERE d.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND d.valid_from OPERATOR(pg_catalog.<=) $3"
				  "   AND (d.valid_to IS NULL OR d.valid_to OPERATOR(pg_catalog.>) $3)"
				  "   AND EXISTS (SELECT 1 FROM enspiral.memberships m"
				  "                WHERE m.group_id OPERATOR(pg_catalog.=) $1"
				  "                  AND m.member_id OPERATOR(pg_catalog.=) d.from_member"
				  "                  AND m.joined_at OPERATOR(pg_catalog.<=) $4"
				  "                  AND (m.left_at IS NULL OR m.left_at OPERATOR(pg_catalog.>) $4))"
				  "   AND ((NOT EXISTS (SELECT 1 FROM enspiral.proposals x"
				  "                      WHERE x.group_id OPERATOR(pg_catalog.=) $1"
				  "                        AND x.proposal_id OPERATOR(pg_catalog.=) $2"
				  "                        AND x.settings OPERATOR(pg_catalog.->>) 'voters' OPERATOR(pg_catalog.=) 'invited')"
				  "         AND EXISTS (SELECT 1 FROM enspiral.memberships m"
				  "                      WHERE m.group_id OPERATOR(pg_catalog.=) $1"
				  "                        AND m.member_id OPERATOR(pg_catalog.=) d.from_member"
				  "                        AND m.joined_at OPERATOR(pg_catalog.<=) $3"
				  "                        AND (m.left_at IS NULL OR m.left_at OPERATOR(pg_catalog.>) $3)))"
				  "        OR EXISTS (SELECT 1 FROM enspiral.electorate_additions a"
				  "                    WHERE a.group_id OPERATOR(pg_catalog.=) $1"
				  "                      AND a.proposal_id OPERATOR(pg_catalog.=) $2"
				  "                      AND a.member_id OPERATOR(pg_catalog.=) d.from_member))"
				  "   AND d.from_member NOT IN (SELECT r.member_id FROM enspiral.electorate_removals r"
				  "                              WHERE r.group_id OPERATOR(pg_catalog.=) $1"
				  "                                AND r.proposal_id OPERATOR(pg_catalog.=) $2"
				  "                                AND r.removed_at OPERATOR(pg_catalog.<=) $4"
				  "                                AND (r.restored_at IS NULL"
				  "                                     OR r.restored_at OPERATOR(pg_catalog.>) $4))",
				  5, argtypes);
	if (SPI_execute_plan(plan, unconstify(Datum *, args), NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading delegations failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		DelegNode  *n = node_of(nodes, DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)));

		CHECK_FOR_INTERRUPTS();
		n->to_member = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		n->weight = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		(void) node_of(nodes, n->to_member);
	}
}

/*
 * Mark the members of the graph who have a counted vote at t.  One pass
 * over the counted votes of the proposal (cheaper than probing for each
 * member of the graph).
 */
static void
read_voters(HTAB *nodes, const Datum *args)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[4] = {INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};

	enspiral_plan(&plan,
				  "SELECT v.member_id FROM enspiral.votes v"
				  " WHERE v.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND v.proposal_id OPERATOR(pg_catalog.=) $2"
				  "   AND v.superseded_at IS NULL"
				  "   AND v.member_id NOT IN (SELECT d FROM enspiral.departed_members($1, $4) d)",
				  4, argtypes);
	if (SPI_execute_plan(plan, unconstify(Datum *, args), NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading voters failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		m = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													SPI_tuptable->tupdesc, 1, &isnull));
		DelegNode  *n = hash_search(nodes, &m, HASH_FIND, NULL);

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (n != NULL)
			n->voted = true;
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Resolve the carrier of a delegating member: walk its chain until a voter,
 * a resolved member, the end of the chain or a cycle; every member on the
 * path gets the same result.
 */
static void
resolve(HTAB *nodes, DelegNode *start, DelegNode **path)
{
	int			len = 0;
	int64		carrier = 0;
	DelegNode  *x = start;

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (x->voted)
		{
			carrier = x->member_id;
			break;
		}
		if (x->state == 2)
		{
			carrier = x->carrier;
			break;
		}
		if (x->state == 1 || x->to_member == 0)
			break;				/* cycle, or the chain ends without a vote */
		x->state = 1;
		path[len++] = x;
		x = hash_search(nodes, &x->to_member, HASH_FIND, NULL);
	}
	for (int i = 0; i < len; i++)
	{
		path[i]->state = 2;
		path[i]->carrier = carrier;
	}
}

/*
 * Give every delegator's weight to its carrier.  A delegator who voted
 * keeps its own weight (its delegation is suspended for this proposal); a
 * delegator outside the electorate is not in the graph at all; a delegate
 * outside it has no delegation and no counted vote, so the chain ends.
 */
static void
resolve_all(HTAB *nodes)
{
	long		n = hash_get_num_entries(nodes);
	DelegNode **path = palloc(sizeof(DelegNode *) * Max(n, 1));
	HASH_SEQ_STATUS seq;
	DelegNode  *d;

	hash_seq_init(&seq, nodes);
	while ((d = hash_seq_search(&seq)) != NULL)
		if (!d->voted && d->to_member != 0 && d->state == 0)
			resolve(nodes, d, path);
	hash_seq_init(&seq, nodes);
	while ((d = hash_seq_search(&seq)) != NULL)
	{
		if (!d->voted && d->to_member != 0 && d->carrier != 0)
		{
			DelegNode  *c = hash_search(nodes, &d->carrier, HASH_FIND, NULL);

			weight_add(&c->delegated, d->weight);
		}
	}
	pfree(path);
}

/* Hash of the transaction ids a snapshot sees as in progress */
static uint32
snapshot_xip_hash(Snapshot snap)
{
	uint32		h = hash_bytes((const unsigned char *) snap->xip, sizeof(TransactionId) * snap->xcnt);

	if (snap->subxcnt > 0)
		h ^= hash_bytes((const unsigned char *) snap->subxip,
						sizeof(TransactionId) * snap->subxcnt);
	return h;
}

/* Whether the cache holds the carriers of this tally under this snapshot */
static bool
cache_matches(int64 pid, TimestampTz ref, TimestampTz t, bool weighted, Snapshot snap)
{
	CarrierCache *c = &carrier_cache;

	return c->valid && c->proposal_id == pid && c->ref == ref && c->t == t &&
		c->weighted == weighted && c->lxid == MyProc->lxid &&
		c->xmin == snap->xmin && c->xmax == snap->xmax && c->curcid == snap->curcid &&
		c->xcnt == snap->xcnt && c->subxcnt == snap->subxcnt &&
		!snap->suboverflowed && c->xiphash == snapshot_xip_hash(snap);
}

/* Resolve the delegations of a tally and keep the carriers in the cache */
static void
build_carriers(Datum *args, Snapshot snap)
{
	CarrierCache *c = &carrier_cache;
	HASHCTL		ctl;
	HTAB	   *nodes;
	HASH_SEQ_STATUS seq;
	DelegNode  *d;
	int			k = 0;

	c->valid = false;
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(DelegNode);
	ctl.hcxt = CurrentMemoryContext;
	nodes = hash_create("enspiral delegation", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	enspiral_spi_connect();
	read_delegations(nodes, args);
	if (hash_get_num_entries(nodes) > 0)
	{
		read_voters(nodes, args);
		resolve_all(nodes);
	}
	enspiral_spi_finish();
	if (c->cxt == NULL)
		c->cxt = AllocSetContextCreate(TopMemoryContext, "enspiral carriers",
									   ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(c->cxt);
	c->members = MemoryContextAllocHuge(c->cxt, sizeof(int64) * Max(hash_get_num_entries(nodes), 1));
	c->delegated = MemoryContextAllocHuge(c->cxt, sizeof(int64) * Max(hash_get_num_entries(nodes), 1));
	hash_seq_init(&seq, nodes);
	while ((d = hash_seq_search(&seq)) != NULL)
		if (d->voted && d->delegated > 0)
		{
			c->members[k] = d->member_id;
			c->delegated[k++] = d->delegated;
		}
	hash_destroy(nodes);
	c->n = k;
	c->proposal_id = DatumGetInt64(args[1]);
	c->ref = DatumGetTimestampTz(args[2]);
	c->t = DatumGetTimestampTz(args[3]);
	c->weighted = DatumGetBool(args[4]);
	c->lxid = MyProc->lxid;
	c->xmin = snap->xmin;
	c->xmax = snap->xmax;
	c->curcid = snap->curcid;
	c->xcnt = snap->xcnt;
	c->subxcnt = snap->subxcnt;
	c->xiphash = snapshot_xip_hash(snap);
	c->valid = !snap->suboverflowed;
}

/*
 * enspiral.delegated_weights(group_id, proposal_id, ref, t, weighted)
 *	  RETURNS TABLE (member_id, delegated)
 *	  Internal: the members with a counted vote at t who carry delegated
 *	  weight along the delegations in effect at ref, and how much.
 */
Datum
enspiral_delegated_weights(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		args[5] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), PG_GETARG_DATUM(2),
	PG_GETARG_DATUM(3), PG_GETARG_DATUM(4)};
	Snapshot	snap = GetActiveSnapshot();

	InitMaterializedSRF(fcinfo, 0);
	if (!cache_matches(PG_GETARG_INT64(1), PG_GETARG_TIMESTAMPTZ(2), PG_GETARG_TIMESTAMPTZ(3),
					   PG_GETARG_BOOL(4), snap))
		build_carriers(args, snap);
	for (int i = 0; i < carrier_cache.n; i++)
	{
		Datum		values[2] = {Int64GetDatum(carrier_cache.members[i]),
		Int64GetDatum(carrier_cache.delegated[i])};
		bool		nulls[2] = {false, false};

		CHECK_FOR_INTERRUPTS();
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * A member's vote weight at a time (latest snapshot), 1 without one: what
 * vote() stores with a ballot (the weight at the opening).  Call connected
 * to SPI.
 */
int64
delegation_own_weight(int64 group_id, int64 member_id, TimestampTz at)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, TIMESTAMPTZOID};
	Datum		args[3] = {Int64GetDatum(group_id), Int64GetDatum(member_id),
	TimestampTzGetDatum(at)};
	bool		isnull;
	int64		w;

	enspiral_plan(&plan,
				  "SELECT w.weight FROM enspiral.vote_weights w"
				  " WHERE w.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND w.member_id OPERATOR(pg_catalog.=) $2"
				  "   AND w.valid_from OPERATOR(pg_catalog.<=) $3"
				  "   AND (w.valid_to IS NULL OR w.valid_to OPERATOR(pg_catalog.>) $3)",
				  3, argtypes);
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "weight lookup failed");
	if (SPI_processed == 0)
		return 1;
	w = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return isnull ? 1 : w;
}

/*
 * Whether a proposal of the group opens (or opened) at or after t, under
 * the latest snapshot: an opening that committed while we waited for the
 * lock is seen even in a REPEATABLE READ transaction.
 */
static bool
opening_at_or_after(int64 group_id, TimestampTz t)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, TIMESTAMPTZOID};
	Datum		args[2] = {Int64GetDatum(group_id), TimestampTzGetDatum(t)};
	bool		found;

	enspiral_spi_connect();
	enspiral_plan(&plan,
				  "SELECT 1 FROM enspiral.proposals p"
				  " WHERE p.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND p.opens_at OPERATOR(pg_catalog.>=) $2",
				  2, argtypes);
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "opening lookup failed");
	found = SPI_processed > 0;
	enspiral_spi_finish();
	return found;
}

/*
 * enspiral.lock_group_rules(group_id) RETURNS timestamptz
 *	  Internal: wait for openings and outcome recordings in flight in the
 *	  group and keep them waiting until the end of the transaction; returns
 *	  the time a weight or delegation change takes effect: the statement
 *	  time, or the current clock when a proposal of the group opens at or
 *	  after the statement time (an opening that this change waited for, or
 *	  a scheduled one), so that a change is never stamped before an opening
 *	  that committed before it.
 */
Datum
enspiral_lock_group_rules(PG_FUNCTION_ARGS)
{
	int64		group_id = PG_GETARG_INT64(0);
	TimestampTz t = GetCurrentStatementStartTimestamp();

	decisions_rules_lock(group_id, ExclusiveLock);
	if (opening_at_or_after(group_id, t))
		t = GetCurrentTimestamp();
	PG_RETURN_TIMESTAMPTZ(t);
}

/*
 * Whether delegate_id may cast member_id's vote on a proposal that opened
 * at ref: following the delegations in effect at ref from the member, the
 * chain reaches the delegate through current members of the group (a
 * departed member ends the chain, as in a tally), and the delegate is a
 * current member.  Read under the latest snapshot, like the rest of vote().
 * Call connected to SPI.
 */
bool
delegation_may_cast(int64 group_id, int64 member_id, int64 delegate_id, TimestampTz ref)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[4] = {INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID};
	Datum		args[4] = {Int64GetDatum(group_id), Int64GetDatum(member_id),
	TimestampTzGetDatum(ref), Int64GetDatum(delegate_id)};

	enspiral_plan(&plan,
				  "WITH RECURSIVE chain(m) AS ("
				  "  SELECT d.to_member FROM enspiral.delegations d"
				  "   WHERE d.group_id OPERATOR(pg_catalog.=) $1"
				  "     AND d.from_member OPERATOR(pg_catalog.=) $2"
				  "     AND d.valid_from OPERATOR(pg_catalog.<=) $3"
				  "     AND (d.valid_to IS NULL OR d.valid_to OPERATOR(pg_catalog.>) $3)"
				  "  UNION"
				  "  SELECT d.to_member FROM chain c JOIN enspiral.delegations d"
				  "    ON d.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND d.from_member OPERATOR(pg_catalog.=) c.m"
				  "   AND d.valid_from OPERATOR(pg_catalog.<=) $3"
				  "   AND (d.valid_to IS NULL OR d.valid_to OPERATOR(pg_catalog.>) $3)"
				  "   WHERE c.m OPERATOR(pg_catalog.<>) $4 AND c.m OPERATOR(pg_catalog.<>) $2"
				  "     AND EXISTS (SELECT 1 FROM enspiral.memberships x"
				  "                  WHERE x.group_id OPERATOR(pg_catalog.=) $1"
				  "                    AND x.member_id OPERATOR(pg_catalog.=) c.m"
				  "                    AND x.left_at IS NULL))"
				  " SELECT 1 FROM chain c"
				  "  WHERE c.m OPERATOR(pg_catalog.=) $4"
				  "    AND EXISTS (SELECT 1 FROM enspiral.memberships x"
				  "                 WHERE x.group_id OPERATOR(pg_catalog.=) $1"
				  "                   AND x.member_id OPERATOR(pg_catalog.=) $4"
				  "                   AND x.left_at IS NULL)",
				  4, argtypes);
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "delegation chain lookup failed");
	return SPI_processed > 0;
}
