// SPDX-License-Identifier: LGPL-2.1-or-later
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "interval.h"

/* One unsigned decimal field; returns the position after it or NULL. */
static const char *_field(const char *p, long *v)
{
	long n = 0;

	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p)) {
		n = n * 10 + (*p - '0');
		if (n > CR_INTERVAL_MAX)
			return NULL;
		p++;
	}
	*v = n;
	return p;
}

static int _fail(char *err, size_t errlen, const char *s, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "invalid checkpoint interval \"%s\": %s", s, why);
	return -EINVAL;
}

static int _suffixed(const char *s, long n, char suffix, long *secs, char *err, size_t errlen)
{
	static const struct {
		char c;
		long mult;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (tolower((unsigned char)suffix) == units[i].c) {
			*secs = n * units[i].mult;
			return 0;
		}
	}
	return _fail(err, errlen, s, "unknown unit (use s, m, h or d)");
}

int cr_interval_parse(const char *s, long *secs, char *err, size_t errlen)
{
	long f[4] = {0}, days = 0, total = 0;
	const char *p;
	int n = 0, has_days = 0;

	if (!s || !*s || !strcmp(s, "(null)")) {
		*secs = CR_INTERVAL_DEFAULT;
		return 0;
	}
	p = _field(s, &f[0]);
	if (!p)
		return _fail(err, errlen, s, "expected a number");
	if (p[0] && !p[1] && isalpha((unsigned char)p[0])) {
		if (_suffixed(s, f[0], p[0], &total, err, errlen))
			return -EINVAL;
		if (total > CR_INTERVAL_MAX)
			return _fail(err, errlen, s, "longer than 366 days");
		*secs = total;
		return 0;
	}
	if (*p == '-') {
		days = f[0];
		has_days = 1;
		p = _field(p + 1, &f[0]);
		if (!p)
			return _fail(err, errlen, s, "expected hours after '-'");
	}
	n = 1;
	while (*p == ':' && n < 3) {
		p = _field(p + 1, &f[n]);
		if (!p)
			return _fail(err, errlen, s, "expected a number after ':'");
		n++;
	}
	if (*p)
		return _fail(err, errlen, s, "unexpected characters");
	if (has_days) {
		/* D-H, D-H:M, D-H:M:S */
		total = days * 86400 + f[0] * 3600 + f[1] * 60 + f[2];
		if (f[0] > 23 || f[1] > 59 || f[2] > 59)
			return _fail(err, errlen, s, "field out of range");
	} else if (n == 1) {
		total = f[0] * 60; /* minutes */
	} else if (n == 2) {
		total = f[0] * 60 + f[1]; /* minutes:seconds */
		if (f[1] > 59)
			return _fail(err, errlen, s, "seconds out of range");
	} else {
		total = f[0] * 3600 + f[1] * 60 + f[2]; /* hours:minutes:seconds */
		if (f[1] > 59 || f[2] > 59)
			return _fail(err, errlen, s, "field out of range");
	}
	if (total > CR_INTERVAL_MAX)
		return _fail(err, errlen, s, "longer than 366 days");
	*secs = total;
	return 0;
}

void cr_interval_format(long secs, char *buf, size_t len)
{
	if (secs < 0)
		snprintf(buf, len, "default");
	else
		snprintf(buf, len, "%lds", secs);
}
