# Two commands do everything on a fresh machine:
#   make conformance   run the whole suite against the embedded reference target (or TARGET=<public url>)
#   make test          run the project's own tests
# Everything Python lives in .venv, created and filled from pyproject.toml on first use.

# the pinned dependencies are for Python 3.11 (pyproject.toml): python3.11 when there is one, else python3
PYTHON  ?= $(or $(shell command -v python3.11 2>/dev/null),python3)
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
REPORTS ?= reports
METHODS ?= code,link
# A deployed server: make conformance TARGET=https://id.example.com/ ADMIN=https://admin.example.com/ MAIL=mailpit:URL
# (PROFILE=kratos-v26 names its Kratos release; unset, the server's admin/version does, or no release is assumed)
TARGET  ?=
ADMIN   ?=
MAIL    ?=
PROFILE ?=
# how hard the security suite presses the server: off, low, default (a production gate may turn it down)
SECURITY_LOAD ?=

# pytest caches its assertion-rewritten modules (schemathesis, hypothesis) as bytecode; a shell that forbids
# bytecode makes every run rewrite them again (seconds per run).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install conformance test lint bench bench-mutation mutation reference browser clean help

help:
	@echo "make conformance   whole suite against the embedded reference target (TARGET=<url> for a deployed one)"
	@echo "make test          the project's own tests (after make lint)"
	@echo "make lint          ruff over the project, mypy over the library, the reference target and the suites"
	@echo "make bench         benchmarks: time to verdict per run profile vs the bare-client floor, fuzz rates"
	@echo "make mutation      the suite against the clean reference target and each named fault (~8 min on 2 cores)"
	@echo "make reference     start the reference target in the foreground"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

conformance: $(STAMP) browser
ifeq ($(strip $(TARGET)),)
	$(PY) -m kratos_conformance run --suite all --reference-method $(METHODS) \
	  $(if $(SECURITY_LOAD),--security-load $(SECURITY_LOAD)) --report-dir $(REPORTS)
else
	$(PY) -m kratos_conformance run --suite all --public-url $(TARGET) $(if $(ADMIN),--admin-url $(ADMIN)) \
	  $(if $(MAIL),--mail-source $(MAIL)) $(if $(PROFILE),--profile $(PROFILE)) \
	  $(if $(SECURITY_LOAD),--security-load $(SECURITY_LOAD)) --report-dir $(REPORTS)
endif

test: lint browser
	sh scripts/install-node-tools.sh
	sh scripts/install-mailpit.sh
	$(PY) -m pytest tests -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Benchmarks print figures (and write reports/bench*.json); they never pass or fail.
bench: $(STAMP) browser
	$(PY) benchmarks/bench_suite.py
	$(PY) benchmarks/bench_fuzz.py

# How long the whole kill matrix takes and where the time goes (a few minutes).
bench-mutation: $(STAMP)
	$(PY) benchmarks/bench_mutation.py

# The suite against the clean reference target and against each named fault: prints the kill matrix and fails
# unless it holds (every fault caught by a named requirement, every clean run passed, every check made to fail).
# CI runs it after make test (.ci/run). Four faults' runs add the browser suite, hence Chromium.
mutation: $(STAMP) browser
	$(PY) -m kratos_conformance.mutation --report-dir $(REPORTS)/mutation

# Debian's Chromium for the browser scenarios and the HTML-summary test (browsers cannot be downloaded here).
# On a developer's machine without root they are skipped with the reason; in CI (CI set) a missing Chromium fails.
browser:
	@sh scripts/install-browser.sh || { [ -z "$$CI" ] || exit 1; \
	  echo "no Chromium: the browser scenarios and checks will be skipped with that reason"; }

reference: $(STAMP)
	$(PY) -m kratos_reference

clean:
	rm -rf $(REPORTS)/*/ $(REPORTS)/*.log $(REPORTS)/conformance-report.json $(REPORTS)/summary.html .pytest_cache
