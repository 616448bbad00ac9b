#!/usr/bin/env python3
"""Checks one --html run (PREFIX.html, PREFIX.dom from Chromium's --dump-dom,
PREFIX.log its console, PREFIX-{i,s,t}.csv the CSV reports of the same run):
the totals read from the rendered DOM equal the CSV's counts, the page's
script ran, no console error, and no element or handler from the capture."""
import csv, html.parser, os, sys

prefix, folders = sys.argv[1], sys.argv[2:]
MAGIC = {b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1", b"\x0a\x0d\x0d\x0a"}
def is_capture(path):
    head = open(path, "rb").read(4)
    return head in MAGIC or head[:2] == b"\x1f\x8b"
captures = sum(is_capture(os.path.join(d, f)) for top in folders for d, _, fs in os.walk(top) for f in fs)

class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.totals, self.key, self.in_dd = {}, None, False
        self.tags, self.handlers, self.rows = [], [], 0
        self.in_tbody = False
        self.table, self.in_title, self.title, self.text = None, False, "", []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table": self.table = a.get("id")
        if tag == "title": self.in_title = True
        self.tags.append(tag)
        self.handlers += [k for k in a if k.startswith("on")]
        if "data-total" in a: self.key = a["data-total"]
        if tag == "dd": self.in_dd = True
        if tag == "tbody" and self.table == "incidents": self.in_tbody = True
        if tag == "tr" and self.in_tbody: self.rows += 1
    def handle_endtag(self, tag):
        if tag == "dd": self.in_dd = False
        if tag == "tbody": self.in_tbody = False
        if tag == "title": self.in_title = False
    def handle_data(self, d):
        if self.in_title: self.title += d
        self.text.append(d)
        if self.in_dd and self.key:
            self.totals[self.key] = int(d); self.key = None

dom = Dom()
dom.feed(open(prefix + ".dom", encoding="utf-8").read())
rows = lambda s: list(csv.DictReader(open(f"{prefix}-{s}.csv", encoding="utf-8", newline="")))
inc, ses, tra = rows("i"), rows("s"), rows("t")
want = {
    "sessions": len(ses),
    "incidents": len(inc),
    "rows-214": sum(r["code"] == "214" for r in inc),
    "rows-503": sum(r["code"] == "503" for r in inc),
    "transfers": len(tra),
}
for o in ["complete", "failed", "aborted", "incomplete-capture"]:
    want["transfers-" + o] = sum(r["outcome"] == o for r in tra)
want["captures"] = captures
problems = []
for k, v in want.items():
    if dom.totals.get(k) != v:
        problems.append(f"{k}: page {dom.totals.get(k)}, CSV {v}")
if dom.rows != min(len(inc), 2000):
    problems.append(f"table rows in the DOM {dom.rows}, CSV {len(inc)}")
log = open(prefix + ".log", encoding="utf-8", errors="replace").read()
for line in log.splitlines():
    if "CONSOLE" in line or "Uncaught" in line:
        problems.append("console: " + line.strip())
allowed = {"html","head","meta","title","style","body","h1","h2","section","dl","div","dt","dd","p",
           "table","thead","tbody","tr","th","td","input","span","pre","script","a","canvas","svg","path","b"}
bad = sorted(set(dom.tags) - allowed)
if bad: problems.append(f"unexpected elements in the DOM: {bad}")
if dom.handlers: problems.append(f"event handler attributes in the DOM: {dom.handlers}")
if "ALERTED" in log or dom.title != "ftpcap report":
    problems.append(f"script from the capture ran (title {dom.title!r})")
# Wire text is shown as text: every command of the CSV is in the DOM's text
# (the table holds the first 2000 rows).
text = "".join(dom.text)
for r in inc[:2000]:
    if r["command"] and r["command"].lstrip("'") not in text:
        problems.append(f"command not shown as text: {r['command']!r}"); break
name = prefix.rsplit("/", 1)[-1]
if problems:
    print(f"{name}: FAILED"); [print("  " + p) for p in problems]; sys.exit(1)
print(f"{name}: ok, totals {dom.totals}")
