#!/usr/bin/env python3
"""Fails when a folder of a module uses a type declared in another folder that uses one
of its own (ARCHITECTURE.md: dependencies point one way). A use is the name of a
top-level type declared in the other folder, outside comments. A folder inside a folder
(`Store/Shared`, say) counts as a folder of its own."""

import collections
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources")
DECLARATION = re.compile(r"^(?:public |package |internal )?(?:final )?(?:struct|class|enum|protocol|actor|typealias)\s+(\w+)", re.M)


def loops(module):
    base = os.path.join(ROOT, module)
    files = collections.defaultdict(list)
    homes = {}
    for path, _, names in sorted(os.walk(base)):
        folder = os.path.relpath(path, base)
        for name in sorted(names):
            if name.endswith(".swift"):
                source = re.sub(r"//.*", "", open(os.path.join(path, name)).read())
                files[folder].append((name, source))
                for match in DECLARATION.finditer(source):
                    homes.setdefault(match.group(1), folder)
    uses = collections.defaultdict(lambda: collections.defaultdict(set))
    for folder, sources in files.items():
        for name, source in sources:
            for type_name, home in homes.items():
                if home != folder and re.search(r"(?<![.\w])" + type_name + r"\b", source):
                    uses[folder][home].add(f"{type_name} in {name}")
    found = []
    for a in sorted(uses):
        for b in sorted(uses[a]):
            if a < b and a in uses[b]:
                found.append(f"{module}: {a}/ and {b}/ use each other: {sorted(uses[a][b])[:3]} / {sorted(uses[b][a])[:3]}")
    return found


problems = [line for module in ("CachetteServer", "CachetteCore", "CachetteShared") for line in loops(module)]
print("\n".join(problems) if problems else "folders: no loops")
sys.exit(1 if problems else 0)
