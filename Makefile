# The two commands README promises: `make demo` and `make test`. Both set up first.
.PHONY: setup demo test lint bench clean

setup:
	@bash scripts/bootstrap.sh

demo: setup
	.venv/bin/vocwatch demo

test:
	@WITH_SCRAPYD=1 bash scripts/bootstrap.sh
	VOCWATCH_SCRAPYD_BIN=$(CURDIR)/.venv-scrapyd/bin .venv/bin/python -m pytest -q

lint: setup
	.venv/bin/ruff check .

clean:
	rm -rf .venv data .pytest_cache .ruff_cache
