"""pyroute2_dump.py FAMILY VERSION DEV_GET DEV_ID DEV_NAME

Resolves FAMILY by name with pyroute2's GenericNetlinkSocket and dumps its
devices (simdev's, or a served family's: dpll's) with a small genlmsg
class, reading an id (u32) and a name (string): an unmodified pyroute2 program, run
under `genl-client exec`. The family's numbers come as arguments (the test
takes them from simdev's one definition). Prints the family id, then one
JSON line per device."""
import json
import sys

from pyroute2.netlink import NLM_F_DUMP, NLM_F_REQUEST, genlmsg
from pyroute2.netlink.generic import GenericNetlinkSocket

FAMILY = sys.argv[1]
VERSION, DEV_GET, DEV_ID, DEV_NAME = map(int, sys.argv[2:6])


class simdev_msg(genlmsg):
    # The attributes this script reads, at their numbers; the rest unnamed.
    nla_map = tuple(
        {DEV_ID: ('SIMDEV_ATTR_DEV_ID', 'uint32'), DEV_NAME: ('SIMDEV_ATTR_DEV_NAME', 'asciiz')}.get(
            number, ('SIMDEV_ATTR_%d' % number, 'none'))
        for number in range(max(DEV_ID, DEV_NAME) + 1))


def main():
    sock = GenericNetlinkSocket()
    sock.bind(FAMILY, simdev_msg)
    print(json.dumps({"family_id": sock.prid}), flush=True)
    msg = simdev_msg()
    msg['cmd'] = DEV_GET
    msg['version'] = VERSION
    for reply in sock.nlm_request(msg, msg_type=sock.prid, msg_flags=NLM_F_REQUEST | NLM_F_DUMP):
        print(json.dumps({"dev_id": reply.get_attr('SIMDEV_ATTR_DEV_ID'),
                          "dev_name": reply.get_attr('SIMDEV_ATTR_DEV_NAME')}), flush=True)
    sock.close()


if __name__ == '__main__':
    sys.exit(main())
