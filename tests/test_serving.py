"""Safe serving defaults (issue 15): loopback unless asked, uploads capped as drviz.limits says."""

from __future__ import annotations

import shutil
import subprocess
import tomllib

import pytest

from drviz import limits

from conftest import REPO


def test_streamlit_config_binds_loopback_and_caps_uploads():
    server = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]
    assert server["address"] == "127.0.0.1"
    assert server["maxUploadSize"] == limits.LIMITS["upload_mb"].default


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_passes_address_and_upload_cap():
    def dry(*args):
        return subprocess.run(["make", "-n", "run", *args], cwd=REPO, capture_output=True,
                              text=True).stdout

    default = dry()
    assert "--server.address 127.0.0.1" in default and "--server.maxUploadSize 200" in default
    demo = dry("ADDRESS=0.0.0.0", "DRVIZ_MAX_UPLOAD_MB=50")
    assert "--server.address 0.0.0.0" in demo and "--server.maxUploadSize 50" in demo
    assert "DRVIZ_MAX_UPLOAD_MB=50" in demo  # drviz.limits sees the same cap as Streamlit
