/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The MPI tests' workload: 1-D Jacobi iterations for u'' = 0 on a rod whose
 * ends are held at 1 and 0, split evenly over the ranks.
 *
 *	solver [-i ITERATIONS] [-n POINTS_PER_RANK] [-s SLEEP_MS] [-l START_LOG]
 *	       [-t TIME_LOG]
 *
 * Each iteration: halo exchange with both neighbours (MPI_Sendrecv), the
 * update, and MPI_Allreduce(MPI_MAX) of the largest change, which rank 0
 * prints with %.17g, flushed, one line per iteration: the maximum is exact
 * whatever the reduction order, so the output depends on nothing but the
 * arguments and the number of ranks. At the end rank 0 gathers the solution
 * and prints its sum, added up in rank order. SLEEP_MS (after each printed
 * line) lets a test checkpoint mid-run. With -l, rank 0 appends one line to
 * START_LOG when it starts (a restored run does not: it never starts).
 * With -t, rank 0 writes to TIME_LOG the seconds (MPI_Wtime) from a barrier
 * after MPI_Init to the end of the iterations: bench/mpi.sh's run time
 * without the launch, the wire-up and the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct args {
	long iters;
	long points;
	long sleep_ms;
	const char *start_log;
	const char *time_log;
};

static int parse(int argc, char **argv, struct args *a)
{
	int c;

	*a = (struct args){.iters = 100, .points = 1000};
	while ((c = getopt(argc, argv, "i:n:s:l:t:")) != -1) {
		switch (c) {
		case 'i':
			a->iters = atol(optarg);
			break;
		case 'n':
			a->points = atol(optarg);
			break;
		case 's':
			a->sleep_ms = atol(optarg);
			break;
		case 'l':
			a->start_log = optarg;
			break;
		case 't':
			a->time_log = optarg;
			break;
		default:
			return -1;
		}
	}
	return a->iters > 0 && a->points > 0 && a->sleep_ms >= 0 ? 0 : -1;
}

static void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void log_start(const char *path)
{
	char line[64];
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);

	if (fd < 0)
		return;
	snprintf(line, sizeof(line), "start %d\n", (int)getpid());
	if (write(fd, line, strlen(line)) < 0)
		perror("solver: start log");
	close(fd);
}

static void log_time(const char *path, double seconds)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror("solver: time log");
		return;
	}
	fprintf(f, "%.6f\n", seconds);
	if (fclose(f))
		perror("solver: time log");
}

/* One iteration on u[1..n] (u[0], u[n+1]: halos); returns the largest change. */
static double step(double *u, double *v, long n, int rank, int size)
{
	int left = rank > 0 ? rank - 1 : MPI_PROC_NULL;
	int right = rank < size - 1 ? rank + 1 : MPI_PROC_NULL;
	double d, dmax = 0;

	MPI_Sendrecv(&u[n], 1, MPI_DOUBLE, right, 0, &u[0], 1, MPI_DOUBLE, left, 0, MPI_COMM_WORLD,
		     MPI_STATUS_IGNORE);
	MPI_Sendrecv(&u[1], 1, MPI_DOUBLE, left, 1, &u[n + 1], 1, MPI_DOUBLE, right, 1,
		     MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	for (long i = 1; i <= n; i++) {
		v[i] = 0.5 * (u[i - 1] + u[i + 1]);
		d = v[i] > u[i] ? v[i] - u[i] : u[i] - v[i];
		if (d > dmax)
			dmax = d;
	}
	/* the rod's ends stay fixed */
	if (rank == 0)
		v[1] = 1.0;
	if (rank == size - 1)
		v[n] = 0.0;
	memcpy(&u[1], &v[1], (size_t)n * sizeof(double));
	return dmax;
}

/* Rank 0: the sum of the whole solution, in rank order. */
static void print_sum(const double *u, long n, int rank, int size)
{
	double local = 0, *all = NULL, sum = 0;

	for (long i = 1; i <= n; i++)
		local += u[i];
	if (rank == 0)
		all = calloc((size_t)size, sizeof(double));
	MPI_Gather(&local, 1, MPI_DOUBLE, all, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
	if (rank != 0)
		return;
	for (int r = 0; r < size; r++)
		sum += all[r];
	printf("sum %.17g\n", sum);
	fflush(stdout);
	free(all);
}

int main(int argc, char **argv)
{
	struct args a;
	int rank, size;
	double *u, *v, res, t0;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (parse(argc, argv, &a)) {
		if (rank == 0)
			fprintf(stderr,
				"usage: solver [-i ITERS] [-n POINTS] [-s SLEEP_MS] [-l LOG] "
				"[-t LOG]\n");
		MPI_Finalize();
		return 2;
	}
	u = calloc((size_t)a.points + 2, sizeof(double));
	v = calloc((size_t)a.points + 2, sizeof(double));
	if (!u || !v)
		MPI_Abort(MPI_COMM_WORLD, 1);
	/* a rough start, the same whatever the timing */
	for (long i = 1; i <= a.points; i++)
		u[i] = (double)((rank * a.points + i) * 37 % 101) / 101.0;
	if (rank == size - 1)
		u[a.points] = 0.0;
	if (rank == 0) {
		u[1] = 1.0;
		if (a.start_log)
			log_start(a.start_log);
		printf("ranks %d points %ld iterations %ld\n", size, a.points * size, a.iters);
		fflush(stdout);
	}
	if (a.time_log)
		MPI_Barrier(MPI_COMM_WORLD);
	t0 = MPI_Wtime();
	for (long it = 1; it <= a.iters; it++) {
		res = step(u, v, a.points, rank, size);
		MPI_Allreduce(MPI_IN_PLACE, &res, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
		if (rank == 0) {
			printf("iter %ld residual %.17g\n", it, res);
			fflush(stdout);
		}
		if (a.sleep_ms)
			msleep(a.sleep_ms);
	}
	if (rank == 0 && a.time_log)
		log_time(a.time_log, MPI_Wtime() - t0);
	print_sum(u, a.points, rank, size);
	free(u);
	free(v);
	MPI_Finalize();
	return 0;
}
