/*-------------------------------------------------------------------------
 *
 * core_errors.c
 *	  The one "does not exist" error of each object, raised from C.
 *
 * The SQL functions raise the same errors through enspiral.raise_not_found(),
 * which calls enspiral_not_found(): one place for the words of each.  One
 * literal message per object (no message is assembled from pieces); the
 * ids are in the detail.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "enspiral.h"

PG_FUNCTION_INFO_V1(enspiral_raise_not_found);

/* Raise the "does not exist" error of object id (group_id 0: not known) */
void
enspiral_not_found(EnspiralObject object, int64 group_id, int64 id)
{
	switch (object)
	{
		case ENSPIRAL_GROUP:
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_UNKNOWN_GROUP),
					 errmsg("group does not exist"),
					 errdetail("No group has id %lld.", (long long) group_id)));
			break;
		case ENSPIRAL_MEMBER:
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_UNKNOWN_MEMBER),
					 errmsg("member does not exist"),
					 errdetail("Group %lld has no member with id %lld.",
							   (long long) group_id, (long long) id)));
			break;
		case ENSPIRAL_PROPOSAL:
			if (group_id == 0)
				ereport(ERROR,
						(errcode(ERRCODE_ENSPIRAL_UNKNOWN_PROPOSAL),
						 errmsg("proposal does not exist"),
						 errdetail("No proposal has id %lld.", (long long) id)));
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_UNKNOWN_PROPOSAL),
					 errmsg("proposal does not exist"),
					 errdetail("Group %lld has no proposal with id %lld.",
							   (long long) group_id, (long long) id)));
			break;
		case ENSPIRAL_ROUND:
			if (group_id == 0)
				ereport(ERROR,
						(errcode(ERRCODE_ENSPIRAL_UNKNOWN_ROUND),
						 errmsg("round does not exist"),
						 errdetail("No round has id %lld.", (long long) id)));
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_UNKNOWN_ROUND),
					 errmsg("round does not exist"),
					 errdetail("Group %lld has no round with id %lld.",
							   (long long) group_id, (long long) id)));
			break;
		case ENSPIRAL_BUCKET:
			if (group_id == 0)
				ereport(ERROR,
						(errcode(ERRCODE_ENSPIRAL_UNKNOWN_BUCKET),
						 errmsg("bucket does not exist"),
						 errdetail("No bucket has id %lld.", (long long) id)));
			ereport(ERROR,
					(errcode(ERRCODE_ENSPIRAL_UNKNOWN_BUCKET),
					 errmsg("bucket does not exist"),
					 errdetail("Group %lld has no bucket with id %lld.",
							   (long long) group_id, (long long) id)));
			break;
	}
	pg_unreachable();
}

/*
 * enspiral.raise_not_found(group_id, object, id) RETURNS void: the same
 * error for the SQL functions (group_id NULL: not known).
 */
Datum
enspiral_raise_not_found(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"group", "member", "proposal", "round", "bucket"};
	int64		group_id = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT64(0);
	int64		id = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);
	char	   *object;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("object must not be NULL")));
	object = text_to_cstring(PG_GETARG_TEXT_PP(1));
	for (int i = 0; i < lengthof(names); i++)
		if (strcmp(object, names[i]) == 0)
			enspiral_not_found((EnspiralObject) i, group_id, id);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown object kind"),
			 errdetail("The object given is \"%s\".", object),
			 errhint("The objects are group, member, proposal, round and bucket.")));
	PG_RETURN_VOID();
}
