/*
 * fpu_x87: the legacy FPU and SSE state: x87 control word (rounding toward
 * zero, 53-bit precision), four values on the x87 register stack (so its
 * top and tag word), the status word, MXCSR (flush-to-zero,
 * denormals-are-zero, round up) and xmm8-xmm15, held through the
 * checkpoint in a loop of raw syscalls.
 * Checks: all of it reads back the same as in an uninterrupted run of the
 * same code (done first, without waiting).
 * Skip proof: fpu (the FPU is reset to its initial state).
 */
#include "zdtm.h"

struct ctx {
	const char *path;	   /* 0 */
	const struct timespec *ts; /* 8 */
	long wait;		   /* 16 */
	long result;		   /* 24 */
	uint8_t st[4][16];	   /* 32: the stack, popped, 10 bytes each */
	uint16_t cw, sw;	   /* 96, 98 */
	uint32_t mxcsr;		   /* 100 */
	uint8_t xmm_in[8][16];	   /* 104 */
	uint8_t xmm_out[8][16];	   /* 232 */
	uint8_t custom[16];	   /* 360: an 80-bit value to load */
};
_Static_assert(__builtin_offsetof(struct ctx, xmm_in) == 104, "layout");
_Static_assert(__builtin_offsetof(struct ctx, custom) == 360, "layout");

void x87_wait(struct ctx *c);

/* read by the asm below: round toward zero, 53-bit precision; FZ, DAZ, round up */
__attribute__((used)) const uint16_t cw_set = 0x0e7f;
__attribute__((used)) const uint32_t mxcsr_set = 0x1f80 | 0x8040 | 0x4000;

__asm__(".text\n"
	".globl x87_wait\n"
	".type x87_wait, @function\n"
	"x87_wait:\n"
	"	push %r15\n"
	"	sub $16, %rsp\n"
	"	mov %rdi, %r15\n"
	"	fninit\n"
	"	movw cw_set(%rip), %ax\n	mov %ax, 0(%rsp)\n	fldcw 0(%rsp)\n"
	"	ldmxcsr mxcsr_set(%rip)\n"
	"	fldpi\n	fld1\n	fldl2e\n	fldt 360(%r15)\n"
	"	.irp i,8,9,10,11,12,13,14,15\n"
	"	movdqu 104+16*(\\i-8)(%r15), %xmm\\i\n"
	"	.endr\n"
	"	cmpq $0, 16(%r15)\n	je 4f\n"
	"	mov $6000, %r8\n"
	"1:	mov $21, %eax\n"
	"	mov 0(%r15), %rdi\n	xor %esi, %esi\n	syscall\n"
	"	test %rax, %rax\n	jz 2f\n"
	"	dec %r8\n	jz 3f\n"
	"	mov $35, %eax\n"
	"	mov 8(%r15), %rdi\n	xor %esi, %esi\n	syscall\n"
	"	jmp 1b\n"
	"3:	movq $-1, 24(%r15)\n	jmp 4f\n"
	"2:	movq $0, 24(%r15)\n"
	"4:	fnstcw 96(%r15)\n	fnstsw 98(%r15)\n	stmxcsr 100(%r15)\n"
	"	fstpt 32(%r15)\n	fstpt 48(%r15)\n	fstpt 64(%r15)\n	fstpt "
	"80(%r15)\n"
	"	.irp i,8,9,10,11,12,13,14,15\n"
	"	movdqu %xmm\\i, 232+16*(\\i-8)(%r15)\n"
	"	.endr\n"
	"	movl $0x1f80, 0(%rsp)\n	ldmxcsr 0(%rsp)\n	fninit\n"
	"	add $16, %rsp\n"
	"	pop %r15\n"
	"	ret\n"
	".size x87_wait, .-x87_wait\n");

int main(void)
{
	static struct ctx ref, c;
	struct timespec ts = {0, 10 * 1000000L};
	const uint8_t custom[10] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf1, 0x23, 0x41};

	for (int r = 0; r < 8; r++)
		for (int k = 0; k < 16; k++)
			ref.xmm_in[r][k] = (uint8_t)(r * 29 + k * 13 + 5);
	memcpy(ref.custom, custom, sizeof(custom));
	c = ref;
	x87_wait(&ref); /* the reference, without waiting */
	c.path = test_go_path();
	c.ts = &ts;
	c.wait = 1;
	test_ready();
	x87_wait(&c);
	if (c.result)
		test_fatal("no go file after 60 s");
	CHECK(c.cw == ref.cw, "x87 control word %#x, want %#x", c.cw, ref.cw);
	CHECK(c.sw == ref.sw, "x87 status word %#x, want %#x", c.sw, ref.sw);
	CHECK(c.mxcsr == ref.mxcsr, "mxcsr %#x, want %#x", c.mxcsr, ref.mxcsr);
	for (int i = 0; i < 4; i++)
		CHECK(!memcmp(c.st[i], ref.st[i], 10), "x87 st(%d) differs", i);
	for (int r = 0; r < 8; r++)
		CHECK(!memcmp(c.xmm_out[r], ref.xmm_out[r], 16), "xmm%d differs", r + 8);
	test_done();
}
