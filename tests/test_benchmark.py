"""The benchmark runs end to end and reports what the README quotes."""

import pytest

from unlock_app.lab import benchmark


@pytest.mark.slow
def test_benchmark_reports_every_step_for_each_kind_of_key(matcher):
    report = benchmark.run(None, "cpu", frames=30)
    assert report["machine"]["device"] == "cpu"
    assert report["model_load_to_first_result_s"] > 0
    scenarios = ("digit 10", "digit 10000", "object 10", "object 10000", "digit+object 10+10")
    assert tuple(report["references"]) == scenarios
    for name in scenarios:
        summary = report["references"][name]
        for step in ("preprocess", "embed", "match", "end_to_end"):
            assert 0 < summary[step]["p50"] <= summary[step]["p99"]
        if "+" not in name:  # with both kinds the steps are summed over two threads that run at once
            assert summary["end_to_end"]["p50"] >= summary["preprocess"]["p50"]
        assert summary["subject_found"] > 0.8
        assert summary.get("notebook_loop_agrees", True) is True
    assert "notebook_loop_agrees" in report["references"]["digit 10000"]
    text = benchmark.format_report(report)
    assert "end_to_end" in text and "peak RSS" in text
