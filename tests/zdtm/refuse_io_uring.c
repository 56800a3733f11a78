/*
 * refuse_io_uring: an io_uring instance (io_uring_setup) in a child
 * process; with argv[1] "mapped" its rings are mapped (refused as a
 * mapping), with "fd" it is only open (refused as an fd). cr checkpoint
 * must refuse the tree (exit 3), naming the child and the mapping or fd,
 * write nothing and leave the tree running.
 * Checks (without a restart): the fd is still an io_uring; mapped, the ring
 * still works: a NOP submitted through io_uring_enter completes.
 * Skip proof: none (refused).
 */
#include "zdtm.h"

#include <linux/io_uring.h>

static void run_child(struct barrier *b, bool mapped)
{
	struct io_uring_params p;
	unsigned int *sq_tail, *sq_array, *cq_head, *cq_tail, *sq_mask;
	struct io_uring_sqe *sqes;
	uint8_t *sq, *cq;
	int fd;

	memset(&p, 0, sizeof(p));
	fd = syscall(SYS_io_uring_setup, 4, &p);
	if (fd < 0)
		test_fatal("io_uring_setup");
	if (!mapped) {
		char link[64], target[64];
		ssize_t n;

		dprintf(1, "EXPECT: Task %d fd %d (anon_inode:[io_uring])\n", getpid(), fd);
		barrier_signal(b);
		test_wait_go();
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		CHECK(!strcmp(target, "anon_inode:[io_uring]"), "fd %d is now %s", fd, target);
		test_child_done();
	}
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * 4, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		test_fatal("mmap rings");
	/* whichever ring lies lowest is named */
	dprintf(1, "EXPECT: Task %d: mapping 0x\n", getpid());
	dprintf(1, "EXPECT: (anon_inode:[io_uring]) is not supported\n");
	barrier_signal(b);
	test_wait_go();
	sq_tail = (unsigned int *)(sq + p.sq_off.tail);
	sq_mask = (unsigned int *)(sq + p.sq_off.ring_mask);
	sq_array = (unsigned int *)(sq + p.sq_off.array);
	cq_head = (unsigned int *)(cq + p.cq_off.head);
	cq_tail = (unsigned int *)(cq + p.cq_off.tail);
	memset(&sqes[0], 0, sizeof(sqes[0]));
	sqes[0].opcode = IORING_OP_NOP;
	sqes[0].user_data = 42;
	sq_array[*sq_tail & *sq_mask] = 0;
	__atomic_store_n(sq_tail, *sq_tail + 1, __ATOMIC_RELEASE);
	CHECK(syscall(SYS_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) == 1,
	      "io_uring_enter: %s", strerror(errno));
	if (__atomic_load_n(cq_tail, __ATOMIC_ACQUIRE) != *cq_head) {
		struct io_uring_cqe *cqe = (struct io_uring_cqe *)(cq + p.cq_off.cqes);

		CHECK(cqe[*cq_head & (p.cq_entries - 1)].user_data == 42, "wrong completion");
	} else
		fail("the NOP did not complete");
	test_child_done();
}

int main(int argc, char **argv)
{
	struct barrier b;
	pid_t pid;

	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid)
		run_child(&b, argc < 2 || strcmp(argv[1], "fd"));
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	reap_child(pid, "child");
	test_done();
}
