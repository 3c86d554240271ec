#!/usr/bin/env python3
"""Benchmark harness for intunewin (issue 6).

Generates a deterministic corpus, then measures `intunewin pack`, `verify` and
`extract` (median wall time, MB/s, peak RSS, bytes written) against the raw
single-thread rates of AES-256-CBC, SHA-256 and deflate on this machine and a
standard-tools baseline (zip -1 | openssl enc, sha256sum, openssl dgst -hmac).

Run `python3 bench/bench.py --help`; bench/README.md explains the numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import hashlib
import itertools
import json
import math
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Bump when the corpus layout or content generation changes: old corpora are regenerated.
CORPUS_VERSION = 2
MIB = 1 << 20
MB = 1_000_000  # rates are in MB/s = 10^6 bytes per second, as `openssl speed` reports
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Issue 6 targets on the 2-core machine.
TARGET_PACK_MBS = 200
TARGET_PACK_VS_BASELINE = 3.0
TARGET_VERIFY_MBS = 500
TARGET_EXTRACT_MBS = 300
TARGET_RSS_MIB = 64
# "Independent of package size": peak RSS at --rss-size may exceed the main size's by this much.
RSS_GROWTH_MIB = 8
BUSY_PATTERN = "fuzz|cargo|rustc"
TIME = "/usr/bin/time"  # GNU time (Debian package `time`)
NICE = 0  # niceness of measured commands, from --nice
# Seconds to wait after deleting a tree on ext4 without a journal: recently_deleted() in
# fs/ext4/ialloc.c keeps freed inodes out of use for 60 s (RECENTCY_MIN), or 360 s while their
# inode-table block is dirty, which new files in the same block make it; the wait covers the first.
EXT4_RECENTLY_DELETED = 60


# ----------------------------------------------------------------------------------------
# Output: everything printed also goes to the results file.


class Report:
    """Prints lines and keeps them for the results file (rewritten after every section)."""

    def __init__(self, path: Path):
        self.path = path
        self.lines: list[str] = []

    def __call__(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("\n".join(self.lines) + "\n")


def parse_size(text: str) -> int:
    """`1G`, `512M`, `5GiB`, `1073741824` -> bytes (binary units)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1G, 512M, 5G)")
    scale = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[m.group(2).upper()]
    return int(float(m.group(1)) * scale)


def human(n: float) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{int(n)} B"


# ----------------------------------------------------------------------------------------
# Corpus: a third one incompressible setup.exe, a third incompressible 1-8 MiB files, a
# third compressible text in nested folders. Same seed and size -> same bytes.


class Incompressible:
    """AES-128-CTR keystream from `openssl enc` (key = SHA-256 of the seed): deterministic,
    incompressible and generated at several hundred MB/s."""

    def __init__(self, seed: int):
        key = hashlib.sha256(f"intunewin-bench-{seed}".encode()).hexdigest()[:32]
        self.proc = subprocess.Popen(
            ["openssl", "enc", "-aes-128-ctr", "-nosalt", "-K", key, "-iv", "0" * 32,
             "-in", "/dev/zero"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )

    def read(self, n: int) -> bytes:
        data = self.proc.stdout.read(n)
        if len(data) != n:
            raise RuntimeError("openssl keystream ended early")
        return data

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


class TextSource:
    """Pseudo-words with a Zipf distribution, assembled into sentences; files are random
    draws of sentences. Deflate level 1 compresses it about 3.2x (like logs or docs). The
    vocabulary is the same for every seed and size, so the ratio is too."""

    def __init__(self, rng: random.Random):
        vrng = random.Random("intunewin-bench-vocab")
        cons, vow = "bcdfghjklmnprstvwz", "aeiou"

        def word() -> str:
            syllables = vrng.choice((1, 1, 2, 2, 2, 3, 3, 4))
            return "".join(
                vrng.choice(cons) + vrng.choice(vow) + (vrng.choice(cons) if vrng.random() < 0.4 else "")
                for _ in range(syllables)
            )

        vocab = sorted({word() for _ in range(1000)})
        vrng.shuffle(vocab)
        cum = list(itertools.accumulate(1.0 / (i + 1) ** 1.2 for i in range(len(vocab))))
        self.vocab = vocab
        self.lines = [
            (" ".join(rng.choices(vocab, cum_weights=cum, k=rng.randint(4, 16))).capitalize() + ".\n").encode()
            for _ in range(100_000)
        ]
        self.avg = sum(map(len, self.lines)) / len(self.lines)
        self.rng = rng

    def read(self, n: int) -> bytes:
        data = b"".join(self.rng.choices(self.lines, k=int(n / self.avg) + 32))
        while len(data) < n:
            data += b"".join(self.rng.choices(self.lines, k=64))
        return data[:n]


class CorpusWriter:
    """Writes files and keeps a SHA-256 over (path, size, bytes) of all of them."""

    MTIME = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc).timestamp()

    def __init__(self, root: Path):
        self.root = root
        self.digest = hashlib.sha256()
        self.files = 0

    def write(self, rel: str, size: int, source, chunk: int = 4 * MIB) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        self.digest.update(rel.encode() + b"\0" + size.to_bytes(8, "little"))
        with open(path, "wb") as f:
            left = size
            while left:
                data = source.read(min(chunk, left))
                self.digest.update(data)
                f.write(data)
                left -= len(data)
        os.utime(path, (self.MTIME, self.MTIME))
        self.files += 1


def generate_corpus(src: Path, size: int, seed: int) -> dict:
    rng = random.Random(seed)
    third = size // 3
    text_bytes = size - 2 * third
    writer = CorpusWriter(src)
    noise = Incompressible(seed)
    try:
        # Third 1: the "installer".
        writer.write("setup.exe", third, noise)
        # Third 2: incompressible 1-8 MiB files, 16 to a folder.
        left, i = third, 0
        while left:
            n = min(left, rng.randint(1 * MIB, 8 * MIB))
            ext = rng.choice(("cab", "7z", "msi", "dll", "bin"))
            writer.write(f"payload/pkg{i // 16:03d}/data{i:05d}.{ext}", n, noise)
            left -= n
            i += 1
    finally:
        noise.close()
    # Third 3: text, 1 KiB - 1 MiB (log-uniform), in a random tree of folders up to 5 deep.
    text = TextSource(random.Random(f"{seed}/text"))
    folders = ["docs"]
    left, i = text_bytes, 0
    while left:
        if rng.random() < 0.1:
            parent = rng.choice(folders)
            if parent.count("/") < 4:
                folders.append(f"{parent}/{rng.choice(text.vocab)}{len(folders)}")
        n = min(left, int(math.exp(rng.uniform(math.log(1024), math.log(MIB)))))
        ext = rng.choice(("txt", "log", "xml", "ini", "md", "json"))
        writer.write(f"{rng.choice(folders)}/{rng.choice(text.vocab)}{i}.{ext}", n, text)
        left -= n
        i += 1
    return {"files": writer.files, "folders": len(folders), "sha256": writer.digest.hexdigest()}


def ensure_corpus(base: Path, size: int, seed: int, out: Report) -> tuple[Path, dict]:
    """Returns the corpus source folder, generating it unless an identical one exists."""
    cdir = base / f"corpus-{size}-seed{seed}"
    src, stamp_path = cdir / "src", cdir / "stamp.json"
    want = {"version": CORPUS_VERSION, "size": size, "seed": seed}
    if stamp_path.exists():
        stamp = json.loads(stamp_path.read_text())
        if all(stamp.get(k) == v for k, v in want.items()) and src.is_dir():
            out(f"corpus: reusing {src}")
            return src, stamp
    if cdir.exists():
        shutil.rmtree(cdir)
    free = shutil.disk_usage(base).free
    if free < size * 6:
        sys.exit(f"bench: {human(free)} free under {base}; need about {human(size * 6)} "
                 "(corpus, package, an extracted copy per run, baseline)")
    src.mkdir(parents=True)
    t0 = time.perf_counter()
    info = generate_corpus(src, size, seed)
    took = time.perf_counter() - t0
    stamp = {**want, **info, "generate_seconds": round(took, 1)}
    stamp_path.write_text(json.dumps(stamp, indent=1))
    out(f"corpus: generated {src} in {took:.1f} s ({size / MB / took:.0f} MB/s)")
    return src, stamp


def fs_description(path: Path) -> str:
    """File system type and device of `path`, and for ext4 whether it has a journal (without
    one, ext4 keeps recently freed inodes out of use for minutes, which slows file creation)."""
    try:
        source, fstype = subprocess.run(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "-T", str(path)],
                                        check=True, capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError, ValueError):
        return "file system unknown"
    if fstype != "ext4":
        return f"{fstype} on {source}"
    dev = Path(source).name
    journal = any(p.name.startswith(dev + "-") for p in Path("/proc/fs/jbd2").glob("*"))
    return f"ext4 on {source}, {'with' if journal else 'without'} a journal"


def tree_stats(root: Path) -> tuple[int, int]:
    files = total = 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            files += 1
            total += os.lstat(os.path.join(dirpath, name)).st_size
    return files, total


# ----------------------------------------------------------------------------------------
# Machine state: wait for quiet, and measure other processes' CPU during each run.


def cpu_busy_seconds() -> float:
    """All CPUs' non-idle time since boot, in seconds (from /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK  # user..steal; guest is already in user


def busy_processes() -> list[str]:
    """Builds and fuzzers: processes whose executable path (argv[0]) matches BUSY_PATTERN.
    Whole command lines would also match unrelated processes that mention cargo in their
    arguments or environment."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv0 = (entry / "cmdline").read_bytes().split(b"\0", 1)[0].decode(errors="replace")
        except OSError:
            continue
        if re.search(BUSY_PATTERN, argv0):
            found.append(f"{entry.name} {argv0}")
    return found


def load1() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def wait_quiet(max_wait: float, max_load: float, out: Report) -> str:
    t0 = time.monotonic()
    while True:
        busy, load = busy_processes(), load1()
        if not busy and load <= max_load:
            state = f"quiet (load1 {load:.2f}, no {BUSY_PATTERN} processes)"
            break
        waited = time.monotonic() - t0
        if waited >= max_wait:
            names = sorted({b.split()[1].rsplit("/", 1)[-1] for b in busy})
            state = (f"NOT QUIET after {waited / 60:.0f} min (load1 {load:.2f}; busy: "
                     f"{', '.join(names) or 'none'})")
            break
        print(f"  waiting for a quiet machine: load1 {load:.2f}, {len(busy)} busy process(es)",
              flush=True)
        time.sleep(15)
    out(f"machine: {state}")
    return state


# ----------------------------------------------------------------------------------------
# Measured runs.


def prioritized() -> None:
    """Popen preexec_fn: a session of its own at niceness NICE. With autogroup scheduling
    (CONFIG_SCHED_AUTOGROUP) niceness only counts inside a session, so the new session's
    autogroup gets the niceness too."""
    os.setsid()
    if NICE:
        try:
            Path("/proc/self/autogroup").write_text(str(NICE))
        except OSError:
            pass
        os.setpriority(os.PRIO_PROCESS, 0, NICE)


def run_prioritized(argv: list[str]) -> str:
    """Runs a reference command like a measured one; returns its stdout."""
    return subprocess.run(argv, capture_output=True, text=True, check=True,
                          preexec_fn=prioritized).stdout


class RunFailed(Exception):
    """A measured command exited with an error."""


class Run:
    """One measured process: wall time, peak RSS, /proc/<pid>/io at exit, others' CPU.

    The command runs under `/usr/bin/time`: a child forked from this (large) Python process
    would inherit its RSS high-water mark through exec, so ru_maxrss must come from a small
    parent. `time` reaps the command, so the kernel adds the command's I/O counters to
    `time`'s own, which are read while `time` is a zombie."""

    def __init__(self, argv: list[str], cwd: Path | None = None):
        os.sync()  # earlier runs' dirty pages must not be flushed during this one
        with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as sout, \
                tempfile.NamedTemporaryFile("r") as rss:
            busy0 = cpu_busy_seconds()
            t0 = time.perf_counter()
            proc = subprocess.Popen([TIME, "-f", "%M %e", "-o", rss.name, *argv], cwd=cwd,
                                    stdout=sout, stderr=err, stdin=subprocess.DEVNULL,
                                    preexec_fn=prioritized)
            try:
                os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            except KeyboardInterrupt:
                os.killpg(proc.pid, 15)  # its own session: Ctrl-C did not reach it
                raise
            self.wall = time.perf_counter() - t0
            self.io = read_proc_io(proc.pid)
            _, status, ru = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            self.user, self.sys = ru.ru_utime, ru.ru_stime
            self.cpu = self.user + self.sys
            self.others_cpu = max(0.0, cpu_busy_seconds() - busy0 - self.cpu)
            self.rc = proc.returncode
            err.seek(0)
            sout.seek(0)
            self.stderr = err.read().decode(errors="replace")
            self.stdout = sout.read().decode(errors="replace")
            fields = rss.read().split()
            self.maxrss = int(fields[-2]) * 1024 if len(fields) >= 2 else 0
        if self.rc != 0:
            raise RunFailed(f"{' '.join(map(str, argv))} failed (exit {self.rc}): "
                            f"{self.stderr.strip()}")


def read_proc_io(pid: int) -> dict[str, int]:
    try:
        text = Path(f"/proc/{pid}/io").read_text()
    except OSError:
        return {}
    return {k: int(v) for k, v in (line.split(": ") for line in text.splitlines())}


class Series:
    """Several runs of one operation; medians and extremes."""

    def __init__(self, name: str, runs: list[Run], nbytes: int, content_bytes: int | None = None):
        self.name, self.runs, self.nbytes, self.content_bytes = name, runs, nbytes, content_bytes
        self.wall = statistics.median(r.wall for r in runs)
        self.rss = statistics.median(r.maxrss for r in runs)
        self.rss_max = max(r.maxrss for r in runs)
        self.user = statistics.median(r.user for r in runs)
        self.sys = statistics.median(r.sys for r in runs)
        self.others = max(r.others_cpu / r.wall for r in runs)  # worst run, in cores
        self.median_run = sorted(runs, key=lambda r: r.wall)[len(runs) // 2]

    @property
    def mbs(self) -> float:
        return self.nbytes / MB / self.wall

    @property
    def content_mbs(self) -> float | None:
        return self.content_bytes / MB / self.wall if self.content_bytes else None

    def walls(self) -> str:
        return " ".join(f"{r.wall:.2f}" for r in self.runs)


def measure(name: str, argv_for_run, runs: int, nbytes: int, before_each=None,
            content_bytes: int | None = None) -> Series:
    results = []
    for i in range(runs):
        if before_each:
            before_each()
        r = Run(argv_for_run(i))
        print(f"  {name} run {i + 1}/{runs}: {r.wall:.2f} s, {r.maxrss / MIB:.1f} MiB RSS, "
              f"others {r.others_cpu / r.wall:.2f} cores", flush=True)
        results.append(r)
    return Series(name, results, nbytes, content_bytes)


# ----------------------------------------------------------------------------------------
# Reference rates: openssl speed (single thread) and Python zlib (system zlib).


def openssl_speed(args: list[str], seconds: int) -> float:
    """Bytes/s for 16 KiB blocks, single thread."""
    res = run_prioritized(["openssl", "speed", "-seconds", str(seconds), "-bytes", "16384", *args])
    last = [l for l in res.splitlines() if l.strip()][-1]
    return float(last.split()[-1].rstrip("k")) * 1000


def zlib_rates(sample: bytes, reps: int = 3) -> tuple[float, float, float]:
    """(deflate-1 bytes/s, inflate bytes/s, ratio) on `sample`, median of `reps`."""
    comp_t, inf_t = [], []
    packed = b""
    for _ in range(reps):
        t0 = time.perf_counter()
        c = zlib.compressobj(1, zlib.DEFLATED, -15)
        packed = c.compress(sample) + c.flush()
        comp_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        zlib.decompress(packed, -15)
        inf_t.append(time.perf_counter() - t0)
    return (len(sample) / statistics.median(comp_t), len(sample) / statistics.median(inf_t),
            len(sample) / len(packed))


def zlib_rates_prioritized(sample: bytes, reps: int, work: Path) -> tuple[float, float, float]:
    """zlib_rates in a child Python process run like a measured command."""
    path = work / "zlib-sample"
    path.write_bytes(sample)
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench; "
            f"print(json.dumps(bench.zlib_rates(open({str(path)!r}, 'rb').read(), {reps})))")
    try:
        return tuple(json.loads(run_prioritized([sys.executable, "-c", code])))
    finally:
        path.unlink()


def disk_write_rate(source: Path, work: Path, limit: int = 1 << 30) -> tuple[float, int]:
    """Bytes/s of `dd` writing (a cached) `source` to disk, flushed: what pack and extract meet
    once their output no longer fits in the dirty page cache."""
    target = work / "dd-test"
    n = min(limit, source.stat().st_size)
    os.sync()
    t0 = time.perf_counter()
    run_prioritized(["dd", f"if={source}", f"of={target}", "bs=4M", f"count={n // (4 * MIB)}",
                     "conv=fdatasync", "status=none"])
    took = time.perf_counter() - t0
    written = target.stat().st_size
    target.unlink()
    return written / took, written


def read_sample(files: list[Path], limit: int) -> bytes:
    parts, total = [], 0
    for f in files:
        if total >= limit:
            break
        data = f.read_bytes()[: limit - total]
        parts.append(data)
        total += len(data)
    return b"".join(parts)


def reference_rates(src: Path, work: Path, seconds: int, out: Report) -> dict[str, float]:
    out("reference rates (single thread, this machine):")
    rates = {
        "aes_enc": openssl_speed(["-evp", "aes-256-cbc"], seconds),
        "aes_dec": openssl_speed(["-decrypt", "-evp", "aes-256-cbc"], seconds),
        "sha256": openssl_speed(["-evp", "sha256"], seconds),
        "hmac": openssl_speed(["-hmac", "sha256"], seconds),
    }
    text_files = sorted(p for p in (src / "docs").rglob("*") if p.is_file())
    text = read_sample(text_files, 64 * MIB)
    rates["deflate_text"], rates["inflate_text"], ratio = zlib_rates_prioritized(text, 3, work)
    noise = read_sample([src / "setup.exe"], 32 * MIB)
    rates["deflate_noise"], _, _ = zlib_rates_prioritized(noise, 1, work)
    rows = [
        ("AES-256-CBC encrypt", rates["aes_enc"], "openssl speed -evp aes-256-cbc"),
        ("AES-256-CBC decrypt", rates["aes_dec"], "openssl speed -decrypt -evp aes-256-cbc"),
        ("SHA-256", rates["sha256"], "openssl speed -evp sha256"),
        ("HMAC-SHA256", rates["hmac"], "openssl speed -hmac sha256"),
        ("deflate-1, text third", rates["deflate_text"],
         f"python zlib {zlib.ZLIB_RUNTIME_VERSION}, {human(len(text))}, ratio {ratio:.2f}x"),
        ("inflate, text third", rates["inflate_text"], "python zlib"),
        ("deflate-1, incompressible", rates["deflate_noise"], f"python zlib, {human(len(noise))}"),
    ]
    rates["disk_write"], written = disk_write_rate(src / "setup.exe", work)
    rows.append(("sequential write + fsync", rates["disk_write"],
                 f"{human(written)} of setup.exe copied to the scratch folder, fdatasync"))
    for name, rate, how in rows:
        out(f"  {name:<26} {rate / MB:8.0f} MB/s   ({how})")
    rates["text_ratio"] = ratio
    return rates


# ----------------------------------------------------------------------------------------
# Standard-tools baseline: zip -1 -r | tee >(sha256sum) | openssl enc, then openssl dgst -hmac.

BASELINE_SCRIPT = r"""
set -eo pipefail
cd "$SRC"
rm -f "$WORK/zip.fifo"; mkfifo "$WORK/zip.fifo"
sha256sum < "$WORK/zip.fifo" > "$WORK/base.zip.sha256" &
zip -1 -r -q - . | tee "$WORK/zip.fifo" \
  | openssl enc -aes-256-cbc -K "$KEY" -iv "$IV" -out "$WORK/base.bin"
wait $!
openssl dgst -sha256 -mac HMAC -macopt "hexkey:$MACKEY" "$WORK/base.bin" > "$WORK/base.hmac"
"""


def baseline(src: Path, work: Path, runs: int, nbytes: int) -> Series:
    env_args = {
        "SRC": str(src), "WORK": str(work),
        "KEY": "11" * 32, "IV": "22" * 16, "MACKEY": "33" * 32,
    }
    argv = ["env", *(f"{k}={v}" for k, v in env_args.items()), "bash", "-c", BASELINE_SCRIPT]

    def clean():
        for name in ("base.bin", "zip.fifo", "base.zip.sha256", "base.hmac"):
            (work / name).unlink(missing_ok=True)

    series = measure("baseline", lambda i: argv, runs, nbytes, before_each=clean)
    series.out_size = (work / "base.bin").stat().st_size
    clean()
    return series


# ----------------------------------------------------------------------------------------
# intunewin itself.


def build_release(out: Report) -> Path:
    out("build: cargo build --release -p intunewin-cli")
    subprocess.run(["cargo", "build", "--release", "-p", "intunewin-cli"], cwd=REPO, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target.is_absolute():
        target = REPO / target
    return target / "release" / "intunewin"


def describe_binary(binary: Path) -> str:
    ver = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.rstrip()
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:12]
    return f"{binary} ({ver or 'unknown version'}, sha256 {digest})"


def git_state(path: Path) -> str:
    def git(*a):
        return subprocess.run(["git", "-C", str(path), *a], capture_output=True, text=True).stdout.rstrip()
    head = git("log", "-1", "--format=%h %s")
    if not head:
        return "not a git checkout"
    dirty = [l[3:] for l in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    if not dirty:
        return head
    listed = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
    return f"{head} (+ uncommitted changes to {listed})"


def package_sizes(binary: Path, pkg: Path) -> dict:
    res = subprocess.run([str(binary), "info", "--json", str(pkg)], capture_output=True, text=True)
    try:
        return json.loads(res.stdout)
    except json.JSONDecodeError:
        return {}


class FreshExt4:
    """A new ext4 file system as `mkfs.ext4` makes it by default (with its journal), on a
    sparse image in `work` behind a loop device: extraction measured where no earlier run has
    left deleted inodes or aged the allocator. The image and mount go away on exit."""

    def __init__(self, work: Path, size: int):
        self.image, self.mnt, self.size, self.dev = work / "ext4.img", work / "ext4", size, None

    @staticmethod
    def available() -> bool:
        return os.geteuid() == 0 and all(shutil.which(t) for t in ("mkfs.ext4", "losetup", "mount"))

    def __enter__(self) -> Path:
        with open(self.image, "wb") as f:
            f.truncate(self.size)
        # No lazy initialisation: the kernel would otherwise zero inode tables in the
        # background during the measurements.
        subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0",
                        str(self.image)], check=True)
        self.dev = subprocess.run(["losetup", "-f", "--show", "--direct-io=on", str(self.image)],
                                  check=True, capture_output=True, text=True).stdout.strip()
        self.mnt.mkdir()
        subprocess.run(["mount", self.dev, str(self.mnt)], check=True)
        return self.mnt

    def __exit__(self, *exc) -> None:
        subprocess.run(["umount", str(self.mnt)], check=False)
        if self.dev:
            subprocess.run(["losetup", "-d", self.dev], check=False)
        self.image.unlink(missing_ok=True)


def bench_intunewin(binary: Path, src: Path, work: Path, runs: int, nbytes: int, nfiles: int,
                    pack_args: list[str], ops: set[str], profile: bool, extract_to: str,
                    out: Report, floor: bool = True) -> dict[str, Series]:
    pkg = work / "setup.intunewin"
    series: dict[str, Series] = {}

    def xdir(i: int, root: Path = work) -> Path:
        return root / f"extracted-{i}"

    deleted_at = [0.0]

    def before_extract_wd():
        # Delete the previous run's tree (kept trees fill the page cache and raise later runs'
        # system time), then wait out ext4's "recently deleted" window, during which new inodes
        # skip the freed ones (only on ext4 without a journal, like this machine's root).
        if rm_x():
            os.sync()
            deleted_at[0] = time.monotonic()
        wait = deleted_at[0] + EXT4_RECENTLY_DELETED - time.monotonic()
        if wait > 0:
            print(f"  waiting {wait:.0f} s after deleting the previous tree", flush=True)
            time.sleep(wait)

    def before_extract_fresh(root: Path):
        # A journaled ext4 does not hold freed inodes back: deleting and syncing is enough.
        rm_x(root)
        os.sync()

    def rm_pkg():
        pkg.unlink(missing_ok=True)

    def rm_x(root: Path = work) -> bool:
        trees = list(root.glob("extracted-*")) + list(root.glob("copy-*"))
        for d in trees:
            shutil.rmtree(d, ignore_errors=True)
        return bool(trees)

    pack_argv = [str(binary), "pack", str(src), "-s", "setup.exe", "-o", str(pkg), "-q",
                 "--force", *pack_args]
    if "pack" in ops or not pkg.exists():
        s = measure("pack", lambda i: pack_argv, runs if "pack" in ops else 1, nbytes,
                    before_each=rm_pkg)
        if "pack" in ops:
            series["pack"] = s
    info = package_sizes(binary, pkg)
    content = int(info.get("encryptedContentSize") or pkg.stat().st_size)
    if "pack" in series:
        series["pack"].out_size = pkg.stat().st_size
        series["pack"].content_bytes = content
    out(f"package: {human(pkg.stat().st_size)}; encrypted content {human(content)} "
        f"({content / nbytes:.1%} of the source)")
    if "verify" in ops:
        try:
            series["verify"] = measure("verify", lambda i: [str(binary), "verify", "-q", str(pkg)],
                                       runs, nbytes, content_bytes=content)
        except RunFailed as e:
            out(f"verify FAILED: {e}")
    with contextlib.ExitStack() as cleanup:
        # Where each extract row writes, and what to do before each of its runs.
        roots: dict[str, tuple[Path, object]] = {}
        if "extract" in ops and extract_to in ("ext4", "both"):
            fresh = FreshExt4(work, int(nbytes * 1.3) + 512 * MIB)
            try:
                root = cleanup.enter_context(fresh)
                out(f"extract: into a fresh ext4 file system ({human(fresh.size)}, mkfs.ext4 "
                    f"defaults with its journal, on a loop device)")
                roots["extract"] = (root, lambda root=root: before_extract_fresh(root))
            except (OSError, subprocess.CalledProcessError) as e:
                out(f"extract: no fresh ext4 ({e}); measuring in the scratch folder instead")
                extract_to = "wd"
        if "extract" in ops and extract_to in ("wd", "both"):
            out(f"extract-wd: into the scratch folder ({fs_description(work)})")
            roots["extract-wd"] = (work, before_extract_wd)
        for name, (root, before) in roots.items():
            try:
                series[name] = measure(
                    name, lambda i, root=root: [str(binary), "extract", "-q", "-o",
                                                str(xdir(i, root)), str(pkg)],
                    runs, nbytes, before_each=before, content_bytes=content)
            except RunFailed as e:
                out(f"{name} FAILED: {e}")
                continue
            got = tree_stats(xdir(runs - 1, root))
            ok = got == (nfiles, nbytes)
            out(f"{name} check: {got[0]} files, {got[1]} bytes "
                f"({'matches the corpus' if ok else f'MISMATCH: corpus has {nfiles} files, {nbytes} bytes'})")
            rm_x(root)  # its dirty pages would otherwise be written back during the next row
            os.sync()
            if not floor:
                continue
            # The floor the file system sets: the same tree copied from the page cache by
            # `cp -r` (one thread, no decryption or inflation), into the same place, the same way.
            copy = "cp-tree" + name.removeprefix("extract")
            try:
                series[copy] = measure(
                    copy, lambda i, root=root: ["cp", "-r", str(src), str(root / f"copy-{i}")],
                    runs, nbytes, before_each=before, content_bytes=0)
            except RunFailed as e:
                out(f"{copy} FAILED: {e}")
            rm_x(root)
            os.sync()
        if profile:
            commands = {
                "pack": pack_argv,
                "verify": [str(binary), "verify", "-q", str(pkg)],
            }
            if roots:
                name, (root, before) = next(iter(roots.items()))
                commands[name] = [str(binary), "extract", "-q", "-o", str(xdir(runs, root)),
                                  str(pkg)]
            for op in (o for o in commands if o in series):
                if op.startswith("extract"):
                    roots[op][1]()
                perf_profile(op, commands[op], work, out)
        for root, _ in roots.values():
            rm_x(root)
    for s in series.values():
        if s.content_bytes is None:
            s.content_bytes = content
    return series


def perf_profile(op: str, argv: list[str], work: Path, out: Report) -> None:
    """One more run under `perf record`; prints the hottest functions (self time)."""
    data = work / "perf.data"
    try:
        run_prioritized(["perf", "record", "-q", "-F", "999", "-o", str(data), "--", *argv])
        report = run_prioritized(["perf", "report", "-i", str(data), "--stdio", "--no-children",
                                  "--sort", "comm,dso,symbol",
                                  "--percent-limit", "0.7"])
    except (OSError, subprocess.CalledProcessError) as e:
        out(f"profile of {op}: perf failed ({e})")
        return
    finally:
        data.unlink(missing_ok=True)
    out()
    out(f"profile of {op} (perf record -F 999, self time by thread name, object and function):")
    rows = [l for l in report.splitlines() if l.strip() and not l.startswith("#")]
    for line in rows[:20]:
        out("  " + re.sub(r"(\s+-)+\s*$", "", line)[:150])


# ----------------------------------------------------------------------------------------
# Tables.


def print_results(series: dict[str, Series], base: Series | None, rates: dict | None,
                  out: Report) -> None:
    out()
    out(f"{'operation':<10} {'median s':>9} {'MB/s src':>9} {'MB/s cont':>9} "
        f"{'RSS MiB':>8} {'RSS max':>8} {'user s':>7} {'sys s':>6} {'others':>7}   runs (s)")
    rows = list(series.values()) + ([base] if base else [])
    for s in rows:
        cont = f"{s.content_mbs:9.0f}" if s.content_mbs and s.name != "pack" else f"{'':>9}"
        out(f"{s.name:<10} {s.wall:9.2f} {s.mbs:9.0f} {cont} {s.rss / MIB:8.1f} "
            f"{s.rss_max / MIB:8.1f} {s.user:7.2f} {s.sys:6.2f} {s.others:7.2f}   {s.walls()}")
    out("  MB/s src = corpus bytes / median wall time; MB/s cont = encrypted content bytes / "
        "median wall time;")
    out("  RSS = peak resident set (ru_maxrss, as /usr/bin/time -v reports it), median and max of "
        "the runs;")
    out("  user/sys s = CPU time of the process tree (median); others = CPU cores used by other processes during "
        "the worst run.")
    for name in ("extract", "extract-wd"):
        copy = series.get("cp-tree" + name.removeprefix("extract"))
        if name in series and copy:
            out(f"  {name}: {series[name].wall / copy.wall:.2f}x the wall time of {copy.name} "
                f"(`cp -r` of the corpus into the same place: the file system's floor)")

    if "pack" in series:
        p = series["pack"]
        io = p.median_run.io
        out()
        out("disk written while packing (median run, /proc/<pid>/io at exit):")
        out(f"  output file           {p.out_size:>15,} bytes")
        if io:
            wb = io["write_bytes"] - io.get("cancelled_write_bytes", 0)
            out(f"  write_bytes           {io['write_bytes']:>15,} bytes  "
                f"(cancelled {io.get('cancelled_write_bytes', 0):,}) = {wb / p.out_size:.3f}x the output")
            out(f"  wchar (write calls)   {io['wchar']:>15,} bytes  = {io['wchar'] / p.out_size:.3f}x "
                "the output")
            out(f"  rchar (read calls)    {io['rchar']:>15,} bytes  = {io['rchar'] / p.nbytes:.3f}x "
                "the source")

    if rates:
        out()
        refs = [("baseline", base.mbs * MB if base else None),
                ("AES-enc", rates["aes_enc"]), ("AES-dec", rates["aes_dec"]),
                ("SHA-256", rates["sha256"]), ("deflate-1", rates["deflate_text"]),
                ("inflate", rates["inflate_text"])]
        refs = [(n, r) for n, r in refs if r]
        out("ratios (our MB/s over source bytes / reference MB/s):")
        out(f"{'operation':<10} " + " ".join(f"{n:>10}" for n, _ in refs))
        for s in (s for s in series.values() if not s.name.startswith("cp-")):
            out(f"{s.name:<10} " + " ".join(f"{s.mbs * MB / r:9.2f}x" for _, r in refs))
        out("  references: baseline = zip -1 | openssl enc + sha256sum + openssl dgst -hmac "
            "(same corpus);")
        out("  AES/SHA = openssl speed, one thread; deflate-1/inflate = zlib on the text third, "
            "one thread.")

    out()
    out("targets (issue 6):")
    checks = []
    if "pack" in series:
        p = series["pack"]
        checks.append((f"pack >= {TARGET_PACK_MBS} MB/s", p.mbs >= TARGET_PACK_MBS, f"{p.mbs:.0f} MB/s"))
        if base:
            checks.append((f"pack >= {TARGET_PACK_VS_BASELINE:g}x baseline",
                           p.mbs >= TARGET_PACK_VS_BASELINE * base.mbs, f"{p.mbs / base.mbs:.2f}x"))
        io = p.median_run.io
        if io:
            wb = io["write_bytes"] - io.get("cancelled_write_bytes", 0)
            checks.append(("disk written = output size", wb <= p.out_size * 1.01 + MIB,
                           f"{wb / p.out_size:.3f}x"))
    if "verify" in series:
        v = series["verify"]
        checks.append((f"verify >= {TARGET_VERIFY_MBS} MB/s (content)",
                       v.content_mbs >= TARGET_VERIFY_MBS, f"{v.content_mbs:.0f} MB/s "
                       f"({v.mbs:.0f} MB/s of source)"))
    for name in ("extract", "extract-wd"):
        if name in series:
            x = series[name]
            checks.append((f"{name} >= {TARGET_EXTRACT_MBS} MB/s (content)",
                           x.content_mbs >= TARGET_EXTRACT_MBS, f"{x.content_mbs:.0f} MB/s "
                           f"({x.mbs:.0f} MB/s of source)"))
    for s in (s for s in series.values() if not s.name.startswith("cp-")):
        checks.append((f"{s.name} peak RSS <= {TARGET_RSS_MIB} MiB", s.rss_max <= TARGET_RSS_MIB * MIB,
                       f"{s.rss_max / MIB:.1f} MiB"))
    print_checks(checks, out)


def print_checks(checks: list[tuple[str, bool, str]], out: Report) -> None:
    for name, ok, value in checks:
        out(f"  [{'ok' if ok else 'MISS'}] {name:<44} {value}")


def print_rss_by_size(main: dict[str, Series], size: int, other: dict[str, Series],
                      other_size: int, out: Report) -> None:
    """Peak RSS of each operation at the main size and at --rss-size, and the check that it
    does not grow with the package (issue 6: "independent of package size")."""
    out()
    runs = max((len(s.runs) for s in other.values()), default=0)
    out(f"peak RSS by corpus size (issue 6: independent of package size; {runs} run(s) of each "
        f"at {human(other_size)}):")
    out(f"{'operation':<10} {human(size):>10} {human(other_size):>10} {'growth':>8}   "
        f"at {human(other_size)}: median s, MB/s src, MB/s cont")
    checks = []
    for name, s in main.items():
        if name.startswith("cp-") or name not in other:
            continue
        grow = other[name].rss_max - s.rss_max
        o = other[name]
        cont = f"{o.content_mbs:6.0f}" if o.content_mbs and name != "pack" else ""
        out(f"{name:<10} {s.rss_max / MIB:10.1f} {o.rss_max / MIB:10.1f} {grow / MIB:+8.1f}   "
            f"{o.wall:8.2f} {o.mbs:6.0f} {cont}")
        checks.append((f"{name} peak RSS <= {TARGET_RSS_MIB} MiB at {human(other_size)}",
                       other[name].rss_max <= TARGET_RSS_MIB * MIB,
                       f"{other[name].rss_max / MIB:.1f} MiB"))
        checks.append((f"{name} RSS growth <= {RSS_GROWTH_MIB} MiB",
                       grow <= RSS_GROWTH_MIB * MIB, f"{grow / MIB:+.1f} MiB"))
    print_checks(checks, out)


# ----------------------------------------------------------------------------------------


def take_lock(base: Path):
    """One benchmark at a time per corpus folder: concurrent runs would disturb each other's
    numbers and could generate the same corpus twice. Released when the process exits."""
    f = open(base / "bench.lock", "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        print(f"waiting for another benchmark (pid {f.read().strip() or '?'}) to finish", flush=True)
        fcntl.flock(f, fcntl.LOCK_EX)
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def rss_at_size(args: argparse.Namespace, binary: Path, series: dict[str, Series],
                out: Report) -> dict[str, Series]:
    """The same operations on a corpus of --rss-size, for peak RSS only (no floor rows)."""
    out()
    src, stamp = ensure_corpus(args.dir, args.rss_size, args.seed, out)
    out(f"corpus for the RSS check: {human(args.rss_size)}, {stamp['files']} files")
    work = args.dir / f"work-{os.getpid()}-rss"
    work.mkdir(parents=True)
    try:
        return bench_intunewin(binary, src, work, args.rss_runs, args.rss_size, stamp["files"],
                               args.pack_args.split(), args.ops, False, args.extract_to, out,
                               floor=False)
    except RunFailed as e:
        out(f"RSS check FAILED: {e}")
        return {}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--size", type=parse_size, default=parse_size("1G"),
                    help="corpus size (binary units: 512M, 1G, 5G)")
    ap.add_argument("--seed", type=int, default=1, help="corpus seed")
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--rss-size", type=parse_size,
                    help="also run the operations on a corpus of this size (e.g. 5G) and check "
                    f"that peak RSS stays <= {TARGET_RSS_MIB} MiB and within {RSS_GROWTH_MIB} MiB "
                    "of the main size's")
    ap.add_argument("--rss-runs", type=int, default=1, help="runs per operation at --rss-size")
    ap.add_argument("--dir", type=Path, default=REPO / "target" / "bench-corpus",
                    help="where corpora and scratch output go")
    ap.add_argument("--bin", type=Path, help="intunewin binary to measure (default: build "
                    "target/release/intunewin from this checkout)")
    ap.add_argument("--tree", type=Path, help="checkout --bin was built from, for the header "
                    "(default: this checkout)")
    ap.add_argument("--label", default="", help="name of this run, printed in the header")
    ap.add_argument("--results", type=Path, default=REPO / "target" / "bench-results.txt",
                    help="file the full output is written to")
    ap.add_argument("--ops", default="pack,verify,extract",
                    help="comma-separated subset of pack,verify,extract")
    ap.add_argument("--pack-args", default="", help="extra arguments for `intunewin pack`, "
                    "e.g. '--level 6' (split on spaces)")
    ap.add_argument("--extract-to", choices=("both", "ext4", "wd"),
                    default="both" if FreshExt4.available() else "wd",
                    help="where extract writes: a fresh ext4 on a loop device (row `extract`, needs "
                         "root), the scratch folder (row `extract-wd`), or both (default as root)")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the standard-tools baseline and the reference rates")
    ap.add_argument("--speed-seconds", type=int, default=3, help="seconds per `openssl speed` test")
    ap.add_argument("--wait-quiet", type=float, default=1200,
                    help=f"seconds to wait for load1 <= --max-load and no {BUSY_PATTERN} processes")
    ap.add_argument("--max-load", type=float, default=0.5, help="load average counted as quiet")
    ap.add_argument("--nice", type=int, default=-15 if os.geteuid() == 0 else 0,
                    help="niceness of the measurements (negative needs root): a busy machine "
                    "then disturbs them less")
    ap.add_argument("--profile", action="store_true",
                    help="after measuring, profile one run of each operation with `perf record`")
    ap.add_argument("--corpus-only", action="store_true", help="generate the corpus and stop")
    ap.add_argument("--delete-corpus", action="store_true", help="delete the corpus at the end")
    args = ap.parse_args()
    args.ops = {o.strip() for o in args.ops.split(",") if o.strip()}
    if not args.ops <= {"pack", "verify", "extract"}:
        ap.error("--ops takes pack, verify, extract")
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    out = Report(args.results)
    for tool in ("openssl", TIME) + (() if args.no_baseline else ("zip", "sha256sum")):
        if not shutil.which(tool):
            sys.exit(f"bench: `{tool}` not found (Debian: apt-get install "
                     f"{Path(tool).name.replace('sha256sum', 'coreutils')})")
    args.dir.mkdir(parents=True, exist_ok=True)
    lock = take_lock(args.dir)  # noqa: F841 (held until exit)
    out(f"intunewin benchmark{' — ' + args.label if args.label else ''}")
    out(f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    out(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / (1 << 30):.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}")
    src, stamp = ensure_corpus(args.dir, args.size, args.seed, out)
    out(f"corpus: {human(args.size)}, seed {args.seed}, {stamp['files']} files in "
        f"{stamp['folders']} text folders + payload/, sha256 {stamp['sha256'][:16]}")
    out.save()
    if args.corpus_only:
        return
    binary = args.bin.resolve() if args.bin else build_release(out)
    out(f"binary: {describe_binary(binary)}")
    out(f"source tree: {git_state(args.tree or REPO)}")
    work = args.dir / f"work-{os.getpid()}"
    work.mkdir(parents=True)
    out(f"pack arguments: {' '.join(['-q', '--force'] + args.pack_args.split())}")
    out("page cache: warm (the corpus was just written or read; nothing is dropped)")
    wait_quiet(args.wait_quiet, args.max_load, out)
    out(f"load1 at start: {load1():.2f}")
    out()
    nfiles = stamp["files"]
    global NICE
    NICE = args.nice
    out(f"niceness of the measurements: {NICE} (own session and autogroup per command)")
    rates = base = None
    try:
        if not args.no_baseline:
            rates = reference_rates(src, work, args.speed_seconds, out)
            out.save()
        series = bench_intunewin(binary, src, work, args.runs, args.size, nfiles,
                                 args.pack_args.split(), args.ops, args.profile,
                                 args.extract_to, out)
        if not args.no_baseline:
            base = baseline(src, work, args.runs, args.size)
            out(f"baseline: encrypted zip {human(base.out_size)} "
                f"({base.out_size / args.size:.1%} of the source)")
    except RunFailed as e:
        out(f"FAILED: {e}")
        out.save()
        sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out(f"load1 at end: {load1():.2f}")
    print_results(series, base, rates, out)
    if args.rss_size:
        out.save()
        large = rss_at_size(args, binary, series, out)
        print_rss_by_size(series, args.size, large, args.rss_size, out)
    if args.delete_corpus:
        shutil.rmtree(src.parent, ignore_errors=True)
        out(f"corpus deleted: {src.parent}")
    out.save()
    print(f"\nfull output written to {args.results}")


if __name__ == "__main__":
    main()
