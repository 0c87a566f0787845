"""Issue 13: every foreseeable failure is one line on stderr, exit code 2, no traceback, and the
files that existed before are unchanged. Each case is what a user hit; most run `codesign.cli.main`
in-process (fast), the few that need a separate process (progress bars, a lock held by another
process) run the installed CLI."""

import fcntl
import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import EXAMPLES

from codesign import cli
from codesign.backend import golden
from codesign.backend.hw import prepare_result
from codesign.backend.ir import random_params
from codesign.design import load_design
from codesign.files import LOCK, atomic_path

TINY_SEARCH = """
[dataset]
name = "digits"
[network]
stem_channels = 4
stem_stride = 2
head_channels = 0
stages = [{ channels = 8, layers = 1, stride = 2 }]
kernels = [3]
expansions = [1]
[bits]
weights = [8]
activations = [8]
[accelerator]
max_chunks = 1
rows = [4]
cols = [4]
[search]
epochs = 1
warmup_epochs = 0
steps_per_epoch = 1
batch = 16
accel_samples = 4
accel_steps = 1
final_accel_steps = 1
"""


# ------------------------------------------------------------------------------------ helpers

def snapshot(folder: Path) -> dict:
    """sha256 of every file under folder (the lock file aside: a lock leaves an empty file)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != LOCK}


def run(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as e:  # argparse's own exit, after its one line
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, folder: Path, *argv, says: str = "") -> str:
    """Run the CLI; assert exit 2, one line on stderr, no traceback, files under folder unchanged."""
    before = snapshot(folder)
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err and "error:" in err
    assert says in err, err
    after = snapshot(folder)
    assert {k: v for k, v in after.items() if k in before} == before   # nothing that existed changed
    return err


@pytest.fixture
def design(tmp_path):
    path = tmp_path / "run" / "design.json"
    path.parent.mkdir()
    path.write_text((EXAMPLES / "single_chunk_os_int8.json").read_text())
    return path


@pytest.fixture
def trained(design):
    """A design with integer weights and test vectors beside it, as `codesign train` leaves it."""
    d = load_design(design)
    golden.save_params(random_params(d, 3), design.parent / "weights.npz")
    images = np.random.default_rng(0).integers(0, 256, (4, *d.dataset.input_shape), dtype=np.uint8)
    np.savez_compressed(design.parent / "vectors.npz", images=images, labels=np.arange(4),
                        golden_classes=golden.predict(d, random_params(d, 3), images))
    design.write_text(d.model_copy(update={"weights": "weights.npz"}).model_dump_json(indent=2))
    return design


@pytest.fixture
def hw(trained, capsys):
    out = trained.parent / "hw-zc706"
    assert run(capsys, "hw", "--design", trained, "--out", out)[0] == 0
    return out


def write_cifar(folder: Path, per_batch=4, change=None):
    """A CIFAR-10 python folder; change(name, batch) may spoil a batch before it is written."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 b"labels": list(rng.integers(0, 10, per_batch))}
        batch = change(name, batch) if change else batch
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f) if isinstance(batch, dict) else f.write(batch)
    return folder


# ------------------------------------------------------------------------------------ options

@pytest.mark.parametrize("argv,says", [
    (["search", "--batch", "0"], "argument --batch: 0 is too small: give a positive number"),
    (["search", "--epochs", "0"], "argument --epochs: 0 is too small"),
    (["search", "--epochs", "-3"], "argument --epochs: -3 is too small"),
    (["search", "--steps-per-epoch", "-1"], "argument --steps-per-epoch: -1 is too small: give 0 or more"),
    (["search", "--device", "tpu"], "'tpu' is not a device; give cpu, cuda or cuda:N"),
    (["search", "--target-fps", "-5"], "must be a positive finite number"),
    (["search", "--target", "zc7"], "unknown target 'zc7'; choose one of: asic45, ecp5-evn, pynq-z2"),
    (["search", "--seed", "x"], "'x' is not a whole number"),
    (["train", "d.json", "--epochs", "0"], "argument --epochs: 0 is too small"),
    (["train", "d.json", "--device", "gpu"], "'gpu' is not a device"),
    (["sim", "dir", "--images", "0"], "argument --images: 0 is too small"),
    (["csim", "dir", "--images", "-1"], "argument --images: -1 is too small"),
    (["cost", "gemm", "--rows", "0", "--cols", "4", "--m", "1", "--n", "1", "--k", "1", "--dataflow", "os"],
     "argument --rows: 0 is too small"),
    (["hw", "--design", "d.json"], "the following arguments are required: --out"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_options_are_one_line(capsys, tmp_path, argv, says):
    refused(capsys, tmp_path, *argv, says=says)


def test_a_gpu_torch_does_not_see(capsys, tmp_path):
    """cuda:N beyond the GPUs torch sees (all of them where it sees none)."""
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    says = (f"torch sees {n} GPU(s)" if n else "no CUDA GPU is visible to torch; use --device cpu")
    refused(capsys, tmp_path, "search", "--device", f"cuda:{n}", "--out", tmp_path / "r", says=says)
    assert not (tmp_path / "r").exists()


def test_help_version_and_boards(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "A whole run (what `make all` does)" in out and "Exit codes" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("codesign 0.")
    code, out, _ = run(capsys, "search", "--help")
    out = " ".join(out.split())   # argparse wraps the list of boards
    assert code == 0 and "zc706 (xc7z045ffg900-2)" in out and "zcu102 (xczu9eg" in out and "ulx3s (LFE5U-85F" in out
    parsers = [cli.build_parser()]
    unhelped = []
    while parsers:   # every option and argument of every verb carries a help text
        parser = parsers.pop()
        for action in parser._actions:
            if hasattr(action, "choices") and isinstance(action.choices, dict):
                parsers += action.choices.values()
            elif not action.help:
                unhelped.append(f"{parser.prog} {action.dest}")
    assert unhelped == []


def test_an_unexpected_exception_names_its_log(capsys, tmp_path, monkeypatch):
    """A bug is not bad input: exit 3, one line naming the log, the traceback in the log."""
    module = tmp_path / "buggy_verb.py"
    module.write_text("def main(args):\n    return {}['missing']\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.HANDLERS, "report", "buggy_verb:main")
    code, _, err = run(capsys, "report", tmp_path)
    assert code == 3 and err.count("\n") == 1 and "Traceback" not in err
    log = Path(err.split("the traceback is in ")[1].split(";")[0])
    assert "KeyError: 'missing'" in log.read_text() and "Traceback" in log.read_text()
    log.unlink()


# ------------------------------------------------------------------------------------ design files

@pytest.mark.parametrize("content,says", [
    (b"\xff\xfe{\"version\": 1}", "not a text file (byte 0 is not UTF-8)"),
    (b"{ not json", "not valid JSON (line 1"),
    (b"[1, 2]", "a design is a JSON object, this file holds a list"),
    (b"", "not valid JSON"),
])
def test_unreadable_design_files(capsys, tmp_path, content, says):
    path = tmp_path / "design.json"
    path.write_bytes(content)
    for argv in (["cost", "design", path], ["hw", "--design", path, "--out", tmp_path / "hw"],
                 ["train", path], ["report", tmp_path]):
        refused(capsys, tmp_path, *argv, says=says)
    assert not (tmp_path / "hw").exists()


@pytest.mark.parametrize("field,value,says", [
    (("layers", 0, "w_bits"), "4", "field 'layers.0.w_bits': Input should be a valid integer"),
    (("layers", 0, "relu"), 1, "field 'layers.0.relu': Input should be a valid boolean"),
    (("accelerator", "chunks", 0, "rows"), 4.0, "field 'accelerator.chunks.0.rows': Input should be a valid integer"),
    (("dataset", "num_classes"), "10", "field 'dataset.num_classes'"),
])
def test_strict_types_in_design_files(capsys, tmp_path, field, value, says):
    raw = json.loads((EXAMPLES / "single_chunk_os_int8.json").read_text())
    node = raw
    for key in field[:-1]:
        node = node[key]
    node[field[-1]] = value
    path = tmp_path / "design.json"
    path.write_text(json.dumps(raw))
    refused(capsys, tmp_path, "cost", "design", path, says=says)


# ------------------------------------------------------------------------------------ datasets

def spoil(kind):
    def change(name, batch):
        if name != "data_batch_2":
            return batch
        if kind == "garbage":
            return b"this is not a pickle at all" * 10
        if kind == "truncated":
            return pickle.dumps(batch)[:200]
        if kind == "shape":
            return {**batch, b"data": batch[b"data"][:, :1000]}
        if kind == "no labels":
            return {b"data": batch[b"data"]}
        if kind == "label 10":
            return {**batch, b"labels": [10] * len(batch[b"labels"])}
        if kind == "pixels":
            return {**batch, b"data": batch[b"data"].astype(np.int32) * 300}
        return batch
    return change


@pytest.mark.parametrize("kind,says", [
    ("garbage", "not a CIFAR python batch (UnpicklingError"),
    ("truncated", "the file is cut short or corrupt"),
    ("shape", "b'data' has shape (4, 1000)"),
    ("no labels", "a CIFAR batch is a dict with b'data' and b'labels'"),
    ("label 10", "label 10 is outside 0..9"),
    ("pixels", "pixel values outside 0..255"),
    (None, "20 training images leave none to train on after the 5000-image validation split"),
])
def test_bad_cifar_folders(capsys, tmp_path, kind, says):
    root = tmp_path / "data"
    write_cifar(root / "cifar-10-batches-py", change=spoil(kind))
    out = tmp_path / "run"
    err = refused(capsys, tmp_path, "search", "--dataset", "cifar10", "--data-root", root, "--out", out,
                  "--device", "cpu", says=says)
    assert "data_batch_2" in err or kind is None
    assert not (out / "design.json").exists()


def test_a_damaged_image_in_an_image_folder(capsys, tmp_path):
    from PIL import Image
    for part in ("train", "val"):
        (tmp_path / "data" / part / "cat").mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (8, 8), (i, 0, 0)).save(tmp_path / "data" / part / "cat" / f"{i}.png")
    broken = tmp_path / "data" / "train" / "cat" / "1.png"
    broken.write_bytes(broken.read_bytes()[:30])
    refused(capsys, tmp_path, "search", "--dataset", "imagefolder", "--data-root", tmp_path / "data",
            "--out", tmp_path / "run", "--device", "cpu", says=f"{broken}: not a readable image")


def test_train_on_a_dataset_short_of_the_validation_split(capsys, tmp_path):
    """A design for CIFAR-10 trained on 20 images: refused before training, nothing written."""
    raw = json.loads((EXAMPLES / "single_chunk_os_int8.json").read_text())
    write_cifar(tmp_path / "data" / "cifar-10-batches-py")
    from codesign.search.engine import probe_design  # a design of CIFAR shapes, as search writes it
    from codesign.space.config import load_config
    from codesign.space.network import expand_layers, slots
    from codesign.design import Dataset
    from codesign.targets import load_target
    config = load_config(dataset="cifar10")
    sl = slots(config, (32, 32, 3))
    layers = expand_layers(config, (32, 32, 3), 10, [s.candidates[0] for s in sl], [8] * len(sl), [8] * len(sl))
    d = probe_design(layers, Dataset(name="cifar10", input_shape=(32, 32, 3), num_classes=10), load_target("zc706"))
    path = tmp_path / "run" / "design.json"
    path.parent.mkdir()
    path.write_text(d.model_dump_json())
    assert raw  # the example is not for CIFAR
    refused(capsys, tmp_path, "train", path, "--data-root", tmp_path / "data", "--device", "cpu",
            says="training images leave none to train on")
    assert not (path.parent / "weights.npz").exists() and not (path.parent / "train_checkpoint.pt").exists()


# ------------------------------------------------------------------------------------ npz files and projects

@pytest.mark.parametrize("name", ["weights.npz", "vectors.npz"])
@pytest.mark.parametrize("damage", ["truncated", "empty", "not npz"])
def test_damaged_npz_files(capsys, tmp_path, trained, name, damage):
    path = trained.parent / name
    data = path.read_bytes()
    path.write_bytes({"truncated": data[:len(data) // 2], "empty": b"", "not npz": b"PK\x03\x04 nonsense"}[damage])
    refused(capsys, tmp_path, "hw", "--design", trained, "--out", tmp_path / "hw",
            says=f"{name}: not a readable .npz file")
    assert not (tmp_path / "hw").exists()


@pytest.mark.parametrize("name", ["weights.npz", "vectors.npz"])
def test_damaged_npz_in_a_project(capsys, tmp_path, hw, name):
    path = hw / name
    path.write_bytes(path.read_bytes()[:100])
    for verb in ("sim", "csim"):
        refused(capsys, tmp_path, verb, hw, says=f"{name}: not a readable .npz file")


@pytest.mark.parametrize("missing,verbs", [("rtl/pe.v", ["sim"]), ("rtl/accel_params.vh", ["sim"]),
                                           ("hls/params.h", ["csim"]), ("manifest.json", ["sim", "csim"]),
                                           ("design.json", ["sim", "csim"])])
def test_project_missing_a_file(capsys, tmp_path, hw, missing, verbs):
    (hw / missing).unlink()
    for verb in verbs:
        refused(capsys, tmp_path, verb, hw, says={"manifest.json": "no manifest.json", "design.json": "no such design file"}
                .get(missing, f"the project lacks {missing}; regenerate it with `codesign hw --out {hw}`"))


def test_a_refused_hw_leaves_no_folder(capsys, tmp_path, design, monkeypatch):
    from codesign.backend import verilog
    monkeypatch.setattr(verilog, "AXI_WIDTHS", (64,))   # as before the RTL drove 128-bit ports
    out = tmp_path / "hw-ultra96"
    refused(capsys, tmp_path, "hw", "--design", design, "--target", "ultra96", "--out", out,
            says="the RTL's AXI engine drives 64-bit AXI ports (axi_data_bits), the target has 128")
    assert not out.exists()


def test_hw_of_another_design_needs_force(capsys, tmp_path, hw, design):
    other = json.loads((EXAMPLES / "two_chunk_mixed.json").read_text())
    (tmp_path / "other.json").write_text(json.dumps(other))
    (hw / "sim.json").write_text(json.dumps({"design_digest": "x", "images": []}))
    refused(capsys, tmp_path, "hw", "--design", tmp_path / "other.json", "--out", hw,
            says="holds the project of another design")
    code, _, _ = run(capsys, "hw", "--design", tmp_path / "other.json", "--out", hw, "--force")
    assert code == 0 and not (hw / "sim.json").exists()
    assert json.loads((hw / "manifest.json").read_text())["design_name"] == "two_chunk_mixed"


def test_hw_without_vectors_says_what_sim_runs(capsys, tmp_path, design):
    code, out, _ = run(capsys, "hw", "--design", design, "--out", tmp_path / "hw")
    assert code == 0 and "sim and csim will run seeded random images with seeded random weights" in out


def test_a_smaller_run_keeps_the_bigger_result(capsys, hw):
    """`sim --images 2` must not silently lose a 4-frame sim.json (nor csim its csim.json): the old
    one is kept beside; a result of the same design and as many images is simply redone."""
    digest = json.loads((hw / "manifest.json").read_text())["design_digest"]
    for name in ("sim.json", "csim.json"):
        old = json.dumps({"design_digest": digest, "images": [{"image": i} for i in range(4)]})
        (hw / name).write_text(old)
        assert prepare_result(hw, name, 4, force=False) is None
        kept = prepare_result(hw, name, 2, force=False)
        assert kept == hw / f"{name[:-5]}-{digest}-4img.json" and kept.read_text() == old
        assert f"kept the previous {name} (4 image(s) of design {digest}) as {kept.name}" in capsys.readouterr().err
        kept.unlink()
        (hw / name).write_text(json.dumps({"design_digest": "0123456789ab", "images": [{"image": 0}]}))
        assert prepare_result(hw, name, 2, force=False).name == f"{name[:-5]}-0123456789ab-1img.json"
        assert prepare_result(hw, name, 2, force=True) is None


# ------------------------------------------------------------------------------------ folders you cannot write

def test_output_paths_that_cannot_be_written(capsys, tmp_path, hw, trained):
    """A folder standing where a result file goes, or a file where a folder goes (as root, as CI
    runs, a chmod'ed folder stays writable; these raise the same OSErrors a read-only folder does)."""
    blocker = tmp_path / "a file"
    blocker.write_text("x")
    refused(capsys, tmp_path, "search", "--out", blocker / "run", "--device", "cpu", says="Not a directory")
    refused(capsys, tmp_path, "hw", "--design", trained, "--out", blocker, says="File exists")
    (hw / "sim.json").mkdir()
    refused(capsys, tmp_path, "sim", hw, says="sim.json is a folder or device, not a result file")
    (hw / "csim.json").mkdir()
    refused(capsys, tmp_path, "csim", hw, says="csim.json is a folder or device")
    (trained.parent / "train_checkpoint.pt").mkdir()
    refused(capsys, tmp_path, "train", trained, "--force", "--device", "cpu", says="train_checkpoint.pt is a folder")
    (trained.parent / "report.md").mkdir()
    refused(capsys, tmp_path, "report", trained.parent, says="report.md is a folder")


def test_read_only_folders(capsys, tmp_path, trained):
    """A folder nobody may write into: a chmod 555 one, or, as root (who writes there anyway), sysfs."""
    folder = Path("/sys") if os.geteuid() == 0 else tmp_path / "read-only"
    if folder != Path("/sys"):
        folder.mkdir()
        folder.chmod(0o555)
    fix = "fix its permissions or choose a writable folder"
    refused(capsys, tmp_path, "search", "--out", folder / "codesign-run", "--device", "cpu", says=fix)
    refused(capsys, tmp_path, "hw", "--design", trained, "--out", folder / "codesign-hw", says=fix)
    assert not (folder / "codesign-hw").exists()


# ------------------------------------------------------------------------------------ train

def test_train_does_not_overwrite_trained_weights(capsys, tmp_path, trained):
    refused(capsys, tmp_path, "train", trained, "--device", "cpu",
            says="is already trained (")


def test_train_resume_from_a_truncated_checkpoint(capsys, tmp_path, design):
    ckpt = design.parent / "train_checkpoint.pt"
    torch.save({"epoch": 1, "digest": "x" * 12, "model": {"w": torch.zeros(1000)}}, ckpt)
    ckpt.write_bytes(ckpt.read_bytes()[:300])
    refused(capsys, tmp_path, "train", design, "--resume", "--device", "cpu", "--epochs", "1",
            says="unreadable checkpoint")


def test_atomic_writes_keep_the_old_file_when_the_writer_dies(tmp_path):
    path = tmp_path / "train_checkpoint.pt"
    torch.save({"epoch": 3}, path)
    before = path.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"half a checkpo")
            raise KeyboardInterrupt   # the kill arrives mid-write
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [path.name]


# ------------------------------------------------------------------------------------ search

@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """One real tiny search (a few seconds), run as a user would, stdout and stderr piped."""
    folder = tmp_path_factory.mktemp("search")
    (folder / "tiny.toml").write_text(TINY_SEARCH)
    run_dir = folder / "run"
    proc = subprocess.run([sys.executable, "-m", "codesign.cli", "search", "--config", folder / "tiny.toml",
                           "--out", run_dir, "--device", "cpu"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return folder, run_dir, proc


def test_piped_output_has_plain_lines_not_progress_bars(searched):
    _, _, proc = searched
    assert "\r" not in proc.stderr + proc.stdout and "\x1b" not in proc.stderr + proc.stdout
    assert "search epoch 1/1: loss " in proc.stdout


def test_a_finished_search_is_not_overwritten(capsys, searched):
    folder, run_dir, _ = searched
    refused(capsys, folder, "search", "--config", folder / "tiny.toml", "--out", run_dir, "--device", "cpu",
            says="already holds a finished search")


@pytest.mark.parametrize("argv,says", [
    (["--dataset", "cifar10"], "differs from this command's in dataset.name 'digits' -> 'cifar10'"),
    (["--target", "pynq-z2"], "the search was for --target zc706, not pynq-z2"),
    (["--batch", "8"], "search.batch 16 -> 8"),
])
def test_resume_checks_the_checkpoint_is_of_this_search(capsys, searched, argv, says):
    folder, run_dir, _ = searched
    refused(capsys, folder, "search", "--config", folder / "tiny.toml", "--out", run_dir, "--resume",
            "--device", "cpu", *argv, says=says)


def test_resume_from_a_truncated_search_checkpoint(capsys, searched, tmp_path):
    folder, run_dir, _ = searched
    copy = tmp_path / "run"
    copy.mkdir()
    (copy / "checkpoint.pt").write_bytes((run_dir / "checkpoint.pt").read_bytes()[:5000])
    refused(capsys, tmp_path, "search", "--config", folder / "tiny.toml", "--out", copy, "--resume",
            "--device", "cpu", says="unreadable checkpoint")


def test_a_second_search_into_a_locked_folder(capsys, tmp_path):
    """Another process holds the run folder (a search in progress): the second stops at once."""
    (tmp_path / "tiny.toml").write_text(TINY_SEARCH)
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
                               "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
                               str(out / LOCK)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        refused(capsys, tmp_path, "search", "--config", tmp_path / "tiny.toml", "--out", out, "--device", "cpu",
                says=f"{out} is in use by another codesign search")
    finally:
        holder.kill()
        holder.wait()
    with open(out / LOCK) as f:   # released with its holder
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_search_refuses_a_board_hw_cannot_build(capsys, tmp_path, monkeypatch):
    from codesign.backend import verilog
    monkeypatch.setattr(verilog, "AXI_WIDTHS", (64,))   # every shipped board's width is driven now
    refused(capsys, tmp_path, "search", "--target", "zcu102", "--out", tmp_path / "r",
            says="target zcu102: its AXI port is 128 bits, the generated RTL drives 64-bit ports only")
    assert not (tmp_path / "r").exists()
