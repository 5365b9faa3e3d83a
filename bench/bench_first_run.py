"""A newcomer's first `make run`: from a fresh clone until the demo answers HTTP.

Clones the repository (its committed HEAD, or --rev) into a temporary folder and
times, in that clone:
  1. `make install`: the virtualenv, the app and its dependencies, the catalogs;
  2. `make run` until the demo's login page answers on a free port ("demo load"),
     split by the lines make echoes: `coop db upgrade`, `coop seed-demo`, then the
     server starting until it answers ("serve").
Then stops `make run` (its process group) and removes the clone. Next to each time,
the CPU its processes used (install: make's children; the demo: every process of
`make run`'s session, read from /proc), steadier than the clock on a shared machine.

The pip and uv caches are left as they are (a second run on a machine finds them
warm, as CI's clean clone on a developer's machine does); --cold gives both tools a
cache of their own that starts empty, so every wheel is downloaded again.
--no-uv makes the Makefile take its pip path even where uv is installed. Each run
prints the commands that made its virtualenv. Python's bytecode cache counts: where
PYTHONDONTWRITEBYTECODE is set (as in this machine's agent shells), no process keeps
the .pyc files it compiles, so the Makefile has uv compile everything at install.

Usage: python3 bench/bench_first_run.py [--rev REV] [--runs N] [--cold] [--no-uv]
"""

import argparse
import os
import resource
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


TICKS = os.sysconf("SC_CLK_TCK")


def session_cpu(session: int) -> float:
    """CPU seconds used so far by a session's processes, their finished children included."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        # After the command's name: state, ppid, pgrp, session... utime is the 14th field.
        if int(fields[3]) == session:
            total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return total / TICKS


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def first_run(rev: str, *, cold: bool, no_uv: bool) -> dict[str, tuple[float, float]]:
    """(seconds, CPU seconds) of each step, in a fresh clone of `rev`."""
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
        for line in how.stdout.decode().splitlines()[:2]:
            print("   ", line)
        times = {}
        started, cpu = time.perf_counter(), children_cpu()
        subprocess.run(["make", "install"], cwd=clone, env=env, check=True, capture_output=True)
        times["install"] = (time.perf_counter() - started, children_cpu() - cpu)

        port, fake_port = free_port(), free_port()
        url = f"http://127.0.0.1:{port}/login"
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
        marks: dict[str, tuple[float, float]] = {"start": (started, 0.0)}
        log: list[str] = []

        def read() -> None:
            for line in run.stdout:
                log.append(line)
                for name, echoed in STEPS:
                    if echoed in line and name not in marks:
                        marks[name] = (time.perf_counter(), session_cpu(run.pid))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            while not answers(url):
                if run.poll() is not None:
                    sys.exit("make run stopped before the demo answered:\n" + "".join(log))
                time.sleep(0.1)
            marks["answered"] = (time.perf_counter(), session_cpu(run.pid))
        finally:
            os.killpg(run.pid, 15)
            run.wait()

        def between(first: str, then: str) -> tuple[float, float]:
            return (marks[then][0] - marks[first][0], marks[then][1] - marks[first][1])

        times["db upgrade"] = between("db upgrade", "seed-demo")
        times["seed-demo"] = between("seed-demo", "serve")
        times["serve"] = between("serve", "answered")
        times["demo load"] = between("start", "answered")
        (wall, cpu), (load_wall, load_cpu) = times["install"], times["demo load"]
        times["total"] = (wall + load_wall, cpu + load_cpu)
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
    print(
        f"commit {rev}, caches {'cold' if args.cold else 'as they are'}, "
        f"PYTHONDONTWRITEBYTECODE {'set' if os.environ.get('PYTHONDONTWRITEBYTECODE') else 'unset'}"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    names = ("install", "db upgrade", "seed-demo", "serve", "demo load", "total")
    print("seconds (CPU seconds)")
    print(" | ".join(f"{n:>13}" for n in ("run", *names)))
    for i in range(args.runs):
        times = first_run(rev, cold=args.cold, no_uv=args.no_uv)
        cells = (f"{times[n][0]:5.1f} ({times[n][1]:5.1f})" for n in names)
        print(" | ".join([f"{i + 1:>13}", *cells]), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
