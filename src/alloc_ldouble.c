/*-------------------------------------------------------------------------
 *
 * alloc_ldouble.c
 *	  Decimal text of a long double, for turning quadratic funding ideals
 *	  into numerics.
 *
 * PostgreSQL replaces snprintf with its own implementation, which has no
 * long double conversions; this file uses the C library's, which rounds the
 * binary value correctly to the requested number of decimal digits.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "alloc.h"

#undef snprintf

/* v in scientific notation with digits significant digits, into buf */
void
enspiral_format_long_double(char *buf, size_t len, int digits, long double v)
{
	int			n = snprintf(buf, len, "%.*Le", digits - 1, v);

	if (n < 0 || (size_t) n >= len)
		elog(ERROR, "could not format long double value");
}
