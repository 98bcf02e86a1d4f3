/*-------------------------------------------------------------------------
 *
 * lifecycle.h
 *	  The two lifecycles of enspiral (proposals and buckets) as C types.
 *
 * Each lifecycle has one transition table, in lifecycle_types.c, shared by the SQL
 * types enspiral.proposal_state and enspiral.bucket_state, the built-in
 * tables, the functions that move proposals and buckets, and the trigger
 * function enspiral.guard_lifecycle() that applications attach to their own
 * tables.  A value of either type is one byte: its position in the
 * lifecycle, which is also its sort order.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENSPIRAL_LIFECYCLE_H
#define ENSPIRAL_LIFECYCLE_H

#include "postgres.h"

#include "utils/relcache.h"

typedef enum LifecycleKind
{
	LIFECYCLE_PROPOSAL,
	LIFECYCLE_BUCKET
} LifecycleKind;

typedef enum ProposalState
{
	PROPOSAL_DRAFT = 0,
	PROPOSAL_SCHEDULED,
	PROPOSAL_OPEN,
	PROPOSAL_CLOSED,
	PROPOSAL_WITHDRAWN
} ProposalState;

#define PROPOSAL_NSTATES 5

typedef enum BucketState
{
	BUCKET_IDEA = 0,
	BUCKET_OPEN,
	BUCKET_FUNDED,
	BUCKET_COMPLETED,
	BUCKET_CANCELLED
} BucketState;

#define BUCKET_NSTATES 5

/* Datum conversion: both types are passed by value as one char */
#define DatumGetLifecycleState(d)	((int) DatumGetChar(d))
#define LifecycleStateGetDatum(s)	CharGetDatum((char) (s))

/* Number of states of a lifecycle */
extern int	lifecycle_nstates(LifecycleKind kind);

/* Name of a state ("draft", ...); elog(ERROR) on an out-of-range value */
extern const char *lifecycle_state_name(LifecycleKind kind, int state);

/* Parse a state name; returns -1 when the name is not a state */
extern int	lifecycle_parse_state(LifecycleKind kind, const char *name);

/* Name of the SQL type of a lifecycle ("enspiral.proposal_state", ...) */
extern const char *lifecycle_type_name(LifecycleKind kind);

/* True when the transition table allows from -> to; from == to is no change and always allowed */
extern bool lifecycle_can_transition(LifecycleKind kind, int from, int to);

/*
 * Raise ERRCODE_ENSPIRAL_INVALID_TRANSITION unless from -> to is allowed.
 * "what" names the object for the message, e.g. "proposal 12".
 */
extern void lifecycle_check_transition(LifecycleKind kind, int from, int to,
									   const char *what);

/*
 * lifecycle_check_transition for a column of a table: the error also carries
 * the schema, table and column names (PG_DIAG_SCHEMA_NAME, ...), so that a
 * client can tell which column refused.
 */
extern void lifecycle_check_column_transition(LifecycleKind kind, int from, int to,
											  const char *what, Relation rel,
											  AttrNumber attnum);

/* OID of the SQL type of a lifecycle, looked up once per backend */
extern Oid	lifecycle_type_oid(LifecycleKind kind);

/* The lifecycle whose SQL type is typid (false when typid is neither type) */
extern bool lifecycle_kind_of_type(Oid typid, LifecycleKind *kind);

#endif							/* ENSPIRAL_LIFECYCLE_H */
