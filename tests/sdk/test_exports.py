from __future__ import annotations

import pkgutil
import subprocess
import sys

import coflux as cf

# SPEC §2: ``import coflux as cf`` exports exactly these.
SPEC_EXPORTS = {
    "task",
    "workflow",
    "stub",
    "Execution",
    "Input",
    "ModelSchema",
    "Prompt",
    "Cache",
    "Defer",
    "Retries",
    "Asset",
    "AssetEntry",
    "AssetMetadata",
    "Metric",
    "MetricGroup",
    "MetricScale",
    "ExecutionError",
    "ExecutionTerminated",
    "ExecutionCancelled",
    "ExecutionTimeout",
    "ExecutionAbandoned",
    "InputDismissed",
    "group",
    "suspense",
    "suspend",
    "select",
    "cancel",
    "log_debug",
    "log_info",
    "log_warning",
    "log_error",
    "progress",
    "asset",
    "__version__",
}

EXPECTED = SPEC_EXPORTS

# The only modules whose names have no private part: the package's entry point for the
# ``coflux`` command (``coflux = "coflux.cli:main"``). Everything else is behind ``coflux``.
PUBLIC_MODULES = {"coflux", "coflux.cli"}


def test_it_exports_the_public_api():
    assert set(cf.__all__) == EXPECTED
    assert set(cf.__all__) <= SPEC_EXPORTS
    for name in cf.__all__:
        assert hasattr(cf, name), name
    assert cf.__version__ == "0.1.0"


def test_the_sdk_does_not_import_django():
    code = (
        "import sys, coflux, coflux._worker\n"
        "print(any(name.split('.')[0] == 'django' for name in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "False"


def test_public_names_belong_to_coflux():
    # So an uncaught ``cf.ExecutionTimeout`` is reported as ``coflux.ExecutionTimeout``.
    for name in cf.__all__:
        if not name.startswith("__"):
            assert getattr(cf, name).__module__ == "coflux", name


def test_internal_modules_are_private():
    modules = {"coflux"} | {
        info.name for info in pkgutil.walk_packages(cf.__path__, prefix="coflux.")
    }
    public = {
        name for name in modules if not any(part.startswith("_") for part in name.split(".")[1:])
    }
    assert public == PUBLIC_MODULES
