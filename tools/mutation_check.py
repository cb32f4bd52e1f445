"""Mutation check: break one line of a core module at a time and make sure a test notices.

A test that passes whatever the code does protects nothing.  Each entry of
:data:`MUTATIONS` names a file, an exact snippet of it, a replacement that
breaks the behaviour the snippet is there for, and the (fast) tests that must
then fail.  The check copies the repository -- the files ``git ls-files``
knows plus untracked, non-ignored ones, with their working-tree content -- to a
temporary directory, applies each mutation there in turn, runs the named tests
with this Python, and reports each mutation as killed (a test failed) or
survived (all passed).  The real working tree is never modified.

    ./build.sh mutation                 all mutations
    ./build.sh mutation -k rate-limit   only those whose name contains "rate-limit"
    ./build.sh mutation --list          list them and exit

Exit status: 0 when every mutation was killed; 1 when one survived or an
entry no longer applies (its snippet is missing or not unique -- update the
entry with the code); 2 when the unmutated tests fail (nothing can be judged).

To add a mutation, append a :class:`Mutation` to :data:`MUTATIONS` (``tools/mutations.py``; enrolled
voices: ``tools/mutations_voices.py``; issue #22's accuracy rules: ``tools/mutations_accuracy.py``).  Keep the
snippet small but unique in its file, the replacement a plausible slip (a
deleted line, a flipped comparison, a dropped argument), and the tests fast:
no ``models`` marker.  Run ``./build.sh mutation -k <name>`` to see it killed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from queue import Queue

ROOT = Path(__file__).resolve().parent.parent

if __package__ in (None, ""):  # run as a script (./build.sh mutation): import its sibling by path
    sys.path.insert(0, str(ROOT))
from tools.mutations import MUTATIONS, Mutation  # noqa: E402
from tools.mutations_accuracy import ACCURACY_MUTATIONS  # noqa: E402
from tools.mutations_voices import VOICE_MUTATIONS  # noqa: E402

# --- the runner ---------------------------------------------------------------------------------


def repo_files(root: Path) -> list[str]:
    """Tracked and untracked-but-not-ignored files that exist in the working tree."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout
    names = sorted({n for n in out.decode().split("\0") if n})
    return [n for n in names if (root / n).is_file() or (root / n).is_symlink()]


def make_copy(root: Path, parent: Path) -> Path:
    """Copy the working tree (git's view of it) into *parent*/<repo name>; link ../shared beside it."""
    target = parent / root.name
    for name in repo_files(root):
        source, dest = root / name, target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            dest.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, dest)
    shared = root.parent / "shared"  # tests read recordings from ../shared
    if shared.exists():
        (parent / "shared").symlink_to(shared)
    return target


@dataclass
class Outcome:
    mutation: Mutation
    verdict: str  # killed | survived | invalid | timeout
    seconds: float = 0.0
    detail: str = ""


def pytest_command(python: str, tests: list[str]) -> list[str]:
    return [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not models", *tests]


def run_pytest(python: str, copy: Path, tests: list[str], timeout: float) -> tuple[int | None, str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")  # no stale .pyc between mutations
    env.pop("PYTHONPATH", None)
    try:
        proc = subprocess.run(
            pytest_command(python, tests),
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return None, output
    return proc.returncode, proc.stdout + proc.stderr


def first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line[:200]
    return output.strip().splitlines()[-1][:200] if output.strip() else ""


def check(mutation: Mutation, python: str, copy: Path, timeout: float) -> Outcome:
    path = copy / mutation.file
    if not path.is_file():
        return Outcome(mutation, "invalid", detail=f"{mutation.file} does not exist")
    source = path.read_text()
    found = source.count(mutation.original)
    if found != 1:
        return Outcome(mutation, "invalid", detail=f"snippet found {found} times in {mutation.file}")
    started = time.monotonic()
    path.write_text(source.replace(mutation.original, mutation.replacement))
    try:
        code, output = run_pytest(python, copy, list(mutation.tests), timeout)
    finally:
        path.write_text(source)
    seconds = time.monotonic() - started
    if code is None:
        return Outcome(mutation, "timeout", seconds, f"tests ran past {timeout:.0f} s (counted as killed)")
    if code == 0:
        return Outcome(mutation, "survived", seconds, "all named tests passed")
    if code in (4, 5):  # usage error / nothing collected: the entry is wrong, not the code
        return Outcome(mutation, "invalid", seconds, first_failure(output))
    return Outcome(mutation, "killed", seconds, first_failure(output))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="select", help="only mutations whose name contains this text")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="mutations checked at once (default 1)")
    parser.add_argument("--timeout", type=float, default=180, help="seconds per mutation (default 180)")
    parser.add_argument("--python", default=sys.executable, help="interpreter that runs pytest")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy (its path is printed)")
    args = parser.parse_args(argv)

    every = [*MUTATIONS, *VOICE_MUTATIONS, *ACCURACY_MUTATIONS]
    names = [m.name for m in every]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        print(f"duplicate mutation names: {', '.join(duplicates)}", file=sys.stderr)
        return 1
    chosen = [m for m in every if not args.select or args.select in m.name]
    if args.list:
        for m in chosen:
            print(f"{m.name:40s} {m.file}  ({m.why})")
        return 0
    if not chosen:
        print(f"no mutation matches {args.select!r}", file=sys.stderr)
        return 1

    workdir = Path(tempfile.mkdtemp(prefix="mutation-check-"))
    try:
        copies: Queue[Path] = Queue()
        for i in range(max(1, args.jobs)):
            copies.put(make_copy(ROOT, workdir / str(i)))
        copy = copies.queue[0]
        where = subprocess.run(
            [args.python, "-c", "import diarize_service; print(diarize_service.__file__)"],
            cwd=copy,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not where.startswith(str(copy)):
            print(f"the copy's code is not the one imported ({where or 'import failed'})", file=sys.stderr)
            return 2
        tests = sorted({t for m in chosen for t in m.tests})
        print(f">> baseline: {len(tests)} tests on the unmutated copy in {copy}")
        code, output = run_pytest(args.python, copy, tests, args.timeout)
        if code != 0:
            print(output[-4000:])
            print(">> the unmutated tests do not pass; fix them first", file=sys.stderr)
            return 2

        def one(mutation: Mutation) -> Outcome:
            mine = copies.get()
            try:
                outcome = check(mutation, args.python, mine, args.timeout)
            finally:
                copies.put(mine)
            verdict = outcome.verdict.upper()
            print(f"{verdict:9s} {mutation.name:40s} {outcome.seconds:5.1f} s  {outcome.detail}", flush=True)
            return outcome

        print(f">> {len(chosen)} mutations")
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            outcomes = list(pool.map(one, chosen))
    finally:
        if args.keep:
            print(f">> copy kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    killed = sum(o.verdict in ("killed", "timeout") for o in outcomes)
    survived = [o for o in outcomes if o.verdict == "survived"]
    invalid = [o for o in outcomes if o.verdict == "invalid"]
    judged = killed + len(survived)
    score = 100.0 * killed / judged if judged else 0.0
    print(f"\nmutation score: {killed}/{judged} killed ({score:.0f} %)", end="")
    print(f"; {len(invalid)} entries no longer apply" if invalid else "")
    for o in survived:
        m = o.mutation
        print(f"  survived: {m.name} ({m.why})")
        print(f"    {m.file}: {m.original.strip()!r} -> {m.replacement.strip()!r}")
    for o in invalid:
        print(f"  invalid:  {o.mutation.name}: {o.detail}")
    return 1 if survived or invalid else 0


if __name__ == "__main__":
    sys.exit(main())
