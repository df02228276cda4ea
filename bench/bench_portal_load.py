"""Load on the portal: many uploads at once from several country sessions, against a real uvicorn server.

Starts ``atlas portal`` in its own process on 127.0.0.1 (a throwaway programme under bench/out/), logs in
--sessions countries, and has them upload --uploads files of --mb MB each at the same time, in 1 MB pieces
(the browser's resumable scheme); each session then sends its delivery. Bounded in count and in time
(--timeout). Checks that nothing is lost: every file's SHA-256 in the inbox equals what was sent.
Prints uploads/s, MB/s, the server's peak memory (VmHWM), and the ratio of the portal's MB/s to the baseline:
writing the same bytes straight to the same disk with fsync, in one process.

    .venv/bin/python bench/bench_portal_load.py [--uploads 50] [--sessions 10] [--mb 2] [--timeout 300] [--form]

--form sends each file as the page's plain form does with JavaScript off (one multipart POST, parsed as it
streams) instead of the resumable pieces.

tests/test_portal_server.py runs the same load, small, and checks the hashes (no timing asserted).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COUNTRIES = ("BGD", "BTN", "KHM", "CHN", "IND", "IDN", "JPN", "MNG", "NPL", "PAK", "PHL", "LKA", "THA", "VNM")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PIECE = 1 << 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``atlas portal`` in a child process, on a throwaway programme root."""

    def __init__(self, root: Path, port: int | None = None):
        from atlas.config import DEFAULT_CONFIG

        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.config = self.root / "programme.toml"
        if not self.config.exists():
            shutil.copy(DEFAULT_CONFIG, self.config)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def tokens(self, roles) -> dict[str, str]:
        from atlas.config import load_programme
        from atlas.portal.app import store_path
        from atlas.portal.store import PortalStore

        store = PortalStore(store_path(load_programme(self.config)))
        return {role: store.add_token(role, "load test")[0] for role in roles}

    def start(self, timeout_s: float = 120) -> Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "atlas.cli", "portal", "--config", str(self.config), "--port", str(self.port)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(self.root / "server.log", "ab"))  # noqa: SIM115
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the portal exited: see {self.root / 'server.log'}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the portal did not answer in time")

    def peak_memory_mb(self) -> float | None:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        found = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(found.group(1)) / 1024 if found else None

    def kill(self) -> None:
        """As a crash would: SIGKILL, no clean-up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def log_in(url: str, token: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=120)
    nonce = CSRF.search(client.get("/login").text).group(1)
    response = client.post("/login", data={"token": token, "csrf": nonce})
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"], follow_redirects=True)
    return client, CSRF.search(page.text).group(1)


def upload_file(client: httpx.Client, csrf: str, did: str, name: str, data: bytes) -> None:
    started = client.post(f"/api/deliveries/{did}/uploads", json={"name": name, "size": len(data)},
                          headers={"X-CSRF-Token": csrf})
    started.raise_for_status()
    uid, offset = started.json()["id"], started.json()["offset"]
    while offset < len(data):
        response = client.patch(f"/api/uploads/{uid}", content=data[offset:offset + PIECE],
                                headers={"X-CSRF-Token": csrf, "Upload-Offset": str(offset)})
        response.raise_for_status()
        offset = response.json()["offset"]


def upload_form(client: httpx.Client, csrf: str, did: str, name: str, data: bytes) -> None:
    """As a browser without JavaScript: the page's form, the csrf field first, then the file."""
    response = client.post(f"/deliveries/{did}/files", data={"csrf": csrf}, files={"files": (name, data)})
    assert response.status_code == 303, response.text


def run_load(server: Server, uploads: int, sessions: int, size: int, timeout_s: float, seed: int = 1,
             form: bool = False) -> dict:
    """``uploads`` files of ``size`` bytes from ``sessions`` countries at once; returns figures and checks."""
    countries = COUNTRIES[:sessions]
    tokens = server.tokens(countries)
    clients = {c: log_in(server.url, tokens[c]) for c in countries}
    deliveries = {}
    for country, (client, csrf) in clients.items():
        response = client.post(f"/country/{country}/deliveries", data={"csrf": csrf})
        deliveries[country] = response.headers["location"].rsplit("/", 1)[-1]
    rng = __import__("random").Random(seed)
    jobs = []
    for i in range(uploads):
        country = countries[i % sessions]
        jobs.append((country, f"{country}_load_{i:03d}.txt", rng.randbytes(size)))
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=uploads) as pool:
        futures = [pool.submit(upload_form if form else upload_file, *clients[c], deliveries[c], name, data)
                   for c, name, data in jobs]
        done, pending = wait(futures, timeout=timeout_s)
    elapsed = time.perf_counter() - started
    errors = [f.exception() for f in done if f.exception() is not None]
    for country, (client, csrf) in clients.items():
        client.post(f"/deliveries/{deliveries[country]}/send", data={"csrf": csrf})
    from atlas.config import load_programme

    raw = load_programme(server.config).raw_dir
    mismatched, missing = [], []
    for country, name, data in jobs:
        found = list(raw.glob(f"{country}/*/{name}"))
        if len(found) != 1:
            missing.append(name)
        elif hashlib.sha256(found[0].read_bytes()).hexdigest() != hashlib.sha256(data).hexdigest():
            mismatched.append(name)
    for client, _ in clients.values():
        client.close()
    return {"uploads": uploads, "sessions": sessions, "bytes": uploads * size, "seconds": elapsed,
            "unfinished": len(pending), "errors": [repr(e) for e in errors], "missing": missing,
            "mismatched": mismatched, "server_peak_mb": server.peak_memory_mb()}


def disk_baseline(folder: Path, uploads: int, size: int) -> float:
    """MB/s writing the same bytes straight to disk with fsync: what the portal is compared with."""
    data = os.urandom(size)
    started = time.perf_counter()
    for i in range(uploads):
        with open(folder / f"baseline_{i}", "wb") as fh:
            for offset in range(0, size, PIECE):
                fh.write(data[offset:offset + PIECE])
            os.fsync(fh.fileno())
    return uploads * size / (1 << 20) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--mb", type=float, default=2.0, help="size of each file in MB")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--form", action="store_true", help="upload as the plain form (JavaScript off)")
    args = parser.parse_args()
    size = int(args.mb * (1 << 20))
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="portal_load_", dir=out))
    server = Server(root).start()
    try:
        figures = run_load(server, args.uploads, args.sessions, size, args.timeout, form=args.form)
    finally:
        server.stop()
    baseline = disk_baseline(root, args.uploads, size)
    mb = figures["bytes"] / (1 << 20)
    rate = mb / figures["seconds"]
    how = "plain form posts (no JavaScript)" if args.form else "resumable pieces"
    print(f"{figures['uploads']} uploads of {args.mb:g} MB from {figures['sessions']} sessions at once, "
          f"on 127.0.0.1, as {how}: {figures['seconds']:.1f} s; load average {os.getloadavg()[0]:.1f}")
    print(f"  uploads/s {figures['uploads'] / figures['seconds']:.2f}   MB/s {rate:.1f}   "
          f"server peak memory {figures['server_peak_mb']:.0f} MB (VmHWM)")
    print(f"  baseline (same bytes written straight to disk with fsync): {baseline:.1f} MB/s; "
          f"portal/baseline = {rate / baseline:.2f}")
    print(f"  unfinished {figures['unfinished']}, errors {len(figures['errors'])}, missing {len(figures['missing'])}, "
          f"SHA-256 mismatches {len(figures['mismatched'])}")
    shutil.rmtree(root, ignore_errors=True)
    if figures["unfinished"] or figures["errors"] or figures["missing"] or figures["mismatched"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
