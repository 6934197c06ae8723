#!/usr/bin/env python3
"""bench/render.py -- the /etc/crontab content every tool of bench/fleet writes.

Usage: render.py TEMPLATE INVENTORY OUTDIR

Renders pgplay's own template (templates/crontab.j2) the way Ansible's
`template` module would (Jinja2, trim_blocks, trailing newline kept) for a
Debian host, with `node_crontab` taken from the fleet inventory's `all.vars`.
Writes to OUTDIR:

  crontab.expected   the whole file (what pgplay's node playbook must write, too)
  crontab.head       everything before the node_crontab lines, so that the
                     other tools can template the same file as
                     head + node_crontab lines (ansible `copy: content=`,
                     pyinfra `files.put`, the asyncssh floor)
  node_crontab.json  the node_crontab list

Needs jinja2 and PyYAML (both come with ansible-core in bench/.venv).
"""
import json
import os
import sys

import jinja2
import yaml


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    template, inventory, outdir = sys.argv[1:]
    with open(inventory) as f:
        inv = yaml.safe_load(f)
    lines = list(inv["all"]["vars"]["node_crontab"])
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.path.dirname(os.path.abspath(template))),
        trim_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    tpl = env.get_template(os.path.basename(template))
    full = tpl.render(crontab_family="debian", node_crontab=lines)
    body = "".join(line + "\n" for line in lines)
    if not full.endswith(body):
        print("render.py: rendered crontab does not end with the node_crontab lines", file=sys.stderr)
        return 1
    head = full[: len(full) - len(body)]
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "crontab.expected"), "w") as f:
        f.write(full)
    with open(os.path.join(outdir, "crontab.head"), "w") as f:
        f.write(head)
    with open(os.path.join(outdir, "node_crontab.json"), "w") as f:
        json.dump(lines, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
