/*-------------------------------------------------------------------------
 *
 * alloc_cocm.c
 *	  Quadratic funding that resists fake accounts: connection-oriented
 *	  cluster matching (COCM), its blend with plain QF, per-contributor
 *	  trust weights, a minimum contribution and the exclusion of
 *	  self-funding.  See doc/matching.md.
 *
 * COCM follows Miller, Weyl and Erichsen, "Beyond Collusion Resistance"
 * (2022), in the variant Gitcoin's qf-calculator (fundingutils.py, COCM
 * with calcstyle 'markov' and harsh = True) runs in production:
 *
 *	W[i,g]	 strength of contributor i in cluster g (clusters derived from
 *			 who funds what: one cluster per project, strength = i's
 *			 counted amount to it; or given: strength 1 per membership)
 *	N[i,g] = W[i,g] / sum_g W[i,g]		(i's weight across its clusters)
 *	U[g,i] = W[i,g] / sum_i W[i,g]		(g's weight across its members)
 *	PJP	   = U N							(cluster to cluster, G x G)
 *	k[i,g] = 1 if i is in g, else (N PJP)[i,g]	(i's connection to g)
 *	P'[g,h] = sum_i N[i,h] (1 - k[i,g]) c_ip	(for one project p)
 *	COCM_p = sum_{g != h} sqrt(P'[g,h] P'[h,g])
 *
 * Contributors in no cluster are left out of COCM, as qf-calculator's
 * align() drops them.  The blend (qf-calculator's pct_cocm) mixes the two
 * normalised vectors: share_p = (1 - b) QF_p / sum QF + b COCM_p / sum
 * COCM; the ideal is share_p times (1 - b) sum QF + b sum COCM, so b = 0
 * is exactly QF and b = 1 exactly COCM.  The ideals then go through the
 * exact integer distribution of quadratic_match (qf_distribute).
 *
 * Cost.  With G clusters, n merged contributions, s_i the clusters of
 * contributor i and H_p the clusters touched by the donors of project p:
 * PJP is O(sum_i s_i^2) time and G^2 memory; project p costs
 * O(sum_{i donor of p} s_i |H_p| + |H_p|^2) time and |H_p|^2 memory.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/int.h"
#include "miscadmin.h"

#include "enspiral.h"
#include "alloc.h"

/* Most clusters a COCM round may have (PJP is G x G doubles: 800 MB) */
#define COCM_MAX_CLUSTERS 10000

/* One merged contribution: project, contributor, total, trust multiplier */
typedef struct CmEntry
{
	int64		project;
	int64		contributor;
	int64		amount;
	double		weight;			/* trust multiplier, in (0, 1] */
} CmEntry;

/*
 * By project, then contributor.  The comparators of every sort here check
 * for interrupts: the sorts are user-sized (500,000 entries take tens of
 * milliseconds), and a cancel must be answered within the sort too.
 */
static inline int
cmentry_cmp(const CmEntry *a, const CmEntry *b)
{
	CHECK_FOR_INTERRUPTS();
	if (a->project != b->project)
		return enspiral_int64_cmp(a->project, b->project);
	return enspiral_int64_cmp(a->contributor, b->contributor);
}

#define ST_SORT sort_cm_entries
#define ST_ELEMENT_TYPE CmEntry
#define ST_COMPARE(a, b) cmentry_cmp(a, b)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/* A (key, value) pair: an author of a project, a cluster membership */
typedef struct CmPair
{
	int64		key;
	int64		value;
} CmPair;

/* By key, then value (checks for interrupts) */
static inline int
cmpair_cmp(const CmPair *a, const CmPair *b)
{
	CHECK_FOR_INTERRUPTS();
	if (a->key != b->key)
		return enspiral_int64_cmp(a->key, b->key);
	return enspiral_int64_cmp(a->value, b->value);
}

/* The same without the interrupt check, for binary searches */
static inline int
cmpair_order(const CmPair *a, const CmPair *b)
{
	if (a->key != b->key)
		return enspiral_int64_cmp(a->key, b->key);
	return enspiral_int64_cmp(a->value, b->value);
}

#define ST_SORT sort_cm_pairs
#define ST_ELEMENT_TYPE CmPair
#define ST_COMPARE(a, b) cmpair_cmp(a, b)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/* A round after aggregation and filtering, grouped by project */
typedef struct CmRound
{
	CmEntry    *e;				/* m counted entries by (project, contributor) */
	int			m;
	int			nprojects;
	int64	   *projects;		/* every project of the input, ascending */
	int		   *pstart;			/* counted entries of project k: pstart[k].. */
} CmRound;

/* Allocate an array that may exceed MaxAllocSize (1 GB) */
static void *
cm_alloc(size_t count, size_t size)
{
	return MemoryContextAllocHuge(CurrentMemoryContext, Max(count, 1) * size);
}

/* Index of x in the ascending ids[0..n-1], or -1 */
static int
cm_find(const int64 *ids, int n, int64 x)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (ids[mid] == x)
			return mid;
		if (ids[mid] < x)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* Sort and deduplicate ids in place; returns the distinct count */
static int
cm_distinct(int64 *ids, int n)
{
	int			k = 0;

	enspiral_sort_int64(ids, n);
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (k == 0 || ids[k - 1] != ids[i])
			ids[k++] = ids[i];
	}
	return k;
}

/* Trust multiplier of a score: 0 below zero_below, 1 from full_at, linear */
double
enspiral_trust_multiplier(const EnspiralMatchOptions *opt, double score)
{
	double		w0 = opt->trust_weight_at_threshold;

	if (score < opt->trust_zero_below)
		return 0;
	if (score >= opt->trust_full_at)
		return 1;
	return w0 + (1 - w0) * (score - opt->trust_zero_below) /
		(opt->trust_full_at - opt->trust_zero_below);
}

/* The trust multiplier of a contributor (score 0 when it has none) */
static double
cm_trust(const EnspiralMatchOptions *opt, const CmPair *order, int64 who)
{
	int			lo = 0;
	int			hi = opt->ntrust - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (order[mid].key == who)
			return enspiral_trust_multiplier(opt, opt->trust_scores[order[mid].value]);
		if (order[mid].key < who)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return enspiral_trust_multiplier(opt, 0);
}

/* Whether (project, contributor) is in the sorted author pairs */
static bool
cm_is_author(const CmPair *authors, int n, int64 project, int64 contributor)
{
	CmPair		k = {project, contributor};
	int			lo = 0;
	int			hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = cmpair_order(&authors[mid], &k);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/* Sort, merge duplicate (project, contributor), list every project */
static void
cm_aggregate(CmEntry *e, int n, CmRound *r)
{
	int			m = 0;

	sort_cm_entries(e, n);
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (m > 0 && e[m - 1].project == e[i].project &&
			e[m - 1].contributor == e[i].contributor)
		{
			if (pg_add_s64_overflow(e[m - 1].amount, e[i].amount,
									&e[m - 1].amount))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("contributions of one contributor to one project overflow bigint"),
						 errdetail("Contributor " INT64_FORMAT ", project " INT64_FORMAT ".",
								   e[i].contributor, e[i].project)));
		}
		else
			e[m++] = e[i];
	}
	r->e = e;
	r->m = m;
	r->projects = cm_alloc(m, sizeof(int64));
	r->nprojects = 0;
	for (int i = 0; i < m; i++)
		if (i == 0 || e[i].project != e[i - 1].project)
			r->projects[r->nprojects++] = e[i].project;
}

/*
 * Drop what does not count: totals below min_contribution, an author's
 * contributions to their own project, contributors of trust 0; set each
 * kept entry's trust multiplier; group the rest by project.
 */
static void
cm_filter(CmRound *r, const EnspiralMatchOptions *opt)
{
	CmPair	   *authors = NULL;
	CmPair	   *trust = NULL;
	int			kept = 0;
	int			k = 0;

	if (opt->nauthors > 0)
	{
		authors = cm_alloc(opt->nauthors, sizeof(CmPair));
		for (int i = 0; i < opt->nauthors; i++)
		{
			authors[i].key = opt->author_projects[i];
			authors[i].value = opt->author_members[i];
		}
		sort_cm_pairs(authors, opt->nauthors);
	}
	if (opt->has_trust)
	{
		trust = cm_alloc(opt->ntrust, sizeof(CmPair));
		for (int i = 0; i < opt->ntrust; i++)
		{
			trust[i].key = opt->trust_members[i];
			trust[i].value = i;
		}
		sort_cm_pairs(trust, opt->ntrust);
	}
	for (int i = 0; i < r->m; i++)
	{
		CmEntry    *x = &r->e[i];

		CHECK_FOR_INTERRUPTS();
		if (x->amount < opt->min_contribution)
			continue;
		if (authors && cm_is_author(authors, opt->nauthors, x->project, x->contributor))
			continue;
		x->weight = trust ? cm_trust(opt, trust, x->contributor) : 1.0;
		if (!(x->weight > 0))
			continue;
		r->e[kept++] = *x;
	}
	r->m = kept;
	r->pstart = cm_alloc(r->nprojects + 1, sizeof(int));
	for (int i = 0; i < r->nprojects; i++)
	{
		while (k < kept && r->e[k].project < r->projects[i])
			k++;
		r->pstart[i] = k;
	}
	r->pstart[r->nprojects] = kept;
}

/*
 * Standard QF ideal, 2 * sum_{i<j} sqrt(c_i) sqrt(c_j) per project, with
 * c = amount * trust: sqrt(c) = sqrt(amount) * sqrt(trust), which is
 * exactly alloc_quadratic.c's sqrt(amount) when the trust is 1.
 */
static void
cm_ideal_qf(const CmRound *r, long double *ideal)
{
	for (int k = 0; k < r->nprojects; k++)
	{
		long double prefix = 0;
		long double sum = 0;

		CHECK_FOR_INTERRUPTS();
		for (int i = r->pstart[k]; i < r->pstart[k + 1]; i++)
		{
			long double s = sqrtl((long double) r->e[i].amount);

			if (r->e[i].weight != 1.0)
				s *= sqrtl((long double) r->e[i].weight);
			sum += s * prefix;
			prefix += s;
		}
		ideal[k] = 2 * sum;
	}
}

/* Cluster structure of a round: per contributor, its clusters and N */
typedef struct CmClusters
{
	int			nc;				/* contributors (dense, ascending ids) */
	int64	   *cids;
	int32	   *ecidx;			/* contributor index of each entry */
	int			G;				/* clusters */
	int		   *start;			/* clusters of contributor i: start[i].. */
	int32	   *cl;				/* cluster index */
	double	   *str;			/* strength W[i,g], then N[i,g] */
	double	   *ustr;			/* U[g,i] */
	double	   *pjp;			/* G x G, row-major */
} CmClusters;

/* Dense contributor index of every counted entry */
static void
cm_contributors(const CmRound *r, CmClusters *c)
{
	c->cids = cm_alloc(r->m, sizeof(int64));
	for (int i = 0; i < r->m; i++)
		c->cids[i] = r->e[i].contributor;
	c->nc = cm_distinct(c->cids, r->m);
	c->ecidx = cm_alloc(r->m, sizeof(int32));
	for (int i = 0; i < r->m; i++)
	{
		CHECK_FOR_INTERRUPTS();
		c->ecidx[i] = cm_find(c->cids, c->nc, r->e[i].contributor);
	}
}

/* Memberships as (contributor index, cluster index) pairs, strengths */
static int
cm_memberships(const CmRound *r, const EnspiralMatchOptions *opt,
			   CmClusters *c, CmPair **pairs, double **strength)
{
	int			np = 0;

	if (opt->nclusters < 0)
	{
		/* derived: one cluster per project, strength = counted amount */
		*pairs = cm_alloc(r->m, sizeof(CmPair));
		*strength = cm_alloc(r->m, sizeof(double));
		c->G = r->nprojects;
		for (int k = 0; k < r->nprojects; k++)
			for (int i = r->pstart[k]; i < r->pstart[k + 1]; i++)
			{
				(*pairs)[np].key = c->ecidx[i];
				(*pairs)[np].value = k;
				(*strength)[np++] = (double) r->e[i].amount * r->e[i].weight;
			}
		return np;
	}
	else
	{
		int64	   *gids = cm_alloc(opt->nclusters, sizeof(int64));

		memcpy(gids, opt->cluster_ids, sizeof(int64) * Max(opt->nclusters, 0));
		c->G = cm_distinct(gids, opt->nclusters);
		*pairs = cm_alloc(opt->nclusters, sizeof(CmPair));
		*strength = cm_alloc(opt->nclusters, sizeof(double));
		for (int i = 0; i < opt->nclusters; i++)
		{
			int			ci = cm_find(c->cids, c->nc, opt->cluster_members[i]);

			CHECK_FOR_INTERRUPTS();
			if (ci < 0)
				continue;		/* not a counted contributor */
			(*pairs)[np].key = ci;
			(*pairs)[np].value = cm_find(gids, c->G, opt->cluster_ids[i]);
			(*strength)[np++] = 1.0;
		}
		pfree(gids);
		/* a membership listed twice counts once */
		sort_cm_pairs(*pairs, np);
		{
			int			k = 0;

			for (int i = 0; i < np; i++)
				if (k == 0 || cmpair_cmp(&(*pairs)[k - 1], &(*pairs)[i]) != 0)
					(*pairs)[k++] = (*pairs)[i];
			np = k;
		}
		return np;
	}
}

/* N, U and PJP from the memberships (pairs sorted by contributor) */
static void
cm_cluster_matrices(CmClusters *c, const CmPair *pairs, const double *w, int np)
{
	double	   *csum;

	c->start = cm_alloc(c->nc + 1, sizeof(int));
	c->cl = cm_alloc(np, sizeof(int32));
	c->str = cm_alloc(np, sizeof(double));
	c->ustr = cm_alloc(np, sizeof(double));
	csum = cm_alloc(c->G, sizeof(double));
	memset(csum, 0, sizeof(double) * Max(c->G, 1));
	memset(c->start, 0, sizeof(int) * (c->nc + 1));
	for (int t = 0; t < np; t++)
	{
		c->start[pairs[t].key + 1]++;
		c->cl[t] = (int32) pairs[t].value;
		c->str[t] = w[t];
		csum[pairs[t].value] += w[t];
	}
	for (int i = 0; i < c->nc; i++)
		c->start[i + 1] += c->start[i];
	for (int i = 0; i < c->nc; i++)
	{
		double		tsum = 0;

		CHECK_FOR_INTERRUPTS();
		for (int t = c->start[i]; t < c->start[i + 1]; t++)
			tsum += c->str[t];
		for (int t = c->start[i]; t < c->start[i + 1]; t++)
		{
			c->ustr[t] = c->str[t] / csum[c->cl[t]];
			c->str[t] /= tsum;
		}
	}
	pfree(csum);
	c->pjp = cm_alloc((size_t) c->G * c->G, sizeof(double));
	memset(c->pjp, 0, sizeof(double) * Max((size_t) c->G * c->G, 1));
	for (int i = 0; i < c->nc; i++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int a = c->start[i]; a < c->start[i + 1]; a++)
		{
			double	   *row = c->pjp + (size_t) c->cl[a] * c->G;

			for (int b = c->start[i]; b < c->start[i + 1]; b++)
				row[c->cl[b]] += c->ustr[a] * c->str[b];
		}
	}
}

/* Per-project working space of COCM */
typedef struct CmProject
{
	int		   *loc;			/* local index of each cluster, or -1 */
	int32	   *hl;				/* clusters touched, in local order */
	int			H;
	double	   *v;				/* (1 - k[i,g]) c_ip over local g */
	double	   *sub;			/* PJP restricted to the local clusters, H x H */
	double	   *pt;				/* pt[h][g] = P'[g,h], H x H */
} CmProject;

/* One donor's terms: pt[h][*] += N[i,h] (1 - k[i,*]) c_ip, h in i's clusters */
static void
cm_donor(const CmClusters *c, CmProject *w, int ci, double amount)
{
	int			H = w->H;

	memset(w->v, 0, sizeof(double) * H);
	for (int a = c->start[ci]; a < c->start[ci + 1]; a++)
	{
		const double *row = w->sub + (size_t) w->loc[c->cl[a]] * H;
		double		n = c->str[a];

		for (int g = 0; g < H; g++)
			w->v[g] += n * row[g];
	}
	for (int g = 0; g < H; g++)
	{
		double		onek = 1 - w->v[g];

		w->v[g] = onek > 0 ? amount * onek : 0;
	}
	for (int a = c->start[ci]; a < c->start[ci + 1]; a++)
		w->v[w->loc[c->cl[a]]] = 0; /* k = 1 inside one's own clusters */
	for (int a = c->start[ci]; a < c->start[ci + 1]; a++)
	{
		double	   *row = w->pt + (size_t) w->loc[c->cl[a]] * H;
		double		n = c->str[a];

		for (int g = 0; g < H; g++)
			row[g] += n * w->v[g];
	}
}

/* COCM ideal of project k */
static long double
cm_project(const CmRound *r, const CmClusters *c, CmProject *w, int k)
{
	long double sum = 0;

	w->H = 0;
	for (int i = r->pstart[k]; i < r->pstart[k + 1]; i++)
	{
		int			ci = c->ecidx[i];

		for (int a = c->start[ci]; a < c->start[ci + 1]; a++)
			if (w->loc[c->cl[a]] < 0)
			{
				w->loc[c->cl[a]] = w->H;
				w->hl[w->H++] = c->cl[a];
			}
	}
	w->pt = cm_alloc((size_t) w->H * w->H, sizeof(double));
	memset(w->pt, 0, sizeof(double) * Max((size_t) w->H * w->H, 1));
	w->sub = cm_alloc((size_t) w->H * w->H, sizeof(double));
	for (int a = 0; a < w->H; a++)
	{
		const double *row = c->pjp + (size_t) w->hl[a] * c->G;

		CHECK_FOR_INTERRUPTS();
		for (int b = 0; b < w->H; b++)
			w->sub[(size_t) a * w->H + b] = row[w->hl[b]];
	}
	for (int i = r->pstart[k]; i < r->pstart[k + 1]; i++)
	{
		int			ci = c->ecidx[i];

		CHECK_FOR_INTERRUPTS();
		if (c->start[ci] == c->start[ci + 1])
			continue;			/* in no cluster: left out, as align() does */
		cm_donor(c, w, ci, (double) r->e[i].amount * r->e[i].weight);
	}
	for (int h = 0; h < w->H; h++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int g = h + 1; g < w->H; g++)
		{
			double		prod = w->pt[(size_t) h * w->H + g] * w->pt[(size_t) g * w->H + h];

			if (prod > 0)
				sum += sqrt(prod);
		}
	}
	for (int h = 0; h < w->H; h++)
		w->loc[w->hl[h]] = -1;
	pfree(w->sub);
	pfree(w->pt);
	return 2 * sum;
}

/* COCM ideal of every project */
static void
cm_ideal_cocm(const CmRound *r, const EnspiralMatchOptions *opt, long double *ideal)
{
	CmClusters	c;
	CmPair	   *pairs;
	double	   *strength;
	int			np;
	CmProject	w;

	cm_contributors(r, &c);
	np = cm_memberships(r, opt, &c, &pairs, &strength);
	if (c.G > COCM_MAX_CLUSTERS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many clusters for connection-oriented cluster matching"),
				 errdetail("There are %d clusters; the limit is %d.", c.G, COCM_MAX_CLUSTERS)));
	if (opt->nclusters < 0)
	{
		/* derived pairs come by project: order them by contributor */
		CmPair	   *tmp = cm_alloc(np, sizeof(CmPair));
		double	   *ts = cm_alloc(np, sizeof(double));
		CmPair	   *key = cm_alloc(np, sizeof(CmPair));

		for (int t = 0; t < np; t++)
		{
			key[t].key = ((int64) pairs[t].key << 32) | pairs[t].value;
			key[t].value = t;
		}
		sort_cm_pairs(key, np);
		for (int t = 0; t < np; t++)
		{
			tmp[t] = pairs[key[t].value];
			ts[t] = strength[key[t].value];
		}
		pfree(key);
		pfree(pairs);
		pfree(strength);
		pairs = tmp;
		strength = ts;
	}
	cm_cluster_matrices(&c, pairs, strength, np);
	w.loc = cm_alloc(c.G, sizeof(int));
	for (int g = 0; g < c.G; g++)
		w.loc[g] = -1;
	w.hl = cm_alloc(c.G, sizeof(int32));
	w.v = cm_alloc(c.G, sizeof(double));
	for (int k = 0; k < r->nprojects; k++)
		ideal[k] = cm_project(r, &c, &w, k);
}

/* Blend QF and COCM ideals (into qf) as qf-calculator's pct_cocm does */
static void
cm_blend(long double *qf, const long double *cocm, int n, double b)
{
	long double tq = 0;
	long double tc = 0;
	long double total;

	for (int k = 0; k < n; k++)
	{
		tq += qf[k];
		tc += cocm[k];
	}
	total = (1 - b) * tq + b * tc;
	for (int k = 0; k < n; k++)
	{
		long double share = 0;

		if (tq > 0)
			share += (1 - b) * qf[k] / tq;
		if (tc > 0)
			share += b * cocm[k] / tc;
		qf[k] = total * share;
	}
}

/* Refuse option combinations the method does not support */
static void
cm_check_options(EnspiralQfMethod method, const EnspiralMatchOptions *opt)
{
	if (method != ENSPIRAL_QF_STANDARD && (opt->pct_cocm > 0 || opt->has_trust))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("match options \"pct_cocm\" and \"trust_scores\" need method \"standard\""),
				 errhint("Use method \"standard\", or leave these options out.")));
}

/* Run the integer path of alloc_quadratic.c over the counted entries */
static void
cm_plain(const CmRound *r, int64 pool, bool has_cap, int64 cap,
		 EnspiralQfMethod method, double threshold, int64 *match)
{
	int64	   *p = cm_alloc(r->m, sizeof(int64));
	int64	   *c = cm_alloc(r->m, sizeof(int64));
	int64	   *a = cm_alloc(r->m, sizeof(int64));
	EnspiralMatch *rows;
	int			nrows;

	for (int i = 0; i < r->m; i++)
	{
		p[i] = r->e[i].project;
		c[i] = r->e[i].contributor;
		a[i] = r->e[i].amount;
	}
	nrows = enspiral_quadratic_match(pool, p, c, a, r->m, has_cap, cap,
									 method, threshold, &rows);
	memset(match, 0, sizeof(int64) * r->nprojects);
	for (int i = 0; i < nrows; i++)
	{
		CHECK_FOR_INTERRUPTS();
		match[cm_find(r->projects, r->nprojects, rows[i].project)] = rows[i].match;
	}
	pfree(p);
	pfree(c);
	pfree(a);
}

/*
 * Quadratic funding with options: the counted contributions (filters),
 * then plain QF (through enspiral_quadratic_match, so without pct_cocm and
 * trust it is exactly quadratic_match) or the QF/COCM blend over trusted
 * amounts.  One row per project of the input, by project.
 */
int
enspiral_match_with_options(int64 pool, const int64 *projects,
							const int64 *contributors, const int64 *amounts,
							int n, bool has_cap, int64 cap,
							EnspiralQfMethod method, double threshold,
							const EnspiralMatchOptions *opt,
							EnspiralMatch **result)
{
	CmEntry    *e;
	CmRound		r;
	int64	   *match;
	EnspiralMatch *out;

	if (enspiral_match_options_plain(opt))
		return enspiral_quadratic_match(pool, projects, contributors, amounts,
										n, has_cap, cap, method, threshold,
										result);
	enspiral_qf_check_args(pool, projects, contributors, amounts, n, has_cap,
						   cap, method, threshold);
	cm_check_options(method, opt);
	e = cm_alloc(n, sizeof(CmEntry));
	for (int i = 0; i < n; i++)
	{
		e[i].project = projects[i];
		e[i].contributor = contributors[i];
		e[i].amount = amounts[i];
		e[i].weight = 1.0;
	}
	cm_aggregate(e, n, &r);
	cm_filter(&r, opt);
	match = cm_alloc(r.nprojects, sizeof(int64));
	if (opt->pct_cocm == 0 && !opt->has_trust)
		cm_plain(&r, pool, has_cap, cap, method, threshold, match);
	else
	{
		void	   *chunk = cm_alloc(2 * (size_t) Max(r.nprojects, 1) + 1,
									 sizeof(long double));
		long double *qf = (long double *) TYPEALIGN(16, chunk);
		long double *cocm = qf + Max(r.nprojects, 1);

		cm_ideal_qf(&r, qf);
		if (opt->pct_cocm > 0)
		{
			cm_ideal_cocm(&r, opt, cocm);
			if (opt->pct_cocm == 1)
				memcpy(qf, cocm, sizeof(long double) * r.nprojects);
			else
				cm_blend(qf, cocm, r.nprojects, opt->pct_cocm);
		}
		enspiral_qf_distribute(pool, has_cap, cap, qf, r.nprojects, match);
		pfree(chunk);
	}
	out = cm_alloc(r.nprojects, sizeof(EnspiralMatch));
	for (int i = 0; i < r.nprojects; i++)
	{
		out[i].project = r.projects[i];
		out[i].match = match[i];
	}
	*result = out;
	return r.nprojects;
}
