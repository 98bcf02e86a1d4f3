/*-------------------------------------------------------------------------
 *
 * lifecycle_guards.c
 *	  Trigger functions that attach enspiral's rules to any table, the
 *	  built-in ones and an application's own:
 *
 *	  enspiral.guard_lifecycle('col')	refuses an UPDATE that moves a
 *		lifecycle column (proposal_state or bucket_state) along a transition
 *		its lifecycle does not allow (NS010);
 *	  enspiral.guard_deadline('col', 'deadline')	refuses a row that is
 *		"open" while its deadline is not in the future (NS012);
 *	  enspiral.guard_append_only(['hint'])	refuses UPDATE and DELETE of rows
 *		and TRUNCATE of the table (NS011).
 *
 * Misuse (wrong timing, level or event, wrong arguments, an unknown column
 * or a column of the wrong type) is detected when the trigger fires and
 * reported with the trigger and table names.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

#include "enspiral.h"
#include "lifecycle.h"

PG_FUNCTION_INFO_V1(enspiral_guard_lifecycle);
PG_FUNCTION_INFO_V1(enspiral_guard_deadline);
PG_FUNCTION_INFO_V1(enspiral_guard_append_only);

/* Qualified, quoted name of the trigger's table */
static char *
guard_table_name(Relation rel)
{
	return quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
									  RelationGetRelationName(rel));
}

/* "AFTER INSERT FOR EACH STATEMENT": how a trigger was fired */
static const char *
guard_fired_as(TriggerEvent ev)
{
	const char *timing;
	const char *event;

	if (TRIGGER_FIRED_BEFORE(ev))
		timing = "BEFORE";
	else if (TRIGGER_FIRED_AFTER(ev))
		timing = "AFTER";
	else
		timing = "INSTEAD OF";
	if (TRIGGER_FIRED_BY_INSERT(ev))
		event = "INSERT";
	else if (TRIGGER_FIRED_BY_UPDATE(ev))
		event = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(ev))
		event = "DELETE";
	else
		event = "TRUNCATE";
	return psprintf("%s %s FOR EACH %s", timing, event,
					TRIGGER_FIRED_FOR_ROW(ev) ? "ROW" : "STATEMENT");
}

/* Raise the misuse error: the trigger was fired in a way fname cannot serve */
static void
guard_wrong_firing(TriggerData *td, const char *fname, const char *needed)
{
	ereport(ERROR,
			(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
			 errmsg("trigger fires a guard function the wrong way"),
			 errdetail("Trigger \"%s\" on table %s fires %s %s; it must be fired %s.",
					   td->tg_trigger->tgname, guard_table_name(td->tg_relation),
					   fname, guard_fired_as(td->tg_event), needed)));
}

/* Raise the misuse error for a wrong number of trigger arguments; hint: what it takes */
static void
guard_wrong_nargs(TriggerData *td, const char *fname, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("wrong number of trigger arguments"),
			 errdetail_plural("Trigger \"%s\" on table %s passes %d argument to %s.",
							  "Trigger \"%s\" on table %s passes %d arguments to %s.",
							  td->tg_trigger->tgnargs,
							  td->tg_trigger->tgname, guard_table_name(td->tg_relation),
							  td->tg_trigger->tgnargs, fname),
			 errhint("%s", hint)));
}

/* attnum of the user column named by a trigger argument; error if none */
static AttrNumber
guard_column(TriggerData *td, const char *fname, const char *colname)
{
	int			attnum = SPI_fnumber(td->tg_relation->rd_att, colname);

	if (attnum == SPI_ERROR_NOATTRIBUTE || attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column named by a trigger argument does not exist"),
				 errdetail("Trigger \"%s\" on table %s names column \"%s\" for %s.",
						   td->tg_trigger->tgname, guard_table_name(td->tg_relation),
						   colname, fname),
				 attnum <= 0 && attnum != SPI_ERROR_NOATTRIBUTE ?
				 errhint("System columns cannot be guarded.") : 0));
	return (AttrNumber) attnum;
}

/* Base type of a column (a domain counts as its base type) */
static Oid
guard_column_type(Relation rel, AttrNumber attnum)
{
	return getBaseType(TupleDescAttr(rel->rd_att, attnum - 1)->atttypid);
}

/* Raise the misuse error for a column of the wrong type */
static void
guard_wrong_type(TriggerData *td, const char *fname, const char *colname,
				 AttrNumber attnum, const char *needed)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("guarded column has the wrong type"),
			 errdetail("Trigger \"%s\" on table %s names column \"%s\" of type %s, but %s needs %s.",
					   td->tg_trigger->tgname, guard_table_name(td->tg_relation),
					   colname,
					   format_type_be(TupleDescAttr(td->tg_relation->rd_att, attnum - 1)->atttypid),
					   fname, needed)));
}

/* The lifecycle of a state column; misuse error when it has no lifecycle type */
static LifecycleKind
guard_lifecycle_column(TriggerData *td, const char *fname, const char *colname,
					   AttrNumber attnum)
{
	LifecycleKind kind;

	if (!lifecycle_kind_of_type(guard_column_type(td->tg_relation, attnum), &kind))
		guard_wrong_type(td, fname, colname, attnum,
						 "enspiral.proposal_state or enspiral.bucket_state");
	return kind;
}

/*
 * How a row is named in messages: "public.polls row (id)=(3)".  The key values are
 * shown only to a user who may read the table (as PostgreSQL does for
 * unique violations); otherwise, and without a primary key, "polls row".
 */
static char *
guard_row_name(Relation rel, HeapTuple tuple)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	Oid			pkoid = RelationGetPrimaryKeyIndex(rel);
	StringInfoData buf;
	StringInfoData vals;
	Relation	idx;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s row", guard_table_name(rel));
	if (!OidIsValid(pkoid) ||
		pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return buf.data;
	initStringInfo(&vals);
	idx = relation_open(pkoid, AccessShareLock);
	appendStringInfoString(&buf, " (");
	for (int i = 0; i < idx->rd_index->indnkeyatts; i++)
	{
		AttrNumber	attnum = idx->rd_index->indkey.values[i];
		char	   *val = SPI_getvalue(tuple, tupdesc, attnum);

		appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "",
						 quote_identifier(NameStr(TupleDescAttr(tupdesc, attnum - 1)->attname)));
		appendStringInfo(&vals, "%s%s", i > 0 ? ", " : "", val ? val : "null");
	}
	relation_close(idx, AccessShareLock);
	appendStringInfo(&buf, ")=(%s)", vals.data);
	return buf.data;
}

/*
 * enspiral.guard_lifecycle('state_column'): BEFORE UPDATE FOR EACH ROW.
 * Refuses a change of the column that its lifecycle does not allow; an
 * unchanged value always passes.  NULL -> state passes (a row entering the
 * lifecycle is like an INSERT, which is not guarded); state -> NULL is
 * refused (a state is never forgotten).
 */
Datum
enspiral_guard_lifecycle(PG_FUNCTION_ARGS)
{
	const char *fname = "enspiral.guard_lifecycle()";
	TriggerData *td = enspiral_trigger_call(fcinfo, "guard_lifecycle", 0);
	TupleDesc	tupdesc = RelationGetDescr(td->tg_relation);
	const char *colname;
	AttrNumber	attnum;
	LifecycleKind kind;
	bool		oldnull;
	bool		newnull;
	Datum		oldval;
	Datum		newval;

	if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		guard_wrong_firing(td, fname, "BEFORE UPDATE FOR EACH ROW");
	if (td->tg_trigger->tgnargs != 1)
		guard_wrong_nargs(td, fname, "enspiral.guard_lifecycle() takes exactly one argument, the name of the state column.");
	colname = td->tg_trigger->tgargs[0];
	attnum = guard_column(td, fname, colname);
	kind = guard_lifecycle_column(td, fname, colname, attnum);

	oldval = heap_getattr(td->tg_trigtuple, attnum, tupdesc, &oldnull);
	newval = heap_getattr(td->tg_newtuple, attnum, tupdesc, &newnull);
	if (newnull && !oldnull)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_TRANSITION),
				 errmsg("lifecycle state cannot be removed"),
				 errdetail("The update sets column \"%s\" of %s from \"%s\" to NULL; the column follows the %s lifecycle.",
						   colname, guard_row_name(td->tg_relation, td->tg_trigtuple),
						   lifecycle_state_name(kind, DatumGetLifecycleState(oldval)),
						   lifecycle_type_name(kind)),
				 errtablecol(td->tg_relation, attnum)));
	if (!oldnull && !newnull &&
		!lifecycle_can_transition(kind, DatumGetLifecycleState(oldval),
								  DatumGetLifecycleState(newval)))
		lifecycle_check_column_transition(kind, DatumGetLifecycleState(oldval),
										  DatumGetLifecycleState(newval),
										  guard_row_name(td->tg_relation, td->tg_trigtuple),
										  td->tg_relation, attnum);
	return PointerGetDatum(td->tg_newtuple);
}

/* The position of "open" in a lifecycle (both lifecycles have one) */
static int
lifecycle_open_state(LifecycleKind kind)
{
	return kind == LIFECYCLE_PROPOSAL ? PROPOSAL_OPEN : BUCKET_OPEN;
}

/*
 * enspiral.guard_deadline('state_column', 'deadline_column'):
 * BEFORE INSERT OR UPDATE FOR EACH ROW.  A row may be "open" only while its
 * deadline (timestamptz; NULL = none) is later than the transaction time:
 * inserting an open row, moving a row to open, or changing a row that stays
 * open is refused once the deadline has passed.  Moving an open row on
 * (to closed, funded, withdrawn, ...) is always allowed: that is how a row
 * is closed after its deadline.
 */
Datum
enspiral_guard_deadline(PG_FUNCTION_ARGS)
{
	const char *fname = "enspiral.guard_deadline()";
	TriggerData *td = enspiral_trigger_call(fcinfo, "guard_deadline", 0);
	TupleDesc	tupdesc = RelationGetDescr(td->tg_relation);
	HeapTuple	row;
	AttrNumber	state_att;
	AttrNumber	deadline_att;
	LifecycleKind kind;
	bool		isnull;
	Datum		state;
	Datum		deadline;

	if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
		guard_wrong_firing(td, fname, "BEFORE INSERT OR UPDATE FOR EACH ROW");
	if (td->tg_trigger->tgnargs != 2)
		guard_wrong_nargs(td, fname,
						  "enspiral.guard_deadline() takes exactly two arguments, the names of the state and deadline columns.");
	state_att = guard_column(td, fname, td->tg_trigger->tgargs[0]);
	kind = guard_lifecycle_column(td, fname, td->tg_trigger->tgargs[0], state_att);
	deadline_att = guard_column(td, fname, td->tg_trigger->tgargs[1]);
	if (guard_column_type(td->tg_relation, deadline_att) != TIMESTAMPTZOID)
		guard_wrong_type(td, fname, td->tg_trigger->tgargs[1], deadline_att,
						 "timestamp with time zone");

	row = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	state = heap_getattr(row, state_att, tupdesc, &isnull);
	if (isnull || DatumGetLifecycleState(state) != lifecycle_open_state(kind))
		return PointerGetDatum(row);
	deadline = heap_getattr(row, deadline_att, tupdesc, &isnull);
	if (!isnull &&
		DatumGetTimestampTz(deadline) <= enspiral_write_clock())
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_DEADLINE_PASSED),
				 errmsg("open row's deadline has passed"),
				 errdetail("The deadline \"%s\" of %s is not later than the time of the write.",
						   td->tg_trigger->tgargs[1], guard_row_name(td->tg_relation, row)),
				 errhint("Move the row out of \"open\", or give it a later deadline."),
				 errtablecol(td->tg_relation, deadline_att)));
	return PointerGetDatum(row);
}

/*
 * enspiral.guard_append_only(['hint']): BEFORE UPDATE OR DELETE FOR EACH ROW
 * and BEFORE TRUNCATE FOR EACH STATEMENT.  Refuses every UPDATE, DELETE and
 * TRUNCATE of the table; the optional argument is shown as the hint.
 */
Datum
enspiral_guard_append_only(PG_FUNCTION_ARGS)
{
	const char *fname = "enspiral.guard_append_only()";
	TriggerData *td = enspiral_trigger_call(fcinfo, "guard_append_only", 0);
	TriggerEvent ev = td->tg_event;

	if (!TRIGGER_FIRED_BEFORE(ev) ||
		!((TRIGGER_FIRED_FOR_ROW(ev) &&
		   (TRIGGER_FIRED_BY_UPDATE(ev) || TRIGGER_FIRED_BY_DELETE(ev))) ||
		  (TRIGGER_FIRED_FOR_STATEMENT(ev) && TRIGGER_FIRED_BY_TRUNCATE(ev))))
		guard_wrong_firing(td, fname,
						   "BEFORE UPDATE OR DELETE FOR EACH ROW, or BEFORE TRUNCATE FOR EACH STATEMENT");
	if (td->tg_trigger->tgnargs > 1)
		guard_wrong_nargs(td, fname, "enspiral.guard_append_only() takes at most one argument, a hint for the error message.");

	/* the optional argument is the hint */
	if (TRIGGER_FIRED_BY_TRUNCATE(ev))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_APPEND_ONLY),
				 errmsg("append-only table cannot be truncated"),
				 errdetail("Table %s is append-only.", guard_table_name(td->tg_relation)),
				 td->tg_trigger->tgnargs == 1 ?
				 errhint("%s", td->tg_trigger->tgargs[0]) : 0,
				 errtable(td->tg_relation)));
	if (TRIGGER_FIRED_BY_UPDATE(ev))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_APPEND_ONLY),
				 errmsg("row of an append-only table cannot be updated"),
				 errdetail("Table %s is append-only; the statement updates %s.",
						   guard_table_name(td->tg_relation),
						   guard_row_name(td->tg_relation, td->tg_trigtuple)),
				 td->tg_trigger->tgnargs == 1 ?
				 errhint("%s", td->tg_trigger->tgargs[0]) : 0,
				 errtable(td->tg_relation)));
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_APPEND_ONLY),
			 errmsg("row of an append-only table cannot be deleted"),
			 errdetail("Table %s is append-only; the statement deletes %s.",
					   guard_table_name(td->tg_relation),
					   guard_row_name(td->tg_relation, td->tg_trigtuple)),
			 td->tg_trigger->tgnargs == 1 ?
			 errhint("%s", td->tg_trigger->tgargs[0]) : 0,
			 errtable(td->tg_relation)));
}
