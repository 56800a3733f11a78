/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests: what a test's captured log says. Include after <cmocka.h>. */
#ifndef CR_TEST_LOGCHECK_H
#define CR_TEST_LOGCHECK_H

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* The log in fd (read from offset 0) contains every one of the NULL-ended needles. */
static inline void log_fd_has(int fd, const char *needle, ...)
{
	char buf[4096];
	ssize_t n;
	va_list ap;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	va_start(ap, needle);
	for (; needle; needle = va_arg(ap, const char *)) {
		if (!strstr(buf, needle))
			print_message("log lacks \"%s\": %s", needle, buf);
		assert_non_null(strstr(buf, needle));
	}
	va_end(ap);
}

#endif /* CR_TEST_LOGCHECK_H */
