"""What every benchmark shares: the data, the machine's description, interleaved timing,
and a running copy of the app.

Rules every benchmark here keeps (the machine is a shared 2-core CPU, so absolute times
are noisy):
- a ratio is measured side by side in one process: the two variants run in alternating
  rounds (A B, B A, A B, ...) and the ratio is the median of the per-round ratios;
- every reported time is a median of repeats, after a warm-up round that is thrown away.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ first on the path, not the repo
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import ui  # noqa: E402, F401  (switches analytics and hub lookups off, as in the app, before gradio_client is imported)
from gpt.device import cpu_cores  # noqa: E402, F401  (re-exported for the benchmarks)

# Benchmarks may read the standard text by path; it is never copied into the repository.
SHAKESPEARE = Path(os.environ.get("MIRADOR_BENCH_TEXT", ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"))
if not SHAKESPEARE.is_file():
    SHAKESPEARE = Path("/work/shared/data/tinyshakespeare.txt")


# --- data ------------------------------------------------------------------------------------


def shakespeare_text() -> str:
    if not SHAKESPEARE.is_file():
        raise FileNotFoundError(
            f"{SHAKESPEARE} not found: the benchmarks read tiny Shakespeare from ../shared/data/ "
            "(set MIRADOR_BENCH_TEXT to its path)."
        )
    return SHAKESPEARE.read_text(encoding="utf-8")


_CHAR_DATA = None


def char_data(block_size: int):
    """(tokenizer, train_ids, val_ids): char tiny Shakespeare, split 90/10 by gpt.split_ids."""
    global _CHAR_DATA
    from gpt import CharTokenizer, split_ids

    if _CHAR_DATA is None:
        text = shakespeare_text()
        tokenizer = CharTokenizer.from_text(text)
        _CHAR_DATA = (tokenizer, torch.tensor(tokenizer.encode(text), dtype=torch.long))
    tokenizer, ids = _CHAR_DATA
    train_ids, val_ids = split_ids(ids, block_size, 0.1)
    return tokenizer, train_ids, val_ids


# --- the machine -----------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine_info(command: str | None = None) -> dict:
    from gpt.device import cpu_has_native_bf16

    info = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command or " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "cpu": cpu_model(),
        "cores": cpu_cores(),
        "cpu_bf16": cpu_has_native_bf16(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "load_average": load_average(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


# --- timing ----------------------------------------------------------------------------------


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleave(variants: dict, rounds: int, warmup: int = 1) -> dict:
    """Run each variant's fn() once per round, alternating the order (A B, B A, ...).

    variants: name -> fn (no arguments). Returns name -> list of seconds per kept round
    (the first `warmup` rounds are thrown away). Round i's times of the different variants
    were taken side by side, so per-round ratios cancel slow drifts of the machine's load.
    """
    names = list(variants)
    times = {name: [] for name in names}
    for i in range(warmup + rounds):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            seconds = timed(variants[name])
            if i >= warmup:
                times[name].append(seconds)
    return times


class Stopwatch:
    """Times the stages of a loop round by round, the first `warmup` rounds thrown away:

        watch = Stopwatch(warmup=2)
        for _ in watch.rounds(repeats):
            fig = build()
            watch.lap("figure")  # the time since the round began, or since the last lap
            fig.to_json()
            watch.lap("json")
        watch.median_ms("figure", "json")  # the median over rounds of both stages together
    """

    def __init__(self, warmup: int = 2):
        self.warmup = warmup
        self.seconds: dict[str, list[float]] = {}  # stage -> its seconds in each kept round
        self._keep, self._last = False, 0.0

    def rounds(self, repeats: int):
        for i in range(self.warmup + repeats):
            self._keep, self._last = i >= self.warmup, time.perf_counter()
            yield i

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        if self._keep:
            self.seconds.setdefault(stage, []).append(now - self._last)
        self._last = now

    def median_ms(self, *stages: str) -> float:
        """The median over the kept rounds of these stages' time in one round, summed, in ms."""
        return 1000 * median([sum(round_s) for round_s in zip(*(self.seconds[stage] for stage in stages))])


class KeptThreadCount:
    """with KeptThreadCount() as kept: the process's torch thread count is put back on the way out
    (kept.saved), and kept.left is the count the code inside left set: after the app's handlers,
    which set their own (ui.threads.inference), the app's request policy."""

    def __enter__(self):
        self.saved, self.left = torch.get_num_threads(), None
        return self

    def __exit__(self, *exc):
        self.left = torch.get_num_threads()
        torch.set_num_threads(self.saved)
        return False


def paired_ratio(slow: list, fast: list):
    """Median over rounds of slow/fast: how many times faster `fast` ran, round by round."""
    return median([s / f for s, f in zip(slow, fast) if f > 0])


def fmt(value, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


# --- results ---------------------------------------------------------------------------------


@dataclass
class Section:
    """One benchmark's findings: a table for RESULTS.md and the numbers for the JSON line."""

    title: str
    rows: list = field(default_factory=list)  # dicts: measure, reference, ours, ratio, target, met
    notes: list = field(default_factory=list)
    json: dict = field(default_factory=dict)
    seconds: float | None = None

    def row(self, measure, reference=None, ours=None, ratio=None, target=None, met=None, unit=""):
        self.rows.append(dict(measure=measure, reference=reference, ours=ours, ratio=ratio, target=target, met=met, unit=unit))

    def markdown(self) -> str:
        lines = [f"## {self.title}", ""]
        if self.rows:
            lines += ["| measure | reference | ours | ratio | target | met |", "|---|---|---|---|---|---|"]
            for r in self.rows:
                unit = f" {r['unit']}" if r["unit"] else ""
                ref = fmt(r["reference"]) + (unit if r["reference"] is not None else "")
                ours = fmt(r["ours"]) + (unit if r["ours"] is not None else "")
                ratio = f"{fmt(r['ratio'])}x" if r["ratio"] is not None else "—"
                measure = str(r["measure"]).replace("|", "/")  # a pipe would split the cell
                lines.append(f"| {measure} | {ref} | {ours} | {ratio} | {r['target'] or '—'} | {fmt(r['met'])} |")
            lines.append("")
        lines += [f"- {note}" for note in self.notes]
        if self.seconds is not None:
            lines.append(f"- (this section took {self.seconds:.0f} s)")
        return "\n".join(lines) + "\n"


def print_section(section: Section) -> None:
    print(section.markdown())
    print(json.dumps(section.json))


def standalone(run, description: str) -> None:
    """`python bench/<module>.py [--quick]`: run one benchmark and print its table and JSON."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke check")
    args = parser.parse_args()
    start = time.perf_counter()
    section = run(quick=args.quick)
    section.seconds = time.perf_counter() - start
    print(f"load average at the end: {load_average()}")
    print_section(section)


# --- the app in a subprocess -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False, analytics_enabled=False)


def generate_call(c, prompt="ROMEO:\n", max_new_tokens=200, temperature=1.0, seed=1337) -> str:
    """/generate with top-k and top-p off (0 and 1.0); returns the prompt plus the continuation."""
    return c.predict(prompt, max_new_tokens, temperature, 0, 1.0, seed, api_name="/generate")


def train_args(text: str, settings, watch_layer: int = 0) -> tuple:
    """The positional arguments of /train for these TrainingSettings: the text, then the form's fields
    and the layer to watch in the API's order (ui/train_form.API_FIELDS; the probe left to its default).
    A field left to the run (None) is sent as the value the run would choose."""
    from ui.train_form import API_FIELDS

    resolved = settings.train_config()
    values = {"watch_layer": watch_layer}
    for name in API_FIELDS:
        if name not in values and name != "probe":
            value = getattr(settings, name)
            values[name] = getattr(resolved, name) if value is None else value
    return (text, *(values[name] for name in API_FIELDS if name != "probe"))


def train_kwargs(c, text: str, settings, watch_layer: int = 0) -> dict:
    """train_args by name, keeping only the parameters this server's /train has: an older commit of
    the app (a before/after benchmark) may have fewer form fields."""
    from ui.train_form import API_FIELDS

    names = ["text", *(name for name in API_FIELDS if name != "probe")]
    known = {p["parameter_name"] for p in c.view_api(print_info=False, return_format="dict")["named_endpoints"]["/train"]["parameters"]}
    return {name: value for name, value in zip(names, train_args(text, settings, watch_layer)) if name in known}


def can_generate(url: str) -> None:
    """Ready: a /generate with the bundled model's prompt succeeds."""
    generate_call(client(url), max_new_tokens=1)


def config_answers(url: str) -> None:
    """Ready: the app serves its config (for any default model, whatever prompt it can encode)."""
    import httpx

    httpx.get(url + "config", timeout=2, trust_env=False).raise_for_status()


class AppProcess:
    """`python app.py` on a free port, its output in a log file; stopped on exit.

    with AppProcess(env={...}) as app: app.url, app.ready_s, app.rss_mb()
    """

    def __init__(
        self, env: dict | None = None, ready_timeout_s: float = 120.0, log_name: str = "app", ready_check=None, cwd: Path = ROOT
    ):
        self.cwd = Path(cwd)  # another checkout of the app (an older commit) runs from its own folder
        self.ready_check = ready_check or can_generate
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.env = {**os.environ, "GRADIO_SERVER_PORT": str(self.port), "GRADIO_SERVER_NAME": "127.0.0.1", **(env or {})}
        self.ready_timeout_s = ready_timeout_s
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"mirador-bench-{log_name}-{self.port}.log"
        self.proc = None
        self.ready_s = None

    def __enter__(self):
        self._log = open(self.log_path, "w")
        start = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=self.cwd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self.ready_s = self._wait_ready(start)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self, start: float) -> float:
        """Seconds from launch until ready_check(url) succeeds (by default a /generate: the page can generate)."""
        deadline = start + self.ready_timeout_s
        last_error = None
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited with code {self.proc.returncode}; see {self.log_path}:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
            except OSError:
                time.sleep(0.05)
                continue
            try:
                self.ready_check(self.url)
                return time.perf_counter() - start
            except Exception as exc:  # not ready yet (routes still mounting)
                last_error = exc
                time.sleep(0.1)
        raise TimeoutError(f"app.py was not ready after {self.ready_timeout_s:.0f} s ({last_error!r}); see {self.log_path}")

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_quiet(self, busy_pct: float = 5.0, timeout_s: float = 120.0) -> float:
        """Wait until the app does nothing (under busy_pct of one core over a second, twice in a
        row): its start-up work in the background, such as the estimates' calibration, is over.
        Returns the seconds waited."""
        import psutil

        proc, start, calm = psutil.Process(self.proc.pid), time.monotonic(), 0
        proc.cpu_percent(None)
        while calm < 2 and time.monotonic() - start < timeout_s:
            time.sleep(1.0)
            calm = calm + 1 if proc.cpu_percent(None) < busy_pct else 0
        return time.monotonic() - start

    def rss_mb(self, children: bool = True) -> float:
        import psutil

        proc = psutil.Process(self.proc.pid)
        procs = [proc] + (proc.children(recursive=True) if children else [])
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total / (1024 * 1024)

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        if getattr(self, "_log", None):
            self._log.close()
        return False


def bundled_model_path() -> Path:
    from_env = os.environ.get("MIRADOR_MODEL")
    return Path(from_env) if from_env else ROOT / "assets" / "shakespeare-char.safetensors"
