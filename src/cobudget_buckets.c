/*-------------------------------------------------------------------------
 *
 * cobudget_buckets.c
 *	  Buckets (the projects of a co-budgeting round) and contributions.
 *
 * A bucket's state is an enspiral.bucket_state; every change of it goes
 * through lifecycle_check_transition() (lifecycle_types.c), from the API
 * functions here and from the trigger enspiral.buckets_guard() for direct
 * writes.  A bucket's money is the balance of its ledger account.
 *
 * contribute() is the hot path: one locking read of the bucket row, the
 * bucket's account and the member's account through their unique indexes
 * (no planned statement, see lock_contribution), then the two balance
 * updates of the locked account rows and the insert of the transfer,
 * directly through core_relaccess.c (ledger_insert_applied): the row triggers,
 * constraints and indexes of both tables apply as for SQL statements.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "enspiral.h"
#include "lifecycle.h"
#include "cobudget.h"
#include "relaccess.h"

/* field 4 of the member contribution lock's tag (see lock_member) */
#define ENSPIRAL_MEMBER_LOCK_SPACE 3

PG_FUNCTION_INFO_V1(enspiral_contribute);
PG_FUNCTION_INFO_V1(enspiral_try_contribute);
PG_FUNCTION_INFO_V1(enspiral_contribute_in_group);
PG_FUNCTION_INFO_V1(enspiral_try_contribute_in_group);
PG_FUNCTION_INFO_V1(enspiral_cancel_bucket);
PG_FUNCTION_INFO_V1(enspiral_bucket_reopen);
PG_FUNCTION_INFO_V1(enspiral_open_bucket);
PG_FUNCTION_INFO_V1(enspiral_complete_bucket);
PG_FUNCTION_INFO_V1(enspiral_buckets_guard);

/* What contribute() and the bucket functions read of a locked bucket */
typedef struct BucketRow
{
	int64		group_id;
	int64		bucket_id;
	int64		round_id;
	int			state;
	int64		min_goal;
	int64		max_goal;
	TimestampTz opens_at;
	TimestampTz closes_at;
	bool		round_closed;
	bool		has_member_cap;
	int64		member_cap;
	int64		account_id;		/* the bucket's ledger account */
	int64		member_account; /* the member's account in the round, or 0 */
	HeapTuple	account_row;	/* locked version of the bucket's account */
	HeapTuple	member_account_row; /* locked version of the member's */
	int64		total;			/* bucket account balance (lock_contribution) */
	int64		balance;		/* member account balance (lock_contribution) */
	bool		member_now;		/* member of the group now (lock_contribution) */
} BucketRow;

/* Name of a bucket state */
static const char *
state_name(int state)
{
	return lifecycle_state_name(LIFECYCLE_BUCKET, state);
}

/*
 * Format a timestamp for an error detail, in its own palloc'd copy:
 * timestamptz_to_str() returns a static buffer, so several calls in one
 * errdetail would all print the last value.
 */
static const char *
ts_text(TimestampTz t)
{
	return pstrdup(timestamptz_to_str(t));
}

/* Read the first row of a bucket query (columns as in lock_bucket) */
static void
read_bucket_row(int64 bucket_id, BucketRow *b)
{
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;

	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	b->bucket_id = bucket_id;
	b->group_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	b->round_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	b->state = DatumGetLifecycleState(SPI_getbinval(tup, desc, 3, &isnull));
	b->min_goal = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
	b->max_goal = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
	b->opens_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 6, &isnull));
	b->closes_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 7, &isnull));
	b->round_closed = DatumGetBool(SPI_getbinval(tup, desc, 8, &isnull));
	d = SPI_getbinval(tup, desc, 9, &isnull);
	b->has_member_cap = !isnull;
	b->member_cap = isnull ? 0 : DatumGetInt64(d);
	d = SPI_getbinval(tup, desc, 10, &isnull);
	if (isnull)
		elog(ERROR, "bucket %lld has no ledger account", (long long) bucket_id);
	b->account_id = DatumGetInt64(d);
	d = SPI_getbinval(tup, desc, 11, &isnull);
	b->member_account = isnull ? 0 : DatumGetInt64(d);
}

/*
 * The bucket query of lock_bucket() and read_bucket(); every table keyed by
 * the group parameter itself, so that Citus routes the whole query, its
 * subqueries too, to the group's shards
 */
#define BUCKET_QUERY \
	"SELECT b.group_id, b.round_id, b.state, b.min_goal, b.max_goal," \
	"       r.opens_at, r.closes_at, r.closed_at IS NOT NULL," \
	"       r.max_per_member_per_bucket," \
	"       (SELECT a.account_id FROM enspiral.accounts a" \
	"         WHERE a.group_id = $3 AND a.round_id = b.round_id" \
	"           AND a.kind = 'bucket' AND a.owner_id = b.bucket_id)," \
	"       (SELECT a.account_id FROM enspiral.accounts a" \
	"         WHERE a.group_id = $3 AND a.round_id = b.round_id" \
	"           AND a.kind = 'member' AND a.owner_id = $2)" \
	"  FROM enspiral.buckets b" \
	"  JOIN enspiral.rounds r ON r.group_id = b.group_id AND r.round_id = b.round_id" \
	" WHERE b.group_id = $3 AND b.bucket_id = $1"

/*
 * Read a bucket with its round and accounts (member_id may be 0: no member
 * account wanted), locking the bucket row FOR NO KEY UPDATE when lock is
 * true.  Raises NS202 when the bucket does not exist.  Inside SPI.  The
 * row is locked by its key, group first, in a statement of its own (Citus
 * locks rows only so, and only in a query without subqueries); the read
 * that follows sees the version locked.
 */
static void
fetch_bucket(int64 bucket_id, int64 member_id, bool lock, BucketRow *b)
{
	static SPIPlanPtr lock_plan = NULL;
	static SPIPlanPtr read_plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, INT8OID};
	Datum		args[3] = {Int64GetDatum(bucket_id), Int64GetDatum(member_id),
		Int64GetDatum(relaccess_group_of("buckets", "buckets_bucket_id_idx", bucket_id))};

	if (lock)
	{
		enspiral_plan(&lock_plan,
					  "SELECT 1 FROM enspiral.buckets b"
					  " WHERE b.group_id = $3 AND b.bucket_id = $1 AND $2 = $2"
					  "   FOR NO KEY UPDATE",
					  3, argtypes);
		if (SPI_execute_plan(lock_plan, args, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "bucket lock failed");
		if (SPI_processed == 0)
			enspiral_not_found(ENSPIRAL_BUCKET, 0, bucket_id);
	}
	enspiral_plan(&read_plan, BUCKET_QUERY, 3, argtypes);
	if (SPI_execute_plan(read_plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "bucket lookup failed");
	if (SPI_processed == 0)
		enspiral_not_found(ENSPIRAL_BUCKET, 0, bucket_id);
	read_bucket_row(bucket_id, b);
}

/* Lock a bucket row FOR NO KEY UPDATE (rank 2) and read it */
static void
lock_bucket(int64 bucket_id, int64 member_id, BucketRow *b)
{
	fetch_bucket(bucket_id, member_id, true, b);
}

/*
 * Direct access for the hot path of contribute() (core_relaccess.c): the locking
 * read goes through the tables' unique indexes and locks rows exactly as
 * SELECT ... FOR NO KEY UPDATE does.  Reads are MVCC index scans with the
 * statement's snapshot.  Nothing is written here: writes stay in SQL (SPI).
 */

/*
 * Take the member's contribution lock (a transaction-level lock of the
 * advisory kind, on a key space of its own: field 4 = 3, never used by the
 * SQL advisory lock functions) before any bucket: rank 0 of the lock order.
 * Two contributions of one member in one transaction then never deadlock
 * against a concurrent contribution of the same member, which waits for
 * this lock while holding nothing of the contribution.  Skipped when this
 * transaction already wrote the member's account (a refund, an earlier
 * contribution): it holds that row, so waiting here could close a cycle.
 * Always returns true (for use in a condition).
 */
static bool
lock_member(int64 member_id, bool account_written)
{
	LOCKTAG		tag;

	if (account_written)
		return true;
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) ((uint64) member_id >> 32),
						 (uint32) member_id, ENSPIRAL_MEMBER_LOCK_SPACE);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	return true;
}

/* Find the account of a bucket or member in a round; false if none */
static bool
direct_account(RelScan *acc, Snapshot snap, int64 group_id, int64 round_id,
			   Oid kind, int64 owner_id)
{
	Datum		keys[4] = {Int64GetDatum(group_id), Int64GetDatum(round_id),
	ObjectIdGetDatum(kind), Int64GetDatum(owner_id)};
	RegProcedure procs[4] = {F_INT8EQ, F_INT8EQ, F_ENUM_EQ, F_INT8EQ};

	return relaccess_fetch(acc, snap, 4, keys, procs);
}

/* Whether the member has a membership period containing now */
static bool
direct_member_now(Snapshot snap, int64 group_id, int64 member_id,
				  TimestampTz now)
{
	RelScan		ms;
	ScanKeyData sk[2];
	IndexScanDesc scan;
	bool		result = false;

	relaccess_open(&ms, "memberships", "memberships_pkey", AccessShareLock);
	ScanKeyInit(&sk[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(group_id));
	ScanKeyInit(&sk[1], 2, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(member_id));
	scan = index_beginscan(ms.heap, ms.index, snap, 2, 0);
	index_rescan(scan, sk, 2, NULL, 0);
	while (!result && index_getnext_slot(scan, ForwardScanDirection, ms.slot))
	{
		bool		isnull;
		TimestampTz joined = DatumGetTimestampTz(enspiral_slot_column(ms.slot, "joined_at", &isnull));
		Datum		left = enspiral_slot_column(ms.slot, "left_at", &isnull);

		result = joined <= now && (isnull || DatumGetTimestampTz(left) > now);
	}
	index_endscan(scan);
	relaccess_close(&ms);
	return result;
}

/* Read the round of bucket b into b */
static void
direct_read_round(Snapshot snap, BucketRow *b)
{
	RelScan		rd;
	Datum		keys[2] = {Int64GetDatum(b->group_id), Int64GetDatum(b->round_id)};
	RegProcedure procs[2] = {F_INT8EQ, F_INT8EQ};
	Datum		d;
	bool		isnull;

	relaccess_open(&rd, "rounds", "rounds_pkey", AccessShareLock);
	if (!relaccess_fetch(&rd, snap, 2, keys, procs))
		elog(ERROR, "round %lld of bucket %lld not found", (long long) b->round_id,
			 (long long) b->bucket_id);
	b->opens_at = DatumGetTimestampTz(enspiral_slot_column(rd.slot, "opens_at", &isnull));
	b->closes_at = DatumGetTimestampTz(enspiral_slot_column(rd.slot, "closes_at", &isnull));
	(void) enspiral_slot_column(rd.slot, "closed_at", &isnull);
	b->round_closed = !isnull;
	d = enspiral_slot_column(rd.slot, "max_per_member_per_bucket", &isnull);
	b->has_member_cap = !isnull;
	b->member_cap = isnull ? 0 : DatumGetInt64(d);
	relaccess_close(&rd);
}

/*
 * The hot path of contribute(): read the bucket, its round, the bucket's
 * account, the member's account and membership into b, and lock the
 * bucket row, the bucket's account and the member's account.  Lock order:
 * the bucket row first; a bucket account is only ever locked by a holder
 * of its bucket row, so it is never contended here; then the member's
 * account.  Returns false, locking nothing, unless the contribution can
 * be accepted as far as the bucket's state, the round's window and the
 * member's account go: a refusal on those grounds needs no lock, since a
 * bucket that is not open never becomes open again and a round's window
 * never reopens (an idea bucket opened concurrently was not open yet).
 * Raises NS202 when the bucket does not exist.  This is what
 *   SELECT ... FROM buckets b JOIN rounds r JOIN accounts ba JOIN accounts ma
 *    WHERE b.state = 'open' AND <round window>
 *      FOR NO KEY UPDATE OF b, ba, ma
 * does, through the unique indexes directly (see "Direct access" above):
 * the same rows, the same locks in the same order, the same re-check of
 * the bucket's state on its latest version, and no executor start-up.
 */
static bool
lock_contribution(int64 group_id, int64 bucket_id, int64 member_id, BucketRow *b)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	Snapshot	snap;
	RelScan		bk,
				acc;
	Datum		keys[2];
	RegProcedure procs[2] = {F_INT8EQ, F_INT8EQ};
	ItemPointerData bucket_row,
				bucket_acc,
				member_acc;
	bool		isnull;
	bool		locked = false;
	bool		member_written = false;

	/* like a SPI statement: see this transaction's earlier commands */
	CommandCounterIncrement();
	snap = RegisterSnapshot(GetTransactionSnapshot());

	/* group-first (group_id not 0): by the primary key, which Citus routes */
	relaccess_open(&bk, "buckets", group_id != 0 ? "buckets_pkey" : "buckets_bucket_id_idx",
				   RowShareLock);
	keys[0] = Int64GetDatum(group_id != 0 ? group_id : bucket_id);
	keys[1] = Int64GetDatum(bucket_id);
	if (!relaccess_fetch(&bk, snap, group_id != 0 ? 2 : 1, keys, procs))
		enspiral_not_found(ENSPIRAL_BUCKET, group_id, bucket_id);
	bucket_row = bk.slot->tts_tid;
	b->bucket_id = bucket_id;
	b->group_id = enspiral_slot_int64(bk.slot, "group_id");
	b->round_id = enspiral_slot_int64(bk.slot, "round_id");
	b->state = DatumGetLifecycleState(enspiral_slot_column(bk.slot, "state", &isnull));
	b->min_goal = enspiral_slot_int64(bk.slot, "min_goal");
	b->max_goal = enspiral_slot_int64(bk.slot, "max_goal");

	direct_read_round(snap, b);

	/*
	 * The accounts in the mode of their update (ledger_insert_applied), a
	 * mode that also covers the row locks below: one lock on the table and
	 * one on the index instead of two each (fewer entries in the lock table,
	 * taken and released per call).  A refused contribution holds it too,
	 * as an UPDATE that matched no row would.
	 */
	relaccess_open(&acc, "accounts", "accounts_group_id_round_id_kind_owner_id_key",
				   RowExclusiveLock);
	if (!direct_account(&acc, snap, b->group_id, b->round_id,
						relaccess_enum_label("account_kind", "bucket"), bucket_id))
		elog(ERROR, "bucket %lld has no ledger account", (long long) bucket_id);
	b->account_id = enspiral_slot_int64(acc.slot, "account_id");
	bucket_acc = acc.slot->tts_tid;
	b->member_account = 0;
	if (direct_account(&acc, snap, b->group_id, b->round_id,
					   relaccess_enum_label("account_kind", "member"), member_id))
	{
		b->member_account = enspiral_slot_int64(acc.slot, "account_id");
		member_acc = acc.slot->tts_tid;
		member_written = relaccess_written_here(acc.slot);
	}
	b->member_now = direct_member_now(snap, b->group_id, member_id, now);

	if (b->state == BUCKET_OPEN && !b->round_closed && b->opens_at <= now &&
		now < b->closes_at && b->member_account != 0 &&
		lock_member(member_id, member_written) &&
		relaccess_lock(&bk, &bucket_row, snap))
	{
		/* re-check the latest version of the bucket, as EvalPlanQual would */
		b->state = DatumGetLifecycleState(enspiral_slot_column(bk.slot, "state", &isnull));
		if (b->state != BUCKET_OPEN)
		{
			/* changed meanwhile: say why from a fresh read of the round */
			UnregisterSnapshot(snap);
			snap = RegisterSnapshot(GetTransactionSnapshot());
			direct_read_round(snap, b);
		}
		else
		{
			if (!relaccess_lock(&acc, &bucket_acc, snap))
				elog(ERROR, "account %lld vanished", (long long) b->account_id);
			b->total = enspiral_slot_int64(acc.slot, "balance");
			b->account_row = relaccess_locked_row(&acc);
			if (!relaccess_lock(&acc, &member_acc, snap))
				elog(ERROR, "account %lld vanished", (long long) b->member_account);
			b->balance = enspiral_slot_int64(acc.slot, "balance");
			b->member_account_row = relaccess_locked_row(&acc);
			locked = true;
		}
	}
	relaccess_close(&acc);
	relaccess_close(&bk);
	UnregisterSnapshot(snap);
	return locked;
}

/* Set the state of a bucket; the row trigger checks the transition */
void
bucket_set_state(int64 group_id, int64 bucket_id, int state)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, TEXTOID};
	Datum		args[3];

	/* by name, so that the saved plan survives a re-created type */
	args[0] = Int64GetDatum(group_id);
	args[1] = Int64GetDatum(bucket_id);
	args[2] = CStringGetTextDatum(state_name(state));
	enspiral_plan(&plan,
				  "UPDATE enspiral.buckets"
				  "   SET state = $3::text::enspiral.bucket_state,"
				  "       state_changed_at = pg_catalog.now()"
				  " WHERE group_id = $1 AND bucket_id = $2",
				  3, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_UPDATE ||
		SPI_processed != 1)
		elog(ERROR, "bucket %lld state update failed", (long long) bucket_id);
}

/*
 * Check a bucket state change; false when the bucket is already in the
 * target state (repeating a finished action is a no-op, doc/application.md)
 */
static bool
check_bucket_move(const BucketRow *b, int to)
{
	char		what[64];

	if (b->state == to)
		return false;
	snprintf(what, sizeof(what), "bucket %lld", (long long) b->bucket_id);
	lifecycle_check_transition(LIFECYCLE_BUCKET, b->state, to, what);
	return true;
}

/*
 * Idempotent replay: when the key was used in the group, return that
 * transfer id if it was the same contribution (else NS208); 0 if unused.
 */
static int64
find_replay(const BucketRow *b, int64 member_id, int64 amount, const char *key)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[5] = {INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID};
	Datum		args[5];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int64		id;

	args[0] = Int64GetDatum(b->group_id);
	args[1] = CStringGetTextDatum(key);
	args[2] = Int64GetDatum(b->bucket_id);
	args[3] = Int64GetDatum(member_id);
	args[4] = Int64GetDatum(amount);
	enspiral_plan(&plan,
				  "SELECT t.transfer_id,"
				  "       t.kind = 'contribute' AND t.amount = $5"
				  "       AND fa.kind = 'member' AND fa.owner_id = $4"
				  "       AND ta.kind = 'bucket' AND ta.owner_id = $3,"
				  "       t.kind, t.amount, fa.kind, fa.owner_id, ta.kind, ta.owner_id"
				  "  FROM enspiral.transfers t"
				  "  JOIN enspiral.accounts fa ON fa.group_id = t.group_id AND fa.account_id = t.from_account"
				  "  JOIN enspiral.accounts ta ON ta.group_id = t.group_id AND ta.account_id = t.to_account"
				  " WHERE t.group_id = $1 AND t.idempotency_key = $2",
				  5, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "idempotency lookup failed");
	if (SPI_processed == 0)
		return 0;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	if (!DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_IDEMPOTENCY_CONFLICT),
				 errmsg("idempotency key was already used for a different transfer"),
				 errdetail("In group %lld, transfer %lld (%s of %s from %s %s to %s %s) holds the key \"%s\"; this call asks for a contribution of %lld from member %lld to bucket %lld.",
						   (long long) b->group_id, (long long) id, SPI_getvalue(tup, desc, 3),
						   SPI_getvalue(tup, desc, 4), SPI_getvalue(tup, desc, 5),
						   SPI_getvalue(tup, desc, 6), SPI_getvalue(tup, desc, 7),
						   SPI_getvalue(tup, desc, 8), key, (long long) amount,
						   (long long) member_id, (long long) b->bucket_id)));
	return id;
}

/*
 * Refuse unless the round's window is open now and the round not closed.
 * The refusal is reported at elevel: ERROR raises it; a lower level (the
 * try_contribute path) only logs it, and the function returns false.
 */
static bool
check_round_window(const BucketRow *b, int elevel)
{
	TimestampTz now = enspiral_write_clock();

	if (b->round_closed)
	{
		ereport(elevel,
				(errcode(ERRCODE_ENSPIRAL_ROUND_NOT_OPEN),
				 errmsg("round is closed"),
				 errdetail("Round %lld is closed; contributions are accepted only until the round is closed.",
						   (long long) b->round_id)));
		return false;
	}
	if (now < b->opens_at || now >= b->closes_at)
	{
		ereport(elevel,
				(errcode(ERRCODE_ENSPIRAL_ROUND_NOT_OPEN),
				 errmsg("round is not open for contributions"),
				 errdetail("The window of round %lld is [%s, %s); now is %s.",
						   (long long) b->round_id, ts_text(b->opens_at),
						   ts_text(b->closes_at), ts_text(now))));
		return false;
	}
	return true;
}

/* Net amount the member has given to the bucket (contributions - refunds) */
static int64
member_given(int64 group_id, int64 member_account, int64 bucket_account)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, INT8OID};
	Datum		args[3] = {Int64GetDatum(group_id), Int64GetDatum(member_account),
	Int64GetDatum(bucket_account)};
	bool		isnull;
	Datum		d;

	enspiral_plan(&plan,
				  "SELECT (COALESCE(sum(amount) FILTER (WHERE from_account = $2), 0)"
				  "      - COALESCE(sum(amount) FILTER (WHERE from_account = $3), 0))::bigint"
				  "  FROM enspiral.transfers"
				  " WHERE group_id = $1"
				  "   AND ((to_account = $3 AND from_account = $2)"
				  "     OR (to_account = $2 AND from_account = $3))",
				  3, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "member total lookup failed");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/* The money rules of a contribution, on freshly locked balances; a
 * refusal is reported at elevel (see check_round_window) */
static bool
check_amounts(const BucketRow *b, int64 member_id, int64 amount,
			  int64 balance, int64 total, int elevel)
{
	int64		new_total;

	if (balance < amount)
	{
		ereport(elevel,
				(errcode(ERRCODE_ENSPIRAL_INSUFFICIENT_BALANCE),
				 errmsg("member would be overdrawn"),
				 errdetail("Member %lld has %lld left in round %lld and would give %lld.",
						   (long long) member_id, (long long) balance,
						   (long long) b->round_id, (long long) amount),
				 errhint("A member can give at most what was allocated to them and not yet given.")));
		return false;
	}
	new_total = ledger_add(total, amount, "the bucket total");
	if (new_total > b->max_goal)
	{
		ereport(elevel,
				(errcode(ERRCODE_ENSPIRAL_BUCKET_GOAL_EXCEEDED),
				 errmsg("bucket would exceed its maximum goal"),
				 errdetail("Bucket %lld holds %lld of its max_goal %lld; %lld more would exceed it.",
						   (long long) b->bucket_id, (long long) total,
						   (long long) b->max_goal, (long long) amount),
				 errhint("At most %lld more can be given to this bucket.",
						 (long long) (b->max_goal - total))));
		return false;
	}
	if (b->has_member_cap)
	{
		int64		given = member_given(b->group_id, b->member_account, b->account_id);

		if (ledger_add(given, amount, "the member's total to the bucket") > b->member_cap)
		{
			ereport(elevel,
					(errcode(ERRCODE_ENSPIRAL_MEMBER_CAP_EXCEEDED),
					 errmsg("member would exceed the per-member limit of the bucket"),
					 errdetail("Member %lld has given %lld to bucket %lld and would give %lld more; the round setting max_per_member_per_bucket is %lld.",
							   (long long) member_id, (long long) given,
							   (long long) b->bucket_id, (long long) amount,
							   (long long) b->member_cap)));
			return false;
		}
	}
	return true;
}

/* Refuse unless the round window, the bucket state, the membership and the
 * member's account allow a contribution at all; a refusal is reported at
 * elevel (see check_round_window) */
static bool
check_acceptable(const BucketRow *b, int64 member_id, int64 amount, int elevel)
{
	if (!check_round_window(b, elevel))
		return false;
	if (b->state != BUCKET_OPEN)
	{
		ereport(elevel,
				(errcode(ERRCODE_ENSPIRAL_BUCKET_NOT_OPEN),
				 errmsg("bucket is not open"),
				 errdetail("Bucket %lld is %s; contributions are accepted only while a bucket is open.",
						   (long long) b->bucket_id, state_name(b->state))));
		return false;
	}
	if (!b->member_now &&
		!enspiral_is_member_at(b->group_id, member_id, GetCurrentTransactionStartTimestamp()))
	{
		/* an unknown member is a bad argument, raised even by try_contribute */
		enspiral_require_member(b->group_id, member_id);
		ereport(elevel,
				(errcode(ERRCODE_ENSPIRAL_NOT_A_MEMBER),
				 errmsg("member is not a current member of the group"),
				 errdetail("Member %lld is not a current member of group %lld.",
						   (long long) member_id, (long long) b->group_id)));
		return false;
	}
	if (b->member_account == 0)
	{
		ereport(elevel,
				(errcode(ERRCODE_ENSPIRAL_INSUFFICIENT_BALANCE),
				 errmsg("member would be overdrawn"),
				 errdetail("Nothing was allocated to member %lld in round %lld, who would give %lld.",
						   (long long) member_id, (long long) b->round_id, (long long) amount)));
		return false;
	}
	return true;
}

/*
 * On Citus: a 0.1.0 contribute(bucket_id, ...) runs as the group-first form
 * named by signature on the bucket's node (core_forward.c); true with its
 * result (fcinfo->isnull set)
 */
static bool
forward_contribute(FunctionCallInfo fcinfo, const char *signature, Datum *result)
{
	/* a NULL argument is refused here, with the 0.1.0 form's own message */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return false;
	return enspiral_forward_by_id(fcinfo, "buckets", "buckets_bucket_id_idx", signature, result);
}

/*
 * The body of contribute() and try_contribute(): move amount from the
 * member's account to the bucket's account after checking every rule, and
 * return the transfer id.  A refusal by a contribution rule is reported at
 * elevel: ERROR raises it (contribute); a lower level logs it at most, and
 * the result is 0 with nothing moved (try_contribute; the row locks taken
 * for the checks are then held to the end of the transaction, as after a
 * SELECT ... FOR NO KEY UPDATE).  Bad arguments, an unknown bucket and a
 * reused idempotency key always raise.
 */
static int64
contribute_internal(FunctionCallInfo fcinfo, bool group_first, int elevel)
{
	int			a = group_first ? 1 : 0;	/* the argument bucket_id */
	int64		group_id = 0,
				bucket_id,
				member_id,
				amount,
				transfer_id;
	char	   *key = NULL;
	BucketRow	b;
	int64		total;
	bool		inserted;

	if (group_first && PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("group_id, bucket_id, member_id and amount must not be NULL")));
	if (PG_ARGISNULL(a) || PG_ARGISNULL(a + 1) || PG_ARGISNULL(a + 2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 group_first ?
				 errmsg("group_id, bucket_id, member_id and amount must not be NULL") :
				 errmsg("bucket_id, member_id and amount must not be NULL")));
	if (group_first)
		group_id = PG_GETARG_INT64(0);
	bucket_id = PG_GETARG_INT64(a);
	member_id = PG_GETARG_INT64(a + 1);
	amount = PG_GETARG_INT64(a + 2);
	if (!PG_ARGISNULL(a + 3))
		key = text_to_cstring(PG_GETARG_TEXT_PP(a + 3));
	if (key != NULL && key[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_EMPTY_TEXT),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "idempotency_key"),
				 errmsg("idempotency_key must not be empty"),
				 errhint("Pass NULL for no key.")));
	if (amount <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_AMOUNT),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "amount"),
				 errmsg("contribution amount must be positive"),
				 errdetail("The amount given is %lld.", (long long) amount)));

	enspiral_spi_connect();
	for (int attempt = 0;; attempt++)
	{
		bool		locked = lock_contribution(group_id, bucket_id, member_id, &b);

		if (key != NULL && (transfer_id = find_replay(&b, member_id, amount, key)) != 0)
		{
			enspiral_spi_finish();
			return transfer_id;
		}
		if (!check_acceptable(&b, member_id, amount, elevel))
		{
			enspiral_spi_finish();
			return 0;
		}
		if (locked)
			break;
		/* the bucket opened or the account appeared just now: lock again */
		CHECK_FOR_INTERRUPTS();
		if (attempt >= 2)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not contribute because the bucket kept changing"),
					 errdetail("Bucket %lld or the member's account changed under %d consecutive locking reads.",
							   (long long) bucket_id, attempt + 1),
					 errhint("Retry the transaction.")));
	}
	if (!check_amounts(&b, member_id, amount, b.balance, b.total, elevel))
	{
		enspiral_spi_finish();
		return 0;
	}
	total = b.total;

	if (key == NULL)
	{
		LedgerMove	mv = {b.group_id, b.round_id, XFER_CONTRIBUTE, b.member_account,
			b.member_account_row, b.account_id, b.account_row, amount,
		member_id, bucket_id};

		transfer_id = ledger_insert_applied(&mv);
		inserted = true;
	}
	else
		transfer_id = ledger_insert(b.group_id, b.round_id, XFER_CONTRIBUTE,
									b.member_account, b.account_id, amount, key, 0,
									&inserted);
	if (!inserted)
	{
		/* a concurrent call with the same key committed first */
		transfer_id = find_replay(&b, member_id, amount, key);
		if (transfer_id == 0)
			elog(ERROR, "idempotency key \"%s\" conflicted but was not found", key);
	}
	else if (total + amount == b.max_goal)
		bucket_set_state(b.group_id, bucket_id, BUCKET_FUNDED);
	enspiral_spi_finish();
	return transfer_id;
}

/*
 * enspiral.contribute(bucket_id, member_id, amount, idempotency_key)
 *	  Move amount from the member's account to the bucket's account, after
 *	  checking every rule; returns the transfer id.  A refusal raises.
 */
Datum
enspiral_contribute(PG_FUNCTION_ARGS)
{
	Datum		forwarded;

	if (forward_contribute(fcinfo, "enspiral.contribute(bigint,bigint,bigint,bigint,text)",
						   &forwarded))
		return forwarded;
	PG_RETURN_INT64(contribute_internal(fcinfo, false, ERROR));
}

/*
 * enspiral.try_contribute(bucket_id, member_id, amount, idempotency_key)
 *	  Like contribute(), but a refusal by a contribution rule returns NULL
 *	  instead of raising (logged at DEBUG1), so a caller that expects
 *	  refusals needs no savepoint.
 */
Datum
enspiral_try_contribute(PG_FUNCTION_ARGS)
{
	Datum		forwarded;
	int64		transfer_id;

	if (forward_contribute(fcinfo, "enspiral.try_contribute(bigint,bigint,bigint,bigint,text)",
						   &forwarded))
		return forwarded;
	transfer_id = contribute_internal(fcinfo, false, DEBUG1);

	if (transfer_id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(transfer_id);
}

/*
 * enspiral.contribute(group_id, bucket_id, member_id, amount,
 *					   idempotency_key): group-first contribute(); on Citus it
 *	  runs on the group's node
 */
Datum
enspiral_contribute_in_group(PG_FUNCTION_ARGS)
{
	if (!PG_ARGISNULL(0))
		ENSPIRAL_FORWARD_TO_GROUP(fcinfo, PG_GETARG_INT64(0));
	PG_RETURN_INT64(contribute_internal(fcinfo, true, ERROR));
}

/*
 * enspiral.try_contribute(group_id, bucket_id, member_id, amount,
 *						   idempotency_key): group-first try_contribute()
 */
Datum
enspiral_try_contribute_in_group(PG_FUNCTION_ARGS)
{
	int64		transfer_id;

	if (!PG_ARGISNULL(0))
		ENSPIRAL_FORWARD_TO_GROUP(fcinfo, PG_GETARG_INT64(0));
	transfer_id = contribute_internal(fcinfo, true, DEBUG1);

	if (transfer_id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(transfer_id);
}

/* Lock a bucket by id (no member), refusing NULL */
static void
lock_bucket_arg(FunctionCallInfo fcinfo, BucketRow *b)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("bucket_id must not be NULL")));
	lock_bucket(PG_GETARG_INT64(0), 0, b);
}

/*
 * enspiral.cancel_bucket(bucket_id): idea/open/funded -> cancelled, every
 * contribution (and any match) returned by a reversing transfer, once.
 * Returns the number of refunds.
 */
Datum
enspiral_cancel_bucket(PG_FUNCTION_ARGS)
{
	BucketRow	b;
	int			n;

	enspiral_spi_connect();
	lock_bucket_arg(fcinfo, &b);
	if (!check_bucket_move(&b, BUCKET_CANCELLED))
	{
		enspiral_spi_finish();
		PG_RETURN_INT32(0);
	}
	n = ledger_refund_buckets(b.group_id, b.round_id, &b.account_id, 1);
	bucket_set_state(b.group_id, b.bucket_id, BUCKET_CANCELLED);
	enspiral_spi_finish();
	PG_RETURN_INT32(n);
}

/*
 * Whether the round is closed, read afresh after the bucket lock, holding
 * the round row FOR SHARE until commit.  A close_round() that comes later
 * waits for this transaction (holding nothing yet), sees the bucket open
 * and decides it.  The lock is taken with SKIP LOCKED and never waited for:
 * a round locked by a close, allocate or match in progress refuses the
 * opening (retry), so a transaction that holds buckets can never wait for
 * the round here (the lock order).
 */
static bool
round_is_closed(int64 group_id, int64 round_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(group_id), Int64GetDatum(round_id)};
	bool		isnull;

	enspiral_plan(&plan,
				  "SELECT closed_at IS NOT NULL FROM enspiral.rounds"
				  " WHERE group_id = $1 AND round_id = $2"
				  "   FOR SHARE SKIP LOCKED",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "round lookup failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_ROUND_NOT_OPEN),
				 errmsg("buckets cannot be opened while their round is being closed, allocated or matched"),
				 errdetail("Another transaction is closing, allocating or matching round %lld.",
						   (long long) round_id),
				 errhint("Retry when that transaction has finished.")));
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * enspiral.open_bucket(bucket_id): idea -> open, while the round is not
 * closed and its window has not ended.  close_round() locks every idea and
 * open bucket of the round, so after this call holds the bucket row either
 * the close has committed (and the fresh read below sees it) or the close
 * will wait for this bucket and then decide it as an open bucket.
 */
Datum
enspiral_open_bucket(PG_FUNCTION_ARGS)
{
	BucketRow	b;
	TimestampTz now = enspiral_write_clock();
	bool		closed;

	enspiral_spi_connect();
	lock_bucket_arg(fcinfo, &b);
	if (!check_bucket_move(&b, BUCKET_OPEN))
	{
		enspiral_spi_finish();
		PG_RETURN_VOID();
	}
	closed = round_is_closed(b.group_id, b.round_id);
	if (closed || now >= b.closes_at)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_ROUND_NOT_OPEN),
				 errmsg("bucket cannot be opened after its round closes"),
				 closed ?
				 errdetail("Round %lld of bucket %lld is closed.",
						   (long long) b.round_id, (long long) b.bucket_id) :
				 errdetail("Round %lld of bucket %lld is past its closing time.",
						   (long long) b.round_id, (long long) b.bucket_id)));
	bucket_set_state(b.group_id, b.bucket_id, BUCKET_OPEN);
	enspiral_spi_finish();
	PG_RETURN_VOID();
}

/* enspiral.complete_bucket(bucket_id): funded -> completed */
Datum
enspiral_complete_bucket(PG_FUNCTION_ARGS)
{
	BucketRow	b;

	enspiral_spi_connect();
	lock_bucket_arg(fcinfo, &b);
	if (check_bucket_move(&b, BUCKET_COMPLETED))
		bucket_set_state(b.group_id, b.bucket_id, BUCKET_COMPLETED);
	enspiral_spi_finish();
	PG_RETURN_VOID();
}

/* Bucket state of a trigger tuple */
static int
tuple_state(HeapTuple tup, TupleDesc desc)
{
	bool		isnull;
	Datum		d = enspiral_column(tup, desc, "state", &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("bucket state must not be NULL")));
	return DatumGetLifecycleState(d);
}

/*
 * enspiral.buckets_guard(): BEFORE trigger on enspiral.buckets.  New
 * buckets start as ideas; a state change must be a transition of the
 * bucket lifecycle; identity and goals never change; nothing is deleted.
 */
Datum
enspiral_buckets_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	static const char *const fixed[] = {"group_id", "bucket_id", "round_id",
	"author_id", "title", "min_goal", "max_goal", "created_at"};

	(void) enspiral_trigger_call(fcinfo, "buckets_guard", ENSPIRAL_TRIGGER_BEFORE);
	enspiral_require_trigger_table(trig, "buckets_guard", "buckets");
	if (TRIGGER_FIRED_BY_TRUNCATE(trig->tg_event) || TRIGGER_FIRED_BY_DELETE(trig->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_APPEND_ONLY),
				 errmsg("buckets cannot be deleted"),
				 errhint("Use enspiral.cancel_bucket(), which refunds the contributors.")));
	desc = RelationGetDescr(trig->tg_relation);
	if (TRIGGER_FIRED_BY_INSERT(trig->tg_event))
	{
		int			s = tuple_state(trig->tg_trigtuple, desc);

		if (s != BUCKET_IDEA && !enspiral_in_restore_copy(trig->tg_relation))
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_INVALID_TRANSITION),
					 errmsg("new bucket must start as an idea"),
					 errdetail("The new bucket would start %s.", state_name(s))));
		return PointerGetDatum(trig->tg_trigtuple);
	}
	for (int i = 0; i < (int) lengthof(fixed); i++)
		if (!enspiral_column_unchanged(desc, trig->tg_trigtuple, trig->tg_newtuple, fixed[i]))
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_DIRECT_WRITE),
					 errmsg("column \"%s\" of a bucket cannot be changed", fixed[i])));
	{
		int			from = tuple_state(trig->tg_trigtuple, desc);
		int			to = tuple_state(trig->tg_newtuple, desc);
		bool		isnull;
		char		what[64];

		snprintf(what, sizeof(what), "bucket %lld",
				 (long long) DatumGetInt64(SPI_getbinval(trig->tg_trigtuple, desc,
														 enspiral_attnum(desc, "bucket_id"),
														 &isnull)));
		/* funded -> open only through enspiral.reopen_funding() */
		if (!(enspiral_writing(ENSPIRAL_WRITE_REOPEN) && from == BUCKET_FUNDED && to == BUCKET_OPEN))
			lifecycle_check_transition(LIFECYCLE_BUCKET, from, to, what);
	}
	return PointerGetDatum(trig->tg_newtuple);
}

/*
 * enspiral.bucket_reopen(group_id, bucket_id): funded -> open, the one move
 * outside the bucket lifecycle; internal to enspiral.reopen_funding(), which
 * checks and locks first.  The update itself repeats every condition (a
 * funded bucket below its max_goal, in an unclosed round before closes_at
 * that allows reopening), so a direct call cannot reopen anything else.
 */
Datum
enspiral_bucket_reopen(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)};
	int			rc;

	ENSPIRAL_FORWARD_TO_GROUP(fcinfo, PG_GETARG_INT64(0));

	enspiral_spi_connect();
	enspiral_plan(&plan,
				  "UPDATE enspiral.buckets b"
				  "   SET state = 'open'::text::enspiral.bucket_state,"
				  "       state_changed_at = pg_catalog.now()"
				  "  FROM enspiral.rounds r, enspiral.accounts a"
				  " WHERE b.group_id = $1 AND b.bucket_id = $2 AND b.state::text = 'funded'"
				  "   AND r.group_id = b.group_id AND r.round_id = b.round_id"
				  "   AND r.closed_at IS NULL AND pg_catalog.now() < r.closes_at"
				  "   AND (r.settings ->> 'allow_reopen_funding')::boolean"
				  "   AND a.group_id = b.group_id AND a.round_id = b.round_id"
				  "   AND a.kind = 'bucket' AND a.owner_id = b.bucket_id"
				  "   AND a.balance < b.max_goal",
				  2, argtypes);
	enspiral_write_begin(ENSPIRAL_WRITE_REOPEN);
	rc = SPI_execute_plan(plan, args, NULL, false, 0);
	enspiral_write_end(ENSPIRAL_WRITE_REOPEN);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "bucket reopen failed");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_NOT_FUNDED_EARLY),
				 errmsg("bucket cannot reopen for funding"),
				 errdetail("Bucket %lld did not reopen. Only a funded bucket below its max_goal reopens, in a round that allows it, before the round closes.",
						   (long long) PG_GETARG_INT64(1)),
				 errhint("Use enspiral.reopen_funding().")));
	enspiral_spi_finish();
	PG_RETURN_VOID();
}
