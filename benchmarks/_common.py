"""Shared helpers of the benchmark scripts: isolated runs with their peak
memory, the machine and version header, and small table formatting.

* :func:`run_isolated`: call ``module:function(**kwargs)`` in a fresh process
  (forked from a multiprocessing 'forkserver' that has imported the package
  once); return its result with the child's wall seconds and its own peak
  resident set size (``getrusage(RUSAGE_SELF).ru_maxrss`` read by the child
  at the end of the call).
* :func:`header_markdown`: machine (CPU model, cores, RAM), Python and
  library versions, git commit, date and the exact command.
* :func:`mean_std`: "0.912 ± 0.004" for a list of numbers.
"""
import datetime
import importlib
import multiprocessing
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import time
import traceback
from pathlib import Path

__all__ = ["run_isolated", "machine_info", "header_markdown", "mean_std", "peak_rss_mib",
           "REPOSITORY", "THREAD_VARIABLES"]

#: Root of the git work tree (the parent of ``benchmarks/``).
REPOSITORY = Path(__file__).resolve().parent.parent

#: Environment variables that cap the threads of the BLAS / OpenMP pools.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


def peak_rss_mib():
    """Peak resident set size of this process so far, MiB (Linux ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _child(target, kwargs, conn):
    """Body of the child process: call, send back the result."""
    try:
        module, function = target.split(":")
        fn = getattr(importlib.import_module(module), function)
        rss_before = peak_rss_mib()          # interpreter + imports
        tic = time.perf_counter()
        out = fn(**kwargs)
        wall = time.perf_counter() - tic
        conn.send({"ok": True, "result": out, "child_wall": wall,
                   "rss_before_mib": rss_before, "peak_rss_mib": peak_rss_mib()})
    except BaseException as exc:  # report every failure to the parent
        conn.send({"ok": False, "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
                   "traceback": traceback.format_exc(), "peak_rss_mib": peak_rss_mib()})
    finally:
        conn.close()


_CONTEXT = {}


def _fresh_context(threads, preload):
    """A 'forkserver' multiprocessing context whose server has imported
    ``preload`` once (with the thread caps in its environment), so each run
    is a fresh process without paying the imports again."""
    key = (threads, tuple(preload))
    if key not in _CONTEXT:
        if threads:
            for name in THREAD_VARIABLES:
                os.environ[name] = str(threads)   # inherited by the server and its children
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(list(preload))
        _CONTEXT.clear()
        _CONTEXT[key] = ctx
    return _CONTEXT[key]


def run_isolated(target, kwargs, timeout=None, threads=None, preload=("numpy",)):
    """Call ``target`` (``"module:function"``) with ``kwargs`` in a fresh
    process forked from a 'forkserver' that has imported ``preload``.

    Parameters
    ----------
    target : str
        ``"package.module:function"``, importable in a fresh interpreter.
    kwargs : dict
        Picklable keyword arguments; the function must return a picklable value.
    timeout : float, optional
        Seconds after which the child is terminated and a failure returned.
    threads : int, optional
        If given, ``OMP_NUM_THREADS`` etc. are set to this value in this
        process's environment before the fork server starts (the first call
        fixes it for the whole run).
    preload : sequence of str
        Modules the fork server imports once (e.g. ``drl_np``); the child's
        peak RSS includes their resident memory.

    Returns
    -------
    dict
        ``ok`` (bool); on success ``result``, ``child_wall`` (seconds of the
        call), ``rss_before_mib`` (the child's peak RSS before the call:
        interpreter and imports) and ``peak_rss_mib`` (the child's peak RSS at
        the end of the call, ``RUSAGE_SELF``); on failure ``error``.
    """
    ctx = _fresh_context(threads, preload)
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(target, kwargs, child))
    tic = time.perf_counter()
    proc.start()
    child.close()
    report = None
    if parent.poll(timeout):
        try:
            report = parent.recv()
        except EOFError:
            report = None
    proc.join(5 if report is not None else 0.1)
    if proc.is_alive():
        proc.terminate()   # only our own child, by its handle
        proc.join()
    if report is None:
        reason = (f"timed out after {timeout:.0f} s" if proc.exitcode in (None, -15)
                  and timeout is not None else f"child exited with code {proc.exitcode}")
        report = {"ok": False, "error": reason}
    report["process_wall"] = time.perf_counter() - tic
    return report


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib():
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return int(line.split()[1]) / 2 ** 20
    except OSError:
        pass
    return float("nan")


def _version(name):
    try:
        return importlib.import_module(name).__version__
    except Exception:  # not installed or no __version__
        return "n/a"


def _git_commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPOSITORY,
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "drl_np"],
                               cwd=REPOSITORY, capture_output=True, text=True, timeout=10)
        commit = out.stdout.strip() or "unknown"
        return commit + (" (+ uncommitted changes in drl_np/)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def source_digest():
    """Short SHA-1 of every ``drl_np/**/*.py`` file (path and contents): tells
    apart runs made on different uncommitted states of the shared work tree."""
    import hashlib
    digest = hashlib.sha1()
    for path in sorted((REPOSITORY / "drl_np").rglob("*.py")):
        digest.update(str(path.relative_to(REPOSITORY)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def machine_info():
    """Dict of the machine, versions, commit and date of this run."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "load": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "numpy": _version("numpy"), "scipy": _version("scipy"), "numba": _version("numba"),
        "sklearn": _version("sklearn"), "skimage": _version("skimage"),
        "drl_np": _version("drl_np"),
        "commit": _git_commit(),
        "source": source_digest(),
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    }


def command_line():
    """The command that started this process, as one shell line."""
    return "python -m " + " ".join(shlex.quote(a) for a in [_module_name()] + sys.argv[1:])


def _module_name():
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return spec.name if spec is not None else Path(sys.argv[0]).stem


def header_markdown(title, info=None, command=None, notes=()):
    """Markdown header: title, machine, versions, commit, date, command, notes."""
    info = info or machine_info()
    load = info.get("load")
    lines = [f"# {title}", "",
             f"- Machine: {info['cpu']}, {info['cores']} cores, {info['ram_gib']:.1f} GiB RAM"
             + (f" (load average at start {load[0]:.1f}; the CPU is shared)" if load else ""),
             f"- Versions: Python {info['python']}, numpy {info['numpy']}, scipy {info['scipy']}, "
             f"numba {info['numba']}, scikit-learn {info['sklearn']}, scikit-image {info['skimage']}, "
             f"drl_np {info['drl_np']}",
             f"- Commit: `{info['commit']}`; drl_np source digest `{info.get('source', '?')}` "
             "(SHA-1 of drl_np/**/*.py; every run imports the package once, at the start)",
             f"- Date: {info['date']}",
             f"- Command: `{command or command_line()}`"]
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def mean_std(values, fmt="{:.3f}"):
    """'m ± s' of the finite values (population std), 'm' for one value, '–' for none."""
    vals = [float(v) for v in values if v is not None and v == v]
    if not vals:
        return "–"
    mean = sum(vals) / len(vals)
    if len(vals) == 1:
        return fmt.format(mean)
    std = (sum((v - mean) ** 2 for v in vals) / len(vals)) ** 0.5
    return f"{fmt.format(mean)} ± {fmt.format(std)}"


def write_section(path, name, text):
    """Write ``text`` as the section ``name`` of the markdown file ``path``,
    its headings one level down.

    The section sits between ``<!-- name:start -->`` and ``<!-- name:end -->``;
    an existing section is replaced, a new one appended, and the rest of the
    file (the other benchmarks' figures) is kept. The file is replaced
    atomically.
    """
    path = Path(path)
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = re.sub(r"(?m)^(#+ )", r"#\1", text.rstrip())     # one heading level down
    block = f"{start}\n{text}\n{end}\n"
    old = path.read_text() if path.exists() else ""
    if start in old and end in old:
        head, rest = old.split(start, 1)
        new = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        new = (old.rstrip() + "\n\n" if old.strip() else "") + block
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(new)
    os.replace(tmp, path)
