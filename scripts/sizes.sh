#!/usr/bin/env bash
# Prints each Lambda bootstrap's size and zipped size, after `cargo lambda build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import io, pathlib, zipfile
rows = sorted(p for p in pathlib.Path("target/lambda").glob("*/bootstrap"))
print(f"{'function':<16} {'bootstrap':>10} {'zipped':>10}")
for path in rows:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(path, "bootstrap")
    mb = lambda n: f"{n / 1048576:.2f} MB"
    print(f"{path.parent.name:<16} {mb(path.stat().st_size):>10} {mb(len(buf.getvalue())):>10}")
if not rows:
    print("no bootstraps under target/lambda: run `make release`")
PY
