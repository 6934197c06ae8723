#!/opt/pgplay-s3/bin/python3
"""sss-s3-init -- ExecStartPost of sss-s3.service (the sandbox's moto S3 server).

moto keeps objects in memory.  To let the sandbox's S3 contents survive a container
restart (`sandbox/cluster down` + `up`), moto runs with its request recorder on
(MOTO_ENABLE_RECORDING, MOTO_RECORDER_FILEPATH): every request is appended to a log.
After each start this script

  1. waits until moto answers on http://127.0.10.10:9001,
  2. pauses the recorder, compacts the log (drops reads, and writes of objects that
     were deleted or overwritten later) and replays the remaining writes into the
     fresh server -- multipart upload ids are re-mapped, because the new server hands
     out new ones -- then resumes the recorder,
  3. creates the bucket `pgsql` if it is missing.

The unit is only reported started (and stunnel, which clients use, only starts) after
this has finished, so no client sees a half-restored store.
"""
import base64
import html
import json
import os
import re
import sys
import time
from collections import defaultdict, deque
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

ENDPOINT = "http://127.0.10.10:9001"
BUCKET = "pgsql"
LOG = os.environ.get("MOTO_RECORDER_FILEPATH", "")
WRITES = {"PUT", "POST", "DELETE"}
DROP_HEADERS = {"content-length", "transfer-encoding", "expect", "connection", "host"}


def say(msg):
    print(f"sss-s3-init: {msg}", flush=True)


def wait_up(timeout=60):
    end = time.time() + timeout
    while True:
        try:
            requests.get(ENDPOINT + "/moto-api/", timeout=2)
            return
        except requests.RequestException:
            if time.time() > end:
                say("moto did not answer within %d s" % timeout)
                sys.exit(1)
            time.sleep(0.2)


def entries(text):
    """JSON objects of the recorder log; tolerant of two records on one line."""
    dec = json.JSONDecoder()
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            break
        try:
            obj, i = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            nl = text.find("\n", i)  # skip a damaged record
            say("skipping a damaged record at offset %d" % i)
            i = n if nl < 0 else nl + 1
            continue
        if isinstance(obj, dict):
            yield obj


def compact(writes):
    """Drop writes whose object was later deleted or overwritten, so the log does not
    grow with every backup and WAL segment ever expired.  Multipart uploads are
    handled as a group (create, parts, complete/abort).  Any server-side copy turns
    this off (a copy needs its source replayed first)."""
    if any("x-amz-copy-source" in {k.lower() for k in (e.get("headers") or {})} for e in writes):
        return writes
    keep = [True] * len(writes)
    live = {}                       # object path -> indices of the records that made it
    creates = defaultdict(deque)    # object path -> indices of unbound "create upload"
    groups = {}                     # recorded upload id -> indices of its records

    def drop(idx):
        for j in idx:
            keep[j] = False

    for i, e in enumerate(writes):
        u = urlsplit(e.get("url", ""))
        q = dict(parse_qsl(u.query, keep_blank_values=True))
        path, m = u.path, e.get("method")
        if "uploadId" in q:
            g = groups.get(q["uploadId"])
            if g is None:
                g = groups[q["uploadId"]] = [creates[path].popleft()] if creates[path] else []
            g.append(i)
            if m == "POST":                     # complete
                drop(live.pop(path, []))
                live[path] = g
            elif m == "DELETE":                 # abort
                drop(g)
        elif m == "POST" and "uploads" in q:
            creates[path].append(i)
        elif m == "PUT" and path.count("/") >= 2 and path.split("/", 2)[2]:
            drop(live.pop(path, []))            # plain object upload
            live[path] = [i]
        elif m == "DELETE" and path in live:
            drop(live.pop(path))
            keep[i] = False
        elif m == "POST" and "delete" in q:     # multi-object delete
            body = e.get("body") or ""
            if e.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            for key in re.findall(r"<Key>([^<]*)</Key>", body):
                drop(live.pop(path.rstrip("/") + "/" + html.unescape(key), []))
    return [e for i, e in enumerate(writes) if keep[i]]


def replay():
    if not LOG:
        return
    requests.post(ENDPOINT + "/moto-api/recorder/stop-recording", timeout=10)
    if os.path.exists(LOG) and os.path.getsize(LOG) > 0:
        with open(LOG, encoding="utf-8") as f:
            writes = compact([e for e in entries(f.read()) if e.get("method") in WRITES])
        tmp = LOG + ".compact"
        with open(tmp, "w", encoding="utf-8") as f:
            for e in writes:
                f.write(json.dumps(e) + "\n")
        os.replace(tmp, LOG)
        t0, failed = time.time(), 0
        upload_id = {}                      # recorded upload id -> id of this server
        pending = defaultdict(deque)        # object path -> new upload ids not yet mapped
        with requests.Session() as s:
            for e in writes:
                u = urlsplit(e.get("url", ""))
                query = parse_qsl(u.query, keep_blank_values=True)
                for k, (name, value) in enumerate(query):
                    if name == "uploadId":
                        if value not in upload_id and pending[u.path]:
                            upload_id[value] = pending[u.path].popleft()
                        query[k] = (name, upload_id.get(value, value))
                url = ENDPOINT + u.path + ("?" + urlencode(query) if u.query else "")
                body = e.get("body") or b""
                if e.get("body_encoded"):
                    body = base64.b64decode(body)
                elif isinstance(body, str):
                    body = body.encode("utf-8")
                headers = {k: v for k, v in (e.get("headers") or {}).items()
                           if k.lower() not in DROP_HEADERS}
                r = s.request(e["method"], url, headers=headers, data=body, timeout=120)
                if e["method"] == "POST" and any(n == "uploads" for n, _ in query):
                    m = re.search(r"<UploadId>([^<]+)</UploadId>", r.text)
                    if m:
                        pending[u.path].append(m.group(1))
                if r.status_code >= 300:
                    failed += 1
        say("replayed %d recorded writes in %.1f s (%d answered >= 300)"
            % (len(writes), time.time() - t0, failed))
    requests.post(ENDPOINT + "/moto-api/recorder/start-recording", timeout=10)


def ensure_bucket():
    import boto3
    s3 = boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1",
                      aws_access_key_id="pgbackrest", aws_secret_access_key="S3User.Backup")
    names = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    if BUCKET not in names:
        s3.create_bucket(Bucket=BUCKET)
        say("created bucket %s" % BUCKET)


if __name__ == "__main__":
    wait_up()
    replay()
    ensure_bucket()
