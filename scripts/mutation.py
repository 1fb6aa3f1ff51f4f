"""Mutation-test one module with mutmut, by hand: python3 scripts/mutation.py engine/calibration.py [MODULE ...].

Each run works in a scratch copy of the working tree (default /tmp/mutation/<module>/, --dir to change) so that the
tree stays clean: mutmut 3 writes its mutated copy to mutants/ there. Only the named modules are mutated and only the
tests listed for them in pyproject.toml [tool.mutation.tests] run (never the browser tests), which keeps one module to
minutes. The last lines printed are the counts per module: mutants, killed, survived, no test, timeout, score.
Survivors: `cd /tmp/mutation/<module> && mutmut results` lists them, `mutmut show NAME` prints one as a diff.
Needs `python3 -m pip install -r requirements-mutation.txt`; run it under `nice -n 10` on a shared machine.
"""
import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

try:
    from mutmut.stats import status_by_exit_code  # mutmut's own words for a mutant's exit code
except ImportError:
    sys.exit("mutmut is not installed: python3 -m pip install -r requirements-mutation.txt")

ROOT = Path(__file__).resolve().parents[1]
KILLED = {"killed", "timeout", "caught by type check"}  # a timeout is a mutant that hangs the tests: caught


def tests_for(module, table, groups=None):
    """The test files listed for module in [tool.mutation.tests] ("@name" stands for the list [tool.mutation.groups]
    names), or a clear error naming the fix."""
    if module not in table:
        sys.exit(f"{module} has no entry in pyproject.toml [tool.mutation.tests]: add one listing the tests that cover it.")
    groups = groups or {}
    unknown = [t for t in table[module] if t.startswith("@") and t[1:] not in groups]
    if unknown:
        sys.exit(f"{module} names {', '.join(unknown)}, which [tool.mutation.groups] in pyproject.toml does not define.")
    return [u for t in table[module] for u in (groups[t[1:]] if t.startswith("@") else [t])]


def copy_tree(target):
    """Copy the tracked and new (not ignored) files of the working tree into target, a fresh directory."""
    if target.exists():
        shutil.rmtree(target)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / name)


def write_config(target, modules, tests):
    """Point the copy's [tool.mutmut] at these modules and tests only."""
    path = target / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    base = tomllib.loads(text)["tool"]["mutmut"]
    start = text.index("[tool.mutmut]")
    end = text.find("\n[", start + 1)
    rest = "" if end < 0 else text[end:]
    cfg = dict(base, only_mutate=list(modules), pytest_add_cli_args_test_selection=sorted(set(tests)))
    lines = ["[tool.mutmut]"] + [f"{k} = {json.dumps(v)}" for k, v in cfg.items()]
    path.write_text(text[:start] + "\n".join(lines) + "\n" + rest, encoding="utf-8")


def counts(target, modules, names):
    """{module: {status: count}} from mutmut's own results files in target/mutants/, of the mutants matching names."""
    out = {}
    for module in modules:
        meta = json.loads((target / "mutants" / (module + ".meta")).read_text(encoding="utf-8"))
        by_status = {}
        for key, code in meta["exit_code_by_key"].items():
            if names and not any(fnmatch.fnmatch(key, n) for n in names):
                continue
            status = status_by_exit_code[code]
            by_status[status] = by_status.get(status, 0) + 1
        out[module] = by_status
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("modules", nargs="+", help="source files, e.g. engine/calibration.py ui/evaluate/report.py")
    p.add_argument("--dir", type=Path, help="scratch copy (default /tmp/mutation/<first module>)")
    p.add_argument("--max-children", type=int, default=1, help="parallel workers (default 1: the machine is shared)")
    p.add_argument("--functions", nargs="+", default=[], metavar="NAME",
                   help="only these functions of the (single) module, e.g. draft; a method is Class.method")
    p.add_argument("--tests", nargs="+", default=[], metavar="TEST",
                   help="run these tests instead of the module's [tool.mutation.tests] list (to try a list out)")
    args = p.parse_args()
    mutation = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutation"]
    tests = args.tests or [t for m in args.modules for t in tests_for(m, mutation["tests"], mutation.get("groups"))]
    target = args.dir or Path("/tmp/mutation") / args.modules[0].removesuffix(".py").replace("/", ".")
    copy_tree(target)
    write_config(target, args.modules, tests)
    # mutmut names a mutant module.x_function__mutmut_N, or module.xǁClassǁmethod__mutmut_N for a method
    dotted = args.modules[0].removesuffix(".py").replace("/", ".")
    names = [f"{dotted}.x" + ("ǁ" + f.replace(".", "ǁ") if "." in f else "_" + f) + "__mutmut_*" for f in args.functions]
    # pytest keeps a killed run's tmp_path folders for 3 days, and mutmut kills thousands: give them one folder to delete
    temproot = Path(tempfile.mkdtemp(prefix="mutation-pytest-"))
    env = {**os.environ, "APPTEST_TIMEOUT": os.environ.get("APPTEST_TIMEOUT", "300"),  # page runs are slow under tracing
           "PYTEST_DEBUG_TEMPROOT": str(temproot)}
    try:
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children), *names],
                       cwd=target, check=False, env=env)
    finally:
        shutil.rmtree(temproot, ignore_errors=True)
    print(f"\nscratch copy: {target}  (cd there; `mutmut results` lists survivors, `mutmut show NAME` shows one)")
    for module, by_status in counts(target, args.modules, names).items():
        unchecked = by_status.pop("not checked", 0)  # the run stopped (or failed) before these: no verdict, no score
        total = sum(by_status.values())
        killed = sum(n for s, n in by_status.items() if s in KILLED)
        score = (f"{100 * killed / total:.1f} %" if total else "n/a") + (f", {unchecked} not checked" if unchecked else "")
        which = f"{module} ({', '.join(args.functions)})" if args.functions else module
        print(f"{which}: {total} mutants, {killed} killed, {by_status.get('survived', 0)} survived, "
              f"{by_status.get('no tests', 0)} no test, {by_status.get('timeout', 0)} timeout, score {score}")


if __name__ == "__main__":
    main()
