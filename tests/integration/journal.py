"""A second, independent reader of medic's change-set files, for the tests.

A set file is its first record (the whole set, as written ahead of the first change),
then one JSON record per line: {"item": K, "status": ..., "after": ..., "message": ...}
or {"state": ..., "deadline": ..., "rolled_back_by": ..., "message": ...}. A last record
without its newline was cut short by a crash and does not count.
"""
import json

_dec = json.JSONDecoder()


def read_set(path):
    with open(path) as f:
        text = f.read()
    d, at = _dec.raw_decode(text, len(text) - len(text.lstrip()))
    while True:
        rest = text[at:]
        stripped = rest.lstrip()
        if not stripped:
            break
        start = len(text) - len(stripped)
        if "\n" not in text[start:]:
            break  # torn last record
        rec, at = _dec.raw_decode(text, start)
        if "item" in rec:
            it = d["items"][rec["item"]]
            it["status"] = rec["status"]
            for k in ("after", "message"):
                if k in rec:
                    it[k] = rec[k]
        else:
            for k in ("state", "deadline", "rolled_back_by", "message"):
                if k in rec:
                    d[k] = rec[k]
    return d


def write_set(path, d):
    """Writes d back as a one-record set file (what medic writes ahead of a change)."""
    with open(path, "w") as f:
        f.write(json.dumps(d) + "\n")
