# codesign: the user's entry points. `make test` and `make search` set up .venv themselves.
PYTHON   ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
TARGET   ?= zc706
RUN      ?= runs/default
DESIGN   ?= $(RUN)/design.json
HWDIR    ?= $(RUN)/hw-$(TARGET)
PYTEST_ARGS ?= -n 2

.PHONY: setup search train hw sim csim impl report all test test-fast bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@command -v yosys >/dev/null || (apt-get update -qq && apt-get install -y -qq yosys >/dev/null) \
	  || { echo "error: yosys is needed: apt-get install yosys (as root)"; exit 1; }
	@command -v clang++ >/dev/null || (apt-get update -qq && apt-get install -y -qq clang >/dev/null) \
	  || { echo "error: clang++ is needed (the HLS code's warning check): apt-get install clang (as root)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $@

# Paths are quoted: RUN="my run" works. `make all` can be run again: a finished search and a trained
# design are kept (skipped with a note), hw/sim/csim/report redo their work on the same design.
search: setup
	@if [ -f "$(DESIGN)" ]; then echo "$(DESIGN) exists: search skipped (RUN=<another folder> starts a new one)"; \
	else "$(BIN)/codesign" search --target $(TARGET) --out "$(RUN)" $(ARGS); fi

train: setup
	@if [ -f "$$(dirname "$(DESIGN)")/weights.npz" ]; then \
	  echo "$(DESIGN) is trained: train skipped (codesign train --force \"$(DESIGN)\" retrains it)"; \
	else "$(BIN)/codesign" train "$(DESIGN)" $(ARGS); fi

hw: setup
	"$(BIN)/codesign" hw --design "$(DESIGN)" --target $(TARGET) --out "$(HWDIR)"

sim: setup
	"$(BIN)/codesign" sim "$(HWDIR)"

csim: setup
	"$(BIN)/codesign" csim "$(HWDIR)"

impl: setup
	"$(BIN)/codesign" impl "$(HWDIR)"

report: setup
	"$(BIN)/codesign" report "$(RUN)"

all: search train hw sim csim report

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS) $(ARGS)

test-fast: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS) -m "not slow" $(ARGS)

bench: setup
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf build sim_build .pytest_cache
