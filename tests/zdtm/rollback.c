/*
 * rollback: files the tree held open for writing, and a restart that fails.
 * The tree: cwd $ZDTM_DIR/d; "data" (10000 bytes) open O_RDWR at offset
 * 4000, and open again O_WRONLY | O_APPEND by a child (two open files, one
 * file); "log" (100 bytes) open O_WRONLY | O_APPEND.
 * Between the checkpoint and the restart (--break ARG, run by zdtm.sh's hook
 * mode) both files grow, as a job's files do after its checkpoint, and:
 *   abort    the restart builds the tree and is aborted (cr restart --abort),
 *            as when another node of the job fails;
 *   cwd      the working directory is renamed away: the restart must fail,
 *            naming it;
 *   replace  another file is renamed over "data": the restart must refuse
 *            it, naming it, and leave the new file alone.
 * The failed restart must leave both files byte-identical. --repair puts
 * the cwd or "data" back; a restart with --rollback-files then resumes.
 * Checks (after that restart, or on a plain run): "data" is its 10000
 * bytes exactly, at offset 4000, in both tasks; "log" is 100 bytes; the cwd.
 */
#include "zdtm.h"

#define DATA_LEN 10000
#define LOG_LEN	 100

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 13 + 7);
}

static void append(const char *path, size_t len, int c)
{
	char buf[4096];
	int fd = open(path, O_WRONLY | O_APPEND);

	memset(buf, c, sizeof(buf));
	for (size_t n; fd >= 0 && len; len -= n)
		n = write(fd, buf, len < sizeof(buf) ? len : sizeof(buf));
	if (fd < 0 || close(fd))
		test_fatal("append to %s", path);
}

/* Between the checkpoint and the restart: see the top. */
static int do_break(const char *how)
{
	char path[4096];
	int fd;

	append(test_path("data"), 5000, 'X');
	append(test_path("log"), 50, 'Y');
	printf("WATCH: %s\nWATCH: %s\n", test_path("data"), test_path("log"));
	if (!strcmp(how, "abort")) {
		printf("RESTART: --abort\nEXPECT: aborted once the tree was built\n");
	} else if (!strcmp(how, "cwd")) {
		snprintf(path, sizeof(path), "%s", test_path("d"));
		if (rename(path, test_path("d.away")))
			test_fatal("rename");
		printf("EXPECT: working directory %s\n", path);
	} else if (!strcmp(how, "replace")) {
		fd = open(test_path("data.new"), O_RDWR | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || link(test_path("data"), test_path("data.orig")) ||
		    ftruncate(fd, 3 * DATA_LEN) || close(fd) ||
		    rename(test_path("data.new"), test_path("data")))
			test_fatal("replace data");
		printf("EXPECT: %s is not the file it was at checkpoint\n", test_path("data"));
	} else {
		test_fatal("--break %s?", how);
	}
	return 0;
}

static int do_repair(const char *how)
{
	if (!strcmp(how, "cwd") && rename(test_path("d.away"), test_path("d")))
		test_fatal("rename back");
	if (!strcmp(how, "replace") && rename(test_path("data.orig"), test_path("data")))
		test_fatal("rename data back");
	return 0;
}

static void check_data(int fd, const char *who)
{
	static uint8_t buf[DATA_LEN + 1];
	struct stat st;
	size_t bad = 0;

	CHECK(!fstat(fd, &st) && st.st_size == DATA_LEN, "%s: data is %lld bytes, not %d", who,
	      (long long)st.st_size, DATA_LEN);
	CHECK(pread(fd, buf, sizeof(buf), 0) == DATA_LEN, "%s: can't read data back", who);
	for (size_t i = 0; i < DATA_LEN; i++)
		bad += buf[i] != pattern(i);
	CHECK(!bad, "%s: %zu bytes of data differ", who, bad);
}

int main(int argc, char **argv)
{
	uint8_t buf[DATA_LEN];
	char cwd[4096], want[4096];
	struct barrier b;
	struct stat st;
	int fd, logfd;
	pid_t pid;

	if (argc == 3 && !strcmp(argv[1], "--break"))
		return do_break(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "--repair"))
		return do_repair(argv[2]);
	for (size_t i = 0; i < DATA_LEN; i++)
		buf[i] = pattern(i);
	snprintf(want, sizeof(want), "%s", test_path("d"));
	fd = open(test_path("data"), O_RDWR | O_CREAT | O_EXCL, 0644);
	logfd = open(test_path("log"), O_WRONLY | O_APPEND | O_CREAT | O_EXCL, 0644);
	memset(cwd, 'L', LOG_LEN);
	if (fd < 0 || logfd < 0 || write(fd, buf, DATA_LEN) != DATA_LEN ||
	    write(logfd, cwd, LOG_LEN) != LOG_LEN || lseek(fd, 4000, SEEK_SET) != 4000 ||
	    mkdir(want, 0755) || chdir(want))
		test_fatal("set up");
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		int afd = open(test_path("data"), O_WRONLY | O_APPEND);

		if (afd < 0)
			test_fatal("child: open");
		barrier_signal(&b);
		test_wait_go();
		check_data(open(test_path("data"), O_RDONLY), "child");
		CHECK(!fstat(afd, &st) && st.st_size == DATA_LEN, "child: its fd sees %lld bytes",
		      (long long)st.st_size);
		test_child_done();
	}
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	check_data(fd, "main");
	CHECK(lseek(fd, 0, SEEK_CUR) == 4000, "main: data offset %lld, not 4000",
	      (long long)lseek(fd, 0, SEEK_CUR));
	CHECK(!fstat(logfd, &st) && st.st_size == LOG_LEN, "log is %lld bytes, not %d",
	      (long long)st.st_size, LOG_LEN);
	CHECK(getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, want), "cwd is %s, not %s", cwd, want);
	reap_child(pid, "child");
	test_done();
}
