/*-------------------------------------------------------------------------
 *
 * enspiral.h
 *	  Declarations shared by every part of the enspiral extension.
 *
 * Error codes: every governance refusal that an application is expected to
 * catch has a stable SQLSTATE in class "NS" (implementation-defined class:
 * it starts with a letter in I-Z).  README.md lists them in one table; keep
 * that table and this list in step.  Malformed arguments use the standard
 * codes (22023 invalid_parameter_value, 22004 null_value_not_allowed,
 * 22003 numeric_value_out_of_range, 23505 unique_violation).
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENSPIRAL_H
#define ENSPIRAL_H

#include "postgres.h"

#include "executor/spi.h"
#include "utils/relcache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#ifndef ENSPIRAL_VERSION
#error "ENSPIRAL_VERSION must be defined by the build"
#endif

/* Foundation: groups and members (NS0xx) */
#define ERRCODE_ENSPIRAL_VERSION_MISMATCH		MAKE_SQLSTATE('N','S','0','0','1')
#define ERRCODE_ENSPIRAL_UNKNOWN_GROUP			MAKE_SQLSTATE('N','S','0','0','2')
#define ERRCODE_ENSPIRAL_UNKNOWN_MEMBER			MAKE_SQLSTATE('N','S','0','0','3')
#define ERRCODE_ENSPIRAL_NOT_A_MEMBER			MAKE_SQLSTATE('N','S','0','0','4')
#define ERRCODE_ENSPIRAL_ALREADY_A_MEMBER		MAKE_SQLSTATE('N','S','0','0','5')
#define ERRCODE_ENSPIRAL_INVALID_SETTING		MAKE_SQLSTATE('N','S','0','0','6')
#define ERRCODE_ENSPIRAL_DIRECT_WRITE			MAKE_SQLSTATE('N','S','0','0','7')

/* Lifecycles shared by proposals, buckets and guarded application tables */
#define ERRCODE_ENSPIRAL_INVALID_TRANSITION		MAKE_SQLSTATE('N','S','0','1','0')
#define ERRCODE_ENSPIRAL_APPEND_ONLY			MAKE_SQLSTATE('N','S','0','1','1')
#define ERRCODE_ENSPIRAL_DEADLINE_PASSED		MAKE_SQLSTATE('N','S','0','1','2')

/* Decisions (NS1xx) */
#define ERRCODE_ENSPIRAL_UNKNOWN_PROPOSAL		MAKE_SQLSTATE('N','S','1','0','1')
#define ERRCODE_ENSPIRAL_VOTING_CLOSED			MAKE_SQLSTATE('N','S','1','0','2')
#define ERRCODE_ENSPIRAL_NOT_ELIGIBLE			MAKE_SQLSTATE('N','S','1','0','3')
#define ERRCODE_ENSPIRAL_INVALID_BALLOT			MAKE_SQLSTATE('N','S','1','0','4')
#define ERRCODE_ENSPIRAL_PROPOSAL_FROZEN		MAKE_SQLSTATE('N','S','1','0','5')
#define ERRCODE_ENSPIRAL_RESULTS_HIDDEN			MAKE_SQLSTATE('N','S','1','0','6')
#define ERRCODE_ENSPIRAL_ALREADY_VOTED			MAKE_SQLSTATE('N','S','1','0','7')

/* decisions: rules, weights and delegation (NS150-NS199) */
#define ERRCODE_ENSPIRAL_DELEGATION_INVALID		MAKE_SQLSTATE('N','S','1','5','0')
#define ERRCODE_ENSPIRAL_NO_DELEGATION			MAKE_SQLSTATE('N','S','1','5','1')
#define ERRCODE_ENSPIRAL_NO_VOTE				MAKE_SQLSTATE('N','S','1','5','2')
#define ERRCODE_ENSPIRAL_NOT_A_VOTER			MAKE_SQLSTATE('N','S','1','5','3')
#define ERRCODE_ENSPIRAL_ANONYMOUS_BALLOT		MAKE_SQLSTATE('N','S','1','5','4')

/* Co-budgeting (NS2xx) */
#define ERRCODE_ENSPIRAL_UNKNOWN_ROUND			MAKE_SQLSTATE('N','S','2','0','1')
#define ERRCODE_ENSPIRAL_UNKNOWN_BUCKET			MAKE_SQLSTATE('N','S','2','0','2')
#define ERRCODE_ENSPIRAL_ROUND_NOT_OPEN			MAKE_SQLSTATE('N','S','2','0','3')
#define ERRCODE_ENSPIRAL_BUCKET_NOT_OPEN		MAKE_SQLSTATE('N','S','2','0','4')
#define ERRCODE_ENSPIRAL_INSUFFICIENT_BALANCE	MAKE_SQLSTATE('N','S','2','0','5')
#define ERRCODE_ENSPIRAL_BUCKET_GOAL_EXCEEDED	MAKE_SQLSTATE('N','S','2','0','6')
#define ERRCODE_ENSPIRAL_MEMBER_CAP_EXCEEDED	MAKE_SQLSTATE('N','S','2','0','7')
#define ERRCODE_ENSPIRAL_IDEMPOTENCY_CONFLICT	MAKE_SQLSTATE('N','S','2','0','8')
#define ERRCODE_ENSPIRAL_ALREADY_MATCHED		MAKE_SQLSTATE('N','S','2','0','9')
#define ERRCODE_ENSPIRAL_POOL_EXHAUSTED			MAKE_SQLSTATE('N','S','2','1','0')

/* Catalyst rotation (NS3xx) */
#define ERRCODE_ENSPIRAL_UNKNOWN_TERM			MAKE_SQLSTATE('N','S','3','0','1')
#define ERRCODE_ENSPIRAL_INVALID_TERM			MAKE_SQLSTATE('N','S','3','0','2')
#define ERRCODE_ENSPIRAL_TERM_OVERLAP			MAKE_SQLSTATE('N','S','3','0','3')
#define ERRCODE_ENSPIRAL_SERVICE_LIMIT			MAKE_SQLSTATE('N','S','3','0','4')
#define ERRCODE_ENSPIRAL_COVERAGE_SHORTFALL		MAKE_SQLSTATE('N','S','3','0','5')
#define ERRCODE_ENSPIRAL_GAP_UNFILLABLE			MAKE_SQLSTATE('N','S','3','0','6')

/* spi_util.c */
extern SPIPlanPtr enspiral_plan(SPIPlanPtr *cache, const char *sql,
								int nargs, const Oid *argtypes);
extern void enspiral_spi_connect(void);
extern void enspiral_spi_finish(void);

/* restore.c: true while the owner restores rel with a top-level COPY FROM */
extern bool enspiral_in_restore_copy(Relation rel);

/* numeric_util.c */
extern int	enspiral_numeric_cmp(Numeric a, Numeric b);

/* groups.c */
extern void enspiral_require_group(int64 group_id);
extern int64 enspiral_group_setting_int(int64 group_id, const char *key);

/* members.c */
extern bool enspiral_is_member_at(int64 group_id, int64 member_id,
								  TimestampTz at);
extern void enspiral_require_current_member(int64 group_id, int64 member_id);

#endif							/* ENSPIRAL_H */
