/*-------------------------------------------------------------------------
 *
 * core_relcheck.c
 *	  Trigger functions check the table they fire on.
 *
 * The trigger functions of enspiral's own tables read columns by position
 * and type.  Attached to another table (a temporary table with look-alike
 * columns of other types, say) they would read garbage or crash, and could
 * fake the state they keep for the transaction.  EXECUTE on them is revoked
 * from PUBLIC, and each one first verifies, by OID, that the relation it
 * fired on is the enspiral table it was written for.  The OIDs come from
 * the cache of core_relaccess.c.
 *
 * Every trigger function first checks how it was called, with
 * enspiral_trigger_call(): by the trigger manager, at the time, level and
 * event it was written for.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/trigger.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "enspiral.h"
#include "relaccess.h"

/* True if rel is the table enspiral.<relname>, or a Citus shard of it (core_citus.c) */
bool
enspiral_relation_is(Relation rel, const char *relname)
{
	Oid			relid = relaccess_relid_if_exists(relname);

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
			 errmsg("trigger function fired on a table it does not guard"),
			 errdetail("Trigger \"%s\" fired enspiral.%s() on table \"%s.%s\"; the function guards enspiral.%s.",
					   td->tg_trigger->tgname, fname,
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

/*
 * enspiral_trigger_call(fcinfo, fname, how): the TriggerData of a call of
 * trigger function enspiral.<fname>(); error unless the trigger manager
 * called it as how (ENSPIRAL_TRIGGER_* flags) requires.  The messages are
 * those of core's referential integrity triggers.
 */
TriggerData *
enspiral_trigger_call(FunctionCallInfo fcinfo, const char *fname, int how)
{
	TriggerData *td;
	TriggerEvent ev;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager", fname)));
	td = (TriggerData *) fcinfo->context;
	ev = td->tg_event;
	if ((how & ENSPIRAL_TRIGGER_BEFORE) && !TRIGGER_FIRED_BEFORE(ev))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired BEFORE", fname)));
	if ((how & ENSPIRAL_TRIGGER_AFTER) && !TRIGGER_FIRED_AFTER(ev))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired AFTER", fname)));
	if ((how & ENSPIRAL_TRIGGER_ROW) && !TRIGGER_FIRED_FOR_ROW(ev))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired for ROW", fname)));
	if ((how & ENSPIRAL_TRIGGER_INSERT) && !TRIGGER_FIRED_BY_INSERT(ev))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired for INSERT", fname)));
	return td;
}
