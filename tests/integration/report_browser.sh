#!/usr/bin/env bash
# Opens report.html (from the full fixture) in headless Chromium: the page's
# status element must say every figure rendered and no script failed; keeps a
# screenshot in $MB_BUILD_DIR/report-check/report.png.
set -euo pipefail
B=${MB_BUILD_DIR:-build}
M=$B/membench
CHROME=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROME" ] || { echo "FAIL: chromium not on PATH (scripts/deps.sh installs it)"; exit 1; }
out=$B/report-check
rm -rf "$out"
mkdir -p "$out"
cp -r tests/fixtures/run-full "$out/run"
"$M" report -q "$out/run" >/dev/null
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking
	--disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars)
url="file://$(cd "$out/run" && pwd)/report.html"
timeout 120 "$CHROME" "${flags[@]}" --virtual-time-budget=5000 --dump-dom "$url" \
	>"$out/dom.html" 2>"$out/chromium.log" || { tail "$out/chromium.log"; exit 1; }
status=$(grep -o '<p id="mb-status"[^<]*' "$out/dom.html" || true)
echo "status: $status"
echo "$status" | grep -q 'data-ok="yes"' || { echo "FAIL: page did not render cleanly"; exit 1; }
echo "$status" | grep -q 'figures=8 broken=0 errors=0' || { echo "FAIL: $status"; exit 1; }
timeout 120 "$CHROME" "${flags[@]}" --window-size=1280,2400 --screenshot="$out/report.png" \
	"$url" >>"$out/chromium.log" 2>&1
[ "$(stat -c %s "$out/report.png")" -gt 20000 ] || { echo "FAIL: screenshot empty"; exit 1; }
echo "screenshot: $out/report.png"
