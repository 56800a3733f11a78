/*
 * file_replaced: a file open for writing ("data", O_RDWR at offset 5) is
 * replaced while the task runs, before the checkpoint: another file is
 * renamed over its path. The task's fd still refers to the old file, which
 * no longer has a name: it is checkpointed as a deleted file (by content),
 * not reopened by its path, which now leads to another file.
 * Checks: after the restart the fd reads the old content at its offset and
 * is still deleted (st_nlink 0); the file now at the path is untouched.
 * Skip proof: fds.
 */
#include "zdtm.h"

#define OLD "the old file's content"
#define NEW "a new file, longer than the old one, renamed over it"

int main(void)
{
	char buf[64] = "";
	struct stat st, path_st, path_before;
	int fd = open(test_path("data"), O_RDWR | O_CREAT | O_EXCL, 0644);
	int nfd = open(test_path("data.new"), O_WRONLY | O_CREAT | O_EXCL, 0644);

	if (fd < 0 || nfd < 0 || write(fd, OLD, strlen(OLD)) != (ssize_t)strlen(OLD) ||
	    write(nfd, NEW, strlen(NEW)) != (ssize_t)strlen(NEW) || close(nfd) ||
	    lseek(fd, 5, SEEK_SET) != 5 || rename(test_path("data.new"), test_path("data")) ||
	    stat(test_path("data"), &path_before))
		test_fatal("set up");
	test_ready();
	test_wait_go();
	CHECK(!fstat(fd, &st) && st.st_nlink == 0, "the replaced file has a name again");
	CHECK(read(fd, buf, sizeof(buf) - 1) == (ssize_t)strlen(OLD) - 5 && !strcmp(buf, &OLD[5]),
	      "the fd reads \"%s\"", buf);
	CHECK(!stat(test_path("data"), &path_st) && path_st.st_ino == path_before.st_ino &&
		      path_st.st_size == (off_t)strlen(NEW) &&
		      path_st.st_mtim.tv_nsec == path_before.st_mtim.tv_nsec,
	      "the file at the path was changed");
	test_done();
}
