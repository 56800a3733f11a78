/*
 * memfd_seals: seals of memfds: one with F_SEAL_SHRINK | F_SEAL_GROW, one
 * with F_SEAL_WRITE (so not mapped writable) and F_SEAL_SEAL, one created
 * with MFD_ALLOW_SEALING and no seal yet, one created without it.
 * Checks: after the restart F_GET_SEALS reads back each one's seals
 * (F_SEAL_SEAL for the one made without MFD_ALLOW_SEALING), they act
 * (growing, shrinking, writing fail with EPERM; adding a seal to the
 * F_SEAL_SEAL one fails), the unsealed one can still be sealed, and each
 * keeps its data.
 * Skip proof: fds.
 */
#include "zdtm.h"

static const struct {
	const char *name;
	unsigned int flags;
	int seals;
} spec[] = {
	{"zdtm-size", MFD_ALLOW_SEALING, F_SEAL_SHRINK | F_SEAL_GROW},
	{"zdtm-write", MFD_ALLOW_SEALING, F_SEAL_WRITE | F_SEAL_SEAL},
	{"zdtm-open", MFD_ALLOW_SEALING, 0},
	{"zdtm-nosealing", 0, F_SEAL_SEAL},
};

int main(void)
{
	int fd[ARRAY_SIZE(spec)];
	char buf[16];

	for (size_t i = 0; i < ARRAY_SIZE(spec); i++) {
		fd[i] = memfd_create(spec[i].name, spec[i].flags);
		if (fd[i] < 0 || ftruncate(fd[i], 4096) || pwrite(fd[i], spec[i].name, 8, 0) != 8)
			test_fatal("memfd %s", spec[i].name);
		if ((spec[i].flags & MFD_ALLOW_SEALING) && spec[i].seals &&
		    fcntl(fd[i], F_ADD_SEALS, spec[i].seals))
			test_fatal("seal %s", spec[i].name);
		if (fcntl(fd[i], F_GET_SEALS) != spec[i].seals)
			test_fatal("seals of %s", spec[i].name);
	}
	test_ready();
	test_wait_go();

	for (size_t i = 0; i < ARRAY_SIZE(spec); i++) {
		int s = fcntl(fd[i], F_GET_SEALS);

		CHECK(s == spec[i].seals, "%s: seals %#x, want %#x", spec[i].name, s,
		      spec[i].seals);
		CHECK(pread(fd[i], buf, 8, 0) == 8 && !memcmp(buf, spec[i].name, 8),
		      "%s: data differ", spec[i].name);
	}
	CHECK(ftruncate(fd[0], 8192) && errno == EPERM, "zdtm-size grew");
	CHECK(ftruncate(fd[0], 100) && errno == EPERM, "zdtm-size shrank");
	CHECK(pwrite(fd[1], "x", 1, 0) < 0 && errno == EPERM, "zdtm-write was written");
	CHECK(fcntl(fd[1], F_ADD_SEALS, F_SEAL_GROW) && errno == EPERM,
	      "zdtm-write took a seal after F_SEAL_SEAL");
	CHECK(fcntl(fd[2], F_ADD_SEALS, F_SEAL_GROW) == 0, "zdtm-open can't be sealed any more");
	CHECK(pwrite(fd[3], "y", 1, 0) == 1, "zdtm-nosealing can't be written");
	test_done();
}
