"""The Lambda base image that `sam local` runs the functions in, built here when no registry serves it.

SAM CLI runs a ZIP function in `public.ecr.aws/lambda/<runtime>:<version>-<arch>` (the pinned SAM
CLI names it: `sam_image_name`), with its own runtime interface emulator added on top and the layers
copied to /opt (samcli/local/docker/lambda_image.py: `FROM base`, `ADD aws-lambda-rie-<arch>
/var/rapid/`, `RUN mv … && chmod +x …`, `ADD <layer> /opt`). It starts the emulator, which starts
/var/runtime/bootstrap, which runs the handler named by `_HANDLER`. An image that satisfies that is:

- a Debian 13 (trixie) root file system for the function's architecture (debootstrap; under qemu
  for arm64 on an x86_64 machine), whose `python3.13` is CPython 3.13 like Lambda's python3.13, with
  /bin/sh, mv and chmod for SAM's own build step;
- /var/runtime: the runtime interface client (`awslambdaric`) and the boto3 that Lambda's runtime
  ships, as wheels for that architecture (requirements/sam-local-image.txt);
- /var/runtime/bootstrap and /lambda-entrypoint.sh (tools/sam_local/runtime/), the emulator in
  /usr/local/bin (from SAM's wheel), /var/lang/bin/python3.13, /var/task and /opt, and the
  environment variables of AWS's base images (LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR, PATH, …).

The image carries a label with the digest of that recipe: an image of ours with another digest is
rebuilt, and an image without the label (AWS's, pulled by SAM or by hand) is never touched."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_FILES = Path(__file__).resolve().parent / "runtime"
REQUIREMENTS = ROOT / "requirements" / "sam-local-image.txt"
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
LABEL = "customers-api.sam-local.recipe"
SUITE = "trixie"  # Debian 13; its python3.13 is CPython 3.13
PACKAGES = ("python3.13", "ca-certificates", "tzdata")
MIRROR = os.environ.get("SAM_LOCAL_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PYTHON_VERSION = "3.13"


@dataclass(frozen=True)
class Arch:
    lambda_name: str  # as the template and SAM say it
    debian: str  # debootstrap --arch
    wheel_platform: str  # pip --platform
    docker_platform: str
    machine: str  # platform.machine() of a host that runs it natively


ARCHES = {
    "arm64": Arch("arm64", "arm64", "manylinux2014_aarch64", "linux/arm64", "aarch64"),
    "x86_64": Arch("x86_64", "amd64", "manylinux2014_x86_64", "linux/amd64", "x86_64"),
}

Log = Callable[[str], None]


def sam_image_name(runtime: str, architecture: str) -> str:
    """The base image the pinned SAM CLI runs a ZIP function of this runtime and architecture in,
    e.g. public.ecr.aws/lambda/python:3.13-arm64 (asked of SAM itself, not guessed)."""
    code = ("import sys; from samcli.local.docker.lambda_image import LambdaImage, Runtime; "
            "print(f'{LambdaImage._INVOKE_REPO_PREFIX}/{Runtime.get_image_name_tag(sys.argv[1], sys.argv[2])}')")
    if not SAM_PYTHON.exists():
        raise RuntimeError(f"{SAM_PYTHON} is missing: run `make .venv-sam/.installed` (make install does)")
    out = subprocess.run([str(SAM_PYTHON), "-c", code, runtime, architecture], capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


def emulator_binary(architecture: str) -> Path:
    """SAM's runtime interface emulator for the architecture, from its wheel."""
    found = sorted((ROOT / ".venv-sam" / "lib").glob(f"python3*/site-packages/samcli/local/rapid/"
                                                     f"aws-lambda-rie-{architecture}"))
    if not found:
        raise RuntimeError(f"aws-lambda-rie-{architecture} not found in .venv-sam: run `make .venv-sam/.installed`")
    return found[-1]


def recipe_digest(architecture: str) -> str:
    """What the image is made from; a change to any of it means a rebuild."""
    digest = hashlib.sha256()
    for part in (SUITE, MIRROR, " ".join(PACKAGES), architecture, DOCKERFILE):
        digest.update(part.encode() + b"\0")
    for path in (REQUIREMENTS, *sorted(RUNTIME_FILES.iterdir()), emulator_binary(architecture)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def docker(*args: str, check: bool = True, capture: bool = True, timeout: float | None = None,
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=capture, text=True, check=check, timeout=timeout)


def image_label(name: str) -> str | None:
    """None when there is no such image; "" when it has no recipe label (not ours); else the digest."""
    result = docker("image", "inspect", "--format", f'{{{{index .Config.Labels "{LABEL}"}}}}', name, check=False)
    if result.returncode != 0:
        return None
    label = result.stdout.strip()
    return "" if label in ("", "<no value>") else label


def try_pull(name: str, log: Log, timeout: float = 900) -> bool:
    """The registry's own image, when a registry answers."""
    try:
        pulled = docker("pull", "--quiet", name, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"docker pull {name}: no answer within {timeout:.0f} s")
        return False
    if pulled.returncode == 0:
        return True
    log(f"docker pull {name}: {' '.join((pulled.stderr or pulled.stdout).strip().splitlines()[-1:])}")
    return False


DOCKERFILE = """FROM scratch
ADD rootfs.tar /
ENV LANG=C.UTF-8 \\
    TZ=:/etc/localtime \\
    PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin \\
    LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib \\
    LAMBDA_TASK_ROOT=/var/task \\
    LAMBDA_RUNTIME_DIR=/var/runtime \\
    AWS_EXECUTION_ENV=AWS_Lambda_python3.13
WORKDIR /var/task
ENTRYPOINT ["/lambda-entrypoint.sh"]
"""


def build(name: str, architecture: str, log: Log) -> None:
    """Build the image from Debian packages and PyPI wheels, and tag it `name` (as root: debootstrap
    makes a root-owned tree, which pip and tar then write to and read)."""
    if os.geteuid() != 0:
        raise RuntimeError(f"building {name} needs root (debootstrap): run `sudo make sam-local` once")
    arch = ARCHES[architecture]
    digest = recipe_digest(architecture)
    with tempfile.TemporaryDirectory(prefix="sam-local-image-") as work:
        rootfs, context = Path(work) / "rootfs", Path(work) / "context"
        context.mkdir()
        log(f"debootstrap {SUITE} ({arch.debian}, minbase + {', '.join(PACKAGES)}) from {MIRROR}: a few minutes, "
            "once")
        debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
        subprocess.run([debootstrap, "--variant=minbase", f"--arch={arch.debian}", f"--include={','.join(PACKAGES)}",
                        SUITE, str(rootfs), MIRROR], check=True, stdout=subprocess.DEVNULL)
        log(f"/var/runtime: {REQUIREMENTS.relative_to(ROOT)} as {arch.wheel_platform} wheels")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                        "--only-binary=:all:", "--platform", arch.wheel_platform, "--implementation", "cp",
                        "--python-version", PYTHON_VERSION, "--target", str(rootfs / "var" / "runtime"),
                        "-r", str(REQUIREMENTS)], check=True)
        _lay_out_runtime(rootfs, architecture)
        _trim(rootfs)
        log("docker build")
        subprocess.run(["tar", "--numeric-owner", "--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*",
                        "-C", str(rootfs), "-cf", str(context / "rootfs.tar"), "."], check=True)
        (context / "Dockerfile").write_text(DOCKERFILE + f'LABEL "{LABEL}"="{digest}"\n')
        docker("build", "--quiet", "--platform", arch.docker_platform, "--tag", name, str(context))


def _lay_out_runtime(rootfs: Path, architecture: str) -> None:
    """The paths of AWS's base images: the runtime in /var/runtime, Python in /var/lang/bin, the
    emulator in /usr/local/bin, the entrypoint at /; /var/task and /opt for the code and layers."""
    for name in ("bootstrap", "lambda-entrypoint.sh"):
        target = rootfs / ("var/runtime" if name == "bootstrap" else "") / name
        shutil.copyfile(RUNTIME_FILES / name, target)
        target.chmod(0o755)
    rie = rootfs / "usr" / "local" / "bin" / "aws-lambda-rie"
    shutil.copyfile(emulator_binary(architecture), rie)
    rie.chmod(0o755)
    lang_bin = rootfs / "var" / "lang" / "bin"
    lang_bin.mkdir(parents=True, exist_ok=True)
    for link in (f"python{PYTHON_VERSION}", "python3", "python"):
        (lang_bin / link).symlink_to(f"/usr/bin/python{PYTHON_VERSION}")
    for folder in ("var/task", "opt"):
        (rootfs / folder).mkdir(parents=True, exist_ok=True)


def _trim(rootfs: Path) -> None:
    """What a function never reads: downloaded packages, package lists, documentation, translations."""
    for pattern in ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*", "usr/share/doc/*", "usr/share/man/*",
                    "usr/share/info/*", "usr/share/locale/*"):
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def ensure(runtime: str, architecture: str, log: Log, *, pull: bool = True) -> str:
    """The base image SAM wants, present: kept if it is AWS's or ours and current, pulled when a
    registry serves it, else built here. Returns what was done."""
    name = sam_image_name(runtime, architecture)
    label = image_label(name)
    if label == "":
        return f"{name}: present (not built here), left as it is"
    if label == recipe_digest(architecture):
        return f"{name}: built here earlier, current"
    if label is None and pull and try_pull(name, log):
        return f"{name}: pulled from the registry"
    reason = "absent, and no registry serves it" if label is None else f"built here from an older recipe ({label})"
    log(f"{name}: {reason}: building it from Debian {SUITE} and PyPI")
    build(name, architecture, log)
    return f"{name}: built here"
