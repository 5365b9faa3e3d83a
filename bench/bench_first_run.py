"""A newcomer's first `make run`: from a fresh clone until the demo answers HTTP.

Clones the repository (its committed HEAD, or --rev) into a temporary folder and
times, in that clone:
  1. `make install`: the virtualenv, the app and its dependencies, the catalogs;
  2. `make run` until the demo's login page answers on a free port ("demo load"),
     split by the lines make echoes: `coop db upgrade`, `coop seed-demo`, then the
     server starting until it answers ("serve").
Then stops `make run` (its process group) and removes the clone.

The pip and uv caches are left as they are (a second run on a machine finds them
warm, as CI's clean clone on a developer's machine does); --cold gives both tools a
cache of their own that starts empty, so every wheel is downloaded again.
--no-uv makes the Makefile take its pip path even where uv is installed. Each run
prints the command that made its virtualenv.

Usage: python3 bench/bench_first_run.py [--rev REV] [--runs N] [--cold] [--no-uv]
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The Makefile's echoed commands, in the order they run.
STEPS = (
    ("db upgrade", "coop db upgrade"),
    ("seed-demo", "coop seed-demo"),
    ("serve", "coop is served on"),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False


def first_run(rev: str, *, cold: bool, no_uv: bool) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="coop-first-run-"))
    clone = work / "coop"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOP_")}
    env.pop("VIRTUAL_ENV", None)
    if no_uv:
        env["UV"] = ""  # the Makefile's pip path
    if cold:
        env["PIP_CACHE_DIR"] = str(work / "pip-cache")
        env["UV_CACHE_DIR"] = str(work / "uv-cache")
    try:
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", rev], check=True)
        how = subprocess.run(
            ["make", "--dry-run", ".venv/bin/coop"], cwd=clone, env=env, capture_output=True
        )
        print("   ", how.stdout.decode().splitlines()[0])
        times = {}
        started = time.perf_counter()
        subprocess.run(["make", "install"], cwd=clone, env=env, check=True, capture_output=True)
        times["install"] = time.perf_counter() - started

        port, fake_port = free_port(), free_port()
        url = f"http://127.0.0.1:{port}/login"
        marks: dict[str, float] = {}
        started = time.perf_counter()
        run = subprocess.Popen(
            ["make", "run", f"PORT={port}", f"STRIPE_FAKE_PORT={fake_port}"],
            cwd=clone,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        log: list[str] = []

        def read() -> None:
            for line in run.stdout:
                log.append(line)
                for name, echoed in STEPS:
                    if echoed in line and name not in marks:
                        marks[name] = time.perf_counter()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            while not answers(url):
                if run.poll() is not None:
                    sys.exit("make run stopped before the demo answered:\n" + "".join(log))
                time.sleep(0.1)
            answered = time.perf_counter()
        finally:
            os.killpg(run.pid, 15)
            run.wait()
        times["db upgrade"] = marks["seed-demo"] - marks["db upgrade"]
        times["seed-demo"] = marks["serve"] - marks["seed-demo"]
        times["serve"] = answered - marks["serve"]
        times["demo load"] = answered - started
        times["total"] = times["install"] + times["demo load"]
        return times
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rev", default="HEAD", help="the commit to clone (default HEAD)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--cold", action="store_true", help="empty pip and uv caches")
    parser.add_argument("--no-uv", action="store_true", help="the pip path even with uv")
    args = parser.parse_args()
    rev = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", args.rev],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"commit {rev}, caches {'cold' if args.cold else 'as they are'}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    names = ("install", "db upgrade", "seed-demo", "serve", "demo load", "total")
    print(" | ".join(f"{n:>10}" for n in ("run", *names)))
    for i in range(args.runs):
        times = first_run(rev, cold=args.cold, no_uv=args.no_uv)
        print(" | ".join([f"{i + 1:>10}", *(f"{times[n]:>9.1f}s" for n in names)]), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
