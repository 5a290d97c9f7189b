# football-events: the two commands are `make run` (the whole asset graph on sources.yaml's clips: the built-in
# demo, offline on CPU, when it lists none; `make demo` is the same) and `make test` (every test). Both set
# everything up first and are safe to re-run.

SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export DAGSTER_HOME := $(CURDIR)/.dagster
export FOOTBALL_DATA_DIR ?= $(CURDIR)/data
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run demo test bench setup system-deps venv dagster-home dev clean label-studio-venv label-studio up down

run: setup
	$(BIN)/football-events run

demo: run

test: setup
	$(BIN)/ruff check
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_train.py

dev: setup  ## the Dagster UI on http://127.0.0.1:3000 (foreground)
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

setup: system-deps venv label-studio-venv dagster-home

# ffmpeg/ffprobe (video), chromium (browser tests of the UIs), postgresql (the shared-instance test):
# installed only when missing.
system-deps:
	@missing=""; \
	command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing="$$missing ffmpeg"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(STAMP)
$(STAMP): pyproject.toml
	@[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch torchvision
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps SoccerNet  # test-only: the official mAP to compare with; its own deps are not needed
	@rm -f $(VENV)/.installed-*; touch $@

dagster-home:
	@mkdir -p $(DAGSTER_HOME)
	@cmp -s dagster.yaml $(DAGSTER_HOME)/dagster.yaml || cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@[ $(DAGSTER_HOME)/.pools -nt deploy/pools.py ] || { $(BIN)/python -m deploy.pools && touch $(DAGSTER_HOME)/.pools; }

clean:
	rm -rf data .dagster

# Label Studio lives in its own venv (its pins conflict with ours): label_studio/setup_venv.sh.
label-studio-venv:
	@bash label_studio/setup_venv.sh

label-studio: setup  ## a local Label Studio for annotators on http://127.0.0.1:8080 (foreground)
	bash label_studio/serve.sh

up: setup  ## Dagster (webserver + daemon) on 127.0.0.1:3000 and Label Studio, in the background
	bash deploy/up.sh

down:
	bash deploy/down.sh
