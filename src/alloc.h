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

/* apportion.c */
extern void enspiral_apportion_int64(int64 total, const int64 *weights, int n,
									 int64 *shares);
extern void enspiral_apportion_numeric(int64 total, Numeric *weights, int n,
									   int64 *shares);

/* alloc_ldouble.c */
extern void enspiral_format_long_double(char *buf, size_t len, int digits,
										long double v);

/* quadratic.c */
extern int	enspiral_quadratic_match(int64 pool, const int64 *projects,
									 const int64 *contributors,
									 const int64 *amounts, int n,
									 bool has_cap, int64 cap,
									 EnspiralQfMethod method, double threshold,
									 EnspiralMatch **result);

#endif							/* ENSPIRAL_ALLOC_H */
