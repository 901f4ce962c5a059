"""ImageBind's preprocessing (facebookresearch/ImageBind imagebind/data.py), with every constant
passed in from the manifest's `preprocess` objects, so the demo pack and a real pack share it.
This is the PyTorch reference the TypeScript parity tests compare against.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch
import torchaudio
from PIL import Image
from torchvision import transforms

# The demo pack's preprocessing constants; written into manifest.json by export_demo.py.
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
AUDIO_PREPROCESS = {
    "type": "audio", "sampleRate": 16000, "channel": 0,
    "resample": {"method": "sinc_interp_hann", "lowpassFilterWidth": 6, "rolloff": 0.99},
    "clipDuration": 2.0, "clipsPerInput": 3, "subtractMean": True,
    "fbank": {"numMelBins": 128, "frameLengthMs": 25.0, "frameShiftMs": 10.0, "windowType": "hanning",
              "dither": 0.0, "preemphasisCoefficient": 0.97, "removeDcOffset": True, "roundToPowerOfTwo": True,
              "lowFreq": 20.0, "highFreq": 0.0, "usePower": True, "useLogFbank": True, "useEnergy": False,
              "htkCompat": True, "snipEdges": True, "melScale": "htk"},
    "targetLength": 204,
    "normalize": {"mean": -4.268, "std": 9.138},
}
VISION_PREPROCESS = {"type": "image", "size": 64, "resize": "bicubic", "crop": "center",
                     "rescale": 1 / 255, "mean": CLIP_MEAN, "std": CLIP_STD, "channels": 3}
DEPTH_PREPROCESS = {"type": "depth", "size": 64, "resize": "bicubic", "crop": "center",
                    "rescale": 1 / 255, "mean": [0.0], "std": [1.0], "channels": 1}
THERMAL_PREPROCESS = {"type": "thermal", "size": 64, "resize": "bicubic", "crop": "center",
                      "rescale": 1 / 255, "mean": [0.5], "std": [0.5], "channels": 1}
IMU_PREPROCESS = {"type": "imu", "channels": 6, "length": 2000, "sampleRate": 200}


def clip_spans(duration: float, clip_duration: float, clips: int) -> list[tuple[Fraction, Fraction]]:
    """pytorchvideo ConstantClipsPerVideoSampler, as ImageBind's get_clip_timepoints uses it:
    start_k = k * max(duration - clip, 0) / max(clips - 1, 1), end = start + clip (Fractions)."""
    max_start = Fraction(max(duration - clip_duration, 0))
    step = Fraction(max_start, max(clips - 1, 1))
    return [(step * k, step * k + Fraction(clip_duration)) for k in range(clips)]


def kaldi_fbank_kwargs(fb: dict, sample_rate: int) -> dict:
    """The manifest's `fbank` object as torchaudio.compliance.kaldi.fbank's keyword arguments."""
    return dict(
        num_mel_bins=fb["numMelBins"], frame_length=fb["frameLengthMs"],
        frame_shift=fb["frameShiftMs"], window_type=fb["windowType"], dither=fb["dither"],
        preemphasis_coefficient=fb["preemphasisCoefficient"], remove_dc_offset=fb["removeDcOffset"],
        round_to_power_of_two=fb["roundToPowerOfTwo"], low_freq=fb["lowFreq"],
        high_freq=fb["highFreq"], use_power=fb["usePower"], use_log_fbank=fb["useLogFbank"],
        use_energy=fb["useEnergy"], htk_compat=fb["htkCompat"], snip_edges=fb["snipEdges"],
        sample_frequency=sample_rate,
    )


def waveform_to_fbank(clip: torch.Tensor, sample_rate: int, pre: dict) -> torch.Tensor:
    """ImageBind's waveform2melspec: [C, n] -> [1, mel, targetLength] (not yet normalised).
    As in data.py, the mean over every channel is subtracted IN PLACE (`waveform -= mean`) on
    a view of the whole waveform, so a later clip that overlaps this one sees the subtraction;
    the fbank then reads channel 0 (kaldi.fbank's default channel)."""
    fb = pre["fbank"]
    if pre.get("subtractMean", True):
        clip -= clip.mean()
    feats = torchaudio.compliance.kaldi.fbank(clip, **kaldi_fbank_kwargs(fb, sample_rate))
    feats = feats.transpose(0, 1)
    pad = pre["targetLength"] - feats.shape[1]
    if pad > 0:
        feats = torch.nn.functional.pad(feats, (0, pad), mode="constant", value=0.0)
    elif pad < 0:
        feats = feats[:, : pre["targetLength"]]
    return feats.unsqueeze(0)


def audio_to_clips(waveform: torch.Tensor, sample_rate: int, pre: dict = AUDIO_PREPROCESS) -> torch.Tensor:
    """[channels, n] float waveform -> [clips, 1, mel, targetLength] normalised fbank
    (data.py load_and_transform_audio_data: every channel resampled, clips sliced, fbank of
    channel 0)."""
    waveform = waveform.float().clone()
    if pre.get("channel", 0) != 0:
        raise ValueError("ImageBind reads channel 0")
    target_sr = pre["sampleRate"]
    if sample_rate != target_sr:
        rs = pre["resample"]
        waveform = torchaudio.functional.resample(waveform, orig_freq=sample_rate, new_freq=target_sr,
                                                  lowpass_filter_width=rs["lowpassFilterWidth"], rolloff=rs["rolloff"],
                                                  resampling_method=rs["method"].replace("sinc_interp_hann", "sinc_interpolation"))
    duration = waveform.shape[1] / target_sr
    out = []
    for start, end in clip_spans(duration, pre["clipDuration"], pre["clipsPerInput"]):
        clip = waveform[:, int(start * target_sr): int(end * target_sr)]
        fbank = waveform_to_fbank(clip, target_sr, pre)
        out.append((fbank - pre["normalize"]["mean"]) / pre["normalize"]["std"])
    return torch.stack(out)


def image_transform(pre: dict) -> transforms.Compose:
    interp = {"bicubic": transforms.InterpolationMode.BICUBIC, "bilinear": transforms.InterpolationMode.BILINEAR}[pre["resize"]]
    return transforms.Compose([
        transforms.Resize(pre["size"], interpolation=interp),
        transforms.CenterCrop(pre["size"]),
        transforms.ToTensor(),
        transforms.Normalize(mean=pre["mean"], std=pre["std"]),
    ])


def image_to_tensor(image: Image.Image | np.ndarray, pre: dict) -> torch.Tensor:
    """PIL or uint8 array -> [C, S, S]; RGB for channels 3, grayscale ("L") for 1."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    image = image.convert("RGB" if pre["channels"] == 3 else "L")
    return image_transform(pre)(image)


def images_to_tensor_fast(images: np.ndarray, pre: dict) -> torch.Tensor:
    """Batch path for training data already at the pack's size: uint8 [N, S, S(, C)] -> [N, C, S, S].
    Equal to image_to_tensor when no resize or crop is needed (checked in tests)."""
    x = torch.from_numpy(images).float() * pre["rescale"]
    if x.dim() == 3:
        x = x.unsqueeze(-1)
    x = x.permute(0, 3, 1, 2)
    mean = torch.tensor(pre["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(pre["std"]).view(1, -1, 1, 1)
    return (x - mean) / std
