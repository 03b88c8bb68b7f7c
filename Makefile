# The two commands of the README: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STANCE  = $(BIN)/stance
OUT    ?= out

.PHONY: demo test install schemas bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the package's requirements change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,studio]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(STANCE) articles seeds/ -o $(OUT)/articles.jsonl
	$(STANCE) tasks seeds/ -o $(OUT)/tasks.json
	$(STANCE) config -o $(OUT)/stance-claim.xml
	@echo
	@echo "Next: import $(OUT)/tasks.json into a Label Studio project labelled with $(OUT)/stance-claim.xml"

test: install
	$(BIN)/python -m pytest

schemas: install
	$(STANCE) schemas -o schemas/

bench: install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python benchmarks/bench_splitters.py
	$(BIN)/python benchmarks/bench_tasks.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis
