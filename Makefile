# The two commands: `make run` and `make test`. Everything installs into .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast bench bench-peers bench-calls bench-instructions lint install clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	FLOWHOOK_ALLOW_PRIVATE_TARGETS=$${FLOWHOOK_ALLOW_PRIVATE_TARGETS:-1} $(BIN)/flowhook serve --demo

# pytest-xdist: TEST_WORKERS processes (CI has 2 cores), each test file on one worker
# (module-scoped servers and the browser start once); TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= 2
XDIST = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

# Tests marked serial measure rates or spacing: they run alone, after the parallel run.
test: $(STAMP)
	$(BIN)/pytest $(XDIST) -m "not serial"
	$(BIN)/pytest -m serial

test-fast: $(STAMP)  # every test but those marked slow (subprocesses, SIGKILL, fuzzing, bench)
	$(BIN)/pytest $(XDIST) -m "not slow and not serial"
	$(BIN)/pytest -m "serial and not slow" || [ $$? -eq 5 ]  # 5: none of them is fast

# BENCH_PEERS=  (empty) leaves Node-RED out; it is skipped with a line where npm is missing
BENCH_PEERS ?= node-red
bench: $(STAMP)
	$(BIN)/python -m bench.run --peers "$(BENCH_PEERS)" $(BENCH_ARGS)

bench-peers: $(STAMP)  # the ceiling, flowhook on SQLite and Node-RED 5, side by side
	$(BIN)/python -m bench.run --modes sqlite --peers node-red --no-profile $(BENCH_ARGS)

bench-calls: $(STAMP)  # 1,000 concurrent simulated calls: calls/s and CPU per call (bench/calls.py)
	$(BIN)/python -m bench.calls $(BENCH_CALLS_ARGS)

# instructions per flow of the server under valgrind's callgrind (bench/instructions.py);
# BENCH_INSTR_ARGS="--concurrency 1,10" for both points, "--flows 1000" for more
bench-instructions: $(STAMP)
	$(BIN)/python -m bench.instructions $(BENCH_INSTR_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache
