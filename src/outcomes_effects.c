/*-------------------------------------------------------------------------
 *
 * outcomes_effects.c
 *	  The acting proposal: while the effects of a passed proposal are being
 *	  applied (sql/install/65_outcomes.sql), the proposal is the actor of
 *	  every change they make.  The mark lives in backend memory, not in a
 *	  setting, so no application can forge it with SET; it is set and
 *	  cleared only by enspiral.act_as_proposal(), which applications cannot
 *	  execute, and it never outlives the (sub)transaction that set it.
 *	  doc/executable-outcomes.md is the reference.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"

#include "enspiral.h"

PG_FUNCTION_INFO_V1(enspiral_act_as_proposal);
PG_FUNCTION_INFO_V1(enspiral_acting_proposal);

/* The proposal acting now (0: none), its group and the level that set it */
static int64 acting_group = 0;
static int64 acting_proposal = 0;
static int	acting_level = 0;
static bool callbacks_registered = false;

/* Forget the acting proposal */
static void
clear_acting(void)
{
	acting_group = 0;
	acting_proposal = 0;
	acting_level = 0;
}

/* The mark never survives the end of its transaction */
static void
effects_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			clear_acting();
			break;
		default:
			break;
	}
}

/* Nor the abort of the subtransaction that set it (or of one enclosing it) */
static void
effects_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && acting_proposal != 0 &&
		GetCurrentTransactionNestLevel() <= acting_level)
		clear_acting();
}

/*
 * enspiral.act_as_proposal(group_id, proposal_id) RETURNS void
 *	  Internal: marks the proposal as the actor of the changes that follow in
 *	  this (sub)transaction; a NULL proposal_id clears the mark.
 */
Datum
enspiral_act_as_proposal(PG_FUNCTION_ARGS)
{
	if (!callbacks_registered)
	{
		RegisterXactCallback(effects_xact_callback, NULL);
		RegisterSubXactCallback(effects_subxact_callback, NULL);
		callbacks_registered = true;
	}
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
	{
		clear_acting();
		PG_RETURN_VOID();
	}
	if (acting_proposal != 0 && acting_proposal != PG_GETARG_INT64(1))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("another proposal is acting already"),
				 errdetail("Proposal " INT64_FORMAT " is acting in this transaction; proposal " INT64_FORMAT " cannot act until it is done.",
						   acting_proposal, PG_GETARG_INT64(1))));
	acting_group = PG_GETARG_INT64(0);
	acting_proposal = PG_GETARG_INT64(1);
	acting_level = GetCurrentTransactionNestLevel();
	PG_RETURN_VOID();
}

/*
 * enspiral.acting_proposal(group_id) RETURNS bigint
 *	  The proposal whose effects are being applied in the group now, or NULL;
 *	  with a NULL group_id, in any group (enspiral.actor() asks so).
 */
Datum
enspiral_acting_proposal(PG_FUNCTION_ARGS)
{
	if (acting_proposal == 0 ||
		(!PG_ARGISNULL(0) && acting_group != PG_GETARG_INT64(0)))
		PG_RETURN_NULL();
	PG_RETURN_INT64(acting_proposal);
}
