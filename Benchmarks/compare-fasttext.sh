#!/usr/bin/env bash
# Kefu against fastText on the same train/test files, one message at a time, one thread.
# Usage: Benchmarks/compare-fasttext.sh [TRAIN.jsonl TEST.jsonl]
# Default: CLINC150 from ../shared/data (internal evaluation data, never copied here).
set -euo pipefail
cd "$(dirname "$0")/.."
train=${1:-../shared/data/clinc150/train.jsonl}
test=${2:-../shared/data/clinc150/test.jsonl}
[ -f "$train" ] || { echo "skip: $train not found (the evaluation data lives in ../shared/data)"; exit 0; }
python3 -c 'import fasttext' 2>/dev/null || pip install --quiet fasttext-wheel
swift build -c release --product kefu-bench >/dev/null
echo "== kefu"
kefu=$(.build/release/kefu-bench --train "$train" --test "$test" | tee /dev/stderr | tail -1)
echo "== fastText (fasttext-wheel, supervised, default settings)"
peer=$(python3 Benchmarks/fasttext_peer.py "$train" "$test")
echo "$peer"
python3 - "$kefu" "$peer" <<'PY'
import json, sys
k, f = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"kefu {k['messages_per_second']:.0f} msg/s (p99 {k['p99_us']:.1f} µs) vs fastText {f['messages_per_second']:.0f} msg/s (p99 {f['p99_us']:.1f} µs): {k['messages_per_second'] / f['messages_per_second']:.2f}x")
PY
