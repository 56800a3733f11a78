/*
 * refuse_mq_notify: a POSIX message queue with a notification registered
 * (mq_notify, SIGEV_SIGNAL): cr checkpoint must refuse it, naming the task,
 * the fd and the queue, before it reads the queue.
 * Checks (without a restart): the registration is still there (a message
 * sent to the empty queue raises SIGUSR1) and so is the queued message.
 * Skip proof: none (refused).
 */
#include "zdtm.h"

#include <mqueue.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig)
{
	(void)sig;
	got = 1;
}

int main(void)
{
	struct mq_attr a = {.mq_maxmsg = 4, .mq_msgsize = 16};
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
	mqd_t q = mq_open("/zdtm-mq-notify", O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK, 0600, &a);
	char buf[16];
	unsigned int prio;

	signal(SIGUSR1, on_usr1);
	if (q < 0 || mq_notify(q, &ev))
		test_fatal("mq_open or mq_notify");
	dprintf(1,
		"EXPECT: Task %d fd %d: POSIX message queue /zdtm-mq-notify has a "
		"notification registered\n",
		getpid(), q);
	test_ready();
	test_wait_go();
	CHECK(mq_send(q, "n", 1, 3) == 0, "send: %s", strerror(errno));
	for (int i = 0; i < 100 && !got; i++)
		msleep(10);
	CHECK(got, "the notification is gone");
	CHECK(mq_receive(q, buf, sizeof(buf), &prio) == 1 && prio == 3, "the message is gone");
	mq_unlink("/zdtm-mq-notify");
	test_done();
}
