#!/usr/bin/env bash
# Kefu against fastText on the same train/test files, one message at a time, one thread,
# in the same run. Usage: Benchmarks/compare-fasttext.sh [TRAIN.jsonl TEST.jsonl]
# Default: CLINC150 from ../shared/data (internal evaluation data, never copied here).
#
# fastText is measured twice: through model.predict(), the Python API as its users call it,
# and through the C++ binding that predict() wraps. fasttext-wheel's predict() needs
# NumPy < 2, so it runs in a virtualenv under .build/ (installed from PyPI on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
train=${1:-../shared/data/clinc150/train.jsonl}
test=${2:-../shared/data/clinc150/test.jsonl}
[ -f "$train" ] || { echo "skip: $train not found (the evaluation data lives in ../shared/data)"; exit 0; }
venv=.build/fasttext-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'numpy<2' fasttext-wheel
fi
swift build -c release --package-path Benchmarks >/dev/null
echo "== kefu"
kefu=$(Benchmarks/.build/release/kefu-bench --train "$train" --test "$test" | tee /dev/stderr | tail -1)
echo "== fastText (fasttext-wheel, supervised, default settings)"
api=$("$venv/bin/python" Benchmarks/fasttext_peer.py "$train" "$test" api)
binding=$("$venv/bin/python" Benchmarks/fasttext_peer.py "$train" "$test" binding)
echo "$api"; echo "$binding"
python3 - "$kefu" "$api" "$binding" <<'PY'
import json, sys
k = json.loads(sys.argv[1])
for peer in map(json.loads, sys.argv[2:]):
    print(f"kefu {k['messages_per_second']:.0f} msg/s (p99 {k['p99_us']:.1f} µs) vs {peer['system']} "
          f"{peer['messages_per_second']:.0f} msg/s (p99 {peer['p99_us']:.1f} µs): {k['messages_per_second'] / peer['messages_per_second']:.2f}x")
PY
