/* mnl-getfamily FAMILY ROUNDS: a libmnl program written the way libmnl's
 * own examples are (genl-family-get.c): ROUNDS controller GETFAMILY
 * requests for FAMILY, each with NLM_F_ACK, each read with
 * mnl_socket_recvfrom into a MNL_SOCKET_BUFFER_SIZE buffer and
 * mnl_cb_run until the ACK. Prints one JSON line: the family's id, how
 * many ops it lists, the round trip in microseconds (after one warm-up
 * round). The tests run it under `genl-client exec` and alone; the
 * benchmark times it. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct answer {
	int family_id;
	int ops;
};

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct answer *answer = data;
	struct nlattr *attr, *op;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(attr)) {
		case CTRL_ATTR_FAMILY_ID:
			answer->family_id = mnl_attr_get_u16(attr);
			break;
		case CTRL_ATTR_OPS:
			answer->ops = 0;
			mnl_attr_for_each_nested(op, attr)
				answer->ops++;
			break;
		}
	}
	return MNL_CB_OK;
}

/* One request and its answers; 0 once the ACK came. */
static int round_trip(struct mnl_socket *nl, const char *family, unsigned int seq, struct answer *answer)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;
	unsigned int port = mnl_socket_get_portid(nl);
	int ret;

	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(struct genlmsghdr));
	genl->cmd = CTRL_CMD_GETFAMILY;
	genl->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, family);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	do {
		ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret <= 0)
			return -1;
		ret = mnl_cb_run(buf, ret, seq, port, data_cb, answer);
	} while (ret > 0);
	return ret;
}

int main(int argc, char **argv)
{
	struct answer answer = { -1, -1 };
	struct timespec start, end;
	struct mnl_socket *nl;
	unsigned int rounds, seq = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s FAMILY ROUNDS\n", argv[0]);
		return 2;
	}
	rounds = strtoul(argv[2], NULL, 10);
	nl = mnl_socket_open(NETLINK_GENERIC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("mnl_socket");
		return 1;
	}
	if (round_trip(nl, argv[1], seq++, &answer) < 0) {
		fprintf(stderr, "GETFAMILY %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (unsigned int i = 0; i < rounds; i++) {
		if (round_trip(nl, argv[1], seq++, &answer) < 0) {
			fprintf(stderr, "round %u: %s\n", i, strerror(errno));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	double us = (end.tv_sec - start.tv_sec) * 1e6 + (end.tv_nsec - start.tv_nsec) / 1e3;
	printf("{\"family_id\": %d, \"ops\": %d, \"rtt_us\": %.3f}\n", answer.family_id, answer.ops,
	       rounds ? us / rounds : 0.0);
	mnl_socket_close(nl);
	return 0;
}
