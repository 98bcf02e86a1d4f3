/*-------------------------------------------------------------------------
 *
 * base_groups.c
 *	  Group settings: the function that validates a settings document
 *	  against the settings registry (src/settings.txt, src/core_settings.c) and
 *	  fills in the defaults; group lookups shared by the C code.
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
#include "settings.h"

PG_FUNCTION_INFO_V1(enspiral_normalize_group_settings);

/* Cross-key rules: a term cannot be longer than the whole service limit */
static void
check_setting_combination(JsonbValue const *values)
{
	Numeric		term = values[settings_index(settings_get(SETTINGS_GROUP, "catalyst_term_months"))].val.numeric;
	Numeric		limit = values[settings_index(settings_get(SETTINGS_GROUP, "catalyst_max_months"))].val.numeric;

	if (enspiral_numeric_cmp(term, limit) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_INVALID_SETTING),
				 errmsg("setting \"catalyst_term_months\" exceeds \"catalyst_max_months\""),
				 errdetail("A catalyst term of %s months cannot fit in a service limit of %s months.",
						   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(term))),
						   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(limit)))),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "catalyst_term_months")));
}

/*
 * enspiral.normalize_group_settings(jsonb) RETURNS jsonb
 *	  Validate a settings object against the registry (src/settings.txt)
 *	  and return it with every default filled in.
 */
Datum
enspiral_normalize_group_settings(PG_FUNCTION_ARGS)
{
	JsonbValue *values = palloc(sizeof(JsonbValue) * settings_count());
	Jsonb	   *out = settings_normalize(SETTINGS_GROUP, PG_GETARG_JSONB_P(0),
										 "Group settings are: %s.", values);

	check_setting_combination(values);
	PG_RETURN_JSONB_P(out);
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
		enspiral_not_found(ENSPIRAL_GROUP, group_id, 0);
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
		enspiral_not_found(ENSPIRAL_GROUP, group_id, 0);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "group %lld has no setting \"%s\"", (long long) group_id, key);
	return DatumGetInt64(d);
}
