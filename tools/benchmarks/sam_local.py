"""`sam local start-api` beside the local stack: the same create and retrieve requests through both,
in one run, against one local stack (its DynamoDB Local, moto and API key), and the cold start of
one function in its container (`sam local invoke`).

SAM runs each function in a Lambda container (sam_local: the base image, arm64 under QEMU on an
x86_64 machine), warm containers kept (`--warm-containers LAZY`); its first request to a function
starts the container and pays the cold start, which is measured apart. The requests alternate
between the two APIs (one create through SAM, one through the stack, …), so drift on the machine hits
both alike. `python -m benchmarks --only sam-local --out docs/benchmarks.md` runs this section alone."""

from __future__ import annotations

import contextlib
import json
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from sam_local import env_vars, prepare, run

from benchmarks import cost

HEADING = "## sam local beside the local stack"
COMMAND = ".venv/bin/python -m benchmarks --only sam-local --out docs/benchmarks.md"
EVENT = run.ROOT / "events" / "retrieve_customer.json"


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _timed(call: Callable[..., requests.Response], *args: Any, **kwargs: Any) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    response = call(*args, **kwargs)
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000, response


def _body(via: str, i: int) -> dict[str, Any]:
    return {"email": f"{via}{i}@example.com", "name": f"Bench {via} {i}", "metadata": {"i": str(i)}}


def _cold_invoke(built: Path, aimed: Path, secret: str, customer_id: str, folder: Path) -> run.Invocation:
    """`sam local invoke` of RetrieveCustomerFunction for a customer of the stack's account."""
    event = json.loads(EVENT.read_text())
    event["headers"]["authorization"] = f"Bearer {secret}"
    event["pathParameters"] = {"id": customer_id}
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/v1/customers/{customer_id}"
    path = folder / "retrieve.json"
    path.write_text(json.dumps(event))
    return run.invoke(built, "RetrieveCustomerFunction", path, aimed)


def measure(running_stack: Callable[..., contextlib.AbstractContextManager[dict[str, Any]]], requests_per_op: int,
            log: Callable[[str], None]) -> dict[str, Any]:
    """The figures, or {"skipped": why} where sam local cannot run here."""
    undeclared = [f"template.yaml does not declare {name}" for name in env_vars.undeclared_endpoints()]
    missing = [*prepare.problems(), *undeclared]
    if missing:
        return {"skipped": "; ".join(missing) + " (`make sam-local` prepares this machine)"}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-sam-local-") as tmp, running_stack() as info:
        folder = Path(tmp)
        log("sam-local: sam build")
        built = run.build(folder / "build", folder / "cache")
        if built.returncode != 0:
            raise RuntimeError(f"sam build failed:\n{built.stdout[-2000:]}{built.stderr[-2000:]}")
        template_path = folder / "build" / "template.yaml"
        document = env_vars.env_vars(info, prepare.gateway_address())
        # As the stack runs them: the per-account limit counts every request but refuses none.
        document["Parameters"]["RATE_LIMIT_PER_SECOND"] = "1000000"
        aimed = folder / "sam-env.json"
        aimed.write_text(json.dumps(document))
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {info['secret_key']}"
        with run.start_api(template_path, aimed, folder / "start-api.log") as api:
            log("sam-local: first requests (containers start)")
            first_create_ms, created = _timed(session.post, f"{api}/v1/customers", json=_body("samfirst", 0),
                                              timeout=600)
            first_retrieve_ms, _ = _timed(session.get, f"{api}/v1/customers/{created.json()['id']}", timeout=600)
            session.post(f"{info['api_url']}/v1/customers", json=_body("stackfirst", 0), timeout=60).raise_for_status()
            log(f"sam-local: {requests_per_op} creates and retrieves through each, alternating")
            timings: dict[str, dict[str, list[float]]] = {"sam": {"create": [], "retrieve": []},
                                                           "stack": {"create": [], "retrieve": []}}
            ids: dict[str, list[str]] = {"sam": [], "stack": []}
            bases = {"sam": api, "stack": info["api_url"]}
            for i in range(1, requests_per_op + 1):
                for via, base in bases.items():
                    ms, response = _timed(session.post, f"{base}/v1/customers", json=_body(via, i), timeout=600)
                    timings[via]["create"].append(ms)
                    ids[via].append(response.json()["id"])
            for i in range(requests_per_op):
                for via, base in bases.items():
                    ms, _ = _timed(session.get, f"{base}/v1/customers/{ids[via][i]}", timeout=600)
                    timings[via]["retrieve"].append(ms)
        log("sam-local: cold start of one function (sam local invoke)")
        cold = _cold_invoke(template_path, aimed, info["secret_key"], ids["stack"][0], folder)
        if not (isinstance(cold.answer, dict) and cold.answer.get("statusCode") == 200):
            raise RuntimeError(cold.why_not() if cold.answer is None else f"sam local invoke answered {cold.answer}")
    return {"timings": timings, "first_create_ms": first_create_ms, "first_retrieve_ms": first_retrieve_ms,
            "invoke_s": cold.seconds, "invoke_duration_ms": cold.duration_ms, "n": requests_per_op,
            "architectures": sorted(run.architectures()), "emulated": run.emulated(), "machine": platform.machine(),
            "overrides": run.local_parameter_overrides(),
            "seconds": time.perf_counter() - started}


def render(report: dict[str, Any], command: str = COMMAND) -> list[str]:
    lines = ["", HEADING, "", f"Produced by `{command}`."]
    if "skipped" in report:
        return [*lines, "", f"Not measured in this run: {report['skipped']}."]
    arch = ", ".join(report["architectures"])
    how = (f"{arch} under QEMU on this {report['machine']} machine" if report["emulated"]
           else f"{arch}, natively")
    overrides = " ".join(f"{k}={v}" for k, v in report.get("overrides", {}).items())
    if overrides:
        how += f"; `--parameter-overrides {overrides}`, as a cold start there outlasts Lambda's 10 s"
    lines += [
        "",
        f"The same JSON creates and retrieves, {report['n']} of each through each API, alternating, sequential, one "
        f"client, one local stack behind both (DynamoDB Local, moto). `sam local start-api` runs every function in "
        f"its Lambda container ({how}), containers kept warm after their first request; the local stack runs the "
        f"handlers in its own process. The figures below come from one run ({report['seconds']:.0f} s).",
        "",
        "| request | sam local start-api p50 (ms) | p99 (ms) | local stack p50 (ms) | p99 (ms) | p50 ratio "
        "| p99 ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for op, label in (("create", "POST /v1/customers"), ("retrieve", "GET /v1/customers/{id}")):
        sam, local = report["timings"]["sam"][op], report["timings"]["stack"][op]
        s50, s99, l50, l99 = (_percentile(sam, 50), _percentile(sam, 99), _percentile(local, 50),
                              _percentile(local, 99))
        lines.append(f"| {label} | {s50:.0f} | {s99:.0f} | {l50:.1f} | {l99:.1f} | **{s50 / l50:.1f}×** | "
                     f"{s99 / l99:.1f}× |")
    duration = report["invoke_duration_ms"]
    lines += [
        "",
        "Cold start of one function in its container:",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| first create through start-api (container start, runtime init, first invoke) | "
        f"{report['first_create_ms'] / 1000:.1f} s |",
        f"| first retrieve through start-api (another function: its own container) | "
        f"{report['first_retrieve_ms'] / 1000:.1f} s |",
        f"| `sam local invoke RetrieveCustomerFunction`, whole command (SAM starts, builds its image, runs the "
        f"container) | {report['invoke_s']:.1f} s |",
        f"| of which init and invoke inside the container (the emulator's REPORT Duration) | "
        f"{duration / 1000:.1f} s |" if duration is not None else "| REPORT Duration | not reported |",
        f"| warm retrieve through start-api, p50 (above) | {_percentile(report['timings']['sam']['retrieve'], 50):.0f}"
        " ms |",
        "",
        "This is why the local stack exists: each request through `sam local` crosses SAM's HTTP server, "
        "Docker's port and the runtime interface emulator, and runs the handler "
        + ("under QEMU's binary translation" if report["emulated"] else "in a container")
        + "; a function's first request starts its container and imports the handler there. "
        "`sam local` also runs no stream or queue pollers (no events, no webhooks).",
    ]
    return lines


def replace_section(document: str, section: list[str]) -> str:
    return cost.replace_section(document, section, HEADING)
