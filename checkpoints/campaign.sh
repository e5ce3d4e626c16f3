#!/usr/bin/env bash
# The training campaign of issue 10, as two lanes of one thread each (this machine has 2 cores),
# balanced by measured speed (bf16, one thread: beta-VAE ~16 steps/s, Ada-GVAE ~8.5).
# Idempotent and resumable: a finished run is skipped, a started one continues with --resume
# (exactly as if never interrupted), a missing one starts; a transfer waits for its source to be
# final. Run it again after any interruption:  bash checkpoints/campaign.sh  (logs in runs/logs/).
set -u
cd "$(dirname "$0")/.."
DRVIZ=${DRVIZ:-.venv/bin/drviz}
LOGS=runs/logs
mkdir -p "$LOGS"
export OMP_NUM_THREADS=1

finished() {  # finished RUN: its state.json says it ended at its last step
  [ -f "checkpoints/$1/state.json" ] &&
    .venv/bin/python -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("finished") else 1)' \
      "checkpoints/$1/state.json"
}

job() {  # job RUN SOURCE_OR_- ARGS...: train RUN (after SOURCE is final) unless it is done
  local run=$1 source=$2; shift 2
  finished "$run" && { echo "$run: final, skipped"; return 0; }
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
}

transfer() {  # transfer SOURCE TARGET: 20,000 steps at the paper's lr 1e-4 and the source's beta
  job "$2-from-$1" "$1" transfer --source "$1" --target "$2" --steps 20000 --lr 1e-4
}

lane_a() {
  job color_dsprites-beta_vae-s0 - train --init-from color_dsprites-beta_vae-s0-fp32 --steps 100000
  transfer color_dsprites-beta_vae-s0 noisy_dsprites
  transfer color_dsprites-beta_vae-s0 real_objects
  job shapes3d-ada_gvae-s0 - train --dataset shapes3d --method ada_gvae --beta 2 --lr 5e-4 \
    --lr-schedule plateau --steps 50000 --seed 0
  transfer shapes3d-ada_gvae-s0 real_objects
}

lane_b() {
  job color_dsprites-ada_gvae-s0 - train --init-from color_dsprites-ada_gvae-s0-fp32 --steps 100000
  transfer color_dsprites-ada_gvae-s0 noisy_dsprites
  transfer color_dsprites-ada_gvae-s0 real_objects
}

lane_a & lane_b & wait
