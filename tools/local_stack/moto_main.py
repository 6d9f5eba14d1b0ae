"""`python -m local_stack.moto_main --port N --kms-key-file F` — moto's server (SQS and KMS for the
local stack) with one symmetric KMS key that survives restarts.

moto keeps everything in memory and gives a new key random material each time, so webhook secrets
encrypted in one run (they live in DynamoDB Local, which persists) could not be decrypted in the
next. The key's id and material are therefore kept in F (mode 0600, under .local/) and put back into
moto's KMS backend before the server starts. Local-development only: the deployed stack uses a real
KMS key (template.yaml, WebhookSecretsKey)."""

from __future__ import annotations

import argparse
import base64
import json
import os
from pathlib import Path

REGION = "us-east-1"


def restore_key(path: Path) -> str:
    from moto.core.models import DEFAULT_ACCOUNT_ID  # noqa: PLC0415
    from moto.kms.models import kms_backends  # noqa: PLC0415

    backend = kms_backends[DEFAULT_ACCOUNT_ID][REGION]
    key = backend.create_key(policy=None, key_usage="ENCRYPT_DECRYPT", key_spec="SYMMETRIC_DEFAULT",
                             description="local stack: webhook secrets", tags=None)
    if path.exists():
        saved = json.loads(path.read_text())
        del backend.keys[key.id]
        key.arn = key.arn.replace(key.id, saved["id"])
        key.id = saved["id"]
        key.key_material = base64.b64decode(saved["material"])
        backend.keys[key.id] = key
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"id": key.id, "material": base64.b64encode(key.key_material).decode()}))
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    return str(key.id)


def main() -> None:
    parser = argparse.ArgumentParser(prog="local_stack.moto_main")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kms-key-file", type=Path, required=True)
    args = parser.parse_args()
    restore_key(args.kms_key_file)
    from moto.server import main as moto_main  # noqa: PLC0415

    moto_main(["-H", "127.0.0.1", "-p", str(args.port)])


if __name__ == "__main__":
    main()
