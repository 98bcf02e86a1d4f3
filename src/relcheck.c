/*-------------------------------------------------------------------------
 *
 * relcheck.c
 *	  Trigger functions check the table they fire on.
 *
 * The trigger functions of enspiral's own tables read columns by position
 * and type.  Attached to another table (a temporary table with look-alike
 * columns of other types, say) they would read garbage or crash, and could
 * fake the state they keep for the transaction.  EXECUTE on them is revoked
 * from PUBLIC, and each one first verifies, by OID, that the relation it
 * fired on is the enspiral table it was written for.  The OIDs are looked
 * up once per backend and forgotten on any relcache invalidation of one of
 * them (DROP, rename, ALTER ... SET SCHEMA) or a full reset.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "enspiral.h"

#define RELCHECK_CACHE_SIZE 32

typedef struct RelcheckEntry
{
	char		name[NAMEDATALEN];
	Oid			relid;
} RelcheckEntry;

static RelcheckEntry relcheck_cache[RELCHECK_CACHE_SIZE];
static int	relcheck_count = 0;
static bool relcheck_callback_registered = false;

/* Relcache invalidation: forget every cached OID if one of them changed */
static void
relcheck_invalidate(Datum arg, Oid relid)
{
	if (!OidIsValid(relid))
	{
		relcheck_count = 0;
		return;
	}
	for (int i = 0; i < relcheck_count; i++)
		if (relcheck_cache[i].relid == relid)
		{
			relcheck_count = 0;
			return;
		}
}

/* OID of table enspiral.<relname>, or InvalidOid when there is none */
static Oid
relcheck_lookup(const char *relname)
{
	Oid			nsp;
	Oid			relid;

	for (int i = 0; i < relcheck_count; i++)
		if (strcmp(relcheck_cache[i].name, relname) == 0)
			return relcheck_cache[i].relid;
	if (!relcheck_callback_registered)
	{
		CacheRegisterRelcacheCallback(relcheck_invalidate, (Datum) 0);
		relcheck_callback_registered = true;
	}
	nsp = get_namespace_oid("enspiral", true);
	relid = OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;
	if (OidIsValid(relid) && relcheck_count < RELCHECK_CACHE_SIZE)
	{
		strlcpy(relcheck_cache[relcheck_count].name, relname, NAMEDATALEN);
		relcheck_cache[relcheck_count].relid = relid;
		relcheck_count++;
	}
	return relid;
}

/* OID of table enspiral.<relname> (cached), or InvalidOid */
Oid
enspiral_table_oid(const char *relname)
{
	return relcheck_lookup(relname);
}

/* True if rel is the table enspiral.<relname>, or a Citus shard of it (citus.c) */
bool
enspiral_relation_is(Relation rel, const char *relname)
{
	Oid			relid = relcheck_lookup(relname);

	return OidIsValid(relid) &&
		(RelationGetRelid(rel) == relid || enspiral_is_shard_of(RelationGetRelid(rel), relid));
}

/*
 * enspiral_require_trigger_table_in(td, fname, relnames, nrels): error
 * unless the trigger fired on one of the named enspiral tables.  Called by
 * every trigger function of enspiral's own tables before it reads a column.
 */
void
enspiral_require_trigger_table_in(TriggerData *td, const char *fname,
								  const char *const *relnames, int nrels)
{
	for (int i = 0; i < nrels; i++)
		if (enspiral_relation_is(td->tg_relation, relnames[i]))
			return;
	ereport(ERROR,
			(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
			 errmsg("trigger function enspiral.%s() may only fire on its own enspiral table",
					fname),
			 errdetail("Trigger \"%s\" fired it on table \"%s.%s\"; it guards enspiral.%s.",
					   td->tg_trigger->tgname,
					   get_namespace_name(RelationGetNamespace(td->tg_relation)),
					   RelationGetRelationName(td->tg_relation), relnames[0]),
			 errhint("Drop the trigger.  Internal trigger functions cannot be attached to other tables.")));
}

/* enspiral_require_trigger_table(td, fname, relname): the same for one table */
void
enspiral_require_trigger_table(TriggerData *td, const char *fname, const char *relname)
{
	enspiral_require_trigger_table_in(td, fname, &relname, 1);
}
