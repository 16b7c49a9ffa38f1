#!/usr/bin/env python3
"""config_overrides.py IN.toml OUT.toml SECTION.KEY=VALUE...

Writes IN (the package's /etc/scsipub/scsipub.toml) to OUT with the given keys
set: the systemd VM test keeps every packaged setting and changes only what it
must know (shutdown grace, certificate paths, reload cooldown). A VALUE of
digits is an integer, true/false a boolean, anything else a string. Comments
are not kept (OUT is a test fixture, not an operator's file).
"""
import sys
import tomllib


def set_key(doc, dotted, text):
    *tables, key = dotted.split(".")
    node = doc
    for t in tables:
        node = node.setdefault(t, {})
    if text.isdigit():
        node[key] = int(text)
    elif text in ("true", "false"):
        node[key] = text == "true"
    else:
        node[key] = text


def value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    raise SystemExit(f"config_overrides.py: cannot write {v!r}")


def write(out, table, path):
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    if path and (scalars or not table):
        out.append(f"\n[{'.'.join(path)}]")
    for k, v in scalars.items():
        out.append(f"{k} = {value(v)}")
    for k, v in table.items():
        if isinstance(v, dict):
            write(out, v, path + [k])


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1], "rb") as fh:
        doc = tomllib.load(fh)
    for arg in sys.argv[3:]:
        dotted, _, text = arg.partition("=")
        set_key(doc, dotted, text)
    out = []
    write(out, doc, [])
    with open(sys.argv[2], "w") as fh:
        fh.write("\n".join(out).lstrip("\n") + "\n")


main()
