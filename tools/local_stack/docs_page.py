"""The browsable API reference: Swagger UI over docs/openapi.json, working offline. Its scripts and
styles come from the pinned npm package swagger-ui-dist (package.json; `npm ci` puts it in
node_modules/), never from a CDN, and the OpenAPI document is inlined in the page, so the page needs
nothing but its own folder, also opened from a file.

The local stack serves it at /docs/ (and the document at /openapi.json);

    python -m local_stack.docs_page --out build/docs     # `make docs`: a static copy to publish
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from local_stack.template import ROOT

SPEC_PATH = ROOT / "docs" / "openapi.json"
ASSETS_DIR = ROOT / "node_modules" / "swagger-ui-dist"
# What the page loads, by the name it is served under (the same in the package).
ASSETS = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8",
          "favicon-32x32.png": "image/png"}
# The reference groups operations by resource; the document says which resource a path is of.
TAGS = [("Customers", "Create, retrieve, update, delete, list and search customers", "/v1/customers"),
        ("Wallets", "A customer's Stellar and EVM wallets", "/v1/customers/{customer_id}/wallets"),
        ("Webhook endpoints", "Where events are delivered, signed", "/v1/webhook_endpoints"),
        ("Events", "Customer changes as events, newest first; re-sending them", "/v1/events")]

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} — API reference</title>
  <link rel="icon" type="image/png" href="favicon-32x32.png">
  <link rel="stylesheet" href="swagger-ui.css">
  <style>body {{ margin: 0; }} .swagger-ui .info {{ margin: 24px 0; }}</style>
</head>
<body>
  <noscript>This reference needs JavaScript; the raw document is openapi.json.</noscript>
  <div id="reference"></div>
  <script id="openapi" type="application/json">{spec}</script>
  <script src="swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      spec: JSON.parse(document.getElementById("openapi").textContent),
      dom_id: "#reference",
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      deepLinking: true,
      docExpansion: "list",
      defaultModelsExpandDepth: 0,
      validatorUrl: null,
      tryItOutEnabled: false
    }});
  </script>
</body>
</html>
"""


def tag_of(path: str) -> str:
    """The resource a path belongs to: the most specific TAGS prefix it starts with."""
    best = max((prefix for _, _, prefix in TAGS if path == prefix or path.startswith(prefix + "/")
                or path.startswith(prefix + "?")), key=len, default=None)
    return next((name for name, _, prefix in TAGS if prefix == best), "Other")


def with_tags(spec: dict[str, Any]) -> dict[str, Any]:
    """The document with each operation tagged by resource (for the reference's grouping only)."""
    tagged = copy.deepcopy(spec)
    for path, operations in tagged.get("paths", {}).items():
        for operation in operations.values():
            if isinstance(operation, dict) and not operation.get("tags"):
                operation["tags"] = [tag_of(path)]
    used = {t for ops in tagged.get("paths", {}).values() for op in ops.values() if isinstance(op, dict)
            for t in op.get("tags", [])}
    tagged["tags"] = [{"name": name, "description": text} for name, text, _ in TAGS if name in used]
    return tagged


def render(spec: dict[str, Any]) -> str:
    """The page, with the document inlined (`</` escaped so no string in it can end the script)."""
    inlined = json.dumps(with_tags(spec), separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
    title = html.escape(str(spec.get("info", {}).get("title", "API")))
    return PAGE.format(title=title, spec=inlined)


def missing_assets() -> list[str]:
    return [name for name in ASSETS if not (ASSETS_DIR / name).exists()]


def files(spec_path: Path = SPEC_PATH) -> dict[str, tuple[str, bytes]]:
    """The reference's files by name: index.html, openapi.json and the Swagger UI assets. Raises
    FileNotFoundError when the document or the npm package is missing."""
    missing = missing_assets()
    if missing:
        raise FileNotFoundError(f"{ASSETS_DIR} lacks {', '.join(missing)}: run `npm ci` (make does)")
    raw = spec_path.read_bytes()
    out = {"index.html": ("text/html; charset=utf-8", render(json.loads(raw)).encode()),
           "openapi.json": ("application/json", raw)}
    for name, content_type in ASSETS.items():
        out[name] = (content_type, (ASSETS_DIR / name).read_bytes())
    return out


def routes(spec_path: Path = SPEC_PATH) -> dict[str, tuple[str, bytes]]:
    """What the local stack serves: /docs/ and its files, and the document at /openapi.json."""
    made = files(spec_path)
    served = {f"/docs/{name}": document for name, document in made.items() if name != "index.html"}
    served["/docs/"] = made["index.html"]
    served["/docs/index.html"] = made["index.html"]
    served["/openapi.json"] = made["openapi.json"]
    return served


def write(out: Path, spec_path: Path = SPEC_PATH) -> list[Path]:
    """The static copy: every file the page needs, in `out` (replaced)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    written = []
    for name, (_, data) in files(spec_path).items():
        (out / name).write_bytes(data)
        written.append(out / name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="local_stack.docs_page", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "docs")
    args = parser.parse_args(argv)
    try:
        written = write(args.out)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in written) // 1024
    print(f"wrote {args.out}/ ({len(written)} files, {size} KiB): open {args.out / 'index.html'} "
          "or publish the folder as it is")
    return 0


if __name__ == "__main__":
    sys.exit(main())
