/*-------------------------------------------------------------------------
 *
 * groups.c
 *	  Group settings: one registry of the rule parameters a group can set,
 *	  their types, ranges and defaults, and the function that validates a
 *	  settings document and fills in the defaults.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "enspiral.h"

PG_FUNCTION_INFO_V1(enspiral_normalize_group_settings);

/* What a setting holds: a number, true/false, or a right (a text) */
typedef enum SettingType
{
	SETTING_NUMBER,
	SETTING_BOOLEAN,
	SETTING_RIGHT
} SettingType;

/*
 * One group setting.  Bounds and default are numeric literals; "integral"
 * settings refuse fractions.  lower_open makes the lower bound exclusive.
 * Boolean and right settings only use dflt ("true"/"false", a right).
 */
typedef struct GroupSetting
{
	const char *key;
	bool		integral;
	const char *lower;
	bool		lower_open;
	const char *upper;
	const char *dflt;
	SettingType type;
} GroupSetting;

/* The rights a may_<action> setting can give (doc/actors-and-events.md) */
static const char *const rights[] = {
	"anyone", "member", "author", "author_or_admin", "admin", "proposal"
};

/*
 * The actions an effect of a passed proposal can take: only their
 * may_<action> settings may give the right "proposal"
 * (doc/executable-outcomes.md)
 */
static const char *const proposal_actions[] = {
	"may_appoint_catalyst", "may_end_catalyst_term", "may_grant_role",
	"may_revoke_role", "may_change_settings", "may_create_round",
	"may_allocate", "may_close_round", "may_match_round",
	"may_open_bucket", "may_cancel_bucket"
};

/*
 * The registry: doc/groups-and-members.md (Group settings) and
 * doc/actors-and-events.md (the permission and event settings) document it
 */
static const GroupSetting group_settings[] = {
	{"min_catalysts", true, "0", false, "1000", "3"},
	{"catalyst_term_months", true, "1", false, "120", "6"},
	{"catalyst_max_months", true, "1", false, "1200", "24"},
	{"catalyst_min_days_per_week", false, "0", true, "7", "1"},
	{"closing_soon_hours", true, "0", false, "8760", "24"},
	{"catalyst_notice_days", true, "0", false, "3650", "30"},
	{"enforce_permissions", false, NULL, false, NULL, "true", SETTING_BOOLEAN},
	{"require_actor", false, NULL, false, NULL, "false", SETTING_BOOLEAN},
	{"notify_votes_and_contributions", false, NULL, false, NULL, "false", SETTING_BOOLEAN},
	{"may_add_member", false, NULL, false, NULL, "admin", SETTING_RIGHT},
	{"may_remove_member", false, NULL, false, NULL, "author_or_admin", SETTING_RIGHT},
	{"may_edit_proposal", false, NULL, false, NULL, "author_or_admin", SETTING_RIGHT},
	{"may_open_proposal", false, NULL, false, NULL, "author_or_admin", SETTING_RIGHT},
	{"may_close_proposal", false, NULL, false, NULL, "author_or_admin", SETTING_RIGHT},
	{"may_withdraw_proposal", false, NULL, false, NULL, "author_or_admin", SETTING_RIGHT},
	{"may_reopen_proposal", false, NULL, false, NULL, "author_or_admin", SETTING_RIGHT},
	{"may_create_round", false, NULL, false, NULL, "admin", SETTING_RIGHT},
	{"may_allocate", false, NULL, false, NULL, "admin", SETTING_RIGHT},
	{"may_close_round", false, NULL, false, NULL, "admin", SETTING_RIGHT},
	{"may_match_round", false, NULL, false, NULL, "admin", SETTING_RIGHT},
	{"may_open_bucket", false, NULL, false, NULL, "author_or_admin", SETTING_RIGHT},
	{"may_cancel_bucket", false, NULL, false, NULL, "author_or_admin", SETTING_RIGHT},
	{"may_complete_bucket", false, NULL, false, NULL, "author_or_admin", SETTING_RIGHT},
	{"may_appoint_catalyst", false, NULL, false, NULL, "admin", SETTING_RIGHT},
	{"may_end_catalyst_term", false, NULL, false, NULL, "admin", SETTING_RIGHT},
	{"may_cancel_catalyst_term", false, NULL, false, NULL, "admin", SETTING_RIGHT},
	{"may_grant_role", false, NULL, false, NULL, "admin", SETTING_RIGHT},
	{"may_revoke_role", false, NULL, false, NULL, "admin", SETTING_RIGHT},
	{"may_change_settings", false, NULL, false, NULL, "admin", SETTING_RIGHT},
};

#define N_GROUP_SETTINGS lengthof(group_settings)

/* Parse a numeric literal of the registry */
static Numeric
numeric_literal(const char *s)
{
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

/* Registry entry of a key, or NULL */
static const GroupSetting *
find_setting(const char *key, int len)
{
	for (int i = 0; i < (int) N_GROUP_SETTINGS; i++)
	{
		if ((int) strlen(group_settings[i].key) == len &&
			strncmp(group_settings[i].key, key, len) == 0)
			return &group_settings[i];
	}
	return NULL;
}

/* Comma-separated list of the known keys, for hints */
static char *
known_keys(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < (int) N_GROUP_SETTINGS; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", group_settings[i].key);
	return buf.data;
}

/* Check a boolean or right value against its registry entry */
static void
check_other_value(const GroupSetting *s, const JsonbValue *v)
{
	if (s->type == SETTING_BOOLEAN)
	{
		if (v->type != jbvBool)
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
					 errmsg("group setting \"%s\" must be true or false", s->key)));
		return;
	}
	if (v->type == jbvString && v->val.string.len == 8 &&
		strncmp(v->val.string.val, "proposal", 8) == 0)
	{
		for (int i = 0; i < (int) lengthof(proposal_actions); i++)
			if (strcmp(proposal_actions[i], s->key) == 0)
				return;
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("group setting \"%s\" cannot be \"proposal\"", s->key),
				 errdetail("No effect of a proposal takes this action."),
				 errhint("The right proposal is for: appoint_catalyst, end_catalyst_term, grant_role, revoke_role, change_settings, create_round, allocate, close_round, match_round, open_bucket, cancel_bucket.")));
	}
	if (v->type == jbvString)
	{
		for (int i = 0; i < (int) lengthof(rights); i++)
			if ((int) strlen(rights[i]) == v->val.string.len &&
				strncmp(rights[i], v->val.string.val, v->val.string.len) == 0)
				return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
			 errmsg("group setting \"%s\" must name a right", s->key),
			 errhint("Rights are: anyone, member, author, author_or_admin, admin, proposal.")));
}

/* The default of a setting as a JSON value */
static JsonbValue
default_value(const GroupSetting *s)
{
	JsonbValue	v;

	if (s->type == SETTING_BOOLEAN)
	{
		v.type = jbvBool;
		v.val.boolean = strcmp(s->dflt, "true") == 0;
	}
	else if (s->type == SETTING_RIGHT)
	{
		v.type = jbvString;
		v.val.string.val = (char *) s->dflt;
		v.val.string.len = strlen(s->dflt);
	}
	else
	{
		v.type = jbvNumeric;
		v.val.numeric = numeric_literal(s->dflt);
	}
	return v;
}

/*
 * The stored form of a checked value: a whole number without fraction
 * digits (6.0 is stored as 6, so readers can cast it to an integer), any
 * other number without trailing zeros.
 */
static Numeric
normalized_value(const GroupSetting *s, Numeric n)
{
	if (s->integral)
		return int64_to_numeric(DatumGetInt64(DirectFunctionCall1(numeric_int8,
																  NumericGetDatum(n))));
	return DatumGetNumeric(DirectFunctionCall1(numeric_trim_scale, NumericGetDatum(n)));
}

/* Check one numeric value against its registry entry; errors name the key */
static Numeric
check_setting_value(const GroupSetting *s, JsonbValue *v)
{
	Numeric		n;
	int			lowcmp;

	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("group setting \"%s\" must be a number", s->key)));
	n = v->val.numeric;
	if (numeric_is_nan(n) || numeric_is_inf(n))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("group setting \"%s\" must be a finite number", s->key)));
	if (s->integral &&
		enspiral_numeric_cmp(n, DatumGetNumeric(DirectFunctionCall1(numeric_floor,
															   NumericGetDatum(n)))) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("group setting \"%s\" must be a whole number", s->key)));
	lowcmp = enspiral_numeric_cmp(n, numeric_literal(s->lower));
	if (lowcmp < 0 || (s->lower_open && lowcmp == 0) ||
		enspiral_numeric_cmp(n, numeric_literal(s->upper)) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("group setting \"%s\" is out of range", s->key),
				 errdetail("The value must be %s %s and at most %s.",
						   s->lower_open ? "greater than" : "at least",
						   s->lower, s->upper)));
	return normalized_value(s, n);
}

/* Cross-key rules: a term cannot be longer than the whole service limit */
static void
check_setting_combination(JsonbValue const *jv)
{
	Numeric		values[3];

	/* indexes follow the registry order */
	for (int i = 0; i < 3; i++)
		values[i] = jv[i].val.numeric;
	if (enspiral_numeric_cmp(values[1], values[2]) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("group setting \"catalyst_term_months\" exceeds \"catalyst_max_months\""),
				 errdetail("A catalyst term of %s months cannot fit in a service limit of %s months.",
						   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(values[1]))),
						   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(values[2]))))));
}

/* Build the normalized settings object from the checked values */
static Jsonb *
build_settings(JsonbValue *values)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < (int) N_GROUP_SETTINGS; i++)
	{
		JsonbValue	k;

		k.type = jbvString;
		k.val.string.val = (char *) group_settings[i].key;
		k.val.string.len = strlen(group_settings[i].key);
		pushJsonbValue(&state, WJB_KEY, &k);
		pushJsonbValue(&state, WJB_VALUE, &values[i]);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/*
 * enspiral.normalize_group_settings(jsonb) RETURNS jsonb
 *	  Validate a settings object and return it with every default filled in.
 */
Datum
enspiral_normalize_group_settings(PG_FUNCTION_ARGS)
{
	Jsonb	   *in = PG_GETARG_JSONB_P(0);
	JsonbValue	values[N_GROUP_SETTINGS];
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (!JB_ROOT_IS_OBJECT(in) || JB_ROOT_IS_SCALAR(in))
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("group settings must be a JSON object")));
	for (int i = 0; i < (int) N_GROUP_SETTINGS; i++)
		values[i] = default_value(&group_settings[i]);

	it = JsonbIteratorInit(&in->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		const GroupSetting *s;

		if (tok != WJB_KEY)
			continue;
		s = find_setting(v.val.string.val, v.val.string.len);
		if (s == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
					 errmsg("unknown group setting \"%.*s\"",
							v.val.string.len, v.val.string.val),
					 errhint("Known settings are: %s.", known_keys())));
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		if (s->type == SETTING_NUMBER)
		{
			values[s - group_settings].type = jbvNumeric;
			values[s - group_settings].val.numeric = check_setting_value(s, &v);
		}
		else
		{
			check_other_value(s, &v);
			values[s - group_settings] = v;
		}
	}
	check_setting_combination(values);
	PG_RETURN_JSONB_P(build_settings(values));
}

/* Raise NS002 unless the group exists; call inside SPI_connect */
void
enspiral_require_group(int64 group_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(group_id)};

	enspiral_plan(&plan, "SELECT 1 FROM enspiral.groups WHERE group_id = $1",
				  1, argtypes);
	if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "group lookup failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_UNKNOWN_GROUP),
				 errmsg("group %lld does not exist", (long long) group_id)));
}

/* An integral group setting; call inside SPI_connect */
int64
enspiral_group_setting_int(int64 group_id, const char *key)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		args[2] = {Int64GetDatum(group_id), CStringGetTextDatum(key)};
	bool		isnull;
	Datum		d;

	enspiral_plan(&plan,
				  "SELECT (settings ->> $2)::bigint FROM enspiral.groups WHERE group_id = $1",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "group setting lookup failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_UNKNOWN_GROUP),
				 errmsg("group %lld does not exist", (long long) group_id)));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "group %lld has no setting \"%s\"", (long long) group_id, key);
	return DatumGetInt64(d);
}
