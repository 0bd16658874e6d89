/*
 * strutil.h - number and pattern conversions with Redis's exact rules.
 *
 * Redis accepts an integer only in canonical form: optional '-', no '+', no
 * leading zeros (except "0" itself), no spaces, within the range; "-0" is not
 * an integer. Values that pass strutil_to_ll() and have at most 20 bytes are
 * what Redis stores with the "int" encoding.
 */
#ifndef STRATA_STRUTIL_H
#define STRATA_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Strict signed 64-bit parse (Redis string2ll). */
bool strutil_to_ll(const char *s, size_t len, long long *out);
/* Unsigned 64-bit parse with Redis string2ull's rules: the canonical form
 * above if not negative, else what strtoull(3) base 10 takes over the whole
 * string (leading spaces, a sign, leading zeros; '-' negates mod 2^64),
 * rejecting overflow. */
bool strutil_to_ull(const char *s, size_t len, unsigned long long *out);
/* Decimal text of v into buf (cap >= 21); returns the length (no NUL
 * counted, one written if room). */
int strutil_ll_to_str(char *buf, size_t cap, long long v);
/* Long double parse for INCRBYFLOAT (Redis string2ld): no spaces, no empty,
 * rejects "nan"; returns false on error or overflow. */
bool strutil_to_ld(const char *s, size_t len, long double *out);
/* Double parse (Redis string2d): whole string consumed, no spaces, "inf"
 * and "-inf" accepted, nan rejected. */
bool strutil_to_d(const char *s, size_t len, double *out);
/* Formats an INCRBYFLOAT result as Redis does ("%.17Lf" with trailing zeros
 * and a trailing '.' removed); returns the length; buf holds >= 5120 bytes. */
int strutil_ld_to_str(char *buf, size_t cap, long double v);

/* Glob match with Redis stringmatchlen semantics: * ? [abc] [^a] [a-z] and
 * \ escapes; nocase folds ASCII case. As in Redis, an empty string matches
 * only an empty pattern ("*" does not match ""). */
bool strutil_glob_match(const char *pat, size_t plen, const char *str, size_t slen, bool nocase);

/* ASCII case-insensitive equality of s[0..len) and the NUL-terminated lit. */
bool strutil_eq_nocase(const char *s, size_t len, const char *lit);

#endif
