/*-------------------------------------------------------------------------
 *
 * core_citus_actor.c
 *	  The acting member goes with every statement that reaches another node.
 *
 * The member a client acts as is the setting enspiral.actor (SET LOCAL
 * enspiral.actor = '17'), read by enspiral.actor() in the triggers that
 * check rights (sql/install/05_actors.sql).  On Citus those triggers fire on
 * the node that holds the group's shards: a call delegated there by Citus,
 * a call forwarded there by enspiral (core_forward.c), or a statement of a
 * call that runs on the coordinator and is routed there.  A setting lives in
 * the session that made it, so the node saw no actor and treated every call
 * as the application's own: a member without a right acted with it.
 *
 * Three parts close that:
 *
 * 1. The setting is declared here (a string; empty: no actor), so the hooks
 *	  below read it without a lookup.  It is still validated where it is
 *	  used, by enspiral.actor() (NS503).
 *
 * 2. ExecutorStart: while the setting names an actor, or named one earlier
 *	  in the transaction, and enspiral's tables are distributed, the
 *	  statement runs in a coordinated transaction of Citus (every node it
 *	  reaches runs it in a transaction block that ends with the client's),
 *	  and Citus's list of SET LOCAL commands holds
 *	  SET LOCAL enspiral.actor TO '<value>'.  Citus sends that list at the
 *	  start of every remote transaction block, and sends a new command to
 *	  the blocks already open: its own mechanism for
 *	  citus.propagate_set_commands = 'local', PostprocessVariableSetStmt(),
 *	  called through the dynamic loader (Citus exports it; it has no
 *	  function that takes a setting and value).  A command is sent only when
 *	  the value differs from the one Citus holds for the transaction, which
 *	  this file follows: Citus forgets the commands of a subtransaction when
 *	  it ends, committed or not, and so does the stack below.
 *
 * 3. Planner: while the setting names an actor, a top-level call
 *	  SELECT enspiral.f(...) is not delegated by Citus: it runs on the
 *	  coordinator, which forwards it to the group's node inside the client's
 *	  transaction (part 2 carries the actor there).  A delegated call would
 *	  run in the node's own transaction, and the commit-time rules of a
 *	  coordinated transaction are checked before the commit only for the
 *	  groups the coordinator knows it wrote (core_commit_rules.c).  The
 *	  planner is told by a qual WHERE true, which makes Citus plan the call
 *	  as an ordinary query (function_call_delegation.c delegates only a call
 *	  without quals).
 *
 * A plan made without an actor and kept (a prepared statement without
 * parameters) still delegates: part 2 carries the actor with it, so rights
 * are checked as everywhere; doc/scaling.md says what differs.
 *
 * A node that runs a statement for the coordinator (a backend Citus opened,
 * IsCitusInternalBackend()) has the actor from the coordinator and sends
 * nothing on: its part of the transaction stays on that node (a guard
 * refuses the rest, core_citus_prepare.c), and Citus resets its list of
 * SET LOCAL commands only at COMMIT and ABORT (transaction_management.c):
 * after a PREPARE TRANSACTION on a node the list points into freed memory,
 * and adding to it there would write into it.
 *
 * On a single server the hooks cost one test of the setting: empty, nothing
 * carried.  With an actor and no distributed tables, two cached answers
 * (relaccess_relid_if_exists(), relaccess_distributed()).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "optimizer/planner.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "enspiral.h"
#include "relaccess.h"

/* The setting enspiral.actor: a member id, or empty */
static char *actor_setting = NULL;

/* One value carried to the nodes, at a subtransaction nesting level */
typedef struct CarriedActor
{
	int			level;
	char	   *value;
} CarriedActor;

/* Values carried in this transaction, innermost last (TopTransactionContext) */
static List *carried = NIL;

/* Citus's functions, found through the dynamic loader */
typedef void (*PostprocessSetFn) (VariableSetStmt *stmt, const char *text);
typedef void (*VoidFn) (void);
typedef bool (*BoolFn) (void);

static PostprocessSetFn citus_postprocess_set = NULL;
static VoidFn citus_use_coordinated = NULL;
static BoolFn citus_internal_backend = NULL;

static planner_hook_type prev_planner = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;

/* True when the setting names someone (validity is actor()'s concern) */
static bool
actor_named(void)
{
	return actor_setting != NULL && actor_setting[0] != '\0';
}

/* The value Citus holds for this transaction's remote blocks ("" for none) */
static const char *
carried_value(void)
{
	if (carried == NIL)
		return "";
	return ((CarriedActor *) llast(carried))->value;
}

/* True when enspiral's tables are distributed in this database (cached answers) */
static bool
tables_distributed(void)
{
	Oid			groups = relaccess_relid_if_exists("groups");

	return OidIsValid(groups) && relaccess_distributed(groups);
}

/* Find Citus's functions once; refuse the statement when one is missing */
static void
citus_functions(void)
{
	if (citus_postprocess_set != NULL)
		return;
	citus_use_coordinated = (VoidFn)
		load_external_function("citus", "UseCoordinatedTransaction", false, NULL);
	citus_internal_backend = (BoolFn)
		load_external_function("citus", "IsCitusInternalBackend", false, NULL);
	citus_postprocess_set = (PostprocessSetFn)
		load_external_function("citus", "PostprocessVariableSetStmt", false, NULL);
	if (citus_use_coordinated == NULL || citus_internal_backend == NULL ||
		citus_postprocess_set == NULL)
	{
		citus_postprocess_set = NULL;
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot coordinate the transaction with the nodes"),
				 errdetail("The loaded Citus library lacks a function that enspiral uses to run a call on the group's node within the client's transaction."),
				 errhint("Use the Citus version that doc/scaling.md names.")));
	}
}

/* Send SET LOCAL enspiral.actor TO value to the nodes of this transaction */
static void
carry(const char *value)
{
	VariableSetStmt *stmt = makeNode(VariableSetStmt);
	A_Const    *arg = makeNode(A_Const);
	MemoryContext old;
	CarriedActor *entry;
	char	   *text;

	stmt->kind = VAR_SET_VALUE;
	stmt->name = "enspiral.actor";
	arg->val.sval.type = T_String;
	arg->val.sval.sval = pstrdup(value);
	arg->location = -1;
	stmt->args = list_make1(arg);
	stmt->is_local = true;
	text = psprintf("SET LOCAL enspiral.actor TO %s", quote_literal_cstr(value));
	citus_postprocess_set(stmt, text);
	old = MemoryContextSwitchTo(TopTransactionContext);
	entry = palloc(sizeof(CarriedActor));
	entry->level = GetCurrentTransactionNestLevel();
	entry->value = pstrdup(value);
	carried = lappend(carried, entry);
	MemoryContextSwitchTo(old);
}

/*
 * enspiral_citus_coordinate(): the rest of this transaction runs in a
 * coordinated transaction of Citus: every node a statement reaches runs it
 * in a transaction block that commits or rolls back with this one (a
 * single-shard read outside BEGIN would otherwise commit on its node at
 * once).  False, and nothing done, in a backend Citus opened (a node
 * running a call for the coordinator), which is part of the coordinator's
 * transaction already.
 */
bool
enspiral_citus_coordinate(void)
{
	citus_functions();
	if (citus_internal_backend())
		return false;
	citus_use_coordinated();
	return true;
}

/* Before a statement runs: the nodes it reaches know the acting member */
static void
carry_actor(void)
{
	const char *value = actor_named() ? actor_setting : "";

	if (strcmp(value, carried_value()) == 0)
		return;
	/* a node running its part of the coordinator's transaction sends nothing */
	if (tables_distributed() && enspiral_citus_coordinate())
		carry(value);
}

/* ExecutorStart hook: carry the acting member before Citus sends anything */
static void
actor_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	/* carry_actor() may run queries (is a table distributed?): not again for them */
	static bool carrying = false;

	if ((actor_named() || carried != NIL) && !carrying)
	{
		carrying = true;
		PG_TRY();
		{
			carry_actor();
		}
		PG_FINALLY();
		{
			carrying = false;
		}
		PG_END_TRY();
	}
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/* True for SELECT enspiral.f(...) alone, the shape Citus delegates */
static bool
delegable_call(Query *parse)
{
	TargetEntry *te;
	FuncExpr   *fn;

	if (parse->commandType != CMD_SELECT || parse->jointree == NULL ||
		parse->jointree->quals != NULL || parse->jointree->fromlist != NIL ||
		list_length(parse->targetList) != 1)
		return false;
	te = linitial_node(TargetEntry, parse->targetList);
	if (!IsA(te->expr, FuncExpr))
		return false;
	fn = (FuncExpr *) te->expr;
	return get_func_namespace(fn->funcid) == relaccess_namespace_if_exists();
}

/* Planner hook: a call made under an actor is not delegated (see header) */
static PlannedStmt *
actor_planner(Query *parse, const char *query_string, int cursorOptions,
			  ParamListInfo boundParams)
{
	if (actor_named() && delegable_call(parse) && tables_distributed())
		parse->jointree->quals = (Node *) makeBoolConst(true, false);
	if (prev_planner)
		return prev_planner(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

/* Subtransaction end: Citus drops the commands sent in it, so do we */
static void
actor_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();

	if (event != SUBXACT_EVENT_COMMIT_SUB && event != SUBXACT_EVENT_ABORT_SUB)
		return;
	while (carried != NIL && ((CarriedActor *) llast(carried))->level >= level)
		carried = list_delete_last(carried);
}

/* Transaction end: nothing is carried any more (the list went with its context) */
static void
actor_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PARALLEL_ABORT)
		carried = NIL;
}

/* Module load: declare enspiral.actor and install the hooks */
void
enspiral_citus_actor_init(void)
{
	DefineCustomStringVariable("enspiral.actor",
							   "The member who acts in this transaction.",
							   "A member id, or empty for the application itself; read by enspiral.actor(). Set it with SET LOCAL.",
							   &actor_setting,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);
	RegisterXactCallback(actor_xact_callback, NULL);
	RegisterSubXactCallback(actor_subxact_callback, NULL);
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = actor_ExecutorStart;
	prev_planner = planner_hook;
	planner_hook = actor_planner;
}
