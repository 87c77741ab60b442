"""What the interop suite and the dashboard's browser test share: checks that count,
free ports, and processes started and stopped."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))

processes = []
failures = []
results = {"passed": 0}


def check(condition, what):
    if condition:
        results["passed"] += 1
        print(f"  ok    {what}")
    else:
        failures.append(what)
        print(f"  FAIL  {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def wait_for(url, seconds, process):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"{process.args[0]} exited with {process.returncode} before answering {url}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:
            time.sleep(0.25)
    sys.exit(f"nothing answered {url} within {seconds} s")


def start(args, log, env=None):
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    processes.append(process)
    return process


def start_fake(work, billing=False):
    """The fake upstream (fake_upstream.py) on a free port, billing Anthropic's prompt
    cache if asked; returns its base URL."""
    port = free_port()
    args = [sys.executable, os.path.join(HERE, "fake_upstream.py"), str(port)] + (["--billing"] if billing else [])
    fake = start(args, open(f"{work}/fake.log", "w"))
    wait_for(f"http://127.0.0.1:{port}/_calls", 10, fake)
    return f"http://127.0.0.1:{port}"


def start_sidecar(work, fake, env=None):
    """The sidecar with the shipped config/cachette.yaml, its port, file and upstreams
    pointed at this run's (and `env` its environment, if given); returns its base URL
    once it answers."""
    port = free_port()
    with open(os.path.join(ROOT, "config", "cachette.yaml")) as f:
        config = yaml.safe_load(f)
    config["server"]["port"] = port
    config["cache"]["path"] = f"{work}/cache.sqlite"
    config["pricing"]["file"] = os.path.join(ROOT, "config", "pricing.yaml")
    for entry in config["upstreams"]:
        entry["base_url"] = f"{fake}/v1"
    with open(f"{work}/cachette.yaml", "w") as f:
        yaml.safe_dump(config, f)
    binary = os.environ.get("CACHETTE_BIN", os.path.join(ROOT, ".build", "debug", "cachette"))
    sidecar = start([binary, "serve", "--config", f"{work}/cachette.yaml"], open(f"{work}/cachette.log", "w"), env)
    wait_for(f"http://127.0.0.1:{port}/health", 30, sidecar)
    return f"http://127.0.0.1:{port}"


def stop_all():
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def print_logs(work, names):
    for name in names:
        path = f"{work}/{name}"
        try:
            lines = open(path).readlines()
        except OSError:
            continue
        print(f"--- {name} (last 40 lines)")
        print("".join(lines[-40:]))


def finish():
    print(f"{results['passed']} checks passed, {len(failures)} failed")
    if failures:
        sys.exit(1)


def run_suite(prefix, logs, body):
    """Runs `body(work)` in a temporary folder, prints `logs` (file names in it) if it
    fails, stops every process started, and exits with the checks' verdict."""
    with tempfile.TemporaryDirectory(prefix=prefix) as work:
        try:
            body(work)
        except BaseException:
            print_logs(work, logs)
            raise
        finally:
            stop_all()
    finish()
