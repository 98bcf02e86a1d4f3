/*-------------------------------------------------------------------------
 *
 * audit_chain.c
 *	  The hash chain of each group (doc/audit.md): every ledger transfer,
 *	  every recorded outcome and every event becomes one link of
 *	  enspiral.chain_links, whose hash covers the canonical content of the
 *	  row (enspiral.chain_content) and the hash of the group's previous link
 *	  (enspiral.chain_hash).
 *
 *	  Writers do not link: a chained row only carries a chain key, an event
 *	  id of its transaction (events_since's technique, src/actors_event_ids.c), so a
 *	  write neither waits for another commit nor hashes anything.  The
 *	  linker (chain_link_pending) links a group's rows in batches, under the
 *	  group's chain lock, reading with the latest snapshot:
 *
 *	  * without waiting (wait = false: record_due_closings, pg_cron) it only
 *		tries the lock and links the rows below the event horizon, whose
 *		transactions all ended, in chain key order: rows final in content and
 *		order;
 *	  * waiting (outcome recording, verify_chain, chain_head, link_chain) it
 *		links every committed row and those of its own transaction, so the
 *		head it leaves covers everything committed before it.
 *
 *	  A row's place is its position in the chain, fixed when it is linked,
 *	  never derived again from its key, so a row that commits late is simply
 *	  linked by a later run.  chain_state keeps, per group, the horizon below
 *	  which every row is linked; a run reads the chain keys from there up.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "enspiral.h"

/* Advisory lock space of the chain head of a group (field4 of the tag) */
#define CHAIN_LOCK_HEAD		0x4E60

/* Rows the linker reads and links per statement */
#define CHAIN_BATCH			1000

PG_FUNCTION_INFO_V1(enspiral_chain_link_pending);
PG_FUNCTION_INFO_V1(enspiral_chain_stamp);

/* Where a group's chain stands while the linker extends it */
typedef struct ChainHead
{
	int64		position;		/* links so far (0: empty) */
	uint8		hash[PG_SHA256_DIGEST_LENGTH];	/* hash of the last link */
} ChainHead;

/*
 * Run the chain's SPI work as the owner of the chained table, as the foreign
 * key triggers do: the current user may be an application role that has no
 * privilege on the chain.  Returns the previous security context.
 */
static void
chain_become_owner(Relation rel, Oid *save_userid, int *save_sec_context)
{
	GetUserIdAndSecContext(save_userid, save_sec_context);
	SetUserIdAndSecContext(RelationGetForm(rel)->relowner,
						   *save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_NOFORCE_RLS);
}

/* Take the chain lock of a group until the end of the transaction; false if busy */
static bool
chain_lock(int64 group_id, bool wait)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) ((uint64) group_id >> 32),
						 (uint32) group_id, CHAIN_LOCK_HEAD);
	return LockAcquire(&tag, ExclusiveLock, false, !wait) != LOCKACQUIRE_NOT_AVAIL;
}

/* Run a read-only saved plan with the latest snapshot (sees every commit) */
static void
chain_select_latest(SPIPlanPtr plan, Datum *args, long limit)
{
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, limit) != SPI_OK_SELECT)
		elog(ERROR, "chain lookup failed");
}

/* The first column of the first row of the last SPI result, or isnull */
static Datum
chain_first_value(bool *isnull)
{
	if (SPI_processed == 0)
	{
		*isnull = true;
		return (Datum) 0;
	}
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
}

/* The head of a group's chain and the linker's horizon (chain_state) */
static void
chain_read_head(int64 group_id, ChainHead *head, int64 *linked_below, bool *has_state)
{
	static SPIPlanPtr head_plan = NULL;
	static SPIPlanPtr state_plan = NULL;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(group_id)};
	bool		isnull;
	Datum		d;

	enspiral_plan(&head_plan,
				  "SELECT h.position, h.hash FROM enspiral.chain_head_link($1) h", 1, argtypes);
	chain_select_latest(head_plan, args, 1);
	if (SPI_processed != 1)
		elog(ERROR, "chain head lookup failed");
	head->position = DatumGetInt64(chain_first_value(&isnull));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	memset(head->hash, 0, sizeof(head->hash));
	if (!isnull)
	{
		bytea	   *b = DatumGetByteaPP(d);

		if (VARSIZE_ANY_EXHDR(b) != PG_SHA256_DIGEST_LENGTH)
			elog(ERROR, "chain link hash has a wrong length");
		memcpy(head->hash, VARDATA_ANY(b), PG_SHA256_DIGEST_LENGTH);
	}

	enspiral_plan(&state_plan,
				  "SELECT s.linked_below FROM enspiral.chain_state s"
				  " WHERE s.group_id OPERATOR(pg_catalog.=) $1", 1, argtypes);
	chain_select_latest(state_plan, args, 1);
	d = chain_first_value(&isnull);
	*has_state = !isnull;
	*linked_below = isnull ? PG_INT64_MIN : DatumGetInt64(d);
}

/* The event horizon of the latest snapshot: rows with smaller keys are final */
static int64
chain_horizon(void)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	Datum		d;

	enspiral_plan(&plan, "SELECT enspiral.event_horizon()", 0, NULL);
	chain_select_latest(plan, NULL, 1);
	d = chain_first_value(&isnull);
	if (isnull)
		elog(ERROR, "event horizon is NULL");
	return DatumGetInt64(d);
}

/* hash = sha256(previous hash (none at position 1) || position || content) */
static void
chain_next_hash(ChainHead *head, text *content)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	int64		position = head->position + 1;
	uint8		be[8];

	for (int i = 0; i < 8; i++)
		be[i] = (uint8) ((uint64) position >> (56 - 8 * i));
	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		(head->position > 0 &&
		 pg_cryptohash_update(ctx, head->hash, PG_SHA256_DIGEST_LENGTH) < 0) ||
		pg_cryptohash_update(ctx, be, sizeof(be)) < 0 ||
		pg_cryptohash_update(ctx, (uint8 *) VARDATA_ANY(content),
							 VARSIZE_ANY_EXHDR(content)) < 0 ||
		pg_cryptohash_final(ctx, head->hash, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute a SHA-256 hash");
	pg_cryptohash_free(ctx);
	head->position = position;
}

/* Append the link of one row at the head */
static void
chain_insert_link(int64 group_id, const ChainHead *head, Datum source, Datum row_key)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[5] = {INT8OID, INT8OID, TEXTOID, INT8ARRAYOID, BYTEAOID};
	bytea	   *hash = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	Datum		args[5];

	SET_VARSIZE(hash, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	memcpy(VARDATA(hash), head->hash, PG_SHA256_DIGEST_LENGTH);
	args[0] = Int64GetDatum(group_id);
	args[1] = Int64GetDatum(head->position);
	args[2] = source;
	args[3] = row_key;
	args[4] = PointerGetDatum(hash);
	enspiral_plan(&plan,
				  "INSERT INTO enspiral.chain_links (group_id, position, source, row_key, hash)"
				  " VALUES ($1, $2, $3, $4, $5)", 5, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "appending a chain link failed");
	pfree(hash);
}

/*
 * Link the next batch of a group's unlinked rows with chain keys in
 * [*from, below), in key order; returns how many, and moves *from to the
 * last key linked (rows with that key not linked yet are read again)
 */
static uint64
chain_link_batch(int64 group_id, ChainHead *head, int64 *from, int64 below)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, INT8OID};
	Datum		args[3] = {Int64GetDatum(group_id), Int64GetDatum(*from), Int64GetDatum(below)};
	SPITupleTable *rows;
	uint64		n;

	enspiral_plan(&plan,
				  "SELECT e.source, e.row_key, e.chain_key, e.content"
				  "  FROM enspiral.chain_entries e"
				  " WHERE e.group_id OPERATOR(pg_catalog.=) $1"
				  "   AND e.chain_key OPERATOR(pg_catalog.>=) $2"
				  "   AND e.chain_key OPERATOR(pg_catalog.<) $3"
				  "   AND NOT EXISTS (SELECT 1 FROM enspiral.chain_links l"
				  "                    WHERE l.group_id OPERATOR(pg_catalog.=) $1"
				  "                      AND l.source OPERATOR(pg_catalog.=) e.source"
				  "                      AND l.row_key OPERATOR(pg_catalog.=) e.row_key)"
				  " ORDER BY e.chain_key, e.source, e.row_key",
				  3, argtypes);
	/* a new latest snapshot each batch: it sees the links just appended */
	CommandCounterIncrement();
	chain_select_latest(plan, args, CHAIN_BATCH);
	rows = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = rows->vals[i];
		bool		isnull[4];
		Datum		source = SPI_getbinval(tup, rows->tupdesc, 1, &isnull[0]);
		Datum		row_key = SPI_getbinval(tup, rows->tupdesc, 2, &isnull[1]);
		Datum		key = SPI_getbinval(tup, rows->tupdesc, 3, &isnull[2]);
		Datum		content = SPI_getbinval(tup, rows->tupdesc, 4, &isnull[3]);

		CHECK_FOR_INTERRUPTS();
		if (isnull[0] || isnull[1] || isnull[2] || isnull[3])
			elog(ERROR, "chain entry with NULL fields");
		chain_next_hash(head, DatumGetTextPP(content));
		chain_insert_link(group_id, head, source, row_key);
		*from = DatumGetInt64(key);
	}
	SPI_freetuptable(rows);
	return n;
}

/* Record where the linker stands: rows below the horizon are linked */
static void
chain_save_state(int64 group_id, int64 linked_below, int64 head_position)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, INT8OID};
	Datum		args[3] = {Int64GetDatum(group_id), Int64GetDatum(linked_below),
	Int64GetDatum(head_position)};

	enspiral_plan(&plan,
				  "INSERT INTO enspiral.chain_state AS s (group_id, linked_below, head_position)"
				  " VALUES ($1, $2, $3)"
				  " ON CONFLICT (group_id) DO UPDATE"
				  "   SET linked_below = excluded.linked_below, head_position = excluded.head_position"
				  " WHERE (s.linked_below, s.head_position)"
				  "       IS DISTINCT FROM (excluded.linked_below, excluded.head_position)",
				  3, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "saving the chain state failed");
}

/*
 * The linker: link a group's rows not linked yet (SPI connected).  Returns
 * how many, or -1 when wait is false and another transaction holds the
 * group's chain.
 */
static int64
chain_link_group(int64 group_id, bool wait)
{
	ChainHead	head;
	int64		linked_below;
	bool		has_state;
	int64		horizon;
	int64		from;
	int64		total = 0;
	uint64		n;

	if (!chain_lock(group_id, wait))
		return -1;
	/* read under the lock, with the latest snapshot: the last run committed */
	CommandCounterIncrement();
	chain_read_head(group_id, &head, &linked_below, &has_state);
	horizon = chain_horizon();
	/* a horizon behind the state (a copy from a server further on): read all */
	from = linked_below <= horizon ? linked_below : PG_INT64_MIN;
	do
	{
		n = chain_link_batch(group_id, &head, &from, wait ? PG_INT64_MAX : horizon);
		total += (int64) n;
	} while (n == CHAIN_BATCH);
	if (total > 0 || !has_state || linked_below != horizon)
		chain_save_state(group_id, horizon, head.position);
	return total;
}

/*
 * enspiral.chain_link_pending(group_id bigint, wait boolean) RETURNS bigint
 *	  The linker (see the head comment); NULL when wait is false and the
 *	  group's chain is busy.
 */
Datum
enspiral_chain_link_pending(PG_FUNCTION_ARGS)
{
	int64		group_id;
	bool		wait;
	int64		n;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	group_id = PG_GETARG_INT64(0);
	wait = PG_GETARG_BOOL(1);
	enspiral_spi_connect();
	n = chain_link_group(group_id, wait);
	enspiral_spi_finish();
	if (n < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(n);
}

/* A column of the trigger's row by name, as int64 (int4 or int8 columns) */
static int64
chain_int_column(HeapTuple tup, TupleDesc desc, const char *name)
{
	AttrNumber	attno = enspiral_attnum(desc, name);
	bool		isnull;
	Datum		d;

	d = SPI_getbinval(tup, desc, attno, &isnull);
	if (isnull)
		elog(ERROR, "key column \"%s\" is NULL", name);
	if (SPI_gettypeid(desc, attno) == INT4OID)
		return (int64) DatumGetInt32(d);
	if (SPI_gettypeid(desc, attno) != INT8OID)
		elog(ERROR, "key column \"%s\" is not an integer", name);
	return DatumGetInt64(d);
}

/* outcome || {"chain_head": head, "chain_position": n}, head read fresh */
static Datum
chain_stamped_outcome(int64 group_id, Datum outcome)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, JSONBOID};
	Datum		args[2] = {Int64GetDatum(group_id), outcome};
	bool		isnull;
	Datum		d;

	enspiral_plan(&plan,
				  "SELECT $2 OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object("
				  "         'chain_head', pg_catalog.encode(h.hash, 'hex'),"
				  "         'chain_position', h.position)"
				  "  FROM enspiral.chain_head_link($1) h",
				  2, argtypes);
	chain_select_latest(plan, args, 1);
	if (SPI_processed != 1)
		elog(ERROR, "chain head lookup failed");
	d = chain_first_value(&isnull);
	if (isnull)
		elog(ERROR, "stamped outcome is NULL");
	return SPI_datumTransfer(d, false, -1);
}

/*
 * enspiral.chain_stamp(): BEFORE INSERT FOR EACH ROW on enspiral.outcomes.
 * Links every committed row of the group (waiting for its chain lock; the
 * recording already holds the group's decision lock, so two recordings of a
 * group never wait for each other here), then stamps the outcome with the
 * head (chain_head, chain_position): a member who keeps the outcome can later
 * prove that the history up to it was not rewritten.  A restore loads
 * outcomes as they were dumped.
 */
Datum
enspiral_chain_stamp(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	int			cols[1];
	Datum		vals[1];
	bool		nulls[1] = {false};
	int64		group_id;
	bool		isnull;
	Oid			save_userid;
	int			save_sec_context;

	(void) enspiral_trigger_call(fcinfo, "chain_stamp", ENSPIRAL_TRIGGER_BEFORE |
								 ENSPIRAL_TRIGGER_ROW | ENSPIRAL_TRIGGER_INSERT);
	enspiral_require_trigger_table(td, "chain_stamp", "outcomes");
	if (enspiral_in_restore_copy(td->tg_relation))
		return PointerGetDatum(td->tg_trigtuple);
	desc = RelationGetDescr(td->tg_relation);
	group_id = chain_int_column(td->tg_trigtuple, desc, "group_id");
	cols[0] = enspiral_attnum(desc, "outcome");
	vals[0] = SPI_getbinval(td->tg_trigtuple, desc, cols[0], &isnull);
	if (isnull)
		return PointerGetDatum(td->tg_trigtuple);	/* NOT NULL refuses it */

	chain_become_owner(td->tg_relation, &save_userid, &save_sec_context);
	enspiral_spi_connect();
	(void) chain_link_group(group_id, true);
	vals[0] = chain_stamped_outcome(group_id, vals[0]);
	enspiral_spi_finish();
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return PointerGetDatum(heap_modify_tuple_by_cols(td->tg_trigtuple, desc, 1, cols,
													 vals, nulls));
}
