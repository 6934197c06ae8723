# bench/pyinfra/deploy.py -- the job of bench/fleet, for pyinfra.
# /etc/crontab = Debian's default head + the node_crontab lines (host data from
# the generated inventory.py); files.put compares the remote sha1 first and
# uploads only when it differs; then the file is read back.
# Note: as root (no sudo), files.put uploads over SFTP straight onto the
# destination path: pyinfra does not write a temp file and rename it.
from io import StringIO

from pyinfra import host
from pyinfra.operations import files, server

content = host.data.bench_crontab_head + "".join(line + "\n" for line in host.data.node_crontab)

files.put(
    name="write /etc/crontab",
    src=StringIO(content),
    dest="/etc/crontab",
    user="root",
    group="root",
    mode="644",
)

server.shell(
    name="read back /etc/crontab",
    commands=["cat /etc/crontab"],
)
