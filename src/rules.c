/*-------------------------------------------------------------------------
 *
 * rules.c
 *	  Ballot rules shared by every voting method (doc/decision-rules.md):
 *	  the settings hide_results, reason_required, reason_max_length,
 *	  voters, pass_share, pass_share_of, pass_share_inclusive,
 *	  silence_is_consent, weighted and delegation.  ballots.c hands every
 *	  key its own registry does not know to rule_setting_accept(), and adds
 *	  the normalized rule keys with rule_settings_push().
 *
 * Old values keep working: hide_results true/false become "until_closed"
 * and "off"; block_needs_reason true/false become reason_required "block"
 * and "never".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "enspiral.h"
#include "decisions.h"

static const char *const hide_results_values[] = {"off", "until_vote", "until_closed", NULL};
static const char *const reason_values[] = {"never", "always", "disagree_or_block", "block", NULL};
static const char *const voters_values[] = {"members", "invited", NULL};
static const char *const share_of_values[] = {"cast", "electorate", NULL};

/* Longest reason_max_length and largest pass_share denominator */
#define RULES_MAX_REASON_LENGTH 1000000
#define RULES_MAX_DENOMINATOR 1000000000

/* Index of a string among values (NULL-terminated), -1 when absent */
static int
value_index(const char *const *values, const char *s, int len)
{
	for (int i = 0; values[i] != NULL; i++)
		if ((int) strlen(values[i]) == len && memcmp(values[i], s, len) == 0)
			return i;
	return -1;
}

/* Comma-separated allowed values, for details */
static char *
value_list(const char *const *values)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; values[i] != NULL; i++)
		appendStringInfo(&buf, "%s\"%s\"", i ? ", " : "", values[i]);
	return buf.data;
}

/* Refuse a value of a rule setting with the allowed ones in the detail */
static pg_attribute_noreturn() void
bad_value(const char *key, const char *const *values)
{
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
			 errmsg("proposal setting \"%s\" has an unknown value", key),
			 errdetail("Allowed values are %s.", value_list(values))));
	pg_unreachable();
}

/* An enumerated setting given as a JSON string */
static int
read_enum(const char *key, JsonbValue *v, const char *const *values)
{
	int			i;

	if (v->type != jbvString)
		bad_value(key, values);
	i = value_index(values, v->val.string.val, v->val.string.len);
	if (i < 0)
		bad_value(key, values);
	return i;
}

/* A boolean setting */
static bool
read_bool(const char *key, JsonbValue *v)
{
	if (v->type != jbvBool)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("proposal setting \"%s\" must be true or false", key)));
	return v->val.boolean;
}

/* A whole JSON number in [lo, hi] */
static int32
read_int(const char *key, JsonbValue *v, int32 lo, int32 hi)
{
	int64		x = 0;
	bool		ok = v->type == jbvNumeric;

	if (ok)
	{
		char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out,
															NumericGetDatum(v->val.numeric)));

		ok = strspn(s, "-0123456789") == strlen(s) && strlen(s) <= 11;
		x = ok ? pg_strtoint64(s) : 0;
		ok = ok && x >= lo && x <= hi;
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("proposal setting \"%s\" must be a whole number or null", key),
				 errdetail("The value must be between %d and %d.", lo, hi)));
	return (int32) x;
}

/* Parse "n/d" with 1 <= n <= d <= RULES_MAX_DENOMINATOR; false when malformed */
bool
rules_parse_share(const char *s, int len, int64 *num, int64 *den)
{
	int64		parts[2] = {0, 0};
	int			part = 0,
				digits = 0;

	for (int i = 0; i < len; i++)
	{
		if (s[i] == '/' && part == 0 && digits > 0)
		{
			part = 1;
			digits = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || ++digits > 10)
			return false;
		parts[part] = parts[part] * 10 + (s[i] - '0');
	}
	if (part != 1 || digits == 0)
		return false;
	*num = parts[0];
	*den = parts[1];
	return *num >= 1 && *num <= *den && *den <= RULES_MAX_DENOMINATOR;
}

/* Accept a rule key; false when it is not a rule setting of the method */
bool
rule_setting_accept(RuleSettings *rs, int method, const char *key, int len, JsonbValue *v)
{
#define KEY(k) (len == (int) strlen(k) && memcmp(key, k, len) == 0)
	if (KEY("hide_results"))
		rs->hide_results = v->type == jbvBool ? (v->val.boolean ? 2 : 0)
			: read_enum("hide_results", v, hide_results_values);
	else if (KEY("reason_required"))
	{
		rs->reason_required = read_enum("reason_required", v, reason_values);
		rs->reason_given = true;
	}
	else if (KEY("block_needs_reason") && method == METHOD_CONSENT)
		rs->block_needs_reason = read_bool("block_needs_reason", v) ? 1 : 0;
	else if (KEY("reason_max_length"))
		rs->reason_max_length = v->type == jbvNull ? 0
			: read_int("reason_max_length", v, 1, RULES_MAX_REASON_LENGTH);
	else if (KEY("voters"))
		rs->voters = read_enum("voters", v, voters_values);
	else if (KEY("pass_share"))
	{
		if (v->type == jbvNull)
			rs->pass_num = rs->pass_den = 0;
		else if (v->type != jbvString ||
				 !rules_parse_share(v->val.string.val, v->val.string.len,
									&rs->pass_num, &rs->pass_den))
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
					 errmsg("proposal setting \"pass_share\" must be a fraction \"n/d\" or null"),
					 errdetail("n and d are whole numbers with 1 <= n <= d <= %d, e.g. \"2/3\".",
							   RULES_MAX_DENOMINATOR)));
	}
	else if (KEY("pass_share_of"))
		rs->pass_share_of = read_enum("pass_share_of", v, share_of_values);
	else if (KEY("pass_share_inclusive"))
		rs->pass_share_inclusive = read_bool("pass_share_inclusive", v);
	else if (KEY("silence_is_consent") && method == METHOD_CONSENT)
		rs->silence_is_consent = read_bool("silence_is_consent", v);
	else if (KEY("weighted"))
		rs->weighted = read_bool("weighted", v) ? 1 : 0;
	else if (KEY("delegation"))
		rs->delegation = read_bool("delegation", v) ? 1 : 0;
	else
		return false;
	return true;
#undef KEY
}

/* Defaults of the rule settings (before any key is read) */
void
rule_settings_init(RuleSettings *rs, int method)
{
	memset(rs, 0, sizeof(*rs));
	rs->reason_required = method == METHOD_CONSENT ? REASON_BLOCK : REASON_NEVER;
	rs->block_needs_reason = -1;
	rs->pass_share_inclusive = true;
	rs->weighted = -1;
	rs->delegation = -1;
}

/* Refuse a contradiction between two settings */
static pg_attribute_noreturn() void
contradiction(const char *a, const char *b, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
			 errmsg("proposal settings \"%s\" and \"%s\" contradict each other", a, b),
			 errdetail("%s", why)));
	pg_unreachable();
}

/* Resolve old keys and defaults that depend on other settings; refuse contradictions */
void
rule_settings_finish(RuleSettings *rs, int method, bool anonymous, bool quorum_zero)
{
	if (rs->block_needs_reason >= 0)
	{
		bool		wants = rs->block_needs_reason == 1;

		if (rs->reason_given && wants != (rs->reason_required != REASON_NEVER))
			contradiction("block_needs_reason", "reason_required",
						  "block_needs_reason is the old name of reason_required \"block\" (true) or \"never\" (false).");
		if (!rs->reason_given)
			rs->reason_required = wants ? REASON_BLOCK : REASON_NEVER;
	}
	if (rs->weighted < 0)
		rs->weighted = anonymous ? 0 : 1;
	if (rs->delegation < 0)
		rs->delegation = anonymous ? 0 : 1;
	if (anonymous && rs->weighted)
		contradiction("anonymous", "weighted",
					  "A weight would be stored with an anonymous ballot and could identify its voter.");
	if (anonymous && rs->delegation)
		contradiction("anonymous", "delegation",
					  "Delegation needs to know who voted, which an anonymous ballot does not record.");
	if (anonymous && rs->voters == VOTERS_INVITED)
		contradiction("anonymous", "voters",
					  "The invited voters of an anonymous proposal could not be removed without revealing their ballots.");
	if (rs->hide_results == HIDE_UNTIL_VOTE && anonymous)
		contradiction("anonymous", "hide_results",
					  "\"until_vote\" needs to know whether the member voted; use \"until_closed\".");
	if (rs->silence_is_consent && !quorum_zero)
		contradiction("silence_is_consent", "quorum_pct",
					  "With silence as consent a proposal passes without votes; a quorum cannot apply.");
	if (rs->silence_is_consent && rs->pass_den != 0)
		contradiction("silence_is_consent", "pass_share",
					  "With silence as consent a proposal passes without votes; a pass share cannot apply.");
}

/* Push a string key/value pair */
static void
push_str(JsonbParseState **ps, const char *key, const char *val)
{
	JsonbValue	k,
				v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(ps, WJB_KEY, &k);
	if (val == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = (char *) val;
		v.val.string.len = strlen(val);
	}
	pushJsonbValue(ps, WJB_VALUE, &v);
}

/* Push a boolean or a whole-number (0 = null) key/value pair */
static void
push_scalar(JsonbParseState **ps, const char *key, bool is_bool, int64 val)
{
	JsonbValue	k,
				v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(ps, WJB_KEY, &k);
	if (is_bool)
	{
		v.type = jbvBool;
		v.val.boolean = val != 0;
	}
	else if (val == 0)
		v.type = jbvNull;
	else
	{
		v.type = jbvNumeric;
		v.val.numeric = int64_to_numeric(val);
	}
	pushJsonbValue(ps, WJB_VALUE, &v);
}

/* Add the normalized rule keys of a method to a settings object being built */
void
rule_settings_push(const RuleSettings *rs, int method, JsonbParseState **ps)
{
	push_str(ps, "hide_results", hide_results_values[rs->hide_results]);
	push_str(ps, "reason_required", reason_values[rs->reason_required]);
	push_scalar(ps, "reason_max_length", false, rs->reason_max_length);
	push_str(ps, "voters", voters_values[rs->voters]);
	push_str(ps, "pass_share", rs->pass_den == 0 ? NULL
			 : psprintf(INT64_FORMAT "/" INT64_FORMAT, rs->pass_num, rs->pass_den));
	push_str(ps, "pass_share_of", share_of_values[rs->pass_share_of]);
	push_scalar(ps, "pass_share_inclusive", true, rs->pass_share_inclusive);
	if (method == METHOD_CONSENT)
		push_scalar(ps, "silence_is_consent", true, rs->silence_is_consent);
	push_scalar(ps, "weighted", true, rs->weighted);
	push_scalar(ps, "delegation", true, rs->delegation);
}

/* The rule keys of a method, for hints */
const char *
rule_setting_keys(int method)
{
	return method == METHOD_CONSENT
		? "hide_results, reason_required, block_needs_reason, reason_max_length, voters, pass_share, pass_share_of, pass_share_inclusive, silence_is_consent, weighted, delegation"
		: "hide_results, reason_required, reason_max_length, voters, pass_share, pass_share_of, pass_share_inclusive, weighted, delegation";
}

/* Load the reason rules of normalized settings into ballot rules */
void
rules_load_reasons(BallotRules *rules, Jsonb *settings)
{
	JsonbValue	buf;
	JsonbValue *v;

	rules->reason_required = rules->method == METHOD_CONSENT ? REASON_BLOCK : REASON_NEVER;
	rules->reason_max_length = 0;
	v = getKeyJsonValueFromContainer(&settings->root, "reason_required", 15, &buf);
	if (v != NULL && v->type == jbvString)
		rules->reason_required = Max(value_index(reason_values, v->val.string.val,
												 v->val.string.len), 0);
	else
	{
		/* settings normalized by 0.1.0: block_needs_reason */
		v = getKeyJsonValueFromContainer(&settings->root, "block_needs_reason", 18, &buf);
		if (v != NULL && v->type == jbvBool)
			rules->reason_required = v->val.boolean ? REASON_BLOCK : REASON_NEVER;
	}
	v = getKeyJsonValueFromContainer(&settings->root, "reason_max_length", 17, &buf);
	if (v != NULL && v->type == jbvNumeric)
		rules->reason_max_length = DatumGetInt32(DirectFunctionCall1(numeric_int4,
																	 NumericGetDatum(v->val.numeric)));
}

/* Whether a ballot in a position needs a reason under a reason_required rule */
static bool
reason_needed(int rule, BallotPosition pos)
{
	switch (rule)
	{
		case REASON_ALWAYS:
			return true;
		case REASON_DISAGREE_OR_BLOCK:
			return pos == POSITION_DISAGREE || pos == POSITION_BLOCK;
		case REASON_BLOCK:
			return pos == POSITION_BLOCK;
	}
	return false;
}

/*
 * The broken reason rule of a ballot in a position, or NULL when the reason
 * is fine: a needed reason must not be blank; any reason must fit
 * reason_max_length characters.
 */
const char *
rules_reason_problem(const BallotRules *rules, BallotPosition pos, const char *reason)
{
	if (reason_needed(rules->reason_required, pos) &&
		(reason == NULL || reason[strspn(reason, " \t\r\n")] == '\0'))
	{
		if (rules->reason_required == REASON_BLOCK)
			return "A block needs a reason on this proposal.";
		if (rules->reason_required == REASON_DISAGREE_OR_BLOCK)
			return "A disagreement or a block needs a reason on this proposal.";
		return "Every ballot needs a reason on this proposal.";
	}
	if (reason != NULL && rules->reason_max_length > 0 &&
		pg_mbstrlen(reason) > rules->reason_max_length)
		return psprintf("The reason is longer than %d characters.", rules->reason_max_length);
	return NULL;
}
