#!/usr/bin/env bash
# The training campaign of issue 10, as two lanes of one thread each (this machine has 2 cores),
# balanced by measured speed (bf16, one thread: beta-VAE ~15.5 steps/s, Ada-GVAE ~8.3).
# Idempotent and resumable: a finished run is skipped, a started one continues with --resume
# (exactly as if never interrupted), a missing one starts; a transfer waits for its source to be
# final; each final run is then scored (metrics.json, and a source's scores on each target) and
# drawn (recon.png, traversal.png). Run it again after any interruption:  bash checkpoints/campaign.sh
# (logs in runs/logs/).
set -u
cd "$(dirname "$0")/.."
DRVIZ=${DRVIZ:-.venv/bin/drviz}
LOGS=runs/logs
LOCKS=runs/campaign-locks  # one campaign at a time: a new one clears what a killed one held
rm -rf "$LOCKS"
mkdir -p "$LOGS" "$LOCKS"
export OMP_NUM_THREADS=1

finished() {  # finished RUN: its state.json says it ended at its last step
  [ -f "checkpoints/$1/state.json" ] &&
    .venv/bin/python -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("finished") else 1)' \
      "checkpoints/$1/state.json"
}

job() {  # job RUN SOURCE_OR_- ARGS...: train RUN (after SOURCE is final) unless it is done or
  # the other lane has taken it (a job may sit in both lanes: the first lane free takes it)
  local run=$1 source=$2; shift 2
  mkdir "$LOCKS/$run" 2>/dev/null || return 2
  if finished "$run"; then
    echo "$run: final, skipped"
  else
    if [ "$source" != - ]; then
      until finished "$source"; do sleep 60; done
    fi
    if [ -f "checkpoints/$run/train_state.pt" ]; then
      "$DRVIZ" train --resume --out "checkpoints/$run" --threads 1 >>"$LOGS/$run.log" 2>&1
    else
      "$DRVIZ" "$@" --threads 1 --out "checkpoints/$run" >>"$LOGS/$run.log" 2>&1
    fi
    finished "$run" || { echo "$run: did not finish (see $LOGS/$run.log)"; return 1; }
    echo "$run: final"
  fi
  card "$run"
}

newer() {  # newer RUN FILE: FILE was written after RUN's final weights
  [ "checkpoints/$1/$2" -nt "checkpoints/$1/model.pt" ]
}

card() {  # card RUN: metrics.json (OMES on 8,000 line-sampled images) and the card's two pictures
  newer "$1" metrics.json || "$DRVIZ" evaluate "$1" --n 8000 --n-jobs 1 >>"$LOGS/$1.log" 2>&1
  newer "$1" recon.png ||
    "$DRVIZ" recon "$1" --n 8 --seed 3 --scale 1 --out "checkpoints/$1/recon.png" >>"$LOGS/$1.log" 2>&1
  newer "$1" traversal.png ||
    "$DRVIZ" traverse "$1" --steps 9 --seed 3 --scale 1 --out "checkpoints/$1/traversal.png" >>"$LOGS/$1.log" 2>&1
}

before() {  # before SOURCE TARGET: the source's scores on the target (the Transfer page's "before")
  newer "$1" "metrics-$2.json" ||
    "$DRVIZ" evaluate "$1" --dataset "$2" --n 8000 --n-jobs 1 >>"$LOGS/$1.log" 2>&1
}

transfer() {  # transfer SOURCE TARGET: 20,000 steps at the paper's lr 1e-4 and the source's beta
  job "$2-from-$1" "$1" transfer --source "$1" --target "$2" --steps 20000 --lr 1e-4 &&
    before "$1" "$2"
}

# Priority order within each lane: no lane waits for a source while a job it could start is left
# (the Ada-GVAE source takes longest: lane a trains shapes3d meanwhile, and lane b fine-tunes the
# source on both targets unless lane a is free first).
lane_a() {
  job color_dsprites-beta_vae-s0 - train --init-from color_dsprites-beta_vae-s0-fp32 --steps 100000
  transfer color_dsprites-beta_vae-s0 noisy_dsprites
  transfer color_dsprites-beta_vae-s0 real_objects
  shapes3d
  transfer color_dsprites-ada_gvae-s0 noisy_dsprites
  transfer shapes3d-ada_gvae-s0 real_objects
}

lane_b() {
  job color_dsprites-ada_gvae-s0 - train --init-from color_dsprites-ada_gvae-s0-fp32 --steps 100000
  transfer color_dsprites-ada_gvae-s0 real_objects
  transfer color_dsprites-ada_gvae-s0 noisy_dsprites
  shapes3d
  transfer shapes3d-ada_gvae-s0 real_objects
}

shapes3d() {
  job shapes3d-ada_gvae-s0 - train --dataset shapes3d --method ada_gvae --beta 2 --lr 5e-4 \
    --lr-schedule plateau --steps 50000 --seed 0
}

lane_a & lane_b & wait
