/*-------------------------------------------------------------------------
 *
 * alloc_options.c
 *	  The options jsonb of quadratic_match and match_round: COCM blend,
 *	  clusters, minimum contribution, self-funding, trust scores.
 *
 * Keys (doc/matching.md): pct_cocm, clusters, min_contribution, authors
 * (quadratic_match only), exclude_self_funding (match_round only),
 * trust_scores, trust_zero_below, trust_full_at, trust_weight_at_threshold.
 * Every malformed option is refused with 22023 and the key in the message.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <math.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "enspiral.h"
#include "alloc.h"

/* Refuse an option value */
static void
bad_option(const char *key, const char *rule)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid match option"),
			 errdetail("Match option \"%s\" must be %s.", key, rule)));
}

/* A JSON number as a double (finite) */
static double
opt_double(const JsonbValue *v, const char *key, const char *rule)
{
	double		d;

	if (v->type != jbvNumeric || numeric_is_nan(v->val.numeric) ||
		numeric_is_inf(v->val.numeric))
		bad_option(key, rule);
	d = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
										   NumericGetDatum(v->val.numeric)));
	if (!isfinite(d))
		bad_option(key, rule);
	return d;
}

/* A JSON number that is a bigint */
static int64
opt_int64(const JsonbValue *v, const char *key, const char *rule)
{
	Numeric		n;
	Numeric		fl;
	int64		r;

	if (v->type != jbvNumeric || numeric_is_nan(v->val.numeric) ||
		numeric_is_inf(v->val.numeric))
		bad_option(key, rule);
	n = v->val.numeric;
	fl = DatumGetNumeric(DirectFunctionCall1(numeric_floor, NumericGetDatum(n)));
	if (enspiral_numeric_cmp(n, fl) != 0)
		bad_option(key, rule);
	if (enspiral_numeric_cmp(n, int64_to_numeric(PG_INT64_MIN)) < 0 ||
		enspiral_numeric_cmp(n, int64_to_numeric(PG_INT64_MAX)) > 0)
		bad_option(key, rule);
	r = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(n)));
	return r;
}

/* An object key that is a bigint (a contributor or a project id) */
static int64
opt_key_int64(const JsonbValue *k, const char *key)
{
	char	   *s = pnstrdup(k->val.string.val, k->val.string.len);
	char	   *end;
	long long	r;

	errno = 0;
	r = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0)
		bad_option(key, "an object whose keys are bigint ids");
	pfree(s);
	return (int64) r;
}

/* Growable parallel arrays of (id, id or score) */
typedef struct OptPairs
{
	int			n;
	int			cap;
	int64	   *a;
	int64	   *b;
	double	   *d;
} OptPairs;

/* Append one pair */
static void
opt_push(OptPairs *p, int64 a, int64 b, double d)
{
	if (p->n == p->cap)
	{
		p->cap = Max(16, p->cap * 2);
		p->a = p->a ? repalloc_huge(p->a, sizeof(int64) * p->cap) :
			palloc(sizeof(int64) * p->cap);
		p->b = p->b ? repalloc_huge(p->b, sizeof(int64) * p->cap) :
			palloc(sizeof(int64) * p->cap);
		p->d = p->d ? repalloc_huge(p->d, sizeof(double) * p->cap) :
			palloc(sizeof(double) * p->cap);
	}
	p->a[p->n] = a;
	p->b[p->n] = b;
	p->d[p->n] = d;
	p->n++;
}

/* The (key, value) pairs of an object option, values read by kind */
static void
opt_object(const JsonbValue *v, const char *key, char kind, OptPairs *out)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	x;
	JsonbIteratorToken tok;
	const char *rule = kind == 'c' ? "an object mapping contributor ids to arrays of cluster ids" :
		kind == 'a' ? "an object mapping project ids to author ids" :
		"an object mapping contributor ids to scores";

	memset(out, 0, sizeof(*out));
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		bad_option(key, rule);
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		int64		id;

		CHECK_FOR_INTERRUPTS();
		if (tok != WJB_KEY)
			continue;
		id = opt_key_int64(&k, key);
		tok = JsonbIteratorNext(&it, &x, true);
		if (kind == 'a')
			opt_push(out, id, opt_int64(&x, key, rule), 0);
		else if (kind == 's')
			opt_push(out, id, 0, opt_double(&x, key, rule));
		else
		{
			JsonbIterator *ait;
			JsonbValue	e;

			if (x.type != jbvBinary || !JsonContainerIsArray(x.val.binary.data))
				bad_option(key, rule);
			ait = JsonbIteratorInit(x.val.binary.data);
			while ((tok = JsonbIteratorNext(&ait, &e, true)) != WJB_DONE)
				if (tok == WJB_ELEM)
					opt_push(out, id, opt_int64(&e, key, rule), 0);
		}
	}
}

/* Defaults: plain QF, every contribution counted */
static void
opt_defaults(EnspiralMatchOptions *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->nclusters = -1;
	opt->trust_weight_at_threshold = 0.5;
}

/* Store one top-level option */
static void
opt_set(EnspiralMatchOptions *opt, const char *key, const JsonbValue *v,
		bool for_round, bool *zero_given, bool *full_given)
{
	OptPairs	p;

	if (strcmp(key, "pct_cocm") == 0)
	{
		opt->pct_cocm = opt_double(v, key, "a number from 0 to 1");
		if (opt->pct_cocm < 0 || opt->pct_cocm > 1)
			bad_option(key, "a number from 0 to 1");
	}
	else if (strcmp(key, "clusters") == 0)
	{
		opt_object(v, key, 'c', &p);
		opt->nclusters = p.n;
		opt->cluster_members = p.a;
		opt->cluster_ids = p.b;
	}
	else if (strcmp(key, "min_contribution") == 0)
	{
		opt->min_contribution = opt_int64(v, key, "a bigint of at least 0");
		if (opt->min_contribution < 0)
			bad_option(key, "a bigint of at least 0");
	}
	else if (strcmp(key, "authors") == 0 && !for_round)
	{
		opt_object(v, key, 'a', &p);
		opt->nauthors = p.n;
		opt->author_projects = p.a;
		opt->author_members = p.b;
	}
	else if (strcmp(key, "exclude_self_funding") == 0 && for_round)
	{
		if (v->type != jbvBool)
			bad_option(key, "a boolean");
		opt->exclude_self_funding = v->val.boolean;
	}
	else if (strcmp(key, "trust_scores") == 0)
	{
		opt_object(v, key, 's', &p);
		opt->has_trust = true;
		opt->ntrust = p.n;
		opt->trust_members = p.a;
		opt->trust_scores = p.d;
	}
	else if (strcmp(key, "trust_zero_below") == 0)
	{
		opt->trust_zero_below = opt_double(v, key, "a number");
		*zero_given = true;
	}
	else if (strcmp(key, "trust_full_at") == 0)
	{
		opt->trust_full_at = opt_double(v, key, "a number");
		*full_given = true;
	}
	else if (strcmp(key, "trust_weight_at_threshold") == 0)
	{
		opt->trust_weight_at_threshold = opt_double(v, key, "a number from 0 to 1");
		if (opt->trust_weight_at_threshold < 0 || opt->trust_weight_at_threshold > 1)
			bad_option(key, "a number from 0 to 1");
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown match option"),
				 errdetail("The option given is \"%s\".", key),
				 errhint(for_round ?
						 "match_round takes pct_cocm, clusters, min_contribution, exclude_self_funding, trust_scores, trust_zero_below, trust_full_at and trust_weight_at_threshold." :
						 "quadratic_match takes pct_cocm, clusters, min_contribution, authors, trust_scores, trust_zero_below, trust_full_at and trust_weight_at_threshold.")));
}

/* The trust thresholds come with the scores, in order */
static void
opt_check_trust(const EnspiralMatchOptions *opt, bool zero_given, bool full_given)
{
	if (!opt->has_trust && (zero_given || full_given))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("match options \"trust_zero_below\" and \"trust_full_at\" need \"trust_scores\"")));
	if (opt->has_trust && !(zero_given && full_given))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("match option \"trust_scores\" needs \"trust_zero_below\" and \"trust_full_at\"")));
	if (opt->has_trust && opt->trust_full_at < opt->trust_zero_below)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("match option \"trust_full_at\" is below \"trust_zero_below\""),
				 errdetail("The trust_full_at is %g and trust_zero_below is %g.",
						   opt->trust_full_at, opt->trust_zero_below)));
}

/*
 * Parse the options jsonb (NULL or {} is plain QF).  for_round selects the
 * keys of match_round (exclude_self_funding) or of quadratic_match
 * (authors).
 */
void
enspiral_match_options_parse(Datum options, bool isnull, bool for_round,
							 EnspiralMatchOptions *opt)
{
	Jsonb	   *jb;
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		zero_given = false;
	bool		full_given = false;

	opt_defaults(opt);
	if (isnull)
		return;
	jb = DatumGetJsonbP(options);
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("match options must be a JSON object")));
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		opt_set(opt, key, &v, for_round, &zero_given, &full_given);
	}
	opt_check_trust(opt, zero_given, full_given);
}

/* Whether the options leave quadratic_match exactly as in 0.1.0 */
bool
enspiral_match_options_plain(const EnspiralMatchOptions *opt)
{
	return opt->pct_cocm == 0 && !opt->has_trust &&
		opt->min_contribution == 0 && opt->nauthors == 0;
}
