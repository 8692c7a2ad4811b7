from __future__ import annotations

import subprocess
import sys

import coflux as cf

EXPECTED = {
    "task",
    "workflow",
    "stub",
    "Execution",
    "Cache",
    "Defer",
    "Retries",
    "ExecutionError",
    "ExecutionTerminated",
    "ExecutionCancelled",
    "ExecutionTimeout",
    "ExecutionAbandoned",
    "group",
    "suspense",
    "suspend",
    "select",
    "cancel",
    "log_debug",
    "log_info",
    "log_warning",
    "log_error",
    "Metric",
    "MetricGroup",
    "MetricScale",
    "progress",
    "Asset",
    "AssetEntry",
    "AssetMetadata",
    "asset",
    "__version__",
}


def test_it_exports_the_public_api():
    assert set(cf.__all__) == EXPECTED
    for name in cf.__all__:
        assert hasattr(cf, name), name
    assert cf.__version__ == "0.1.0"


def test_the_sdk_does_not_import_django():
    code = (
        "import sys, coflux, coflux.worker\n"
        "print(any(name.split('.')[0] == 'django' for name in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "False"
