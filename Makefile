# The two commands of the README: `make run` starts the appliance here,
# `make test` runs every check. Both create .venv on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SERVICES := inference-service model-fetcher camera-service outputs-service
RUNTIME_REQS := $(foreach s,$(SERVICES),$(s)/requirements.txt $(s)/pyproject.toml) model-store/pyproject.toml appliance-common/pyproject.toml

.PHONY: run test test-web system-packages lint bench train models face-model clean

$(VENV)/.runtime: $(RUNTIME_REQS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(foreach s,$(SERVICES),-r $(s)/requirements.txt)
	$(PY) -m pip install -q --no-deps -e ./appliance-common -e ./model-store $(foreach s,$(SERVICES),-e ./$(s))
	touch $@

# trainer/ is a host tool, never in an image: TensorFlow comes with it, here only.
$(VENV)/.trainer: $(VENV)/.runtime trainer/requirements.txt trainer/pyproject.toml
	$(PY) -m pip install -q -r trainer/requirements.txt
	$(PY) -m pip install -q --no-deps -e ./trainer
	touch $@

$(VENV)/.dev: $(VENV)/.runtime $(VENV)/.trainer requirements-dev.txt tests/pyproject.toml
	$(PY) -m pip install -q -r requirements-dev.txt
	# tests/support: the helpers the tests, bench/ and tools/ share, importable as `support`.
	$(PY) -m pip install -q --no-deps -e ./tests
	# Edge Impulse's Linux SDK, the reference client of the .eim tests; without its
	# audio dependencies (PyAudio needs PortAudio), which the runner does not use.
	$(PY) -m pip install -q --no-deps edge_impulse_linux==1.2.2
	touch $@

## Start every service on loopback with the demo camera and the demo model
## (and, with Mosquitto, a broker, telemetry and outputs-service).
run: $(VENV)/.runtime
	bash tools/system-packages.sh run
	$(PY) tools/run_local.py

## Linters, every service's tests, the cross-service and the browser tests,
## and the page's unit tests (Node's built-in runner).
test: $(VENV)/.dev system-packages test-web
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

## Debian packages the tests use (Chromium, Node.js, Mosquitto, espeak-ng, ...).
system-packages:
	bash tools/system-packages.sh test

## The page's unit tests alone (pure modules of web/, no browser).
test-web:
	node --test tests/web/*.test.mjs

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## Benchmarks (print tables of ratios; see docs/performance.md).
bench: $(VENV)/.dev
	$(PY) bench/inference.py
	$(PY) bench/inference.py --eim
	$(PY) bench/memory.py
	$(PY) bench/idle.py
	$(PY) bench/camera.py
	$(PY) bench/privacy.py
	$(PY) bench/collect.py
	$(PY) bench/outputs.py
	$(PY) bench/mqtt.py
	$(PY) bench/lag.py
	$(PY) bench/train.py

## Train on this machine from the appliance's export (docs/training.md):
## make train EXPORT=export.zip [OUT=trained] [ARGS="--weights none --kind fomo"]
EXPORT ?=
OUT ?= trained
ARGS ?=
train: $(VENV)/.trainer
	@test -n "$(EXPORT)" || { echo "usage: make train EXPORT=path/to/export.zip [OUT=trained] [ARGS='--weights none']"; exit 2; }
	$(VENV)/bin/trainer train $(EXPORT) --out $(OUT) $(ARGS)

## Retrain the test and demo models (dev-time; needs tensorflow-cpu).
models: .venv-models
	.venv-models/bin/python tools/build_models.py

## Rebuild privacy mode's int8 face detector from the CenterFace ONNX (dev-time).
face-model: .venv-models
	.venv-models/bin/python tools/build_face_model.py

.venv-models: tools/requirements-models.txt tests/pyproject.toml
	$(PYTHON) -m venv .venv-models
	.venv-models/bin/pip install -q -r tools/requirements-models.txt
	.venv-models/bin/pip install -q --no-deps -e ./tests -e ./appliance-common -e ./model-store -e ./camera-service
	touch .venv-models

clean:
	rm -rf $(VENV) .venv-models .data artifacts
