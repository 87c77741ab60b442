"""What the interop suite and the dashboard's browser test share: checks that count,
free ports, and processes started and stopped."""

import json
import socket
import subprocess
import sys
import time
import urllib.request

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
