"""Resolves simdev by name with pyroute2's GenericNetlinkSocket and dumps
its devices with a small genlmsg class: an unmodified pyroute2 program,
run under `genl-client exec`. Prints one JSON line per device."""
import json
import sys

from pyroute2.netlink import NLM_F_DUMP, NLM_F_REQUEST, genlmsg
from pyroute2.netlink.generic import GenericNetlinkSocket

DEV_GET = 1


class simdev_msg(genlmsg):
    # The attributes this script reads, by their numbers in simdev.yaml.
    nla_map = (
        ('SIMDEV_ATTR_UNSPEC', 'none'),
        ('SIMDEV_ATTR_DEV_ID', 'uint32'),
        ('SIMDEV_ATTR_DEV_NAME', 'asciiz'),
    )


def main():
    sock = GenericNetlinkSocket()
    sock.bind('simdev', simdev_msg)
    print(json.dumps({"family_id": sock.prid}), flush=True)
    msg = simdev_msg()
    msg['cmd'] = DEV_GET
    msg['version'] = 1
    for reply in sock.nlm_request(msg, msg_type=sock.prid, msg_flags=NLM_F_REQUEST | NLM_F_DUMP):
        print(json.dumps({"dev_id": reply.get_attr('SIMDEV_ATTR_DEV_ID'),
                          "dev_name": reply.get_attr('SIMDEV_ATTR_DEV_NAME')}), flush=True)
    sock.close()


if __name__ == '__main__':
    sys.exit(main())
