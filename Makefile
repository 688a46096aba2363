# TaskFlow: `make run` starts the service, `make test` runs the suite. Both create or update .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "TaskFlow needs Python 3.11 or newer (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/taskflow run

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy bench

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Benchmarks against this machine's PostgreSQL and Redis when they answer, else embedded ones (see BENCHMARKS.md).
# BENCH_PARTS picks parts (reads,rebuild,writes,audit,overdue); BENCH_ARGS, REBUILD_ARGS, WRITES_ARGS, AUDIT_ARGS and
# OVERDUE_ARGS pass options to each.
BENCH_PARTS ?= reads,rebuild,writes,audit,overdue
BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	@command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null)
	@command -v pgbench >/dev/null || apt-get install -y -q postgresql-client >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q postgresql-client >/dev/null)
	@if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then export TASKFLOW_DATABASE_URL=$${TASKFLOW_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}; fi; \
	if [ "$$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" = "PONG" ]; then export TASKFLOW_REDIS_URL=$${TASKFLOW_REDIS_URL:-redis://127.0.0.1:6379/0}; fi; \
	set -e; \
	case ",$(BENCH_PARTS)," in *,reads,*) $(BIN)/python bench/reads.py $(BENCH_ARGS);; esac; \
	case ",$(BENCH_PARTS)," in *,rebuild,*) $(BIN)/python bench/rebuild.py $(REBUILD_ARGS);; esac; \
	case ",$(BENCH_PARTS)," in *,writes,*) $(BIN)/python bench/writes.py $(WRITES_ARGS);; esac; \
	case ",$(BENCH_PARTS)," in *,audit,*) $(BIN)/python bench/audit.py $(AUDIT_ARGS);; esac; \
	case ",$(BENCH_PARTS)," in *,overdue,*) $(BIN)/python bench/overdue.py $(OVERDUE_ARGS);; esac; \
	$(BIN)/python bench/report.py
