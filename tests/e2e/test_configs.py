# Every example in configs/ loads: its keys are flags of `serve`, its values convert, and its pools
# are consistent (serve --check-config; GPU existence is checked only at real start-up).
import glob
import os
import subprocess

import pytest

BIN = os.environ.get("DYNAMO_SERVE_BIN", "build/dynamo-serve")
ROOT = os.environ.get("DYNAMO_SOURCE_DIR", ".")
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "configs", "*.toml")))


def check(*args):
    return subprocess.run([BIN, "serve", *args, "--check-config"], capture_output=True, text=True, timeout=60)


def test_there_are_configs():
    assert len(CONFIGS) >= 4


@pytest.mark.parametrize("path", CONFIGS, ids=os.path.basename)
def test_config_loads(path):
    p = check("--config", path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("config OK"), p.stdout


def test_disagg_4p4d_plan():
    p = check("--config", os.path.join(ROOT, "configs", "disagg-4p4d.toml"))
    assert p.returncode == 0, p.stderr
    assert "4 worker(s)" in p.stdout, p.stdout
    assert "prefill-0=cuda:0,1" in p.stdout and "prefill-1=cuda:2,3" in p.stdout, p.stdout
    assert "decode-0=cuda:4,5" in p.stdout and "decode-1=cuda:6,7" in p.stdout, p.stdout


def test_tp_plans():
    p = check("--config", os.path.join(ROOT, "configs", "disagg-2p2d-tp2.toml"))
    assert p.returncode == 0, p.stderr
    assert "2 worker(s)" in p.stdout and "prefill-0=cuda:0,1" in p.stdout and "decode-0=cuda:2,3" in p.stdout
    p = check("--config", os.path.join(ROOT, "configs", "aggregated-4gpu-tp2.toml"))
    assert "worker-0=cuda:0,1" in p.stdout and "worker-1=cuda:2,3" in p.stdout, p.stdout
    p = check("--model", "m", "--prefill-gpus", "0-3", "--prefill-tp", "2", "--decode-gpus", "4", "--decode-tp", "1")
    assert "prefill-1=cuda:2,3" in p.stdout and "decode-0=cuda:4" in p.stdout, p.stdout


def test_command_line_wins_over_the_file(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('model = "m"\ndevice = "cpu"\nworkers = 2\n')
    assert "2 worker(s)" in check("--config", str(cfg)).stdout
    assert "3 worker(s)" in check("--config", str(cfg), "--workers", "3").stdout


@pytest.mark.parametrize("text, needle", [
    ('model = "m"\nbogus = 1\n', "key 'bogus' is not a flag of 'serve'"),
    ('model = "m"\nport = "abc"\n', "key 'port'"),
    ('model = "m"\nprefill-gpus = "0-1"\ndecode-gpus = "1-2"\n', "in both --prefill-gpus and --decode-gpus"),
    ('model = "m"\n[serve]\nport = 1\n', "key 'serve' is not a flag"),
    ('model = "m"\nprefill-gpus = "0-2"\nprefill-tp = 2\ndecode-gpus = "3"\n', "not a multiple of --prefill-tp 2"),
    ('model = "m"\ngpus = "0-3"\ntp = 0\n', "--tp must be in 1..64"),
    ('model = "m"\ndevice = "cpu"\ntp = 2\n', "need --device cuda"),
])
def test_bad_config_names_key_and_file(tmp_path, text, needle):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    p = check("--config", str(cfg))
    assert p.returncode != 0
    assert needle in p.stderr, p.stderr
    if "key" in needle or "tables" in needle:
        assert str(cfg) in p.stderr, p.stderr
