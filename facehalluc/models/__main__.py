"""``python -m facehalluc.models --config paper``: per-block parameters and forward GFLOPs per image."""
from __future__ import annotations

import argparse
import sys

from ..config import load_config
from ..utils.quiet import quiet_tensorflow


def summary_rows(cfg) -> list[tuple[str, int, float]]:
    from . import build_discriminator, build_generator_block, build_upscaler, model_flops

    rows = []
    for r in cfg.model.resolutions:
        g = build_generator_block(r, cfg)
        rows.append((f"block_{r} (generator)", g.count_params(), model_flops(g) / 1e9))
    for r in cfg.model.resolutions[:-1]:
        u = build_upscaler(cfg, r)
        rows.append((f"upscaler {r}->{2 * r}", u.count_params(), model_flops(u) / 1e9))
    for r in cfg.model.resolutions:
        d = build_discriminator(r, cfg)
        rows.append((f"disc_{r}", d.count_params(), model_flops(d) / 1e9))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m facehalluc.models", description=__doc__)
    p.add_argument("--config", default="paper", help="preset name or YAML file")
    p.add_argument("overrides", nargs="*", help="section.field=value")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--json", dest="json_out", help="also write the rows, the command and the code version here")
    args = p.parse_args(argv)
    quiet_tensorflow()
    cfg = load_config(args.config, args.overrides)
    rows = summary_rows(cfg)
    gen = [r for r in rows if not r[0].startswith("disc")]
    tot_p, tot_f = sum(r[1] for r in gen), sum(r[2] for r in gen)
    if args.json_out:
        import json
        from pathlib import Path

        from ..utils.provenance import git_state, library_versions

        out = Path(args.json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({
            "config": cfg.name, "overrides": list(args.overrides),
            "command": "python -m facehalluc.models " + " ".join(argv if argv is not None else sys.argv[1:]),
            "git": git_state(), "libraries": library_versions(),
            "rows": [{"network": n, "parameters": pc, "gflops_per_image": gf} for n, pc, gf in rows],
            "cascade": {"parameters": tot_p, "gflops_per_image": tot_f}}, indent=1) + "\n")
    if args.markdown:
        print("| network | parameters | forward GFLOPs / image |\n|---|---:|---:|")
        for n, pc, gf in rows:
            print(f"| {n} | {pc:,} | {gf:.3f} |")
        print(f"| **cascade (5 blocks + 4 upscalers)** | **{tot_p:,}** | **{tot_f:.3f}** |")
    else:
        print(f"config: {cfg.name}")
        for n, pc, gf in rows:
            print(f"{n:28s} params {pc:>13,}   GFLOPs/img {gf:9.3f}")
        print(f"{'cascade total':28s} params {tot_p:>13,}   GFLOPs/img {tot_f:9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
