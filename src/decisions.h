/*-------------------------------------------------------------------------
 *
 * decisions.h
 *	  Declarations shared by the decisions part of enspiral: proposal
 *	  settings and ballot rules (decisions_ballots.c), proposal state and locks
 *	  (decisions_proposals.c), votes (decisions_votes.c), outcomes (decisions_tally.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENSPIRAL_DECISIONS_H
#define ENSPIRAL_DECISIONS_H

#include "postgres.h"

#include "storage/lockdefs.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

typedef enum DecisionMethod
{
	METHOD_CONSENT = 0,
	METHOD_CHOICE,
	METHOD_SCORE,
	METHOD_DOTS,
	METHOD_RANKED,
	METHOD_QUADRATIC,
	METHOD_STV,
	METHOD_SCHULZE,
	METHOD_COPELAND,
	METHOD_COUNT,
	METHOD_TIME,
	METHOD_QUESTION,
	METHOD_CHECK,
	METHOD_BUDGET
} DecisionMethod;

#define N_METHODS 14

/* Methods whose ballot is a ranking of options */
#define METHOD_IS_RANKING(m) \
	((m) == METHOD_RANKED || (m) == METHOD_STV || (m) == METHOD_SCHULZE || (m) == METHOD_COPELAND)

/* The implicit option of the none_of_the_above setting */
#define NONE_OF_THE_ABOVE "none_of_the_above"

/* decisions_budget.c: the projects and voting rule of a budget proposal */
typedef struct BudgetBallot BudgetBallot;

/* Everything needed to check a ballot of one proposal */
typedef struct BallotRules
{
	DecisionMethod method;
	int			noptions;
	char	  **options;		/* option names (NUL-terminated) */
	int		   *option_lens;	/* their lengths in bytes */
	int64		min_choices;
	int64		max_choices;
	int64		min_score;
	int64		max_score;
	int64		dots_per_member;
	int64		min_ranks;
	int64		max_ranks;
	int64		credits_per_member;
	bool		allow_gaps;
	bool		allow_negative;
	bool		block_needs_reason;
	bool		none_of_the_above;	/* the last option is the implicit one */
	bool		allow_maybe;
	int			reason_required;	/* ReasonRule (decisions_rules.c) */
	int32		reason_max_length;	/* 0: no limit */
	BudgetBallot *budget;		/* METHOD_BUDGET: costs, budget, rule */
} BallotRules;

/* decisions_rules.c: reason_required values */
typedef enum ReasonRule
{
	REASON_NEVER = 0,
	REASON_ALWAYS,
	REASON_DISAGREE_OR_BLOCK,
	REASON_BLOCK
} ReasonRule;

/* decisions_rules.c: hide_results and voters values */
#define HIDE_OFF 0
#define HIDE_UNTIL_VOTE 1
#define HIDE_UNTIL_CLOSED 2
#define VOTERS_MEMBERS 0
#define VOTERS_INVITED 1

/*
 * What a ballot says, for the reason rules: a method classifies its ballots
 * (consent: disagree and block; a method without objections: none).
 */
typedef enum BallotPosition
{
	POSITION_NONE = 0,
	POSITION_DISAGREE,
	POSITION_BLOCK
} BallotPosition;

/* decisions_rules.c: rule settings being normalized (-1: not given) */
typedef struct RuleSettings
{
	int			hide_results;
	int			reason_required;
	bool		reason_given;
	int			block_needs_reason;
	int32		reason_max_length;
	int			voters;
	int64		pass_num;
	int64		pass_den;		/* 0: no pass share */
	int			pass_share_of;
	bool		pass_share_inclusive;
	bool		silence_is_consent;
	int			weighted;
	int			delegation;
} RuleSettings;

/* decisions_ballots.c */
extern int	decision_parse_method(const char *name, bool missing_ok);
extern void ballot_rules_load(BallotRules *rules, const char *method,
							  ArrayType *options, Jsonb *settings);
extern Jsonb *ballot_normalize(const BallotRules *rules, Jsonb *ballot,
							   const char *reason, int64 proposal_id);
extern bool jsonb_get_bool_key(Jsonb *obj, const char *key, bool dflt);

/* decisions_rules.c */
extern void rule_settings_init(RuleSettings *rs, int method);
extern bool rule_setting_accept(RuleSettings *rs, int method, const char *key,
								int len, JsonbValue *v);
extern void rule_settings_finish(RuleSettings *rs, int method, bool anonymous,
								 bool quorum_zero);
extern void rule_settings_push(const RuleSettings *rs, int method,
							   JsonbParseState **ps);
extern bool rules_parse_share(const char *s, int len, int64 *num, int64 *den);
extern void rules_load_reasons(BallotRules *rules, Jsonb *settings);
extern const char *rules_reason_problem(const BallotRules *rules,
										BallotPosition pos, const char *reason);

/* decisions_budget.c */
extern bool budget_setting_key(const char *key, int len);
extern const char *budget_setting_keys(void);
extern void budget_settings_push(Jsonb *given, int noptions, JsonbParseState **ps);
extern BudgetBallot *budget_ballot_load(Jsonb *settings, int noptions);
extern void budget_ballot_check(const BudgetBallot *b, const bool *chosen, int64 pid);
extern void budget_workflow_check(int64 group_id, int64 pid, int64 member_id);

/* decisions_tally.c */
extern int	consent_position(Jsonb *ballot);

/* decisions_delegation.c */
extern int64 delegation_own_weight(int64 group_id, int64 member_id, TimestampTz at);
extern bool delegation_may_cast(int64 group_id, int64 member_id, int64 delegate_id,
								TimestampTz ref);

/* decisions_proposals.c */
extern int	proposal_effective_state(int stored, TimestampTz opens_at,
									 bool opens_null, TimestampTz closes_at,
									 bool closes_null, TimestampTz at);
extern void proposal_lock(int64 proposal_id, LOCKMODE mode);
extern void proposal_member_lock(int64 proposal_id, int64 member_id);
extern TimestampTz decisions_now(void);
extern void decisions_rules_lock(int64 group_id, LOCKMODE mode);

/* decisions_proposal_memo.c: the proposal row vote() reads */
#define PROPOSAL_MEMO_COLS 7
extern const char *const proposal_memo_cols[PROPOSAL_MEMO_COLS];
extern bool decisions_proposal_row(int64 group_id, int64 pid, Snapshot snap, Datum *values,
								   bool *nulls);

/* decisions_removals.c */
extern bool decisions_voter_removed(int64 group_id, int64 pid, int64 member_id);
extern void decisions_removals_changed(Relation rel);

/* decisions_votes.c: true while enspiral.vote() writes its own tables */

#endif							/* ENSPIRAL_DECISIONS_H */
