# The two commands the README promises:
#   make demo   run the main job on embedded defaults (installs what it needs)
#   make test   install everything and pass the checks and tests (what CI runs)
VENV := .venv/bin
PYTEST_ARGS ?=

.PHONY: setup up demo test lint format typecheck pytest wheel lean bench render clean

setup:
	scripts/setup.sh

up: setup
	$(VENV)/inferwatch up

demo: setup
	$(VENV)/inferwatch demo

lint: setup
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

format: setup
	$(VENV)/ruff format .
	$(VENV)/ruff check --fix .

typecheck: setup
	$(VENV)/python scripts/typecheck.py

pytest: setup
	$(VENV)/pytest $(PYTEST_ARGS)

wheel: setup
	scripts/check_wheel.sh

lean: setup
	scripts/check_lean_client.sh

test: lint typecheck wheel lean pytest

bench: setup
	$(VENV)/python -m bench

render: setup
	$(VENV)/python scripts/render_dashboards.py docs/images

clean:
	rm -rf build .venv .pytest_cache .mypy_cache .ruff_cache
