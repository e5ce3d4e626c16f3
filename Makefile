# Two commands (see README): `make run` launches the app, `make test` runs every test.
# Both create/reuse .venv; a stamp per requirements file makes a second run install nothing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
# Loopback only by default: anyone who can reach the app can upload, train and read what it shows.
# `make run ADDRESS=0.0.0.0` serves a demo on the network on purpose (README, "Serving a demo").
ADDRESS ?= 127.0.0.1
# Streamlit refuses bigger uploads before drviz sees them; drviz.limits checks the same number.
DRVIZ_MAX_UPLOAD_MB ?= 200

.PHONY: run test test-fast browser bench cards clean-venv

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# The pinned versions first, then drviz itself as an editable package (no dependency resolution:
# the pins are what the tests run).
$(VENV)/.app: requirements.txt pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.test: requirements-test.txt $(VENV)/.app
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

run: $(VENV)/.app
	@echo "drviz: open http://$(ADDRESS):$(PORT) in your browser (Ctrl+C stops the app)"
	DRVIZ_MAX_UPLOAD_MB=$(DRVIZ_MAX_UPLOAD_MB) $(PY) -m streamlit run app.py --server.headless true \
	  --server.address $(ADDRESS) --server.port $(PORT) --server.maxUploadSize $(DRVIZ_MAX_UPLOAD_MB) \
	  --browser.gatherUsageStats false

# Chromium for the browser tests comes from Debian's apt; where apt is missing the browser tests
# skip themselves with a message saying so.
browser:
	@bash .ci/install_browser.sh

test: $(VENV)/.test browser
	$(PY) -m pytest -q --junitxml=artifacts/junit.xml $(PYTEST_ARGS)

# Everything but the real-browser tests (quick local loop).
test-fast: $(VENV)/.test
	$(PY) -m pytest -q -m "not browser" $(PYTEST_ARGS)

bench: $(VENV)/.test
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

# The pictures of checkpoints/README.md's model cards: each shipped run's reconstructions and
# latent traversal, on its own dataset (CARD_SEED picks the images).
CARD_SEED ?= 3
cards: $(VENV)/.app
	for run in $$(ls checkpoints); do \
	  [ -f checkpoints/$$run/model.pt ] || continue; \
	  $(VENV)/bin/drviz recon $$run --n 8 --seed $(CARD_SEED) --scale 1 --out checkpoints/$$run/recon.png || exit 1; \
	  $(VENV)/bin/drviz traverse $$run --steps 9 --seed $(CARD_SEED) --scale 1 --out checkpoints/$$run/traversal.png || exit 1; \
	done

clean-venv:
	rm -rf $(VENV)
