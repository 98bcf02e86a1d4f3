/*-------------------------------------------------------------------------
 *
 * alloc.h
 *	  Allocation math shared by the SQL functions and by other parts of the
 *	  extension: exact largest-remainder apportionment and quadratic funding.
 *
 * Every function here raises the same errors (SQLSTATE and message) as its
 * SQL counterpart; see doc/allocation.md.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENSPIRAL_ALLOC_H
#define ENSPIRAL_ALLOC_H

#include "postgres.h"

#include "utils/numeric.h"

/* Quadratic funding methods */
typedef enum EnspiralQfMethod
{
	ENSPIRAL_QF_STANDARD,
	ENSPIRAL_QF_PAIRWISE
} EnspiralQfMethod;

/* One row of a quadratic funding result */
typedef struct EnspiralMatch
{
	int64		project;
	int64		match;
} EnspiralMatch;

/*
 * Options of quadratic funding that resists fake accounts (alloc_cocm.c,
 * parsed from jsonb by alloc_options.c; doc/matching.md).
 */
typedef struct EnspiralMatchOptions
{
	double		pct_cocm;		/* blend: 0 = QF, 1 = COCM */
	int			nclusters;		/* membership pairs; -1: one per project */
	int64	   *cluster_members;
	int64	   *cluster_ids;
	int64		min_contribution;	/* a smaller total does not count */
	int			nauthors;		/* (project, author) pairs excluded */
	int64	   *author_projects;
	int64	   *author_members;
	bool		exclude_self_funding;	/* match_round: authors from buckets */
	bool		has_trust;
	int			ntrust;
	int64	   *trust_members;
	double	   *trust_scores;
	double		trust_zero_below;
	double		trust_full_at;
	double		trust_weight_at_threshold;
} EnspiralMatchOptions;

/* alloc_apportion.c */
extern void enspiral_apportion_int64(int64 total, const int64 *weights, int n,
									 int64 *shares);
extern void enspiral_apportion_numeric(int64 total, Numeric *weights, int n,
									   int64 *shares);

/* alloc_ldouble.c */
extern void enspiral_format_long_double(char *buf, size_t len, int digits,
										long double v);

/* alloc_quadratic.c */
extern int	enspiral_quadratic_match(int64 pool, const int64 *projects,
									 const int64 *contributors,
									 const int64 *amounts, int n,
									 bool has_cap, int64 cap,
									 EnspiralQfMethod method, double threshold,
									 EnspiralMatch **result);

extern void enspiral_qf_check_args(int64 pool, const int64 *projects,
								   const int64 *contributors,
								   const int64 *amounts, int n, bool has_cap,
								   int64 cap, EnspiralQfMethod method,
								   double threshold);
extern double enspiral_qf_threshold(Numeric t);
extern void enspiral_qf_distribute(int64 pool, bool has_cap, int64 cap,
								   const long double *ideal, int n,
								   int64 *match);

/* alloc_cocm.c */
extern double enspiral_trust_multiplier(const EnspiralMatchOptions *opt,
										double score);
extern int	enspiral_match_with_options(int64 pool, const int64 *projects,
										const int64 *contributors,
										const int64 *amounts, int n,
										bool has_cap, int64 cap,
										EnspiralQfMethod method,
										double threshold,
										const EnspiralMatchOptions *opt,
										EnspiralMatch **result);

/* alloc_options.c */
extern void enspiral_match_options_parse(Datum options, bool isnull,
										 bool for_round,
										 EnspiralMatchOptions *opt);
extern bool enspiral_match_options_plain(const EnspiralMatchOptions *opt);

#endif							/* ENSPIRAL_ALLOC_H */
