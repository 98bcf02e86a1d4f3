/*-------------------------------------------------------------------------
 *
 * decisions_ballots.c
 *	  Voting methods: the validation of a proposal's settings against the
 *	  settings registry (src/settings.txt, src/core_settings.c), of its options, and the
 *	  check that turns a ballot into its normalized form or refuses it with
 *	  an error naming the broken rule.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rangetypes.h"
#include "utils/typcache.h"

#include "enspiral.h"
#include "decisions.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(enspiral_normalize_proposal_settings);
PG_FUNCTION_INFO_V1(enspiral_check_ballot);

static const char *const method_names[N_METHODS] = {
	"consent", "choice", "score", "dots", "ranked", "quadratic",
	"stv", "schulze", "copeland", "count", "time", "question", "check", "budget"
};

/* The answers of count, check and time ballots */
static const char *const count_answers[] = {"yes", "no"};
static const char *const check_answers[] = {"looks_good", "not_sure", "concerned"};
static const char *const time_answers[] = {"yes", "maybe", "no"};

/* The four positions of a consent ballot */
static const char *const consent_positions[] = {
	"agree", "abstain", "disagree", "block"
};


/* Registry entries (src/settings.txt) of the proposal settings handled here */
#define N_PROPOSAL_SETTINGS settings_count()

/* The declaration of a proposal setting, or NULL */
static const EnspiralSetting *
find_proposal_setting(const char *key, int len)
{
	return settings_find(SETTINGS_PROPOSAL, key, len);
}

/* True for the registry entry i when it is a proposal setting of the method */
static bool
method_setting(int i, int method)
{
	const EnspiralSetting *s = settings_at(i);

	return s->scope == SETTINGS_PROPOSAL && settings_applies(s, method);
}

/* Method number of a method name; -1 (or an error) when unknown */
int
decision_parse_method(const char *name, bool missing_ok)
{
	for (int i = 0; i < N_METHODS; i++)
		if (strcmp(name, method_names[i]) == 0)
			return i;
	if (!missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_UNKNOWN_METHOD),
				 errmsg("unknown voting method \"%s\"", name),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "method"),
				 errhint("Methods are consent, choice, score, dots, ranked, quadratic, stv, schulze, copeland, count, time, question, check and budget.")));
	return -1;
}

/* Result of reading a JSON number as a 32-bit integer */
typedef enum IntRead
{
	INT_OK,
	INT_NOT_WHOLE,
	INT_OUT_OF_RANGE
} IntRead;

/* Read a JSON number as a whole number that fits int32 */
static IntRead
read_int32(Numeric n, int32 *out)
{
	Numeric		floor;

	if (numeric_is_nan(n))
		return INT_NOT_WHOLE;
	if (numeric_is_inf(n))
		return INT_OUT_OF_RANGE;
	floor = DatumGetNumeric(DirectFunctionCall1(numeric_floor, NumericGetDatum(n)));
	if (enspiral_numeric_cmp(n, floor) != 0)
		return INT_NOT_WHOLE;
	if (enspiral_numeric_cmp(n, int64_to_numeric(PG_INT32_MIN)) < 0 ||
		enspiral_numeric_cmp(n, int64_to_numeric(PG_INT32_MAX)) > 0)
		return INT_OUT_OF_RANGE;
	*out = DatumGetInt32(DirectFunctionCall1(numeric_int4, NumericGetDatum(n)));
	return INT_OK;
}

/* A whole number that fits int32, from a JSON number; false otherwise */
static bool
numeric_to_int32(Numeric n, int32 *out)
{
	return read_int32(n, out) == INT_OK;
}

/* Compare a numeric with an integer: <0, 0, >0 */
static int
numeric_cmp_int(Numeric n, int64 v)
{
	return enspiral_numeric_cmp(n, int64_to_numeric(v));
}

/* Comma-separated keys that apply to a method, for hints */
static char *
method_keys(int method)
{
	if (method == METHOD_BUDGET)
		return psprintf("%s, %s, %s", settings_key_list(SETTINGS_PROPOSAL, method),
						budget_setting_keys(), settings_key_list(SETTINGS_RULE, method));
	return psprintf("%s, %s", settings_key_list(SETTINGS_PROPOSAL, method),
					settings_key_list(SETTINGS_RULE, method));
}

/* Default value of a setting */
static JsonbValue
default_setting(const EnspiralSetting *s, int noptions)
{
	JsonbValue	v;

	if (strcmp(s->dflt, "@noptions") != 0)
		return settings_default_value(s);
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(noptions);
	return v;
}

/* Integer value of a checked setting */
static int32
setting_int(JsonbValue *values, const char *key)
{
	const EnspiralSetting *s = find_proposal_setting(key, strlen(key));
	int32		v = 0;

	if (!numeric_to_int32(values[settings_index(s)].val.numeric, &v))
		elog(ERROR, "setting \"%s\" is not an integer", key);
	return v;
}

/* Boolean value of a checked setting */
static bool
setting_bool(JsonbValue *values, const char *key)
{
	const EnspiralSetting *s = find_proposal_setting(key, strlen(key));

	return values[settings_index(s)].val.boolean;
}

/* Refuse settings that contradict each other or the options */
static void
check_cross_rules(int method, JsonbValue *values, int noptions)
{
#define REFUSE(key, msg, ...) \
	ereport(ERROR, (errcode(ERRCODE_ENSPIRAL_INVALID_SETTING), errmsg(msg, __VA_ARGS__), \
					err_generic_string(PG_DIAG_COLUMN_NAME, key)))
	if (method == METHOD_CHOICE)
	{
		int32		lo = setting_int(values, "min_choices");
		int32		hi = setting_int(values, "max_choices");

		if (lo > hi)
			REFUSE("min_choices", "proposal setting \"min_choices\" (%d) exceeds \"max_choices\" (%d)", lo, hi);
		if (hi > noptions)
			REFUSE("max_choices", "proposal setting \"max_choices\" (%d) exceeds the number of options (%d)", hi, noptions);
	}
	else if (method == METHOD_SCORE)
	{
		int32		lo = setting_int(values, "min_score");
		int32		hi = setting_int(values, "max_score");

		if (lo >= hi)
			REFUSE("min_score", "proposal setting \"min_score\" (%d) must be less than \"max_score\" (%d)", lo, hi);
	}
	else if (METHOD_IS_RANKING(method))
	{
		int32		lo = setting_int(values, "min_ranks");
		int32		hi = setting_int(values, "max_ranks");

		/* the implicit none_of_the_above can be ranked too */
		if (method == METHOD_RANKED && setting_bool(values, "none_of_the_above"))
			noptions++;
		if (lo > hi)
			REFUSE("min_ranks", "proposal setting \"min_ranks\" (%d) exceeds \"max_ranks\" (%d)", lo, hi);
		if (hi > noptions)
			REFUSE("max_ranks", "proposal setting \"max_ranks\" (%d) exceeds the number of options (%d)", hi, noptions);
	}
	if (method == METHOD_STV && setting_int(values, "seats") > noptions)
		REFUSE("seats", "proposal setting \"seats\" (%d) exceeds the number of options (%d)",
			   setting_int(values, "seats"), noptions);
#undef REFUSE
}

/* A time slot option: a non-empty tstzrange with finite bounds */
static void
check_time_slot(const char *name, int i)
{
	Oid			typinput,
				typioparam;
	RangeType  *r;
	RangeBound	lo,
				hi;
	bool		empty;
	TypeCacheEntry *tc = lookup_type_cache(TSTZRANGEOID, TYPECACHE_RANGE_INFO);

	getTypeInputInfo(TSTZRANGEOID, &typinput, &typioparam);
	r = DatumGetRangeTypeP(OidInputFunctionCall(typinput, (char *) name, typioparam, -1));
	range_deserialize(tc, r, &lo, &hi, &empty);
	if (empty || lo.infinite || hi.infinite)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_OPTIONS),
				 errmsg("option is not a bounded time slot"),
				 errdetail("Option %d is not a bounded time slot; options of a time proposal are non-empty tstzrange values with both bounds.",
						   i + 1),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "options")));
}

/* Deconstruct and check the options of a proposal; returns their count */
static int
check_options(int method, ArrayType *options, Datum **elems)
{
	bool	   *nulls;
	int			n;

	if (method == METHOD_CONSENT)
	{
		if (options != NULL && ArrayGetNItems(ARR_NDIM(options), ARR_DIMS(options)) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_INVALID_OPTIONS),
					 err_generic_string(PG_DIAG_COLUMN_NAME, "options"),
					 errmsg("a consent proposal takes no options"),
					 errdetail("Its positions are always agree, abstain, disagree and block.")));
		return 0;
	}
	if (method == METHOD_COUNT || method == METHOD_QUESTION || method == METHOD_CHECK)
	{
		if (options != NULL && ArrayGetNItems(ARR_NDIM(options), ARR_DIMS(options)) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_INVALID_OPTIONS),
					 err_generic_string(PG_DIAG_COLUMN_NAME, "options"),
					 errmsg("proposal method takes no options"),
					 errdetail("The answers of a %s proposal are fixed by its method.",
							   method_names[method])));
		return 0;
	}
	if (options == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_OPTIONS),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "options"),
				 errmsg("proposal needs options"),
				 errdetail("A %s proposal chooses among options; none were given.",
						   method_names[method])));
	if (ARR_NDIM(options) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_OPTIONS),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "options"),
				 errmsg("options must be a one-dimensional array")));
	deconstruct_array(options, TEXTOID, -1, false, TYPALIGN_INT, elems, &nulls, &n);
	if (n < 2)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_OPTIONS),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "options"),
				 errmsg("proposal needs at least 2 options"),
				 errdetail_plural("A %s proposal was given %d option.",
								  "A %s proposal was given %d options.",
								  n, method_names[method], n)));
	for (int i = 0; i < n; i++)
	{
		char	   *name;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_INVALID_OPTIONS),
					 err_generic_string(PG_DIAG_COLUMN_NAME, "options"),
					 errmsg("options must not contain NULL"),
					 errdetail("Option %d is NULL.", i + 1)));
		name = TextDatumGetCString((*elems)[i]);
		if (name[strspn(name, " \t\r\n")] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_INVALID_OPTIONS),
					 err_generic_string(PG_DIAG_COLUMN_NAME, "options"),
					 errmsg("option must not be empty"),
					 errdetail("Option %d is empty.", i + 1)));
		for (int j = 0; j < i; j++)
			if (strcmp(name, TextDatumGetCString((*elems)[j])) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_ENSPIRAL_INVALID_OPTIONS),
						 err_generic_string(PG_DIAG_COLUMN_NAME, "options"),
						 errmsg("option \"%s\" appears twice", name)));
		if (method == METHOD_TIME)
			check_time_slot(name, i);
	}
	return n;
}

/* Build the normalized settings object from the values of the method's keys */
static Jsonb *
build_proposal_settings(int method, JsonbValue *values, const RuleSettings *rs,
						Jsonb *budget_given, int noptions)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < N_PROPOSAL_SETTINGS; i++)
	{
		JsonbValue	k;

		if (!method_setting(i, method))
			continue;
		k.type = jbvString;
		k.val.string.val = (char *) settings_at(i)->key;
		k.val.string.len = strlen(settings_at(i)->key);
		pushJsonbValue(&state, WJB_KEY, &k);
		pushJsonbValue(&state, WJB_VALUE, &values[i]);
	}
	if (method == METHOD_BUDGET)
		budget_settings_push(budget_given, noptions, &state);
	rule_settings_push(rs, method, &state);
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* True when a setting applies to a method */
static bool
proposal_settings_has(int method, const char *key)
{
	return settings_applies(find_proposal_setting(key, strlen(key)), method);
}

/*
 * With none_of_the_above on, no option may carry its name, and a ranked
 * proposal may rank it too (max_ranks defaults to the options plus it).
 */
static void
check_none_of_the_above(int method, JsonbValue *values, int noptions, Datum *elems,
						bool max_ranks_given)
{
	for (int i = 0; i < noptions; i++)
		if (strcmp(TextDatumGetCString(elems[i]), NONE_OF_THE_ABOVE) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
					 errmsg("option is named like the implicit option none_of_the_above"),
					 errdetail("Option %d is named none_of_the_above.", i + 1),
					 errhint("Rename the option or leave \"none_of_the_above\" off."),
					 err_generic_string(PG_DIAG_COLUMN_NAME, "none_of_the_above")));
	if (method == METHOD_RANKED && !max_ranks_given)
	{
		const EnspiralSetting *s = find_proposal_setting("max_ranks", strlen("max_ranks"));

		values[settings_index(s)].val.numeric = int64_to_numeric(noptions + 1);
	}
}

/* Validate settings of a method with n options; returns the normalized object */
static Jsonb *
normalize_settings(int method, int noptions, Datum *elems, Jsonb *in)
{
	bool		max_ranks_given = false;
	JsonbValue *values = palloc(sizeof(JsonbValue) * N_PROPOSAL_SETTINGS);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	RuleSettings rs;
	JsonbParseState *budget_state = NULL;	/* the keys of a budget proposal */

	rule_settings_init(&rs, method);
	settings_require_object(in);
	if (method == METHOD_BUDGET)
		pushJsonbValue(&budget_state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < N_PROPOSAL_SETTINGS; i++)
		if (method_setting(i, method))
			values[i] = default_setting(settings_at(i), noptions);
	it = JsonbIteratorInit(&in->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		const EnspiralSetting *s;
		JsonbValue	key;

		if (tok != WJB_KEY)
			continue;
		key = v;
		s = find_proposal_setting(key.val.string.val, key.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		if (s != NULL && settings_applies(s, method))
		{
			values[settings_index(s)] = settings_check_value(s, &v);
			max_ranks_given |= strcmp(s->key, "max_ranks") == 0;
		}
		else if (method == METHOD_BUDGET &&
				 budget_setting_key(key.val.string.val, key.val.string.len))
		{
			/* checked with the options by budget_settings_push() */
			pushJsonbValue(&budget_state, WJB_KEY, &key);
			pushJsonbValue(&budget_state, WJB_VALUE, &v);
		}
		else if (!rule_setting_accept(&rs, method, key.val.string.val, key.val.string.len, &v))
			settings_unknown_key(key.val.string.val, key.val.string.len,
								 psprintf("Settings of %s proposals are: %s.",
										  method_names[method], method_keys(method)));
	}
	if (proposal_settings_has(method, "none_of_the_above") &&
		setting_bool(values, "none_of_the_above"))
		check_none_of_the_above(method, values, noptions, elems, max_ranks_given);
	check_cross_rules(method, values, noptions);
	rule_settings_finish(&rs, method,
						 values[settings_index(find_proposal_setting("anonymous", 9))].val.boolean,
						 numeric_cmp_int(values[settings_index(find_proposal_setting("quorum_pct", 10))].val.numeric, 0) == 0);
	return build_proposal_settings(method, values, &rs,
								   method == METHOD_BUDGET ?
								   JsonbValueToJsonb(pushJsonbValue(&budget_state, WJB_END_OBJECT, NULL)) : NULL,
								   noptions);
}

/*
 * enspiral.normalize_proposal_settings(method text, options text[], settings jsonb)
 *	  Check method, options and settings together; return the settings with
 *	  every default of the method filled in.
 */
Datum
enspiral_normalize_proposal_settings(PG_FUNCTION_ARGS)
{
	char	   *method_name;
	int			method;
	Datum	   *elems = NULL;
	int			n;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the voting method must not be NULL")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("proposal settings must not be NULL"),
				 errhint("Pass '{}' for the defaults.")));
	method_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	method = decision_parse_method(method_name, false);
	n = check_options(method, PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1), &elems);
	PG_RETURN_JSONB_P(normalize_settings(method, n, elems, PG_GETARG_JSONB_P(2)));
}

/* A boolean key of a JSON object, or dflt when absent */
bool
jsonb_get_bool_key(Jsonb *obj, const char *key, bool dflt)
{
	JsonbValue	buf;
	JsonbValue *v = getKeyJsonValueFromContainer(&obj->root, key, strlen(key), &buf);

	if (v == NULL || v->type != jbvBool)
		return dflt;
	return v->val.boolean;
}

/* An integer key of normalized settings, or dflt when absent */
static int64
settings_int(Jsonb *obj, const char *key, int64 dflt)
{
	JsonbValue	buf;
	JsonbValue *v = getKeyJsonValueFromContainer(&obj->root, key, strlen(key), &buf);
	int32		out;

	if (v == NULL || v->type != jbvNumeric || !numeric_to_int32(v->val.numeric, &out))
		return dflt;
	return out;
}

/* Fill rules from a proposal's (normalized) method, options and settings */
void
ballot_rules_load(BallotRules *rules, const char *method, ArrayType *options,
				  Jsonb *settings)
{
	Datum	   *elems = NULL;

	memset(rules, 0, sizeof(*rules));
	rules->method = (DecisionMethod) decision_parse_method(method, false);
	rules->noptions = check_options(rules->method, options, &elems);
	rules->options = palloc(sizeof(char *) * (rules->noptions + 1));
	rules->option_lens = palloc(sizeof(int) * (rules->noptions + 1));
	for (int i = 0; i < rules->noptions; i++)
	{
		rules->options[i] = TextDatumGetCString(elems[i]);
		rules->option_lens[i] = strlen(rules->options[i]);
	}
	rules->min_choices = settings_int(settings, "min_choices", 1);
	rules->max_choices = settings_int(settings, "max_choices", 1);
	rules->min_score = settings_int(settings, "min_score", 0);
	rules->max_score = settings_int(settings, "max_score", 5);
	rules->dots_per_member = settings_int(settings, "dots_per_member", 8);
	rules->min_ranks = settings_int(settings, "min_ranks", 1);
	rules->max_ranks = settings_int(settings, "max_ranks", rules->noptions);
	rules->credits_per_member = settings_int(settings, "credits_per_member", 100);
	rules->allow_gaps = jsonb_get_bool_key(settings, "allow_gaps", false);
	rules->allow_negative = jsonb_get_bool_key(settings, "allow_negative", false);
	rules_load_reasons(rules, settings);
	rules->block_needs_reason = rules->reason_required != REASON_NEVER &&
		rules->reason_required != REASON_ALWAYS;
	rules->allow_maybe = jsonb_get_bool_key(settings, "allow_maybe", true);
	rules->none_of_the_above = jsonb_get_bool_key(settings, "none_of_the_above", false);
	if (rules->method == METHOD_BUDGET)
		rules->budget = budget_ballot_load(settings, rules->noptions);
	if (rules->none_of_the_above)
	{
		/* the implicit option is the last one */
		rules->options[rules->noptions] = NONE_OF_THE_ABOVE;
		rules->option_lens[rules->noptions] = strlen(NONE_OF_THE_ABOVE);
		rules->noptions++;
	}
}

/* Raise NS104 for a ballot of a proposal */
#define BALLOT_ERROR(pid, ...) ballot_error(pid, psprintf(__VA_ARGS__))

/* Raise NS104: the detail states the broken rule (a sentence) and the proposal */
static pg_attribute_noreturn() void
ballot_error(int64 pid, const char *text)
{
	if (pid == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_BALLOT),
				 errmsg("invalid ballot"),
				 errdetail_internal("%s", text),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "ballot")));
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_INVALID_BALLOT),
			 errmsg("invalid ballot"),
			 errdetail_internal("%s The ballot is for proposal %lld.", text, (long long) pid),
			 err_generic_string(PG_DIAG_COLUMN_NAME, "ballot")));
	pg_unreachable();
}

/* Index of the option named by a JSON string, or an NS104 error */
static int
ballot_option(const BallotRules *rules, JsonbValue *v, int64 pid)
{
	if (v->type != jbvString)
		BALLOT_ERROR(pid, "Options must be named by JSON strings.");
	for (int i = 0; i < rules->noptions; i++)
		if (rules->option_lens[i] == v->val.string.len &&
			memcmp(rules->options[i], v->val.string.val, v->val.string.len) == 0)
			return i;
	BALLOT_ERROR(pid, "\"%.*s\" is not an option of this proposal.",
				 v->val.string.len, v->val.string.val);
	return -1;					/* keep compiler quiet */
}

/* A JSON string value naming option i */
static JsonbValue
option_value(const BallotRules *rules, int i)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = rules->options[i];
	v.val.string.len = rules->option_lens[i];
	return v;
}

/* Refuse a reason that breaks the proposal's reason rules (decisions_rules.c) */
static void
check_reason(const BallotRules *rules, BallotPosition pos, const char *reason, int64 pid)
{
	const char *problem = rules_reason_problem(rules, pos, reason);

	if (problem != NULL)
		BALLOT_ERROR(pid, "%s", problem);
}

/* Check a consent ballot: one of the four positions; a block may need a reason */
static Jsonb *
check_consent(const BallotRules *rules, Jsonb *ballot, const char *reason, int64 pid)
{
	JsonbValue	v;

	if (!JB_ROOT_IS_SCALAR(ballot) || !JsonbExtractScalar(&ballot->root, &v) ||
		v.type != jbvString)
		BALLOT_ERROR(pid, "A consent ballot is one of the JSON strings \"agree\", \"abstain\", \"disagree\" or \"block\".");
	for (int i = 0; i < (int) lengthof(consent_positions); i++)
	{
		if (strlen(consent_positions[i]) != v.val.string.len ||
			memcmp(consent_positions[i], v.val.string.val, v.val.string.len) != 0)
			continue;
		check_reason(rules, i == 3 ? POSITION_BLOCK : i == 2 ? POSITION_DISAGREE : POSITION_NONE,
					 reason, pid);
		return ballot;
	}
	BALLOT_ERROR(pid, "\"%.*s\" is not a consent position; use agree, abstain, disagree or block.",
				 v.val.string.len, v.val.string.val);
	return NULL;
}

/* Check a choice or ranked ballot: an array of distinct option names */
static Jsonb *
check_option_list(const BallotRules *rules, Jsonb *ballot, int64 pid)
{
	bool		ranked = METHOD_IS_RANKING(rules->method);
	int64		lo = ranked ? rules->min_ranks : rules->min_choices;
	int64		hi = ranked ? rules->max_ranks : rules->max_choices;
	const char *what = ranked ? "ranks" : "choices";
	int		   *order = palloc(sizeof(int) * rules->noptions);
	bool	   *seen = palloc0(sizeof(bool) * rules->noptions);
	int			n = 0;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbParseState *state = NULL;
	JsonbValue *res;

	if (!JB_ROOT_IS_ARRAY(ballot) || JB_ROOT_IS_SCALAR(ballot))
		BALLOT_ERROR(pid, "A %s ballot is a JSON array of option names.",
					 ranked ? "ranked" : "choice");
	it = JsonbIteratorInit(&ballot->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		int			i;

		if (tok != WJB_ELEM)
			continue;
		i = ballot_option(rules, &v, pid);
		if (seen[i])
			BALLOT_ERROR(pid, "Option \"%s\" appears twice.", rules->options[i]);
		seen[i] = true;
		order[n++] = i;
	}
	if (!ranked && rules->none_of_the_above && seen[rules->noptions - 1])
	{
		/* none of the above is a choice on its own */
		if (n > 1)
			BALLOT_ERROR(pid, "The choice none_of_the_above cannot be combined with other choices.");
		lo = 1;
	}
	if ((n < lo || n > hi) && lo == hi)
		BALLOT_ERROR(pid, "The ballot has %d %s; this proposal needs exactly " INT64_FORMAT ".",
					 n, what, lo);
	if (n < lo || n > hi)
		BALLOT_ERROR(pid, "The ballot has %d %s; this proposal needs between " INT64_FORMAT " and " INT64_FORMAT ".",
					 n, what, lo, hi);
	/* choices are a set: normalized in option order; ranks keep their order */
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int k = 0, j = 0; k < (ranked ? n : rules->noptions); k++)
	{
		JsonbValue	e;

		if (!ranked && !seen[k])
			continue;
		e = option_value(rules, ranked ? order[k] : k);
		pushJsonbValue(&state, WJB_ELEM, &e);
		j++;
	}
	res = pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	return JsonbValueToJsonb(res);
}

/* Check one integer of a score, dots or quadratic ballot */
static int32
check_entry(const BallotRules *rules, const char *opt, JsonbValue *v, int64 pid)
{
	int32		x = 0;

	if (v->type != jbvNumeric)
		BALLOT_ERROR(pid, "The value for \"%s\" must be a whole number.", opt);
	switch (read_int32(v->val.numeric, &x))
	{
		case INT_OK:
			break;
		case INT_NOT_WHOLE:
			BALLOT_ERROR(pid, "The value for \"%s\" must be a whole number.", opt);
			break;
		case INT_OUT_OF_RANGE:
			BALLOT_ERROR(pid, "The value for \"%s\" is out of range.", opt);
			break;
	}
	switch (rules->method)
	{
		case METHOD_SCORE:
			if (x < rules->min_score || x > rules->max_score)
				BALLOT_ERROR(pid, "The score for \"%s\" is %d; scores must be between " INT64_FORMAT " and " INT64_FORMAT ".",
							 opt, x, rules->min_score, rules->max_score);
			break;
		case METHOD_DOTS:
			if (x < 0)
				BALLOT_ERROR(pid, "The dots on \"%s\" are %d; dots cannot be negative.", opt, x);
			break;
		case METHOD_QUADRATIC:
			if (x < 0 && !rules->allow_negative)
				BALLOT_ERROR(pid, "The votes on \"%s\" are %d; negative votes are not allowed on this proposal.", opt, x);
			break;
		default:
			elog(ERROR, "unexpected method %d", rules->method);
	}
	return x;
}

/* Check the total of a dots or quadratic ballot (overflow-checked) */
static void
check_budget(const BallotRules *rules, const int32 *vals, const bool *seen, int64 pid)
{
	int64		total = 0;

	for (int i = 0; i < rules->noptions; i++)
	{
		int64		term = vals[i];

		if (!seen[i])
			continue;
		if (rules->method == METHOD_QUADRATIC &&
			pg_mul_s64_overflow(term, term, &term))
			BALLOT_ERROR(pid, "The votes are too large.");
		if (pg_add_s64_overflow(total, term, &total))
			BALLOT_ERROR(pid, "The votes are too large.");
	}
	if (rules->method == METHOD_DOTS && total > rules->dots_per_member)
		BALLOT_ERROR(pid, "The ballot places " INT64_FORMAT " dots; each member has " INT64_FORMAT ".",
					 total, rules->dots_per_member);
	if (rules->method == METHOD_QUADRATIC && total > rules->credits_per_member)
		BALLOT_ERROR(pid, "The votes cost " INT64_FORMAT " credits (the sum of their squares); each member has " INT64_FORMAT ".",
					 total, rules->credits_per_member);
}

/*
 * Check a budget ballot: an array of distinct project (option) names whose
 * selection obeys the budget and its voting rule; normalized in option order.
 */
static Jsonb *
check_budget_ballot(const BallotRules *rules, Jsonb *ballot, int64 pid)
{
	bool	   *chosen = palloc0(sizeof(bool) * rules->noptions);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbParseState *state = NULL;

	if (!JB_ROOT_IS_ARRAY(ballot) || JB_ROOT_IS_SCALAR(ballot))
		BALLOT_ERROR(pid, "A budget ballot is a JSON array of project (option) names.");
	it = JsonbIteratorInit(&ballot->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		int			i;

		if (tok != WJB_ELEM)
			continue;
		i = ballot_option(rules, &v, pid);
		if (chosen[i])
			BALLOT_ERROR(pid, "Option \"%s\" appears twice.", rules->options[i]);
		chosen[i] = true;
	}
	budget_ballot_check(rules->budget, chosen, pid);
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < rules->noptions; i++)
	{
		JsonbValue	e;

		if (!chosen[i])
			continue;
		e = option_value(rules, i);
		pushJsonbValue(&state, WJB_ELEM, &e);
	}
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_ARRAY, NULL));
}

/* Check a score, dots or quadratic ballot: an object option -> integer */
static Jsonb *
check_option_map(const BallotRules *rules, Jsonb *ballot, int64 pid)
{
	int32	   *vals = palloc0(sizeof(int32) * rules->noptions);
	bool	   *seen = palloc0(sizeof(bool) * rules->noptions);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbParseState *state = NULL;
	JsonbValue *res;

	if (!JB_ROOT_IS_OBJECT(ballot) || JB_ROOT_IS_SCALAR(ballot))
		BALLOT_ERROR(pid, "A %s ballot is a JSON object mapping option names to whole numbers.",
					 method_names[rules->method]);
	it = JsonbIteratorInit(&ballot->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		int			i;

		if (tok != WJB_KEY)
			continue;
		i = ballot_option(rules, &v, pid);
		tok = JsonbIteratorNext(&it, &v, true);
		vals[i] = check_entry(rules, rules->options[i], &v, pid);
		seen[i] = true;
	}
	for (int i = 0; i < rules->noptions; i++)
		if (rules->method == METHOD_SCORE && !rules->allow_gaps && !seen[i] &&
			!(rules->none_of_the_above && i == rules->noptions - 1))
			BALLOT_ERROR(pid, "Option \"%s\" has no score; every option must be scored on this proposal.",
						 rules->options[i]);
	if (rules->method != METHOD_SCORE)
		check_budget(rules, vals, seen, pid);
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < rules->noptions; i++)
	{
		JsonbValue	k,
					n;

		if (!seen[i])
			continue;
		k = option_value(rules, i);
		n.type = jbvNumeric;
		n.val.numeric = int64_to_numeric(vals[i]);
		pushJsonbValue(&state, WJB_KEY, &k);
		pushJsonbValue(&state, WJB_VALUE, &n);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* Index of a JSON string among words, or -1 */
static int
word_index(const JsonbValue *v, const char *const *words, int nwords)
{
	if (v->type != jbvString)
		return -1;
	for (int i = 0; i < nwords; i++)
		if (strlen(words[i]) == v->val.string.len &&
			memcmp(words[i], v->val.string.val, v->val.string.len) == 0)
			return i;
	return -1;
}

/* Check a count or check ballot: one JSON string among the method's answers */
static Jsonb *
check_answer(const BallotRules *rules, Jsonb *ballot, int64 pid)
{
	bool		count = rules->method == METHOD_COUNT;
	JsonbValue	v;

	if (!JB_ROOT_IS_SCALAR(ballot) || !JsonbExtractScalar(&ballot->root, &v) ||
		word_index(&v, count ? count_answers : check_answers,
				   count ? lengthof(count_answers) : lengthof(check_answers)) < 0)
		BALLOT_ERROR(pid, count ? "A count ballot is one of the JSON strings \"yes\" or \"no\"."
					 : "A check ballot is one of the JSON strings \"looks_good\", \"not_sure\" or \"concerned\".");
	return ballot;
}

/* Check a question response: no ballot (JSON null) and a reason */
static Jsonb *
check_question(Jsonb *ballot, const char *reason, int64 pid)
{
	JsonbValue	v;

	if (!JB_ROOT_IS_SCALAR(ballot) || !JsonbExtractScalar(&ballot->root, &v) ||
		v.type != jbvNull)
		BALLOT_ERROR(pid, "A question takes no ballot; pass the JSON null and the answer as the reason.");
	if (reason == NULL || reason[strspn(reason, " \t\r\n")] == '\0')
		BALLOT_ERROR(pid, "A response to a question needs a reason.");
	return ballot;
}

/* Check a time poll ballot: slot -> yes, maybe or no; slots left out are no */
static Jsonb *
check_time(const BallotRules *rules, Jsonb *ballot, int64 pid)
{
	int		   *answer = palloc0(sizeof(int) * rules->noptions);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbParseState *state = NULL;

	if (!JB_ROOT_IS_OBJECT(ballot) || JB_ROOT_IS_SCALAR(ballot))
		BALLOT_ERROR(pid, "A time ballot is a JSON object mapping time slots to \"yes\", \"maybe\" or \"no\".");
	for (int i = 0; i < rules->noptions; i++)
		answer[i] = 2;
	it = JsonbIteratorInit(&ballot->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		int			i,
					a;

		if (tok != WJB_KEY)
			continue;
		i = ballot_option(rules, &v, pid);
		tok = JsonbIteratorNext(&it, &v, true);
		a = word_index(&v, time_answers, lengthof(time_answers));
		if (a < 0)
			BALLOT_ERROR(pid, "The answer for \"%s\" must be \"yes\", \"maybe\" or \"no\".",
						 rules->options[i]);
		if (a == 1 && !rules->allow_maybe)
			BALLOT_ERROR(pid, "This proposal does not allow \"maybe\".");
		answer[i] = a;
	}
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < rules->noptions; i++)
	{
		JsonbValue	k = option_value(rules, i);
		JsonbValue	a;

		a.type = jbvString;
		a.val.string.val = (char *) time_answers[answer[i]];
		a.val.string.len = strlen(time_answers[answer[i]]);
		pushJsonbValue(&state, WJB_KEY, &k);
		pushJsonbValue(&state, WJB_VALUE, &a);
	}
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

/* Check a ballot against the rules; returns its normalized form or raises NS104 */
Jsonb *
ballot_normalize(const BallotRules *rules, Jsonb *ballot, const char *reason,
				 int64 proposal_id)
{
	switch (rules->method)
	{
		case METHOD_CONSENT:
			return check_consent(rules, ballot, reason, proposal_id);
		case METHOD_CHOICE:
		case METHOD_RANKED:
		case METHOD_STV:
		case METHOD_SCHULZE:
		case METHOD_COPELAND:
			check_reason(rules, POSITION_NONE, reason, proposal_id);
			return check_option_list(rules, ballot, proposal_id);
		case METHOD_COUNT:
		case METHOD_CHECK:
			check_reason(rules, POSITION_NONE, reason, proposal_id);
			return check_answer(rules, ballot, proposal_id);
		case METHOD_QUESTION:
			check_reason(rules, POSITION_NONE, reason, proposal_id);
			return check_question(ballot, reason, proposal_id);
		case METHOD_TIME:
			check_reason(rules, POSITION_NONE, reason, proposal_id);
			return check_time(rules, ballot, proposal_id);
		case METHOD_SCORE:
		case METHOD_DOTS:
		case METHOD_QUADRATIC:
			check_reason(rules, POSITION_NONE, reason, proposal_id);
			return check_option_map(rules, ballot, proposal_id);
		case METHOD_BUDGET:
			check_reason(rules, POSITION_NONE, reason, proposal_id);
			return check_budget_ballot(rules, ballot, proposal_id);
	}
	elog(ERROR, "unexpected method %d", rules->method);
	return NULL;
}

/*
 * enspiral.check_ballot(method text, options text[], settings jsonb,
 *						 ballot jsonb, reason text DEFAULT NULL) RETURNS jsonb
 *	  The normalized ballot, or an NS104 error naming the broken rule.
 */
Datum
enspiral_check_ballot(PG_FUNCTION_ARGS)
{
	BallotRules rules;
	Jsonb	   *settings;
	ArrayType  *options;
	Datum	   *elems = NULL;
	char	   *method_name;
	int			method;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("method, settings and ballot must not be NULL")));
	method_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	method = decision_parse_method(method_name, false);
	options = PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1);
	settings = normalize_settings(method, check_options(method, options, &elems), elems,
								  PG_GETARG_JSONB_P(2));
	ballot_rules_load(&rules, method_name, options, settings);
	PG_RETURN_JSONB_P(ballot_normalize(&rules, PG_GETARG_JSONB_P(3),
									   PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4)),
									   0));
}
