#!/usr/bin/env python3
"""Fails when a folder of the server module uses a type declared in another folder that
uses one of its own (ARCHITECTURE.md: dependencies point one way). A use is the name
of a top-level type declared in the other folder, outside comments."""

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
    for folder in sorted(os.listdir(base)):
        path = os.path.join(base, folder)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
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


# CachetteCore's folders still have loops (the formats' dialects and AnswerShape, the
# ledger and the database): issue 31's provider room and tier list remove them, and
# then it joins this list.
problems = [line for module in ("CachetteServer",) for line in loops(module)]
print("\n".join(problems) if problems else "folders: no loops")
sys.exit(1 if problems else 0)
