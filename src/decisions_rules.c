/*-------------------------------------------------------------------------
 *
 * decisions_rules.c
 *	  Ballot rules shared by every voting method (doc/decision-rules.md):
 *	  the settings hide_results, reason_required, reason_max_length,
 *	  voters, pass_share, pass_share_of, pass_share_inclusive,
 *	  silence_is_consent, weighted and delegation.  decisions_ballots.c hands every
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
#include "settings.h"

/* The declaration of a rule setting (src/settings.txt) */
#define RULE(key)	settings_get(SETTINGS_RULE, (key))

/* The words of an enumerated rule setting, in the order of its C enum */
#define hide_results_values		(RULE("hide_results")->words)
#define reason_values			(RULE("reason_required")->words)
#define voters_values			(RULE("voters")->words)
#define share_of_values			(RULE("pass_share_of")->words)

/* Largest pass_share denominator */
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

/* An enumerated setting given as a JSON string: its position among the words */
static int
read_enum(const char *key, JsonbValue *v)
{
	const EnspiralSetting *s = RULE(key);

	settings_check_value(s, v);
	return settings_word_index(s, v);
}

/* A boolean setting */
static bool
read_bool(const char *key, JsonbValue *v)
{
	return settings_check_value(RULE(key), v).val.boolean;
}

/* A whole number within the declared bounds, or 0 for null */
static int32
read_int_or_null(const char *key, JsonbValue *v)
{
	JsonbValue	checked = settings_check_value(RULE(key), v);

	if (checked.type == jbvNull)
		return 0;
	return DatumGetInt32(DirectFunctionCall1(numeric_int4, NumericGetDatum(checked.val.numeric)));
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
	const EnspiralSetting *s = settings_find(SETTINGS_RULE, key, len);

	if (s == NULL || !settings_applies(s, method))
		return false;
#define KEY(k) (strcmp(s->key, k) == 0)
	if (KEY("hide_results"))
		rs->hide_results = v->type == jbvBool ? (v->val.boolean ? 2 : 0)
			: read_enum("hide_results", v);
	else if (KEY("reason_required"))
	{
		rs->reason_required = read_enum("reason_required", v);
		rs->reason_given = true;
	}
	else if (KEY("block_needs_reason"))
		rs->block_needs_reason = read_bool("block_needs_reason", v) ? 1 : 0;
	else if (KEY("reason_max_length"))
		rs->reason_max_length = read_int_or_null("reason_max_length", v);
	else if (KEY("voters"))
		rs->voters = read_enum("voters", v);
	else if (KEY("pass_share"))
	{
		settings_check_value(s, v);
		if (v->type == jbvNull)
			rs->pass_num = rs->pass_den = 0;
		else if (!rules_parse_share(v->val.string.val, v->val.string.len,
									&rs->pass_num, &rs->pass_den))
			elog(ERROR, "pass_share passed its check but does not parse");
	}
	else if (KEY("pass_share_of"))
		rs->pass_share_of = read_enum("pass_share_of", v);
	else if (KEY("pass_share_inclusive"))
		rs->pass_share_inclusive = read_bool("pass_share_inclusive", v);
	else if (KEY("silence_is_consent"))
		rs->silence_is_consent = read_bool("silence_is_consent", v);
	else if (KEY("weighted"))
		rs->weighted = read_bool("weighted", v) ? 1 : 0;
	else if (KEY("delegation"))
		rs->delegation = read_bool("delegation", v) ? 1 : 0;
	else
		elog(ERROR, "rule setting \"%s\" is declared but not read", s->key);
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
			 errdetail("%s", why),
			 err_generic_string(PG_DIAG_COLUMN_NAME, b)));
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
