/*-------------------------------------------------------------------------
 *
 * actors_events.c
 *	  The events of the hot paths (their ids: actors_event_ids.c).
 *
 *	  The events of the hot paths, vote_cast (vote()) and contribution
 *	  (contribute()), are written here by C row triggers directly through
 *	  core_relaccess.c: no SPI, no plan, the payload built as a JsonbValue, and
 *	  NOTIFY queued (core_notify.c) only where the group sets
 *	  notify_votes_and_contributions (a notifying commit takes a
 *	  cluster-wide lock, doc/actors-and-events.md, "NOTIFY").  Refunds and
 *	  allocations, and every other event, go through SQL (emit_event).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"

#include "enspiral.h"
#include "cobudget.h"
#include "decisions.h"
#include "relaccess.h"

PG_FUNCTION_INFO_V1(enspiral_restoring);
PG_FUNCTION_INFO_V1(enspiral_votes_events);
PG_FUNCTION_INFO_V1(enspiral_transfers_events);
PG_FUNCTION_INFO_V1(enspiral_group_settings_changed);

/*
 * enspiral.restoring(rel regclass) RETURNS boolean
 *	  True while the owner restores rel with a top-level COPY FROM: restored
 *	  rows carry their events in the restored events table already.
 */
Datum
enspiral_restoring(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel = try_relation_open(relid, AccessShareLock);
	bool		res;

	if (rel == NULL)
		PG_RETURN_BOOL(false);
	res = enspiral_in_restore_copy(rel);
	relation_close(rel, AccessShareLock);
	PG_RETURN_BOOL(res);
}

/* A bigint column of the trigger's new row, by name */
static int64
new_int8(TriggerData *td, const char *col)
{
	return enspiral_column_int64(td->tg_trigtuple, RelationGetDescr(td->tg_relation), col);
}

/*
 * The hot events (vote_cast, contribution) are appended directly
 * (relaccess_insert: no SPI, no plan), with their payload built as a
 * JsonbValue rather than parsed from text.  An event row of the hot path.
 */
typedef struct HotEvent
{
	int64		group_id;
	const char *kind;
	int64		actor;			/* 0: NULL */
	int64		member_id;		/* 0: NULL */
	int64		proposal_id;	/* 0: NULL */
	int64		round_id;		/* 0: NULL */
	int64		bucket_id;		/* 0: NULL */
	int			npairs;			/* payload: keys and bigint values */
	const char *keys[2];
	int64		values[2];
	bool		payload_true;	/* payload {keys[0]: true} instead */
} HotEvent;

/* A string JsonbValue */
static void
jsonb_string(JsonbValue *v, const char *s)
{
	v->type = jbvString;
	v->val.string.val = (char *) s;
	v->val.string.len = strlen(s);
}

/* The payload of a hot event: an object of bigint values (or one true) */
static Jsonb *
hot_payload(const HotEvent *ev)
{
	JsonbParseState *state = NULL;
	JsonbValue	k,
				v;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < ev->npairs; i++)
	{
		jsonb_string(&k, ev->keys[i]);
		pushJsonbValue(&state, WJB_KEY, &k);
		if (ev->payload_true)
		{
			v.type = jbvBool;
			v.val.boolean = true;
		}
		else
		{
			v.type = jbvNumeric;
			v.val.numeric = int64_to_numeric(ev->values[i]);
		}
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

/*
 * The groups' notify_votes_and_contributions, remembered per backend.  A
 * change of a group's settings goes through the groups_events trigger,
 * which calls enspiral.group_settings_changed(): a relcache invalidation of
 * enspiral.groups, sent to every backend when the change commits (and
 * processed by the changing backend itself at its next command, and again
 * if it aborts), empties the cache; so does the DROP of the table.  Only
 * rows committed before the reading transaction are remembered, and none
 * of a table distributed by Citus (its invalidations stay on one node).
 * As with the catalog caches, a vote in the instant between a settings
 * change becoming visible and its invalidation being sent may still use
 * the old setting: NOTIFY is a wake-up, the events themselves are always
 * written.
 */
#define NOTIFY_CACHE_SIZE 256

static struct
{
	int64		group_id;
	bool		notify;
}			notify_cache[NOTIFY_CACHE_SIZE];
static int	notify_cache_n = 0;
static Oid	notify_cache_relid = InvalidOid;
static bool notify_callback_registered = false;

/* Relcache invalidation of enspiral.groups (or of everything): forget */
static void
notify_cache_callback(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == notify_cache_relid)
		notify_cache_n = 0;
}

/* Whether the group sets notify_votes_and_contributions, read from its row */
static bool
group_notify_read(int64 group_id, bool *cacheable)
{
	RelScan		rs;
	Snapshot	snap;
	bool		found;
	bool		isnull = true;
	bool		notify = false;

	/* locking first processes the invalidations of commits the snapshot sees */
	relaccess_open(&rs, "groups", "groups_pkey", AccessShareLock);
	snap = RegisterSnapshot(GetLatestSnapshot());
	found = relaccess_fetch_int8(&rs, snap, 1, &group_id);
	*cacheable = found && !rs.distributed;
	if (found)
	{
		Datum		settings = enspiral_slot_column(rs.slot, "settings", &isnull);

		notify = !isnull &&
			jsonb_get_bool_key(DatumGetJsonbP(settings), "notify_votes_and_contributions", false);
	}
	if (*cacheable)
	{
		Datum		xmin = slot_getsysattr(rs.slot, MinTransactionIdAttributeNumber, &isnull);

		/* a row this transaction wrote may yet roll back */
		*cacheable = !TransactionIdIsCurrentTransactionId(DatumGetTransactionId(xmin));
	}
	relaccess_close(&rs);
	UnregisterSnapshot(snap);
	return notify;
}

/* Whether the group sets notify_votes_and_contributions (latest committed state) */
static bool
group_notifies_hot_events(int64 group_id)
{
	Oid			groups = relaccess_relid("groups");
	bool		cacheable;
	bool		notify;

	if (!notify_callback_registered)
	{
		enspiral_relcache_callback(notify_cache_callback);
		notify_callback_registered = true;
	}
	if (groups != notify_cache_relid)
	{
		notify_cache_n = 0;
		notify_cache_relid = groups;
	}
	for (int i = 0; i < notify_cache_n; i++)
		if (notify_cache[i].group_id == group_id)
			return notify_cache[i].notify;
	notify = group_notify_read(group_id, &cacheable);
	/* the read may have processed invalidations: check the relation again */
	if (cacheable && groups == notify_cache_relid && notify_cache_n < NOTIFY_CACHE_SIZE)
	{
		notify_cache[notify_cache_n].group_id = group_id;
		notify_cache[notify_cache_n].notify = notify;
		notify_cache_n++;
	}
	return notify;
}

/*
 * enspiral.group_settings_changed(group_id bigint) RETURNS void
 *	  Internal, called by the groups_events trigger when a group's settings
 *	  change: every backend forgets what it remembered of groups' settings
 *	  (a relcache invalidation of enspiral.groups, sent at commit).
 */
Datum
enspiral_group_settings_changed(PG_FUNCTION_ARGS)
{
	Oid			groups = relaccess_relid_if_exists("groups");

	if (OidIsValid(groups))
		CacheInvalidateRelcacheByRelid(groups);
	PG_RETURN_VOID();
}

/* A nullable bigint column of a hot event (0 stands for NULL) */
#define HOT_COLUMN(name, x) {name, Int64GetDatum(x), (x) == 0}

/* Append a hot event; NOTIFY where the group sets notify_votes_and_contributions */
static void
hot_event_append(const HotEvent *ev)
{
	int64		event_id = enspiral_event_next_id();
	RelColumn	cols[] = {
		{"group_id", Int64GetDatum(ev->group_id), false},
		{"event_id", Int64GetDatum(event_id), false},
		{"at", TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()), false},
		{"kind", CStringGetTextDatum(ev->kind), false},
		HOT_COLUMN("actor", ev->actor),
		HOT_COLUMN("member_id", ev->member_id),
		HOT_COLUMN("proposal_id", ev->proposal_id),
		HOT_COLUMN("round_id", ev->round_id),
		HOT_COLUMN("bucket_id", ev->bucket_id),
		{"payload", JsonbPGetDatum(hot_payload(ev)), false},
	};

	relaccess_insert("events", cols, lengthof(cols), false);
	if (group_notifies_hot_events(ev->group_id))
		enspiral_event_notify(ev->group_id, event_id);
}

/*
 * enspiral.votes_events(): AFTER INSERT row trigger on enspiral.votes and
 * enspiral.participations (the hot path of vote(), hence C).  Records
 * vote_cast: for a named vote the voter acts and is the subject (a vote
 * cast by a delegate: the delegate acts, and the payload names it); for an
 * anonymous one (a participations row) neither voter nor ballot is
 * recorded.  NOTIFY only where the group sets notify_votes_and_contributions.
 */
Datum
enspiral_votes_events(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HotEvent	ev = {0};

	static const char *const tables[] = {"votes", "participations"};

	(void) enspiral_trigger_call(fcinfo, "votes_events", ENSPIRAL_TRIGGER_AFTER |
								 ENSPIRAL_TRIGGER_ROW | ENSPIRAL_TRIGGER_INSERT);
	enspiral_require_trigger_table_in(td, "votes_events", tables, lengthof(tables));
	if (enspiral_in_restore_copy(td->tg_relation))
		return PointerGetDatum(NULL);

	ev.group_id = new_int8(td, "group_id");
	ev.kind = "vote_cast";
	ev.proposal_id = new_int8(td, "proposal_id");
	ev.npairs = 1;
	if (enspiral_relation_is(td->tg_relation, "votes"))
	{
		bool		direct;
		Datum		cast_by = enspiral_column(td->tg_trigtuple, RelationGetDescr(td->tg_relation),
											  "cast_by", &direct);

		/* a vote cast by a delegate: the delegate acts, the member is the subject */
		ev.member_id = new_int8(td, "member_id");
		ev.actor = direct ? ev.member_id : DatumGetInt64(cast_by);
		ev.keys[0] = "vote_id";
		ev.values[0] = new_int8(td, "vote_id");
		if (!direct)
		{
			ev.npairs = 2;
			ev.keys[1] = "cast_by";
			ev.values[1] = DatumGetInt64(cast_by);
		}
	}
	else
	{
		ev.keys[0] = "anonymous";
		ev.payload_true = true;
	}
	hot_event_append(&ev);
	return PointerGetDatum(NULL);
}

/* Check that a permission-checking event trigger is an AFTER INSERT row trigger on enspiral.<table> */
static TriggerData *
event_trigger_data(FunctionCallInfo fcinfo, const char *fn, const char *table)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	(void) enspiral_trigger_call(fcinfo, fn, ENSPIRAL_TRIGGER_AFTER |
								 ENSPIRAL_TRIGGER_ROW | ENSPIRAL_TRIGGER_INSERT);
	enspiral_require_trigger_table(td, fn, table);
	return td;
}

/*
 * The owners of the two accounts of the transfer row being inserted, as
 * its writer knows them (contribute() has read and locked both accounts);
 * group_id 0 when none is set.  An account's owner never changes.
 */
static struct
{
	int64		group_id;
	int64		accounts[2];
	int64		owners[2];
}			owners_hint;

/*
 * Hand the owners of the accounts of the transfer row about to be inserted
 * to its contribution event; group_id 0 (and NULLs) clears them
 */
void
hot_event_set_owners(int64 group_id, const int64 *accounts, const int64 *owners)
{
	owners_hint.group_id = group_id;
	for (int i = 0; i < 2; i++)
	{
		owners_hint.accounts[i] = accounts != NULL ? accounts[i] : 0;
		owners_hint.owners[i] = owners != NULL ? owners[i] : 0;
	}
}

/* The owners of two ledger accounts of a group (0 for an account without one) */
static void
account_owners(int64 group_id, const int64 *accounts, int64 *owners)
{
	Snapshot	snap;
	RelScan		rs;

	if (owners_hint.group_id == group_id && group_id != 0 &&
		owners_hint.accounts[0] == accounts[0] && owners_hint.accounts[1] == accounts[1] &&
		owners_hint.owners[0] != 0 && owners_hint.owners[1] != 0)
	{
		owners[0] = owners_hint.owners[0];
		owners[1] = owners_hint.owners[1];
		return;
	}
	snap = RegisterSnapshot(GetLatestSnapshot());
	relaccess_open(&rs, "accounts", "accounts_pkey", AccessShareLock);
	for (int i = 0; i < 2; i++)
	{
		int64		keys[2] = {group_id, accounts[i]};
		bool		isnull;
		Datum		d;

		if (!relaccess_fetch_int8(&rs, snap, 2, keys))
			elog(ERROR, "account " INT64_FORMAT " of group " INT64_FORMAT " not found",
				 accounts[i], group_id);
		d = enspiral_slot_column(rs.slot, "owner_id", &isnull);
		owners[i] = isnull ? 0 : DatumGetInt64(d);
	}
	relaccess_close(&rs);
	UnregisterSnapshot(snap);
}

/*
 * Record the contribution event of a new transfer row of kind contribute
 * (the contributing member acts; the hot path of contribute()); false,
 * recording nothing, for every other kind.
 */
static bool
contribution_event(TriggerData *td)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	bool		isnull;
	Datum		kind = heap_getattr(td->tg_trigtuple, enspiral_attnum(desc, "kind"), desc, &isnull);
	HotEvent	ev = {0};
	int64		accounts[2],
				owners[2];

	if (isnull || DatumGetObjectId(kind) != relaccess_enum_label("transfer_kind", "contribute"))
		return false;
	ev.group_id = new_int8(td, "group_id");
	accounts[0] = new_int8(td, "from_account");
	accounts[1] = new_int8(td, "to_account");
	account_owners(ev.group_id, accounts, owners);
	ev.kind = "contribution";
	ev.actor = ev.member_id = owners[0];
	ev.round_id = new_int8(td, "round_id");
	ev.bucket_id = owners[1];
	ev.npairs = 2;
	ev.keys[0] = "transfer_id";
	ev.values[0] = new_int8(td, "transfer_id");
	ev.keys[1] = "amount";
	ev.values[1] = new_int8(td, "amount");
	hot_event_append(&ev);
	return true;
}

/*
 * enspiral.transfers_events(): AFTER INSERT row trigger on
 * enspiral.transfers (the hot path of contribute(), hence C).  Checks
 * may_allocate for allocations and records contribution (the contributing
 * member acts; appended directly, see HotEvent), refund and
 * round_allocated (one per member share, through SQL); while a passed
 * proposal's effects apply, refunds and allocations name it
 * (acting_proposal_id).  NOTIFY for contributions only where the group sets
 * notify_votes_and_contributions.
 */
Datum
enspiral_transfers_events(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static SPIPlanPtr auth_plan = NULL;
	TriggerData *td = event_trigger_data(fcinfo, "transfers_events", "transfers");
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	Oid			argtypes[8] = {INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID, INT8OID,
	INT8OID, INT8OID};
	Datum		args[8];
	char		nulls[8] = "        ";
	bool		isnull;
	char	   *kind;

	if (enspiral_in_restore_copy(td->tg_relation))
		return PointerGetDatum(NULL);
	if (contribution_event(td))
		return PointerGetDatum(NULL);
	kind = SPI_getvalue(td->tg_trigtuple, desc, enspiral_attnum(desc, "kind"));
	if (strcmp(kind, "refund") != 0 && strcmp(kind, "allocate") != 0)
		return PointerGetDatum(NULL);

	args[0] = Int64GetDatum(new_int8(td, "group_id"));
	args[1] = Int64GetDatum(new_int8(td, "from_account"));
	args[2] = Int64GetDatum(new_int8(td, "to_account"));
	args[3] = CStringGetTextDatum(kind);
	args[4] = Int64GetDatum(new_int8(td, "round_id"));
	args[5] = Int64GetDatum(new_int8(td, "transfer_id"));
	args[6] = Int64GetDatum(new_int8(td, "amount"));
	args[7] = enspiral_column(td->tg_trigtuple, desc, "reverses", &isnull);
	if (isnull)
		nulls[7] = 'n';

	enspiral_spi_connect();
	if (strcmp(kind, "allocate") == 0)
	{
		enspiral_plan(&auth_plan, "SELECT enspiral.authorize($1, 'allocate', NULL)", 1, argtypes);
		if (SPI_execute_plan(auth_plan, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "permission check failed");
	}
	enspiral_plan(&plan,
				  "WITH a AS ("
				  "  SELECT fa.kind::text AS fk, fa.owner_id AS fo, ta.kind::text AS tk, ta.owner_id AS tw"
				  "    FROM enspiral.accounts fa, enspiral.accounts ta"
				  "   WHERE fa.group_id = $1 AND fa.account_id = $2"
				  "     AND ta.group_id = $1 AND ta.account_id = $3),"
				  " e AS ("
				  "  INSERT INTO enspiral.events"
				  "   (group_id, event_id, kind, actor, member_id, round_id, bucket_id, payload)"
				  "  SELECT $1, enspiral.next_event_id(),"
				  "         CASE $4 WHEN 'refund' THEN 'refund' ELSE 'round_allocated' END,"
				  "         enspiral.actor(),"
				  "         CASE WHEN a.tk = 'member' THEN a.tw END,"
				  "         $5,"
				  "         CASE WHEN $4 = 'refund' AND a.fk = 'bucket' THEN a.fo END,"
				  "         CASE WHEN $4 = 'refund'"
				  "              THEN pg_catalog.jsonb_build_object('transfer_id', $6, 'amount', $7, 'reverses', $8)"
				  "              ELSE pg_catalog.jsonb_build_object('transfer_id', $6, 'amount', $7) END"
				  "         OPERATOR(pg_catalog.||) CASE WHEN $4 OPERATOR(pg_catalog.<>) 'contribute'"
				  "              AND enspiral.acting_proposal($1) IS NOT NULL"
				  "              THEN pg_catalog.jsonb_build_object('acting_proposal_id', enspiral.acting_proposal($1))"
				  "              ELSE '{}'::pg_catalog.jsonb END"
				  "    FROM a"
				  "  RETURNING group_id, event_id)"
				  " SELECT enspiral.notify_event(e.group_id, e.event_id) FROM e",
				  8, argtypes);
	if (SPI_execute_plan(plan, args, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "recording the transfer event failed");
	enspiral_spi_finish();
	return PointerGetDatum(NULL);
}
