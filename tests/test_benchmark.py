"""The benchmark runs end to end and reports what the README quotes."""

from unlock_app.core import benchmark


def test_benchmark_reports_every_step(matcher):
    report = benchmark.run(None, "cpu", frames=30)
    assert report["machine"]["device"] == "cpu"
    assert report["model_load_to_first_result_s"] > 0
    for count in ("10", "10000"):
        summary = report["references"][count]
        for step in ("preprocess", "embed", "match", "end_to_end"):
            assert 0 < summary[step]["p50"] <= summary[step]["p99"]
        assert summary["end_to_end"]["p50"] >= summary["preprocess"]["p50"]
        assert summary["notebook_loop_agrees"] is True
        assert summary["subject_found"] > 0.8
    text = benchmark.format_report(report)
    assert "end_to_end" in text and "peak RSS" in text
