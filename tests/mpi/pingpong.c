/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/mpi.sh's point-to-point measurement: ranks 0 and 1 send a message
 * back and forth (MPI_Send, MPI_Recv), for each SIZE in bytes.
 *
 *	pingpong [-b BATCHES] SIZE...
 *
 * Per size: a few untimed round trips, then BATCHES (default 5) timed
 * batches of ROUNDS round trips each, ROUNDS = 2^28 / SIZE bytes' worth
 * (256 MiB each way), at most 5000 and at least 20. Rank 0 prints one line
 * per size:
 *
 *	size BYTES rounds ROUNDS lat_us MEDIAN MIN MAX mbps MEDIAN MIN MAX
 *
 * lat_us: half a round trip in microseconds (per batch: its time / ROUNDS /
 * 2); mbps: SIZE / that half round trip in 10^6 bytes per second; median,
 * smallest and largest over the batches. Other ranks, if any, only wait.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BATCHES 64
#define WARMUP	    10

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ROUNDS round trips of SIZE bytes between ranks 0 and 1; the seconds they took. */
static double batch(char *buf, long size, long rounds, int rank)
{
	double t0 = MPI_Wtime();

	for (long i = 0; i < rounds; i++) {
		if (rank == 0) {
			MPI_Send(buf, (int)size, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
			MPI_Recv(buf, (int)size, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		} else if (rank == 1) {
			MPI_Recv(buf, (int)size, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			MPI_Send(buf, (int)size, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
		}
	}
	return MPI_Wtime() - t0;
}

static long rounds_for(long size)
{
	long r = (1L << 28) / size;

	return r > 5000 ? 5000 : r < 20 ? 20 : r;
}

/* One size: warm up, time the batches, rank 0 prints the line. */
static void measure(long size, int batches, int rank)
{
	char *buf = malloc((size_t)size);
	long rounds = rounds_for(size);
	double lat[MAX_BATCHES], bw[MAX_BATCHES];

	if (!buf)
		MPI_Abort(MPI_COMM_WORLD, 1);
	memset(buf, 0x5a, (size_t)size);
	batch(buf, size, WARMUP, rank);
	for (int b = 0; b < batches; b++) {
		MPI_Barrier(MPI_COMM_WORLD);
		lat[b] = batch(buf, size, rounds, rank) / (double)rounds / 2;
		bw[b] = (double)size / lat[b] / 1e6;
		lat[b] *= 1e6;
	}
	free(buf);
	if (rank != 0)
		return;
	qsort(lat, (size_t)batches, sizeof(lat[0]), cmp_double);
	qsort(bw, (size_t)batches, sizeof(bw[0]), cmp_double);
	printf("size %ld rounds %ld lat_us %.2f %.2f %.2f mbps %.1f %.1f %.1f\n", size, rounds,
	       lat[batches / 2], lat[0], lat[batches - 1], bw[batches / 2], bw[0], bw[batches - 1]);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int rank, size, c, batches = 5, bad = 0;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	while ((c = getopt(argc, argv, "b:")) != -1) {
		if (c == 'b')
			batches = atoi(optarg);
		else
			bad = 1;
	}
	for (int i = optind; i < argc; i++)
		bad |= atol(argv[i]) <= 0 || atol(argv[i]) > (1L << 30);
	if (bad || optind == argc || size < 2 || batches < 1 || batches > MAX_BATCHES) {
		if (rank == 0)
			fprintf(stderr,
				"usage: pingpong [-b BATCHES (1-%d)] SIZE... (2 ranks or more)\n",
				MAX_BATCHES);
		MPI_Finalize();
		return 2;
	}
	for (int i = optind; i < argc; i++)
		measure(atol(argv[i]), batches, rank);
	MPI_Finalize();
	return 0;
}
