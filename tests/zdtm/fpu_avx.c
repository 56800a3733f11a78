/*
 * fpu_avx: the AVX registers ymm0-ymm15 and the general purpose registers
 * rbx, rdx, rbp, r9, r10, r12-r14, all loaded with patterns before READY and
 * held through the checkpoint in a loop of raw syscalls (access() on the go
 * file, nanosleep) that touches no vector register (libc's string functions
 * would).
 * Checks: every byte of every ymm register and every one of those general
 * purpose registers is unchanged after the restart.
 * Skip proof: fpu (the xsave area is not restored: the registers are zero).
 */
#include "zdtm.h"

#include <cpuid.h>

struct ctx {
	const char *path;	   /* 0 */
	const struct timespec *ts; /* 8 */
	uint64_t gpr_in[8];	   /* 16 */
	uint64_t gpr_out[8];	   /* 80 */
	uint8_t ymm_in[16][32];	   /* 144 */
	uint8_t ymm_out[16][32];   /* 656 */
	long result;		   /* 1168 */
};
_Static_assert(__builtin_offsetof(struct ctx, ymm_in) == 144, "layout");
_Static_assert(__builtin_offsetof(struct ctx, ymm_out) == 656, "layout");
_Static_assert(__builtin_offsetof(struct ctx, result) == 1168, "layout");

void avx_wait(struct ctx *c);

/* Load, wait for the go file (at most 6000 x 10 ms), store. */
__asm__(".text\n"
	".globl avx_wait\n"
	".type avx_wait, @function\n"
	"avx_wait:\n"
	"	push %rbx\n	push %rbp\n	push %r12\n	push %r13\n	push %r14\n	"
	"push %r15\n"
	"	mov %rdi, %r15\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	vmovdqu 144+32*\\i(%r15), %ymm\\i\n"
	"	.endr\n"
	"	mov 16(%r15), %rbx\n	mov 24(%r15), %rdx\n	mov 32(%r15), %rbp\n"
	"	mov 40(%r15), %r9\n	mov 48(%r15), %r10\n	mov 56(%r15), %r12\n"
	"	mov 64(%r15), %r13\n	mov 72(%r15), %r14\n"
	"	mov $6000, %r8\n"
	"1:	mov $21, %eax\n" /* access(path, F_OK) */
	"	mov 0(%r15), %rdi\n	xor %esi, %esi\n	syscall\n"
	"	test %rax, %rax\n	jz 2f\n"
	"	dec %r8\n	jz 3f\n"
	"	mov $35, %eax\n" /* nanosleep(ts, NULL) */
	"	mov 8(%r15), %rdi\n	xor %esi, %esi\n	syscall\n"
	"	jmp 1b\n"
	"3:	movq $-1, 1168(%r15)\n	jmp 4f\n"
	"2:	movq $0, 1168(%r15)\n"
	"4:	mov %rbx, 80(%r15)\n	mov %rdx, 88(%r15)\n	mov %rbp, 96(%r15)\n"
	"	mov %r9, 104(%r15)\n	mov %r10, 112(%r15)\n	mov %r12, 120(%r15)\n"
	"	mov %r13, 128(%r15)\n	mov %r14, 136(%r15)\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	vmovdqu %ymm\\i, 656+32*\\i(%r15)\n"
	"	.endr\n"
	"	vzeroupper\n"
	"	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbp\n	"
	"pop %rbx\n"
	"	ret\n"
	".size avx_wait, .-avx_wait\n");

static const char *gpr_names[8] = {"rbx", "rdx", "rbp", "r9", "r10", "r12", "r13", "r14"};

int main(void)
{
	static struct ctx c;
	struct timespec ts = {0, 10 * 1000000L};
	unsigned int a, b, cx, d;

	__cpuid(1, a, b, cx, d);
	if (!(cx & bit_AVX) || !(cx & bit_OSXSAVE))
		test_fatal("this CPU has no AVX");
	c.path = test_go_path();
	c.ts = &ts;
	for (int i = 0; i < 8; i++)
		c.gpr_in[i] = 0x0123456789abcdefULL * (i + 3) ^ ((uint64_t)i << 56);
	for (int r = 0; r < 16; r++)
		for (int k = 0; k < 32; k++)
			c.ymm_in[r][k] = (uint8_t)(r * 37 + k * 11 + 1);
	test_ready();
	avx_wait(&c);
	if (c.result)
		test_fatal("no go file after 60 s");
	for (int i = 0; i < 8; i++)
		CHECK(c.gpr_out[i] == c.gpr_in[i], "%s is %#llx, was %#llx", gpr_names[i],
		      (unsigned long long)c.gpr_out[i], (unsigned long long)c.gpr_in[i]);
	for (int r = 0; r < 16; r++)
		for (int k = 0; k < 32; k++)
			if (c.ymm_out[r][k] != c.ymm_in[r][k]) {
				fail("ymm%d byte %d is %#x, was %#x", r, k, c.ymm_out[r][k],
				     c.ymm_in[r][k]);
				break;
			}
	test_done();
}
