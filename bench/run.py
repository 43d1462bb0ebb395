"""tidestream benchmarks side by side with its peers: ``python bench/run.py --help``.

Installs the peers into bench/.peers/, starts each server on a loopback port, runs the same
workloads against each, and writes bench/results/report.md and chart.png.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cluster  # noqa: E402
import consumer  # noqa: E402
import lambda_esm  # noqa: E402
import loadgen  # noqa: E402
import peers  # noqa: E402
import scaling  # noqa: E402
import streams  # noqa: E402
import workloads as wl  # noqa: E402

RESULTS = peers.BENCH / "results"
RAW = RESULTS / "raw"


def log(msg: str) -> None:
    print(msg, flush=True)


def sizes_for(args: argparse.Namespace) -> wl.Sizes:
    if args.smoke:
        s = wl.Sizes(
            duration=1.0,
            items=5_000,
            records=5_000,
            cdc_rate=500,
            cdc_seconds=1.0,
            processes=1,
            conns=8,
            scale=(2_000, 5_000),
            stream_shards=(1, 4),
            stream_records=(2_000, 10_000),
        )
    elif args.quick:
        s = wl.Sizes(
            duration=2.0, items=20_000, records=20_000, cdc_seconds=2.0, stream_records=(20_000, 200_000)
        )
    else:
        s = wl.Sizes()
    if args.duration:
        s.duration = args.duration
    if args.scale:
        s.scale = tuple(sorted(int(n) for n in args.scale.split(",")))
    _stream_sizes(s, args)
    return s


def _stream_sizes(s: wl.Sizes, args: argparse.Namespace) -> None:
    """``--stream-shards`` and ``--stream-records`` (the streams phase) override the mode's sizes."""
    if args.stream_shards:
        s.stream_shards = tuple(sorted(int(n) for n in args.stream_shards.split(",")))
    if args.stream_records:
        s.stream_records = tuple(sorted(int(n) for n in args.stream_records.split(",")))


#: name -> (phase, APIs the peer needs, needs data on disk)
PHASES = {
    "dynamodb": (wl.dynamodb_phase, ("dynamodb",), False),
    "cdc": (wl.cdc_phase, ("dynamodb", "kinesis"), False),
    "kinesis": (wl.kinesis_phase, ("kinesis",), False),
    "scaling": (scaling.scaling_phase, ("dynamodb",), True),
    "consumer": (consumer.consumer_phase, ("dynamodb", "kinesis"), False),
    "lambda": (lambda_esm.lambda_phase, ("dynamodb", "kinesis", "lambda"), False),
    "streams": (streams.stream_scaling_phase, ("kinesis",), True),
    "cluster": (cluster.cluster_phase, ("dynamodb",), True),
}


def phases_for(peer: peers.Peer, wanted: list[str]) -> list[tuple[str, object]]:
    return [
        (name, fn)
        for name, (fn, apis, disk) in PHASES.items()
        if name in wanted and all(a in peer.apis for a in apis) and (peer.on_disk or not disk)
    ]


def bench_one(
    peer: peers.Peer, sizes: wl.Sizes, scratch: Path, wanted: list[str], seconds: dict[str, float]
) -> dict[str, dict]:
    """Start ``peer``, run every workload it has an API for, stop it; rows as dicts. Each
    phase's wall-clock seconds go into *seconds* (the report's run-time table)."""
    rows: dict[str, wl.Metric] = {}
    t_start = time.monotonic()
    run = peers.start(peer, scratch)
    try:
        rows["startup_s"] = wl.Metric(wl.wait_ready(run), "s")
        time.sleep(1.0)
        rows["idle_rss"] = wl.Metric(loadgen.rss_mib(run.pid), "MiB")
        log(f"  ready in {rows['startup_s'].value:.3f} s, idle RSS {rows['idle_rss'].value:.1f} MiB")
        ctx = wl.Ctx(run, sizes, log)
        seconds["start"] = time.monotonic() - t_start
        for phase_name, phase in phases_for(peer, wanted):
            t_phase = time.monotonic()
            try:
                got = phase(ctx)
            except Exception as e:  # noqa: BLE001 - keep going with the next phase
                log(f"  {phase.__name__} failed: {e!r}")
                traceback.print_exc()
                got = {"_" + phase.__name__: wl.Metric(na=wl.short(f"{phase.__name__} failed: {e}", 300))}
            for name, m in got.items():
                log(
                    f"  {name:20s} "
                    + (f"{m.value:>12,.1f} {m.unit}" if m.value is not None else f"n/a: {m.na}")
                    + (f"  {m.per_s:,.0f}/s p50 {m.p50_ms:.2f} p99 {m.p99_ms:.2f} ms" if m.per_s else "")
                    + (f"  ERRORS {m.errors}: {m.first_error[:150]}" if m.errors else "")
                )
            rows.update(got)
            run = ctx.run  # a phase may have restarted the server
            if got:  # a phase with nothing for this server (streams, cluster: tidestream only) is not shown
                seconds[phase_name] = time.monotonic() - t_phase
        if run.proc.poll() is not None:
            rows["_crash"] = wl.Metric(
                na=wl.short(f"server exited with {run.proc.returncode}: {run.log_tail(500)}", 500)
            )
    except Exception as e:  # noqa: BLE001
        log(f"  {peer.name} failed: {e!r}")
        rows["_failed"] = wl.Metric(na=wl.short(str(e), 300))
    finally:
        run.stop()
    return {k: m.as_dict() for k, m in rows.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="~2 s per workload, 20k items/records")
    p.add_argument(
        "--smoke",
        action="store_true",
        help="tidestream only, no peers, tiny sizes (< 20 s); exit 1 on any error",
    )
    p.add_argument("--only", default="", help="comma-separated: " + ",".join(peers.PEERS))
    p.add_argument("--duration", type=float, default=0, help="seconds per throughput workload")
    p.add_argument("--phases", default=",".join(PHASES), help="comma-separated: " + ",".join(PHASES))
    p.add_argument("--scale", default="", help="table sizes of the scaling phase, e.g. 10000,100000,1000000")
    p.add_argument("--stream-shards", default="", help="shard counts of the streams phase, e.g. 1,16,256")
    p.add_argument(
        "--stream-records", default="", help="stream sizes of the streams phase, e.g. 100000,10000000"
    )
    p.add_argument(
        "--no-profile",
        dest="profile",
        action="store_false",
        help="skip the py-spy profile of tidestream PutItem/GetItem",
    )
    p.add_argument("--out", default=str(RESULTS), help="directory for report.md and chart.png")
    args = p.parse_args(argv)
    names = (
        ["tidestream"]
        if args.smoke
        else ([n.strip() for n in args.only.split(",") if n.strip()] or list(peers.PEERS))
    )
    unknown = [n for n in names if n not in peers.PEERS]
    if unknown:
        p.error(f"unknown: {unknown}; choose from {list(peers.PEERS)}")
    sizes = sizes_for(args)
    t_start = time.monotonic()
    install_errors = peers.install(names, log) if not args.smoke else {}
    scratch = Path(tempfile.mkdtemp(prefix="tidestream-bench-"))
    results: dict[str, dict] = {}
    timings: dict[str, dict[str, float]] = {}
    for name in names:
        if name in install_errors:
            log(f"{name}: {install_errors[name]}")
            results[name] = {"_failed": wl.Metric(na=install_errors[name]).as_dict()}
            continue
        log(f"== {name}")
        timings[name] = {}
        results[name] = bench_one(peers.PEERS[name], sizes, scratch, args.phases.split(","), timings[name])
    profile = {}
    if args.profile and not args.smoke and "tidestream" in names:
        import profile_ts

        t_profile = time.monotonic()
        profile = profile_ts.profile(sizes, scratch, Path(args.out), log)
        timings["tidestream"]["profile"] = time.monotonic() - t_profile
    shutil.rmtree(scratch, ignore_errors=True)

    import report

    meta = report.meta(names, sizes, args, time.monotonic() - t_start)
    out = Path(args.out) if not args.smoke else RAW
    out.mkdir(parents=True, exist_ok=True)
    RAW.mkdir(parents=True, exist_ok=True)
    raw = {"meta": meta, "results": results, "profile": profile, "timings": timings}
    (RAW / ("smoke.json" if args.smoke else "results.json")).write_text(json.dumps(raw, indent=1))
    md = report.render(raw)
    (out / ("smoke.md" if args.smoke else "report.md")).write_text(md)
    if not args.smoke:
        report.chart(raw, out / "chart.png")
    print(md)
    log(f"wrote {out}/{'smoke.md' if args.smoke else 'report.md'} in {time.monotonic() - t_start:.0f} s")
    return 1 if report.tidestream_failed(raw) else 0


if __name__ == "__main__":
    sys.exit(main())
