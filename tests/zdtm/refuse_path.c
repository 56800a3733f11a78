/*
 * refuse_path: a path the image would record no longer leads to what the
 * task holds; the checkpoint must refuse it, naming the task's path, and the
 * tree runs on (zdtm.sh's refuse mode). Variants:
 *   cwd_removed  the working directory was removed (rmdir);
 *   cwd_hidden   the working directory d/sub is hidden by a tmpfs mounted
 *                on d (a job container's own /tmp hides the submitting
 *                host's /tmp like this);
 *   file_hidden  a file open for writing, d/data, hidden the same way;
 *   map_hidden   a file mapped shared, d/map, hidden the same way.
 * Checks, after the refusal: the cwd, file and mapping still work.
 */
#include "zdtm.h"

#include <sys/mount.h>

static void hide(const char *dir)
{
	if (mount("none", dir, "tmpfs", 0, "size=64k"))
		test_fatal("mount a tmpfs on %s", dir);
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "";
	char d[2048], sub[4096], data[4096];
	volatile char *map = NULL;
	int fd = -1;

	snprintf(d, sizeof(d), "%s", test_path("d"));
	snprintf(sub, sizeof(sub), "%s/sub", d);
	snprintf(data, sizeof(data), "%s/data", d);
	if (mkdir(d, 0755) || mkdir(sub, 0755))
		test_fatal("mkdir");
	if (!strcmp(how, "cwd_removed")) {
		if (chdir(sub) || rmdir(sub))
			test_fatal("chdir, rmdir");
		dprintf(1, "EXPECT: working directory %s\n", sub);
	} else if (!strcmp(how, "cwd_hidden")) {
		if (chdir(sub))
			test_fatal("chdir");
		hide(d);
		dprintf(1, "EXPECT: working directory %s\n", sub);
	} else if (!strcmp(how, "file_hidden") || !strcmp(how, "map_hidden")) {
		fd = open(data, O_RDWR | O_CREAT, 0644);
		if (fd < 0 || ftruncate(fd, 4096))
			test_fatal("open %s", data);
		if (how[0] == 'm') {
			map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (map == MAP_FAILED)
				test_fatal("mmap");
			close(fd);
			fd = -1;
		}
		hide(d);
		dprintf(1, "EXPECT: %s does not lead back\n", data);
	} else {
		test_fatal("variant %s?", how);
	}
	test_ready();
	test_wait_go();
	if (fd >= 0)
		CHECK(pwrite(fd, "x", 1, 0) == 1, "can't write to the hidden file");
	if (map) {
		map[0] = 'y';
		CHECK(map[0] == 'y', "the mapping does not work");
	}
	CHECK(access(".", R_OK | X_OK) == 0 || !strcmp(how, "cwd_removed"),
	      "the cwd can't be read");
	test_done();
}
