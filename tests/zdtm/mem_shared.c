/*
 * mem_shared: shared anonymous memory between processes. Region A (16
 * pages) is mapped before any fork, so shared by the parent, a child and a
 * grandchild (at the same address); region B is made by the child after
 * the fork and shared only with the grandchild; region C is shared
 * anonymous memory of the parent alone.
 * Checks: after the restart every process reads the data of every region it
 * has, and they really share it: each process writes its own slot of A
 * (and the child and grandchild of B) and sees the others' writes.
 * Skip proof: memory.
 */
#include "zdtm.h"

#define NPROC 3

struct region {
	volatile uint32_t slot[NPROC];
	volatile uint32_t ok[NPROC];
	uint8_t data[];
};

static long ps;
static struct region *a, *b;
static uint8_t *c;

static bool data_ok(const uint8_t *d, size_t n, uint8_t seed)
{
	for (size_t k = 0; k < n; k++)
		if (d[k] != (uint8_t)(k * 7 + seed))
			return false;
	return true;
}

static void fill(uint8_t *d, size_t n, uint8_t seed)
{
	for (size_t k = 0; k < n; k++)
		d[k] = (uint8_t)(k * 7 + seed);
}

/* Write my slot, then wait for all of @n slots (of processes @first..) */
static void exchange(struct region *r, const char *name, int me, int first, int n)
{
	uint64_t end = now_ms() + 3000;
	bool all = false;

	r->slot[me] = 0x100 + me;
	while (!all && now_ms() < end) {
		all = true;
		for (int i = first; i < first + n; i++)
			all = all && r->slot[i] == 0x100u + i;
		if (!all)
			msleep(1);
	}
	CHECK(all, "process %d does not see the others' writes to region %s", me, name);
}

static void process(int me)
{
	size_t alen = 16 * ps - sizeof(*a), blen = 4 * ps - sizeof(*b);

	test_wait_go();
	CHECK(data_ok(a->data, alen, 1), "process %d: region A data differ", me);
	if (me >= 1)
		CHECK(data_ok(b->data, blen, 2), "process %d: region B data differ", me);
	if (me == 0)
		CHECK(data_ok(c, 2 * ps, 3), "process 0: region C data differ");
	exchange(a, "A", me, 0, NPROC);
	if (me >= 1)
		exchange(b, "B", me, 1, 2);
}

int main(void)
{
	struct barrier bar;
	pid_t pid, gpid;

	ps = sysconf(_SC_PAGESIZE);
	a = mmap(NULL, 16 * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	c = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || c == MAP_FAILED)
		test_fatal("mmap");
	fill(a->data, 16 * ps - sizeof(*a), 1);
	fill(c, 2 * ps, 3);
	barrier_init(&bar);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		b = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (b == MAP_FAILED)
			test_fatal("mmap");
		fill(b->data, 4 * ps - sizeof(*b), 2);
		munmap(c, 2 * ps);
		gpid = fork();
		if (gpid < 0)
			test_fatal("fork");
		if (!gpid) {
			barrier_signal(&bar);
			process(2);
			test_child_done();
		}
		barrier_signal(&bar);
		process(1);
		reap_child(gpid, "grandchild");
		test_child_done();
	}
	barrier_wait(&bar, 2);
	test_ready();
	process(0);
	reap_child(pid, "child");
	test_done();
}
