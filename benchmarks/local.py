"""Local models: agentkit's two in-process engines, llama.cpp's own server, the bare binding, smolagents.

Runs, side by side, on the embedded SmolLM2-135M-Instruct GGUF, greedy, on CPU with the same number
of threads everywhere (``--threads``, default 1: this machine is shared):

- ``transformers``: agentkit's transformers engine (``local``: the GGUF dequantized to fp32);
- ``llama``: agentkit's llama.cpp engine in-process (``local@llama``: the quantized GGUF);
- ``server``: llama.cpp's own OpenAI-compatible server (``python -m llama_cpp.server``, started here)
  through agentkit's OpenAI backend;
- ``direct``: ``llama_cpp.Llama`` called directly on the same token ids (the physical reference);
- ``smolagents``: smolagents' ``TransformersModel`` on the same weights (growth and BFCL, when
  ``.venv-peers`` exists).

Parts:

(1) speed: prefill tokens/s (a one-token request on a ~120-token prompt no cache holds) and decode
tokens/s (the extra time of a request for up to 128 tokens, per extra token), medians of 5 runs.
``llama`` and ``direct`` run in one process, alternating run by run, so the machine's load weighs on
both alike; load time is a fresh ``local@llama`` backend after the file's first check. Target:
``llama`` decode at least 0.9x ``direct``.

(2) growth: the scripted 10-step conversation of ``localbench/workload.py`` (each step the model is
called on the whole conversation, 32 new tokens at most, then the same ``read_page`` call and a
~230-token page are appended). Wall time; prompt tokens run through the model against the unique
tokens (the prefix tree of all prompts). Targets: ``llama`` at least 3x faster than ``transformers``,
prefilled/unique at most 1.1. ``naive`` rows re-prefill every prompt (``reuse_cache=False``).

(3) bfcl: BFCL simple_python (all 400 cases, from the ``bfcl-eval`` package), run and scored by
``agentkit eval --bfcl simple_python --model M`` for each engine (``local@transformers``,
``local@llama``, ``openai:smollm2@URL``): the command users run, so one scorer for every figure.
Targets: ``llama`` accuracy within 2 points of ``transformers``, every reply exactly one call, wall
time at least 3x lower. smolagents (``ToolCallingAgent``'s first step, its calls scored by the same
``agentkit.eval`` scorer) takes ~20 s a case, so it runs on the first ``--peer-limit`` cases.

Each run is its own interpreter; per-case and per-step results go to benchmarks/results/ (gitignored).

    make bench-local                                          # everything (takes hours here)
    .venv/bin/python benchmarks/local.py --part speed
    .venv/bin/python benchmarks/local.py --part bfcl --limit 20 --engines transformers,llama
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))

ALL_ENGINES = ("transformers", "llama", "server", "direct", "smolagents")
FAILURES: list[str] = []


def _failed(label: str, run: dict[str, Any]) -> str:
    FAILURES.append(f"{label}: {run['failed']}")
    return "failed (see below)"


def _worker(python: str, module: str, args: list[str], out: Path) -> dict[str, Any]:
    command = [python, "-m", f"benchmarks.localbench.{module}", *args, "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-6:])
        return {"failed": f"exit status {done.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _agentkit(part: str, engine: str, extra: list[str], base_url: str | None, threads: int) -> dict[str, Any]:
    args = [part, "--engine", engine, "--threads", str(threads), *extra]
    if engine == "server":
        if base_url is None:
            return {"failed": "llama.cpp's server did not start"}
        args += ["--base-url", base_url]
    tag = "-".join([part, engine, *[a.strip("-") for a in extra]])
    return _worker(sys.executable, "agentkit_worker", args, RESULTS / f"local-{tag}.json")


def _model_dir() -> str:
    from agentkit.backends.local.files import embedded_gguf
    from agentkit.backends.transformers.loading import gguf_cache_dir

    return str(gguf_cache_dir(embedded_gguf()))


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def _verdict(label: str, ok: bool, detail: str) -> str:
    return f"target {label}: {'met' if ok else 'NOT met'} ({detail})"


# -- speed ---------------------------------------------------------------------------------------------


def speed(engines: list[str], threads: int, base_url: str | None) -> str:
    runs: dict[str, dict[str, Any]] = {}
    for engine in engines:
        if engine in ("transformers", "server"):
            runs[engine] = _agentkit("speed", engine, [], base_url, threads)
    if "llama" in engines or "direct" in engines:  # measured together, run by run, in one process
        out = RESULTS / "local-speed-llama-direct.json"
        pair = _worker(sys.executable, "llama_direct", ["speed", "--threads", str(threads)], out)
        for engine in ("llama", "direct"):
            if engine in engines:
                runs[engine] = pair if "failed" in pair else pair[engine]
        if "llama" in runs and "failed" not in runs["llama"]:
            from agentkit.backends.local import local_backend

            started = time.perf_counter()
            local_backend(engine="llama", threads=threads).ensure_loaded()
            runs["llama"]["load_s"] = time.perf_counter() - started
    direct = runs.get("direct", {})
    rows = []
    labels = {
        "transformers": "agentkit transformers (fp32)",
        "llama": "agentkit llama.cpp in-process",
        "server": "llama.cpp server via agentkit OpenAI backend",
        "direct": "llama_cpp.Llama called directly",
    }
    for engine, run in runs.items():
        if "failed" in run:
            rows.append([labels[engine], _failed(f"speed {engine}", run), "", "", "", ""])
            continue
        ratio = f"{run['decode_tps'] / direct['decode_tps']:.2f}x" if "decode_tps" in direct else "-"
        load = f"{run['load_s']:.2f}" if run.get("load_s") is not None else "-"
        rows.append(
            [
                labels[engine],
                str(run["prompt_tokens"]),
                f"{run['prefill_tps']:.0f}",
                f"{run['decode_tps']:.1f}",
                ratio,
                load,
            ]
        )
    header = ["run", "prompt tokens", "prefill tok/s", "decode tok/s", "decode / direct", "load s"]
    text = _table(header, rows)
    if "decode_tps" in runs.get("llama", {}) and "decode_tps" in direct:
        ratio = runs["llama"]["decode_tps"] / direct["decode_tps"]
        text += "\n" + _verdict("in-process decode >= 0.9x direct", ratio >= 0.9, f"{ratio:.2f}x")
    return text


# -- growth --------------------------------------------------------------------------------------------


def _growth_run(key: str, peers_python: str | None, threads: int, base_url: str | None) -> dict[str, Any]:
    engine, _, naive = key.partition("-")
    if engine in ("transformers", "llama", "server"):
        return _agentkit("growth", engine, ["--naive"] if naive else [], base_url, threads)
    if engine == "direct":
        args = ["growth", "--threads", str(threads)]
        return _worker(sys.executable, "llama_direct", args, RESULTS / "local-growth-direct.json")
    assert peers_python is not None
    args = ["growth", "--model-dir", _model_dir(), "--threads", str(threads)]
    return _worker(peers_python, "smolagents_worker", args, RESULTS / "local-growth-smolagents.json")


_GROWTH_LABELS = {
    "transformers": "agentkit transformers (KV reuse)",
    "transformers-naive": "agentkit transformers, reuse_cache=False",
    "llama": "agentkit llama.cpp in-process (KV reuse)",
    "llama-naive": "agentkit llama.cpp, reuse_cache=False",
    "server": "llama.cpp server via OpenAI backend",
    "direct": "llama_cpp.Llama directly",
    "smolagents": "smolagents TransformersModel",
}


def growth(engines: list[str], peers_python: str | None, threads: int, base_url: str | None) -> str:
    keys = [k for k in _GROWTH_LABELS if k.partition("-")[0] in engines]
    if peers_python is None and "smolagents" in keys:
        keys.remove("smolagents")
    runs = {key: _growth_run(key, peers_python, threads, base_url) for key in keys}
    base = runs.get("transformers", {})
    rows = []
    for key, run in runs.items():
        label = _GROWTH_LABELS[key]
        if "failed" in run:
            rows.append([label, _failed(f"growth {key}", run), *[""] * 5])
            continue
        faster = f"{base['wall_s'] / run['wall_s']:.2f}x" if "wall_s" in base else "-"
        prefilled, unique = run.get("tokens_prefilled"), run.get("unique_tokens")
        ratio = f"{prefilled / unique:.2f}" if prefilled and unique else "-"
        generated = str(run.get("tokens_generated") or "-")
        rows.append(
            [
                label,
                f"{run['wall_s']:.1f}",
                faster,
                str(prefilled or "-"),
                str(unique or "-"),
                ratio,
                generated,
            ]
        )
    header = ["run", "wall s", "transformers/run", "prefilled", "unique", "prefilled/unique", "generated"]
    text = _table(header, rows)
    llama = runs.get("llama", {})
    if "wall_s" in llama and "wall_s" in base:
        speedup = base["wall_s"] / llama["wall_s"]
        text += "\n" + _verdict(
            "llama growth >= 3x faster than transformers", speedup >= 3, f"{speedup:.2f}x"
        )
    if llama.get("tokens_prefilled") and llama.get("unique_tokens"):
        share = llama["tokens_prefilled"] / llama["unique_tokens"]
        text += "\n" + _verdict("llama prefilled/unique <= 1.1", share <= 1.1, f"{share:.2f}")
    return text


# -- BFCL ----------------------------------------------------------------------------------------------


def _bfcl_row(label: str, cases: list[dict[str, Any]], wall: float | None) -> list[str]:
    correct = sum(bool(c["passed"]) for c in cases)
    one_call = sum(len(c["calls"]) == 1 for c in cases)
    per_case = f"{wall / len(cases):.2f}" if wall is not None and cases else "-"
    pct = f"{100 * correct / len(cases):.1f}%" if cases else "-"
    total = f"{wall:.0f}" if wall is not None else "-"
    return [label, str(len(cases)), str(correct), pct, str(one_call), total, per_case]


def _common_cases(
    runs: dict[str, dict[str, Any]], ours: str, base: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float, float]:
    """Both engines' results on the cases both ran, and each one's wall time there (its whole run's
    when it ran exactly those cases, else the sum of its per-case times)."""
    mine, theirs = runs[ours]["cases"], runs[base]["cases"]
    ids = {c["id"] for c in mine} & {c["id"] for c in theirs}
    a = [c for c in mine if c["id"] in ids]
    b = [c for c in theirs if c["id"] in ids]

    def wall(run: dict[str, Any], cases: list[dict[str, Any]]) -> float:
        every = len(cases) == len(run["cases"])
        return float(run["wall_s"]) if every else float(sum(c["seconds"] for c in cases))

    return a, b, wall(runs[ours], a), wall(runs[base], b)


BFCL_MODELS = {"transformers": "local@transformers", "llama": "local@llama", "server": "openai:smollm2@{url}"}
"""The model string ``agentkit eval`` is given for each engine (the server's base URL filled in)."""


def eval_out(engine: str, limit: int | None) -> Path:
    return RESULTS / (f"eval-bfcl-simple_python-{engine}" + (f"-first{limit}" if limit is not None else ""))


def agentkit_eval(
    engine: str, limit: int | None, threads: int, base_url: str | None, resume: bool
) -> dict[str, Any]:
    """``agentkit eval --bfcl simple_python --model M`` for one engine (the command users run, so one
    scorer for every figure); its per-case results."""
    if engine == "server" and base_url is None:
        return {"failed": "llama.cpp's server did not start"}
    out = eval_out(engine, limit)
    if not resume and out.exists():
        shutil.rmtree(out)  # a benchmark measures afresh unless asked to resume
    model = BFCL_MODELS[engine].format(url=base_url)
    command = [sys.executable, "-m", "agentkit", "eval", "--bfcl", "simple_python", "--model", model]
    command += ["--out", str(out), "--quiet", *(["--limit", str(limit)] if limit is not None else [])]
    env = {**os.environ, "AGENTKIT_TORCH_THREADS": str(threads), "AGENTKIT_LLAMA_THREADS": str(threads)}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-6:])
        return {"failed": f"agentkit eval exit status {done.returncode}: {tail}"}
    cases = [json.loads(line) for line in (out / "cases.jsonl").read_text().splitlines()]
    return {"wall_s": time.perf_counter() - started, "cases": cases, "report": str(out / "report.html")}


def bfcl(
    engines: list[str],
    limit: int | None,
    peer_limit: int | None,
    peers_python: str | None,
    threads: int,
    base_url: str | None,
    resume: bool = False,
) -> str:
    labels = {
        "transformers": "agentkit transformers",
        "llama": "agentkit llama.cpp in-process",
        "server": "llama.cpp server via OpenAI backend",
    }
    runs: dict[str, dict[str, Any]] = {}
    rows: list[list[str]] = []
    for engine in engines:
        if engine not in labels:
            continue
        run = runs[engine] = agentkit_eval(engine, limit, threads, base_url, resume)
        if "failed" in run:
            rows.append([labels[engine], _failed(f"bfcl {engine}", run), *[""] * 5])
        else:
            rows.append(_bfcl_row(labels[engine], run["cases"], run["wall_s"]))
    if "smolagents" in engines and peers_python:
        n = peer_limit if peer_limit is not None else limit
        args = [
            "bfcl",
            "--model-dir",
            _model_dir(),
            *(["--limit", str(n)] if n is not None else []),
            "--threads",
            str(threads),
        ]
        theirs = _worker(peers_python, "smolagents_worker", args, RESULTS / "local-bfcl-smolagents.json")
        if "failed" in theirs:
            rows.append(["smolagents", _failed("smolagents bfcl", theirs), *[""] * 5])
        else:
            subset = {c["id"] for c in theirs["cases"]}
            for engine in ("transformers", "llama"):
                cases = runs.get(engine, {}).get("cases", [])
                if len(cases) > len(subset):
                    same = [c for c in cases if c["id"] in subset]
                    rows.append(_bfcl_row(f"{labels[engine]}, first {len(subset)}", same, None))
            rows.append(_bfcl_row("smolagents (ToolCallingAgent step)", theirs["cases"], theirs["wall_s"]))
    header = ["engine", "cases", "correct", "accuracy", "exactly one call", "wall s", "s/case"]
    text = _table(header, rows)
    if "cases" in runs.get("llama", {}) and "cases" in runs.get("transformers", {}):
        ours, base, ours_s, base_s = _common_cases(runs, "llama", "transformers")
        n = len(ours)
        on = f"on the {n} cases both ran"
        gap = 100 * (sum(bool(c["passed"]) for c in base) - sum(bool(c["passed"]) for c in ours)) / max(n, 1)
        text += "\n" + _verdict(
            "llama accuracy within 2 points of transformers", gap <= 2, f"{-gap + 0.0:+.1f} points {on}"
        )
        every = runs["llama"]["cases"]
        single = sum(len(c["calls"]) == 1 for c in every)
        text += "\n" + _verdict(
            "every llama reply exactly one call", single == len(every), f"{single}/{len(every)}"
        )
        speedup = base_s / ours_s
        text += "\n" + _verdict("llama BFCL wall time >= 3x lower", speedup >= 3, f"{speedup:.2f}x {on}")
    for engine, run in runs.items():
        if "report" in run:
            text += f"\nagentkit eval's report ({engine}): {run['report']}"
    return text


@contextlib.contextmanager
def _server(engines: list[str], threads: int) -> Iterator[str | None]:
    if "server" not in engines:
        yield None
        return
    from agentkit.backends.local.files import embedded_gguf
    from agentkit.backends.local.gguf_file import check_gguf
    from benchmarks.localbench.server import llama_server

    model = embedded_gguf()
    n_ctx = check_gguf(model).context_length or 2048
    try:
        with llama_server(model, threads=threads, n_ctx=n_ctx, log=RESULTS / "llama-server.log") as url:
            yield url
    except RuntimeError as exc:
        FAILURES.append(f"server: {exc}")
        yield None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=["speed", "growth", "bfcl", "all"], default="all")
    parser.add_argument(
        "--engines", default=",".join(ALL_ENGINES), help=f"comma-separated, of {', '.join(ALL_ENGINES)}"
    )
    parser.add_argument("--limit", type=int, default=None, help="BFCL: first N cases (default: all)")
    parser.add_argument("--peer-limit", type=int, default=None, help="BFCL: first N cases for smolagents")
    parser.add_argument("--resume", action="store_true", help="BFCL: keep agentkit eval's earlier results")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads in every run")
    parser.add_argument("--peers-python", default=str(ROOT / ".venv-peers" / "bin" / "python"))
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - set(ALL_ENGINES)
    if unknown:
        parser.error(f"unknown engines: {', '.join(sorted(unknown))}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    peers = args.peers_python if "smolagents" in engines and Path(args.peers_python).exists() else None
    started = time.perf_counter()
    print(
        f"SmolLM2-135M-Instruct (embedded GGUF, Q4_1), greedy, CPU, {args.threads} thread(s) everywhere",
        flush=True,
    )
    with _server(engines, args.threads) as base_url:
        if args.part in ("speed", "all"):
            print("\nspeed: ~120-token prompt, up to 128 new tokens, medians of 5 runs", flush=True)
            print(speed(engines, args.threads, base_url), flush=True)
        if args.part in ("growth", "all"):
            print("\n10-step growth workload, 32 new tokens max per step", flush=True)
            print(growth(engines, peers, args.threads, base_url), flush=True)
        if args.part in ("bfcl", "all"):
            print("\nBFCL simple_python, 256 new tokens max", flush=True)
            table = bfcl(engines, args.limit, args.peer_limit, peers, args.threads, base_url, args.resume)
            print(table, flush=True)
    for failure in FAILURES:
        print(f"\n{failure}", flush=True)
    print(
        f"\ntotal {time.perf_counter() - started:.0f} s; per-case/per-step results in {RESULTS}", flush=True
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
