/*
 * fpu_avx512: the AVX-512 state: zmm0-zmm31 (so the ZMM_Hi256 and Hi16_ZMM
 * xsave components) and the opmask registers k0-k7, loaded with patterns
 * before READY and held through the checkpoint in a loop of raw syscalls.
 * On a CPU without AVX-512F the test checks ymm0-ymm15 instead.
 * Checks: every byte of every register is unchanged after the restart.
 * Skip proof: fpu (the xsave area is not restored: the registers are zero).
 */
#include "zdtm.h"

#include <cpuid.h>

struct ctx {
	const char *path;	   /* 0 */
	const struct timespec *ts; /* 8 */
	uint64_t k_in[8];	   /* 16 */
	uint64_t k_out[8];	   /* 80 */
	uint8_t z_in[32][64];	   /* 144 */
	uint8_t z_out[32][64];	   /* 2192 */
	long result;		   /* 4240 */
};
_Static_assert(__builtin_offsetof(struct ctx, z_out) == 2192, "layout");
_Static_assert(__builtin_offsetof(struct ctx, result) == 4240, "layout");

void zmm_wait(struct ctx *c);
void ymm_wait(struct ctx *c);

#define WAIT_LOOP                                                                                  \
	"	mov $6000, %r8\n"                                                                        \
	"1:	mov $21, %eax\n"                                                                       \
	"	mov 0(%r15), %rdi\n	xor %esi, %esi\n	syscall\n"                                          \
	"	test %rax, %rax\n	jz 2f\n"                                                               \
	"	dec %r8\n	jz 3f\n"                                                                       \
	"	mov $35, %eax\n"                                                                         \
	"	mov 8(%r15), %rdi\n	xor %esi, %esi\n	syscall\n"                                          \
	"	jmp 1b\n"                                                                                \
	"3:	movq $-1, 4240(%r15)\n	jmp 4f\n"                                                       \
	"2:	movq $0, 4240(%r15)\n"                                                                 \
	"4:\n"

__asm__(".text\n"
	".globl zmm_wait\n"
	".type zmm_wait, @function\n"
	"zmm_wait:\n"
	"	push %r15\n"
	"	mov %rdi, %r15\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,"
	"28,29,30,31\n"
	"	vmovdqu64 144+64*\\i(%r15), %zmm\\i\n"
	"	.endr\n"
	"	.irp i,0,1,2,3,4,5,6,7\n"
	"	kmovq 16+8*\\i(%r15), %k\\i\n"
	"	.endr\n" WAIT_LOOP
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,"
	"28,29,30,31\n"
	"	vmovdqu64 %zmm\\i, 2192+64*\\i(%r15)\n"
	"	.endr\n"
	"	.irp i,0,1,2,3,4,5,6,7\n"
	"	kmovq %k\\i, 80+8*\\i(%r15)\n"
	"	.endr\n"
	"	vzeroupper\n"
	"	pop %r15\n"
	"	ret\n"
	".size zmm_wait, .-zmm_wait\n"
	".globl ymm_wait\n"
	".type ymm_wait, @function\n"
	"ymm_wait:\n"
	"	push %r15\n"
	"	mov %rdi, %r15\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	vmovdqu 144+64*\\i(%r15), %ymm\\i\n"
	"	.endr\n" WAIT_LOOP "	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	vmovdqu %ymm\\i, 2192+64*\\i(%r15)\n"
	"	.endr\n"
	"	vzeroupper\n"
	"	pop %r15\n"
	"	ret\n"
	".size ymm_wait, .-ymm_wait\n");

int main(void)
{
	static struct ctx c;
	struct timespec ts = {0, 10 * 1000000L};
	unsigned int a, b, cx, d, lo, hi;
	bool avx512 = false;
	int nreg = 16, width = 32;

	__cpuid(1, a, b, cx, d);
	if (!(cx & bit_AVX) || !(cx & bit_OSXSAVE))
		test_fatal("this CPU has no AVX");
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	__cpuid_count(7, 0, a, b, cx, d);
	if ((b & bit_AVX512F) && (b & bit_AVX512BW) && (lo & 0xe0) == 0xe0) {
		avx512 = true;
		nreg = 32;
		width = 64;
	}
	c.path = test_go_path();
	c.ts = &ts;
	for (int i = 0; i < 8; i++)
		c.k_in[i] = 0xfedcba9876543210ULL * (i + 5) ^ ((uint64_t)i << 60);
	for (int r = 0; r < 32; r++)
		for (int k = 0; k < 64; k++)
			c.z_in[r][k] = (uint8_t)(r * 53 + k * 7 + 3);
	test_ready();
	if (avx512)
		zmm_wait(&c);
	else
		ymm_wait(&c);
	if (c.result)
		test_fatal("no go file after 60 s");
	for (int i = 0; avx512 && i < 8; i++)
		CHECK(c.k_out[i] == c.k_in[i], "k%d is %#llx, was %#llx", i,
		      (unsigned long long)c.k_out[i], (unsigned long long)c.k_in[i]);
	for (int r = 0; r < nreg; r++)
		for (int k = 0; k < width; k++)
			if (c.z_out[r][k] != c.z_in[r][k]) {
				fail("%cmm%d byte %d is %#x, was %#x", avx512 ? 'z' : 'y', r, k,
				     c.z_out[r][k], c.z_in[r][k]);
				break;
			}
	test_done();
}
