/*-------------------------------------------------------------------------
 *
 * delegation.c
 *	  Vote weights and transitive delegation for tallies
 *	  (doc/decision-rules.md, "Weights and delegation").
 *
 * enspiral.weighted_votes(group_id, proposal_id, ref, t, weighted,
 * delegation) returns every counted named vote at t with its weight:
 * the voter's own weight at ref (the opening) plus the weight delegated to
 * it.  The delegations and weights in effect at ref are read once; each
 * delegating electorate member who did not vote follows its chain:
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

#include "enspiral.h"
#include "decisions.h"

PG_FUNCTION_INFO_V1(enspiral_weighted_votes);
PG_FUNCTION_INFO_V1(enspiral_lock_group_rules);

/* A member in the delegation graph of one tally */
typedef struct DelegNode
{
	int64		member_id;		/* hash key */
	int64		to_member;		/* delegate at ref; 0: none */
	int64		weight;			/* own weight at ref */
	int64		delegated;		/* weight delegated to this voter */
	int64		carrier;		/* resolved: voter carrying the weight, 0: lost */
	int32		vote;			/* index of the counted vote, -1: did not vote */
	int8		state;			/* 0 unresolved, 1 on the current path, 2 resolved */
} DelegNode;

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
		n->vote = -1;
		n->state = 0;
	}
	return n;
}

/* Read the counted votes with their voters' weights; returns how many */
static uint64
read_votes(HTAB *nodes, Datum *args, SPITupleTable **votes)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[5] = {INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, BOOLOID};

	enspiral_plan(&plan,
				  "SELECT v.member_id, v.ballot,"
				  "       CASE WHEN $5 THEN COALESCE(w.weight, 1) ELSE 1 END"
				  "  FROM enspiral.votes v"
				  "  LEFT JOIN enspiral.vote_weights w"
				  "    ON w.group_id OPERATOR(pg_catalog.=) v.group_id"
				  "   AND w.member_id OPERATOR(pg_catalog.=) v.member_id"
				  "   AND w.valid_from OPERATOR(pg_catalog.<=) $3"
				  "   AND (w.valid_to IS NULL OR w.valid_to OPERATOR(pg_catalog.>) $3)"
				  " WHERE v.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND v.proposal_id OPERATOR(pg_catalog.=) $2"
				  "   AND v.superseded_at IS NULL"
				  "   AND v.member_id NOT IN (SELECT d FROM enspiral.departed_members($1, $4) d)",
				  5, argtypes);
	if (SPI_execute_plan(plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading votes failed");
	*votes = SPI_tuptable;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[i];
		DelegNode  *n = node_of(nodes, DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull)));

		CHECK_FOR_INTERRUPTS();
		n->vote = (int32) i;
		n->weight = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
	}
	return SPI_processed;
}

/* Read the delegations in effect at ref of electorate members, with their weights */
static void
read_delegations(HTAB *nodes, Datum *args)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[5] = {INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, BOOLOID};

	enspiral_plan(&plan,
				  "SELECT d.from_member, d.to_member,"
				  "       CASE WHEN $5 THEN COALESCE(w.weight, 1) ELSE 1 END"
				  "  FROM enspiral.delegations d"
				  "  JOIN enspiral.electorate_members($1, $2, $3, $4) e(member_id)"
				  "    ON e.member_id OPERATOR(pg_catalog.=) d.from_member"
				  "  LEFT JOIN enspiral.vote_weights w"
				  "    ON w.group_id OPERATOR(pg_catalog.=) d.group_id"
				  "   AND w.member_id OPERATOR(pg_catalog.=) d.from_member"
				  "   AND w.valid_from OPERATOR(pg_catalog.<=) $3"
				  "   AND (w.valid_to IS NULL OR w.valid_to OPERATOR(pg_catalog.>) $3)"
				  " WHERE d.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND d.valid_from OPERATOR(pg_catalog.<=) $3"
				  "   AND (d.valid_to IS NULL OR d.valid_to OPERATOR(pg_catalog.>) $3)",
				  5, argtypes);
	if (SPI_execute_plan(plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading delegations failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[i];
		DelegNode  *n = node_of(nodes, DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull)));

		CHECK_FOR_INTERRUPTS();
		if (n->vote >= 0)
			continue;			/* voted: its delegation is suspended */
		n->to_member = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
		n->weight = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
	}
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
		if (x->vote >= 0)
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
		if (x == NULL)
			break;				/* delegate outside the electorate */
	}
	for (int i = 0; i < len; i++)
	{
		path[i]->state = 2;
		path[i]->carrier = carrier;
	}
}

/* Give every resolved delegator's weight to its carrier */
static void
resolve_all(HTAB *nodes)
{
	long		n = hash_get_num_entries(nodes);
	DelegNode **path = palloc(sizeof(DelegNode *) * Max(n, 1));
	HASH_SEQ_STATUS seq;
	DelegNode  *d;

	hash_seq_init(&seq, nodes);
	while ((d = hash_seq_search(&seq)) != NULL)
		if (d->vote < 0 && d->state == 0)
			resolve(nodes, d, path);
	hash_seq_init(&seq, nodes);
	while ((d = hash_seq_search(&seq)) != NULL)
	{
		if (d->vote < 0 && d->carrier != 0)
		{
			DelegNode  *c = hash_search(nodes, &d->carrier, HASH_FIND, NULL);

			weight_add(&c->delegated, d->weight);
		}
	}
	pfree(path);
}

/*
 * enspiral.weighted_votes(group_id, proposal_id, ref, t, weighted, delegation)
 *	  RETURNS TABLE (member_id, ballot, direct, delegated, weight)
 *	  Internal: the counted named votes at t with the weight each carries.
 */
Datum
enspiral_weighted_votes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		args[5] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), PG_GETARG_DATUM(2),
	PG_GETARG_DATUM(3), PG_GETARG_DATUM(4)};
	bool		delegation = PG_GETARG_BOOL(5);
	HASHCTL		ctl;
	HTAB	   *nodes;
	SPITupleTable *votes;
	uint64		nvotes;

	InitMaterializedSRF(fcinfo, 0);
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(DelegNode);
	ctl.hcxt = CurrentMemoryContext;
	nodes = hash_create("enspiral delegation", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	enspiral_spi_connect();
	nvotes = read_votes(nodes, args, &votes);
	if (delegation)
	{
		read_delegations(nodes, args);
		resolve_all(nodes);
	}
	for (uint64 i = 0; i < nvotes; i++)
	{
		bool		isnull;
		HeapTuple	tup = votes->vals[i];
		int64		member_id = DatumGetInt64(SPI_getbinval(tup, votes->tupdesc, 1, &isnull));
		DelegNode  *n = hash_search(nodes, &member_id, HASH_FIND, NULL);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		int64		total = n->weight;

		CHECK_FOR_INTERRUPTS();
		weight_add(&total, n->delegated);
		values[0] = Int64GetDatum(member_id);
		values[1] = SPI_getbinval(tup, votes->tupdesc, 2, &isnull);
		values[2] = Int64GetDatum(n->weight);
		values[3] = Int64GetDatum(n->delegated);
		values[4] = Int64GetDatum(total);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	enspiral_spi_finish();
	return (Datum) 0;
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
