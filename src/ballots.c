/*-------------------------------------------------------------------------
 *
 * ballots.c
 *	  Voting methods: the registry of proposal settings (types, ranges,
 *	  defaults per method), the validation of a proposal's options, and the
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

#include "enspiral.h"
#include "decisions.h"

PG_FUNCTION_INFO_V1(enspiral_normalize_proposal_settings);
PG_FUNCTION_INFO_V1(enspiral_check_ballot);

static const char *const method_names[N_METHODS] = {
	"consent", "choice", "score", "dots", "ranked", "quadratic"
};

/* The four positions of a consent ballot */
static const char *const consent_positions[] = {
	"agree", "abstain", "disagree", "block"
};

#define M(x)		(1 << (x))
#define M_ALL		(M(N_METHODS) - 1)

typedef enum SettingKind
{
	SETTING_BOOL,
	SETTING_INT,				/* whole number within [lower, upper] */
	SETTING_PCT					/* number within [0, 100], fractions allowed */
} SettingKind;

/*
 * One proposal setting.  dflt is the default as JSON text; "noptions" means
 * the number of options.  Upper bounds of "options" settings are checked
 * against the number of options by check_cross_rules().
 */
typedef struct ProposalSetting
{
	const char *key;
	SettingKind kind;
	int			methods;
	int32		lower;
	int32		upper;
	const char *dflt;
} ProposalSetting;

/* The registry: doc/decisions.md (Methods, ballots and settings) documents the same table */
static const ProposalSetting proposal_settings[] = {
	{"anonymous", SETTING_BOOL, M_ALL, 0, 0, "false"},
	{"hide_results", SETTING_BOOL, M_ALL, 0, 0, "false"},
	{"quorum_pct", SETTING_PCT, M_ALL, 0, 100, "0"},
	{"block_needs_reason", SETTING_BOOL, M(METHOD_CONSENT), 0, 0, "true"},
	{"max_blocks", SETTING_INT, M(METHOD_CONSENT), 0, PG_INT32_MAX, "0"},
	{"threshold_pct", SETTING_PCT, M(METHOD_CONSENT), 0, 100, "50"},
	{"threshold_inclusive", SETTING_BOOL, M(METHOD_CONSENT), 0, 0, "false"},
	{"min_choices", SETTING_INT, M(METHOD_CHOICE), 0, PG_INT32_MAX, "1"},
	{"max_choices", SETTING_INT, M(METHOD_CHOICE), 1, PG_INT32_MAX, "1"},
	{"min_score", SETTING_INT, M(METHOD_SCORE), -1000000000, 1000000000, "0"},
	{"max_score", SETTING_INT, M(METHOD_SCORE), -1000000000, 1000000000, "5"},
	{"allow_gaps", SETTING_BOOL, M(METHOD_SCORE), 0, 0, "false"},
	{"dots_per_member", SETTING_INT, M(METHOD_DOTS), 1, 1000000000, "8"},
	{"min_ranks", SETTING_INT, M(METHOD_RANKED), 1, PG_INT32_MAX, "1"},
	{"max_ranks", SETTING_INT, M(METHOD_RANKED), 1, PG_INT32_MAX, "noptions"},
	{"credits_per_member", SETTING_INT, M(METHOD_QUADRATIC), 1, PG_INT32_MAX, "100"},
	{"allow_negative", SETTING_BOOL, M(METHOD_QUADRATIC), 0, 0, "false"},
};

#define N_PROPOSAL_SETTINGS lengthof(proposal_settings)

/* Method number of a method name; -1 (or an error) when unknown */
int
decision_parse_method(const char *name, bool missing_ok)
{
	for (int i = 0; i < N_METHODS; i++)
		if (strcmp(name, method_names[i]) == 0)
			return i;
	if (!missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown voting method \"%s\"", name),
				 errhint("Methods are consent, choice, score, dots, ranked and quadratic.")));
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

/* Registry entry of a key, or NULL */
static const ProposalSetting *
find_proposal_setting(const char *key, int len)
{
	for (int i = 0; i < (int) N_PROPOSAL_SETTINGS; i++)
		if ((int) strlen(proposal_settings[i].key) == len &&
			strncmp(proposal_settings[i].key, key, len) == 0)
			return &proposal_settings[i];
	return NULL;
}

/* Comma-separated keys that apply to a method, for hints */
static char *
method_keys(int method)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < (int) N_PROPOSAL_SETTINGS; i++)
		if (proposal_settings[i].methods & M(method))
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "",
							 proposal_settings[i].key);
	return buf.data;
}

/* Check one setting value; returns it normalized (whole numbers as integers, no trailing zeros) */
static JsonbValue
check_proposal_setting(const ProposalSetting *s, JsonbValue *v)
{
	JsonbValue	out = *v;
	int32		iv;

	if (s->kind == SETTING_BOOL)
	{
		if (v->type != jbvBool)
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
					 errmsg("proposal setting \"%s\" must be true or false", s->key)));
		return out;
	}
	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("proposal setting \"%s\" must be a number", s->key)));
	if (s->kind == SETTING_INT)
	{
		IntRead		r = read_int32(v->val.numeric, &iv);

		if (r == INT_NOT_WHOLE)
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
					 errmsg("proposal setting \"%s\" must be a whole number", s->key)));
		if (r == INT_OUT_OF_RANGE || iv < s->lower || iv > s->upper)
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
					 errmsg("proposal setting \"%s\" is out of range", s->key),
					 errdetail("The value must be between %d and %d.", s->lower, s->upper)));
		out.val.numeric = int64_to_numeric(iv);
		return out;
	}
	if (numeric_is_nan(v->val.numeric) || numeric_is_inf(v->val.numeric) ||
		numeric_cmp_int(v->val.numeric, s->lower) < 0 ||
		numeric_cmp_int(v->val.numeric, s->upper) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("proposal setting \"%s\" is out of range", s->key),
				 errdetail("The value must be a percentage between %d and %d.",
						   s->lower, s->upper)));
	/* stored without trailing zeros: 50.0 is stored as 50 */
	out.val.numeric = DatumGetNumeric(DirectFunctionCall1(numeric_trim_scale,
														  NumericGetDatum(v->val.numeric)));
	return out;
}

/* Default value of a setting */
static JsonbValue
default_setting(const ProposalSetting *s, int noptions)
{
	JsonbValue	v;

	if (s->kind == SETTING_BOOL)
	{
		v.type = jbvBool;
		v.val.boolean = strcmp(s->dflt, "true") == 0;
		return v;
	}
	v.type = jbvNumeric;
	if (strcmp(s->dflt, "noptions") == 0)
		v.val.numeric = int64_to_numeric(noptions);
	else
		v.val.numeric = int64_to_numeric(pg_strtoint32(s->dflt));
	return v;
}

/* Integer value of a checked setting */
static int32
setting_int(JsonbValue *values, const char *key)
{
	const ProposalSetting *s = find_proposal_setting(key, strlen(key));
	int32		v = 0;

	if (!numeric_to_int32(values[s - proposal_settings].val.numeric, &v))
		elog(ERROR, "setting \"%s\" is not an integer", key);
	return v;
}

/* Refuse settings that contradict each other or the options */
static void
check_cross_rules(int method, JsonbValue *values, int noptions)
{
#define REFUSE(msg, ...) \
	ereport(ERROR, (errcode(ERRCODE_ENSPIRAL_INVALID_SETTING), errmsg(msg, __VA_ARGS__)))
	if (method == METHOD_CHOICE)
	{
		int32		lo = setting_int(values, "min_choices");
		int32		hi = setting_int(values, "max_choices");

		if (lo > hi)
			REFUSE("proposal setting \"min_choices\" (%d) exceeds \"max_choices\" (%d)", lo, hi);
		if (hi > noptions)
			REFUSE("proposal setting \"max_choices\" (%d) exceeds the number of options (%d)", hi, noptions);
	}
	else if (method == METHOD_SCORE)
	{
		int32		lo = setting_int(values, "min_score");
		int32		hi = setting_int(values, "max_score");

		if (lo >= hi)
			REFUSE("proposal setting \"min_score\" (%d) must be less than \"max_score\" (%d)", lo, hi);
	}
	else if (method == METHOD_RANKED)
	{
		int32		lo = setting_int(values, "min_ranks");
		int32		hi = setting_int(values, "max_ranks");

		if (lo > hi)
			REFUSE("proposal setting \"min_ranks\" (%d) exceeds \"max_ranks\" (%d)", lo, hi);
		if (hi > noptions)
			REFUSE("proposal setting \"max_ranks\" (%d) exceeds the number of options (%d)", hi, noptions);
	}
#undef REFUSE
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
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a consent proposal takes no options"),
					 errdetail("Its positions are always agree, abstain, disagree and block.")));
		return 0;
	}
	if (options == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a %s proposal needs options", method_names[method])));
	if (ARR_NDIM(options) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a one-dimensional array")));
	deconstruct_array(options, TEXTOID, -1, false, TYPALIGN_INT, elems, &nulls, &n);
	if (n < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a %s proposal needs at least 2 options, got %d",
						method_names[method], n)));
	for (int i = 0; i < n; i++)
	{
		char	   *name;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("option %d is NULL", i + 1)));
		name = TextDatumGetCString((*elems)[i]);
		if (name[strspn(name, " \t\r\n")] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option %d is empty", i + 1)));
		for (int j = 0; j < i; j++)
			if (strcmp(name, TextDatumGetCString((*elems)[j])) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" appears twice", name)));
	}
	return n;
}

/* Build the normalized settings object from the values of the method's keys */
static Jsonb *
build_proposal_settings(int method, JsonbValue *values)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < (int) N_PROPOSAL_SETTINGS; i++)
	{
		JsonbValue	k;

		if (!(proposal_settings[i].methods & M(method)))
			continue;
		k.type = jbvString;
		k.val.string.val = (char *) proposal_settings[i].key;
		k.val.string.len = strlen(proposal_settings[i].key);
		pushJsonbValue(&state, WJB_KEY, &k);
		pushJsonbValue(&state, WJB_VALUE, &values[i]);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* Validate settings of a method with n options; returns the normalized object */
static Jsonb *
normalize_settings(int method, int noptions, Jsonb *in)
{
	JsonbValue	values[N_PROPOSAL_SETTINGS];
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (!JB_ROOT_IS_OBJECT(in) || JB_ROOT_IS_SCALAR(in))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("proposal settings must be a JSON object")));
	for (int i = 0; i < (int) N_PROPOSAL_SETTINGS; i++)
		values[i] = default_setting(&proposal_settings[i], noptions);
	it = JsonbIteratorInit(&in->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		const ProposalSetting *s;

		if (tok != WJB_KEY)
			continue;
		s = find_proposal_setting(v.val.string.val, v.val.string.len);
		if (s == NULL || !(s->methods & M(method)))
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
					 errmsg("unknown setting \"%.*s\" for a %s proposal",
							v.val.string.len, v.val.string.val, method_names[method]),
					 errhint("Settings of %s proposals are: %s.",
							 method_names[method], method_keys(method))));
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		values[s - proposal_settings] = check_proposal_setting(s, &v);
	}
	check_cross_rules(method, values, noptions);
	return build_proposal_settings(method, values);
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
	PG_RETURN_JSONB_P(normalize_settings(method, n, PG_GETARG_JSONB_P(2)));
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
	rules->options = palloc(sizeof(char *) * Max(rules->noptions, 1));
	rules->option_lens = palloc(sizeof(int) * Max(rules->noptions, 1));
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
	rules->block_needs_reason = jsonb_get_bool_key(settings, "block_needs_reason", true);
}

/* Raise NS104 for a ballot of a proposal */
#define BALLOT_ERROR(pid, ...) ballot_error(pid, psprintf(__VA_ARGS__))

/* Raise NS104: the message names the proposal and the broken rule */
static pg_attribute_noreturn() void
ballot_error(int64 pid, const char *text)
{
	char	   *rule = pstrdup(text);
	size_t		len = strlen(rule);

	/* message style: no capital at the start, no period at the end */
	if (len > 0 && rule[len - 1] == '.')
		rule[len - 1] = '\0';
	rule[0] = pg_tolower((unsigned char) rule[0]);
	if (pid == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_BALLOT),
				 errmsg("invalid ballot: %s", rule)));
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_INVALID_BALLOT),
			 errmsg("invalid ballot for proposal %lld: %s", (long long) pid, rule)));
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
		if (i == 3 && rules->block_needs_reason &&
			(reason == NULL || reason[strspn(reason, " \t\r\n")] == '\0'))
			BALLOT_ERROR(pid, "A block needs a reason on this proposal.");
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
	bool		ranked = rules->method == METHOD_RANKED;
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
		if (rules->method == METHOD_SCORE && !rules->allow_gaps && !seen[i])
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
			return check_option_list(rules, ballot, proposal_id);
		case METHOD_SCORE:
		case METHOD_DOTS:
		case METHOD_QUADRATIC:
			return check_option_map(rules, ballot, proposal_id);
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
	settings = normalize_settings(method, check_options(method, options, &elems),
								  PG_GETARG_JSONB_P(2));
	ballot_rules_load(&rules, method_name, options, settings);
	PG_RETURN_JSONB_P(ballot_normalize(&rules, PG_GETARG_JSONB_P(3),
									   PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4)),
									   0));
}
