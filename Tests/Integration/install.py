"""`make install` proven without the build tree: the install goes to a prefix outside
the checkout, then the checkout is hidden by a mount namespace (`unshare --mount`, a
tmpfs mounted over it) for every run of the installed binary, from an empty working
directory with no config file. There: `serve` answers a miss and a hit, prices the
miss from the shipped table, serves the dashboard; `tokens` counts; `--version` names
the commit; `ldd` shows no Swift runtime; the systemd unit verifies; and `make dist`
packs a tarball whose SHA256SUMS checks."""

import json
import os
import subprocess
import sys
import tempfile
import urllib.request

from common import ROOT, check, finish, free_port, print_logs, start, start_fake, stop_all, wait_for

# libc and the C libraries the design names, and what the toolchain's C and C++ parts
# need of Debian's base system: libm, libstdc++ and libgcc_s (the Swift runtime's C++),
# zlib (SwiftNIO's HTTP compression).
ALLOWED_LIBRARIES = ("linux-vdso", "ld-linux", "libc.so", "libm.so", "libzstd", "libsqlite3", "libxxhash", "libstdc++", "libgcc_s", "libz.so")


def hidden(args, work, **kwargs):
    """`args` run with the checkout covered by an empty tmpfs, from an empty folder."""
    script = 'mount -t tmpfs tmpfs "$1" && cd "$2" && shift 2 && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", ROOT, f"{work}/empty"] + args


def main():
    with tempfile.TemporaryDirectory(prefix="cachette-install-") as work:
        try:
            prefix = f"{work}/usr"
            os.makedirs(f"{work}/empty")
            os.makedirs(f"{work}/xdg")
            built = subprocess.run(["make", "--no-print-directory", "install", f"PREFIX={prefix}"], cwd=ROOT,
                                   capture_output=True, text=True)
            check(built.returncode == 0, f"make install PREFIX={prefix} ({built.stderr.strip()[-300:]})")
            binary = f"{prefix}/bin/cachette"
            dist = subprocess.run(["make", "--no-print-directory", "dist"], cwd=ROOT, capture_output=True, text=True)
            tarballs = [name for name in os.listdir(f"{ROOT}/.build-dist") if name.endswith(".tar.gz")] if dist.returncode == 0 else []
            listed = subprocess.run(["tar", "-tzf", f"{ROOT}/.build-dist/{tarballs[0]}"], capture_output=True, text=True).stdout if tarballs else ""
            summed = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=f"{ROOT}/.build-dist", capture_output=True, text=True)
            check(len(tarballs) == 1 and tarballs[0].startswith("cachette-") and "-linux-" in tarballs[0] and summed.returncode == 0
                  and all(path in listed for path in ["./bin/cachette", "./share/cachette/Cachette_CachetteCore.resources/o200k_base.tiktoken",
                                                      "./share/cachette/examples/systemd/cachette.service", "./share/cachette/LICENSE-tiktoken",
                                                      "./share/cachette/README.md"]),
                  f"make dist: {tarballs}, SHA256SUMS {summed.stdout.strip()}" + (f" {dist.stderr.strip()[-300:]}" if dist.returncode else ""))
            data = sorted(os.listdir(f"{prefix}/share/cachette"))
            check(data == ["Cachette_CachetteCore.resources", "Cachette_CachetteServer.resources"], f"the data in share/cachette: {data}")

            libraries = [line.split()[0] for line in subprocess.run(["ldd", binary], capture_output=True, text=True).stdout.splitlines()]
            unexpected = [lib for lib in libraries if not os.path.basename(lib).startswith(ALLOWED_LIBRARIES)]
            check(libraries and not unexpected, f"ldd: only libc and the C libraries named ({libraries})")
            check(not any("swift" in lib.lower() or "foundation" in lib.lower() for lib in libraries), "no Swift runtime is needed")

            unit = f"{work}/cachette.service"
            with open(os.path.join(ROOT, "config", "systemd", "cachette.service")) as f:
                text = f.read().replace("/usr/local/bin/cachette", binary)
            with open(unit, "w") as f:
                f.write(text)
            verified = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
            check(verified.returncode == 0 and not verified.stderr.strip(),
                  f"systemd-analyze verify accepts config/systemd/cachette.service ({verified.stderr.strip()[:300]})")

            env = dict(os.environ, XDG_CONFIG_HOME=f"{work}/xdg", HOME=f"{work}/empty", CACHETTE_CONFIG="")
            version = subprocess.run(hidden([binary, "--version"], work), capture_output=True, text=True, env=env)
            check(version.returncode == 0 and "(commit " in version.stdout and "unknown" not in version.stdout,
                  f"--version names the commit ({version.stdout.strip()} {version.stderr.strip()})")

            sample = f"{work}/sample.txt"
            with open(sample, "w") as f:
                f.write("Hello, world! The cache answers repeated requests.")
            tokens = subprocess.run(hidden([binary, "tokens", "--json", sample], work), capture_output=True, text=True, env=env)
            counted = json.loads(tokens.stdout or "{}").get("tokens") if tokens.returncode == 0 else None
            check(isinstance(counted, int) and counted > 5, f"tokens counts with the installed vocabulary ({tokens.stdout.strip()} {tokens.stderr.strip()[-300:]})")

            fake = start_fake(work)
            port = free_port()
            sidecar = start(hidden([binary, "serve", "--port", str(port), "--db", f"{work}/cache.sqlite", "--upstream", f"{fake}/v1"], work),
                            open(f"{work}/cachette.log", "w"), env)
            wait_for(f"http://127.0.0.1:{port}/health", 30, sidecar)
            body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello from an install"}]}).encode()
            outcomes = []
            for _ in range(2):
                request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=body, method="POST",
                                                 headers={"content-type": "application/json", "authorization": "Bearer sk-install"})
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                    outcomes.append(response.headers.get("x-cache"))
            check(outcomes == ["MISS", "HIT"], f"serve answers a miss, then a hit ({outcomes})")
            stats = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10))
            check(stats["cost"]["spent_usd"] > 0, f"the miss is priced from the shipped table ({stats['cost']})")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
                html = page.read().decode()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/dashboard/app.js", timeout=10) as script:
                js = script.read().decode()
            check("<title>Cachette</title>" in html and "function" in js, "the dashboard loads from share/cachette")
        except BaseException:
            print_logs(work, ["cachette.log", "fake.log"])
            raise
        finally:
            stop_all()
    finish()


if __name__ == "__main__":
    main()
