/*-------------------------------------------------------------------------
 *
 * decisions_budget.c
 *	  Decidim-style budget ballots: a voter selects projects (options with a
 *	  cost in minor units) within a budget, under one of Decidim's voting
 *	  rules (threshold_percent, minimum_projects, selected_projects); the
 *	  outcome selects projects by votes while they fit in the budget.
 *	  Exact int64 money; doc/budgeting.md has the rules and their sources.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "common/int.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "enspiral.h"
#include "decisions.h"

PG_FUNCTION_INFO_V1(enspiral_check_budget_ballot);
PG_FUNCTION_INFO_V1(enspiral_budget_outcome);
PG_FUNCTION_INFO_V1(enspiral_budget_selection_step);
PG_FUNCTION_INFO_V1(enspiral_budget_selection_final);
PG_FUNCTION_INFO_V1(enspiral_budget_random_pick);

/* Decidim's voting rules of a budget */
typedef enum BudgetRule
{
	RULE_THRESHOLD_PERCENT,
	RULE_MINIMUM_PROJECTS,
	RULE_SELECTED_PROJECTS
} BudgetRule;

/* The voting rule of a budget and its numbers */
typedef struct BudgetRules
{
	BudgetRule	rule;
	int64		threshold_percent;	/* vote_threshold_percent, 0..100 */
	int64		minimum_projects;	/* vote_minimum_budget_projects_number */
	int64		selected_minimum;	/* vote_selected_projects_minimum */
	int64		selected_maximum;	/* vote_selected_projects_maximum */
} BudgetRules;

/* The projects of a budget: costs[0..n) and the budget */
typedef struct BudgetProjects
{
	int			n;
	int64	   *costs;
	int64		budget;
} BudgetProjects;

/* Running state of the budget_selection aggregate */
typedef struct BudgetTally
{
	BudgetProjects p;
	int64	   *votes;
	int64		ballots;
} BudgetTally;

/* Read costs[] and budget, refusing NULLs, non-positive costs and budget */
static void
read_projects(ArrayType *costs, int64 budget, BudgetProjects *p)
{
	Datum	   *elems;
	bool	   *nulls;

	if (ARR_NDIM(costs) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("costs must be a one-dimensional array")));
	deconstruct_array(costs, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &p->n);
	if (p->n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a budget needs at least one project")));
	if (budget <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the budget must be positive"),
				 errdetail("The budget is %lld.", (long long) budget)));
	p->budget = budget;
	p->costs = palloc(sizeof(int64) * p->n);
	for (int i = 0; i < p->n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("costs must not contain NULL")));
		p->costs[i] = DatumGetInt64(elems[i]);
		if (p->costs[i] <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("every project cost must be positive"),
					 errdetail("Project %d costs %lld.", i + 1, (long long) p->costs[i])));
	}
}

/* The keys of a budget's voting rule (Decidim's names) */
static const char *const rule_keys[] = {"voting_rule", "vote_threshold_percent",
	"vote_minimum_budget_projects_number", "vote_selected_projects_minimum",
"vote_selected_projects_maximum"};

/* The voting rules by name, in BudgetRule order */
static const char *const rule_names[] = {"threshold_percent", "minimum_projects",
"selected_projects"};

/* A budget proposal: its projects and voting rule (decisions.h) */
struct BudgetBallot
{
	BudgetProjects p;
	BudgetRules r;
};

static int64 json_whole_number(JsonbValue *v, const char *key, int64 lo, int64 hi);

/* A whole number setting between lo and hi, or dflt when absent */
static int64
setting_number(Jsonb *settings, const char *key, int64 dflt, int64 lo, int64 hi)
{
	JsonbValue	buf;
	JsonbValue *v = getKeyJsonValueFromContainer(&settings->root, key, strlen(key), &buf);

	if (v == NULL || v->type == jbvNull)
		return dflt;
	return json_whole_number(v, key, lo, hi);
}

/* A JSON value as a whole number between lo and hi, or an NS409 error */
static int64
json_whole_number(JsonbValue *v, const char *key, int64 lo, int64 hi)
{
	Numeric		n = v->type == jbvNumeric ? v->val.numeric : NULL;

	if (n == NULL || numeric_is_nan(n) || numeric_is_inf(n) ||
		DatumGetInt32(DirectFunctionCall1(numeric_scale, NumericGetDatum(n))) > 0 ||
		enspiral_numeric_cmp(n, int64_to_numeric(lo)) < 0 ||
		enspiral_numeric_cmp(n, int64_to_numeric(hi)) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("budget setting \"%s\" must be a whole number in its range", key),
				 errdetail("The range is %lld to %lld.", (long long) lo, (long long) hi),
				 err_generic_string(PG_DIAG_COLUMN_NAME, key)));
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(n)));
}

/* Refuse keys of a check_budget_ballot settings object that are not rule keys */
static void
check_rule_keys(Jsonb *settings)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (!JB_ROOT_IS_OBJECT(settings) || JB_ROOT_IS_SCALAR(settings))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("budget settings must be a JSON object"),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "settings")));
	it = JsonbIteratorInit(&settings->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		bool		known = false;

		if (tok != WJB_KEY)
			continue;
		for (int i = 0; i < (int) lengthof(rule_keys); i++)
			known |= (int) strlen(rule_keys[i]) == v.val.string.len &&
				strncmp(rule_keys[i], v.val.string.val, v.val.string.len) == 0;
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
					 errmsg("unknown budget setting \"%.*s\"",
							v.val.string.len, v.val.string.val),
					 errhint("Known settings are: voting_rule, vote_threshold_percent, "
							 "vote_minimum_budget_projects_number, vote_selected_projects_minimum, "
							 "vote_selected_projects_maximum."),
					 err_generic_string(PG_DIAG_COLUMN_NAME,
										pnstrdup(v.val.string.val, v.val.string.len))));
	}
}

/* The voting rule named by settings (default threshold_percent) */
static BudgetRule
read_rule_name(Jsonb *settings)
{
	JsonbValue	buf;
	JsonbValue *rule = getKeyJsonValueFromContainer(&settings->root, "voting_rule", 11, &buf);

	if (rule == NULL)
		return RULE_THRESHOLD_PERCENT;
	for (int i = 0; rule->type == jbvString && i < (int) lengthof(rule_names); i++)
		if ((int) strlen(rule_names[i]) == rule->val.string.len &&
			strncmp(rule_names[i], rule->val.string.val, rule->val.string.len) == 0)
			return (BudgetRule) i;
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
			 errmsg("budget setting \"voting_rule\" has an unknown value"),
			 errhint("The values are: threshold_percent, minimum_projects, selected_projects."),
			 err_generic_string(PG_DIAG_COLUMN_NAME, "voting_rule")));
	pg_unreachable();
}

/* Parse and check the voting rule of a budget of nprojects (Decidim's names) */
static void
read_rules(Jsonb *settings, BudgetRules *r, int nprojects)
{
	r->rule = read_rule_name(settings);
	r->threshold_percent = setting_number(settings, "vote_threshold_percent", 70, 0, 100);
	r->minimum_projects = setting_number(settings, "vote_minimum_budget_projects_number", 1, 0, nprojects);
	r->selected_minimum = setting_number(settings, "vote_selected_projects_minimum", 0, 0, nprojects);
	r->selected_maximum = setting_number(settings, "vote_selected_projects_maximum", nprojects, 1, PG_INT32_MAX);
	if (r->selected_minimum > r->selected_maximum)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("budget setting \"vote_selected_projects_minimum\" must not exceed \"vote_selected_projects_maximum\""),
				 errdetail("The minimum is %lld and the maximum %lld.",
						   (long long) r->selected_minimum, (long long) r->selected_maximum),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "vote_selected_projects_minimum")));
}

/* Raise NS104 for a budget ballot that breaks a rule (rule, detail: sentences) */
static pg_attribute_noreturn() void
budget_ballot_error(int64 pid, const char *rule, const char *detail)
{
	if (pid == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_BALLOT),
				 errmsg("invalid budget ballot"),
				 errdetail_internal("%s %s", rule, detail)));
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_INVALID_BALLOT),
			 errmsg("invalid ballot"),
			 errdetail_internal("%s %s The ballot is for proposal %lld.",
								rule, detail, (long long) pid),
			 err_generic_string(PG_DIAG_COLUMN_NAME, "ballot")));
	pg_unreachable();
}

/*
 * Read a selection (1-based project numbers), refusing NULLs, numbers out
 * of range and repeats; marks chosen[].
 */
static void
read_selection(ArrayType *selection, const BudgetProjects *p, bool *chosen)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(selection) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("selection must be a one-dimensional array")));
	deconstruct_array(selection, INT4OID, sizeof(int32), true, TYPALIGN_INT,
					  &elems, &nulls, &n);
	memset(chosen, 0, sizeof(bool) * p->n);
	for (int i = 0; i < n; i++)
	{
		int32		k;

		CHECK_FOR_INTERRUPTS();
		if (nulls[i])
			budget_ballot_error(0, "No project may be NULL.", "The selection contains NULL.");
		k = DatumGetInt32(elems[i]);
		if (k < 1 || k > p->n)
			budget_ballot_error(0, "Every project must be one of the budget's.",
								psprintf("Project %d is not between 1 and %d.", k, p->n));
		if (chosen[k - 1])
			budget_ballot_error(0, "A project may be selected once.",
								psprintf("Project %d is selected twice.", k));
		chosen[k - 1] = true;
	}
}

/*
 * Check a selection (chosen[]) against the budget and the voting rule
 * (Decidim's Order validations); pid names the proposal in errors (0: none).
 */
static void
check_rules(const BudgetRules *r, const BudgetProjects *p, const bool *chosen, int64 pid)
{
	int			count = 0;
	int64		total = 0;

	for (int i = 0; i < p->n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!chosen[i])
			continue;
		count++;
		if (pg_add_s64_overflow(total, p->costs[i], &total))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the total cost of the selection is out of range")));
	}
	if (total > p->budget)
		budget_ballot_error(pid, "The selection costs more than the budget.",
							psprintf("The selection costs %lld; the budget is %lld.",
									 (long long) total, (long long) p->budget));
	if (r->rule == RULE_SELECTED_PROJECTS && count < r->selected_minimum)
		budget_ballot_error(pid, "Too few projects are selected.",
							psprintf("The ballot selects %d; vote_selected_projects_minimum is %lld.",
									 count, (long long) r->selected_minimum));
	if (r->rule == RULE_SELECTED_PROJECTS && count > r->selected_maximum)
		budget_ballot_error(pid, "Too many projects are selected.",
							psprintf("The ballot selects %d; vote_selected_projects_maximum is %lld.",
									 count, (long long) r->selected_maximum));
	if (r->rule == RULE_MINIMUM_PROJECTS && count < r->minimum_projects)
		budget_ballot_error(pid, "Too few projects are selected.",
							psprintf("The ballot selects %d; vote_minimum_budget_projects_number is %lld.",
									 count, (long long) r->minimum_projects));
	/* total >= budget * percent / 100, exactly: total * 100 >= budget * percent */
	if (r->rule == RULE_THRESHOLD_PERCENT &&
		(int128) total * 100 < (int128) p->budget * r->threshold_percent)
		budget_ballot_error(pid, "The selection spends less than the threshold share of the budget.",
							psprintf("The selection costs %lld; vote_threshold_percent %lld of the budget %lld needs at least that share.",
									 (long long) total, (long long) r->threshold_percent,
									 (long long) p->budget));
}

/*
 * enspiral.check_budget_ballot(costs bigint[], budget bigint,
 *								selection integer[], settings jsonb)
 *	  The selection sorted, or an NS104 error naming the broken rule.
 */
Datum
enspiral_check_budget_ballot(PG_FUNCTION_ARGS)
{
	BudgetProjects p;
	BudgetRules r;
	bool	   *chosen;
	Datum	   *out;
	int			k = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("costs, budget, selection and settings must not be NULL")));
	read_projects(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_INT64(1), &p);
	check_rule_keys(PG_GETARG_JSONB_P(3));
	read_rules(PG_GETARG_JSONB_P(3), &r, p.n);
	chosen = palloc(sizeof(bool) * p.n);
	read_selection(PG_GETARG_ARRAYTYPE_P(2), &p, chosen);
	check_rules(&r, &p, chosen, 0);
	out = palloc(sizeof(Datum) * p.n);
	for (int i = 0; i < p.n; i++)
		if (chosen[i])
			out[k++] = Int32GetDatum(i + 1);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, k, INT4OID, sizeof(int32), true, TYPALIGN_INT));
}

/* True when key names a setting of a budget proposal */
bool
budget_setting_key(const char *key, int len)
{
	if ((len == 6 && strncmp(key, "budget", 6) == 0) || (len == 5 && strncmp(key, "costs", 5) == 0))
		return true;
	for (int i = 0; i < (int) lengthof(rule_keys); i++)
		if ((int) strlen(rule_keys[i]) == len && strncmp(rule_keys[i], key, len) == 0)
			return true;
	return false;
}

/* The settings of a budget proposal, for hints */
const char *
budget_setting_keys(void)
{
	return "budget, costs, voting_rule, vote_threshold_percent, "
		"vote_minimum_budget_projects_number, vote_selected_projects_minimum, "
		"vote_selected_projects_maximum";
}

/* Read "costs" of a budget proposal: one positive whole number per option */
static void
read_setting_costs(Jsonb *settings, int noptions, BudgetProjects *p)
{
	JsonbValue	buf;
	JsonbValue *v = getKeyJsonValueFromContainer(&settings->root, "costs", 5, &buf);
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	int			n = 0;

	if (v == NULL || v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data) ||
		JsonContainerSize(v->val.binary.data) != (uint32) noptions)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("a budget proposal needs the setting \"costs\": one cost per option"),
				 errdetail("The proposal has %d options.", noptions),
				 errhint("Pass the costs in minor units, in the order of the options.")));
	p->n = noptions;
	p->costs = palloc(sizeof(int64) * noptions);
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		if (tok == WJB_ELEM)
			p->costs[n++] = json_whole_number(&e, "costs", 1, PG_INT64_MAX);
}

/*
 * The projects and rule of a budget proposal with noptions options from its
 * settings ("budget", "costs" and the rule keys), checked.
 */
BudgetBallot *
budget_ballot_load(Jsonb *settings, int noptions)
{
	BudgetBallot *b = palloc0(sizeof(BudgetBallot));

	b->p.budget = setting_number(settings, "budget", 0, 1, PG_INT64_MAX);
	if (b->p.budget == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("a budget proposal needs the setting \"budget\""),
				 errhint("Pass the budget in minor units, e.g. {\"budget\": 100000, \"costs\": [...]}.")));
	read_setting_costs(settings, noptions, &b->p);
	read_rules(settings, &b->r, noptions);
	return b;
}

/* Push a whole number under key into a JSON object being built */
static void
push_number(JsonbParseState **ps, const char *key, int64 n)
{
	JsonbValue	k,
				v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(n);
	pushJsonbValue(ps, WJB_KEY, &k);
	pushJsonbValue(ps, WJB_VALUE, &v);
}

/*
 * Check the budget keys given to a budget proposal (an object of those keys
 * only) and push them, defaults filled in, into its settings being built.
 */
void
budget_settings_push(Jsonb *given, int noptions, JsonbParseState **ps)
{
	BudgetBallot *b = budget_ballot_load(given, noptions);
	JsonbValue	k,
				v;

	push_number(ps, "budget", b->p.budget);
	k.type = jbvString;
	k.val.string.val = "costs";
	k.val.string.len = 5;
	pushJsonbValue(ps, WJB_KEY, &k);
	pushJsonbValue(ps, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < b->p.n; i++)
	{
		v.type = jbvNumeric;
		v.val.numeric = int64_to_numeric(b->p.costs[i]);
		pushJsonbValue(ps, WJB_ELEM, &v);
	}
	pushJsonbValue(ps, WJB_END_ARRAY, NULL);
	k.val.string.val = "voting_rule";
	k.val.string.len = 11;
	v.type = jbvString;
	v.val.string.val = (char *) rule_names[b->r.rule];
	v.val.string.len = strlen(rule_names[b->r.rule]);
	pushJsonbValue(ps, WJB_KEY, &k);
	pushJsonbValue(ps, WJB_VALUE, &v);
	push_number(ps, "vote_threshold_percent", b->r.threshold_percent);
	push_number(ps, "vote_minimum_budget_projects_number", b->r.minimum_projects);
	push_number(ps, "vote_selected_projects_minimum", b->r.selected_minimum);
	push_number(ps, "vote_selected_projects_maximum", b->r.selected_maximum);
}

/* Check the selection (chosen[] by option) of a ballot on budget proposal pid */
void
budget_ballot_check(const BudgetBallot *b, const bool *chosen, int64 pid)
{
	check_rules(&b->r, &b->p, chosen, pid);
}

/* Projects ordered for selection: more votes, then lower cost, then number */
static int
project_order(const int64 *votes, const int64 *costs, int a, int b)
{
	if (votes[a] != votes[b])
		return votes[a] > votes[b] ? -1 : 1;
	if (costs[a] != costs[b])
		return costs[a] < costs[b] ? -1 : 1;
	return a < b ? -1 : (a > b ? 1 : 0);
}

/* Insertion-free merge sort of idx[0..n) by project_order */
static void
sort_projects(int *idx, int *tmp, int n, const int64 *votes, const int64 *costs)
{
	int			mid = n / 2,
				i = 0,
				j = mid,
				k = 0;

	if (n < 2)
		return;
	CHECK_FOR_INTERRUPTS();
	sort_projects(idx, tmp, mid, votes, costs);
	sort_projects(idx + mid, tmp, n - mid, votes, costs);
	while (i < mid && j < n)
		tmp[k++] = project_order(votes, costs, idx[i], idx[j]) <= 0 ? idx[i++] : idx[j++];
	while (i < mid)
		tmp[k++] = idx[i++];
	while (j < n)
		tmp[k++] = idx[j++];
	memcpy(idx, tmp, sizeof(int) * n);
}

/* Append a JSON array of 1-based project numbers where mask[i] == want */
static void
append_numbers(StringInfo s, const int *order, const bool *mask, int n, bool want)
{
	bool		first = true;

	appendStringInfoChar(s, '[');
	for (int i = 0; i < n; i++)
		if (mask[order[i]] == want)
		{
			appendStringInfo(s, first ? "%d" : ", %d", order[i] + 1);
			first = false;
		}
	appendStringInfoChar(s, ']');
}

/*
 * The outcome as jsonb: votes per project, the projects selected greedily
 * in order of votes while they fit, the skipped ones, spent and remaining.
 */
static Datum
budget_outcome_jsonb(const BudgetProjects *p, const int64 *votes, int64 ballots)
{
	int		   *order = palloc(sizeof(int) * p->n);
	int		   *tmp = palloc(sizeof(int) * p->n);
	bool	   *selected = palloc0(sizeof(bool) * p->n);
	int64		remaining = p->budget;
	StringInfoData s;

	for (int i = 0; i < p->n; i++)
		order[i] = i;
	sort_projects(order, tmp, p->n, votes, p->costs);
	for (int i = 0; i < p->n; i++)
		if (p->costs[order[i]] <= remaining)
		{
			selected[order[i]] = true;
			remaining -= p->costs[order[i]];
		}
	initStringInfo(&s);
	appendStringInfoString(&s, "{\"votes\": [");
	for (int i = 0; i < p->n; i++)
		appendStringInfo(&s, i ? ", " INT64_FORMAT : INT64_FORMAT, votes[i]);
	appendStringInfoString(&s, "], \"selected\": ");
	append_numbers(&s, order, selected, p->n, true);
	appendStringInfoString(&s, ", \"skipped\": ");
	append_numbers(&s, order, selected, p->n, false);
	appendStringInfo(&s, ", \"spent\": " INT64_FORMAT ", \"remaining\": " INT64_FORMAT,
					 p->budget - remaining, remaining);
	if (ballots >= 0)
		appendStringInfo(&s, ", \"ballots\": " INT64_FORMAT, ballots);
	appendStringInfoChar(&s, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data));
}

/*
 * enspiral.budget_outcome(votes bigint[], costs bigint[], budget bigint)
 *	  The outcome of a budget vote from its votes per project.
 */
Datum
enspiral_budget_outcome(PG_FUNCTION_ARGS)
{
	BudgetProjects p;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int64	   *votes;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("votes, costs and budget must not be NULL")));
	read_projects(PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_INT64(2), &p);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &elems, &nulls, &n);
	if (n != p.n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("votes and costs must have the same length"),
				 errdetail("There are %d votes and %d costs.", n, p.n)));
	votes = palloc(sizeof(int64) * n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i] || DatumGetInt64(elems[i]) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("votes must be whole numbers of at least 0")));
		votes[i] = DatumGetInt64(elems[i]);
	}
	PG_RETURN_DATUM(budget_outcome_jsonb(&p, votes, -1));
}

/* Whether two budgets (costs and budget) are the same */
static bool
same_projects(const BudgetProjects *a, const BudgetProjects *b)
{
	return a->n == b->n && a->budget == b->budget &&
		memcmp(a->costs, b->costs, sizeof(int64) * a->n) == 0;
}

/*
 * enspiral.budget_selection_step(internal, selection integer[],
 *								  costs bigint[], budget bigint)
 *	  Transition of the budget_selection aggregate: counts one ballot (a NULL
 *	  selection is skipped); every row must carry the same costs and budget.
 */
Datum
enspiral_budget_selection_step(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	BudgetTally *t = PG_ARGISNULL(0) ? NULL : (BudgetTally *) PG_GETARG_POINTER(0);
	BudgetProjects p;
	bool	   *chosen;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "budget_selection_step called outside an aggregate");
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("costs and budget must not be NULL")));
	read_projects(PG_GETARG_ARRAYTYPE_P(2), PG_GETARG_INT64(3), &p);
	if (t == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);

		t = palloc0(sizeof(BudgetTally));
		t->p.n = p.n;
		t->p.budget = p.budget;
		t->p.costs = palloc(sizeof(int64) * p.n);
		memcpy(t->p.costs, p.costs, sizeof(int64) * p.n);
		t->votes = palloc0(sizeof(int64) * p.n);
		MemoryContextSwitchTo(old);
	}
	else if (!same_projects(&t->p, &p))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("every ballot of a budget_selection must have the same costs and budget")));
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(t);
	chosen = palloc(sizeof(bool) * p.n);
	read_selection(PG_GETARG_ARRAYTYPE_P(1), &t->p, chosen);
	for (int i = 0; i < p.n; i++)
		if (chosen[i])
			t->votes[i]++;
	t->ballots++;
	PG_RETURN_POINTER(t);
}

/*
 * enspiral.budget_selection_final(internal) RETURNS jsonb
 *	  The outcome of the counted ballots; NULL when there were no rows.
 */
Datum
enspiral_budget_selection_final(PG_FUNCTION_ARGS)
{
	BudgetTally *t;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "budget_selection_final called outside an aggregate");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	t = (BudgetTally *) PG_GETARG_POINTER(0);
	PG_RETURN_DATUM(budget_outcome_jsonb(&t->p, t->votes, t->ballots));
}

/* splitmix64's finalizer: a fixed, platform-independent 64-bit mix */
static uint64
mix64(uint64 x)
{
	x ^= x >> 30;
	x *= UINT64CONST(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64CONST(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/*
 * enspiral.budget_random_pick(member_id bigint, budget_ids bigint[])
 *	  The random workflow's budget of a member: the budget id with the lowest
 *	  mix64(mix64(member) ^ budget) (rendezvous hashing: adding a budget moves
 *	  only the members it wins); ties go to the lower id; NULL without ids.
 */
Datum
enspiral_budget_random_pick(PG_FUNCTION_ARGS)
{
	uint64		m = mix64((uint64) PG_GETARG_INT64(0));
	ArrayType  *ids = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	bool		found = false;
	int64		best = 0;
	uint64		best_score = 0;

	deconstruct_array(ids, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		int64		id = DatumGetInt64(elems[i]);
		uint64		score;

		CHECK_FOR_INTERRUPTS();
		if (nulls[i])
			continue;
		score = mix64(m ^ (uint64) id);
		if (!found || score < best_score || (score == best_score && id < best))
		{
			found = true;
			best = id;
			best_score = score;
		}
	}
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_INT64(best);
}

/*
 * Refuse (NS263) a vote on budget proposal pid that the workflow of its
 * budget set forbids; called by enspiral.vote() inside its SPI connection.
 */
void
budget_workflow_check(int64 group_id, int64 pid, int64 member_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, INT8OID};
	Datum		args[3] = {Int64GetDatum(group_id), Int64GetDatum(pid), Int64GetDatum(member_id)};

	enspiral_plan(&plan, "SELECT enspiral.budget_workflow_check($1, $2, $3)", 3, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "budget workflow check failed");
}
