"""Run one instrumentation library's driver against the fake provider and a running InferLedger."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("INFERLEDGER_INSTR_CACHE", ROOT / ".cache" / "instrumentations"))
HERE = Path(__file__).resolve().parent

PYTHON_LIBS = ("openinference_openai", "openinference_anthropic", "otel_openai_v2", "openllmetry", "anthropic_native",
               "openlit", "traceloop")
NODE_LIBS = ("vercel_ai",)


def env_dir(lib: str) -> Path:
    return CACHE / lib


def is_built(lib: str) -> bool:
    return (env_dir(lib) / ".built").exists()


def build(libs: tuple[str, ...]) -> None:
    """Build the missing environments (once; later runs reuse them)."""
    missing = [lib for lib in libs if not is_built(lib)]
    if missing:
        subprocess.run(["bash", str(HERE / "build_envs.sh"), *missing], check=True, timeout=1500,
                       env={**os.environ, "PYTHON": os.environ.get("PYTHON", sys.executable)})


def drive(lib: str, fake_url: str, otlp_base: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """The library's calls, in its own process and environment; spans exported before it exits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "VIRTUAL_ENV", "PYTHON"))}
    env.update({"FAKE_URL": fake_url, "OTLP_BASE": otlp_base, "OTEL_SDK_DISABLED": "false",
                "OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"})
    if lib in NODE_LIBS:
        env["NODE_PATH"] = str(env_dir(lib) / "node_modules")
        cmd = ["node", str(HERE / "drive_vercel.mjs")]
    else:
        cmd = [str(env_dir(lib) / "bin" / "python"), str(HERE / "drive.py"), lib]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
