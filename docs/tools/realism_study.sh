#!/usr/bin/env bash
# The realism study's evaluation (issue 19; docs/results.md "The adversarial stage at CPU scale"):
# every method on the same val (choices) and test (final numbers) faces, all measures, one table per split.
#
#   bash docs/tools/realism_study.sh DATA.h5 WEIGHTS_CACHE WORK_DIR NAME=MODEL [NAME=MODEL ...]
#
# MODEL: default | RUN_DIR | PACKED_DIR.  Writes results/realism/{val,test}/NAME.json (+ the baselines'),
# results/realism/{val,test}_table/cpu.{md,csv} and the spectrum curves.  Existing result files are kept
# (delete one to recompute it).
set -euo pipefail
DATA=$1; WC=$2; WORK=$3; shift 3
PY=${PYTHON:-python}
for split in val test; do
  out=results/realism/$split; mkdir -p "$out"
  if [ ! -f "$WORK/baselines_$split/index.csv" ]; then
    $PY -m facehalluc.evaluate.baselines --data "$DATA" --split $split --out "$WORK/baselines_$split" \
        --methods median_fill,ns,biharmonic --quiet
  fi
  for m in median_fill ns biharmonic; do
    [ -f "$out/$m.json" ] || $PY evaluate.py --real "$WORK/baselines_$split/real" --fake "$WORK/baselines_$split/$m" \
        --name $m --metrics ssim --proxies all --weights-dir "$WC" --out "$out/$m.json" --quiet --no-figures
  done
  for spec in "$@"; do
    name=${spec%%=*}; model=${spec#*=}
    [ -f "$out/$name.json" ] || $PY evaluate.py --model "$model" --data "$DATA" --split $split --name "$name" \
        --metrics ssim --proxies all --weights-dir "$WC" --out "$out/$name.json" --work-dir "$WORK/${split}_$name" \
        --quiet --no-figures
  done
  $PY -m facehalluc.evaluate.table "$out"/median_fill.json "$out"/ns.json "$out"/biharmonic.json \
      $(for spec in "$@"; do echo "$out/${spec%%=*}.json"; done) --layout cpu --out results/realism/${split}_table
done
