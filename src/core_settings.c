/*-------------------------------------------------------------------------
 *
 * core_settings.c
 *	  The settings registry.  Every group, proposal and round setting is
 *	  declared once in src/settings.txt (type, bounds, default, the methods
 *	  it applies to); the Makefile generates src/enspiral_settings.h from it
 *	  and tools/settings.sh writes doc/settings.md from the same lines.
 *	  This file checks one value against its declaration, fills in
 *	  defaults, and normalizes round settings; src/base_groups.c, src/decisions_ballots.c
 *	  and src/decisions_rules.c normalize group, proposal and rule settings with it.
 *
 * Every refusal is NS006 (ERRCODE_ENSPIRAL_INVALID_SETTING) with the key in
 * the COLUMN field, so an application can show the message next to the
 * field of its settings form.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "enspiral.h"
#include "decisions.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(enspiral_normalize_round_settings);

#define SETTING_METHOD(m)	(1 << (m))
#define SETTING_ALL_METHODS ((1 << N_METHODS) - 1)

#include "enspiral_settings.h"

/* The rights a may_<action> setting can give (doc/actors-and-events.md) */
static const char *const setting_rights[] = {
	"anyone", "member", "author", "author_or_admin", "admin", NULL
};

/*
 * The rights of an action an effect of a passed proposal can take
 * (doc/executable-outcomes.md): the same, and "proposal"
 */
static const char *const setting_action_rights[] = {
	"anyone", "member", "author", "author_or_admin", "admin", "proposal", NULL
};

/* Number of declared settings */
int
settings_count(void)
{
	return (int) lengthof(enspiral_settings);
}

/* The i-th declared setting */
const EnspiralSetting *
settings_at(int i)
{
	Assert(i >= 0 && i < settings_count());
	return &enspiral_settings[i];
}

/* Position of a declaration in the registry (settings_at's argument) */
int
settings_index(const EnspiralSetting *s)
{
	return (int) (s - enspiral_settings);
}

/* The declaration of a key in a scope, or NULL */
const EnspiralSetting *
settings_find(SettingsScope scope, const char *key, int len)
{
	for (int i = 0; i < settings_count(); i++)
		if (enspiral_settings[i].scope == scope &&
			(int) strlen(enspiral_settings[i].key) == len &&
			memcmp(enspiral_settings[i].key, key, len) == 0)
			return &enspiral_settings[i];
	return NULL;
}

/* The declaration of a key the code knows to be declared */
const EnspiralSetting *
settings_get(SettingsScope scope, const char *key)
{
	const EnspiralSetting *s = settings_find(scope, key, strlen(key));

	if (s == NULL)
		elog(ERROR, "setting \"%s\" is not declared in src/settings.txt", key);
	return s;
}

/* True when a proposal or rule setting applies to a voting method */
bool
settings_applies(const EnspiralSetting *s, int method)
{
	return (s->methods & SETTING_METHOD(method)) != 0;
}

/* A numeric literal of the registry */
static Numeric
literal_numeric(const char *s)
{
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

/* Comma-separated quoted words of a NULL-terminated list */
static char *
word_list(const char *const *words)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; words[i] != NULL; i++)
		appendStringInfo(&buf, "%s\"%s\"", i ? ", " : "", words[i]);
	return buf.data;
}

/* Index of a JSON string among words, -1 when absent or not a string */
static int
word_index(const char *const *words, const JsonbValue *v)
{
	if (v->type != jbvString)
		return -1;
	for (int i = 0; words[i] != NULL; i++)
		if ((int) strlen(words[i]) == v->val.string.len &&
			memcmp(words[i], v->val.string.val, v->val.string.len) == 0)
			return i;
	return -1;
}

/* Refuse a value whose JSON type is wrong for the setting */
static pg_attribute_noreturn() void
wrong_type(const EnspiralSetting *s)
{
	const char *msg;

	switch (s->type)
	{
		case SETTING_BOOL:
			msg = "The value must be true or false.";
			break;
		case SETTING_INT:
		case SETTING_AMOUNT:
			msg = "The value must be a whole number.";
			break;
		case SETTING_NUMBER:
		case SETTING_PCT:
			msg = "The value must be a number.";
			break;
		default:
			msg = "The value must be a JSON string.";
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
			 errmsg("invalid value for setting \"%s\"", s->key),
			 errdetail("%s", msg),
			 s->nullable ? errhint("The value may also be null.") : 0,
			 err_generic_string(PG_DIAG_COLUMN_NAME, s->key)));
	pg_unreachable();
}

/* Refuse a number outside the declared bounds */
static pg_attribute_noreturn() void
out_of_range(const EnspiralSetting *s)
{
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
			 errmsg("value of setting \"%s\" is out of range", s->key),
			 s->lower_open
			 ? errdetail("The value must be greater than %s and at most %s.", s->lower, s->upper)
			 : errdetail("The value must be between %s and %s.", s->lower, s->upper),
			 err_generic_string(PG_DIAG_COLUMN_NAME, s->key)));
	pg_unreachable();
}

/* Refuse a text that is not one of the allowed ones */
static pg_attribute_noreturn() void
bad_word(const EnspiralSetting *s, const char *const *words)
{
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
			 errmsg("invalid value for setting \"%s\"", s->key),
			 errdetail("Allowed values are %s.", word_list(words)),
			 err_generic_string(PG_DIAG_COLUMN_NAME, s->key)));
	pg_unreachable();
}

/* Check a number: finite, whole when declared so, within bounds; normalized */
static Numeric
check_number(const EnspiralSetting *s, Numeric n)
{
	bool		whole = s->type == SETTING_INT || s->type == SETTING_AMOUNT;
	int			lowcmp;

	if (numeric_is_nan(n) || numeric_is_inf(n))
		wrong_type(s);
	if (whole &&
		enspiral_numeric_cmp(n, DatumGetNumeric(DirectFunctionCall1(numeric_floor,
																   NumericGetDatum(n)))) != 0)
		wrong_type(s);
	lowcmp = s->lower ? enspiral_numeric_cmp(n, literal_numeric(s->lower)) : 1;
	if (lowcmp < 0 || (s->lower_open && lowcmp == 0) ||
		(s->upper && enspiral_numeric_cmp(n, literal_numeric(s->upper)) > 0))
		out_of_range(s);
	/* stored as readers cast it: 6.0 as 6, 50.50 as 50.5 */
	if (whole)
		return int64_to_numeric(DatumGetInt64(DirectFunctionCall1(numeric_int8,
																  NumericGetDatum(n))));
	return DatumGetNumeric(DirectFunctionCall1(numeric_trim_scale, NumericGetDatum(n)));
}

/* True when a text is a timestamp with an explicit UTC offset */
static bool
is_timestamp_with_offset(const JsonbValue *v)
{
	text	   *t = cstring_to_text_with_len(v->val.string.val, v->val.string.len);

	return DatumGetBool(DirectFunctionCall2Coll(textregexeq, C_COLLATION_OID,
												PointerGetDatum(t),
												CStringGetTextDatum("^\\d{4}-\\d\\d-\\d\\d[T ]\\d\\d:\\d\\d(:\\d\\d(\\.\\d+)?)?(Z|[+-]\\d\\d(:?\\d\\d)?)$")));
}

/* Check a JSON string value of a text-like type */
static void
check_text(const EnspiralSetting *s, const JsonbValue *v)
{
	int64		num,
				den;

	if (v->type != jbvString)
		wrong_type(s);
	switch (s->type)
	{
		case SETTING_RIGHT:
			if (word_index(setting_rights, v) < 0)
				bad_word(s, setting_rights);
			break;
		case SETTING_ACTRIGHT:
			if (word_index(setting_action_rights, v) < 0)
				bad_word(s, setting_action_rights);
			break;
		case SETTING_WORD:
			if (word_index(s->words, v) < 0)
				bad_word(s, s->words);
			break;
		case SETTING_SHARE:
			if (!rules_parse_share(v->val.string.val, v->val.string.len, &num, &den))
				ereport(ERROR,
						(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
						 errmsg("invalid value for setting \"%s\"", s->key),
						 errdetail("The value must be a fraction \"n/d\" of whole numbers with 1 <= n <= d <= 1000000000, such as \"2/3\", or null."),
						 err_generic_string(PG_DIAG_COLUMN_NAME, s->key)));
			break;
		case SETTING_TIMESTAMPTZ:
			if (!is_timestamp_with_offset(v))
				ereport(ERROR,
						(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
						 errmsg("invalid value for setting \"%s\"", s->key),
						 errdetail("The value must be a timestamp with a UTC offset, or null."),
						 errhint("Write it like \"2027-03-01T12:00:00Z\" or \"2027-03-01 12:00:00+02\"."),
						 err_generic_string(PG_DIAG_COLUMN_NAME, s->key)));
			break;
		default:
			break;
	}
}

/*
 * Check one value against its declaration; returns it normalized (whole
 * numbers without fraction digits, other numbers without trailing zeros).
 * Raises NS006 with the key in COLUMN.
 */
JsonbValue
settings_check_value(const EnspiralSetting *s, const JsonbValue *v)
{
	JsonbValue	out = *v;

	if (v->type == jbvNull && s->nullable)
		return out;
	switch (s->type)
	{
		case SETTING_BOOL:
			if (v->type != jbvBool)
				wrong_type(s);
			break;
		case SETTING_INT:
		case SETTING_AMOUNT:
		case SETTING_NUMBER:
		case SETTING_PCT:
			if (v->type != jbvNumeric)
				wrong_type(s);
			out.val.numeric = check_number(s, v->val.numeric);
			break;
		default:
			check_text(s, v);
			break;
	}
	return out;
}

/* The declared default of a setting as a JSON value (literal defaults only) */
JsonbValue
settings_default_value(const EnspiralSetting *s)
{
	JsonbValue	v;
	const char *d = s->dflt;

	if (d[0] == '@')
		elog(ERROR, "setting \"%s\" has no literal default", s->key);
	if (strcmp(d, "null") == 0)
		v.type = jbvNull;
	else if (strcmp(d, "true") == 0 || strcmp(d, "false") == 0)
	{
		v.type = jbvBool;
		v.val.boolean = d[0] == 't';
	}
	else if (d[0] == '"')
	{
		v.type = jbvString;
		v.val.string.val = pnstrdup(d + 1, strlen(d) - 2);
		v.val.string.len = strlen(d) - 2;
	}
	else
	{
		v.type = jbvNumeric;
		v.val.numeric = literal_numeric(d);
	}
	return v;
}

/* Position of a checked word value among the declared words */
int
settings_word_index(const EnspiralSetting *s, const JsonbValue *v)
{
	int			i = word_index(s->words, v);

	if (i < 0)
		bad_word(s, s->words);
	return i;
}

/* Comma-separated keys of a scope (those of a method; -1: all), for hints */
char *
settings_key_list(SettingsScope scope, int method)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < settings_count(); i++)
		if (enspiral_settings[i].scope == scope &&
			(method < 0 || settings_applies(&enspiral_settings[i], method)))
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", enspiral_settings[i].key);
	return buf.data;
}

/* Refuse settings that are not a JSON object */
void
settings_require_object(Jsonb *settings)
{
	if (!JB_ROOT_IS_OBJECT(settings) || JB_ROOT_IS_SCALAR(settings))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("settings must be a JSON object"),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "settings")));
}

/* Refuse a key that is not a setting here; hint lists the known ones */
void
settings_unknown_key(const char *key, int len, const char *hint)
{
	char	   *k = pnstrdup(key, len);

	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
			 errmsg("unrecognized setting \"%s\"", k),
			 errhint("%s", hint),
			 err_generic_string(PG_DIAG_COLUMN_NAME, k)));
	pg_unreachable();
}

/*
 * Normalize a settings object of a scope without methods (group, round):
 * refuse unknown keys (hint_format names the known ones with its %s), check
 * every given value, fill in the defaults.  values[] (settings_count()
 * entries, may be NULL) receives the values in registry order.
 */
Jsonb *
settings_normalize(SettingsScope scope, Jsonb *in, const char *hint_format, JsonbValue *values)
{
	JsonbParseState *state = NULL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	settings_require_object(in);
	it = JsonbIteratorInit(&in->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_KEY && settings_find(scope, v.val.string.val, v.val.string.len) == NULL)
			settings_unknown_key(v.val.string.val, v.val.string.len,
								 psprintf(hint_format, settings_key_list(scope, -1)));
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < settings_count(); i++)
	{
		const EnspiralSetting *s = &enspiral_settings[i];
		JsonbValue	k,
					buf,
				   *given,
					value;

		if (s->scope != scope)
			continue;
		given = getKeyJsonValueFromContainer(&in->root, s->key, strlen(s->key), &buf);
		value = given ? settings_check_value(s, given) : settings_default_value(s);
		if (values != NULL)
			values[i] = value;
		k.type = jbvString;
		k.val.string.val = (char *) s->key;
		k.val.string.len = strlen(s->key);
		pushJsonbValue(&state, WJB_KEY, &k);
		pushJsonbValue(&state, WJB_VALUE, &value);
	}
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

/*
 * enspiral.normalize_round_settings(settings jsonb) RETURNS jsonb
 *	  Validate round settings and return them with every default filled in.
 */
Datum
enspiral_normalize_round_settings(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(settings_normalize(SETTINGS_ROUND, PG_GETARG_JSONB_P(0),
										 "Round settings are: %s.", NULL));
}
