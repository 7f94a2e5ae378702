#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The checked-in size-class header is exactly what its generator prints.

Usage: test_sizeclass_generated.py GENERATOR HEADER
Fails with a unified diff when someone edited the header by hand or changed
the generator without regenerating (sa-sizeclass-table.h says "do not edit").
"""
import difflib
import subprocess
import sys


def main():
    generator, header = sys.argv[1], sys.argv[2]
    generated = subprocess.run([sys.executable, generator], check=True, capture_output=True,
                               text=True).stdout
    with open(header, encoding="utf-8") as f:
        checked_in = f.read()
    if generated == checked_in:
        print(f"{header}: as {generator} generates it")
        return 0
    sys.stdout.writelines(difflib.unified_diff(checked_in.splitlines(True),
                                               generated.splitlines(True),
                                               header, "generated"))
    return 1


if __name__ == "__main__":
    sys.exit(main())
