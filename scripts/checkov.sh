#!/usr/bin/env bash
# `make checkov`: checkov's CloudFormation checks on template.yaml and edge-waf.yaml, skipping exactly the findings in
# checkov-skips.txt, each of which must give its reason. Prints passed, failed and skipped counts.
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKOV=${VENV:-.venv}-checkov/bin/checkov
skips=()
while read -r id reason; do
  [[ -z "$id" || "$id" == \#* ]] && continue
  [ -n "$reason" ] || { echo "checkov: $id in checkov-skips.txt has no reason" >&2; exit 2; }
  skips+=("$id")
done <checkov-skips.txt
list=$(IFS=,; echo "${skips[*]}")
report=$(mktemp)
trap 'rm -f "$report"' EXIT
status=0
"$CHECKOV" -f template.yaml -f edge-waf.yaml --framework cloudformation --skip-download --skip-check "$list" --compact --quiet -o json >"$report" || status=$?
python3 - "$report" "${#skips[@]}" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
report = report[0] if isinstance(report, list) else report
summary, failed = report["summary"], report["results"]["failed_checks"]
for f in failed:
    print(f"checkov: FAILED {f['check_id']} {f['check_name']} on {f['resource']}")
print(f"checkov: {summary['passed']} passed, {summary['failed']} failed, {sys.argv[2]} checks skipped (checkov-skips.txt)")
PY
exit "$status"
