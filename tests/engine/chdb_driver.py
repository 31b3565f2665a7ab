"""Runs SQL in embedded ClickHouse (chDB) for the engine test (tests/main/clickhouse.rs).

Usage: python chdb_driver.py JOBS.json  ->  results as JSON on stdout

JOBS.json: {"jobs": [{"dir": "/abs/dir", "database": "j0", "statements": ["SQL", ...]}]}
Each job runs in its own database of one chDB session, with `dir` as the working
directory (so `file('audience_tags.bin', ...)` reads the files the test wrote there). Every
statement's output comes back as TSV text, or its error, with the seconds it took:
{"version": "...", "jobs": [{"results": [{"ok": true, "out": "...", "seconds": 0.01}]}]}
"""
import json
import os
import sys
import tempfile
import time

from chdb import session


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        jobs = json.load(f)["jobs"]
    home = os.getcwd()
    out = []
    with tempfile.TemporaryDirectory() as data:
        s = session.Session(data)
        version = s.query("SELECT version()", "TSV").bytes().decode().strip()
        for job in jobs:
            os.chdir(job["dir"])
            db = job["database"]
            s.query(f"CREATE DATABASE IF NOT EXISTS {db}")
            s.query(f"USE {db}")
            results = []
            for sql in job["statements"]:
                start = time.perf_counter()
                try:
                    r = s.query(sql, "TSV")
                    text = r.bytes().decode("utf-8") if r is not None else ""
                    results.append(
                        {"ok": True, "out": text, "seconds": time.perf_counter() - start}
                    )
                except Exception as e:  # the test reports the engine's message
                    results.append({"ok": False, "error": str(e), "seconds": 0.0})
            s.query(f"DROP DATABASE {db}")
            out.append({"results": results})
            os.chdir(home)
        s.close()
    json.dump({"version": version, "jobs": out}, sys.stdout)


if __name__ == "__main__":
    main()
