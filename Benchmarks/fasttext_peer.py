#!/usr/bin/env python3
"""fastText on the same files as kefu-bench, measured the same way: train with
default supervised settings, then predict the test file one message at a time on
one thread and report messages/s, p50/p99 latency in microseconds, train time.

Usage: fasttext_peer.py TRAIN.jsonl TEST.jsonl [api|binding]
  api      model.predict(), the public Python API as users call it (needs NumPy < 2)
  binding  the C++ binding that predict() wraps, without its Python overhead
"""
import json, os, sys, tempfile, time

import fasttext  # PyPI: fasttext-wheel

def read(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]

def clean(text):
    return " ".join(text.replace("\n", " ").split())

train, test = read(sys.argv[1]), read(sys.argv[2])
with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
    for ex in train:
        f.write(f"__label__{ex['label']} {clean(ex['text'])}\n")
    path = f.name
start = time.perf_counter()
model = fasttext.train_supervised(input=path, verbose=0, thread=1)
train_seconds = time.perf_counter() - start
os.unlink(path)

mode = sys.argv[3] if len(sys.argv) > 3 else "api"
if mode == "api":
    predict = lambda text: [(p, l) for l, p in zip(*model.predict(text))]
else:
    # fasttext-wheel's predict() breaks under NumPy 2 (np.array(copy=False)); the binding it
    # wraps gives the same prediction with less Python overhead.
    predict = lambda text: model.f.predict(text + "\n", 1, 0.0, "strict")
texts = [clean(ex["text"]) for ex in test]
best = None
for _ in range(3):
    latencies = []
    t0 = time.perf_counter()
    for t in texts:
        s = time.perf_counter()
        predict(t)
        latencies.append((time.perf_counter() - s) * 1e6)
    total = time.perf_counter() - t0
    latencies.sort()
    q = lambda p: latencies[min(len(latencies) - 1, max(0, int(-(-p * len(latencies) // 1)) - 1))]
    round_ = {"system": f"fasttext-{mode}", "messages_per_second": len(texts) / total, "p50_us": q(0.5), "p99_us": q(0.99),
              "compile_seconds": train_seconds}
    if best is None or round_["messages_per_second"] > best["messages_per_second"]:
        best = round_
correct = sum(1 for ex in test if predict(clean(ex["text"]))[0][1] == "__label__" + ex["label"])
best["accuracy"] = correct / len(test)
print(json.dumps(best, sort_keys=True))
