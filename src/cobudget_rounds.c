/*-------------------------------------------------------------------------
 *
 * cobudget_rounds.c
 *	  Co-budgeting rounds: allocating the pool to members, closing a round
 *	  (funding or refunding its open buckets) and paying quadratic-funding
 *	  matches once.  The arithmetic is enspiral.apportion() and
 *	  enspiral.quadratic_match() (allocation area), called through SPI.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "enspiral.h"
#include "lifecycle.h"
#include "alloc.h"
#include "cobudget.h"
#include "relaccess.h"

PG_FUNCTION_INFO_V1(enspiral_allocate);
PG_FUNCTION_INFO_V1(enspiral_close_round);
PG_FUNCTION_INFO_V1(enspiral_match_round);

/* What the round functions read of a locked round */
typedef struct RoundRow
{
	int64		group_id;
	int64		round_id;
	bool		closed;
	bool		matched;
	bool		keep_underfunded;
	int64		source_account;
	int64		pool_account;
} RoundRow;

/*
 * Lock a round row FOR NO KEY UPDATE (rank 1); NS201 when unknown.  The
 * row is locked by its key, group first, in a statement of its own (Citus
 * locks rows only so, and only in a query without subqueries); the read
 * that follows sees the version locked.
 */
static void
lock_round(int64 round_id, RoundRow *r)
{
	static SPIPlanPtr lock_plan = NULL;
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(round_id), 0};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;

	args[1] = Int64GetDatum(relaccess_group_of("rounds", "rounds_round_id_idx", round_id));
	enspiral_plan(&lock_plan,
				  "SELECT 1 FROM enspiral.rounds r"
				  " WHERE r.group_id OPERATOR(pg_catalog.=) $2 AND r.round_id = $1"
				  "   FOR NO KEY UPDATE",
				  2, argtypes);
	if (SPI_execute_plan(lock_plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "round lock failed");
	if (SPI_processed == 0)
		enspiral_not_found(ENSPIRAL_ROUND, 0, round_id);

	enspiral_plan(&plan,
				  "SELECT r.group_id, r.closed_at IS NOT NULL, r.matched_at IS NOT NULL,"
				  "       r.underfunded = 'keep',"
				  "       (SELECT a.account_id FROM enspiral.accounts a"
				  "         WHERE a.group_id = $2 AND a.round_id = r.round_id AND a.kind = 'source'),"
				  "       (SELECT a.account_id FROM enspiral.accounts a"
				  "         WHERE a.group_id = $2 AND a.round_id = r.round_id AND a.kind = 'pool')"
				  "  FROM enspiral.rounds r"
				  " WHERE r.group_id OPERATOR(pg_catalog.=) $2 AND r.round_id = $1",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "round lookup failed");
	if (SPI_processed == 0)
		enspiral_not_found(ENSPIRAL_ROUND, 0, round_id);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	r->round_id = round_id;
	r->group_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	r->closed = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
	r->matched = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
	r->keep_underfunded = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
	r->source_account = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
	if (isnull)
		elog(ERROR, "round %lld has no source account", (long long) round_id);
	r->pool_account = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
	if (isnull)
		elog(ERROR, "round %lld has no pool account", (long long) round_id);
}

/* Run a plan that returns one int8[] and one numeric[] column pair, etc. */
static ArrayType *
int8_array(int64 *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Int64GetDatum(v[i]);
	return construct_array(d, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
						   TYPALIGN_DOUBLE);
}

/* Refuse a member of an allocation who is not current or is listed twice */
static void
check_allocation_member(int64 group_id, int64 member_id, bool current, bool repeated)
{
	if (!current)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_A_MEMBER),
				 errmsg("member is not a current member of the group"),
				 errdetail("Member %lld is not a current member of group %lld.",
						   (long long) member_id, (long long) group_id)));
	if (repeated)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_REPEATED_MEMBER),
				 errmsg("member_ids must not repeat a member"),
				 errdetail("Member %lld appears more than once.", (long long) member_id),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "member_ids")));
}

/*
 * The members and weights of an allocation as (member_id, weight) rows in
 * member order: all current members with weight 1, or the given members
 * (each checked to be a current member, no duplicates) with the given
 * weights (1 each when NULL).  Inside SPI; result in SPI_tuptable.
 */
static void
allocation_rows(int64 group_id, Datum member_ids, bool ids_null,
				Datum weights, bool weights_null)
{
	static SPIPlanPtr all_plan = NULL;
	static SPIPlanPtr given_plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8ARRAYOID, NUMERICARRAYOID};
	Datum		args[3] = {Int64GetDatum(group_id), member_ids, weights};
	char		nulls[3] = {' ', ids_null ? 'n' : ' ', weights_null ? 'n' : ' '};
	SPIPlanPtr	plan;

	if (ids_null)
	{
		if (!weights_null)
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_ARRAY_MISMATCH),
					 errmsg("weights need member_ids"),
					 err_generic_string(PG_DIAG_COLUMN_NAME, "weights"),
					 errhint("Pass the members the weights belong to, in the same order.")));
		plan = enspiral_plan(&all_plan,
							 "SELECT c.member_id, 1::numeric, true"
							 "  FROM enspiral.current_members c WHERE c.group_id = $1"
							 " ORDER BY c.member_id",
							 1, argtypes);
	}
	else
	{
		ArrayType  *ids = DatumGetArrayTypeP(member_ids);

		if (array_contains_nulls(ids))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("member_ids must not contain NULL"),
					 err_generic_string(PG_DIAG_COLUMN_NAME, "member_ids")));
		if (!weights_null &&
			ArrayGetNItems(ARR_NDIM(ids), ARR_DIMS(ids)) !=
			ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(weights)),
						   ARR_DIMS(DatumGetArrayTypeP(weights))))
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_ARRAY_MISMATCH),
					 errmsg("member_ids and weights must have the same length"),
					 err_generic_string(PG_DIAG_COLUMN_NAME, "weights")));
		plan = enspiral_plan(&given_plan,
							 "SELECT m.id, COALESCE($3[m.ord], 1::numeric),"
							 "       enspiral.is_member($1, m.id),"
							 "       count(*) OVER (PARTITION BY m.id)"
							 "  FROM unnest($2) WITH ORDINALITY AS m(id, ord)"
							 " ORDER BY m.ord",
							 3, argtypes);
	}
	if (SPI_execute_plan(plan, args, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "allocation members lookup failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;

		check_allocation_member(group_id,
								DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull)),
								DatumGetBool(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull)),
								!ids_null &&
								DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 4, &isnull)) > 1);
	}
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NO_RECIPIENTS),
				 errmsg("nothing to allocate to"),
				 errdetail("No members were given and group %lld has no current members.",
						   (long long) group_id),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "member_ids")));
}

/* enspiral.apportion(total, weights) through SPI: shares[] in input order */
static int64 *
apportion_shares(int64 total, Datum *weights, int n)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, NUMERICARRAYOID};
	Datum		args[2];
	bool		isnull;
	Datum	   *elems;
	bool	   *enulls;
	int			nelems;
	int64	   *shares = palloc(sizeof(int64) * n);
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(NUMERICOID, &typlen, &typbyval, &typalign);
	args[0] = Int64GetDatum(total);
	args[1] = PointerGetDatum(construct_array(weights, n, NUMERICOID, typlen,
											  typbyval, typalign));
	enspiral_plan(&plan, "SELECT enspiral.apportion($1, $2)", 2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "apportion failed");
	deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 1, &isnull)),
					  INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &enulls, &nelems);
	if (nelems != n)
		elog(ERROR, "apportion returned %d shares for %d weights", nelems, n);
	for (int i = 0; i < n; i++)
		shares[i] = DatumGetInt64(elems[i]);
	return shares;
}

/*
 * Open (if missing) and lock the member accounts of a round together with
 * the pool account, ascending; returns each member's account id in acct[].
 */
static void
member_accounts(const RoundRow *r, int64 *members, int n, int64 *acct)
{
	static SPIPlanPtr ins_plan = NULL;
	static SPIPlanPtr ids_plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, INT8ARRAYOID};
	Datum		args[3];
	int64	   *lockids = palloc(sizeof(int64) * (n + 1));
	LedgerAccount *locked = palloc(sizeof(LedgerAccount) * (n + 1));

	args[0] = Int64GetDatum(r->group_id);
	args[1] = Int64GetDatum(r->round_id);
	args[2] = PointerGetDatum(int8_array(members, n));
	enspiral_plan(&ins_plan,
				  "INSERT INTO enspiral.accounts (group_id, round_id, kind, owner_id)"
				  " SELECT $1, $2, 'member', m FROM unnest($3) AS m ORDER BY m"
				  " ON CONFLICT DO NOTHING",
				  3, argtypes);
	if (SPI_execute_plan(ins_plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "member account insert failed");
	enspiral_plan(&ids_plan,
				  "SELECT a.account_id FROM unnest($3) WITH ORDINALITY AS m(id, ord)"
				  "  JOIN enspiral.accounts a ON a.group_id = $1 AND a.round_id = $2"
				  "   AND a.kind = 'member' AND a.owner_id = m.id"
				  " ORDER BY m.ord",
				  3, argtypes);
	if (SPI_execute_plan(ids_plan, args, NULL, false, 0) != SPI_OK_SELECT ||
		SPI_processed != (uint64) n)
		elog(ERROR, "member account lookup failed");
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		acct[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
											  SPI_tuptable->tupdesc, 1, &isnull));
		lockids[i] = acct[i];
	}
	lockids[n] = r->pool_account;
	ledger_lock_accounts(r->group_id, lockids, n + 1, locked);
}

/*
 * enspiral.allocate(round_id, member_ids, weights) RETURNS bigint
 *	  Move the whole undistributed pool to members, split exactly by
 *	  enspiral.apportion (largest remainder); returns the amount moved.
 */
Datum
enspiral_allocate(PG_FUNCTION_ARGS)
{
	RoundRow	r;
	LedgerAccount pool;
	int64		pool_id;
	int			n;
	int64	   *members,
			   *acct,
			   *shares;
	Datum	   *weights;
	Datum		forwarded;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("round_id must not be NULL"),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "round_id")));
	/* on Citus: the group-first allocate() on the round's node (core_forward.c) */
	if (enspiral_forward_by_id(fcinfo, "rounds", "rounds_round_id_idx",
							   "enspiral.allocate(bigint,bigint,bigint[],numeric[])", &forwarded))
		return forwarded;		/* fcinfo->isnull set */
	enspiral_spi_connect();
	lock_round(PG_GETARG_INT64(0), &r);
	if (r.closed)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_ROUND_NOT_OPEN),
				 errmsg("round is closed"),
				 errdetail("The pool of round %lld can no longer be allocated.",
						   (long long) r.round_id)));
	pool_id = r.pool_account;
	ledger_lock_accounts(r.group_id, &pool_id, 1, &pool);
	if (pool.balance == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_POOL_EXHAUSTED),
				 errmsg("round has nothing left to allocate"),
				 errdetail("The whole pool of round %lld has already been allocated to members.",
						   (long long) r.round_id)));

	allocation_rows(r.group_id, PG_GETARG_DATUM(1), PG_ARGISNULL(1),
					PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2));
	n = (int) SPI_processed;
	members = palloc(sizeof(int64) * n);
	weights = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[i];

		members[i] = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		weights[i] = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("weights must not contain NULL"),
					 err_generic_string(PG_DIAG_COLUMN_NAME, "weights")));
	}
	shares = apportion_shares(pool.balance, weights, n);
	acct = palloc(sizeof(int64) * n);
	member_accounts(&r, members, n, acct);
	for (int i = 0; i < n; i++)
		if (shares[i] > 0)
			ledger_insert(r.group_id, r.round_id, XFER_ALLOCATE, r.pool_account,
						  acct[i], shares[i], NULL, 0, NULL);
	enspiral_spi_finish();
	PG_RETURN_INT64(pool.balance);
}

/* Record that a round is closed */
static void
mark_closed(int64 group_id, int64 round_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(group_id), Int64GetDatum(round_id)};

	enspiral_plan(&plan,
				  "UPDATE enspiral.rounds SET closed_at = pg_catalog.now()"
				  " WHERE group_id = $1 AND round_id = $2",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "round close failed");
}

/*
 * Lock the buckets of a round in the given states, ascending (rank 2); on
 * return SPI_tuptable holds the ids of the locked buckets (column 1).
 */
static void
lock_round_buckets(const RoundRow *r, const char *state1, const char *state2)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, TEXTARRAYOID};
	Datum		args[3];
	Datum		states[2];

	states[0] = CStringGetTextDatum(state1);
	states[1] = CStringGetTextDatum(state2 ? state2 : state1);
	args[0] = Int64GetDatum(r->group_id);
	args[1] = Int64GetDatum(r->round_id);
	args[2] = PointerGetDatum(construct_array(states, 2, TEXTOID, -1, false,
											  TYPALIGN_INT));
	enspiral_plan(&plan,
				  "SELECT b.bucket_id FROM enspiral.buckets b"
				  " WHERE b.group_id = $1 AND b.round_id = $2"
				  "   AND b.state::text = ANY ($3)"
				  " ORDER BY b.bucket_id FOR NO KEY UPDATE",
				  3, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "bucket lock failed");
}

/*
 * Lock the round's open buckets, ascending, and return their ids (sorted)
 * in *ids.  Called again by close_round() when its decision read finds an
 * open bucket it does not hold: one created and opened (the round's close
 * not yet committed) after the close's first bucket lock.
 */
static int
lock_open_buckets(const RoundRow *r, int64 **ids)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(r->group_id), Int64GetDatum(r->round_id)};
	int			n;

	enspiral_plan(&plan,
				  "SELECT b.bucket_id FROM enspiral.buckets b"
				  " WHERE b.group_id = $1 AND b.round_id = $2 AND b.state::text = 'open'"
				  " ORDER BY b.bucket_id FOR NO KEY UPDATE",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "open bucket lock failed");
	n = (int) SPI_processed;
	*ids = palloc(sizeof(int64) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		(*ids)[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
												SPI_tuptable->tupdesc, 1, &isnull));
	}
	return n;
}

/* Whether the sorted ids[0..n) contain id */
static bool
ids_contain(const int64 *ids, int n, int64 id)
{
	int			lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (ids[mid] == id)
			return true;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/*
 * Lock the round's open buckets, then run the decision read plan (first
 * column: bucket_id) with a fresh snapshot; true when every bucket it read
 * is held, the result then in SPI_tuptable.
 */
static bool
read_held_open_buckets(const RoundRow *r, SPIPlanPtr plan, Datum *args)
{
	int64	   *held;
	int			nheld = lock_open_buckets(r, &held);

	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "open bucket lookup failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));

		if (!ids_contain(held, nheld, id))
			return false;
	}
	return true;
}

/*
 * Give every idea bucket of a closing round a new row version (nothing
 * changes): a REPEATABLE READ transaction that would open one of them on an
 * older snapshot then fails with a serialization error instead of opening
 * a bucket in a closed round.
 */
static void
touch_ideas(const RoundRow *r)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(r->group_id), Int64GetDatum(r->round_id)};

	enspiral_plan(&plan,
				  "UPDATE enspiral.buckets SET state_changed_at = state_changed_at"
				  " WHERE group_id = $1 AND round_id = $2 AND state::text = 'idea'",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "idea bucket update failed");
}

/* How often close_round locks and reads again before giving up (40001) */
#define CLOSE_ROUND_MAX_ATTEMPTS 100

/*
 * enspiral.close_round(round_id) RETURNS TABLE(bucket_id, state, total)
 *	  Close the round: every open bucket at or above min_goal becomes
 *	  funded; one below is refunded and cancelled (or funded as it stands
 *	  when the round's setting underfunded is "keep").
 */
Datum
enspiral_close_round(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2];
	RoundRow	r;
	int			n,
				nrefund = 0;
	int64	   *buckets,
			   *refund_accts;
	bool	   *funded;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("round_id must not be NULL"),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "round_id")));
	enspiral_spi_connect();
	lock_round(PG_GETARG_INT64(0), &r);
	if (r.closed)
	{
		/* repeating a finished action is a no-op (doc/application.md) */
		enspiral_spi_finish();
		PG_RETURN_INT32(0);
	}
	mark_closed(r.group_id, r.round_id);
	/* ideas too: an open_bucket() in flight is waited for, then decided */
	lock_round_buckets(&r, "idea", "open");
	touch_ideas(&r);

	/*
	 * Fresh read after the locks: totals can no longer change.  A bucket
	 * created after the lock above can still have been opened by a
	 * transaction that read the round before this close commits; it is not
	 * held, so a contribution in flight could escape the read and the
	 * refund; and deciding a bucket we do not hold would wait for its row
	 * or account while holding member accounts (the refunds), against the
	 * lock order, which deadlocks with a contribute() to it
	 * (iso_cobudget_close_unlocked.spec).  So lock the open buckets and
	 * read again until every bucket read is held: only then are accounts
	 * taken.
	 */
	args[0] = Int64GetDatum(r.group_id);
	args[1] = Int64GetDatum(r.round_id);
	enspiral_plan(&plan,
				  "SELECT b.bucket_id, a.balance >= b.min_goal, a.account_id"
				  "  FROM enspiral.buckets b"
				  "  JOIN enspiral.accounts a ON a.group_id = b.group_id AND a.round_id = b.round_id"
				  "   AND a.kind = 'bucket' AND a.owner_id = b.bucket_id"
				  " WHERE b.group_id = $1 AND b.round_id = $2 AND b.state::text = 'open'"
				  " ORDER BY b.bucket_id",
				  2, argtypes);
	for (int attempt = 0; !read_held_open_buckets(&r, plan, args); attempt++)
	{
		CHECK_FOR_INTERRUPTS();
		if (attempt >= CLOSE_ROUND_MAX_ATTEMPTS)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not close round because buckets kept opening"),
					 errdetail("After %d attempts to close round %lld, a bucket opened by a concurrent transaction was still not locked.",
							   CLOSE_ROUND_MAX_ATTEMPTS, (long long) r.round_id),
					 errhint("Retry the transaction.")));
	}
	n = (int) SPI_processed;
	buckets = palloc(sizeof(int64) * Max(n, 1));
	refund_accts = palloc(sizeof(int64) * Max(n, 1));
	funded = palloc(sizeof(bool) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;

		buckets[i] = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		funded[i] = DatumGetBool(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull)) ||
			r.keep_underfunded;
		if (!funded[i])
			refund_accts[nrefund++] =
				DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
	}
	if (nrefund > 0)
		ledger_refund_buckets(r.group_id, r.round_id, refund_accts, nrefund);
	for (int i = 0; i < n; i++)
		bucket_set_state(r.group_id, buckets[i],
						 funded[i] ? BUCKET_FUNDED : BUCKET_CANCELLED);
	enspiral_spi_finish();
	PG_RETURN_INT32(n);
}

/* Open the (empty) matching account of a round */
static int64
open_matching_account(const RoundRow *r)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(r->group_id), Int64GetDatum(r->round_id)};
	bool		isnull;
	int64		acct;

	enspiral_plan(&plan,
				  "INSERT INTO enspiral.accounts (group_id, round_id, kind)"
				  " VALUES ($1, $2, 'matching') RETURNING account_id",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "matching account insert failed");
	acct = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return acct;
}

/* Record that a round's matches were paid */
static void
mark_matched(const RoundRow *r, int64 matching_pool)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, INT8OID};
	Datum		args[3] = {Int64GetDatum(r->group_id), Int64GetDatum(r->round_id),
	Int64GetDatum(matching_pool)};

	enspiral_plan(&plan,
				  "UPDATE enspiral.rounds SET matched_at = pg_catalog.now(), matching_pool = $3"
				  " WHERE group_id = $1 AND round_id = $2",
				  3, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "round match update failed");
}

/*
 * The matches of a round: bucket account and match of each funded or
 * completed bucket with a match above 0, in account order, computed by
 * match_compute (cobudget_match.c) over the counted contributions.  Returns
 * the count; the arrays are in *accts and *amounts.
 */
static int
compute_matches(const RoundRow *r, int64 pool, const char *method,
				FunctionCallInfo fcinfo, int64 **accts, int64 **amounts)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, INT8ARRAYOID};
	Datum		args[3];
	EnspiralMatch *rows;
	int64	   *ids;
	int			n;
	int			k = 0;
	bool		opt_null = PG_NARGS() < 6 || PG_ARGISNULL(5);

	n = match_compute(r->group_id, r->round_id, pool, method,
					  !PG_ARGISNULL(3), PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3),
					  PG_GETARG_DATUM(4), PG_ARGISNULL(4),
					  opt_null ? (Datum) 0 : PG_GETARG_DATUM(5), opt_null,
					  (Datum) 0, true, PG_INT64_MAX, &rows);
	ids = palloc(sizeof(int64) * (n + 1));
	for (int i = 0; i < n; i++)
		if (rows[i].match > 0)
			ids[k++] = rows[i].project;
	args[0] = Int64GetDatum(r->group_id);
	args[1] = Int64GetDatum(r->round_id);
	args[2] = PointerGetDatum(int8_array(ids, k));
	enspiral_plan(&plan,
				  "SELECT a.owner_id, a.account_id FROM enspiral.accounts a"
				  " WHERE a.group_id = $1 AND a.round_id = $2 AND a.kind = 'bucket'"
				  "   AND a.owner_id = ANY ($3) ORDER BY a.account_id",
				  3, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_SELECT ||
		(int) SPI_processed != k)
		elog(ERROR, "bucket accounts of the matches not found");
	*accts = palloc(sizeof(int64) * (k + 1));
	*amounts = palloc(sizeof(int64) * (k + 1));
	for (int i = 0; i < k; i++)
	{
		bool		isnull;
		int64		bucket = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		int			j = 0;

		(*accts)[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		while (rows[j].project != bucket)
			j++;
		(*amounts)[i] = rows[j].match;
	}
	return k;
}

/*
 * enspiral.match_round(round_id, matching_pool, method, cap, threshold)
 *	  After close: fund the round's matching account with matching_pool and
 *	  pay the quadratic-funding matches into the funded buckets, once.
 *	  Returns the amount paid; the rest stays in the matching account.
 */
Datum
enspiral_match_round(PG_FUNCTION_ARGS)
{
	RoundRow	r;
	int64		pool,
				matching,
				paid = 0;
	int			n;
	int64	   *accts,
			   *amounts;
	char	   *method;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("round_id, matching_pool and method must not be NULL")));
	pool = PG_GETARG_INT64(1);
	method = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (pool < 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_AMOUNT),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "matching_pool"),
				 errmsg("matching_pool must not be negative"),
				 errdetail("The matching pool given is %lld.", (long long) pool)));
	enspiral_spi_connect();
	lock_round(PG_GETARG_INT64(0), &r);
	if (r.matched)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_ALREADY_MATCHED),
				 errmsg("round has already been matched"),
				 errdetail("Round %lld was matched before; matches are paid once per round.",
						   (long long) r.round_id)));
	if (!r.closed)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_ROUND_NOT_OPEN),
				 errmsg("round is not closed yet"),
				 errdetail("Round %lld is still open.", (long long) r.round_id),
				 errhint("Matches are paid after enspiral.close_round().")));
	lock_round_buckets(&r, "funded", "completed");
	n = compute_matches(&r, pool, method, fcinfo, &accts, &amounts);
	for (int i = 0; i < n; i++)
		paid = ledger_add(paid, amounts[i], "the matches");
	match_record(r.group_id, r.round_id, pool, method, PG_GETARG_DATUM(3),
				 PG_ARGISNULL(3), PG_GETARG_DATUM(4), PG_ARGISNULL(4),
				 PG_NARGS() < 6 || PG_ARGISNULL(5) ? (Datum) 0 : PG_GETARG_DATUM(5),
				 PG_NARGS() < 6 || PG_ARGISNULL(5));
	if (paid > pool)
		elog(ERROR, "quadratic_match paid %lld from a pool of %lld",
			 (long long) paid, (long long) pool);
	matching = open_matching_account(&r);
	{
		int64	   *lockids = palloc(sizeof(int64) * (n + 2));
		LedgerAccount *locked;

		memcpy(lockids, accts, sizeof(int64) * n);
		lockids[n] = matching;
		lockids[n + 1] = r.source_account;
		locked = palloc(sizeof(LedgerAccount) * (n + 2));
		ledger_lock_accounts(r.group_id, lockids, n + 2, locked);
	}
	if (pool > 0)
		ledger_insert(r.group_id, r.round_id, XFER_MATCH_FUND, r.source_account,
					  matching, pool, NULL, 0, NULL);
	for (int i = 0; i < n; i++)
		ledger_insert(r.group_id, r.round_id, XFER_MATCH, matching, accts[i],
					  amounts[i], NULL, 0, NULL);
	mark_matched(&r, pool);
	enspiral_spi_finish();
	PG_RETURN_INT64(paid);
}
