# SPDX-License-Identifier: MIT
"""The mounted tables' text as the tests compare it."""


def mapping_rows(text):
    """Path -> the byte columns of its mappings row, in header order (the
    Perms column, the only one not in bytes, left out)."""
    lines = text.splitlines()
    header = lines[0].split()
    numeric = [i for i, name in enumerate(header[:-1]) if name != "Perms"]
    return {line.split()[-1]: [int(line.split()[i]) for i in numeric] for line in lines[1:]}


PSS_COLUMN = 5


def without_pss(text):
    """@text (bytes) of `mappings` with the Pss column blanked: a process's
    Pss moves whenever another process maps or unmaps a page it shares
    (libc), so two renderings agree on everything else only."""
    out = []
    for line in text.splitlines(keepends=True)[1:]:
        fields = line.split()
        fields[PSS_COLUMN] = b"-"
        out.append(b" ".join(fields))
    return text.splitlines(keepends=True)[:1] + out
