"""python -m twig_janus.loadtest: the HTTP load test against a real server."""

from __future__ import annotations

import json

from twig_janus import loadtest


def test_loadtest_paints_every_image_and_checks_the_codec(engine, make_server, tmp_path):
    c = make_server(engine, max_batch=8, max_wait_ms=200)
    url = f"http://{c.host}:{c.port}"
    out = tmp_path / "report.json"
    rc = loadtest.main(["--url", url, "--images", "4", "--bands", "2", "--thought-chars", "30",
                        "--wait", "10", "--expect-image-size", "64", "--out", str(out)])
    report = json.loads(out.read_text())
    assert rc == 0 and report["ok"], report
    assert report["completed_images"] == 4 and report["error_count"] == 0
    assert report["tokens_per_band"] == 8 and report["images_per_second"] > 0
    assert report["decode_latency_s"]["calls"] == 8
    assert report["checks"]["decode_png"]["ok"] and report["checks"]["decode_png"]["width"] == 64
    assert report["checks"]["encode_png"] == {"ok": True, "tokens": 16}
    # The worker counted the prompts: band 2's prefix holds both thoughts.
    assert report["input_tokens_mean_by_band"][1] > report["input_tokens_mean_by_band"][0] + 8
    gen = report["stats_after"]
    assert gen["calls"] - report["stats_before"]["calls"] == 8


def test_loadtest_reports_a_wrong_image_size(engine, make_server):
    c = make_server(engine)
    report = loadtest.run(f"http://{c.host}:{c.port}", images=1, bands=1, decode=False, expect_image_size=384)
    assert report["completed_images"] == 1
    assert not report["checks"]["decode_png"]["ok"] and not report["ok"]


def test_loadtest_fails_cleanly_without_a_server(tmp_path):
    out = tmp_path / "r.json"
    assert loadtest.main(["--url", "http://127.0.0.1:9", "--images", "1", "--retries", "0", "--out", str(out)]) == 1
    assert json.loads(out.read_text())["ok"] is False
