// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The manifest parser crd runs at every restore (store_parse: what
 * store_load does with <seq>/manifest.json once read: the seal, then the JSON) over checkpoint 1 of
 * job 42, user 1000. The first byte picks the slot restored (-1, 0, 1) and
 * whether the rest, when it is a JSON object, is first sealed again with the
 * test key, as a genuine crd would have written it: mutations then reach
 * the parser, the version and the binding checks behind the seal. Whatever is accepted must
 * hold what store.h promises.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define SEQ   1
#define UID   1000
#define JOBID 42

static uint8_t key[STORE_KEY_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memset(key, 0x5a, sizeof(key)); /* tests/fuzz/corpus/manifest's MACs use it */
	return sodium_init() < 0;
}

/* The rest, when it is a JSON object, sealed with key as store_commit seals; else NULL. */
static char *reseal(const uint8_t *data, size_t size)
{
	json_t *m = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	char *text = json_is_object(m) ? store_seal(m, key) : NULL;

	json_decref(m);
	return text;
}

/* What an accepted manifest is: store.h's promises, checked again here. */
static void check(const json_t *m, int slot)
{
	const json_t *l = json_object_get(m, "lineage"), *slots = json_object_get(m, "slots");
	size_t n = json_array_size(l);

	if (json_integer_value(json_object_get(m, "seq")) != SEQ ||
	    json_integer_value(json_object_get(m, "version")) != STORE_MANIFEST_VERSION ||
	    json_integer_value(json_object_get(m, "uid")) != UID ||
	    json_integer_value(json_object_get(m, "jobid")) != JOBID || !n ||
	    json_integer_value(json_array_get(l, n - 1)) != JOBID)
		abort(); /* another checkpoint's, format's, owner's or job's */
	for (size_t i = 0; i < json_array_size(slots); i++)
		if (json_integer_value(json_object_get(json_array_get(slots, i), "slot")) !=
		    (json_int_t)i)
			abort(); /* a node directory bound to another slot */
	if (slot >= 0 && (size_t)slot >= json_array_size(slots))
		abort(); /* the slot restored is not in it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_binding b = {.uid = UID, .jobid = JOBID};
	char err[512], *text = NULL;
	json_t *m;

	if (!size)
		return 0;
	b.slot = (int)(data[0] >> 1) % 3 - 1;
	if (data[0] & 1 && !(text = reseal(data + 1, size - 1)))
		return 0;
	if (!store_parse(text ? text : (const char *)data + 1, text ? strlen(text) : size - 1, SEQ,
			 key, &b, &m, err, sizeof(err))) {
		check(m, b.slot);
		json_decref(m);
	} else if (!err[0]) {
		abort(); /* a refusal must say why */
	}
	free(text);
	return 0;
}
