/*-------------------------------------------------------------------------
 *
 * cobudget_ledger.c
 *	  The co-budgeting ledger: an append-only table of double-entry
 *	  transfers between accounts, and account balances maintained in C.
 *
 * Every movement of money is one row of enspiral.transfers (from one
 * account to another account of the same round, amount > 0).  The AFTER
 * INSERT trigger enspiral.ledger_apply() moves the amount between the two
 * balances, so a balance is always the sum of its entries, whoever inserts
 * the row.  enspiral.accounts_guard() refuses any other change of a balance
 * and any deletion; the transfers themselves are never updated or deleted
 * (see 40_cobudget.sql).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "common/int.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "tcop/pquery.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"

#include "enspiral.h"
#include "cobudget.h"
#include "relaccess.h"

PG_FUNCTION_INFO_V1(enspiral_ledger_apply);
PG_FUNCTION_INFO_V1(enspiral_accounts_guard);

/* Add two amounts; NS408 naming what overflowed instead of wrapping */
int64
ledger_add(int64 a, int64 b, const char *what)
{
	int64		r;

	if (pg_add_s64_overflow(a, b, &r))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_AMOUNT_OVERFLOW),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "amount"),
				 errmsg("amount is out of range"),
				 errdetail("Adding %lld to %lld leaves the bigint range (%s).",
						   (long long) b, (long long) a, what)));
	return r;
}

/*
 * Run a balance update; a balance leaving the bigint range (22003 from the
 * UPDATE) becomes NS408 with the amount and the accounts.  The caught error
 * is replaced at once by the new one, so nothing runs in the failed state.
 */
static int
execute_balance_update(SPIPlanPtr plan, Datum *args, int64 from_account,
					   int64 to_account, int64 amount)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile int rc = 0;

	PG_TRY();
	{
		rc = SPI_execute_plan(plan, args, NULL, false, 0);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		if (e->sqlerrcode != ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_AMOUNT_OVERFLOW),
				 errmsg("balance is out of range"),
				 errdetail("Moving %lld from account %lld to account %lld would take a balance out of the bigint range.",
						   (long long) amount, (long long) from_account,
						   (long long) to_account),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "amount")));
	}
	PG_END_TRY();
	return rc;
}

/*
 * Insert one transfer and return its id; call inside SPI.  With an
 * idempotency key the insert is ON CONFLICT DO NOTHING: *inserted tells
 * whether a row was written (when false the result is 0).  reverses = 0
 * means "reverses nothing".
 */
int64
ledger_insert(int64 group_id, int64 round_id, const char *kind,
			  int64 from_account, int64 to_account, int64 amount,
			  const char *idempotency_key, int64 reverses, bool *inserted)
{
	static SPIPlanPtr plain_plan = NULL;
	static SPIPlanPtr keyed_plan = NULL;
	Oid			argtypes[8] = {INT8OID, INT8OID, TEXTOID, INT8OID, INT8OID,
	INT8OID, TEXTOID, INT8OID};
	Datum		args[8];
	char		nulls[8] = "        ";
	SPIPlanPtr	plan;
	bool		isnull;
	Datum		d;

	args[0] = Int64GetDatum(group_id);
	args[1] = Int64GetDatum(round_id);
	args[2] = CStringGetTextDatum(kind);
	args[3] = Int64GetDatum(from_account);
	args[4] = Int64GetDatum(to_account);
	args[5] = Int64GetDatum(amount);
	args[6] = idempotency_key ? CStringGetTextDatum(idempotency_key) : (Datum) 0;
	args[7] = Int64GetDatum(reverses);
	if (idempotency_key == NULL)
		nulls[6] = 'n';
	if (reverses == 0)
		nulls[7] = 'n';

	if (idempotency_key == NULL)
		plan = enspiral_plan(&plain_plan,
							 "INSERT INTO enspiral.transfers"
							 " (group_id, round_id, kind, from_account, to_account,"
							 "  amount, idempotency_key, reverses)"
							 " VALUES ($1, $2, $3::enspiral.transfer_kind, $4, $5, $6, $7, $8)"
							 " RETURNING transfer_id",
							 8, argtypes);
	else
		plan = enspiral_plan(&keyed_plan,
							 "INSERT INTO enspiral.transfers"
							 " (group_id, round_id, kind, from_account, to_account,"
							 "  amount, idempotency_key, reverses)"
							 " VALUES ($1, $2, $3::enspiral.transfer_kind, $4, $5, $6, $7, $8)"
							 " ON CONFLICT (group_id, idempotency_key)"
							 "   WHERE idempotency_key IS NOT NULL DO NOTHING"
							 " RETURNING transfer_id",
							 8, argtypes);
	if (SPI_execute_plan(plan, args, nulls, false, 1) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "transfer insert failed");
	if (SPI_processed == 0)
	{
		if (inserted)
			*inserted = false;
		return 0;
	}
	if (inserted)
		*inserted = true;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return DatumGetInt64(d);
}

/*
 * Add delta to the balance of account row, the version the caller locked
 * (relaccess_locked_row: its latest, which nobody else can change while
 * the lock is held, so it is not read again), through writer w: an UPDATE
 * of that row, with the guard trigger, the CHECK constraints and the
 * indexes of accounts.  A balance leaving the bigint range is NS408, as
 * in execute_balance_update.
 */
static void
apply_to_locked_account(RelWriter *w, HeapTuple row, const LedgerMove *mv,
						int64 account_id, int64 delta)
{
	int64		balance;
	RelColumn	col = {"balance", (Datum) 0, false};

	relaccess_writer_use_row(w, row);
	if (enspiral_slot_int64(w->oldslot, "group_id") != mv->group_id ||
		enspiral_slot_int64(w->oldslot, "account_id") != account_id ||
		enspiral_slot_int64(w->oldslot, "round_id") != mv->round_id)
		elog(ERROR, "account %lld of round %lld is not the row locked",
			 (long long) account_id, (long long) mv->round_id);
	if (pg_add_s64_overflow(enspiral_slot_int64(w->oldslot, "balance"), delta, &balance))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_AMOUNT_OVERFLOW),
				 errmsg("transfer amount would take a balance out of range"),
				 errdetail("Moving %lld from account %lld to account %lld would take a balance out of the bigint range.",
						   (long long) mv->amount, (long long) mv->from_account,
						   (long long) mv->to_account),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "amount")));
	col.value = Int64GetDatum(balance);
	relaccess_writer_update(w, &col, 1);
}

/* Insert the transfer row of mv, with id transfer_id, through a writer of its own */
static void
insert_transfer_row(const LedgerMove *mv, int64 transfer_id)
{
	RelColumn	cols[] = {
		{"group_id", Int64GetDatum(mv->group_id), false},
		{"transfer_id", Int64GetDatum(transfer_id), false},
		{"round_id", Int64GetDatum(mv->round_id), false},
		{"kind", ObjectIdGetDatum(relaccess_enum_label("transfer_kind", mv->kind)), false},
		{"from_account", Int64GetDatum(mv->from_account), false},
		{"to_account", Int64GetDatum(mv->to_account), false},
		{"amount", Int64GetDatum(mv->amount), false},
		{"created_at", TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()), false},
	};

	relaccess_insert("transfers", cols, lengthof(cols), true);
}

/* Move the balances and insert the transfer of mv (flags set by the caller) */
static int64
insert_applied_locked(const LedgerMove *mv)
{
	RelWriter	w;
	int64		transfer_id;
	int64		accounts[2] = {mv->from_account, mv->to_account};
	int64		owners[2] = {mv->from_owner, mv->to_owner};

	relaccess_writer_open(&w, "accounts", TRIGGER_TYPE_UPDATE);
	apply_to_locked_account(&w, mv->from_row, mv, mv->from_account, -mv->amount);
	apply_to_locked_account(&w, mv->to_row, mv, mv->to_account, mv->amount);
	relaccess_writer_close(&w);
	transfer_id = nextval_internal(relaccess_relid("transfers_transfer_id_seq"), false);
	/* the contribution event names both owners: read above, not again */
	hot_event_set_owners(mv->group_id, accounts, owners);
	PG_TRY();
	{
		insert_transfer_row(mv, transfer_id);
	}
	PG_FINALLY();
	{
		hot_event_set_owners(0, NULL, NULL);
	}
	PG_END_TRY();
	return transfer_id;
}

/*
 * Insert one transfer and apply it to both balances (the hot path of
 * contribute), directly through core_relaccess.c: the caller holds both account
 * rows locked (their latest versions in mv->from_row and mv->to_row) and
 * has checked the amounts.  The two balance updates and the insert are what
 * the SQL statements would do, row triggers, constraints and indexes
 * included (core_relaccess.c, "Inserts"); the ledger_apply trigger sees the
 * flag and does not apply the row a second time.  Returns the transfer id.
 */
int64
ledger_insert_applied(const LedgerMove *mv)
{
	int64		transfer_id = 0;

	enspiral_write_begin(ENSPIRAL_WRITE_BALANCES);
	enspiral_write_begin(ENSPIRAL_WRITE_PREAPPLIED);
	transfer_id = insert_applied_locked(mv);
	enspiral_write_end(ENSPIRAL_WRITE_PREAPPLIED);
	enspiral_write_end(ENSPIRAL_WRITE_BALANCES);
	return transfer_id;
}

/*
 * Lock accounts FOR NO KEY UPDATE in ascending account_id order (the lock
 * order of the design) and return their current balances in out[] (sorted,
 * duplicates removed); returns how many were found.  ids[] is sorted in
 * place.  Inside SPI.
 */
int
ledger_lock_accounts(int64 group_id, int64 *ids, int n, LedgerAccount *out)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8ARRAYOID};
	Datum	   *elems;
	Datum		args[2];
	ArrayType  *arr;

	enspiral_sort_int64(ids, n);
	elems = palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
		elems[i] = Int64GetDatum(ids[i]);
	arr = construct_array(elems, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE);
	args[0] = Int64GetDatum(group_id);
	args[1] = PointerGetDatum(arr);
	enspiral_plan(&plan,
				  "SELECT account_id, balance FROM enspiral.accounts"
				  " WHERE group_id = $1 AND account_id = ANY ($2)"
				  " ORDER BY account_id FOR NO KEY UPDATE",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "account lock failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[i];

		out[i].account_id = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		out[i].balance = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
	}
	return (int) SPI_processed;
}

/* Balance of a locked account; elog when it was not locked (a bug) */
int64
ledger_find_balance(LedgerAccount *locked, int n, int64 account_id)
{
	for (int i = 0; i < n; i++)
		if (locked[i].account_id == account_id)
			return locked[i].balance;
	elog(ERROR, "account %lld was not locked", (long long) account_id);
	return 0;					/* keep compiler quiet */
}

/*
 * Refund everything that entered the given bucket accounts and was not yet
 * reversed: one reversing transfer (kind refund) per contribution or match,
 * back to where it came from.  The callers hold the bucket rows; this locks
 * the accounts involved in ascending order.  Returns the number of refunds.
 * The unique index on (group_id, reverses) makes a second refund of the
 * same transfer impossible.
 */
int
ledger_refund_buckets(int64 group_id, int64 round_id, int64 *bucket_accounts, int n)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8ARRAYOID};
	Datum		args[2];
	Datum	   *elems;
	int			nref;
	int64	   *ids,
			   *from,
			   *to,
			   *amount,
			   *lockids;
	LedgerAccount *locked;

	elems = palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
		elems[i] = Int64GetDatum(bucket_accounts[i]);
	args[0] = Int64GetDatum(group_id);
	args[1] = PointerGetDatum(construct_array(elems, n, INT8OID, sizeof(int64),
											  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	enspiral_plan(&plan,
				  "SELECT t.transfer_id, t.from_account, t.to_account, t.amount"
				  "  FROM enspiral.transfers t"
				  " WHERE t.group_id = $1 AND t.to_account = ANY ($2)"
				  "   AND t.kind IN ('contribute', 'match')"
				  "   AND NOT EXISTS (SELECT 1 FROM enspiral.transfers r"
				  "                    WHERE r.group_id = t.group_id"
				  "                      AND r.reverses = t.transfer_id)"
				  " ORDER BY t.transfer_id",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "refund lookup failed");
	nref = (int) SPI_processed;
	ids = palloc(sizeof(int64) * Max(nref, 1));
	from = palloc(sizeof(int64) * Max(nref, 1));
	to = palloc(sizeof(int64) * Max(nref, 1));
	amount = palloc(sizeof(int64) * Max(nref, 1));
	lockids = palloc(sizeof(int64) * (nref + n));
	for (int i = 0; i < nref; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		from[i] = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		to[i] = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		amount[i] = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		lockids[i] = from[i];
	}
	for (int i = 0; i < n; i++)
		lockids[nref + i] = bucket_accounts[i];
	locked = palloc(sizeof(LedgerAccount) * (nref + n));
	ledger_lock_accounts(group_id, lockids, nref + n, locked);
	for (int i = 0; i < nref; i++)
		ledger_insert(group_id, round_id, XFER_REFUND, to[i], from[i], amount[i],
					  NULL, ids[i], NULL);
	return nref;
}

/* A reversing transfer must mirror the transfer it reverses */
static void
check_reversal(int64 group_id, int64 transfer_id, int64 round_id,
			   int64 from_account, int64 to_account, int64 amount, int64 reverses)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(group_id), Int64GetDatum(reverses)};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;

	enspiral_plan(&plan,
				  "SELECT round_id, from_account, to_account, amount, kind"
				  "  FROM enspiral.transfers WHERE group_id = $1 AND transfer_id = $2",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "reversal lookup failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("reversed transfer does not exist"),
				 errdetail("Transfer %lld reverses transfer %lld, which group %lld does not have.",
						   (long long) transfer_id, (long long) reverses, (long long) group_id)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	if (DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)) != round_id ||
		DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull)) != to_account ||
		DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull)) != from_account ||
		DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull)) != amount)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("reversal does not mirror the transfer it reverses"),
				 errdetail("Transfer %lld reverses transfer %lld; a reversal moves the same amount between the same accounts of the same round, in the other direction.",
						   (long long) transfer_id, (long long) reverses)));
	if (strcmp(SPI_getvalue(tup, desc, 5), XFER_REFUND) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("a reversal cannot be reversed"),
				 errdetail("Transfer %lld reverses transfer %lld, which is itself a reversal.",
						   (long long) transfer_id, (long long) reverses)));
}

/*
 * Move amount from one account of the round to another, in one UPDATE:
 * the only path that changes balances.  Overflow raises 22003 and an
 * overdraft the CHECK constraint accounts_no_overdraft.  Returns the kinds
 * of both accounts in *from_kind and *to_kind (read with SPI_getvalue: a
 * cast in RETURNING is not immutable, which Citus refuses on shards).
 */
static void
apply_transfer(int64 group_id, int64 round_id, int64 from_account,
			   int64 to_account, int64 amount, int64 transfer_id,
			   char **from_kind, char **to_kind)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[5] = {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID};
	Datum		args[5] = {Int64GetDatum(group_id), Int64GetDatum(round_id),
		Int64GetDatum(from_account), Int64GetDatum(to_account),
	Int64GetDatum(amount)};
	int			rc;

	enspiral_plan(&plan,
				  "UPDATE enspiral.accounts"
				  "   SET balance = CASE WHEN account_id = $3 THEN balance - $5"
				  "                      ELSE balance + $5 END"
				  " WHERE group_id = $1 AND account_id IN ($3, $4) AND round_id = $2"
				  " RETURNING account_id, kind",
				  5, argtypes);
	enspiral_write_begin(ENSPIRAL_WRITE_BALANCES);
	rc = execute_balance_update(plan, args, from_account, to_account, amount);
	enspiral_write_end(ENSPIRAL_WRITE_BALANCES);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "balance update failed");
	if (SPI_processed != 2)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("transfer account does not belong to its round"),
				 errdetail("Transfer %lld moves from account %lld to account %lld, which are not both accounts of round %lld in group %lld.",
						   (long long) transfer_id, (long long) from_account,
						   (long long) to_account, (long long) round_id, (long long) group_id)));
	for (int i = 0; i < 2; i++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[i];

		if (DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull)) == from_account)
			*from_kind = SPI_getvalue(tup, SPI_tuptable->tupdesc, 2);
		else
			*to_kind = SPI_getvalue(tup, SPI_tuptable->tupdesc, 2);
	}
}

/* The account kinds a transfer of each kind moves between */
static const struct
{
	const char *kind;
	const char *from_kind;
	const char *to_kind;
}			transfer_kinds[] = {
	{XFER_FUND, "source", "pool"},
	{XFER_ALLOCATE, "pool", "member"},
	{XFER_CONTRIBUTE, "member", "bucket"},
	{XFER_REFUND, "bucket", "member"},
	{XFER_REFUND, "bucket", "matching"},
	{XFER_MATCH_FUND, "source", "matching"},
	{XFER_MATCH, "matching", "bucket"},
	{XFER_DEALLOCATE, "member", "pool"},
};

/*
 * Refuse a transfer whose kind does not match the kinds of its accounts
 * (23514): a contribute moves from a member to a bucket, and so on.
 */
static void
check_transfer_kinds(int64 transfer_id, const char *kind,
					 const char *from_kind, const char *to_kind)
{
	for (int i = 0; i < (int) lengthof(transfer_kinds); i++)
		if (strcmp(transfer_kinds[i].kind, kind) == 0 &&
			strcmp(transfer_kinds[i].from_kind, from_kind) == 0 &&
			strcmp(transfer_kinds[i].to_kind, to_kind) == 0)
			return;
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("transfer kind does not match the kinds of its accounts"),
			 errdetail("Transfer %lld of kind \"%s\" moves from a \"%s\" account to a \"%s\" account.",
					   (long long) transfer_id, kind, from_kind, to_kind),
			 errhint("The kinds are fund: source to pool; allocate: pool to member; contribute: member to bucket; "
					 "match_fund: source to matching; match: matching to bucket; "
					 "deallocate: member to pool; "
					 "refund: bucket back to member or matching.")));
}

/*
 * enspiral.ledger_apply(): AFTER INSERT row trigger on enspiral.transfers.
 *	  Debits from_account and credits to_account of the same round.
 */
Datum
enspiral_ledger_apply(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int64		group_id,
				transfer_id,
				round_id,
				from_account,
				to_account,
				amount;
	Datum		rev;
	char	   *kind,
			   *from_kind = NULL,
			   *to_kind = NULL;

	(void) enspiral_trigger_call(fcinfo, "ledger_apply",
								 ENSPIRAL_TRIGGER_AFTER | ENSPIRAL_TRIGGER_ROW |
								 ENSPIRAL_TRIGGER_INSERT);
	enspiral_require_trigger_table(trig, "ledger_apply", "transfers");
	if (enspiral_writing(ENSPIRAL_WRITE_PREAPPLIED) || enspiral_in_restore_copy(trig->tg_relation))
		return PointerGetDatum(NULL);	/* already applied, or a restore */
	tup = trig->tg_trigtuple;
	desc = RelationGetDescr(trig->tg_relation);
	group_id = DatumGetInt64(enspiral_column(tup, desc, "group_id", &isnull));
	transfer_id = DatumGetInt64(enspiral_column(tup, desc, "transfer_id", &isnull));
	round_id = DatumGetInt64(enspiral_column(tup, desc, "round_id", &isnull));
	from_account = DatumGetInt64(enspiral_column(tup, desc, "from_account", &isnull));
	to_account = DatumGetInt64(enspiral_column(tup, desc, "to_account", &isnull));
	amount = DatumGetInt64(enspiral_column(tup, desc, "amount", &isnull));
	rev = enspiral_column(tup, desc, "reverses", &isnull);
	kind = SPI_getvalue(tup, desc, enspiral_attnum(desc, "kind"));

	enspiral_spi_connect();
	if (!isnull)
		check_reversal(group_id, transfer_id, round_id, from_account, to_account,
					   amount, DatumGetInt64(rev));
	apply_transfer(group_id, round_id, from_account, to_account, amount, transfer_id,
				   &from_kind, &to_kind);
	check_transfer_kinds(transfer_id, kind, from_kind, to_kind);
	enspiral_spi_finish();
	return PointerGetDatum(NULL);
}

/*
 * enspiral.accounts_guard(): BEFORE trigger on enspiral.accounts.
 *	  Accounts open at balance 0; a balance changes only through a transfer
 *	  (ledger_apply); accounts are never deleted or truncated.
 */
Datum
enspiral_accounts_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	bool		isnull;

	(void) enspiral_trigger_call(fcinfo, "accounts_guard", ENSPIRAL_TRIGGER_BEFORE);
	enspiral_require_trigger_table(trig, "accounts_guard", "accounts");
	if (TRIGGER_FIRED_BY_TRUNCATE(trig->tg_event) || TRIGGER_FIRED_BY_DELETE(trig->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_APPEND_ONLY),
				 errmsg("ledger accounts cannot be deleted"),
				 errhint("Balances are corrected with reversing transfers.")));
	if (TRIGGER_FIRED_BY_INSERT(trig->tg_event))
	{
		TupleDesc	desc = RelationGetDescr(trig->tg_relation);
		Datum		bal = enspiral_column(trig->tg_trigtuple, desc, "balance", &isnull);

		if ((isnull || DatumGetInt64(bal) != 0) && !enspiral_in_restore_copy(trig->tg_relation))
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_DIRECT_WRITE),
					 errmsg("ledger account must open with balance 0"),
					 errhint("Money enters an account only through a transfer.")));
		return PointerGetDatum(trig->tg_trigtuple);
	}
	if (!enspiral_writing(ENSPIRAL_WRITE_BALANCES))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_DIRECT_WRITE),
				 errmsg("ledger accounts cannot be updated directly"),
				 errhint("A balance changes only through a transfer (an insert into enspiral.transfers).")));
	return PointerGetDatum(trig->tg_newtuple);
}
