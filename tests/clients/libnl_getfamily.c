/* libnl-getfamily FAMILY ROUNDS: a libnl-genl program as most are
 * written: genl_connect, then genl_ctrl_resolve (a controller GETFAMILY
 * sent with nl_send_auto, so with NLM_F_ACK; its answer read by
 * nl_recvmsgs, which peeks at each datagram's size first, then the ACK
 * waited for), ROUNDS times. Prints one JSON line: the family's id and
 * the round trip in microseconds (after one warm-up round). The tests run
 * it under `genl-client exec` and alone; the benchmark times it. */
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	struct timespec start, end;
	struct nl_sock *sk;
	unsigned int rounds;
	int id, err;

	if (argc != 3) {
		fprintf(stderr, "usage: %s FAMILY ROUNDS\n", argv[0]);
		return 2;
	}
	rounds = strtoul(argv[2], NULL, 10);
	sk = nl_socket_alloc();
	if (!sk || (err = genl_connect(sk)) < 0) {
		fprintf(stderr, "genl_connect: %s\n", sk ? nl_geterror(err) : "no memory");
		return 1;
	}
	id = genl_ctrl_resolve(sk, argv[1]);
	if (id < 0) {
		fprintf(stderr, "genl_ctrl_resolve %s: %s\n", argv[1], nl_geterror(id));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (unsigned int i = 0; i < rounds; i++) {
		int again = genl_ctrl_resolve(sk, argv[1]);
		if (again != id) {
			fprintf(stderr, "round %u: %s\n", i, again < 0 ? nl_geterror(again) : "another id");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	double us = (end.tv_sec - start.tv_sec) * 1e6 + (end.tv_nsec - start.tv_nsec) / 1e3;
	printf("{\"family_id\": %d, \"rtt_us\": %.3f}\n", id, rounds ? us / rounds : 0.0);
	nl_socket_free(sk);
	return 0;
}
