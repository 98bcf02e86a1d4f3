/*-------------------------------------------------------------------------
 *
 * lifecycle_types.c
 *	  The proposal and bucket lifecycles: their transition tables and the
 *	  SQL base types enspiral.proposal_state and enspiral.bucket_state.
 *
 * A state is stored as one byte, its position in the lifecycle; positions
 * are also the sort order.  Each lifecycle has exactly one transition table
 * (below); every rule about moving a state, in C or SQL, goes through
 * lifecycle_can_transition() and lifecycle_check_transition().
 *
 * Text form: the lower-case state name, exactly ("draft"); no case folding
 * and no surrounding spaces, so that a value has one spelling.  Binary form
 * (send/recv): the state name as text, like PostgreSQL's enums, so that the
 * wire format does not depend on positions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "enspiral.h"
#include "lifecycle.h"

/* Everything the code needs to know about one lifecycle */
typedef struct LifecycleDef
{
	const char *type_name;		/* qualified SQL type name */
	const char *type_relname;	/* unqualified SQL type name */
	const char *noun;			/* "proposal", for messages */
	int			nstates;
	const char *const *names;	/* state names, by position */
	const bool (*moves)[5];		/* moves[from][to]: allowed transition */
} LifecycleDef;

static const char *const proposal_names[PROPOSAL_NSTATES] = {
	"draft", "scheduled", "open", "closed", "withdrawn"
};

/*
 * The proposal lifecycle.  closed -> open is the reopen; its extra
 * conditions (a future closing time, not anonymous) belong to the decisions
 * code, the table only says that the move exists.
 */
static const bool proposal_moves[PROPOSAL_NSTATES][PROPOSAL_NSTATES] = {
	/* to:            draft  sched  open   closed withdrawn */
	/* draft */		{false, true, true, false, true},
	/* scheduled */ {true, false, true, false, true},
	/* open */		{false, false, false, true, true},
	/* closed */	{false, false, true, false, false},
	/* withdrawn */ {false, false, false, false, false},
};

static const char *const bucket_names[BUCKET_NSTATES] = {
	"idea", "open", "funded", "completed", "cancelled"
};

/* The bucket lifecycle; completed and cancelled are final */
static const bool bucket_moves[BUCKET_NSTATES][BUCKET_NSTATES] = {
	/* to:            idea   open   funded completed cancelled */
	/* idea */		{false, true, false, false, true},
	/* open */		{false, false, true, false, true},
	/* funded */	{false, false, false, true, true},
	/* completed */ {false, false, false, false, false},
	/* cancelled */ {false, false, false, false, false},
};

StaticAssertDecl(PROPOSAL_NSTATES == 5 && BUCKET_NSTATES == 5,
				 "transition tables are 5 x 5");

static const LifecycleDef lifecycles[] = {
	[LIFECYCLE_PROPOSAL] = {"enspiral.proposal_state", "proposal_state",
	"proposal", PROPOSAL_NSTATES, proposal_names, proposal_moves},
	[LIFECYCLE_BUCKET] = {"enspiral.bucket_state", "bucket_state",
	"bucket", BUCKET_NSTATES, bucket_names, bucket_moves},
};

/* Type OIDs cached per backend; reset on any pg_type invalidation */
static Oid	type_oids[2] = {InvalidOid, InvalidOid};
static bool type_callback_registered = false;

PG_FUNCTION_INFO_V1(enspiral_proposal_state_in);
PG_FUNCTION_INFO_V1(enspiral_proposal_state_out);
PG_FUNCTION_INFO_V1(enspiral_proposal_state_recv);
PG_FUNCTION_INFO_V1(enspiral_proposal_state_send);
PG_FUNCTION_INFO_V1(enspiral_bucket_state_in);
PG_FUNCTION_INFO_V1(enspiral_bucket_state_out);
PG_FUNCTION_INFO_V1(enspiral_bucket_state_recv);
PG_FUNCTION_INFO_V1(enspiral_bucket_state_send);
PG_FUNCTION_INFO_V1(enspiral_lifecycle_eq);
PG_FUNCTION_INFO_V1(enspiral_lifecycle_ne);
PG_FUNCTION_INFO_V1(enspiral_lifecycle_lt);
PG_FUNCTION_INFO_V1(enspiral_lifecycle_le);
PG_FUNCTION_INFO_V1(enspiral_lifecycle_gt);
PG_FUNCTION_INFO_V1(enspiral_lifecycle_ge);
PG_FUNCTION_INFO_V1(enspiral_lifecycle_cmp);
PG_FUNCTION_INFO_V1(enspiral_lifecycle_hash);
PG_FUNCTION_INFO_V1(enspiral_lifecycle_hash_extended);
PG_FUNCTION_INFO_V1(enspiral_proposal_can_transition);
PG_FUNCTION_INFO_V1(enspiral_bucket_can_transition);
PG_FUNCTION_INFO_V1(enspiral_proposal_check_transition);
PG_FUNCTION_INFO_V1(enspiral_bucket_check_transition);
PG_FUNCTION_INFO_V1(enspiral_proposal_next_states);
PG_FUNCTION_INFO_V1(enspiral_bucket_next_states);

/* The definition of a lifecycle; elog on a bad kind */
static const LifecycleDef *
lifecycle_def(LifecycleKind kind)
{
	if ((int) kind < 0 || (int) kind >= lengthof(lifecycles))
		elog(ERROR, "unknown lifecycle kind %d", (int) kind);
	return &lifecycles[kind];
}

/* Number of states of a lifecycle */
int
lifecycle_nstates(LifecycleKind kind)
{
	return lifecycle_def(kind)->nstates;
}

/* Name of a state; elog(ERROR) on an out-of-range value */
const char *
lifecycle_state_name(LifecycleKind kind, int state)
{
	const LifecycleDef *def = lifecycle_def(kind);

	if (state < 0 || state >= def->nstates)
		elog(ERROR, "invalid %s value %d", def->type_name, state);
	return def->names[state];
}

/* Parse a state name (exact, lower case); -1 when it is not a state */
int
lifecycle_parse_state(LifecycleKind kind, const char *name)
{
	const LifecycleDef *def = lifecycle_def(kind);

	for (int i = 0; i < def->nstates; i++)
	{
		if (strcmp(name, def->names[i]) == 0)
			return i;
	}
	return -1;
}

/* Qualified name of the SQL type of a lifecycle */
const char *
lifecycle_type_name(LifecycleKind kind)
{
	return lifecycle_def(kind)->type_name;
}

/* True when the transition table allows from -> to (from == to always) */
bool
lifecycle_can_transition(LifecycleKind kind, int from, int to)
{
	const LifecycleDef *def = lifecycle_def(kind);

	/* validates both values */
	(void) lifecycle_state_name(kind, from);
	(void) lifecycle_state_name(kind, to);
	if (from == to)
		return true;
	return def->moves[from][to];
}

/* Comma-separated list of the states reachable from "from", in order */
static char *
lifecycle_next_list(LifecycleKind kind, int from)
{
	const LifecycleDef *def = lifecycle_def(kind);
	StringInfoData buf;

	initStringInfo(&buf);
	for (int to = 0; to < def->nstates; to++)
	{
		if (to == from || !def->moves[from][to])
			continue;
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", def->names[to]);
	}
	return buf.data;
}

/* Raise NS010 for from -> to; with rel, the error names the table column */
static void
lifecycle_transition_error(LifecycleKind kind, int from, int to,
						   const char *what, Relation rel, AttrNumber attnum)
{
	char	   *next = lifecycle_next_list(kind, from);

	if (next[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_TRANSITION),
				 errmsg("invalid lifecycle transition"),
				 errdetail("The %s lifecycle does not let %s move from \"%s\" to \"%s\": \"%s\" is a final state.",
						   lifecycle_def(kind)->noun, what,
						   lifecycle_state_name(kind, from),
						   lifecycle_state_name(kind, to),
						   lifecycle_state_name(kind, from)),
				 rel ? errtablecol(rel, attnum) : 0));
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_INVALID_TRANSITION),
			 errmsg("invalid lifecycle transition"),
			 errdetail("The %s lifecycle does not let %s move from \"%s\" to \"%s\"; from \"%s\" it allows: %s.",
					   lifecycle_def(kind)->noun, what,
					   lifecycle_state_name(kind, from),
					   lifecycle_state_name(kind, to),
					   lifecycle_state_name(kind, from), next),
			 rel ? errtablecol(rel, attnum) : 0));
}

/* Raise ERRCODE_ENSPIRAL_INVALID_TRANSITION unless from -> to is allowed */
void
lifecycle_check_transition(LifecycleKind kind, int from, int to,
						   const char *what)
{
	if (!lifecycle_can_transition(kind, from, to))
		lifecycle_transition_error(kind, from, to, what, NULL, InvalidAttrNumber);
}

/* The same, for a column of a table (the error carries its names) */
void
lifecycle_check_column_transition(LifecycleKind kind, int from, int to,
								  const char *what, Relation rel,
								  AttrNumber attnum)
{
	if (!lifecycle_can_transition(kind, from, to))
		lifecycle_transition_error(kind, from, to, what, rel, attnum);
}

/* Forget the cached type OIDs (pg_type changed, e.g. DROP EXTENSION) */
static void
lifecycle_type_inval(Datum arg, int cacheid, uint32 hashvalue)
{
	type_oids[LIFECYCLE_PROPOSAL] = InvalidOid;
	type_oids[LIFECYCLE_BUCKET] = InvalidOid;
}

/* OID of the SQL type of a lifecycle, looked up once per backend */
Oid
lifecycle_type_oid(LifecycleKind kind)
{
	const LifecycleDef *def = lifecycle_def(kind);
	Oid			nsp;

	if (OidIsValid(type_oids[kind]))
		return type_oids[kind];
	if (!type_callback_registered)
	{
		CacheRegisterSyscacheCallback(TYPEOID, lifecycle_type_inval, (Datum) 0);
		type_callback_registered = true;
	}
	nsp = get_namespace_oid("enspiral", false);
	type_oids[kind] = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
									  CStringGetDatum(def->type_relname),
									  ObjectIdGetDatum(nsp));
	if (!OidIsValid(type_oids[kind]))
		elog(ERROR, "type %s does not exist", def->type_name);
	return type_oids[kind];
}

/* The lifecycle whose SQL type is typid (false when typid is neither type) */
bool
lifecycle_kind_of_type(Oid typid, LifecycleKind *kind)
{
	if (!OidIsValid(typid))
		return false;
	if (typid == lifecycle_type_oid(LIFECYCLE_PROPOSAL))
		*kind = LIFECYCLE_PROPOSAL;
	else if (typid == lifecycle_type_oid(LIFECYCLE_BUCKET))
		*kind = LIFECYCLE_BUCKET;
	else
		return false;
	return true;
}

/* Raise the input error of a lifecycle type for a bad literal */
static void
lifecycle_bad_input(LifecycleKind kind,
					const char *str, int code)
{
	const LifecycleDef *def = lifecycle_def(kind);
	StringInfoData accepted;

	initStringInfo(&accepted);
	for (int i = 0; i < def->nstates; i++)
		appendStringInfo(&accepted, "%s%s", i > 0 ? ", " : "", def->names[i]);
	ereport(ERROR,
			(errcode(code),
			 errmsg("invalid input value for a lifecycle type"),
			 errdetail("\"%s\" is not a value of type %s. Accepted values are %s (lower case, without spaces).",
					   str, def->type_name, accepted.data)));
}

/* Text input of a lifecycle type */
static Datum
lifecycle_in(FunctionCallInfo fcinfo, LifecycleKind kind)
{
	const char *str = PG_GETARG_CSTRING(0);
	int			state = lifecycle_parse_state(kind, str);

	if (state < 0)
		lifecycle_bad_input(kind, str, ERRCODE_INVALID_TEXT_REPRESENTATION);
	return LifecycleStateGetDatum(state);
}

/* Text output of a lifecycle type */
static Datum
lifecycle_out(FunctionCallInfo fcinfo, LifecycleKind kind)
{
	int			state = DatumGetLifecycleState(PG_GETARG_DATUM(0));

	PG_RETURN_CSTRING(pstrdup(lifecycle_state_name(kind, state)));
}

/* Binary input of a lifecycle type: the state name as text */
static Datum
lifecycle_recv(FunctionCallInfo fcinfo, LifecycleKind kind)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			nbytes;
	char	   *name = pq_getmsgtext(buf, buf->len - buf->cursor, &nbytes);
	int			state = lifecycle_parse_state(kind, name);

	if (state < 0)
		lifecycle_bad_input(kind, name, ERRCODE_INVALID_BINARY_REPRESENTATION);
	return LifecycleStateGetDatum(state);
}

/* Binary output of a lifecycle type: the state name as text */
static Datum
lifecycle_send(FunctionCallInfo fcinfo, LifecycleKind kind)
{
	int			state = DatumGetLifecycleState(PG_GETARG_DATUM(0));
	const char *name = lifecycle_state_name(kind, state);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendtext(&buf, name, strlen(name));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* enspiral.proposal_state_in(cstring) */
Datum
enspiral_proposal_state_in(PG_FUNCTION_ARGS)
{
	return lifecycle_in(fcinfo, LIFECYCLE_PROPOSAL);
}

/* enspiral.proposal_state_out(proposal_state) */
Datum
enspiral_proposal_state_out(PG_FUNCTION_ARGS)
{
	return lifecycle_out(fcinfo, LIFECYCLE_PROPOSAL);
}

/* enspiral.proposal_state_recv(internal) */
Datum
enspiral_proposal_state_recv(PG_FUNCTION_ARGS)
{
	return lifecycle_recv(fcinfo, LIFECYCLE_PROPOSAL);
}

/* enspiral.proposal_state_send(proposal_state) */
Datum
enspiral_proposal_state_send(PG_FUNCTION_ARGS)
{
	return lifecycle_send(fcinfo, LIFECYCLE_PROPOSAL);
}

/* enspiral.bucket_state_in(cstring) */
Datum
enspiral_bucket_state_in(PG_FUNCTION_ARGS)
{
	return lifecycle_in(fcinfo, LIFECYCLE_BUCKET);
}

/* enspiral.bucket_state_out(bucket_state) */
Datum
enspiral_bucket_state_out(PG_FUNCTION_ARGS)
{
	return lifecycle_out(fcinfo, LIFECYCLE_BUCKET);
}

/* enspiral.bucket_state_recv(internal) */
Datum
enspiral_bucket_state_recv(PG_FUNCTION_ARGS)
{
	return lifecycle_recv(fcinfo, LIFECYCLE_BUCKET);
}

/* enspiral.bucket_state_send(bucket_state) */
Datum
enspiral_bucket_state_send(PG_FUNCTION_ARGS)
{
	return lifecycle_send(fcinfo, LIFECYCLE_BUCKET);
}

/*
 * Comparison: positions compare as integers.  The same C functions serve
 * both types (a value's position is its whole representation).
 */
#define LIFECYCLE_ARG(n)	DatumGetLifecycleState(PG_GETARG_DATUM(n))

/* a = b */
Datum
enspiral_lifecycle_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(LIFECYCLE_ARG(0) == LIFECYCLE_ARG(1));
}

/* a <> b */
Datum
enspiral_lifecycle_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(LIFECYCLE_ARG(0) != LIFECYCLE_ARG(1));
}

/* a < b: a comes earlier in the lifecycle */
Datum
enspiral_lifecycle_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(LIFECYCLE_ARG(0) < LIFECYCLE_ARG(1));
}

/* a <= b */
Datum
enspiral_lifecycle_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(LIFECYCLE_ARG(0) <= LIFECYCLE_ARG(1));
}

/* a > b */
Datum
enspiral_lifecycle_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(LIFECYCLE_ARG(0) > LIFECYCLE_ARG(1));
}

/* a >= b */
Datum
enspiral_lifecycle_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(LIFECYCLE_ARG(0) >= LIFECYCLE_ARG(1));
}

/* btree support: -1, 0 or 1 */
Datum
enspiral_lifecycle_cmp(PG_FUNCTION_ARGS)
{
	int			a = LIFECYCLE_ARG(0);
	int			b = LIFECYCLE_ARG(1);

	PG_RETURN_INT32((a > b) - (a < b));
}

/* hash support */
Datum
enspiral_lifecycle_hash(PG_FUNCTION_ARGS)
{
	return hash_uint32((uint32) LIFECYCLE_ARG(0));
}

/* hash support, seeded (hash partitioning) */
Datum
enspiral_lifecycle_hash_extended(PG_FUNCTION_ARGS)
{
	return hash_uint32_extended((uint32) LIFECYCLE_ARG(0), PG_GETARG_INT64(1));
}

/* enspiral.can_transition(proposal_state, proposal_state) */
Datum
enspiral_proposal_can_transition(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(lifecycle_can_transition(LIFECYCLE_PROPOSAL,
											LIFECYCLE_ARG(0), LIFECYCLE_ARG(1)));
}

/* enspiral.can_transition(bucket_state, bucket_state) */
Datum
enspiral_bucket_can_transition(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(lifecycle_can_transition(LIFECYCLE_BUCKET,
											LIFECYCLE_ARG(0), LIFECYCLE_ARG(1)));
}

/* check_transition(from, to, what): NS010 unless allowed; NULL states are errors */
static Datum
lifecycle_check_transition_sql(FunctionCallInfo fcinfo, LifecycleKind kind)
{
	const char *what = lifecycle_def(kind)->noun;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("transition states must not be NULL")));
	if (!PG_ARGISNULL(2))
		what = text_to_cstring(PG_GETARG_TEXT_PP(2));
	lifecycle_check_transition(kind, LIFECYCLE_ARG(0), LIFECYCLE_ARG(1), what);
	PG_RETURN_VOID();
}

/* enspiral.check_transition(proposal_state, proposal_state, text) */
Datum
enspiral_proposal_check_transition(PG_FUNCTION_ARGS)
{
	return lifecycle_check_transition_sql(fcinfo, LIFECYCLE_PROPOSAL);
}

/* enspiral.check_transition(bucket_state, bucket_state, text) */
Datum
enspiral_bucket_check_transition(PG_FUNCTION_ARGS)
{
	return lifecycle_check_transition_sql(fcinfo, LIFECYCLE_BUCKET);
}

/* The states reachable from "from" in one move, as an array of the type */
static Datum
lifecycle_next_states(FunctionCallInfo fcinfo, LifecycleKind kind)
{
	const LifecycleDef *def = lifecycle_def(kind);
	int			from = LIFECYCLE_ARG(0);
	Datum		elems[5];
	int			n = 0;

	(void) lifecycle_state_name(kind, from);
	for (int to = 0; to < def->nstates; to++)
	{
		if (to != from && def->moves[from][to])
			elems[n++] = LifecycleStateGetDatum(to);
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, lifecycle_type_oid(kind),
										  1, true, TYPALIGN_CHAR));
}

/* enspiral.next_states(proposal_state) */
Datum
enspiral_proposal_next_states(PG_FUNCTION_ARGS)
{
	return lifecycle_next_states(fcinfo, LIFECYCLE_PROPOSAL);
}

/* enspiral.next_states(bucket_state) */
Datum
enspiral_bucket_next_states(PG_FUNCTION_ARGS)
{
	return lifecycle_next_states(fcinfo, LIFECYCLE_BUCKET);
}
