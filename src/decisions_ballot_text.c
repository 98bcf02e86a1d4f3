/*-------------------------------------------------------------------------
 *
 * decisions_ballot_text.c
 *	  Ballots given as text: the text overloads of enspiral.vote() and
 *	  enspiral.check_ballot() parse the JSON themselves, so that a ballot
 *	  that is not JSON at all ('agree' instead of '"agree"') is refused with
 *	  NS415 and the COLUMN field "ballot" instead of jsonb's raw 22P02.
 *
 * An untyped literal resolves to the text overload (PostgreSQL prefers the
 * string category for unknown arguments), so every 0.1.0 call with a quoted
 * ballot reaches this file and then the jsonb function, unchanged: the text
 * is checked with the JSON parser (which reports an error instead of
 * raising it), converted with jsonb_in, and handed on in the same call
 * frame.  A ballot typed jsonb goes straight to the jsonb function.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/jsonapi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "enspiral.h"

PG_FUNCTION_INFO_V1(enspiral_vote_text);
PG_FUNCTION_INFO_V1(enspiral_check_ballot_text);

extern PGDLLEXPORT Datum enspiral_vote(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum enspiral_check_ballot(PG_FUNCTION_ARGS);

/*
 * Call fn with the arguments of fcinfo, text argument argno replaced by its
 * jsonb value (or NS415).  The caller's argument array is left as it is:
 * the executor may keep constant arguments there from one call to the next.
 */
static Datum
call_with_jsonb_ballot(FunctionCallInfo fcinfo, int argno, PGFunction fn)
{
	LOCAL_FCINFO(inner, FUNC_MAX_ARGS);
	Datum		result;

	InitFunctionCallInfoData(*inner, fcinfo->flinfo, PG_NARGS(),
							 fcinfo->fncollation, fcinfo->context, fcinfo->resultinfo);
	for (int i = 0; i < PG_NARGS(); i++)
		inner->args[i] = fcinfo->args[i];
	if (!PG_ARGISNULL(argno))
	{
		char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(argno));
		JsonLexContext *lex = makeJsonLexContextCstringLen(s, strlen(s),
														   GetDatabaseEncoding(), true);
		JsonParseErrorType res = pg_parse_json(lex, &nullSemAction);

		if (res != JSON_SUCCESS)
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_MALFORMED_BALLOT),
					 errmsg("ballot is not valid JSON"),
					 errdetail("%s", json_errdetail(res, lex)),
					 errhint("A ballot is a JSON value: a text answer is quoted, as in '\"agree\"'."),
					 err_generic_string(PG_DIAG_COLUMN_NAME, "ballot")));
		inner->args[argno].value = DirectFunctionCall1(jsonb_in, CStringGetDatum(s));
	}
	result = fn(inner);
	fcinfo->isnull = inner->isnull;
	return result;
}

/*
 * enspiral.vote(proposal_id bigint, member_id bigint, ballot text,
 *				 reason text DEFAULT NULL) RETURNS bigint
 *	  enspiral.vote() with the ballot parsed here.
 */
Datum
enspiral_vote_text(PG_FUNCTION_ARGS)
{
	return call_with_jsonb_ballot(fcinfo, 2, enspiral_vote);
}

/*
 * enspiral.check_ballot(method text, options text[], settings jsonb,
 *						 ballot text, reason text DEFAULT NULL) RETURNS jsonb
 *	  enspiral.check_ballot() with the ballot parsed here.
 */
Datum
enspiral_check_ballot_text(PG_FUNCTION_ARGS)
{
	return call_with_jsonb_ballot(fcinfo, 3, enspiral_check_ballot);
}
