"""The machine a benchmark ran on."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch

THREADS_NOTE = ("small molecules on CPU run fastest with OMP_NUM_THREADS=1 (measured: quickstart-size "
                "model forward 20-41 ms with 1 thread vs 20-140 ms with 2)")


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (else what ``platform`` says)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """CPU model, cores, platform, torch version and threads, OMP_NUM_THREADS, GPU name if any."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "gpu": gpu,
    }


def describe(info: dict[str, Any]) -> str:
    """One line for the machine."""
    text = (f"{info['cpu']}, {info['cores']} cores, torch {info['torch']} with {info['torch_threads']} "
            f"threads (OMP_NUM_THREADS={info['omp_num_threads'] or 'unset'})")
    return text + (f", GPU {info['gpu']}" if info["gpu"] else ", no GPU")
