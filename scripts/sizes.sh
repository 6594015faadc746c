#!/usr/bin/env bash
# Prints each Lambda bootstrap's size and zipped size: what `make sam-build` built
# (.aws-sam/build/<Function>/bootstrap, what a deploy uploads), else what `make release` built
# (target/lambda/<function>/bootstrap). A zip over 6 MB fails it (the limit docs/bench.md keeps).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import io, pathlib, sys, zipfile
rows = sorted(pathlib.Path(".aws-sam/build").glob("*/bootstrap")) or sorted(pathlib.Path("target/lambda").glob("*/bootstrap"))
if not rows:
    sys.exit("no bootstraps under .aws-sam/build or target/lambda: run `make sam-build` or `make release`")
print(f"{'function':<28} {'bootstrap':>10} {'zipped':>10}")
largest = 0
for path in rows:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(path, "bootstrap")
    mb = lambda n: f"{n / 1048576:.2f} MB"
    zipped = len(buf.getvalue())
    largest = max(largest, zipped)
    print(f"{path.parent.name:<28} {mb(path.stat().st_size):>10} {mb(zipped):>10}")
if largest > 6 * 1048576:
    sys.exit(f"sizes: a zip is {largest / 1048576:.2f} MB, over the 6 MB kept for every function")
PY
