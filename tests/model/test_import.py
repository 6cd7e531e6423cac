"""`import star_model` works with no CUDA, triton or mamba_ssm, and never imports Qt."""
import subprocess
import sys
import textwrap


def _run(code: str, tmp_path=None, env_path=None):
    import os

    env = dict(os.environ)
    if env_path:
        env["PYTHONPATH"] = os.pathsep.join([str(env_path), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120)


def test_import_without_mamba_ssm_or_triton():
    res = _run(
        """
        import sys
        sys.modules['mamba_ssm'] = None
        sys.modules['triton'] = None
        import star_model, torch
        m = star_model.create_model('star-tiny')
        assert 'PySide6' not in sys.modules and 'pyqtgraph' not in sys.modules
        print('ok')
        """
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith("ok")


def test_import_when_mamba_ssm_is_broken(tmp_path):
    pkg = tmp_path / "mamba_ssm"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise RuntimeError('CUDA extension missing')\n")
    res = _run("import star_model; star_model.create_model('star-tiny'); print('ok')", env_path=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith("ok")
