"""Wall time of each paper in a `make reproduce` report against its share of the budget.

    python bench/budget.py [runs/reproduce/REPORT.md] [--share 360] [--total 1800] [--slack 0.5]

Reads the `Seeds:` line of each paper section (`0 (ok, 192 s, 1 thread(s), ...)`) and the report's `Wall time:` line
(the whole run, from its start to its last notebook), prints seconds, share and ratio per paper and for the run, and
exits 1 when a paper exceeds its share, or the run the total, by more than `slack` (50 %).
The default share is the `cpu` profile's budget: 6 minutes a paper on 2 cores, 30 minutes for the five. A paper's
seconds are its wall time whatever its threads (with `--jobs 2` each notebook has one core of the two: stricter than
the share's two cores). A report without the run's wall time (one notebook at a time, older reports) sums the papers.
"""
import argparse, re, sys
from pathlib import Path


def paper_seconds(report: str) -> dict:
    "{paper: seconds summed over its seeds} from REPORT.md."
    out, paper = {}, None
    for line in report.splitlines():
        m = re.match(r"^## (\w+):", line)
        if m: paper = m.group(1)
        elif paper and line.startswith("Seeds:"):
            out[paper] = sum(float(s) for s in re.findall(r"\((?:ok|failed), ([\d.]+) s", line))
    return out


def run_seconds(report: str) -> float | None:
    "The whole run's wall time from the report's `Wall time: X min for N run(s)` line."
    m = re.search(r"^Wall time: ([\d.]+) min for ", report, re.M)
    return 60 * float(m.group(1)) if m else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", nargs="?", default="runs/reproduce/REPORT.md")
    ap.add_argument("--share", type=float, default=360.0, help="seconds a paper may take (default 360)")
    ap.add_argument("--total", type=float, default=1800.0, help="seconds the papers together may take (default 1800)")
    ap.add_argument("--slack", type=float, default=0.5, help="fail above (1 + slack) x the share (default 0.5)")
    a = ap.parse_args(argv)
    path = Path(a.report)
    if not path.exists(): print(f"No report at {path}: run `make reproduce` first.", file=sys.stderr); return 2
    text = path.read_text()
    secs = paper_seconds(text)
    if not secs: print(f"{path} lists no paper runs.", file=sys.stderr); return 2
    bad = []
    print(f"{'paper':12s} {'seconds':>8s} {'share':>7s} {'ratio':>6s}")
    for p, s in secs.items():
        r = s / a.share
        print(f"{p:12s} {s:8.0f} {a.share:7.0f} {r:6.2f}" + ("  OVER" if r > 1 + a.slack else ""))
        if r > 1 + a.slack: bad.append(p)
    tot = run_seconds(text) or sum(secs.values())
    print(f"{'run':12s} {tot:8.0f} {a.total:7.0f} {tot / a.total:6.2f}" + ("  OVER" if tot > (1 + a.slack) * a.total else ""))
    if tot > (1 + a.slack) * a.total: bad.append("total")
    if bad: print(f"Over budget by more than {a.slack:.0%}: {', '.join(bad)}"); return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
