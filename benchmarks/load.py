"""Training beside busy processes: does it get its fair share of the cores, or stall?

Runs the same piece of training in a fresh process (so that OpenMP reads its environment
anew), on a quiet machine and beside two busy processes (each a Python loop holding a core),
with each OpenMP wait policy:

- "spin (torch's default)": OMP_WAIT_POLICY unset, torch imported before autoencoders;
- "PASSIVE": the policy ``import autoencoders`` set before torch loads until 2026-12-02;
- "PASSIVE, spin N": PASSIVE with GNU OpenMP's ``GOMP_SPINCOUNT=N`` (a thread spins N
  times before it sleeps; torch's pip wheels use GNU OpenMP, whose default without a
  policy is 300,000 and with PASSIVE 0); ``import autoencoders`` sets 10,000 since then;
- "one thread": torch.set_num_threads(1) (no thread waits for another), for comparison.

The work: ``steps`` Adam steps (batch 128) of a 784-400-200-784 model on MNIST images, the
measurement of the reliability issue (on the first 10,000 images); and one epoch of
``AutoEncoder.fit`` (the notebook architecture, the default recipe: Muon at batch 512) on
all 60,000 MNIST training images, through the public API. Prints a table and writes
benchmarks/results/load.md (and load.json). With two busy processes on two cores, a fair
share is about half the machine: a slowdown near 2× (up to 3× counting the run's own two
threads) is fair; 15× is a stall.

Usage: python benchmarks/load.py [--steps 200] [--repeats 2] [--spincounts N ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, os, sys, time
policy, work, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
if policy == "passive":
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.environ["GOMP_SPINCOUNT"] = "0"  # what PASSIVE means to GNU OpenMP
if policy.startswith("spin-"):
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.environ["GOMP_SPINCOUNT"] = policy.removeprefix("spin-")
if policy == "spin":
    import torch  # before autoencoders: the runtime keeps its spinning default
import numpy as np
from autoencoders import AutoEncoder
from autoencoders.datasets import load_mnist
import torch
if policy == "one":
    torch.set_num_threads(1)
X, _ = load_mnist("train", progress=False)
start = time.perf_counter()
if work == "steps":
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 400), torch.nn.ReLU(),
                                torch.nn.Linear(400, 200), torch.nn.ReLU(),
                                torch.nn.Linear(200, 784))
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    data = torch.from_numpy(X[:10000].reshape(10000, -1)).float() / 255
    for i in range(steps):
        xb = data[(i * 128) % 9000:(i * 128) % 9000 + 128]
        loss = torch.nn.functional.mse_loss(model(xb), xb)
        opt.zero_grad()
        loss.backward()
        opt.step()
else:
    AutoEncoder(epochs=1, random_state=0, verbose=0, device="cpu").fit(X)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "policy": os.environ.get("OMP_WAIT_POLICY"),
                  "spincount": os.environ.get("GOMP_SPINCOUNT")}))
"""

BUSY = "while True: pass"


def policy_name(policy: str) -> str:
    if policy.startswith("spin-"):
        return f"PASSIVE, spin {int(policy.removeprefix('spin-')):,}"
    return {"spin": "spin (torch's default)", "passive": "PASSIVE",
            "one": "one thread"}[policy]


def run(policy: str, work: str, steps: int) -> float:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("GOMP_SPINCOUNT", None)
    out = subprocess.run([sys.executable, "-c", CHILD, policy, work, str(steps)], env=env,
                         capture_output=True, text=True, check=True, timeout=3600)
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--spincounts", type=int, nargs="*", default=[10000, 30000],
                        help="GOMP_SPINCOUNT values to try beside PASSIVE")
    parser.add_argument("--works", nargs="+", choices=("steps", "fit"),
                        default=["steps", "fit"])
    args = parser.parse_args()
    policies = ["spin", "passive", *(f"spin-{n}" for n in args.spincounts), "one"]
    sys.path.insert(0, str(HERE))
    from _results import machine, write_results

    results = {"machine": machine(), "steps": args.steps, "rows": []}
    for work in args.works:
        for policy in policies:
            quiet = min(run(policy, work, args.steps) for _ in range(args.repeats))
            busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(2)]
            try:
                time.sleep(1.0)
                loaded = min(run(policy, work, args.steps) for _ in range(args.repeats))
            finally:
                for p in busy:
                    p.kill()
                    p.wait()
            row = {"work": work, "policy": policy, "quiet_s": quiet, "loaded_s": loaded,
                   "slowdown": loaded / quiet}
            results["rows"].append(row)
            print(f"{work:5s} {policy_name(policy):24s} quiet {quiet:7.2f} s  loaded "
                  f"{loaded:7.2f} s  slowdown {loaded / quiet:5.1f}x", flush=True)
    m = results["machine"]
    what = {"steps": f"{args.steps} Adam steps, 784-400-200-784, batch 128",
            "fit": "AutoEncoder.fit, 1 epoch of 60,000 MNIST images (default recipe)"}
    lines = ["# Training beside two busy processes", "",
             f"Machine: {m['cpu']}, {m['cores']} cores; {m['platform']}; {m['date']}; "
             f"torch {m['torch']}. Command: `{m['command']}`. Each time the best of "
             f"{args.repeats} runs in a fresh process; loaded: two Python loops holding a "
             "core each.", "",
             "| work | OpenMP wait policy | quiet s | beside 2 busy processes s | slowdown |",
             "| --- | --- | --- | --- | --- |"]
    for r in results["rows"]:
        lines.append(f"| {what[r['work']]} | {policy_name(r['policy'])} | {r['quiet_s']:.2f} | "
                     f"{r['loaded_s']:.2f} | {r['slowdown']:.1f}× |")
    by = {(r["work"], r["policy"]): r for r in results["rows"]}
    for work in args.works:
        spin = by[(work, "spin")]
        lines.append("")
        lines.append(f"{what[work]}, against spinning (quiet, loaded): " + "; ".join(
            f"{policy_name(p)} {by[(work, p)]['quiet_s'] / spin['quiet_s']:.2f}×, "
            f"{by[(work, p)]['loaded_s'] / spin['loaded_s']:.2f}×"
            for p in policies if p not in ("spin", "one")) + " the time.")
    write_results(HERE / "results" / "load.md", results, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
