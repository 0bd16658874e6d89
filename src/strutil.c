/*
 * strutil.c - number parsing and formatting, and glob matching, with the
 * exact acceptance rules of Redis 7.0.
 *
 * Integers. strutil_to_ll() accepts only the canonical decimal form, so a
 * value that parses prints back to the same bytes: that is what lets a string
 * be stored as an integer without changing what GET returns. strutil_to_ull()
 * is Redis's string2ull: the canonical form if it is a non-negative long long,
 * otherwise whatever strtoull(3) in base 10 accepts over the whole string
 * (leading white space, a sign, leading zeros; a '-' negates modulo 2^64)
 * unless it overflows. Both are written out here rather than calling the C
 * library so they need no NUL terminator.
 *
 * Floating point. strutil_to_ld() and strutil_to_d() copy the bytes to a
 * NUL-terminated buffer and call strtold(3)/strtod(3) (they must run in the C
 * numeric locale, which the server never changes). They reject an empty
 * string, a leading space, trailing bytes (also an embedded NUL), NaN, and a
 * result the C library flags as out of range when it came back as infinity or
 * zero; an out-of-range subnormal is kept. "inf" spelled out is accepted, as
 * Redis does. The long double parse is capped below STRUTIL_LD_MAX bytes like
 * Redis's MAX_LONG_DOUBLE_CHARS; the double parse has no cap.
 *
 * INCRBYFLOAT output is "%.17Lf" with trailing zeros and a bare trailing '.'
 * removed, and "-0" printed as "0". Seventeen decimals of an x87 80-bit long
 * double round most short decimal inputs back to what the user typed
 * (10.5 + 0.1 prints "10.6").
 *
 * Glob. Same language as Redis's stringmatchlen(): '*' any run, '?' any byte,
 * '[...]' a set with 'a-z' ranges (ends in either order), '^' to negate, and
 * '\' escaping the next byte both outside and inside sets; a set with no ']'
 * runs to the end of the pattern. Redis quirks kept on purpose: an empty
 * string matches only the empty pattern (so "*" does not match "": callers
 * such as KEYS special-case a lone "*" as Redis does), an escaped byte inside
 * a set compares case-sensitively even with nocase, nocase folds a range's
 * ends after ordering them, and a pattern whose match goes through more than
 * 1000 '*' groups fails. One deliberate difference: range ends and the
 * subject byte compare as unsigned bytes, where Redis on x86 compares them as
 * signed chars (ranges reaching past 0x7f are meaningless there).
 *
 * Every non-'*' element of a pattern consumes exactly one byte, so a match
 * can only need to backtrack to the most recent '*': the matcher below keeps
 * that one resume point and runs in O(pattern * string) time without
 * recursion.
 */
#include "strutil.h"
#include "mem.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest accepted long double text plus one; also the INCRBYFLOAT output
 * buffer size callers provide (Redis's MAX_LONG_DOUBLE_CHARS). */
#define STRUTIL_LD_MAX 5120
/* Most '*' groups a glob match may pass through. */
#define STRUTIL_GLOB_MAX_STARS 1000

/* The C locale's isspace(), without locale or sign-extension pitfalls. */
static inline bool is_c_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline unsigned char fold_ascii(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/*
 * Canonical magnitude: a digit 1-9 then digits, all of s[0..len), no
 * overflow of 64 bits.
 */
static bool parse_canonical_digits(const char *s, size_t len, unsigned long long *out)
{
	unsigned long long v;

	if (len == 0 || s[0] < '1' || s[0] > '9')
		return false;
	v = (unsigned long long)(s[0] - '0');
	for (size_t i = 1; i < len; i++) {
		unsigned d;

		if (!is_digit(s[i]))
			return false;
		d = (unsigned)(s[i] - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool strutil_to_ll(const char *s, size_t len, long long *out)
{
	unsigned long long v;
	bool neg = false;

	if (len == 0)
		return false;
	if (len == 1 && s[0] == '0') {
		if (out)
			*out = 0;
		return true;
	}
	if (s[0] == '-') {
		neg = true;
		s++;
		len--;
	}
	if (!parse_canonical_digits(s, len, &v))
		return false;
	if (neg) {
		/* The magnitude of LLONG_MIN is LLONG_MAX + 1. */
		if (v > (unsigned long long)LLONG_MAX + 1)
			return false;
		if (out)
			*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
	} else {
		if (v > (unsigned long long)LLONG_MAX)
			return false;
		if (out)
			*out = (long long)v;
	}
	return true;
}

bool strutil_to_ull(const char *s, size_t len, unsigned long long *out)
{
	unsigned long long v = 0;
	long long ll;
	bool neg = false, any = false;
	size_t i = 0;

	if (strutil_to_ll(s, len, &ll)) {
		if (ll < 0)
			return false;
		if (out)
			*out = (unsigned long long)ll;
		return true;
	}
	/* strtoull(3) rules, base 10, whole string. */
	while (i < len && is_c_space(s[i]))
		i++;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	for (; i < len && is_digit(s[i]); i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		any = true;
	}
	if (!any || i != len)
		return false;
	if (out)
		*out = neg ? 0 - v : v;
	return true;
}

int strutil_ll_to_str(char *buf, size_t cap, long long v)
{
	char tmp[24];
	char *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
	size_t n;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	n = (size_t)(tmp + sizeof(tmp) - p);
	if (n > cap) {
		if (cap)
			buf[0] = '\0';
		return 0;
	}
	memcpy(buf, p, n);
	if (n < cap)
		buf[n] = '\0';
	return (int)n;
}

/* The checks string2ld and string2d share, on a NUL-terminated copy. */
static bool float_parse_ok(const char *buf, size_t len, const char *end, int err, long double v)
{
	if (is_c_space(buf[0]) || end != buf + len || isnan(v))
		return false;
	if (err == ERANGE && (isinf(v) || v == 0))
		return false;
	return err != EINVAL;
}

bool strutil_to_ld(const char *s, size_t len, long double *out)
{
	char buf[STRUTIL_LD_MAX];
	char *end;
	long double v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtold(buf, &end);
	if (!float_parse_ok(buf, len, end, errno, v))
		return false;
	if (out)
		*out = v;
	return true;
}

bool strutil_to_d(const char *s, size_t len, double *out)
{
	char small[128];
	char *buf = small, *end;
	double v;
	bool ok;

	if (len == 0)
		return false;
	if (len >= sizeof(small))
		buf = mem_alloc(len + 1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtod(buf, &end);
	ok = float_parse_ok(buf, len, end, errno, v);
	if (buf != small)
		mem_free(buf);
	if (ok && out)
		*out = v;
	return ok;
}

int strutil_ld_to_str(char *buf, size_t cap, long double v)
{
	const char *fixed = NULL;
	int n;

	if (isinf(v))
		fixed = v > 0 ? "inf" : "-inf";
	else if (isnan(v))
		fixed = "nan";
	if (fixed) {
		size_t fl = strlen(fixed);

		if (fl + 1 > cap)
			goto out_no_room;
		memcpy(buf, fixed, fl + 1);
		return (int)fl;
	}
	n = snprintf(buf, cap, "%.17Lf", v);
	if (n < 0 || (size_t)n + 1 > cap)
		goto out_no_room;
	/* "%.17Lf" always prints a '.': drop zeros after it, then the dot. */
	while (buf[n - 1] == '0')
		n--;
	if (buf[n - 1] == '.')
		n--;
	/* A tiny negative, or -0, rounds to "-0"; Redis prints "0". */
	if (n == 2 && buf[0] == '-' && buf[1] == '0') {
		buf[0] = '0';
		n = 1;
	}
	buf[n] = '\0';
	return n;

out_no_room:
	if (cap)
		buf[0] = '\0';
	return 0;
}

/*
 * One '[' set at pat[*pi] against byte c. Leaves *pi just past the set (its
 * ']', or the end of the pattern if it has none).
 */
static bool glob_set(const char *pat, size_t plen, size_t *pi, unsigned char c, bool nocase)
{
	size_t i = *pi + 1;
	bool neg = false, match = false;

	if (i < plen && pat[i] == '^') {
		neg = true;
		i++;
	}
	for (;; i++) {
		unsigned char pc;

		if (i >= plen) {
			*pi = plen;
			break;
		}
		pc = (unsigned char)pat[i];
		if (pc == '\\' && plen - i >= 2) {
			i++;
			if ((unsigned char)pat[i] == c)
				match = true;
		} else if (pc == ']') {
			*pi = i + 1;
			break;
		} else if (plen - i >= 3 && pat[i + 1] == '-') {
			unsigned char lo = pc, hi = (unsigned char)pat[i + 2], x = c;

			if (lo > hi) {
				unsigned char t = lo;

				lo = hi;
				hi = t;
			}
			if (nocase) {
				lo = fold_ascii(lo);
				hi = fold_ascii(hi);
				x = fold_ascii(x);
			}
			if (x >= lo && x <= hi)
				match = true;
			i += 2;
		} else if (nocase ? fold_ascii(pc) == fold_ascii(c) : pc == c) {
			match = true;
		}
	}
	return match != neg;
}

/*
 * One non-'*' element at pat[*pi] against byte c; on a match advances *pi
 * past the element.
 */
static bool glob_element(const char *pat, size_t plen, size_t *pi, unsigned char c, bool nocase)
{
	size_t i = *pi;
	unsigned char pc;

	if (pat[i] == '?') {
		*pi = i + 1;
		return true;
	}
	if (pat[i] == '[')
		return glob_set(pat, plen, pi, c, nocase);
	/* A '\' quotes the next byte; a '\' that ends the pattern is itself. */
	if (pat[i] == '\\' && i + 1 < plen)
		i++;
	pc = (unsigned char)pat[i];
	if (nocase ? fold_ascii(pc) != fold_ascii(c) : pc != c)
		return false;
	*pi = i + 1;
	return true;
}

bool strutil_glob_match(const char *pat, size_t plen, const char *str, size_t slen, bool nocase)
{
	size_t p = 0, s = 0;
	size_t star_p = SIZE_MAX;	/* pattern index just after the last '*' run */
	size_t star_s = 0;		/* where the string stood when it was reached */
	unsigned stars = 0;

	if (slen == 0)
		return plen == 0;
	while (s < slen) {
		size_t np = p;

		if (p < plen && pat[p] == '*') {
			while (p < plen && pat[p] == '*')
				p++;
			if (p == plen)
				return true;
			if (++stars > STRUTIL_GLOB_MAX_STARS)
				return false;
			star_p = p;
			star_s = s;
			continue;
		}
		if (p < plen && glob_element(pat, plen, &np, (unsigned char)str[s], nocase)) {
			p = np;
			s++;
			continue;
		}
		/* Mismatch: let the last '*' swallow one more byte and retry. */
		if (star_p == SIZE_MAX)
			return false;
		p = star_p;
		s = ++star_s;
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}

bool strutil_eq_nocase(const char *s, size_t len, const char *lit)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (lit[i] == '\0' ||
		    fold_ascii((unsigned char)s[i]) != fold_ascii((unsigned char)lit[i]))
			return false;
	}
	return lit[i] == '\0';
}
