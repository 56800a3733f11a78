// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Slot placement for a restart (place_slots) over node names the input
 * gives: "old names|new names|batch host", names split on ','. Whatever it
 * answers must hold: slot 0 on the batch host, each node at most once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "placement.h"

#define MAX_NAMES 64

static size_t split(char *s, char sep, char **out, size_t max)
{
	size_t n = 0;

	while (s && n < max) {
		char *next = strchr(s, sep);

		if (next)
			*next++ = '\0';
		out[n++] = s;
		s = next;
	}
	return n;
}

static void check(char **oldn, size_t nold, char **newn, size_t nnew, const char *batch)
{
	size_t out[MAX_NAMES], per_node = 1 + nold % 3;
	uint8_t used[MAX_NAMES] = {0};

	if (place_slots((const char *const *)oldn, nold, (const char *const *)newn, nnew, batch,
			per_node, out))
		return;
	for (size_t i = 0; i < nold; i++) {
		if (out[i] >= nnew || ++used[out[i]] > per_node)
			abort(); /* off the allocation, or a node given too many */
	}
	if (nold && strcmp(newn[out[0]], batch))
		abort(); /* slot 0 is the batch script's */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return log_init("fuzz-placement", "/dev/null", 0); /* refusals are expected */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *part[3] = {0};
	char *oldn[MAX_NAMES], *newn[MAX_NAMES];
	size_t nold, nnew;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (split(text, '|', part, 3) == 3) {
		nold = split(part[0], ',', oldn, MAX_NAMES);
		nnew = split(part[1], ',', newn, MAX_NAMES);
		check(oldn, nold, newn, nnew, part[2]);
	}
	free(text);
	return 0;
}
