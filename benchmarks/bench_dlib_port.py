#!/usr/bin/env python
"""Embedding speed: the Keras port of dlib's face-recognition ResNet (``facehalluc/nets/dlib_resnet.py``)
against dlib's own ``face_recognition_model_v1``, on the same 150×150 LFW chips, in one process.

    python benchmarks/bench_dlib_port.py --lfw ../shared/data/lfw --batch 32 --repeats 5 \
        --out results/dlib/bench_port_vs_dlib.json

Chips: the first ``--batch`` faces of ``benchmarks/dlib_parity.py``'s selection. Timed (after one warm-up
call each, alternating so that a change of machine load hits both): the port's ``predict`` on the batch
(graph mode), and dlib's batched ``compute_face_descriptor(list_of_chips)``. Each side's rate is the median
over ``--repeats`` timings; the ratio port ÷ dlib is printed and recorded with the machine, thread settings
and load average, because both rates depend on them (the ratio much less, as both run on the same cores).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lfw", type=Path, default=ROOT.parent / "shared" / "data" / "lfw")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, help="result JSON (default: print only)")
    args = ap.parse_args(argv)

    import dlib

    from dlib_parity import dlib_chips, provenance, write_result
    from facehalluc.nets import dlib_resnet as R

    files, chips, _ = dlib_chips(args.lfw, args.batch)
    enc = dlib.face_recognition_model_v1(str(R.installed_dat_path()))
    port = R.dlib_resnet_from_dat(R.installed_dat_path())
    x = chips.astype(np.float32)
    chip_list = [np.ascontiguousarray(c) for c in chips]

    def run_port() -> None:
        port.predict(x, batch_size=args.batch, verbose=0)

    def run_dlib() -> None:
        enc.compute_face_descriptor(chip_list, 0)

    run_port(), run_dlib()  # warm-up (graph tracing, allocation)
    times: dict[str, list[float]] = {"port": [], "dlib": []}
    load_before = os.getloadavg()
    for _ in range(args.repeats):
        for name, fn in (("port", run_port), ("dlib", run_dlib)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    rate = {k: args.batch / float(np.median(v)) for k, v in times.items()}
    ratio = rate["port"] / rate["dlib"]
    import tensorflow as tf

    res = {"what": "images/s embedding 150x150 chips, batch of LFW faces, port (keras predict) vs dlib "
                   "(batched compute_face_descriptor), median of repeats, alternating",
           "batch": args.batch, "repeats": args.repeats,
           "images_per_s": rate, "ratio_port_over_dlib": ratio,
           "seconds": {k: [round(t, 4) for t in v] for k, v in times.items()},
           "threads": {"tf_intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                       "tf_inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
                       "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")},
           "load_average_1min": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
           "dlib_cuda": bool(getattr(dlib, "DLIB_USE_CUDA", False)), **provenance(argv, __file__)}
    print(f"batch {args.batch}: port {rate['port']:.1f} images/s, dlib {rate['dlib']:.1f} images/s, "
          f"ratio {ratio:.1f}x (load average {os.getloadavg()[0]:.1f})")
    write_result(args.out, res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
