/*
 * ipc_shm: SysV shm segments in the test's own IPC namespace:
 *   A  a key, mode 0640, 3 pages + 100 bytes: attached read-write at a1,
 *      SHM_RDONLY at a2, and its last two pages alone at a4 (the first
 *      page of that attachment unmapped); a child inherits all three;
 *   B  IPC_PRIVATE, attached at b1 and marked removed (IPC_RMID);
 *   C  a key, attached nowhere, data in its first and last pages only.
 * Checks after the restart: each id, key, mode, size and nattch is what it
 * was; B is still marked removed; the contents are there through every
 * attachment; a2 is still read-only (mprotect PROT_WRITE: EACCES); a write
 * through a1 reaches a2, a4 and the child's view, and the child's write
 * reaches ours; shmdt(a4) finds the partial attachment.
 * Skip proof: ipc (no objects made: the restart fails or the test FAILs).
 */
#include "zdtm.h"

#include <sys/shm.h>

#define PG     4096
#define A_SIZE (3 * PG + 100)
#define C_SIZE (5 * PG)
#define KEY_A  0x5eed0a
#define KEY_C  0x5eed0c

static uint8_t pat(int seg, size_t i)
{
	return (uint8_t)(i * 7 + seg * 31 + i / 4093 + 1);
}

static void fill(uint8_t *p, int seg, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pat(seg, i);
}

static int same(const uint8_t *p, int seg, size_t off, size_t len)
{
	for (size_t i = off; i < off + len; i++)
		if (p[i - off] != pat(seg, i))
			return 0;
	return 1;
}

static void check_seg(int id, int key, unsigned int mode, size_t size, shmatt_t nattch,
		      const char *n)
{
	struct shmid_ds ds;

	if (shmctl(id, IPC_STAT, &ds)) {
		fail("segment %s (id %d): %s", n, id, strerror(errno));
		return;
	}
	CHECK(ds.shm_perm.__key == key, "segment %s: key %#x, want %#x", n, ds.shm_perm.__key, key);
	CHECK((ds.shm_perm.mode & 01777) == mode, "segment %s: mode %#o, want %#o", n,
	      ds.shm_perm.mode & 01777, mode);
	CHECK(ds.shm_segsz == size, "segment %s: size %zu, want %zu", n, ds.shm_segsz, size);
	CHECK(ds.shm_nattch == nattch, "segment %s: %lu attachments, want %lu", n,
	      (unsigned long)ds.shm_nattch, (unsigned long)nattch);
}

static shmatt_t nattch_of(int id)
{
	struct shmid_ds ds;

	if (shmctl(id, IPC_STAT, &ds))
		test_fatal("IPC_STAT %d", id);
	return ds.shm_nattch;
}

int main(void)
{
	int ia = shmget(KEY_A, A_SIZE, IPC_CREAT | IPC_EXCL | 0640);
	int ib = shmget(IPC_PRIVATE, 2 * PG, IPC_CREAT | 0600);
	int ic = shmget(KEY_C, C_SIZE, IPC_CREAT | IPC_EXCL | 0600);
	uint8_t *a1, *a2, *a4, *b1, *c;
	shmatt_t na, nb;
	int cp[2];
	pid_t pid;
	char x;

	if (ia < 0 || ib < 0 || ic < 0)
		test_fatal("shmget");
	a1 = shmat(ia, NULL, 0);
	a2 = shmat(ia, NULL, SHM_RDONLY);
	a4 = shmat(ia, NULL, 0);
	b1 = shmat(ib, NULL, 0);
	c = shmat(ic, NULL, 0);
	if (a1 == (void *)-1 || a2 == (void *)-1 || a4 == (void *)-1 || b1 == (void *)-1 ||
	    c == (void *)-1)
		test_fatal("shmat");
	fill(a1, 0, A_SIZE);
	fill(b1, 1, 2 * PG);
	fill(c, 2, PG);
	fill(c + 4 * PG, 3, PG);
	shmdt(c);
	if (munmap(a4, PG) || shmctl(ib, IPC_RMID, NULL) || pipe(cp))
		test_fatal("munmap/IPC_RMID/pipe");
	pid = fork();
	if (!pid) {
		close(cp[0]);
		test_wait_go();
		msleep(100); /* the parent's write first */
		CHECK(a1[5] == 0xaa && a2[5] == 0xaa, "child: the parent's write is not seen");
		CHECK(same(a4 + PG, 0, PG, A_SIZE - PG), "child: a4 differs");
		a1[PG + 1] = 0x55;
		_exit(write(cp[1], "x", 1) == 1 && !test_failed() ? 0 : 1);
	}
	close(cp[1]);
	na = nattch_of(ia);
	nb = nattch_of(ib);
	test_ready();
	test_wait_go();

	check_seg(ia, KEY_A, 0640, A_SIZE, na, "A");
	check_seg(ib, IPC_PRIVATE, SHM_DEST | 0600, 2 * PG, nb, "B");
	check_seg(ic, KEY_C, 0600, C_SIZE, 0, "C");
	CHECK(same(a1, 0, 0, A_SIZE), "A differs at a1");
	CHECK(same(a2, 0, 0, A_SIZE), "A differs at a2");
	CHECK(same(a4 + PG, 0, PG, A_SIZE - PG), "A differs at a4");
	CHECK(same(b1, 1, 0, 2 * PG), "B differs");
	c = shmat(ic, NULL, SHM_RDONLY);
	CHECK(c != (void *)-1 && same(c, 2, 0, PG) && same(c + 4 * PG, 3, 0, PG),
	      "C's data differs");
	for (size_t i = PG; c != (void *)-1 && i < 4 * PG; i++)
		if (c[i]) {
			fail("C: byte %zu is %d, want 0", i, c[i]);
			break;
		}
	CHECK(mprotect(a2, PG, PROT_READ | PROT_WRITE) == -1 && errno == EACCES,
	      "the SHM_RDONLY attachment can be made writable");
	a1[5] = 0xaa;
	CHECK(a2[5] == 0xaa, "a write at a1 is not seen at a2");
	CHECK(read(cp[0], &x, 1) == 1, "nothing from the child");
	reap_child(pid, "child");
	CHECK(a4[PG + 1] == 0x55 && a2[PG + 1] == 0x55, "the child's write is not seen");
	CHECK(shmdt(a4) == 0, "shmdt of the partial attachment: %s", strerror(errno));
	test_done();
}
