"""`python -m sam_local.prepare` (`make sam-local`): what `sam local invoke` and `sam local start-api`
need on this machine, set up once; a second run checks it all in about a second.

1. Docker: the daemon answering (`docker info`); when it does not, Debian's `docker.io` installed if
   `dockerd` is missing, and the daemon started (by systemd where systemd runs, else detached, its
   log in /var/log/dockerd.log) with `--userland-proxy=false` (see `userland_proxy_off`).
2. Emulation, for functions whose architecture is not this machine's (arm64 on x86_64): Debian's
   `qemu-user-static` of version 8 or later (on bookworm, 10.0 from Debian's bookworm-backports:
   `install_qemu`), binfmt_misc mounted and its interpreter registered with the F flag, so that it
   works inside containers too.
3. Loopback from containers: SAM runs each function's container on Docker's default bridge (its
   `--docker-network host` is not host networking: samcli/local/docker/container.py only skips
   connecting the container to a network called "host"), while the local stack's moto listens on
   127.0.0.1 only. TCP from the bridge to the bridge's own gateway address is forwarded to the host's
   loopback (an iptables DNAT rule on that bridge, and route_localnet on it), so a function reaches
   `http://<gateway>:<port>` where the stack listens on 127.0.0.1:<port>. Only containers on that
   bridge can use it: the rule matches packets arriving on the bridge alone.
4. The Lambda base image SAM runs the template's functions in (runtime and architecture from
   template.yaml, or --arch): left alone when present, pulled when a registry serves it, else built
   here (sam_local.image) and tried once.

Every step says what it found or did; one that cannot be done stops with the reason (exit 1).
`problems()` checks the same without changing anything (the tests and the benchmark ask it)."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import platform
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from local_stack import template

from sam_local import image

DOCKERD_LOG = Path("/var/log/dockerd.log")
DAEMON_JSON = Path("/etc/docker/daemon.json")
BINFMT = Path("/proc/sys/fs/binfmt_misc")
BACKPORTS_SOURCE = Path("/etc/apt/sources.list.d/customers-api-bookworm-backports.sources")
MIN_QEMU = 8


class PrepareError(RuntimeError):
    """A step that cannot be done here; the message says why and what to do."""


def say(message: str) -> None:
    print(f"==> sam-local: {message}", flush=True)


def as_root(cmd: list[str], *, ask: bool = True) -> list[str]:
    """`cmd` as root: sudo when this is not root (`ask=False`: never a password prompt)."""
    return cmd if os.geteuid() == 0 else ["sudo", *([] if ask else ["-n"]), *cmd]


def apt_install(*packages: str, release: str | None = None) -> None:
    say(f"installing Debian's {', '.join(packages)}{f' from {release}' if release else ''} (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", *(["-t", release] if release else []), *packages]):
        result = subprocess.run(as_root(cmd), env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PrepareError(f"{' '.join(cmd)} failed: {(result.stderr or result.stdout).strip()[-2000:]}")


def tool(name: str) -> str | None:
    """A program on PATH or in the sbin folders (a non-root PATH may lack them)."""
    return shutil.which(name) or next((str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name)
                                       if p.exists()), None)


# --- 1. Docker -----------------------------------------------------------------------------------

def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def dockerd_pid() -> int | None:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if (proc / "comm").read_text().strip() == "dockerd":
                    return int(proc.name)
    return None


def userland_proxy_off() -> bool:
    """Docker publishes ports with iptables alone, not with docker-proxy. With docker-proxy a
    container's published port accepts connections before the runtime emulator inside listens, so SAM
    (which waits for the port to accept, then posts with 0.7 s of retries) gives up on a container
    whose emulator starts slowly, as under qemu: "No response from invoke container"."""
    with contextlib.suppress(OSError, ValueError):
        if json.loads(DAEMON_JSON.read_text()).get("userland-proxy") is False:
            return True
    pid = dockerd_pid()
    if pid is None:
        return False
    with contextlib.suppress(OSError):
        return "--userland-proxy=false" in (Path("/proc") / str(pid) / "cmdline").read_text().split("\0")
    return False


def ensure_docker(timeout: float = 90) -> str:
    if docker_answers():
        if not userland_proxy_off():
            say(f"warning: this Docker daemon publishes ports through docker-proxy; under emulation SAM may answer "
                f'"No response from invoke container". Restart it with --userland-proxy=false (or '
                f'"userland-proxy": false in {DAEMON_JSON}).')
        return "Docker answers"
    if tool("dockerd") is None or shutil.which("docker") is None:
        apt_install("docker.io")
    if Path("/run/systemd/system").exists():
        verb = "start"
        if not userland_proxy_off():  # (apt's install may have started it already: restarted to apply this)
            say(f"{DAEMON_JSON}: userland-proxy false (ports published by iptables alone)")
            settings = json.loads(DAEMON_JSON.read_text()) if DAEMON_JSON.exists() else {}
            settings["userland-proxy"] = False
            subprocess.run(as_root(["sh", "-c", f"mkdir -p {DAEMON_JSON.parent} && cat > {DAEMON_JSON}"]),
                           input=json.dumps(settings, indent=2) + "\n", text=True, check=True)
            verb = "restart"
        subprocess.run(as_root(["systemctl", verb, "docker"]), check=False)
        how = f"systemctl {verb} docker"
    else:
        dockerd = tool("dockerd")
        assert dockerd is not None
        # Detached (a session of its own): the daemon outlives this command, as a service would.
        subprocess.Popen(as_root(["sh", "-c", f'exec "{dockerd}" --userland-proxy=false >>{DOCKERD_LOG} 2>&1']),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
        how = f"dockerd --userland-proxy=false started, its log in {DOCKERD_LOG}"
    deadline = time.monotonic() + timeout
    while not docker_answers():
        if time.monotonic() > deadline:
            raise PrepareError(f"the Docker daemon did not answer within {timeout:.0f} s after {how}; "
                               f"see {DOCKERD_LOG} (Docker needs root, cgroups and overlay2 or vfs)")
        time.sleep(0.5)
    return f"Docker answers ({how})"


# --- 2. Emulation --------------------------------------------------------------------------------

def binfmt_entry(arch: image.Arch) -> Path:
    return BINFMT / f"qemu-{arch.machine}"


def emulation_ready(arch: image.Arch) -> bool:
    entry = binfmt_entry(arch)
    if not entry.exists():
        return False
    lines = entry.read_text().splitlines()
    flags = next((line.split(":", 1)[1] for line in lines if line.startswith("flags:")), "")
    return "enabled" in lines and "F" in flags


def qemu_major() -> int | None:
    """The major version of Debian's installed qemu-user-static (None: not installed, or no dpkg)."""
    if shutil.which("dpkg-query") is None:
        return None
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "qemu-user-static"], capture_output=True, text=True,
                         check=False)
    found = re.match(r"(?:\d+:)?(\d+)\.", out.stdout.strip()) if out.returncode == 0 else None
    return int(found.group(1)) if found else None


def debian_codename() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("VERSION_CODENAME="):
                return line.split("=", 1)[1].strip().strip('"')
    return ""


def install_qemu() -> str:
    """Debian's qemu-user-static, version 8 or later: bookworm's 7.2 runs Python 2 to 4 times slower
    than 10.0 (a handler's cold start: 47 s against 12 s on two busy cores), so on bookworm it comes
    from Debian's own bookworm-backports (10.0), added as an apt source if none names it."""
    if debian_codename() != "bookworm":
        apt_install("qemu-user-static")
        return "qemu-user-static"
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    if not any("bookworm-backports" in path.read_text() for path in sources if path.is_file()):
        say(f"apt source {BACKPORTS_SOURCE} (Debian's bookworm-backports, for QEMU 10)")
        text = (f"# make sam-local (tools/sam_local/prepare.py): QEMU 10 for arm64 emulation\nTypes: deb\n"
                f"URIs: {image.MIRROR}\nSuites: bookworm-backports\nComponents: main\n"
                "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
        subprocess.run(as_root(["sh", "-c", f"cat > {BACKPORTS_SOURCE}"]), input=text, text=True, check=True)
    apt_install("qemu-user-static", release="bookworm-backports")
    return "qemu-user-static from bookworm-backports"


def ensure_emulation(architecture: str) -> str:
    arch = image.ARCHES[architecture]
    if platform.machine() == arch.machine:
        return f"{architecture} runs natively here"
    installed = None
    major = qemu_major()
    if major is None or major < MIN_QEMU:
        installed = install_qemu()
    if emulation_ready(arch) and installed is None:
        return f"{architecture} emulated (QEMU {major}, binfmt_misc qemu-{arch.machine} registered earlier)"
    conf = Path(f"/usr/lib/binfmt.d/qemu-{arch.machine}.conf")
    if not conf.exists():
        raise PrepareError(f"{conf} is missing after installing qemu-user-static")
    if not (BINFMT / "register").exists():
        subprocess.run(as_root(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)]), check=True)
    if binfmt_entry(arch).exists():  # registered for an older QEMU: the F flag holds that binary open
        subprocess.run(as_root(["sh", "-c", f"echo -1 > {binfmt_entry(arch)}"]), check=True)
    subprocess.run(as_root(["sh", "-c", f"cat {conf} > {BINFMT / 'register'}"]), check=True)
    if not emulation_ready(arch):
        raise PrepareError(f"{binfmt_entry(arch)} is not enabled with the F flag after registering {conf}: "
                           f"{binfmt_entry(arch).read_text() if binfmt_entry(arch).exists() else 'missing'}")
    return f"{architecture} emulated (QEMU {qemu_major()}, {installed or 'qemu-user-static'}, registered now)"


# --- 3. Loopback from containers -----------------------------------------------------------------

def bridge() -> tuple[str, str]:
    """Docker's default bridge: its interface and its gateway address (the host, seen from a container)."""
    out = subprocess.run(["docker", "network", "inspect", "bridge"], capture_output=True, text=True, check=True)
    network = json.loads(out.stdout)[0]
    interface = network.get("Options", {}).get("com.docker.network.bridge.name", "docker0")
    configured = next((c["Gateway"] for c in network["IPAM"]["Config"] if c.get("Gateway")), None)
    return interface, configured or interface_address(interface)


def interface_address(interface: str) -> str:
    """The IPv4 address of a network interface (SIOCGIFADDR): Docker 20.10 leaves the default
    bridge's gateway out of `docker network inspect`."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        packed = fcntl.ioctl(probe.fileno(), 0x8915, struct.pack("256s", interface[:15].encode()))
    return socket.inet_ntoa(packed[20:24])


def _dnat_rule(interface: str, gateway: str) -> list[str]:
    return ["PREROUTING", "-i", interface, "-d", f"{gateway}/32", "-p", "tcp", "-j", "DNAT",
            "--to-destination", "127.0.0.1", "-m", "comment", "--comment", "customers-api sam-local"]


def ensure_loopback_from_containers() -> str:
    interface, gateway = bridge()
    route_localnet = Path(f"/proc/sys/net/ipv4/conf/{interface}/route_localnet")
    done = []
    if route_localnet.read_text().strip() != "1":
        subprocess.run(as_root(["sysctl", "-q", "-w", f"net.ipv4.conf.{interface}.route_localnet=1"]), check=True)
        done.append("route_localnet")
    iptables = tool("iptables")
    if iptables is None:
        raise PrepareError("iptables is missing (Debian's docker.io depends on it): apt-get install iptables")
    rule = _dnat_rule(interface, gateway)
    if subprocess.run(as_root([iptables, "-t", "nat", "-C", *rule]), capture_output=True, check=False).returncode:
        subprocess.run(as_root([iptables, "-t", "nat", "-A", *rule]), check=True)
        done.append("DNAT rule")
    state = f"added {' and '.join(done)}" if done else "set earlier"
    return f"containers reach the host's 127.0.0.1:<port> at {gateway}:<port> ({interface}; {state})"


def gateway_address() -> str:
    return bridge()[1]


# --- 4. The base image ---------------------------------------------------------------------------

def runtimes_in_template() -> set[tuple[str, str]]:
    """(runtime, architecture) of every function in template.yaml."""
    globals_ = template.load().get("Globals", {}).get("Function", {})
    found = set()
    for resource in template.resources("AWS::Serverless::Function").values():
        props = resource["Properties"]
        runtime = props.get("Runtime", globals_.get("Runtime"))
        for architecture in props.get("Architectures", globals_.get("Architectures", ["x86_64"])):
            found.add((str(runtime), str(architecture)))
    return found


def smoke_test(name: str, architecture: str) -> None:
    """The image runs its Python and imports its runtime (under emulation where it is foreign)."""
    result = subprocess.run(["docker", "run", "--rm", "--platform", image.ARCHES[architecture].docker_platform,
                             "--env", "PYTHONPATH=/var/runtime", "--entrypoint", "/var/lang/bin/python3.13", name, "-c",
                             "import platform, awslambdaric, boto3; print(platform.machine())"],
                            capture_output=True, text=True, check=False, timeout=120)
    if result.returncode != 0:
        raise PrepareError(f"{name} does not run: {(result.stderr or result.stdout).strip()[-2000:]}")


def ensure_images(wanted: set[tuple[str, str]], pull: bool) -> list[str]:
    results = []
    for runtime, architecture in sorted(wanted):
        if architecture not in image.ARCHES:
            raise PrepareError(f"architecture {architecture} is not one Lambda has")
        if tool("debootstrap") is None:
            apt_install("debootstrap")
        outcome = image.ensure(runtime, architecture, say, pull=pull)
        if outcome.endswith("built here"):
            smoke_test(image.sam_image_name(runtime, architecture), architecture)
            outcome += " (it runs: Python and awslambdaric import)"
        results.append(outcome)
    return results


def prune_stale_images() -> str:
    """SAM rebuilds its image (base + emulator + layer) at each invoke; when the layer changed, the
    image it replaces is left untagged. Those built on a base image of ours carry its label: removed."""
    out = subprocess.run(["docker", "image", "prune", "--force", "--filter", f"label={image.LABEL}"],
                         capture_output=True, text=True, check=False)
    freed = next((line for line in out.stdout.splitlines() if line.startswith("Total reclaimed space")), "")
    return "" if not freed or freed.endswith(" 0B") else f"SAM's untagged images on our base removed ({freed})"


def problems(architectures: list[str] | None = None) -> list[str]:
    """What is missing for sam local here (nothing is changed): [] when `make sam-local` has run."""
    if not docker_answers():
        return ["the Docker daemon does not answer (`docker info`)"]
    wanted = {(runtime, arch) for runtime, _ in runtimes_in_template() for arch in architectures} \
        if architectures else runtimes_in_template()
    found = []
    for runtime, architecture in sorted(wanted):
        arch = image.ARCHES[architecture]
        if platform.machine() != arch.machine and not emulation_ready(arch):
            found.append(f"{architecture} binaries cannot run here: no binfmt_misc entry qemu-{arch.machine}")
        name = image.sam_image_name(runtime, architecture)
        if image.image_label(name) is None:
            found.append(f"no image {name}")
    interface, gateway = bridge()
    route_localnet = Path(f"/proc/sys/net/ipv4/conf/{interface}/route_localnet")
    rule_missing = subprocess.run(as_root([tool("iptables") or "iptables", "-t", "nat", "-C",
                                           *_dnat_rule(interface, gateway)], ask=False), capture_output=True,
                                  check=False)
    if route_localnet.read_text().strip() != "1" or rule_missing.returncode:
        found.append(f"containers cannot reach the host's 127.0.0.1 at {gateway} (route_localnet, DNAT rule)")
    return found


def prepare(architectures: list[str], pull: bool = True) -> None:
    started = time.monotonic()
    wanted = {(runtime, arch) for runtime, _ in runtimes_in_template() for arch in architectures} \
        if architectures else runtimes_in_template()
    say(ensure_docker())
    for architecture in sorted({arch for _, arch in wanted}):
        say(ensure_emulation(architecture))
    say(ensure_loopback_from_containers())
    for outcome in ensure_images(wanted, pull):
        say(outcome)
    pruned = prune_stale_images()
    if pruned:
        say(pruned)
    say(f"ready in {time.monotonic() - started:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sam_local.prepare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-pull", action="store_true",
                        help="build a missing base image here without asking the registry first")
    parser.add_argument("--arch", action="append", choices=sorted(image.ARCHES), default=[],
                        help="the architectures to prepare for (repeatable; default: the template's)")
    args = parser.parse_args(argv)
    try:
        prepare(args.arch, pull=not args.no_pull)
    except (PrepareError, subprocess.CalledProcessError, RuntimeError) as exc:
        print(f"sam-local: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
