#!/usr/bin/env bash
# The --html page in a real browser (Debian's headless Chromium): loads the
# page of the bundled samples with no console error, reads the totals from
# the DOM and compares them with the CSV reports of the same run; the same
# for samples/hostile, where nothing from the capture may run (no alert, no
# element the capture named). Saves docs/html-report.png for the README.
# Usage: tests/html_browser.sh BIN   (skips, exit 0, when chromium is absent
# unless CI is set)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/ftpcap}
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
  if [ -n "${CI:-}" ]; then echo "html_browser: chromium missing" >&2; exit 1; fi
  echo "html_browser: skipped (no chromium; apt-get install chromium)"; exit 0
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-extensions --no-first-run --user-data-dir="$OUT/profile")
pass=0 fail=0
check_run() { # name, captures...
  local name=$1; shift
  "$BIN" -q "$@" -o "$OUT/$name-i.csv" --sessions "$OUT/$name-s.csv" --transfers "$OUT/$name-t.csv" \
    --html "$OUT/$name.html" || [ $? -eq 1 ]
  # Console messages: Chromium logs them to stderr with --enable-logging.
  timeout 60 "$CHROME" "${flags[@]}" --enable-logging=stderr --v=0 --virtual-time-budget=5000 \
    --dump-dom "file://$OUT/$name.html" >"$OUT/$name.dom" 2>"$OUT/$name.log" || true
  if python3 tests/tools/html_check.py "$OUT/$name" "$@"; then pass=$((pass+1)); else fail=$((fail+1)); fi
}
check_run samples samples/real samples/transfers
check_run hostile samples/hostile
timeout 60 "$CHROME" "${flags[@]}" --hide-scrollbars --window-size=1300,1500 --virtual-time-budget=5000 \
  --screenshot="$OUT/shot.png" "file://$OUT/samples.html" >/dev/null 2>&1 || true
if [ -s "$OUT/shot.png" ]; then cp "$OUT/shot.png" docs/html-report.png; pass=$((pass+1)); else echo "no screenshot"; fail=$((fail+1)); fi
echo "html_browser: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
