"""driver-sim from Python, as another project's pytest suite starts it:
`--port auto`, the ready line read from `--ready-fd`, the device checked in
the kernel with `ip -j` (`-n NAME` as root, where `--netns-name` works;
`nsenter` with the ready line's paths otherwise).

Run by tests/pytest.rs, which sets SIMDEV_DRIVER_SIM and SIMDEV_GENL_CLIENT.
"""

import json
import os
import subprocess

import pytest

DRIVER_SIM = os.environ["SIMDEV_DRIVER_SIM"]
GENL_CLIENT = os.environ["SIMDEV_GENL_CLIENT"]
CONFIG = '[[device]]\nname = "py0"\nports = 2\nmtu = 1400\n'


@pytest.fixture
def simulator(tmp_path):
    config = tmp_path / "simdev.toml"
    config.write_text(CONFIG)
    config.chmod(0o644)
    read_end, write_end = os.pipe()
    args = [DRIVER_SIM, "--config", str(config), "--port", "auto", "--ready-fd", str(write_end)]
    name = None
    if os.geteuid() == 0:
        name = f"simdev-pytest-{os.getpid()}"
        args += ["--netns-name", name]
    process = subprocess.Popen(args, pass_fds=[write_end], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_end)
    with os.fdopen(read_end) as ready:
        line = ready.readline()
    if not line.startswith("ready "):
        process.kill()
        raise RuntimeError("driver-sim did not start: " + process.stderr.read().decode())
    fields = dict(word.split("=", 1) for word in line.split()[1:])
    yield fields, name
    process.terminate()
    assert process.wait(timeout=30) == 0
    if name:
        assert not os.path.exists(f"/run/netns/{name}"), "the name goes with the simulator"


def ip(fields, name, *args):
    if name:
        command = ["ip", "-j", "-n", name, *args]
    else:
        command = ["nsenter"]
        if "userns" in fields:
            command += [f"--user={fields['userns']}", "--preserve-credentials"]
        command += [f"--net={fields['netns']}", "ip", "-j", *args]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def genl_client(fields, *args):
    command = [GENL_CLIENT, "--port", fields["port"], *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def test_the_ready_fd_names_a_serving_simulator(simulator):
    fields, _ = simulator
    assert fields["family"] == "simdev"
    devices = json.loads(genl_client(fields, "-j", "dev", "list"))
    assert [device["dev-name"] for device in devices] == ["py0"]


def test_the_kernel_shows_the_device_and_its_changes(simulator):
    fields, name = simulator
    links = {link["ifname"]: link for link in ip(fields, name, "link", "show")}
    assert links["py0p0"]["mtu"] == 1400 and links["py0p1"]["mtu"] == 1400
    genl_client(fields, "dev", "set", "py0", "mtu", "9000")
    links = {link["ifname"]: link for link in ip(fields, name, "link", "show")}
    assert links["py0p0"]["mtu"] == 9000 and links["py0p1"]["mtu"] == 9000
