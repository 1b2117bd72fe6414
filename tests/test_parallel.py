"""The lab's process pool: results in order, and workers that can use torch after their parent has."""

import subprocess
import sys

from unlock_app.lab import parallel


def _square(value: int) -> int:
    return value * value


def test_results_come_in_the_jobs_order():
    assert list(parallel.mapped(_square, list(range(50)))) == [v * v for v in range(50)]


def test_workers_run_torch_after_the_parent_did():
    # Forked from a parent whose torch thread pool was running, a worker that used it hung.
    code = (
        "import torch\n"
        "from unlock_app.lab import parallel\n"
        "torch.nn.functional.conv2d(torch.zeros(1, 3, 64, 64), torch.zeros(8, 3, 3, 3))\n"
        "def convolve(side):\n"
        "    return float(torch.nn.functional.conv2d(torch.ones(1, 3, side, side), torch.ones(8, 3, 3, 3)).max())\n"
        "if __name__ == '__main__':\n"
        "    print(list(parallel.mapped(convolve, [32, 64, 96, 128])))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[27.0, 27.0, 27.0, 27.0]"
