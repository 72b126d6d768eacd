"""EdgeTAM memory tracker: the numpy driver against a PyTorch re-implementation of upstream's
video-predictor loop, ids, removal, bounded memory, and file-set checks."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from edgesam_ros.engine.config import EngineConfig  # noqa: E402
from edgesam_ros.engine.edgetam import GRAPH_FILES, EdgeTamFiles, EdgeTamRuntime  # noqa: E402
from edgesam_ros.engine.errors import ModelError  # noqa: E402
from edgesam_ros.export.edgetam_export import prepare_edgetam  # noqa: E402
from edgesam_ros.tracking.memory_bank import ObjectMemory  # noqa: E402
from edgesam_ros.tracking.memory_tracker import MemoryConfig, MemoryTracker  # noqa: E402
from edgesam_ros.tracking.objects import UserPrompt  # noqa: E402

H, W = 96, 128  # not square: prompts and masks are scaled per axis
CAP = 2  # conditioning frames kept per object in these tests


@pytest.fixture(scope="module")
def runtime(edgetam_micro):
    return EdgeTamRuntime(EdgeTamFiles.from_dir(edgetam_micro),
                          EngineConfig(providers=("cpu",), intra_op_threads=1, warmup=False))


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return prepare_edgetam(None, "micro", random_init=True)


def _frames(n: int, seed: int = 0) -> list[np.ndarray]:
    """Smooth random images drifting over time (so consecutive frames differ a little)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (H // 8, W // 8, 3)).astype(np.float32)
    out = []
    for _ in range(n):
        base = np.clip(base + rng.normal(0, 20, base.shape), 0, 255)
        out.append(np.kron(base, np.ones((8, 8, 1))).astype(np.uint8))
    return out


def _fill_holes_scipy(low: torch.Tensor, max_area: int = 8) -> torch.Tensor:
    """Upstream's fill_holes_in_mask_scores with scipy's labelling (8-connectivity)."""
    from scipy import ndimage

    labels, _ = ndimage.label(low[0, 0].numpy() <= 0, structure=np.ones((3, 3)))
    areas = np.bincount(labels.ravel())
    hole = (labels > 0) & (areas[labels] <= max_area)
    return torch.where(torch.from_numpy(hole)[None, None], torch.tensor(0.1), low)


class TorchVideoLoop:
    """Upstream's per-object bookkeeping in PyTorch (``cond_frame_outputs`` /
    ``non_cond_frame_outputs``, ``select_closest_cond_frames``, the memory and pointer lists of
    ``_prepare_memory_conditioned_features``, the mask choice of ``_forward_sam_heads`` with the
    video predictor's dynamic fallback), one object at a time, on our un-fused model."""

    def __init__(self, model, runtime: EdgeTamRuntime, max_cond: int) -> None:
        self.model, self.runtime, self.max_cond = model, runtime, max_cond
        self.objects: dict[int, dict] = {}

    def select(self, t: int, cond: dict) -> tuple[dict, dict]:
        if len(cond) <= self.max_cond:
            return cond, {}
        before = max(f for f in cond if f < t)
        chosen = {before: cond[before]}
        rest = sorted((f for f in cond if f not in chosen), key=lambda f: abs(f - t))
        chosen.update((f, cond[f]) for f in rest[: self.max_cond - 1])
        return chosen, {f: v for f, v in cond.items() if f not in chosen}

    def memory(self, t: int, state: dict):
        selected, unselected = self.select(t, state["cond"])
        mems, tpos = [], []
        for out in selected.values():
            mems.append(out["mem"])
            tpos.append(6)
        for t_pos in range(1, 7):
            prev = t - (7 - t_pos)
            out = state["non_cond"].get(prev, unselected.get(prev))
            if out is not None:
                mems.append(out["mem"])
                tpos.append(7 - t_pos - 1)
        ptrs = [out["ptr"] for f, out in selected.items() if f <= t]
        for t_diff in range(1, 16):
            if t - t_diff < 0:
                break
            out = state["non_cond"].get(t - t_diff, unselected.get(t - t_diff))
            if out is not None:
                ptrs.append(out["ptr"])
        return torch.stack(mems)[None], torch.tensor([tpos]), torch.stack(ptrs)[None]

    @torch.no_grad()
    def step(self, t: int, image: np.ndarray, prompts: dict[int, tuple]) -> dict[int, tuple]:
        m = self.model
        s0, s1, feats, pos = m.encode_image(torch.from_numpy(self.runtime.preprocess(image)))
        results = {}
        for obj_id in prompts:
            self.objects.setdefault(obj_id, {"cond": {}, "non_cond": {}})
        for obj_id, state in self.objects.items():
            prompt = prompts.get(obj_id)
            if prompt is None:
                coords, labels = torch.zeros(1, 1, 2), -torch.ones(1, 1)
            else:
                coords, labels = (torch.tensor(prompt[0])[None], torch.tensor(prompt[1])[None])
            if not state["cond"]:
                x, no_mem = feats, torch.ones(1)
            else:
                x, no_mem = m.condition(feats, pos, *self.memory(t, state)), torch.zeros(1)
            masks, ious, ptrs, score = m.decode(x, no_mem, s0, s1, coords, labels)
            n_pts = int((labels != -1).sum())
            best = 1 + int(torch.argmax(ious[0, 1:]))
            if n_pts <= 1:
                idx, tok = best, best
            else:
                m0 = masks[0, 0]
                inner, outer = (m0 > 0.05).sum(), (m0 > -0.05).sum()
                stab = float(inner / outer) if outer > 0 else 1.0
                idx, tok = (0 if stab >= 0.98 else best), 0
            low = masks[:, idx:idx + 1]
            if float(score) <= 0:
                low = torch.full_like(low, -1024.0)
            filled = _fill_holes_scipy(low)
            # the video predictor encodes a prompted frame's consolidated (filled) mask, a
            # tracked frame's mask inside track_step (before filling)
            mem = m.encode_memory(feats, filled if prompt is not None else low,
                                  torch.tensor([float(prompt is not None)]))[0]
            out = {"mem": mem, "ptr": ptrs[0, tok]}
            if prompt is not None:
                state["cond"][t] = out
                state["non_cond"].pop(t, None)
            else:
                state["non_cond"][t] = out
            results[obj_id] = (filled[0, 0].numpy(), float(score))
        return results

    def remove(self, obj_id: int) -> None:
        del self.objects[obj_id]


def _scaled(prompt: UserPrompt, s: int) -> tuple[np.ndarray, np.ndarray]:
    scale = np.array([s / W, s / H], np.float32)
    coords, labels = prompt.points * scale, prompt.labels.astype(np.float32)
    if prompt.box is not None:
        coords = np.concatenate([prompt.box.reshape(2, 2) * scale, coords])
        labels = np.concatenate([[2.0, 3.0], labels])
    return coords.astype(np.float32), labels.astype(np.float32)


# frame -> list of (action, object key, prompt); keys name objects across both loops
SCRIPTS = {
    "one object": {0: [("add", "a", UserPrompt(box=[20, 10, 90, 70]))],
                   4: [("refine", "a", UserPrompt(points=[[40, 40]], labels=[0]))],
                   6: [("refine", "a", UserPrompt(points=[[50, 30]], labels=[1]))]},
    "several": {0: [("add", "a", UserPrompt(box=[20, 10, 90, 70])),
                    ("add", "b", UserPrompt(points=[[100, 50]], labels=[1]))],
                2: [("add", "c", UserPrompt(box=[5, 5, 40, 40], points=[[20, 20], [30, 8]],
                                            labels=[1, 0]))],
                4: [("refine", "b", UserPrompt(points=[[90, 60]], labels=[1]))],
                5: [("remove", "a", None)]},
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_driver_matches_the_pytorch_video_loop(runtime, model, script) -> None:
    events = SCRIPTS[script]
    tracker = MemoryTracker(runtime, memory=MemoryConfig(max_conditioning_frames=CAP))
    loop = TorchVideoLoop(model, runtime, CAP)
    ids: dict[str, int] = {}
    compared = 0
    for t, image in enumerate(_frames(9)):
        prompts = {}
        for action, key, prompt in events.get(t, []):
            if action == "add":
                ids[key] = tracker.add(prompt)
            elif action == "refine":
                assert tracker.refine(ids[key], prompt.points, prompt.labels, prompt.box)
            else:
                assert tracker.remove(ids[key])
                loop.remove(ids[key])
            if prompt is not None:
                prompts[ids[key]] = _scaled(prompt, runtime.image_size)
        result = tracker.step(None, image)
        expected = loop.step(t, image, prompts)
        assert [o.id for o in result.objects] == list(expected)
        for obj in result.objects:
            logits, score = expected[obj.id]
            assert (obj.mask is not None) == (score > 0 and bool((logits > 0).any()))
            if obj.mask is not None:
                np.testing.assert_allclose(obj.mask.low_res_logits, logits, atol=1e-3, rtol=0)
                compared += 1
    assert compared >= 9 * (1 if script == "one object" else 2)


def test_ids_stay_and_removed_objects_never_return(runtime) -> None:
    tracker = MemoryTracker(runtime)
    frames = _frames(6, seed=3)
    a = tracker.add(UserPrompt(box=[10, 10, 60, 60]))
    b = tracker.add(UserPrompt(points=[[100, 50]], labels=[1]))
    assert (a, b) == (1, 2)
    assert [o.id for o in tracker.step(None, frames[0]).objects] == [1, 2]
    assert tracker.remove(a)
    result = tracker.step(None, frames[1])
    assert [(o.id, o.status) for o in result.removed] == [(1, "removed by request")]
    assert tracker.add(UserPrompt(box=[5, 5, 30, 30], object_id=1)) == 0
    c = tracker.add(UserPrompt(box=[5, 5, 30, 30]))
    assert c == 3
    assert not tracker.refine(1, points=[[5, 5]], labels=[1])
    for i, image in enumerate(frames[2:]):
        result = tracker.step(None, image)
        assert [o.id for o in result.objects] == [2, 3]
        assert result.removed == []
        assert [(r.action, r.object_id, r.reason) for r in result.rejected] == ([
            ("add", 1, "id 1 is already used in this run"),
            ("refine", 1, "unknown object id")] if i == 0 else [])
    assert tracker.memory_usage().keys() == {2, 3}


def test_an_add_outside_the_image_keeps_the_id_rules_of_the_memory_free_tracker(runtime) -> None:
    """Refused on its first frame, a new object was never shown: it reports the id the prompt
    asked for (0 for a new one) and its id is not consumed, as `Tracker` does."""
    tracker = MemoryTracker(runtime)
    frame = _frames(1, seed=5)[0]
    h, w = frame.shape[:2]
    assert tracker.add(UserPrompt(points=[[w + 10, 5]], labels=[1])) == 1
    assert tracker.add(UserPrompt(points=[[w + 10, 5]], labels=[1], object_id=40)) == 40
    rejected = tracker.step(None, frame).rejected
    assert [(r.action, r.object_id) for r in rejected] == [("add", 0), ("add", 40)]
    assert all(r.reason == f"a point lies outside the {w}x{h} image" for r in rejected)
    assert tracker.add(UserPrompt(box=[5, 5, 30, 30])) == 1
    assert tracker.add(UserPrompt(box=[5, 5, 30, 30], object_id=40)) == 40


def test_memory_is_bounded_over_1000_frames(runtime) -> None:
    """1000 frames with a refinement every 25: bytes and counts stop growing."""
    tracker = MemoryTracker(runtime, memory=MemoryConfig(max_conditioning_frames=CAP))
    frame = runtime.encode(_frames(1, seed=5)[0])
    object_id = tracker.add(UserPrompt(box=[10, 10, 60, 60]))
    usage = []
    for t in range(1000):
        if t and t % 25 == 0:
            tracker.refine(object_id, points=[[30, 30]], labels=[1])
        tracker.step(None, embedding=frame)
        usage.append(tracker.memory_usage()[object_id])
    per_memory = runtime.memory_tokens * runtime.mem_dim * 4
    per_pointer = runtime.hidden_dim * 4
    bound = (CAP + 6) * per_memory + (CAP + 15) * per_pointer
    assert max(u[0] for u in usage) <= bound
    assert max(u[1] for u in usage) == CAP + 6 and max(u[2] for u in usage) <= CAP + 15
    assert usage[-1] == usage[-26]  # steady state: one refinement period later, the same


def test_object_memory_keeps_upstream_windows() -> None:
    bank = ObjectMemory(max_conditioning=2)
    mem, ptr = np.zeros((4, 2), np.float32), np.zeros(8, np.float32)
    for t in range(40):
        bank.add(t, mem + t, ptr + t, conditioning=t in (0, 10, 20))
    inputs = bank.inputs(40)
    # conditioning 10 and 20 (0 evicted long ago), then frames 34..39 oldest first
    assert inputs.memory[:, 0, 0].tolist() == [10, 20, 34, 35, 36, 37, 38, 39]
    assert inputs.tpos.tolist() == [6, 6, 5, 4, 3, 2, 1, 0]
    # pointers: conditioning, then 39 back to 25 (15 frames)
    assert inputs.pointers[:, 0].tolist() == [10, 20, *range(39, 24, -1)]
    assert inputs.key == (8, 17)


def _copy_set(src, dst) -> EdgeTamFiles:
    dst.mkdir()
    for name in GRAPH_FILES.values():
        shutil.copy(src / name, dst / name)
    return EdgeTamFiles.from_dir(dst)


def test_wrong_or_mixed_files_are_clear_errors(edgetam_micro, tmp_path) -> None:
    files = EdgeTamFiles.from_dir(edgetam_micro)
    swapped = EdgeTamFiles(files.image_encoder, files.memory_attention, files.memory_encoder,
                           files.decoder)
    with pytest.raises(ModelError, match=r"expected the EdgeTAM decoder graph .* found family "
                                         "'edgetam', graph 'memory_encoder'"):
        EdgeTamRuntime(swapped)
    with pytest.raises(ModelError, match=r"edgetam_image_encoder\.onnx: expected an ONNX model "
                                         "file; found no such file"):
        EdgeTamRuntime(EdgeTamFiles.from_dir(tmp_path))
    mixed = _copy_set(edgetam_micro, tmp_path / "mixed")
    proto = onnx.load(str(mixed.decoder))
    for prop in proto.metadata_props:
        if prop.key == "edgesam_ros.export_id":
            prop.value = "0123456789abcdef"
    onnx.save(proto, str(mixed.decoder))
    with pytest.raises(ModelError, match="found export id 0123456789abcdef: the four files "
                                         "come from different exports"):
        EdgeTamRuntime(mixed)
    foreign = _copy_set(edgetam_micro, tmp_path / "foreign")
    proto = onnx.load(str(foreign.image_encoder))
    del proto.metadata_props[:]
    onnx.save(proto, str(foreign.image_encoder))
    with pytest.raises(ModelError, match=r"no edgesam_ros\.family metadata"):
        EdgeTamRuntime(foreign)


def test_eval_tracking_runs_the_memory_tracker(edgetam_micro, capsys) -> None:
    from edgesam_ros.tracking.evaluate import main

    assert main(["--oracle", "--preset", "tiny", "--sequences", "1", "--ablation", "full",
                 "--edgetam", str(edgetam_micro)]) == 0
    out = capsys.readouterr().out
    assert "| oracle | +appearance |" in out and "| edgetam | +appearance |" in out


def test_memory_bench_reports_stages_and_profiles(edgetam_micro, capsys) -> None:
    from edgesam_ros.bench.memory_bench import main

    assert main([]) == 0
    assert "memory benchmark skipped: give --model-dir" in capsys.readouterr().out
    assert main(["--model-dir", str(edgetam_micro), "--objects", "1", "2", "--frames", "3",
                 "--measure", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line.split(" | ")[:2] for line in out.splitlines() if line.startswith("| 1 |")
            or line.startswith("| 2 |")]
    assert rows == [["| 1", "F=1"], ["| 1", "F=2"], ["| 2", "F=1"], ["| 2", "F=2"]]
    assert "- memory_attention.memory: 1/1/16 x 1/7/10 x 8 x 8" in out
    assert "- memory_attention.object_pointers: 1/1/16 x 1/16/19 x 32" in out



def test_mask_choice_follows_upstream() -> None:
    from edgesam_ros.tracking.memory_tracker import choose_output

    masks = np.full((4, 8, 8), -5.0, np.float32)
    masks[0, :4] = 5.0  # output 0: a clean half mask (stability 1)
    ious = np.array([0.9, 0.2, 0.7, 0.5], np.float32)
    assert choose_output(masks, ious, multimask=True) == (2, 2)  # best of 1-3, its token
    assert choose_output(masks, ious, multimask=False) == (0, 0)
    masks[0, 4, :3] = 0.01  # 3 of 35 pixels between -0.05 and +0.05: stability 32/35 < 0.98
    assert choose_output(masks, ious, multimask=False) == (2, 0)  # fallback, pointer of token 0
    masks[0] = -5.0  # nothing above -0.05: upstream counts that as stable
    assert choose_output(masks, ious, multimask=False) == (0, 0)


class _Occluding:
    """The runtime with every object score negated (an occluded object), recording the masks
    the memory encoder receives."""

    def __init__(self, runtime: EdgeTamRuntime) -> None:
        self.runtime = runtime
        self.memory_masks: list[np.ndarray] = []

    def __getattr__(self, name: str):
        return getattr(self.runtime, name)

    def decode(self, *args):
        out = self.runtime.decode(*args)
        return type(out)(out.masks, out.ious, out.pointers, -np.abs(out.scores) - 1)

    def encode_memory(self, frame, masks, binarize):
        self.memory_masks.append(masks.copy())
        return self.runtime.encode_memory(frame, masks, binarize)


def test_occluded_objects_keep_their_memory_and_report_why(runtime) -> None:
    occluding = _Occluding(runtime)
    tracker = MemoryTracker(occluding)  # type: ignore[arg-type]
    object_id = tracker.add(UserPrompt(box=[10, 10, 60, 60]))
    for image in _frames(3, seed=7):
        result = tracker.step(None, image)
        (obj,) = result.objects
        assert (obj.id, obj.mask, obj.area) == (object_id, None, 0)
        assert obj.status.startswith("occluded (object score -")
    assert all(np.all(m == -1024.0) for m in occluding.memory_masks)
    assert tracker.memory_usage()[object_id][1] == 3  # still remembered, frame after frame


def test_warm_up_runs_every_graph(edgetam_micro) -> None:
    runtime = EdgeTamRuntime(EdgeTamFiles.from_dir(edgetam_micro, fp16=True),
                             EngineConfig(providers=("cpu",), intra_op_threads=1, warmup=True))
    assert runtime.info.family == "edgetam" and runtime.info.load_ms > 0
    assert runtime.info.decoder_path.endswith("edgetam_decoder.fp16.onnx")
    assert set(runtime.providers.values()) == {"CPUExecutionProvider"}


def test_small_holes_are_filled_as_upstream() -> None:
    from edgesam_ros.tracking.memory_tracker import fill_holes

    logits = np.full((12, 12), 3.0, np.float32)
    logits[2:4, 2:4] = -1.0  # 4 pixels: filled
    logits[6:9, 6:9] = -2.0  # 9 pixels: a real hole, kept
    logits[1, 9] = logits[2, 10] = -1.0  # diagonal neighbours: one 2-pixel hole (8-connected)
    logits[11, :] = -5.0  # 12 pixels of background along the border: kept
    out = fill_holes(logits, 8)
    assert out[2:4, 2:4].tolist() == [[np.float32(0.1)] * 2] * 2
    assert (out[1, 9], out[2, 10]) == (np.float32(0.1), np.float32(0.1))
    np.testing.assert_array_equal(out[6:9, 6:9], -2.0)
    np.testing.assert_array_equal(out[11], -5.0)
    np.testing.assert_array_equal(fill_holes(logits, 0), logits)
    reference = _fill_holes_scipy(torch.from_numpy(logits)[None, None])[0, 0]
    np.testing.assert_array_equal(out, reference.numpy())
