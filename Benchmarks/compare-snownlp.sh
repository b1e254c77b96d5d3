#!/usr/bin/env bash
# Kefu's emotion reading against SnowNLP on the same labelled messages, in the same run:
# precision, recall and F1 of finding LABEL (default: angry) among the rest.
# Usage: Benchmarks/compare-snownlp.sh [FILE.jsonl [LABEL]]
# Default: SMP2020-EWECT valid from ../shared/data (internal evaluation data, never copied here).
#
# Kefu predicts LABEL when the emotion level is upset or above (the lexicon, and the lexicon
# raised by the learned handoff model: both are printed). SnowNLP — naive Bayes trained on
# shopping reviews — predicts it when its sentiment is below 0.5, its default cut-off.
# SnowNLP comes from PyPI into a virtualenv under .build/ on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-../shared/data/smp2020_ewect/valid.jsonl}
label=${2:-angry}
[ -f "$file" ] || { echo "skip: $file not found (the evaluation data lives in ../shared/data)"; exit 0; }
venv=.build/snownlp-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet snownlp
fi
swift build -c release --product kefu >/dev/null
echo "== kefu (kefu eval --kb . --test $file --emotion $label)"
.build/release/kefu eval --kb . --test "$file" --emotion "$label"
echo "== SnowNLP (sentiment < 0.5)"
"$venv/bin/python" - "$file" "$label" <<'PY'
import json, sys
from snownlp import SnowNLP
path, label = sys.argv[1], sys.argv[2]
tp = fp = fn = 0
for line in open(path, encoding="utf-8"):
    if not line.strip():
        continue
    row = json.loads(line)
    predicted = SnowNLP(row["text"]).sentiments < 0.5
    actual = row["label"] == label
    tp += predicted and actual
    fp += predicted and not actual
    fn += actual and not predicted
p = tp / (tp + fp) if tp + fp else 0.0
r = tp / (tp + fn) if tp + fn else 0.0
f = 2 * p * r / (p + r) if p + r else 0.0
print(f"snownlp                   precision {p:.3f}  recall {r:.3f}  F1 {f:.3f}")
PY
